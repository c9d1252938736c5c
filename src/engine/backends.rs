//! The backend of each configured agent, made once when the engine starts: the program
//! it runs and the environment it gets.

use crate::agent::claude::{self, ClaudeBackend};
use crate::agent::codex::{self, CodexBackend};
use crate::agent::opencode::{self, OpenCodeBackend};
use crate::agent::{Backend, command::CommandBackend};
use crate::config::{AgentKind, Config};
use crate::paths::Paths;
use std::collections::HashMap;
use std::sync::Arc;

pub(super) fn backends_from(config: &Config, paths: &Paths) -> HashMap<String, Arc<dyn Backend>> {
    config
        .agents
        .iter()
        .map(|(name, agent)| {
            let backend: Arc<dyn Backend> = match agent.kind {
                AgentKind::Command => Arc::new(CommandBackend {
                    name: name.clone(),
                    argv: agent.command.clone(),
                    env: agent.env.clone(),
                }),
                AgentKind::Opencode => Arc::new(OpenCodeBackend::new(
                    agent
                        .command
                        .first()
                        .map(Into::into)
                        .unwrap_or_else(|| "opencode".into()),
                    agent_env(&agent.env),
                    paths.data_dir.join("opencode").join(name),
                    opencode::Settings {
                        ask: agent.ask.clone(),
                        agent: agent.agent.clone(),
                    },
                )),
                AgentKind::Claude => Arc::new(ClaudeBackend::new(
                    binary(&agent.command, "claude"),
                    agent_env(&agent.env),
                    claude::Settings {
                        permission_mode: agent.permission_mode.clone(),
                    },
                )),
                AgentKind::CodexExec => Arc::new(CodexBackend::new(
                    binary(&agent.command, "codex"),
                    agent_env(&agent.env),
                    codex::Settings {
                        sandbox: agent.sandbox.clone(),
                        approval: agent.approval.clone(),
                    },
                )),
                AgentKind::Codex => Arc::new(codex::app::AppBackend::new(
                    binary(&agent.command, "codex"),
                    agent_env(&agent.env),
                    codex::Settings {
                        sandbox: agent.sandbox.clone(),
                        approval: agent.approval.clone(),
                    },
                )),
            };
            (name.clone(), backend)
        })
        .collect()
}

fn binary(command: &[String], default: &str) -> std::path::PathBuf {
    command
        .first()
        .map(Into::into)
        .unwrap_or_else(|| default.into())
}

/// The environment an agent server gets: what a program needs to run and to reach its
/// model provider, and the agent's own settings; none of the daemon's other variables.
pub(super) fn agent_env(
    extra: &std::collections::BTreeMap<String, String>,
) -> Vec<(String, String)> {
    const NAMES: &[&str] = &[
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "SHELL",
        "LANG",
        "TZ",
        "TMPDIR",
        "TERM",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "no_proxy",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "NODE_EXTRA_CA_CERTS",
        "IS_SANDBOX",
    ];
    let wanted = |name: &str| {
        NAMES.contains(&name)
            || [
                "LC_",
                "XDG_",
                "OPENCODE_",
                "CLAUDE_",
                "ANTHROPIC_",
                "CODEX_",
                "OPENAI_",
                "DISABLE_",
            ]
            .iter()
            .any(|p| name.starts_with(p))
            || ["_API_KEY", "_BASE_URL"].iter().any(|s| name.ends_with(s))
    };
    let mut env: Vec<(String, String)> = std::env::vars().filter(|(k, _)| wanted(k)).collect();
    env.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    env
}
