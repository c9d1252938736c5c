//! JSON-RPC 2.0 as `codex app-server` speaks it on stdio: one JSON object per line, the
//! `jsonrpc` member left out. Reading sorts a line into a response, a request from the
//! server, or a notification; writing builds the client's requests and answers. Pure.

use serde_json::{Value, json};

/// One line from the server, sorted by what it is.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// The answer to one of our requests: its `result`, or its error's message.
    Response {
        id: u64,
        result: Result<Value, String>,
    },
    /// The server asks (an approval): it waits for an answer under `id`, which may be a
    /// number or a string.
    Request {
        id: Value,
        method: String,
        params: Value,
    },
    Notification {
        method: String,
        params: Value,
    },
}

/// Reads a line loosely: anything that is not a JSON object of one of the three shapes
/// is `None`, never a panic.
pub fn read(line: &str) -> Option<Incoming> {
    let v: Value = serde_json::from_str(line.trim()).ok()?;
    let params = || v.get("params").cloned().unwrap_or(Value::Null);
    match (v.get("id"), v.get("method").and_then(Value::as_str)) {
        (Some(id), Some(method)) if !id.is_null() => Some(Incoming::Request {
            id: id.clone(),
            method: method.to_string(),
            params: params(),
        }),
        (None, Some(method)) => Some(Incoming::Notification {
            method: method.to_string(),
            params: params(),
        }),
        (Some(id), None) => {
            let id = id.as_u64()?;
            let result = match v.get("error") {
                Some(e) => Err(error_message(e)),
                None => Ok(v.get("result").cloned().unwrap_or(Value::Null)),
            };
            Some(Incoming::Response { id, result })
        }
        _ => None,
    }
}

fn error_message(e: &Value) -> String {
    let message = e.get("message").and_then(Value::as_str).unwrap_or("");
    match message.is_empty() {
        true => format!("the app server refused the request: {e}"),
        false => message.to_string(),
    }
}

pub fn request(id: u64, method: &str, params: Value) -> String {
    json!({"id": id, "method": method, "params": params}).to_string()
}

/// The notification that follows `initialize`'s answer.
pub fn initialized() -> String {
    json!({"method": "initialized"}).to_string()
}

pub fn initialize_params(version: &str) -> Value {
    json!({"clientInfo": {"name": "flotilla", "title": "flotilla", "version": version}})
}

/// A new thread in `cwd`, asking as `approval` says, in `sandbox`.
pub fn thread_start_params(cwd: &str, approval: &str, sandbox: &str, model: Option<&str>) -> Value {
    let mut p = json!({"cwd": cwd, "approvalPolicy": approval, "sandbox": sandbox});
    if let Some(model) = model {
        p["model"] = json!(model);
    }
    p
}

pub fn thread_resume_params(thread: &str, cwd: &str, approval: &str, sandbox: &str) -> Value {
    json!({"threadId": thread, "cwd": cwd, "approvalPolicy": approval, "sandbox": sandbox})
}

fn text_input(text: &str) -> Value {
    json!([{"type": "text", "text": text}])
}

pub fn turn_start_params(thread: &str, prompt: &str) -> Value {
    json!({"threadId": thread, "input": text_input(prompt)})
}

/// More text for the running turn `turn`; refused by the server if another turn runs.
pub fn turn_steer_params(thread: &str, turn: &str, text: &str) -> Value {
    json!({"threadId": thread, "expectedTurnId": turn, "input": text_input(text)})
}

pub fn turn_interrupt_params(thread: &str, turn: &str) -> Value {
    json!({"threadId": thread, "turnId": turn})
}

/// The answer to a server request.
pub fn answer(id: &Value, result: Value) -> String {
    json!({"id": id, "result": result}).to_string()
}

/// A refusal of a server request flotilla does not handle, so the server does not wait.
pub fn refuse(id: &Value, message: &str) -> String {
    json!({"id": id, "error": {"code": -32601, "message": message}}).to_string()
}
