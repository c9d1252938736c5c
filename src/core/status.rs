//! Session statuses and the table of what a user may do in each. `check` is the only
//! place that decides whether an action is allowed.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, strum::VariantArray)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Workspace and instance being prepared.
    Starting,
    /// The agent is working on a prompt.
    Active,
    /// The agent asks for a permission.
    WaitingInput,
    /// Done with the last prompt, waiting for the next.
    Idle,
    /// Terminated by the user; workspace kept.
    Stopped,
    /// Ended by a limit (max turns, duration, cost, TTL, idle timeout); workspace kept.
    Completed,
    /// The instance died or became unreachable.
    Disconnected,
    /// Start failed or the agent failed.
    Error,
    /// Stopped and filed away: the workspace was saved and removed; `restore` brings it back.
    Archived,
}

impl Status {
    /// Every status, in the table's order (derived, so none is left out).
    pub const ALL: &[Status] = <Status as strum::VariantArray>::VARIANTS;

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Starting => "starting",
            Status::Active => "active",
            Status::WaitingInput => "waiting_input",
            Status::Idle => "idle",
            Status::Stopped => "stopped",
            Status::Completed => "completed",
            Status::Disconnected => "disconnected",
            Status::Error => "error",
            Status::Archived => "archived",
        }
    }

    /// A turn may be running: the agent owns the session right now.
    pub fn is_busy(self) -> bool {
        matches!(
            self,
            Status::Starting | Status::Active | Status::WaitingInput
        )
    }

    /// The session has a live agent behind it (it can take prompts now or later).
    pub fn is_live(self) -> bool {
        self.is_busy() || self == Status::Idle
    }

    /// The session has ended: nothing runs in it until it is resumed or restored.
    pub fn is_ended(self) -> bool {
        !self.is_live()
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Status::ALL
            .iter()
            .copied()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Status::ALL.iter().map(|s| s.as_str()).collect();
                format!("unknown status '{s}': use one of {}", names.join(", "))
            })
    }
}

/// What a user asks of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, strum::VariantArray)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Prompt,
    Abort,
    Resume,
    Terminate,
    Archive,
    Restore,
    /// Commit, merge or push the session's work.
    Land,
    /// Put the workspace back to a checkpoint.
    Rollback,
}

impl Action {
    pub const ALL: &[Action] = <Action as strum::VariantArray>::VARIANTS;

    fn verb(self) -> &'static str {
        match self {
            Action::Prompt => "send a prompt to",
            Action::Abort => "abort",
            Action::Resume => "resume",
            Action::Terminate => "terminate",
            Action::Archive => "archive",
            Action::Restore => "restore",
            Action::Land => "commit, merge or push the work of",
            Action::Rollback => "roll back",
        }
    }
}

/// How an allowed action is carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Do it now.
    Run,
    /// Keep the prompt until the agent is idle.
    Queue,
}

/// An action the table does not allow in the session's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot {} a session that is {status}: {}", action.verb(), hint(*action, *status))]
pub struct Refused {
    pub action: Action,
    pub status: Status,
}

fn hint(action: Action, status: Status) -> &'static str {
    match (action, status) {
        (Action::Prompt, Status::WaitingInput) => "answer its permission request first",
        (Action::Prompt | Action::Resume, Status::Archived) => {
            "restore it first with `flotilla restore`"
        }
        (Action::Prompt, _) | (Action::Abort, Status::Disconnected | Status::Error) => {
            "resume it first"
        }
        (Action::Abort, Status::Idle) => "nothing is running",
        (Action::Abort, _) => "it is not running",
        (Action::Resume, _) => "it is still live",
        (Action::Terminate, _) => "it has already ended",
        (Action::Archive, Status::Archived) => "it is archived already",
        (Action::Archive, _) => "stop it first",
        (Action::Restore, _) => "only an archived session can be restored",
        (Action::Land | Action::Rollback, Status::Archived) => {
            "restore it first with `flotilla restore`"
        }
        (Action::Land | Action::Rollback, _) => {
            "a turn is running: wait for it to end, or abort it"
        }
    }
}

/// The transition table: may `action` be taken on a session in `status`, and how.
pub fn check(status: Status, action: Action) -> Result<Verdict, Refused> {
    use Status::*;
    let verdict = match (action, status) {
        (Action::Prompt, Starting | Active) => Some(Verdict::Queue),
        (Action::Prompt, Idle) => Some(Verdict::Run),
        (Action::Abort, Starting | Active | WaitingInput) => Some(Verdict::Run),
        (Action::Resume, Stopped | Completed | Disconnected | Error) => Some(Verdict::Run),
        (Action::Archive, Stopped | Completed | Error) => Some(Verdict::Run),
        (Action::Restore, Archived) => Some(Verdict::Run),
        (Action::Land | Action::Rollback, Idle | Stopped | Completed | Disconnected | Error) => {
            Some(Verdict::Run)
        }
        (Action::Terminate, Starting | Active | WaitingInput | Idle | Disconnected | Error) => {
            Some(Verdict::Run)
        }
        _ => None,
    };
    verdict.ok_or(Refused { action, status })
}
