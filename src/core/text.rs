//! Measuring, clipping, padding and wrapping text by display width, for the screen and
//! for tables printed in a terminal.

use unicode_segmentation::UnicodeSegmentation;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

pub fn width(text: &str) -> usize {
    text.width()
}

/// Cuts `text` to `max` columns, ending in "…" when it was cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.width() <= max {
        return text.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > max {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push('…');
    out
}

/// Splits one line (no newlines) into rows of at most `max` columns, at spaces; a word
/// longer than a row is broken between graphemes, so no character is split.
pub fn wrap(line: &str, max: usize) -> Vec<String> {
    let max = max.max(1);
    if line.width() <= max {
        return vec![line.to_string()];
    }
    let options = textwrap::Options::new(max)
        .break_words(false)
        .word_separator(textwrap::WordSeparator::AsciiSpace)
        .wrap_algorithm(textwrap::WrapAlgorithm::FirstFit);
    let mut rows = Vec::new();
    for row in textwrap::wrap(line, &options) {
        if row.width() <= max {
            rows.push(row.into_owned());
        } else {
            break_graphemes(&row, max, &mut rows);
        }
    }
    rows
}

fn break_graphemes(word: &str, max: usize, out: &mut Vec<String>) {
    let mut row = String::new();
    let mut used = 0;
    for g in word.graphemes(true) {
        let w = g.width();
        if used + w > max && !row.is_empty() {
            out.push(std::mem::take(&mut row));
            used = 0;
        }
        row.push_str(g);
        used += w;
    }
    if !row.is_empty() {
        out.push(row);
    }
}

/// How many rows `wrap` makes of `line`.
pub fn rows(line: &str, max: usize) -> usize {
    if line.width() <= max.max(1) {
        return 1;
    }
    wrap(line, max).len()
}

/// Pads or clips to exactly `cols` columns.
pub fn fit(text: &str, cols: usize) -> String {
    let clipped = clip(text, cols);
    let pad = cols.saturating_sub(clipped.width());
    format!("{clipped}{}", " ".repeat(pad))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_and_clipping_count_columns() {
        assert_eq!(wrap("abcdef", 4), ["abcd", "ef"]);
        // At spaces, never inside a word that fits a row.
        assert_eq!(
            wrap("the work space is here", 10),
            ["the work", "space is", "here"]
        );
        assert_eq!(wrap("a workspace", 6), ["a", "worksp", "ace"]);
        // A long word breaks between graphemes: a flag or an accent stays whole.
        assert_eq!(
            wrap("e\u{301}e\u{301}e\u{301}", 2),
            ["e\u{301}e\u{301}", "e\u{301}"]
        );
        assert_eq!(wrap("🇫🇷🇫🇷🇫🇷", 4), ["🇫🇷🇫🇷", "🇫🇷"]);
        assert_eq!(wrap("日本語", 4), ["日本", "語"]);
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(fit("ab", 4), "ab  ");
        for (line, max) in [
            ("abcdef", 4),
            ("日本語", 4),
            ("", 3),
            ("abc", 3),
            ("abcd", 1),
        ] {
            assert_eq!(rows(line, max), wrap(line, max).len(), "{line} {max}");
        }
    }
}
