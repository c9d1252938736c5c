//! What one frame of the dashboard costs to draw at 120x40, with a large state: 1,000
//! sessions in the sidebar and a 10,000-message transcript selected, or a 10,000-line diff
//! in the Diffs tab. The state is built the way the dashboard builds it, through `update`
//! with the daemon's replies, and each frame is drawn into a test backend: the whole view
//! is rendered, then diffed against the previous frame, as in the real loop.
//!
//! Criterion measures each frame; then a table gives the median of each, against the
//! target of 2 ms a frame.

use chrono::{DateTime, Duration, TimeZone, Utc};
use criterion::Criterion;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use flotilla::core::{
    DiffLine, FileDiff, FileStatus, Hunk, LineKind, Message, Part, PartKind, Role, Session,
    SessionId, Status, Strategy, ToolStatus,
};
use flotilla::protocol::Reply;
use flotilla::tui::keymap::Keymap;
use flotilla::tui::state::{Notify, State};
use flotilla::tui::theme::Theme;
use flotilla::tui::update::{Msg, Tag, update};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::path::PathBuf;
use std::time::Instant;

const WIDTH: u16 = 120;
const HEIGHT: u16 = 40;
const SESSIONS: usize = 1_000;
const MESSAGES: usize = 10_000;
const DIFF_LINES: usize = 10_000;
/// The largest file of the diff; the rest is spread over `SMALL_FILES` files.
const BIG_FILE_LINES: usize = 8_000;
const SMALL_FILES: usize = 9;
const LINES_PER_HUNK: usize = 20;

const TARGET_MS: f64 = 2.0;
/// Frames timed for the medians, after `WARM_UP` frames that are not.
const SAMPLES: usize = 301;
const WARM_UP: usize = 20;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 14, 9, 26, 53).unwrap()
}

fn sid(n: usize) -> SessionId {
    SessionId(uuid::Uuid::from_u128(n as u128 + 1))
}

const STATUSES: [Status; 6] = [
    Status::Idle,
    Status::Active,
    Status::Idle,
    Status::Stopped,
    Status::WaitingInput,
    Status::Idle,
];

fn session(n: usize) -> Session {
    let repo = format!("/home/dev/src/repo-{:02}", n % 12);
    let title = format!(
        "session {n}: {}",
        [
            "fix login",
            "add a cache in front of the slow lookup",
            "bump deps",
            "docs"
        ][n % 4]
    );
    Session {
        id: sid(n),
        branch: Some(flotilla::core::branch_from_title(&title)),
        title,
        status: STATUSES[n % STATUSES.len()],
        status_reason: None,
        agent: "shell".into(),
        model: None,
        strategy: Strategy::Worktree,
        workspace: PathBuf::from(format!("/home/dev/.flotilla/ws/s{n}")),
        source_repo: PathBuf::from(repo),
        base_commit: "0123456789abcdef0123456789abcdef01234567".into(),
        agent_session_id: None,
        created_at: now() - Duration::hours(5),
        last_activity_at: now() - Duration::seconds((n * 37 % 90_000) as i64),
        message_count: 10,
        queued_prompts: 0,
        tokens_in: None,
        tokens_out: None,
        cost_usd: None,
        agent_running: false,
        mark: None,
        parent: None,
        notify: None,
        limits: Default::default(),
        turns: 0,
        turn_ms: 0,
        template: None,
        reforged_from: None,
        conflicts: Vec::new(),
        rate_limits: None,
    }
}

