//! OpenCode's real event stream through the parser and the mapper: the `data:` payloads
//! `scripts/capture-agents` recorded from the pinned server while one prompt ran
//! (tests/data/captures/opencode), routed and mapped as the instance and the driver do.
//! The fake model said what the tests expect; temporary paths are written as `/workspace`.

use super::events::{Mapper, OcEvent, parse};
use crate::agent::captured::{parts, tool};
use crate::agent::{AgentEvent, Usage};
use crate::core::{Part, PartKind, Settled, ToolStatus};
use serde_json::{Value, json};

macro_rules! capture {
    ($name:literal) => {
        include_str!(concat!(
            "../../../tests/data/captures/opencode/",
            $name,
            ".jsonl"
        ))
    };
}

/// Types flotilla takes nothing from. A new one in a capture fails the replay: look at
/// what it says, then map it or list it here.
const IGNORED: &[&str] = &[
    "server.connected",
    "session.created",
    "session.updated",
    "session.diff",
    "plugin.added",
    "catalog.updated",
    "reference.updated",
    "integration.updated",
    "file.edited",
    "file.watcher.updated",
];

/// A capture replayed: the session's events, its turn's ends, and the mapper after it.
struct Replay {
    events: Vec<AgentEvent>,
    ends: Vec<(Option<String>, bool, Option<Usage>)>,
    mapper: Mapper,
}

/// Parses every frame, routes those of the capture's one session to a mapper whose turn
/// started with the prompt, and checks that each frame that says something is mapped.
fn replay(capture: &str) -> Replay {
    let mut mapper = Mapper::default();
    mapper.start_turn();
    let (mut events, mut ends, mut session) = (Vec::new(), Vec::new(), None);
    let mut users = Vec::new();
    for (n, data) in capture.lines().enumerate() {
        let v: Value = serde_json::from_str(data).unwrap_or_else(|e| panic!("frame {n}: {e}"));
        let event = parse(data).unwrap_or_else(|e| panic!("frame {n}: {e}"));
        let kind = v["type"].as_str().unwrap_or("");
        let props = &v["properties"];
        if kind == "session.created" {
            session = props["sessionID"].as_str().map(str::to_string);
        }
        let Some(of) = event.session() else {
            assert!(IGNORED.contains(&kind), "frame {n} of a new type: {data}");
            continue;
        };
        assert_eq!(Some(of), session.as_deref(), "frame {n} of another session");
        if kind == "message.updated" && props["info"]["role"] == "user" {
            users.push(props["info"]["id"].clone());
        }
        let message = match &event {
            OcEvent::PartUpdated { part, .. } => part["messageID"].clone(),
            OcEvent::PartDelta { message, .. } => json!(message),
            _ => Value::Null,
        };
        let mapped = mapper.map(event);
        let is = |f: fn(&AgentEvent) -> bool| mapped.iter().any(f);
        let part = |e: &AgentEvent| matches!(e, AgentEvent::Part(_));
        let ok = match kind {
            _ if users.contains(&message) => mapped.is_empty(),
            "message.part.delta" => is(|e| matches!(e, AgentEvent::Delta { .. })),
            "message.part.updated" => match props["part"]["type"].as_str() {
                Some("text" | "reasoning" | "tool") => is(part),
                _ => mapped.is_empty(),
            },
            "permission.asked" | "permission.replied" => is(part),
            "session.idle" => matches!(mapped[..], [AgentEvent::TurnEnded { .. }]),
            "message.updated" | "session.status" | "session.error" => mapped
                .iter()
                .all(|e| matches!(e, AgentEvent::Message { .. })),
            _ => false,
        };
        assert!(ok, "frame {n} mapped to {mapped:?}: {data}");
        for event in &mapped {
            if let AgentEvent::TurnEnded {
                error,
                aborted,
                usage,
            } = event
            {
                ends.push((error.clone(), *aborted, usage.clone()));
            }
        }
        events.extend(mapped);
    }
    assert!(!users.is_empty(), "the prompt's message is in the capture");
    Replay {
        events,
        ends,
        mapper,
    }
}

/// The text parts: streamed text and last whole text, in the order they began.
fn texts(events: &[AgentEvent]) -> Vec<(String, String)> {
    let (mut ids, mut texts) = (Vec::new(), Vec::<(String, String)>::new());
    for event in events {
        let (id, piece, whole) = match event {
            AgentEvent::Delta { part_id, text, .. } => (part_id, Some(text), None),
            AgentEvent::Part(Part {
                id,
                kind: PartKind::Text { text },
                ..
            }) => (id, None, Some(text)),
            _ => continue,
        };
        let i = ids.iter().position(|i| i == &id).unwrap_or_else(|| {
            ids.push(id);
            texts.push(Default::default());
            ids.len() - 1
        });
        texts[i].0.push_str(piece.map_or("", String::as_str));
        if let Some(whole) = whole {
            texts[i].1 = whole.clone();
        }
    }
    texts
}

