//! The prompt box and the status line with the keys that apply right now.

use crate::core::{Action as Allowed, Status, check, sanitize};
use crate::tui::dialog::Dialog;
use crate::tui::keymap::Action;
use crate::tui::state::{Level, State};
use crate::tui::theme::Meaning;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

pub fn prompt(state: &State, frame: &mut Frame, area: Rect) {
    let theme = &state.theme;
    let title = match state.selected_session() {
        Some(s) => match check(s.status, Allowed::Prompt) {
            Ok(crate::core::Verdict::Queue) => {
                format!(
                    " prompt → {} (busy: it will be queued) ",
                    sanitize(&s.title)
                )
            }
            Ok(_) => format!(" prompt → {} ", sanitize(&s.title)),
            Err(_) => format!(
                " prompt → {} ({}: cannot take prompts) ",
                sanitize(&s.title),
                s.status
            ),
        },
        None => " prompt ".to_string(),
    };
    let border = if state.prompting {
        theme.style(Meaning::Focus)
    } else {
        theme.style(Meaning::Dim)
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(border)
        .title(Span::styled(
            super::text::clip(&title, usize::from(area.width.saturating_sub(2))),
            border,
        ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    frame.render_widget(&state.prompt, inner);
}

pub fn render(state: &State, frame: &mut Frame, area: Rect) {
    let theme = &state.theme;
    let line = if let Some(why) = &state.offline {
        Line::styled(
            format!("daemon connection lost: {why}"),
            theme.style(Meaning::Error),
        )
    } else if let Some((text, level)) = &state.flash {
        let meaning = if *level == Level::Error {
            Meaning::Error
        } else {
            Meaning::Success
        };
        // A message too long for the line says where to read it whole.
        let width = usize::from(area.width);
        let text = sanitize(text);
        if super::text::width(&text) <= width {
            Line::styled(text, theme.style(meaning))
        } else {
            let more = format!(" {} reads it all", state.keymap.keys_of(Action::Messages));
            let room = width.saturating_sub(super::text::width(&more));
            Line::from(vec![
                Span::styled(super::text::clip(&text, room), theme.style(meaning)),
                Span::styled(more, theme.style(Meaning::Key)),
            ])
        }
    } else {
        keys_line(state, usize::from(area.width))
    };
    frame.render_widget(Paragraph::new(line), area);
}

/// The keys that do something now, for the selected session's status: as many as fit,
/// whole, with help always last.
fn keys_line(state: &State, width: usize) -> Line<'static> {
    let theme = &state.theme;
    let mut actions: Vec<Action> = Vec::new();
    if state.filtering {
        return Line::styled(
            "type to filter · enter keeps it · esc clears it",
            theme.style(Meaning::Dim),
        );
    }
    if state.overlay.is_some() {
        return Line::styled(
            "j/k/pgup/pgdn scroll · any other key closes",
            theme.style(Meaning::Dim),
        );
    }
    let history = state.history_view.as_ref();
    if history.is_some_and(|h| h.editing) && state.dialog.is_none() {
        return Line::styled(
            "type a search · enter searches · esc leaves the box",
            theme.style(Meaning::Dim),
        );
    }
    if let Some(dialog) = &state.dialog {
        actions.extend(match dialog {
            Dialog::Confirm(c) if c.letters => {
                vec![Action::Choose, Action::NextChoice, Action::No, Action::Yes]
            }
            Dialog::Confirm(_) => vec![Action::Choose, Action::NextChoice, Action::No],
            Dialog::Menu(_) => {
                return Line::styled(
                    "choose an option · a dimmed one says why it cannot be taken now",
                    theme.style(Meaning::Dim),
                );
            }
            Dialog::NewSession(_) => vec![
                Action::Submit,
                Action::Cancel,
                Action::NextField,
                Action::OptionNext,
                Action::Complete,
            ],
        });
    } else if let Some(h) = history {
        actions.extend([Action::Open]);
        let row = h
            .selected_row()
            .map(|r| state.session(r.id).unwrap_or(r).status);
        if row.is_some_and(|st| check(st, Allowed::Restore).is_ok()) {
            actions.push(Action::Restore);
        }
        if row.is_some() {
            actions.push(Action::Reforge);
        }
        // The search and the filters say their keys where they are shown.
        actions.push(Action::Close);
        if state.fleet.hosts.len() > 1 {
            actions.push(Action::NextHost);
        }
        if h.has_next_page() {
            actions.push(Action::NextPage);
        }
        if h.offset > 0 {
            actions.push(Action::PrevPage);
        }
        actions.push(Action::Help);
    } else if state.prompting {
        actions.push(Action::Send);
        if state
            .selected_session()
            .is_some_and(|s| s.status == Status::Active)
        {
            actions.push(Action::Steer);
        }
        actions.extend([Action::Newline, Action::HistoryPrev, Action::Leave]);
    } else {
        if state.permission_card_shown() {
            actions.extend([Action::AllowOnce, Action::AllowAlways, Action::Deny]);
        }
        if let Some(s) = state.selected_session() {
            let allowed = |a| check(s.status, a).is_ok();
            if state.tab == crate::tui::state::Tab::Diffs && !state.diff.files.is_empty() {
                if state.diff.comment.is_some() {
                    return Line::styled(
                        "type the comment · enter saves it · esc drops it",
                        theme.style(Meaning::Dim),
                    );
                }
                actions.push(match state.diff.focus {
                    true => Action::Comment,
                    false => Action::ReviewLines,
                });
                if state.waiting_comments() > 0 {
                    actions.push(Action::SendComments);
                }
            }
            if allowed(Allowed::Prompt) {
                actions.push(Action::Prompt);
            }
            if allowed(Allowed::Abort) {
                actions.push(Action::Abort);
            }
            if allowed(Allowed::Resume) {
                actions.push(Action::Resume);
            }
            if allowed(Allowed::Terminate) {
                actions.extend([Action::Terminate, Action::TerminateCleanup]);
            } else if matches!(s.status, Status::Stopped | Status::Completed) {
                actions.push(Action::TerminateCleanup);
            }
            if allowed(Allowed::Land) {
                actions.push(Action::Land);
            }
            if allowed(Allowed::Archive) {
                actions.push(Action::Archive);
            }
            actions.push(Action::Delete);
        }
        actions.extend([Action::New, Action::History, Action::Help, Action::Quit]);
    }
    let item = |action: Action| {
        let binding = state.keymap.binding(action)?;
        let desc = binding
            .desc
            .split(" (")
            .next()
            .unwrap_or(&binding.desc)
            .to_string();
        Some((state.keymap.keys_of(action), format!(" {desc}  ")))
    };
    let help = if state.prompting || state.dialog.is_some() {
        None
    } else {
        item(Action::Help)
    };
    let reserved = help
        .as_ref()
        .map_or(0, |(k, d)| k.chars().count() + d.chars().count());
    let mut used = 0;
    let mut spans = Vec::new();
    for (keys, desc) in actions
        .into_iter()
        .filter(|a| *a != Action::Help)
        .filter_map(item)
    {
        let cost = keys.chars().count() + desc.chars().count();
        if used + cost + reserved > width {
            break;
        }
        used += cost;
        spans.push(Span::styled(keys, theme.style(Meaning::Key)));
        spans.push(Span::styled(desc, theme.style(Meaning::Dim)));
    }
    if let Some((keys, desc)) = help {
        spans.push(Span::styled(keys, theme.style(Meaning::Key)));
        spans.push(Span::styled(desc, theme.style(Meaning::Dim)));
    }
    Line::from(spans)
}
