//! Claude Code's real output through the mapper: the stdout lines `scripts/capture-agents`
//! recorded from the pinned CLI (tests/data/captures/claude), mapped as the driver maps
//! them. The fake model said what the tests expect; the captures hold every line as Claude
//! printed it but for temporary paths, written as `/workspace`.

use super::super::events::Mapper;
use crate::agent::captured::{parts, tool};
use crate::agent::{AgentEvent, Usage};
use crate::core::{Part, PartKind, PermissionReply, Settled, ToolStatus};
use serde_json::Value;
use std::collections::BTreeMap;

/// The conversation id the captures were started with (`--session-id`).
const SESSION: &str = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0";
const HELLO: &str = "Hello from the fake model, streamed in pieces.";

macro_rules! capture {
    ($name:literal) => {
        include_str!(concat!(
            "../../../../tests/data/captures/claude/",
            $name,
            ".jsonl"
        ))
    };
}

/// A capture replayed: what it mapped to, and each turn's end.
struct Replay {
    events: Vec<AgentEvent>,
    ends: Vec<(Option<String>, bool, Option<Usage>)>,
    mapper: Mapper,
}

/// Maps every line as the driver does: a new process, a turn started with each prompt
/// (the capture wrote the next one after each `result`). `react` does what the capture
/// did after a line (answer a permission, interrupt) and returns what that mapped to.
fn replay(
    capture: &str,
    mut react: impl FnMut(&mut Mapper, &Value, &[AgentEvent]) -> Vec<AgentEvent>,
) -> Replay {
    let mut mapper = Mapper::new("", None);
    mapper.process_started();
    let (mut events, mut ends, mut turn_over) = (Vec::new(), Vec::new(), true);
    for (n, line) in capture.lines().enumerate() {
        if std::mem::take(&mut turn_over) {
            mapper.start_turn();
        }
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("line {n}: {e}"));
        let step = mapper.map_line(line);
        assert!(step.send.is_empty(), "line {n}: refused {:?}", step.send);
        counts(n, &v, &step.events);
        for event in &step.events {
            if let AgentEvent::TurnEnded {
                error,
                aborted,
                usage,
            } = event
            {
                ends.push((error.clone(), *aborted, usage.clone()));
                turn_over = true;
            }
        }
        let reacted = react(&mut mapper, &v, &step.events);
        events.extend(step.events);
        events.extend(reacted);
    }
    Replay {
        events,
        ends,
        mapper,
    }
}

/// Every line is one the mapper knows, and what it says is not dropped.
fn counts(n: usize, v: &Value, events: &[AgentEvent]) {
    let is = |f: fn(&AgentEvent) -> bool| events.iter().any(f);
    let part = |e: &AgentEvent| matches!(e, AgentEvent::Part(_));
    let event = &v["event"];
    let ok = match v["type"].as_str().unwrap_or("") {
        "control_response" if v["response"]["request_id"] == "flotilla_init" => {
            events == [AgentEvent::Ready]
        }
        "control_response" => events.is_empty(),
        "system" => events
            .iter()
            .all(|e| matches!(e, AgentEvent::AgentSessionId(_))),
        "stream_event" => match event["type"].as_str().unwrap_or("") {
            "message_start" => is(|e| matches!(e, AgentEvent::Message { .. })),
            "content_block_start" => is(part),
            "content_block_delta" if event["delta"]["type"] == "text_delta" => {
                let text = event["delta"]["text"].as_str();
                events.iter().any(
                    |e| matches!(e, AgentEvent::Delta { text: t, .. } if Some(t.as_str()) == text),
                )
            }
            _ => events.is_empty(),
        },
        // Claude's own messages (API errors) wait for the result, which may say the same.
        "assistant" if v["message"]["model"] == "<synthetic>" => events.is_empty(),
        "assistant" => is(part),
        "user" => {
            let blocks = v["message"]["content"].as_array().into_iter().flatten();
            let results = blocks.filter(|b| b["type"] == "tool_result").count();
            events.iter().filter(|e| part(e)).count() == results
        }
        "result" => matches!(events.last(), Some(AgentEvent::TurnEnded { .. })),
        "control_request" => is(|e| {
            matches!(e, AgentEvent::Part(p)
            if matches!(p.kind, PartKind::Permission { reply: None, .. }))
        }),
        _ => false,
    };
    assert!(ok, "line {n} mapped to {events:?}: {v}");
}

/// Each text part's streamed text and its last whole text, by part id.
fn texts(events: &[AgentEvent]) -> BTreeMap<String, (String, String)> {
    let mut texts: BTreeMap<String, (String, String)> = BTreeMap::new();
    for event in events {
        match event {
            AgentEvent::Delta { part_id, text, .. } => {
                texts.entry(part_id.clone()).or_default().0.push_str(text)
            }
            AgentEvent::Part(Part {
                id,
                kind: PartKind::Text { text },
                ..
            }) => texts.entry(id.clone()).or_default().1 = text.clone(),
            _ => {}
        }
    }
    texts
}

