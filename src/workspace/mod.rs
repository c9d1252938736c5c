//! Workspaces: the directories agents work in, made from a source git repository by a
//! strategy, always through the git CLI.

mod branch;
mod error;

use crate::core::Strategy;
use crate::git::{self, GitError};
use serde::{Deserialize, Serialize};
use std::ffi::OsStr;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

pub use crate::core::branch_from_title;
pub use error::WorkspaceError;

/// What the caller asks for when a session starts.
#[derive(Debug, Clone, Copy)]
pub struct CreateRequest<'a> {
    /// A directory inside the source repository.
    pub dir: &'a Path,
    pub strategy: Strategy,
    /// The session title; names the branch when `branch` is None.
    pub title: &'a str,
    pub branch: Option<&'a str>,
    /// Where worktrees and clones are made; created if missing.
    pub root: &'a Path,
    /// A short unique string (e.g. the session's short id) for the directory name.
    pub id_hint: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workspace {
    /// Absolute, canonical path of the directory the agent works in.
    pub path: PathBuf,
    /// Canonical top level of the source repository.
    pub source_repo: PathBuf,
    pub strategy: Strategy,
    /// None for an existing directory on a detached HEAD.
    pub branch: Option<String>,
    /// Full sha of the commit the workspace started from.
    pub base_commit: String,
}

/// What `cleanup` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cleanup {
    Removed,
    /// An existing directory belongs to the user and is never deleted.
    KeptExisting,
    AlreadyGone,
}

/// Makes the workspace for a new session.
pub fn create(req: &CreateRequest) -> Result<Workspace, WorkspaceError> {
    let dir = match req.dir.canonicalize() {
        Ok(dir) if dir.is_dir() => dir,
        _ => return Err(WorkspaceError::NotADirectory(req.dir.to_path_buf())),
    };
    let source_repo = match toplevel(&dir)? {
        Some(top) => top,
        None => return Err(WorkspaceError::NotARepo(dir)),
    };
    let base_commit = match git::run(&dir, ["rev-parse", "--verify", "--quiet", "HEAD^{commit}"]) {
        Ok(sha) if !sha.is_empty() => sha,
        Ok(_) | Err(GitError::Failed { .. }) => return Err(WorkspaceError::NoCommits(source_repo)),
        Err(e) => return Err(e.into()),
    };

    if req.strategy == Strategy::Existing {
        return Ok(Workspace {
            branch: current_branch(&dir)?,
            path: dir,
            source_repo,
            strategy: req.strategy,
            base_commit,
        });
    }

    let branch = branch::choose(&source_repo, req.branch, req.title)?;
    let root = prepare_root(req.root)?;
    let path = root.join(dir_name(&source_repo, &branch, req.id_hint));
    if path.symlink_metadata().is_ok() {
        return Err(WorkspaceError::TargetExists(path));
    }
    match req.strategy {
        Strategy::Worktree => {
            git::run(
                &source_repo,
                [
                    OsStr::new("worktree"),
                    OsStr::new("add"),
                    OsStr::new("--quiet"),
                    OsStr::new("-b"),
                    OsStr::new(&branch),
                    path.as_os_str(),
                    OsStr::new(&base_commit),
                ],
            )?;
        }
        _ => make_clone(&root, &source_repo, &path, &branch, &base_commit)?,
    }
    let path = path
        .canonicalize()
        .map_err(WorkspaceError::io("resolve", &path))?;
    Ok(Workspace {
        path,
        source_repo,
        strategy: req.strategy,
        branch: Some(branch),
        base_commit,
    })
}

/// Removes a worktree or clone; the branch is always kept. Refuses with `Dirty` when
/// there are uncommitted changes (untracked files included) unless `force`.
pub fn cleanup(ws: &Workspace, force: bool) -> Result<Cleanup, WorkspaceError> {
    if ws.strategy == Strategy::Existing {
        return Ok(Cleanup::KeptExisting);
    }
    match ws.path.symlink_metadata() {
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => {
            if ws.strategy == Strategy::Worktree && ws.source_repo.is_dir() {
                git::run(&ws.source_repo, ["worktree", "prune"])?;
            }
            return Ok(Cleanup::AlreadyGone);
        }
        Err(e) => return Err(WorkspaceError::io("inspect", &ws.path)(e)),
    }
    // Even with force, only ever delete something that is still a work tree of its own.
    if !is_own_work_tree(&ws.path, &ws.path)? {
        return Err(WorkspaceError::Vanished(ws.path.clone()));
    }
    if !force {
        let files = uncommitted_changes(&ws.path)?.len();
        if files > 0 {
            return Err(WorkspaceError::Dirty {
                path: ws.path.clone(),
                files,
            });
        }
    }
    if ws.strategy == Strategy::Worktree {
        let mut args = vec![OsStr::new("worktree"), OsStr::new("remove")];
        if force {
            args.push(OsStr::new("--force"));
        }
        args.push(ws.path.as_os_str());
        git::run(&ws.source_repo, args)?;
        git::run(&ws.source_repo, ["worktree", "prune"])?;
    } else {
        std::fs::remove_dir_all(&ws.path).map_err(WorkspaceError::io("remove", &ws.path))?;
    }
    Ok(Cleanup::Removed)
}

