//! Scripted fake LLM servers for driving real agent CLIs offline.
//!
//! Each fake listens on `127.0.0.1:0` in a background tokio task, serves
//! requests concurrently, records every request body, and answers each model
//! request with the next [`Reply`] from its script (or a short "ok" text when
//! the script is empty).

mod anthropic;
mod openai_chat;
mod openai_responses;

pub use anthropic::Anthropic;
pub use openai_chat::OpenAiChat;
pub use openai_responses::OpenAiResponses;

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::Response;
use futures::StreamExt;
use serde_json::Value;

/// One scripted answer to one model request.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// A text answer, streamed as several small deltas.
    Text(String),
    /// `chunks` text deltas ("chunk 0 ", "chunk 1 ", ...) with `delay_ms` between them.
    SlowText { chunks: usize, delay_ms: u64 },
    /// A single tool call. `arguments_json` is the JSON arguments object as a
    /// string; for free-form (custom) tools such as Codex `apply_patch` it is
    /// the raw tool input (the patch text).
    ToolCall {
        name: String,
        arguments_json: String,
    },
    /// An HTTP error with the provider's error body shape.
    Error { status: u16, message: String },
}

impl Reply {
    pub fn text(text: impl Into<String>) -> Self {
        Reply::Text(text.into())
    }

    pub fn tool_call(name: impl Into<String>, arguments: &Value) -> Self {
        Reply::ToolCall {
            name: name.into(),
            arguments_json: arguments.to_string(),
        }
    }

    pub fn error(status: u16, message: impl Into<String>) -> Self {
        Reply::Error {
            status,
            message: message.into(),
        }
    }

    /// The text deltas a text-like reply is streamed as.
    pub(crate) fn deltas(&self) -> Vec<(u64, String)> {
        match self {
            Reply::Text(text) => split_text(text).into_iter().map(|d| (0, d)).collect(),
            Reply::SlowText { chunks, delay_ms } => (0..*chunks)
                .map(|i| (*delay_ms, format!("chunk {i} ")))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The full text of a text-like reply.
    pub(crate) fn full_text(&self) -> String {
        self.deltas().into_iter().map(|(_, d)| d).collect()
    }
}

/// Splits text into small pieces (about 8 characters, on char boundaries).
fn split_text(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return vec![String::new()];
    }
    chars.chunks(8).map(|c| c.iter().collect()).collect()
}

/// State shared between a fake's handle and its request handlers.
#[derive(Default)]
pub(crate) struct Shared {
    script: Mutex<VecDeque<Reply>>,
    requests: Mutex<Vec<Value>>,
}

impl Shared {
    /// Parses (null when not JSON) and records a request body.
    pub(crate) fn record(&self, body: &[u8]) -> Value {
        let value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        if std::env::var_os("FAKE_LLM_LOG").is_some() {
            let items = value.get("messages").or_else(|| value.get("input"));
            eprintln!(
                "fake llm: request model={} stream={} items={} bytes={}",
                value["model"],
                value["stream"],
                items.and_then(Value::as_array).map_or(0, Vec::len),
                body.len()
            );
        }
        self.requests.lock().unwrap().push(value.clone());
        value
    }

    /// Pops the next scripted reply, or the default "ok" text.
    pub(crate) fn next_reply(&self) -> Reply {
        let next = self.script.lock().unwrap().pop_front();
        next.unwrap_or_else(|| Reply::text("ok"))
    }
}

/// What every fake exposes: URL, script queue and recorded requests.
#[derive(Clone)]
pub struct FakeServer {
    url: String,
    shared: Arc<Shared>,
}

impl FakeServer {
    /// Binds `127.0.0.1:0` and serves `router` in a background task.
    pub(crate) async fn start(router: Router, shared: Arc<Shared>) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(FakeServer { url, shared })
    }

    /// Base URL without a trailing slash, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Appends a reply to the script.
    pub fn push(&self, reply: Reply) {
        self.shared.script.lock().unwrap().push_back(reply);
    }

    /// Number of scripted replies not yet consumed.
    pub fn pending(&self) -> usize {
        self.shared.script.lock().unwrap().len()
    }

    /// Every request body received so far (model requests and side requests).
    pub fn requests(&self) -> Vec<Value> {
        self.shared.requests.lock().unwrap().clone()
    }
}

/// One server-sent-events frame, optionally with an `event:` line, sent after `delay_ms`.
pub(crate) struct Frame {
    pub delay_ms: u64,
    pub event: Option<String>,
    pub data: String,
}

impl Frame {
    pub(crate) fn data(data: impl Into<String>) -> Self {
        Frame {
            delay_ms: 0,
            event: None,
            data: data.into(),
        }
    }

    pub(crate) fn event(event: &str, data: &Value) -> Self {
        Frame {
            delay_ms: 0,
            event: Some(event.to_string()),
            data: data.to_string(),
        }
    }

    pub(crate) fn delayed(mut self, delay_ms: u64) -> Self {
        self.delay_ms = delay_ms;
        self
    }

    fn encode(&self) -> String {
        match &self.event {
            Some(event) => format!("event: {event}\ndata: {}\n\n", self.data),
            None => format!("data: {}\n\n", self.data),
        }
    }
}

/// A `text/event-stream` response that sends `frames` in order, honouring delays.
pub(crate) fn sse_response(frames: Vec<Frame>) -> Response {
    let stream = futures::stream::iter(frames).then(|frame| async move {
        if frame.delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(frame.delay_ms)).await;
        }
        Ok::<_, Infallible>(frame.encode())
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_stream(stream))
        .unwrap()
}

/// Fallback for routes a fake does not know: logs them and answers 404.
pub(crate) async fn unknown_route(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    eprintln!("fake llm: unhandled {method} {uri}");
    json_response(404, &serde_json::json!({"error": {"message": "not found"}}))
}

/// A JSON response with the given status.
pub(crate) fn json_response(status: u16, body: &Value) -> Response {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

/// Text of a message `content` that is either a string or an array of
/// `{type, text}` parts (parts without text are skipped).
pub(crate) fn content_text(content: &Value) -> Option<String> {
    match content {
        Value::String(s) => Some(s.clone()),
        Value::Array(parts) => {
            let texts: Vec<&str> = parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect();
            (!texts.is_empty()).then(|| texts.join("\n"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_split_into_small_deltas() {
        let reply = Reply::text("hello wonderful world");
        assert!(reply.deltas().len() > 1);
        assert_eq!(reply.full_text(), "hello wonderful world");
    }

    #[test]
    fn slow_text_has_delays() {
        let reply = Reply::SlowText {
            chunks: 3,
            delay_ms: 5,
        };
        assert_eq!(reply.full_text(), "chunk 0 chunk 1 chunk 2 ");
        assert!(reply.deltas().iter().all(|(d, _)| *d == 5));
    }
}
