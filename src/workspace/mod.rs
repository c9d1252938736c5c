//! Workspaces: the directories agents work in, made from a source git repository by a
//! strategy, always through the git CLI.

mod branch;
mod changes;
mod compare;
mod error;
mod land;
mod removal;
mod scratch;
mod snapshot;

use crate::core::Strategy;
use crate::git::{self, GitError};
use crate::process_groups::Registry;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

pub use crate::core::branch_from_title;
pub use changes::{Changes, changes};
pub use compare::{changed_since, files_between, would_conflict};
pub use error::WorkspaceError;
pub use land::{
    Committed, MergePlan, Merged, Pushed, commit, merge, merge_plan, push, uncommitted,
};
pub use removal::{
    Cleanup, check_commits_kept, check_removable, cleanup, keep_branch, remove, undo_create,
};
pub use snapshot::{Snapshot, apply, fetch_snapshot, recreate, roll_back, snapshot, start_from};

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

pub use crate::core::Workspace;

/// Makes the workspace for a new session: [`plan`], then [`make`].
pub fn create(req: &CreateRequest) -> Result<Workspace, WorkspaceError> {
    let ws = plan(req)?;
    make(&ws, &Registry::none())?;
    Ok(ws)
}

/// Decides what a new session's workspace will be (its path, branch and base commit)
/// and checks that it can be made, creating nothing but the workspace root. The caller
/// records the plan before [`make`] builds it, so that a crash in between can be undone.
pub fn plan(req: &CreateRequest) -> Result<Workspace, WorkspaceError> {
    let dir = match req.dir.canonicalize() {
        Ok(dir) if dir.is_dir() => dir,
        _ => return Err(WorkspaceError::NotADirectory(req.dir.to_path_buf())),
    };
    let source_repo = match toplevel(&dir)? {
        Some(top) => top,
        // A plain directory, used as it is: there is no base to diff against.
        None if req.strategy == Strategy::Existing => {
            return Ok(Workspace {
                branch: None,
                source_repo: dir.clone(),
                path: dir,
                strategy: req.strategy,
                base_commit: String::new(),
            });
        }
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
    // The root is canonical and the name holds no separator, so the path is canonical.
    let root = prepare_root(req.root)?;
    let path = root.join(dir_name(&source_repo, &branch, req.id_hint));
    if path.symlink_metadata().is_ok() {
        return Err(WorkspaceError::TargetExists(path));
    }
    Ok(Workspace {
        path,
        source_repo,
        strategy: req.strategy,
        branch: Some(branch),
        base_commit,
    })
}

/// Builds a planned worktree or clone; an `existing` workspace needs nothing. On failure
/// what was half made is removed again. Git runs in recorded process groups, so that a
/// daemon that dies meanwhile does not leave git building it behind the next one's back.
pub fn make(ws: &Workspace, groups: &Registry) -> Result<(), WorkspaceError> {
    let branch = match (ws.strategy, ws.branch.as_deref()) {
        (Strategy::Existing, _) | (_, None) => return Ok(()),
        (_, Some(branch)) => branch,
    };
    if ws.path.symlink_metadata().is_ok() {
        return Err(WorkspaceError::TargetExists(ws.path.clone()));
    }
    // The branch was free when the plan was made; someone may have taken it since. Its
    // owner's branch must not be undone with this workspace.
    let refname = format!("refs/heads/{branch}");
    if ws.strategy == Strategy::Worktree
        && git::succeeds(
            &ws.source_repo,
            ["show-ref", "--verify", "--quiet", &refname],
        )?
    {
        return Err(WorkspaceError::BranchExists(branch.to_string()));
    }
    let made = match ws.strategy {
        Strategy::Worktree => git::run_grouped(
            &ws.source_repo,
            [
                OsStr::new("worktree"),
                OsStr::new("add"),
                OsStr::new("--quiet"),
                OsStr::new("-b"),
                OsStr::new(branch),
                ws.path.as_os_str(),
                OsStr::new(&ws.base_commit),
            ],
            groups,
        )
        .map(drop)
        .map_err(WorkspaceError::from),
        _ => make_clone(ws, branch, groups),
    };
    if let Err(e) = made {
        // Best effort: the git error is what the caller needs to see.
        let _ = undo_create(ws);
        return Err(e);
    }
    Ok(())
}

/// Checks that the workspace is still there and still a git work tree.
pub fn ensure_present(ws: &Workspace) -> Result<(), WorkspaceError> {
    if !ws.is_git() {
        return match ws.path.is_dir() {
            true => Ok(()),
            false => Err(WorkspaceError::Vanished(ws.path.clone())),
        };
    }
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

/// The canonical top level of the work tree containing `dir`, or None outside one.
fn toplevel(dir: &Path) -> Result<Option<PathBuf>, WorkspaceError> {
    match git::run(dir, ["rev-parse", "--show-toplevel"]) {
        Ok(top) if !top.is_empty() => {
            let top = PathBuf::from(top);
            top.canonicalize()
                .map(Some)
                .map_err(WorkspaceError::io("resolve", &top))
        }
        Err(GitError::Failed { stderr, .. }) => match () {
            _ if stderr.contains("safe.directory") || stderr.contains("dubious ownership") => {
                Err(WorkspaceError::Dubious(dir.to_path_buf()))
            }
            _ if stderr.contains("must be run in a work tree") => {
                Err(WorkspaceError::Bare(dir.to_path_buf()))
            }
            _ if stderr.contains("Permission denied") => {
                Err(WorkspaceError::Unreadable(dir.to_path_buf()))
            }
            _ => Ok(None),
        },
        Ok(_) => Ok(None),
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
    // A file name holds 255 bytes at most; the id keeps a shortened name unique.
    let short = |text: &str, bytes: usize| -> String {
        let mut end = text.len().min(bytes);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text[..end].to_string()
    };
    let (repo, branch) = (short(&repo, 80), short(branch, 120));
    let name = format!("{repo}-{branch}-{id_hint}");
    name.replace(['/', '\\'], "-")
}

fn make_clone(ws: &Workspace, branch: &str, groups: &Registry) -> Result<(), WorkspaceError> {
    let parent = ws.path.parent().unwrap_or(&ws.path);
    // --origin is explicit so a clone.defaultRemoteName setting cannot rename it.
    git::run_grouped(
        parent,
        [
            OsStr::new("clone"),
            OsStr::new("--quiet"),
            OsStr::new("--origin"),
            OsStr::new("origin"),
            OsStr::new("--"),
            ws.source_repo.as_os_str(),
            ws.path.as_os_str(),
        ],
        groups,
    )?;
    git::run_grouped(
        &ws.path,
        ["switch", "--quiet", "-c", branch, ws.base_commit.as_str()],
        groups,
    )?;
    Ok(())
}
