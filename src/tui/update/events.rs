//! Daemon events into the dashboard's state: sessions coming, changing and going, and
//! transcripts growing, with the view held where the user scrolled it.

use super::pages::load_transcript;
use super::{Effect, Tab, Tag, load_diff, select};
use crate::core::{Session, SessionId, Status};
use crate::protocol::Command;
use crate::protocol::Event;
use crate::tui::state::State;

/// Applies a daemon event; returns whether anything on screen changed.
pub(super) fn daemon_event(
    state: &mut State,
    host: usize,
    event: Event,
    effects: &mut Vec<Effect>,
) -> bool {
    if let Event::SessionUpdated { session } = &event {
        state.fleet.place(session.id, host);
    }
    // A session another host already shows (two names for one machine) is its own.
    if event.session().is_some_and(|id| state.host_of(id) != host) {
        return false;
    }
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
    let rows_before = grows
        .as_deref()
        .map(|p| crate::tui::view::part_rows(state, p));
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
    let changed = apply_event(state, host, event, effects);
    if let (Some(part), Some(before)) = (grows, rows_before) {
        let after = crate::tui::view::part_rows(state, &part);
        state.scroll = (state.scroll + after).saturating_sub(before);
    }
    if let Some(parts) = added {
        let rows: usize = parts
            .iter()
            .map(|p| crate::tui::view::part_rows(state, p))
            .sum();
        state.scroll += 1 + rows;
    }
    changed
}

fn apply_event(state: &mut State, host: usize, event: Event, effects: &mut Vec<Effect>) -> bool {
    let selected = state.selected;
    let on_screen = |id: SessionId| selected == Some(id);
    match event {
        Event::SessionUpdated { session } => {
            // The note on why output stopped comes and goes below the transcript; a view
            // scrolled up stays where it is.
            let held = state.scroll > 0 && on_screen(session.id);
            let before = held.then(|| crate::tui::view::trailer_rows(state));
            upsert_session(state, session, effects);
            if let Some(before) = before {
                let after = crate::tui::view::trailer_rows(state);
                state.scroll = (state.scroll + after).saturating_sub(before);
            }
            true
        }
        Event::SessionRemoved { id } => {
            state.sessions.retain(|s| s.id != id);
            state.fleet.forget(id);
            state.transcripts.remove(&id);
            state.loading.remove(&id);
            state.drafts.remove(&id);
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
        Event::Checkpoint {
            session,
            checkpoint,
        } => {
            let held = state.review.checkpoints.contains_key(&session);
            // Its mark is a new row at the end: a view scrolled up stays on its rows.
            let at_end = state.transcripts.get(&session).is_some_and(|t| t.at_end);
            if held && on_screen(session) && state.scroll > 0 && at_end {
                state.scroll += 1;
            }
            if held {
                state.review.add_checkpoint(session, checkpoint);
            }
            held && on_screen(session) && state.tab == Tab::Messages
        }
        Event::Comments { session, comments } => {
            let held = state.review.comments.contains_key(&session);
            if held {
                state.review.comments.insert(session, comments);
            }
            held && on_screen(session) && state.tab == Tab::Diffs
        }
        Event::Lagged { .. } => {
            // What is held of the reviews may have missed events too.
            state.review = Default::default();
            // Only a window at the end follows events; one scrolled back missed nothing.
            for t in state.transcripts.values_mut().filter(|t| t.at_end) {
                t.stale = true;
            }
            effects.push(Effect::RequestOn(host, Command::List, Tag::Sessions));
            if let Some(id) = selected {
                reload_if_stale(state, id, effects);
                super::review::load(state, id, effects);
            }
            true
        }
    }
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

pub(super) fn upsert_session(state: &mut State, session: Session, effects: &mut Vec<Effect>) {
    let id = session.id;
    let before = state.session(id).map(|s| s.status);
    let after = session.status;
    super::details::changed(state, &session);
    if let Some(h) = &mut state.history_view
        && let Some(row) = h.rows.iter_mut().find(|r| r.id == id)
    {
        *row = session.clone();
    }
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
        Status::Completed => Some("completed: a limit was reached"),
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
