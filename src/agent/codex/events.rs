//! Codex's `exec --json` output: mapping one turn's lines onto flotilla's message model.
//! Pure: no IO.
//!
//! Fields get added between Codex versions, so everything is read loosely: dispatch on
//! `type`, take what is known, ignore the rest. Nothing here panics on any input.

use crate::agent::{AgentEvent, Usage};
use crate::core::{Part, PartKind, Role, ToolStatus};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The longest line kept. A longer one is dropped whole: one lost event is better than
/// holding an unbounded amount of memory for a process that never ends its line.
pub const MAX_LINE: usize = 16 << 20;

/// A thread's token counts so far. Codex reports them per thread, not per turn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub input: u64,
    pub output: u64,
}

impl Totals {
    pub fn from_usage(usage: &Value) -> Option<Totals> {
        let count = |key: &str| usage.get(key).and_then(Value::as_u64);
        let (input, output) = (count("input_tokens"), count("output_tokens"));
        (input.is_some() || output.is_some()).then(|| Totals {
            input: input.unwrap_or(0),
            output: output.unwrap_or(0),
        })
    }
}

use crate::agent::text;

/// Codex passes provider errors on as their raw body: keep just the message.
pub fn readable(message: &str) -> String {
    let inner = |json: &str| {
        let v: Value = serde_json::from_str(json).ok()?;
        ["/error/message", "/message", "/detail"]
            .iter()
            .find_map(|p| v.pointer(p).and_then(Value::as_str).map(str::to_string))
    };
    if let Some(m) = inner(message.trim()) {
        return m;
    }
    if let Some(i) = message.find(": {")
        && let Some(m) = inner(&message[i + 2..])
    {
        return format!("{}: {m}", &message[..i]);
    }
    message.trim().to_string()
}

/// Maps the lines of one `codex exec` run. All of a turn's parts go into one assistant
/// message, named by flotilla, announced with the first part.
#[derive(Debug)]
pub struct Mapper {
    message_id: String,
    announced: bool,
    thread_id: Option<String>,
    /// The thread's totals before this turn; none when unknown.
    baseline: Option<Totals>,
    total: Option<Totals>,
    /// The last `error` line; it ends the turn only if the turn does not complete.
    error: Option<String>,
    ended: bool,
    /// Tool parts still running, to close if the turn ends without them.
    running: BTreeMap<String, Part>,
}

impl Mapper {
    pub fn new(message_id: String, thread_id: Option<String>, baseline: Option<Totals>) -> Self {
        Mapper {
            message_id,
            announced: false,
            thread_id,
            baseline,
            total: None,
            error: None,
            ended: false,
            running: BTreeMap::new(),
        }
    }

    pub fn thread_id(&self) -> Option<&str> {
        self.thread_id.as_deref()
    }

    /// The thread's totals after this turn, when it completed and said.
    pub fn total(&self) -> Option<Totals> {
        self.total
    }

    pub fn ended(&self) -> bool {
        self.ended
    }

