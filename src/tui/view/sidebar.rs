//! The sessions, grouped by repository, with status glyphs and marks; children nested
//! under their parents.

use super::text::{clip, fit, width};
use crate::core::{Status, sanitize};
use crate::tui::fleet::{LOCAL_HOST, Link};
use crate::tui::state::{Mark, Row, State};
use crate::tui::theme::{Meaning, glyph};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

pub fn render(state: &State, frame: &mut Frame, area: Rect) {
    let theme = &state.theme;
    let listed = state.listed();
    let mut title = format!(" sessions {listed} ");
    if state.offline.is_some() {
        title = format!(" sessions {listed} · daemon away ");
    }
    if state.needs_me_first {
        title.push_str("· needs me first ");
    }
    if state.filtering || !state.filter.is_empty() {
        title = format!(
            " /{}{} ",
            state.filter,
            if state.filtering { "▏" } else { "" }
        );
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style(Meaning::Dim))
        .title(Span::styled(title, theme.style(Meaning::Title)));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if state.rows.is_empty() {
        let archived = state.sessions.len() - listed;
        let hint = if listed > 0 {
            "nothing matches the filter".to_string()
        } else if archived > 0 {
            let history = state
                .keymap
                .first_key_of(crate::tui::keymap::Action::History);
            format!(
                "only archived ones\n\n{history} shows {archived} archived\npress n to start one"
            )
        } else {
            "no sessions yet\n\npress n to start one".to_string()
        };
        frame.render_widget(Paragraph::new(hint).style(theme.style(Meaning::Dim)), inner);
        return;
    }

    let height = usize::from(inner.height);
    let cols = usize::from(inner.width);
    let top = state.sidebar_top.min(state.rows.len().saturating_sub(1));
    let mut lines: Vec<Line> = state.rows[top..]
        .iter()
        .take(height)
        .map(|row| match row {
            Row::Host(h) => host_line(state, *h, cols),
            Row::Group(g) => group_line(state, *g, cols),
            Row::Session(i) => session_line(state, *i, 0, cols),
            Row::Child(i, depth) => session_line(state, *i, *depth, cols),
        })
        .collect();
    // The header of the group at the top stays in view over its first row shown.
    // A host's header starts its own groups: none of the host above stands over it.
    if !matches!(
        state.rows.get(top),
        Some(Row::Group(_) | Row::Host(_)) | None
    ) && !state.needs_me_first
        && let Some(g) = (state.rows[..=top].iter().rev())
            .take_while(|r| !matches!(r, Row::Host(_)))
            .find_map(|r| match r {
                Row::Group(g) => Some(*g),
                _ => None,
            })
        && let Some(first) = lines.first_mut()
    {
        *first = group_line(state, g, cols);
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// A host's name and the state of its link: what is wrong with it, when something is.
fn host_line(state: &State, h: usize, cols: usize) -> Line<'static> {
    let theme = &state.theme;
    let Some(host) = state.fleet.hosts.get(h) else {
        return Line::default();
    };
    let count = (state.sessions.iter())
        .filter(|s| s.status != Status::Archived && state.host_of(s.id) == h)
        .count();
    let away = h == LOCAL_HOST && state.offline.is_some();
    let (what, meaning) = match &host.link {
        _ if away => ("daemon away".to_string(), Meaning::Error),
        Link::Up if count == 1 => ("1 session".to_string(), Meaning::Title),
        Link::Up => (format!("{count} sessions"), Meaning::Title),
        Link::Connecting => ("connecting…".to_string(), Meaning::Dim),
        Link::Down(why) => (format!("disconnected: {why}"), Meaning::Error),
        Link::Removed => ("removed".to_string(), Meaning::Dim),
    };
    let name = sanitize(&host.name);
    let head = format!("▌{name} ");
    let rest = clip(&format!("· {what}"), cols.saturating_sub(width(&head)));
    Line::from(vec![
        Span::styled(
            head,
            theme
                .style(Meaning::Title)
                .add_modifier(ratatui::style::Modifier::BOLD),
        ),
        Span::styled(rest, theme.style(meaning)),
    ])
}

fn group_line(state: &State, g: usize, cols: usize) -> Line<'static> {
    let repo = &state.groups[g];
    let name = repo
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| repo.display().to_string());
    let count = state.group_sizes.get(g).copied().unwrap_or(0);
    Line::styled(
        clip(&format!("{} ({count})", sanitize(&name)), cols),
        state
            .theme
            .style(Meaning::Dim)
            .add_modifier(ratatui::style::Modifier::BOLD),
    )
}

/// How deep nesting is drawn; deeper children line up with the deepest drawn.
const MAX_INDENT: usize = 3;

fn session_line(state: &State, i: usize, depth: usize, cols: usize) -> Line<'static> {
    let theme = &state.theme;
    let s = &state.sessions[i];
    let selected = state.selected == Some(s.id);
    let mark = match state.mark_of(s) {
        Some(Mark::Attention) => Span::styled("!", theme.style(Meaning::Attention)),
        Some(Mark::Failed) => Span::styled("!", theme.style(Meaning::Error)),
        Some(Mark::Unread) => Span::styled("•", theme.style(Meaning::Unread)),
        None if !s.conflicts.is_empty() => Span::styled("≠", theme.style(Meaning::Warning)),
        None => Span::raw(" "),
    };
    let age = crate::core::coarse_age(s.last_activity_at, state.now);
    // Every derived branch starts "flotilla/"; the row has better use for those columns.
    let branch = s
        .branch
        .as_deref()
        .map(|b| sanitize(b.strip_prefix("flotilla/").unwrap_or(b)))
        .unwrap_or_default();
    // A child: under its parent's glyph, with a branch of the tree.
    let indent = match depth {
        0 => String::new(),
        d => format!("{}└ ", "  ".repeat(d.min(MAX_INDENT) - 1)),
    };
    // indent, glyph, space, title, space, branch, space, age, mark
    let fixed = width(&indent) + 2 + 1 + width(&age) + 1;
    let room = cols.saturating_sub(fixed);
    // The branch only where the title keeps a fair share of the row.
    let branch_cols = if branch.is_empty() || room < 30 {
        0
    } else {
        (room / 3).min(width(&branch))
    };
    let title_cols = room.saturating_sub(if branch_cols > 0 { branch_cols + 1 } else { 0 });
    let urgent = matches!(s.status, Status::WaitingInput | Status::Error);
    let mut text_style = if urgent {
        theme.style(Meaning::Status(s.status))
    } else {
        theme.style(Meaning::Text)
    };
    // While its daemon is away, what is shown may be out of date: it is greyed.
    let away = state.host_away(s.id);
    if away {
        text_style = theme.style(Meaning::Dim);
    }
    if selected {
        text_style = text_style.patch(theme.style(Meaning::Selected));
    }
    let dim = if selected {
        theme.style(Meaning::Selected)
    } else {
        theme.style(Meaning::Dim)
    };
    let mut spans = vec![
        Span::styled(indent, dim),
        Span::styled(
            format!("{} ", glyph(s.status)),
            theme
                .style(match away {
                    true => Meaning::Dim,
                    false => Meaning::Status(s.status),
                })
                .patch(if selected {
                    theme.style(Meaning::Selected)
                } else {
                    Style::default()
                }),
        ),
        Span::styled(fit(&sanitize(&s.title), title_cols), text_style),
    ];
    if branch_cols > 0 {
        spans.push(Span::styled(format!(" {}", fit(&branch, branch_cols)), dim));
    }
    spans.push(Span::styled(format!(" {age}"), dim));
    spans.push(mark);
    Line::from(spans)
}
