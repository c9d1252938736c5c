//! `[limits]` defaults and `[templates.NAME]` blueprints (M14, M17).

use crate::core::{Limits, Strategy};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// Limits as written in the file: durations as people write them ("2h", "30m").
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    #[serde(default, deserialize_with = "opt_duration")]
    pub ttl: Option<Duration>,
    #[serde(default, deserialize_with = "opt_duration")]
    pub idle_timeout: Option<Duration>,
    #[serde(default)]
    pub max_turns: Option<u32>,
    #[serde(default, deserialize_with = "opt_duration")]
    pub max_duration: Option<Duration>,
    #[serde(default)]
    pub max_cost: Option<f64>,
}

impl LimitsConfig {
    pub fn limits(&self) -> Limits {
        Limits {
            ttl_secs: self.ttl.map(|d| d.as_secs().max(1)),
            idle_timeout_secs: self.idle_timeout.map(|d| d.as_secs().max(1)),
            max_turns: self.max_turns,
            max_duration_secs: self.max_duration.map(|d| d.as_secs().max(1)),
            max_cost_usd: self.max_cost,
        }
    }
}

/// A named blueprint for new sessions; flags given on the command line win. The limit
/// keys repeat those of [`LimitsConfig`]: serde cannot flatten a table into one that
/// denies unknown keys, and a typo in a template must be an error.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateConfig {
    #[serde(default)]
    pub agent: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub strategy: Option<Strategy>,
    /// A branch name pattern: `{title}` is replaced by the title, made a branch name.
    #[serde(default)]
    pub branch: Option<String>,
    /// Environment for the session's agent.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// The first prompt.
    #[serde(default)]
    pub prompt: Option<String>,
    /// A shell command run in a new workspace before the first prompt.
    #[serde(default)]
    pub setup: Option<String>,
    #[serde(default, deserialize_with = "opt_duration")]
    pub ttl: Option<Duration>,
    #[serde(default, deserialize_with = "opt_duration")]
    pub idle_timeout: Option<Duration>,
    #[serde(default)]
    pub max_turns: Option<u32>,
    #[serde(default, deserialize_with = "opt_duration")]
    pub max_duration: Option<Duration>,
    #[serde(default)]
    pub max_cost: Option<f64>,
}

impl TemplateConfig {
    pub fn limits(&self) -> Limits {
        LimitsConfig {
            ttl: self.ttl,
            idle_timeout: self.idle_timeout,
            max_turns: self.max_turns,
            max_duration: self.max_duration,
            max_cost: self.max_cost,
        }
        .limits()
    }

    /// The branch for a session titled `title`, from the pattern.
    pub fn branch_for(&self, title: &str) -> Option<String> {
        let pattern = self.branch.as_deref()?;
        let slug = crate::core::branch_from_title(title);
        // The title's part alone, without the default prefix it is given.
        let slug = slug.rsplit('/').next().unwrap_or(&slug).to_string();
        Some(pattern.replace("{title}", &slug))
    }
}

fn opt_duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let text = String::deserialize(d)?;
    humantime::parse_duration(&text).map(Some).map_err(|e| {
        serde::de::Error::custom(format!("{e}: write a duration such as `30m` or `2h`"))
    })
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn templates_and_limits_are_read() {
        let config = Config::parse(
            "[limits]\nidle_timeout = \"30m\"\nmax_turns = 10\n\n[templates.fix]\nagent = \"shell\"\nstrategy = \"clone\"\nbranch = \"feat/{title}\"\nprompt = \"fix it\"\nsetup = \"npm ci\"\nmax_cost = 5.0\nttl = \"2h\"\n[templates.fix.env]\nA = \"1\"\n",
        )
        .expect("parses");
        assert_eq!(config.limits.limits().idle_timeout_secs, Some(1800));
        let fix = &config.templates["fix"];
        assert_eq!(fix.limits().ttl_secs, Some(7200));
        assert_eq!(fix.limits().max_cost_usd, Some(5.0));
        assert_eq!(fix.env["A"], "1");
        assert_eq!(
            fix.branch_for("Login is broken").as_deref(),
            Some("feat/login-is-broken")
        );
        for bad in [
            "[templates.x]\nagnet = \"shell\"",
            "[limits]\nttl = \"soon\"",
            "[templates.x]\nagent = \"nope\"",
        ] {
            let err = Config::parse(bad).expect_err(bad);
            assert!(!err.contains('\n'), "{err}");
        }
    }
}
