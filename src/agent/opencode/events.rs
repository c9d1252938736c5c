//! OpenCode's server-sent events: parsing a frame's JSON into a loose event, and mapping
//! a session's events onto flotilla's message model. Pure: no IO.
//!
//! Fields get added between OpenCode versions, so everything is read loosely: dispatch on
//! `type`, take what is known, ignore the rest. Nothing here panics on any input.

use crate::agent::{AgentEvent, Usage};
use crate::core::{Part, PartKind, Role, Settled, ToolStatus};
use serde_json::Value;
use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone, PartialEq)]
pub enum OcEvent {
    Connected,
    Heartbeat,
    MessageUpdated {
        session: String,
        info: Value,
    },
    PartUpdated {
        session: String,
        part: Value,
    },
    PartDelta {
        session: String,
        message: String,
        part: String,
        field: String,
        delta: String,
    },
    SessionIdle {
        session: String,
    },
    SessionStatus {
        session: String,
        status: String,
    },
    SessionError {
        session: Option<String>,
        name: String,
        message: String,
    },
    PermissionAsked {
        session: String,
        props: Value,
    },
    PermissionReplied {
        session: String,
        request: String,
        reply: String,
    },
    /// A type flotilla does not use (plugin.added, file.edited, ...).
    Other(String),
}

impl OcEvent {
    /// The OpenCode session the event is about, if any.
    pub fn session(&self) -> Option<&str> {
        match self {
            OcEvent::MessageUpdated { session, .. }
            | OcEvent::PartUpdated { session, .. }
            | OcEvent::PartDelta { session, .. }
            | OcEvent::SessionIdle { session }
            | OcEvent::SessionStatus { session, .. }
            | OcEvent::PermissionAsked { session, .. }
            | OcEvent::PermissionReplied { session, .. } => Some(session),
            OcEvent::SessionError { session, .. } => session.as_deref(),
            _ => None,
        }
    }
}

use crate::agent::text;

/// Parses the data of one frame. The global stream wraps events as `{directory, payload}`.
pub fn parse(data: &str) -> Result<OcEvent, String> {
    let value: Value = serde_json::from_str(data).map_err(|e| format!("unreadable event: {e}"))?;
    let event = match value.get("payload") {
        Some(payload) if payload.is_object() => payload,
        _ => &value,
    };
    let kind = event
        .get("type")
        .and_then(Value::as_str)
        .ok_or("an event without a type")?;
    let props = event.get("properties").cloned().unwrap_or(Value::Null);
    let session = text(&props, "sessionID");
    Ok(match kind {
        "server.connected" => OcEvent::Connected,
        "server.heartbeat" => OcEvent::Heartbeat,
        "message.updated" => OcEvent::MessageUpdated {
            session,
            info: props.get("info").cloned().unwrap_or(Value::Null),
        },
        "message.part.updated" => {
            let part = props.get("part").cloned().unwrap_or(Value::Null);
            let session = if session.is_empty() {
                text(&part, "sessionID")
            } else {
                session
            };
            OcEvent::PartUpdated { session, part }
        }
        "message.part.delta" => OcEvent::PartDelta {
            session,
            message: text(&props, "messageID"),
            part: text(&props, "partID"),
            field: text(&props, "field"),
            delta: text(&props, "delta"),
        },
        "session.idle" => OcEvent::SessionIdle { session },
        "session.status" => OcEvent::SessionStatus {
            session,
            status: props
                .pointer("/status/type")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        },
        "session.error" => {
            let error = props.get("error").cloned().unwrap_or(Value::Null);
            OcEvent::SessionError {
                session: Some(session).filter(|s| !s.is_empty()),
                name: text(&error, "name"),
                message: error
                    .pointer("/data/message")
                    .and_then(Value::as_str)
                    .unwrap_or("the agent reported an error")
                    .to_string(),
            }
        }
        "permission.asked" => OcEvent::PermissionAsked { session, props },
        "permission.replied" => OcEvent::PermissionReplied {
            session,
            request: text(&props, "requestID"),
            reply: text(&props, "reply"),
        },
        other => OcEvent::Other(other.to_string()),
    })
}

