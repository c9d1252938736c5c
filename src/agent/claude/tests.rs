//! Claude Code lines written by hand for the cases the captures do not hold.

use super::events::Mapper;
use crate::agent::{AgentEvent, Usage};
use crate::core::{Part, PartKind, PermissionReply, Settled, ToolStatus};
use serde_json::{Value, json};

mod captured;
mod more;

const S: &str = "11111111-2222-3333-4444-555555555555";

fn with_session(mut v: Value) -> String {
    v["session_id"] = json!(S);
    v["uuid"] = json!(uuid::Uuid::new_v4().to_string());
    v.to_string()
}

fn init() -> String {
    with_session(
        json!({"type": "system", "subtype": "init", "cwd": "/w", "model": "claude-x", "tools": ["Write"]}),
    )
}

fn stream(event: Value) -> String {
    with_session(json!({"type": "stream_event", "event": event, "parent_tool_use_id": null}))
}

fn message_start(id: &str) -> String {
    stream(
        json!({"type": "message_start", "message": {"id": id, "type": "message", "role": "assistant", "content": [], "usage": {"input_tokens": 10, "output_tokens": 1}}}),
    )
}

fn block_start(index: u64, block: Value) -> String {
    stream(json!({"type": "content_block_start", "index": index, "content_block": block}))
}

