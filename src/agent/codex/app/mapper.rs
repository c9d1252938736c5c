//! What `codex app-server` says during a turn, mapped onto flotilla's message model:
//! streamed text and reasoning as deltas, commands and file changes as tool parts,
//! approval requests as permission cards (and their answers back), the turn's end with
//! what it used. Pure: lines in, events and lines to write out.
//!
//! Read loosely, as the schema grows between versions: dispatch on the method and the
//! item's `type`, take what is known, ignore the rest.

mod approvals;

use super::rpc::Incoming;
use crate::agent::codex::events::{Totals, readable};
use crate::agent::{AgentEvent, Usage, text};
use crate::core::{Part, PartKind, Role, ToolStatus};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The most output kept of one command; what came before is cut.
const MAX_OUTPUT: usize = 64 * 1024;

/// What one line comes to: events for the engine, lines to write to the server.
#[derive(Debug, Default, PartialEq)]
pub struct Step {
    pub events: Vec<AgentEvent>,
    pub send: Vec<String>,
}

#[derive(Debug)]
struct Approval {
    /// The server's id for its request, answered with it.
    rpc_id: Value,
    part: Part,
}

/// One app-server thread, across its turns.
#[derive(Debug, Default)]
pub struct Mapper {
    thread_id: Option<String>,
    turn_id: Option<String>,
    /// flotilla's assistant message for the running turn, once announced.
    message_id: Option<String>,
    announced: bool,
    /// The tokens of the turn's model calls so far: each `thread/tokenUsage/updated`
    /// names the thread's total and its last call, and the calls of a turn add up to the
    /// turn's use, whatever the process knew of the thread before.
    used: Option<Totals>,
    /// Tool parts of the turn still running, by item id.
    tools: BTreeMap<String, Part>,
    /// Reasoning parts already made (their deltas may come before their item).
    reasoning: std::collections::BTreeSet<String>,
    /// File changes by item id, for the diff on their approval card.
    changes: BTreeMap<String, Value>,
    approvals: BTreeMap<String, Approval>,
    /// The last `error` notification of the turn: it explains a failed turn.
    error: Option<String>,
    rate_limits: Option<Value>,
}

impl Mapper {
    pub fn new(thread_id: Option<String>) -> Mapper {
        Mapper {
            thread_id,
            ..Mapper::default()
        }
    }

    pub fn thread_id(&self) -> Option<&str> {
        self.thread_id.as_deref()
    }

    /// The running turn's id, once the server said it started.
    pub fn turn_id(&self) -> Option<&str> {
        self.turn_id.as_deref()
    }

    /// What the last `account/rateLimits/updated` said.
    pub fn rate_limits(&self) -> Option<&Value> {
        self.rate_limits.as_ref()
    }

    /// A turn is about to start; its parts go into message `message_id`.
    pub fn begin_turn(&mut self, message_id: String) {
        self.message_id = Some(message_id);
        self.announced = false;
        self.turn_id = None;
        self.error = None;
        self.used = None;
    }

    /// The thread the server started or resumed (`thread/start`'s answer).
    pub fn thread_started(&mut self, result: &Value) -> Vec<AgentEvent> {
        let id = result.pointer("/thread/id").and_then(Value::as_str);
        match id {
            Some(id) if self.thread_id.as_deref() != Some(id) => {
                self.thread_id = Some(id.to_string());
                vec![AgentEvent::AgentSessionId(id.to_string())]
            }
            _ => Vec::new(),
        }
    }

    /// A request or notification from the server (responses are the caller's).
    pub fn incoming(&mut self, msg: Incoming) -> Step {
        match msg {
            Incoming::Notification { method, params } => Step {
                events: self.notification(&method, &params),
                send: Vec::new(),
            },
            Incoming::Request { id, method, params } => self.request(id, &method, &params),
            Incoming::Response { .. } => Step::default(),
        }
    }

