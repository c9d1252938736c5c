//! Conflict warnings: the open sessions of a repository are checked against each other
//! and against the branch checked out in the source repository, with `git merge-tree` on
//! their newest checkpoints (no work tree touched), when a turn finishes and when that
//! branch moves. Only pairs that changed a file in common are merged, so a repository
//! with many sessions costs one `git diff` per session and a merge per overlap.

use super::State;
use crate::core::{Conflict, ConflictPair, SessionId, Status, Strategy};
use crate::protocol::Reply;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::time::Instant;

/// How often the source repositories' branches are looked at for moves.
pub(super) const BASE_POLL: Duration = Duration::from_secs(3);

#[derive(Default)]
pub(super) struct Checks {
    /// Repositories being checked now.
    running: HashSet<PathBuf>,
    /// Repositories to check again once their check ends: something changed meanwhile.
    again: HashSet<PathBuf>,
    /// Each repository's HEAD at its last check.
    heads: HashMap<PathBuf, String>,
    /// A look at the HEADs is under way.
    polling: bool,
}

/// A session's work as a conflict check sees it.
struct Work {
    id: SessionId,
    title: String,
    base: String,
    commit: String,
    /// The session's branch: once the checkpoint's files are committed on it, its tip
    /// stands for the work, so that a merge finds the right common ancestor.
    branch: Option<String>,
}

struct Found {
    head: String,
    conflicts: HashMap<SessionId, Vec<Conflict>>,
}

impl State {
    /// Checks the repository of `id` again (its work or its branch just changed).
    pub(super) fn check_conflicts_of(&mut self, id: SessionId) {
        if let Some(repo) = self.sessions.get(&id).map(|s| s.source_repo.clone()) {
            self.check_repo(repo);
        }
    }

    /// Checks every repository with open sessions: at start, conflicts are not stored.
    pub(super) fn check_all_conflicts(&mut self) {
        for repo in self.open_repos() {
            self.check_repo(repo);
        }
        self.conflict_at = Some(Instant::now() + BASE_POLL);
    }

    fn open_repos(&self) -> BTreeSet<PathBuf> {
        self.sessions
            .values()
            .filter(|s| open(s.status) && s.strategy != Strategy::Existing)
            .map(|s| s.source_repo.clone())
            .collect()
    }

    fn check_repo(&mut self, repo: PathBuf) {
        if self.conflict_checks.running.contains(&repo) {
            self.conflict_checks.again.insert(repo);
            return;
        }
        let mut work = Vec::new();
        let mut members = Vec::new();
        for s in self.sessions.values().filter(|s| s.source_repo == repo) {
            members.push(s.id);
            if !open(s.status) || s.strategy == Strategy::Existing {
                continue;
            }
            let newest = self
                .store
                .checkpoints(s.id)
                .ok()
                .and_then(|c| c.last().cloned());
            if let Some(c) = newest {
                work.push(Work {
                    id: s.id,
                    title: s.title.clone(),
                    base: s.base_commit.clone(),
                    commit: c.commit,
                    branch: s.branch.clone(),
                });
            }
        }
        self.conflict_checks.running.insert(repo.clone());
        let dir = repo.clone();
        self.blocking(
            move || find(&dir, &work),
            move |state, found| {
                state.conflict_checks.running.remove(&repo);
                match found {
                    Ok(found) => {
                        state.conflict_checks.heads.insert(repo.clone(), found.head);
                        state.set_conflicts(&members, found.conflicts);
                    }
                    Err(e) => tracing::warn!("checking {} for conflicts: {e}", repo.display()),
                }
                if state.conflict_checks.again.remove(&repo) {
                    state.check_repo(repo);
                }
            },
        );
    }

    fn set_conflicts(
        &mut self,
        members: &[SessionId],
        mut found: HashMap<SessionId, Vec<Conflict>>,
    ) {
        for id in members {
            let now = found.remove(id).unwrap_or_default();
            let changed = self
                .sessions
                .get_mut(id)
                .is_some_and(|s| std::mem::replace(&mut s.conflicts, now.clone()) != now);
            if changed {
                self.publish(*id);
            }
        }
    }

    /// Looks at each repository's HEAD; one that moved is checked again.
    pub(super) fn poll_bases(&mut self) {
        self.conflict_at = Some(Instant::now() + BASE_POLL);
        if self.conflict_checks.polling {
            return;
        }
        let repos: Vec<PathBuf> = self.open_repos().into_iter().collect();
        if repos.is_empty() {
            return;
        }
        self.conflict_checks.polling = true;
        self.blocking(
            move || {
                repos
                    .into_iter()
                    .filter_map(|r| head(&r).ok().map(|h| (r, h)))
                    .collect::<Vec<_>>()
            },
            |state, heads| {
                state.conflict_checks.polling = false;
                for (repo, head) in heads {
                    if state.conflict_checks.heads.get(&repo) != Some(&head) {
                        state.check_repo(repo);
                    }
                }
            },
        );
    }

