//! Checkpoints: after every finished turn the workspace's exact tree is kept as a commit
//! under `refs/flotilla/checkpoints/ID/TURN` in the source repository, without touching
//! its index, branch or files; `rollback` puts the files back as they were after a turn.

use super::{Outcome, Responder, State};
use crate::core::{Action, Checkpoint, SessionId, Strategy, check};
use crate::protocol::{Event, Reply};
use crate::workspace::{self, Workspace};

impl State {
    /// Takes the checkpoint of the turn that just ended, if the workspace is in git, then
    /// runs `then`. The session is still busy meanwhile, so the next turn cannot change
    /// the files under it: a prompt sent now is queued.
    pub(super) fn take_checkpoint(
        &mut self,
        id: SessionId,
        then: impl FnOnce(&mut State) + Send + 'static,
    ) {
        let Some(turn) = self.sessions.get(&id).map(|s| s.turns) else {
            return then(self);
        };
        let ws = match self.store.workspace_of(id) {
            Ok((_, ws, false)) if ws.is_git() => ws,
            _ => return then(self),
        };
        let previous = self
            .store
            .checkpoints(id)
            .ok()
            .and_then(|list| list.into_iter().last())
            .map(|c| c.commit);
        let after_message = self.store.last_message_id(id).ok().flatten();
        let refname = Checkpoint::refname(id, turn);
        let message = format!("flotilla checkpoint of {} after turn {turn}", id.short());
        self.blocking(
            move || -> Result<Checkpoint, String> {
                workspace::ensure_present(&ws).map_err(|e| e.to_string())?;
                let snap =
                    workspace::snapshot(&ws, &refname, &message).map_err(|e| e.to_string())?;
                let from = previous.unwrap_or_else(|| snap.parent.clone());
                let files = workspace::files_between(&ws.source_repo, &from, &snap.commit)
                    .map_err(|e| e.to_string())?;
                Ok(Checkpoint {
                    session: id,
                    turn,
                    commit: snap.commit,
                    created_at: State::now(),
                    files,
                    after_message,
                })
            },
            move |state, taken| {
                match taken {
                    Ok(checkpoint) => state.keep_checkpoint(checkpoint),
                    Err(e) => tracing::warn!("no checkpoint of {id} after turn {turn}: {e}"),
                }
                then(state);
            },
        );
    }

    fn keep_checkpoint(&mut self, checkpoint: Checkpoint) {
        let id = checkpoint.session;
        if !self.sessions.contains_key(&id) {
            // Removed while it was taken: its refs went with it, or go at the next removal.
            return;
        }
        self.baselines.remove(&id);
        if let Err(e) = self.store.insert_checkpoint(&checkpoint) {
            tracing::error!("recording the checkpoint of {id}: {e}");
            return;
        }
        self.broadcast(Event::Checkpoint {
            session: id,
            checkpoint,
        });
        self.check_conflicts_of(id);
    }

    pub(super) fn checkpoint_list(&self, id: SessionId) -> Result<Outcome, String> {
        let checkpoints = self.store.checkpoints(id).map_err(|e| e.to_string())?;
        Ok(Reply::Checkpoints { checkpoints }.into())
    }