/// Turns one OpenCode session's events into flotilla's, remembering what a turn needs:
/// which assistant messages were announced, the error to report, the usage so far.
#[derive(Debug, Default)]
pub struct Mapper {
    announced: HashSet<String>,
    user_messages: HashSet<String>,
    error: Option<String>,
    aborted: bool,
    usage: HashMap<String, Usage>,
    /// Permission requests by id, so a reply can update the card.
    permissions: HashMap<String, Part>,
    pub busy: bool,
}

impl Mapper {
    /// A new turn starts: what the last one left is forgotten.
    pub fn start_turn(&mut self) {
        self.error = None;
        self.aborted = false;
        self.usage.clear();
        self.busy = true;
    }

    pub fn map(&mut self, event: OcEvent) -> Vec<AgentEvent> {
        match event {
            OcEvent::MessageUpdated { info, .. } => self.message(&info),
            OcEvent::PartUpdated { part, .. } => self.part(&part),
            OcEvent::PartDelta {
                message,
                part,
                field,
                delta,
                ..
            } => {
                if field != "text" || delta.is_empty() || self.user_messages.contains(&message) {
                    return Vec::new();
                }
                vec![AgentEvent::Delta {
                    message_id: message,
                    part_id: part,
                    text: delta,
                }]
            }
            // Only `session.idle` ends a turn: the server also reports `session.status`
            // idle for the same moment, and a second end arriving after the next prompt
            // was sent would end that turn too early.
            OcEvent::SessionIdle { .. } => self.end_turn(),
            OcEvent::SessionStatus { status, .. } if status == "busy" => {
                self.busy = true;
                Vec::new()
            }
            OcEvent::SessionError { name, message, .. } => {
                if name == "MessageAbortedError" {
                    self.aborted = true;
                } else {
                    self.error = Some(if name.is_empty() {
                        message
                    } else {
                        format!("{name}: {message}")
                    });
                }
                Vec::new()
            }
            OcEvent::PermissionAsked { props, .. } => self.permission_asked(&props),
            OcEvent::PermissionReplied { request, reply, .. } => {
                let Some(mut part) = self.permissions.remove(&request) else {
                    return Vec::new();
                };
                if let PartKind::Permission { reply: slot, .. } = &mut part.kind {
                    *slot = Some(match reply.as_str() {
                        "always" => Settled::Always,
                        "once" => Settled::Once,
                        _ => Settled::Deny,
                    });
                }
                vec![AgentEvent::Part(part)]
            }
            _ => Vec::new(),
        }
    }

    /// Whether the permission request is one this mapper shows as open.
    pub fn asks(&self, request_id: &str) -> bool {
        self.permissions.contains_key(request_id)
    }

    /// Permission requests still open (after an abort they are stale).
    pub fn open_permissions(&mut self) -> Vec<Part> {
        self.permissions.drain().map(|(_, p)| p).collect()
    }

    fn message(&mut self, info: &Value) -> Vec<AgentEvent> {
        let id = text(info, "id");
        if id.is_empty() {
            return Vec::new();
        }
        if text(info, "role") != "assistant" {
            self.user_messages.insert(id);
            return Vec::new();
        }
        let tokens = info.get("tokens");
        let count = |key: &str| tokens.and_then(|t| t.get(key)).and_then(Value::as_u64);
        if tokens.is_some() || info.get("cost").is_some() {
            self.usage.insert(
                id.clone(),
                Usage {
                    tokens_in: count("input"),
                    tokens_out: count("output"),
                    cost_usd: info.get("cost").and_then(Value::as_f64),
                },
            );
        }
        if let Some(error) = info.get("error").filter(|e| e.is_object()) {
            let name = text(error, "name");
            if name == "MessageAbortedError" {
                self.aborted = true;
            } else if self.error.is_none() {
                let message = error
                    .pointer("/data/message")
                    .and_then(Value::as_str)
                    .unwrap_or(&name);
                self.error = Some(message.to_string());
            }
        }
        self.announce(&id)
    }

