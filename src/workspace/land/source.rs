//! The session's branch as the source repository has it. A worktree's branch is there
//! already; a clone's is fetched first, into a private ref, and only becomes the source's
//! branch of that name when a merge or push goes ahead, and only by moving it forward.

use super::{is_ancestor, move_ref, tip};
use crate::core::Strategy;
use crate::git;
use crate::workspace::{Workspace, WorkspaceError};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// The session's branch, with its commits in the source repository.
pub(super) struct InSource {
    pub name: String,
    /// Full sha of the branch's tip, a commit the source repository has.
    pub tip: String,
    /// For a clone: where the source's branch of that name is now, when it must move to
    /// `tip` (Some(None): it does not exist yet). None when nothing needs to move.
    moves_from: Option<Option<String>>,
    /// Why the source's branch cannot take the clone's: it has diverged, or is checked
    /// out somewhere (moving it would leave that work tree behind).
    pub problem: Option<WorkspaceError>,
    /// The private ref holding a clone's fetched tip, deleted with this.
    _land: Option<LandRef>,
}

impl InSource {
    /// Makes the source repository's branch hold the clone's commits; nothing for a
    /// worktree. The caller has checked that there is no `problem`.
    pub fn keep(&self, repo: &Path) -> Result<(), WorkspaceError> {
        if let (Some(from), None) = (&self.moves_from, &self.problem) {
            let refname = format!("refs/heads/{}", self.name);
            let why = "flotilla: the clone's branch";
            move_ref(repo, &refname, &self.tip, from.as_deref(), why)?;
        }
        Ok(())
    }
}

/// Finds the session's branch `branch` in the source repository, fetching a clone's into
/// `refs/flotilla/land/BRANCH` there (deleted again when the result is dropped).
pub(super) fn branch_in_source(ws: &Workspace, branch: &str) -> Result<InSource, WorkspaceError> {
    let source = ws.source_repo.as_path();
    let refname = format!("refs/heads/{branch}");
    let no_branch = |repo: &Path| WorkspaceError::NoSuchBranch {
        branch: branch.to_string(),
        repo: repo.to_path_buf(),
    };
    if ws.strategy != Strategy::Clone {
        let tip = tip(source, &refname)?.ok_or_else(|| no_branch(source))?;
        return Ok(InSource {
            name: branch.to_string(),
            tip,
            moves_from: None,
            problem: None,
            _land: None,
        });
    }
    if tip(&ws.path, &refname)?.is_none() {
        return Err(no_branch(&ws.path));
    }
    let land = LandRef {
        repo: source.to_path_buf(),
        name: format!("refs/flotilla/land/{branch}"),
    };
    let refspec = format!("+{refname}:{}", land.name);
    let args = [
        "fetch",
        "--quiet",
        "--no-tags",
        "--no-write-fetch-head",
        "--no-recurse-submodules",
        "--",
    ];
    let args = args.map(OsStr::new).into_iter();
    git::run(
        source,
        args.chain([ws.path.as_os_str(), OsStr::new(&refspec)]),
    )?;
    let tip = tip(source, &land.name)?.ok_or_else(|| no_branch(&ws.path))?;
    let (moves_from, mut problem) = match super::tip(source, &refname)? {
        None => (Some(None), None),
        Some(old) if old == tip => (None, None),
        Some(old) if is_ancestor(source, &old, &tip)? => (Some(Some(old)), None),
        Some(_) => {
            let diverged = WorkspaceError::BranchDiverged {
                branch: branch.to_string(),
                repo: source.to_path_buf(),
            };
            (None, Some(diverged))
        }
    };
    if moves_from.is_some()
        && let Some(path) = checked_out(source, branch)?
    {
        problem = Some(WorkspaceError::BranchCheckedOut {
            branch: branch.to_string(),
            path,
        });
    }
    Ok(InSource {
        name: branch.to_string(),
        tip,
        moves_from,
        problem,
        _land: Some(land),
    })
}

/// The work tree of `repo` (its own or a linked one) that has `branch` checked out.
pub(super) fn checked_out(repo: &Path, branch: &str) -> Result<Option<PathBuf>, WorkspaceError> {
    let out = git::output(repo, ["worktree", "list", "--porcelain", "-z"])?;
    let wanted = format!("branch refs/heads/{branch}");
    let mut path = None;
    // Records of "key value" fields, one worktree after another, each starting with its
    // "worktree PATH" field.
    for field in out.stdout.split(|&b| b == 0) {
        let field = String::from_utf8_lossy(field);
        if let Some(p) = field.strip_prefix("worktree ") {
            path = Some(PathBuf::from(p));
        } else if field == wanted {
            return Ok(path);
        }
    }
    Ok(None)
}

/// A private ref of the source repository holding a clone's branch tip for a moment;
/// deleted when dropped.
struct LandRef {
    repo: PathBuf,
    name: String,
}

impl Drop for LandRef {
    fn drop(&mut self) {
        // Best effort: a ref left under refs/flotilla/land/ is overwritten by the next
        // fetch and holds nothing that is not on the clone's branch.
        let _ = git::run(&self.repo, ["update-ref", "-d", &self.name]);
    }
}
