//! Claude Code's stream-json output mapped onto flotilla's message model. Pure: no IO.
//!
//! Fields get added between versions, so every line is read loosely: dispatch on `type`,
//! take what is known, ignore the rest. Nothing here panics on any input.

use super::content::Content;
use super::lines::{self, INIT_REQUEST};
use super::permissions::Permissions;
pub use super::step::Step;
use crate::agent::text;
use crate::agent::{AgentEvent, Usage};
use crate::core::PermissionReply;
use serde_json::Value;

/// Turns one Claude process's output into flotilla's events, remembering what a turn
/// needs: message ids, open blocks, tool parts, pending permissions.
#[derive(Debug, Default)]
pub struct Mapper {
    /// The Claude conversation id, once known.
    pub session_id: Option<String>,
    pub busy: bool,
    interrupting: bool,
    content: Content,
    permissions: Permissions,
    /// Messages Claude made up itself (API errors, say), shown only if the turn's result
    /// does not say the same.
    held: Vec<(String, Vec<AgentEvent>)>,
    cost_so_far: f64,
}

impl Mapper {
    pub fn new(prefix: &str, session_id: Option<String>) -> Self {
        Mapper {
            content: Content::new(prefix),
            session_id,
            ..Mapper::default()
        }
    }

    /// A prompt was written: its output follows.
    pub fn start_turn(&mut self) {
        self.busy = true;
        self.interrupting = false;
        self.held.clear();
    }

    /// A new process runs: its cost total starts again from zero.
    pub fn process_started(&mut self) {
        self.cost_so_far = 0.0;
    }

    /// An interrupt was asked for. Permission requests still open will not be answered:
    /// their cards are closed.
    pub fn interrupt(&mut self) -> Vec<AgentEvent> {
        self.interrupting = true;
        self.permissions.close_all()
    }

    /// Ends the turn without a result line (its process is gone).
    pub fn abandon_turn(&mut self, how: Option<String>) -> Vec<AgentEvent> {
        if !self.busy {
            return Vec::new();
        }
        let mut out = self.permissions.close_all();
        self.busy = false;
        self.held.clear();
        out.push(AgentEvent::TurnEnded {
            error: how,
            aborted: true,
            usage: None,
        });
        out
    }

    /// The user's answer to a permission request: the line for Claude and the updated card.
    pub fn answer(&mut self, request_id: &str, reply: PermissionReply) -> Option<Step> {
        self.permissions.answer(request_id, reply)
    }

    /// Maps one line of output. Anything unreadable or unknown maps to nothing.
    pub fn map_line(&mut self, line: &str) -> Step {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            if !line.trim().is_empty() {
                tracing::debug!("claude: an unreadable line: {:.200}", line);
            }
            return Step::default();
        };
        let kind = v.get("type").and_then(Value::as_str).unwrap_or("");
        let mut out = match kind {
            "control_request" | "control_response" | "control_cancel_request" => Vec::new(),
            _ => self.note_session(&v),
        };
        match kind {
            "stream_event" => out.extend(self.content.stream_event(&v)),
            "assistant" => {
                let events = self.content.assistant(&v);
                let model = v.pointer("/message/model").and_then(Value::as_str);
                if model == Some("<synthetic>") {
                    self.held.push((said(&v), events));
                } else {
                    out.extend(events);
                }
            }
            "user" => out.extend(self.content.tool_results(&v)),
            "result" => out.extend(self.result(&v)),
            "control_request" => return self.control_request(&v),
            "control_cancel_request" => {
                let id = text(&v, "request_id");
                out.extend(self.permissions.cancel(&id));
            }
            "control_response" => {
                let response = v.get("response").unwrap_or(&Value::Null);
                if text(response, "request_id") == INIT_REQUEST {
                    out.push(AgentEvent::Ready);
                }
            }
            _ => {}
        }
        out.into()
    }

    fn note_session(&mut self, v: &Value) -> Vec<AgentEvent> {
        let id = text(v, "session_id");
        if id.is_empty() || self.session_id.as_deref() == Some(id.as_str()) {
            return Vec::new();
        }
        self.session_id = Some(id.clone());
        vec![AgentEvent::AgentSessionId(id)]
    }

    fn result(&mut self, v: &Value) -> Vec<AgentEvent> {
        if !self.busy {
            return Vec::new();
        }
        let subtype = text(v, "subtype");
        let failed = v.get("is_error").and_then(Value::as_bool) == Some(true)
            || (!subtype.is_empty() && subtype != "success");
        let aborted = failed && self.interrupting;
        let error = (failed && !aborted).then(|| {
            let said = text(v, "result");
            let errors: Vec<&str> = v
                .get("errors")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            match (said.trim(), errors.join("; ")) {
                (said, _) if !said.is_empty() => said.to_string(),
                (_, errors) if !errors.is_empty() => errors,
                _ => format!("Claude Code ended the turn with {subtype}"),
            }
        });
        let mut out = Vec::new();
        for (said, events) in std::mem::take(&mut self.held) {
            if error.as_deref().is_none_or(|e| e.trim() != said.trim()) {
                out.extend(events);
            }
        }
        out.extend(self.permissions.close_all());
        let count = |key: &str| v.pointer(&format!("/usage/{key}")).and_then(Value::as_u64);
        let cost = v
            .get("total_cost_usd")
            .and_then(Value::as_f64)
            .map(|total| {
                // The total is the process's so far: this turn costs what it added.
                let turn = if total >= self.cost_so_far {
                    total - self.cost_so_far
                } else {
                    total
                };
                self.cost_so_far = total;
                turn
            });
        let usage = Usage {
            tokens_in: count("input_tokens"),
            tokens_out: count("output_tokens"),
            cost_usd: cost,
        };
        self.busy = false;
        self.interrupting = false;
        out.push(AgentEvent::TurnEnded {
            error,
            aborted,
            usage: (usage != Usage::default()).then_some(usage),
        });
        out
    }

    fn control_request(&mut self, v: &Value) -> Step {
        let request_id = text(v, "request_id");
        let request = v.get("request").unwrap_or(&Value::Null);
        let subtype = text(request, "subtype");
        if subtype != "can_use_tool" {
            return Step {
                events: Vec::new(),
                send: vec![lines::control_error(
                    &request_id,
                    &format!("flotilla does not handle {subtype} requests"),
                )],
            };
        }
        let tool_use_id = text(request, "tool_use_id");
        let (message_id, mut out) = self.content.message_for_tool(&tool_use_id, &request_id);
        let card = self.permissions.ask(&request_id, request, message_id);
        out.push(AgentEvent::Part(card));
        out.into()
    }
}

/// The text of a message's blocks.
fn said(v: &Value) -> String {
    let blocks = v.pointer("/message/content").and_then(Value::as_array);
    let texts = blocks.into_iter().flatten();
    let texts: Vec<&str> = texts.filter_map(|b| b.get("text")?.as_str()).collect();
    texts.join("\n")
}
