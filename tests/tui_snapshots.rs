//! What the dashboard draws, at 80x24 and 120x40, from fixed data.

use chrono::{DateTime, Duration, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use flotilla::core::{
    DiffLine, FileDiff, FileStatus, Hunk, LineKind, Message, Part, PartKind, Role, Session,
    SessionId, Status, Strategy, ToolStatus,
};
use flotilla::protocol::{Event, Reply};
use flotilla::tui::keymap::Keymap;
use flotilla::tui::state::{Mark, Notify, Overlay, State};
use flotilla::tui::theme::Theme;
use flotilla::tui::update::{Effect, Msg, Tag, update};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::path::PathBuf;
use uuid::Uuid;

const APP: &str = "/home/dev/src/app";
const LIB: &str = "/home/dev/src/lib";
const DOCS: &str = "/home/dev/src/docs";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 14, 9, 26, 53).unwrap()
}

fn sid(n: u128) -> SessionId {
    SessionId(Uuid::from_u128(n))
}

fn session(n: u128, status: Status, repo: &str, title: &str, ago: i64) -> Session {
    Session {
        id: sid(n),
        title: title.into(),
        status,
        status_reason: None,
        agent: "shell".into(),
        model: None,
        strategy: Strategy::Worktree,
        workspace: PathBuf::from(format!("/home/dev/.flotilla/ws/s{n}")),
        source_repo: PathBuf::from(repo),
        branch: Some(flotilla::core::branch_from_title(title)),
        base_commit: "0123456789abcdef0123456789abcdef01234567".into(),
        agent_session_id: None,
        created_at: now() - Duration::hours(5),
        last_activity_at: now() - Duration::seconds(ago),
        message_count: 4,
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

fn new_state() -> State {
    State::new(
        Keymap::defaults(),
        Theme { color: true },
        Notify::default(),
        now(),
    )
}

fn with_sessions(sessions: Vec<Session>) -> State {
    let mut state = new_state();
    let result = Ok(Reply::Sessions { sessions });
    update(
        &mut state,
        Msg::Reply {
            tag: Tag::Sessions,
            result,
        },
    );
    state
}

fn give_transcript(state: &mut State, id: SessionId, messages: Vec<Message>) {
    let session = state.session(id).cloned().unwrap();
    let result = Ok(Reply::Transcript {
        session,
        page: flotilla::core::Page::whole(messages),
    });
    update(
        state,
        Msg::Reply {
            tag: Tag::Page {
                session: id,
                load: flotilla::tui::transcript::Load::Tail,
            },
            result,
        },
    );
}

fn press(state: &mut State, code: KeyCode) -> Vec<Effect> {
    let mods = match code {
        KeyCode::Char(c) if c.is_ascii_uppercase() => KeyModifiers::SHIFT,
        _ => KeyModifiers::NONE,
    };
    update(state, Msg::Key(KeyEvent::new(code, mods))).effects
}

fn typed(state: &mut State, text: &str) {
    for c in text.chars() {
        press(state, KeyCode::Char(c));
    }
}

fn message(id: &str, role: Role, minute: i64, parts: Vec<(&str, PartKind)>) -> Message {
    let parts = parts
        .into_iter()
        .map(|(pid, kind)| Part {
            id: pid.into(),
            message_id: id.into(),
            kind,
        })
        .collect();
    Message {
        id: id.into(),
        role,
        created_at: now() - Duration::minutes(minute),
        parts,
    }
}

fn text(t: &str) -> PartKind {
    PartKind::Text { text: t.into() }
}

fn tool(name: &str, input: serde_json::Value, status: ToolStatus, output: &str) -> PartKind {
    let output = (!output.is_empty()).then(|| output.to_string());
    PartKind::Tool {
        name: name.into(),
        input,
        status,
        output,
    }
}

fn render(state: &mut State, width: u16, height: u16) -> Terminal<TestBackend> {
    update(state, Msg::Resize { width, height });
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|f| flotilla::tui::view::render(state, f))
        .unwrap();
    terminal
}

/// Snapshots the screen at both sizes.
fn snap(name: &str, state: &mut State) {
    for (w, h) in [(80, 24), (120, 40)] {
        let terminal = render(state, w, h);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), terminal.backend());
    }
}

