//! Callbacks (M13): a child session tells its parent, in a prompt, when it goes idle
//! after a turn (`on-idle`) or when it ends (`on-end`). A busy parent gets it queued; a
//! parent that is gone or has ended gets nothing, and the callback is recorded as
//! undeliverable.

use super::State;
use crate::core::{Callback, CallbackState, ChronicleFile, Notify, Session, SessionId, Status};

impl State {
    /// Tells the parent of `id`, if it has one that wants to hear of the session's
    /// status now. `files` are the changed files when they are known already (a
    /// chronicle was just kept); else they are read from the workspace.
    pub(super) fn notify_parent(&mut self, id: SessionId, files: Option<Vec<ChronicleFile>>) {
        let Some(child) = self.sessions.get(&id).cloned() else {
            return;
        };
        let (Some(parent), Some(notify)) = (child.parent, child.notify) else {
            return;
        };
        let wanted = match notify {
            Notify::OnIdle => child.status == Status::Idle || child.status.is_ended(),
            Notify::OnEnd => child.status.is_ended(),
        };
        if !wanted {
            return;
        }
        if let Some(files) = files {
            return self.deliver(&child, parent, files);
        }
        let found = self.store.workspace_of(id).map_err(|e| e.to_string());
        let ws = match found {
            Ok((_, ws, false)) if ws.is_git() => ws,
            _ => return self.deliver(&child, parent, Vec::new()),
        };
        self.blocking(
            move || super::chronicles::changed_files(&ws).unwrap_or_default(),
            // Told as it was when it happened, whatever it has done since.
            move |state, files| state.deliver(&child, parent, files),
        );
    }

    fn deliver(&mut self, child: &Session, parent: SessionId, files: Vec<ChronicleFile>) {
        let prompt = callback_prompt(child, &files);
        let parent_status = self.sessions.get(&parent).map(|s| s.status);
        let (state, reason) = match parent_status {
            None => (
                CallbackState::Undeliverable,
                Some("the parent session was removed".to_string()),
            ),
            Some(status) if status.is_ended() => (
                CallbackState::Undeliverable,
                Some(format!("the parent session is {status}")),
            ),
            // Waiting for an answer is busy too: the callback waits its turn.
            Some(Status::WaitingInput) => match self.store.push_queued(parent, &prompt) {
                Ok(()) => {
                    if let Some(p) = self.sessions.get_mut(&parent) {
                        p.queued_prompts += 1;
                    }
                    self.publish(parent);
                    (CallbackState::Queued, None)
                }
                Err(e) => (CallbackState::Undeliverable, Some(e.to_string())),
            },
            Some(status) => match self.send(parent, prompt) {
                Ok(_) if status.is_busy() => (CallbackState::Queued, None),
                Ok(_) => (CallbackState::Sent, None),
                Err(e) => (CallbackState::Undeliverable, Some(e)),
            },
        };
        if let Some(why) = &reason {
            tracing::info!("callback of {} not delivered: {why}", child.id);
        }
        let record = Callback {
            child: child.id,
            parent,
            status: child.status,
            state,
            reason,
            created_at: Self::now(),
        };
        if let Err(e) = self.store.insert_callback(&record) {
            tracing::error!("recording a callback of {}: {e}", child.id);
        }
    }
}

/// What the parent's agent reads: who, how it ended, where, and what it changed.
fn callback_prompt(child: &Session, files: &[ChronicleFile]) -> String {
    let status = match &child.status_reason {
        Some(why) => format!("{} ({why})", child.status),
        None => child.status.to_string(),
    };
    let mut text = format!(
        "[flotilla] Child session {} \"{}\" is {status}.\nBranch: {}\nWorkspace: {}\n",
        child.id.short(),
        crate::core::screen_line(&child.title),
        child.branch.as_deref().unwrap_or("(none)"),
        child.workspace.display()
    );
    match files {
        [] => text.push_str("Files changed: none\n"),
        files => {
            text.push_str(&format!("Files changed ({}):\n", files.len()));
            for f in files {
                let mark = match f.status {
                    crate::core::FileStatus::Added => "A",
                    crate::core::FileStatus::Modified => "M",
                    crate::core::FileStatus::Deleted => "D",
                };
                text.push_str(&format!(
                    "  {mark} {} +{} -{}\n",
                    f.path, f.added, f.removed
                ));
            }
        }
    }
    text
}
