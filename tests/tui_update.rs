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
use flotilla::tui::state::{Level, Mark, Notify, State, Tab};
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
    }
}

fn state_with(notify: Notify) -> State {
    State::new(Keymap::defaults(), Theme { color: true }, notify, t0())
}

fn load(state: &mut State, sessions: Vec<Session>) -> Update {
    let result = Ok(Reply::Sessions { sessions });
    update(
        state,
        Msg::Reply {
            tag: Tag::Sessions,
            result,
        },
    )
}

fn transcript(state: &mut State, id: SessionId, messages: Vec<Message>) -> Update {
    let session = state.session(id).cloned().unwrap();
    let result = Ok(Reply::Transcript { session, messages });
    update(
        state,
        Msg::Reply {
            tag: Tag::Transcript(id),
            result,
        },
    )
}

/// A state holding one session in `status`, selected, with an empty transcript.
fn one(status: Status) -> State {
    let mut state = state_with(Notify::default());
    load(&mut state, vec![session(1, status, APP, "fix login")]);
    transcript(&mut state, sid(1), vec![]);
    state
}

fn press(state: &mut State, code: KeyCode, mods: KeyModifiers) -> Update {
    update(state, Msg::Key(KeyEvent::new(code, mods)))
}

fn ch(state: &mut State, c: char) -> Update {
    let mods = if c.is_ascii_uppercase() {
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

fn requests(up: &Update) -> Vec<(Command, Tag)> {
    up.effects
        .iter()
        .filter_map(|e| match e {
            Effect::Request(c, t) => Some((c.clone(), t.clone())),
            _ => None,
        })
        .collect()
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

fn confirm_question(state: &State) -> String {
    match &state.dialog {
        Some(Dialog::Confirm(c)) => c.question.clone(),
        _ => panic!("no confirm dialog"),
    }
}

fn part(id: &str, message: &str, kind: PartKind) -> Part {
    Part {
        id: id.into(),
        message_id: message.into(),
        kind,
    }
}

fn message(id: &str, role: Role, parts: Vec<Part>) -> Message {
    Message {
        id: id.into(),
        role,
        created_at: t0(),
        parts,
    }
}

fn text(id: &str, message: &str, text: &str) -> Part {
    part(id, message, PartKind::Text { text: text.into() })
}

fn tool(id: &str, message: &str) -> Part {
    let kind = PartKind::Tool {
        name: "bash".into(),
        input: serde_json::json!({ "command": "cargo test" }),
        status: ToolStatus::Completed,
        output: Some("ok".into()),
    };
    part(id, message, kind)
}

fn part_text(state: &State, id: SessionId, part: &str) -> String {
    let t = &state.transcripts[&id];
    let p = t
        .messages
        .iter()
        .flat_map(|m| &m.parts)
        .find(|p| p.id == part)
        .unwrap();
    p.kind.streamed_text().unwrap().to_string()
}

const ABORTABLE: [Status; 3] = [Status::Starting, Status::Active, Status::WaitingInput];
const RESUMABLE: [Status; 5] = [
    Status::Stopped,
    Status::Completed,
    Status::Disconnected,
    Status::Error,
    Status::Archived,
];
const ENDED: [Status; 3] = [Status::Stopped, Status::Completed, Status::Archived];

#[test]
fn abort_and_resume_follow_the_transition_table() {
    for status in Status::ALL {
        let id = sid(1).to_string();
        let mut state = one(status);
        let up = ch(&mut state, 'a');
        if ABORTABLE.contains(&status) {
            assert_eq!(
                only_request(&up),
                Command::Abort { id: id.clone() },
                "{status}"
            );
        } else {
            assert_refused(&state, &up, status);
        }
        let mut state = one(status);
        let up = ch(&mut state, 'r');
        if RESUMABLE.contains(&status) {
            assert_eq!(only_request(&up), Command::Resume { id }, "{status}");
        } else {
            assert_refused(&state, &up, status);
        }
    }
}

#[test]
fn terminate_confirms_busy_sessions_and_refuses_ended_ones() {
    for status in Status::ALL {
        let mut state = one(status);
        let up = ch(&mut state, 'x');
        let stop = Command::Stop {
            id: sid(1).to_string(),
            cleanup: false,
            force: false,
        };
        if ENDED.contains(&status) {
            assert_refused(&state, &up, status);
        } else if status.is_busy() {
            assert!(requests(&up).is_empty(), "{status}");
            assert!(confirm_question(&state).contains("fix login"));
            assert_eq!(only_request(&ch(&mut state, 'y')), stop, "{status}");
            assert!(state.dialog.is_none());
        } else {
            assert_eq!(only_request(&up), stop, "{status}: no question when idle");
            assert!(state.dialog.is_none());
        }
    }
}

#[test]
fn terminate_with_cleanup_always_asks_first() {
    for status in Status::ALL {
        let mut state = one(status);
        let up = ch(&mut state, 'X');
        if ENDED.contains(&status) {
            assert_refused(&state, &up, status);
            continue;
        }
        assert!(requests(&up).is_empty(), "{status}");
        assert!(confirm_question(&state).contains("/home/dev/.flotilla/ws/1"));
        let stop = Command::Stop {
            id: sid(1).to_string(),
            cleanup: true,
            force: false,
        };
        assert_eq!(only_request(&ch(&mut state, 'y')), stop, "{status}");
    }
}

#[test]
fn delete_always_asks_and_only_yes_sends() {
    for status in Status::ALL {
        let mut state = one(status);
        assert!(requests(&ch(&mut state, 'D')).is_empty());
        assert!(
            confirm_question(&state).contains("Delete 'fix login'"),
            "{status}"
        );
        let remove = Command::Remove {
            id: sid(1).to_string(),
            cleanup: false,
            force: false,
        };
        assert_eq!(only_request(&ch(&mut state, 'y')), remove, "{status}");
        for no in [KeyCode::Char('n'), KeyCode::Esc] {
            let mut state = one(status);
            ch(&mut state, 'D');
            let up = key(&mut state, no);
            assert!(up.effects.is_empty(), "{status} {no:?}");
            assert!(state.dialog.is_none());
        }
    }
}

#[test]
fn prompts_are_sent_queued_or_refused_by_status() {
    for status in Status::ALL {
        let mut state = one(status);
        ch(&mut state, 'i');
        assert!(state.prompting, "{status}");
        typed(&mut state, "run the tests");
        let up = key(&mut state, KeyCode::Enter);
        if !matches!(status, Status::Starting | Status::Active | Status::Idle) {
            assert_refused(&state, &up, status);
            continue;
        }
        let reqs = requests(&up);
        assert_eq!(reqs.len(), 1, "{status}");
        let send = Command::Send {
            id: sid(1).to_string(),
            text: "run the tests".into(),
        };
        assert_eq!(reqs[0].0, send);
        let result = Ok(Reply::Session {
            session: session(1, status, APP, "fix login"),
            note: None,
        });
        update(
            &mut state,
            Msg::Reply {
                tag: reqs[0].1.clone(),
                result,
            },
        );
        let (flash, level) = state.flash.clone().unwrap();
        assert_eq!(level, Level::Info);
        let queued = flash.contains("queued");
        assert_eq!(queued, status != Status::Idle, "{status}: {flash}");
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
    let first = Command::Transcript {
        id: sid(1).to_string(),
        follow: false,
    };
    assert_eq!(only_request(&up), first);
    transcript(&mut state, sid(1), vec![]);
    state
}

#[test]
fn moving_the_selection_crosses_groups_and_loads_transcripts_once() {
    let mut state = three_sessions();
    let wants = |n| Command::Transcript {
        id: sid(n).to_string(),
        follow: false,
    };
    assert_eq!(only_request(&ch(&mut state, 'j')), wants(2));
    assert_eq!(state.selected, Some(sid(2)));
    assert_eq!(only_request(&key(&mut state, KeyCode::Down)), wants(3));
    assert_eq!(state.selected, Some(sid(3)), "into the second repository");
    assert!(
        requests(&ch(&mut state, 'j')).is_empty(),
        "stays on the last"
    );
    assert_eq!(state.selected, Some(sid(3)));
    assert!(requests(&ch(&mut state, 'k')).is_empty(), "already loading");
    assert_eq!(state.selected, Some(sid(2)));
    assert!(
        requests(&key(&mut state, KeyCode::Up)).is_empty(),
        "already loaded"
    );
    assert_eq!(state.selected, Some(sid(1)));
}

#[test]
fn tabs_switch_and_the_diffs_tab_asks_for_a_diff() {
    let mut state = three_sessions();
    let diff = Command::Diff {
        id: sid(1).to_string(),
        stat: false,
    };
    let steps: [(KeyCode, Tab, bool); 8] = [
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
        let mods = if code == KeyCode::BackTab {
            KeyModifiers::SHIFT
        } else {
            KeyModifiers::NONE
        };
        let up = press(&mut state, code, mods);
        assert_eq!(state.tab, tab, "{code:?}");
        let reqs = requests(&up);
        assert_eq!(
            reqs.iter().any(|(c, _)| *c == diff),
            asks,
            "{code:?}: {reqs:?}"
        );
    }
}

fn file(path: &str, status: FileStatus) -> FileDiff {
    FileDiff {
        path: path.into(),
        status,
        additions: 1,
        deletions: 0,
        binary: false,
        too_large: false,
        before: None,
        after: None,
        hunks: vec![],
    }
}

#[test]
fn only_the_newest_diff_reply_is_used() {
    let mut state = three_sessions();
    let first = requests(&ch(&mut state, '2'))[0].1.clone();
    let second = requests(&ch(&mut state, '2'))[0].1.clone();
    assert_ne!(first, second);
    assert!(matches!(second, Tag::Diff { seq, .. } if seq == state.diff.seq));
    let reply = |path: &str| {
        let files = vec![file(path, FileStatus::Modified)];
        Ok(Reply::Diff {
            session: session(1, Status::Idle, APP, "fix login"),
            files,
        })
    };
    update(
        &mut state,
        Msg::Reply {
            tag: first,
            result: reply("old.rs"),
        },
    );
    assert!(
        state.diff.files.is_empty() && state.diff.loading,
        "the stale reply is dropped"
    );
    update(
        &mut state,
        Msg::Reply {
            tag: second,
            result: reply("new.rs"),
        },
    );
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
fn needs_me_first_puts_waiting_and_failed_sessions_on_top() {
    let mut state = state_with(Notify::default());
    load(
        &mut state,
        vec![
            session(1, Status::Idle, APP, "a"),
            session(2, Status::Active, APP, "b"),
            session(3, Status::Error, APP, "c"),
            session(4, Status::Idle, LIB, "d"),
            session(5, Status::WaitingInput, LIB, "e"),
        ],
    );
    let order = |s: &State| s.visible_ids().collect::<Vec<_>>();
    assert_eq!(order(&state), [sid(1), sid(2), sid(3), sid(4), sid(5)]);
    ch(&mut state, 'S');
    assert!(state.needs_me_first);
    assert_eq!(
        state.groups[0],
        PathBuf::from(LIB),
        "the group with a question first"
    );
    assert_eq!(order(&state), [sid(5), sid(4), sid(3), sid(1), sid(2)]);
    ch(&mut state, 'S');
    assert_eq!(order(&state), [sid(1), sid(2), sid(3), sid(4), sid(5)]);
}

#[test]
fn help_quit_suspend_and_key_releases() {
    let mut state = three_sessions();
    ch(&mut state, '?');
    assert!(state.help);
    let up = ch(&mut state, 'q');
    assert!(
        !state.help && up.effects.is_empty(),
        "any key only closes help"
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
    assert_eq!(
        (state.selected, state.tab, state.help),
        (Some(sid(1)), Tab::Messages, false)
    );
}

#[test]
fn the_prompt_box_edits_sends_and_recalls_history() {
    let mut state = one(Status::Idle);
    ch(&mut state, 'i');
    typed(&mut state, "one");
    press(&mut state, KeyCode::Enter, KeyModifiers::ALT);
    typed(&mut state, "two");
    assert_eq!(state.prompt.lines(), ["one", "two"]);
    let send = only_request(&key(&mut state, KeyCode::Enter));
    assert_eq!(
        send,
        Command::Send {
            id: sid(1).to_string(),
            text: "one\ntwo".into()
        }
    );
    assert_eq!(state.prompt.lines(), [""]);
    typed(&mut state, "three");
    key(&mut state, KeyCode::Enter);
    key(&mut state, KeyCode::Up);
    assert_eq!(state.prompt.lines(), ["three"]);
    key(&mut state, KeyCode::Up);
    assert_eq!(state.prompt.lines(), ["one", "two"]);
    key(&mut state, KeyCode::Down);
    assert_eq!(
        state.prompt.lines(),
        ["three"],
        "down on the last line goes forward"
    );
    key(&mut state, KeyCode::Down);
    assert_eq!(state.prompt.lines(), [""]);
    key(&mut state, KeyCode::Esc);
    assert!(!state.prompting);
}

fn delta(session: SessionId, part: &str, offset: usize, text: &str) -> Msg {
    Msg::Daemon(Event::PartDelta {
        session,
        message_id: "m1".into(),
        part_id: part.into(),
        offset,
        text: text.into(),
    })
}

#[test]
fn deltas_append_by_offset_and_skip_what_is_already_there() {
    let mut state = one(Status::Active);
    let msg = message("m1", Role::Assistant, vec![text("p1", "m1", "hello ")]);
    transcript(&mut state, sid(1), vec![msg]);
    assert!(update(&mut state, delta(sid(1), "p1", 3, "lo world")).redraw);
    assert_eq!(part_text(&state, sid(1), "p1"), "hello world");
    assert!(!update(&mut state, delta(sid(1), "p1", 0, "hello")).redraw);
    assert_eq!(part_text(&state, sid(1), "p1"), "hello world");
}

#[test]
fn events_during_a_transcript_load_are_replayed_once() {
    let mut state = state_with(Notify::default());
    load(&mut state, vec![session(1, Status::Active, APP, "a")]);
    assert!(state.loading.contains_key(&sid(1)));
    let added = message("m1", Role::Assistant, vec![text("p1", "m1", "")]);
    update(
        &mut state,
        Msg::Daemon(Event::MessageAdded {
            session: sid(1),
            message: added,
        }),
    );
    update(&mut state, delta(sid(1), "p1", 0, "hello "));
    update(&mut state, delta(sid(1), "p1", 6, "world"));
    let p2 = text("p2", "m1", "!");
    update(
        &mut state,
        Msg::Daemon(Event::PartUpdated {
            session: sid(1),
            part: p2,
        }),
    );
    // The reply was taken after the first delta.
    let loaded = message("m1", Role::Assistant, vec![text("p1", "m1", "hello ")]);
    transcript(&mut state, sid(1), vec![loaded]);
    assert!(state.loading.is_empty());
    let t = &state.transcripts[&sid(1)];
    assert_eq!(t.messages.len(), 1);
    assert_eq!(t.messages[0].parts.len(), 2);
    assert_eq!(part_text(&state, sid(1), "p1"), "hello world");
    assert!(!t.stale);
}

#[test]
fn output_of_another_session_marks_it_unread() {
    let mut state = three_sessions();
    assert!(update(&mut state, delta(sid(2), "p1", 0, "x")).redraw);
    assert_eq!(state.marks.get(&sid(2)), Some(&Mark::Unread));
    update(&mut state, delta(sid(1), "p1", 0, "x"));
    assert_eq!(
        state.marks.get(&sid(1)),
        None,
        "the selected session is on screen"
    );
    ch(&mut state, 'j');
    assert_eq!(
        state.marks.get(&sid(2)),
        None,
        "selecting it clears the mark"
    );
}

#[test]
fn sessions_that_need_attention_are_marked_and_notified() {
    let cases = [
        (Status::Active, Status::Idle, "finished its turn"),
        (Status::Active, Status::WaitingInput, "needs your answer"),
        (Status::Idle, Status::Error, "failed"),
    ];
    for bell in [false, true] {
        for (before, after, news) in cases {
            let mut state = state_with(Notify { bell, osc9: true });
            let sessions = vec![
                session(1, Status::Idle, APP, "a"),
                session(2, before, APP, "b"),
            ];
            load(&mut state, sessions);
            let event = Event::SessionUpdated {
                session: session(2, after, APP, "b"),
            };
            let up = update(&mut state, Msg::Daemon(event));
            assert_eq!(state.marks.get(&sid(2)), Some(&Mark::Attention), "{after}");
            let mut want = vec![Effect::Notify(format!("flotilla: b {news}"))];
            if bell {
                want.push(Effect::Bell);
            }
            assert_eq!(up.effects, want, "{before} -> {after}, bell {bell}");
        }
    }
    let mut state = state_with(Notify {
        bell: true,
        osc9: true,
    });
    load(&mut state, vec![session(1, Status::Active, APP, "a")]);
    let event = Event::SessionUpdated {
        session: session(1, Status::Idle, APP, "a"),
    };
    let up = update(&mut state, Msg::Daemon(event));
    assert!(
        up.effects.is_empty() && state.marks.is_empty(),
        "not for the one on screen"
    );
}

#[test]
fn the_tool_cursor_moves_and_folds_tool_calls() {
    let mut state = one(Status::Idle);
    let parts = vec![
        tool("t1", "m1"),
        text("p1", "m1", "between"),
        tool("t2", "m1"),
    ];
    transcript(
        &mut state,
        sid(1),
        vec![message("m1", Role::Assistant, parts)],
    );
    ch(&mut state, 't');
    assert_eq!(state.tool_cursor.as_deref(), Some("t1"));
    ch(&mut state, 't');
    assert_eq!(state.tool_cursor.as_deref(), Some("t2"));
    ch(&mut state, 't');
    assert_eq!(
        state.tool_cursor.as_deref(),
        Some("t2"),
        "stays on the last"
    );
    ch(&mut state, 'T');
    assert_eq!(state.tool_cursor.as_deref(), Some("t1"));
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
    let up = key(&mut state, KeyCode::Enter);
    assert!(up.effects.is_empty());
    assert!(form_error(&state, Field::Directory).is_some());
    typed(&mut state, "/home/dev/src/a");
    assert_eq!(
        form_error(&state, Field::Directory),
        None,
        "typing clears the error"
    );
    let up = key(&mut state, KeyCode::Tab);
    assert_eq!(up.effects, [Effect::Complete("/home/dev/src/a".into())]);
    let options = vec!["api".into(), "app".into()];
    update(
        &mut state,
        Msg::Completed {
            completed: "/home/dev/src/ap".into(),
            options,
        },
    );
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
    update(
        &mut state,
        Msg::Reply {
            tag: Tag::NewSession,
            result: refusal,
        },
    );
    assert!(
        form_error(&state, Field::Branch)
            .unwrap()
            .contains("already exists")
    );
    match &state.dialog {
        Some(Dialog::NewSession(form)) => assert!(form.focus == Field::Branch && !form.submitting),
        _ => panic!("the dialog stays open"),
    }
    let created = session(7, Status::Starting, APP, "Fix login");
    let result = Ok(Reply::Session {
        session: created,
        note: None,
    });
    let up = update(
        &mut state,
        Msg::Reply {
            tag: Tag::NewSession,
            result,
        },
    );
    assert!(state.dialog.is_none());
    assert_eq!(state.selected, Some(sid(7)));
    assert!(
        requests(&up)
            .iter()
            .any(|(c, _)| matches!(c, Command::Transcript { .. }))
    );
}

#[test]
fn the_permission_card_answers_once_always_or_deny() {
    for (c, reply) in [
        ('y', PermissionReply::Once),
        ('Y', PermissionReply::Always),
        ('d', PermissionReply::Deny),
    ] {
        let mut state = one(Status::WaitingInput);
        let kind = PartKind::Permission {
            request_id: "req-1".into(),
            tool: "edit".into(),
            detail: "edit src/main.rs".into(),
            diff: None,
            reply: None,
        };
        let parts = vec![part("perm", "m1", kind)];
        transcript(
            &mut state,
            sid(1),
            vec![message("m1", Role::Assistant, parts)],
        );
        let want = Command::Permission {
            id: sid(1).to_string(),
            request_id: "req-1".into(),
            reply,
        };
        assert_eq!(only_request(&ch(&mut state, c)), want, "{c}");
    }
}