/// Checks that the workspace is still there and still a git work tree.
pub fn ensure_present(ws: &Workspace) -> Result<(), WorkspaceError> {
    let expected_top = match ws.strategy {
        Strategy::Existing => &ws.source_repo,
        Strategy::Worktree | Strategy::Clone => &ws.path,
    };
    if ws.path.is_dir() && is_own_work_tree(&ws.path, expected_top)? {
        Ok(())
    } else {
        Err(WorkspaceError::Vanished(ws.path.clone()))
    }
}

/// The paths `git status --porcelain` reports in the work tree at `path`, untracked
/// ones included; for a rename, the new path.
pub fn uncommitted_changes(path: &Path) -> Result<Vec<String>, WorkspaceError> {
    if !path.is_dir() {
        return Err(WorkspaceError::Vanished(path.to_path_buf()));
    }
    let out = git::output(path, ["status", "--porcelain=v1", "-z"])?;
    let mut files = Vec::new();
    let mut entries = out.stdout.split(|&b| b == 0).filter(|e| !e.is_empty());
    while let Some(entry) = entries.next() {
        if entry.len() < 4 {
            continue;
        }
        files.push(String::from_utf8_lossy(&entry[3..]).into_owned());
        // With -z, a rename or copy is followed by a separate entry for its old path.
        if matches!(entry[0], b'R' | b'C') {
            entries.next();
        }
    }
    Ok(files)
}

/// The canonical top level of the work tree containing `dir`, or None outside one.
fn toplevel(dir: &Path) -> Result<Option<PathBuf>, WorkspaceError> {
    match git::run(dir, ["rev-parse", "--show-toplevel"]) {
        Ok(top) if !top.is_empty() => {
            let top = PathBuf::from(top);
            top.canonicalize()
                .map(Some)
                .map_err(WorkspaceError::io("resolve", &top))
        }
        Ok(_) | Err(GitError::Failed { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn is_own_work_tree(path: &Path, expected_top: &Path) -> Result<bool, WorkspaceError> {
    let Some(top) = toplevel(path)? else {
        return Ok(false);
    };
    Ok(expected_top.canonicalize().is_ok_and(|e| e == top))
}

fn current_branch(dir: &Path) -> Result<Option<String>, WorkspaceError> {
    match git::run(dir, ["symbolic-ref", "--quiet", "HEAD"]) {
        Ok(r) => Ok(r.strip_prefix("refs/heads/").map(str::to_string)),
        // Exit code 1 means HEAD is detached.
        Err(GitError::Failed { code: Some(1), .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn prepare_root(root: &Path) -> Result<PathBuf, WorkspaceError> {
    if root.exists() && !root.is_dir() {
        return Err(WorkspaceError::NotADirectory(root.to_path_buf()));
    }
    std::fs::create_dir_all(root).map_err(WorkspaceError::io("create", root))?;
    root.canonicalize()
        .map_err(WorkspaceError::io("resolve", root))
}

/// `<repo-dir-name>-<branch-slug>-<id_hint>`, with path separators made into '-'.
fn dir_name(source_repo: &Path, branch: &str, id_hint: &str) -> String {
    let repo = source_repo
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "repo".to_string());
    let name = format!("{repo}-{branch}-{id_hint}");
    name.replace(['/', '\\'], "-")
}

fn make_clone(
    root: &Path,
    source_repo: &Path,
    path: &Path,
    branch: &str,
    base_commit: &str,
) -> Result<(), WorkspaceError> {
    // --origin is explicit so a clone.defaultRemoteName setting cannot rename it.
    git::run(
        root,
        [
            OsStr::new("clone"),
            OsStr::new("--quiet"),
            OsStr::new("--origin"),
            OsStr::new("origin"),
            OsStr::new("--"),
            source_repo.as_os_str(),
            path.as_os_str(),
        ],
    )?;
    if let Err(e) = git::run(path, ["switch", "--quiet", "-c", branch, base_commit]) {
        // Best effort: a clone on the wrong branch is worse than none; the git error
        // is what the caller needs to see.
        let _ = std::fs::remove_dir_all(path);
        return Err(e.into());
    }
    Ok(())
}
