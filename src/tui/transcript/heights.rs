//! How many rows each part's text takes when drawn, kept between frames: a transcript
//! scrolled far up is measured from its cache, not wrapped again every frame. An entry
//! is for one width; text streamed onto a part is measured from its last line on, since
//! the lines before it did not change.

use std::cell::RefCell;

#[derive(Debug, Clone, Copy)]
struct Height {
    width: usize,
    /// The text's length when measured.
    len: usize,
    /// Rows of every line, the last one included.
    rows: usize,
    /// Rows of the lines before the last one.
    before_last: usize,
    /// Where the last line starts.
    last_start: usize,
}

/// Heights by message index, then part index; cleared when the indexes shift.
#[derive(Debug, Default, Clone)]
pub struct Heights(RefCell<Vec<Vec<Option<Height>>>>);

impl Heights {
    pub fn clear(&mut self) {
        self.0.get_mut().clear();
    }

    /// Forgets one part, whose text was replaced rather than extended.
    pub fn forget(&mut self, m: usize, p: usize) {
        if let Some(slot) = self
            .0
            .get_mut()
            .get_mut(m)
            .and_then(|parts| parts.get_mut(p))
        {
            *slot = None;
        }
    }

    /// The rows of `text` at `width`, as `line_rows` counts each line (split at '\n');
    /// a final newline adds no row.
    pub fn rows(
        &self,
        (m, p): (usize, usize),
        width: usize,
        text: &str,
        line_rows: impl Fn(&str) -> usize,
    ) -> usize {
        let mut all = self.0.borrow_mut();
        if all.len() <= m {
            all.resize_with(m + 1, Vec::new);
        }
        let parts = &mut all[m];
        if parts.len() <= p {
            parts.resize(p + 1, None);
        }
        let height = match parts[p] {
            Some(h) if h.width == width && h.len == text.len() => h,
            // Text was appended: only the last line and what follows are measured.
            Some(h) if h.width == width && h.len < text.len() => {
                measure(text, h.last_start, h.before_last, width, &line_rows)
            }
            _ => measure(text, 0, 0, width, &line_rows),
        };
        parts[p] = Some(height);
        height.rows - usize::from(text.ends_with('\n'))
    }
}

fn measure(
    text: &str,
    from: usize,
    rows_before: usize,
    width: usize,
    line_rows: &impl Fn(&str) -> usize,
) -> Height {
    let (mut rows, mut before_last, mut last_start) = (rows_before, rows_before, from);
    let mut start = from;
    for line in text[from..].split('\n') {
        before_last = rows;
        last_start = start;
        rows += line_rows(line);
        start += line.len() + 1;
    }
    Height {
        width,
        len: text.len(),
        rows,
        before_last,
        last_start,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn appended_text_is_measured_from_its_last_line_and_matches_a_fresh_count() {
        let lines = Cell::new(0);
        let count = |line: &str| {
            lines.set(lines.get() + 1);
            line.len().div_ceil(4).max(1)
        };
        let heights = Heights::default();
        let mut text = String::from("abcdefgh\nab");
        assert_eq!(heights.rows((0, 0), 4, &text, count), 3);
        assert_eq!(lines.get(), 2);
        assert_eq!(heights.rows((0, 0), 4, &text, count), 3, "kept");
        assert_eq!(lines.get(), 2, "nothing measured again");
        text.push_str("cdef\nxy\n");
        let grown = heights.rows((0, 0), 4, &text, count);
        assert_eq!(lines.get(), 5, "the last line and the new ones only");
        let fresh = Heights::default().rows((0, 0), 4, &text, count);
        assert_eq!(grown, fresh);
        assert_eq!(grown, 2 + 2 + 1, "a final newline adds no row");
        let wider = heights.rows((0, 0), 8, &text, count);
        assert_eq!(
            wider, fresh,
            "a new width measures again (this count ignores it)"
        );
    }
}
