//! The server's approval requests: the permission cards they become, the answers
//! written back under the server's id, and cards closed when no answer will come.

use super::{Approval, Mapper, Step, key};
use crate::agent::AgentEvent;
use crate::agent::codex::app::rpc;
use crate::agent::text;
use crate::core::{PartKind, PermissionReply, Settled};
use serde_json::{Value, json};

impl Mapper {
    pub(super) fn request(&mut self, id: Value, method: &str, p: &Value) -> Step {
        let file_change = match method {
            "item/commandExecution/requestApproval" => false,
            "item/fileChange/requestApproval" => true,
            _ => {
                let why = format!("flotilla does not answer {method}: it goes on without it");
                return Step {
                    events: Vec::new(),
                    send: vec![rpc::refuse(&id, &why)],
                };
            }
        };
        let request_id = key(&id);
        let item = text(p, "itemId");
        let (tool, detail, diff) = match file_change {
            true => {
                let changes = self.changes.get(&item).cloned().unwrap_or(json!([]));
                let (paths, diff) = patch_of(&changes);
                ("apply_patch", paths, Some(diff).filter(|d| !d.is_empty()))
            }
            false => {
                let command = p
                    .pointer("/commandActions/0/command")
                    .and_then(Value::as_str)
                    .map_or_else(|| text(p, "command"), String::from);
                ("bash", command, None)
            }
        };
        let detail = match p.get("reason").and_then(Value::as_str) {
            Some(why) if !why.is_empty() => format!("{detail} ({why})"),
            _ => detail,
        };
        let kind = PartKind::Permission {
            request_id: request_id.clone(),
            tool: tool.into(),
            detail,
            diff,
            reply: None,
        };
        let mut events = Vec::new();
        let part = self.part(&format!("perm_{request_id}"), kind, &mut events);
        let approval = Approval { rpc_id: id, part };
        self.approvals.insert(request_id, approval);
        Step {
            events,
            send: Vec::new(),
        }
    }

    /// The user's answer to approval `request_id`: the card settled, and the line that
    /// tells the server. `None` when no such question is open.
    pub fn answer(&mut self, request_id: &str, reply: PermissionReply) -> Option<Step> {
        let Approval {
            rpc_id, mut part, ..
        } = self.approvals.remove(request_id)?;
        // "decline" lets the turn go on without it; "cancel" would end the turn too.
        let decision = match reply {
            PermissionReply::Once => "accept",
            PermissionReply::Always => "acceptForSession",
            PermissionReply::Deny => "decline",
        };
        if let PartKind::Permission { reply: slot, .. } = &mut part.kind {
            *slot = Some(reply.into());
        }
        Some(Step {
            events: vec![AgentEvent::Part(part)],
            send: vec![rpc::answer(&rpc_id, json!({"decision": decision}))],
        })
    }

    /// A question that will get no answer from here any more: its card is closed.
    pub(super) fn withdraw(&mut self, request_id: &str) -> Option<AgentEvent> {
        let mut part = self.approvals.remove(request_id)?.part;
        if let PartKind::Permission { reply, .. } = &mut part.kind {
            *reply = Some(Settled::Withdrawn);
        }
        Some(AgentEvent::Part(part))
    }
}

/// The files a change touches, and its diff as a card shows it.
fn patch_of(changes: &Value) -> (String, String) {
    let mut paths = Vec::new();
    let mut diff = String::new();
    for c in changes.as_array().into_iter().flatten() {
        let path = c.get("path").and_then(Value::as_str).unwrap_or("?");
        let kind = c
            .pointer("/kind/type")
            .and_then(Value::as_str)
            .unwrap_or("update");
        paths.push(format!("{kind} {path}"));
        let body = c.get("diff").and_then(Value::as_str).unwrap_or("");
        diff.push_str(&format!("+++ {path}\n"));
        for line in body.lines() {
            let sign = if kind == "add" && !line.starts_with(['+', '-', ' ', '@']) {
                "+"
            } else {
                ""
            };
            diff.push_str(&format!("{sign}{line}\n"));
        }
    }
    (paths.join(", "), diff)
}
