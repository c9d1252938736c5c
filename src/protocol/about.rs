//! What the daemon says about things rather than does: what landing a session would do,
//! the configured agents, the daemon itself.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// What landing a session's work would do now.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LandPlan {
    pub branch: Option<String>,
    /// Why nothing can be landed now (a turn runs, the workspace is gone), if so.
    pub busy: Option<String>,
    /// What a commit would take: a status letter, a space and the path.
    pub uncommitted: Vec<String>,
    /// The message a commit without `-m` would have.
    pub message: String,
    /// The branch a merge would go into.
    pub into: Option<String>,
    /// Commits on the session's branch that `into` lacks (before any new commit).
    pub commits: u32,
    pub fast_forward: bool,
    pub up_to_date: bool,
    /// Files a merge would conflict in.
    pub conflicts: Vec<String>,
    /// Why a merge cannot be done, other than uncommitted changes, if so.
    pub merge_blocked: Option<String>,
    /// The source repository's remotes.
    pub remotes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentInfo {
    pub name: String,
    pub kind: String,
    pub default: bool,
    /// The program it runs, as configured.
    pub command: String,
    /// Where that program was found, if it was.
    pub found: Option<PathBuf>,
    /// What `--version` printed (agents with a protocol of their own only).
    pub version: Option<String>,
    /// How to install it, when it was not found.
    #[serde(default)]
    pub install: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DaemonStatus {
    pub pid: u32,
    pub version: String,
    pub protocol: u32,
    pub socket: PathBuf,
    pub database: PathBuf,
    pub started_at: DateTime<Utc>,
    pub sessions: usize,
    pub live_sessions: usize,
    /// The configured agents, default first.
    pub agents: Vec<String>,
    pub config_error: Option<String>,
}
