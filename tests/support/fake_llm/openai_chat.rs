//! OpenAI Chat Completions fake (used by OpenCode through `@ai-sdk/openai-compatible`).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{FakeServer, Frame, Reply, Shared, json_response, sse_response, unknown_route};

const TITLE_MARKER: &str = "You are a title generator";
const MODEL: &str = "fake-model";

/// Serves `POST /v1/chat/completions` (streaming) and `GET /v1/models`.
pub struct OpenAiChat;

impl OpenAiChat {
    pub async fn start() -> std::io::Result<FakeServer> {
        let shared = Arc::new(Shared::default());
        let router = Router::new()
            .route("/v1/chat/completions", post(completions))
            .route("/v1/models", get(models))
            .fallback(unknown_route)
            .with_state(shared.clone());
        FakeServer::start(router, shared).await
    }

    /// Text of the last `role:"user"` message of a recorded request.
    pub fn last_user_text(request: &Value) -> Option<String> {
        let messages = request.get("messages")?.as_array()?;
        let last = messages.iter().rev().find(|m| m["role"] == "user")?;
        super::content_text(&last["content"])
    }

    /// Whether a recorded request is OpenCode's side request for a session title.
    pub fn is_title_request(request: &Value) -> bool {
        request["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| m["role"] == "system")
            .any(|m| super::content_text(&m["content"]).is_some_and(|t| t.contains(TITLE_MARKER)))
    }
}

async fn models() -> Response {
    json_response(
        200,
        &json!({"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "fake"}]}),
    )
}

async fn completions(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let body = shared.record(&body);
    let reply = if OpenAiChat::is_title_request(&body) {
        Reply::text("Fake title")
    } else {
        shared.next_reply()
    };
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
    sse_response(frames(&reply))
}

fn chunk(delta: Value, finish_reason: Option<&str>) -> Frame {
    let mut body = json!({
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    });
    if finish_reason.is_some() {
        body["usage"] = json!({"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15});
    }
    Frame::data(body.to_string())
}

fn frames(reply: &Reply) -> Vec<Frame> {
    let mut out = vec![chunk(json!({"role": "assistant", "content": ""}), None)];
    let finish = match reply {
        Reply::ToolCall {
            name,
            arguments_json,
        } => {
            let call = json!({
                "index": 0,
                "id": "call_fake_1",
                "type": "function",
                "function": {"name": name, "arguments": arguments_json},
            });
            out.push(chunk(json!({"tool_calls": [call]}), None));
            "tool_calls"
        }
        _ => {
            for (delay, delta) in reply.deltas() {
                out.push(chunk(json!({"content": delta}), None).delayed(delay));
            }
            "stop"
        }
    };
    out.push(chunk(json!({}), Some(finish)));
    out.push(Frame::data("[DONE]"));
    out
}
