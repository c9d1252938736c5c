//! Which session a command is about, so a client of several daemons sends it to the one
//! that has the session.

use super::Command;

impl Command {
    /// The session id the command names, if it names one.
    pub fn session(&self) -> Option<&str> {
        match self {
            Command::Get { id }
            | Command::Send { id, .. }
            | Command::Abort { id, .. }
            | Command::Resume { id }
            | Command::Stop { id, .. }
            | Command::Remove { id, .. }
            | Command::Permission { id, .. }
            | Command::Archive { id, .. }
            | Command::Restore { id }
            | Command::Details { id }
            | Command::Steer { id, .. }
            | Command::Comment { id, .. }
            | Command::Comments { id, .. }
            | Command::Checkpoints { id }
            | Command::Rollback { id, .. }
            | Command::Commit { id, .. }
            | Command::Merge { id, .. }
            | Command::Push { id, .. }
            | Command::LandPlan { id, .. }
            | Command::Diff { id }
            | Command::DiffFile { id, .. }
            | Command::Transcript { id, .. } => Some(id),
            Command::View { id, .. } | Command::Chronicles { session: id } => id.as_deref(),
            Command::New(spec) => spec.parent.as_deref(),
            Command::Hello { .. }
            | Command::List
            | Command::Chronicle { .. }
            | Command::Reforge(_)
            | Command::Templates
            | Command::Conflicts
            | Command::History(_)
            | Command::Subscribe
            | Command::DaemonStatus
            | Command::Agents
            | Command::CompletePath { .. }
            | Command::Shutdown => None,
        }
    }
}
