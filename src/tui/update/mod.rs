//! `update(state, msg) -> effects`: the dashboard's only way to change. Pure: it does
//! no IO; the loop carries out the effects it returns and feeds their results back.

mod actions;
mod details;
mod dialog_keys;
mod events;
pub mod fleet;
mod history;
mod hosts;
mod keys;
mod land;
mod pages;
mod prompt;
mod replies;
mod review;

use pages::load_transcript;
pub use pages::{fetch_page, page_in};

use super::fleet::LOCAL_HOST;
use super::state::{Level, State, Tab};
use super::transcript::Load;
use crate::core::SessionId;
use crate::protocol::{Command, Event, Reply};
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
    /// News from the link to another host (an index into `State::fleet`).
    Host {
        host: usize,
        news: fleet::HostNews,
    },
    /// A reply from another host.
    HostReply {
        host: usize,
        tag: Tag,
        result: Result<Reply, String>,
    },
    /// Something the loop could not do (read the config, run the editor), to say.
    Problem(String),
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
    /// The configured templates.
    Templates,
    /// What the Info tab shows of a session beyond its record.
    Details {
        session: SessionId,
    },
    /// A page of the History view; `seq` names the view's request.
    History {
        seq: u64,
    },
    /// An archived session restored; with `open`, it is then shown in the dashboard.
    Restored {
        session: SessionId,
        open: bool,
    },
    /// A session's chronicles, asked for to reforge from the newest.
    ReforgeFrom {
        session: SessionId,
    },
    /// A reforge: the answer is the new session, which is then selected.
    Reforged,
    /// A user action on a session; `what` is said when it succeeds.
    Action {
        what: String,
    },
    /// A session's review comments (sent with `send`).
    Comments {
        session: SessionId,
    },
    /// A review comment saved on a line.
    Commented {
        session: SessionId,
        path: String,
        line: u32,
    },
    /// A session's checkpoints.
    Checkpoints {
        session: SessionId,
    },
    /// A rollback to a checkpoint; one stopped by unsaved changes asks whether to force it.
    Rollback {
        session: SessionId,
        turn: u32,
    },
    /// Another host's agents, for the new-session form made for it.
    HostAgents {
        host: usize,
    },
    /// Directory completion worked out by a host's daemon.
    Completion,
    /// What landing a session would do, for the land menu.
    LandPlan {
        session: SessionId,
    },
    /// A commit, merge or push; `then` is the merge a commit-and-merge makes next.
    Landed {
        session: SessionId,
        then: Option<land::ThenMerge>,
    },
}

#[derive(Debug, Clone, PartialEq)]
// Each value is made and moved once, never held in bulk: boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum Effect {
    /// A request to the host that has the session it names, else to this machine's.
    Request(Command, Tag),
    /// A request to one host (an index into `State::fleet`).
    RequestOn(usize, Command, Tag),
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
    let before = state.selected;
    // Output streaming in moves no sidebar row; anything else may.
    let streamed = |e: &Event| matches!(e, Event::PartDelta { .. } | Event::PartUpdated { .. });
    let rows_may_move = !match &msg {
        Msg::Daemon(event) => streamed(event),
        Msg::Host {
            news: fleet::HostNews::Event(event),
            ..
        } => streamed(event),
        _ => false,
    };
    match msg {
        Msg::Key(key) => keys::key(state, key, &mut up),
        Msg::Mouse(mouse) => keys::mouse(state, mouse, &mut up),
        Msg::Resize { width, height } => state.size = (width, height),
        Msg::Daemon(event) => {
            up.redraw = events::daemon_event(state, LOCAL_HOST, event, &mut up.effects)
        }
        Msg::Host { host, news } => fleet::news(state, host, news, &mut up),
        Msg::HostReply { host, tag, result } => {
            fleet::reply(state, host, tag, result, &mut up.effects)
        }
        Msg::Reply { tag, result } => replies::reply(state, tag, result, &mut up.effects),
        Msg::Completed { completed, options } => dialog_keys::completed(state, completed, options),
        Msg::Problem(problem) => flash(state, problem, Level::Error),
        Msg::Offline(why) => state.offline = Some(why),
        Msg::Reconnected(snapshot) => replies::reconnected(state, *snapshot, &mut up.effects),
    }
    if rows_may_move {
        state.scroll_sidebar();
        state.sync_placeholder();
    }
    settle_selection(state, before, &mut up.effects);
    details::settle(state, &mut up.effects);
    up
}

/// However the selection moved (a key, the filter, a session arriving or leaving), what
/// belongs to the session on screen follows it: its draft in the box, its mark cleared,
/// the daemon told that it is viewed, its transcript on its way.
fn settle_selection(state: &mut State, before: Option<SessionId>, effects: &mut Vec<Effect>) {
    if state.selected != state.draft_owner {
        prompt::switch_draft(state);
    }
    if state.selected != before {
        state.scroll = 0;
        state.info_scroll = 0;
        state.tool_cursor = None;
        // Looked at: the mark goes here at once, as it does in the daemon once told.
        let id = state.selected;
        if let Some(s) = state.sessions.iter_mut().find(|s| Some(s.id) == id) {
            s.mark = None;
        }
    }
    if state.selected != state.told_viewing {
        // Each host's daemon keeps what this dashboard views there: the one left is
        // told that nothing is viewed on it now.
        let left = state.told_viewing.map(|id| state.host_of(id));
        if let Some(left) = left
            && left != state.selected.map_or(LOCAL_HOST, |id| state.host_of(id))
        {
            let nothing = Command::View {
                id: None,
                viewer: 0,
            };
            effects.push(Effect::RequestOn(left, nothing, Tag::Viewing));
        }
        state.told_viewing = state.selected;
        // The daemon clears its mark, and keeps it unmarked while it is on screen here.
        let id = state.selected.map(|id| id.to_string());
        effects.push(Effect::Request(
            Command::View { id, viewer: 0 },
            Tag::Viewing,
        ));
    }
    if let Some(id) = state.selected
        && !state.transcripts.contains_key(&id)
    {
        load_transcript(state, id, effects);
    }
}

/// Says something on the bottom line, and keeps it whole in the message log.
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
    state.selected = id;
    state.scroll = 0;
    state.tool_cursor = None;
    let Some(id) = id else { return };
    state.viewed(id);
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
