//! A session's transcript as the dashboard holds it: a window of pages (see `window`),
//! kept current by events while it reaches the end. Parts are replaced by id; deltas
//! carry offsets, so text already loaded is not added twice and a gap is noticed (the
//! transcript is then reloaded).

mod heights;
mod window;

use crate::core::{Message, Part, PartKind, Pos};
use std::collections::{HashMap, HashSet};

pub use window::{Load, WINDOW_BYTES};

#[derive(Debug, Clone, Default)]
pub struct Transcript {
    pub messages: Vec<Message>,
    /// Where the first part's text begins in that part's whole text: a window may start
    /// inside a huge part.
    base: u64,
    /// Nothing is missing before the window.
    pub at_start: bool,
    /// The window reaches the transcript's end, so events extend it.
    pub at_end: bool,
    /// Where to go on reading forward when the window stops short of the end.
    end: Option<Pos>,
    /// A page is on its way.
    pub fetching: Option<Load>,
    /// Bytes of text held, to keep the window bounded.
    bytes: usize,
    /// The rows the window took when last drawn, and what it held then.
    drawn: std::cell::Cell<Option<(Held, usize)>>,
    /// Part id → (message index, part index).
    index: HashMap<String, (usize, usize)>,
    /// Tool calls the user unfolded.
    pub expanded: HashSet<String>,
    /// Events were missed: reload before trusting this.
    pub stale: bool,
    /// Counts changes to what is held, so a drawn height is measured again after one.
    changes: u64,
    /// The rows of each part's text, as last drawn.
    heights: heights::Heights,
}

/// What a window holds, in short: when any of it changes, so may its drawn height.
type Held = (usize, u64, usize, u64);

impl Transcript {
    /// The rows the window takes drawn at `width`, as `measure` counts them; kept until
    /// the window or what is drawn with it (`marks`, counting changes to the checkpoints)
    /// changes, since measuring walks all of it.
    pub fn drawn_rows(&self, width: usize, marks: u64, measure: impl FnOnce() -> usize) -> usize {
        let held = (width, self.changes, self.expanded.len(), marks);
        match self.drawn.get() {
            Some((was, rows)) if was == held => rows,
            _ => {
                let rows = measure();
                self.drawn.set(Some((held, rows)));
                rows
            }
        }
    }

    /// A whole transcript, as held (tests and benches build them so).
    pub fn new(messages: Vec<Message>) -> Transcript {
        let mut t = Transcript {
            messages,
            at_start: true,
            at_end: true,
            ..Transcript::default()
        };
        t.reindex();
        t
    }

    /// The rows of the text of the part at `at` (message and part index) at `width`,
    /// from the cache where it still holds; `line_rows` counts one line.
    pub fn text_rows(
        &self,
        at: (usize, usize),
        width: usize,
        text: &str,
        line_rows: impl Fn(&str) -> usize,
    ) -> usize {
        self.heights.rows(at, width, text, line_rows)
    }

    /// Where the part is held: its message's index and its own.
    pub fn locate(&self, part_id: &str) -> Option<(usize, usize)> {
        self.index.get(part_id).copied()
    }

    fn reindex(&mut self) {
        self.index.clear();
        self.heights.clear();
        self.changes += 1;
        self.bytes = 0;
        for (m, message) in self.messages.iter().enumerate() {
            for (p, part) in message.parts.iter().enumerate() {
                self.index.insert(part.id.clone(), (m, p));
                self.bytes += part_bytes(&part.kind);
            }
        }
    }

    pub fn add_message(&mut self, message: &Message) {
        if !self.at_end || self.messages.iter().any(|m| m.id == message.id) {
            return;
        }
        self.messages.push(Message {
            parts: Vec::new(),
            ..message.clone()
        });
        self.changes += 1;
        for part in &message.parts {
            self.put_part(part);
        }
    }

    /// Creates or replaces a part. A part of a message this transcript has not seen means
    /// events were missed.
    pub fn put_part(&mut self, part: &Part) {
        if !self.at_end {
            // Beyond the window: read when the user scrolls there.
            return;
        }
        if let Some(&(m, p)) = self.index.get(&part.id) {
            let slot = &mut self.messages[m].parts[p];
            // An empty copy of a streaming part must not erase text that streamed in.
            let keeps_text = part.kind.streamed_text().is_some_and(str::is_empty)
                && slot.kind.streamed_text().is_some_and(|t| !t.is_empty());
            if !keeps_text {
                if (m, p) == (0, 0) && part.kind.streamed_text().is_some() {
                    // A whole copy: the window now holds the part from its start.
                    self.base = 0;
                }
                self.changes += 1;
                self.heights.forget(m, p);
                self.bytes = self.bytes - part_bytes(&slot.kind) + part_bytes(&part.kind);
                *slot = part.clone();
                self.keep_bounded();
            }
            return;
        }
        match self.messages.iter().position(|m| m.id == part.message_id) {
            Some(m) => {
                let p = self.messages[m].parts.len();
                self.messages[m].parts.push(part.clone());
                self.index.insert(part.id.clone(), (m, p));
                self.changes += 1;
                self.bytes += part_bytes(&part.kind);
            }
            // A part of a message before the window: nothing to show, and nothing missed.
            None if !self.at_start => {}
            None => self.stale = true,
        }
        self.keep_bounded();
    }

