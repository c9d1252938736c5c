//! Chronicles (M15): what is kept of a session when it stops, completes or is archived,
//! so that a new session can start again from it ("reforge"). And callbacks (M13): what
//! a child session told its parent.

use super::{FileStatus, SessionId, Strategy};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chronicle {
    /// 32 hex digits; the first eight are what lists show and users type.
    pub id: String,
    pub session_id: SessionId,
    pub title: String,
    pub agent: String,
    pub model: Option<String>,
    /// Why it was kept: "stopped", "completed: max turns 1 reached", "archived".
    pub reason: String,
    pub source_repo: PathBuf,
    pub strategy: Strategy,
    pub branch: Option<String>,
    pub base_commit: String,
    /// The commit holding the workspace's exact final tree, under `refname` in the source
    /// repository. None for a directory that is not in git.
    pub tree_commit: Option<String>,
    pub refname: Option<String>,
    /// The chronicle of the session this one's session was reforged from.
    pub parent_chronicle_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub message_count: u64,
    /// The files the session changed against its base commit.
    pub files: Vec<ChronicleFile>,
}

impl Chronicle {
    pub fn short(&self) -> &str {
        &self.id[..self.id.len().min(8)]
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChronicleFile {
    pub path: String,
    pub status: FileStatus,
    pub added: u32,
    pub removed: u32,
}

/// A child's message to its parent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Callback {
    pub child: SessionId,
    pub parent: SessionId,
    /// The child's status when it was sent.
    pub status: super::Status,
    pub state: CallbackState,
    /// Why it could not be delivered.
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallbackState {
    /// Sent to the parent's agent.
    Sent,
    /// Waiting in the parent's queue while it is busy.
    Queued,
    /// The parent was gone or had ended.
    Undeliverable,
}

impl CallbackState {
    pub fn as_str(self) -> &'static str {
        match self {
            CallbackState::Sent => "sent",
            CallbackState::Queued => "queued",
            CallbackState::Undeliverable => "undeliverable",
        }
    }

    pub fn parse(text: &str) -> Option<CallbackState> {
        [Self::Sent, Self::Queued, Self::Undeliverable]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// The most of a transcript a chronicle keeps as text: its start and its end.
pub const MAX_TRANSCRIPT: usize = 4 * 1024 * 1024;

/// A transcript as plain text, for a chronicle and for the prompt of a reforge. Over
/// `max` bytes, the middle is left out and says so.
pub fn transcript_text(messages: &[super::Message], max: usize) -> String {
    use super::{PartKind, Role};
    let mut out = String::new();
    for m in messages {
        let who = match m.role {
            Role::User => "user",
            Role::Assistant => "assistant",
        };
        out.push_str(&format!("## {who}\n"));
        for p in &m.parts {
            match &p.kind {
                PartKind::Text { text } | PartKind::Stderr { text } => out.push_str(text),
                PartKind::Reasoning { text } => out.push_str(&format!("(thinking) {text}")),
                PartKind::Tool {
                    name,
                    input,
                    status,
                    output,
                } => {
                    out.push_str(&format!("[{name} {status:?}] {input}"));
                    if let Some(output) = output {
                        out.push('\n');
                        out.push_str(output);
                    }
                }
                PartKind::Error { message } => out.push_str(&format!("error: {message}")),
                PartKind::Permission {
                    tool,
                    detail,
                    reply,
                    ..
                } => {
                    let answer = reply.map_or("unanswered", |r| r.as_str());
                    out.push_str(&format!("[asked to {tool}: {detail}] {answer}"));
                }
            }
            if !out.ends_with('\n') {
                out.push('\n');
            }
        }
        out.push('\n');
    }
    shorten_middle(out, max)
}

/// `text` if it is at most `max` bytes; else its first quarter and last three quarters.
pub fn shorten_middle(text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let floor = |mut i: usize| {
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let head = floor(max / 4);
    let tail = floor(text.len() - (max - max / 4));
    let left_out = tail - head;
    format!(
        "{}\n[… {left_out} bytes left out …]\n{}",
        &text[..head],
        &text[tail..]
    )
}
