//! What keeping a chronicle and a turn's checkpoint cost in a repository of 10,000 files:
//! the snapshot of the workspace's exact tree, beside `git status` of the same workspace
//! (what every cleanup check runs already) as the baseline; and the disk a checkpoint
//! adds, beside the size of the repository's objects.

use criterion::{Criterion, criterion_group, criterion_main};
use flotilla::core::{Strategy, Workspace};
use flotilla::git;
use std::path::Path;

const FILES: usize = 10_000;

fn run(dir: &Path, args: &[&str]) {
    git::run(dir, args).unwrap_or_else(|e| panic!("git {args:?}: {e}"));
}

fn repo(dir: &Path) {
    run(dir, &["init", "-q", "-b", "main"]);
    run(dir, &["config", "user.name", "Bench"]);
    run(dir, &["config", "user.email", "bench@example.com"]);
    for i in 0..FILES {
        let sub = dir.join(format!("src/m{:03}", i / 100));
        std::fs::create_dir_all(&sub).expect("mkdir");
        let text = format!("// file {i}\n").repeat(40);
        std::fs::write(sub.join(format!("f{i}.rs")), text).expect("write");
    }
    run(dir, &["add", "-A"]);
    run(dir, &["commit", "-q", "-m", "10k files"]);
}

fn snapshot(c: &mut Criterion) {
    let top = tempfile::tempdir().expect("tmp");
    let source = top.path().join("source");
    std::fs::create_dir(&source).expect("mkdir");
    repo(&source);
    let path = top.path().join("ws");
    run(
        &source,
        &[
            "worktree",
            "add",
            "-q",
            "-b",
            "work",
            path.to_str().expect("utf-8"),
            "HEAD",
        ],
    );
    // A session's worth of work: some edits, some new files, one deletion.
    for i in (0..FILES).step_by(500) {
        let file = path.join(format!("src/m{:03}/f{i}.rs", i / 100));
        std::fs::write(&file, "changed\n").expect("edit");
    }
    for i in 0..10 {
        std::fs::write(path.join(format!("new{i}.txt")), "new\n").expect("new");
    }
    std::fs::remove_file(path.join("src/m000/f1.rs")).expect("rm");
    let base = git::run(&source, ["rev-parse", "HEAD"]).expect("head");
    let ws = Workspace {
        path: path.clone(),
        source_repo: source.clone(),
        strategy: Strategy::Worktree,
        branch: Some("work".into()),
        base_commit: base,
    };
    let mut group = c.benchmark_group("chronicle, 10,000 files");
    group.sample_size(20);
    group.bench_function("git status (baseline)", |b| {
        b.iter(|| run(&path, &["status", "--porcelain", "--untracked-files=all"]))
    });
    group.bench_function("snapshot of the exact tree", |b| {
        b.iter(|| {
            flotilla::workspace::snapshot(&ws, "refs/flotilla/chronicles/bench", "bench")
                .expect("snapshot")
        })
    });
    group.finish();
}

/// Bytes of the files under `dir`.
fn bytes_under(dir: &Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let Ok(meta) = entry.metadata() else { continue };
        total += match meta.is_dir() {
            true => bytes_under(&entry.path()),
            false => meta.len(),
        };
    }
    total
}

/// A finished turn that changed 10 files (5 edits, 5 new): the checkpoint the daemon
/// takes (the exact tree under a private ref, and the files it changed), beside `git
/// status`; then what one checkpoint adds to the repository on disk.
fn checkpoint(c: &mut Criterion) {
    let top = tempfile::tempdir().expect("tmp");
    let source = top.path().join("source");
    std::fs::create_dir(&source).expect("mkdir");
    repo(&source);
    let path = top.path().join("ws");
    let ws_arg = path.to_str().expect("utf-8");
    run(
        &source,
        &["worktree", "add", "-q", "-b", "turn", ws_arg, "HEAD"],
    );
    let base = git::run(&source, ["rev-parse", "HEAD"]).expect("head");
    let ws = Workspace {
        path: path.clone(),
        source_repo: source.clone(),
        strategy: Strategy::Worktree,
        branch: Some("turn".into()),
        base_commit: base.clone(),
    };
    let turn = |n: usize| {
        for i in 0..5 {
            let file = path.join(format!("src/m{:03}/f{}.rs", i * 20, i * 2000));
            std::fs::write(&file, format!("turn {n}, edit {i}\n")).expect("edit");
            std::fs::write(path.join(format!("new{i}.txt")), format!("turn {n}\n")).expect("new");
        }
    };
    turn(0);
    let refname = "refs/flotilla/checkpoints/bench/1";
    let mut group = c.benchmark_group("checkpoint, 10,000 files, 10 changed");
    group.sample_size(20);
    group.bench_function("git status (baseline)", |b| {
        b.iter(|| run(&path, &["status", "--porcelain", "--untracked-files=all"]))
    });
    group.bench_function("checkpoint: snapshot and its files", |b| {
        b.iter(|| {
            let snap = flotilla::workspace::snapshot(&ws, refname, "bench").expect("snapshot");
            flotilla::workspace::files_between(&source, &base, &snap.commit).expect("files")
        })
    });
    group.finish();

    // Disk: what one more turn's checkpoint adds, with content git has not seen before.
    let objects = source.join(".git/objects");
    let repo_bytes = bytes_under(&objects);
    turn(1);
    flotilla::workspace::snapshot(&ws, "refs/flotilla/checkpoints/bench/2", "bench")
        .expect("snapshot");
    let added = bytes_under(&objects) - repo_bytes;
    println!("checkpoint disk, 10,000 files, 10 changed:");
    println!("  repository objects before (baseline)  {repo_bytes:>12} bytes");
    println!("  added by one checkpoint               {added:>12} bytes");
}

criterion_group!(benches, snapshot, checkpoint);
criterion_main!(benches);
