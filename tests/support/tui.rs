//! Helpers for the tests of the dashboard's `update`: fixed sessions and transcripts,
//! keys as a terminal sends them, and the requests an update makes.

pub use chrono::{DateTime, TimeZone, Utc};
pub use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
pub use flotilla::core::Chronicle;
pub use flotilla::core::{
    FileDiff, FileStatus, Message, Part, PartKind, PermissionReply, Role, Session, SessionId,
    Status, Strategy, ToolStatus,
};
pub use flotilla::protocol::{Command, Event, NewSession, Reply};
pub use flotilla::tui::dialog::{Dialog, Field};
pub use flotilla::tui::keymap::Keymap;
pub use flotilla::tui::state::{Level, Mark, Notify, Overlay, Row, State, Tab};
pub use flotilla::tui::theme::Theme;
pub use flotilla::tui::update::{Effect, Msg, Tag, Update, update};
pub use std::path::PathBuf;
pub use uuid::Uuid;
pub const APP: &str = "/home/dev/src/app";
pub const LIB: &str = "/home/dev/src/lib";

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 14, 9, 26, 53).unwrap()
}

pub fn sid(n: u128) -> SessionId {
    SessionId(Uuid::from_u128(n))
}

pub fn id1() -> String {
    sid(1).to_string()
}

