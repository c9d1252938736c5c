//! `update(state, msg) -> effects`: the dashboard's only way to change. Pure: it does
//! no IO; the loop carries out the effects it returns and feeds their results back.

mod dialog_keys;
mod keys;

pub use keys::permission_card_shown;

use super::state::{Level, Mark, State, Tab};
use super::transcript::{Load, Transcript};
use crate::core::{PageQuery, Session, SessionId, Status};
use crate::protocol::{Command, DaemonStatus, Event, Reply};
use crossterm::event::KeyEvent;
use std::path::PathBuf;

#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    Resize {
        width: u16,
        height: u16,
    },
    Daemon(Event),
    Reply {
        tag: Tag,
        result: Result<Reply, String>,
    },
    /// Directory completion the loop worked out.
    Completed {
        completed: String,
        options: Vec<String>,
    },
    /// The connection to the daemon is gone.
    Offline(String),
}

/// What a reply is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tag {
    Sessions,
    Status,
    /// A page of a session's transcript.
    Page {
        session: SessionId,
        load: Load,
    },
    Diff {
        session: SessionId,
        seq: u64,
    },
    /// One file of that diff.
    DiffFile {
        session: SessionId,
        seq: u64,
        path: String,
    },
    NewSession,
    /// A user action on a session; `what` is said when it succeeds.
    Action {
        what: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Request(Command, Tag),
    Complete(String),
    /// Leave the screen, run a program in a directory, come back.
    Run {
        program: String,
        args: Vec<String>,
        dir: PathBuf,
    },
    Notify(String),
    Bell,
    Suspend,
    Quit,
}

/// The result of one message: what to do, and whether the screen changed.
#[derive(Debug, Default)]
pub struct Update {
    pub effects: Vec<Effect>,
    pub redraw: bool,
}

pub fn update(state: &mut State, msg: Msg) -> Update {
    let mut up = Update {
        effects: Vec::new(),
        redraw: true,
    };
    match msg {
        Msg::Key(key) => keys::key(state, key, &mut up),
        Msg::Resize { width, height } => {
            state.size = (width, height);
            let wrap = state.messages_width();
            for t in state.transcripts.values_mut() {
                t.set_width(wrap);
            }
        }
        Msg::Daemon(event) => up.redraw = daemon_event(state, event, &mut up.effects),
        Msg::Reply { tag, result } => reply(state, tag, result, &mut up.effects),
        Msg::Completed { completed, options } => dialog_keys::completed(state, completed, options),
        Msg::Offline(why) => state.offline = Some(why),
    }
    // However the selection moved (a key, the filter, a session arriving or leaving),
    // the selected session's transcript is on its way.
    if let Some(id) = state.selected
        && !state.transcripts.contains_key(&id)
    {
        load_transcript(state, id, &mut up.effects);
    }
    up
}

pub fn flash(state: &mut State, text: impl Into<String>, level: Level) {
    state.flash = Some((text.into(), level));
}

/// Brings the newly selected session on screen and asks for what it needs.
pub fn select(state: &mut State, id: Option<SessionId>, effects: &mut Vec<Effect>) {
    if state.selected == id && id.is_some_and(|id| state.transcripts.contains_key(&id)) {
        return;
    }
    state.selected = id;
    state.scroll = 0;
    state.tool_cursor = None;
    let Some(id) = id else { return };
    state.viewed(id);
    state.marks.remove(&id);
    if !state.transcripts.contains_key(&id) {
        load_transcript(state, id, effects);
    }
    if state.tab == Tab::Diffs {
        load_diff(state, effects);
    }
}

/// Asks for a transcript's last page. Events for it that arrive meanwhile are kept and
/// replayed on top of it, since the page may have been read before they were sent.
fn load_transcript(state: &mut State, id: SessionId, effects: &mut Vec<Effect>) {
    if state.loading.contains_key(&id) {
        return;
    }
    state.loading.insert(id, Vec::new());
    effects.push(Effect::Request(
        Command::Transcript {
            id: id.to_string(),
            page: PageQuery::last(),
            follow: false,
        },
        Tag::Page {
            session: id,
            load: Load::Tail,
        },
    ));
}

