//! Archive and restore (M16): an ended session's workspace is saved in a chronicle and
//! its directory removed to free the disk; `restore` makes it again from that chronicle
//! and the session is `stopped`, to be resumed.

use super::{Responder, State};
use crate::core::{Action, SessionId, Status, Strategy, check};
use crate::store::WorkspaceState;
use crate::workspace::{self, Cleanup};

impl State {
    pub(super) fn archive(&mut self, id: SessionId, force: bool, reply: Responder) {
        let checked = (self.status_of(id))
            .and_then(|status| check(status, Action::Archive).map_err(|e| e.to_string()))
            .and_then(|_| self.store.workspace_of(id).map_err(|e| e.to_string()));
        let (ws_id, ws, removed) = match checked {
            Ok(found) => found,
            Err(e) => {
                let _ = reply.send(Err(e));
                return;
            }
        };
        if !(force || removed || ws.strategy == Strategy::Existing) {
            // Ignored files (a .env, build output) cannot go into the chronicle: the
            // user says whether they may go with the directory.
            let path = ws.path.clone();
            return self.blocking(
                move || workspace::changes(&path),
                move |state, changes| match changes {
                    Ok(c) if !c.ignored.is_empty() => {
                        let named: Vec<&str> = c.ignored.iter().take(3).map(String::as_str).collect();
                        let _ = reply.send(Err(format!(
                            "nothing was changed: {} ignored file(s) ({}{}) cannot be saved and would be deleted with the workspace; pass --force to archive without them",
                            c.ignored.len(),
                            named.join(", "),
                            if c.ignored.len() > 3 { ", ..." } else { "" }
                        )));
                    }
                    Ok(_) => state.archive(id, true, reply),
                    Err(e) => {
                        let _ = reply.send(Err(format!("nothing was changed: {e}")));
                    }
                },
            );
        }
        self.keep_chronicle(id, "archived".into(), move |state, kept| {
            let chronicle = match kept {
                Ok(c) => c,
                Err(e) => {
                    let _ = reply.send(Err(format!("nothing was changed: {e}")));
                    return;
                }
            };
            if removed || ws.strategy == Strategy::Existing || chronicle.tree_commit.is_none() {
                let note = match (removed, ws.strategy) {
                    (true, _) => None,
                    (_, Strategy::Existing) => Some(format!(
                        "kept {}: flotilla never deletes a directory it did not create",
                        ws.path.display()
                    )),
                    _ => Some(format!("kept {}: it is not in git", ws.path.display())),
                };
                state.set_status(id, Status::Archived, None);
                state.publish(id);
                let _ = reply.send(Ok(state.session_reply(id, note)));
                return;
            }
            let short = chronicle.short().to_string();
            let path = ws.path.clone();
            let kept_ws = ws.clone();
            if let Err(e) = state.store.set_workspace_state(ws_id, WorkspaceState::Removing) {
                let _ = reply.send(Err(format!("nothing was changed: {e}")));
                return;
            }
            state.blocking(
                move || {
                    workspace::keep_branch(&kept_ws)?;
                    workspace::remove(&kept_ws)
                },
                move |state, removed| {
                    let recorded = match removed {
                        Ok(Cleanup::Removed | Cleanup::AlreadyGone) => {
                            state.store.mark_workspace_removed(ws_id, State::now())
                        }
                        Ok(Cleanup::KeptExisting) => {
                            state.store.set_workspace_state(ws_id, WorkspaceState::Ready)
                        }
                        Err(e) => {
                            let whole = workspace::ensure_present(&ws).is_ok();
                            if whole {
                                let _ = state.store.set_workspace_state(ws_id, WorkspaceState::Ready);
                            }
                            let _ = reply.send(Err(format!(
                                "saved the workspace in chronicle {short}, but removing {} failed: {e}",
                                path.display()
                            )));
                            return;
                        }
                    };
                    if let Err(e) = recorded {
                        tracing::error!("recording the archive of {id}: {e}");
                    }
                    state.set_status(id, Status::Archived, None);
                    state.publish(id);
                    let note = format!(
                        "saved in chronicle {short} and removed {}; `flotilla restore {}` brings it back",
                        path.display(),
                        id.short()
                    );
                    let _ = reply.send(Ok(state.session_reply(id, Some(note))));
                },
            );
        });
    }

    pub(super) fn restore(&mut self, id: SessionId, reply: Responder) {
        let checked = (self.status_of(id))
            .and_then(|status| check(status, Action::Restore).map_err(|e| e.to_string()))
            .and_then(|_| self.store.workspace_of(id).map_err(|e| e.to_string()));
        let (ws_id, ws, removed) = match checked {
            Ok(found) => found,
            Err(e) => {
                let _ = reply.send(Err(e));
                return;
            }
        };
        if !removed {
            self.set_status(id, Status::Stopped, None);
            self.publish(id);
            let _ = reply.send(Ok(self.session_reply(id, None)));
            return;
        }
        let saved = (self.store.chronicles(Some(id)))
            .map_err(|e| e.to_string())
            .and_then(|list| {
                list.into_iter()
                    .find(|c| c.tree_commit.is_some())
                    .ok_or_else(|| "no saved workspace to restore from: its workspace was cleaned up before it was archived; reforge a chronicle of it instead".to_string())
            });
        let chronicle = match saved {
            Ok(c) => c,
            Err(e) => {
                let _ = reply.send(Err(e));
                return;
            }
        };
        let (refname, commit) = (
            chronicle.refname.clone().unwrap_or_default(),
            chronicle.tree_commit.clone().unwrap_or_default(),
        );
        let groups = self.groups.clone();
        self.blocking(
            move || workspace::recreate(&ws, &refname, &commit, &groups),
            move |state, made| {
                if let Err(e) = made {
                    let _ = reply.send(Err(format!("cannot restore: {e}")));
                    return;
                }
                if let Err(e) = state.store.mark_workspace_restored(ws_id) {
                    tracing::error!("recording the restore of {id}: {e}");
                }
                state.set_status(id, Status::Stopped, None);
                state.publish(id);
                let note = format!("restored from chronicle {}", chronicle.short());
                let _ = reply.send(Ok(state.session_reply(id, Some(note))));
            },
        );
    }
}
