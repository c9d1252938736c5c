//! Applying what backends report to sessions, the store and subscribers.

use super::State;
use crate::agent::{AgentEvent, Usage, new_id};
use crate::core::{Message, Part, PartKind, Role, SessionId, Status};
use crate::protocol::Event;
use crate::store::Store;

/// How much of the start and of the end of a streamed part goes into the search index.
const INDEXED_ENDS: usize = 64 * 1024;
/// A turn that streamed more than this empties the write-ahead log after it.
const CHECKPOINT_AFTER: usize = 16 * 1024 * 1024;

impl State {
    /// An event from the driver of `generation`. One from a driver the engine has since
    /// replaced is dropped; one from a driver let go of with none after it may still end
    /// its turn or add its last parts, but no longer changes how the session runs.
    pub(super) fn driver_event(&mut self, id: SessionId, generation: u64, event: AgentEvent) {
        let stale = match self.live.get(&id) {
            Some(live) => live.generation != generation,
            None => matches!(
                event,
                AgentEvent::Ready
                    | AgentEvent::Busy
                    | AgentEvent::Failed(_)
                    | AgentEvent::Lost(_)
                    | AgentEvent::AgentSessionId(_)
            ),
        };
        if stale {
            tracing::debug!("dropped a late event of an earlier driver of {id}");
            return;
        }
        self.agent_event(id, event);
    }

    pub(super) fn agent_event(&mut self, id: SessionId, event: AgentEvent) {
        if !self.sessions.contains_key(&id) {
            return;
        }
        match event {
            AgentEvent::Message {
                id: message_id,
                role,
            } => self.add_message(id, message_id, role),
            AgentEvent::Part(part) => self.update_part(id, part),
            AgentEvent::Synced(part) => self.sync_part(id, part),
            AgentEvent::Delta {
                message_id,
                part_id,
                text,
            } => {
                self.buffer_text(id, &part_id, &text);
                let len = self.part_len.entry(part_id.clone()).or_default();
                let offset = *len;
                *len += text.len();
                self.touch(id);
                self.broadcast(Event::PartDelta {
                    session: id,
                    message_id,
                    part_id,
                    offset,
                    text,
                });
            }
            AgentEvent::TurnEnded {
                error,
                aborted,
                usage,
            } => {
                // An aborted turn says so in the transcript, where its output stops, and
                // how it was stopped when asking was not enough.
                let error = match (aborted, error) {
                    (true, Some(how)) => Some(format!("the turn was aborted: {how}")),
                    (true, None) => Some("the turn was aborted".to_string()),
                    (false, error) => {
                        if error.is_some() {
                            self.mark(id, crate::core::Mark::Failed);
                        }
                        error
                    }
                };
                self.end_turn(id, error, usage)
            }
            AgentEvent::AgentSessionId(agent_id) => {
                if let Some(s) = self.sessions.get_mut(&id) {
                    s.agent_session_id = Some(agent_id);
                }
                self.publish(id);
            }
            AgentEvent::RateLimits(said) => {
                let changed = (self.sessions.get_mut(&id))
                    .is_some_and(|s| s.rate_limits.replace(said.clone()) != Some(said));
                if changed {
                    self.publish(id);
                }
            }
            AgentEvent::Ready => {
                if self
                    .sessions
                    .get(&id)
                    .is_some_and(|s| s.status == Status::Starting)
                {
                    self.set_status(id, Status::Idle, None);
                    self.publish(id);
                    self.pump_queue(id);
                }
            }
            AgentEvent::Busy => {
                if self
                    .sessions
                    .get(&id)
                    .is_some_and(|s| matches!(s.status, Status::Starting | Status::Idle))
                {
                    self.set_status(id, Status::Active, None);
                    self.publish(id);
                }
            }
            AgentEvent::Failed(reason) => self.lose(id, Status::Error, reason),
            AgentEvent::Lost(reason) => self.lose(id, Status::Disconnected, reason),
        }
    }