/// A conversation: prompts of a line or two, answers of a few lines of text (one in
/// three wraps) followed, every other time, by a tool call with a few lines of output.
fn transcript() -> Vec<Message> {
    (0..MESSAGES)
        .map(|m| {
            let id = format!("m{m}");
            let part = |p: usize, kind: PartKind| Part {
                id: format!("m{m}p{p}"),
                message_id: id.clone(),
                kind,
            };
            let (role, parts) = if m % 2 == 0 {
                let text = if m % 4 == 0 {
                    format!("Make step {m} pass: run the tests and fix what fails.")
                } else {
                    format!("Now step {m}.\nKeep the public API as it is.")
                };
                (Role::User, vec![part(0, PartKind::Text { text })])
            } else {
                let mut text = format!(
                    "Looking at step {m}.\nThe failure comes from the parser.\nI will change it."
                );
                if m % 3 == 0 {
                    text.push_str(&format!(
                        "\nA longer line that explains what happened in step {m} in enough \
                         words to need wrapping on a screen of one hundred and twenty columns."
                    ));
                }
                let mut parts = vec![part(0, PartKind::Text { text })];
                if m % 4 == 1 {
                    parts.push(part(
                        1,
                        PartKind::Tool {
                            name: "bash".into(),
                            input: serde_json::json!({ "command": format!("cargo test step_{m}") }),
                            status: ToolStatus::Completed,
                            output: Some(format!(
                                "running 3 tests\ntest step_{m}::a ... ok\n\
                                 test step_{m}::b ... ok\ntest step_{m}::c ... ok\n"
                            )),
                        },
                    ));
                }
                (Role::Assistant, parts)
            };
            Message {
                id,
                role,
                created_at: now() - Duration::seconds((MESSAGES - m) as i64),
                parts,
            }
        })
        .collect()
}

/// A file of `lines` diff lines in hunks of `LINES_PER_HUNK`: context around a change.
fn file_diff(path: &str, lines: usize) -> FileDiff {
    let mut hunks = Vec::new();
    let (mut additions, mut deletions) = (0, 0);
    let mut at = 0;
    while at < lines {
        let n = LINES_PER_HUNK.min(lines - at);
        let start = hunks.len() * 60 + 1;
        let hunk_lines: Vec<DiffLine> = (0..n)
            .map(|i| {
                let kind = match i % 10 {
                    3..=5 => LineKind::Removed,
                    6..=8 => LineKind::Added,
                    _ => LineKind::Context,
                };
                match kind {
                    LineKind::Added => additions += 1,
                    LineKind::Removed => deletions += 1,
                    LineKind::Context => {}
                }
                DiffLine {
                    kind,
                    text: format!("    let value_{} = compute({}, \"some text\");", at + i, i),
                }
            })
            .collect();
        let old = hunk_lines
            .iter()
            .filter(|l| l.kind != LineKind::Added)
            .count();
        let new = hunk_lines
            .iter()
            .filter(|l| l.kind != LineKind::Removed)
            .count();
        hunks.push(Hunk {
            old_start: start,
            old_lines: old,
            new_start: start,
            new_lines: new,
            lines: hunk_lines,
        });
        at += n;
    }
    FileDiff {
        path: path.into(),
        status: FileStatus::Modified,
        additions,
        deletions,
        binary: false,
        too_large: false,
        size: 0,
        omitted_lines: 0,
        hunks,
    }
}

fn diff() -> Vec<FileDiff> {
    let mut files = vec![file_diff(
        "src/parser/big_generated_table.rs",
        BIG_FILE_LINES,
    )];
    let rest = DIFF_LINES - BIG_FILE_LINES;
    for i in 0..SMALL_FILES {
        let lines = rest / SMALL_FILES + usize::from(i < rest % SMALL_FILES);
        files.push(file_diff(&format!("src/module_{i}/mod.rs"), lines));
    }
    files
}

fn press(state: &mut State, c: char) {
    let mods = if c.is_ascii_uppercase() {
        KeyModifiers::SHIFT
    } else {
        KeyModifiers::NONE
    };
    update(state, Msg::Key(KeyEvent::new(KeyCode::Char(c), mods)));
}

