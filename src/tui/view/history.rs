//! The History view, full screen: the search box, the filters, and the page of sessions
//! with where it is in the whole answer ("21-40 of 123").

use super::info::one_line;
use super::text::{clip, fit, width};
use crate::tui::history::HistoryView;
use crate::tui::keymap::Action;
use crate::tui::state::State;
use crate::tui::theme::{Meaning, glyph};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

pub fn render(state: &State, frame: &mut Frame, area: Rect) {
    let Some(h) = &state.history_view else { return };
    let theme = &state.theme;
    frame.render_widget(Clear, area);
    let mut title = format!(" history · {} ", h.shown());
    if state.fleet.hosts.len() > 1
        && let Some(host) = state.fleet.hosts.get(h.host)
    {
        title = format!(
            " history of {} · {} ",
            crate::core::sanitize(&host.name),
            h.shown()
        );
    }
    if h.in_flight && h.loaded {
        title.push_str("· asking… ");
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style(Meaning::Focus))
        .title(Span::styled(title, theme.style(Meaning::Title)));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let cols = usize::from(inner.width);
    let mut lines = vec![search_line(state, h, cols), filter_line(state, h, cols)];
    let list_rows = usize::from(inner.height).saturating_sub(3);
    lines.push(Line::styled(
        clip(
            &format!(
                "  {}",
                row_text("id", "status", "title", "repository", "active", cols)
            ),
            cols,
        ),
        theme.style(Meaning::Dim),
    ));
    if let Some(e) = &h.error {
        let e = format!("✗ {}", one_line(e));
        lines.push(Line::styled(clip(&e, cols), theme.style(Meaning::Error)));
    } else if h.rows.is_empty() && h.loaded {
        let none = match (h.search.is_empty(), h.status, h.range) {
            (true, None, crate::tui::history::Range::Any) => "no sessions yet",
            _ => "no session matches: change the search or the filters",
        };
        lines.push(Line::styled(none, theme.style(Meaning::Dim)));
    }
    // The selected row stays in view if the screen became shorter than the page.
    let top = h.selected.saturating_sub(list_rows.saturating_sub(1));
    for (i, s) in h.rows.iter().enumerate().skip(top).take(list_rows) {
        let s = state.session(s.id).unwrap_or(s);
        let repo = s
            .source_repo
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let age = crate::core::coarse_age(s.last_activity_at, state.now);
        let text = row_text(
            &s.id.short(),
            s.status.as_str(),
            &one_line(&s.title),
            &one_line(&repo),
            &age,
            cols,
        );
        let mut style = theme.style(Meaning::Text);
        if i == h.selected {
            style = style.patch(theme.style(Meaning::Selected));
        }
        lines.push(Line::from(vec![
            Span::styled(
                format!("{} ", glyph(s.status)),
                theme
                    .style(Meaning::Status(s.status))
                    .patch(match i == h.selected {
                        true => theme.style(Meaning::Selected),
                        false => ratatui::style::Style::default(),
                    }),
            ),
            Span::styled(text, style),
        ]));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// One row of the list after its glyph, every column at its place: `id status title
/// repo age`.
fn row_text(id: &str, status: &str, title: &str, repo: &str, age: &str, cols: usize) -> String {
    let repo_w = match cols {
        c if c >= 100 => 20,
        c if c >= 70 => 12,
        _ => 0,
    };
    // glyph and space, id, status, the title, the repository, the age
    let fixed = 2 + 9 + 14 + repo_w + 7;
    let title_w = cols.saturating_sub(fixed).max(8);
    let mut row = format!("{} {} {}", fit(id, 8), fit(status, 13), fit(title, title_w));
    if repo_w > 0 {
        row.push(' ');
        row.push_str(&fit(repo, repo_w - 1));
    }
    row.push_str(&format!(" {age:>6}"));
    row
}

fn search_line(state: &State, h: &HistoryView, cols: usize) -> Line<'static> {
    let theme = &state.theme;
    let label = Span::styled("search  ", theme.style(Meaning::Dim));
    let key = state.keymap.first_key_of(Action::Search);
    let (text, meaning, hint) = if h.editing {
        (
            format!("{}▏", one_line(&h.typed)),
            Meaning::Focus,
            String::new(),
        )
    } else if h.search.is_empty() {
        let hint = format!("(titles and messages) · {key} to search");
        (String::new(), Meaning::Text, hint)
    } else {
        (
            one_line(&h.search),
            Meaning::Text,
            format!(" ({key} changes it)"),
        )
    };
    // The end of a long search stays in view while it is typed.
    let room = cols.saturating_sub(8 + width(&hint));
    let text = match width(&text) > room && h.editing {
        true => {
            let n = text.chars().count();
            let tail: String = text
                .chars()
                .skip(n.saturating_sub(room.saturating_sub(1)))
                .collect();
            format!("…{tail}")
        }
        false => clip(&text, room),
    };
    Line::from(vec![
        label,
        Span::styled(text, theme.style(meaning)),
        Span::styled(hint, theme.style(Meaning::Dim)),
    ])
}

fn filter_line(state: &State, h: &HistoryView, cols: usize) -> Line<'static> {
    let theme = &state.theme;
    let k = |a| state.keymap.first_key_of(a);
    let status = h.status.map_or("all".to_string(), |s| s.to_string());
    let spans = vec![
        Span::styled("status  ", theme.style(Meaning::Dim)),
        Span::styled(status, theme.style(Meaning::Text)),
        Span::styled(
            format!(" ({}) · created ", k(Action::StatusFilter)),
            theme.style(Meaning::Dim),
        ),
        Span::styled(h.range.label(), theme.style(Meaning::Text)),
        Span::styled(
            format!(" ({})", k(Action::DateRange)),
            theme.style(Meaning::Dim),
        ),
    ];
    let used: usize = spans.iter().map(|s| width(&s.content)).sum();
    match used <= cols {
        true => Line::from(spans),
        false => {
            let all: String = spans.iter().map(|s| s.content.to_string()).collect();
            Line::styled(clip(&all, cols), theme.style(Meaning::Text))
        }
    }
}
