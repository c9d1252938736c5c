//! The `claude` backend: one long-lived Claude Code process per active session, spoken to
//! in stream-json over its stdin and stdout.
//!
//! The first start names the conversation after the flotilla session (`--session-id`);
//! later starts continue it (`--resume=ID`). Prompts are written to stdin as user lines,
//! permission questions arrive as control requests and are answered on stdin, and an
//! abort is an `interrupt` control request, escalated to signals if it goes unanswered.

mod content;
mod driver;
pub mod events;
pub mod lines;
mod permissions;
mod step;

use super::{AgentError, Backend, Driver, EventTx, Launch};
use std::path::PathBuf;
use std::sync::Arc;

/// How to get Claude Code, for messages about a missing binary.
pub(crate) const INSTALL: &str = "install Claude Code with `npm install -g @anthropic-ai/claude-code` or set agents.claude.command in config.toml";

/// What the configuration says about Claude Code sessions.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// `--permission-mode` ("default", "acceptEdits", "plan", "bypassPermissions"); none
    /// follows Claude's own default.
    pub permission_mode: Option<String>,
}

/// What every session's driver needs to start its process.
#[derive(Debug)]
struct Setup {
    binary: PathBuf,
    env: Vec<(String, String)>,
    settings: Settings,
}

pub struct ClaudeBackend {
    setup: Arc<Setup>,
}

impl ClaudeBackend {
    pub fn new(binary: PathBuf, env: Vec<(String, String)>, settings: Settings) -> Self {
        ClaudeBackend {
            setup: Arc::new(Setup {
                binary,
                env,
                settings,
            }),
        }
    }
}

impl Backend for ClaudeBackend {
    fn check(&self) -> Result<(), AgentError> {
        match super::find_binary(&self.setup.binary) {
            Some(_) => Ok(()),
            None => Err(AgentError::Unavailable(format!(
                "cannot find {}: {INSTALL}",
                self.setup.binary.display()
            ))),
        }
    }

    fn open(&self, launch: Launch, events: EventTx) -> Result<Driver, AgentError> {
        let Some(binary) = super::find_binary(&self.setup.binary) else {
            return Err(AgentError::Unavailable(format!(
                "cannot find {}: {INSTALL}",
                self.setup.binary.display()
            )));
        };
        let setup = Arc::new(Setup {
            binary,
            env: self.setup.env.clone(),
            settings: self.setup.settings.clone(),
        });
        Ok(Driver::spawn(|rx| driver::drive(setup, launch, events, rx)))
    }

    /// The process is started at once; it is ready when it has answered `initialize`
    /// (a conversation that cannot be resumed fails before that).
    fn starts_ready(&self) -> bool {
        false
    }
}

/// The command line of a session's process: a new conversation named after the session,
/// or `resume` continued. The model and permission mode are not kept across a resume, so
/// they are passed on every start.
pub fn args(settings: &Settings, launch: &Launch, resume: Option<&str>) -> Vec<String> {
    let mut argv: Vec<String> = [
        "-p",
        "--input-format",
        "stream-json",
        "--output-format",
        "stream-json",
        "--verbose",
        "--permission-prompt-tool",
        "stdio",
        "--include-partial-messages",
    ]
    .map(String::from)
    .into();
    match resume {
        Some(id) => argv.push(format!("--resume={id}")),
        None => argv.extend(["--session-id".into(), launch.session.to_string()]),
    }
    if let Some(model) = launch.model.as_deref().filter(|m| !m.is_empty()) {
        argv.extend(["--model".into(), model.to_string()]);
    }
    if let Some(mode) = settings
        .permission_mode
        .as_deref()
        .filter(|m| !m.is_empty())
    {
        argv.extend(["--permission-mode".into(), mode.to_string()]);
    }
    argv
}

#[cfg(test)]
mod tests;