/// The selected session's transcript arrives, whole, as the daemon's reply.
fn give_transcript(state: &mut State, messages: Vec<Message>) {
    let id = state.selected.expect("a session is selected");
    let session = state.session(id).cloned().expect("the selected session");
    update(
        state,
        Msg::Reply {
            tag: Tag::Page {
                session: id,
                load: flotilla::tui::transcript::Load::Tail,
            },
            result: Ok(Reply::Transcript {
                session,
                page: flotilla::core::Page::whole(messages),
            }),
        },
    );
}

/// 1,000 sessions with the first one selected and its long transcript loaded.
fn with_transcript() -> State {
    let mut state = State::new(
        Keymap::defaults(),
        Theme { color: true },
        Notify::default(),
        now(),
    );
    let sessions: Vec<Session> = (0..SESSIONS).map(session).collect();
    update(
        &mut state,
        Msg::Reply {
            tag: Tag::Sessions,
            result: Ok(Reply::Sessions { sessions }),
        },
    );
    update(
        &mut state,
        Msg::Resize {
            width: WIDTH,
            height: HEIGHT,
        },
    );
    give_transcript(&mut state, transcript());
    assert!(state.transcript().is_some(), "the transcript is loaded");
    state
}

/// Messages of long wrapped lines: each answer is three lines of 2,000 characters of
/// words, some 17 rows each at 120 columns.
const LONG_MESSAGES: usize = 1_000;

fn long_lines() -> Vec<Message> {
    (0..LONG_MESSAGES)
        .map(|m| {
            let id = format!("l{m}");
            let (role, text) = if m % 2 == 0 {
                (Role::User, format!("Explain step {m} at length."))
            } else {
                let line = |n: usize| {
                    let mut line = String::new();
                    while line.len() < 2_000 {
                        line.push_str(&format!("word{n} and more text for step {m}, "));
                    }
                    line
                };
                (
                    Role::Assistant,
                    format!("{}\n{}\n{}", line(1), line(2), line(3)),
                )
            };
            Message {
                id: id.clone(),
                role,
                created_at: now() - Duration::seconds((LONG_MESSAGES - m) as i64),
                parts: vec![Part {
                    id: format!("{id}p0"),
                    message_id: id,
                    kind: PartKind::Text { text },
                }],
            }
        })
        .collect()
}

/// 1,000 sessions with the first selected and its transcript of long lines loaded.
fn with_long_lines() -> State {
    let mut state = with_transcript();
    give_transcript(&mut state, long_lines());
    let held = state.transcript().map_or(0, |t| t.messages.len());
    assert_eq!(held, LONG_MESSAGES, "the long transcript is loaded");
    state
}

/// The same, in the Diffs tab with the 10,000-line diff listed (files and counts), and
/// the selected file's hunks loaded, as the daemon sends them.
fn with_diff() -> State {
    let mut state = with_transcript();
    press(&mut state, '2');
    let id = state.selected.expect("a session is selected");
    let session = state.session(id).cloned().expect("the selected session");
    let seq = state.diff.seq;
    let listed = diff()
        .into_iter()
        .map(|f| FileDiff {
            hunks: Vec::new(),
            ..f
        })
        .collect();
    update(
        &mut state,
        Msg::Reply {
            tag: Tag::Diff { session: id, seq },
            result: Ok(Reply::Diff {
                session,
                files: listed,
            }),
        },
    );
    answer_file(&mut state);
    let lines: usize = state.diff.files[0]
        .hunks
        .iter()
        .map(|h| h.lines.len())
        .sum();
    assert_eq!(lines, BIG_FILE_LINES, "the big file's hunks are loaded");
    state
}

/// Answers the request for the selected file's hunks.
fn answer_file(state: &mut State) {
    let id = state.selected.expect("a session is selected");
    let path = state.diff.files[state.diff.selected].path.clone();
    let file = diff().into_iter().find(|f| f.path == path);
    let seq = state.diff.seq;
    update(
        state,
        Msg::Reply {
            tag: Tag::DiffFile {
                session: id,
                seq,
                path,
            },
            result: Ok(Reply::DiffFile { file }),
        },
    );
}

struct Case {
    name: &'static str,
    state: State,
}

