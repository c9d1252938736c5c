//! Landing a session's work: commit everything in its workspace on its branch, merge the
//! branch into the source repository's branch, push it. Each refuses while a turn runs,
//! and holds the session's queue while git works.

use super::{Outcome, Responder, State};
use crate::core::review::commit_message;
use crate::core::{Action, Session, SessionId, Strategy, check};
use crate::protocol::{LandPlan, Reply};
use crate::workspace::{self, Workspace};

/// What the user asked to land.
pub(super) enum Landing {
    Commit { message: Option<String> },
    Merge { into: Option<String>, squash: bool },
    Push { remote: Option<String> },
}

impl State {
    pub(super) fn land(&mut self, id: SessionId, landing: Landing, reply: Responder) {
        let (session, ws) = match self.landing_workspace(id) {
            Ok(found) => found,
            Err(e) => {
                let _ = reply.send(Err(e));
                return;
            }
        };
        self.git_busy.insert(id);
        self.blocking(
            move || land(&session, &ws, landing),
            move |state, done| {
                state.git_busy.remove(&id);
                let answer = done.and_then(|(summary, commit)| {
                    let session = state.session(id)?.clone();
                    Ok(Reply::Landed {
                        session,
                        summary,
                        commit,
                    }
                    .into())
                });
                let _ = reply.send(answer);
                // The base branch or the session's branch may have moved.
                state.check_conflicts_of(id);
                state.pump_queue(id);
            },
        );
    }

    /// What commit, merge and push would do now.
    pub(super) fn land_plan(&mut self, id: SessionId, into: Option<String>, reply: Responder) {
        let found = self.session(id).cloned().and_then(|s| {
            let (_, ws, removed) = self.store.workspace_of(id).map_err(|e| e.to_string())?;
            Ok((s, ws, removed))
        });
        let (session, ws, removed) = match found {
            Ok(found) => found,
            Err(e) => {
                let _ = reply.send(Err(e));
                return;
            }
        };
        let busy = self
            .not_in_flight(id)
            .and_then(|()| self.not_git_busy(id))
            .and_then(|()| check(session.status, Action::Land).map_err(|e| e.to_string()))
            .err()
            .or_else(|| removed.then(|| gone(&ws)))
            .or_else(|| (!ws.is_git()).then(|| not_git(&ws)));
        self.blocking(
            move || plan(&session, &ws, into.as_deref(), busy),
            move |_, planned| {
                let _ = reply.send(planned.map(|p| Outcome::from(Reply::LandPlan(p))));
            },
        );
    }

    fn landing_workspace(&self, id: SessionId) -> Result<(Session, Workspace), String> {
        self.not_in_flight(id)?;
        self.not_git_busy(id)?;
        let session = self.session(id)?.clone();
        check(session.status, Action::Land).map_err(|e| e.to_string())?;
        let (_, ws, removed) = self.store.workspace_of(id).map_err(|e| e.to_string())?;
        if removed {
            return Err(gone(&ws));
        }
        if !ws.is_git() {
            return Err(not_git(&ws));
        }
        Ok((session, ws))
    }
}

fn gone(ws: &Workspace) -> String {
    format!(
        "the workspace {} was cleaned up: there is nothing left to land (its branch is kept in the source repository)",
        ws.path.display()
    )
}

fn not_git(ws: &Workspace) -> String {
    format!(
        "{} is not in git: there is no branch to commit, merge or push",
        ws.path.display()
    )
}

