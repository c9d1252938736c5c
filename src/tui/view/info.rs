//! Everything known about the selected session.

use crate::core::{Session, sanitize};
use crate::tui::state::State;
use crate::tui::theme::Meaning;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

pub fn render(state: &State, s: &Session, frame: &mut Frame, area: Rect) {
    let theme = &state.theme;
    let when = |t: chrono::DateTime<chrono::Utc>| {
        format!(
            "{} ({} ago)",
            t.format("%Y-%m-%d %H:%M:%S UTC"),
            crate::core::age(t, state.now)
        )
    };
    let or_dash = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    let tokens = match (s.tokens_in, s.tokens_out) {
        (None, None) => "-".to_string(),
        (i, o) => format!("{} in, {} out", i.unwrap_or(0), o.unwrap_or(0)),
    };
    let rows: Vec<(&str, String)> = vec![
        (
            "status",
            match &s.status_reason {
                Some(why) => format!("{} ({})", s.status, sanitize(why)),
                None => s.status.to_string(),
            },
        ),
        ("workspace", s.workspace.display().to_string()),
        ("repository", s.source_repo.display().to_string()),
        ("strategy", s.strategy.to_string()),
        ("branch", or_dash(s.branch.clone())),
        ("base commit", s.base_commit.clone()),
        (
            "agent",
            match (s.agent_running, s.status) {
                (true, _) => format!("{} · running", s.agent),
                (false, crate::core::Status::Idle) => {
                    format!("{} · starts on the next prompt", s.agent)
                }
                (false, _) => format!("{} · not running", s.agent),
            },
        ),
        ("model", or_dash(s.model.clone())),
        ("session id", s.id.to_string()),
        ("agent's id", or_dash(s.agent_session_id.clone())),
        ("created", when(s.created_at)),
        ("last active", when(s.last_activity_at)),
        ("messages", s.message_count.to_string()),
        ("queued", s.queued_prompts.to_string()),
        ("tokens", tokens),
        (
            "cost",
            s.cost_usd.map_or("-".into(), |c| format!("${c:.4}")),
        ),
    ];
    let lines: Vec<Line> = rows
        .into_iter()
        .map(|(k, v)| {
            Line::from(vec![
                Span::styled(format!("{k:<12} "), theme.style(Meaning::Dim)),
                Span::styled(sanitize(&v), theme.style(Meaning::Text)),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}
