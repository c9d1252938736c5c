//! Everything known about the selected session: its status, its lifecycle (turns,
//! limits, family, callbacks, chronicles) first, then the record. Scrolls when it does
//! not fit, with a last row saying where it is.

use super::text::wrap;
use crate::core::{Session, sanitize};
use crate::tui::keymap::Action;
use crate::tui::state::State;
use crate::tui::theme::Meaning;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// Columns of the labels, with the space after them.
pub const LABEL_W: usize = 14;

/// One row of the tab before wrapping: a label (empty under the first of a list), its
/// value and how the value is drawn.
pub type Row = (&'static str, String, Meaning);

pub fn render(state: &State, s: &Session, frame: &mut Frame, area: Rect) {
    let lines = lines(state, s, usize::from(area.width));
    let height = usize::from(area.height);
    if lines.len() <= height {
        frame.render_widget(Paragraph::new(lines), area);
        return;
    }
    let room = height.saturating_sub(1).max(1);
    let top = state.info_scroll.min(lines.len().saturating_sub(room));
    let shown: Vec<Line> = lines.iter().skip(top).take(room).cloned().collect();
    frame.render_widget(
        Paragraph::new(shown),
        Rect {
            height: room as u16,
            ..area
        },
    );
    let k = |a| state.keymap.first_key_of(a);
    let note = format!(
        "rows {}-{} of {} · {}/{} scroll",
        top + 1,
        (top + room).min(lines.len()),
        lines.len(),
        k(Action::PageUp),
        k(Action::PageDown)
    );
    let at = Rect {
        y: area.y + room as u16,
        height: 1,
        ..area
    };
    let note = super::text::clip(&note, usize::from(area.width));
    frame.render_widget(
        Paragraph::new(Line::styled(note, state.theme.style(Meaning::Dim))),
        at,
    );
}

/// How far the tab scrolls at most, at the size the dashboard has now.
pub fn max_scroll(state: &State) -> usize {
    let Some(s) = state.selected_session() else {
        return 0;
    };
    let rows = lines(state, s, state.messages_width()).len();
    let height = state.sidebar_height();
    match rows <= height {
        true => 0,
        false => rows - height.saturating_sub(1).max(1),
    }
}

fn lines(state: &State, s: &Session, width: usize) -> Vec<Line<'static>> {
    let theme = &state.theme;
    let mut out = Vec::new();
    let value_w = width.saturating_sub(LABEL_W).max(8);
    for (label, value, meaning) in rows(state, s) {
        // One long word (a sha, a path) goes whole on the row below, if it fits there.
        let word = !value.contains(' ') && width > value_w;
        if word && super::text::width(&value) > value_w && super::text::width(&value) <= width {
            out.push(Line::styled(label.to_string(), theme.style(Meaning::Dim)));
            out.push(Line::styled(value, theme.style(meaning)));
            continue;
        }
        for (i, piece) in wrap(&value, value_w).into_iter().enumerate() {
            let label = if i == 0 { label } else { "" };
            out.push(Line::from(vec![
                Span::styled(
                    format!("{label:<w$}", w = LABEL_W),
                    theme.style(Meaning::Dim),
                ),
                Span::styled(piece, theme.style(meaning)),
            ]));
        }
    }
    out
}

fn rows(state: &State, s: &Session) -> Vec<Row> {
    let when = |t: chrono::DateTime<chrono::Utc>| {
        format!(
            "{} ({} ago)",
            t.format("%Y-%m-%d %H:%M:%S UTC"),
            crate::core::age(t, state.now)
        )
    };
    let or_dash = |v: &Option<String>| v.as_deref().map_or("-".into(), one_line);
    let tokens = match (s.tokens_in, s.tokens_out) {
        (None, None) => "-".to_string(),
        (i, o) => format!("{} in, {} out", i.unwrap_or(0), o.unwrap_or(0)),
    };
    let status = match &s.status_reason {
        Some(why) => format!("{} ({})", s.status, one_line(why)),
        None => s.status.to_string(),
    };
    let agent = match (s.agent_running, s.status) {
        (true, _) => format!("{} · running", s.agent),
        (false, crate::core::Status::Idle) => {
            format!("{} · starts on the next prompt", s.agent)
        }
        (false, _) => format!("{} · not running", s.agent),
    };
    let mut rows: Vec<Row> = vec![
        ("status", status, Meaning::Status(s.status)),
        ("agent", one_line(&agent), Meaning::Text),
        ("model", or_dash(&s.model), Meaning::Text),
    ];
    if let Some(t) = &s.template {
        rows.push(("template", one_line(t), Meaning::Text));
    }
    rows.extend(super::lineage::rows(state, s));
    if let Some(limits) = &s.rate_limits {
        rows.push(("rate limits", one_line(limits), Meaning::Text));
    }
    for c in &s.conflicts {
        let files = c
            .files
            .iter()
            .map(|f| one_line(f))
            .collect::<Vec<_>>()
            .join(", ");
        let with = match c.with {
            Some(_) => format!("session '{}'", one_line(&c.with_name)),
            None => format!("the base branch {}", one_line(&c.with_name)),
        };
        rows.push((
            "conflicts",
            format!("≠ with {with} in {files}"),
            Meaning::Warning,
        ));
    }
    let record: [(&'static str, String); 13] = [
        ("workspace", s.workspace.display().to_string()),
        ("repository", s.source_repo.display().to_string()),
        ("strategy", s.strategy.to_string()),
        ("branch", or_dash(&s.branch)),
        ("base commit", s.base_commit.clone()),
        ("session id", s.id.to_string()),
        ("agent's id", or_dash(&s.agent_session_id)),
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
    rows.extend((record.into_iter()).map(|(k, v)| (k, one_line(&v), Meaning::Text)));
    rows
}

/// Text from outside (an agent, a user, a file name) for one row: no controls, no
/// line breaks.
pub fn one_line(text: &str) -> String {
    sanitize(text).replace(['\n', '\r', '\t'], " ")
}
