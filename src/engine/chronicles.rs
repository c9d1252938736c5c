//! Chronicles (M15): when a session stops, completes or is archived, its transcript, its
//! final diff and the exact tree of its workspace are kept; `reforge` starts a new
//! session from one.

use super::plans::{Plan, Start};
use super::{Outcome, Responder, State};
use crate::core::{Chronicle, ChronicleFile, SessionId, chronicle};
use crate::diff::{self, DiffOptions};
use crate::protocol::{NewSession, Reforge, Reply};
use crate::workspace;

/// The most of a final diff a chronicle keeps as text.
const MAX_DIFF: usize = 8 * 1024 * 1024;
/// How much of the start and of the end of each streamed part a chronicle reads.
const PART_ENDS: usize = 16 * 1024;
/// The most of the earlier transcript a reforge's first prompt quotes.
const MAX_CONTEXT: usize = 24 * 1024;

/// What is read and written off the engine task to keep a chronicle.
struct Kept {
    tree: Option<workspace::Snapshot>,
    files: Vec<ChronicleFile>,
    transcript: String,
    diff: String,
}

impl State {
    /// Keeps a chronicle of the session as it is now, then runs `then` with it. The
    /// workspace's tree is saved under `refs/flotilla/chronicles/ID` in the source
    /// repository, so it outlives the workspace.
    pub(super) fn keep_chronicle(
        &mut self,
        id: SessionId,
        reason: String,
        then: impl FnOnce(&mut State, Result<Chronicle, String>) + Send + 'static,
    ) {
        self.flush();
        let found = self.session(id).cloned().and_then(|s| {
            let (_, ws, removed) = self.store.workspace_of(id).map_err(|e| e.to_string())?;
            Ok((s, ws, removed))
        });
        let (session, ws, removed) = match found {
            Ok(found) => found,
            Err(e) => return then(self, Err(e)),
        };
        let parent = self
            .store
            .chronicles(Some(id))
            .ok()
            .and_then(|list| list.into_iter().next())
            .map(|c| c.id)
            .or_else(|| session.reforged_from.clone());
        let cid = uuid::Uuid::new_v4().simple().to_string();
        let refname = format!("refs/flotilla/chronicles/{cid}");
        let readers = self.readers.clone();
        let ref_for_work = refname.clone();
        let title = format!("flotilla chronicle of {}: {}", id.short(), session.title);
        self.blocking(
            move || -> Result<Kept, String> {
                let messages = readers
                    .read(|store| store.transcript_ends(id, PART_ENDS))
                    .map_err(|e| e.to_string())?;
                let transcript = chronicle::transcript_text(&messages, chronicle::MAX_TRANSCRIPT);
                if removed || !ws.is_git() || workspace::ensure_present(&ws).is_err() {
                    // Nothing left to save (cleaned up earlier, or not in git): the
                    // chronicle keeps the conversation.
                    return Ok(Kept {
                        tree: None,
                        files: Vec::new(),
                        transcript,
                        diff: String::new(),
                    });
                }
                let tree = workspace::snapshot(&ws, &ref_for_work, &title)
                    .map_err(|e| format!("saving the workspace's tree: {e}"))?;
                let files = changed_files(&ws)?;
                let diff = diff_text(&ws.source_repo, &ws.base_commit, &tree.commit);
                Ok(Kept {
                    tree: Some(tree),
                    files,
                    transcript,
                    diff,
                })
            },
            move |state, kept| {
                let kept = match kept {
                    Ok(kept) => kept,
                    Err(e) => return then(state, Err(e)),
                };
                let c = Chronicle {
                    id: cid,
                    session_id: id,
                    title: session.title.clone(),
                    agent: session.agent.clone(),
                    model: session.model.clone(),
                    reason,
                    source_repo: session.source_repo.clone(),
                    strategy: session.strategy,
                    branch: session.branch.clone(),
                    base_commit: session.base_commit.clone(),
                    tree_commit: kept.tree.as_ref().map(|t| t.commit.clone()),
                    refname: kept.tree.as_ref().map(|_| refname),
                    parent_chronicle_id: parent,
                    created_at: State::now(),
                    message_count: session.message_count,
                    files: kept.files,
                };
                let stored = state
                    .store
                    .insert_chronicle(&c, &kept.transcript, &kept.diff)
                    .map_err(|e| e.to_string());
                // Clients showing the session's chronicles look again.
                state.publish(id);
                then(state, stored.map(|()| c))
            },
        );
    }

    pub(super) fn chronicle_list(&self, session: Option<String>) -> Result<Outcome, String> {
        let session = session.map(|s| self.resolve(&s)).transpose()?;
        let chronicles = self.store.chronicles(session).map_err(|e| e.to_string())?;
        Ok(Reply::Chronicles { chronicles }.into())
    }

    /// One chronicle with what it kept, read off the engine task: it may be megabytes.
    pub(super) fn chronicle_show(&self, id: String, reply: Responder) {
        let readers = self.readers.clone();
        self.blocking(
            move || {
                readers.read(|store| {
                    let chronicle = store.find_chronicle(&id)?;
                    let (transcript, diff) = store.chronicle_text(&chronicle.id)?;
                    let mut chain = store.chronicle_chain(&chronicle)?;
                    chain.remove(0);
                    Ok(Reply::Chronicle {
                        chronicle,
                        chain,
                        transcript,
                        diff,
                    })
                })
            },
            move |_, read| {
                let _ = reply.send(read.map(Outcome::from).map_err(|e| e.to_string()));
            },
        );
    }

