//! Codex `exec --json` lines written by hand for the cases the captures do not hold.

use super::events::{MAX_LINE, Mapper, Totals, readable};
use crate::agent::{AgentEvent, Usage};
use crate::core::{Part, PartKind, Role, ToolStatus};
use crate::lines::Line;
use serde_json::json;

const THREAD: &str = "01a1fb38-d2bd-79a1-8103-9f5cf030e4b1";

fn mapper() -> Mapper {
    Mapper::new("msg_t".into(), None, Some(Totals::default()))
}

fn item(event: &str, item: serde_json::Value) -> String {
    json!({"type": event, "item": item}).to_string()
}

fn feed(m: &mut Mapper, lines: &[String]) -> Vec<AgentEvent> {
    lines.iter().flat_map(|l| m.line(l)).collect()
}

fn parts(events: &[AgentEvent]) -> Vec<&Part> {
    events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::Part(p) => Some(p),
            _ => None,
        })
        .collect()
}

/// The end of a turn; `usage` as (tokens in, tokens out).
fn ended(error: Option<&str>, aborted: bool, usage: Option<(u64, u64)>) -> AgentEvent {
    AgentEvent::TurnEnded {
        error: error.map(str::to_string),
        aborted,
        usage: usage.map(|(i, o)| Usage {
            tokens_in: Some(i),
            tokens_out: Some(o),
            cost_usd: None,
        }),
    }
}

fn completed(input: u64, output: u64) -> String {
    json!({"type": "turn.completed", "usage": {"input_tokens": input, "cached_input_tokens": 0,
        "cache_write_input_tokens": 0, "output_tokens": output, "reasoning_output_tokens": 0}})
    .to_string()
}

#[test]
fn a_text_turn_names_the_thread_and_ends_with_usage() {
    let mut m = mapper();
    let events = feed(
        &mut m,
        &[
            json!({"type": "thread.started", "thread_id": THREAD}).to_string(),
            json!({"type": "turn.started"}).to_string(),
            item(
                "item.completed",
                json!({"id": "item_0", "type": "reasoning", "text": "**Thinking**"}),
            ),
            item(
                "item.completed",
                json!({"id": "item_1", "type": "agent_message", "text": "Hello"}),
            ),
            completed(20, 10),
        ],
    );
    assert_eq!(events[0], AgentEvent::AgentSessionId(THREAD.into()));
    assert_eq!(
        events[1],
        AgentEvent::Message {
            id: "msg_t".into(),
            role: Role::Assistant
        }
    );
    let p = parts(&events);
    assert_eq!(p.len(), 2);
    assert_eq!(
        p[0].kind,
        PartKind::Reasoning {
            text: "**Thinking**".into()
        }
    );
    assert_eq!(
        p[1].kind,
        PartKind::Text {
            text: "Hello".into()
        }
    );
    assert!(p.iter().all(|p| p.message_id == "msg_t"));
    assert_ne!(p[0].id, p[1].id);
    assert_eq!(events.last(), Some(&ended(None, false, Some((20, 10)))));
    assert_eq!(m.thread_id(), Some(THREAD));
    assert_eq!(
        m.total(),
        Some(Totals {
            input: 20,
            output: 10
        })
    );
    // The process exits after the turn ended: nothing more.
    assert!(m.finish(false, Some("exit 1".into())).is_empty());
    assert!(m.line(&completed(1, 1)).is_empty());
}

#[test]
fn a_resumed_thread_reports_only_this_turns_usage() {
    let mut m = Mapper::new(
        "msg_t".into(),
        Some(THREAD.into()),
        Some(Totals {
            input: 20,
            output: 10,
        }),
    );
    let started = json!({"type": "thread.started", "thread_id": THREAD}).to_string();
    let events = feed(&mut m, &[started, completed(30, 15)]);
    assert_eq!(
        events,
        [ended(None, false, Some((10, 5)))],
        "the same thread is not announced again"
    );
    // Totals before the turn unknown: no usage rather than the whole thread's.
    let mut m = Mapper::new("msg_u".into(), Some(THREAD.into()), None);
    let events = m.line(&completed(30, 15));
    assert!(matches!(
        &events[..],
        [AgentEvent::TurnEnded { usage: None, .. }]
    ));
    assert_eq!(
        m.total(),
        Some(Totals {
            input: 30,
            output: 15
        })
    );
}