/// Does the landing, off the engine task: a one-line summary and the commit, if any.
fn land(
    session: &Session,
    ws: &Workspace,
    landing: Landing,
) -> Result<(String, Option<String>), String> {
    workspace::ensure_present(ws).map_err(|e| e.to_string())?;
    let branch = ws.branch.clone().unwrap_or_else(|| "HEAD".into());
    match landing {
        Landing::Commit { message } => {
            let message = match message {
                Some(m) if !m.trim().is_empty() => m,
                Some(_) => {
                    return Err("the commit message is empty: give one, or leave out -m".into());
                }
                None => {
                    let files: Vec<String> = workspace::uncommitted(ws)
                        .map_err(|e| e.to_string())?
                        .into_iter()
                        .map(|(_, path)| path)
                        .collect();
                    commit_message(&session.title, &files)
                }
            };
            match workspace::commit(ws, &message).map_err(|e| e.to_string())? {
                Some(done) => Ok((
                    format!(
                        "committed {} file(s) on {branch} as {}",
                        done.files.len(),
                        short(&done.commit)
                    ),
                    Some(done.commit),
                )),
                None => Ok((
                    format!("nothing to commit: {branch} already holds the workspace's files"),
                    None,
                )),
            }
        }
        Landing::Merge { into, squash } => {
            let message = merge_message(session, &branch, squash);
            let done = workspace::merge(ws, into.as_deref(), squash, &message)
                .map_err(|e| e.to_string())?;
            let how = match (done.fast_forward, done.squash) {
                (true, _) => "fast-forward",
                (false, true) => "squashed into one commit",
                (false, false) => "merge commit",
            };
            Ok((
                format!(
                    "merged {branch} into {} ({how}) at {}",
                    done.into,
                    short(&done.commit)
                ),
                Some(done.commit),
            ))
        }
        Landing::Push { remote } => {
            let remote = remote.unwrap_or_else(|| "origin".into());
            let done = workspace::push(ws, &remote).map_err(|e| e.to_string())?;
            Ok((format!("pushed {} to {}", done.branch, done.remote), None))
        }
    }
}

fn merge_message(session: &Session, branch: &str, squash: bool) -> String {
    let title = session.title.lines().next().unwrap_or("").trim();
    match squash {
        true => format!(
            "{title}\n\nSquashed from branch {branch} (flotilla session {}).\n",
            session.id.short()
        ),
        false => format!(
            "Merge branch '{branch}': {title}\n\nflotilla session {}.\n",
            session.id.short()
        ),
    }
}

fn short(commit: &str) -> &str {
    &commit[..commit.len().min(8)]
}

/// What landing would do, off the engine task.
fn plan(
    session: &Session,
    ws: &Workspace,
    into: Option<&str>,
    busy: Option<String>,
) -> Result<LandPlan, String> {
    let mut plan = LandPlan {
        branch: ws.branch.clone(),
        busy,
        ..LandPlan::default()
    };
    if plan.busy.is_some() {
        return Ok(plan);
    }
    if let Err(e) = workspace::ensure_present(ws) {
        plan.busy = Some(e.to_string());
        return Ok(plan);
    }
    let files = workspace::uncommitted(ws).map_err(|e| e.to_string())?;
    plan.message = commit_message(
        &session.title,
        &files.iter().map(|(_, p)| p.clone()).collect::<Vec<_>>(),
    );
    plan.uncommitted = files.into_iter().map(|(s, p)| format!("{s} {p}")).collect();
    plan.remotes = crate::git::run(&ws.source_repo, ["remote"])
        .map(|out| out.lines().map(str::to_string).collect())
        .unwrap_or_default();
    if ws.strategy == Strategy::Existing {
        plan.merge_blocked = Some(
            "an existing-directory session works in the repository itself: commit and push instead"
                .into(),
        );
        return Ok(plan);
    }
    match workspace::merge_plan(ws, into) {
        Ok(m) => {
            plan.into = Some(m.into);
            plan.commits = m.commits;
            plan.fast_forward = m.fast_forward;
            plan.up_to_date = m.up_to_date;
            plan.conflicts = m.conflicts;
            // Uncommitted work is listed on its own: a commit first clears it.
            plan.merge_blocked = m.blocked.filter(|_| !m.blocked_by_uncommitted);
        }
        Err(e) => plan.merge_blocked = Some(e.to_string()),
    }
    Ok(plan)
}
