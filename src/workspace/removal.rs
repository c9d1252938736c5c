//! Removing a worktree or clone without losing work: what is not committed is never
//! deleted without `force`, and the session's branch is always kept (a clone's is
//! fetched into the source repository first).

use super::{Changes, Workspace, WorkspaceError, changes, is_own_work_tree};
use crate::core::Strategy;
use crate::git::{self, GitError};
use std::ffi::OsStr;
use std::io::ErrorKind;
use std::path::Path;

/// What `remove` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cleanup {
    Removed,
    /// An existing directory belongs to the user and is never deleted.
    KeptExisting,
    AlreadyGone,
}

/// Checks, keeps the branch, removes: the whole cleanup in one call.
pub fn cleanup(ws: &Workspace, force: bool) -> Result<Cleanup, WorkspaceError> {
    check_removable(ws, force)?;
    keep_branch(ws)?;
    remove(ws)
}

/// Refuses, saying why, when removing the workspace would lose work: uncommitted files
/// (modified, untracked or ignored), or commits that no branch kept in the source
/// repository holds. `force` lets both go. A directory that has vanished is removable.
pub fn check_removable(ws: &Workspace, force: bool) -> Result<(), WorkspaceError> {
    if ws.strategy == Strategy::Existing || !present(&ws.path)? {
        return Ok(());
    }
    // Even with force, only ever delete something that is still a work tree of its own.
    if !is_own_work_tree(&ws.path, &ws.path)? {
        return Err(WorkspaceError::Vanished(ws.path.clone()));
    }
    if force {
        return Ok(());
    }
    let changes: Changes = changes(&ws.path)?;
    if !changes.is_empty() {
        return Err(WorkspaceError::Dirty {
            path: ws.path.clone(),
            changes,
        });
    }
    check_commits_kept(ws)
}

/// Refuses when removing the workspace would lose commits that no branch kept in the
/// source repository holds (a detached HEAD, a clone's other branches, tags or stash).
pub fn check_commits_kept(ws: &Workspace) -> Result<(), WorkspaceError> {
    if ws.strategy == Strategy::Existing || !present(&ws.path)? {
        return Ok(());
    }
    let unsaved = unsaved_commits(ws)?;
    if !unsaved.is_empty() {
        let remedy = match &ws.branch {
            Some(branch) => format!("merge them into {branch}"),
            None => "put them on a branch".to_string(),
        };
        return Err(WorkspaceError::Unsaved {
            path: ws.path.clone(),
            refs: unsaved.join(", "),
            remedy,
        });
    }
    Ok(())
}

/// For a clone: fetches the session's branch into the source repository as
/// `refs/heads/<branch>`, fast-forward only, so an existing different branch there is
/// never overwritten. Says what it did; nothing for worktrees (they share the source's
/// branches) and existing directories.
pub fn keep_branch(ws: &Workspace) -> Result<Option<String>, WorkspaceError> {
    let Some(branch) = ws.branch.as_deref() else {
        return Ok(None);
    };
    if ws.strategy != Strategy::Clone || !present(&ws.path)? {
        return Ok(None);
    }
    let refname = format!("refs/heads/{branch}");
    let Some(tip) = rev(&ws.path, &refname)? else {
        // The agent deleted the branch; `check_removable` has looked after its commits.
        return Ok(None);
    };
    let not_kept = |reason: String| WorkspaceError::BranchNotKept {
        branch: branch.to_string(),
        repo: ws.source_repo.clone(),
        reason,
    };
    if !ws.source_repo.is_dir() {
        return Err(not_kept("the source repository is gone".into()));
    }
    let source_tip = rev(&ws.source_repo, &refname).map_err(|e| not_kept(e.to_string()))?;
    if let Some(source_tip) = &source_tip
        && (*source_tip == tip || contains(&ws.source_repo, source_tip, &tip)?)
    {
        // The source's branch already holds the clone's work (the user built on it).
        return Ok(None);
    }
    let refspec = format!("{refname}:{refname}");
    git::run(
        &ws.source_repo,
        [
            OsStr::new("fetch"),
            OsStr::new("--no-write-fetch-head"),
            OsStr::new("--"),
            ws.path.as_os_str(),
            OsStr::new(&refspec),
        ],
    )
    .map_err(|e| match e {
        GitError::Failed { stderr, .. } if stderr.contains("checked out") => not_kept(
            "it is checked out there: switch that repository to another branch".to_string(),
        ),
        GitError::Failed { .. } if source_tip.is_some() => not_kept(
            "a different branch of that name is there: rename it or merge the clone's branch into it"
                .into(),
        ),
        GitError::Failed { stderr, .. } if !stderr.trim().is_empty() => not_kept(stderr),
        other => not_kept(other.to_string()),
    })?;
    Ok(Some(format!(
        "kept branch {branch} in {}",
        ws.source_repo.display()
    )))
}