fn conversation() -> Vec<Message> {
    vec![
        message(
            "m1",
            Role::User,
            12,
            vec![("p1", text("Make the login form reject empty passwords."))],
        ),
        message(
            "m2",
            Role::Assistant,
            11,
            vec![("p2", text("I'll look at the form first."))],
        ),
    ]
}

#[test]
fn empty() {
    snap("empty", &mut new_state());
}

fn every_status() -> State {
    let mut state = with_sessions(vec![
        session(1, Status::Idle, APP, "fix login", 5),
        session(
            2,
            Status::Active,
            APP,
            "add a cache in front of the slow user lookup",
            40,
        ),
        session(3, Status::WaitingInput, APP, "rename config keys", 200),
        session(4, Status::Starting, LIB, "bump deps", 2),
        session(5, Status::Error, LIB, "port to tokio 2", 3 * 3600),
        session(6, Status::Disconnected, LIB, "flaky test hunt", 7200),
        session(7, Status::Stopped, DOCS, "write the guide", 86_400),
        session(8, Status::Stopped, DOCS, "fix typos", 4 * 86_400),
        session(9, Status::Stopped, DOCS, "old experiment", 30 * 86_400),
    ]);
    give_transcript(&mut state, sid(1), conversation());
    for (n, mark) in [
        (3, Mark::Attention),
        (5, Mark::Attention),
        (2, Mark::Unread),
        (6, Mark::Unread),
    ] {
        let marked = Session {
            mark: Some(mark),
            parent: None,
            notify: None,
            limits: Default::default(),
            turns: 0,
            turn_ms: 0,
            template: None,
            reforged_from: None,
            conflicts: Vec::new(),
            rate_limits: None,
            ..state.session(sid(n)).cloned().expect("the session")
        };
        update(
            &mut state,
            Msg::Daemon(Event::SessionUpdated { session: marked }),
        );
    }
    state
}

#[test]
fn sidebar_with_every_status() {
    snap("sidebar_every_status", &mut every_status());
}

#[test]
fn transcript_with_folded_and_expanded_tools() {
    let mut state = with_sessions(vec![session(1, Status::Active, APP, "fix login", 5)]);
    let mut messages = conversation();
    messages.push(message(
        "m3",
        Role::Assistant,
        10,
        vec![
            (
                "r1",
                PartKind::Reasoning {
                    text: "The check belongs in validate().".into(),
                },
            ),
            (
                "t1",
                tool(
                    "read",
                    serde_json::json!({ "filePath": "src/login.rs" }),
                    ToolStatus::Completed,
                    "fn validate(form: &Form) -> bool {\n    true\n}",
                ),
            ),
            (
                "t2",
                tool(
                    "bash",
                    serde_json::json!({ "command": "cargo test login" }),
                    ToolStatus::Error,
                    "running 2 tests\ntest login::empty ... FAILED\ntest login::ok ... ok",
                ),
            ),
            ("p3", text("One test fails; fixing validate() now.")),
            (
                "e1",
                PartKind::Error {
                    message: "the agent hit its token limit".into(),
                },
            ),
        ],
    ));
    give_transcript(&mut state, sid(1), messages);
    press(&mut state, KeyCode::Char('T'));
    press(&mut state, KeyCode::Enter);
    assert!(state.transcripts[&sid(1)].expanded.contains("t2"));
    snap("transcript_tools", &mut state);
}

fn line(kind: LineKind, text: &str) -> DiffLine {
    DiffLine {
        kind,
        text: text.into(),
    }
}

fn file(path: &str, status: FileStatus, hunks: Vec<Hunk>) -> FileDiff {
    let count = |k| {
        hunks
            .iter()
            .flat_map(|h| &h.lines)
            .filter(|l| l.kind == k)
            .count() as u64
    };
    FileDiff {
        path: path.into(),
        status,
        additions: count(LineKind::Added),
        deletions: count(LineKind::Removed),
        binary: false,
        too_large: false,
        size: 0,
        omitted_lines: 0,
        hunks,
    }
}

