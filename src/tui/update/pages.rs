//! Fetching a transcript's pages and joining them to the window the dashboard holds.

use super::events::daemon_event;
use super::{Effect, Tag};
use crate::core::{PageQuery, SessionId};
use crate::protocol::Command;
use crate::tui::state::State;
use crate::tui::transcript::{Load, Transcript};

/// Asks for a transcript's last page. Events for it that arrive meanwhile are kept and
/// replayed on top of it, since the page may have been read before they were sent.
pub(super) fn load_transcript(state: &mut State, id: SessionId, effects: &mut Vec<Effect>) {
    if state.loading.contains_key(&id) {
        return;
    }
    state.loading.insert(id, Vec::new());
    super::review::load(state, id, effects);
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
    if !at_start && state.scroll + 2 * height >= crate::tui::view::transcript_rows(state) {
        fetch_page(state, Load::Earlier, effects);
    } else if !at_end && state.scroll < 2 * height {
        fetch_page(state, Load::Later, effects);
    }
}

pub(super) fn join_page(
    state: &mut State,
    id: SessionId,
    load: Load,
    page: crate::core::Page,
    effects: &mut Vec<Effect>,
) {
    let on_screen = state.selected == Some(id);
    let rows = |state: &State| {
        if on_screen {
            crate::tui::view::transcript_rows(state)
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
            state.transcripts.insert(id, t);
            state.keep_transcripts();
            if on_screen && load == Load::Head {
                state.scroll = top_scroll(state);
            }
        }
    }
    let host = state.host_of(id);
    for event in state.loading.remove(&id).unwrap_or_default() {
        daemon_event(state, host, event, effects);
    }
}

/// The scroll that shows the top of the selected transcript's window.
fn top_scroll(state: &State) -> usize {
    let page = usize::from(state.size.1.saturating_sub(8)).max(1);
    crate::tui::view::transcript_rows(state).saturating_sub(page)
}
