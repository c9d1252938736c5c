//! A session's transcript as the dashboard holds it: loaded once, then kept current by
//! events. Parts are replaced by id; deltas carry offsets, so text already loaded is not
//! added twice and a gap is noticed (the transcript is then reloaded).

use crate::core::{Message, Part, PartKind};
use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone, Default)]
pub struct Transcript {
    pub messages: Vec<Message>,
    /// Part id → (message index, part index).
    index: HashMap<String, (usize, usize)>,
    /// Tool calls the user unfolded.
    pub expanded: HashSet<String>,
    /// Events were missed: reload before trusting this.
    pub stale: bool,
    /// Rough number of lines, to bound scrolling.
    pub lines: usize,
}

impl Transcript {
    pub fn new(messages: Vec<Message>) -> Transcript {
        let mut t = Transcript {
            messages,
            ..Transcript::default()
        };
        t.reindex();
        t
    }

    fn reindex(&mut self) {
        self.index.clear();
        self.lines = 0;
        for (m, message) in self.messages.iter().enumerate() {
            self.lines += 1;
            for (p, part) in message.parts.iter().enumerate() {
                self.index.insert(part.id.clone(), (m, p));
                self.lines += line_estimate(&part.kind);
            }
        }
    }

    pub fn add_message(&mut self, message: &Message) {
        if self.messages.iter().any(|m| m.id == message.id) {
            return;
        }
        self.messages.push(Message {
            parts: Vec::new(),
            ..message.clone()
        });
        self.lines += 1;
        for part in &message.parts {
            self.put_part(part);
        }
    }

    /// Creates or replaces a part. A part of a message this transcript has not seen means
    /// events were missed.
    pub fn put_part(&mut self, part: &Part) {
        if let Some(&(m, p)) = self.index.get(&part.id) {
            let slot = &mut self.messages[m].parts[p];
            // An empty copy of a streaming part must not erase text that streamed in.
            let keeps_text = part.kind.streamed_text().is_some_and(str::is_empty)
                && slot.kind.streamed_text().is_some_and(|t| !t.is_empty());
            if !keeps_text {
                self.lines = self.lines - line_estimate(&slot.kind) + line_estimate(&part.kind);
                *slot = part.clone();
            }
            return;
        }
        match self.messages.iter().position(|m| m.id == part.message_id) {
            Some(m) => {
                let p = self.messages[m].parts.len();
                self.messages[m].parts.push(part.clone());
                self.index.insert(part.id.clone(), (m, p));
                self.lines += line_estimate(&part.kind);
            }
            None => self.stale = true,
        }
    }

    /// Appends streamed text at `offset`; returns whether anything changed.
    pub fn append(&mut self, part_id: &str, offset: usize, text: &str) -> bool {
        let Some(&(m, p)) = self.index.get(part_id) else {
            self.stale = true;
            return false;
        };
        let Some(current) = self.messages[m].parts[p].kind.streamed_text_mut() else {
            return false;
        };
        let have = current.len();
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
        self.lines += new.matches('\n').count();
        current.push_str(new);
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

fn line_estimate(kind: &PartKind) -> usize {
    match kind {
        PartKind::Text { text } | PartKind::Reasoning { text } => text.matches('\n').count() + 1,
        PartKind::Tool { output, .. } => {
            1 + output.as_ref().map_or(0, |o| o.matches('\n').count() + 1)
        }
        PartKind::Error { .. } => 1,
        PartKind::Permission { diff, .. } => {
            2 + diff.as_ref().map_or(0, |d| d.matches('\n').count())
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
