use super::*;
use crate::core::page::{append, prepend};
use crate::core::{Message, Part, PartKind, Role, ToolStatus};

fn message(id: &str, role: Role) -> Message {
    Message {
        id: id.into(),
        role,
        created_at: chrono::DateTime::from_timestamp_millis(1_700_000_000_000).unwrap_or_default(),
        parts: Vec::new(),
    }
}

fn text(id: &str, message_id: &str, text: &str) -> Part {
    Part {
        id: id.into(),
        message_id: message_id.into(),
        kind: PartKind::Text { text: text.into() },
    }
}

/// A transcript with a bit of everything: short and multi-chunk text, multi-byte chars
/// across chunk edges, a tool call, a message with no parts yet.
fn sample() -> (Store, SessionId) {
    let store = Store::open_in_memory().expect("store");
    store
        .conn
        .pragma_update(None, "foreign_keys", false)
        .expect("pragma");
    let sid = SessionId::new();
    let big: String = (0..40_000).map(|i| format!("línea {i} ✓\n")).collect();
    let plan = [
        ("m1", Role::User, vec![text("p1", "m1", "hello")]),
        (
            "m2",
            Role::Assistant,
            vec![
                text("p2", "m2", "thinking about it"),
                Part {
                    id: "p3".into(),
                    message_id: "m2".into(),
                    kind: PartKind::Tool {
                        name: "bash".into(),
                        input: serde_json::json!({"command": "ls"}),
                        status: ToolStatus::Completed,
                        output: Some("a\nb\n".repeat(300)),
                    },
                },
                text("p4", "m2", ""),
            ],
        ),
        ("m3", Role::User, vec![]),
        ("m4", Role::Assistant, vec![text("p5", "m4", "done")]),
    ];
    for (id, role, parts) in plan {
        store
            .insert_message(sid, &message(id, role))
            .expect("message");
        for part in parts {
            store.upsert_part(&part).expect("part");
        }
    }
    // The big text streams in, in uneven pieces.
    let mut rest = big.as_str();
    let mut n = 7;
    while !rest.is_empty() {
        let cut = floor_char(rest, n.min(rest.len())).max(ceil_char(rest, 1));
        store.append_text("p4", &rest[..cut]).expect("append");
        rest = &rest[cut..];
        n = n * 3 % 300_007 + 1;
    }
    (store, sid)
}

#[test]
fn reading_forward_page_by_page_gives_the_whole_transcript() {
    let (store, sid) = sample();
    let whole = store.transcript(sid).expect("whole");
    for size in [1024u32, 4000, 100_000, 8 * 1024 * 1024] {
        let mut held = Vec::new();
        let mut query = PageQuery {
            max_bytes: size,
            ..PageQuery::forward(Pos::Start)
        };
        for round in 0.. {
            assert!(round < 10_000, "no progress at size {size}");
            let page = store.page(sid, &query).expect("page");
            let bytes: usize = page
                .messages
                .iter()
                .flat_map(|m| &m.parts)
                .filter_map(|p| p.kind.streamed_text())
                .map(str::len)
                .sum();
            assert!(
                bytes <= size as usize,
                "a page of {bytes} bytes at size {size}"
            );
            query.at = page.end;
            append(&mut held, page.messages);
            if !page.more {
                break;
            }
        }
        assert_eq!(held, whole, "size {size}");
    }
}

#[test]
fn reading_backward_from_the_end_gives_the_whole_transcript() {
    let (store, sid) = sample();
    let whole = store.transcript(sid).expect("whole");
    for size in [1024u32, 4000, 100_000, 8 * 1024 * 1024] {
        let mut held = Vec::new();
        let mut query = PageQuery {
            max_bytes: size,
            ..PageQuery::last()
        };
        for round in 0.. {
            assert!(round < 10_000, "no progress at size {size}");
            let page = store.page(sid, &query).expect("page");
            query.at = page.start;
            prepend(&mut held, page.messages);
            if !page.more {
                break;
            }
        }
        assert_eq!(held, whole, "size {size}");
    }
}

#[test]
fn the_last_page_of_a_huge_part_says_where_its_text_begins() {
    let (store, sid) = sample();
    let page = store.page(sid, &PageQuery::last()).expect("last page");
    assert!(page.more);
    let first = &page.messages[0];
    assert_eq!(first.id, "m2");
    let Some(tail) = first.parts[0].kind.streamed_text() else {
        panic!("the page starts inside p4: {first:?}");
    };
    let full = store.part_text("p4").expect("text").expect("some");
    let offset = page.first_offset() as usize;
    assert!(offset > 0);
    assert_eq!(offset + tail.len(), full.len());
    assert_eq!(&full[offset..], tail);
    assert_eq!(page.end, Pos::End);
}

#[test]
fn an_empty_transcript_is_one_empty_page() {
    let store = Store::open_in_memory().expect("store");
    let sid = SessionId::new();
    for query in [PageQuery::forward(Pos::Start), PageQuery::last()] {
        let page = store.page(sid, &query).expect("page");
        assert!(page.messages.is_empty());
        assert!(!page.more);
    }
}
