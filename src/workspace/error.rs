use crate::git::GitError;
use std::path::PathBuf;

/// Why a workspace could not be made, checked or removed. Every message is one line
/// that says what is wrong and what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error("{} is not a directory: pass --dir with an existing directory", .0.display())]
    NotADirectory(PathBuf),
    #[error(
        "{} is not inside a git repository: run `git init` there or choose a repository",
        .0.display()
    )]
    NotARepo(PathBuf),
    #[error(
        "{} is a bare repository, with no work tree for an agent: pass a clone of it instead",
        .0.display()
    )]
    Bare(PathBuf),
    #[error(
        "git refuses {}: it belongs to another user (\"dubious ownership\"); if you trust it, run `git config --global --add safe.directory {}`",
        .0.display(), .0.display()
    )]
    Dubious(PathBuf),
    #[error("cannot read {}: permission denied; check its owner and mode", .0.display())]
    Unreadable(PathBuf),
    #[error("branch name {0:?}… is longer than {1} bytes: choose a shorter --branch or title")]
    BranchTooLong(String, usize),
    #[error(
        "{} has no commits yet: make a first commit there, then try again",
        .0.display()
    )]
    NoCommits(PathBuf),
    #[error(
        "workspace path {} already exists: move or delete it, or choose another --branch",
        .0.display()
    )]
    TargetExists(PathBuf),
    #[error("branch {0:?} already exists in the source repository: choose another --branch")]
    BranchExists(String),
    #[error("{0:?} is not a valid git branch name: choose another --branch")]
    InvalidBranch(String),
    #[error(
        "workspace {} is gone or is no longer a git work tree: restore it, or remove the session and delete what is left by hand",
        .0.display()
    )]
    Vanished(PathBuf),
    #[error(
        "{} has uncommitted work, {}: commit or move it, or pass --force to discard it",
        .path.display(), .changes.summary()
    )]
    Dirty {
        path: PathBuf,
        changes: super::Changes,
    },
    #[error(
        "{} has commits that no kept branch holds ({refs}): {remedy}, or pass --force to discard them",
        .path.display()
    )]
    Unsaved {
        path: PathBuf,
        refs: String,
        remedy: String,
    },
    #[error(
        "could not keep branch {branch} in {} ({reason}); nothing was removed: rename or merge that branch there, then clean up again",
        .repo.display()
    )]
    BranchNotKept {
        branch: String,
        repo: PathBuf,
        reason: String,
    },
    #[error(
        "{} is not in git, so its files cannot be snapshotted: use a worktree or clone, or run `git init` there",
        .0.display()
    )]
    NotGit(PathBuf),
    #[error(
        "{} is an existing directory, which flotilla never makes: snapshots are brought back only into worktrees and clones",
        .0.display()
    )]
    NotMadeByFlotilla(PathBuf),
    #[error(
        "{0:?} is not under refs/flotilla/: snapshots are kept there only, away from branches and tags"
    )]
    SnapshotRef(String),
    #[error(
        "snapshot {commit} is not in the repository of {}: its ref was deleted or never fetched; take a new snapshot",
        .path.display()
    )]
    SnapshotMissing { commit: String, path: PathBuf },
    #[error(
        "cannot re-create the workspace: {} already exists; move or delete it, then try again",
        .0.display()
    )]
    RecreateTargetExists(PathBuf),
    #[error(
        "could not {action} {}: {source}; check that the path is accessible",
        .path.display()
    )]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Git(#[from] GitError),
}

impl WorkspaceError {
    pub(super) fn io(
        action: &'static str,
        path: &std::path::Path,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.to_path_buf();
        move |source| WorkspaceError::Io {
            action,
            path,
            source,
        }
    }
}