#[test]
fn diffs_tab() {
    let mut state = with_sessions(vec![session(1, Status::Idle, APP, "fix login", 5)]);
    give_transcript(&mut state, sid(1), conversation());
    let effects = press(&mut state, KeyCode::Char('2'));
    let Some(Effect::Request(_, tag)) = effects.into_iter().next() else {
        panic!("no diff request");
    };
    use LineKind::{Added, Context, Removed};
    let modified = vec![
        Hunk {
            old_start: 3,
            old_lines: 4,
            new_start: 3,
            new_lines: 5,
            lines: vec![
                line(Context, "pub fn validate(form: &Form) -> bool {"),
                line(Removed, "    true"),
                line(Added, "    if form.password.is_empty() {"),
                line(Added, "        return false;"),
                line(Added, "    }"),
                line(Added, "    true"),
                line(Context, "}"),
            ],
        },
        Hunk {
            old_start: 40,
            old_lines: 2,
            new_start: 42,
            new_lines: 2,
            lines: vec![
                line(Context, "#[cfg(test)]"),
                line(Removed, "mod tests {}"),
                line(Added, "mod tests;"),
            ],
        },
    ];
    let added = vec![Hunk {
        old_start: 0,
        old_lines: 0,
        new_start: 1,
        new_lines: 2,
        lines: vec![line(Added, "#[test]"), line(Added, "fn empty() {}")],
    }];
    let deleted = vec![Hunk {
        old_start: 1,
        old_lines: 1,
        new_start: 0,
        new_lines: 0,
        lines: vec![line(Removed, "// legacy login, unused")],
    }];
    let files = vec![
        file("src/login.rs", FileStatus::Modified, modified),
        file("src/login/tests.rs", FileStatus::Added, added),
        file("src/legacy_login.rs", FileStatus::Deleted, deleted),
    ];
    let session = state.session(sid(1)).cloned().unwrap();
    update(
        &mut state,
        Msg::Reply {
            tag,
            result: Ok(Reply::Diff { session, files }),
        },
    );
    snap("diffs_tab", &mut state);
    // Zoomed: the hunks take the whole width, with the file's place in the list; a
    // tab-indented line keeps its indentation, and a binary file says what it is.
    press(&mut state, KeyCode::Char('z'));
    assert!(state.zoom);
    if let Some(f) = state.diff.files.get_mut(0) {
        f.hunks[0].lines[1].text = "\tif ok {\treturn 1 }".into();
    }
    snap("diffs_tab_zoomed", &mut state);
    press(&mut state, KeyCode::Char('z'));
    assert!(!state.zoom, "z again goes back");
    let mut binary = file("assets/logo.png", FileStatus::Added, Vec::new());
    binary.binary = true;
    binary.size = 2_417;
    state.diff.files.insert(0, binary);
    state.diff.selected = 0;
    let terminal = render(&mut state, 80, 24);
    let screen = format!("{:?}", terminal.backend());
    assert!(screen.contains("binary file, 2417 bytes"), "{screen}");
    assert!(
        screen.contains("png binary"),
        "the file list says so too: {screen}"
    );
}

#[test]
fn an_error_session_shows_its_reason_where_its_output_stopped() {
    let mut state = with_sessions(vec![
        Session {
            status_reason: Some(
                "opencode serve exited with status 1: listen EADDRINUSE 127.0.0.1:4096; free the port or restart the daemon".into(),
            ),
            ..session(1, Status::Error, APP, "fix login", 5)
        },
        Session {
            status_reason: Some("the daemon stopped while this session was running: resume it".into()),
            ..session(2, Status::Disconnected, APP, "add tests", 9)
        },
    ]);
    give_transcript(&mut state, sid(1), conversation());
    snap("error_session_reason", &mut state);
    press(&mut state, KeyCode::Char('j'));
    give_transcript(&mut state, sid(2), conversation());
    let terminal = render(&mut state, 80, 24);
    let screen = format!("{:?}", terminal.backend());
    assert!(
        screen.contains("output stopped here: the daemon stopped"),
        "{screen}"
    );
}

#[test]
fn new_session_dialog_with_a_field_error() {
    let mut state = with_sessions(vec![session(1, Status::Idle, APP, "fix login", 5)]);
    give_transcript(&mut state, sid(1), conversation());
    state.default_dir = APP.into();
    state.agents = vec!["shell".into(), "opencode".into()];
    press(&mut state, KeyCode::Char('n'));
    for _ in 0..4 {
        press(&mut state, KeyCode::Down);
    }
    typed(&mut state, "Fix login");
    press(&mut state, KeyCode::Enter);
    let refusal = Err("branch 'flotilla/fix-login' already exists".to_string());
    update(
        &mut state,
        Msg::Reply {
            tag: Tag::NewSession,
            result: refusal,
        },
    );
    snap("new_session_dialog_error", &mut state);
}

