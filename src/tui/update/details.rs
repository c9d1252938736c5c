//! The Info tab's details: asked for while the tab shows a session, asked again when that
//! session (or a child, whose callbacks it lists) changes, never more than one at a time.

use super::{Effect, Tag};
use crate::core::{Session, SessionId};
use crate::protocol::{Command, Reply};
use crate::tui::state::State;

/// Asks for the details the Info tab lacks, unless a request is on its way: its answer
/// comes back through here and asks again if they are still lacking then.
pub(super) fn settle(state: &mut State, effects: &mut Vec<Effect>) {
    if !state.info_shown() {
        return;
    }
    let Some(id) = state.selected else { return };
    let d = &mut state.details;
    if d.in_flight.is_some() || (d.session == Some(id) && !d.stale) {
        return;
    }
    if d.session != Some(id) {
        *d = Default::default();
        d.session = Some(id);
    }
    d.stale = false;
    d.in_flight = Some(id);
    effects.push(Effect::Request(
        Command::Details { id: id.to_string() },
        Tag::Details { session: id },
    ));
}

/// A session changed: what the Info tab shows of it, or of its parent, is out of date.
pub(super) fn changed(state: &mut State, s: &Session) {
    let d = &mut state.details;
    if d.session.is_some() && (d.session == Some(s.id) || d.session == s.parent) {
        d.stale = true;
    }
}

pub(super) fn replied(state: &mut State, session: SessionId, result: Result<Reply, String>) {
    let d = &mut state.details;
    if d.in_flight == Some(session) {
        d.in_flight = None;
    }
    if d.session != Some(session) {
        return;
    }
    match result {
        Ok(Reply::Details {
            callbacks,
            chronicles,
            chain,
            ..
        }) => {
            d.callbacks = callbacks;
            d.chronicles = chronicles;
            d.chain = chain;
            d.loaded = true;
            d.error = None;
        }
        Ok(_) => {}
        // Said in the tab, where it is missing, rather than over whatever the user does.
        Err(e) => d.error = Some(e),
    }
}
