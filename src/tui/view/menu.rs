//! A menu of what can be done to a session: each option on a line with what it does, or,
//! dimmed, why it cannot be done now.

use super::text::{clip, width, wrap};
use crate::core::sanitize;
use crate::tui::keymap::Action;
use crate::tui::menu::Menu;
use crate::tui::state::State;
use crate::tui::theme::Meaning;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

pub fn render(state: &State, menu: &Menu, frame: &mut Frame, screen: Rect) {
    let theme = &state.theme;
    let box_w = 76u16.min(screen.width.saturating_sub(2));
    let inner_w = usize::from(box_w.saturating_sub(2)).max(8);
    let mut lines: Vec<Line> = Vec::new();
    for (text, meaning) in &menu.intro {
        for piece in wrap(&sanitize(text), inner_w) {
            lines.push(Line::styled(piece, theme.style(*meaning)));
        }
    }
    lines.push(Line::raw(""));
    let label_w = (menu
        .items
        .iter()
        .map(|i| width(&i.label))
        .max()
        .unwrap_or(0)
        + 2)
    .min(inner_w / 2);
    for (i, item) in menu.items.iter().enumerate() {
        let selected = i == menu.selected;
        let marker = if selected { "› " } else { "  " };
        let mut label_style = match item.disabled {
            Some(_) => theme.style(Meaning::Dim),
            None => theme.style(Meaning::Text),
        };
        if selected {
            label_style = label_style.add_modifier(Modifier::REVERSED);
        }
        let note = item.disabled.as_deref().unwrap_or(&item.note);
        let note_w = inner_w.saturating_sub(label_w + 3);
        let label = format!("{:<label_w$}", clip(&item.label, label_w));
        lines.push(Line::from(vec![
            Span::styled(marker, theme.style(Meaning::Key)),
            Span::styled(label, label_style),
            Span::raw(" "),
            Span::styled(
                clip(&sanitize(note), note_w),
                theme.style(match item.disabled {
                    Some(_) => Meaning::Dim,
                    None => Meaning::Text,
                }),
            ),
        ]));
    }
    lines.push(Line::raw(""));
    // The selected option's reason whole: the list has room for its start only. As many
    // rows are kept for it as the longest takes, so the box does not jump as it moves.
    let why = |i: &crate::tui::menu::Item| {
        (i.disabled.as_deref()).map(|w| wrap(&format!("cannot: {}", sanitize(w)), inner_w))
    };
    let room = menu.items.iter().filter_map(why).map(|w| w.len() + 1).max();
    if let Some(room) = room {
        let shown = menu
            .items
            .get(menu.selected)
            .and_then(why)
            .unwrap_or_default();
        let used = shown.len();
        for piece in shown {
            lines.push(Line::styled(piece, theme.style(Meaning::Warning)));
        }
        lines.extend((used..room).map(|_| Line::raw("")));
    }
    let k = |a| state.keymap.first_key_of(a);
    let hint = format!(
        "{}/{} move · {} choose · {} close",
        k(Action::CursorUp),
        k(Action::CursorDown),
        k(Action::Choose),
        k(Action::Cancel)
    );
    lines.push(Line::styled(
        clip(&hint, inner_w),
        theme.style(Meaning::Dim),
    ));
    let h = (lines.len() as u16 + 2).min(screen.height.saturating_sub(2));
    let area = Rect::new(
        screen.x + (screen.width.saturating_sub(box_w)) / 2,
        screen.y + (screen.height.saturating_sub(h)) / 2,
        box_w,
        h,
    );
    frame.render_widget(Clear, area);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style(Meaning::Focus))
        .title(Span::styled(
            menu.title.as_str(),
            theme.style(Meaning::Title),
        ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    frame.render_widget(Paragraph::new(lines), inner);
}
