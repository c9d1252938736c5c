//! Changed files on the left, the selected file's coloured hunks on the right.

use super::text::{clip, fit};
use crate::core::{FileStatus, LineKind, sanitize, screen_line};
use crate::tui::state::State;
use crate::tui::theme::Meaning;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

/// Keeps the end of a path (its file name) when it must be cut.
fn clip_path(path: &str, max: usize) -> String {
    let count = path.chars().count();
    if count <= max {
        return path.to_string();
    }
    let tail: String = path.chars().skip(count + 1 - max.max(1)).collect();
    format!("…{tail}")
}

/// Past this many lines in all, the file list opens with a summary line.
const LARGE: usize = 5_000;

pub fn render(state: &State, frame: &mut Frame, area: Rect) {
    let theme = &state.theme;
    let diff = &state.diff;
    let note = |text: String, meaning| Paragraph::new(text).style(theme.style(meaning));
    if let Some(e) = &diff.error {
        return frame.render_widget(
            note(format!("cannot show the diff: {e}"), Meaning::Error),
            area,
        );
    }
    if diff.files.is_empty() {
        let text = if diff.loading {
            "loading diff…"
        } else {
            "no changes against the base commit"
        };
        return frame.render_widget(note(text.into(), Meaning::Dim), area);
    }
    let list_width = (area.width / 3).clamp(18, 48);
    let [list, hunks] =
        Layout::horizontal([Constraint::Length(list_width), Constraint::Min(10)]).areas(area);

    let (adds, dels) = diff
        .files
        .iter()
        .fold((0, 0), |(a, d), f| (a + f.additions, d + f.deletions));
    let mut lines = vec![Line::styled(
        format!(
            "{} file{} +{adds} -{dels}{}",
            diff.files.len(),
            if diff.files.len() == 1 { "" } else { "s" },
            if diff.loading { " ⟳" } else { "" }
        ),
        theme.style(if adds + dels > LARGE as u64 {
            Meaning::Warning
        } else {
            Meaning::Dim
        }),
    )];
    let height = usize::from(list.height).saturating_sub(1);
    let offset = (diff.selected + 1).saturating_sub(height);
    let cols = usize::from(list_width.saturating_sub(1));
    for (i, f) in diff.files.iter().enumerate().skip(offset).take(height) {
        let (mark, meaning) = match f.status {
            FileStatus::Added => ("A", Meaning::Added),
            FileStatus::Modified => ("M", Meaning::Warning),
            FileStatus::Deleted => ("D", Meaning::Removed),
        };
        let counts = format!(" +{} -{} ", f.additions, f.deletions);
        let room = cols.saturating_sub(2 + counts.len());
        let mut path_style = theme.style(Meaning::Text);
        if i == diff.selected {
            path_style = theme.style(Meaning::Selected);
        }
        lines.push(Line::from(vec![
            Span::styled(format!("{mark} "), theme.style(meaning)),
            Span::styled(fit(&clip_path(&sanitize(&f.path), room), room), path_style),
            Span::styled(counts, theme.style(Meaning::Dim)),
        ]));
    }
    let border = Block::default()
        .borders(Borders::RIGHT)
        .border_style(theme.style(Meaning::Dim));
    let list_inner = border.inner(list);
    frame.render_widget(border, list);
    frame.render_widget(Paragraph::new(lines), list_inner);

    let Some(file) = diff.files.get(diff.selected) else {
        return;
    };
    let width = usize::from(hunks.width.saturating_sub(1));
    let waiting = file.hunks.is_empty() && diff.fetching.as_deref() == Some(file.path.as_str());
    if file.binary || file.too_large || waiting {
        let why = if file.binary {
            "binary file".to_string()
        } else if file.too_large {
            format!(
                "too large to show ({:.1} MiB)",
                file.size as f64 / (1024.0 * 1024.0)
            )
        } else {
            "loading…".to_string()
        };
        let text = format!(
            "{}\n{why}: +{} -{}",
            sanitize(&file.path),
            file.additions,
            file.deletions
        );
        return frame.render_widget(
            note(text, Meaning::Dim),
            Rect {
                x: hunks.x + 1,
                ..hunks
            },
        );
    }
    let height = usize::from(hunks.height);
    let mut shown = Vec::with_capacity(height);
    shown.push(Line::styled(
        clip(
            &format!(
                "{} +{} -{}",
                sanitize(&file.path),
                file.additions,
                file.deletions
            ),
            width,
        ),
        theme.style(Meaning::Title),
    ));
    let mut skip = diff.scroll;
    'hunks: for h in &file.hunks {
        if skip > h.lines.len() {
            skip -= h.lines.len() + 1;
            continue;
        }
        if skip == 0 {
            shown.push(Line::styled(
                format!(
                    "@@ -{},{} +{},{} @@",
                    h.old_start, h.old_lines, h.new_start, h.new_lines
                ),
                theme.style(Meaning::HunkHeader),
            ));
        }
        for line in h.lines.iter().skip(skip.saturating_sub(1)) {
            if shown.len() >= height {
                break 'hunks;
            }
            let (sign, meaning) = match line.kind {
                LineKind::Context => (' ', Meaning::Text),
                LineKind::Added => ('+', Meaning::Added),
                LineKind::Removed => ('-', Meaning::Removed),
            };
            shown.push(Line::styled(
                clip(&format!("{sign}{}", screen_line(&line.text)), width),
                theme.style(meaning),
            ));
        }
        skip = 0;
        if shown.len() >= height {
            break;
        }
    }
    if file.omitted_lines > 0 && shown.len() < height {
        shown.push(Line::styled(
            format!(
                "… {} more lines not shown ({}: editor)",
                file.omitted_lines,
                state.keymap.keys_of(crate::tui::keymap::Action::Editor)
            ),
            theme.style(Meaning::Dim),
        ));
    }
    frame.render_widget(
        Paragraph::new(shown),
        Rect {
            x: hunks.x + 1,
            width: hunks.width.saturating_sub(1),
            ..hunks
        },
    );
}
