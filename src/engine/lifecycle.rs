//! Starting, running, aborting and resuming sessions, and the daemon's own start and
//! shutdown. Ending one is in `termination`.

use super::{Live, Responder, State};
use crate::agent::{DriverCmd, Launch, new_id};
use crate::core::{Action, Message, Part, PartKind, Role, SessionId, Status, check};
use crate::protocol::Event;
use crate::store::WorkspaceState;
use crate::workspace;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

pub(super) type Stopping = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Events one driver may have on their way to the engine.
const DRIVER_BUFFER: usize = 256;

/// How long a daemon shutdown waits for running turns to stop.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

impl State {
    /// After a restart: sessions that were running lost their agent and become
    /// `disconnected`. Idle ones stay idle with no agent running: it is started when a
    /// prompt needs it.
    pub(super) fn reconcile(&mut self) -> anyhow::Result<()> {
        let sessions = self.store.sessions()?;
        for (name, backend) in &self.backends {
            // A turn may still run where a session was busy, or was disconnected by a
            // daemon that went away mid-turn: those servers are kept to be found again.
            let busy: Vec<std::path::PathBuf> = (sessions.iter())
                .filter(|s| &s.agent == name)
                .filter(|s| s.status.is_busy() || s.status == Status::Disconnected)
                .map(|s| s.workspace.clone())
                .collect();
            backend.tidy(&busy);
        }
        for session in sessions {
            let id = session.id;
            let status = session.status;
            self.sessions.insert(id, session);
            if status == Status::Starting && self.setup_cut_short(id) {
                continue;
            }
            if status.is_busy() {
                self.set_status(
                    id,
                    Status::Disconnected,
                    Some("the daemon stopped while this session was running: resume it".into()),
                );
                self.publish(id);
            }
            // Deadlines that passed while the daemon was down are enforced now.
            self.arm_limits(id);
        }
        Ok(())
    }

    /// Refuses, saying what to fix, when the session's agent is not in the config (a typo
    /// there, or an agent taken out).
    pub(super) fn configured(&self, id: SessionId) -> Result<(), String> {
        let agent = &self.session(id)?.agent;
        if self.backends.contains_key(agent) {
            return Ok(());
        }
        Err(format!(
            "agent '{agent}' is not configured: fix [agents.{agent}] in config.toml (`flotilla daemon status` shows its errors), then restart the daemon with `flotilla daemon stop`"
        ))
    }

    pub(super) fn set_status(&mut self, id: SessionId, status: Status, reason: Option<String>) {
        if let Some(before) = self.sessions.get(&id).map(|s| s.status) {
            self.mark_status(id, before, status);
        }
        if let Some(s) = self.sessions.get_mut(&id) {
            s.status = status;
            s.status_reason = reason;
            s.last_activity_at = Self::now();
        }
        self.track_idle(id, status);
        self.arm_limits(id);
    }

    /// Gives the session a running agent; it is then idle, or `error` if that failed.
    pub(super) fn open_driver(&mut self, id: SessionId) {
        let Some(session) = self.sessions.get(&id) else {
            return;
        };
        let launch = Launch {
            session: id,
            workspace: session.workspace.clone(),
            agent_session_id: session.agent_session_id.clone(),
            model: session.model.clone(),
            groups: self.groups.clone(),
            env: self.template_env(session.template.as_deref()),
        };
        let starts_ready = self
            .backends
            .get(&session.agent)
            .is_none_or(|b| b.starts_ready());
        let Some(backend) = self.backends.get(&session.agent) else {
            // A config problem is not the session's: it stays as it is, to run again
            // once the agent is configured (callers refuse the request before this).
            tracing::warn!("agent '{}' of {id} is not configured", session.agent);
            return;
        };
        // Each driver reports on a channel of its own, tagged on the way in.
        let generation = self.next_generation;
        self.next_generation += 1;
        let (events, mut from_driver) = tokio::sync::mpsc::channel(DRIVER_BUFFER);
        let engine = self.agent_tx.clone();
        tokio::spawn(async move {
            while let Some((session, event)) = from_driver.recv().await {
                if engine.send((session, generation, event)).await.is_err() {
                    return;
                }
            }
        });
        let opened = backend.open(launch, events).map_err(|e| e.to_string());
        match opened {
            Ok(driver) => {
                self.live.insert(
                    id,
                    Live {
                        driver,
                        message: None,
                        streamed: Vec::new(),
                        abort_waiters: Vec::new(),
                        idle_since: None,
                        generation,
                        turn_started: None,
                        ending: None,
                        pending: Vec::new(),
                    },
                );
                // Backends that must start something first report `Ready` when done.
                let status = if starts_ready {
                    Status::Idle
                } else {
                    Status::Starting
                };
                self.set_status(id, status, None);
            }
            Err(reason) => self.set_status(id, Status::Error, Some(reason)),
        }
        self.publish(id);
    }