/// Asks for the page `load` names of the selected session's transcript, unless one is
/// on its way or there is none.
pub fn fetch_page(state: &mut State, load: Load, effects: &mut Vec<Effect>) {
    let Some(id) = state.selected else { return };
    let Some(t) = state.transcripts.get_mut(&id) else {
        return;
    };
    if t.fetching.is_some() || state.loading.contains_key(&id) {
        return;
    }
    let Some(page) = t.query(load) else { return };
    t.fetching = Some(load);
    if matches!(load, Load::Later | Load::Tail) {
        // It may reach the end: keep the events that come meanwhile, as for a load.
        state.loading.insert(id, Vec::new());
    }
    effects.push(Effect::Request(
        Command::Transcript {
            id: id.to_string(),
            page,
            follow: false,
        },
        Tag::Page { session: id, load },
    ));
}

/// Fetches the neighbouring page when the view comes near an edge of what is held.
pub fn page_in(state: &mut State, effects: &mut Vec<Effect>) {
    let Some(t) = state.transcript() else { return };
    let (at_start, at_end) = (t.at_start, t.at_end);
    let height = usize::from(state.size.1).max(1);
    if !at_start && state.scroll + 2 * height >= super::view::transcript_rows(state) {
        fetch_page(state, Load::Earlier, effects);
    } else if !at_end && state.scroll < 2 * height {
        fetch_page(state, Load::Later, effects);
    }
}

/// Asks for the selected session's diff; only the newest request's answer is used.
pub fn load_diff(state: &mut State, effects: &mut Vec<Effect>) {
    let Some(id) = state.selected else { return };
    let seq = state.next_seq();
    if state.diff.session != Some(id) {
        state.diff = Default::default();
        state.diff.session = Some(id);
    }
    state.diff.seq = seq;
    state.diff.loading = true;
    effects.push(Effect::Request(
        Command::Diff { id: id.to_string() },
        Tag::Diff { session: id, seq },
    ));
}

/// Asks for the hunks of the selected file, and lets go of any other file's.
pub fn load_file(state: &mut State, effects: &mut Vec<Effect>) {
    let Some(id) = state.diff.session else { return };
    let selected = state.diff.selected;
    for (i, f) in state.diff.files.iter_mut().enumerate() {
        if i != selected {
            f.hunks = Vec::new();
        }
    }
    let Some(file) = state.diff.files.get(selected) else {
        return;
    };
    if file.binary || file.too_large || !file.hunks.is_empty() {
        return;
    }
    let path = file.path.clone();
    state.diff.fetching = Some(path.clone());
    effects.push(Effect::Request(
        Command::DiffFile {
            id: id.to_string(),
            path: path.clone(),
        },
        Tag::DiffFile {
            session: id,
            seq: state.diff.seq,
            path,
        },
    ));
}

/// Applies a daemon event; returns whether anything on screen changed.
fn daemon_event(state: &mut State, event: Event, effects: &mut Vec<Effect>) -> bool {
    let selected = state.selected;
    let transcript_event = matches!(
        event,
        Event::MessageAdded { .. } | Event::PartUpdated { .. } | Event::PartDelta { .. }
    );
    if transcript_event
        && let Some(id) = event.session()
        && let Some(buffer) = state.loading.get_mut(&id)
    {
        buffer.push(event);
        return false;
    }
    let on_screen = |id: SessionId| selected == Some(id);
    match event {
        Event::SessionUpdated { session } => {
            upsert_session(state, session, effects);
            true
        }
        Event::SessionRemoved { id } => {
            state.sessions.retain(|s| s.id != id);
            state.transcripts.remove(&id);
            state.loading.remove(&id);
            state.marks.remove(&id);
            state.rebuild_rows();
            if selected == Some(id) {
                let next = state.selected;
                state.selected = None;
                select(state, next, effects);
            }
            true
        }
        Event::MessageAdded { session, message } => {
            if let Some(t) = state.transcripts.get_mut(&session) {
                t.add_message(&message);
            }
            mark_unread(state, session) || on_screen(session)
        }
        Event::PartUpdated { session, part } => {
            if let Some(t) = state.transcripts.get_mut(&session) {
                t.put_part(&part);
            }
            reload_if_stale(state, session, effects);
            mark_unread(state, session) || on_screen(session)
        }
        Event::PartDelta {
            session,
            part_id,
            offset,
            text,
            ..
        } => {
            let changed = state
                .transcripts
                .get_mut(&session)
                .is_some_and(|t| t.append(&part_id, offset, &text));
            reload_if_stale(state, session, effects);
            let marked = mark_unread(state, session);
            marked || (changed && on_screen(session) && state.tab == Tab::Messages)
        }
        Event::Lagged { .. } => {
            // Only a window at the end follows events; one scrolled back missed nothing.
            for t in state.transcripts.values_mut().filter(|t| t.at_end) {
                t.stale = true;
            }
            effects.push(Effect::Request(Command::List, Tag::Sessions));
            if let Some(id) = selected {
                reload_if_stale(state, id, effects);
            }
            true
        }
    }
}

