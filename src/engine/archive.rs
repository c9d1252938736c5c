//! Archive and restore (M16): an ended session's workspace is saved in a chronicle and
//! its directory removed to free the disk; `restore` makes it again from that chronicle
//! and the session is `stopped`, to be resumed. While one runs, the session takes no
//! other request that could touch its workspace.

use super::{Responder, State};
use crate::core::{Action, SessionId, Status, Strategy, check};
use crate::store::WorkspaceState;
use crate::workspace::{self, Cleanup, Workspace};

impl State {
    /// Refuses a request on a session whose archive or restore is under way.
    pub(super) fn not_in_flight(&self, id: SessionId) -> Result<(), String> {
        match self.in_flight.contains(&id) {
            true => Err(format!(
                "session {} is being archived or restored: try again when that is done",
                id.short()
            )),
            false => Ok(()),
        }
    }

    /// The session's workspace record, if `action` may be taken now.
    fn workspace_for(
        &self,
        id: SessionId,
        action: Action,
    ) -> Result<(i64, Workspace, bool), String> {
        self.not_in_flight(id)?;
        check(self.status_of(id)?, action).map_err(|e| e.to_string())?;
        self.store.workspace_of(id).map_err(|e| e.to_string())
    }

    pub(super) fn archive(&mut self, id: SessionId, force: bool, reply: Responder) {
        let (ws_id, ws, removed) = match self.workspace_for(id, Action::Archive) {
            Ok(found) => found,
            Err(e) => {
                let _ = reply.send(Err(e));
                return;
            }
        };
        let removes = !removed && ws.strategy != Strategy::Existing && ws.is_git();
        if removes {
            let users = self.store.workspace_users(ws_id, &ws.path, id);
            if let Some(other) = users.ok().and_then(|u| u.first().copied()) {
                let _ = reply.send(Err(format!(
                    "nothing was changed: {} is also used by session {}; remove that one first",
                    ws.path.display(),
                    other.short()
                )));
                return;
            }
        }
        let before = self.status_of(id).unwrap_or(Status::Stopped);
        self.in_flight.insert(id);
        let checked_ws = ws.clone();
        self.blocking(
            move || match removes && !force {
                true => losses(&checked_ws),
                false => Ok(()),
            },
            move |state, checked| {
                if let Err(e) = checked {
                    state.in_flight.remove(&id);
                    let _ = reply.send(Err(format!("nothing was changed: {e}")));
                    return;
                }
                state.keep_chronicle(id, "archived".into(), move |state, kept| {
                    let chronicle = match kept {
                        Ok(c) => c,
                        Err(e) => {
                            state.in_flight.remove(&id);
                            let _ = reply.send(Err(format!("nothing was changed: {e}")));
                            return;
                        }
                    };
                    // Archived before the directory goes: a crash meanwhile leaves an
                    // archived session whose removal the next start finishes.
                    state.set_status(id, Status::Archived, None);
                    state.publish(id);
                    if !removes || chronicle.tree_commit.is_none() {
                        state.in_flight.remove(&id);
                        let note = (ws.strategy == Strategy::Existing).then(|| {
                            format!(
                                "kept {}: flotilla never deletes a directory it did not create",
                                ws.path.display()
                            )
                        });
                        let _ = reply.send(Ok(state.session_reply(id, note)));
                        return;
                    }
                    let short = chronicle.short().to_string();
                    state.remove_archived(id, ws_id, ws, before, short, reply);
                });
            },
        );
    }