    fn announce(&mut self, id: &str) -> Vec<AgentEvent> {
        if id.is_empty()
            || self.user_messages.contains(id)
            || !self.announced.insert(id.to_string())
        {
            return Vec::new();
        }
        vec![AgentEvent::Message {
            id: id.to_string(),
            role: Role::Assistant,
        }]
    }

    fn part(&mut self, part: &Value) -> Vec<AgentEvent> {
        let id = text(part, "id");
        let message_id = text(part, "messageID");
        if id.is_empty() || self.user_messages.contains(&message_id) {
            return Vec::new();
        }
        let kind = match part.get("type").and_then(Value::as_str) {
            Some("text") => PartKind::Text {
                text: text(part, "text"),
            },
            Some("reasoning") => PartKind::Reasoning {
                text: text(part, "text"),
            },
            Some("tool") => {
                let state = part.get("state").cloned().unwrap_or(Value::Null);
                let status = match state.get("status").and_then(Value::as_str) {
                    Some("running") => ToolStatus::Running,
                    Some("completed") => ToolStatus::Completed,
                    Some("error") => ToolStatus::Error,
                    _ => ToolStatus::Pending,
                };
                let output = state
                    .get("output")
                    .or_else(|| state.get("error"))
                    .and_then(Value::as_str)
                    .map(str::to_string);
                PartKind::Tool {
                    name: text(part, "tool"),
                    input: state.get("input").cloned().unwrap_or(Value::Null),
                    status,
                    output,
                }
            }
            _ => return Vec::new(),
        };
        let mut out = self.announce(&message_id);
        out.push(AgentEvent::Part(Part {
            id,
            message_id,
            kind,
        }));
        out
    }

    fn permission_asked(&mut self, props: &Value) -> Vec<AgentEvent> {
        let request_id = text(props, "id");
        if request_id.is_empty() {
            return Vec::new();
        }
        let metadata = props.get("metadata").cloned().unwrap_or(Value::Null);
        let patterns: Vec<&str> = props
            .get("patterns")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let detail = [
            text(&metadata, "command"),
            text(&metadata, "filepath"),
            patterns.join(" "),
        ]
        .into_iter()
        .find(|s| !s.is_empty())
        .unwrap_or_default();
        let message_id = props
            .pointer("/tool/messageID")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let mut out = self.announce(&message_id);
        let part = Part {
            id: format!("perm_{request_id}"),
            message_id,
            kind: PartKind::Permission {
                request_id: request_id.clone(),
                tool: text(props, "permission"),
                detail,
                diff: metadata
                    .get("diff")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                reply: None,
            },
        };
        self.permissions.insert(request_id, part.clone());
        out.push(AgentEvent::Part(part));
        out
    }

    fn end_turn(&mut self) -> Vec<AgentEvent> {
        if !self.busy {
            return Vec::new();
        }
        self.busy = false;
        let usage = (!self.usage.is_empty()).then(|| {
            self.usage.values().fold(Usage::default(), |mut total, u| {
                let add = |a: Option<u64>, b: Option<u64>| match (a, b) {
                    (None, None) => None,
                    (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
                };
                total.tokens_in = add(total.tokens_in, u.tokens_in);
                total.tokens_out = add(total.tokens_out, u.tokens_out);
                total.cost_usd = match (total.cost_usd, u.cost_usd) {
                    (None, None) => None,
                    (a, b) => Some(a.unwrap_or(0.0) + b.unwrap_or(0.0)),
                };
                total
            })
        });
        let aborted = std::mem::take(&mut self.aborted);
        let error = self.error.take().filter(|_| !aborted);
        vec![AgentEvent::TurnEnded {
            error,
            aborted,
            usage,
        }]
    }
}