/// Whether `tip` is in `repo` and `branch_tip` descends from it.
fn contains(repo: &Path, branch_tip: &str, tip: &str) -> Result<bool, WorkspaceError> {
    Ok(
        git::succeeds(repo, ["cat-file", "-e", &format!("{tip}^{{commit}}")])?
            && git::succeeds(repo, ["merge-base", "--is-ancestor", tip, branch_tip])?,
    )
}

/// Removes a worktree or clone that [`check_removable`] allowed (and whose branch
/// [`keep_branch`] kept). What a crash left half removed is finished.
pub fn remove(ws: &Workspace) -> Result<Cleanup, WorkspaceError> {
    if ws.strategy == Strategy::Existing {
        return Ok(Cleanup::KeptExisting);
    }
    if !present(&ws.path)? {
        forget_worktree(ws);
        return Ok(Cleanup::AlreadyGone);
    }
    if ws.strategy == Strategy::Worktree && is_own_work_tree(&ws.path, &ws.path)? {
        remove_worktree(ws)?;
    }
    delete_dir(&ws.path)?;
    forget_worktree(ws);
    Ok(Cleanup::Removed)
}

/// Takes back a workspace whose making did not finish: the half-made directory, git's
/// record of it (locked while a checkout runs) and the new branch, if it holds nothing
/// but the base commit and git's record shows this worktree made it. The caller makes
/// sure the path is one flotilla chose.
pub fn undo_create(ws: &Workspace) -> Result<(), WorkspaceError> {
    if ws.strategy == Strategy::Existing {
        return Ok(());
    }
    // Only a branch checked out in this very worktree is one `worktree add -b` made
    // here; one that existed before (and made that add fail) is someone else's.
    let made_here = match (ws.strategy, ws.branch.as_deref()) {
        (Strategy::Worktree, Some(branch)) => worktree_branch(ws)?.as_deref() == Some(branch),
        _ => false,
    };
    delete_dir(&ws.path)?;
    forget_worktree(ws);
    if let (true, Some(branch)) = (made_here, ws.branch.as_deref()) {
        let refname = format!("refs/heads/{branch}");
        if rev(&ws.source_repo, &refname)?.as_deref() == Some(ws.base_commit.as_str()) {
            // Fails harmlessly if something checked the branch out meanwhile.
            let _ = git::run(&ws.source_repo, ["branch", "--quiet", "-D", branch]);
        }
    }
    Ok(())
}

/// The branch git's worktree list shows checked out at the workspace's path.
fn worktree_branch(ws: &Workspace) -> Result<Option<String>, WorkspaceError> {
    if !ws.source_repo.is_dir() {
        return Ok(None);
    }
    let list = git::run(&ws.source_repo, ["worktree", "list", "--porcelain"])?;
    let wanted = format!("worktree {}", ws.path.display());
    let mut blocks = list.split("\n\n");
    let block = blocks.find(|b| b.lines().next() == Some(wanted.as_str()));
    Ok(block.and_then(|b| {
        b.lines()
            .find_map(|l| l.strip_prefix("branch refs/heads/"))
            .map(str::to_string)
    }))
}

/// Drops git's record of this worktree, locked or not, whether its directory is there or
/// not. Never `git worktree prune`: that would drop the records of the user's own
/// worktrees that are only out of reach (an unmounted disk).
fn forget_worktree(ws: &Workspace) {
    if ws.strategy != Strategy::Worktree || !ws.source_repo.is_dir() {
        return;
    }
    let _ = remove_worktree(ws);
}

