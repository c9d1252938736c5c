use super::WorkspaceError;
use crate::core::branch_from_title;
use crate::git::{self, GitError};
use std::collections::HashSet;
use std::path::Path;

/// The branch a new workspace goes on: the explicit one if it is valid and free, else
/// the title's branch with the first free `-N` suffix.
pub(super) fn choose(
    repo: &Path,
    explicit: Option<&str>,
    title: &str,
) -> Result<String, WorkspaceError> {
    let taken = local_branches(repo)?;
    if let Some(name) = explicit {
        validate(repo, name)?;
        if taken.contains(name) {
            return Err(WorkspaceError::BranchExists(name.to_string()));
        }
        return Ok(name.to_string());
    }
    let base = branch_from_title(title);
    validate(repo, &base)?;
    if !taken.contains(&base) {
        return Ok(base);
    }
    let mut n = 2u32;
    loop {
        let candidate = format!("{base}-{n}");
        if !taken.contains(&candidate) {
            return Ok(candidate);
        }
        n += 1;
    }
}

/// Longer names break on file systems that cap a file name at 255 bytes (a branch is a
/// file under .git/refs, and names the workspace directory too).
const MAX_BRANCH: usize = 200;

fn validate(repo: &Path, name: &str) -> Result<(), WorkspaceError> {
    if name.len() > MAX_BRANCH {
        let shown: String = name.chars().take(40).collect();
        return Err(WorkspaceError::BranchTooLong(shown, MAX_BRANCH));
    }
    if name.contains('\0') || name.chars().any(char::is_control) {
        return Err(WorkspaceError::InvalidBranch(name.replace('\0', "\\0")));
    }
    // `--branch` expands `@{-N}` to another branch's name; only a name that comes back
    // unchanged is a literal, valid branch name.
    match git::run(repo, ["check-ref-format", "--branch", name]) {
        Ok(out) if out == name => Ok(()),
        Ok(_) | Err(GitError::Failed { .. }) => {
            Err(WorkspaceError::InvalidBranch(name.to_string()))
        }
        Err(e) => Err(e.into()),
    }
}

fn local_branches(repo: &Path) -> Result<HashSet<String>, WorkspaceError> {
    let out = git::run(repo, ["for-each-ref", "--format=%(refname)", "refs/heads/"])?;
    Ok(out
        .lines()
        .filter_map(|l| l.strip_prefix("refs/heads/"))
        .map(str::to_string)
        .collect())
}
