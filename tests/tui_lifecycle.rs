//! The session lifecycle in the dashboard, through `update`: archive, children nested
//! under their parents, the Info tab's details and templates in the new-session dialog.
//! The History view has `tui_history.rs`.

mod support;

use flotilla::core::{Chronicle, Limits, Strategy};
use flotilla::protocol::TemplateInfo;
use support::tui::*;

fn child(n: u128, parent: u128, status: Status, repo: &str, title: &str) -> Session {
    Session {
        parent: Some(sid(parent)),
        ..session(n, status, repo, title)
    }
}

/// The sidebar, top to bottom: `g` for a group's header, else the session's number with
/// its depth (`1`, `>2`, `>>3`).
fn sidebar(state: &State) -> Vec<String> {
    state
        .rows
        .iter()
        .map(|r| match *r {
            Row::Group(_) => "g".to_string(),
            Row::Host(_) => "h".to_string(),
            Row::Session(i) => state.sessions[i].id.0.as_u128().to_string(),
            Row::Child(i, depth) => {
                format!("{}{}", ">".repeat(depth), state.sessions[i].id.0.as_u128())
            }
        })
        .collect()
}

#[test]
fn archived_sessions_leave_the_sidebar_and_no_key_reaches_them() {
    let mut state = state_with(Notify::default());
    load(
        &mut state,
        vec![
            session(1, Status::Archived, APP, "old"),
            session(2, Status::Idle, APP, "live"),
        ],
    );
    assert_eq!(sidebar(&state), ["g", "2"]);
    assert_eq!(state.listed(), 1);
    assert_eq!(state.selected, Some(sid(2)));
    // Archived from elsewhere while selected: it goes, and the selection moves on.
    let mut state = three_sessions();
    event(
        &mut state,
        Event::SessionUpdated {
            session: session(1, Status::Archived, APP, "fix login"),
        },
    );
    assert_eq!(sidebar(&state), ["g", "2", "g", "3"]);
    assert_eq!(state.selected, Some(sid(2)));
    // Only archived ones: none is selected, and keys ask nothing.
    let mut state = one(Status::Archived);
    assert_eq!(state.selected, None);
    for c in "arxXADi".chars() {
        assert!(requests(&ch(&mut state, c)).is_empty(), "{c}");
        state.prompting = false;
        state.dialog = None;
    }
}

#[test]
fn archive_asks_with_buttons_and_only_for_ended_sessions() {
    for status in listed_statuses() {
        let mut state = one(status);
        let up = ch(&mut state, 'A');
        if !matches!(status, Status::Stopped | Status::Completed | Status::Error) {
            assert_refused(&state, &up, status);
            continue;
        }
        assert!(requests(&up).is_empty(), "{status}");
        let Some(Dialog::Confirm(c)) = &state.dialog else {
            panic!("{status}: no question")
        };
        assert!(c.question.contains("Archive 'fix login'"), "{}", c.question);
        assert!(!c.letters && c.focus == 0, "{status}: a deliberate answer");
        assert!(
            c.losses
                .iter()
                .any(|l| l.contains("/home/dev/.flotilla/ws/1")),
            "{:?}",
            c.losses
        );
        assert!(
            requests(&ch(&mut state, 'y')).is_empty(),
            "y answers nothing"
        );
        assert!(requests(&key(&mut state, KeyCode::Enter)).is_empty());
        assert!(state.dialog.is_none(), "enter on cancel closes it");
        ch(&mut state, 'A');
        key(&mut state, KeyCode::Right);
        let up = key(&mut state, KeyCode::Enter);
        assert_eq!(
            only_request(&up),
            Command::Archive {
                id: id1(),
                force: true,
            },
            "{status}"
        );
        // The answer: archived, so out of the sidebar, and said where it went.
        let archived = session(1, Status::Archived, APP, "fix login");
        let tag = requests(&up)[0].1.clone();
        let answer = Reply::Session {
            session: archived,
            note: None,
        };
        reply(&mut state, tag, Ok(answer));
        assert!(state.rows.is_empty() && state.selected.is_none());
        assert!(state.flash.clone().unwrap().0.contains("history"));
    }
    // A directory flotilla did not make is kept: nothing is lost, so a letter answers.
    let mut state = state_with(Notify::default());
    let existing = Session {
        strategy: Strategy::Existing,
        ..session(1, Status::Stopped, APP, "here")
    };
    load(&mut state, vec![existing]);
    ch(&mut state, 'A');
    assert!(question(&state).contains("is kept"), "{}", question(&state));
    assert_eq!(
        only_request(&ch(&mut state, 'y')),
        Command::Archive {
            id: id1(),
            force: true,
        }
    );
}

