//! What no one has looked at yet: unread output, a finished turn, a question, a failure.
//! The daemon keeps these marks for every client and across restarts; a session some
//! client is viewing is not marked, and viewing one clears its mark.

use super::State;
use crate::core::{Mark, SessionId, Status};

impl State {
    /// Marks a session, unless a client is looking at it; a mark never gives way to a
    /// weaker one (unread output does not hide a failure). Returns whether it changed.
    pub(super) fn mark(&mut self, id: SessionId, mark: Mark) -> bool {
        if self.viewers.values().any(|v| *v == id) {
            return false;
        }
        match self.sessions.get_mut(&id) {
            Some(s) if s.mark.is_none_or(|m| m < mark) => {
                s.mark = Some(mark);
                self.dirty.insert(id);
                true
            }
            _ => false,
        }
    }

    /// The mark a change of status deserves, from `before`.
    pub(super) fn mark_status(&mut self, id: SessionId, before: Status, after: Status) {
        let mark = match after {
            Status::WaitingInput | Status::Disconnected => Mark::Attention,
            // A turn ended; an agent that was only starting did nothing to look at.
            Status::Idle if matches!(before, Status::Active | Status::WaitingInput) => {
                Mark::Attention
            }
            Status::Error => Mark::Failed,
            _ => return,
        };
        self.mark(id, mark);
    }

    /// A client looks at `id` now (or at nothing): its mark is cleared, and it gets no
    /// new one while it is looked at. `viewer` is the client's connection.
    pub(super) fn view(&mut self, viewer: u64, id: Option<SessionId>) {
        let Some(id) = id else {
            self.viewers.remove(&viewer);
            return;
        };
        self.viewers.insert(viewer, id);
        if self
            .sessions
            .get_mut(&id)
            .is_some_and(|s| s.mark.take().is_some())
        {
            self.publish(id);
        }
    }
}
