//! Ending sessions: `stop` and `rm`, with the workspace cleanup that never loses work.
//! Nothing changes unless the checks pass first; a crash once they have is finished at
//! the next start.

use super::lifecycle::Stopping;
use super::{Outcome, Responder, State};
use crate::core::{Action, SessionId, Status, Strategy, check};
use crate::protocol::{Event, Reply};
use crate::store::WorkspaceState;
use crate::workspace::{self, Cleanup};

impl State {
    /// Terminate (`stop`) or delete (`rm`) a session, cleaning up its workspace if asked.
    /// Nothing changes unless the cleanup's checks pass first.
    pub(super) fn terminate(
        &mut self,
        id: SessionId,
        cleanup: bool,
        force: bool,
        remove: bool,
        reply: Responder,
    ) {
        let plan = (self.not_in_flight(id)).and_then(|()| self.plan_cleanup(id, cleanup, remove));
        let (ws_id, ws, do_cleanup, mut notes) = match plan {
            Ok(plan) => plan,
            Err(e) => {
                let _ = reply.send(Err(e));
                return;
            }
        };
        let check_ws = ws.clone();
        self.blocking(
            move || match do_cleanup {
                true => workspace::check_removable(&check_ws, force),
                false => Ok(()),
            },
            move |state, checked| {
                if let Err(e) = checked {
                    let _ = reply.send(Err(format!("nothing was changed: {e}")));
                    return;
                }
                if !state.sessions.contains_key(&id) {
                    let _ =
                        reply.send(Err(format!("session {} was removed meanwhile", id.short())));
                    return;
                }
                notes.extend(state.drop_queue(id));
                let was = state.status_of(id).ok();
                // A failed session told its parent when it failed; the others end now.
                let tell = was.is_some_and(|s| s.is_live() || s == Status::Disconnected);
                let ended_now = tell || was == Some(Status::Error);
                let stopping = state.halt(id);
                state.after(stopping, move |state, ()| {
                    if remove || !(ended_now || do_cleanup) {
                        return state.finish_or_clean(id, ws_id, ws, (do_cleanup, force, remove), notes, reply);
                    }
                    // A chronicle first: the workspace's tree is saved before it may go.
                    state.keep_chronicle(id, "stopped".into(), move |state, kept| {
                        let files = match kept {
                            Ok(c) => Some(c.files),
                            Err(e) if do_cleanup => {
                                let _ = reply.send(Err(format!(
                                    "stopped the session but kept its workspace, as its chronicle could not be saved: {e}"
                                )));
                                if tell {
                                    state.notify_parent(id, None);
                                }
                                return;
                            }
                            Err(e) => {
                                notes.push(format!("no chronicle was kept: {e}"));
                                None
                            }
                        };
                        if tell {
                            state.notify_parent(id, files);
                        }
                        state.finish_or_clean(id, ws_id, ws, (do_cleanup, force, remove), notes, reply);
                    });
                });
            },
        );
    }

    fn finish_or_clean(
        &mut self,
        id: SessionId,
        ws_id: i64,
        ws: workspace::Workspace,
        (cleanup, force, remove): (bool, bool, bool),
        notes: Vec<String>,
        reply: Responder,
    ) {
        if !cleanup {
            let _ = reply.send(Ok(self.finish_terminate(id, remove, notes)));
            return;
        }
        self.clean_up(id, ws_id, ws, force, remove, notes, reply);
    }

    /// With the agent stopped: checks again (it may have written meanwhile), keeps the
    /// branch, records the removal, removes. A crash from here on is finished at the next
    /// start, since the checks have passed.
    #[allow(clippy::too_many_arguments)]
    fn clean_up(
        &mut self,
        id: SessionId,
        ws_id: i64,
        ws: workspace::Workspace,
        force: bool,
        remove: bool,
        mut notes: Vec<String>,
        reply: Responder,
    ) {
        let kept_ws = ws.clone();
        self.blocking(
            move || {
                workspace::check_removable(&kept_ws, force)?;
                workspace::keep_branch(&kept_ws)
            },
            move |state, kept| {
                let kept = match kept {
                    Ok(kept) => kept,
                    Err(e) => {
                        let done = if remove {
                            "kept the session"
                        } else {
                            "stopped the session"
                        };
                        let _ = reply.send(Err(format!("{done} but not its workspace: {e}")));
                        return;
                    }
                };
                notes.extend(kept);
                if let Err(e) = state
                    .store
                    .set_workspace_state(ws_id, WorkspaceState::Removing)
                {
                    let _ = reply.send(Err(format!("workspace kept: {e}")));
                    return;
                }
                let path = ws.path.clone();
                state.blocking(
                    move || {
                        // Whether a failed removal left the work tree whole: then it is
                        // simply kept, as if the cleanup had been refused.
                        workspace::remove(&ws)
                            .map_err(|e| (e, workspace::ensure_present(&ws).is_ok()))
                    },
                    move |state, removed| {
                        let outcome = match removed {
                            Ok(Cleanup::Removed | Cleanup::AlreadyGone) => {
                                notes.push(format!("removed {}", path.display()));
                                state.store.mark_workspace_removed(ws_id, State::now())
                            }
                            Ok(Cleanup::KeptExisting) => state
                                .store
                                .set_workspace_state(ws_id, WorkspaceState::Ready),
                            Err((e, whole)) => {
                                let short = id.short();
                                let said = if whole {
                                    let _ = state
                                        .store
                                        .set_workspace_state(ws_id, WorkspaceState::Ready);
                                    format!("kept {} whole, as removing it failed: {e}; fix that and clean up again", path.display())
                                } else {
                                    format!("removed part of {}, then failed: {e}; fix that, then `flotilla rm {short} --cleanup` removes the rest", path.display())
                                };
                                let _ = reply.send(Err(said));
                                return;
                            }
                        };
                        if let Err(e) = outcome {
                            tracing::error!("recording the cleanup of {}: {e}", path.display());
                        }
                        let _ = reply.send(Ok(state.finish_terminate(id, remove, notes)));
                    },
                );
            },
        );
    }