fn text_of(events: &[AgentEvent]) -> Vec<(String, String)> {
    texts(events).into_values().collect()
}

fn nothing(_: &mut Mapper, _: &Value, _: &[AgentEvent]) -> Vec<AgentEvent> {
    Vec::new()
}

fn both(text: &str) -> (String, String) {
    (text.to_string(), text.to_string())
}

#[test]
fn a_streamed_reply_arrives_whole_and_in_order_and_each_turn_costs_what_it_added() {
    let r = replay(capture!("text"), nothing);
    assert_eq!(
        r.events[0],
        AgentEvent::Ready,
        "initialize is answered first"
    );
    let ids: Vec<&AgentEvent> = r
        .events
        .iter()
        .filter(|e| matches!(e, AgentEvent::AgentSessionId(_)))
        .collect();
    assert_eq!(ids, [&AgentEvent::AgentSessionId(SESSION.into())]);
    assert_eq!(r.mapper.session_id.as_deref(), Some(SESSION));
    // Both turns' messages have the fake's one API id: each gets its own, one part each.
    let by_part = texts(&r.events);
    assert_eq!(
        by_part.keys().collect::<Vec<_>>(),
        ["msg_fake:0", "msg_fake~2:0"]
    );
    assert_eq!(text_of(&r.events), [both(HELLO), both("Hello again.")]);
    assert_eq!(r.ends.len(), 2);
    let usage = |i: usize| r.ends[i].2.clone().expect("usage");
    for (i, end) in r.ends.iter().enumerate() {
        assert_eq!((&end.0, end.1), (&None, false), "turn {i}");
        assert_eq!(
            (usage(i).tokens_in, usage(i).tokens_out),
            (Some(10), Some(5))
        );
    }
    // Claude reports the process's cost so far: the same reply costs the same again.
    let (first, second) = (
        usage(0).cost_usd.expect("cost"),
        usage(1).cost_usd.expect("cost"),
    );
    assert!(
        first > 0.0 && (second - first).abs() < 1e-9,
        "{first} then {second}"
    );
    assert!(!r.mapper.busy);
}

#[test]
fn a_tool_runs_and_its_result_completes_its_part() {
    let r = replay(capture!("tool"), nothing);
    let states = tool(&r.events);
    let statuses: Vec<ToolStatus> = states.iter().map(|s| s.2).collect();
    use ToolStatus::{Completed, Pending, Running};
    assert_eq!(
        statuses,
        [Pending, Running, Completed],
        "streamed, whole, done"
    );
    let (name, input, _, output) = states.last().cloned().expect("a tool");
    assert_eq!(name, "Bash");
    assert_eq!(input["command"], "echo flotilla-tool-output");
    assert_eq!(output.as_deref(), Some("flotilla-tool-output"));
    let tool_ids: Vec<&str> = parts(&r.events)
        .iter()
        .filter(|p| matches!(p.kind, PartKind::Tool { .. }))
        .map(|p| p.id.as_str())
        .collect();
    assert!(
        tool_ids.iter().all(|id| *id == "msg_fake:0"),
        "{tool_ids:?}"
    );
    assert!(cards(&r.events).is_empty(), "nothing asked");
    assert_eq!(text_of(&r.events), [both("The command ran.")]);
    let (error, aborted, usage) = r.ends.last().cloned().expect("an end");
    assert_eq!((error, aborted), (None, false));
    let usage = usage.expect("usage");
    assert_eq!(
        (usage.tokens_in, usage.tokens_out),
        (Some(20), Some(10)),
        "two requests"
    );
}

/// Answers the permission card a line asked for, checking the line written to Claude.
fn answer(
    reply: PermissionReply,
) -> impl FnMut(&mut Mapper, &Value, &[AgentEvent]) -> Vec<AgentEvent> {
    move |m, v, events| {
        let Some(request_id) = parts(events).iter().find_map(|p| match &p.kind {
            PartKind::Permission {
                request_id,
                reply: None,
                ..
            } => Some(request_id.clone()),
            _ => None,
        }) else {
            return Vec::new();
        };
        assert_eq!(request_id, v["request_id"].as_str().expect("an id"));
        let step = m.answer(&request_id, reply).expect("an open request");
        let sent: Value = serde_json::from_str(&step.send[0]).expect("json");
        assert_eq!(sent["response"]["request_id"], v["request_id"]);
        let said = &sent["response"]["response"];
        match reply {
            PermissionReply::Deny => assert_eq!(said["behavior"], "deny"),
            _ => {
                assert_eq!(said["behavior"], "allow");
                assert_eq!(
                    said["updatedInput"], v["request"]["input"],
                    "the input as asked"
                );
            }
        }
        assert!(m.answer(&request_id, reply).is_none(), "answered once");
        step.events
    }
}