#[test]
fn a_completed_session_cleans_up_like_a_stopped_one() {
    let mut state = one(Status::Completed);
    assert!(requests(&ch(&mut state, 'X')).is_empty());
    assert!(question(&state).starts_with("Remove the workspace"));
    assert_eq!(only_request(&ch(&mut state, 'y')), stop(true));
}

#[test]
fn children_are_nested_under_their_parents_in_every_sort_mode() {
    let mut state = state_with(Notify::default());
    load(
        &mut state,
        vec![
            session(1, Status::Idle, APP, "parent"),
            session(2, Status::Idle, LIB, "other"),
            // In another repository: it still goes under its parent.
            child(3, 1, Status::Idle, LIB, "child in lib"),
            child(4, 3, Status::Idle, APP, "grandchild"),
            child(5, 1, Status::WaitingInput, APP, "asking child"),
            // A parent that is not listed: a row like any other.
            child(6, 99, Status::Idle, APP, "orphan"),
            // A cycle of parents loses no one.
            child(7, 8, Status::Idle, LIB, "loop a"),
            child(8, 7, Status::Idle, LIB, "loop b"),
        ],
    );
    assert_eq!(
        sidebar(&state),
        ["g", "1", ">3", ">>4", ">5", "6", "g", "2", "7", ">8"]
    );
    assert_eq!(state.group_sizes, [5, 3]);
    // Needs me first: a family goes where its most urgent member would.
    ch(&mut state, 'S');
    assert_eq!(
        sidebar(&state),
        ["1", ">3", ">>4", ">5", "2", "6", "7", ">8"]
    );
    ch(&mut state, 'S');
    // j walks the rows as drawn.
    let mut walked = vec![state.selected];
    for _ in 0..8 {
        ch(&mut state, 'j');
        walked.push(state.selected);
    }
    let order: Vec<_> = [1, 3, 4, 5, 6, 2, 7, 8, 8].map(|n| Some(sid(n))).into();
    assert_eq!(walked, order);
    // The filter hides the parent: its child is a row of its own.
    ch(&mut state, '/');
    typed(&mut state, "child");
    assert_eq!(sidebar(&state), ["g", "3", ">4", "g", "5"]);
    key(&mut state, KeyCode::Esc);
    // An archived parent is not listed either.
    event(
        &mut state,
        Event::SessionUpdated {
            session: session(1, Status::Archived, APP, "parent"),
        },
    );
    assert_eq!(
        sidebar(&state),
        ["g", "2", "3", ">4", "7", ">8", "g", "5", "6"]
    );
}

fn details_reply(chronicles: Vec<Chronicle>) -> Result<Reply, String> {
    Ok(Reply::Details {
        session: session(1, Status::Idle, APP, "fix login"),
        children: vec![],
        callbacks: vec![],
        chronicles,
        chain: vec![],
    })
}

fn details_requests(up: &Update) -> usize {
    requests(up)
        .iter()
        .filter(|(c, _)| matches!(c, Command::Details { .. }))
        .count()
}

#[test]
fn the_info_tab_asks_for_details_once_at_a_time_and_again_when_the_session_changes() {
    let mut state = three_sessions();
    assert_eq!(details_requests(&ch(&mut state, '1')), 0, "not on Info");
    let up = ch(&mut state, '3');
    let asked = requests(&up);
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(asked[0].0, Command::Details { id: id1() });
    let tag = asked[0].1.clone();
    // Changes while it is on its way ask nothing more yet, however many.
    for _ in 0..5 {
        let up = event(
            &mut state,
            Event::SessionUpdated {
                session: session(1, Status::Active, APP, "fix login"),
            },
        );
        assert_eq!(details_requests(&up), 0);
    }
    // Its answer asks once more, for what changed meanwhile.
    let up = reply(&mut state, tag.clone(), details_reply(vec![]));
    assert_eq!(details_requests(&up), 1);
    assert!(state.details.loaded);
    let up = reply(&mut state, tag.clone(), details_reply(vec![]));
    assert_eq!(details_requests(&up), 0, "nothing changed since");
    // Another session's change is not this one's; a child's is (its callbacks).
    let up = event(
        &mut state,
        Event::SessionUpdated {
            session: session(2, Status::Idle, APP, "add cache"),
        },
    );
    assert_eq!(details_requests(&up), 0);
    let up = event(
        &mut state,
        Event::SessionUpdated {
            session: child(9, 1, Status::Idle, APP, "a child"),
        },
    );
    assert_eq!(details_requests(&up), 1);
    reply(&mut state, tag, details_reply(vec![]));
    // Moving to another session asks for its details.
    let up = ch(&mut state, 'j');
    let asked: Vec<_> = requests(&up).into_iter().map(|(c, _)| c).collect();
    assert!(asked.contains(&Command::Details {
        id: sid(9).to_string()
    }));
    // A failure is said in the tab and not asked again until something changes.
    let up = reply(
        &mut state,
        Tag::Details { session: sid(9) },
        Err("the daemon is busy".into()),
    );
    assert_eq!(details_requests(&up), 0);
    assert_eq!(state.details.error.as_deref(), Some("the daemon is busy"));
}

