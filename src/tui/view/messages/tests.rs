use super::*;
use crate::core::Message;

fn transcript() -> Transcript {
    let part = |i: usize, kind| Part {
        id: format!("p{i}"),
        message_id: format!("m{}", i / 3),
        kind,
    };
    let messages = (0..20)
        .map(|m| Message {
            id: format!("m{m}"),
            role: if m % 2 == 0 {
                Role::User
            } else {
                Role::Assistant
            },
            created_at: chrono::DateTime::default(),
            parts: vec![
                part(
                    m * 3,
                    PartKind::Text {
                        text: format!(
                            "a line that is long enough to wrap at twenty columns {m}\nshort\n"
                        ),
                    },
                ),
                part(
                    m * 3 + 1,
                    PartKind::Tool {
                        name: "bash".into(),
                        input: serde_json::json!({"command": "ls"}),
                        status: ToolStatus::Completed,
                        output: Some("x\ny".into()),
                    },
                ),
                part(
                    m * 3 + 2,
                    PartKind::Reasoning {
                        text: "thinking about\u{1b}[2J it".into(),
                    },
                ),
            ],
        })
        .collect();
    let mut t = Transcript::new(messages);
    t.expanded.insert("p4".into());
    t
}

fn text(rows: &[Line]) -> Vec<String> {
    rows.iter()
        .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
        .collect()
}

#[test]
fn every_window_matches_building_everything() {
    let t = transcript();
    let theme = Theme { color: true };
    let (all, total) = window(&t, 20, 0, 10_000, &theme, None, &[]);
    assert_eq!(
        total,
        all.len(),
        "the whole transcript fits, so it was all counted"
    );
    for skip in [0, 1, 5, 17, 40, all.len() - 10] {
        let (rows, _) = window(&t, 20, skip, 10, &theme, None, &[]);
        assert_eq!(text(&rows), text(&all[skip..skip + 10]), "skip {skip}");
    }
    let (past, counted) = window(&t, 20, all.len() + 50, 10, &theme, None, &[]);
    assert!(past.is_empty());
    assert_eq!(
        counted,
        all.len(),
        "scrolled past the top: everything was counted"
    );
}