    /// Notes activity; the session row is written with the next flush.
    fn touch(&mut self, id: SessionId) {
        if let Some(s) = self.sessions.get_mut(&id) {
            s.last_activity_at = Self::now();
        }
        self.dirty.insert(id);
        self.schedule_flush();
        if self.mark(id, crate::core::Mark::Unread) {
            // Once per unread stretch: the sidebars of every client show it.
            self.publish(id);
        }
    }

    fn add_message(&mut self, id: SessionId, message_id: String, role: Role) {
        let message = Message {
            id: message_id.clone(),
            role,
            created_at: Self::now(),
            parts: Vec::new(),
        };
        if let Some(live) = self.live.get_mut(&id) {
            live.message = Some(message_id);
        }
        match self.store.insert_message(id, &message) {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => tracing::error!("recording a message of {id}: {e}"),
        }
        if let Some(s) = self.sessions.get_mut(&id) {
            s.message_count += 1;
        }
        self.touch(id);
        self.broadcast(Event::MessageAdded {
            session: id,
            message,
        });
    }

    fn update_part(&mut self, id: SessionId, part: Part) {
        if let Some(text) = part.kind.streamed_text() {
            let streamed_so_far = self.part_len.get(&part.id).copied().unwrap_or(0);
            if text.is_empty() && streamed_so_far > 0 {
                // An empty copy of a part that has streamed text says nothing new, and
                // storing it would wipe that text.
                return;
            }
            // A whole part replaces any text still waiting to be written for it.
            self.pending_text.remove(&part.id);
            self.part_len.insert(part.id.clone(), text.len());
            if let Some(live) = self.live.get_mut(&id)
                && !live.streamed.contains(&part.id)
            {
                live.streamed.push(part.id.clone());
            }
        }
        if let Err(e) = self.store.upsert_part(&part) {
            tracing::error!("recording a part of {id}: {e}");
        }
        let status = self.sessions.get(&id).map(|s| s.status);
        if let PartKind::Permission {
            reply, request_id, ..
        } = &part.kind
        {
            if let Some(live) = self.live.get_mut(&id) {
                live.pending.retain(|r| r != request_id);
                if reply.is_none() {
                    live.pending.push(request_id.clone());
                }
            }
            match (reply, status) {
                (None, Some(s)) if s.is_busy() => self.set_status(id, Status::WaitingInput, None),
                (Some(_), Some(Status::WaitingInput)) => self.set_status(id, Status::Active, None),
                _ => {}
            }
            self.publish(id);
        } else {
            self.touch(id);
        }
        self.broadcast(Event::PartUpdated { session: id, part });
    }

    /// A re-synced part: stored like any other, unless the text saved for it (streamed
    /// and flushed, or still waiting to be) is as long as the agent's copy: a text part
    /// is only its text, so that copy says nothing new. Only lengths are compared, so a
    /// wake of a session with a huge history reads none of it.
    fn sync_part(&mut self, id: SessionId, part: Part) {
        if let Some(text) = part.kind.streamed_text() {
            let saved = match self.store.part_text_len(&part.id) {
                Ok(saved) => saved,
                Err(e) => {
                    tracing::error!("reading a part of {id}: {e}; its re-synced copy is skipped");
                    return;
                }
            };
            let pending = self.buffered_text(&part.id).map_or(0, str::len);
            if saved + pending >= text.len() && saved + pending > 0 {
                return;
            }
        }
        self.update_part(id, part);
    }

