//! The headless command line: every action as a subcommand, `--json` for scripts.

mod log;
mod output;
mod render;
mod run;

use crate::core::Strategy;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

pub use run::run;

#[derive(Debug, Parser)]
#[command(
    name = "flotilla",
    version,
    about = "Run many AI coding-agent sessions at once"
)]
pub struct Cli {
    /// Print JSON on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Run the engine inside this process instead of the background daemon.
    #[arg(long, global = true)]
    pub no_daemon: bool,
    #[command(subcommand)]
    pub command: Option<Cmd>,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Create a session; prints its id.
    New {
        /// The repository or directory to work in.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        #[arg(long, default_value_t = Strategy::Worktree, value_parser = strategies())]
        strategy: Strategy,
        #[arg(long)]
        title: Option<String>,
        /// Branch for worktree and clone (default: derived from the title).
        #[arg(long)]
        branch: Option<String>,
        /// A configured agent (default: `shell`).
        #[arg(long)]
        agent: Option<String>,
        #[arg(long)]
        model: Option<String>,
        /// The first prompt.
        #[arg(long)]
        prompt: Option<String>,
    },
    /// List sessions.
    Ls,
    /// Send a prompt; it is queued if the agent is busy.
    Send { id: String, text: String },
    /// Print the transcript.
    Log {
        id: String,
        /// Keep printing new output as it comes.
        #[arg(long, short)]
        follow: bool,
    },
    /// Stop the running turn; the session goes idle. Queued prompts are dropped.
    Abort {
        id: String,
        /// Keep the queued prompts: the next one starts once the turn has ended.
        #[arg(long)]
        keep_queue: bool,
    },
    /// Bring back a stopped, completed, disconnected or failed session.
    Resume { id: String },
    /// Terminate a session; its workspace is kept unless --cleanup.
    Stop {
        id: String,
        /// Remove the worktree or clone (the branch is kept).
        #[arg(long)]
        cleanup: bool,
        /// Clean up even with uncommitted changes.
        #[arg(long, requires = "cleanup")]
        force: bool,
    },
    /// Delete a session and its transcript for good.
    Rm {
        id: String,
        #[arg(long)]
        cleanup: bool,
        #[arg(long, requires = "cleanup")]
        force: bool,
    },
    /// The changes against the workspace's base commit.
    Diff {
        id: String,
        /// Only file names and counts.
        #[arg(long)]
        stat: bool,
    },
    /// Search past sessions.
    History {
        #[arg(long)]
        search: Option<String>,
        #[arg(long)]
        status: Option<crate::core::Status>,
        /// Created on or after this date (YYYY-MM-DD or RFC 3339).
        #[arg(long, value_parser = parse_date)]
        since: Option<chrono::DateTime<chrono::Utc>>,
        /// Created before this date.
        #[arg(long, value_parser = parse_date)]
        until: Option<chrono::DateTime<chrono::Utc>>,
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[arg(long, default_value_t = 0)]
        offset: u32,
    },
    /// The configured agents: installed or not, and their versions.
    Agents,
    /// Run the daemon in the foreground, or manage the background one.
    Daemon {
        #[command(subcommand)]
        action: Option<DaemonCmd>,
    },
}

#[derive(Debug, Subcommand)]
pub enum DaemonCmd {
    /// Is a daemon running, and what does it hold.
    Status,
    /// Stop the daemon; running turns are ended and can be resumed later.
    Stop,
}

fn parse_date(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
        .map_err(|_| format!("'{text}' is not a date: use YYYY-MM-DD or RFC 3339"))
}

/// `--strategy`: the names clap lists in `--help` and checks, parsed by core's `FromStr`.
fn strategies() -> impl clap::builder::TypedValueParser<Value = Strategy> {
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
    let values = Strategy::ALL.map(|s| PossibleValue::new(s.as_str()).help(s.meaning()));
    PossibleValuesParser::new(values).map(|name| {
        name.parse::<Strategy>()
            .expect("a possible value is a strategy")
    })
}
