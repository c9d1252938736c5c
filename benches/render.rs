//! One full dashboard frame at 120x40 with 1,000 sessions in the sidebar, and either a
//! 10,000-message transcript or a 10,000-line diff on the right. Target: median < 2 ms.

use chrono::{DateTime, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use flotilla::core::{
    DiffLine, FileDiff, FileStatus, Hunk, LineKind, Message, Part, PartKind, Role, Session,
    SessionId, Status, Strategy, ToolStatus,
};
use flotilla::protocol::Reply;
use flotilla::tui::keymap::Keymap;
use flotilla::tui::state::{Notify, State, Tab};
use flotilla::tui::theme::Theme;
use flotilla::tui::update::{Msg, Tag, update};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::hint::black_box;

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default()
}

fn session(i: usize) -> Session {
    Session {
        id: SessionId(uuid::Uuid::from_u128(i as u128 + 1)),
        title: format!("session {i}: make the thing work"),
        status: Status::ALL[i % Status::ALL.len()],
        status_reason: None,
        agent: "shell".into(),
        model: None,
        strategy: Strategy::Worktree,
        workspace: format!("/home/dev/ws/{i}").into(),
        source_repo: format!("/home/dev/src/repo{}", i % 25).into(),
        branch: Some(format!("flotilla/session-{i}")),
        base_commit: "0".repeat(40),
        agent_session_id: None,
        created_at: now(),
        last_activity_at: now(),
        message_count: 3,
        queued_prompts: 0,
        tokens_in: None,
        tokens_out: None,
        cost_usd: None,
    }
}

fn transcript(n: usize) -> Vec<Message> {
    (0..n)
        .map(|i| {
            let kind = if i % 3 == 2 {
                PartKind::Tool { name: "bash".into(), input: serde_json::json!({"command": format!("make test {i}")}), status: ToolStatus::Completed, output: Some("ok\n".repeat(5)) }
            } else {
                PartKind::Text { text: format!("line one of message {i}\nline two is a little longer than the first\nthird\n") }
            };
            Message {
                id: format!("m{i}"),
                role: if i % 2 == 0 { Role::User } else { Role::Assistant },
                created_at: now(),
                parts: vec![Part { id: format!("p{i}"), message_id: format!("m{i}"), kind }],
            }
        })
        .collect()
}

fn diff(lines: usize) -> Vec<FileDiff> {
    let hunks = (0..lines / 10)
        .map(|h| Hunk {
            old_start: h * 20 + 1,
            old_lines: 7,
            new_start: h * 20 + 1,
            new_lines: 7,
            lines: (0..10)
                .map(|l| DiffLine {
                    kind: [LineKind::Context, LineKind::Added, LineKind::Removed][l % 3],
                    text: format!("    let value_{h}_{l} = compute({l});"),
                })
                .collect(),
        })
        .collect();
    let mut files = vec![FileDiff {
        path: "src/big.rs".into(),
        status: FileStatus::Modified,
        additions: 3_000,
        deletions: 3_000,
        binary: false,
        too_large: false,
        before: None,
        after: None,
        hunks,
    }];
    files.extend((0..20).map(|i| FileDiff {
        path: format!("src/other_{i}.rs"),
        status: FileStatus::Added,
        additions: 1,
        deletions: 0,
        binary: false,
        too_large: false,
        before: None,
        after: None,
        hunks: Vec::new(),
    }));
    files
}

fn state() -> State {
    let mut state = State::new(
        Keymap::defaults(),
        Theme { color: true },
        Notify::default(),
        now(),
    );
    let sessions: Vec<Session> = (0..1_000).map(session).collect();
    let first = sessions[0].id;
    update(
        &mut state,
        Msg::Resize {
            width: 120,
            height: 40,
        },
    );
    update(
        &mut state,
        Msg::Reply {
            tag: Tag::Sessions,
            result: Ok(Reply::Sessions {
                sessions: sessions.clone(),
            }),
        },
    );
    update(
        &mut state,
        Msg::Reply {
            tag: Tag::Transcript(first),
            result: Ok(Reply::Transcript {
                session: sessions[0].clone(),
                messages: transcript(10_000),
            }),
        },
    );
    state.diff.session = Some(first);
    state.diff.files = diff(10_000);
    state
}

fn bench(c: &mut Criterion) {
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    let mut state = state();
    c.bench_function(
        "frame 120x40: 1,000 sessions, 10,000-message transcript",
        |b| {
            b.iter(|| {
                terminal
                    .draw(|f| flotilla::tui::view::render(black_box(&state), f))
                    .map(drop)
            })
        },
    );
    state.tab = Tab::Diffs;
    state.diff.scroll = 5_000;
    c.bench_function("frame 120x40: 1,000 sessions, 10,000-line diff", |b| {
        b.iter(|| {
            terminal
                .draw(|f| flotilla::tui::view::render(black_box(&state), f))
                .map(drop)
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
