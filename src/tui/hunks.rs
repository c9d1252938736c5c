//! The rows of the selected file's hunks as the Diffs tab draws them: each hunk's header,
//! its lines, and the review comments under the line they are on. `update` moves the line
//! cursor and scrolls over these rows, the view draws them, so both count the same rows.

use super::state::State;
use crate::core::text::{clip, wrap};
use crate::core::{Comment, DiffLine, FileDiff, Hunk, LineKind, sanitize};

/// The most rows one comment takes; the last of them is clipped.
pub const COMMENT_ROWS: usize = 3;
/// Columns before a comment's text: `  ╰ waiting `.
pub const COMMENT_INDENT: usize = 12;
/// Rows the comment box takes at the bottom of the hunks.
pub const COMMENT_BOX: usize = 3;

pub enum HunkRow<'a> {
    Header(&'a Hunk),
    /// A line: its index among the file's lines (headers not counted) and, unless it was
    /// removed, its number in the new file.
    Line {
        at: usize,
        line: &'a DiffLine,
        new: Option<u32>,
    },
    /// One row of a comment under its line; the first carries its mark.
    Comment {
        comment: &'a Comment,
        text: String,
        first: bool,
    },
}

/// The rows of `file`, with `comments` (any file's) under their lines, wrapped at `width`.
/// A comment on a line no hunk shows comes after the last hunk, with its line number.
pub fn rows<'a>(file: &'a FileDiff, comments: &'a [Comment], width: usize) -> Vec<HunkRow<'a>> {
    let mut mine: Vec<&Comment> = comments.iter().filter(|c| c.path == file.path).collect();
    mine.sort_by_key(|c| (c.line, c.id));
    let mut placed = vec![false; mine.len()];
    let mut out = Vec::new();
    let mut at = 0;
    for h in &file.hunks {
        out.push(HunkRow::Header(h));
        let mut next = h.new_start as u32;
        for line in &h.lines {
            let new = (line.kind != LineKind::Removed).then(|| {
                next += 1;
                next - 1
            });
            out.push(HunkRow::Line { at, line, new });
            at += 1;
            let Some(n) = new else { continue };
            for (i, c) in mine.iter().enumerate().filter(|(_, c)| c.line == n) {
                if !std::mem::replace(&mut placed[i], true) {
                    comment_rows(c, &sanitize(&c.text), width, &mut out);
                }
            }
        }
    }
    for (c, _) in mine.iter().zip(&placed).filter(|(_, p)| !**p) {
        let text = format!("line {}: {}", c.line, sanitize(&c.text));
        comment_rows(c, &text, width, &mut out);
    }
    out
}

fn comment_rows<'a>(c: &'a Comment, text: &str, width: usize, out: &mut Vec<HunkRow<'a>>) {
    let one_line = text.replace(['\n', '\r', '\t'], " ");
    let room = width.saturating_sub(COMMENT_INDENT).max(8);
    let mut pieces = wrap(one_line.trim(), room);
    if pieces.len() > COMMENT_ROWS {
        let rest = pieces.split_off(COMMENT_ROWS - 1).join(" ");
        pieces.push(clip(&rest, room));
    }
    for (i, text) in pieces.into_iter().enumerate() {
        out.push(HunkRow::Comment {
            comment: c,
            text,
            first: i == 0,
        });
    }
}

/// How many lines the file's hunks hold, headers not counted.
pub fn line_count(file: &FileDiff) -> usize {
    file.hunks.iter().map(|h| h.lines.len()).sum()
}

/// The new file's line number a comment on line `at` goes on: the line's own, or for a
/// removed line, that of the line that now stands where it was. A removed line with no
/// line after it in its hunk (the end of a file, a deleted file) has none.
pub fn comment_line(file: &FileDiff, at: usize) -> Result<u32, &'static str> {
    let mut seen = 0;
    for h in &file.hunks {
        if at >= seen + h.lines.len() {
            seen += h.lines.len();
            continue;
        }
        let i = at - seen;
        let kept = |l: &DiffLine| l.kind != LineKind::Removed;
        let before = h.lines[..i].iter().filter(|l| kept(l)).count() as u32;
        if !h.lines[i..].iter().any(kept) {
            return Err(
                "a removed line with no line after it in the new file cannot be commented on: comment on a line near it",
            );
        }
        return Ok(h.new_start as u32 + before);
    }
    Err("no line there")
}

impl State {
    /// The columns the hunks' text takes, as `view::diffs` lays the tab out.
    pub fn hunks_width(&self) -> usize {
        let inner = self.messages_width();
        let list = match self.zoom {
            true => 0,
            false => (inner / 3).clamp(18, 48),
        };
        inner.saturating_sub(list).max(10).saturating_sub(1)
    }

    /// The rows the hunks have below the file's title, less the comment box when it is open.
    pub fn hunks_height(&self) -> usize {
        let rows = self.sidebar_height().saturating_sub(1);
        match self.diff.comment {
            Some(_) => rows.saturating_sub(COMMENT_BOX),
            None => rows,
        }
        .max(1)
    }

    /// The rows of the selected file's hunks at the width they are drawn at.
    pub fn hunk_rows(&self) -> Vec<HunkRow<'_>> {
        match self.diff.files.get(self.diff.selected) {
            Some(file) => rows(file, self.comments(), self.hunks_width()),
            None => Vec::new(),
        }
    }

    /// Scrolls the hunks as little as keeps the cursor's line in view.
    pub fn scroll_to_cursor(&mut self) {
        let cursor = self.diff.cursor;
        let rows = self.hunk_rows();
        let Some(row) = rows
            .iter()
            .position(|r| matches!(r, HunkRow::Line { at, .. } if *at == cursor))
        else {
            return;
        };
        // The first line of a hunk brings its header into view with it.
        let top = match row.checked_sub(1).map(|r| &rows[r]) {
            Some(HunkRow::Header(_)) => row - 1,
            _ => row,
        };
        drop(rows);
        let height = self.hunks_height();
        if top < self.diff.scroll {
            self.diff.scroll = top;
        } else if row >= self.diff.scroll + height {
            self.diff.scroll = row + 1 - height;
        }
    }
}
