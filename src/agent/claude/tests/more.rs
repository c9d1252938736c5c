//! More Claude Code lines: the command line and the lines written to Claude, splitting
//! its output into lines, message ids, reasoning, and interrupts.

use super::super::events::Mapper;
use super::super::lines;
use super::super::{Settings, args};
use super::{
    S, assistant, block_start, can_use_tool, feed, message_start, parts, result, stream,
    text_delta, turn, turn_end, with_session,
};
use crate::agent::{AgentEvent, Launch};
use crate::core::SessionId;
use crate::core::{PartKind, Settled};
use crate::lines::Line;
use serde_json::{Value, json};

#[test]
fn the_command_line_starts_or_resumes_with_model_and_mode() {
    let launch = Launch {
        session: SessionId::new(),
        workspace: "/w".into(),
        agent_session_id: None,
        model: Some("claude-sonnet".into()),
        groups: crate::process_groups::Registry::none(),
        env: Vec::new(),
    };
    let settings = Settings {
        permission_mode: Some("acceptEdits".into()),
    };
    let fresh = args(&settings, &launch, None).join(" ");
    assert!(fresh.starts_with("-p --input-format stream-json --output-format stream-json --verbose --permission-prompt-tool stdio --include-partial-messages"), "{fresh}");
    assert!(fresh.contains(&format!("--session-id {}", launch.session)));
    assert!(fresh.ends_with("--model claude-sonnet --permission-mode acceptEdits"));
    let resumed = args(&Settings::default(), &launch, Some("abc")).join(" ");
    assert!(resumed.contains("--resume=abc") && !resumed.contains("--session-id"));
    assert!(!resumed.contains("--permission-mode"));
    let user: Value = serde_json::from_str(&lines::user("hi \"there\"")).expect("json");
    assert_eq!(user["message"]["content"], "hi \"there\"");
    assert_eq!(user["type"], "user");
}

#[test]
fn the_initialize_answer_means_ready() {
    let mut m = Mapper::new("", None);
    let line = json!({"type": "control_response", "response": {"subtype": "success", "request_id": lines::INIT_REQUEST, "response": {"commands": []}}});
    assert_eq!(m.map_line(&line.to_string()).events, [AgentEvent::Ready]);
    let init: Value = serde_json::from_str(&lines::initialize()).expect("json");
    assert_eq!(init["request"]["subtype"], "initialize");
}

#[test]
fn a_repeated_api_message_id_gets_a_new_flotilla_message() {
    let mut m = Mapper::new("p-", Some(S.into()));
    m.start_turn();
    let events = feed(
        &mut m,
        &[
            message_start("msg_fake"),
            assistant(
                "msg_fake",
                json!({"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {"file_path": "/w/x"}}),
            ),
            message_start("msg_fake"),
            block_start(0, json!({"type": "text", "text": ""})),
            assistant("msg_fake", json!({"type": "text", "text": "done"})),
        ],
    );
    let messages: Vec<&AgentEvent> = events
        .iter()
        .filter(|e| matches!(e, AgentEvent::Message { .. }))
        .collect();
    assert_eq!(messages.len(), 2);
    let ps = parts(&events);
    assert_eq!(ps[0].id, "p-msg_fake:0");
    assert_eq!(ps.last().map(|p| p.id.as_str()), Some("p-msg_fake~2:0"));
}

#[test]
fn a_very_long_line_comes_through_whole_and_parses() {
    let text = "z".repeat(3 * 1024 * 1024);
    let line = assistant("msg_big", json!({"type": "text", "text": text}));
    let whole = format!("{line}\n");
    let got = crate::lines::cut(
        crate::agent::piped::MAX_LINE,
        whole.as_bytes().chunks(64 * 1024),
    );
    let [Line::Text(whole)] = got.as_slice() else {
        panic!("one line expected")
    };
    let mut m = turn();
    let events = feed(&mut m, std::slice::from_ref(whole));
    assert!(matches!(&parts(&events)[0].kind, PartKind::Text { text: t } if t.len() == text.len()));
}

#[test]
fn thinking_streams_as_reasoning_next_to_the_text() {
    let mut m = turn();
    let thinking = |delta: &str| {
        stream(json!({"type": "content_block_delta", "index": 0,
            "delta": {"type": "thinking_delta", "thinking": delta}}))
    };
    let events = feed(
        &mut m,
        &[
            message_start("msg_1"),
            block_start(0, json!({"type": "thinking", "thinking": ""})),
            thinking("hmm"),
            assistant(
                "msg_1",
                json!({"type": "thinking", "thinking": "hmm", "signature": "x"}),
            ),
            block_start(1, json!({"type": "text", "text": ""})),
            assistant("msg_1", json!({"type": "text", "text": "answer"})),
        ],
    );
    let ps = parts(&events);
    assert_eq!(ps[1].id, "msg_1:0");
    assert_eq!(ps[1].kind, PartKind::Reasoning { text: "hmm".into() });
    assert_eq!(ps[3].id, "msg_1:1");
    assert_eq!(
        ps[3].kind,
        PartKind::Text {
            text: "answer".into()
        }
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, AgentEvent::Delta { part_id, text, .. }
        if part_id == "msg_1:0" && text == "hmm"))
    );
}

#[test]
fn an_interrupted_turn_is_aborted_and_closes_open_permissions() {
    let mut m = turn();
    feed(
        &mut m,
        &[
            message_start("msg_1"),
            block_start(0, json!({"type": "text", "text": ""})),
            text_delta(0, "chunk 0 "),
        ],
    );
    m.map_line(&can_use_tool(
        "req_1",
        "Write",
        json!({"file_path": "/w/x"}),
    ));
    let closed = m.interrupt();
    assert!(matches!(
        &parts(&closed)[0].kind,
        PartKind::Permission {
            reply: Some(Settled::Withdrawn),
            ..
        }
    ));
    let line = lines::interrupt("flotilla_interrupt_1");
    let sent: Value = serde_json::from_str(&line).expect("json");
    assert_eq!(sent["request"]["subtype"], "interrupt");
    let events = feed(
        &mut m,
        &[
            json!({"type": "control_response", "response": {"subtype": "success", "request_id": "flotilla_interrupt_1"}}).to_string(),
            assistant("msg_1", json!({"type": "text", "text": "chunk 0 "})),
            with_session(json!({"type": "user", "message": {"role": "user", "content": [{"type": "text", "text": "[Request interrupted by user]"}]}})),
            result("error_during_execution", true, "", 0.0),
        ],
    );
    let (error, aborted, _) = turn_end(&events);
    assert_eq!((error, aborted), (None, true));
    assert!(parts(&events).iter().all(|p| p.id == "msg_1:0"));
    // A process killed mid-turn ends it as aborted, once, saying how it was stopped.
    m.start_turn();
    let how = Some("stopped with SIGINT".to_string());
    let (error, aborted, _) = turn_end(&m.abandon_turn(how.clone()));
    assert_eq!((error, aborted), (how, true));
    assert!(m.abandon_turn(None).is_empty());
}