#[test]
fn a_command_updates_one_tool_part_with_output_and_exit_code() {
    let mut m = mapper();
    let cmd = "/bin/bash -lc 'echo hi-there; exit 3'";
    let events = feed(
        &mut m,
        &[
            item(
                "item.started",
                json!({"id": "item_0", "type": "command_execution", "command": cmd,
                    "aggregated_output": "", "exit_code": null, "status": "in_progress"}),
            ),
            item(
                "item.completed",
                json!({"id": "item_0", "type": "command_execution", "command": cmd,
                    "aggregated_output": "hi-there\n", "exit_code": 3, "status": "failed"}),
            ),
        ],
    );
    let p = parts(&events);
    assert_eq!(p.len(), 2);
    assert_eq!(p[0].id, p[1].id);
    assert_eq!(
        p[0].kind,
        PartKind::Tool {
            name: "shell".into(),
            input: json!({"command": cmd}),
            status: ToolStatus::Running,
            output: None,
        }
    );
    assert_eq!(
        p[1].kind,
        PartKind::Tool {
            name: "shell".into(),
            input: json!({"command": cmd}),
            status: ToolStatus::Error,
            output: Some("hi-there\nexit code 3".into()),
        }
    );
    let ok = item(
        "item.completed",
        json!({"id": "item_1", "type": "command_execution", "command": "true",
            "aggregated_output": "", "exit_code": 0, "status": "completed"}),
    );
    let events = m.line(&ok);
    assert!(matches!(&parts(&events)[0].kind,
        PartKind::Tool { status: ToolStatus::Completed, output: Some(o), .. } if o == "exit code 0"));
}

#[test]
fn a_file_change_is_an_apply_patch_tool() {
    let mut m = mapper();
    let changes =
        json!([{"path": "/w/made.txt", "kind": "add"}, {"path": "/w/old.txt", "kind": "delete"}]);
    let events = m.line(&item(
        "item.completed",
        json!({"id": "item_2", "type": "file_change", "changes": changes, "status": "completed"}),
    ));
    assert_eq!(
        parts(&events)[0].kind,
        PartKind::Tool {
            name: "apply_patch".into(),
            input: json!({"path": "/w/made.txt, /w/old.txt", "changes": changes}),
            status: ToolStatus::Completed,
            output: Some("add /w/made.txt\ndelete /w/old.txt".into()),
        }
    );
}

#[test]
fn other_items_map_loosely_and_unknown_ones_are_ignored() {
    let mut m = mapper();
    let events = feed(
        &mut m,
        &[
            item(
                "item.completed",
                json!({"id": "i1", "type": "mcp_tool_call", "server": "docs", "tool": "search",
                    "arguments": {"q": "x"}, "result": {"content": [{"type": "text", "text": "found"}]},
                    "status": "completed"}),
            ),
            item(
                "item.updated",
                json!({"id": "i2", "type": "todo_list", "items": [
                    {"text": "read", "completed": true}, {"text": "write", "completed": false}]}),
            ),
            item(
                "item.started",
                json!({"id": "i3", "type": "web_search", "query": "rust"}),
            ),
            item(
                "item.completed",
                json!({"id": "i4", "type": "error", "message": "Model metadata not found"}),
            ),
            item(
                "item.completed",
                json!({"id": "i5", "type": "something_new", "x": 1}),
            ),
            item(
                "item.completed",
                json!({"type": "agent_message", "text": "no id"}),
            ),
            item("item.completed", json!("not an object")),
            json!({"type": "item.completed"}).to_string(),
            json!({"type": "turn.started"}).to_string(),
            json!({"type": "brand.new.event", "item": {"id": "x"}}).to_string(),
            json!({"no_type": true}).to_string(),
        ],
    );
    let p = parts(&events);
    assert_eq!(p.len(), 4, "{events:?}");
    assert!(
        matches!(&p[0].kind, PartKind::Tool { name, output: Some(o), status: ToolStatus::Completed, .. }
        if name == "docs.search" && o == "found")
    );
    assert!(
        matches!(&p[1].kind, PartKind::Tool { name, output: Some(o), .. }
        if name == "todo" && o == "[x] read\n[ ] write")
    );
    assert!(
        matches!(&p[2].kind, PartKind::Tool { name, status: ToolStatus::Running, .. } if name == "web_search")
    );
    assert_eq!(
        p[3].kind,
        PartKind::Error {
            message: "Model metadata not found".into()
        }
    );
    assert!(!m.ended());
}