fn join_page(
    state: &mut State,
    id: SessionId,
    load: Load,
    page: crate::core::Page,
    effects: &mut Vec<Effect>,
) {
    let on_screen = state.selected == Some(id);
    let rows = |state: &State| {
        if on_screen {
            super::view::transcript_rows(state)
        } else {
            0
        }
    };
    match (load, state.transcripts.contains_key(&id)) {
        (Load::Earlier | Load::Later | Load::Head, true) => {
            let before = rows(state);
            let joined = state
                .transcripts
                .get_mut(&id)
                .is_some_and(|t| t.join(page, load));
            // Rows that come in below the view move it up; rows let go of below move it
            // down: the scroll counts from the bottom, and the view stays where it was.
            let after_join = rows(state);
            if let Some(t) = state.transcripts.get_mut(&id) {
                t.fit(load);
            }
            let after_fit = rows(state);
            if on_screen && joined {
                state.scroll = match load {
                    Load::Head => top_scroll(state),
                    Load::Later => state.scroll + after_join.saturating_sub(before),
                    _ => state
                        .scroll
                        .saturating_sub(after_join.saturating_sub(after_fit)),
                };
            }
        }
        // A page to join to a transcript let go of meanwhile.
        (Load::Earlier | Load::Later, false) => {}
        // A first load or a reload.
        (Load::Tail | Load::Head, _) => {
            let expanded = state
                .transcripts
                .get_mut(&id)
                .map(|t| std::mem::take(&mut t.expanded));
            let mut t = Transcript::from_page(page, load);
            t.expanded = expanded.unwrap_or_default();
            t.set_width(state.messages_width());
            state.transcripts.insert(id, t);
            state.keep_transcripts();
            if on_screen && load == Load::Head {
                state.scroll = top_scroll(state);
            }
        }
    }
    for event in state.loading.remove(&id).unwrap_or_default() {
        daemon_event(state, event, effects);
    }
}

/// The scroll that shows the top of the selected transcript's window.
fn top_scroll(state: &State) -> usize {
    let page = usize::from(state.size.1.saturating_sub(8)).max(1);
    super::view::transcript_rows(state).saturating_sub(page)
}

/// Marks a session that is not on screen as having new output; returns whether the
/// mark is new (the sidebar changes).
fn mark_unread(state: &mut State, id: SessionId) -> bool {
    if state.selected == Some(id) || state.marks.contains_key(&id) {
        return false;
    }
    state.marks.insert(id, Mark::Unread);
    true
}

fn reload_if_stale(state: &mut State, id: SessionId, effects: &mut Vec<Effect>) {
    let stale = state.transcripts.get(&id).is_some_and(|t| t.stale);
    if stale {
        state.transcripts.remove(&id);
        if state.selected == Some(id) {
            load_transcript(state, id, effects);
        }
    }
}

fn upsert_session(state: &mut State, session: Session, effects: &mut Vec<Effect>) {
    let id = session.id;
    let before = state.session(id).map(|s| s.status);
    let after = session.status;
    match state.sessions.iter_mut().find(|s| s.id == id) {
        Some(slot) => *slot = session,
        None => state.sessions.push(session),
    }
    state.rebuild_rows();
    if state.selected.is_none() {
        let first = state.selected;
        select(state, first, effects);
    }
    let Some(before) = before.filter(|b| *b != after) else {
        return;
    };
    let news = match after {
        Status::WaitingInput => Some("needs your answer"),
        Status::Idle if before.is_busy() => Some("finished its turn"),
        Status::Error => Some("failed"),
        _ => None,
    };
    if state.selected == Some(id) {
        if after == Status::Idle && state.tab == Tab::Diffs {
            load_diff(state, effects);
        }
        return;
    }
    if let Some(news) = news {
        state.marks.insert(id, Mark::Attention);
        let title = state
            .session(id)
            .map(|s| s.title.clone())
            .unwrap_or_default();
        if state.notify.osc9 {
            effects.push(Effect::Notify(format!(
                "flotilla: {} {news}",
                crate::core::sanitize(&title)
            )));
        }
        if state.notify.bell {
            effects.push(Effect::Bell);
        }
    }
}

