//! The lines flotilla writes to Claude Code's stdio protocol. Pure: no IO.

use serde_json::{Value, json};

/// The request id of the `initialize` request written at start: its answer means the
/// process has loaded the conversation and takes prompts.
pub const INIT_REQUEST: &str = "flotilla_init";

/// A user turn.
pub fn user(text: &str) -> String {
    json!({
        "type": "user",
        "message": {"role": "user", "content": text},
        "parent_tool_use_id": null,
        "session_id": "",
    })
    .to_string()
}

pub fn initialize() -> String {
    control_request(
        INIT_REQUEST,
        json!({"subtype": "initialize", "hooks": null}),
    )
}

pub fn interrupt(request_id: &str) -> String {
    control_request(request_id, json!({"subtype": "interrupt"}))
}

fn control_request(request_id: &str, request: Value) -> String {
    json!({"type": "control_request", "request_id": request_id, "request": request}).to_string()
}

/// The answer to a request of Claude's.
pub fn control_response(request_id: &str, response: Value) -> String {
    json!({
        "type": "control_response",
        "response": {"subtype": "success", "request_id": request_id, "response": response},
    })
    .to_string()
}

/// Tells Claude a request of its is not handled here.
pub fn control_error(request_id: &str, error: &str) -> String {
    json!({
        "type": "control_response",
        "response": {"subtype": "error", "request_id": request_id, "error": error},
    })
    .to_string()
}
