//! Streamed text waits in memory for at most [`FLUSH_INTERVAL`], then is written with the
//! touched sessions in one transaction. A write that fails costs no other part its text:
//! the parts are then written one by one, a failed one is tried again at the next
//! flushes, and one that still fails is reported in its session's transcript.

use super::{FLUSH_INTERVAL, State};
use crate::agent::new_id;
use crate::core::{Part, PartKind, Role, SessionId};
use tokio::time::Instant;

/// How many flushes a part's text is tried at before it is given up.
const TRIES: u8 = 3;

/// Streamed text of one part not yet written.
#[derive(Debug)]
pub(super) struct Pending {
    session: SessionId,
    text: String,
    failures: u8,
}

impl State {
    /// Keeps streamed text for the next flush.
    pub(super) fn buffer_text(&mut self, session: SessionId, part_id: &str, text: &str) {
        self.pending_text
            .entry(part_id.to_string())
            .or_insert_with(|| Pending {
                session,
                text: String::new(),
                failures: 0,
            })
            .text
            .push_str(text);
    }

    /// Streamed text of the part not yet written.
    pub(super) fn buffered_text(&self, part_id: &str) -> Option<&str> {
        self.pending_text.get(part_id).map(|p| p.text.as_str())
    }

    pub(super) fn schedule_flush(&mut self) {
        if self.flush_at.is_none() {
            self.flush_at = Some(Instant::now() + FLUSH_INTERVAL);
        }
    }

    /// Writes buffered streamed text and touched sessions in one transaction.
    pub(super) fn flush(&mut self) {
        self.flush_at = None;
        if self.pending_text.is_empty() && self.dirty.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.pending_text);
        let dirty: Vec<SessionId> = self.dirty.drain().collect();
        let sessions = &self.sessions;
        let batch = self.store.transaction(|store| {
            for (part, p) in &pending {
                store.append_text(part, &p.text)?;
            }
            for id in &dirty {
                if let Some(s) = sessions.get(id) {
                    store.save_session(s)?;
                }
            }
            Ok(())
        });
        let Err(e) = batch else { return };
        tracing::warn!("flushing streamed text failed ({e}): writing each part on its own");
        for (part, mut p) in pending {
            let Err(e) = self.store.append_text(&part, &p.text) else {
                continue;
            };
            p.failures += 1;
            if p.failures < TRIES {
                self.pending_text.insert(part, p);
                self.schedule_flush();
            } else {
                tracing::error!("giving up on {} bytes of part {part}: {e}", p.text.len());
                self.report_lost_text(p.session, p.text.len(), &e.to_string());
            }
        }
        for id in dirty {
            if let Some(s) = self.sessions.get(&id)
                && let Err(e) = self.store.save_session(s)
            {
                tracing::error!("saving session {id}: {e}");
                self.dirty.insert(id);
                self.schedule_flush();
            }
        }
    }

    /// Says in the session's transcript that streamed text could not be saved.
    fn report_lost_text(&mut self, id: SessionId, bytes: usize, why: &str) {
        let message_id = match self.live.get(&id).and_then(|l| l.message.clone()) {
            Some(message_id) => message_id,
            None => {
                let message_id = new_id("msg");
                self.agent_event(
                    id,
                    crate::agent::AgentEvent::Message {
                        id: message_id.clone(),
                        role: Role::Assistant,
                    },
                );
                message_id
            }
        };
        let part = Part {
            id: new_id("prt"),
            message_id,
            kind: PartKind::Error {
                message: format!(
                    "could not save {bytes} bytes of streamed text ({why}); the rest of the transcript is kept"
                ),
            },
        };
        self.agent_event(id, crate::agent::AgentEvent::Part(part));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::core::{Message, Status, Strategy};
    use crate::paths::Paths;
    use crate::store::NewSessionRow;
    use crate::workspace::Workspace;

    fn state_with_session() -> (State, SessionId, tempfile::TempDir) {
        let home = tempfile::tempdir().expect("home");
        let paths = Paths::with_home(home.path()).expect("paths");
        let (mut state, _inboxes) = State::open(paths, Config::default(), None).expect("state");
        let ws = Workspace {
            path: home.path().to_path_buf(),
            source_repo: home.path().to_path_buf(),
            strategy: Strategy::Existing,
            branch: None,
            base_commit: "0".repeat(40),
        };
        let workspace_id = state.store.insert_workspace(&ws, State::now()).expect("ws");
        let id = SessionId::new();
        state
            .store
            .insert_session(&NewSessionRow {
                id,
                title: "t",
                agent: "shell",
                model: None,
                workspace_id,
                status: Status::Active,
                now: State::now(),
                parent: None,
                notify: None,
                limits: Default::default(),
                template: None,
                reforged_from: None,
            })
            .expect("session");
        let session = state.store.session(id).expect("read").expect("row");
        state.sessions.insert(id, session);
        let message = Message {
            id: "msg_1".into(),
            role: Role::Assistant,
            created_at: State::now(),
            parts: Vec::new(),
        };
        state.store.insert_message(id, &message).expect("message");
        let part = Part {
            id: "prt_ok".into(),
            message_id: "msg_1".into(),
            kind: PartKind::Text {
                text: String::new(),
            },
        };
        state.store.upsert_part(&part).expect("part");
        (state, id, home)
    }

    fn transcript_errors(state: &State, id: SessionId) -> Vec<String> {
        let messages = state.store.transcript(id).expect("transcript");
        let parts = messages.into_iter().flat_map(|m| m.parts);
        parts
            .filter_map(|p| match p.kind {
                PartKind::Error { message } => Some(message),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_part_that_cannot_be_written_costs_no_other_part_its_text() {
        let (mut state, id, _home) = state_with_session();
        state.buffer_text(id, "prt_ok", "kept text");
        // A part whose row does not exist: its chunks break the foreign key.
        state.buffer_text(id, "prt_missing", "lost text");
        state.flush();
        assert_eq!(
            state.store.part_text("prt_ok").expect("read").as_deref(),
            Some("kept text")
        );
        assert!(state.pending_text.contains_key("prt_missing"), "retried");
        assert!(state.flush_at.is_some(), "a retry is scheduled");
        assert!(transcript_errors(&state, id).is_empty());

        for _ in 1..TRIES {
            state.flush();
        }
        assert!(
            state.pending_text.is_empty(),
            "given up after {TRIES} tries"
        );
        let errors = transcript_errors(&state, id);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("could not save 9 bytes"), "{errors:?}");
    }
}
