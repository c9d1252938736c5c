//! The app-server mapper over what the real server printed. The captures are from
//! codex-cli 0.169.0 against the fake Responses server, recorded by
//! `scripts/capture-agents` (tests/captures.rs, the `codex_app_*` scenarios): a client
//! that sends `initialize`, `initialized`, `thread/start` (or `thread/resume`) and one
//! `turn/start` per prompt, and answers approvals as each scenario says.

use super::rpc::{self, Incoming};
use super::{Mapper, Step};
use crate::agent::{AgentEvent, Usage};
use crate::core::{PartKind, PermissionReply, Settled, ToolStatus};
use serde_json::{Value, json};

fn capture(name: &str) -> &'static str {
    match name {
        "app-text" => include_str!("../../../../tests/data/captures/codex/app-text.jsonl"),
        "app-command" => include_str!("../../../../tests/data/captures/codex/app-command.jsonl"),
        "app-command-declined" => {
            include_str!("../../../../tests/data/captures/codex/app-command-declined.jsonl")
        }
        "app-escalation" => {
            include_str!("../../../../tests/data/captures/codex/app-escalation.jsonl")
        }
        "app-file-change" => {
            include_str!("../../../../tests/data/captures/codex/app-file-change.jsonl")
        }
        "app-interrupt" => {
            include_str!("../../../../tests/data/captures/codex/app-interrupt.jsonl")
        }
        "app-resumed" => include_str!("../../../../tests/data/captures/codex/app-resumed.jsonl"),
        _ => panic!("no capture {name}"),
    }
}

/// Feeds a capture through a mapper as the backend would: the answer to `thread/start`
/// names the thread, the answer to `turn/start` begins a turn (message `m1`, `m2`, ...).
/// What the mapper would write back is collected too.
fn run(name: &str) -> (Mapper, Vec<AgentEvent>, Vec<String>) {
    let mut m = Mapper::new(None);
    let (mut events, mut sent, mut turns) = (Vec::new(), Vec::new(), 0);
    for line in capture(name).lines() {
        let Some(msg) = rpc::read(line) else {
            panic!("unreadable line in {name}: {line}")
        };
        match &msg {
            Incoming::Response { result: Ok(r), .. } if r.get("thread").is_some() => {
                events.extend(m.thread_started(r))
            }
            Incoming::Response { result: Ok(r), .. } if r.get("turn").is_some() => {
                turns += 1;
                m.begin_turn(format!("m{turns}"));
            }
            _ => {
                let Step { events: e, send } = m.incoming(msg);
                events.extend(e);
                sent.extend(send);
            }
        }
    }
    (m, events, sent)
}

fn ends(events: &[AgentEvent]) -> Vec<(Option<String>, bool, Option<Usage>)> {
    (events.iter())
        .filter_map(|e| match e {
            AgentEvent::TurnEnded {
                error,
                aborted,
                usage,
            } => Some((error.clone(), *aborted, usage.clone())),
            _ => None,
        })
        .collect()
}

fn deltas(events: &[AgentEvent], message: &str) -> Vec<String> {
    (events.iter())
        .filter_map(|e| match e {
            AgentEvent::Delta {
                message_id, text, ..
            } if message_id == message => Some(text.clone()),
            _ => None,
        })
        .collect()
}

fn permission(events: &[AgentEvent]) -> (String, String, String, Option<String>) {
    (events.iter())
        .find_map(|e| match e {
            AgentEvent::Part(p) => match &p.kind {
                PartKind::Permission {
                    request_id,
                    tool,
                    detail,
                    diff,
                    reply: None,
                } => Some((
                    request_id.clone(),
                    tool.clone(),
                    detail.clone(),
                    diff.clone(),
                )),
                _ => None,
            },
            _ => None,
        })
        .expect("a permission card")
}

fn last_tool(events: &[AgentEvent]) -> (String, ToolStatus) {
    (events.iter().rev())
        .find_map(|e| match e {
            AgentEvent::Part(p) => match &p.kind {
                PartKind::Tool { name, status, .. } => Some((name.clone(), *status)),
                _ => None,
            },
            _ => None,
        })
        .expect("a tool part")
}

