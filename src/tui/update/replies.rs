//! Replies to the dashboard's requests into its state, each by what it was for (its tag).

use super::events::{daemon_event, upsert_session};
use super::pages::join_page;
use super::{
    Effect, Tab, Tag, actions, details, flash, history, load_diff, load_file, prompt, select,
};
use crate::protocol::{Command, DaemonStatus, Event, Reply};
use crate::tui::state::{Level, State};
use crate::tui::transcript::Transcript;

/// Back in touch with the daemon: what was held may be out of date, so the sessions
/// come from its snapshot and the transcript on screen is read again.
pub(super) fn reconnected(state: &mut State, snapshot: Reply, effects: &mut Vec<Effect>) {
    state.offline = None;
    // A new connection: the daemon knows nothing of what this one views.
    state.told_viewing = None;
    state.transcripts.clear();
    state.loading.clear();
    state.review = Default::default();
    if state.tab == Tab::Diffs {
        load_diff(state, effects);
    }
    reply(state, Tag::Sessions, Ok(snapshot), effects);
    effects.push(Effect::Request(Command::DaemonStatus, Tag::Status));
    effects.push(Effect::Request(Command::Agents, Tag::Agents));
    effects.push(Effect::Request(Command::Templates, Tag::Templates));
    // Requests on the old connection are lost: ask again what is on screen.
    state.details.in_flight = None;
    state.details.stale = true;
    if let Some(h) = &mut state.history_view {
        h.in_flight = false;
        history::ask(state, effects);
    }
    flash(state, "reconnected to the daemon", Level::Info);
}

pub(super) fn reply(
    state: &mut State,
    tag: Tag,
    result: Result<Reply, String>,
    effects: &mut Vec<Effect>,
) {
    match (tag, result) {
        (Tag::Sessions, Ok(Reply::Sessions { sessions } | Reply::Subscribed { sessions })) => {
            state.merge_host(crate::tui::fleet::LOCAL_HOST, sessions);
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
            if let Some(crate::tui::dialog::Dialog::NewSession(form)) = &mut state.dialog {
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
            Some(crate::tui::dialog::Dialog::NewSession(form)) => form.show_error(&e),
            _ => flash(state, e, Level::Error),
        },
        (Tag::Sent { what, .. }, Ok(Reply::Session { session, note })) => {
            upsert_session(state, session, effects);
            flash(state, note.unwrap_or_else(|| what.into()), Level::Info);
        }
        (Tag::Sent { session, text, .. }, Err(e)) => {
            prompt::restore_draft(state, session, text);
            flash(
                state,
                format!("{e} (the prompt is back in the box)"),
                Level::Error,
            );
        }
        (Tag::ResumeThenSend { text, .. }, Ok(Reply::Session { session, .. })) => {
            let id = session.id;
            upsert_session(state, session, effects);
            prompt::send_text(state, id, text, "resumed and sent", effects);
        }
        (Tag::ResumeThenSend { session, text }, Err(e)) => {
            prompt::restore_draft(state, session, text);
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
            let host = state.host_of(id);
            daemon_event(state, host, Event::SessionRemoved { id }, effects);
            flash(state, note.unwrap_or(what), Level::Info);
        }
        (Tag::HostAgents { host }, Ok(Reply::DaemonStatus(status))) => {
            if let Some(crate::tui::dialog::Dialog::NewSession(form)) = &mut state.dialog
                && form.host == host
                && !status.agents.is_empty()
            {
                form.agents = status.agents;
                form.agent = 0;
            }
        }
        (Tag::Completion, Ok(Reply::Completion { completed, options })) => {
            super::dialog_keys::completed(state, completed, options)
        }
        (Tag::Templates, Ok(Reply::Templates { templates })) => {
            if let Some(crate::tui::dialog::Dialog::NewSession(form)) = &mut state.dialog {
                form.templates = Some(templates.clone());
            }
            state.templates = Some(templates);
        }
        (Tag::Details { session }, result) => details::replied(state, session, result),
        (Tag::History { seq }, result) => history::replied(state, seq, result, effects),
        (Tag::Restored { open, .. }, result) => history::restored(state, open, result, effects),
        (Tag::ReforgeFrom { session }, Ok(Reply::Chronicles { chronicles })) => {
            history::reforge_from(state, session, chronicles)
        }
        (Tag::Reforged, Ok(Reply::Session { session, note })) => {
            history::reforged(state, session, note, effects)
        }
        (Tag::Reforged, Err(e)) => flash(state, format!("could not reforge: {e}"), Level::Error),
        (Tag::Viewing, _) => {}
        (
            tag @ (Tag::Comments { .. }
            | Tag::Commented { .. }
            | Tag::Checkpoints { .. }
            | Tag::Rollback { .. }
            | Tag::LandPlan { .. }
            | Tag::Landed { .. }),
            result,
        ) => super::review::replied(state, tag, result, effects),
        (_, Err(e)) => flash(state, e, Level::Error),
        (_, Ok(_)) => {}
    }
}
