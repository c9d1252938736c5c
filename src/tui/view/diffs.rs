//! Changed files on the left, the selected file's coloured hunks on the right.

use super::text::{clip, fit, width};
use crate::core::{FileStatus, LineKind, sanitize, screen_line};
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