#[test]
fn invalid_and_partial_lines_map_to_nothing() {
    let mut m = mapper();
    for line in [
        "",
        "   ",
        "not json",
        "{\"type\":\"item.completed\",\"item\":{\"id\":\"item_0\",\"type\":\"agent_mes",
        "[1,2,3]",
        "null",
        "\u{0}\u{1}garbage\u{fffd}",
        "{\"type\": 5}",
    ] {
        assert!(m.line(line).is_empty(), "{line:?}");
    }
    assert!(!m.ended());
    let full = item(
        "item.completed",
        json!({"id": "item_0", "type": "agent_message", "text": "whole"}),
    );
    assert_eq!(parts(&m.line(&full)).len(), 1);
}

#[test]
fn a_very_long_line_maps() {
    let mut m = mapper();
    let text = "é".repeat(1 << 20);
    let line = item(
        "item.completed",
        json!({"id": "item_0", "type": "agent_message", "text": text}),
    );
    // Fed in odd-sized reads that split the two-byte characters.
    let whole = format!("{line}\n");
    let got = crate::lines::cut(MAX_LINE, whole.as_bytes().chunks(4093));
    let [Line::Text(got)] = got.as_slice() else {
        panic!("one line: {}", got.len())
    };
    assert!(matches!(&parts(&m.line(got))[0].kind, PartKind::Text { text: t } if *t == text));
}

#[test]
fn failures_and_errors_end_the_turn_once() {
    let body = r#"{"error":{"code":null,"message":"bad request from fake","param":null,"type":"invalid_request_error"}}"#;
    let mut m = mapper();
    let events = feed(
        &mut m,
        &[
            json!({"type": "error", "message": body}).to_string(),
            json!({"type": "turn.failed", "error": {"message": body}}).to_string(),
        ],
    );
    assert_eq!(events, [ended(Some("bad request from fake"), false, None)]);
    assert!(
        m.finish(false, Some("codex exited with status 1".into()))
            .is_empty()
    );

    // An `error` line and then the process exits: an error turn with that message.
    let mut m = mapper();
    assert!(
        m.line(&json!({"type": "error", "message": "stream disconnected"}).to_string())
            .is_empty()
    );
    assert_eq!(
        m.finish(false, Some("codex exited with status 1".into())),
        [ended(Some("stream disconnected"), false, None)]
    );
    // turn.failed without a message falls back to the last error line.
    let mut m = mapper();
    let events = feed(
        &mut m,
        &[
            json!({"type": "error", "message": "quota"}).to_string(),
            json!({"type": "turn.failed", "error": {}}).to_string(),
        ],
    );
    assert!(matches!(&events[..], [AgentEvent::TurnEnded { error: Some(e), .. }] if e == "quota"));
}

#[test]
fn the_process_exit_always_ends_the_turn() {
    // Exit 0 without turn.completed: a normal end.
    let mut m = mapper();
    assert_eq!(m.finish(false, None), [ended(None, false, None)]);
    // A bad exit: an error turn with what the exit said.
    let mut m = mapper();
    assert!(
        matches!(&m.finish(false, Some("codex exited with status 2: boom".into()))[..],
        [AgentEvent::TurnEnded { error: Some(e), aborted: false, .. }] if e.ends_with("boom"))
    );
    // Interrupted mid-command: aborted, and the running tool is closed.
    let mut m = mapper();
    m.line(&item(
        "item.started",
        json!({"id": "item_0", "type": "command_execution", "command": "sleep 9",
            "aggregated_output": "", "exit_code": null, "status": "in_progress"}),
    ));
    m.line(&json!({"type": "error", "message": "ignored after an abort"}).to_string());
    let forced = "it ignored SIGINT and was stopped with SIGKILL".to_string();
    let events = m.finish(true, Some(forced.clone()));
    assert!(matches!(
        &events[0],
        AgentEvent::Part(Part {
            kind: PartKind::Tool {
                status: ToolStatus::Error,
                ..
            },
            ..
        })
    ));
    assert_eq!(events[1], ended(Some(&forced), true, None));
}

#[test]
fn provider_errors_read_as_their_message() {
    assert_eq!(readable(r#"{"error":{"message":"nope"}}"#), "nope");
    assert_eq!(
        readable(r#"unexpected status 400: {"error":{"message":"nope"}}"#),
        "unexpected status 400: nope"
    );
    assert_eq!(readable("  plain words "), "plain words");
    assert_eq!(readable("{broken"), "{broken");
}