fn both(text: &str) -> (String, String) {
    (text.to_string(), text.to_string())
}

fn messages(events: &[AgentEvent]) -> usize {
    let announced = events
        .iter()
        .filter(|e| matches!(e, AgentEvent::Message { .. }));
    announced.count()
}

/// The one turn's end: no error, not aborted, with the tokens of `requests` model calls.
fn ended_well(r: &Replay, requests: u64) {
    assert_eq!(r.ends.len(), 1, "{:?}", r.ends);
    let (error, aborted, usage) = r.ends[0].clone();
    assert_eq!((error, aborted), (None, false));
    let usage = usage.expect("usage");
    let tokens = (usage.tokens_in, usage.tokens_out);
    assert_eq!(tokens, (Some(10 * requests), Some(5 * requests)));
    assert!(matches!(
        r.events.last(),
        Some(AgentEvent::TurnEnded { .. })
    ));
    assert!(!r.mapper.busy);
}

#[test]
fn a_streamed_reply_arrives_whole_and_in_order_and_ends_the_turn_with_usage() {
    let r = replay(capture!("text"));
    let hello = "Hello from the fake model, streamed in pieces.";
    assert_eq!(texts(&r.events), [both(hello)], "the prompt is no part");
    assert_eq!(messages(&r.events), 1);
    ended_well(&r, 1);
}

#[test]
fn a_tool_runs_to_its_output_and_its_step_does_not_end_the_turn() {
    let r = replay(capture!("tool"));
    let states = tool(&r.events);
    assert_eq!(states.first().map(|s| s.2), Some(ToolStatus::Pending));
    let (name, input, status, output) = states.last().cloned().expect("a tool");
    assert_eq!((name.as_str(), status), ("bash", ToolStatus::Completed));
    assert_eq!(input["command"], "echo flotilla-tool-output");
    assert_eq!(output.as_deref(), Some("flotilla-tool-output\n"));
    assert_eq!(texts(&r.events), [both("The command ran.")]);
    // The step with the tool call and the one with the answer: two messages, one turn.
    assert_eq!(messages(&r.events), 2);
    ended_well(&r, 2);
}

#[test]
fn an_edit_asks_and_the_answer_updates_the_card() {
    let capture = capture!("permission");
    let lines: Vec<&str> = capture.lines().collect();
    let asked = lines
        .iter()
        .position(|l| l.contains("\"permission.asked\""));
    let before = lines[..=asked.expect("a permission frame")].join("\n");
    // Up to the question: an open card in the tool's message, with the diff.
    let r = replay(&before);
    let card = parts(&r.events).pop().expect("the card").clone();
    let PartKind::Permission {
        request_id,
        tool: name,
        detail,
        diff,
        reply: None,
    } = &card.kind
    else {
        panic!("an open card: {card:?}")
    };
    assert!(request_id.starts_with("per_") && r.mapper.asks(request_id));
    assert_eq!(
        (name.as_str(), detail.as_str()),
        ("edit", "/workspace/made.txt")
    );
    let diff = diff.as_deref().unwrap_or_default();
    assert!(diff.contains("+made by opencode"), "{diff}");
    let write = tool(&r.events).pop().expect("the write");
    assert_eq!((write.0.as_str(), write.2), ("write", ToolStatus::Running));
    let tool_message = parts(&r.events)
        .iter()
        .find(|p| matches!(p.kind, PartKind::Tool { .. }))
        .map(|p| p.message_id.clone());
    assert_eq!(Some(card.message_id.clone()), tool_message);

    // The whole stream: the answer comes back as an event and closes the card.
    let r = replay(capture);
    let answered = parts(&r.events).into_iter().rfind(|p| p.id == card.id);
    assert!(
        matches!(
            &answered.expect("the card").kind,
            PartKind::Permission {
                reply: Some(Settled::Once),
                ..
            }
        ),
        "{answered:?}"
    );
    assert!(!r.mapper.asks(request_id), "answered: not open");
    let (_, input, status, output) = tool(&r.events).pop().expect("the write");
    assert_eq!(input["filePath"], "/workspace/made.txt");
    assert_eq!(
        (status, output.as_deref()),
        (ToolStatus::Completed, Some("Wrote file successfully."))
    );
    assert_eq!(texts(&r.events), [both("I wrote the file.")]);
    ended_well(&r, 2);
}

#[test]
fn an_api_error_is_an_error_turn() {
    let r = replay(capture!("api-error"));
    assert_eq!(r.ends.len(), 1);
    let (error, aborted, _) = r.ends[0].clone();
    assert_eq!(
        error.as_deref(),
        Some("APIError: the fake model refuses this")
    );
    assert!(!aborted);
    assert!(texts(&r.events).is_empty());
    assert!(!r.mapper.busy);
}
