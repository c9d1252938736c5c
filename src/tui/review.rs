//! What the dashboard holds for reviewing a session's work: its review comments and its
//! checkpoints, as the daemon last said, for the sessions viewed last only (like the
//! transcripts, see [`KEPT_TRANSCRIPTS`](super::state::KEPT_TRANSCRIPTS)); and the box a
//! comment is written in.

use super::state::State;
use crate::core::{Checkpoint, Comment, SessionId};
use ratatui_textarea::TextArea;
use std::collections::HashMap;

#[derive(Debug, Default)]
pub struct Review {
    /// Each session's comments, sent ones too, oldest first.
    pub comments: HashMap<SessionId, Vec<Comment>>,
    /// Each session's checkpoints, by turn.
    pub checkpoints: HashMap<SessionId, Vec<Checkpoint>>,
    /// Counts changes to the checkpoints: their marks are rows of the transcript, so its
    /// drawn height is measured again after one.
    pub changes: u64,
}

impl Review {
    /// Keeps a session's checkpoints, oldest turn first.
    pub fn set_checkpoints(&mut self, id: SessionId, mut list: Vec<Checkpoint>) {
        list.sort_by_key(|c| c.turn);
        self.checkpoints.insert(id, list);
        self.changes += 1;
    }

    /// A new checkpoint, or one taken again for the same turn.
    pub fn add_checkpoint(&mut self, id: SessionId, checkpoint: Checkpoint) {
        let list = self.checkpoints.entry(id).or_default();
        list.retain(|c| c.turn != checkpoint.turn);
        list.push(checkpoint);
        list.sort_by_key(|c| c.turn);
        self.changes += 1;
    }
}

/// The one-line box a review comment is written in, on one line of one file.
#[derive(Debug)]
pub struct CommentBox {
    pub path: String,
    /// The new file's line number the comment is on.
    pub line: u32,
    pub input: TextArea<'static>,
}

impl CommentBox {
    pub fn new(path: String, line: u32, text: &str) -> CommentBox {
        let mut input = TextArea::default();
        input.set_cursor_line_style(ratatui::style::Style::default());
        input.set_placeholder_text("type a comment · enter saves it · esc cancels");
        input.insert_str(text);
        CommentBox { path, line, input }
    }

    /// What was typed, on one line.
    pub fn text(&self) -> String {
        self.input.lines().join(" ")
    }
}

impl State {
    /// The selected session's comments, if they were loaded.
    pub fn comments(&self) -> &[Comment] {
        self.selected
            .and_then(|id| self.review.comments.get(&id))
            .map_or(&[], Vec::as_slice)
    }

    /// How many of the selected session's comments wait to be sent.
    pub fn waiting_comments(&self) -> usize {
        self.comments()
            .iter()
            .filter(|c| c.sent_at.is_none())
            .count()
    }

    /// The selected session's checkpoints, oldest first.
    pub fn checkpoints(&self) -> &[Checkpoint] {
        self.selected
            .and_then(|id| self.review.checkpoints.get(&id))
            .map_or(&[], Vec::as_slice)
    }

    /// Lets go of the comments and checkpoints of all but the sessions viewed last.
    pub fn keep_reviews(&mut self) {
        let (recent, selected) = (&self.recent, self.selected);
        let keep = |id: &SessionId| Some(*id) == selected || recent.contains(id);
        self.review.comments.retain(|id, _| keep(id));
        let before = self.review.checkpoints.len();
        self.review.checkpoints.retain(|id, _| keep(id));
        if self.review.checkpoints.len() != before {
            self.review.changes += 1;
        }
    }
}