    fn end_turn(&mut self, id: SessionId, error: Option<String>, usage: Option<Usage>) {
        self.flush();
        let (message, streamed, waiters, started) = match self.live.get_mut(&id) {
            Some(live) => {
                live.pending.clear();
                (
                    live.message.take(),
                    std::mem::take(&mut live.streamed),
                    std::mem::take(&mut live.abort_waiters),
                    live.turn_started.take(),
                )
            }
            None => (None, Vec::new(), Vec::new(), None),
        };
        if let Some(text) = error {
            let message_id = message.unwrap_or_else(|| {
                let message_id = new_id("msg");
                self.add_message(id, message_id.clone(), Role::Assistant);
                message_id
            });
            let part = Part {
                id: new_id("prt"),
                message_id,
                kind: PartKind::Error { message: text },
            };
            self.update_part(id, part);
        }
        let streamed_bytes: usize = streamed.iter().filter_map(|p| self.part_len.get(p)).sum();
        if streamed_bytes > CHECKPOINT_AFTER {
            let db = self.paths.database.clone();
            self.blocking(
                move || {
                    let done = Store::checkpoint(&db);
                    crate::heap::trim();
                    done
                },
                |_, done| {
                    if let Err(e) = done {
                        tracing::warn!("emptying the write-ahead log: {e}");
                    }
                },
            );
        }
        for part in streamed {
            self.part_len.remove(&part);
            // Index the ends of a huge part: reading all of it here would stall every
            // client at the end of a big turn, and SQLite refuses a string past 1 GB.
            match self.store.part_text_ends(&part, INDEXED_ENDS) {
                Ok(Some(text)) => {
                    if let Err(e) = self.store.index_text(id, &text) {
                        tracing::error!("indexing a part of {id}: {e}");
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::error!("reading a part of {id}: {e}"),
            }
        }
        if let Some(s) = self.sessions.get_mut(&id) {
            if let Some(usage) = usage {
                add_usage(s, &usage);
            }
            if let Some(started) = started {
                s.turns += 1;
                s.turn_ms += (Self::now() - started).num_milliseconds().max(0) as u64;
            }
        }
        match started {
            // A turn ran: the session is idle once its checkpoint is kept, so that what
            // follows (a prompt, a commit, a rollback) finds it there.
            Some(_) => self.take_checkpoint(id, move |state| state.finish_turn(id, waiters)),
            None => self.finish_turn(id, waiters),
        }
    }

    /// The rest of a turn's end: the session is idle, and what waited for that goes on.
    fn finish_turn(&mut self, id: SessionId, mut waiters: Vec<(super::Responder, Option<String>)>) {
        // An abort asked for while the checkpoint was taken: the turn has ended already.
        if let Some(live) = self.live.get_mut(&id) {
            waiters.append(&mut live.abort_waiters);
        }
        if self.sessions.get(&id).is_some_and(|s| s.status.is_busy()) {
            self.set_status(id, Status::Idle, None);
        }
        self.publish(id);
        for (waiter, note) in waiters {
            let _ = waiter.send(Ok(self.session_reply(id, note)));
        }
        if self.limits_after_turn(id) {
            return;
        }
        if self.status_of(id).ok() == Some(Status::Idle) {
            self.notify_parent(id, None);
        }
        self.pump_queue(id);
    }

    /// The agent went away: the session can no longer take prompts until it is resumed.
    fn lose(&mut self, id: SessionId, status: Status, reason: String) {
        self.flush();
        let mut ending = None;
        if let Some(live) = self.live.remove(&id) {
            ending = live.ending;
            for (waiter, note) in live.abort_waiters {
                let _ = waiter.send(Ok(self.session_reply(id, note)));
            }
        }
        if let Some(limit) = ending {
            // Ended for a limit: that it went away while being stopped changes nothing.
            return self.complete(id, limit);
        }
        if self.sessions.get(&id).is_some_and(|s| s.status.is_live()) {
            self.set_status(id, status, Some(reason));
            self.publish(id);
            if status == Status::Error {
                self.notify_parent(id, None);
            }
        }
    }
}

fn add_usage(session: &mut crate::core::Session, usage: &Usage) {
    fn add<T: std::ops::Add<Output = T> + Default + Copy>(total: &mut Option<T>, more: Option<T>) {
        if let Some(more) = more {
            *total = Some(total.unwrap_or_default() + more);
        }
    }
    add(&mut session.tokens_in, usage.tokens_in);
    add(&mut session.tokens_out, usage.tokens_out);
    add(&mut session.cost_usd, usage.cost_usd);
}
