//! The History view through `update`: a search sent on enter, filters and pages with
//! at most one request in flight, and from a row: open, restore, reforge.

mod support;

use flotilla::protocol::{HistoryQuery, Reforge};
use flotilla::tui::history::Range;
use support::tui::*;

fn history_request(up: &Update) -> (HistoryQuery, Tag) {
    let reqs = requests(up);
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    match &reqs[0] {
        (Command::History(q), tag) => (q.clone(), tag.clone()),
        other => panic!("not a history request: {other:?}"),
    }
}

fn page(state: &mut State, tag: Tag, sessions: Vec<Session>, total: u64) -> Update {
    reply(state, tag, Ok(Reply::History { sessions, total }))
}

#[test]
fn history_searches_on_enter_filters_and_pages_one_request_at_a_time() {
    let mut state = three_sessions();
    small_screen(&mut state);
    let (q, tag) = history_request(&ch(&mut state, 'H'));
    assert!(state.history_view.is_some());
    assert_eq!((q.offset, q.search.clone(), q.status), (0, None, None));
    let size = q.limit;
    assert!(size > 10 && size < 24, "a page fills the screen: {size}");
    // Typing sends nothing; enter sends the search, once.
    ch(&mut state, '/');
    for c in "fix login".chars() {
        assert!(requests(&ch(&mut state, c)).is_empty(), "{c}");
    }
    let up = key(&mut state, KeyCode::Enter);
    assert!(requests(&up).is_empty(), "the first is still on its way");
    // Filters changed meanwhile are asked for once, with the answer.
    assert!(requests(&ch(&mut state, 's')).is_empty());
    assert!(requests(&ch(&mut state, 'd')).is_empty());
    let up = page(&mut state, tag, vec![], 0);
    let (q, tag) = history_request(&up);
    assert_eq!(q.search.as_deref(), Some("fix login"));
    assert_eq!(q.status, Some(Status::Archived));
    assert_eq!(q.since, Some(t0() - chrono::Duration::days(1)));
    assert_eq!(state.history_view.as_ref().unwrap().range, Range::Day);
    let rows: Vec<Session> = (0..size as u128)
        .map(|n| session(100 + n, Status::Archived, APP, "old"))
        .collect();
    page(&mut state, tag, rows.clone(), 123);
    assert_eq!(
        state.history_view.as_ref().unwrap().shown(),
        format!("1-{size} of 123")
    );
    // pgdn: the next page; pgup: back.
    let (q, tag) = history_request(&key(&mut state, KeyCode::PageDown));
    assert_eq!(q.offset, size);
    assert_eq!(q.search.as_deref(), Some("fix login"), "the search stays");
    page(&mut state, tag, rows.clone(), 123);
    let h = state.history_view.as_ref().unwrap();
    assert_eq!(h.shown(), format!("{}-{} of 123", size + 1, 2 * size));
    let (q, tag) = history_request(&key(&mut state, KeyCode::PageUp));
    assert_eq!(q.offset, 0);
    page(&mut state, tag, rows, 123);
    assert!(
        requests(&key(&mut state, KeyCode::PageUp)).is_empty(),
        "no page before the first"
    );
    // Esc in the box gives back the search the rows answer; esc then closes.
    ch(&mut state, '/');
    typed(&mut state, " more");
    key(&mut state, KeyCode::Esc);
    assert_eq!(state.history_view.as_ref().unwrap().typed, "fix login");
    key(&mut state, KeyCode::Esc);
    assert!(state.history_view.is_none());
    // An answer for a view that was closed is dropped.
    let up = page(&mut state, Tag::History { seq: 1 }, vec![], 0);
    assert!(requests(&up).is_empty() && state.history_view.is_none());
}

#[test]
fn the_status_filter_goes_through_every_status_and_back_to_all() {
    let mut state = three_sessions();
    ch(&mut state, 'H');
    let mut seen = vec![];
    for _ in 0..=Status::ALL.len() {
        let seq = state.history_view.as_ref().unwrap().seq;
        page(&mut state, Tag::History { seq }, vec![], 0);
        let (q, _) = history_request(&ch(&mut state, 's'));
        seen.push(q.status);
    }
    assert_eq!(seen.last(), Some(&None), "all again");
    for status in Status::ALL {
        assert!(seen.contains(&Some(*status)), "{status}");
    }
}

