//! Handling clients' commands.

use super::land::Landing;
use super::{Outcome, Responder, State};
use crate::core::{PageQuery, Session, SessionId, Status};
use crate::diff::{self, DiffOptions};
use crate::protocol::{Command, DaemonStatus, HistoryQuery, PROTOCOL_VERSION, Reply};

impl State {
    pub(super) fn request(&mut self, cmd: Command, reply: Responder) {
        let answer = match cmd {
            Command::Hello { protocol } => Ok(hello(protocol)),
            Command::New(spec) => return self.new_session(spec, reply),
            Command::List => self.list(),
            Command::Get { id } => self.resolve(&id).map(|id| self.session_reply(id, None)),
            Command::Send { id, text } => self.resolve(&id).and_then(|id| self.send(id, text)),
            Command::Steer { id, text } => self.resolve(&id).and_then(|id| self.steer(id, text)),
            Command::Abort { id, keep_queue } => match self.resolve(&id) {
                Ok(id) => return self.abort(id, keep_queue, reply),
                Err(e) => Err(e),
            },
            Command::Resume { id } => match self.resolve(&id) {
                Ok(id) => return self.resume(id, reply),
                Err(e) => Err(e),
            },
            Command::Stop { id, cleanup, force } => match self.resolve(&id) {
                Ok(id) => return self.terminate(id, cleanup, force, false, reply),
                Err(e) => Err(e),
            },
            Command::Remove { id, cleanup, force } => match self.resolve(&id) {
                Ok(id) => return self.terminate(id, cleanup, force, true, reply),
                Err(e) => Err(e),
            },
            Command::Permission {
                id,
                request_id,
                reply: answer,
            } => self
                .resolve(&id)
                .and_then(|id| self.answer_permission(id, request_id, answer)),
            Command::Diff { id } => match self.resolve(&id) {
                Ok(id) => return self.diff(id, None, reply),
                Err(e) => Err(e),
            },
            Command::DiffFile { id, path } => match self.resolve(&id) {
                Ok(id) => return self.diff(id, Some(path), reply),
                Err(e) => Err(e),
            },
            Command::Transcript { id, page, follow } => match self.resolve(&id) {
                Ok(id) => return self.transcript(id, page, follow, reply),
                Err(e) => Err(e),
            },
            Command::History(q) => self.history(&q),
            Command::Subscribe => Ok(Outcome {
                reply: Reply::Subscribed {
                    sessions: self.sessions_by_age(),
                },
                events: Some(self.subscribe(None)),
            }),
            Command::DaemonStatus => Ok(Reply::DaemonStatus(self.status()).into()),
            Command::Agents => return self.agents(reply),
            Command::CompletePath { typed } => {
                let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
                return self.blocking(
                    move || crate::completion::complete_dir(&typed, home.as_deref()),
                    move |_, (completed, options)| {
                        let _ = reply.send(Ok(Reply::Completion { completed, options }.into()));
                    },
                );
            }
            Command::View { id, viewer } => match id.map(|id| self.resolve(&id)).transpose() {
                Ok(id) => {
                    self.view(viewer, id);
                    Ok(Reply::Ok.into())
                }
                Err(e) => Err(e),
            },
            Command::Archive { id, force } => match self.resolve(&id) {
                Ok(id) => return self.archive(id, force, reply),
                Err(e) => Err(e),
            },
            Command::Restore { id } => match self.resolve(&id) {
                Ok(id) => return self.restore(id, reply),
                Err(e) => Err(e),
            },
            Command::Chronicles { session } => self.chronicle_list(session),
            Command::Chronicle { id } => return self.chronicle_show(id, reply),
            Command::Reforge(r) => return self.reforge(r, reply),
            Command::Templates => Ok(Reply::Templates {
                templates: self.templates(),
            }
            .into()),
            Command::Details { id } => self.resolve(&id).and_then(|id| self.details(id)),
            Command::Comment {
                id,
                path,
                line,
                text,
            } => match self.resolve(&id) {
                Ok(id) => return self.add_comment(id, path, line, text, reply),
                Err(e) => Err(e),
            },
            Command::Comments { id, send } => {
                self.resolve(&id).and_then(|id| self.comments(id, send))
            }
            Command::Checkpoints { id } => {
                self.resolve(&id).and_then(|id| self.checkpoint_list(id))
            }
            Command::Rollback { id, turn, force } => match self.resolve(&id) {
                Ok(id) => return self.rollback(id, turn, force, reply),
                Err(e) => Err(e),
            },
            Command::Commit { id, message } => match self.resolve(&id) {
                Ok(id) => return self.land(id, Landing::Commit { message }, reply),
                Err(e) => Err(e),
            },
            Command::Merge { id, into, squash } => match self.resolve(&id) {
                Ok(id) => return self.land(id, Landing::Merge { into, squash }, reply),
                Err(e) => Err(e),
            },
            Command::Push { id, remote } => match self.resolve(&id) {
                Ok(id) => return self.land(id, Landing::Push { remote }, reply),
                Err(e) => Err(e),
            },
            Command::LandPlan { id, into } => match self.resolve(&id) {
                Ok(id) => return self.land_plan(id, into, reply),
                Err(e) => Err(e),
            },
            Command::Conflicts => Ok(self.conflict_pairs().into()),
            Command::Shutdown => {
                self.shutting_down = Some(reply);
                return;
            }
        };
        let _ = reply.send(answer);
    }

