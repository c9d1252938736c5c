//! Overlays: the new-session form, confirmations, the permission card and help.

use super::text::{clip, wrap};
use crate::core::{PartKind, sanitize};
use crate::tui::dialog::{Confirm, Dialog, Field, NewSessionForm};
use crate::tui::keymap::Action;
use crate::tui::state::State;
use crate::tui::theme::Meaning;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

pub fn render(state: &State, frame: &mut Frame, screen: Rect, main: Rect) {
    if state.permission_card_shown() && state.dialog.is_none() && state.history_view.is_none() {
        permission_card(state, frame, main);
    }
    match &state.dialog {
        Some(Dialog::NewSession(form)) => new_session(state, form, frame, screen),
        Some(Dialog::Confirm(c)) => confirm(state, c, frame, screen),
        Some(Dialog::Menu(m)) => super::menu::render(state, m, frame, screen),
        None => {}
    }
    super::overlay::render(state, frame, screen);
}

fn centered(screen: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(screen.width.saturating_sub(2));
    let h = height.min(screen.height.saturating_sub(2));
    Rect::new(
        screen.x + (screen.width - w) / 2,
        screen.y + (screen.height - h) / 2,
        w,
        h,
    )
}

fn boxed<'a>(state: &State, title: &'a str) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(state.theme.style(Meaning::Focus))
        .title(Span::styled(title, state.theme.style(Meaning::Title)))
}