pub fn session(n: u128, status: Status, repo: &str, title: &str) -> Session {
    Session {
        id: sid(n),
        title: title.into(),
        status,
        status_reason: None,
        agent: "shell".into(),
        model: None,
        strategy: Strategy::Worktree,
        workspace: PathBuf::from(format!("/home/dev/.flotilla/ws/{n}")),
        source_repo: PathBuf::from(repo),
        branch: Some(format!("flotilla/s{n}")),
        base_commit: "0123456789abcdef".into(),
        agent_session_id: None,
        created_at: t0(),
        last_activity_at: t0(),
        message_count: 0,
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

pub fn state_with(notify: Notify) -> State {
    State::new(Keymap::defaults(), Theme { color: true }, notify, t0())
}

pub fn reply(state: &mut State, tag: Tag, result: Result<Reply, String>) -> Update {
    update(state, Msg::Reply { tag, result })
}

pub fn event(state: &mut State, event: Event) -> Update {
    update(state, Msg::Daemon(event))
}

pub fn load(state: &mut State, sessions: Vec<Session>) -> Update {
    reply(state, Tag::Sessions, Ok(Reply::Sessions { sessions }))
}

/// Answers the transcript request of session `n` with one assistant message "m1".
pub fn transcript(state: &mut State, n: u128, parts: Vec<(&str, PartKind)>) -> Update {
    let session = state.session(sid(n)).cloned().unwrap();
    let messages = vec![message(parts)];
    reply(
        state,
        Tag::Page {
            session: sid(n),
            load: flotilla::tui::transcript::Load::Tail,
        },
        Ok(Reply::Transcript {
            session,
            page: flotilla::core::Page::whole(messages),
        }),
    )
}

pub fn message(parts: Vec<(&str, PartKind)>) -> Message {
    let parts = parts.into_iter().map(|(id, kind)| part(id, kind)).collect();
    let (id, role, created_at) = ("m1".to_string(), Role::Assistant, t0());
    Message {
        id,
        role,
        created_at,
        parts,
    }
}

pub fn part(id: &str, kind: PartKind) -> Part {
    let (id, message_id) = (id.to_string(), "m1".to_string());
    Part {
        id,
        message_id,
        kind,
    }
}

pub fn text(text: &str) -> PartKind {
    PartKind::Text { text: text.into() }
}

pub fn tool() -> PartKind {
    let input = serde_json::json!({ "command": "cargo test" });
    let (name, status, output) = ("bash".into(), ToolStatus::Completed, Some("ok".into()));
    PartKind::Tool {
        name,
        input,
        status,
        output,
    }
}

/// A state holding one session in `status`, selected, with its transcript loaded.
pub fn one(status: Status) -> State {
    let mut state = state_with(Notify::default());
    load(&mut state, vec![session(1, status, APP, "fix login")]);
    transcript(&mut state, 1, vec![]);
    state
}

pub fn press(state: &mut State, code: KeyCode, mods: KeyModifiers) -> Update {
    update(state, Msg::Key(KeyEvent::new(code, mods)))
}

/// A character as terminals send it: capitals come with SHIFT.
pub fn ch(state: &mut State, c: char) -> Update {
    let shift = c.is_ascii_uppercase();
    let mods = if shift {
        KeyModifiers::SHIFT
    } else {
        KeyModifiers::NONE
    };
    press(state, KeyCode::Char(c), mods)
}

pub fn key(state: &mut State, code: KeyCode) -> Update {
    press(state, code, KeyModifiers::NONE)
}

pub fn typed(state: &mut State, text: &str) {
    for c in text.chars() {
        ch(state, c);
    }
}

/// The requests an update makes, but for telling the daemon which session is on screen
/// (see `selecting_a_session_tells_the_daemon_it_is_viewed`) and for the comments and
/// checkpoints asked for with each transcript (see `tests/tui_review.rs`).
pub fn requests(up: &Update) -> Vec<(Command, Tag)> {
    let request = |e: &Effect| match e {
        Effect::Request(_, Tag::Viewing | Tag::Comments { .. } | Tag::Checkpoints { .. }) => None,
        Effect::RequestOn(_, _, Tag::Viewing | Tag::Comments { .. } | Tag::Checkpoints { .. }) => {
            None
        }
        Effect::Request(c, t) | Effect::RequestOn(_, c, t) => Some((c.clone(), t.clone())),
        _ => None,
    };
    up.effects.iter().filter_map(request).collect()
}

pub fn only_request(up: &Update) -> Command {
    let reqs = requests(up);
    assert_eq!(reqs.len(), 1, "{:?}", up.effects);
    reqs[0].0.clone()
}

pub fn assert_refused(state: &State, up: &Update, status: Status) {
    assert!(requests(up).is_empty(), "{status}: {:?}", up.effects);
    assert!(state.dialog.is_none(), "{status}: no dialog");
    let (text, level) = state.flash.clone().expect("a flash");
    assert_eq!(level, Level::Error);
    assert!(text.contains(status.as_str()), "{text}");
}

pub fn question(state: &State) -> String {
    match &state.dialog {
        Some(Dialog::Confirm(c)) => c.question.clone(),
        _ => panic!("no confirm dialog"),
    }
}

pub fn part_text(state: &State, n: u128, part: &str) -> String {
    let parts = state.transcripts[&sid(n)]
        .messages
        .iter()
        .flat_map(|m| &m.parts);
    let found = parts.clone().find(|p| p.id == part).expect("the part");
    found.kind.streamed_text().unwrap().to_string()
}

pub fn wants_transcript(n: u128) -> Command {
    Command::Transcript {
        id: sid(n).to_string(),
        page: flotilla::core::PageQuery::last(),
        follow: false,
    }
}

pub fn stop(cleanup: bool) -> Command {
    Command::Stop {
        id: id1(),
        cleanup,
        force: false,
    }
}

pub fn send(text: &str) -> Command {
    Command::Send {
        id: id1(),
        text: text.into(),
    }
}

pub const ABORTABLE: [Status; 3] = [Status::Starting, Status::Active, Status::WaitingInput];
/// Ended by the user or by a limit, with the workspace still there.
pub const ENDED: [Status; 2] = [Status::Stopped, Status::Completed];
pub const RESUMABLE: [Status; 4] = [
    Status::Stopped,
    Status::Completed,
    Status::Disconnected,
    Status::Error,
];

/// Every status a session in the sidebar can have: archived ones are only in the
/// History view, so no key of the main view reaches them.
pub fn listed_statuses() -> impl Iterator<Item = Status> {
    Status::ALL
        .iter()
        .copied()
        .filter(|s| *s != Status::Archived)
}
pub const PROMPTABLE: [Status; 3] = [Status::Starting, Status::Active, Status::Idle];

pub fn three_sessions() -> State {
    let mut state = state_with(Notify::default());
    let up = load(
        &mut state,
        vec![
            session(1, Status::Idle, APP, "fix login"),
            session(2, Status::Active, APP, "add cache"),
            session(3, Status::Error, LIB, "refactor parser"),
        ],
    );
    assert_eq!(state.selected, Some(sid(1)));
    assert_eq!(only_request(&up), wants_transcript(1));
    transcript(&mut state, 1, vec![]);
    state
}

pub fn delta(session: u128, part: &str, offset: usize, text: &str) -> Event {
    let (session, message_id) = (sid(session), "m1".to_string());
    let (part_id, text) = (part.to_string(), text.to_string());
    Event::PartDelta {
        session,
        message_id,
        part_id,
        offset,
        text,
    }
}

/// A session as the daemon reports it with a mark.
pub fn marked(n: u128, status: Status, mark: Option<Mark>) -> Event {
    let session = Session {
        mark,
        ..session(n, status, APP, &format!("s{n}"))
    };
    Event::SessionUpdated { session }
}

pub fn form_error(state: &State, field: Field) -> Option<String> {
    match &state.dialog {
        Some(Dialog::NewSession(form)) => form.errors.get(&field).cloned(),
        _ => panic!("the dialog is closed"),
    }
}

pub fn mouse(
    state: &mut State,
    kind: crossterm::event::MouseEventKind,
    column: u16,
    row: u16,
) -> Update {
    let event = crossterm::event::MouseEvent {
        kind,
        column,
        row,
        modifiers: KeyModifiers::NONE,
    };
    update(state, Msg::Mouse(event))
}

/// The dashboard at 80x24.
pub fn small_screen(state: &mut State) {
    update(
        state,
        Msg::Resize {
            width: 80,
            height: 24,
        },
    );
}

/// The screen drawn at `width` x `height`, after a resize to it.
pub fn render(
    state: &mut State,
    width: u16,
    height: u16,
) -> ratatui::Terminal<ratatui::backend::TestBackend> {
    update(state, Msg::Resize { width, height });
    let backend = ratatui::backend::TestBackend::new(width, height);
    let mut terminal = ratatui::Terminal::new(backend).unwrap();
    terminal
        .draw(|f| flotilla::tui::view::render(state, f))
        .unwrap();
    terminal
}

/// The whole screen as text, a line per row.
pub fn screen(state: &mut State, width: u16, height: u16) -> String {
    let terminal = render(state, width, height);
    let buffer = terminal.backend().buffer();
    (0..height)
        .map(|y| {
            (0..width)
                .map(|x| buffer[(x, y)].symbol().to_string())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A chronicle of session `session`, kept for `reason`, with its tree if `tree`.
pub fn chronicle(id: &str, session: u128, reason: &str, tree: bool) -> Chronicle {
    Chronicle {
        id: id.into(),
        session_id: sid(session),
        title: "archived".into(),
        agent: "shell".into(),
        model: None,
        reason: reason.into(),
        source_repo: LIB.into(),
        strategy: Strategy::Worktree,
        branch: None,
        base_commit: "0123".into(),
        tree_commit: tree.then(|| "abcd".to_string()),
        refname: tree.then(|| format!("refs/flotilla/chronicles/{id}")),
        parent_chronicle_id: None,
        created_at: t0(),
        message_count: 2,
        files: vec![],
    }
}
