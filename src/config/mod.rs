//! The user's `config.toml`. A bad file never stops flotilla: it is reported in one line
//! and the defaults are used.

mod clusters;
mod errors;
mod hosts;
mod salvage;
mod templates;

pub use clusters::ClusterConfig;
use errors::describe;
pub use hosts::{HostConfig, LOCAL};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
pub use templates::{LimitsConfig, TemplateConfig};

/// The agent every session gets when none is named: runs each prompt with `sh -c`.
pub const DEFAULT_AGENT: &str = "shell";

/// How flotilla talks to an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentKind {
    /// Any CLI, run once per prompt from an argv template.
    #[default]
    Command,
    /// `opencode serve` over HTTP and server-sent events.
    Opencode,
    /// Claude Code's stream-json protocol over stdio, one process per session.
    Claude,
    /// `codex app-server`: JSON-RPC over stdio, one process per session, with approvals.
    Codex,
    /// `codex exec --json`, one process per turn, without approvals (the earlier backend).
    CodexExec,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    #[serde(default)]
    pub kind: AgentKind,
    /// For `command`: argv with `{prompt}`, `{session}` and `{workspace}` placeholders.
    /// For the others: the binary (and nothing else), found on PATH if not a path.
    pub command: Vec<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// OpenCode: tools that must ask before they run, e.g. ["edit", "bash"].
    #[serde(default)]
    pub ask: Vec<String>,
    /// OpenCode: the agent prompts go to ("build", "plan").
    #[serde(default)]
    pub agent: Option<String>,
    /// Claude Code: the permission mode ("default", "acceptEdits", "plan").
    #[serde(default)]
    pub permission_mode: Option<String>,
    /// Codex: the sandbox ("read-only", "workspace-write", "danger-full-access").
    #[serde(default)]
    pub sandbox: Option<String>,
    /// Codex: when to ask for approval ("never", "on-request", ...).
    #[serde(default)]
    pub approval: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default = "default_agent")]
    pub default_agent: String,
    #[serde(default)]
    pub agents: BTreeMap<String, AgentConfig>,
    /// Key overrides for the dashboard: action name to keys, e.g. `abort = ["A"]`.
    #[serde(default)]
    pub keys: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub notify: NotifyConfig,
    /// How long an idle session's agent process or server keeps running before it is
    /// stopped; the next prompt starts it again and resumes the conversation.
    #[serde(
        default = "default_idle_instance_timeout",
        deserialize_with = "duration"
    )]
    pub idle_instance_timeout: std::time::Duration,
    /// Limits every new session gets unless its template or flags say otherwise.
    #[serde(default)]
    pub limits: LimitsConfig,
    #[serde(default)]
    pub templates: BTreeMap<String, TemplateConfig>,
    /// Other machines whose daemons are reached over SSH; this one is `local`.
    #[serde(default)]
    pub hosts: BTreeMap<String, HostConfig>,
    /// Kubernetes clusters where each session runs in a pod of its own.
    #[serde(default)]
    pub clusters: BTreeMap<String, ClusterConfig>,
}

fn default_idle_instance_timeout() -> std::time::Duration {
    std::time::Duration::from_secs(600)
}

/// A duration written as people write it: "10m", "90s", "1h 30m".
fn duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<std::time::Duration, D::Error> {
    let text = String::deserialize(d)?;
    humantime::parse_duration(&text).map_err(|e| {
        serde::de::Error::custom(format!("{e}: write a duration such as `10m` or `90s`"))
    })
}

/// How the dashboard tells you a session off screen needs you.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    /// Ring the terminal bell.
    #[serde(default)]
    pub bell: bool,
    /// Send an OSC 9 desktop notification.
    #[serde(default = "yes")]
    pub osc9: bool,
}

fn yes() -> bool {
    true
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            bell: false,
            osc9: true,
        }
    }
}

fn default_agent() -> String {
    DEFAULT_AGENT.to_string()
}

impl Default for Config {
    fn default() -> Self {
        Config {
            default_agent: default_agent(),
            agents: BTreeMap::new(),
            keys: BTreeMap::new(),
            notify: NotifyConfig::default(),
            idle_instance_timeout: default_idle_instance_timeout(),
            limits: LimitsConfig::default(),
            templates: BTreeMap::new(),
            hosts: BTreeMap::new(),
            clusters: BTreeMap::new(),
        }
        .with_builtins()
    }
}

