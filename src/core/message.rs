//! The common message model every agent backend maps its protocol onto.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Assistant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolStatus {
    Pending,
    Running,
    Completed,
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PermissionReply {
    Once,
    Always,
    Deny,
}

/// How a permission question was settled: the user's answer, or `Withdrawn` when the
/// turn ended or was aborted before anyone answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Settled {
    Once,
    Always,
    Deny,
    Withdrawn,
}

impl Settled {
    pub fn as_str(self) -> &'static str {
        match self {
            Settled::Once => "once",
            Settled::Always => "always",
            Settled::Deny => "deny",
            Settled::Withdrawn => "withdrawn",
        }
    }
}

impl From<PermissionReply> for Settled {
    fn from(reply: PermissionReply) -> Settled {
        match reply {
            PermissionReply::Once => Settled::Once,
            PermissionReply::Always => Settled::Always,
            PermissionReply::Deny => Settled::Deny,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PartKind {
    Text {
        text: String,
    },
    Reasoning {
        text: String,
    },
    /// What a command wrote to its standard error, kept apart from its output.
    Stderr {
        text: String,
    },
    Tool {
        name: String,
        input: serde_json::Value,
        status: ToolStatus,
        output: Option<String>,
    },
    Error {
        message: String,
    },
    Permission {
        request_id: String,
        tool: String,
        detail: String,
        diff: Option<String>,
        reply: Option<Settled>,
    },
}

impl PartKind {
    /// The text that streams into this part, for kinds that stream.
    pub fn streamed_text(&self) -> Option<&str> {
        match self {
            PartKind::Text { text } | PartKind::Reasoning { text } | PartKind::Stderr { text } => {
                Some(text)
            }
            _ => None,
        }
    }

    pub fn streamed_text_mut(&mut self) -> Option<&mut String> {
        match self {
            PartKind::Text { text } | PartKind::Reasoning { text } | PartKind::Stderr { text } => {
                Some(text)
            }
            _ => None,
        }
    }

    pub fn kind_name(&self) -> &'static str {
        match self {
            PartKind::Text { .. } => "text",
            PartKind::Reasoning { .. } => "reasoning",
            PartKind::Stderr { .. } => "stderr",
            PartKind::Tool { .. } => "tool",
            PartKind::Error { .. } => "error",
            PartKind::Permission { .. } => "permission",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Part {
    pub id: String,
    pub message_id: String,
    #[serde(flatten)]
    pub kind: PartKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub id: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub parts: Vec<Part>,
}