fn reply(state: &mut State, tag: Tag, result: Result<Reply, String>, effects: &mut Vec<Effect>) {
    match (tag, result) {
        (Tag::Sessions, Ok(Reply::Sessions { sessions } | Reply::Subscribed { sessions })) => {
            state.sessions = sessions;
            state.rebuild_rows();
            let selected = state.selected;
            state.selected = None;
            select(state, selected, effects);
        }
        (
            Tag::Status,
            Ok(Reply::DaemonStatus(DaemonStatus {
                agents,
                config_error,
                ..
            })),
        ) => {
            state.agents = agents;
            if let Some(e) = config_error {
                flash(state, e, Level::Error);
            }
        }
        (Tag::Page { session, load }, Ok(Reply::Transcript { page, .. })) => {
            join_page(state, session, load, page, effects)
        }
        (Tag::Page { session, load }, Err(e)) => {
            state.loading.remove(&session);
            match (load, state.transcripts.get_mut(&session)) {
                (Load::Earlier | Load::Later | Load::Head, Some(t)) => t.fetching = None,
                // An empty transcript, so the failure is not retried on every message.
                _ => {
                    state.transcripts.insert(session, Transcript::default());
                }
            }
            flash(state, e, Level::Error);
        }
        (Tag::Diff { session, seq }, result) => {
            if state.diff.session != Some(session) || state.diff.seq != seq {
                return;
            }
            state.diff.loading = false;
            match result {
                Ok(Reply::Diff { files, .. }) => {
                    // Keep the place: the same file, if it is still changed.
                    let was = state
                        .diff
                        .files
                        .get(state.diff.selected)
                        .map(|f| f.path.clone());
                    let at = was.and_then(|p| files.iter().position(|f| f.path == p));
                    state.diff.selected =
                        at.unwrap_or(state.diff.selected.min(files.len().saturating_sub(1)));
                    state.diff.files = files;
                    state.diff.error = None;
                    load_file(state, effects);
                }
                Ok(_) => {}
                Err(e) => state.diff.error = Some(e),
            }
        }
        (Tag::DiffFile { session, seq, path }, result) => {
            let diff = &mut state.diff;
            if diff.session != Some(session) || diff.seq != seq {
                return;
            }
            if diff.fetching.as_deref() == Some(path.as_str()) {
                diff.fetching = None;
            }
            let Some(slot) = diff.files.get_mut(diff.selected).filter(|f| f.path == path) else {
                return;
            };
            match result {
                Ok(Reply::DiffFile { file: Some(file) }) => *slot = file,
                Ok(Reply::DiffFile { file: None }) => flash(
                    state,
                    "that file no longer differs from the base",
                    Level::Info,
                ),
                Ok(_) => {}
                Err(e) => flash(state, e, Level::Error),
            }
        }
        (Tag::NewSession, Ok(Reply::Session { session, note })) => {
            state.dialog = None;
            let id = session.id;
            let title = session.title.clone();
            upsert_session(state, session, effects);
            select(state, Some(id), effects);
            flash(
                state,
                note.unwrap_or_else(|| format!("created '{title}'")),
                Level::Info,
            );
        }
        (Tag::NewSession, Err(e)) => match &mut state.dialog {
            Some(super::dialog::Dialog::NewSession(form)) => form.show_error(&e),
            _ => flash(state, e, Level::Error),
        },
        (Tag::Action { what }, Ok(Reply::Session { session, note })) => {
            upsert_session(state, session, effects);
            flash(state, note.unwrap_or(what), Level::Info);
        }
        (Tag::Action { what }, Ok(Reply::Removed { id, note })) => {
            daemon_event(state, Event::SessionRemoved { id }, effects);
            flash(state, note.unwrap_or(what), Level::Info);
        }
        (_, Err(e)) => flash(state, e, Level::Error),
        (_, Ok(_)) => {}
    }
}
