//! What the dashboard draws of the session lifecycle, at 80x24 and 120x40: the History
//! view, the Info tab with limits, a family and a chronicle chain, the new-session dialog
//! with a template, and children nested in the sidebar.

mod support;

use chrono::Duration;
use flotilla::core::{Callback, CallbackState, Chronicle, Limits, Notify as Tell};
use flotilla::protocol::TemplateInfo;
use support::tui::*;

const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];

/// A session number whose short id (the first eight hex digits) is its own.
fn n(i: u128) -> u128 {
    ((0x1a00 + i) << 112) | i
}

fn ago(s: Session, minutes: i64) -> Session {
    Session {
        created_at: t0() - Duration::minutes(minutes),
        last_activity_at: t0() - Duration::minutes(minutes / 2),
        ..s
    }
}

fn titled(n: u128, status: Status, title: &str, minutes: i64) -> Session {
    let workspace = PathBuf::from(format!("/home/dev/.flotilla/ws/s{}", n & 0xffff));
    let branch = Some(format!("flotilla/s{}", n & 0xffff));
    let s = session(n, status, APP, title);
    ago(
        Session {
            workspace,
            branch,
            ..s
        },
        minutes,
    )
}

fn last_history_tag(state: &State) -> Tag {
    let seq = state
        .history_view
        .as_ref()
        .expect("the history is open")
        .seq;
    Tag::History { seq }
}

/// The History view searched for "login", filtered to archived sessions of the last 7
/// days, on its second page.
fn history_on_second_page(width: u16, height: u16) -> State {
    let mut state = three_sessions();
    update(&mut state, Msg::Resize { width, height });
    ch(&mut state, 'H');
    let first = last_history_tag(&state);
    reply(
        &mut state,
        first,
        Ok(Reply::History {
            sessions: vec![],
            total: 0,
        }),
    );
    ch(&mut state, '/');
    typed(&mut state, "login");
    key(&mut state, KeyCode::Enter);
    ch(&mut state, 's');
    ch(&mut state, 'd');
    ch(&mut state, 'd');
    let size = state.history_view.as_ref().unwrap().page_size;
    let page = |from: u128, count: u128| -> Vec<Session> {
        (from..from + count)
            .map(|i| {
                let title = format!("login form, attempt {i}");
                titled(n(100 + i), Status::Archived, &title, 60 * i as i64)
            })
            .collect()
    };
    let total = u64::from(size) + 5;
    // The search's answer asks again for the filters chosen meanwhile.
    let tag = last_history_tag(&state);
    reply(
        &mut state,
        tag,
        Ok(Reply::History {
            sessions: vec![],
            total: 0,
        }),
    );
    let tag = last_history_tag(&state);
    let sessions = page(0, size.into());
    reply(&mut state, tag, Ok(Reply::History { sessions, total }));
    key(&mut state, KeyCode::PageDown);
    let tag = last_history_tag(&state);
    let mut sessions = page(u128::from(size), 4);
    sessions.push(ago(
        session(
            n(99),
            Status::Archived,
            LIB,
            "login \u{1b}]0;pwned\u{7}rate limits",
        ),
        9000,
    ));
    reply(&mut state, tag, Ok(Reply::History { sessions, total }));
    ch(&mut state, 'j');
    state
}

#[test]
fn history_view_with_a_search_a_filter_and_a_second_page() {
    for (w, h) in SIZES {
        let mut state = history_on_second_page(w, h);
        let view = state.history_view.as_ref().unwrap();
        let size = view.page_size;
        assert_eq!(view.offset, size, "the second page");
        assert_eq!(
            view.shown(),
            format!("{}-{} of {}", size + 1, size + 5, size + 5)
        );
        let terminal = render(&mut state, w, h);
        insta::assert_snapshot!(format!("history_second_page_{w}x{h}"), terminal.backend());
        let text = screen(&mut state, w, h);
        assert!(
            text.contains("rate limits") && !text.contains("pwned"),
            "{text}"
        );
    }
}

fn family() -> State {
    let mut state = state_with(Notify::default());
    let me = Session {
        status_reason: Some("max turns 10 reached".into()),
        limits: Limits {
            max_turns: Some(10),
            ttl_secs: Some(2 * 3600),
            idle_timeout_secs: Some(1800),
            max_cost_usd: Some(5.0),
            ..Limits::default()
        },
        turns: 10,
        turn_ms: 754_000,
        cost_usd: Some(1.234),
        template: Some("review".into()),
        parent: Some(sid(n(2))),
        notify: Some(Tell::OnEnd),
        reforged_from: Some("aa11bb22cc33".into()),
        conflicts: Vec::new(),
        rate_limits: None,
        ..titled(n(1), Status::Completed, "review the login flow", 30)
    };
    let parent = titled(n(2), Status::Idle, "plan the release", 90);
    let kids = [
        Session {
            parent: Some(sid(n(1))),
            ..titled(n(3), Status::Idle, "write the login tests", 20)
        },
        Session {
            parent: Some(sid(n(1))),
            ..titled(n(4), Status::Completed, "update the docs", 10)
        },
    ];
    let mut sessions = vec![parent, me];
    sessions.extend(kids);
    load(&mut state, sessions);
    state
}

fn chronicle(id: &str, title: &str, reason: &str, minutes: i64) -> Chronicle {
    Chronicle {
        id: id.into(),
        session_id: sid(n(1)),
        title: title.into(),
        agent: "shell".into(),
        model: None,
        reason: reason.into(),
        source_repo: APP.into(),
        strategy: flotilla::core::Strategy::Worktree,
        branch: None,
        base_commit: "0123".into(),
        tree_commit: Some("abcd".into()),
        refname: None,
        parent_chronicle_id: None,
        created_at: t0() - Duration::minutes(minutes),
        message_count: 4,
        files: vec![],
    }
}

