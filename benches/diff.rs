use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use flotilla::diff::hunks;

fn scattered_edit(c: &mut Criterion) {
    let before: String = (0..10_000)
        .map(|i| format!("    let value_{i} = compute({i}, \"some text\");\n"))
        .collect();
    let after: String = before
        .lines()
        .enumerate()
        .filter(|(i, _)| i % 500 != 250)
        .flat_map(|(i, line)| {
            let edited = if i % 97 == 0 {
                format!("{line} // edited\n")
            } else {
                format!("{line}\n")
            };
            let inserted = (i % 331 == 0).then(|| format!("    inserted({i});\n"));
            std::iter::once(edited).chain(inserted)
        })
        .collect();
    c.bench_function("hunks 10k lines, scattered edits", |b| {
        b.iter(|| hunks(black_box(&before), black_box(&after), 3))
    });
}

criterion_group!(benches, scattered_edit);
criterion_main!(benches);