impl Config {
    /// Reads the file if there is one. The error, if any, is one line for the user.
    pub fn load(path: &Path) -> (Config, Option<String>) {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (Config::default(), None),
            Err(e) => {
                let msg = format!("cannot read {}: {e}; using the defaults", path.display());
                return (Config::default(), Some(msg));
            }
        };
        match Config::parse(&text) {
            Ok(config) => (config, None),
            Err(e) => {
                // Keep what is valid: one typo must not cost every other setting.
                let (config, ignored) = salvage::salvage(&text);
                let what = match ignored.as_slice() {
                    [] => "fix it".to_string(),
                    parts => format!("ignored {} until it is fixed", parts.join(", ")),
                };
                let msg = format!(
                    "{}: {e}; {what}, and the rest of the file is used",
                    path.display()
                );
                (config, Some(msg))
            }
        }
    }

    pub fn parse(text: &str) -> Result<Config, String> {
        let config: Config = toml::from_str(text).map_err(|e| describe(&e, text))?;
        config.checked()
    }

    /// The rules serde cannot say: what each agent's command must hold, and that the
    /// default agent exists.
    fn checked(self) -> Result<Config, String> {
        let config = self;
        for (name, agent) in &config.agents {
            if agent.command.is_empty() {
                return Err(format!("agent '{name}' has an empty command"));
            }
            if agent.kind != AgentKind::Command && agent.command.len() > 1 {
                return Err(format!(
                    "agent '{name}': command names only the binary for kind {:?}",
                    agent.kind
                ));
            }
        }
        hosts::check(&config.hosts)?;
        clusters::check(&config.clusters)?;
        let config = config.with_builtins();
        for (name, template) in &config.templates {
            if let Some(agent) = &template.agent
                && !config.agents.contains_key(agent)
            {
                return Err(format!(
                    "template '{name}' names agent '{agent}', which is not configured"
                ));
            }
        }
        if !config.agents.contains_key(&config.default_agent) {
            return Err(format!(
                "default_agent '{}' is not a configured agent",
                config.default_agent
            ));
        }
        Ok(config)
    }

    fn with_builtins(mut self) -> Self {
        let builtin = |kind, command: &[&str]| AgentConfig {
            kind,
            command: command.iter().map(|s| s.to_string()).collect(),
            env: BTreeMap::new(),
            ask: Vec::new(),
            agent: None,
            permission_mode: None,
            sandbox: None,
            approval: None,
        };
        self.agents
            .entry(DEFAULT_AGENT.to_string())
            .or_insert_with(|| builtin(AgentKind::Command, &["sh", "-c", "{prompt}"]));
        self.agents
            .entry("opencode".to_string())
            .or_insert_with(|| builtin(AgentKind::Opencode, &["opencode"]));
        self.agents
            .entry("claude".to_string())
            .or_insert_with(|| builtin(AgentKind::Claude, &["claude"]));
        self.agents
            .entry("codex".to_string())
            .or_insert_with(|| builtin(AgentKind::Codex, &["codex"]));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_the_shell_agent() {
        let config = Config::parse("").expect("empty config parses");
        assert_eq!(config.default_agent, "shell");
        assert_eq!(config.agents["shell"].command, ["sh", "-c", "{prompt}"]);
    }

    #[test]
    fn user_agents_are_added_and_may_override_shell() {
        let config = Config::parse(
            "default_agent = \"aider\"\n[agents.aider]\ncommand = [\"aider\", \"--message\", \"{prompt}\"]\n[agents.shell]\ncommand = [\"bash\", \"-c\", \"{prompt}\"]\n",
        )
        .expect("parses");
        assert_eq!(config.default_agent, "aider");
        assert_eq!(config.agents["shell"].command[0], "bash");
    }

    #[test]
    fn errors_name_the_line_and_key_but_never_a_value() {
        let secret = "sk-live-0123456789";
        for (bad, line, key) in [
            (
                format!(
                    "[agents.codex]\ncommand = [\"codex\"]\nkind = \"codex\"\nenv = {{ OPENAI_API_KEY = \"{secret}\"\n"
                ),
                4,
                "agents.codex.env",
            ),
            (
                format!("[agents.x]\ncommand = \"{secret}\"\n"),
                2,
                "agents.x.command",
            ),
            (format!("default_agent = \"{secret}\n"), 1, "default_agent"),
            (
                format!("[agents.x]\ncommand = [\"x\"]\nkind = \"{secret}\"\n"),
                3,
                "agents.x.kind",
            ),
        ] {
            let err = Config::parse(&bad).expect_err(&bad);
            assert!(!err.contains(secret), "the value leaked: {err}");
            assert!(!err.contains("sk-"), "part of the value leaked: {err}");
            assert!(err.starts_with(&format!("line {line}")), "{err}");
            assert!(err.contains(key), "{err}");
            assert!(!err.contains('\n'), "{err}");
        }
    }

    #[test]
    fn idle_instance_timeout_is_a_duration() {
        assert_eq!(
            Config::default().idle_instance_timeout,
            std::time::Duration::from_secs(600)
        );
        let config = Config::parse("idle_instance_timeout = \"90s\"").expect("parses");
        assert_eq!(config.idle_instance_timeout.as_secs(), 90);
        let err = Config::parse("idle_instance_timeout = \"soon\"").expect_err("soon");
        assert!(err.contains("line 1") && err.contains("10m"), "{err}");
    }

    #[test]
    fn bad_files_are_one_line_errors() {
        for bad in [
            "agents = 3",
            "[agents.x]\ncommand = []",
            "default_agent = \"nope\"",
            "colour = true",
        ] {
            let err = Config::parse(bad).expect_err(bad);
            assert!(!err.contains('\n'), "{err}");
        }
    }
}
