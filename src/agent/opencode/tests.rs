//! OpenCode frames written by hand for the cases the captures do not hold.

use super::events::{Mapper, OcEvent, parse};
use crate::agent::AgentEvent;

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

fn idle() -> String {
    frame("session.idle", serde_json::json!({"sessionID": S}))
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