    fn notification(&mut self, method: &str, p: &Value) -> Vec<AgentEvent> {
        match method {
            "turn/started" => {
                self.turn_id = p
                    .pointer("/turn/id")
                    .and_then(Value::as_str)
                    .map(String::from);
                Vec::new()
            }
            "item/started" | "item/completed" => {
                let item = p.get("item").unwrap_or(&Value::Null);
                self.item(item, method == "item/completed")
            }
            "item/agentMessage/delta" => self.delta(p, false),
            "item/reasoning/textDelta" | "item/reasoning/summaryTextDelta" => self.delta(p, true),
            "item/commandExecution/outputDelta" => self.output(p),
            "thread/tokenUsage/updated" => {
                let last = p.pointer("/tokenUsage/last").unwrap_or(&Value::Null);
                let count = |k: &str| last.get(k).and_then(Value::as_u64);
                if let (Some(input), Some(output)) = (count("inputTokens"), count("outputTokens")) {
                    let used = self.used.get_or_insert_with(Totals::default);
                    used.input += input;
                    used.output += output;
                }
                Vec::new()
            }
            "account/rateLimits/updated" => {
                self.rate_limits = p.get("rateLimits").cloned();
                let said = self.rate_limits.as_ref().and_then(limits_line);
                said.map(AgentEvent::RateLimits).into_iter().collect()
            }
            "error" => {
                let message = p.pointer("/error/message").and_then(Value::as_str);
                self.error = message.map(readable).or(self.error.take());
                Vec::new()
            }
            "serverRequest/resolved" => {
                let id = p.get("requestId").map(key).unwrap_or_default();
                self.withdraw(&id).into_iter().collect()
            }
            "turn/completed" => self.turn_completed(p.get("turn").unwrap_or(&Value::Null)),
            _ => Vec::new(),
        }
    }

    fn announce(&mut self, events: &mut Vec<AgentEvent>) -> String {
        let id = self
            .message_id
            .get_or_insert_with(|| "codex_turn".into())
            .clone();
        if !std::mem::replace(&mut self.announced, true) {
            events.push(AgentEvent::Message {
                id: id.clone(),
                role: Role::Assistant,
            });
        }
        id
    }

    fn part(&mut self, id: &str, kind: PartKind, events: &mut Vec<AgentEvent>) -> Part {
        let message_id = self.announce(events);
        let part = Part {
            id: id.to_string(),
            message_id,
            kind,
        };
        events.push(AgentEvent::Part(part.clone()));
        part
    }

    fn item(&mut self, item: &Value, done: bool) -> Vec<AgentEvent> {
        let mut events = Vec::new();
        let id = text(item, "id");
        if id.is_empty() {
            return events;
        }
        let kind = match item.get("type").and_then(Value::as_str).unwrap_or("") {
            "agentMessage" => PartKind::Text {
                text: text(item, "text"),
            },
            "reasoning" => {
                self.reasoning.insert(id.clone());
                PartKind::Reasoning {
                    text: reasoning_text(item),
                }
            }
            "commandExecution" => {
                let command = item
                    .pointer("/commandActions/0/command")
                    .and_then(Value::as_str)
                    .map_or_else(|| text(item, "command"), String::from);
                let held = self.tools.get(&id).and_then(|p| match &p.kind {
                    PartKind::Tool { output, .. } => output.clone(),
                    _ => None,
                });
                let output = item
                    .get("aggregatedOutput")
                    .and_then(Value::as_str)
                    .map(String::from)
                    .or(held);
                PartKind::Tool {
                    name: "bash".into(),
                    input: json!({"command": command}),
                    status: tool_status(item, done),
                    output,
                }
            }
            "fileChange" => {
                let changes = item.get("changes").cloned().unwrap_or(json!([]));
                self.changes.insert(id.clone(), changes.clone());
                let files: Vec<Value> = (changes.as_array().into_iter().flatten())
                    .map(|c| json!({"path": c["path"], "kind": c.pointer("/kind/type")}))
                    .collect();
                PartKind::Tool {
                    name: "apply_patch".into(),
                    input: json!({"changes": files}),
                    status: tool_status(item, done),
                    output: None,
                }
            }
            // The prompt is the engine's to record; anything else is not shown.
            _ => return events,
        };
        let tool = matches!(kind, PartKind::Tool { .. });
        let part = self.part(&id, kind, &mut events);
        match (tool, done) {
            (true, false) => {
                self.tools.insert(id, part);
            }
            (true, true) => {
                self.tools.remove(&id);
            }
            _ => {}
        }
        events
    }

    fn delta(&mut self, p: &Value, reasoning: bool) -> Vec<AgentEvent> {
        let (part_id, delta) = (text(p, "itemId"), text(p, "delta"));
        if part_id.is_empty() || delta.is_empty() {
            return Vec::new();
        }
        let mut events = Vec::new();
        let message_id = self.announce(&mut events);
        if reasoning && self.reasoning.insert(part_id.clone()) {
            // Reasoning may stream before (or without) its item/started.
            let kind = PartKind::Reasoning {
                text: String::new(),
            };
            self.part(&part_id, kind, &mut events);
        }
        events.push(AgentEvent::Delta {
            message_id,
            part_id,
            text: delta,
        });
        events
    }

