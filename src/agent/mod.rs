//! Agent backends turn each agent's own protocol into the common message model.
//!
//! The engine opens a [`Driver`] per live session and talks to it only through commands;
//! the backend reports back with [`AgentEvent`]s on a channel. The engine never waits on
//! a backend, and a backend never touches the store.

#[cfg(test)]
mod captured;
pub mod claude;
pub mod codex;
pub mod command;
pub mod opencode;
pub(crate) mod piped;
pub(crate) mod process;
mod utf8;

use crate::core::{Part, PermissionReply, Role, SessionId};
use crate::process_groups::Registry;
use std::path::PathBuf;
use tokio::sync::mpsc;

pub use utf8::Utf8Decoder;

/// Everything a backend needs to drive one session.
#[derive(Debug, Clone)]
pub struct Launch {
    pub session: SessionId,
    pub workspace: PathBuf,
    /// The agent's own conversation id, when resuming one.
    pub agent_session_id: Option<String>,
    pub model: Option<String>,
    /// Where the processes the backend starts for this session are recorded.
    pub groups: Registry,
    /// Set for the session's agent beside its own environment: the session's id
    /// (`FLOTILLA_SESSION_ID`, so an agent can start children of its own) and a
    /// template's variables.
    pub env: Vec<(String, String)>,
}

impl Launch {
    /// The variables every agent process of the session gets.
    pub fn session_env(&self) -> impl Iterator<Item = (String, String)> + '_ {
        let id = self.session.to_string();
        [
            ("FLOTILLA_SESSION".to_string(), id.clone()),
            ("FLOTILLA_SESSION_ID".to_string(), id),
        ]
        .into_iter()
        .chain(self.env.iter().cloned())
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Usage {
    pub tokens_in: Option<u64>,
    pub tokens_out: Option<u64>,
    pub cost_usd: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AgentEvent {
    /// A new message begins; its parts follow.
    Message { id: String, role: Role },
    /// A part was created or changed; replaces any earlier version whole.
    Part(Part),
    /// A part as the agent holds it when re-syncing after a (re)connect. It may add a part
    /// or update one, but never shortens or blanks text already saved: the agent may hold
    /// less of a part than was streamed from it (a server killed mid-stream keeps none).
    Synced(Part),
    /// Text appended to a streaming part.
    Delta {
        message_id: String,
        part_id: String,
        text: String,
    },
    /// The turn is over. `error` makes it an error turn; the session takes prompts again.
    /// An `aborted` turn's `error` says how it was stopped, when asking was not enough.
    TurnEnded {
        error: Option<String>,
        aborted: bool,
        usage: Option<Usage>,
    },
    /// The agent is running a turn this daemon did not start: one that went on across a
    /// daemon restart. The session is `active` until that turn's `TurnEnded`.
    Busy,
    /// The agent named its own conversation id (for resume).
    AgentSessionId(String),
    /// The account's rate limits, as one line to show (Codex).
    RateLimits(String),
    /// A backend that does not start ready (see [`Backend::starts_ready`]) can now take
    /// prompts.
    Ready,
    /// The agent cannot run at all: the session goes to `error`.
    Failed(String),
    /// The agent's process or server went away: the session goes to `disconnected`.
    Lost(String),
}

pub type EventTx = mpsc::Sender<(SessionId, AgentEvent)>;

#[derive(Debug, Clone, PartialEq)]
pub enum DriverCmd {
    Prompt(String),
    /// More text for the running turn, for a backend that [`Backend::steers`].
    Steer(String),
    Abort,
    Permission {
        request_id: String,
        reply: PermissionReply,
    },
    /// End the running turn, if any, and let go of the agent.
    Stop,
    /// The daemon is going away: let go, but leave servers running to be found again.
    Detach,
}

/// The engine's handle on one live session. Dropping it stops the session's driver.
#[derive(Debug)]
pub struct Driver {
    tx: mpsc::UnboundedSender<DriverCmd>,
    task: tokio::task::JoinHandle<()>,
}

impl Driver {
    /// Runs `drive` as the session's driver task, fed the engine's commands.
    pub fn spawn<Fut>(drive: impl FnOnce(mpsc::UnboundedReceiver<DriverCmd>) -> Fut) -> Self
    where
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(drive(rx));
        Driver { tx, task }
    }

    /// Hands a command to the driver. A driver that has already exited has nothing to do.
    pub fn send(&self, cmd: DriverCmd) {
        let _ = self.tx.send(cmd);
    }

    /// Ends the running turn and lets go of the agent; resolves once that is done.
    pub fn stop(self) -> impl std::future::Future<Output = ()> + Send + 'static {
        self.finish(DriverCmd::Stop)
    }

    /// Lets go for a daemon shutdown: servers keep running, to be reattached.
    pub fn detach(self) -> impl std::future::Future<Output = ()> + Send + 'static {
        self.finish(DriverCmd::Detach)
    }

    fn finish(self, cmd: DriverCmd) -> impl std::future::Future<Output = ()> + Send + 'static {
        let _ = self.tx.send(cmd);
        async move {
            let _ = self.task.await;
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("{0}")]
    Unavailable(String),
}

pub trait Backend: Send + Sync {
    /// Starts driving a session. Fails only when the agent cannot be used at all.
    fn open(&self, launch: Launch, events: EventTx) -> Result<Driver, AgentError>;

    /// Whether the agent can be run at all (its binary is there), checked before a new
    /// session makes anything.
    fn check(&self) -> Result<(), AgentError> {
        Ok(())
    }

    /// At start-up, before any session is opened: lets go of what an earlier daemon left
    /// running for this agent, except in `busy`, the directories where a turn was running.
    fn tidy(&self, busy: &[PathBuf]) {
        let _ = busy;
    }

    /// Whether a freshly opened session takes prompts at once. A backend that must start
    /// a server or a process first says no, and sends [`AgentEvent::Ready`] when it can.
    fn starts_ready(&self) -> bool {
        true
    }

    /// Whether text can be added to a running turn ([`DriverCmd::Steer`]).
    fn steers(&self) -> bool {
        false
    }
}

/// The executable `program` names: a path as it is, or a name looked up on PATH.
pub fn find_binary(program: &std::path::Path) -> Option<PathBuf> {
    which::which(program).ok()
}

/// The string at `key` of a JSON object an agent sent, or "" when it is missing or not a
/// string: agents' output is read loosely.
pub fn text(v: &serde_json::Value, key: &str) -> String {
    v.get(key)
        .and_then(serde_json::Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// A fresh id for messages and parts that flotilla names itself.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

/// How to install the CLI an agent kind runs.
pub fn install_hint(kind: crate::config::AgentKind) -> &'static str {
    match kind {
        crate::config::AgentKind::Opencode => opencode::INSTALL,
        crate::config::AgentKind::Claude => claude::INSTALL,
        crate::config::AgentKind::Codex | crate::config::AgentKind::CodexExec => codex::INSTALL,
        crate::config::AgentKind::Command => "install the program it runs",
    }
}
