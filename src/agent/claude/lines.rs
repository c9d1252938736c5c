//! The lines of Claude Code's stdio protocol: splitting its output into lines without
//! trusting their length, and the lines flotilla writes to it. Pure: no IO.

use serde_json::{Value, json};

/// The request id of the `initialize` request written at start: its answer means the
/// process has loaded the conversation and takes prompts.
pub const INIT_REQUEST: &str = "flotilla_init";

/// One complete line of output.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    Text(String),
    /// A line longer than the limit, dropped whole; how many bytes it had.
    TooLong(usize),
}

/// Splits a byte stream that arrives in arbitrary chunks into lines. A line longer than
/// `max` bytes is not kept in memory: it is skipped up to its newline and reported as
/// [`Line::TooLong`], and the lines after it come through as usual.
#[derive(Debug)]
pub struct LineSplitter {
    buf: Vec<u8>,
    max: usize,
    skipping: Option<usize>,
}

impl LineSplitter {
    pub fn new(max: usize) -> Self {
        LineSplitter {
            buf: Vec::new(),
            max,
            skipping: None,
        }
    }

    pub fn push(&mut self, mut bytes: &[u8]) -> Vec<Line> {
        let mut out = Vec::new();
        while !bytes.is_empty() {
            let newline = bytes.iter().position(|b| *b == b'\n');
            let (segment, rest) = match newline {
                Some(at) => (&bytes[..at], Some(&bytes[at + 1..])),
                None => (bytes, None),
            };
            match &mut self.skipping {
                Some(skipped) => *skipped += segment.len(),
                None => {
                    self.buf.extend_from_slice(segment);
                    if self.buf.len() > self.max {
                        self.skipping = Some(self.buf.len());
                        self.buf = Vec::new();
                    }
                }
            }
            match rest {
                Some(rest) => {
                    out.extend(self.take());
                    bytes = rest;
                }
                None => break,
            }
        }
        out
    }

    /// The last line, when the stream ended without a newline.
    pub fn finish(&mut self) -> Option<Line> {
        self.take()
    }

    fn take(&mut self) -> Option<Line> {
        if let Some(skipped) = self.skipping.take() {
            return Some(Line::TooLong(skipped));
        }
        if self.buf.is_empty() {
            return None;
        }
        let line = String::from_utf8_lossy(&self.buf)
            .trim_end_matches('\r')
            .to_string();
        self.buf.clear();
        Some(Line::Text(line))
    }
}

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
