//! OpenCode frames shaped like the real server's (see agent-protocols.md).

use super::events::{Mapper, OcEvent, parse};
use crate::agent::AgentEvent;
use crate::core::{Answer, PartKind, Role, ToolStatus};

const S: &str = "ses_1";

fn frame(kind: &str, props: serde_json::Value) -> String {
    serde_json::json!({"id": "evt_1", "type": kind, "properties": props}).to_string()
}

fn feed(mapper: &mut Mapper, frames: &[String]) -> Vec<AgentEvent> {
    frames
        .iter()
        .filter_map(|f| parse(f).ok())
        .filter(|e| e.session().is_none_or(|s| s == S))
        .flat_map(|e| mapper.map(e))
        .collect()
}

fn assistant(id: &str, extra: serde_json::Value) -> String {
    let mut info =
        serde_json::json!({"id": id, "sessionID": S, "role": "assistant", "time": {"created": 1}});
    if let (Some(info), Some(extra)) = (info.as_object_mut(), extra.as_object()) {
        info.extend(extra.clone());
    }
    frame(
        "message.updated",
        serde_json::json!({"sessionID": S, "info": info}),
    )
}

fn text_part(id: &str, message: &str, text: &str) -> String {
    frame(
        "message.part.updated",
        serde_json::json!({"sessionID": S, "part": {"id": id, "sessionID": S, "messageID": message, "type": "text", "text": text}}),
    )
}

fn delta(message: &str, part: &str, text: &str) -> String {
    frame(
        "message.part.delta",
        serde_json::json!({"sessionID": S, "messageID": message, "partID": part, "field": "text", "delta": text}),
    )
}

fn idle() -> String {
    frame("session.idle", serde_json::json!({"sessionID": S}))
}

#[test]
fn a_text_reply_streams_and_ends_the_turn_with_usage() {
    let mut m = Mapper::default();
    m.start_turn();
    let user = frame(
        "message.updated",
        serde_json::json!({"sessionID": S, "info": {"id": "msg_u", "sessionID": S, "role": "user"}}),
    );
    let events = feed(
        &mut m,
        &[
            frame("server.connected", serde_json::json!({})),
            user,
            text_part("prt_u", "msg_u", "the prompt"),
            assistant("msg_a", serde_json::json!({})),
            text_part("prt_a", "msg_a", ""),
            delta("msg_a", "prt_a", "Hel"),
            delta("msg_a", "prt_a", "lo"),
            text_part("prt_a", "msg_a", "Hello"),
            assistant(
                "msg_a",
                serde_json::json!({"finish": "stop", "tokens": {"input": 10, "output": 2}, "cost": 0.5}),
            ),
            frame("server.heartbeat", serde_json::json!({})),
            idle(),
        ],
    );
    assert_eq!(
        events[0],
        AgentEvent::Message {
            id: "msg_a".into(),
            role: Role::Assistant
        }
    );
    assert!(
        matches!(&events[1], AgentEvent::Part(p) if p.kind == PartKind::Text { text: String::new() })
    );
    assert!(matches!(&events[2], AgentEvent::Delta { text, .. } if text == "Hel"));
    assert!(
        matches!(&events[4], AgentEvent::Part(p) if p.kind == PartKind::Text { text: "Hello".into() })
    );
    let AgentEvent::TurnEnded {
        error,
        aborted,
        usage,
    } = events.last().expect("events")
    else {
        panic!("the turn did not end: {events:?}");
    };
    assert_eq!((error.clone(), *aborted), (None, false));
    let usage = usage.clone().expect("usage");
    assert_eq!(
        (usage.tokens_in, usage.tokens_out, usage.cost_usd),
        (Some(10), Some(2), Some(0.5))
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, AgentEvent::Message { .. }))
            .count(),
        1,
        "user messages are flotilla's own"
    );
}

#[test]
fn tool_steps_do_not_end_the_turn_and_tools_carry_status_and_output() {
    let mut m = Mapper::default();
    m.start_turn();
    let tool = |status: &str, output: Option<&str>| {
        let mut state =
            serde_json::json!({"status": status, "input": {"filePath": "a.txt", "content": "x"}});
        if let Some(o) = output {
            state["output"] = o.into();
        }
        frame(
            "message.part.updated",
            serde_json::json!({"sessionID": S, "part": {"id": "prt_t", "messageID": "msg_a", "type": "tool", "tool": "write", "callID": "c1", "state": state}}),
        )
    };
    let events = feed(
        &mut m,
        &[
            assistant("msg_a", serde_json::json!({})),
            tool("pending", None),
            tool("running", None),
            tool("completed", Some("wrote a.txt")),
            assistant("msg_a", serde_json::json!({"finish": "tool-calls"})),
        ],
    );
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, AgentEvent::TurnEnded { .. })),
        "finish tool-calls is not the end"
    );
    let last_tool = events.iter().rev().find_map(|e| match e {
        AgentEvent::Part(p) => Some(p.kind.clone()),
        _ => None,
    });
    assert_eq!(
        last_tool,
        Some(PartKind::Tool {
            name: "write".into(),
            input: serde_json::json!({"filePath": "a.txt", "content": "x"}),
            status: ToolStatus::Completed,
            output: Some("wrote a.txt".into()),
        })
    );
    assert!(matches!(
        feed(&mut m, &[idle()]).as_slice(),
        [AgentEvent::TurnEnded { error: None, .. }]
    ));
}

