//! The live transcript, drawn from the bottom up: only the rows that show are built, so
//! a long transcript costs what the screen holds. Tool calls are folded to one line.

use super::text::{clip, wrap};
use crate::core::{
    Checkpoint, Message, Part, PartKind, Role, Status, ToolStatus, sanitize, screen_line,
};
use crate::tui::state::State;
use crate::tui::theme::{Meaning, Theme};
use crate::tui::transcript::Transcript;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use std::collections::HashMap;

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
    let width = usize::from(area.width);
    let cursor = state.tool_cursor.as_deref();
    let trailer = trailer(state, width);
    let below = |scroll: usize| {
        // The trailer is the lowest rows; the transcript's come above it.
        let mut rows: Vec<Line> = trailer.iter().skip(scroll).take(height).cloned().collect();
        if rows.len() >= height {
            return (rows, usize::MAX);
        }
        let skip = scroll.saturating_sub(trailer.len());
        let (more, total) = window(
            transcript,
            width,
            skip,
            height - rows.len(),
            &state.theme,
            cursor,
            state.checkpoints(),
        );
        rows.extend(more);
        (rows, total.saturating_add(trailer.len()))
    };
    let (mut rows, total) = below(state.scroll);
    // Scrolled past the top: show the top screenful instead.
    let scroll = state.scroll.min(total.saturating_sub(height));
    if scroll != state.scroll {
        rows = below(scroll).0;
    }
    let shown: Vec<Line> = rows.into_iter().rev().collect();
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

/// Where the output of a session that failed or lost its agent stopped, and why: the
/// rows under its transcript, the lowest first. None while the session is fine, or the
/// window does not reach the end.
pub fn trailer(state: &State, width: usize) -> Vec<Line<'static>> {
    let Some(s) = state.selected_session() else {
        return Vec::new();
    };
    if !state.transcript().is_some_and(|t| t.at_end) {
        return Vec::new();
    }
    let text = match (s.status, &s.status_reason) {
        (Status::Error, reason) => format!(
            "✗ the session failed: {}",
            reason.as_deref().unwrap_or("no reason was given")
        ),
        (Status::Disconnected, reason) => format!(
            "⊘ output stopped here: {}",
            reason.as_deref().unwrap_or("the agent went away")
        ),
        _ => return Vec::new(),
    };
    let mut rows = Vec::new();
    let style = state.theme.style(Meaning::Error);
    text_rows(&sanitize(&text), width, usize::MAX, "", style, &mut rows);
    rows
}

/// The rows `skip` to `skip + height` counted from the bottom, the lowest first, and how
/// many rows were counted in all (every row, if the window reached the top). Parts below
/// the window are only measured, never built, so scrolling far up stays cheap.
pub fn window(
    t: &Transcript,
    width: usize,
    skip: usize,
    height: usize,
    theme: &Theme,
    cursor: Option<&str>,
    checkpoints: &[Checkpoint],
) -> (Vec<Line<'static>>, usize) {
    let mut rows: Vec<Line<'static>> = Vec::new();
    let mut skip = skip;
    let mut counted = 0;
    let mut marks: HashMap<&str, Vec<&Checkpoint>> = HashMap::new();
    for c in checkpoints {
        if let Some(after) = &c.after_message {
            marks.entry(after.as_str()).or_default().push(c);
        }
    }
    for (m, message) in t.messages.iter().enumerate().rev() {
        // A checkpoint taken after this message: a row under it, the newest lowest.
        let mut mine = marks.remove(message.id.as_str()).unwrap_or_default();
        mine.sort_by_key(|c| std::cmp::Reverse(c.turn));
        for c in mine {
            counted += 1;
            if skip > 0 {
                skip -= 1;
                continue;
            }
            rows.push(checkpoint_row(c, width, theme));
            if rows.len() >= height {
                return (rows, usize::MAX);
            }
        }
        for (p, part) in message.parts.iter().enumerate().rev() {
            let expanded = t.expanded.contains(&part.id);
            if skip > 0
                && !expanded
                && let Some(h) = part_height(t, (m, p), &part.kind, width)
                && h <= skip
            {
                skip -= h;
                counted += h;
                continue;
            }
            let mut built = Vec::new();
            part_rows(
                part,
                width,
                skip + height - rows.len(),
                theme,
                expanded,
                cursor == Some(part.id.as_str()),
                &mut built,
            );
            counted += built.len();
            let dropped = skip.min(built.len());
            skip -= dropped;
            rows.extend(built.into_iter().skip(dropped));
            if rows.len() >= height {
                rows.truncate(height);
                return (rows, usize::MAX);
            }
        }
        counted += 1;
        if skip > 0 {
            skip -= 1;
        } else {
            rows.push(header(message, theme));
            if rows.len() >= height {
                return (rows, usize::MAX);
            }
        }
    }
    (rows, counted)
}

/// `── checkpoint · turn 3 · 2 files ──` across the transcript, where a turn ended.
fn checkpoint_row(c: &Checkpoint, width: usize, theme: &Theme) -> Line<'static> {
    let n = c.files.len();
    let label = format!(
        " checkpoint · turn {} · {n} file{} ",
        c.turn,
        if n == 1 { "" } else { "s" }
    );
    let rest = width.saturating_sub(super::text::width(&label) + 2);
    let text = clip(&format!("──{label}{}", "─".repeat(rest)), width);
    Line::styled(text, theme.style(Meaning::Dim))
}

/// How many rows the part with id `part_id` takes drawn at `width`; 0 if it is not held.
pub fn rows_of_part(t: &Transcript, part_id: &str, width: usize, theme: &Theme) -> usize {
    let Some((m, p)) = t.locate(part_id) else {
        return 0;
    };
    let part = &t.messages[m].parts[p];
    let expanded = t.expanded.contains(&part.id);
    if !expanded && let Some(h) = part_height(t, (m, p), &part.kind, width) {
        return h;
    }
    let mut built = Vec::new();
    part_rows(part, width, usize::MAX, theme, expanded, false, &mut built);
    built.len()
}

/// How many rows a part takes (tool calls folded), measured without building them and
/// kept in the transcript's cache; `None` where measuring would cost as much as building.
fn part_height(t: &Transcript, at: (usize, usize), kind: &PartKind, width: usize) -> Option<usize> {
    let text_height = |text: &str, indent: usize| {
        let width = width.saturating_sub(indent);
        t.text_rows(at, width, text, |line| wrapped_rows(line, width))
    };
    Some(match kind {
        PartKind::Text { text } => text_height(text, 0),
        PartKind::Reasoning { text } | PartKind::Stderr { text } => text_height(text, 2),
        PartKind::Error { message } => {
            let text = format!("✗ {message}");
            let body = text.strip_suffix('\n').unwrap_or(&text);
            body.split('\n').map(|line| wrapped_rows(line, width)).sum()
        }
        // The caller measures only folded tool calls: one row each.
        PartKind::Tool { .. } => 1,
        PartKind::Permission { .. } => return None,
    })
}

fn wrapped_rows(line: &str, max: usize) -> usize {
    if crate::core::is_clean(line) && !line.contains('\t') {
        super::text::rows(line, max)
    } else {
        super::text::rows(&screen_line(line), max)
    }
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
        let clean = screen_line(line);
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
        // Standard error in its own colour and behind a gutter, so it does not pass for
        // output even without colour.
        PartKind::Stderr { text } => {
            text_rows(text, width, need, "┆ ", theme.style(Meaning::Stderr), out)
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
                Some(answer) => answer.as_str().to_string(),
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

#[cfg(test)]
mod tests;
