//! Measuring, clipping and wrapping text by display width.

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

/// Splits one line (no newlines) into pieces of at most `max` columns.
pub fn wrap(line: &str, max: usize) -> Vec<String> {
    let max = max.max(1);
    if line.width() <= max {
        return vec![line.to_string()];
    }
    let mut rows = Vec::new();
    let mut row = String::new();
    let mut used = 0;
    for c in line.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > max {
            rows.push(std::mem::take(&mut row));
            used = 0;
        }
        row.push(c);
        used += w;
    }
    rows.push(row);
    rows
}

/// How many rows `wrap` would make of `line`, without making them.
pub fn rows(line: &str, max: usize) -> usize {
    let max = max.max(1);
    let mut rows = 1;
    let mut used = 0;
    for c in line.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > max {
            rows += 1;
            used = 0;
        }
        used += w;
    }
    rows
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