    /// A window that follows the end lets go of its oldest text as output streams in,
    /// down to three quarters of its size, so it is not trimmed again at every delta.
    fn keep_bounded(&mut self) {
        if self.bytes > WINDOW_BYTES {
            self.trim_start(WINDOW_BYTES / 4 * 3);
        }
    }

    /// Appends streamed text at `offset`; returns whether anything changed.
    pub fn append(&mut self, part_id: &str, offset: usize, text: &str) -> bool {
        if !self.at_end {
            return false;
        }
        let Some(&(m, p)) = self.index.get(part_id) else {
            self.stale = true;
            return false;
        };
        let base = if (m, p) == (0, 0) {
            self.base as usize
        } else {
            0
        };
        let Some(current) = self.messages[m].parts[p].kind.streamed_text_mut() else {
            return false;
        };
        let have = base + current.len();
        if offset > have {
            self.stale = true;
            return false;
        }
        let skip = have - offset;
        if skip >= text.len() {
            return false;
        }
        // Offsets are byte counts of the daemon's copy, which ours matches up to `have`.
        let Some(new) = text.get(skip..) else {
            self.stale = true;
            return false;
        };
        self.changes += 1;
        self.bytes += new.len();
        current.push_str(new);
        self.keep_bounded();
        true
    }

    /// The tool-call parts, oldest first.
    pub fn tool_ids(&self) -> Vec<&str> {
        self.messages
            .iter()
            .flat_map(|m| &m.parts)
            .filter(|p| matches!(p.kind, PartKind::Tool { .. }))
            .map(|p| p.id.as_str())
            .collect()
    }

    /// The permission request still waiting for an answer, if any.
    pub fn pending_permission(&self) -> Option<&Part> {
        self.messages
            .iter()
            .rev()
            .flat_map(|m| m.parts.iter().rev())
            .find(|p| matches!(p.kind, PartKind::Permission { reply: None, .. }))
    }
}

/// What a part costs the window.
fn part_bytes(kind: &PartKind) -> usize {
    match kind {
        PartKind::Text { text } | PartKind::Reasoning { text } | PartKind::Stderr { text } => {
            text.len()
        }
        PartKind::Tool { output, .. } => 64 + output.as_ref().map_or(0, String::len),
        PartKind::Error { message } => message.len(),
        PartKind::Permission { detail, diff, .. } => {
            detail.len() + diff.as_ref().map_or(0, String::len)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Role;

    fn text_part(id: &str, text: &str) -> Part {
        Part {
            id: id.into(),
            message_id: "m1".into(),
            kind: PartKind::Text { text: text.into() },
        }
    }

    fn transcript() -> Transcript {
        Transcript::new(vec![Message {
            id: "m1".into(),
            role: Role::Assistant,
            created_at: chrono::DateTime::default(),
            parts: vec![text_part("p1", "hello ")],
        }])
    }

    fn text(t: &Transcript) -> &str {
        t.messages[0].parts[0].kind.streamed_text().unwrap_or("")
    }

    #[test]
    fn deltas_already_loaded_are_not_added_twice() {
        let mut t = transcript();
        assert!(!t.append("p1", 0, "hello "), "all of it is already there");
        assert!(t.append("p1", 3, "lo world"), "the tail is new");
        assert_eq!(text(&t), "hello world");
        assert!(!t.stale);
    }

    #[test]
    fn a_gap_marks_the_transcript_stale() {
        let mut t = transcript();
        assert!(!t.append("p1", 99, "late"));
        assert!(t.stale);
        let mut t = transcript();
        t.append("unknown", 0, "x");
        assert!(t.stale);
    }

    #[test]
    fn an_empty_copy_keeps_the_streamed_text() {
        let mut t = transcript();
        t.put_part(&text_part("p1", ""));
        assert_eq!(text(&t), "hello ");
        t.put_part(&text_part("p1", "final"));
        assert_eq!(text(&t), "final");
    }
}
