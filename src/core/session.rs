//! The session record as clients see it.

use super::{Limits, Notify, Status};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SessionId(pub uuid::Uuid);

impl SessionId {
    pub fn new() -> Self {
        SessionId(uuid::Uuid::new_v4())
    }

    /// The first eight hex digits: what lists show and what users type.
    pub fn short(&self) -> String {
        self.0.simple().to_string()[..8].to_string()
    }
}

impl Default for SessionId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for SessionId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        uuid::Uuid::parse_str(s).map(SessionId)
    }
}

/// How a workspace is made from the source repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// The directory as it is; several sessions may share it.
    Existing,
    /// `git worktree add` on a new branch.
    Worktree,
    /// A full, independent `git clone`.
    Clone,
}

impl Strategy {
    pub const ALL: [Strategy; 3] = [Strategy::Existing, Strategy::Worktree, Strategy::Clone];

    /// What the strategy makes, for help texts.
    pub fn meaning(self) -> &'static str {
        match self {
            Strategy::Existing => "The directory as it is; several sessions may share it",
            Strategy::Worktree => "`git worktree add` on a new branch",
            Strategy::Clone => "A full, independent `git clone`",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Existing => "existing",
            Strategy::Worktree => "worktree",
            Strategy::Clone => "clone",
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Strategy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "existing" => Ok(Strategy::Existing),
            "worktree" => Ok(Strategy::Worktree),
            "clone" => Ok(Strategy::Clone),
            _ => Err(format!(
                "unknown strategy '{s}': use existing, worktree or clone"
            )),
        }
    }
}

/// The directory a session's agent works in, and where it came from. The git work of
/// making and removing one is in `workspace`; this is the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workspace {
    /// Absolute, canonical path of the directory the agent works in.
    pub path: PathBuf,
    /// Canonical top level of the source repository.
    pub source_repo: PathBuf,
    pub strategy: Strategy,
    /// None for an existing directory on a detached HEAD.
    pub branch: Option<String>,
    /// Full sha of the commit the workspace started from; empty for a plain directory.
    pub base_commit: String,
}

impl Workspace {
    /// Whether it is in git: a plain directory used as it is has no base commit.
    pub fn is_git(&self) -> bool {
        !self.base_commit.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub id: SessionId,
    pub title: String,
    pub status: Status,
    /// Why the session is in its status, when that needs saying (an error, a limit).
    pub status_reason: Option<String>,
    pub agent: String,
    pub model: Option<String>,
    pub strategy: Strategy,
    /// Absolute path of the directory the agent works in.
    pub workspace: PathBuf,
    /// The repository the workspace was made from.
    pub source_repo: PathBuf,
    pub branch: Option<String>,
    pub base_commit: String,
    /// The agent's own conversation id, used to resume it.
    pub agent_session_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_activity_at: DateTime<Utc>,
    pub message_count: u64,
    /// Prompts waiting for the agent to become idle.
    pub queued_prompts: u32,
    pub tokens_in: Option<u64>,
    pub tokens_out: Option<u64>,
    pub cost_usd: Option<f64>,
    /// Whether the session's agent process or server runs now. An idle session's agent is
    /// started when it is needed and stopped after `idle_instance_timeout`.
    #[serde(default)]
    pub agent_running: bool,
    /// What happened that no one has looked at yet, kept by the daemon for every client.
    #[serde(default)]
    pub mark: Option<Mark>,
    /// The session that started this one; it is told when this one idles or ends.
    #[serde(default)]
    pub parent: Option<SessionId>,
    #[serde(default)]
    pub notify: Option<Notify>,
    #[serde(default)]
    pub limits: Limits,
    /// Turns finished.
    #[serde(default)]
    pub turns: u32,
    /// Milliseconds of finished turns, added up.
    #[serde(default)]
    pub turn_ms: u64,
    /// The template it was made from.
    #[serde(default)]
    pub template: Option<String>,
    /// The chronicle it was reforged from.
    #[serde(default)]
    pub reforged_from: Option<String>,
    /// Other live sessions (and the base branch) its changes would conflict with, as the
    /// daemon last checked; worked out again at every start, never stored.
    #[serde(default)]
    pub conflicts: Vec<super::Conflict>,
    /// What the agent last said of its account's rate limits, in one line (Codex);
    /// kept while the daemon runs, never stored.
    #[serde(default)]
    pub rate_limits: Option<String>,
}

/// Why a session's row is marked until someone looks at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mark {
    /// New output arrived.
    Unread,
    /// It finished a turn, asks for an answer, or lost its agent.
    Attention,
    /// Its last turn or the session itself failed.
    Failed,
}

impl Mark {
    pub fn as_str(self) -> &'static str {
        match self {
            Mark::Unread => "unread",
            Mark::Attention => "attention",
            Mark::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Mark> {
        [Mark::Unread, Mark::Attention, Mark::Failed]
            .into_iter()
            .find(|m| m.as_str() == text)
    }
}

/// An age to the minute, for a screen that redraws it: "now" under a minute, then as
/// [`age`]. Its text changes at most once a minute.
pub fn coarse_age(since: DateTime<Utc>, now: DateTime<Utc>) -> String {
    match (now - since).num_seconds() {
        s if s < 60 => "now".to_string(),
        _ => age(since, now),
    }
}

/// When the text [`coarse_age`] gives for `since` next changes, after `now`.
pub fn coarse_age_changes(since: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
    let secs = (now - since).num_seconds().max(0);
    let unit = match secs {
        s if s < 3600 => 60,
        s if s < 86_400 => 3600,
        _ => 86_400,
    };
    since + chrono::Duration::seconds((secs / unit + 1) * unit)
}

/// How long ago, in one short unit: "5s", "3m", "2h", "4d".
pub fn age(since: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - since).num_seconds().max(0);
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    #[test]
    fn a_coarse_age_changes_when_its_text_does() {
        let t = Utc.with_ymd_and_hms(2025, 3, 14, 9, 0, 0).unwrap();
        for secs in [0, 1, 59, 60, 61, 3599, 3600, 7300, 86_399, 86_400, 200_000] {
            let now = t + Duration::seconds(secs);
            let next = coarse_age_changes(t, now);
            assert!(next > now, "{secs}");
            let text = coarse_age(t, now);
            assert_eq!(coarse_age(t, next - Duration::seconds(1)), text, "{secs}");
            assert_ne!(coarse_age(t, next), text, "{secs}");
        }
        assert_eq!(coarse_age(t, t + Duration::seconds(30)), "now");
        assert_eq!(coarse_age(t, t + Duration::seconds(90)), "1m");
    }
}