#[test]
fn streamed_text_arrives_as_deltas_and_the_turn_ends_with_its_own_usage() {
    let (m, events, sent) = run("app-text");
    let ids: Vec<&AgentEvent> = (events.iter())
        .filter(|e| matches!(e, AgentEvent::AgentSessionId(_)))
        .collect();
    assert_eq!(ids.len(), 1, "the thread is named once");
    assert!(m.thread_id().is_some());
    let pieces = deltas(&events, "m1");
    assert!(pieces.len() >= 3, "{pieces:?}");
    assert_eq!(
        pieces.concat(),
        "Hello from the fake model, streamed in pieces."
    );
    assert!(
        matches!(&events[1], AgentEvent::Message { id, .. } if id == "m1"),
        "{events:?}"
    );
    let [(error, aborted, usage)] = ends(&events).try_into().expect("one turn");
    assert_eq!((error, aborted), (None, false));
    let usage = usage.expect("usage");
    assert_eq!(
        (usage.tokens_in, usage.tokens_out),
        (Some(10), Some(5)),
        "one call's"
    );
    assert!(sent.is_empty(), "nothing to answer: {sent:?}");
    assert!(m.rate_limits().is_some(), "kept for Info");
}

#[test]
fn a_command_approval_becomes_a_card_and_the_answer_goes_back_under_the_servers_id() {
    let mut m = Mapper::new(None);
    m.begin_turn("m1".into());
    let mut events = Vec::new();
    let mut request = None;
    for line in capture("app-command").lines() {
        match rpc::read(line) {
            Some(msg @ Incoming::Request { .. }) => {
                request = Some(msg.clone());
                events.extend(m.incoming(msg).events);
                break;
            }
            Some(msg @ Incoming::Notification { .. }) => events.extend(m.incoming(msg).events),
            _ => {}
        }
    }
    let Some(Incoming::Request { id, .. }) = request else {
        panic!("the capture asks")
    };
    let (request_id, tool, detail, diff) = permission(&events);
    assert_eq!(
        (tool.as_str(), detail.as_str()),
        ("bash", "touch made-by-command.txt")
    );
    assert_eq!(diff, None);
    assert!(m.answer("no-such", PermissionReply::Once).is_none());
    let answered = m.answer(&request_id, PermissionReply::Once).expect("open");
    let want = json!({"id": id, "result": {"decision": "accept"}});
    let sent: Value = serde_json::from_str(&answered.send[0]).unwrap();
    assert_eq!(sent, want);
    let AgentEvent::Part(card) = &answered.events[0] else {
        panic!()
    };
    assert!(matches!(
        card.kind,
        PartKind::Permission {
            reply: Some(Settled::Once),
            ..
        }
    ));
    assert!(
        m.answer(&request_id, PermissionReply::Once).is_none(),
        "answered once"
    );
}

#[test]
fn always_and_deny_answer_accept_for_session_and_decline() {
    for (reply, decision) in [
        (PermissionReply::Always, "acceptForSession"),
        (PermissionReply::Deny, "decline"),
    ] {
        let mut m = Mapper::new(None);
        m.begin_turn("m1".into());
        let asked = rpc::read(
            r#"{"id":7,"method":"item/commandExecution/requestApproval","params":{"itemId":"c1","command":"/bin/bash -lc 'rm x'"}}"#,
        )
        .unwrap();
        let events = m.incoming(asked).events;
        let (request_id, _, detail, _) = permission(&events);
        assert_eq!(
            detail, "/bin/bash -lc 'rm x'",
            "the command when no action says more"
        );
        let step = m.answer(&request_id, reply).unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&step.send[0]).unwrap(),
            json!({"id": 7, "result": {"decision": decision}})
        );
    }
}

#[test]
fn a_declined_command_ends_as_an_error_and_the_turn_goes_on() {
    let (_, events, _) = run("app-command-declined");
    assert_eq!(last_tool(&events), ("bash".into(), ToolStatus::Error));
    let text = deltas(&events, "m1").concat();
    assert_eq!(text, "Understood, I did not run it.");
    let [(error, aborted, _)] = ends(&events).try_into().expect("one turn");
    assert_eq!((error, aborted), (None, false));
}

#[test]
fn an_escalation_card_says_why_the_model_asks() {
    let (_, events, _) = run("app-escalation");
    let (_, tool, detail, _) = permission(&events);
    assert_eq!(tool, "bash");
    assert_eq!(detail, "touch escalated.txt (the test asks for it)");
    assert_eq!(last_tool(&events), ("bash".into(), ToolStatus::Completed));
}

#[test]
fn a_file_change_card_shows_the_patch() {
    let (_, events, _) = run("app-file-change");
    let (_, tool, detail, diff) = permission(&events);
    assert_eq!(tool, "apply_patch");
    assert_eq!(detail, "add /workspace/made.txt");
    let diff = diff.expect("a diff");
    assert!(
        diff.contains("+++ /workspace/made.txt\n+made by codex\n"),
        "{diff}"
    );
    assert_eq!(
        last_tool(&events),
        ("apply_patch".into(), ToolStatus::Completed)
    );
}

