//! Snapshots: a workspace's files exactly as they are on disk, kept as a commit under a
//! ref of the source repository, so that a worktree or clone can be removed and made
//! again (or a new one started) with the work in it. The workspace's own index, HEAD and
//! files are never touched: git works on a scratch index of its own.

use super::scratch::{Scratch, run_with};
use super::{Workspace, WorkspaceError, remove, toplevel};
use crate::core::Strategy;
use crate::git;
use crate::process_groups::Registry;
use std::ffi::OsStr;
use std::path::Path;

/// What a snapshot recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Full sha of the snapshot's commit.
    pub commit: String,
    /// Full sha of the workspace's HEAD when it was taken: the commit's only parent.
    pub parent: String,
}

/// Snapshot commits are flotilla's, and must be made where no git identity is configured.
const IDENTITY: [(&str, &str); 4] = [
    ("GIT_AUTHOR_NAME", "flotilla"),
    ("GIT_AUTHOR_EMAIL", "flotilla@localhost"),
    ("GIT_COMMITTER_NAME", "flotilla"),
    ("GIT_COMMITTER_EMAIL", "flotilla@localhost"),
];

/// Records the workspace's exact tree (tracked files as they are on disk, staged or not,
/// deletions included, and untracked files, but not ignored ones) as a commit whose parent
/// is its HEAD, under `refname` in the source repository, so that it outlives the worktree
/// or clone. A clone's commit is pushed there; a worktree shares the source's refs.
pub fn snapshot(ws: &Workspace, refname: &str, message: &str) -> Result<Snapshot, WorkspaceError> {
    check_ref(refname)?;
    if !ws.is_git() {
        return Err(WorkspaceError::NotGit(ws.path.clone()));
    }
    // An existing directory may be a subdirectory: the snapshot is of its whole repository.
    let top = match ws.strategy {
        Strategy::Existing => &ws.source_repo,
        Strategy::Worktree | Strategy::Clone => &ws.path,
    };
    let parent = git::run(top, ["rev-parse", "--verify", "HEAD^{commit}"])?;
    let scratch = Scratch::of_disk(top, &parent)?;
    let index = scratch.index();
    let env = [("GIT_INDEX_FILE", index.as_os_str())];
    let tree = run_with(top, &env, ["write-tree"])?;
    let identity = IDENTITY.map(|(k, v)| (k, OsStr::new(v)));
    let commit = run_with(
        top,
        &identity,
        [
            "commit-tree",
            "--no-gpg-sign",
            "-p",
            &parent,
            "-m",
            message,
            &tree,
        ],
    )?;
    if ws.strategy == Strategy::Clone {
        // A later snapshot is not a descendant of an earlier one: the update is forced.
        let refspec = format!("+{commit}:{refname}");
        git::run(
            &ws.path,
            [
                OsStr::new("push"),
                OsStr::new("--quiet"),
                OsStr::new("--no-verify"),
                OsStr::new("--"),
                ws.source_repo.as_os_str(),
                OsStr::new(&refspec),
            ],
        )?;
    } else {
        git::run(&ws.source_repo, ["update-ref", refname, &commit])?;
    }
    Ok(Snapshot { commit, parent })
}

/// Makes the work tree at `path` hold exactly the snapshot's files, leaving HEAD and the
/// index where they are: what the snapshot changed from HEAD becomes uncommitted changes,
/// what it added becomes untracked files, and HEAD's files it lacks are deleted. Ignored
/// files are left alone. `commit` must be in the repository of `path` (a clone fetches it
/// first: see [`recreate`] and [`start_from`]).
pub fn apply(path: &Path, commit: &str) -> Result<(), WorkspaceError> {
    let top = toplevel(path)?.ok_or_else(|| WorkspaceError::NotARepo(path.to_path_buf()))?;
    if !git::succeeds(&top, ["cat-file", "-e", &format!("{commit}^{{commit}}")])? {
        return Err(WorkspaceError::SnapshotMissing {
            commit: commit.to_string(),
            path: top,
        });
    }
    let scratch = Scratch::new()?;
    let index = scratch.index();
    let env = [("GIT_INDEX_FILE", index.as_os_str())];
    // HEAD's files, refreshed so the files on disk that match are known and not written
    // again: the real index's stat data stays good for them.
    run_with(&top, &env, ["read-tree", "HEAD"])?;
    run_with(&top, &env, ["update-index", "-q", "--refresh"])?;
    // `reset --hard` on the scratch index: writes what differs, deletes what the snapshot
    // lacks, and overwrites untracked files in the way.
    run_with(&top, &env, ["read-tree", "--reset", "-u", commit])?;
    Ok(())
}

