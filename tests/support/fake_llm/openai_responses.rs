//! OpenAI Responses API fake (used by Codex).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use serde_json::{Value, json};

use super::{FakeServer, Frame, Reply, Shared, json_response, sse_response, unknown_route};

/// Serves `POST /v1/responses` (streaming).
///
/// A [`Reply::ToolCall`] becomes a `custom_tool_call` (with `arguments_json`
/// as the raw input) when the request offers that tool with `type:"custom"`
/// (Codex `apply_patch`), otherwise a `function_call` (e.g. `exec_command`
/// with `{"cmd": ...}`).
pub struct OpenAiResponses;

impl OpenAiResponses {
    pub async fn start() -> std::io::Result<FakeServer> {
        let shared = Arc::new(Shared::default());
        let router = Router::new()
            .route("/v1/responses", post(responses))
            .fallback(unknown_route)
            .with_state(shared.clone());
        FakeServer::start(router, shared).await
    }

    /// Text of the last `role:"user"` message item in `input[]`.
    pub fn last_user_text(request: &Value) -> Option<String> {
        let input = request.get("input")?.as_array()?;
        let last = input
            .iter()
            .rev()
            .find(|i| i["role"] == "user" && i.get("type").is_none_or(|t| t == "message"))?;
        super::content_text(&last["content"])
    }
}

async fn responses(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let body = shared.record(&body);
    let reply = shared.next_reply();
    if let Reply::Error { status, message } = &reply {
        let kind = if *status < 500 {
            "invalid_request_error"
        } else {
            "server_error"
        };
        return json_response(
            *status,
            &json!({"error": {"message": message, "type": kind, "param": null, "code": null}}),
        );
    }
    sse_response(frames(&reply, &body))
}

fn is_custom_tool(request: &Value, name: &str) -> bool {
    request["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|t| t["name"] == name && t["type"] == "custom")
}

fn event(kind: &str, mut body: Value) -> Frame {
    body["type"] = json!(kind);
    Frame::event(kind, &body)
}

fn frames(reply: &Reply, request: &Value) -> Vec<Frame> {
    let model = request["model"].as_str().unwrap_or("fake-model");
    let response = |status: &str| json!({"id": "resp_fake", "object": "response", "model": model, "status": status, "output": []});
    let mut out = vec![event(
        "response.created",
        json!({"response": response("in_progress")}),
    )];
    let done_item = match reply {
        Reply::ToolCall {
            name,
            arguments_json,
        } => {
            let item = if is_custom_tool(request, name) {
                json!({"type": "custom_tool_call", "id": "ctc_fake_1", "call_id": "call_fake_1",
                       "name": name, "input": arguments_json, "status": "completed"})
            } else {
                json!({"type": "function_call", "id": "fc_fake_1", "call_id": "call_fake_1",
                       "name": name, "arguments": arguments_json, "status": "completed"})
            };
            out.push(event(
                "response.output_item.added",
                json!({"output_index": 0, "item": item}),
            ));
            item
        }
        _ => {
            let added = json!({"type": "message", "id": "msg_fake_1", "role": "assistant",
                               "status": "in_progress", "content": []});
            out.push(event(
                "response.output_item.added",
                json!({"output_index": 0, "item": added}),
            ));
            for (delay, delta) in reply.deltas() {
                let body = json!({"item_id": "msg_fake_1", "output_index": 0, "content_index": 0, "delta": delta});
                out.push(event("response.output_text.delta", body).delayed(delay));
            }
            json!({"type": "message", "id": "msg_fake_1", "role": "assistant", "status": "completed",
                   "content": [{"type": "output_text", "text": reply.full_text(), "annotations": []}]})
        }
    };
    out.push(event(
        "response.output_item.done",
        json!({"output_index": 0, "item": done_item}),
    ));
    let mut completed = response("completed");
    completed["usage"] = json!({
        "input_tokens": 10, "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 5, "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 15,
    });
    out.push(event("response.completed", json!({"response": completed})));
    out
}