    /// Records the user's prompt and hands it to the agent.
    pub(super) fn start_turn(&mut self, id: SessionId, text: String) {
        let Some(live) = self.live.get_mut(&id) else {
            self.set_status(
                id,
                Status::Disconnected,
                Some("the agent is not running: resume it".into()),
            );
            self.publish(id);
            return;
        };
        live.message = None;
        live.streamed.clear();
        live.turn_started = Some(Self::now());
        live.driver.send(DriverCmd::Prompt(text.clone()));
        self.record_prompt(id, &text);
        self.set_status(id, Status::Active, None);
        self.publish(id);
    }

    /// Records a prompt the user sent as a user message of the transcript, and tells the
    /// clients.
    pub(super) fn record_prompt(&mut self, id: SessionId, text: &str) {
        let message = Message {
            id: new_id("msg"),
            role: Role::User,
            created_at: Self::now(),
            parts: Vec::new(),
        };
        let part = Part {
            id: new_id("prt"),
            message_id: message.id.clone(),
            kind: PartKind::Text {
                text: text.to_string(),
            },
        };
        let stored = self
            .store
            .insert_message(id, &message)
            .and_then(|_| self.store.upsert_part(&part))
            .and_then(|()| self.store.index_text(id, text));
        if let Err(e) = stored {
            tracing::error!("recording prompt for {id}: {e}");
        }
        if let Some(s) = self.sessions.get_mut(&id) {
            s.message_count += 1;
        }
        self.broadcast(Event::MessageAdded {
            session: id,
            message,
        });
        self.broadcast(Event::PartUpdated { session: id, part });
    }

    /// Sends the next queued prompt if the session is idle.
    pub(super) fn pump_queue(&mut self, id: SessionId) {
        if self.sessions.get(&id).map(|s| s.status) != Some(Status::Idle) {
            return;
        }
        if !self.live.contains_key(&id) {
            // The agent is not running: start it; the queue goes out once it is ready.
            if self.sessions.get(&id).is_some_and(|s| s.queued_prompts > 0) {
                self.wake(id);
                if self.sessions.get(&id).map(|s| s.status) != Some(Status::Idle) {
                    return;
                }
            } else {
                return;
            }
        }
        match self.store.pop_queued(id) {
            Ok(Some(text)) => {
                if let Some(s) = self.sessions.get_mut(&id) {
                    s.queued_prompts = s.queued_prompts.saturating_sub(1);
                }
                self.start_turn(id, text);
            }
            Ok(None) => {}
            Err(e) => tracing::error!("reading queued prompts of {id}: {e}"),
        }
    }

    /// Drops queued prompts; says how many went, if any.
    pub(super) fn drop_queue(&mut self, id: SessionId) -> Option<String> {
        let dropped = self.store.clear_queued(id).unwrap_or(0);
        if let Some(s) = self.sessions.get_mut(&id) {
            s.queued_prompts = 0;
        }
        (dropped > 0).then(|| format!("{dropped} queued prompt(s) dropped"))
    }

