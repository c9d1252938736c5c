//! Changed files on the left, the selected file's coloured hunks on the right.

use super::text::{clip, fit, width};
use crate::core::{FileStatus, LineKind, sanitize, screen_line};
use crate::tui::hunks::HunkRow;
use crate::tui::state::State;
use crate::tui::theme::Meaning;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

/// Cuts a long path in the middle, keeping its file name and as much of its start as
/// fits: `src/par…/big_table.rs`. A file name too long alone keeps its end.
pub fn clip_path(path: &str, max: usize) -> String {
    if width(path) <= max {
        return path.to_string();
    }
    let name_at = path.rfind('/').map_or(0, |i| i + 1);
    let name = &path[name_at..];
    let name_w = width(name);
    if name_at == 0 || name_w + 2 > max {
        let mut tail: Vec<char> = Vec::new();
        let mut used = 1;
        for c in name.chars().rev() {
            let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
            if used + w > max {
                break;
            }
            used += w;
            tail.push(c);
        }
        return format!("…{}", tail.into_iter().rev().collect::<String>());
    }
    let head = clip(&path[..name_at - 1], max - name_w - 1);
    format!("{head}/{name}")
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
    // Zoomed, the hunks take the whole width, and their header says which file it is.
    let list_width = if state.zoom {
        0
    } else {
        (area.width / 3).clamp(18, 48)
    };
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
        let counts = match f.binary {
            true => " binary ".to_string(),
            false => format!(" +{} -{} ", f.additions, f.deletions),
        };
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
    if !state.zoom {
        let border = Block::default()
            .borders(Borders::RIGHT)
            .border_style(theme.style(Meaning::Dim));
        let list_inner = border.inner(list);
        frame.render_widget(border, list);
        frame.render_widget(Paragraph::new(lines), list_inner);
    }

    let Some(file) = diff.files.get(diff.selected) else {
        return;
    };
    let width = usize::from(hunks.width.saturating_sub(1));
    let waiting = file.hunks.is_empty() && diff.fetching.as_deref() == Some(file.path.as_str());
    if file.binary || file.too_large || waiting {
        let why = if file.binary {
            format!("binary file, {} bytes", file.size)
        } else if file.too_large {
            format!(
                "too large to show ({:.1} MiB)",
                file.size as f64 / (1024.0 * 1024.0)
            )
        } else {
            "loading…".to_string()
        };
        let counts = match file.binary {
            true => String::new(),
            false => format!(": +{} -{}", file.additions, file.deletions),
        };
        let text = format!("{}\n{why}{counts}", sanitize(&file.path));
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
    let counts = match state.zoom {
        true => format!(
            " +{} -{} · file {} of {}",
            file.additions,
            file.deletions,
            diff.selected + 1,
            diff.files.len()
        ),
        false => format!(" +{} -{}", file.additions, file.deletions),
    };
    let room = width.saturating_sub(super::text::width(&counts));
    shown.push(Line::styled(
        format!("{}{counts}", clip_path(&sanitize(&file.path), room)),
        theme.style(Meaning::Title),
    ));
    let rows = crate::tui::hunks::rows(file, state.comments(), width);
    let boxed = diff.comment.is_some();
    let body = match boxed {
        true => height.saturating_sub(crate::tui::hunks::COMMENT_BOX),
        false => height,
    };
    let cursor = (diff.focus || boxed).then_some(diff.cursor);
    for row in rows.iter().skip(diff.scroll) {
        if shown.len() >= body {
            break;
        }
        shown.push(hunk_row(state, row, cursor, width));
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
    let text_area = Rect {
        x: hunks.x + 1,
        width: hunks.width.saturating_sub(1),
        ..hunks
    };
    frame.render_widget(Paragraph::new(shown), text_area);
    if let Some(comment) = &diff.comment {
        let rows = crate::tui::hunks::COMMENT_BOX as u16;
        let area = Rect {
            y: text_area.y + text_area.height.saturating_sub(rows),
            height: rows.min(text_area.height),
            ..text_area
        };
        let title = format!(" comment on {}:{} ", sanitize(&comment.path), comment.line);
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.style(Meaning::Focus))
            .title(Span::styled(
                clip(&title, usize::from(area.width.saturating_sub(2))),
                theme.style(Meaning::Title),
            ));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        frame.render_widget(&comment.input, inner);
    }
}

/// One row of the hunks: a header, a line (reversed under the cursor), or a comment.
fn hunk_row(state: &State, row: &HunkRow, cursor: Option<usize>, width: usize) -> Line<'static> {
    let theme = &state.theme;
    match row {
        HunkRow::Header(h) => Line::styled(
            format!(
                "@@ -{},{} +{},{} @@",
                h.old_start, h.old_lines, h.new_start, h.new_lines
            ),
            theme.style(Meaning::HunkHeader),
        ),
        HunkRow::Line { at, line, .. } => {
            let (sign, meaning) = match line.kind {
                LineKind::Context => (' ', Meaning::Text),
                LineKind::Added => ('+', Meaning::Added),
                LineKind::Removed => ('-', Meaning::Removed),
            };
            let text = clip(&format!("{sign}{}", screen_line(&line.text)), width);
            let mut style = theme.style(meaning);
            if cursor == Some(*at) {
                style = style.add_modifier(ratatui::style::Modifier::REVERSED);
                return Line::styled(fit(&text, width), style);
            }
            Line::styled(text, style)
        }
        HunkRow::Comment {
            comment,
            text,
            first,
        } => {
            let (mark, meaning) = match (first, comment.sent_at.is_some()) {
                (false, _) => ("", Meaning::Dim),
                (true, true) => ("  ╰ sent", Meaning::Dim),
                (true, false) => ("  ╰ waiting", Meaning::Warning),
            };
            let indent = crate::tui::hunks::COMMENT_INDENT;
            Line::from(vec![
                Span::styled(format!("{mark:<indent$}"), theme.style(meaning)),
                Span::styled(text.clone(), theme.style(meaning)),
            ])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::clip_path;

    #[test]
    fn long_paths_lose_their_middle_and_keep_the_file_name() {
        assert_eq!(clip_path("README.md", 20), "README.md");
        assert_eq!(
            clip_path("src/parser/big_generated_table.rs", 30),
            "src/pa…/big_generated_table.rs"
        );
        assert_eq!(clip_path("a/b/README.md", 11), "…/README.md");
        assert_eq!(
            clip_path("deep/dir/very_long_file_name.rs", 12),
            "…ile_name.rs"
        );
        assert_eq!(clip_path("docs/README.md", 12), "d…/README.md");
        for max in 1..40 {
            let clipped = clip_path("src/parser/big_generated_table.rs", max);
            assert!(super::width(&clipped) <= max.max(1), "{max}: {clipped}");
        }
    }
}
