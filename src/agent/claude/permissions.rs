//! Claude's permission questions (`can_use_tool` control requests): the cards flotilla
//! shows for them and the answers written back. Pure: no IO.

use super::lines;
use super::step::Step;
use crate::agent::AgentEvent;
use crate::core::{Part, PartKind, PermissionReply, Settled};
use serde_json::{Value, json};
use std::collections::HashMap;

#[derive(Debug)]
struct Open {
    part: Part,
    input: Value,
    suggestions: Option<Value>,
}

/// The questions not answered yet, by request id.
#[derive(Debug, Default)]
pub struct Permissions {
    open: HashMap<String, Open>,
}

impl Permissions {
    /// A question arrived: its card, in message `message_id`.
    pub fn ask(&mut self, request_id: &str, request: &Value, message_id: String) -> Part {
        let input = request.get("input").cloned().unwrap_or(json!({}));
        let part = Part {
            id: format!("perm_{request_id}"),
            message_id,
            kind: PartKind::Permission {
                request_id: request_id.to_string(),
                tool: request
                    .get("tool_name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                detail: detail(&input),
                diff: None,
                reply: None,
            },
        };
        let suggestions = request
            .get("permission_suggestions")
            .filter(|s| s.as_array().is_some_and(|a| !a.is_empty()))
            .cloned();
        let open = Open {
            part: part.clone(),
            input,
            suggestions,
        };
        self.open.insert(request_id.to_string(), open);
        part
    }

    /// The user's answer: the line for Claude (allowing the tool's input as it was asked
    /// for; "always" also takes Claude's suggested rule) and the answered card.
    pub fn answer(&mut self, request_id: &str, reply: PermissionReply) -> Option<Step> {
        let Open {
            mut part,
            input,
            suggestions,
        } = self.open.remove(request_id)?;
        let response = match (reply, suggestions) {
            (PermissionReply::Deny, _) => {
                json!({"behavior": "deny", "message": "denied by the user"})
            }
            (PermissionReply::Always, Some(rules)) => {
                json!({"behavior": "allow", "updatedInput": input, "updatedPermissions": rules})
            }
            _ => json!({"behavior": "allow", "updatedInput": input}),
        };
        if let PartKind::Permission { reply: slot, .. } = &mut part.kind {
            *slot = Some(reply.into());
        }
        Some(Step {
            events: vec![AgentEvent::Part(part)],
            send: vec![lines::control_response(request_id, response)],
        })
    }

    /// Claude withdrew the question.
    pub fn cancel(&mut self, request_id: &str) -> Option<AgentEvent> {
        self.open.remove(request_id).map(|o| closed(o.part))
    }

    /// Questions that will get no answer any more (the turn ended or was interrupted):
    /// their cards are closed.
    pub fn close_all(&mut self) -> Vec<AgentEvent> {
        let mut open: Vec<Open> = self.open.drain().map(|(_, o)| o).collect();
        open.sort_by(|a, b| a.part.id.cmp(&b.part.id));
        open.into_iter().map(|o| closed(o.part)).collect()
    }
}

fn closed(mut part: Part) -> AgentEvent {
    if let PartKind::Permission { reply, .. } = &mut part.kind {
        *reply = Some(Settled::Withdrawn);
    }
    AgentEvent::Part(part)
}

/// What a card says the tool wants: the command, the file, or a short summary.
pub fn detail(input: &Value) -> String {
    const KEYS: &[&str] = &[
        "command",
        "file_path",
        "notebook_path",
        "path",
        "url",
        "pattern",
        "query",
        "description",
    ];
    if let Some(found) = KEYS
        .iter()
        .filter_map(|k| input.get(*k).and_then(Value::as_str))
        .find(|s| !s.is_empty())
    {
        return found.to_string();
    }
    let summary = input.to_string();
    match summary.char_indices().nth(120) {
        Some((at, _)) => format!("{}…", &summary[..at]),
        None => summary,
    }
}