fn text_delta(index: u64, text: &str) -> String {
    stream(
        json!({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": text}}),
    )
}

fn assistant(id: &str, block: Value) -> String {
    with_session(json!({
        "type": "assistant",
        "message": {"id": id, "type": "message", "role": "assistant", "model": "claude-x", "content": [block], "stop_reason": null, "usage": {"input_tokens": 10, "output_tokens": 1}},
        "parent_tool_use_id": null,
    }))
}

fn tool_result(tool_use_id: &str, content: Value, is_error: bool) -> String {
    with_session(json!({
        "type": "user",
        "message": {"role": "user", "content": [{"tool_use_id": tool_use_id, "type": "tool_result", "content": content, "is_error": is_error}]},
        "parent_tool_use_id": null,
    }))
}

fn result(subtype: &str, is_error: bool, text: &str, cost: f64) -> String {
    with_session(json!({
        "type": "result", "subtype": subtype, "is_error": is_error, "result": text,
        "num_turns": 1, "duration_ms": 50, "total_cost_usd": cost,
        "usage": {"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 0},
        "permission_denials": [],
    }))
}

fn can_use_tool(request_id: &str, tool: &str, input: Value) -> String {
    json!({"type": "control_request", "request_id": request_id, "request": {
        "subtype": "can_use_tool", "tool_name": tool, "display_name": tool, "input": input,
        "permission_suggestions": [{"type": "setMode", "mode": "acceptEdits", "destination": "session"}],
        "tool_use_id": "toolu_1",
    }})
    .to_string()
}

fn feed(mapper: &mut Mapper, lines: &[String]) -> Vec<AgentEvent> {
    lines
        .iter()
        .flat_map(|l| mapper.map_line(l).events)
        .collect()
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

fn turn_end(events: &[AgentEvent]) -> (Option<String>, bool, Option<Usage>) {
    match events.last() {
        Some(AgentEvent::TurnEnded {
            error,
            aborted,
            usage,
        }) => (error.clone(), *aborted, usage.clone()),
        other => panic!("the turn did not end: {other:?}"),
    }
}

fn turn() -> Mapper {
    let mut m = Mapper::new("", Some(S.into()));
    m.start_turn();
    m
}

#[test]
fn denied_and_always_answers_and_failed_tools() {
    let mut m = turn();
    let input = json!({"command": "rm -rf /"});
    feed(
        &mut m,
        &[assistant(
            "msg_1",
            json!({"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": input}),
        )],
    );
    m.map_line(&can_use_tool("req_1", "Bash", input.clone()));
    let step = m.answer("req_1", PermissionReply::Deny).expect("open");
    let answer: Value = serde_json::from_str(&step.send[0]).expect("json");
    assert_eq!(
        answer["response"]["response"],
        json!({"behavior": "deny", "message": "denied by the user"})
    );
    let events = feed(
        &mut m,
        &[tool_result(
            "toolu_1",
            json!([{"type": "text", "text": "denied by the user"}]),
            true,
        )],
    );
    assert!(matches!(&parts(&events)[0].kind,
        PartKind::Tool { status: ToolStatus::Error, output: Some(o), .. } if o == "denied by the user"));

    m.map_line(&can_use_tool("req_2", "Bash", input));
    let step = m.answer("req_2", PermissionReply::Always).expect("open");
    let answer: Value = serde_json::from_str(&step.send[0]).expect("json");
    assert_eq!(answer["response"]["response"]["behavior"], "allow");
    assert_eq!(
        answer["response"]["response"]["updatedPermissions"][0]["mode"],
        "acceptEdits"
    );

    // A question Claude withdraws closes its card as withdrawn: no one denied it.
    m.map_line(&can_use_tool("req_3", "Bash", json!({"command": "ls"})));
    let cancel = json!({"type": "control_cancel_request", "request_id": "req_3"});
    let events = feed(&mut m, &[cancel.to_string()]);
    assert!(matches!(
        &parts(&events)[0].kind,
        PartKind::Permission {
            reply: Some(Settled::Withdrawn),
            ..
        }
    ));
    assert!(m.answer("req_3", PermissionReply::Once).is_none());
}

#[test]
fn is_error_makes_an_error_turn_even_when_the_subtype_is_success() {
    let mut m = turn();
    let synthetic = with_session(json!({
        "type": "assistant",
        "message": {"id": "6d42db9e", "model": "<synthetic>", "role": "assistant", "type": "message",
                    "content": [{"type": "text", "text": "API Error: 400 bad request"}]},
        "parent_tool_use_id": null,
    }));
    let events = feed(
        &mut m,
        &[
            init(),
            synthetic,
            result("success", true, "API Error: 400 bad request", 0.0),
        ],
    );
    assert_eq!(
        events.len(),
        1,
        "the error is said once, as the turn's error: {events:?}"
    );
    let (error, aborted, _) = turn_end(&events);
    assert_eq!(error.as_deref(), Some("API Error: 400 bad request"));
    assert!(!aborted);

    // Other subtypes are errors too; without a result text the errors list is used.
    m.start_turn();
    let line = with_session(
        json!({"type": "result", "subtype": "error_max_turns", "is_error": false, "errors": ["too many turns"]}),
    );
    let (error, ..) = turn_end(&feed(&mut m, &[line]));
    assert_eq!(error.as_deref(), Some("too many turns"));
}

#[test]
fn unknown_invalid_and_stray_lines_map_to_nothing_and_never_lose_the_turn() {
    let mut m = turn();
    let noise = [
        String::new(),
        "not json at all".into(),
        "{\"type\":\"assistant\",\"message\":{\"id\":".into(),
        "[1,2,3]".into(),
        "{}".into(),
        json!({"type": "keep_alive"}).to_string(),
        with_session(json!({"type": "system", "subtype": "api_retry", "attempt": 1})),
        with_session(json!({"type": "brand_new_type", "data": {"x": 1}})),
        stream(
            json!({"type": "content_block_delta", "index": 3, "delta": {"type": "text_delta", "text": "x"}}),
        ),
        assistant("", json!({"type": "text", "text": "no id"})),
        assistant("msg_9", json!({"type": "server_tool_use", "id": "x"})),
        tool_result("toolu_unknown", json!("?"), false),
        json!({"type": "control_response", "response": {"subtype": "error", "request_id": "zzz"}})
            .to_string(),
        json!({"type": "assistant", "message": "a string"}).to_string(),
        json!({"type": "result", "usage": "none", "total_cost_usd": "free"}).to_string(),
    ];
    let events = feed(&mut m, &noise);
    assert!(
        events
            .iter()
            .all(|e| matches!(e, AgentEvent::TurnEnded { .. })),
        "{events:?}"
    );
    assert!(
        matches!(events.last(), Some(AgentEvent::TurnEnded { .. })),
        "the last line was a result"
    );

    // A result when no turn runs (a failed resume prints one) ends nothing.
    let idle = feed(&mut m, &[result("error_during_execution", true, "", 0.0)]);
    assert!(idle.is_empty(), "{idle:?}");

    // Requests flotilla does not handle are refused, so Claude does not wait on them.
    let step = m.map_line(&json!({"type": "control_request", "request_id": "r9", "request": {"subtype": "hook_callback"}}).to_string());
    let refused: Value = serde_json::from_str(&step.send[0]).expect("json");
    assert_eq!(refused["response"]["subtype"], "error");
    assert_eq!(refused["response"]["request_id"], "r9");
}
