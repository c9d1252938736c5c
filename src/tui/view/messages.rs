//! The live transcript, drawn from the bottom up: only the rows that show are built, so
//! a long transcript costs what the screen holds. Tool calls are folded to one line.

use super::text::{clip, wrap};
use crate::core::{Message, Part, PartKind, Role, ToolStatus, sanitize};
use crate::tui::state::State;
use crate::tui::theme::{Meaning, Theme};
use crate::tui::transcript::Transcript;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub fn empty(state: &State, frame: &mut Frame, area: Rect) {
    let keys = |a| state.keymap.keys_of(a);
    let text = format!(
        "No session selected.\n\nPress {} to start a session: pick a repository, a strategy (worktree, clone or the directory as it is) and an agent. The built-in `shell` agent runs each prompt with sh -c.\n\n{} shows every key.",
        keys(crate::tui::keymap::Action::New),
        keys(crate::tui::keymap::Action::Help)
    );
    let text = Paragraph::new(text).wrap(ratatui::widgets::Wrap { trim: false });
    frame.render_widget(text.style(state.theme.style(Meaning::Dim)), area);
}

pub fn render(state: &State, frame: &mut Frame, area: Rect) {
    let Some(transcript) = state.transcript() else {
        let text = Paragraph::new("loading transcript…").style(state.theme.style(Meaning::Dim));
        return frame.render_widget(text, area);
    };
    let height = usize::from(area.height);
    let mut rows = rows_from_bottom(
        transcript,
        usize::from(area.width),
        height + state.scroll,
        &state.theme,
        state.tool_cursor.as_deref(),
    );
    let scroll = state.scroll.min(rows.len().saturating_sub(height));
    let shown: Vec<Line> = rows
        .drain(scroll..)
        .take(height)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    frame.render_widget(Paragraph::new(shown), area);
    if scroll > 0 {
        let note = format!(" ↑ {scroll} lines up · end to follow ");
        let w = note.chars().count() as u16;
        if area.width > w {
            let at = Rect::new(
                area.x + area.width - w,
                area.y + area.height.saturating_sub(1),
                w,
                1,
            );
            frame.render_widget(
                Paragraph::new(note).style(state.theme.style(Meaning::Key)),
                at,
            );
        }
    }
}

/// Up to `need` rows, the last row first.
pub fn rows_from_bottom(
    t: &Transcript,
    width: usize,
    need: usize,
    theme: &Theme,
    cursor: Option<&str>,
) -> Vec<Line<'static>> {
    let mut rows: Vec<Line<'static>> = Vec::new();
    for message in t.messages.iter().rev() {
        for part in message.parts.iter().rev() {
            let expanded = t.expanded.contains(&part.id);
            part_rows(
                part,
                width,
                need - rows.len().min(need),
                theme,
                expanded,
                cursor == Some(part.id.as_str()),
                &mut rows,
            );
            if rows.len() >= need {
                return rows;
            }
        }
        rows.push(header(message, theme));
        if rows.len() >= need {
            return rows;
        }
    }
    rows
}

fn header(m: &Message, theme: &Theme) -> Line<'static> {
    let (who, meaning) = match m.role {
        Role::User => ("you", Meaning::User),
        Role::Assistant => ("agent", Meaning::Assistant),
    };
    Line::from(vec![
        Span::styled(format!("▍{who}"), theme.style(meaning)),
        Span::styled(
            format!(" {}", m.created_at.format("%H:%M:%S")),
            theme.style(Meaning::Dim),
        ),
    ])
}

/// Pushes the rows of `text`, last first, each line wrapped, stopping after `need`.
fn text_rows(
    text: &str,
    width: usize,
    need: usize,
    indent: &str,
    style: Style,
    out: &mut Vec<Line<'static>>,
) {
    let start = out.len();
    let body = text.strip_suffix('\n').unwrap_or(text);
    for line in body.rsplit('\n') {
        let clean = sanitize(line);
        let wrapped = wrap(&clean, width.saturating_sub(indent.chars().count()));
        for piece in wrapped.into_iter().rev() {
            out.push(Line::styled(format!("{indent}{piece}"), style));
            if out.len() - start >= need {
                return;
            }
        }
    }
}

fn part_rows(
    part: &Part,
    width: usize,
    need: usize,
    theme: &Theme,
    expanded: bool,
    at_cursor: bool,
    out: &mut Vec<Line<'static>>,
) {
    match &part.kind {
        PartKind::Text { text } => {
            text_rows(text, width, need, "", theme.style(Meaning::Text), out)
        }
        PartKind::Reasoning { text } => text_rows(
            text,
            width,
            need,
            "  ",
            theme.style(Meaning::Reasoning),
            out,
        ),
        PartKind::Error { message } => text_rows(
            &format!("✗ {message}"),
            width,
            need,
            "",
            theme.style(Meaning::Error),
            out,
        ),
        PartKind::Permission {
            tool,
            detail,
            reply,
            ..
        } => {
            let state = match reply {
                None => "waiting for you".to_string(),
                Some(r) => format!("{r:?}").to_lowercase(),
            };
            let text = format!(
                "? permission {} · {} · {state}",
                sanitize(tool),
                sanitize(detail)
            );
            text_rows(&text, width, need, "", theme.style(Meaning::Warning), out)
        }
        PartKind::Tool {
            name,
            input,
            status,
            output,
        } => {
            let mut style = theme.style(Meaning::Tool);
            if at_cursor {
                style = style.patch(theme.style(Meaning::Selected));
            }
            let (mark, status_meaning) = match status {
                ToolStatus::Pending => ("…", Meaning::Dim),
                ToolStatus::Running => ("◐", Meaning::Status(crate::core::Status::Active)),
                ToolStatus::Completed => ("✓", Meaning::Success),
                ToolStatus::Error => ("✗", Meaning::Error),
            };
            if expanded {
                if let Some(output) = output {
                    text_rows(output, width, need, "  │ ", theme.style(Meaning::Dim), out);
                }
                let pretty = serde_json::to_string_pretty(input).unwrap_or_default();
                text_rows(&pretty, width, need, "  ", theme.style(Meaning::Dim), out);
            }
            let fold = if expanded { "▾" } else { "▸" };
            let summary = sanitize(&input_summary(input));
            let head = format!("{fold} {} ", sanitize(name));
            let room = width.saturating_sub(head.chars().count() + 3);
            out.push(Line::from(vec![
                Span::styled(head, style),
                Span::styled(
                    clip(&summary, room),
                    if at_cursor {
                        style
                    } else {
                        theme.style(Meaning::Dim)
                    },
                ),
                Span::styled(format!(" {mark}"), theme.style(status_meaning)),
            ]));
        }
    }
}

/// A tool's input in a few words: its command, path or first string, else compact JSON.
fn input_summary(input: &serde_json::Value) -> String {
    if let Some(obj) = input.as_object() {
        for key in [
            "command",
            "cmd",
            "filePath",
            "file_path",
            "path",
            "pattern",
            "url",
            "query",
        ] {
            if let Some(v) = obj.get(key).and_then(|v| v.as_str()) {
                return v.lines().next().unwrap_or("").to_string();
            }
        }
        if let Some(v) = obj.values().find_map(|v| v.as_str()) {
            return v.lines().next().unwrap_or("").to_string();
        }
    }
    if input.is_null() {
        String::new()
    } else {
        input.to_string()
    }
}
