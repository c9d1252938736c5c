//! What Claude says, block by block: assistant messages, their text, reasoning and tool
//! parts, streamed or whole, and the tool results that update them. Pure: no IO.
//!
//! Claude names messages with the API's message id. A text block streams first (as
//! `stream_event`s) and then arrives whole (as an `assistant` line): both land on the same
//! part, `<message>:<block index>`, so the whole text replaces the streamed one.

use crate::agent::AgentEvent;
use crate::core::{Part, PartKind, Role, ToolStatus};
use serde_json::{Value, json};
use std::collections::HashMap;

/// An assistant message as flotilla names it, with the content blocks seen so far.
#[derive(Debug)]
struct OpenMessage {
    id: String,
    api_id: String,
    /// Block index, kind ("text", "thinking", "tool_use"), and whether a whole block
    /// has claimed it.
    blocks: Vec<(u64, &'static str, bool)>,
}

#[derive(Debug, Default)]
pub struct Content {
    /// Prepended to message ids, so that an id the API repeats (a proxy, a replay) stays
    /// unique in the session.
    prefix: String,
    messages: Vec<OpenMessage>,
    uses: HashMap<String, usize>,
    /// The message streaming now, by `parent_tool_use_id` ("" for the main agent).
    streaming: HashMap<String, usize>,
    /// Tool parts by tool use id, for their results.
    tools: HashMap<String, Part>,
}

use crate::agent::text;

/// The part a content block makes, and its kind; none for blocks flotilla does not show.
fn block_part(block: &Value, tool: ToolStatus) -> Option<(&'static str, PartKind)> {
    Some(match block.get("type").and_then(Value::as_str)? {
        "text" => (
            "text",
            PartKind::Text {
                text: text(block, "text"),
            },
        ),
        "thinking" => (
            "thinking",
            PartKind::Reasoning {
                text: text(block, "thinking"),
            },
        ),
        "tool_use" => (
            "tool_use",
            PartKind::Tool {
                name: text(block, "name"),
                input: block.get("input").cloned().unwrap_or(json!({})),
                status: tool,
                output: None,
            },
        ),
        _ => return None,
    })
}

impl Content {
    pub fn new(prefix: &str) -> Self {
        Content {
            prefix: prefix.to_string(),
            ..Content::default()
        }
    }

    /// A new message begins: it gets a fresh flotilla id, announced.
    pub fn open_message(&mut self, api_id: &str) -> (usize, Vec<AgentEvent>) {
        let uses = self.uses.entry(api_id.to_string()).or_default();
        *uses += 1;
        let id = match *uses {
            1 => format!("{}{api_id}", self.prefix),
            n => format!("{}{api_id}~{n}", self.prefix),
        };
        self.messages.push(OpenMessage {
            id: id.clone(),
            api_id: api_id.to_string(),
            blocks: Vec::new(),
        });
        let announce = AgentEvent::Message {
            id,
            role: Role::Assistant,
        };
        (self.messages.len() - 1, vec![announce])
    }

    /// The message a permission question belongs to: its tool's, else the latest, else a
    /// new one named after the request.
    pub fn message_for_tool(
        &mut self,
        tool_use_id: &str,
        request_id: &str,
    ) -> (String, Vec<AgentEvent>) {
        if let Some(part) = self.tools.get(tool_use_id) {
            return (part.message_id.clone(), Vec::new());
        }
        if let Some(m) = self.messages.last() {
            return (m.id.clone(), Vec::new());
        }
        let (m, announce) = self.open_message(&format!("permission_{request_id}"));
        (self.messages[m].id.clone(), announce)
    }

    /// The message an `assistant` line belongs to: the one streaming for its agent, the
    /// latest of that API id, or a new one.
    fn message_for(&mut self, parent: &str, api_id: &str) -> (usize, Vec<AgentEvent>) {
        let streaming = self.streaming.get(parent).copied();
        if let Some(i) = streaming.filter(|i| self.messages[*i].api_id == api_id) {
            return (i, Vec::new());
        }
        match self.messages.iter().rposition(|m| m.api_id == api_id) {
            Some(i) => (i, Vec::new()),
            None => self.open_message(api_id),
        }
    }

