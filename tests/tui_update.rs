//! The dashboard's `update`: keys, replies and daemon events in, state and effects out.
//! Pure: no terminal, no daemon.

use chrono::{DateTime, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use flotilla::core::{
    FileDiff, FileStatus, Message, Part, PartKind, PermissionReply, Role, Session, SessionId,
    Status, Strategy, ToolStatus,
};
use flotilla::protocol::{Command, Event, NewSession, Reply};
use flotilla::tui::dialog::{Dialog, Field};
use flotilla::tui::keymap::Keymap;
use flotilla::tui::state::{Level, Mark, Notify, Overlay, Row, State, Tab};
use flotilla::tui::theme::Theme;
use flotilla::tui::update::{Effect, Msg, Tag, Update, update};
use std::path::PathBuf;
use uuid::Uuid;

const APP: &str = "/home/dev/src/app";
const LIB: &str = "/home/dev/src/lib";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 14, 9, 26, 53).unwrap()
}

fn sid(n: u128) -> SessionId {
    SessionId(Uuid::from_u128(n))
}

fn id1() -> String {
    sid(1).to_string()
}

fn session(n: u128, status: Status, repo: &str, title: &str) -> Session {
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
    }
}

fn state_with(notify: Notify) -> State {
    State::new(Keymap::defaults(), Theme { color: true }, notify, t0())
}

fn reply(state: &mut State, tag: Tag, result: Result<Reply, String>) -> Update {
    update(state, Msg::Reply { tag, result })
}

fn event(state: &mut State, event: Event) -> Update {
    update(state, Msg::Daemon(event))
}

fn load(state: &mut State, sessions: Vec<Session>) -> Update {
    reply(state, Tag::Sessions, Ok(Reply::Sessions { sessions }))
}

