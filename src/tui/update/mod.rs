//! `update(state, msg) -> effects`: the dashboard's only way to change. Pure: it does
//! no IO; the loop carries out the effects it returns and feeds their results back.

mod actions;
mod dialog_keys;
mod keys;
mod pages;

pub use keys::permission_card_shown;
pub use pages::{fetch_page, page_in};
use pages::{join_page, load_transcript};

use super::state::{Level, State, Tab};
use super::transcript::{Load, Transcript};
use crate::core::{Session, SessionId, Status};
use crate::protocol::{Command, DaemonStatus, Event, Reply};
use crossterm::event::KeyEvent;
use std::path::PathBuf;

#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    /// The wheel or a click.
    Mouse(crossterm::event::MouseEvent),
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
    /// The connection to the daemon is gone; it is being made again.
    Offline(String),
    /// Connected again: the sessions as the daemon has them now.
    Reconnected(Box<Reply>),
}

/// What a reply is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tag {
    Sessions,
    Status,
    /// Which agents are installed.
    Agents,
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
    /// A prompt sent; it goes back into the box if the daemon refuses it.
    Sent {
        session: SessionId,
        text: String,
        what: &'static str,
    },
    /// A resume asked for so that `text` can be sent.
    ResumeThenSend {
        session: SessionId,
        text: String,
    },
    /// A workspace cleanup; one refused for uncommitted work is offered again, forced.
    Cleanup {
        session: SessionId,
    },
    /// Telling the daemon which session is on screen; nothing to do with the answer.
    Viewing,
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
    // Output streaming in moves no sidebar row; anything else may.
    let rows_may_move = !matches!(
        msg,
        Msg::Daemon(Event::PartDelta { .. } | Event::PartUpdated { .. })
    );
    match msg {
        Msg::Key(key) => {
            keys::key(state, key, &mut up);
            state.sync_placeholder();
        }
        Msg::Mouse(mouse) => keys::mouse(state, mouse, &mut up),
        Msg::Resize { width, height } => state.size = (width, height),
        Msg::Daemon(event) => up.redraw = daemon_event(state, event, &mut up.effects),
        Msg::Reply { tag, result } => reply(state, tag, result, &mut up.effects),
        Msg::Completed { completed, options } => dialog_keys::completed(state, completed, options),
        Msg::Offline(why) => state.offline = Some(why),
        Msg::Reconnected(snapshot) => reconnected(state, *snapshot, &mut up.effects),
    }
    if rows_may_move {
        state.scroll_sidebar();
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

/// Says something on the bottom line, and keeps it whole in the message log.
/// Back in touch with the daemon: what was held may be out of date, so the sessions
/// come from its snapshot and the transcript on screen is read again.
fn reconnected(state: &mut State, snapshot: Reply, effects: &mut Vec<Effect>) {
    state.offline = None;
    state.transcripts.clear();
    state.loading.clear();
    if state.tab == Tab::Diffs {
        load_diff(state, effects);
    }
    reply(state, Tag::Sessions, Ok(snapshot), effects);
    effects.push(Effect::Request(Command::DaemonStatus, Tag::Status));
    effects.push(Effect::Request(Command::Agents, Tag::Agents));
    flash(state, "reconnected to the daemon", Level::Info);
}

pub fn flash(state: &mut State, text: impl Into<String>, level: Level) {
    let text = crate::core::sanitize(&text.into());
    if state.log.len() >= super::state::LOG_LEN {
        state.log.pop_front();
    }
    state
        .log
        .push_back((state.now, text.clone(), level.clone()));
    state.flash = Some((text, level));
}

/// Brings the newly selected session on screen and asks for what it needs.
pub fn select(state: &mut State, id: Option<SessionId>, effects: &mut Vec<Effect>) {
    if state.selected == id && id.is_some_and(|id| state.transcripts.contains_key(&id)) {
        return;
    }
    if state.selected != id {
        keys::switch_draft(state, id);
    }
    state.selected = id;
    state.scroll = 0;
    state.tool_cursor = None;
    let Some(id) = id else { return };
    state.viewed(id);
    state.marks.remove(&id);
    // The daemon clears its mark, and keeps it unmarked while it is on screen here.
    effects.push(Effect::Request(
        Command::View {
            id: Some(id.to_string()),
            viewer: 0,
        },
        Tag::Viewing,
    ));
    if !state.transcripts.contains_key(&id) {
        load_transcript(state, id, effects);
    }
    if state.tab == Tab::Diffs {
        load_diff(state, effects);
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
    // Output is activity: the session's age starts again, as the daemon's record does.
    if transcript_event
        && let Some(s) = event
            .session()
            .and_then(|id| state.sessions.iter_mut().find(|s| s.id == id))
    {
        s.last_activity_at = s.last_activity_at.max(state.now);
    }
    if transcript_event
        && let Some(id) = event.session()
        && let Some(buffer) = state.loading.get_mut(&id)
    {
        buffer.push(event);
        return false;
    }
    let on_screen = |id: SessionId| selected == Some(id);
    // A view scrolled up stays on its rows: what grows below it moves it up as much.
    let held = state.scroll > 0 && event.session().is_some_and(on_screen);
    let grows = match &event {
        Event::PartUpdated { part, .. } if held => Some(part.id.clone()),
        Event::PartDelta { part_id, .. } if held => Some(part_id.clone()),
        _ => None,
    };
    let rows_before = grows.as_deref().map(|p| super::view::part_rows(state, p));
    // A new message: its header row and the rows of the parts it comes with.
    let added = match &event {
        Event::MessageAdded { message, .. } if held => state
            .transcript()
            .filter(|t| t.at_end && !t.messages.iter().any(|m| m.id == message.id))
            .map(|_| {
                message
                    .parts
                    .iter()
                    .map(|p| p.id.clone())
                    .collect::<Vec<_>>()
            }),
        _ => None,
    };
    let changed = apply_event(state, event, effects);
    if let (Some(part), Some(before)) = (grows, rows_before) {
        let after = super::view::part_rows(state, &part);
        state.scroll = (state.scroll + after).saturating_sub(before);
    }
    if let Some(parts) = added {
        let rows: usize = parts.iter().map(|p| super::view::part_rows(state, p)).sum();
        state.scroll += 1 + rows;
    }
    changed
}

fn apply_event(state: &mut State, event: Event, effects: &mut Vec<Effect>) -> bool {
    let selected = state.selected;
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
            on_screen(session)
        }
        Event::PartUpdated { session, part } => {
            if let Some(t) = state.transcripts.get_mut(&session) {
                t.put_part(&part);
            }
            reload_if_stale(state, session, effects);
            on_screen(session)
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
            changed && on_screen(session) && state.tab == Tab::Messages
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

/// Takes a session's mark from the daemon's record, except for the session on screen.
fn mirror_mark(state: &mut State, id: SessionId) {
    let mark = state.session(id).and_then(|s| s.mark);
    match mark {
        Some(mark) if state.selected != Some(id) => state.marks.insert(id, mark),
        _ => state.marks.remove(&id),
    };
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
    mirror_mark(state, id);
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
            state.marks = (state.sessions.iter())
                .filter_map(|s| Some((s.id, s.mark?)))
                .collect();
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
        (Tag::Agents, Ok(Reply::Agents { agents })) => {
            state.missing_agents = agents
                .into_iter()
                .filter_map(|a| Some((a.name, a.install?)))
                .collect();
            if let Some(super::dialog::Dialog::NewSession(form)) = &mut state.dialog {
                form.missing = state.missing_agents.clone();
            }
        }
        (Tag::Page { session, load }, Ok(Reply::Transcript { page, .. })) => {
            join_page(state, session, load, page, effects)
        }
        (Tag::Page { session, .. }, Err(e)) => {
            state.loading.remove(&session);
            match state.transcripts.get_mut(&session) {
                // What is held stays on screen.
                Some(t) => t.fetching = None,
                // An empty transcript, so the failure is not retried on every message.
                None => {
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
        (Tag::Sent { what, .. }, Ok(Reply::Session { session, note })) => {
            upsert_session(state, session, effects);
            flash(state, note.unwrap_or_else(|| what.into()), Level::Info);
        }
        (Tag::Sent { session, text, .. }, Err(e)) => {
            keys::restore_draft(state, session, text);
            flash(
                state,
                format!("{e} (the prompt is back in the box)"),
                Level::Error,
            );
        }
        (Tag::ResumeThenSend { text, .. }, Ok(Reply::Session { session, .. })) => {
            let id = session.id;
            upsert_session(state, session, effects);
            keys::send_text(state, id, text, "resumed and sent", effects);
        }
        (Tag::ResumeThenSend { session, text }, Err(e)) => {
            keys::restore_draft(state, session, text);
            flash(state, format!("could not resume: {e}"), Level::Error);
        }
        (Tag::Cleanup { session }, Err(e)) if e.contains("--force") => {
            if let Some(s) = state.session(session).cloned() {
                actions::cleanup_refused(state, &s, &e);
            }
        }
        (Tag::Cleanup { .. }, Ok(Reply::Session { session, note })) => {
            let title = crate::core::sanitize(&session.title);
            upsert_session(state, session, effects);
            let done = format!("removed the workspace of '{title}'");
            flash(state, note.unwrap_or(done), Level::Info);
        }
        (Tag::Action { what }, Ok(Reply::Session { session, note })) => {
            upsert_session(state, session, effects);
            flash(state, note.unwrap_or(what), Level::Info);
        }
        (Tag::Action { what }, Ok(Reply::Removed { id, note })) => {
            daemon_event(state, Event::SessionRemoved { id }, effects);
            flash(state, note.unwrap_or(what), Level::Info);
        }
        (Tag::Viewing, _) => {}
        (_, Err(e)) => flash(state, e, Level::Error),
        (_, Ok(_)) => {}
    }
}