    /// Puts the workspace's files back as they were after `turn`. Changes made since the
    /// newest checkpoint would be lost: without `force` they are listed and nothing is done.
    pub(super) fn rollback(&mut self, id: SessionId, turn: u32, force: bool, reply: Responder) {
        let found = self.rollback_target(id, turn);
        let (ws, target, baseline) = match found {
            Ok(found) => found,
            Err(e) => {
                let _ = reply.send(Err(e));
                return;
            }
        };
        let target_commit = target.commit.clone();
        self.git_busy.insert(id);
        self.blocking(
            move || -> Result<Vec<String>, String> {
                workspace::ensure_present(&ws).map_err(|e| e.to_string())?;
                let unsaved = workspace::changed_since(&ws, &baseline)
                    .map_err(|e| e.to_string())?
                    .into_iter()
                    .map(|(status, path)| format!("{status} {path}"))
                    .collect::<Vec<_>>();
                if !unsaved.is_empty() && !force {
                    return Ok(unsaved);
                }
                let refname = Checkpoint::refname(id, target.turn);
                if ws.strategy == Strategy::Clone {
                    // A clone made again since may lack the commit: it is fetched first.
                    workspace::fetch_snapshot(&ws, &refname)
                        .map_err(|e| format!("nothing was rolled back: {e}"))?;
                }
                workspace::roll_back(&ws.path, &target.commit)
                    .map_err(|e| format!("nothing was rolled back: {e}"))?;
                Ok(Vec::new())
            },
            move |state, done| {
                state.git_busy.remove(&id);
                let answer = done.and_then(|unsaved| {
                    let session = state.session(id)?.clone();
                    let done = force || unsaved.is_empty();
                    if done {
                        // What is on disk now is that checkpoint's tree.
                        state.baselines.insert(id, target_commit);
                    }
                    Ok(Reply::RolledBack {
                        session,
                        turn,
                        done,
                        unsaved,
                    }
                    .into())
                });
                let _ = reply.send(answer);
                state.check_conflicts_of(id);
                state.pump_queue(id);
            },
        );
    }

    /// The workspace, the checkpoint to go back to and the commit whose tree the files
    /// should still have (the newest checkpoint, or the one rolled back to since), if a
    /// rollback may be done now.
    fn rollback_target(
        &self,
        id: SessionId,
        turn: u32,
    ) -> Result<(Workspace, Checkpoint, String), String> {
        self.not_in_flight(id)?;
        self.not_git_busy(id)?;
        check(self.status_of(id)?, Action::Rollback).map_err(|e| e.to_string())?;
        let (_, ws, removed) = self.store.workspace_of(id).map_err(|e| e.to_string())?;
        if removed {
            return Err(format!(
                "the workspace {} was cleaned up: there is nothing to roll back",
                ws.path.display()
            ));
        }
        let all = self.store.checkpoints(id).map_err(|e| e.to_string())?;
        let Some(newest) = all.last().cloned() else {
            return Err(format!(
                "session {} has no checkpoints yet: one is taken after every finished turn",
                id.short()
            ));
        };
        let target = all.into_iter().find(|c| c.turn == turn).ok_or_else(|| {
            format!(
                "session {} has no checkpoint after turn {turn}: run `flotilla checkpoints {}` to see them",
                id.short(),
                id.short()
            )
        })?;
        let baseline = self.baselines.get(&id).cloned().unwrap_or(newest.commit);
        Ok((ws, target, baseline))
    }

    /// Refuses a request on a session whose rollback or landing is under way.
    pub(super) fn not_git_busy(&self, id: SessionId) -> Result<(), String> {
        match self.git_busy.contains(&id) {
            true => Err(format!(
                "session {} is busy with git (a rollback, commit, merge or push): try again when it is done",
                id.short()
            )),
            false => Ok(()),
        }
    }

    /// Whether a prompt sent now must wait in the queue rather than start a turn: git is
    /// changing the workspace.
    pub(super) fn holds(&self, id: SessionId) -> bool {
        self.git_busy.contains(&id)
    }
}

/// Deletes every checkpoint ref of a removed session (best effort: a ref left behind
/// costs a little disk, and git's own tools can delete it).
pub(super) fn forget_checkpoints(source_repo: &std::path::Path, id: SessionId) {
    let prefix = Checkpoint::prefix(id);
    let listed = crate::git::run(
        source_repo,
        ["for-each-ref", "--format=%(refname)", prefix.as_str()],
    );
    let Ok(listed) = listed else {
        return;
    };
    for refname in listed.lines().filter(|r| r.starts_with(&prefix)) {
        if let Err(e) = crate::git::run(source_repo, ["update-ref", "-d", refname]) {
            tracing::warn!("deleting {refname}: {e}");
        }
    }
}