    /// Finds the session a (possibly shortened) id names.
    pub(super) fn resolve(&self, prefix: &str) -> Result<SessionId, String> {
        let compact = prefix.trim().to_ascii_lowercase().replace('-', "");
        // An empty prefix would match every session: `rm -` must never pick one.
        if compact.is_empty() {
            return Err("no session id given: run `flotilla ls` to see the ids".into());
        }
        if !compact.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(format!(
                "'{prefix}' is not a session id: ids are hexadecimal; run `flotilla ls` to see them"
            ));
        }
        let matches: Vec<SessionId> = self
            .sessions
            .keys()
            .filter(|id| id.0.simple().to_string().starts_with(&compact))
            .copied()
            .collect();
        match matches.as_slice() {
            [one] => Ok(*one),
            [] => Err(format!(
                "no session matches '{prefix}': run `flotilla ls` to see the ids"
            )),
            many => Err(format!(
                "'{prefix}' matches {} sessions: type more of the id",
                many.len()
            )),
        }
    }

    pub(super) fn session_reply(&self, id: SessionId, note: Option<String>) -> Outcome {
        match self.sessions.get(&id) {
            Some(session) => Reply::Session {
                session: Session {
                    agent_running: self.live.contains_key(&id),
                    ..session.clone()
                },
                note,
            }
            .into(),
            None => Reply::Removed { id, note }.into(),
        }
    }

    fn list(&self) -> Result<Outcome, String> {
        Ok(Reply::Sessions {
            sessions: self.sessions_by_age(),
        }
        .into())
    }

    fn sessions_by_age(&self) -> Vec<Session> {
        let mut sessions: Vec<Session> = (self.sessions.values())
            .map(|s| Session {
                agent_running: self.live.contains_key(&s.id),
                ..s.clone()
            })
            .collect();
        sessions.sort_by_key(|s| (s.created_at, s.id));
        sessions
    }

    /// The list of changed files, or one file's hunks (`path`), worked out off the
    /// engine task.
    fn diff(&mut self, id: SessionId, path: Option<String>, reply: Responder) {
        let found = self.store.workspace_of(id).map_err(|e| e.to_string());
        let (ws, removed) = match found {
            Ok((_, ws, removed)) => (ws, removed),
            Err(e) => {
                let _ = reply.send(Err(e));
                return;
            }
        };
        if removed {
            let _ = reply.send(Err(format!(
                "the workspace {} was cleaned up: there is nothing left to diff",
                ws.path.display()
            )));
            return;
        }
        if !ws.is_git() {
            let _ = reply.send(Err(format!(
                "diffs are unavailable: {} is not a git repository, so there is no base to compare with",
                ws.path.display()
            )));
            return;
        }
        // A worktree needs its source repository: say so when that is what is gone.
        let source = ws.source_repo.clone();
        let explain = move |e: diff::DiffError| match e {
            diff::DiffError::NotAWorkTree(path) if !source.join(".git").exists() => format!(
                "the source repository {} is gone, and the workspace {} cannot be read without it; restore the repository, or remove the session",
                source.display(),
                path.display()
            ),
            e => e.to_string(),
        };
        let Some(path) = path else {
            let opts = DiffOptions {
                with_text: false,
                ..DiffOptions::default()
            };
            return self.blocking(
                move || diff::diff(&ws.path, &ws.base_commit, &opts),
                move |state, files| {
                    let answer = files.map_err(explain).and_then(|files| {
                        let session = state.session(id)?.clone();
                        Ok(Reply::Diff { session, files }.into())
                    });
                    let _ = reply.send(answer);
                },
            );
        };
        self.blocking(
            move || diff::diff_file(&ws.path, &ws.base_commit, &path, &DiffOptions::default()),
            move |_, file| {
                let answer = file
                    .map_err(explain)
                    .map(|file| Reply::DiffFile { file }.into());
                let _ = reply.send(answer);
            },
        );
    }

    /// A page of the transcript, read off the engine task: a page is bounded, but the
    /// engine must not wait on the disk while agents stream.
    fn transcript(&mut self, id: SessionId, page: PageQuery, follow: bool, reply: Responder) {
        // Written first, so the page holds every delta sent before the subscription.
        self.flush();
        let session = match self.session(id) {
            Ok(s) => s.clone(),
            Err(e) => {
                let _ = reply.send(Err(e));
                return;
            }
        };
        let events = follow.then(|| self.subscribe(Some(id)));
        let readers = self.readers.clone();
        self.blocking(
            move || readers.read(|store| store.page(id, &page)),
            move |_, read| {
                let answer = read.map_err(|e| e.to_string()).map(|page| Outcome {
                    reply: Reply::Transcript { session, page },
                    events,
                });
                let _ = reply.send(answer);
            },
        );
    }

    /// What Info shows beyond the session itself.
    fn details(&mut self, id: SessionId) -> Result<Outcome, String> {
        let session = self.session(id)?.clone();
        let children = (self.sessions.values())
            .filter(|s| s.parent == Some(id))
            .cloned()
            .collect();
        let err = |e: crate::store::StoreError| e.to_string();
        let callbacks = self.store.callbacks(id).map_err(err)?;
        let chronicles = self.store.chronicles(Some(id)).map_err(err)?;
        let first = match chronicles.last() {
            Some(c) => c.parent_chronicle_id.clone(),
            None => session.reforged_from.clone(),
        };
        let chain = match first.map(|c| self.store.find_chronicle(&c)) {
            Some(Ok(c)) => self.store.chronicle_chain(&c).map_err(err)?,
            _ => Vec::new(),
        };
        Ok(Reply::Details {
            session,
            children,
            callbacks,
            chronicles,
            chain,
        }
        .into())
    }

    fn history(&mut self, q: &HistoryQuery) -> Result<Outcome, String> {
        self.flush();
        let (sessions, total) = self.store.history(q).map_err(|e| e.to_string())?;
        Ok(Reply::History { sessions, total }.into())
    }

    fn status(&self) -> DaemonStatus {
        DaemonStatus {
            pid: std::process::id(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            protocol: PROTOCOL_VERSION,
            socket: self.paths.socket.clone(),
            database: self.paths.database.clone(),
            started_at: self.started_at,
            sessions: self.sessions.len(),
            live_sessions: self.live.len(),
            agents: self.agent_names(),
            config_error: self.config_error.clone(),
        }
    }

    pub(super) fn session(&self, id: SessionId) -> Result<&Session, String> {
        self.sessions
            .get(&id)
            .ok_or_else(|| format!("session {} was removed", id.short()))
    }

    pub(super) fn status_of(&self, id: SessionId) -> Result<Status, String> {
        self.session(id).map(|s| s.status)
    }
}

fn hello(protocol: u32) -> Outcome {
    // The daemon answers with its own version; the client decides whether it can talk.
    let _ = protocol;
    Reply::Hello {
        protocol: PROTOCOL_VERSION,
        version: env!("CARGO_PKG_VERSION").to_string(),
        pid: std::process::id(),
    }
    .into()
}