fn new_session(state: &State, form: &NewSessionForm, frame: &mut Frame, screen: Rect) {
    let theme = &state.theme;
    let label_w = 14usize;
    let value_w = usize::from(76u16.min(screen.width.saturating_sub(2)).saturating_sub(2))
        .saturating_sub(label_w + 1);
    let mut lines: Vec<Line> = Vec::new();
    for field in Field::ALL {
        let focused = form.focus == field;
        let label_style = if focused {
            theme.style(Meaning::Key)
        } else {
            theme.style(Meaning::Dim)
        };
        let marker = if focused { "›" } else { " " };
        let (value, placeholder) = field_value(form, field, focused);
        let value_style = if placeholder {
            theme.style(Meaning::Dim)
        } else if focused {
            theme.style(Meaning::Focus)
        } else {
            theme.style(Meaning::Text)
        };
        lines.push(Line::from(vec![
            Span::styled(
                format!("{marker}{:<w$}", field.label(), w = label_w - 1),
                label_style,
            ),
            Span::styled(clip_left(&value, value_w), value_style),
        ]));
        let under = |text: &str, meaning, lines: &mut Vec<Line>| {
            for piece in wrap(&sanitize(text), value_w) {
                lines.push(Line::styled(
                    format!("{:label_w$}{piece}", ""),
                    theme.style(meaning),
                ));
            }
        };
        if field == Field::Template
            && let Some(summary) = form.template_summary()
        {
            under(&summary, Meaning::Dim, &mut lines);
        }
        if field == Field::Directory && !form.completions.is_empty() {
            let options = form.completions.join("  ");
            lines.push(Line::styled(
                format!("{:label_w$}{}", "", clip(&options, value_w)),
                theme.style(Meaning::Dim),
            ));
        }
        if field == Field::Agent
            && focused
            && let Some(install) = form.missing.get(&form.value(field))
        {
            under(install, Meaning::Warning, &mut lines);
        }
        if let Some(e) = form.errors.get(&field) {
            lines.push(Line::styled(
                format!("{:label_w$}{}", "", clip(&format!("✗ {e}"), value_w)),
                theme.style(Meaning::Error),
            ));
        }
    }
    lines.push(Line::raw(""));
    let hint = if form.submitting {
        "creating…".to_string()
    } else {
        let k = |a| state.keymap.keys_of(a);
        format!(
            "{} create · {} cancel · {}/{} move · {} choose · {} complete path",
            k(Action::Submit),
            k(Action::Cancel),
            k(Action::PrevField),
            k(Action::NextField),
            format_args!("{}/{}", k(Action::OptionPrev), k(Action::OptionNext)),
            k(Action::Complete)
        )
    };
    let area = centered(screen, 76, lines.len() as u16 + 3);
    frame.render_widget(Clear, area);
    let title = match &form.host_name {
        Some(host) => format!(" new session on {} ", crate::core::sanitize(host)),
        None => " new session ".to_string(),
    };
    let block = boxed(state, &title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    lines.push(Line::styled(
        clip(&hint, usize::from(inner.width)),
        theme.style(Meaning::Dim),
    ));
    frame.render_widget(Paragraph::new(lines), inner);
}

/// A field's value as drawn, and whether it is a placeholder (what the daemon or the
/// template will fill in) rather than something chosen or typed.
fn field_value(form: &NewSessionForm, field: Field, focused: bool) -> (String, bool) {
    let from_template = form.chosen_template().is_some();
    match field {
        Field::Template => match &form.templates {
            None => ("asking the daemon…".into(), true),
            Some(t) if t.is_empty() => ("none configured".into(), true),
            Some(_) => (format!("◀ {} ▶", sanitize(&form.value(field))), false),
        },
        Field::Agent if form.missing.contains_key(&form.value(field)) => {
            (format!("◀ {} · not installed ▶", form.value(field)), false)
        }
        Field::Agent | Field::Strategy => {
            let chosen = match field {
                Field::Agent => form.agent_chosen,
                _ => form.strategy_chosen,
            };
            let set = form.chosen_template().is_some_and(|t| match field {
                Field::Agent => t.agent.is_some(),
                _ => t.strategy.is_some(),
            });
            let note = if from_template && set && !chosen {
                " · from the template"
            } else {
                ""
            };
            (format!("◀ {} ▶{note}", sanitize(&form.value(field))), false)
        }
        _ => {
            let v = form.value(field);
            let v = v.lines().next().unwrap_or("").to_string();
            if v.is_empty() && field == Field::Branch {
                (form.branch_placeholder(), true)
            } else if v.is_empty()
                && let Some(t) = form.template_value(field).filter(|_| !focused)
            {
                (sanitize(&t), true)
            } else if focused {
                // The cursor stays at the end of a single-line field.
                (format!("{v}▏"), false)
            } else {
                (v, false)
            }
        }
    }
}

/// Keeps the end of a long value (a path) in view.
fn clip_left(text: &str, max: usize) -> String {
    let count = text.chars().count();
    if count <= max {
        return text.to_string();
    }
    let tail: String = text.chars().skip(count - max.saturating_sub(1)).collect();
    format!("…{tail}")
}

fn confirm(state: &State, c: &Confirm, frame: &mut Frame, screen: Rect) {
    let theme = &state.theme;
    let width = 64u16.min(screen.width.saturating_sub(2));
    let inner_w = usize::from(width.saturating_sub(4)).max(1);
    let mut lines: Vec<Line> = wrap(&sanitize(&c.question), inner_w)
        .into_iter()
        .map(Line::raw)
        .collect();
    if !c.details.is_empty() {
        lines.push(Line::raw(""));
        for detail in &c.details {
            for piece in wrap(&sanitize(detail), inner_w) {
                lines.push(Line::styled(piece, theme.style(Meaning::Dim)));
            }
        }
    }
    if !c.losses.is_empty() {
        lines.push(Line::raw(""));
        for loss in &c.losses {
            for (i, piece) in wrap(&sanitize(loss), inner_w.saturating_sub(2))
                .into_iter()
                .enumerate()
            {
                let lead = if i == 0 { "• " } else { "  " };
                lines.push(Line::styled(
                    format!("{lead}{piece}"),
                    theme.style(Meaning::Warning),
                ));
            }
        }
    }
    lines.push(Line::raw(""));
    let mut buttons = Vec::new();
    for (i, choice) in c.choices.iter().enumerate() {
        let style = if i == c.focus {
            theme
                .style(Meaning::Focus)
                .add_modifier(ratatui::style::Modifier::REVERSED)
        } else {
            theme.style(Meaning::Dim)
        };
        buttons.push(Span::styled(format!("[ {} ]", choice.label), style));
    }
    let total: usize = buttons.iter().map(|b| b.width() + 1).sum();
    if total <= inner_w {
        let mut row = Vec::new();
        for b in buttons {
            row.extend([b, Span::raw(" ")]);
        }
        lines.push(Line::from(row));
    } else {
        lines.extend(buttons.into_iter().map(Line::from));
    }
    let k = |a| state.keymap.first_key_of(a);
    let mut hint = format!(
        "{}/{} move · {} press · {} cancel",
        k(Action::PrevChoice),
        k(Action::NextChoice),
        k(Action::Choose),
        k(Action::No)
    );
    if c.letters {
        hint.push_str(&format!(" · {} yes", k(Action::Yes)));
    }
    lines.push(Line::styled(
        clip(&hint, inner_w),
        theme.style(Meaning::Dim),
    ));
    let area = centered(screen, width, lines.len() as u16 + 2);
    frame.render_widget(Clear, area);
    let block = boxed(state, " confirm ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    frame.render_widget(Paragraph::new(lines), inner);
}

fn permission_card(state: &State, frame: &mut Frame, main: Rect) {
    let Some(part) = state.transcript().and_then(|t| t.pending_permission()) else {
        return;
    };
    let PartKind::Permission {
        tool, detail, diff, ..
    } = &part.kind
    else {
        return;
    };
    let theme = &state.theme;
    let inner_w = usize::from(main.width.saturating_sub(4));
    let mut lines = vec![Line::from(vec![
        Span::styled("tool    ", theme.style(Meaning::Dim)),
        Span::styled(sanitize(tool), theme.style(Meaning::Key)),
    ])];
    for (i, piece) in wrap(&sanitize(detail), inner_w.saturating_sub(8))
        .into_iter()
        .take(3)
        .enumerate()
    {
        let label = if i == 0 { "wants   " } else { "        " };
        lines.push(Line::from(vec![
            Span::styled(label, theme.style(Meaning::Dim)),
            Span::raw(piece),
        ]));
    }
    if let Some(diff) = diff {
        for line in diff.lines().take(8) {
            let meaning = if line.starts_with('+') {
                Meaning::Added
            } else if line.starts_with('-') {
                Meaning::Removed
            } else {
                Meaning::Dim
            };
            lines.push(Line::styled(
                clip(&sanitize(line), inner_w),
                theme.style(meaning),
            ));
        }
    }
    lines.push(Line::from(
        [Action::AllowOnce, Action::AllowAlways, Action::Deny]
            .into_iter()
            .flat_map(|a| {
                let desc = state
                    .keymap
                    .binding(a)
                    .map(|b| b.desc.clone())
                    .unwrap_or_default();
                [
                    Span::styled(state.keymap.keys_of(a), theme.style(Meaning::Key)),
                    Span::raw(format!(" {desc}   ")),
                ]
            })
            .collect::<Vec<_>>(),
    ));
    let height = (lines.len() as u16 + 2).min(main.height.saturating_sub(2));
    let area = Rect::new(
        main.x + 1,
        main.y + main.height.saturating_sub(height + 1),
        main.width.saturating_sub(2),
        height,
    );
    frame.render_widget(Clear, area);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style(Meaning::Warning))
        .title(Span::styled(
            " the agent asks for permission ",
            theme.style(Meaning::Attention),
        ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    frame.render_widget(Paragraph::new(lines), inner);
}