    pub(super) fn abort(&mut self, id: SessionId, keep_queue: bool, reply: Responder) {
        let checked = self
            .status_of(id)
            .and_then(|status| check(status, Action::Abort).map_err(|e| e.to_string()));
        if let Err(e) = checked {
            let _ = reply.send(Err(e));
            return;
        }
        let note = match keep_queue {
            true => None,
            false => self.drop_queue(id),
        };
        if self.status_of(id).ok() == Some(Status::Starting)
            && let Some(live) = self.live.remove(&id)
        {
            // Nothing runs yet: the abort ends the start. The agent starts again when a
            // prompt needs it.
            self.after(live.driver.stop(), |_, ()| {});
            self.set_status(id, Status::Idle, None);
            self.publish(id);
            let _ = reply.send(Ok(self.session_reply(id, note)));
            if keep_queue {
                self.pump_queue(id);
            }
            return;
        }
        match self.live.get_mut(&id) {
            // The reply waits for the turn to end, so the caller sees the idle session.
            Some(live) => {
                live.driver.send(DriverCmd::Abort);
                live.abort_waiters.push((reply, note));
            }
            None => {
                self.set_status(id, Status::Idle, None);
                self.publish(id);
                let _ = reply.send(Ok(self.session_reply(id, note)));
                if keep_queue {
                    self.pump_queue(id);
                }
            }
        }
    }

    pub(super) fn resume(&mut self, id: SessionId, reply: Responder) {
        let checked = self
            .status_of(id)
            .and_then(|status| check(status, Action::Resume).map_err(|e| e.to_string()))
            .and_then(|_| self.not_in_flight(id))
            .and_then(|_| self.limits_allow_resume(id))
            .and_then(|_| self.configured(id))
            .and_then(|_| self.store.workspace_of(id).map_err(|e| e.to_string()));
        let ws = match checked {
            Ok((wid, ws, false))
                if self.store.workspace_state(wid).ok() == Some(WorkspaceState::Removing) =>
            {
                let _ = reply.send(Err(format!(
                    "cannot resume: a cleanup of {} did not finish; `flotilla rm {} --cleanup` finishes it",
                    ws.path.display(),
                    id.short()
                )));
                return;
            }
            Ok((_, ws, false)) => ws,
            Ok((_, ws, true)) => {
                let _ = reply.send(Err(format!(
                    "cannot resume: its workspace {} was cleaned up; start a new session",
                    ws.path.display()
                )));
                return;
            }
            Err(e) => {
                let _ = reply.send(Err(e));
                return;
            }
        };
        self.blocking(
            move || workspace::ensure_present(&ws),
            move |state, present| {
                let answer = present
                    .map_err(|e| format!("cannot resume: {e}"))
                    .and_then(|()| {
                        let status = state.status_of(id)?;
                        check(status, Action::Resume).map_err(|e| e.to_string())?;
                        state.open_driver(id);
                        state.pump_queue(id);
                        Ok(state.session_reply(id, None))
                    });
                let _ = reply.send(answer);
            },
        );
    }

    /// The daemon is going away: stop every turn. Running sessions become `disconnected`;
    /// idle ones stay idle, and their agent starts again when a prompt needs it.
    pub(super) async fn shutdown(&mut self) {
        self.flush();
        let mut stopping = Vec::new();
        for (id, live) in std::mem::take(&mut self.live) {
            // A running turn's server is left to finish it and be found again; an idle
            // session's agent is stopped, to be started when a prompt needs it.
            let busy = self.sessions.get(&id).is_some_and(|s| s.status.is_busy());
            stopping.push(if busy {
                Box::pin(live.driver.detach()) as Stopping
            } else {
                Box::pin(live.driver.stop())
            });
            if busy {
                self.set_status(
                    id,
                    Status::Disconnected,
                    Some("the daemon was stopped during a turn: resume the session".into()),
                );
                self.publish(id);
            }
        }
        let all = futures::future::join_all(stopping);
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, all).await;
        self.flush();
    }
}