fn callback(child: u128, parent: u128, status: Status, state: CallbackState) -> Callback {
    Callback {
        child: sid(child),
        parent: sid(parent),
        status,
        state,
        reason: (state == CallbackState::Undeliverable).then(|| "the parent had ended".into()),
        created_at: t0() - Duration::minutes(5),
    }
}

/// Session 1 on the Info tab, with its details answered.
fn info_with_details() -> State {
    let mut state = family();
    // Selected through the sidebar, as a user would: the parent first, then its child.
    assert_eq!(state.selected, Some(sid(n(2))));
    ch(&mut state, 'j');
    assert_eq!(state.selected, Some(sid(n(1))));
    let up = ch(&mut state, '3');
    let (command, tag) = requests(&up).pop().expect("the details are asked for");
    assert_eq!(
        command,
        Command::Details {
            id: sid(n(1)).to_string()
        }
    );
    let details = Reply::Details {
        session: state.session(sid(n(1))).cloned().unwrap(),
        children: vec![],
        callbacks: vec![
            callback(n(3), n(1), Status::Idle, CallbackState::Queued),
            callback(n(1), n(2), Status::Completed, CallbackState::Sent),
            callback(n(4), n(1), Status::Completed, CallbackState::Undeliverable),
        ],
        chronicles: vec![chronicle(
            "ee55ff66aa77",
            "review the login flow",
            "completed: max turns 10 reached",
            2,
        )],
        chain: vec![
            chronicle("aa11bb22cc33", "review login", "stopped", 24 * 60),
            chronicle(
                "99887766dd44",
                "first look at login",
                "archived",
                3 * 24 * 60,
            ),
        ],
    };
    reply(&mut state, tag, Ok(details));
    state
}

#[test]
fn info_with_limits_a_family_and_a_chronicle_chain() {
    let mut state = info_with_details();
    for (w, h) in SIZES {
        let terminal = render(&mut state, w, h);
        insta::assert_snapshot!(format!("info_lifecycle_{w}x{h}"), terminal.backend());
    }
    // At 80x24 the rest is a page down.
    render(&mut state, 80, 24);
    key(&mut state, KeyCode::PageDown);
    assert!(state.info_scroll > 0);
    let terminal = render(&mut state, 80, 24);
    insta::assert_snapshot!("info_lifecycle_80x24_scrolled", terminal.backend());
    let text = screen(&mut state, 80, 24);
    assert!(
        text.contains("99887766"),
        "the far end of the chain: {text}"
    );
    // The limits are worked out from the clock at each draw.
    state.now = t0() + Duration::minutes(45);
    key(&mut state, KeyCode::Home);
    let text = screen(&mut state, 120, 40);
    assert!(text.contains("ttl 2h · 45m left"), "{text}");
}

fn templates() -> Vec<TemplateInfo> {
    vec![
        TemplateInfo {
            name: "review".into(),
            agent: Some("claude".into()),
            model: Some("sonnet".into()),
            strategy: Some(flotilla::core::Strategy::Clone),
            branch: Some("review/{title}".into()),
            prompt: Some("Review the branch against main.\nList the risks.".into()),
            setup: Some("npm ci".into()),
            limits: Limits {
                max_turns: Some(10),
                ttl_secs: Some(7200),
                ..Limits::default()
            },
            env: vec!["REVIEWER".into()],
        },
        TemplateInfo {
            name: "quick".into(),
            agent: None,
            model: None,
            strategy: None,
            branch: None,
            prompt: None,
            setup: None,
            limits: Limits {
                max_turns: Some(1),
                ..Limits::default()
            },
            env: vec![],
        },
    ]
}

#[test]
fn new_session_dialog_with_a_template_chosen() {
    let mut state = three_sessions();
    state.default_dir = APP.into();
    state.agents = vec!["shell".into(), "claude".into()];
    let templates = templates();
    reply(
        &mut state,
        Tag::Templates,
        Ok(Reply::Templates { templates }),
    );
    ch(&mut state, 'n');
    key(&mut state, KeyCode::Up);
    key(&mut state, KeyCode::Right);
    for (w, h) in SIZES {
        let terminal = render(&mut state, w, h);
        insta::assert_snapshot!(format!("new_session_template_{w}x{h}"), terminal.backend());
    }
    // With none configured, the field says so.
    let mut state = three_sessions();
    let templates = vec![];
    reply(
        &mut state,
        Tag::Templates,
        Ok(Reply::Templates { templates }),
    );
    ch(&mut state, 'n');
    let text = screen(&mut state, 80, 24);
    assert!(text.contains("Template     none configured"), "{text}");
}

#[test]
fn sidebar_with_children_nested_and_archived_sessions_left_out() {
    let mut state = family();
    let mut more = state.sessions.clone();
    more.push(titled(n(5), Status::Archived, "archived long ago", 600));
    more.push(Session {
        parent: Some(sid(n(3))),
        ..titled(n(6), Status::Active, "grandchild at work", 5)
    });
    more.push(Session {
        parent: Some(sid(n(77))),
        branch: Some("flotilla/s7".into()),
        ..ago(
            session(n(7), Status::Stopped, LIB, "its parent was deleted"),
            50,
        )
    });
    load(&mut state, more);
    for (w, h) in SIZES {
        let terminal = render(&mut state, w, h);
        insta::assert_snapshot!(format!("sidebar_children_{w}x{h}"), terminal.backend());
    }
    let text = screen(&mut state, 80, 24);
    assert!(
        text.contains("sessions 6"),
        "the archived one is not counted: {text}"
    );
    assert!(!text.contains("archived long ago"), "{text}");
}