/// Answers the transcript request of session `n` with one assistant message "m1".
fn transcript(state: &mut State, n: u128, parts: Vec<(&str, PartKind)>) -> Update {
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

fn message(parts: Vec<(&str, PartKind)>) -> Message {
    let parts = parts.into_iter().map(|(id, kind)| part(id, kind)).collect();
    let (id, role, created_at) = ("m1".to_string(), Role::Assistant, t0());
    Message {
        id,
        role,
        created_at,
        parts,
    }
}

fn part(id: &str, kind: PartKind) -> Part {
    let (id, message_id) = (id.to_string(), "m1".to_string());
    Part {
        id,
        message_id,
        kind,
    }
}

fn text(text: &str) -> PartKind {
    PartKind::Text { text: text.into() }
}

fn tool() -> PartKind {
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
fn one(status: Status) -> State {
    let mut state = state_with(Notify::default());
    load(&mut state, vec![session(1, status, APP, "fix login")]);
    transcript(&mut state, 1, vec![]);
    state
}

fn press(state: &mut State, code: KeyCode, mods: KeyModifiers) -> Update {
    update(state, Msg::Key(KeyEvent::new(code, mods)))
}

/// A character as terminals send it: capitals come with SHIFT.
fn ch(state: &mut State, c: char) -> Update {
    let shift = c.is_ascii_uppercase();
    let mods = if shift {
        KeyModifiers::SHIFT
    } else {
        KeyModifiers::NONE
    };
    press(state, KeyCode::Char(c), mods)
}

fn key(state: &mut State, code: KeyCode) -> Update {
    press(state, code, KeyModifiers::NONE)
}

fn typed(state: &mut State, text: &str) {
    for c in text.chars() {
        ch(state, c);
    }
}

/// The requests an update makes, but for telling the daemon which session is on screen
/// (see `selecting_a_session_tells_the_daemon_it_is_viewed`).
fn requests(up: &Update) -> Vec<(Command, Tag)> {
    let request = |e: &Effect| match e {
        Effect::Request(_, Tag::Viewing) => None,
        Effect::Request(c, t) => Some((c.clone(), t.clone())),
        _ => None,
    };
    up.effects.iter().filter_map(request).collect()
}

fn only_request(up: &Update) -> Command {
    let reqs = requests(up);
    assert_eq!(reqs.len(), 1, "{:?}", up.effects);
    reqs[0].0.clone()
}

fn assert_refused(state: &State, up: &Update, status: Status) {
    assert!(requests(up).is_empty(), "{status}: {:?}", up.effects);
    assert!(state.dialog.is_none(), "{status}: no dialog");
    let (text, level) = state.flash.clone().expect("a flash");
    assert_eq!(level, Level::Error);
    assert!(text.contains(status.as_str()), "{text}");
}

fn question(state: &State) -> String {
    match &state.dialog {
        Some(Dialog::Confirm(c)) => c.question.clone(),
        _ => panic!("no confirm dialog"),
    }
}

fn part_text(state: &State, n: u128, part: &str) -> String {
    let parts = state.transcripts[&sid(n)]
        .messages
        .iter()
        .flat_map(|m| &m.parts);
    let found = parts.clone().find(|p| p.id == part).expect("the part");
    found.kind.streamed_text().unwrap().to_string()
}

fn wants_transcript(n: u128) -> Command {
    Command::Transcript {
        id: sid(n).to_string(),
        page: flotilla::core::PageQuery::last(),
        follow: false,
    }
}

fn stop(cleanup: bool) -> Command {
    Command::Stop {
        id: id1(),
        cleanup,
        force: false,
    }
}

fn send(text: &str) -> Command {
    Command::Send {
        id: id1(),
        text: text.into(),
    }
}

const ABORTABLE: [Status; 3] = [Status::Starting, Status::Active, Status::WaitingInput];
const ENDED: [Status; 3] = [Status::Stopped, Status::Completed, Status::Archived];
const PROMPTABLE: [Status; 3] = [Status::Starting, Status::Active, Status::Idle];

#[test]
fn abort_and_resume_follow_the_transition_table() {
    for status in Status::ALL {
        let mut state = one(status);
        let up = ch(&mut state, 'a');
        match ABORTABLE.contains(&status) {
            true => assert_eq!(
                only_request(&up),
                Command::Abort {
                    id: id1(),
                    keep_queue: false
                },
                "{status}"
            ),
            false => assert_refused(&state, &up, status),
        }
        let mut state = one(status);
        let up = ch(&mut state, 'r');
        match status.is_live() {
            false => assert_eq!(only_request(&up), Command::Resume { id: id1() }, "{status}"),
            true => assert_refused(&state, &up, status),
        }
    }
}

#[test]
fn terminate_asks_for_busy_sessions_and_refuses_ended_ones() {
    for status in Status::ALL {
        let mut state = one(status);
        let up = ch(&mut state, 'x');
        if ENDED.contains(&status) {
            assert_refused(&state, &up, status);
        } else if status.is_busy() {
            assert!(requests(&up).is_empty(), "{status}");
            assert!(question(&state).contains("fix login"));
            assert_eq!(only_request(&ch(&mut state, 'y')), stop(false), "{status}");
            assert!(state.dialog.is_none());
        } else {
            assert_eq!(only_request(&up), stop(false), "{status}: asked nothing");
            assert!(state.dialog.is_none());
        }
        // With cleanup it always asks, since a workspace goes; on a session that has
        // ended it removes only the workspace, and an archived one is left alone.
        let mut state = one(status);
        let up = ch(&mut state, 'X');
        if status == Status::Archived {
            assert_refused(&state, &up, status);
            continue;
        }
        assert!(requests(&up).is_empty(), "{status}");
        let asked = question(&state);
        assert!(asked.contains("/home/dev/.flotilla/ws/1"), "{asked}");
        assert_eq!(
            asked.starts_with("Remove the workspace"),
            ENDED.contains(&status),
            "{status}: {asked}"
        );
        let reqs = requests(&ch(&mut state, 'y'));
        assert_eq!(reqs.len(), 1, "{status}");
        assert_eq!(reqs[0].0, stop(true), "{status}");
        assert_eq!(reqs[0].1, Tag::Cleanup { session: sid(1) }, "{status}");
    }
}

#[test]
fn a_cleanup_refused_for_uncommitted_work_offers_the_forced_one_listing_what_goes() {
    let mut state = one(Status::Stopped);
    ch(&mut state, 'X');
    let tag = requests(&ch(&mut state, 'y'))[0].1.clone();
    let refusal = "nothing was changed: /home/dev/.flotilla/ws/1 has uncommitted work, \
                   2 changed files (src/a.rs, notes.md): commit or move it, or pass --force \
                   to discard it";
    reply(&mut state, tag, Err(refusal.into()));
    let Some(Dialog::Confirm(c)) = &state.dialog else {
        panic!("no second question: {:?}", state.flash)
    };
    assert!(!c.letters, "a letter cannot answer it");
    assert_eq!(c.focus, 0, "the focus starts on keeping it");
    let losses = c.losses.join("\n");
    assert!(
        losses.contains("src/a.rs, notes.md") && !losses.contains("--force"),
        "{losses}"
    );
    assert!(requests(&ch(&mut state, 'y')).is_empty(), "y does nothing");
    assert!(requests(&key(&mut state, KeyCode::Enter)).is_empty());
    assert!(state.dialog.is_none(), "enter on 'keep it' closes it");

    reply(
        &mut state,
        Tag::Cleanup { session: sid(1) },
        Err(refusal.into()),
    );
    key(&mut state, KeyCode::Right);
    let forced = Command::Stop {
        id: id1(),
        cleanup: true,
        force: true,
    };
    assert_eq!(only_request(&key(&mut state, KeyCode::Enter)), forced);
}

#[test]
fn delete_needs_a_deliberate_answer_and_says_what_goes() {
    let remove = Command::Remove {
        id: id1(),
        cleanup: false,
        force: false,
    };
    for status in Status::ALL {
        let mut state = one(status);
        assert!(requests(&ch(&mut state, 'D')).is_empty());
        assert!(question(&state).contains("Delete 'fix login'"), "{status}");
        let Some(Dialog::Confirm(c)) = &state.dialog else {
            unreachable!()
        };
        assert!(c.losses.iter().any(|l| l.contains("transcript")));
        // Letters typed in passing answer nothing, and enter on the focused "no" closes.
        for c in "you sey".chars() {
            assert!(requests(&ch(&mut state, c)).is_empty(), "{status}: {c}");
        }
        if state.dialog.is_some() {
            assert!(requests(&key(&mut state, KeyCode::Enter)).is_empty());
        }
        assert!(state.dialog.is_none(), "{status}");
        let mut state = one(status);
        ch(&mut state, 'D');
        key(&mut state, KeyCode::Right);
        assert_eq!(
            only_request(&key(&mut state, KeyCode::Enter)),
            remove,
            "{status}"
        );
        for no in [KeyCode::Char('n'), KeyCode::Esc] {
            let mut state = one(status);
            ch(&mut state, 'D');
            let up = key(&mut state, no);
            assert!(
                up.effects.is_empty() && state.dialog.is_none(),
                "{status} {no:?}"
            );
        }
    }
}

#[test]
fn prose_typed_after_i_on_a_stopped_session_stays_a_prompt_and_offers_resume_and_send() {
    let mut state = one(Status::Stopped);
    ch(&mut state, 'i');
    assert!(state.prompting, "i always opens the box");
    // Every key of the sentence is a dashboard key outside the box: D, y, s, e, r, n...
    typed(
        &mut state,
        "Do you see the bug? echo x; for i in 1 2; do r; n; done",
    );
    assert!(state.dialog.is_none(), "no dialog opened while typing");
    let up = key(&mut state, KeyCode::Enter);
    assert!(requests(&up).is_empty(), "nothing is sent yet");
    let asked = question(&state);
    assert!(
        asked.contains("stopped") && asked.contains("Resume"),
        "{asked}"
    );
    let text = "Do you see the bug? echo x; for i in 1 2; do r; n; done";
    let up = key(&mut state, KeyCode::Enter);
    let reqs = requests(&up);
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].0, Command::Resume { id: id1() });
    let resumed = session(1, Status::Idle, APP, "fix login");
    let up = reply(
        &mut state,
        reqs[0].1.clone(),
        Ok(Reply::Session {
            session: resumed,
            note: None,
        }),
    );
    assert_eq!(only_request(&up), send(text), "sent once resumed");
    assert!(state.prompt.lines().concat().is_empty(), "the box is empty");
    assert_eq!(state.history.last().map(String::as_str), Some(text));
}