    /// Every pair that would conflict, each once.
    pub(super) fn conflict_pairs(&self) -> Reply {
        let mut pairs = Vec::new();
        for s in self.sessions.values() {
            for c in &s.conflicts {
                // A pair of sessions is listed under the smaller id only.
                if c.with.is_some_and(|other| other < s.id) {
                    continue;
                }
                pairs.push(ConflictPair {
                    session: s.id,
                    title: s.title.clone(),
                    conflict: c.clone(),
                });
            }
        }
        Reply::Conflicts { pairs }
    }
}

/// Sessions whose work is still going on: their changes may yet be landed.
fn open(status: Status) -> bool {
    !matches!(
        status,
        Status::Stopped | Status::Completed | Status::Archived
    )
}

fn head(repo: &Path) -> Result<String, String> {
    crate::git::run(repo, ["rev-parse", "--verify", "-q", "HEAD^{commit}"])
        .map_err(|e| e.to_string())
}

fn changed(repo: &Path, from: &str, to: &str) -> Result<BTreeSet<String>, String> {
    if from == to {
        return Ok(BTreeSet::new());
    }
    let out = crate::git::run(
        repo,
        ["diff", "--name-only", "--no-renames", "-z", from, to],
    )
    .map_err(|e| e.to_string())?;
    Ok(out
        .split('\0')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect())
}

/// The commit that stands for a session's work: its branch's tip when that holds exactly
/// the checkpoint's files (the work was committed, or merged), else the checkpoint, whose
/// parent is the commit the branch had when the turn ended.
fn standing_for(repo: &Path, w: &Work) -> String {
    let tree = |rev: &str| {
        let spec = format!("{rev}^{{tree}}");
        crate::git::run(repo, ["rev-parse", "--verify", "-q", spec.as_str()]).ok()
    };
    let tip = w.branch.as_deref().and_then(|b| {
        let full = format!("refs/heads/{b}");
        crate::git::run(repo, ["rev-parse", "--verify", "-q", full.as_str()]).ok()
    });
    match tip {
        Some(tip) if tip != w.commit && tree(&tip).is_some() && tree(&tip) == tree(&w.commit) => {
            tip
        }
        _ => w.commit.clone(),
    }
}

fn find(repo: &Path, work: &[Work]) -> Result<Found, String> {
    let head = head(repo)?;
    let work: Vec<Work> = work
        .iter()
        .map(|w| Work {
            commit: standing_for(repo, w),
            id: w.id,
            title: w.title.clone(),
            base: w.base.clone(),
            branch: None,
        })
        .collect();
    let work = work.as_slice();
    let branch = crate::git::run(repo, ["symbolic-ref", "--short", "-q", "HEAD"])
        .unwrap_or_else(|_| "HEAD".into());
    let mut conflicts: HashMap<SessionId, Vec<Conflict>> = HashMap::new();
    let mut files = Vec::with_capacity(work.len());
    for w in work {
        files.push(changed(repo, &w.base, &w.commit)?);
    }
    for (i, a) in work.iter().enumerate() {
        // Against the branch the work goes into, if it moved on files the session changed.
        let moved = changed(repo, &a.base, &head)?;
        if !moved.is_disjoint(&files[i]) {
            let clash = crate::workspace::would_conflict(repo, &head, &a.commit)
                .map_err(|e| e.to_string())?;
            if !clash.is_empty() {
                conflicts.entry(a.id).or_default().push(Conflict {
                    with: None,
                    with_name: branch.clone(),
                    files: clash,
                });
            }
        }
        for (j, b) in work.iter().enumerate().skip(i + 1) {
            if files[i].is_disjoint(&files[j]) {
                continue;
            }
            let clash = crate::workspace::would_conflict(repo, &a.commit, &b.commit)
                .map_err(|e| e.to_string())?;
            if clash.is_empty() {
                continue;
            }
            for (me, other) in [(a, b), (b, a)] {
                conflicts.entry(me.id).or_default().push(Conflict {
                    with: Some(other.id),
                    with_name: other.title.clone(),
                    files: clash.clone(),
                });
            }
        }
    }
    Ok(Found { head, conflicts })
}