#[test]
fn errors_and_aborts_end_turns_as_they_should() {
    let mut m = Mapper::default();
    m.start_turn();
    let error = frame(
        "session.error",
        serde_json::json!({"sessionID": S, "error": {"name": "APIError", "data": {"message": "rate limited"}}}),
    );
    let events = feed(&mut m, &[error, idle()]);
    assert!(
        matches!(&events[..], [AgentEvent::TurnEnded { error: Some(e), aborted: false, .. }] if e.contains("rate limited"))
    );

    m.start_turn();
    let aborted = frame(
        "session.error",
        serde_json::json!({"sessionID": S, "error": {"name": "MessageAbortedError", "data": {"message": "aborted"}}}),
    );
    let events = feed(&mut m, &[aborted, idle(), idle()]);
    assert_eq!(
        events.len(),
        1,
        "a second idle does not end another turn: {events:?}"
    );
    assert!(matches!(
        &events[0],
        AgentEvent::TurnEnded {
            error: None,
            aborted: true,
            ..
        }
    ));
}

#[test]
fn permissions_are_asked_and_replied() {
    let mut m = Mapper::default();
    m.start_turn();
    let asked = frame(
        "permission.asked",
        serde_json::json!({"id": "per_1", "sessionID": S, "permission": "edit", "patterns": ["a.txt"],
            "metadata": {"filepath": "/w/a.txt", "diff": "--- a\n+++ b\n+x"}, "tool": {"messageID": "msg_a", "callID": "c1"}}),
    );
    assert!(!m.asks("per_1"));
    let events = feed(&mut m, &[asked]);
    assert!(
        m.asks("per_1"),
        "an open request is known, so a re-sync skips it"
    );
    let Some(AgentEvent::Part(part)) = events.last() else {
        panic!("{events:?}")
    };
    assert_eq!(
        part.kind,
        PartKind::Permission {
            request_id: "per_1".into(),
            tool: "edit".into(),
            detail: "/w/a.txt".into(),
            diff: Some("--- a\n+++ b\n+x".into()),
            reply: None,
        }
    );
    let replied = frame(
        "permission.replied",
        serde_json::json!({"sessionID": S, "requestID": "per_1", "reply": "once"}),
    );
    let events = feed(&mut m, &[replied]);
    assert!(
        matches!(&events[..], [AgentEvent::Part(p)] if matches!(p.kind, PartKind::Permission { reply: Some(Answer::Once), .. }))
    );
    assert!(!m.asks("per_1"), "answered: no longer open");
}

#[test]
fn bad_and_unknown_input_is_ignored_or_an_error_never_a_panic() {
    assert!(parse("").is_err());
    assert!(
        parse("{\"type\": \"message.part.upd").is_err(),
        "truncated frame"
    );
    assert!(parse("[1,2,3]").is_err());
    assert!(parse("{\"no\": \"type\"}").is_err());
    assert_eq!(
        parse(&frame("plugin.added", serde_json::json!({}))),
        Ok(OcEvent::Other("plugin.added".into()))
    );
    let wrapped = serde_json::json!({"directory": "/w", "payload": {"type": "session.idle", "properties": {"sessionID": S}}});
    assert_eq!(
        parse(&wrapped.to_string()),
        Ok(OcEvent::SessionIdle { session: S.into() })
    );
    // Known types with missing or mistyped fields map to nothing rather than failing.
    let mut m = Mapper::default();
    m.start_turn();
    for odd in [
        frame(
            "message.part.updated",
            serde_json::json!({"sessionID": S, "part": 7}),
        ),
        frame("message.updated", serde_json::json!({"sessionID": S})),
        frame(
            "permission.asked",
            serde_json::json!({"sessionID": S, "metadata": null}),
        ),
        frame(
            "message.part.delta",
            serde_json::json!({"sessionID": S, "field": "text"}),
        ),
        frame(
            "session.status",
            serde_json::json!({"sessionID": S, "status": "weird"}),
        ),
    ] {
        let _ = feed(&mut m, &[odd]);
    }
    assert!(m.busy, "nothing above ended the turn");
}

#[test]
fn a_status_idle_does_not_end_the_next_turn() {
    let mut m = Mapper::default();
    m.start_turn();
    assert_eq!(feed(&mut m, &[idle()]).len(), 1);
    m.start_turn();
    let late = frame(
        "session.status",
        serde_json::json!({"sessionID": S, "status": {"type": "idle"}}),
    );
    assert!(
        feed(&mut m, &[late]).is_empty(),
        "the previous turn's status must not end this one"
    );
    assert!(m.busy);
}
