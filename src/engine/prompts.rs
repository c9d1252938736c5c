//! What the user says to a session's agent: a prompt (sent now or queued), text added to
//! the running turn, and the answer to a permission question.

use super::{Outcome, State};
use crate::core::{Action, SessionId, Status, Verdict, check};

impl State {
    /// Sends a prompt now, or queues it while the agent is busy.
    pub(super) fn send(&mut self, id: SessionId, text: String) -> Result<Outcome, String> {
        super::creation::check_prompt(&text)?;
        let status = self.status_of(id)?;
        let verdict = match check(status, Action::Prompt).map_err(|e| e.to_string())? {
            // Git is reading the workspace for a checkpoint, or changing it: the turn
            // starts once that is done.
            Verdict::Run if self.holds(id) => Verdict::Queue,
            verdict => verdict,
        };
        match verdict {
            Verdict::Queue => {
                self.store
                    .push_queued(id, &text)
                    .map_err(|e| e.to_string())?;
                let position = self.sessions.get_mut(&id).map(|s| {
                    s.queued_prompts += 1;
                    s.queued_prompts
                });
                self.publish(id);
                let note = format!(
                    "queued: the agent is busy; this prompt is number {} in line",
                    position.unwrap_or(1)
                );
                Ok(self.session_reply(id, Some(note)))
            }
            _ if !self.live.contains_key(&id) => {
                self.configured(id)?;
                // No agent runs for this idle session: it waits in the queue while the
                // agent starts (and resumes the conversation).
                self.store
                    .push_queued(id, &text)
                    .map_err(|e| e.to_string())?;
                if let Some(s) = self.sessions.get_mut(&id) {
                    s.queued_prompts += 1;
                }
                self.pump_queue(id);
                if let Ok(Status::Error) = self.status_of(id) {
                    // The agent could not start: say why, and keep no prompt for later.
                    self.drop_queue(id);
                    self.publish(id);
                    let why = self.session(id)?.status_reason.clone();
                    return Err(why.unwrap_or_else(|| "the agent could not start".into()));
                }
                Ok(self.session_reply(id, None))
            }
            _ => {
                self.start_turn(id, text);
                Ok(self.session_reply(id, None))
            }
        }
    }

    /// Adds `text` to the running turn, for an agent that can take it.
    pub(super) fn steer(&mut self, id: SessionId, text: String) -> Result<Outcome, String> {
        super::creation::check_prompt(&text)?;
        let s = self.session(id)?;
        let agent = s.agent.clone();
        if s.status != Status::Active {
            return Err(format!(
                "session is {}, with no turn running to add to: send it as a prompt",
                s.status
            ));
        }
        if !self.backends.get(&agent).is_some_and(|b| b.steers()) {
            return Err(format!(
                "{agent} cannot take text into a running turn: `flotilla send` queues it for the next"
            ));
        }
        let live = self
            .live
            .get(&id)
            .ok_or("the session's agent is not running")?;
        live.driver
            .send(crate::agent::DriverCmd::Steer(text.clone()));
        self.record_prompt(id, &text);
        Ok(self.session_reply(id, Some("added to the running turn".into())))
    }

    pub(super) fn answer_permission(
        &mut self,
        id: SessionId,
        request_id: Option<String>,
        answer: crate::core::PermissionReply,
    ) -> Result<Outcome, String> {
        let status = self.status_of(id)?;
        if status != Status::WaitingInput {
            return Err(format!(
                "session is {status}, not waiting for a permission: nothing to answer"
            ));
        }
        let live = self
            .live
            .get(&id)
            .ok_or("the session's agent is not running: resume it")?;
        let request_id = match request_id {
            Some(rid) if live.pending.contains(&rid) => rid,
            Some(rid) => {
                return Err(format!(
                    "no pending permission request '{rid}' in session {}: leave out --request to answer the one pending",
                    id.short()
                ));
            }
            None => match live.pending.as_slice() {
                [one] => one.clone(),
                [] => return Err("no permission request is pending: nothing to answer".into()),
                many => {
                    return Err(format!(
                        "{} permission requests are pending: name one with --request ({})",
                        many.len(),
                        many.join(", ")
                    ));
                }
            },
        };
        live.driver.send(crate::agent::DriverCmd::Permission {
            request_id,
            reply: answer,
        });
        Ok(self.session_reply(id, None))
    }
}
