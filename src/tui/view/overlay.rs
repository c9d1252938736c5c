//! Full-screen overlays, scrolled when they do not fit: help (what the marks mean, then
//! every key with its whole description, in one or two columns) and the message log
//! (every message the bottom line showed, whole).

use super::text::{clip, wrap};
use crate::core::Status;
use crate::tui::keymap::Context;
use crate::tui::state::{Level, Overlay, State};
use crate::tui::theme::{Meaning, glyph};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

const SECTIONS: [(Context, &str); 10] = [
    (Context::Global, "everywhere"),
    (Context::Messages, "messages tab"),
    (Context::Diffs, "diffs tab"),
    (Context::Hunks, "diffs tab, on the lines"),
    (Context::Menu, "menus (land, checkpoints)"),
    (Context::History, "history view (H)"),
    (Context::Permission, "permission card"),
    (Context::Prompt, "prompt box"),
    (Context::Dialog, "new-session dialog"),
    (Context::Confirm, "confirmations"),
];

/// Columns the keys take, before their description.
const KEYS_W: usize = 13;
/// The width a column needs for the overlay to use two.
const TWO_COLUMNS: usize = 100;

pub fn render(state: &State, frame: &mut Frame, screen: Rect) {
    let Some((overlay, scroll)) = state.overlay else {
        return;
    };
    frame.render_widget(Clear, screen);
    let inner_w = usize::from(screen.width.saturating_sub(2));
    let columns = columns(overlay, inner_w);
    let col_w = inner_w / columns;
    let lines = lines_of(state, overlay, col_w.saturating_sub(1));
    let rows = usize::from(screen.height.saturating_sub(2)).max(1);
    let pages = lines.len().div_ceil(columns);
    let max_scroll = pages.saturating_sub(rows);
    let scroll = scroll.min(max_scroll);
    let name = match overlay {
        Overlay::Help => "keys",
        Overlay::Log => "messages",
    };
    let mut title = format!(" {name} · esc closes ");
    if max_scroll > 0 {
        title = format!(
            " {name} · j/k scroll · esc closes · {}-{} of {} ",
            scroll + 1,
            (scroll + rows).min(pages),
            pages
        );
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(state.theme.style(Meaning::Focus))
        .title(Span::styled(title, state.theme.style(Meaning::Title)));
    let inner = block.inner(screen);
    frame.render_widget(block, screen);
    // Two columns read top to bottom, then the second; scrolling moves both.
    let per_column = if columns == 1 { lines.len() } else { pages };
    for (c, column) in lines.chunks(per_column.max(1)).enumerate() {
        let shown: Vec<Line> = column.iter().skip(scroll).take(rows).cloned().collect();
        let area = Rect {
            x: inner.x + (c * col_w) as u16,
            width: col_w as u16,
            ..inner
        };
        frame.render_widget(Paragraph::new(shown), area);
    }
}

/// How many rows an overlay's lines take on a screen `width` wide, for scrolling.
pub fn rows(state: &State, overlay: Overlay, width: u16) -> usize {
    let inner_w = usize::from(width.saturating_sub(2));
    let columns = columns(overlay, inner_w);
    lines_of(state, overlay, (inner_w / columns).saturating_sub(1))
        .len()
        .div_ceil(columns)
}

fn columns(overlay: Overlay, inner_w: usize) -> usize {
    match overlay {
        Overlay::Help if inner_w >= TWO_COLUMNS => 2,
        _ => 1,
    }
}

fn lines_of(state: &State, overlay: Overlay, width: usize) -> Vec<Line<'static>> {
    match overlay {
        Overlay::Help => lines(state, width),
        Overlay::Log => log_lines(state, width),
    }
}

/// The log, oldest first, each message whole, wrapped beside its time.
fn log_lines(state: &State, width: usize) -> Vec<Line<'static>> {
    let theme = &state.theme;
    if state.log.is_empty() {
        return vec![Line::styled("no messages yet", theme.style(Meaning::Dim))];
    }
    let mut out = Vec::new();
    for (at, text, level) in &state.log {
        let meaning = match level {
            Level::Error => Meaning::Error,
            Level::Info => Meaning::Text,
        };
        let time = at.format("%H:%M:%S ").to_string();
        let pieces = wrap(text, width.saturating_sub(9).max(8));
        for (i, piece) in pieces.into_iter().enumerate() {
            let lead = if i == 0 { time.clone() } else { " ".repeat(9) };
            out.push(Line::from(vec![
                Span::styled(lead, theme.style(Meaning::Dim)),
                Span::styled(piece, theme.style(meaning)),
            ]));
        }
    }
    out
}

fn lines(state: &State, width: usize) -> Vec<Line<'static>> {
    let theme = &state.theme;
    let heading = |text: &str| Line::styled(clip(text, width), theme.style(Meaning::Title));
    let mut out = vec![heading("marks")];
    let marks = Status::ALL
        .iter()
        .map(|&s| (glyph(s), Meaning::Status(s), status_meaning(s)))
        .chain([
            (
                "!",
                Meaning::Attention,
                "needs you: finished a turn, asks, or lost its agent (red: failed)",
            ),
            ("•", Meaning::Unread, "new output you have not seen"),
            (
                "≠",
                Meaning::Warning,
                "its changes would conflict with another session's or its base branch (Info says which)",
            ),
        ]);
    for (mark, meaning, what) in marks {
        let pieces = wrap(what, width.saturating_sub(KEYS_W).max(8));
        for (i, piece) in pieces.into_iter().enumerate() {
            let mark = if i == 0 { mark } else { "" };
            out.push(Line::from(vec![
                Span::styled(format!(" {mark:<w$}", w = KEYS_W - 1), theme.style(meaning)),
                Span::raw(piece),
            ]));
        }
    }
    for (context, name) in SECTIONS {
        out.push(Line::raw(""));
        out.push(heading(name));
        for b in state
            .keymap
            .bindings
            .iter()
            .filter(|b| b.context == context)
        {
            let keys = b
                .keys
                .iter()
                .map(|k| k.to_string())
                .collect::<Vec<_>>()
                .join(" ");
            let desc = wrap(&b.desc, width.saturating_sub(KEYS_W).max(8));
            for (i, piece) in desc.into_iter().enumerate() {
                let keys = if i == 0 {
                    clip(&keys, KEYS_W - 2)
                } else {
                    String::new()
                };
                out.push(Line::from(vec![
                    Span::styled(
                        format!(" {keys:<w$} ", w = KEYS_W - 2),
                        theme.style(Meaning::Key),
                    ),
                    Span::raw(piece),
                ]));
            }
        }
    }
    out
}

fn status_meaning(status: Status) -> &'static str {
    match status {
        Status::Starting => "starting: the workspace and agent are being made ready",
        Status::Active => "active: the agent is working",
        Status::WaitingInput => "waiting: the agent asks for your permission",
        Status::Idle => "idle: done, waiting for the next prompt",
        Status::Stopped => "stopped: terminated by you; r resumes, A archives",
        Status::Completed => {
            "completed: a limit ended it (the reason is in Info); r resumes, A archives"
        }
        Status::Archived => {
            "archived: its workspace was saved and removed; only in the history (H), where R restores it"
        }
        Status::Disconnected => "disconnected: the agent went away; r resumes",
        Status::Error => "error: the session failed; the reason is in its transcript",
    }
}
