//! Pure text helpers: binary sniffing, line counts and unified-diff hunks.

use std::time::Duration;

use similar::{Algorithm, ChangeTag, DiffOp, DiffTag, TextDiff};

use crate::core::{DiffLine, Hunk, LineKind};

/// Git's heuristic looks at the first 8000 bytes for a NUL.
pub(crate) const SNIFF_BYTES: usize = 8000;

/// Git's heuristic, and bytes there that are not UTF-8 (a character cut at the end of
/// the sniffed bytes aside): drawn as text, either would show as noise.
pub(crate) fn looks_binary(bytes: &[u8]) -> bool {
    let start = &bytes[..bytes.len().min(SNIFF_BYTES)];
    if start.contains(&0) {
        return true;
    }
    match std::str::from_utf8(start) {
        Ok(_) => false,
        // `error_len` is None when the input ends inside a character: text, if it is
        // the sniff that cut it.
        Err(e) => e.error_len().is_some() || bytes.len() <= SNIFF_BYTES,
    }
}

/// The hunks of a line diff from `before` to `after`, with `context` unchanged lines
/// around each change. Starts are 1-based as in unified diff; a side with no lines
/// gets the number of the line before the hunk (0 at the top of the file).
pub fn hunks(before: &str, after: &str, context: usize) -> Vec<Hunk> {
    let diff = TextDiff::from_lines(before, after);
    hunks_of(&diff, context)
}

/// Myers is quadratic on files that share nothing, so the workspace diff gives it a
/// time budget; past it similar falls back to a coarser (still correct) diff.
pub(crate) const DIFF_BUDGET: Duration = Duration::from_secs(2);

pub(crate) struct Compared {
    pub additions: u64,
    pub deletions: u64,
    pub hunks: Vec<Hunk>,
}

pub(crate) fn compare(before: &str, after: &str, context: usize, with_hunks: bool) -> Compared {
    let diff = TextDiff::configure()
        .algorithm(Algorithm::Myers)
        .timeout(DIFF_BUDGET)
        .diff_lines(before, after);
    let (additions, deletions) = counts(diff.ops());
    let hunks = if with_hunks {
        hunks_of(&diff, context)
    } else {
        Vec::new()
    };
    Compared {
        additions,
        deletions,
        hunks,
    }
}

fn counts(ops: &[DiffOp]) -> (u64, u64) {
    let (mut added, mut removed) = (0u64, 0u64);
    for op in ops {
        match op.tag() {
            DiffTag::Equal => {}
            DiffTag::Insert => added += op.new_range().len() as u64,
            DiffTag::Delete => removed += op.old_range().len() as u64,
            DiffTag::Replace => {
                added += op.new_range().len() as u64;
                removed += op.old_range().len() as u64;
            }
        }
    }
    (added, removed)
}

fn hunks_of(diff: &TextDiff<'_, '_, '_, str>, context: usize) -> Vec<Hunk> {
    let mut out = Vec::new();
    for group in diff.grouped_ops(context) {
        if group.iter().all(|op| op.tag() == DiffTag::Equal) {
            continue;
        }
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let old_begin = first.old_range().start;
        let new_begin = first.new_range().start;
        let old_lines = last.old_range().end - old_begin;
        let new_lines = last.new_range().end - new_begin;
        let mut lines = Vec::new();
        for op in &group {
            for change in diff.iter_changes(op) {
                let kind = match change.tag() {
                    ChangeTag::Equal => LineKind::Context,
                    ChangeTag::Delete => LineKind::Removed,
                    ChangeTag::Insert => LineKind::Added,
                };
                lines.push(DiffLine {
                    kind,
                    text: strip_newline(change.value()).to_string(),
                });
            }
        }
        out.push(Hunk {
            old_start: unified_start(old_begin, old_lines),
            old_lines,
            new_start: unified_start(new_begin, new_lines),
            new_lines,
            lines,
        });
    }
    out
}

fn unified_start(zero_based: usize, len: usize) -> usize {
    if len == 0 { zero_based } else { zero_based + 1 }
}

fn strip_newline(line: &str) -> &str {
    let line = line.strip_suffix('\n').unwrap_or(line);
    line.strip_suffix('\r').unwrap_or(line)
}

