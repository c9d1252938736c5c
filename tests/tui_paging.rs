//! The dashboard holds a window of a long transcript, served page by page from a real
//! store as the daemon serves it: it opens on the end, fetches earlier pages as the user
//! scrolls up, jumps to the top and back, and never holds the whole thing.

use chrono::Utc;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use flotilla::core::{Message, PageQuery, Part, PartKind, Pos, Role, SessionId, Status, Strategy};
use flotilla::protocol::{Command, Reply};
use flotilla::store::{NewSessionRow, Store};
use flotilla::tui::keymap::Keymap;
use flotilla::tui::state::{KEPT_TRANSCRIPTS, Notify, State};
use flotilla::tui::theme::Theme;
use flotilla::tui::transcript::WINDOW_BYTES;
use flotilla::tui::update::{Effect, Msg, Tag, update};
use flotilla::workspace::Workspace;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::path::PathBuf;

/// A session whose transcript is a short question, then `lines` numbered lines of
/// streamed answer, then a last word.
fn store_with(lines: usize, sessions: usize) -> (Store, Vec<SessionId>) {
    let store = Store::open_in_memory().expect("store");
    let ws = Workspace {
        path: PathBuf::from("/w/a"),
        source_repo: PathBuf::from("/src/proj"),
        strategy: Strategy::Existing,
        branch: None,
        base_commit: "0123456789abcdef0123456789abcdef01234567".into(),
    };
    let wid = store.insert_workspace(&ws, Utc::now()).expect("workspace");
    let mut ids = Vec::new();
    for n in 0..sessions {
        let id = SessionId::new();
        let title = format!("s{n}");
        let row = NewSessionRow {
            id,
            title: &title,
            agent: "shell",
            model: None,
            workspace_id: wid,
            status: Status::Idle,
            now: Utc::now(),
            parent: None,
            notify: None,
            limits: Default::default(),
            template: None,
            reforged_from: None,
        };
        store.insert_session(&row).expect("session");
        let message = |mid: &str, role| Message {
            id: format!("{mid}-{n}"),
            role,
            created_at: Utc::now(),
            parts: Vec::new(),
        };
        let part = |pid: &str, mid: &str, text: &str| Part {
            id: format!("{pid}-{n}"),
            message_id: format!("{mid}-{n}"),
            kind: PartKind::Text { text: text.into() },
        };
        store
            .insert_message(id, &message("m1", Role::User))
            .expect("m1");
        store
            .upsert_part(&part("p1", "m1", "FIRST-QUESTION"))
            .expect("p1");
        store
            .insert_message(id, &message("m2", Role::Assistant))
            .expect("m2");
        store.upsert_part(&part("p2", "m2", "")).expect("p2");
        let mut batch = String::new();
        for i in 0..lines {
            batch.push_str(&format!("line {i:08} of the long answer\n"));
            if batch.len() > 1 << 20 {
                store
                    .append_text(&format!("p2-{n}"), &batch)
                    .expect("append");
                batch.clear();
            }
        }
        batch.push_str("LAST-WORD\n");
        store
            .append_text(&format!("p2-{n}"), &batch)
            .expect("append");
        ids.push(id);
    }
    (store, ids)
}

/// Carries out the dashboard's requests against the store until none is left.
fn serve(state: &mut State, store: &Store, mut effects: Vec<Effect>) -> Vec<PageQuery> {
    let mut asked = Vec::new();
    while let Some(effect) = effects.pop() {
        let Effect::Request(
            Command::Transcript {
                id, page: query, ..
            },
            tag,
        ) = effect
        else {
            continue;
        };
        let sid = state
            .sessions
            .iter()
            .find(|s| s.id.to_string() == id)
            .expect("a known session")
            .clone();
        let page = store.page(sid.id, &query).expect("page");
        asked.push(query);
        let msg = Msg::Reply {
            tag,
            result: Ok(Reply::Transcript { session: sid, page }),
        };
        effects.extend(update(state, msg).effects);
    }
    asked
}

