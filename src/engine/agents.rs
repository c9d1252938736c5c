//! What the configured agents are: their names, whether their programs are installed,
//! and the versions they report. Looking programs up and running `--version` happens
//! off the engine task.

use super::{Responder, State};
use crate::config::{AgentConfig, AgentKind};
use crate::protocol::{AgentInfo, Reply};

impl State {
    /// Looks each agent's program up, and asks those with a protocol of their own for
    /// their version, off the engine task.
    pub(super) fn agents(&mut self, reply: Responder) {
        let default = self.config.default_agent.clone();
        let agents: Vec<(String, AgentConfig)> = self
            .agent_names()
            .into_iter()
            .filter_map(|name| self.config.agents.get(&name).map(|a| (name, a.clone())))
            .collect();
        self.blocking(
            move || {
                let probe = |(name, agent)| probe(name, &agent, &default);
                agents.into_iter().map(probe).collect()
            },
            move |_, agents| {
                let _ = reply.send(Ok(Reply::Agents { agents }.into()));
            },
        );
    }

    /// The configured agents, the default first.
    pub(super) fn agent_names(&self) -> Vec<String> {
        let default = &self.config.default_agent;
        let mut names: Vec<String> = self
            .backends
            .keys()
            .filter(|n| *n != default)
            .cloned()
            .collect();
        names.sort();
        names.insert(0, default.clone());
        names
    }
}

/// What is known of agent `name`: where its program is, and its version.
fn probe(name: String, agent: &AgentConfig, default: &str) -> AgentInfo {
    let command = agent.command.first().cloned().unwrap_or_default();
    let found = crate::agent::find_binary(std::path::Path::new(&command));
    let asks_version = agent.kind != AgentKind::Command;
    let version = found
        .as_ref()
        .filter(|_| asks_version)
        .and_then(|bin| version_of(bin));
    let install = match (&found, agent.kind) {
        (Some(_), _) => None,
        (None, AgentKind::Command) => Some(format!(
            "install {command}, or set agents.{name}.command in config.toml"
        )),
        (None, kind) => Some(crate::agent::install_hint(kind).to_string()),
    };
    AgentInfo {
        install,
        default: name == default,
        kind: format!("{:?}", agent.kind).to_lowercase(),
        name,
        command,
        found,
        version,
    }
}

/// The first line `BIN --version` prints, within a few seconds.
fn version_of(bin: &std::path::Path) -> Option<String> {
    use std::process::{Command, Stdio};
    let mut child = Command::new(bin)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while child.try_wait().ok()?.is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take()?, &mut out).ok()?;
    out.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_string)
}
