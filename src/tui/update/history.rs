//! The History view: every session the daemon keeps, archived ones too, a page at a
//! time, searched and filtered by the daemon. One request at a time: a change made while
//! one is on its way is asked for once it is answered, so typing and key repeats cost at
//! most one request in flight. From a row: open it, restore it, or reforge from it.

use super::{Effect, Tag, flash, select};
use crate::core::{Action as Allowed, Chronicle, Session, SessionId, Status, check, sanitize};
use crate::protocol::{Command, Reforge, Reply};
use crate::tui::dialog::{Confirm, Dialog};
use crate::tui::fleet::LOCAL_HOST;
use crate::tui::history::{HistoryView, MAX_SEARCH};
use crate::tui::keymap::{Action, Context};
use crate::tui::state::{Level, Overlay, State};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Rows of the screen that are not the list: the frame, the search and filter lines, the
/// column heads and the bottom line.
pub const CHROME: u16 = 6;

pub fn open(state: &mut State, effects: &mut Vec<Effect>) {
    let rows = state.size.1.saturating_sub(CHROME).max(1);
    let mut view = HistoryView::new(u32::from(rows));
    // The history of the host the selected session is on; tab goes on to the next.
    view.host = state.selected.map_or(LOCAL_HOST, |id| state.host_of(id));
    state.history_view = Some(view);
    ask(state, effects);
}

/// Asks for the page the view's query names, or, while a request is on its way, for it
/// to be asked once that one is answered.
pub(super) fn ask(state: &mut State, effects: &mut Vec<Effect>) {
    let seq = state.next_seq();
    let now = state.now;
    let Some(h) = &mut state.history_view else {
        return;
    };
    if h.in_flight {
        h.again = true;
        return;
    }
    h.in_flight = true;
    h.seq = seq;
    effects.push(Effect::RequestOn(
        h.host,
        Command::History(h.query(now)),
        Tag::History { seq },
    ));
}

/// A new query from the first page.
fn requery(state: &mut State, effects: &mut Vec<Effect>) {
    if let Some(h) = &mut state.history_view {
        h.offset = 0;
        h.selected = 0;
    }
    ask(state, effects);
}

pub(super) fn replied(
    state: &mut State,
    seq: u64,
    result: Result<Reply, String>,
    effects: &mut Vec<Effect>,
) {
    let Some(h) = state.history_view.as_mut().filter(|h| h.seq == seq) else {
        return;
    };
    h.in_flight = false;
    if std::mem::take(&mut h.again) {
        return ask(state, effects);
    }
    match result {
        Ok(Reply::History { sessions, total }) => {
            h.loaded = true;
            h.error = None;
            h.total = total;
            // Sessions went meanwhile and the page is past the end: the last one.
            if sessions.is_empty() && h.offset > 0 && total > 0 {
                let size = u64::from(h.page_size);
                h.offset = (((total - 1) / size) * size) as u32;
                return ask(state, effects);
            }
            h.rows = sessions;
            h.selected = h.selected.min(h.rows.len().saturating_sub(1));
        }
        Ok(_) => {}
        Err(e) => {
            h.loaded = true;
            h.error = Some(e.clone());
            flash(state, e, Level::Error);
        }
    }
}

pub(super) fn key(state: &mut State, key: KeyEvent, effects: &mut Vec<Effect>) {
    let Some(h) = &mut state.history_view else {
        return;
    };
    if h.editing {
        match key.code {
            KeyCode::Enter => {
                h.editing = false;
                h.search = h.typed.trim().to_string();
                requery(state, effects);
            }
            KeyCode::Esc => {
                h.editing = false;
                h.typed = h.search.clone();
            }
            KeyCode::Backspace => {
                h.typed.pop();
            }
            KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => h.typed.clear(),
            KeyCode::Char(c)
                if !key.modifiers.contains(KeyModifiers::CONTROL)
                    && h.typed.chars().count() < MAX_SEARCH =>
            {
                h.typed.push(c)
            }
            _ => {}
        }
        return;
    }
    let keymap = &state.keymap;
    // Moving and the overlays are the global keys; the rest are the view's own.
    let action = keymap.lookup(Context::History, &key).or_else(|| {
        keymap.lookup(Context::Global, &key).filter(|a| {
            matches!(
                a,
                Action::Down
                    | Action::Up
                    | Action::Top
                    | Action::Bottom
                    | Action::Help
                    | Action::Messages
                    | Action::Quit
            )
        })
    });
    let Some(action) = action else { return };
    let last = h.rows.len().saturating_sub(1);
    match action {
        Action::Search => h.editing = true,
        Action::StatusFilter => {
            h.next_status();
            requery(state, effects);
        }
        Action::DateRange => {
            h.range = h.range.next();
            requery(state, effects);
        }
        Action::NextPage if h.has_next_page() => {
            h.offset += h.page_size;
            h.selected = 0;
            ask(state, effects);
        }
        Action::PrevPage if h.offset > 0 => {
            h.offset = h.offset.saturating_sub(h.page_size);
            h.selected = 0;
            ask(state, effects);
        }
        Action::NextHost if state.fleet.hosts.len() > 1 => {
            h.host = (h.host + 1) % state.fleet.hosts.len();
            h.rows.clear();
            h.total = 0;
            h.loaded = false;
            h.error = None;
            requery(state, effects);
        }
        Action::Down => h.selected = (h.selected + 1).min(last),
        Action::Up => h.selected = h.selected.saturating_sub(1),
        Action::Top => h.selected = 0,
        Action::Bottom => h.selected = last,
        Action::Close => state.history_view = None,
        Action::Open => open_row(state, effects),
        Action::Restore => restore_row(state, false, effects),
        Action::Reforge => reforge_row(state, effects),
        Action::Help => state.overlay = Some((Overlay::Help, 0)),
        Action::Messages => state.overlay = Some((Overlay::Log, usize::MAX / 2)),
        Action::Quit => effects.push(Effect::Quit),
        _ => {}
    }
}