#[test]
fn the_new_session_dialog_marks_an_agent_that_is_not_installed() {
    let mut state = with_sessions(vec![session(1, Status::Idle, APP, "fix login", 5)]);
    give_transcript(&mut state, sid(1), conversation());
    state.default_dir = APP.into();
    state.agents = vec!["shell".into(), "codex".into()];
    let agents = vec![
        flotilla::protocol::AgentInfo {
            name: "shell".into(),
            kind: "command".into(),
            default: true,
            command: "sh".into(),
            found: Some("/bin/sh".into()),
            version: None,
            install: None,
        },
        flotilla::protocol::AgentInfo {
            name: "codex".into(),
            kind: "codex".into(),
            default: false,
            command: "codex".into(),
            found: None,
            version: None,
            install: Some("install Codex with `npm install -g @openai/codex` or set agents.codex.command in config.toml".into()),
        },
    ];
    update(
        &mut state,
        Msg::Reply {
            tag: Tag::Agents,
            result: Ok(Reply::Agents { agents }),
        },
    );
    press(&mut state, KeyCode::Char('n'));
    press(&mut state, KeyCode::Down);
    press(&mut state, KeyCode::Down);
    press(&mut state, KeyCode::Right);
    snap("new_session_dialog_missing_agent", &mut state);
}

#[test]
fn permission_card() {
    let mut state = with_sessions(vec![session(1, Status::WaitingInput, APP, "fix login", 5)]);
    let mut messages = conversation();
    let ask = PartKind::Permission {
        request_id: "req-1".into(),
        tool: "edit".into(),
        detail: "Edit src/login.rs: reject empty passwords in validate()".into(),
        diff: Some(
            "--- a/src/login.rs\n+++ b/src/login.rs\n@@ -3,3 +3,5 @@\n pub fn validate(form: &Form) -> bool {\n-    true\n+    if form.password.is_empty() {\n+        return false;\n+    }"
                .into(),
        ),
        reply: None,
    };
    messages.push(message("m3", Role::Assistant, 9, vec![("q1", ask)]));
    give_transcript(&mut state, sid(1), messages);
    snap("permission_card", &mut state);
}

#[test]
fn help_overlay() {
    let mut state = every_status();
    press(&mut state, KeyCode::Char('?'));
    assert_eq!(state.overlay, Some((Overlay::Help, 0)));
    snap("help_overlay", &mut state);
    // At 80x24 it scrolls: the last keys are reached, descriptions whole.
    update(
        &mut state,
        Msg::Resize {
            width: 80,
            height: 24,
        },
    );
    press(&mut state, KeyCode::Char('G'));
    let terminal = render(&mut state, 80, 24);
    insta::assert_snapshot!("help_overlay_80x24_end", terminal.backend());
}

#[test]
fn hostile_agent_output_never_reaches_the_terminal() {
    let title = "fix \u{1b}]0;retitled\u{7}login";
    let mut state = with_sessions(vec![session(1, Status::Active, APP, title, 5)]);
    let hostile = "alpha \u{1b}[2Jbravo \u{1b}]52;c;aGVsbG8=\u{7}charlie \u{1b}[10;20Hdelta";
    let input = serde_json::json!({ "command": "printf '\u{1b}[?25l'" });
    let output = "golf\u{1b}[31m hotel\u{1b}]52;c;aGVsbG8=\u{1b}\\ india\r\u{8}";
    let parts = vec![
        ("p1", text(hostile)),
        ("t1", tool("bash", input, ToolStatus::Completed, output)),
        (
            "e1",
            PartKind::Error {
                message: "juliet\u{1b}[10;20H kilo".into(),
            },
        ),
    ];
    give_transcript(
        &mut state,
        sid(1),
        vec![message("m1", Role::Assistant, 1, parts)],
    );
    let event = Event::PartDelta {
        session: sid(1),
        message_id: "m1".into(),
        part_id: "p1".into(),
        offset: hostile.len(),
        text: " echo\u{1b}]0;pwned\u{7}foxtrot".into(),
    };
    update(&mut state, Msg::Daemon(event));
    press(&mut state, KeyCode::Enter);
    assert!(state.transcripts[&sid(1)].expanded.contains("t1"));
    for (w, h) in [(80, 24), (120, 40)] {
        let terminal = render(&mut state, w, h);
        let mut screen = String::new();
        for cell in terminal.backend().buffer().content() {
            let symbol = cell.symbol();
            assert!(
                !symbol.chars().any(char::is_control),
                "control char in {symbol:?}"
            );
            screen.push_str(symbol);
        }
        let words = [
            "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
        ];
        for word in words
            .into_iter()
            .chain(["india", "juliet", "kilo", "login"])
        {
            assert!(screen.contains(word), "{word} is not drawn");
        }
        for payload in [
            "52;c", "[2J", "aGVsbG8", "10;20H", "pwned", "retitled", "[31m",
        ] {
            assert!(!screen.contains(payload), "{payload} is drawn");
        }
    }
}