/// The hunks up to `max` lines in all, and how many lines were left out.
pub(super) fn cap_lines(
    hunks: Vec<crate::core::Hunk>,
    max: usize,
) -> (Vec<crate::core::Hunk>, u64) {
    let mut kept = Vec::new();
    let (mut lines, mut omitted) = (0usize, 0u64);
    for mut hunk in hunks {
        let room = max.saturating_sub(lines);
        if hunk.lines.len() > room {
            omitted += (hunk.lines.len() - room) as u64;
            hunk.lines.truncate(room);
        }
        lines += hunk.lines.len();
        if !hunk.lines.is_empty() {
            kept.push(hunk);
        }
    }
    (kept, omitted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbered(n: usize) -> String {
        (1..=n).map(|i| format!("line {i}\n")).collect()
    }

    fn replace_line(text: &str, n: usize, with: &str) -> String {
        text.lines()
            .enumerate()
            .map(|(i, l)| {
                if i + 1 == n {
                    format!("{with}\n")
                } else {
                    format!("{l}\n")
                }
            })
            .collect()
    }

    #[test]
    fn identical_text_has_no_hunks() {
        let t = numbered(10);
        assert!(hunks(&t, &t, 3).is_empty());
        assert!(hunks("", "", 3).is_empty());
    }

    #[test]
    fn single_change_has_context_and_one_based_starts() {
        let before = numbered(20);
        let after = replace_line(&before, 10, "changed");
        let h = hunks(&before, &after, 3);
        assert_eq!(h.len(), 1);
        let h = &h[0];
        assert_eq!((h.old_start, h.old_lines), (7, 7));
        assert_eq!((h.new_start, h.new_lines), (7, 7));
        let kinds: Vec<LineKind> = h.lines.iter().map(|l| l.kind).collect();
        use LineKind::*;
        assert_eq!(
            kinds,
            [
                Context, Context, Context, Removed, Added, Context, Context, Context
            ]
        );
        assert_eq!(h.lines[0].text, "line 7");
        assert_eq!(h.lines[3].text, "line 10");
        assert_eq!(h.lines[4].text, "changed");
    }

    #[test]
    fn change_at_top_clips_context() {
        let before = numbered(10);
        let after = replace_line(&before, 1, "first");
        let h = hunks(&before, &after, 3);
        assert_eq!(h.len(), 1);
        assert_eq!((h[0].old_start, h[0].old_lines), (1, 4));
        assert_eq!((h[0].new_start, h[0].new_lines), (1, 4));
    }

    #[test]
    fn nearby_changes_merge_and_distant_ones_split() {
        let before = numbered(40);
        // 6 unchanged lines between: within 2*3 context, so one hunk.
        let near = replace_line(&replace_line(&before, 10, "a"), 17, "b");
        let h = hunks(&before, &near, 3);
        assert_eq!(h.len(), 1);
        assert_eq!((h[0].old_start, h[0].old_lines), (7, 14));
        // 7 unchanged lines between: two hunks.
        let far = replace_line(&replace_line(&before, 10, "a"), 18, "b");
        let h = hunks(&before, &far, 3);
        assert_eq!(h.len(), 2);
        assert_eq!((h[0].old_start, h[0].old_lines), (7, 7));
        assert_eq!((h[1].old_start, h[1].old_lines), (15, 7));
    }

    #[test]
    fn zero_context() {
        let before = numbered(10);
        let after = replace_line(&before, 5, "x");
        let h = hunks(&before, &after, 0);
        assert_eq!(h.len(), 1);
        assert_eq!((h[0].old_start, h[0].old_lines), (5, 1));
        assert_eq!(h[0].lines.len(), 2);
    }

    #[test]
    fn new_and_deleted_files_use_line_zero() {
        let h = hunks("", "a\nb\n", 3);
        assert_eq!(h.len(), 1);
        assert_eq!((h[0].old_start, h[0].old_lines), (0, 0));
        assert_eq!((h[0].new_start, h[0].new_lines), (1, 2));
        let h = hunks("a\nb\n", "", 3);
        assert_eq!((h[0].old_start, h[0].old_lines), (1, 2));
        assert_eq!((h[0].new_start, h[0].new_lines), (0, 0));
    }

    #[test]
    fn pure_insertion_start_is_line_before() {
        let before = numbered(10);
        let mut after = String::new();
        for (i, l) in before.lines().enumerate() {
            after.push_str(l);
            after.push('\n');
            if i + 1 == 5 {
                after.push_str("inserted\n");
            }
        }
        let h = hunks(&before, &after, 0);
        assert_eq!((h[0].old_start, h[0].old_lines), (5, 0));
        assert_eq!((h[0].new_start, h[0].new_lines), (6, 1));
    }

    #[test]
    fn missing_final_newline_counts_as_change() {
        let c = compare("a\nb\n", "a\nb", 3, true);
        assert_eq!((c.additions, c.deletions), (1, 1));
        assert_eq!(c.hunks[0].lines.last().map(|l| l.text.as_str()), Some("b"));
    }

    #[test]
    fn crlf_is_stripped_from_line_text() {
        let h = hunks("a\r\n", "b\r\n", 3);
        assert_eq!(h[0].lines[0].text, "a");
        assert_eq!(h[0].lines[1].text, "b");
    }

    #[test]
    fn binary_sniff_looks_only_at_the_start() {
        assert!(looks_binary(b"ab\0cd"));
        assert!(!looks_binary(b"plain text"));
        let mut late = vec![b'a'; SNIFF_BYTES];
        late.push(0);
        assert!(!looks_binary(&late));
        assert!(looks_binary(b"\x01\x02\xff\xfe image"), "not UTF-8");
        assert!(!looks_binary("naïve café\n".as_bytes()));
        // A character cut by the sniff's end is still text.
        let mut cut = vec![b'a'; SNIFF_BYTES - 1];
        cut.extend("é and more".as_bytes());
        assert!(!looks_binary(&cut));
    }
}