#[test]
fn keeping_the_draft_keeps_it_and_a_refused_send_puts_it_back() {
    let mut state = one(Status::Disconnected);
    ch(&mut state, 'i');
    typed(&mut state, "later");
    key(&mut state, KeyCode::Enter);
    key(&mut state, KeyCode::Left);
    assert!(requests(&key(&mut state, KeyCode::Enter)).is_empty());
    assert_eq!(state.prompt.lines().concat(), "later", "kept as a draft");
    assert!(state.prompting, "still typing");

    // Waiting for a permission: it cannot be resumed either; the draft stays.
    let mut state = one(Status::WaitingInput);
    ch(&mut state, 'i');
    typed(&mut state, "go on");
    let up = key(&mut state, KeyCode::Enter);
    assert!(requests(&up).is_empty() && state.dialog.is_none());
    assert!(state.flash.clone().unwrap().0.contains("draft"));
    assert_eq!(state.prompt.lines().concat(), "go on");

    // The daemon refuses a prompt that was sent: it comes back into the box.
    let mut state = one(Status::Idle);
    ch(&mut state, 'i');
    typed(&mut state, "hello");
    let tag = requests(&key(&mut state, KeyCode::Enter))[0].1.clone();
    assert!(state.prompt.lines().concat().is_empty());
    reply(&mut state, tag, Err("the agent went away".into()));
    assert_eq!(state.prompt.lines().concat(), "hello");
}

#[test]
fn each_session_keeps_its_own_draft() {
    let mut state = state_with(Notify::default());
    load(
        &mut state,
        vec![
            session(1, Status::Idle, APP, "one"),
            session(2, Status::Idle, APP, "two"),
        ],
    );
    transcript(&mut state, 1, vec![]);
    ch(&mut state, 'i');
    typed(&mut state, "for one");
    key(&mut state, KeyCode::Esc);
    ch(&mut state, 'j');
    assert_eq!(state.selected, Some(sid(2)));
    assert!(state.prompt.lines().concat().is_empty(), "two has no draft");
    ch(&mut state, 'i');
    typed(&mut state, "for two");
    key(&mut state, KeyCode::Esc);
    ch(&mut state, 'k');
    assert_eq!(state.prompt.lines().concat(), "for one");
    ch(&mut state, 'j');
    assert_eq!(state.prompt.lines().concat(), "for two");
}

#[test]
fn an_abort_with_queued_prompts_says_how_many_and_can_keep_them() {
    let mut state = state_with(Notify::default());
    let mut busy = session(1, Status::Active, APP, "fix login");
    busy.queued_prompts = 2;
    load(&mut state, vec![busy]);
    transcript(&mut state, 1, vec![]);
    assert!(requests(&ch(&mut state, 'a')).is_empty());
    let Some(Dialog::Confirm(c)) = &state.dialog else {
        panic!("no question")
    };
    assert!(c.question.contains("2 queued prompts"), "{}", c.question);
    assert!(
        requests(&ch(&mut state, 'y')).is_empty(),
        "no letter answers"
    );
    key(&mut state, KeyCode::Right);
    let kept = Command::Abort {
        id: id1(),
        keep_queue: true,
    };
    assert_eq!(only_request(&key(&mut state, KeyCode::Enter)), kept);
    ch(&mut state, 'a');
    key(&mut state, KeyCode::Right);
    key(&mut state, KeyCode::Right);
    let dropped = Command::Abort {
        id: id1(),
        keep_queue: false,
    };
    assert_eq!(only_request(&key(&mut state, KeyCode::Enter)), dropped);
}

