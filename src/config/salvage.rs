//! What is left of a config file that does not load whole: every setting and every agent
//! that is valid on its own, and the names of those that are not. One typo in one agent
//! must not take every other agent (and the sessions that use them) with it.

use super::Config;
use super::errors::{one_line, redact};

/// The valid parts of `text` as a config, and what was left out (each with why).
pub(super) fn salvage(text: &str) -> (Config, Vec<String>) {
    let Ok(table) = text.parse::<toml::Table>() else {
        // Not TOML at all: no part can be told from another.
        return (Config::default(), vec!["the whole file".into()]);
    };
    let mut good = toml::Table::new();
    let mut ignored = Vec::new();
    // Agents whose section was left out. A built-in one must not come back with its
    // defaults: the user's settings (tools that ask, a read-only sandbox) would be lost.
    let mut dropped = Vec::new();
    for (key, value) in table {
        match (key.as_str(), value) {
            ("agents", toml::Value::Table(agents)) => {
                let mut kept = toml::Table::new();
                for (name, agent) in agents {
                    let mut alone = toml::Table::new();
                    alone.insert(name.clone(), agent.clone());
                    let mut one = toml::Table::new();
                    one.insert("agents".into(), toml::Value::Table(alone));
                    match load(one) {
                        Ok(_) => {
                            kept.insert(name, agent);
                        }
                        Err(why) => {
                            ignored.push(format!("agents.{name} ({why})"));
                            dropped.push(name);
                        }
                    }
                }
                good.insert(key, toml::Value::Table(kept));
            }
            // Whether the default agent is valid depends on the agents kept: see below.
            ("default_agent", value) => {
                good.insert(key, value);
            }
            (_, value) => {
                let mut alone = toml::Table::new();
                alone.insert(key.clone(), value.clone());
                match load(alone) {
                    Ok(_) => {
                        good.insert(key, value);
                    }
                    Err(why) => ignored.push(format!("{key} ({why})")),
                }
            }
        }
    }
    let mut config = match load(good.clone()) {
        Ok(config) => config,
        Err(why) => {
            // The parts are valid alone but not together: the default agent names one
            // that was left out.
            good.remove("default_agent");
            ignored.push(format!("default_agent ({why})"));
            load(good).unwrap_or_default()
        }
    };
    for name in dropped {
        if name != config.default_agent {
            config.agents.remove(&name);
        }
    }
    (config, ignored)
}

fn load(table: toml::Table) -> Result<Config, String> {
    toml::Value::Table(table)
        .try_into::<Config>()
        .map_err(|e| redact(&one_line(e.message())))
        .and_then(Config::checked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_agent_costs_only_itself() {
        let text = r#"
default_agent = "aider"
idle_instance_timeout = "90s"
[agents.aider]
command = ["aider", "--message", "{prompt}"]
[agents.broken]
kind = "claude"
comand = ["claude"]
"#;
        assert!(Config::parse(text).is_err());
        let (config, ignored) = salvage(text);
        assert_eq!(config.default_agent, "aider");
        assert_eq!(config.idle_instance_timeout.as_secs(), 90);
        assert!(config.agents.contains_key("aider"));
        assert!(!config.agents.contains_key("broken"));
        assert_eq!(ignored.len(), 1, "{ignored:?}");
        assert!(ignored[0].starts_with("agents.broken"), "{ignored:?}");
    }

    #[test]
    fn a_default_agent_that_was_left_out_falls_back() {
        let text = "default_agent = \"x\"\n[agents.x]\ncommand = []\n";
        let (config, ignored) = salvage(text);
        assert_eq!(config.default_agent, "shell");
        assert!(
            ignored.iter().any(|i| i.starts_with("agents.x")),
            "{ignored:?}"
        );
        assert!(
            ignored.iter().any(|i| i.starts_with("default_agent")),
            "{ignored:?}"
        );
    }

    #[test]
    fn a_broken_built_in_agent_is_left_out_not_reset() {
        let text = "[agents.opencode]\nkind = \"opencode\"\ncommand = [\"opencode\"]\nask = [\"bash\"]\ntypo = 1\n";
        let (config, ignored) = salvage(text);
        assert!(
            !config.agents.contains_key("opencode"),
            "not back with its defaults"
        );
        assert!(config.agents.contains_key("claude"));
        assert_eq!(ignored.len(), 1, "{ignored:?}");
    }

    #[test]
    fn values_never_show_in_what_was_ignored() {
        let text = "[agents.x]\ncommand = [\"x\"]\nkind = \"sk-secret-1\"\nnotify = 3\n";
        let (_, ignored) = salvage(text);
        let all = ignored.join(" ");
        assert!(!all.contains("sk-secret"), "{all}");
        assert!(all.contains("agents.x"), "{all}");
    }
}