pub fn review_template() -> TemplateInfo {
    TemplateInfo {
        name: "review".into(),
        agent: Some("claude".into()),
        model: None,
        strategy: Some(Strategy::Clone),
        branch: Some("review/{title}".into()),
        prompt: Some("Review the branch.".into()),
        setup: Some("npm ci".into()),
        limits: Limits {
            max_turns: Some(10),
            ttl_secs: Some(7200),
            ..Limits::default()
        },
        env: vec!["REVIEWER".into()],
    }
}

fn form(state: &State) -> &flotilla::tui::dialog::NewSessionForm {
    match &state.dialog {
        Some(Dialog::NewSession(form)) => form,
        _ => panic!("no form"),
    }
}

#[test]
fn a_template_leaves_what_it_sets_to_the_daemon_unless_the_user_chose_it() {
    let mut state = state_with(Notify::default());
    state.agents = vec!["shell".into(), "claude".into()];
    let templates = vec![review_template()];
    reply(
        &mut state,
        Tag::Templates,
        Ok(Reply::Templates { templates }),
    );
    state.default_dir = APP.into();
    ch(&mut state, 'n');
    key(&mut state, KeyCode::Up);
    assert_eq!(form(&state).focus, Field::Template);
    assert_eq!(form(&state).value(Field::Template), "(none)");
    key(&mut state, KeyCode::Right);
    let f = form(&state);
    assert_eq!(f.value(Field::Template), "review");
    assert_eq!(
        f.value(Field::Agent),
        "claude",
        "the form shows what it sets"
    );
    assert_eq!(f.value(Field::Strategy), "clone");
    let summary = f.template_summary().unwrap();
    for what in [
        "claude",
        "clone",
        "review/{title}",
        "max turns 10",
        "ttl 2h",
        "npm ci",
    ] {
        assert!(summary.contains(what), "{what}: {summary}");
    }
    let up = key(&mut state, KeyCode::Enter);
    let spec = NewSession {
        dir: PathBuf::from(APP),
        template: Some("review".into()),
        ..NewSession::default()
    };
    assert_eq!(only_request(&up), Command::New(spec));
    // Chosen by the user, the agent goes with the request; (none) again, no template.
    let mut state = state_with(Notify::default());
    state.agents = vec!["shell".into(), "claude".into()];
    let templates = vec![review_template()];
    reply(
        &mut state,
        Tag::Templates,
        Ok(Reply::Templates { templates }),
    );
    state.default_dir = APP.into();
    ch(&mut state, 'n');
    key(&mut state, KeyCode::Up);
    key(&mut state, KeyCode::Right);
    for _ in 0..3 {
        key(&mut state, KeyCode::Down);
    }
    assert_eq!(form(&state).focus, Field::Agent);
    key(&mut state, KeyCode::Left);
    let Command::New(spec) = only_request(&key(&mut state, KeyCode::Enter)) else {
        panic!("not a new session")
    };
    assert_eq!(spec.agent.as_deref(), Some("shell"));
    assert_eq!(spec.strategy, None);
    assert_eq!(spec.template.as_deref(), Some("review"));
}

#[test]
fn with_no_templates_the_field_says_so_and_cycles_nothing() {
    let mut state = state_with(Notify::default());
    let templates = vec![];
    reply(
        &mut state,
        Tag::Templates,
        Ok(Reply::Templates { templates }),
    );
    state.default_dir = APP.into();
    ch(&mut state, 'n');
    key(&mut state, KeyCode::Up);
    key(&mut state, KeyCode::Right);
    assert_eq!(form(&state).value(Field::Template), "(none)");
    assert!(form(&state).templates.as_ref().is_some_and(Vec::is_empty));
    let Command::New(spec) = only_request(&key(&mut state, KeyCode::Enter)) else {
        panic!("not a new session")
    };
    assert_eq!(spec.template, None);
    assert_eq!(spec.strategy, Some(Strategy::Worktree));
}
