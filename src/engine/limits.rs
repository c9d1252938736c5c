//! Enforcing sessions' limits (M14). Deadlines come from what is stored (the creation
//! time, the last activity, the turns and their time so far), so a daemon that starts
//! again enforces what passed while it was down. A running turn is aborted through the
//! agent's protocol first; the session then ends `completed`, saying which limit.

use super::State;
use crate::agent::DriverCmd;
use crate::core::{SessionId, Status, limits};
use chrono::Utc;
use tokio::time::Instant;

impl State {
    /// Brings the limit timer forward to `id`'s next deadline, or to now if it has
    /// reached one.
    pub(super) fn arm_limits(&mut self, id: SessionId) {
        let Some(s) = self.sessions.get(&id) else {
            return;
        };
        // Being ended already: the turn's end completes it, and the timer must not spin.
        if s.limits.is_empty() || self.live.get(&id).is_some_and(|l| l.ending.is_some()) {
            return;
        }
        let now = Utc::now();
        let running = self.live.get(&id).and_then(|l| l.turn_started);
        let at = match limits::reached(s, now, running) {
            Some(_) => Some(now),
            None => limits::next_deadline(s, now, running),
        };
        if let Some(at) = at {
            let due = Instant::now() + (at - now).to_std().unwrap_or_default();
            if self.limit_at.is_none_or(|t| due < t) {
                self.limit_at = Some(due);
            }
        }
    }

    /// The timer went off: ends the sessions that reached a limit, and sets the timer
    /// for the next deadline.
    pub(super) fn limits_due(&mut self) {
        self.limit_at = None;
        let now = Utc::now();
        let ending = |id: &SessionId| self.live.get(id).is_some_and(|l| l.ending.is_some());
        let bounded: Vec<SessionId> = (self.sessions.values())
            .filter(|s| !s.limits.is_empty() && !ending(&s.id))
            .map(|s| s.id)
            .collect();
        for id in &bounded {
            let running = self.live.get(id).and_then(|l| l.turn_started);
            let reached = (self.sessions.get(id)).and_then(|s| limits::reached(s, now, running));
            if let Some(reason) = reached {
                self.enforce(*id, reason);
            }
        }
        for id in bounded {
            self.arm_limits(id);
        }
    }

    /// A session that a limit would end again at once is not resumed: its turns, time,
    /// cost or ttl are used up. (An idle timeout starts again.)
    pub(super) fn limits_allow_resume(&self, id: SessionId) -> Result<(), String> {
        let Some(s) = self.sessions.get(&id) else {
            return Ok(());
        };
        let now = Utc::now();
        let resumed = crate::core::Session {
            status: Status::Idle,
            last_activity_at: now,
            ..s.clone()
        };
        match limits::reached(&resumed, now, None) {
            Some(reason) => Err(format!(
                "cannot resume: {reason}; reforge its chronicle (`flotilla chronicle ls --session {}`) to go on in a new session",
                id.short()
            )),
            None => Ok(()),
        }
    }

    /// Checks the limits that count finished turns (turns, cost); true if it ended.
    pub(super) fn limits_after_turn(&mut self, id: SessionId) -> bool {
        let ending = self.live.get_mut(&id).and_then(|l| l.ending.take());
        let reached = ending.or_else(|| {
            let s = self.sessions.get(&id)?;
            limits::reached(s, Utc::now(), None)
        });
        match reached {
            Some(reason) => {
                self.complete(id, reason);
                true
            }
            None => false,
        }
    }

    /// Ends the session for `reason`: a running turn is aborted first, and the session
    /// completes when it has ended.
    fn enforce(&mut self, id: SessionId, reason: String) {
        let status = self.sessions.get(&id).map(|s| s.status);
        let turn_runs = matches!(status, Some(Status::Active | Status::WaitingInput));
        match self.live.get_mut(&id) {
            Some(live) if turn_runs => {
                if live.ending.is_none() {
                    tracing::info!("aborting the turn of {id}: {reason}");
                    live.ending = Some(reason);
                    live.driver.send(DriverCmd::Abort);
                }
                self.drop_queue(id);
            }
            _ => self.complete(id, reason),
        }
    }

    /// The session ends `completed`: its agent is stopped, its queue dropped, its
    /// chronicle kept and its parent told.
    pub(super) fn complete(&mut self, id: SessionId, reason: String) {
        tracing::info!("completing {id}: {reason}");
        self.drop_queue(id);
        let stopping: super::lifecycle::Stopping = match self.live.remove(&id) {
            Some(live) => {
                for (waiter, note) in live.abort_waiters {
                    let _ = waiter.send(Ok(self.session_reply(id, note)));
                }
                Box::pin(live.driver.stop())
            }
            None => Box::pin(std::future::ready(())),
        };
        self.set_status(id, Status::Completed, Some(reason.clone()));
        self.publish(id);
        // Kept once the agent has stopped, so nothing writes to the workspace meanwhile.
        self.after(stopping, move |state, ()| {
            state.keep_chronicle(id, format!("completed: {reason}"), move |state, kept| {
                let files = kept.ok().map(|c| c.files);
                state.notify_parent(id, files);
            });
        });
    }
}