/// Makes the work tree at `path` hold exactly the snapshot's files, as [`apply`] does,
/// but starting from what is on disk now: untracked files the snapshot lacks are deleted
/// too (a rollback must remove what later turns added). Ignored files are left alone.
pub fn roll_back(path: &Path, commit: &str) -> Result<(), WorkspaceError> {
    let top = toplevel(path)?.ok_or_else(|| WorkspaceError::NotARepo(path.to_path_buf()))?;
    if !git::succeeds(&top, ["cat-file", "-e", &format!("{commit}^{{commit}}")])? {
        return Err(WorkspaceError::SnapshotMissing {
            commit: commit.to_string(),
            path: top,
        });
    }
    let head = git::run(&top, ["rev-parse", "--verify", "HEAD^{commit}"])?;
    let scratch = Scratch::of_disk(&top, &head)?;
    let index = scratch.index();
    let env = [("GIT_INDEX_FILE", index.as_os_str())];
    run_with(&top, &env, ["read-tree", "--reset", "-u", commit])?;
    Ok(())
}

/// Makes a removed worktree or clone again, on its branch (kept in the source repository),
/// and brings the snapshot's files back into it. It refuses, making nothing, if the path
/// exists; on failure it removes what it half made (never the branch, which is the work).
pub fn recreate(
    ws: &Workspace,
    refname: &str,
    commit: &str,
    groups: &Registry,
) -> Result<(), WorkspaceError> {
    check_ref(refname)?;
    made_by_flotilla(ws)?;
    if ws.path.symlink_metadata().is_ok() {
        return Err(WorkspaceError::RecreateTargetExists(ws.path.clone()));
    }
    let made = make_again(ws, refname, commit, groups).and_then(|()| apply(&ws.path, commit));
    if let Err(e) = made {
        // Best effort: the path was free, so what is there now is ours; the error is
        // what the caller needs to see.
        let _ = remove(ws);
        return Err(e);
    }
    Ok(())
}

/// For a new workspace that `make` has just built: brings the snapshot's files into it,
/// fetching the snapshot into a clone first.
pub fn start_from(ws: &Workspace, refname: &str, commit: &str) -> Result<(), WorkspaceError> {
    check_ref(refname)?;
    made_by_flotilla(ws)?;
    if ws.strategy == Strategy::Clone {
        fetch(ws, refname, &Registry::none())?;
    }
    apply(&ws.path, commit)
}

/// Snapshots are written by name: a mistaken name must never be a branch.
fn check_ref(refname: &str) -> Result<(), WorkspaceError> {
    match refname.strip_prefix("refs/flotilla/") {
        Some(rest) if !rest.is_empty() => Ok(()),
        _ => Err(WorkspaceError::SnapshotRef(refname.to_string())),
    }
}

/// Only worktrees and clones are made and removed by flotilla; an existing directory is
/// the user's, and a snapshot is never written over it.
fn made_by_flotilla(ws: &Workspace) -> Result<(), WorkspaceError> {
    match ws.strategy {
        _ if !ws.is_git() => Err(WorkspaceError::NotGit(ws.path.clone())),
        Strategy::Existing => Err(WorkspaceError::NotMadeByFlotilla(ws.path.clone())),
        Strategy::Worktree | Strategy::Clone => Ok(()),
    }
}

/// The worktree or clone as `make` would, but on the branch it already has (or, with
/// none, detached at the snapshot's parent), with the snapshot fetched into a clone.
fn make_again(
    ws: &Workspace,
    refname: &str,
    commit: &str,
    groups: &Registry,
) -> Result<(), WorkspaceError> {
    let parent = format!("{commit}^");
    let start = ws.branch.as_deref().unwrap_or(&parent);
    let path = ws.path.as_os_str();
    if ws.strategy == Strategy::Worktree {
        let args = [
            OsStr::new("worktree"),
            OsStr::new("add"),
            OsStr::new("--quiet"),
        ];
        let args = args.into_iter().chain([path, OsStr::new(start)]);
        git::run_grouped(&ws.source_repo, args, groups)?;
        return Ok(());
    }
    // --origin is explicit so a clone.defaultRemoteName setting cannot rename it.
    let mut args = ["clone", "--quiet", "--origin", "origin"]
        .map(OsStr::new)
        .to_vec();
    if let Some(branch) = &ws.branch {
        args.extend([OsStr::new("--branch"), OsStr::new(branch)]);
    }
    args.extend([OsStr::new("--"), ws.source_repo.as_os_str(), path]);
    git::run_grouped(&ws.source_repo, args, groups)?;
    fetch(ws, refname, groups)?;
    if ws.branch.is_none() {
        git::run_grouped(&ws.path, ["switch", "--quiet", "--detach", &parent], groups)?;
    }
    Ok(())
}

/// Brings a snapshot's objects into a clone, if it lacks them.
pub fn fetch_snapshot(ws: &Workspace, refname: &str) -> Result<(), WorkspaceError> {
    check_ref(refname)?;
    fetch(ws, refname, &Registry::none())
}

/// Brings the snapshot's objects into a clone, storing no ref: the clone's refs stay its
/// own, and `apply` needs the commit only for a moment.
fn fetch(ws: &Workspace, refname: &str, groups: &Registry) -> Result<(), WorkspaceError> {
    let args = [
        "fetch",
        "--quiet",
        "--no-tags",
        "--no-write-fetch-head",
        "--",
    ];
    let args = args.map(OsStr::new).into_iter();
    let args = args.chain([ws.source_repo.as_os_str(), OsStr::new(refname)]);
    git::run_grouped(&ws.path, args, groups)?;
    Ok(())
}