#[test]
fn an_interrupted_turn_is_aborted_not_failed_and_usage_is_per_turn() {
    let (_, events, _) = run("app-interrupt");
    let turns = ends(&events);
    assert_eq!(turns.len(), 2);
    assert_eq!((turns[0].0.clone(), turns[0].1), (None, false));
    assert_eq!(
        (turns[1].0.clone(), turns[1].1),
        (None, true),
        "interrupted"
    );
    let first = turns[0].2.clone().expect("usage");
    assert!(first.tokens_in.is_some_and(|n| n > 0));
    // The second turn counts only what it used, not the thread's running total.
    if let Some(second) = &turns[1].2 {
        assert!(
            second.tokens_in <= first.tokens_in,
            "{second:?} vs {first:?}"
        );
    }
    assert!(
        !deltas(&events, "m2").is_empty(),
        "streamed before the interrupt"
    );
}

#[test]
fn a_resumed_thread_is_not_named_again() {
    let mut m = Mapper::new(Some("t".into()));
    let events = m.thread_started(&json!({"thread": {"id": "t"}}));
    assert!(events.is_empty());
    let (_, events, _) = run("app-resumed");
    assert_eq!(ends(&events).len(), 2, "a turn in each process");
    assert!(!deltas(&events, "m2").is_empty());
}

#[test]
fn requests_flotilla_does_not_handle_are_refused_so_the_server_goes_on() {
    let mut m = Mapper::new(None);
    let asked = r#"{"id":"q1","method":"item/tool/requestUserInput","params":{}}"#;
    let step = m.incoming(rpc::read(asked).unwrap());
    assert!(step.events.is_empty());
    let sent: Value = serde_json::from_str(&step.send[0]).unwrap();
    assert_eq!(sent["id"], "q1");
    assert_eq!(sent["error"]["code"], -32601);
}

#[test]
fn an_unanswered_card_is_withdrawn_when_the_turn_ends() {
    let mut m = Mapper::new(None);
    m.begin_turn("m1".into());
    let asked = r#"{"id":3,"method":"item/fileChange/requestApproval","params":{"itemId":"f"}}"#;
    m.incoming(rpc::read(asked).unwrap());
    let done = r#"{"method":"turn/completed","params":{"turn":{"status":"failed","error":{"message":"boom"}}}}"#;
    let events = m.incoming(rpc::read(done).unwrap()).events;
    assert!(
        events
            .iter()
            .any(|e| matches!(e, AgentEvent::Part(p) if matches!(p.kind,
        PartKind::Permission { reply: Some(Settled::Withdrawn), .. })))
    );
    assert_eq!(ends(&events), [(Some("boom".into()), false, None)]);
}

#[test]
fn lines_that_are_not_json_rpc_read_as_nothing() {
    for line in [
        "",
        "not json",
        "[1,2]",
        r#"{"id":null}"#,
        r#"{"result":1}"#,
        "{\"id\":\"x\"}",
    ] {
        assert_eq!(rpc::read(line), None, "{line}");
    }
    let error = rpc::read(r#"{"id":4,"error":{"code":-1,"message":"no such thread"}}"#);
    assert_eq!(
        error,
        Some(Incoming::Response {
            id: 4,
            result: Err("no such thread".into())
        })
    );
}

#[test]
fn rate_limits_become_one_line_for_info_and_empty_ones_nothing() {
    use super::mapper::limits_line;
    // As the fake's account reports them: nothing known.
    let (_, events, _) = run("app-text");
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, AgentEvent::RateLimits(_)))
    );
    let limits = json!({
        "primary": {"usedPercent": 42, "windowDurationMins": 300, "resetsAt": 1796233588},
        "secondary": {"usedPercent": 7, "windowDurationMins": 10080, "resetsAt": null},
        "planType": "pro",
        "rateLimitReachedType": null
    });
    assert_eq!(
        limits_line(&limits).as_deref(),
        Some(
            "primary 42% used of 5h, resets 2026-12-02 17:46 UTC · secondary 7% used of 7d · plan pro"
        )
    );
    let mut m = Mapper::new(None);
    let said = r#"{"method":"account/rateLimits/updated","params":{"rateLimits":{"primary":{"usedPercent":99},"rateLimitReachedType":"primary"}}}"#;
    let events = m.incoming(rpc::read(said).unwrap()).events;
    assert_eq!(
        events,
        [AgentEvent::RateLimits(
            "primary 99% used · limit reached (primary)".into()
        )]
    );
}
