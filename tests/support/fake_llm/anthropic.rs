//! Anthropic Messages API fake (used by Claude Code).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{FakeServer, Frame, Reply, Shared, json_response, sse_response, unknown_route};

/// Serves `HEAD /`, `POST /v1/messages` (the `?beta=true` query is ignored)
/// and `POST /v1/messages/count_tokens`.
pub struct Anthropic;

impl Anthropic {
    pub async fn start() -> std::io::Result<FakeServer> {
        let shared = Arc::new(Shared::default());
        let router = Router::new()
            .route("/", get(|| async { "ok" }))
            .route("/v1/messages", post(messages))
            .route("/v1/messages/count_tokens", post(count_tokens))
            .fallback(unknown_route)
            .with_state(shared.clone());
        FakeServer::start(router, shared).await
    }

    /// Text of the last user message, skipping `role:"system"` entries,
    /// tool results and `<system-reminder>` blocks.
    pub fn last_user_text(request: &Value) -> Option<String> {
        let messages = request.get("messages")?.as_array()?;
        let last = messages.iter().rev().find(|m| m["role"] == "user")?;
        match &last["content"] {
            Value::String(s) => Some(s.clone()),
            Value::Array(blocks) => {
                let texts: Vec<&str> = blocks
                    .iter()
                    .filter(|b| b["type"] == "text")
                    .filter_map(|b| b["text"].as_str())
                    .filter(|t| !t.trim_start().starts_with("<system-reminder>"))
                    .collect();
                (!texts.is_empty()).then(|| texts.join("\n"))
            }
            _ => None,
        }
    }
}

async fn count_tokens(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    shared.record(&body);
    json_response(200, &json!({"input_tokens": 10}))
}

async fn messages(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let body = shared.record(&body);
    let model = body["model"].as_str().unwrap_or("claude-fake").to_string();
    let reply = shared.next_reply();
    if let Reply::Error { status, message } = &reply {
        let kind = match status {
            400 => "invalid_request_error",
            401 => "authentication_error",
            403 => "permission_error",
            404 => "not_found_error",
            429 => "rate_limit_error",
            529 => "overloaded_error",
            _ => "api_error",
        };
        return json_response(
            *status,
            &json!({"type": "error", "error": {"type": kind, "message": message}}),
        );
    }
    if body["stream"] == true {
        sse_response(frames(&reply, &model))
    } else {
        json_response(200, &whole_message(&reply, &model))
    }
}

fn usage(output_tokens: u64) -> Value {
    json!({
        "input_tokens": 10,
        "output_tokens": output_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    })
}

fn block_and_stop(reply: &Reply) -> (Value, &'static str) {
    match reply {
        Reply::ToolCall {
            name,
            arguments_json,
        } => {
            let input: Value = serde_json::from_str(arguments_json).unwrap_or(json!({}));
            let block =
                json!({"type": "tool_use", "id": "toolu_fake_1", "name": name, "input": input});
            (block, "tool_use")
        }
        _ => (
            json!({"type": "text", "text": reply.full_text()}),
            "end_turn",
        ),
    }
}

fn whole_message(reply: &Reply, model: &str) -> Value {
    let (block, stop) = block_and_stop(reply);
    json!({
        "id": "msg_fake", "type": "message", "role": "assistant", "model": model,
        "content": [block], "stop_reason": stop, "stop_sequence": null, "usage": usage(5),
    })
}

fn frames(reply: &Reply, model: &str) -> Vec<Frame> {
    let message = json!({
        "id": "msg_fake", "type": "message", "role": "assistant", "model": model,
        "content": [], "stop_reason": null, "stop_sequence": null, "usage": usage(1),
    });
    let mut out = vec![Frame::event(
        "message_start",
        &json!({"type": "message_start", "message": message}),
    )];
    let delta = |delta: Value| json!({"type": "content_block_delta", "index": 0, "delta": delta});
    let (mut start_block, stop) = block_and_stop(reply);
    match reply {
        Reply::ToolCall { arguments_json, .. } => {
            start_block["input"] = json!({});
            out.push(block_start(start_block));
            let mut mid = arguments_json.len() / 2;
            while !arguments_json.is_char_boundary(mid) {
                mid -= 1;
            }
            let (head, tail) = arguments_json.split_at(mid);
            for part in [head, tail] {
                let d = delta(json!({"type": "input_json_delta", "partial_json": part}));
                out.push(Frame::event("content_block_delta", &d));
            }
        }
        _ => {
            out.push(block_start(json!({"type": "text", "text": ""})));
            for (delay, text) in reply.deltas() {
                let d = delta(json!({"type": "text_delta", "text": text}));
                out.push(Frame::event("content_block_delta", &d).delayed(delay));
            }
        }
    }
    out.push(Frame::event(
        "content_block_stop",
        &json!({"type": "content_block_stop", "index": 0}),
    ));
    out.push(Frame::event(
        "message_delta",
        &json!({
            "type": "message_delta",
            "delta": {"stop_reason": stop, "stop_sequence": null},
            "usage": {"output_tokens": 5},
        }),
    ));
    out.push(Frame::event(
        "message_stop",
        &json!({"type": "message_stop"}),
    ));
    out
}

fn block_start(block: Value) -> Frame {
    Frame::event(
        "content_block_start",
        &json!({"type": "content_block_start", "index": 0, "content_block": block}),
    )
}
