//! Creating a session: plan its workspace, record the plan, build it, register the session.
//! A crash at any point leaves a `creating` record that the next start undoes.

use super::plans::Plan;
use super::{Outcome, Responder, State};
use crate::core::{SessionId, Status, Strategy};
use crate::protocol::NewSession;
use crate::store::{NewSessionRow, StoreError, WorkspaceState};
use crate::workspace::{self, CreateRequest, Workspace};

const TITLE_FROM_PROMPT: usize = 60;

impl State {
    pub(super) fn new_session(&mut self, spec: NewSession, reply: Responder) {
        match self.plan_session(spec) {
            Ok(plan) => self.create(plan, reply),
            Err(e) => {
                let _ = reply.send(Err(e));
            }
        }
    }

    /// Plans the workspace of a checked request off the task, then builds it.
    pub(super) fn create(&mut self, plan: Plan, reply: Responder) {
        let spec = &plan.spec;
        let agent = plan.agent.clone();
        if !self.backends.contains_key(&agent) {
            let mut known: Vec<&str> = self.backends.keys().map(String::as_str).collect();
            known.sort_unstable();
            let _ = reply.send(Err(format!(
                "unknown agent '{agent}': configured agents are {}; define it under [agents.{agent}] in config.toml",
                known.join(", ")
            )));
            return;
        }
        if let Some(Err(e)) = self.backends.get(&agent).map(|b| b.check()) {
            let _ = reply.send(Err(e.to_string()));
            return;
        }
        if let Some(prompt) = &spec.prompt
            && let Err(e) = check_prompt(prompt)
        {
            let _ = reply.send(Err(e));
            return;
        }
        if !spec.dir.is_absolute() {
            let _ = reply.send(Err(format!(
                "directory {} is not absolute: pass an absolute path",
                spec.dir.display()
            )));
            return;
        }
        let id = match spec.id {
            Some(id) if self.sessions.contains_key(&id) => {
                let _ = reply.send(Err(format!("a session {id} already exists")));
                return;
            }
            Some(id) => id,
            None => SessionId::new(),
        };
        let title = spec
            .title
            .clone()
            .filter(|t| !t.trim().is_empty())
            .or_else(|| spec.prompt.as_deref().and_then(title_from_prompt))
            .unwrap_or_else(|| format!("session {}", id.short()));
        let strategy = spec.strategy.unwrap_or(Strategy::Worktree);
        let root = self.paths.workspaces.clone();
        let plan_title = title.clone();
        let branch = (spec.branch.clone())
            .or_else(|| self.template_branch(spec.template.as_deref(), &title));
        let dir = spec.dir.clone();
        self.blocking(
            move || {
                workspace::plan(&CreateRequest {
                    dir: &dir,
                    strategy,
                    title: &plan_title,
                    branch: branch.as_deref(),
                    root: &root,
                    id_hint: &id.short(),
                })
            },
            move |state, planned| match planned {
                Ok(ws) => state.build(id, title, ws, plan, reply),
                Err(e) => {
                    let _ = reply.send(Err(e.to_string()));
                }
            },
        );
    }

    /// Records the planned workspace, builds it, then registers the session.
    fn build(
        &mut self,
        id: SessionId,
        title: String,
        mut ws: Workspace,
        plan: Plan,
        reply: Responder,
    ) {
        let now = Self::now();
        if let Some(from) = &plan.from {
            // A reforged workspace starts where its chronicle's did: on the commit the
            // chronicle's tree was taken on, and diffs go back to the first base.
            if ws.strategy == Strategy::Existing {
                let _ = reply.send(Err(
                    "a reforged session needs a workspace of its own: use --strategy worktree or clone".into(),
                ));
                return;
            }
            ws.base_commit = from.parent_commit.clone();
        }
        // What is recorded: a reforged session's diffs go back to the first base.
        let mut recorded_ws = ws.clone();
        if let Some(from) = &plan.from {
            recorded_ws.base_commit = from.base_commit.clone();
        }
        let recorded = match ws.strategy {
            Strategy::Existing => self
                .store
                .existing_workspace_at(&ws.path)
                .and_then(|found| match found {
                    Some(wid) => Ok(wid),
                    None => self.store.insert_workspace(&ws, now),
                }),
            _ => self
                .store
                .insert_workspace_as(&recorded_ws, now, WorkspaceState::Creating),
        };
        let workspace_id = match recorded {
            Ok(wid) => wid,
            Err(e) => {
                let _ = reply.send(Err(e.to_string()));
                return;
            }
        };
        let groups = self.groups.clone();
        let made_ws = ws.clone();
        let start = plan
            .from
            .as_ref()
            .map(|f| (f.refname.clone(), f.commit.clone()));
        self.blocking(
            move || {
                workspace::make(&made_ws, &groups)?;
                match start {
                    Some((refname, commit)) => {
                        let started = workspace::start_from(&made_ws, &refname, &commit);
                        if started.is_err() {
                            let _ = workspace::undo_create(&made_ws);
                        }
                        started
                    }
                    None => Ok(()),
                }
            },
            move |state, made| {
                let answer = match made {
                    Ok(()) => {
                        let registered = state
                            .store
                            .set_workspace_state(workspace_id, WorkspaceState::Ready)
                            .map_err(|e| e.to_string())
                            .and_then(|()| state.register(id, &title, workspace_id, plan));
                        if registered.is_err() && ws.strategy != Strategy::Existing {
                            // No session came of it: take the workspace back, off this task.
                            let _ = state
                                .store
                                .set_workspace_state(workspace_id, WorkspaceState::Creating);
                            state.blocking(
                                move || workspace::undo_create(&ws),
                                move |state, undone| {
                                    if undone.is_ok() {
                                        let _ = state.store.delete_workspace(workspace_id);
                                    }
                                },
                            );
                        }
                        registered
                    }
                    Err(e) => {
                        // `make` took back what it half made; the record goes with it.
                        if ws.strategy != Strategy::Existing
                            && let Err(e) = state.store.delete_workspace(workspace_id)
                        {
                            tracing::error!("forgetting workspace {workspace_id}: {e}");
                        }
                        Err(e.to_string())
                    }
                };
                let _ = reply.send(answer);
            },
        );
    }

