//! The headless command line: every action as a subcommand, `--json` for scripts.

mod cluster;
mod daemon_cmd;
mod hosts;
mod land;
mod lifecycle;
mod log;
mod oneshot;
mod output;
mod pod_shell;
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
    /// The host whose daemon to use: a `[hosts.NAME]` of config.toml, or `local`.
    #[arg(long, global = true, env = "FLOTILLA_HOST")]
    pub host: Option<String>,
    /// The Kubernetes cluster whose sessions to use: a `[clusters.NAME]` of config.toml.
    #[arg(long, global = true, env = "FLOTILLA_CLUSTER", conflicts_with = "host")]
    pub cluster: Option<String>,
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
        /// With --cluster: the repository to clone inside the session's pod, as git
        /// takes it (an https or ssh URL the pod can reach).
        #[arg(long)]
        repo: Option<String>,
        /// How the workspace is made (default: the template's, else worktree).
        #[arg(long, value_parser = strategies())]
        strategy: Option<Strategy>,
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
        /// A template from config.toml; flags given here override it.
        #[arg(long)]
        template: Option<String>,
        /// The session to tell (with a prompt) when this one idles or ends.
        #[arg(long)]
        parent: Option<String>,
        /// When the parent is told.
        #[arg(long, value_parser = ["on-idle", "on-end"], requires = "parent")]
        notify: Option<String>,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Answer the pending permission request of a session.
    Answer {
        id: String,
        #[arg(value_parser = ["once", "always", "deny"])]
        reply: String,
        /// The request to answer, when several are pending.
        #[arg(long)]
        request: Option<String>,
    },
    /// Wait until a session reaches a status; exit 124 on timeout.
    Wait {
        id: String,
        #[arg(long = "for", default_value = "idle", value_parser = ["idle", "waiting_input", "ended"])]
        until: String,
        #[arg(long, default_value = "60s", value_parser = parse_duration)]
        timeout: std::time::Duration,
    },
    /// The templates configured in config.toml.
    Templates,
    /// Save a stopped session's workspace and remove the directory.
    Archive {
        id: String,
        /// Archive even though files git ignores (which cannot be saved) would be deleted.
        #[arg(long)]
        force: bool,
    },
    /// Make an archived session's workspace again; it is then stopped, to resume.
    Restore { id: String },
    /// What was kept of ended sessions.
    Chronicle {
        #[command(subcommand)]
        action: ChronicleCmd,
    },
    /// A new session that starts from a chronicle's files and context.
    Reforge {
        chronicle: String,
        /// Another agent than the chronicle's.
        #[arg(long)]
        agent: Option<String>,
        #[arg(long)]
        model: Option<String>,
        /// What to do now (the earlier context comes first).
        #[arg(long)]
        prompt: Option<String>,
        #[arg(long)]
        title: Option<String>,
    },
    /// Create a session, send one prompt, print the reply, and end the session.
    Run {
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        #[arg(long, value_parser = strategies())]
        strategy: Option<Strategy>,
        #[arg(long)]
        agent: Option<String>,
        #[arg(long)]
        model: Option<String>,
        #[arg(long)]
        template: Option<String>,
        /// Keep the session and its workspace afterwards.
        #[arg(long)]
        keep: bool,
        #[command(flatten)]
        limits: LimitArgs,
        prompt: String,
    },
    /// A session's details: limits and what is left, parent and children, chronicles.
    Show { id: String },
    /// List sessions.
    Ls {
        /// Every configured host's sessions, with a host column.
        #[arg(long)]
        all_hosts: bool,
    },
    /// The configured hosts: reachable or why not, daemon version, sessions.
    Hosts,
    /// Send a prompt; it is queued if the agent is busy.
    Send { id: String, text: String },
    /// Add text to the running turn (Codex); `send` queues it for the next turn instead.
    Steer { id: String, text: String },
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
    /// A review comment on a line of the session's diff, kept until it is sent.
    Comment {
        id: String,
        /// The file and the line, as the diff shows it: src/main.rs:12.
        place: String,
        text: String,
    },
    /// The session's review comments; --send sends those waiting as one prompt.
    Comments {
        id: String,
        #[arg(long)]
        send: bool,
    },
    /// The checkpoint taken after each finished turn: turn, time, files changed.
    Checkpoints { id: String },
    /// Put the workspace's files back as they were after a turn.
    Rollback {
        id: String,
        turn: u32,
        /// Lose the changes made since the newest checkpoint.
        #[arg(long)]
        force: bool,
    },
    /// Commit everything in the workspace on the session's branch.
    Commit {
        id: String,
        /// The message (default: the session's title and the files).
        #[arg(long, short)]
        message: Option<String>,
    },
    /// Merge the session's branch into the source repository's branch.
    Merge {
        id: String,
        /// The branch to merge into (default: the one checked out there).
        #[arg(long)]
        into: Option<String>,
        /// One commit holding all of the session's changes.
        #[arg(long)]
        squash: bool,
    },
    /// Push the session's branch from the source repository.
    Push {
        id: String,
        #[arg(long, default_value = "origin")]
        remote: String,
    },
    /// Pairs of open sessions (or a session and its base branch) whose changes conflict.
    Conflicts,
    /// The configured agents: installed or not, and their versions.
    Agents,
    /// With --cluster: a terminal in the session's pod (a login shell in its workspace,
    /// or the command given).
    Shell {
        id: String,
        /// What to run there with `sh -c`, after `--`.
        #[arg(last = true)]
        command: Vec<String>,
    },
    /// Run the daemon in the foreground, or manage the background one.
    #[command(args_conflicts_with_subcommands = true)]
    Daemon {
        #[command(subcommand)]
        action: Option<DaemonCmd>,
        /// Carry this machine's daemon over stdin and stdout (how another host reaches
        /// it through ssh), starting it if none runs.
        #[arg(long)]
        stdio: bool,
        /// With --stdio: wait for the daemon rather than start one (in a session's pod,
        /// the pod's own flotilla is the daemon).
        #[arg(long, requires = "stdio")]
        wait: bool,
        /// Run in the foreground as a session's pod does: clone the repository onto the
        /// volume first if it is not there.
        #[arg(long, conflicts_with = "stdio")]
        pod: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ChronicleCmd {
    /// The chronicles, newest first.
    Ls {
        /// Only those of this session.
        #[arg(long)]
        session: Option<String>,
    },
    /// One chronicle: what it kept, and the chronicles it came from.
    Show {
        id: String,
        /// Print its final diff too.
        #[arg(long)]
        diff: bool,
    },
}

/// The limits of a new session (M14); the template's and the config's fill in the rest.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct LimitArgs {
    /// End the session this long after it was created (e.g. 2h).
    #[arg(long, value_parser = parse_duration)]
    pub ttl: Option<std::time::Duration>,
    /// End the session once it has been idle this long (e.g. 30m).
    #[arg(long, value_parser = parse_duration)]
    pub idle_timeout: Option<std::time::Duration>,
    /// End the session after this many turns.
    #[arg(long)]
    pub max_turns: Option<u32>,
    /// End the session once its turns have taken this long in all (e.g. 1h).
    #[arg(long, value_parser = parse_duration)]
    pub max_duration: Option<std::time::Duration>,
    /// End the session once it has cost this many dollars (where the agent reports cost).
    #[arg(long)]
    pub max_cost: Option<f64>,
}

impl LimitArgs {
    pub fn limits(&self) -> crate::core::Limits {
        let secs = |d: Option<std::time::Duration>| d.map(|d| d.as_secs().max(1));
        crate::core::Limits {
            ttl_secs: secs(self.ttl),
            idle_timeout_secs: secs(self.idle_timeout),
            max_turns: self.max_turns,
            max_duration_secs: secs(self.max_duration),
            max_cost_usd: self.max_cost,
        }
    }
}

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(text)
        .map_err(|e| format!("'{text}' is not a duration ({e}): write one such as 90s, 30m or 2h"))
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