/// The permission card as asked and as answered.
fn cards(events: &[AgentEvent]) -> Vec<(String, String, String, Option<Settled>)> {
    let cards = parts(events).into_iter().filter_map(|p| match &p.kind {
        PartKind::Permission {
            tool,
            detail,
            reply,
            ..
        } => Some((p.message_id.clone(), tool.clone(), detail.clone(), *reply)),
        _ => None,
    });
    cards.collect()
}

#[test]
fn a_write_asks_and_the_allowed_tool_completes() {
    let r = replay(capture!("permission"), answer(PermissionReply::Once));
    let asked = (
        "msg_fake".to_string(),
        "Write".to_string(),
        "/workspace/made.txt".to_string(),
    );
    let with = |a: Option<Settled>| (asked.0.clone(), asked.1.clone(), asked.2.clone(), a);
    assert_eq!(cards(&r.events), [with(None), with(Some(Settled::Once))]);
    let (name, input, status, output) = tool(&r.events).pop().expect("a tool");
    assert_eq!((name.as_str(), status), ("Write", ToolStatus::Completed));
    assert_eq!(input["file_path"], "/workspace/made.txt");
    let output = output.unwrap_or_default();
    assert!(
        output.starts_with("File created successfully at: /workspace/made.txt"),
        "{output}"
    );
    assert_eq!(text_of(&r.events), [both("I wrote the file.")]);
    assert_eq!(r.ends.len(), 1);
    assert_eq!((&r.ends[0].0, r.ends[0].1), (&None, false));
    let messages = r
        .events
        .iter()
        .filter(|e| matches!(e, AgentEvent::Message { .. }));
    assert_eq!(messages.count(), 2, "tool results are no messages");
}

#[test]
fn a_denied_write_fails_its_tool_and_the_turn_goes_on() {
    let r = replay(capture!("permission-denied"), answer(PermissionReply::Deny));
    let replies: Vec<Option<Settled>> = cards(&r.events).into_iter().map(|c| c.3).collect();
    assert_eq!(replies, [None, Some(Settled::Deny)]);
    let (_, _, status, output) = tool(&r.events).pop().expect("a tool");
    assert_eq!(
        (status, output.as_deref()),
        (ToolStatus::Error, Some("denied by the user"))
    );
    assert_eq!(
        text_of(&r.events),
        [both("Understood, I did not write it.")]
    );
    assert_eq!(r.ends.len(), 1);
    assert_eq!((&r.ends[0].0, r.ends[0].1), (&None, false));
}

#[test]
fn an_interrupt_ends_the_turn_aborted_with_what_was_said_and_nothing_more_to_pay() {
    let (mut turns, mut asked) = (0, false);
    let r = replay(capture!("interrupt"), |m, _, events| {
        let delta = events.iter().any(|e| matches!(e, AgentEvent::Delta { .. }));
        turns += events
            .iter()
            .filter(|e| matches!(e, AgentEvent::TurnEnded { .. }))
            .count();
        // The capture asked for it on the second turn's first streamed text.
        if turns == 1 && delta && !std::mem::replace(&mut asked, true) {
            return m.interrupt();
        }
        Vec::new()
    });
    assert!(asked);
    let ends: Vec<(Option<String>, bool)> = r.ends.iter().map(|e| (e.0.clone(), e.1)).collect();
    assert_eq!(ends, [(None, false), (None, true)], "aborted, not an error");
    let said = text_of(&r.events);
    let [first, (streamed, whole)] = said.as_slice() else {
        panic!("two text parts: {said:?}")
    };
    assert_eq!(first, &both("Hello first."));
    assert!(streamed.starts_with("chunk 0 "), "{streamed}");
    assert_eq!(whole, streamed, "what was streamed is kept");
    // Claude's total after the interrupt is what the first turn cost.
    let cost = |i: usize| r.ends[i].2.as_ref().and_then(|u| u.cost_usd);
    assert!(cost(0).is_some_and(|c| c > 0.0));
    assert_eq!(cost(1), Some(0.0));
    assert!(!r.mapper.busy);
}

#[test]
fn an_api_error_is_an_error_turn_said_once() {
    let r = replay(capture!("api-error"), nothing);
    let shown: Vec<&AgentEvent> = r
        .events
        .iter()
        .filter(|e| {
            matches!(
                e,
                AgentEvent::Message { .. } | AgentEvent::Part(_) | AgentEvent::Delta { .. }
            )
        })
        .collect();
    assert!(
        shown.is_empty(),
        "the error shows once, as the turn's: {shown:?}"
    );
    assert_eq!(r.ends.len(), 1);
    let error = r.ends[0].0.as_deref();
    assert_eq!(error, Some("API Error: 400 the fake model refuses this"));
    assert!(!r.ends[0].1);
    assert_eq!(r.mapper.session_id.as_deref(), Some(SESSION));
}