#[test]
fn from_history_enter_opens_r_restores_and_f_reforges_from_the_newest_chronicle() {
    let mut state = three_sessions();
    load(
        &mut state,
        vec![
            session(1, Status::Idle, APP, "fix login"),
            session(4, Status::Archived, APP, "old work"),
        ],
    );
    let (_, tag) = history_request(&ch(&mut state, 'H'));
    let rows = vec![
        session(4, Status::Archived, APP, "old work"),
        session(1, Status::Idle, APP, "fix login"),
    ];
    page(&mut state, tag, rows, 2);
    // Enter on an archived one offers to restore it first.
    assert!(requests(&key(&mut state, KeyCode::Enter)).is_empty());
    assert!(
        question(&state).contains("archived"),
        "{}",
        question(&state)
    );
    key(&mut state, KeyCode::Right);
    let up = key(&mut state, KeyCode::Enter);
    let restore = Command::Restore {
        id: sid(4).to_string(),
    };
    let reqs = requests(&up);
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].0, restore);
    let restored = session(4, Status::Stopped, APP, "old work");
    let note = Some("restored from chronicle abcd1234".to_string());
    let tag = reqs[0].1.clone();
    let answer = Reply::Session {
        session: restored.clone(),
        note,
    };
    reply(&mut state, tag, Ok(answer));
    assert!(
        state.history_view.is_none(),
        "opened: back to the dashboard"
    );
    assert_eq!(state.selected, Some(sid(4)));
    assert!(state.visible_ids().any(|v| v == sid(4)), "in the sidebar");

    // Enter on a listed one selects it, the filter cleared if it hid it.
    ch(&mut state, '/');
    typed(&mut state, "old");
    key(&mut state, KeyCode::Enter);
    let (_, tag) = history_request(&ch(&mut state, 'H'));
    let rows = vec![session(1, Status::Idle, APP, "fix login"), restored];
    page(&mut state, tag, rows, 2);
    key(&mut state, KeyCode::Enter);
    assert!(state.history_view.is_none());
    assert_eq!(state.selected, Some(sid(1)));
    assert!(state.filter.is_empty());

    // R restores at once; on a session that is not archived it says why not.
    let mut state = three_sessions();
    let (_, tag) = history_request(&ch(&mut state, 'H'));
    let rows = vec![
        session(1, Status::Idle, APP, "fix login"),
        session(5, Status::Archived, LIB, "archived"),
    ];
    page(&mut state, tag, rows, 2);
    let up = ch(&mut state, 'R');
    assert!(requests(&up).is_empty());
    assert!(state.flash.clone().unwrap().0.contains("only an archived"));
    ch(&mut state, 'j');
    let restore = Command::Restore {
        id: sid(5).to_string(),
    };
    assert_eq!(only_request(&ch(&mut state, 'R')), restore);
    assert!(state.history_view.is_some(), "R stays in the history");

    // f: the chronicles first, then a question naming the newest with a tree.
    let up = ch(&mut state, 'f');
    let reqs = requests(&up);
    let want = Command::Chronicles {
        session: Some(sid(5).to_string()),
    };
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].0, want);
    let chronicles = vec![
        chronicle("c0ffee00aa", 5, "stopped", false),
        chronicle("deadbeefbb", 5, "completed: max turns 1 reached", true),
        chronicle("feedfacecc", 5, "stopped", true),
    ];
    reply(
        &mut state,
        reqs[0].1.clone(),
        Ok(Reply::Chronicles { chronicles }),
    );
    let asked = question(&state);
    assert!(
        asked.contains("deadbeef") && asked.contains("max turns"),
        "{asked}"
    );
    let up = ch(&mut state, 'y');
    let reqs = requests(&up);
    let reforge = Command::Reforge(Reforge {
        chronicle: "deadbeefbb".into(),
        ..Reforge::default()
    });
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].0, reforge);
    let made = session(6, Status::Starting, LIB, "archived (reforged)");
    let answer = Reply::Session {
        session: made,
        note: None,
    };
    reply(&mut state, reqs[0].1.clone(), Ok(answer));
    assert!(state.history_view.is_none());
    assert_eq!(state.selected, Some(sid(6)), "the new session is selected");
    // None to reforge from: said, nothing asked.
    let tag = Tag::ReforgeFrom { session: sid(1) };
    let up = reply(
        &mut state,
        tag,
        Ok(Reply::Chronicles { chronicles: vec![] }),
    );
    assert!(requests(&up).is_empty() && state.dialog.is_none());
    assert!(state.flash.clone().unwrap().0.contains("no chronicle"));
    // A refusal from the daemon is said at the bottom.
    reply(
        &mut state,
        Tag::Reforged,
        Err("the source repository is gone".into()),
    );
    let (text, level) = state.flash.clone().unwrap();
    assert!(
        level == Level::Error && text.contains("repository is gone"),
        "{text}"
    );
}