/// The Info tab says whether the agent runs: an idle session's agent is stopped after
/// the idle timeout and starts again on the next prompt.
#[test]
fn info_tab_says_whether_the_agent_runs() {
    let asleep = session(1, Status::Idle, APP, "fix login", 5);
    let awake = Session {
        agent_running: true,
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
        ..session(2, Status::Active, APP, "add tests", 3)
    };
    let mut state = with_sessions(vec![asleep, awake]);
    give_transcript(&mut state, sid(1), conversation());
    press(&mut state, KeyCode::Char('3'));
    snap("info_tab_agent_not_running", &mut state);
}

/// The rows of the transcript box, without the bottom row where the scroll note sits.
fn transcript_rows_on_screen(terminal: &Terminal<TestBackend>, sidebar: u16) -> Vec<String> {
    let buffer = terminal.backend().buffer();
    let area = buffer.area;
    (1..area.height.saturating_sub(6))
        .map(|y| {
            (sidebar + 1..area.width - 1)
                .map(|x| buffer[(x, y)].symbol().to_string())
                .collect::<String>()
        })
        .collect()
}

#[test]
fn a_scrolled_up_view_stays_on_its_rows_while_output_arrives() {
    let mut state = with_sessions(vec![session(1, Status::Active, APP, "fix login", 5)]);
    let lines: String = (0..200)
        .map(|i| format!("n{i} a line of output\n"))
        .collect();
    let parts = vec![("p1", text(&lines))];
    give_transcript(
        &mut state,
        sid(1),
        vec![message("m1", Role::Assistant, 1, parts)],
    );
    let before = render(&mut state, 80, 24);
    press(&mut state, KeyCode::PageUp);
    assert!(state.scroll > 0);
    let held = transcript_rows_on_screen(&render(&mut state, 80, 24), 26);
    assert_ne!(held, transcript_rows_on_screen(&before, 26), "scrolled");
    let mut offset = lines.len();
    for i in 0..40 {
        // Lines long enough to wrap, so rows and lines differ.
        let more = format!("streamed {i} {}\n", "word ".repeat(20));
        let event = Event::PartDelta {
            session: sid(1),
            message_id: "m1".into(),
            part_id: "p1".into(),
            offset,
            text: more.clone(),
        };
        offset += more.len();
        update(&mut state, Msg::Daemon(event));
    }
    let message = message(
        "m2",
        Role::Assistant,
        0,
        vec![("p2", text("a\nnew\nmessage"))],
    );
    update(
        &mut state,
        Msg::Daemon(Event::MessageAdded {
            session: sid(1),
            message,
        }),
    );
    let after = transcript_rows_on_screen(&render(&mut state, 80, 24), 26);
    assert_eq!(after, held, "the same rows after 40 deltas and a message");
    // The session fails: the note on why comes below, and the view stays put.
    let failed = Session {
        status_reason: Some("the agent crashed: it printed a long reason ".repeat(4)),
        ..session(1, Status::Error, APP, "fix login", 5)
    };
    update(
        &mut state,
        Msg::Daemon(Event::SessionUpdated { session: failed }),
    );
    let after = transcript_rows_on_screen(&render(&mut state, 80, 24), 26);
    assert_eq!(after, held, "the same rows after the session failed");
    press(&mut state, KeyCode::End);
    let tail = format!("{:?}", render(&mut state, 80, 24).backend());
    assert!(tail.contains("message"), "{tail}");
}
