//! Agents cost nothing while their sessions are idle: an agent is started when a session
//! needs it (a prompt, a resume) and stopped once the session has been idle for
//! `idle_instance_timeout`. The session stays `idle`; the next prompt starts the agent
//! again with the agent's own resume, so nothing of the conversation is lost.

use super::State;
use crate::core::{SessionId, Status};
use tokio::time::Instant;

impl State {
    /// Starts the session's agent if none runs; the prompts waiting in its queue go out
    /// once it is ready.
    pub(super) fn wake(&mut self, id: SessionId) {
        if self.live.contains_key(&id) {
            return;
        }
        tracing::info!("starting the agent of {id}");
        self.open_driver(id);
    }

    /// Keeps the hibernation clock of a live session: it runs while the session is idle.
    pub(super) fn track_idle(&mut self, id: SessionId, status: Status) {
        let Some(live) = self.live.get_mut(&id) else {
            return;
        };
        if status != Status::Idle {
            live.idle_since = None;
            return;
        }
        if live.idle_since.is_none() {
            let since = Instant::now();
            live.idle_since = Some(since);
            // A timeout of zero (or past any date) keeps agents running.
            let timeout = self.config.idle_instance_timeout;
            let Some(due) = since.checked_add(timeout).filter(|_| !timeout.is_zero()) else {
                return;
            };
            if self.hibernate_at.is_none_or(|at| due < at) {
                self.hibernate_at = Some(due);
            }
        }
    }

    /// Stops the agents of sessions idle for the whole timeout; sets the next deadline.
    pub(super) fn hibernate_due(&mut self) {
        self.hibernate_at = None;
        let now = Instant::now();
        let timeout = self.config.idle_instance_timeout;
        let mut due = Vec::new();
        for (id, live) in &self.live {
            let Some(since) = live.idle_since else {
                continue;
            };
            let Some(at) = since.checked_add(timeout).filter(|_| !timeout.is_zero()) else {
                continue;
            };
            if at <= now && live.abort_waiters.is_empty() {
                due.push(*id);
            } else if self.hibernate_at.is_none_or(|next| at < next) {
                self.hibernate_at = Some(at.max(now));
            }
        }
        for id in due {
            if let Some(live) = self.live.remove(&id) {
                tracing::info!("stopping the agent of {id}: idle for {timeout:?}");
                self.after(live.driver.stop(), |_, ()| {});
                self.publish(id);
            }
        }
    }
}
