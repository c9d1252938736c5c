//! What the parser tests over captures read from a mapper's events, shared by every
//! agent's tests.

use crate::agent::AgentEvent;
use crate::core::{Part, PartKind, ToolStatus};
use serde_json::Value;

/// Every part the events carry, in order.
pub fn parts(events: &[AgentEvent]) -> Vec<&Part> {
    let parts = events.iter().filter_map(|e| match e {
        AgentEvent::Part(p) => Some(p),
        _ => None,
    });
    parts.collect()
}

/// The states tool parts went through: name, input, status, output.
pub fn tool(events: &[AgentEvent]) -> Vec<(String, Value, ToolStatus, Option<String>)> {
    let tools = parts(events).into_iter().filter_map(|p| match &p.kind {
        PartKind::Tool {
            name,
            input,
            status,
            output,
        } => Some((name.clone(), input.clone(), *status, output.clone())),
        _ => None,
    });
    tools.collect()
}
