//! The `command` backend: any CLI, run once per prompt from an argv template.
//!
//! `{prompt}`, `{session}` and `{workspace}` in the argv are replaced; the process runs in
//! the workspace with stdin at /dev/null, in a process group of its own, and its stdout
//! and stderr stream into the transcript, standard error in parts of its own.
//! Exit 0 ends the turn; anything else is an error turn.

mod output;
mod turn;

use super::{AgentError, Backend, Driver, DriverCmd, EventTx, Launch};
use std::collections::BTreeMap;
use tokio::sync::mpsc;

#[derive(Debug, Clone)]
pub struct CommandBackend {
    pub name: String,
    pub argv: Vec<String>,
    pub env: BTreeMap<String, String>,
}

impl CommandBackend {
    /// Fills the placeholders in one pass, so text a value brings in (a prompt that
    /// mentions `{workspace}`, say) is never expanded again.
    fn expand(&self, prompt: &str, launch: &Launch) -> Vec<String> {
        let workspace = launch.workspace.to_string_lossy();
        let session = launch.session.to_string();
        let values = [
            ("{prompt}", prompt),
            ("{session}", session.as_str()),
            ("{workspace}", workspace.as_ref()),
        ];
        self.argv
            .iter()
            .map(|arg| {
                let mut out = String::with_capacity(arg.len());
                let mut rest = arg.as_str();
                'scan: while !rest.is_empty() {
                    for (key, value) in values {
                        if let Some(after) = rest.strip_prefix(key) {
                            out.push_str(value);
                            rest = after;
                            continue 'scan;
                        }
                    }
                    let mut chars = rest.chars();
                    out.extend(chars.next());
                    rest = chars.as_str();
                }
                out
            })
            .collect()
    }
}

impl Backend for CommandBackend {
    fn check(&self) -> Result<(), AgentError> {
        let Some(program) = self.argv.first() else {
            return Err(AgentError::Unavailable(format!(
                "agent '{}' has an empty command: set agents.{}.command in config.toml",
                self.name, self.name
            )));
        };
        // A program named through a placeholder is known only at the prompt.
        if program.contains('{') || super::find_binary(std::path::Path::new(program)).is_some() {
            return Ok(());
        }
        Err(AgentError::Unavailable(format!(
            "cannot find `{program}` for agent '{}': install it or fix agents.{}.command in config.toml",
            self.name, self.name
        )))
    }

    fn open(&self, launch: Launch, events: EventTx) -> Result<Driver, AgentError> {
        if self.argv.is_empty() {
            return Err(AgentError::Unavailable(format!(
                "agent '{}' has an empty command: set agents.{}.command in config.toml",
                self.name, self.name
            )));
        }
        let backend = self.clone();
        Ok(Driver::spawn(|rx| drive(backend, launch, events, rx)))
    }
}

/// The session's driver: one run of the command per turn.
async fn drive(
    backend: CommandBackend,
    launch: Launch,
    events: EventTx,
    rx: mpsc::UnboundedReceiver<DriverCmd>,
) {
    super::process::drive_turns(rx, |prompt: String| {
        let argv = backend.expand(&prompt, &launch);
        std::future::ready(turn::start(argv, &backend.env, &launch, events.clone()))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::SessionId;

    #[test]
    fn placeholders_are_filled_once() {
        let backend = CommandBackend {
            name: "x".into(),
            argv: vec!["run".into(), "{prompt}".into(), "--in={workspace}".into()],
            env: BTreeMap::new(),
        };
        let launch = Launch {
            session: SessionId::new(),
            workspace: "/w".into(),
            agent_session_id: None,
            model: None,
            groups: crate::process_groups::Registry::none(),
            env: Vec::new(),
        };
        let argv = backend.expand("look in {workspace} for {session}", &launch);
        assert_eq!(
            argv,
            ["run", "look in {workspace} for {session}", "--in=/w"]
        );
    }
}