    fn register(
        &mut self,
        id: SessionId,
        title: &str,
        workspace_id: i64,
        plan: Plan,
    ) -> Result<Outcome, String> {
        let store_err = |e: StoreError| e.to_string();
        let spec = plan.spec;
        self.store
            .insert_session(&NewSessionRow {
                id,
                title,
                agent: &plan.agent,
                model: spec.model.as_deref(),
                workspace_id,
                status: Status::Starting,
                now: Self::now(),
                parent: plan.parent,
                notify: plan.notify,
                limits: plan.limits,
                template: spec.template.as_deref(),
                reforged_from: plan.from.as_ref().map(|f| f.chronicle.as_str()),
            })
            .map_err(store_err)?;
        let session = self
            .store
            .session(id)
            .map_err(store_err)?
            .ok_or("the new session vanished from the database")?;
        self.sessions.insert(id, session);
        self.arm_limits(id);
        let mut notes = Vec::new();
        if let Some(setup) = plan.setup {
            // The agent starts, and the first prompt goes, once the setup has passed.
            self.run_setup(id, setup, spec.prompt);
            return Ok(self.session_reply(id, Some("running the template's setup".into())));
        }
        self.open_driver(id);
        if session_is_plain(&self.sessions, id) {
            let dir = self.sessions[&id].workspace.display().to_string();
            notes.push(format!(
                "{dir} is not a git repository: the agent works in it as it is, and diffs are unavailable"
            ));
        }
        if let Some(prompt) = spec.prompt {
            notes.extend(self.send(id, prompt).err());
        }
        let note = (!notes.is_empty()).then(|| notes.join("; "));
        Ok(self.session_reply(id, note))
    }

    /// After a crash: undoes the workspaces that were being made (their session was never
    /// registered) and finishes those that were being removed. Only paths under the
    /// workspace root, which flotilla alone writes to, are ever deleted this way.
    pub(super) fn finish_workspaces(&mut self) {
        let unfinished = match self.store.unfinished_workspaces() {
            Ok(list) => list,
            Err(e) => {
                tracing::error!("reading unfinished workspaces: {e}");
                return;
            }
        };
        let root = (self.paths.workspaces.canonicalize())
            .unwrap_or_else(|_| self.paths.workspaces.clone());
        for (wid, ws, state) in unfinished {
            if !ws.path.starts_with(&root) || ws.path == root {
                tracing::warn!(
                    "workspace {} is outside {}: left as it is",
                    ws.path.display(),
                    root.display()
                );
                continue;
            }
            if state == WorkspaceState::Removing
                && self.store.sessions_inside(&ws.path, wid).unwrap_or(1) > 0
            {
                tracing::warn!(
                    "not finishing the removal of {}: another session works in it",
                    ws.path.display()
                );
                continue;
            }
            let (done, recorded) = match state {
                WorkspaceState::Creating => (
                    workspace::undo_create(&ws),
                    self.store.delete_workspace(wid),
                ),
                _ => (
                    workspace::remove(&ws).map(drop),
                    self.store.mark_workspace_removed(wid, Self::now()),
                ),
            };
            match (done, recorded) {
                (Ok(()), Ok(())) => tracing::info!(
                    "finished what a crash left of workspace {}",
                    ws.path.display()
                ),
                (Err(e), _) => tracing::error!("tidying workspace {}: {e}", ws.path.display()),
                (_, Err(e)) => tracing::error!("recording workspace {}: {e}", ws.path.display()),
            }
        }
    }
}

/// A prompt an agent can be given: not empty, and no NUL byte (no program can be handed
/// one in an argument).
pub(super) fn check_prompt(text: &str) -> Result<(), String> {
    if text.trim().is_empty() {
        return Err("the prompt is empty: type something to send".into());
    }
    if text.contains('\0') {
        return Err("the prompt contains a NUL byte: remove it and send again".into());
    }
    Ok(())
}

/// A title from the prompt's first line, shortened at a word boundary.
fn title_from_prompt(prompt: &str) -> Option<String> {
    let line = prompt.lines().map(str::trim).find(|l| !l.is_empty())?;
    if line.chars().count() <= TITLE_FROM_PROMPT {
        return Some(line.to_string());
    }
    let cut: String = line.chars().take(TITLE_FROM_PROMPT).collect();
    let at_word = cut
        .rfind(' ')
        .filter(|&i| i > TITLE_FROM_PROMPT / 2)
        .unwrap_or(cut.len());
    Some(format!("{}…", cut[..at_word].trim_end()))
}

/// A session in a plain directory, not a git repository.
fn session_is_plain(
    sessions: &std::collections::BTreeMap<SessionId, crate::core::Session>,
    id: SessionId,
) -> bool {
    sessions.get(&id).is_some_and(|s| s.base_commit.is_empty())
}

#[cfg(test)]
mod tests {
    use super::title_from_prompt;

    #[test]
    fn titles_come_from_the_first_line_of_the_prompt() {
        assert_eq!(
            title_from_prompt("\n  fix login\nmore").as_deref(),
            Some("fix login")
        );
        assert_eq!(title_from_prompt("   "), None);
        let long = "word ".repeat(30);
        let title = title_from_prompt(&long).expect("a title");
        assert!(
            title.ends_with('…') && title.chars().count() <= 61,
            "{title}"
        );
    }
}