/// `git worktree remove`, forced twice: the checks have been made, and a worktree left
/// locked by a checkout that never finished must go too.
fn remove_worktree(ws: &Workspace) -> Result<String, GitError> {
    git::run(
        &ws.source_repo,
        [
            OsStr::new("worktree"),
            OsStr::new("remove"),
            OsStr::new("--force"),
            OsStr::new("--force"),
            ws.path.as_os_str(),
        ],
    )
}

fn delete_dir(path: &Path) -> Result<(), WorkspaceError> {
    match std::fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(WorkspaceError::io("remove", path)(e)),
    }
}

fn present(path: &Path) -> Result<bool, WorkspaceError> {
    match path.symlink_metadata() {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(WorkspaceError::io("inspect", path)(e)),
    }
}

/// The commit `refname` names, if it exists.
fn rev(dir: &Path, refname: &str) -> Result<Option<String>, WorkspaceError> {
    let spec = format!("{refname}^{{commit}}");
    match git::run(dir, ["rev-parse", "--verify", "--quiet", &spec]) {
        Ok(sha) if !sha.is_empty() => Ok(Some(sha)),
        Ok(_) | Err(GitError::Failed { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Refs of the workspace whose commits would be lost with it: a detached HEAD that no
/// branch holds; in a clone, also local branches (other than the session's) whose
/// commits are neither in the source repository nor on the session's branch.
fn unsaved_commits(ws: &Workspace) -> Result<Vec<String>, WorkspaceError> {
    let mut tips: Vec<(String, String)> = Vec::new();
    if ws.strategy == Strategy::Clone {
        // Every ref of the clone's own (branches, tags, the stash), not the copies of the
        // source's branches under refs/remotes.
        // An annotated tag names a tag object: its commit is the peeled `*objectname`.
        let out = git::run(
            &ws.path,
            [
                "for-each-ref",
                "--format=%(objectname) %(refname) %(*objectname)",
            ],
        )?;
        let session_ref = ws.branch.as_ref().map(|b| format!("refs/heads/{b}"));
        for line in out.lines() {
            let mut fields = line.split(' ');
            let (Some(object), Some(name)) = (fields.next(), fields.next()) else {
                continue;
            };
            let sha = fields.next().filter(|p| !p.is_empty()).unwrap_or(object);
            if !name.starts_with("refs/remotes/") && Some(name) != session_ref.as_deref() {
                let shown = name
                    .strip_prefix("refs/heads/")
                    .map(|b| format!("branch {b}"))
                    .or_else(|| name.strip_prefix("refs/tags/").map(|t| format!("tag {t}")))
                    .unwrap_or_else(|| name.trim_start_matches("refs/").to_string());
                tips.push((sha.to_string(), shown));
            }
        }
    }
    let detached = matches!(
        git::run(&ws.path, ["symbolic-ref", "--quiet", "HEAD"]),
        Err(GitError::Failed { code: Some(1), .. })
    );
    let mut unsaved = Vec::new();
    if detached && let Some(head) = rev(&ws.path, "HEAD")? {
        let short: String = head.chars().take(7).collect();
        let what = format!("detached HEAD {short}");
        match ws.strategy {
            // A worktree shares the source's objects and branches: only a commit that no
            // branch holds is lost with it.
            Strategy::Worktree => {
                let held = git::run(
                    &ws.path,
                    [
                        "for-each-ref",
                        "--count=1",
                        "--contains",
                        &head,
                        "refs/heads/",
                    ],
                )?;
                if held.is_empty() {
                    unsaved.push(what);
                }
            }
            _ => tips.push((head, what)),
        }
    }
    let session_branch = ws.branch.as_ref().map(|b| format!("refs/heads/{b}"));
    for (sha, what) in tips {
        let commit = format!("{sha}^{{commit}}");
        let in_source =
            ws.source_repo.is_dir() && git::succeeds(&ws.source_repo, ["cat-file", "-e", &commit])?;
        let on_session_branch = match &session_branch {
            Some(b) => git::succeeds(&ws.path, ["merge-base", "--is-ancestor", &sha, b])?,
            None => false,
        };
        if !in_source && !on_session_branch {
            unsaved.push(what);
        }
    }
    Ok(unsaved)
}