#[test]
fn prompts_are_sent_queued_or_refused_by_status() {
    for status in Status::ALL {
        let mut state = one(status);
        ch(&mut state, 'i');
        assert!(state.prompting, "{status}: the box always opens");
        typed(&mut state, "run the tests");
        let up = key(&mut state, KeyCode::Enter);
        if !PROMPTABLE.contains(&status) {
            // Nothing is sent; the draft stays, and a resume is offered where it can be.
            assert!(requests(&up).is_empty(), "{status}");
            assert_eq!(state.prompt.lines().concat(), "run the tests");
            assert_eq!(state.dialog.is_some(), !status.is_live(), "{status}");
            continue;
        }
        let reqs = requests(&up);
        assert_eq!(reqs.len(), 1, "{status}");
        assert_eq!(reqs[0].0, send("run the tests"));
        let session = session(1, status, APP, "fix login");
        reply(
            &mut state,
            reqs[0].1.clone(),
            Ok(Reply::Session {
                session,
                note: None,
            }),
        );
        let (flash, level) = state.flash.clone().unwrap();
        assert_eq!(level, Level::Info);
        assert_eq!(
            flash.contains("queued"),
            status != Status::Idle,
            "{status}: {flash}"
        );
    }
}

fn three_sessions() -> State {
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

#[test]
fn moving_the_selection_crosses_groups_and_loads_transcripts_once() {
    let mut state = three_sessions();
    assert_eq!(only_request(&ch(&mut state, 'j')), wants_transcript(2));
    assert_eq!(state.selected, Some(sid(2)));
    assert_eq!(
        only_request(&key(&mut state, KeyCode::Down)),
        wants_transcript(3)
    );
    assert_eq!(state.selected, Some(sid(3)), "into the second repository");
    assert!(requests(&ch(&mut state, 'j')).is_empty(), "the last");
    assert_eq!(state.selected, Some(sid(3)));
    assert!(requests(&ch(&mut state, 'k')).is_empty(), "still loading");
    assert_eq!(state.selected, Some(sid(2)));
    assert!(requests(&key(&mut state, KeyCode::Up)).is_empty(), "loaded");
    assert_eq!(state.selected, Some(sid(1)));
}

#[test]
fn tabs_switch_and_the_diffs_tab_asks_for_a_diff() {
    let mut state = three_sessions();
    let diff = Command::Diff { id: id1() };
    let steps = [
        (KeyCode::Char('2'), Tab::Diffs, true),
        (KeyCode::Char('3'), Tab::Info, false),
        (KeyCode::Char('1'), Tab::Messages, false),
        (KeyCode::Tab, Tab::Diffs, true),
        (KeyCode::Tab, Tab::Info, false),
        (KeyCode::Tab, Tab::Messages, false),
        (KeyCode::BackTab, Tab::Info, false),
        (KeyCode::BackTab, Tab::Diffs, true),
    ];
    for (code, tab, asks) in steps {
        let shift = code == KeyCode::BackTab;
        let mods = if shift {
            KeyModifiers::SHIFT
        } else {
            KeyModifiers::NONE
        };
        let reqs = requests(&press(&mut state, code, mods));
        assert_eq!(state.tab, tab, "{code:?}");
        assert_eq!(
            reqs.iter().any(|(c, _)| *c == diff),
            asks,
            "{code:?}: {reqs:?}"
        );
    }
}

#[test]
fn only_the_newest_diff_reply_is_used() {
    let mut state = three_sessions();
    let first = requests(&ch(&mut state, '2'))[0].1.clone();
    let second = requests(&ch(&mut state, '2'))[0].1.clone();
    assert_ne!(first, second);
    assert!(matches!(second, Tag::Diff { seq, .. } if seq == state.diff.seq));
    let diff = |path: &str| {
        let session = session(1, Status::Idle, APP, "fix login");
        let files = vec![FileDiff {
            path: path.into(),
            status: FileStatus::Modified,
            additions: 1,
            deletions: 0,
            binary: false,
            too_large: false,
            size: 0,
            omitted_lines: 0,
            hunks: vec![],
        }];
        Ok(Reply::Diff { session, files })
    };
    reply(&mut state, first, diff("old.rs"));
    assert!(
        state.diff.files.is_empty() && state.diff.loading,
        "the older reply is dropped"
    );
    reply(&mut state, second, diff("new.rs"));
    assert!(!state.diff.loading);
    assert_eq!(state.diff.files[0].path, "new.rs");
}

#[test]
fn filtering_narrows_the_sidebar_and_esc_clears_it() {
    let mut state = three_sessions();
    ch(&mut state, '/');
    assert!(state.filtering);
    typed(&mut state, "cache");
    assert_eq!(state.filter, "cache");
    assert_eq!(state.visible_ids().collect::<Vec<_>>(), [sid(2)]);
    assert_eq!(state.selected, Some(sid(2)));
    key(&mut state, KeyCode::Esc);
    assert!(!state.filtering && state.filter.is_empty());
    assert_eq!(state.visible_ids().count(), 3);
}

#[test]
fn a_selection_moved_by_the_filter_loads_its_transcript() {
    let mut state = three_sessions();
    ch(&mut state, '/');
    let reqs: Vec<_> = "cache"
        .chars()
        .flat_map(|c| requests(&ch(&mut state, c)))
        .collect();
    assert_eq!(state.selected, Some(sid(2)));
    assert!(
        reqs.iter().any(|(c, _)| *c == wants_transcript(2)),
        "{reqs:?}"
    );
}

#[test]
fn the_first_session_arriving_as_an_event_is_loaded() {
    let mut state = state_with(Notify::default());
    let up = event(
        &mut state,
        Event::SessionUpdated {
            session: session(1, Status::Idle, APP, "a"),
        },
    );
    assert_eq!(state.selected, Some(sid(1)));
    assert_eq!(only_request(&up), wants_transcript(1));
}

#[test]
fn needs_me_first_puts_waiting_and_failed_sessions_on_top() {
    let mut state = state_with(Notify::default());
    let finished = Session {
        mark: Some(Mark::Attention),
        ..session(6, Status::Idle, APP, "f")
    };
    load(
        &mut state,
        vec![
            session(1, Status::Idle, APP, "a"),
            session(2, Status::Active, APP, "b"),
            session(3, Status::Error, APP, "c"),
            session(4, Status::Idle, LIB, "d"),
            session(5, Status::WaitingInput, LIB, "e"),
            finished,
        ],
    );
    let order = |s: &State| s.visible_ids().collect::<Vec<_>>();
    let by_repo = [sid(1), sid(2), sid(3), sid(6), sid(4), sid(5)];
    assert_eq!(order(&state), by_repo);
    ch(&mut state, 'S');
    assert!(state.needs_me_first);
    // One list across repositories, so a session that finished its turn is not left
    // at the end of its group.
    assert!(
        state.rows.iter().all(|r| matches!(r, Row::Session(_))),
        "no group headers"
    );
    assert_eq!(
        order(&state),
        [sid(5), sid(3), sid(6), sid(1), sid(2), sid(4)]
    );
    ch(&mut state, 'S');
    assert_eq!(order(&state), by_repo);
}

#[test]
fn the_sidebar_scrolls_only_to_keep_the_selection_in_view() {
    let mut state = state_with(Notify::default());
    let sessions = (1..=40)
        .map(|n| session(n, Status::Idle, if n <= 20 { APP } else { LIB }, "s"))
        .collect();
    load(&mut state, sessions);
    update(
        &mut state,
        Msg::Resize {
            width: 80,
            height: 24,
        },
    );
    let height = state.sidebar_height();
    assert_eq!(
        height, 18,
        "24 rows less the prompt, status line and borders"
    );
    for _ in 0..17 {
        ch(&mut state, 'j');
    }
    assert_eq!(
        state.sidebar_top, 1,
        "the 18th session's row is the 19th: one row down"
    );
    for _ in 0..5 {
        ch(&mut state, 'k');
    }
    assert_eq!(
        state.sidebar_top, 1,
        "moving up inside the view does not scroll it"
    );
    for _ in 0..30 {
        ch(&mut state, 'j');
    }
    assert_eq!(state.sidebar_top, state.rows.len() - height, "at the end");
    for _ in 0..40 {
        ch(&mut state, 'k');
    }
    assert_eq!(
        state.sidebar_top, 0,
        "back at the top, with its group header"
    );
}

#[test]
fn help_quit_suspend_and_key_releases() {
    let mut state = three_sessions();
    ch(&mut state, '?');
    assert_eq!(state.overlay, Some((Overlay::Help, 0)));
    // At 80x24 the keys do not fit: j and k scroll, and stop at either end.
    update(
        &mut state,
        Msg::Resize {
            width: 80,
            height: 24,
        },
    );
    ch(&mut state, 'k');
    assert_eq!(state.overlay, Some((Overlay::Help, 0)));
    ch(&mut state, 'j');
    ch(&mut state, 'j');
    assert_eq!(state.overlay, Some((Overlay::Help, 2)));
    ch(&mut state, 'G');
    let end = state.overlay.expect("open").1;
    assert!(end > 20, "scrolled to the end: {end}");
    ch(&mut state, 'j');
    assert_eq!(
        state.overlay,
        Some((Overlay::Help, end)),
        "not past the end"
    );
    let up = ch(&mut state, 'q');
    assert!(
        state.overlay.is_none() && up.effects.is_empty(),
        "any other key only closes help"
    );
    assert_eq!(ch(&mut state, 'q').effects, [Effect::Quit]);
    let up = press(&mut state, KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(up.effects, [Effect::Quit]);
    let up = press(&mut state, KeyCode::Char('z'), KeyModifiers::CONTROL);
    assert_eq!(up.effects, [Effect::Suspend]);
    for c in ['j', 'q', '2', '?'] {
        let release =
            KeyEvent::new_with_kind(KeyCode::Char(c), KeyModifiers::NONE, KeyEventKind::Release);
        let up = update(&mut state, Msg::Key(release));
        assert!(up.effects.is_empty() && !up.redraw, "{c}");
    }
    let seen = (state.selected, state.tab, state.overlay);
    assert_eq!(seen, (Some(sid(1)), Tab::Messages, None));
}

#[test]
fn the_prompt_box_edits_sends_and_recalls_history() {
    let mut state = one(Status::Idle);
    ch(&mut state, 'i');
    typed(&mut state, "one");
    press(&mut state, KeyCode::Enter, KeyModifiers::ALT);
    typed(&mut state, "two");
    assert_eq!(state.prompt.lines(), ["one", "two"]);
    assert_eq!(
        only_request(&key(&mut state, KeyCode::Enter)),
        send("one\ntwo")
    );
    assert_eq!(state.prompt.lines(), [""]);
    typed(&mut state, "three");
    key(&mut state, KeyCode::Enter);
    let mut after = |code| {
        key(&mut state, code);
        state.prompt.lines().join("|")
    };
    assert_eq!(after(KeyCode::Up), "three");
    assert_eq!(after(KeyCode::Up), "one|two");
    assert_eq!(
        after(KeyCode::Down),
        "three",
        "down on the last line goes forward"
    );
    assert_eq!(after(KeyCode::Down), "");
    key(&mut state, KeyCode::Esc);
    assert!(!state.prompting);
}

fn delta(session: u128, part: &str, offset: usize, text: &str) -> Event {
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

#[test]
fn deltas_append_by_offset_and_skip_what_is_already_there() {
    let mut state = one(Status::Active);
    transcript(&mut state, 1, vec![("p1", text("hello "))]);
    assert!(event(&mut state, delta(1, "p1", 3, "lo world")).redraw);
    assert_eq!(part_text(&state, 1, "p1"), "hello world");
    assert!(!event(&mut state, delta(1, "p1", 0, "hello")).redraw);
    assert_eq!(part_text(&state, 1, "p1"), "hello world");
}

#[test]
fn events_during_a_transcript_load_are_replayed_once() {
    let mut state = state_with(Notify::default());
    load(&mut state, vec![session(1, Status::Active, APP, "a")]);
    assert!(state.loading.contains_key(&sid(1)));
    let added = message(vec![("p1", text(""))]);
    event(
        &mut state,
        Event::MessageAdded {
            session: sid(1),
            message: added,
        },
    );
    event(&mut state, delta(1, "p1", 0, "hello "));
    event(&mut state, delta(1, "p1", 6, "world"));
    event(
        &mut state,
        Event::PartUpdated {
            session: sid(1),
            part: part("p2", text("!")),
        },
    );
    // The reply was taken after the first delta.
    transcript(&mut state, 1, vec![("p1", text("hello "))]);
    assert!(state.loading.is_empty());
    let t = &state.transcripts[&sid(1)];
    assert_eq!((t.messages.len(), t.messages[0].parts.len()), (1, 2));
    assert_eq!(part_text(&state, 1, "p1"), "hello world");
    assert_eq!(part_text(&state, 1, "p2"), "!");
    assert!(!t.stale);
}

/// A session as the daemon reports it with a mark.
fn marked(n: u128, status: Status, mark: Option<Mark>) -> Event {
    let session = Session {
        mark,
        ..session(n, status, APP, &format!("s{n}"))
    };
    Event::SessionUpdated { session }
}

#[test]
fn marks_are_the_daemons_and_selecting_a_session_tells_it_it_is_viewed() {
    let mut state = three_sessions();
    // Output alone marks nothing here: the daemon says when a session is unread, so
    // every dashboard shows the same.
    assert!(!event(&mut state, delta(2, "p1", 0, "x")).redraw);
    assert_eq!(state.marks.get(&sid(2)), None);
    assert!(event(&mut state, marked(2, Status::Idle, Some(Mark::Unread))).redraw);
    assert_eq!(state.marks.get(&sid(2)), Some(&Mark::Unread));
    event(&mut state, marked(1, Status::Idle, Some(Mark::Failed)));
    assert_eq!(
        state.marks.get(&sid(1)),
        None,
        "the one on screen is never marked"
    );
    // Another client looked at it: the daemon cleared its mark.
    event(&mut state, marked(2, Status::Idle, None));
    assert_eq!(state.marks.get(&sid(2)), None);
    event(&mut state, marked(2, Status::Idle, Some(Mark::Failed)));
    let up = ch(&mut state, 'j');
    assert_eq!(
        state.marks.get(&sid(2)),
        None,
        "selecting it clears the mark"
    );
    let view = up.effects.iter().any(|e| {
        matches!(e, Effect::Request(Command::View { id: Some(id), .. }, Tag::Viewing)
            if *id == sid(2).to_string())
    });
    assert!(view, "the daemon is told: {:?}", up.effects);
    // Marks arrive with the sessions, too: a dashboard opened later sees them.
    let mut later = state_with(Notify::default());
    load(
        &mut later,
        vec![
            session(1, Status::Idle, APP, "a"),
            Session {
                mark: Some(Mark::Attention),
                ..session(2, Status::Idle, APP, "b")
            },
        ],
    );
    assert_eq!(later.marks.get(&sid(2)), Some(&Mark::Attention));
}

#[test]
fn sessions_that_need_attention_are_marked_and_notified() {
    let cases = [
        (Status::Active, Status::Idle, "finished its turn"),
        (Status::Active, Status::WaitingInput, "needs your answer"),
        (Status::Idle, Status::Error, "failed"),
    ];
    // The configuration's default notifies with OSC 9 and leaves the bell off.
    for bell in [false, true] {
        for (before, after, news) in cases {
            let mut state = state_with(Notify { bell, osc9: true });
            load(
                &mut state,
                vec![
                    session(1, Status::Idle, APP, "a"),
                    session(2, before, APP, "b"),
                ],
            );
            let mark = Some(Mark::Attention);
            let session = Session {
                mark,
                ..session(2, after, APP, "b")
            };
            let up = event(&mut state, Event::SessionUpdated { session });
            assert_eq!(state.marks.get(&sid(2)), Some(&Mark::Attention), "{after}");
            let mut want = vec![Effect::Notify(format!("flotilla: b {news}"))];
            want.extend(bell.then_some(Effect::Bell));
            assert_eq!(up.effects, want, "{before} -> {after}, bell {bell}");
        }
    }
    let mut state = state_with(Notify {
        bell: true,
        osc9: true,
    });
    load(&mut state, vec![session(1, Status::Active, APP, "a")]);
    let up = event(
        &mut state,
        Event::SessionUpdated {
            session: session(1, Status::Idle, APP, "a"),
        },
    );
    assert!(
        up.effects.is_empty() && state.marks.is_empty(),
        "not for the one on screen"
    );
}

#[test]
fn the_tool_cursor_moves_and_folds_tool_calls() {
    let mut state = one(Status::Idle);
    transcript(
        &mut state,
        1,
        vec![("t1", tool()), ("p1", text("between")), ("t2", tool())],
    );
    let mut cursor_after = |c| {
        ch(&mut state, c);
        state.tool_cursor.clone().unwrap_or_default()
    };
    assert_eq!(cursor_after('t'), "t1");
    assert_eq!(cursor_after('t'), "t2");
    assert_eq!(cursor_after('t'), "t2", "stays on the last");
    assert_eq!(cursor_after('T'), "t1");
    key(&mut state, KeyCode::Enter);
    assert!(state.transcripts[&sid(1)].expanded.contains("t1"));
    key(&mut state, KeyCode::Enter);
    assert!(state.transcripts[&sid(1)].expanded.is_empty());
}

fn form_error(state: &State, field: Field) -> Option<String> {
    match &state.dialog {
        Some(Dialog::NewSession(form)) => form.errors.get(&field).cloned(),
        _ => panic!("the dialog is closed"),
    }
}

#[test]
fn the_new_session_dialog_checks_submits_and_shows_daemon_errors() {
    let mut state = state_with(Notify::default());
    ch(&mut state, 'n');
    assert!(matches!(state.dialog, Some(Dialog::NewSession(_))));
    assert!(key(&mut state, KeyCode::Enter).effects.is_empty());
    assert!(form_error(&state, Field::Directory).is_some());
    typed(&mut state, "/home/dev/src/a");
    assert_eq!(
        form_error(&state, Field::Directory),
        None,
        "typing clears it"
    );
    let up = key(&mut state, KeyCode::Tab);
    assert_eq!(up.effects, [Effect::Complete("/home/dev/src/a".into())]);
    let (completed, options) = ("/home/dev/src/ap".into(), vec!["api".into(), "app".into()]);
    update(&mut state, Msg::Completed { completed, options });
    typed(&mut state, "p");
    for _ in 0..4 {
        key(&mut state, KeyCode::Down);
    }
    typed(&mut state, "Fix login");
    let up = key(&mut state, KeyCode::Enter);
    let spec = NewSession {
        dir: PathBuf::from(APP),
        strategy: Some(Strategy::Worktree),
        title: Some("Fix login".into()),
        agent: Some("shell".into()),
        ..NewSession::default()
    };
    assert_eq!(requests(&up), [(Command::New(spec), Tag::NewSession)]);
    let refusal = Err("branch 'flotilla/fix-login' already exists".to_string());
    reply(&mut state, Tag::NewSession, refusal);
    let error = form_error(&state, Field::Branch).unwrap_or_default();
    assert!(error.contains("already exists"), "{error}");
    match &state.dialog {
        Some(Dialog::NewSession(form)) => assert!(form.focus == Field::Branch && !form.submitting),
        _ => panic!("the dialog stays open"),
    }
    let session = session(7, Status::Starting, APP, "Fix login");
    let up = reply(
        &mut state,
        Tag::NewSession,
        Ok(Reply::Session {
            session,
            note: None,
        }),
    );
    assert!(state.dialog.is_none());
    assert_eq!(state.selected, Some(sid(7)));
    assert!(requests(&up).iter().any(|(c, _)| *c == wants_transcript(7)));
}

#[test]
fn the_permission_card_answers_once_always_or_deny() {
    let answers = [
        ('y', PermissionReply::Once),
        ('Y', PermissionReply::Always),
        ('d', PermissionReply::Deny),
    ];
    for (c, answer) in answers {
        let mut state = one(Status::WaitingInput);
        let ask = PartKind::Permission {
            request_id: "req-1".into(),
            tool: "edit".into(),
            detail: "edit src/main.rs".into(),
            diff: None,
            reply: None,
        };
        transcript(&mut state, 1, vec![("perm", ask)]);
        let request_id = "req-1".to_string();
        let want = Command::Permission {
            id: id1(),
            request_id,
            reply: answer,
        };
        assert_eq!(only_request(&ch(&mut state, c)), want, "{c}");
    }
}

#[test]
fn the_diffs_tab_fetches_only_the_selected_files_hunks() {
    let mut state = three_sessions();
    let tag = requests(&ch(&mut state, '2'))[0].1.clone();
    let listed = |path: &str| FileDiff {
        path: path.into(),
        status: FileStatus::Modified,
        additions: 1,
        deletions: 1,
        binary: false,
        too_large: false,
        size: 0,
        omitted_lines: 0,
        hunks: vec![],
    };
    let session1 = session(1, Status::Idle, APP, "fix login");
    let files = vec![listed("a.rs"), listed("b.rs")];
    let up = reply(
        &mut state,
        tag,
        Ok(Reply::Diff {
            session: session1,
            files,
        }),
    );
    let wants = |path: &str| Command::DiffFile {
        id: id1(),
        path: path.into(),
    };
    let asked = requests(&up);
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(asked[0].0, wants("a.rs"));
    let with_hunks = |path: &str| FileDiff {
        hunks: vec![flotilla::core::Hunk {
            old_start: 1,
            old_lines: 1,
            new_start: 1,
            new_lines: 1,
            lines: vec![flotilla::core::DiffLine {
                kind: flotilla::core::LineKind::Added,
                text: format!("in {path}"),
            }],
        }],
        ..listed(path)
    };
    reply(
        &mut state,
        asked[0].1.clone(),
        Ok(Reply::DiffFile {
            file: Some(with_hunks("a.rs")),
        }),
    );
    assert_eq!(state.diff.files[0].hunks.len(), 1);

    let asked = requests(&ch(&mut state, ']'));
    assert_eq!(state.diff.selected, 1);
    assert!(
        asked.iter().any(|(c, _)| *c == wants("b.rs")),
        "the next file is fetched: {asked:?}"
    );
    assert!(state.diff.files[0].hunks.is_empty(), "a.rs is let go of");
}

#[test]
fn ctrl_c_in_the_prompt_box_clears_it_then_leaves_it_and_never_quits() {
    let mut state = one(Status::Idle);
    ch(&mut state, 'i');
    assert!(state.prompting);
    for c in "half a thought".chars() {
        ch(&mut state, c);
    }
    let up = press(&mut state, KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert!(!up.effects.contains(&Effect::Quit));
    assert!(state.prompting, "the first ctrl-c clears");
    assert_eq!(state.prompt.lines().join(""), "");
    ch(&mut state, 'x');
    assert_eq!(
        state.prompt.lines().join(""),
        "x",
        "what follows is a fresh prompt"
    );
    press(&mut state, KeyCode::Char('c'), KeyModifiers::CONTROL);
    let up = press(&mut state, KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert!(!state.prompting, "ctrl-c in an empty box leaves it");
    assert!(!up.effects.contains(&Effect::Quit));
    let up = press(&mut state, KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert!(
        up.effects.contains(&Effect::Quit),
        "in the main view it quits"
    );
}

#[test]
fn a_reconnect_reloads_the_sessions_and_the_transcript_on_screen() {
    let mut state = one(Status::Active);
    update(
        &mut state,
        Msg::Offline("the daemon went away; reconnecting…".into()),
    );
    assert!(state.offline.is_some());
    let back = vec![session(1, Status::Disconnected, APP, "fix login")];
    let up = update(
        &mut state,
        Msg::Reconnected(Box::new(Reply::Subscribed { sessions: back })),
    );
    assert!(state.offline.is_none());
    assert_eq!(
        state.sessions[0].status,
        Status::Disconnected,
        "the daemon's word"
    );
    let asked: Vec<Command> = requests(&up).into_iter().map(|(c, _)| c).collect();
    assert!(asked.contains(&wants_transcript(1)), "{asked:?}");
    assert!(asked.contains(&Command::DaemonStatus), "{asked:?}");
    assert!(state.flash.clone().unwrap().0.contains("reconnected"));
}

#[test]
fn ages_change_a_minute_at_a_time_and_output_makes_a_session_young_again() {
    let mut state = state_with(Notify::default());
    let mut old = session(1, Status::Active, APP, "old");
    old.last_activity_at = t0() - chrono::Duration::seconds(150);
    let mut young = session(2, Status::Idle, APP, "young");
    young.last_activity_at = t0() - chrono::Duration::seconds(20);
    load(&mut state, vec![old, young]);
    // "now" for the young one turns "1m" 40 s from now; "2m" for the old one turns "3m"
    // in 30 s: the screen is next redrawn then.
    assert_eq!(
        state.next_age_change(),
        Some(t0() + chrono::Duration::seconds(30))
    );
    event(
        &mut state,
        Event::PartDelta {
            session: sid(1),
            message_id: "m1".into(),
            part_id: "p1".into(),
            offset: 0,
            text: "more".into(),
        },
    );
    assert_eq!(state.session(sid(1)).unwrap().last_activity_at, t0());
    assert_eq!(
        state.next_age_change(),
        Some(t0() + chrono::Duration::seconds(40))
    );
}
