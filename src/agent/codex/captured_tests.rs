//! Codex's real output through the mapper: the `codex exec --json` stdout lines
//! `scripts/capture-agents` recorded from the pinned CLI (tests/data/captures/codex), one
//! run per capture, mapped as a turn maps them. The fake model said what the tests expect;
//! temporary paths are written as `/workspace`.

use super::events::{Mapper, Totals};
use crate::agent::{AgentEvent, Usage};
use crate::core::{PartKind, Role, ToolStatus};
use serde_json::{Value, json};

macro_rules! capture {
    ($name:literal) => {
        include_str!(concat!(
            "../../../tests/data/captures/codex/",
            $name,
            ".jsonl"
        ))
    };
}

/// Maps a whole run as the turn does: every line, then the process's exit (`failure`
/// when it exited badly). Every line is one the mapper knows and none is dropped.
fn replay(m: &mut Mapper, capture: &str, failure: Option<&str>) -> Vec<AgentEvent> {
    let mut events = Vec::new();
    for (n, line) in capture.lines().enumerate() {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("line {n}: {e}"));
        let mapped = m.line(line);
        let ok = match v["type"].as_str().unwrap_or("") {
            // Said again when a thread is resumed: not news then.
            "thread.started" => mapped.len() <= 1,
            // The error is kept for the turn's end, which says it.
            "turn.started" | "error" => mapped.is_empty(),
            "item.started" | "item.updated" | "item.completed" => mapped
                .iter()
                .any(|e| matches!(e, AgentEvent::Part(p) if p.id.ends_with(v["item"]["id"].as_str().unwrap_or("?")))),
            "turn.completed" | "turn.failed" => {
                matches!(mapped.last(), Some(AgentEvent::TurnEnded { .. }))
            }
            _ => false,
        };
        assert!(ok, "line {n} mapped to {mapped:?}: {line}");
        events.extend(mapped);
    }
    let after = m.finish(false, failure.map(str::to_string));
    assert!(after.is_empty(), "a line ended the turn already: {after:?}");
    events
}

/// The first line's thread id, read apart from the mapper.
fn thread_of(capture: &str) -> String {
    let first: Value = serde_json::from_str(capture.lines().next().expect("a line")).expect("json");
    assert_eq!(first["type"], "thread.started");
    first["thread_id"]
        .as_str()
        .expect("a thread id")
        .to_string()
}

fn fresh() -> Mapper {
    Mapper::new("msg_t".into(), None, Some(Totals::default()))
}

fn kinds(events: &[AgentEvent]) -> Vec<(String, PartKind)> {
    let parts = events.iter().filter_map(|e| match e {
        AgentEvent::Part(p) => Some((p.id.clone(), p.kind.clone())),
        _ => None,
    });
    parts.collect()
}

fn text(text: &str) -> PartKind {
    PartKind::Text { text: text.into() }
}

/// A turn's end as the mapper says it; `usage` as (tokens in, tokens out).
fn ended(error: Option<&str>, usage: Option<(u64, u64)>) -> AgentEvent {
    AgentEvent::TurnEnded {
        error: error.map(str::to_string),
        aborted: false,
        usage: usage.map(|(i, o)| Usage {
            tokens_in: Some(i),
            tokens_out: Some(o),
            cost_usd: None,
        }),
    }
}

#[test]
fn a_text_turn_names_its_thread_and_ends_with_usage() {
    let capture = capture!("text");
    let mut m = fresh();
    let events = replay(&mut m, capture, None);
    let thread = thread_of(capture);
    let message = AgentEvent::Message {
        id: "msg_t".into(),
        role: Role::Assistant,
    };
    assert_eq!(
        events[..2],
        [AgentEvent::AgentSessionId(thread.clone()), message]
    );
    assert_eq!(
        kinds(&events),
        [(
            "msg_t-item_0".into(),
            text("Hello from the fake model, streamed in pieces.")
        )]
    );
    assert_eq!(events.last(), Some(&ended(None, Some((10, 5)))));
    assert_eq!(m.thread_id(), Some(thread.as_str()));
}

#[test]
fn a_resumed_thread_is_the_same_and_reports_only_this_turns_usage() {
    let mut first = fresh();
    replay(&mut first, capture!("text"), None);
    let before = first.total().expect("the first turn's totals");
    let capture = capture!("resumed");
    assert_eq!(thread_of(capture), thread_of(capture!("text")));
    let thread = first.thread_id().map(str::to_string);
    let mut m = Mapper::new("msg_r".into(), thread, Some(before));
    let events = replay(&mut m, capture, None);
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, AgentEvent::AgentSessionId(_))),
        "the thread is not news: {events:?}"
    );
    assert_eq!(
        kinds(&events),
        [(
            "msg_r-item_0".into(),
            text("I remember the first question.")
        )]
    );
    // Codex counts the whole thread: 20 in, 10 out after two requests of 10 and 5.
    assert_eq!(
        m.total(),
        Some(Totals {
            input: 20,
            output: 10
        })
    );
    assert_eq!(events.last(), Some(&ended(None, Some((10, 5)))));
}

#[test]
fn a_command_updates_one_shell_part_from_running_to_its_output() {
    let mut m = fresh();
    let events = replay(&mut m, capture!("command"), None);
    let command = json!({"command": "/bin/bash -lc 'echo flotilla-shell-output'"});
    let shell = |status, output: Option<&str>| PartKind::Tool {
        name: "shell".into(),
        input: command.clone(),
        status,
        output: output.map(str::to_string),
    };
    assert_eq!(
        kinds(&events),
        [
            ("msg_t-item_0".into(), shell(ToolStatus::Running, None)),
            (
                "msg_t-item_0".into(),
                shell(
                    ToolStatus::Completed,
                    Some("flotilla-shell-output\nexit code 0")
                )
            ),
            ("msg_t-item_1".into(), text("The command ran.")),
        ]
    );
    assert_eq!(events.last(), Some(&ended(None, Some((20, 10)))));
}

#[test]
fn a_file_change_is_an_apply_patch_part_naming_the_file() {
    let mut m = fresh();
    let events = replay(&mut m, capture!("file-change"), None);
    let changes = json!([{"path": "/workspace/made.txt", "kind": "add"}]);
    let patch = |status, output: Option<&str>| PartKind::Tool {
        name: "apply_patch".into(),
        input: json!({"path": "/workspace/made.txt", "changes": changes}),
        status,
        output: output.map(str::to_string),
    };
    assert_eq!(
        kinds(&events),
        [
            (
                "msg_t-item_0".into(),
                patch(ToolStatus::Running, Some("add /workspace/made.txt"))
            ),
            (
                "msg_t-item_0".into(),
                patch(ToolStatus::Completed, Some("add /workspace/made.txt"))
            ),
            ("msg_t-item_1".into(), text("I wrote the file.")),
        ]
    );
    assert_eq!(events.last(), Some(&ended(None, Some((20, 10)))));
}

#[test]
fn an_api_error_is_an_error_turn_with_the_providers_message() {
    let capture = capture!("api-error");
    let mut m = fresh();
    let events = replay(&mut m, capture, Some("codex exited with status 1"));
    assert_eq!(
        events,
        [
            AgentEvent::AgentSessionId(thread_of(capture)),
            ended(Some("the fake model refuses this"), None),
        ]
    );
    assert_eq!(m.total(), None, "a failed turn says no totals");
}