    /// A new session from a chronicle: its workspace starts from the chronicle's tree,
    /// and its first prompt gives the agent the earlier context. The chronicle and its
    /// tree are looked up off the engine task.
    pub(super) fn reforge(&mut self, r: Reforge, reply: Responder) {
        let readers = self.readers.clone();
        let wanted = r.chronicle.clone();
        self.blocking(
            move || found_tree(&readers, &wanted),
            move |state, found| {
                let planned = found.and_then(|found| state.reforge_plan(r, found));
                match planned {
                    Ok(plan) => state.create(plan, reply),
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            },
        );
    }

    fn reforge_plan(&self, r: Reforge, found: Found) -> Result<Plan, String> {
        let Found {
            chronicle: c,
            transcript,
            refname,
            commit,
            parent_commit,
        } = found;
        let prompt = reforge_prompt(&c, &transcript, r.prompt.as_deref());
        let strategy = match c.strategy {
            crate::core::Strategy::Existing => crate::core::Strategy::Worktree,
            other => other,
        };
        let spec = NewSession {
            dir: c.source_repo.clone(),
            strategy: Some(strategy),
            title: Some(r.title.unwrap_or_else(|| format!("{} (reforged)", c.title))),
            branch: None,
            agent: Some(r.agent.unwrap_or_else(|| c.agent.clone())),
            model: r.model.or_else(|| c.model.clone()),
            prompt: Some(prompt),
            ..NewSession::default()
        };
        let mut plan = self.plan_session(spec)?;
        plan.from = Some(Start {
            chronicle: c.id.clone(),
            refname,
            commit,
            parent_commit,
            base_commit: c.base_commit.clone(),
        });
        Ok(plan)
    }
}

/// A chronicle to reforge, with what its new session starts from.
struct Found {
    chronicle: Chronicle,
    transcript: String,
    refname: String,
    commit: String,
    parent_commit: String,
}

fn found_tree(readers: &crate::store::Readers, id: &str) -> Result<Found, String> {
    let (c, transcript) = readers
        .read(|store| {
            let c = store.find_chronicle(id)?;
            let (transcript, _) = store.chronicle_text(&c.id)?;
            Ok((c, transcript))
        })
        .map_err(|e| e.to_string())?;
    let (Some(commit), Some(refname)) = (c.tree_commit.clone(), c.refname.clone()) else {
        return Err(format!(
            "chronicle {} kept no workspace tree (its directory is not in git, or was cleaned up before): nothing to reforge from",
            c.short()
        ));
    };
    if !c.source_repo.is_dir() {
        return Err(format!(
            "the source repository {} is gone: restore it to reforge chronicle {}",
            c.source_repo.display(),
            c.short()
        ));
    }
    let parent_commit = crate::git::run(
        &c.source_repo,
        ["rev-parse", "--verify", "--quiet", &format!("{commit}^")],
    )
    .map_err(|e| {
        format!(
            "chronicle {}'s tree is not in {}: {e}",
            c.short(),
            c.source_repo.display()
        )
    })?;
    Ok(Found {
        chronicle: c,
        transcript,
        refname,
        commit,
        parent_commit,
    })
}

/// The first prompt of a reforged session: what was done before, and what to do now.
fn reforge_prompt(c: &Chronicle, transcript: &str, ask: Option<&str>) -> String {
    let files: Vec<String> = (c.files.iter())
        .map(|f| format!("- {} {:?} +{} -{}", f.path, f.status, f.added, f.removed))
        .collect();
    let earlier = chronicle::shorten_middle(transcript.to_string(), MAX_CONTEXT);
    let files = match files.is_empty() {
        true => "(none)".to_string(),
        false => files.join("\n"),
    };
    let ask = ask.unwrap_or("Carry on from where the earlier session left off.");
    format!(
        "This session continues earlier work (chronicle {}, session {} \"{}\", {}). The workspace holds the files as that session left them.\n\nFiles it changed:\n{files}\n\nIts conversation:\n{earlier}\n\n{ask}",
        c.short(),
        c.session_id.short(),
        c.title,
        c.reason
    )
}

/// The files the workspace changed against its base, with their counts.
pub(super) fn changed_files(ws: &workspace::Workspace) -> Result<Vec<ChronicleFile>, String> {
    let opts = DiffOptions {
        with_text: false,
        ..DiffOptions::default()
    };
    let files = diff::diff(&ws.path, &ws.base_commit, &opts).map_err(|e| e.to_string())?;
    Ok(files
        .into_iter()
        .map(|f| ChronicleFile {
            path: f.path,
            status: f.status,
            added: f.additions as u32,
            removed: f.deletions as u32,
        })
        .collect())
}

/// The final diff as `git diff` prints it, read up to [`MAX_DIFF`] bytes: a huge file the
/// agent left is never held whole.
fn diff_text(repo: &std::path::Path, base: &str, tree: &str) -> String {
    use std::io::Read;
    let args = ["diff", "--no-color", "--no-ext-diff", base, tree];
    let spawned = crate::git::command(repo, args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn();
    let Ok(mut child) = spawned else {
        return String::new();
    };
    let mut out = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        let _ = stdout.take(MAX_DIFF as u64 + 1).read_to_end(&mut out);
    }
    let cut = out.len() > MAX_DIFF;
    let _ = child.kill();
    let _ = child.wait();
    out.truncate(MAX_DIFF);
    let mut text = String::from_utf8_lossy(&out).into_owned();
    if cut {
        text.push_str("\n[… the diff goes on past 8 MiB …]\n");
    }
    text
}