    /// The last step of an archive: the branch kept, the directory removed.
    fn remove_archived(
        &mut self,
        id: SessionId,
        ws_id: i64,
        ws: Workspace,
        before: Status,
        short: String,
        reply: Responder,
    ) {
        if let Err(e) = self
            .store
            .set_workspace_state(ws_id, WorkspaceState::Removing)
        {
            self.in_flight.remove(&id);
            self.set_status(id, before, None);
            self.publish(id);
            let _ = reply.send(Err(format!("nothing was changed: {e}")));
            return;
        }
        let kept_ws = ws.clone();
        self.blocking(
            move || {
                workspace::keep_branch(&kept_ws)?;
                workspace::remove(&kept_ws)
            },
            move |state, removed| {
                state.in_flight.remove(&id);
                let recorded = match removed {
                    Ok(Cleanup::Removed | Cleanup::AlreadyGone) => {
                        state.store.mark_workspace_removed(ws_id, State::now())
                    }
                    Ok(Cleanup::KeptExisting) => {
                        state.store.set_workspace_state(ws_id, WorkspaceState::Ready)
                    }
                    Err(e) => {
                        let whole = workspace::ensure_present(&ws).is_ok();
                        let said = match whole {
                            true => {
                                // Nothing is gone: the session is as it was.
                                let _ = state.store.set_workspace_state(ws_id, WorkspaceState::Ready);
                                state.set_status(id, before, None);
                                format!("kept {} whole, as removing it failed: {e}", ws.path.display())
                            }
                            false => format!(
                                "saved the workspace in chronicle {short}, but removing {} failed part way: {e}; `flotilla restore {}` makes it again",
                                ws.path.display(),
                                id.short()
                            ),
                        };
                        state.publish(id);
                        let _ = reply.send(Err(said));
                        return;
                    }
                };
                if let Err(e) = recorded {
                    tracing::error!("recording the archive of {id}: {e}");
                }
                let note = format!(
                    "saved in chronicle {short} and removed {}; `flotilla restore {}` brings it back",
                    ws.path.display(),
                    id.short()
                );
                let _ = reply.send(Ok(state.session_reply(id, Some(note))));
            },
        );
    }

    pub(super) fn restore(&mut self, id: SessionId, reply: Responder) {
        let (ws_id, ws, removed) = match self.workspace_for(id, Action::Restore) {
            Ok(found) => found,
            Err(e) => {
                let _ = reply.send(Err(e));
                return;
            }
        };
        let state_now = self.store.workspace_state(ws_id).ok();
        if !removed && state_now != Some(WorkspaceState::Removing) {
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
        let root = self.paths.workspaces.canonicalize().ok();
        self.in_flight.insert(id);
        self.blocking(
            move || {
                // What a restore (or the archive) that a crash cut short left of the
                // directory is flotilla's own, and all of it is in the chronicle.
                let ours = root.is_some_and(|r| ws.path.starts_with(&r) && ws.path != r);
                if ours && ws.path.symlink_metadata().is_ok() {
                    workspace::remove(&ws)?;
                }
                workspace::recreate(&ws, &refname, &commit, &groups)
            },
            move |state, made| {
                state.in_flight.remove(&id);
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

/// What archiving would lose that a chronicle cannot hold: files git ignores, other git
/// repositories inside the workspace (a chronicle keeps only a link to them), and
/// commits no kept branch holds. Each is refused, naming it, unless forced.
fn losses(ws: &Workspace) -> Result<(), String> {
    let changes = workspace::changes(&ws.path).map_err(|e| e.to_string())?;
    // Every untracked path, so a repository deep in a new folder shows as its own entry.
    let all = crate::git::run(
        &ws.path,
        ["status", "--porcelain", "-z", "--untracked-files=all"],
    )
    .map_err(|e| e.to_string())?;
    let untracked: Vec<String> = (all.split('\0'))
        .filter_map(|entry| entry.strip_prefix("?? "))
        .map(str::to_string)
        .collect();
    let nested: Vec<&String> = (untracked.iter())
        .filter(|p| p.ends_with('/') && ws.path.join(p).join(".git").exists())
        .collect();
    let name = |paths: &[&String]| {
        let mut named: Vec<&str> = paths.iter().take(3).map(|p| p.as_str()).collect();
        if paths.len() > 3 {
            named.push("...");
        }
        named.join(", ")
    };
    if !nested.is_empty() {
        return Err(format!(
            "{} git repositories inside the workspace ({}) cannot be saved and would be deleted with it; pass --force to archive without them",
            nested.len(),
            name(&nested)
        ));
    }
    let ignored: Vec<&String> = changes.ignored.iter().collect();
    if !ignored.is_empty() {
        return Err(format!(
            "{} ignored file(s) ({}) cannot be saved and would be deleted with the workspace; pass --force to archive without them",
            ignored.len(),
            name(&ignored)
        ));
    }
    workspace::check_commits_kept(ws).map_err(|e| e.to_string())
}