/// The selected row as the dashboard knows it now: its own copy is the newer.
fn chosen(state: &State) -> Option<Session> {
    let row = state.history_view.as_ref()?.selected_row()?;
    Some(state.session(row.id).unwrap_or(row).clone())
}

/// `enter`: the session in the dashboard, the filter cleared if it hid it; an archived
/// one has no workspace to look at, so restoring it is offered first.
fn open_row(state: &mut State, effects: &mut Vec<Effect>) {
    let Some(s) = chosen(state) else { return };
    if s.status == Status::Archived {
        return restore_row(state, true, effects);
    }
    if state.session(s.id).is_none() {
        let gone = format!("'{}' was deleted meanwhile", sanitize(&s.title));
        return flash(state, gone, Level::Error);
    }
    if !state.visible_ids().any(|v| v == s.id) {
        state.filter.clear();
        state.rebuild_rows();
    }
    state.history_view = None;
    select(state, Some(s.id), effects);
}

/// Restores an archived session; `open` asks first (enter was meant to look at it) and
/// shows it once it is back. `R` restores at once: nothing is lost by it.
fn restore_row(state: &mut State, open: bool, effects: &mut Vec<Effect>) {
    let Some(s) = chosen(state) else { return };
    if let Err(refused) = check(s.status, Allowed::Restore) {
        return flash(state, refused.to_string(), Level::Error);
    }
    let command = Command::Restore {
        id: s.id.to_string(),
    };
    let tag = Tag::Restored {
        session: s.id,
        open,
    };
    if !open {
        flash(state, "restoring…", Level::Info);
        return effects.push(Effect::Request(command, tag));
    }
    let question = format!(
        "'{}' is archived: its workspace was saved and removed. Restore it and open it?",
        sanitize(&s.title)
    );
    let mut confirm = Confirm::yes_no(question, "Restore and open", command, String::new());
    confirm.choices[1].request = confirm.choices[1].request.take().map(|(c, _)| (c, tag));
    state.dialog = Some(Dialog::Confirm(confirm));
}

pub(super) fn restored(
    state: &mut State,
    open: bool,
    result: Result<Reply, String>,
    effects: &mut Vec<Effect>,
) {
    match result {
        Ok(Reply::Session { session, note }) => {
            let (id, title) = (session.id, sanitize(&session.title));
            super::events::upsert_session(state, session, effects);
            if open {
                state.history_view = None;
                state.filter.clear();
                state.rebuild_rows();
                select(state, Some(id), effects);
            }
            flash(
                state,
                note.unwrap_or(format!("restored '{title}'")),
                Level::Info,
            );
        }
        Ok(_) => {}
        Err(e) => flash(state, format!("could not restore: {e}"), Level::Error),
    }
}

/// `f`: first the session's chronicles, to reforge from the newest.
fn reforge_row(state: &mut State, effects: &mut Vec<Effect>) {
    let Some(s) = chosen(state) else { return };
    effects.push(Effect::Request(
        Command::Chronicles {
            session: Some(s.id.to_string()),
        },
        Tag::ReforgeFrom { session: s.id },
    ));
}

/// The chronicles came: asks whether to reforge from the newest that kept a tree (the
/// newest of all if none did, so the daemon says why it cannot).
pub(super) fn reforge_from(state: &mut State, session: SessionId, chronicles: Vec<Chronicle>) {
    let title = state
        .session(session)
        .or_else(|| {
            (state.history_view.as_ref()).and_then(|h| h.rows.iter().find(|r| r.id == session))
        })
        .map(|s| sanitize(&s.title))
        .unwrap_or_else(|| session.short());
    let newest = (chronicles.iter())
        .find(|c| c.tree_commit.is_some())
        .or(chronicles.first());
    let Some(c) = newest else {
        let none = format!(
            "'{title}' has no chronicle to reforge from: one is kept when a session stops, completes or is archived"
        );
        return flash(state, none, Level::Error);
    };
    let question = format!(
        "Reforge '{title}'? A new session starts from chronicle {} ({}, {} ago): its files and its conversation.",
        c.short(),
        sanitize(&c.reason),
        crate::core::age(c.created_at, state.now)
    );
    let command = Command::Reforge(Reforge {
        chronicle: c.id.clone(),
        ..Reforge::default()
    });
    let mut confirm = Confirm::yes_no(question, "Reforge", command, String::new());
    // The chronicle is kept by the host of the session it came from.
    confirm.host = Some(state.host_of(session));
    confirm.choices[1].request = confirm.choices[1]
        .request
        .take()
        .map(|(c, _)| (c, Tag::Reforged));
    state.dialog = Some(Dialog::Confirm(confirm));
}

pub(super) fn reforged(
    state: &mut State,
    session: Session,
    note: Option<String>,
    effects: &mut Vec<Effect>,
) {
    let (id, title) = (session.id, sanitize(&session.title));
    super::events::upsert_session(state, session, effects);
    state.history_view = None;
    state.filter.clear();
    state.rebuild_rows();
    select(state, Some(id), effects);
    flash(
        state,
        note.unwrap_or(format!("reforged as '{title}'")),
        Level::Info,
    );
}