    /// A raw API event: a message starting, a block starting, text arriving.
    pub fn stream_event(&mut self, v: &Value) -> Vec<AgentEvent> {
        let event = v.get("event").unwrap_or(&Value::Null);
        let parent = text(v, "parent_tool_use_id");
        let index = event.get("index").and_then(Value::as_u64).unwrap_or(0);
        match event.get("type").and_then(Value::as_str) {
            Some("message_start") => {
                let api_id = event.pointer("/message/id").and_then(Value::as_str);
                let Some(api_id) = api_id.filter(|id| !id.is_empty()) else {
                    return Vec::new();
                };
                let (i, out) = self.open_message(api_id);
                self.streaming.insert(parent, i);
                out
            }
            Some("content_block_start") => {
                let block = event.get("content_block").unwrap_or(&Value::Null);
                self.block_start(&parent, index, block)
            }
            Some("content_block_delta") => {
                let delta = event.get("delta").unwrap_or(&Value::Null);
                let (kind, piece) = match delta.get("type").and_then(Value::as_str) {
                    Some("text_delta") => ("text", text(delta, "text")),
                    Some("thinking_delta") => ("thinking", text(delta, "thinking")),
                    _ => return Vec::new(),
                };
                let Some(&m) = self.streaming.get(&parent) else {
                    return Vec::new();
                };
                let mut out = Vec::new();
                if !self.messages[m].blocks.iter().any(|b| b.0 == index) {
                    // The block's start was missed: the part must exist before text is
                    // appended to it.
                    out = self.block_start(&parent, index, &json!({"type": kind}));
                }
                if !piece.is_empty() {
                    let message_id = self.messages[m].id.clone();
                    out.push(AgentEvent::Delta {
                        part_id: format!("{message_id}:{index}"),
                        message_id,
                        text: piece,
                    });
                }
                out
            }
            _ => Vec::new(),
        }
    }

    fn block_start(&mut self, parent: &str, index: u64, block: &Value) -> Vec<AgentEvent> {
        let Some(&m) = self.streaming.get(parent) else {
            return Vec::new();
        };
        let Some((kind, part)) = block_part(block, ToolStatus::Pending) else {
            return Vec::new();
        };
        let msg = &mut self.messages[m];
        msg.blocks.retain(|b| b.0 != index);
        msg.blocks.push((index, kind, false));
        let part = Part {
            id: format!("{}:{index}", msg.id),
            message_id: msg.id.clone(),
            kind: part,
        };
        if kind == "tool_use" {
            self.tools.insert(text(block, "id"), part.clone());
        }
        vec![AgentEvent::Part(part)]
    }

    /// A whole content block (one per line): it replaces its streamed part.
    pub fn assistant(&mut self, v: &Value) -> Vec<AgentEvent> {
        let message = v.get("message").unwrap_or(&Value::Null);
        let api_id = text(message, "id");
        let blocks: Vec<(&Value, &'static str, PartKind)> = message
            .get("content")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|b| block_part(b, ToolStatus::Running).map(|(k, p)| (b, k, p)))
            .collect();
        if api_id.is_empty() || blocks.is_empty() {
            return Vec::new();
        }
        let (m, mut out) = self.message_for(&text(v, "parent_tool_use_id"), &api_id);
        for (block, kind, part) in blocks {
            let msg = &mut self.messages[m];
            // The first streamed block of this kind not yet whole, else a new index.
            let index = match msg.blocks.iter_mut().find(|b| b.1 == kind && !b.2) {
                Some(b) => {
                    b.2 = true;
                    b.0
                }
                None => {
                    let next = msg.blocks.iter().map(|b| b.0 + 1).max().unwrap_or(0);
                    msg.blocks.push((next, kind, true));
                    next
                }
            };
            let part = Part {
                id: format!("{}:{index}", msg.id),
                message_id: msg.id.clone(),
                kind: part,
            };
            if kind == "tool_use" {
                self.tools.insert(text(block, "id"), part.clone());
            }
            out.push(AgentEvent::Part(part));
        }
        out
    }

    /// Tool results come back as user lines: they update the tool's part.
    pub fn tool_results(&mut self, v: &Value) -> Vec<AgentEvent> {
        let content = v.pointer("/message/content").and_then(Value::as_array);
        let mut out = Vec::new();
        for block in content.into_iter().flatten() {
            if block.get("type").and_then(Value::as_str) != Some("tool_result") {
                continue;
            }
            let Some(part) = self.tools.get_mut(&text(block, "tool_use_id")) else {
                continue;
            };
            let failed = block.get("is_error").and_then(Value::as_bool) == Some(true);
            if let PartKind::Tool { status, output, .. } = &mut part.kind {
                *status = if failed {
                    ToolStatus::Error
                } else {
                    ToolStatus::Completed
                };
                *output = Some(result_text(block.get("content").unwrap_or(&Value::Null)));
            }
            out.push(AgentEvent::Part(part.clone()));
        }
        out
    }
}

/// A tool result's content: a string, or blocks whose texts are joined.
fn result_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}