fn cases() -> Vec<Case> {
    let messages = with_transcript();
    let mut messages_top = with_transcript();
    press(&mut messages_top, 'g');
    let mut last_selected = with_transcript();
    for _ in 0..SESSIONS {
        press(&mut last_selected, 'j');
    }
    // A transcript for the last session is not loaded: that frame draws its placeholder,
    // and the sidebar scrolled to its end.
    let long = with_long_lines();
    let mut long_top = with_long_lines();
    press(&mut long_top, 'g');
    let diffs = with_diff();
    let mut diffs_end = with_diff();
    press(&mut diffs_end, 'G');
    let mut diffs_last_file = with_diff();
    for _ in 0..SMALL_FILES {
        press(&mut diffs_last_file, 'J');
    }
    answer_file(&mut diffs_last_file);
    assert!(
        !diffs_last_file.diff.files[SMALL_FILES].hunks.is_empty(),
        "the last file's hunks are loaded"
    );
    vec![
        Case {
            name: "messages: tail of 10,000 messages, 1,000 sessions",
            state: messages,
        },
        Case {
            name: "messages: scrolled to the top",
            state: messages_top,
        },
        Case {
            name: "messages: tail of 1,000 messages of 2,000-character lines",
            state: long,
        },
        Case {
            name: "messages: those long lines scrolled to the top",
            state: long_top,
        },
        Case {
            name: "sidebar: last of 1,000 sessions selected",
            state: last_selected,
        },
        Case {
            name: "diffs: 10,000 lines, top of the 8,000-line file",
            state: diffs,
        },
        Case {
            name: "diffs: 10,000 lines, end of the 8,000-line file",
            state: diffs_end,
        },
        Case {
            name: "diffs: 10,000 lines, last file selected",
            state: diffs_last_file,
        },
    ]
}

fn terminal() -> Terminal<TestBackend> {
    Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("a test terminal")
}

fn draw(terminal: &mut Terminal<TestBackend>, state: &State) {
    terminal
        .draw(|frame| flotilla::tui::view::render(state, frame))
        .expect("draw");
}

fn median_ms(state: &State) -> f64 {
    let mut terminal = terminal();
    for _ in 0..WARM_UP {
        draw(&mut terminal, state);
    }
    let mut times: Vec<f64> = (0..SAMPLES)
        .map(|_| {
            let start = Instant::now();
            draw(&mut terminal, state);
            start.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn print_table(rows: &[(String, f64)]) {
    let header = ["figure", "median", "target", "result"].map(String::from);
    let mut table: Vec<[String; 4]> = vec![header];
    let mut failed = 0;
    for (name, ms) in rows {
        let pass = *ms < TARGET_MS;
        failed += usize::from(!pass);
        table.push([
            format!("frame {WIDTH}x{HEIGHT}, {name}"),
            format!("{ms:.3} ms"),
            format!("< {TARGET_MS} ms"),
            if pass { "pass" } else { "FAIL" }.into(),
        ]);
    }
    let mut widths = [0usize; 4];
    for row in &table {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for (i, row) in table.iter().enumerate() {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        println!("| {} |", cells.join(" | "));
        if i == 0 {
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(w + 2)).collect();
            println!("|{}|", rule.join("|"));
        }
    }
    println!("{} of {} targets met", rows.len() - failed, rows.len());
}

fn main() {
    let cases = cases();
    let mut criterion = Criterion::default().configure_from_args();
    for case in &cases {
        let mut terminal = terminal();
        criterion.bench_function(case.name, |b| b.iter(|| draw(&mut terminal, &case.state)));
    }
    criterion.final_summary();
    // Cargo passes `--bench` to a real run; without it (a test run) the table is skipped.
    if std::env::args().any(|a| a == "--bench") {
        let rows: Vec<(String, f64)> = cases
            .iter()
            .map(|case| (case.name.to_string(), median_ms(&case.state)))
            .collect();
        print_table(&rows);
    }
}