    /// A command's output as it comes: kept (its tail, bounded) for its part.
    fn output(&mut self, p: &Value) -> Vec<AgentEvent> {
        let (id, delta) = (text(p, "itemId"), text(p, "delta"));
        let Some(part) = self.tools.get_mut(&id) else {
            return Vec::new();
        };
        if let PartKind::Tool { output, .. } = &mut part.kind {
            let out = output.get_or_insert_with(String::new);
            out.push_str(&delta);
            if out.len() > MAX_OUTPUT {
                let mut cut = out.len() - MAX_OUTPUT;
                while !out.is_char_boundary(cut) {
                    cut += 1;
                }
                out.drain(..cut);
            }
        }
        vec![AgentEvent::Part(part.clone())]
    }

    fn turn_completed(&mut self, turn: &Value) -> Vec<AgentEvent> {
        let mut events: Vec<AgentEvent> = Vec::new();
        let open: Vec<String> = self.approvals.keys().cloned().collect();
        events.extend(open.iter().filter_map(|id| self.withdraw(id)));
        let status = turn.get("status").and_then(Value::as_str).unwrap_or("");
        let failed = status == "failed";
        for (_, mut part) in std::mem::take(&mut self.tools) {
            if let PartKind::Tool { status, .. } = &mut part.kind {
                *status = ToolStatus::Error;
                events.push(AgentEvent::Part(part));
            }
        }
        let error = match failed {
            true => Some(
                turn.pointer("/error/message")
                    .and_then(Value::as_str)
                    .map(readable)
                    .or(self.error.take())
                    .unwrap_or_else(|| "the turn failed and Codex did not say why".into()),
            ),
            false => None,
        };
        let usage = self.used.take().map(|t| Usage {
            tokens_in: Some(t.input),
            tokens_out: Some(t.output),
            cost_usd: None,
        });
        self.turn_id = None;
        self.reasoning.clear();
        self.changes.clear();
        events.push(AgentEvent::TurnEnded {
            error,
            aborted: status == "interrupted",
            usage,
        });
        events
    }
}

/// A JSON-RPC id as a map key: a number's digits, a string as it is.
fn key(id: &Value) -> String {
    match id {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn tool_status(item: &Value, done: bool) -> ToolStatus {
    match (item.get("status").and_then(Value::as_str), done) {
        (Some("completed"), _) => ToolStatus::Completed,
        (Some("failed" | "declined"), _) => ToolStatus::Error,
        (_, true) => ToolStatus::Completed,
        (_, false) => ToolStatus::Running,
    }
}

fn reasoning_text(item: &Value) -> String {
    let pieces = |key: &str| -> Vec<String> {
        (item
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten())
        .filter_map(|v| v.as_str().map(String::from))
        .collect()
    };
    let content = pieces("content");
    match content.is_empty() {
        true => pieces("summary").join("\n"),
        false => content.join("\n"),
    }
}

/// The rate limits as one line: each window's use and when it resets, the plan, whether
/// a limit was reached; `None` when the server said nothing of them.
pub fn limits_line(limits: &Value) -> Option<String> {
    let mut said = Vec::new();
    for (key, name) in [("primary", "primary"), ("secondary", "secondary")] {
        let Some(window) = limits.get(key).filter(|w| w.is_object()) else {
            continue;
        };
        let used = window
            .get("usedPercent")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let mut piece = format!("{name} {used}% used");
        if let Some(mins) = window.get("windowDurationMins").and_then(Value::as_i64) {
            piece.push_str(&format!(" of {}", window_name(mins)));
        }
        if let Some(at) = window.get("resetsAt").and_then(Value::as_i64)
            && let Some(at) = chrono::DateTime::from_timestamp(at, 0)
        {
            piece.push_str(&format!(", resets {}", at.format("%Y-%m-%d %H:%M UTC")));
        }
        said.push(piece);
    }
    if let Some(reached) = limits.get("rateLimitReachedType").and_then(Value::as_str) {
        said.push(format!("limit reached ({reached})"));
    }
    if let Some(plan) = limits.get("planType").and_then(Value::as_str) {
        said.push(format!("plan {plan}"));
    }
    (!said.is_empty()).then(|| crate::core::sanitize(&said.join(" · ")))
}

fn window_name(mins: i64) -> String {
    match mins {
        m if m % 1440 == 0 => format!("{}d", m / 1440),
        m if m % 60 == 0 => format!("{}h", m / 60),
        m => format!("{m}m"),
    }
}
