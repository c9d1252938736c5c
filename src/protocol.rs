//! What clients and the daemon say to each other: one JSON object per line.
//!
//! A client opens with `Hello`; then every request carries a `seq` that its reply repeats
//! as `re`. Events arrive unasked on connections that subscribed.

use crate::core::{
    Callback, Checkpoint, Chronicle, Comment, ConflictPair, FileDiff, Limits, Message, Notify,
    Page, PageQuery, Part, PermissionReply, Session, SessionId, Status, Strategy,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

mod about;
mod routing;
pub use about::{AgentInfo, DaemonStatus, LandPlan};

/// Bumped whenever a message changes shape; client and daemon must agree.
pub const PROTOCOL_VERSION: u32 = 7;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Request {
    pub seq: u64,
    #[serde(flatten)]
    pub command: Command,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Command {
    Hello {
        protocol: u32,
    },
    New(NewSession),
    List,
    Get {
        id: String,
    },
    Send {
        id: String,
        text: String,
    },
    Abort {
        id: String,
        /// Keep the queued prompts: the next one starts once the turn has ended.
        #[serde(default)]
        keep_queue: bool,
    },
    Resume {
        id: String,
    },
    Stop {
        id: String,
        cleanup: bool,
        force: bool,
    },
    Remove {
        id: String,
        cleanup: bool,
        force: bool,
    },
    /// Answers a permission request: the one named, or the one pending if there is one.
    Permission {
        id: String,
        #[serde(default)]
        request_id: Option<String>,
        reply: PermissionReply,
    },
    /// Saves a stopped session's workspace in a chronicle and removes the directory.
    /// Files git ignores cannot be saved: it refuses while there are any, unless `force`.
    Archive {
        id: String,
        #[serde(default)]
        force: bool,
    },
    /// Makes an archived session's workspace again; the session is then `stopped`.
    Restore {
        id: String,
    },
    /// The chronicles, newest first; only those of one session if given.
    Chronicles {
        session: Option<String>,
    },
    /// One chronicle with what it kept and the chronicles it came from.
    Chronicle {
        id: String,
    },
    /// A new session that starts from a chronicle's tree and context.
    Reforge(Reforge),
    /// The configured templates.
    Templates,
    /// What the Info tab shows beyond the session: children, callbacks, chronicles.
    Details {
        id: String,
    },
    /// A review comment on a line of the session's diff, kept until it is sent.
    /// More text for the running turn, where the agent can take it (Codex).
    Steer {
        id: String,
        text: String,
    },
    Comment {
        id: String,
        path: String,
        line: u32,
        text: String,
    },
    /// The session's comments; with `send`, those not sent yet go to the agent as one
    /// prompt first, queued like any prompt.
    Comments {
        id: String,
        #[serde(default)]
        send: bool,
    },
    /// The checkpoints of the session's finished turns.
    Checkpoints {
        id: String,
    },
    /// The workspace back to its tree after `turn`. Changes made since the newest
    /// checkpoint would be lost: without `force`, the reply lists them and nothing is done.
    Rollback {
        id: String,
        turn: u32,
        #[serde(default)]
        force: bool,
    },
    /// Commits everything in the workspace on its branch.
    Commit {
        id: String,
        message: Option<String>,
    },
    /// Merges the session's branch into the source repository's current branch or `into`.
    Merge {
        id: String,
        into: Option<String>,
        #[serde(default)]
        squash: bool,
    },
    /// Pushes the session's branch to a remote of the source repository.
    Push {
        id: String,
        remote: Option<String>,
    },
    /// What commit, merge and push would do now, changing nothing.
    LandPlan {
        id: String,
        into: Option<String>,
    },
    /// Every pair of live sessions (or a session and its base branch) that would conflict.
    Conflicts,
    /// The changed files with their counts, without hunks.
    Diff {
        id: String,
    },
    /// One changed file with its hunks.
    DiffFile {
        id: String,
        path: String,
    },
    /// A page of the transcript; with `follow`, also the session's events from the
    /// moment the page is read.
    Transcript {
        id: String,
        page: PageQuery,
        follow: bool,
    },
    History(HistoryQuery),
    /// The client looks at this session now (or at none): its mark is cleared, and it
    /// is not marked while looked at. The daemon fills in `viewer` with the connection.
    View {
        id: Option<String>,
        #[serde(default, skip_serializing)]
        viewer: u64,
    },
    /// Every event from now on, with a snapshot of the sessions taken at the same moment.
    Subscribe,
    DaemonStatus,
    /// The configured agents, whether each is installed, and its version.
    Agents,
    /// Completes a directory typed on the daemon's machine (`~` is its user's home).
    CompletePath {
        typed: String,
    },
    Shutdown,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewSession {
    pub dir: PathBuf,
    pub strategy: Option<Strategy>,
    pub title: Option<String>,
    pub branch: Option<String>,
    pub agent: Option<String>,
    pub model: Option<String>,
    pub prompt: Option<String>,
    /// The session to tell when this one idles or ends.
    #[serde(default)]
    pub parent: Option<String>,
    #[serde(default)]
    pub notify: Option<Notify>,
    /// Limits given by the user; the template's and the config's fill in the rest.
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub template: Option<String>,
    /// The id to give the session, when the client has already named things after it
    /// (a cluster session's pod and volume); a new one otherwise.
    #[serde(default)]
    pub id: Option<SessionId>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Reforge {
    pub chronicle: String,
    /// Another agent than the chronicle's.
    pub agent: Option<String>,
    pub model: Option<String>,
    /// What to do now; added after the earlier context.
    pub prompt: Option<String>,
    pub title: Option<String>,
}

/// A template as the daemon read it from the config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateInfo {
    pub name: String,
    pub agent: Option<String>,
    pub model: Option<String>,
    pub strategy: Option<Strategy>,
    pub branch: Option<String>,
    pub prompt: Option<String>,
    pub setup: Option<String>,
    pub limits: Limits,
    /// The names of the environment variables it sets (not their values).
    pub env: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HistoryQuery {
    pub search: Option<String>,
    pub status: Option<Status>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// At most this many sessions; 0 for all.
    pub limit: u32,
    pub offset: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ServerMsg {
    Reply { re: u64, reply: Reply },
    Error { re: u64, message: String },
    Event { event: Event },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Reply {
    Hello {
        protocol: u32,
        version: String,
        pid: u32,
    },
    Session {
        session: Session,
        /// Anything the user should know about how the request was carried out.
        note: Option<String>,
    },
    Sessions {
        sessions: Vec<Session>,
    },
    Removed {
        id: SessionId,
        note: Option<String>,
    },
    Transcript {
        session: Session,
        page: Page,
    },
    Diff {
        session: Session,
        files: Vec<FileDiff>,
    },
    /// None if the file no longer differs from the base.
    DiffFile {
        file: Option<FileDiff>,
    },
    History {
        sessions: Vec<Session>,
        total: u64,
    },
    Subscribed {
        sessions: Vec<Session>,
    },
    DaemonStatus(DaemonStatus),
    Chronicles {
        chronicles: Vec<Chronicle>,
    },
    Chronicle {
        chronicle: Chronicle,
        /// The chronicles it came from, nearest first.
        chain: Vec<Chronicle>,
        transcript: String,
        diff: String,
    },
    Templates {
        templates: Vec<TemplateInfo>,
    },
    Details {
        session: Session,
        children: Vec<Session>,
        callbacks: Vec<Callback>,
        /// The session's own chronicles, newest first.
        chronicles: Vec<Chronicle>,
        /// The chronicles its first one came from (reforge), nearest first.
        chain: Vec<Chronicle>,
    },
    Agents {
        agents: Vec<AgentInfo>,
    },
    /// The longest common completion, and the directories that match when several do.
    Completion {
        completed: String,
        options: Vec<String>,
    },
    Comments {
        comments: Vec<Comment>,
        /// How many were sent to the agent by this request.
        sent: u32,
    },
    Checkpoints {
        checkpoints: Vec<Checkpoint>,
    },
    RolledBack {
        session: Session,
        turn: u32,
        /// False when changes made since the newest checkpoint stopped it (no `force`).
        done: bool,
        /// Those changes: a status letter, a space and the path.
        unsaved: Vec<String>,
    },
    /// A commit, merge or push that was done.
    Landed {
        session: Session,
        /// One line saying what was done.
        summary: String,
        /// The commit made or moved to, if any.
        commit: Option<String>,
    },
    LandPlan(LandPlan),
    Conflicts {
        pairs: Vec<ConflictPair>,
    },
    Ok,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
// Each value is made and moved once, never held in bulk: boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum Event {
    SessionUpdated {
        session: Session,
    },
    SessionRemoved {
        id: SessionId,
    },
    /// A new message (its parts follow as `PartUpdated`).
    MessageAdded {
        session: SessionId,
        message: Message,
    },
    /// A part was created or changed; carries the whole part.
    PartUpdated {
        session: SessionId,
        part: Part,
    },
    /// Text appended to a streaming text or reasoning part. `offset` is the part's text
    /// length (in bytes) before this delta, so a client that loaded the transcript while
    /// events streamed can skip what it already has and notice what it missed.
    PartDelta {
        session: SessionId,
        message_id: String,
        part_id: String,
        offset: usize,
        text: String,
    },
    /// A checkpoint was taken after a turn.
    Checkpoint {
        session: SessionId,
        checkpoint: Checkpoint,
    },
    /// A session's review comments changed (one added, or some sent): all of them.
    Comments {
        session: SessionId,
        comments: Vec<Comment>,
    },
    /// The connection fell behind and missed events: refetch what is on screen.
    Lagged {
        missed: u64,
    },
}

impl Event {
    pub fn session(&self) -> Option<SessionId> {
        match self {
            Event::SessionUpdated { session } => Some(session.id),
            Event::SessionRemoved { id } => Some(*id),
            Event::MessageAdded { session, .. }
            | Event::PartUpdated { session, .. }
            | Event::PartDelta { session, .. }
            | Event::Checkpoint { session, .. }
            | Event::Comments { session, .. } => Some(*session),
            Event::Lagged { .. } => None,
        }
    }
}