fn open(store: &Store, ids: &[SessionId]) -> State {
    let mut state = State::new(
        Keymap::defaults(),
        Theme { color: false },
        Notify::default(),
        Utc::now(),
    );
    update(
        &mut state,
        Msg::Resize {
            width: 120,
            height: 40,
        },
    );
    let sessions = ids
        .iter()
        .map(|id| store.session(*id).expect("read").expect("a session"))
        .collect();
    let effects = update(
        &mut state,
        Msg::Reply {
            tag: Tag::Sessions,
            result: Ok(Reply::Sessions { sessions }),
        },
    )
    .effects;
    serve(&mut state, store, effects);
    state
}

fn key(state: &mut State, store: &Store, code: KeyCode) -> Vec<PageQuery> {
    let effects = update(state, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))).effects;
    serve(state, store, effects)
}

fn screen(state: &State) -> String {
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    terminal
        .draw(|f| flotilla::tui::view::render(state, f))
        .expect("draw");
    let buffer = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..buffer.area.height {
        for x in 0..buffer.area.width {
            out.push_str(buffer[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

fn held(state: &State) -> usize {
    let t = state.transcript().expect("a transcript");
    t.messages
        .iter()
        .flat_map(|m| &m.parts)
        .filter_map(|p| p.kind.streamed_text())
        .map(str::len)
        .sum()
}

/// 600,000 lines, about 20 MB: five times what a window holds.
const LINES: usize = 600_000;

/// 200,000 lines, about 6.6 MB: more than a window holds, few enough to page through.
const PAGED: usize = 200_000;

#[test]
fn a_long_transcript_opens_on_its_last_page() {
    let (store, ids) = store_with(LINES, 1);
    let state = open(&store, &ids);
    let t = state.transcript().expect("loaded");
    assert!(t.at_end && !t.at_start);
    assert!(held(&state) <= flotilla::core::page::PAGE_BYTES as usize);
    let shown = screen(&state);
    assert!(shown.contains("LAST-WORD"), "{shown}");
    assert!(shown.contains(&format!("line {:08}", LINES - 1)), "{shown}");
}

#[test]
fn scrolling_up_fetches_earlier_pages_and_keeps_the_window_bounded() {
    let (store, ids) = store_with(PAGED, 1);
    let mut state = open(&store, &ids);
    let mut fetched = 0;
    for _ in 0..20_000 {
        let asked = key(&mut state, &store, KeyCode::PageUp);
        fetched += asked.iter().filter(|q| q.backward).count();
        assert!(
            held(&state) <= WINDOW_BYTES,
            "the window grew to {}",
            held(&state)
        );
        if state.transcript().is_some_and(|t| t.at_start) {
            break;
        }
    }
    let t = state.transcript().expect("held");
    assert!(t.at_start, "page-up never reached the top");
    assert!(
        !t.at_end,
        "the end was let go of to keep the window bounded"
    );
    assert!(fetched > 5, "only {fetched} earlier pages were fetched");
    key(&mut state, &store, KeyCode::Home);
    let shown = screen(&state);
    assert!(shown.contains("FIRST-QUESTION"), "{shown}");
    assert!(shown.contains("line 00000000"), "{shown}");
}

#[test]
fn home_jumps_to_the_top_and_end_comes_back_to_the_tail() {
    let (store, ids) = store_with(PAGED, 1);
    let mut state = open(&store, &ids);
    let asked = key(&mut state, &store, KeyCode::Home);
    assert_eq!(asked, vec![PageQuery::forward(Pos::Start)]);
    let shown = screen(&state);
    assert!(shown.contains("FIRST-QUESTION"), "{shown}");
    assert!(shown.contains("line 00000000"), "{shown}");
    assert!(!shown.contains("LAST-WORD"));

    // Paging down from the top reads forward and lets go of the top.
    for _ in 0..20_000 {
        key(&mut state, &store, KeyCode::PageDown);
        assert!(held(&state) <= WINDOW_BYTES);
        if !state.transcript().expect("held").at_start {
            break;
        }
    }
    assert!(!state.transcript().expect("held").at_start);

    let asked = key(&mut state, &store, KeyCode::End);
    assert_eq!(asked, vec![PageQuery::last()]);
    let t = state.transcript().expect("held");
    assert!(t.at_end);
    assert_eq!(state.scroll, 0);
    assert!(screen(&state).contains("LAST-WORD"));
}

#[test]
fn only_the_transcripts_of_the_last_sessions_viewed_are_held() {
    let (store, ids) = store_with(10, KEPT_TRANSCRIPTS + 4);
    let mut state = open(&store, &ids);
    for _ in 0..ids.len() {
        key(&mut state, &store, KeyCode::Char('j'));
    }
    assert!(
        state.transcripts.len() <= KEPT_TRANSCRIPTS,
        "{} transcripts held",
        state.transcripts.len()
    );
    assert!(state.transcript().is_some(), "the selected one is held");
}

fn delta(state: &mut State, session: SessionId, n: usize, offset: usize, text: &str) {
    let event = flotilla::protocol::Event::PartDelta {
        session,
        message_id: format!("m2-{n}"),
        part_id: format!("p2-{n}"),
        offset,
        text: text.into(),
    };
    update(state, Msg::Daemon(event));
}

#[test]
fn a_window_that_follows_a_long_stream_stays_bounded_and_in_step() {
    let (store, ids) = store_with(10, 1);
    let mut state = open(&store, &ids);
    let mut offset = store.part_text_len("p2-0").expect("len");
    let piece = "streamed line of the answer, and more to come\n".repeat(2000);
    for _ in 0..120 {
        delta(&mut state, ids[0], 0, offset, &piece);
        offset += piece.len();
        assert!(
            held(&state) <= WINDOW_BYTES,
            "the window grew to {}",
            held(&state)
        );
    }
    delta(&mut state, ids[0], 0, offset, "THE-VERY-END\n");
    let t = state.transcript().expect("held");
    assert!(!t.stale, "every delta joined where it belongs");
    assert!(t.at_end && !t.at_start);
    assert!(screen(&state).contains("THE-VERY-END"));
}

#[test]
fn an_earlier_page_asked_for_before_the_window_changed_is_dropped() {
    let (store, ids) = store_with(PAGED, 1);
    let mut state = open(&store, &ids);
    // Page up until the dashboard asks for the page before its window; hold the answer.
    let asked = loop {
        let effects = update(
            &mut state,
            Msg::Key(KeyEvent::new(KeyCode::PageUp, KeyModifiers::NONE)),
        )
        .effects;
        if let Some(Effect::Request(Command::Transcript { page, .. }, tag)) = effects
            .into_iter()
            .find(|e| matches!(e, Effect::Request(Command::Transcript { .. }, _)))
        {
            break (page, tag);
        }
    };
    // Meanwhile the part is sent whole (an agent's final copy of its text).
    let whole = store.part_text("p2-0").expect("read").expect("text");
    let part = Part {
        id: "p2-0".into(),
        message_id: "m2-0".into(),
        kind: PartKind::Text {
            text: whole.clone(),
        },
    };
    update(
        &mut state,
        Msg::Daemon(flotilla::protocol::Event::PartUpdated {
            session: ids[0],
            part,
        }),
    );
    let (query, tag) = asked;
    let session = state.sessions[0].clone();
    let page = store.page(ids[0], &query).expect("page");
    update(
        &mut state,
        Msg::Reply {
            tag,
            result: Ok(Reply::Transcript { session, page }),
        },
    );
    let t = state.transcript().expect("held");
    let text = t
        .messages
        .iter()
        .flat_map(|m| &m.parts)
        .find(|p| p.id == "p2-0")
        .and_then(|p| p.kind.streamed_text())
        .expect("the part");
    assert!(
        whole.ends_with(text),
        "the held text is a tail of the part, nothing doubled"
    );
}

#[test]
fn tabs_reach_their_stops_and_a_carriage_return_leaves_a_line_in_its_last_state() {
    let (store, ids) = store_with(0, 1);
    store
        .append_text(
            "p2-0",
            "a\tb\tc\nprogress 20%\rprogress 40%\rprogress 100%\nTHE-END\n",
        )
        .expect("append");
    let state = open(&store, &ids);
    let shown = screen(&state);
    assert!(shown.contains("a       b       c"), "{shown}");
    assert!(shown.contains("progress 100%"), "{shown}");
    assert!(!shown.contains("40%"), "{shown}");
    assert!(!shown.contains("progress 20%progress"), "{shown}");
}