    fn plan_cleanup(
        &mut self,
        id: SessionId,
        cleanup: bool,
        remove: bool,
    ) -> Result<(i64, workspace::Workspace, bool, Vec<String>), String> {
        let status = self.status_of(id)?;
        // A session that has already ended can still have its workspace cleaned up.
        let ended = matches!(status, Status::Stopped | Status::Completed);
        if !(remove || cleanup && ended) {
            check(status, Action::Terminate).map_err(|e| e.to_string())?;
        }
        let (ws_id, ws, removed) = self.store.workspace_of(id).map_err(|e| e.to_string())?;
        let mut notes = Vec::new();
        if removed && cleanup && ended && !remove {
            return Err(format!(
                "nothing to clean up: {} was already removed",
                ws.path.display()
            ));
        }
        if !cleanup || removed {
            return Ok((ws_id, ws, false, notes));
        }
        if ws.strategy == Strategy::Existing {
            let path = ws.path.display();
            if !remove {
                // `stop --cleanup` would do nothing it was asked to: refused whole,
                // rather than a stop with a note a script never reads.
                return Err(format!(
                    "nothing was changed: --cleanup removes only workspaces flotilla made, and {path} is your own directory; leave out --cleanup"
                ));
            }
            // `rm --cleanup` still does what matters, removing the session.
            notes.push(format!(
                "kept {path}: flotilla never deletes a directory it did not create"
            ));
            return Ok((ws_id, ws, false, notes));
        }
        let users = self
            .store
            .workspace_users(ws_id, &ws.path, id)
            .map_err(|e| e.to_string())?;
        if let Some(first) = users.first() {
            return Err(format!(
                "nothing was changed: {} is also used by {} other session(s) ({}); leave out --cleanup or remove those first",
                ws.path.display(),
                users.len(),
                first.short()
            ));
        }
        Ok((ws_id, ws, true, notes))
    }

    /// Ends the session's turn and lets go of its agent; the session is `stopped`.
    fn halt(&mut self, id: SessionId) -> Stopping {
        self.end_setup(id);
        let was = self.sessions.get(&id).map(|s| s.status);
        let live = self.live.remove(&id);
        // Ended already (by the user or a limit): its status and reason stay.
        if was.is_some_and(|s| !matches!(s, Status::Stopped | Status::Completed)) {
            self.set_status(id, Status::Stopped, None);
            self.publish(id);
        }
        match live {
            Some(live) => {
                for (waiter, note) in live.abort_waiters {
                    let _ = waiter.send(Ok(self.session_reply(id, note)));
                }
                Box::pin(live.driver.stop())
            }
            None => Box::pin(std::future::ready(())),
        }
    }

    fn finish_terminate(&mut self, id: SessionId, remove: bool, notes: Vec<String>) -> Outcome {
        self.flush();
        let note = (!notes.is_empty()).then(|| notes.join("; "));
        if !remove {
            return self.session_reply(id, note);
        }
        if let Err(e) = self.store.delete_session(id) {
            tracing::error!("deleting session {id}: {e}");
        }
        if let Some(gone) = self.sessions.remove(&id) {
            let repo = gone.source_repo.clone();
            self.blocking(
                move || super::checkpoints::forget_checkpoints(&repo, id),
                |_, ()| {},
            );
            // The others may have conflicted with it.
            if let Some(other) = self
                .sessions
                .values()
                .find(|s| s.source_repo == gone.source_repo)
            {
                let other = other.id;
                self.check_conflicts_of(other);
            }
        }
        self.broadcast(Event::SessionRemoved { id });
        Reply::Removed { id, note }.into()
    }
}
