//! Views: pure functions from the state to a frame. Long lists build only what shows.

mod dialogs;
mod diffs;
mod history;
mod info;
mod lineage;
mod menu;
mod messages;
pub mod overlay;
mod sidebar;
mod status_line;
pub use crate::core::text;

use super::state::{State, Tab};
use super::theme::Meaning;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders};

pub fn render(state: &State, frame: &mut Frame) {
    let area = frame.area();
    if state.history_view.is_some() {
        let [body, status] =
            Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(area);
        history::render(state, frame, body);
        status_line::render(state, frame, status);
        dialogs::render(state, frame, area, body);
        return;
    }
    let prompt_height = (state.prompt.lines().len() as u16).clamp(1, 4) + 2;
    let [body, prompt, status] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(prompt_height),
        Constraint::Length(1),
    ])
    .areas(area);
    let [side, main] = Layout::horizontal([
        Constraint::Length(state.sidebar_width()),
        Constraint::Min(20),
    ])
    .areas(body);

    if !state.zoom {
        sidebar::render(state, frame, side);
    }
    render_main(state, frame, main);
    status_line::prompt(state, frame, prompt);
    status_line::render(state, frame, status);
    dialogs::render(state, frame, area, main);
}

fn render_main(state: &State, frame: &mut Frame, area: Rect) {
    let theme = &state.theme;
    let mut tabs: Vec<Span> = Vec::new();
    for (i, tab) in Tab::ALL.iter().enumerate() {
        let style = if *tab == state.tab {
            theme
                .style(Meaning::Focus)
                .add_modifier(ratatui::style::Modifier::REVERSED)
        } else {
            theme.style(Meaning::Dim)
        };
        tabs.push(Span::styled(format!(" {} {} ", i + 1, tab.title()), style));
    }
    if let Some(s) = state.selected_session() {
        let status = format!(" {} {} ", super::theme::glyph(s.status), s.status);
        tabs.push(Span::styled(
            status.clone(),
            theme.style(Meaning::Status(s.status)),
        ));
        let used: usize = tabs
            .iter()
            .map(|t| t.content.chars().count())
            .sum::<usize>()
            + 2;
        let room = usize::from(area.width).saturating_sub(used + 2);
        tabs.push(Span::styled(
            format!("{} ", text::clip(&crate::core::sanitize(&s.title), room)),
            theme.style(Meaning::Title),
        ));
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style(Meaning::Dim))
        .title(Line::from(tabs));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(session) = state.selected_session() else {
        return messages::empty(state, frame, inner);
    };
    match state.tab {
        Tab::Messages => messages::render(state, frame, inner),
        Tab::Diffs => diffs::render(state, frame, inner),
        Tab::Info => info::render(state, session, frame, inner),
    }
}

/// How many rows the selected transcript's window takes when drawn, so that scrolling
/// stops where the drawing does (the count in the transcript is an estimate). Measures
/// without building rows, so it costs what one pass over the window does.
pub fn transcript_rows(state: &State) -> usize {
    let Some(t) = state.transcript() else {
        return 0;
    };
    let width = state.messages_width();
    let rows = t.drawn_rows(width, state.review.changes, || {
        let skip = usize::MAX / 2;
        let checkpoints = state.checkpoints();
        messages::window(t, width, skip, 1, &state.theme, None, checkpoints).1
    });
    rows + messages::trailer(state, width).len()
}

/// How many rows a part of the selected transcript takes on screen now, so that a view
/// scrolled up can stay on its rows while that part grows below it.
pub fn part_rows(state: &State, part_id: &str) -> usize {
    state.transcript().map_or(0, |t| {
        messages::rows_of_part(t, part_id, state.messages_width(), &state.theme)
    })
}

/// How many rows the note under a failed or disconnected session's transcript takes.
pub fn trailer_rows(state: &State) -> usize {
    messages::trailer(state, state.messages_width()).len()
}

/// How far the Info tab scrolls at most.
pub fn info_max_scroll(state: &State) -> usize {
    info::max_scroll(state)
}