    /// One line of stdout. Anything unreadable or unknown maps to nothing.
    pub fn line(&mut self, line: &str) -> Vec<AgentEvent> {
        let line = line.trim();
        if line.is_empty() || self.ended {
            return Vec::new();
        }
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            return Vec::new();
        };
        match v.get("type").and_then(Value::as_str).unwrap_or("") {
            "thread.started" => {
                let id = text(&v, "thread_id");
                if id.is_empty() || self.thread_id.as_deref() == Some(id.as_str()) {
                    return Vec::new();
                }
                self.thread_id = Some(id.clone());
                vec![AgentEvent::AgentSessionId(id)]
            }
            kind @ ("item.started" | "item.updated" | "item.completed") => {
                let item = v.get("item").unwrap_or(&Value::Null);
                self.item(item, kind == "item.completed")
            }
            "turn.completed" => {
                self.total = v.get("usage").and_then(Totals::from_usage);
                let usage = match (self.total, self.baseline) {
                    (Some(total), Some(base)) => Some(Usage {
                        tokens_in: Some(total.input.saturating_sub(base.input)),
                        tokens_out: Some(total.output.saturating_sub(base.output)),
                        cost_usd: None,
                    }),
                    _ => None,
                };
                self.end(None, false, usage)
            }
            "turn.failed" => {
                let message = v
                    .pointer("/error/message")
                    .and_then(Value::as_str)
                    .map(readable)
                    .or_else(|| self.error.take())
                    .unwrap_or_else(|| "the turn failed".to_string());
                self.end(Some(message), false, None)
            }
            "error" => {
                let message = text(&v, "message");
                if !message.is_empty() {
                    self.error = Some(readable(&message));
                }
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// The process exited. Ends the turn unless a line already did: `failure` describes a
    /// bad exit, `aborted` says flotilla interrupted it.
    /// The end of the run. An aborted one's `failure` says how it was stopped, when
    /// that took more than asking.
    pub fn finish(&mut self, aborted: bool, failure: Option<String>) -> Vec<AgentEvent> {
        if aborted {
            return self.end(failure, true, None);
        }
        let error = self.error.take().or(failure);
        self.end(error, false, None)
    }

    fn end(
        &mut self,
        error: Option<String>,
        aborted: bool,
        usage: Option<Usage>,
    ) -> Vec<AgentEvent> {
        if self.ended {
            return Vec::new();
        }
        self.ended = true;
        let mut out: Vec<AgentEvent> = std::mem::take(&mut self.running)
            .into_values()
            .map(|mut part| {
                if let PartKind::Tool { status, .. } = &mut part.kind {
                    *status = ToolStatus::Error;
                }
                AgentEvent::Part(part)
            })
            .collect();
        out.push(AgentEvent::TurnEnded {
            error,
            aborted,
            usage,
        });
        out
    }

    fn item(&mut self, item: &Value, completed: bool) -> Vec<AgentEvent> {
        let item_id = text(item, "id");
        if item_id.is_empty() {
            return Vec::new();
        }
        let Some(kind) = part_kind(item, completed) else {
            return Vec::new();
        };
        let part = Part {
            // Codex numbers items afresh in every run: the turn's message makes them unique.
            id: format!("{}-{item_id}", self.message_id),
            message_id: self.message_id.clone(),
            kind,
        };
        match &part.kind {
            PartKind::Tool {
                status: ToolStatus::Running | ToolStatus::Pending,
                ..
            } => {
                self.running.insert(part.id.clone(), part.clone());
            }
            _ => {
                self.running.remove(&part.id);
            }
        }
        let mut out = Vec::new();
        if !std::mem::replace(&mut self.announced, true) {
            out.push(AgentEvent::Message {
                id: self.message_id.clone(),
                role: Role::Assistant,
            });
        }
        out.push(AgentEvent::Part(part));
        out
    }
}

fn status(item: &Value, completed: bool) -> ToolStatus {
    match item.get("status").and_then(Value::as_str) {
        Some("in_progress") => ToolStatus::Running,
        Some("completed") => ToolStatus::Completed,
        Some("failed" | "declined") => ToolStatus::Error,
        _ if completed => ToolStatus::Completed,
        _ => ToolStatus::Running,
    }
}

fn tool(name: impl Into<String>, input: Value, status: ToolStatus, output: String) -> PartKind {
    PartKind::Tool {
        name: name.into(),
        input,
        status,
        output: (!output.is_empty()).then_some(output),
    }
}

fn part_kind(item: &Value, completed: bool) -> Option<PartKind> {
    let kind = match item.get("type").and_then(Value::as_str)? {
        "agent_message" => PartKind::Text {
            text: text(item, "text"),
        },
        "reasoning" => PartKind::Reasoning {
            text: text(item, "text"),
        },
        "command_execution" => {
            let mut output = text(item, "aggregated_output");
            if let Some(code) = item.get("exit_code").and_then(Value::as_i64) {
                if !output.is_empty() && !output.ends_with('\n') {
                    output.push('\n');
                }
                output.push_str(&format!("exit code {code}"));
            }
            let input = json!({"command": text(item, "command")});
            tool("shell", input, status(item, completed), output)
        }
        "file_change" => {
            let changes = item.get("changes").cloned().unwrap_or(json!([]));
            let list: Vec<(String, String)> = changes
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| (text(c, "kind"), text(c, "path")))
                .collect();
            let paths: Vec<&str> = list.iter().map(|(_, p)| p.as_str()).collect();
            let input = json!({"path": paths.join(", "), "changes": changes});
            let output: Vec<String> = list.iter().map(|(k, p)| format!("{k} {p}")).collect();
            tool(
                "apply_patch",
                input,
                status(item, completed),
                output.join("\n"),
            )
        }
        "mcp_tool_call" => {
            let name = format!("{}.{}", text(item, "server"), text(item, "tool"));
            let input = item.get("arguments").cloned().unwrap_or(Value::Null);
            let output = match item.pointer("/error/message").and_then(Value::as_str) {
                Some(error) => error.to_string(),
                None => item
                    .pointer("/result/content")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|c| c.get("text").and_then(Value::as_str))
                    .collect::<Vec<_>>()
                    .join("\n"),
            };
            tool(name, input, status(item, completed), output)
        }
        "web_search" => {
            let input = json!({"query": text(item, "query")});
            tool("web_search", input, status(item, completed), String::new())
        }
        "todo_list" => {
            let items = item.get("items").cloned().unwrap_or(json!([]));
            let output: Vec<String> = items
                .as_array()
                .into_iter()
                .flatten()
                .map(|i| {
                    let done = i.get("completed").and_then(Value::as_bool) == Some(true);
                    format!("[{}] {}", if done { "x" } else { " " }, text(i, "text"))
                })
                .collect();
            let input = json!({"items": items});
            tool("todo", input, ToolStatus::Completed, output.join("\n"))
        }
        "error" => PartKind::Error {
            message: readable(&text(item, "message")),
        },
        _ => return None,
    };
    Some(kind)
}
