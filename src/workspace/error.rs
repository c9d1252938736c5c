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
        "{} is on a detached HEAD, not on a branch: switch it to a branch first (`git switch BRANCH`, or `git switch -c NEW` to keep its commits)",
        .0.display()
    )]
    DetachedHead(PathBuf),
    #[error(
        "{} is on branch {on}, not on the session's branch {branch}: switch it back first (`git switch {branch}`)",
        .path.display()
    )]
    OffBranch {
        path: PathBuf,
        branch: String,
        on: String,
    },
    #[error(
        "git has no identity to commit with in {}: set one with `git config --global user.name \"Your Name\"` and `git config --global user.email you@example.com`",
        .0.display()
    )]
    NoIdentity(PathBuf),
    #[error("the commit message is empty: give one that says what the work is")]
    EmptyMessage,
    #[error(
        "{} has unresolved merge conflicts in {}: resolve them and `git add` the files, or run `git merge --abort`, then try again",
        .path.display(), super::land::named(.files)
    )]
    Unmerged { path: PathBuf, files: Vec<String> },
    #[error(
        "{} has uncommitted changes, which a merge would leave out ({}): commit them first: flotilla commit <session>",
        .path.display(), super::land::named(.files)
    )]
    Uncommitted { path: PathBuf, files: Vec<String> },
    #[error(
        "an existing-directory session works in {} itself, on its own branch, so there is nothing to merge it into: commit and push instead",
        .0.display()
    )]
    ExistingCannotMerge(PathBuf),
    #[error(
        "there is no branch {branch:?} in {}: name a branch that `git branch` lists there",
        .repo.display()
    )]
    NoSuchBranch { branch: String, repo: PathBuf },
    #[error(
        "{} is on a detached HEAD, so it has no current branch to merge into: switch it to a branch, or name the branch to merge into",
        .0.display()
    )]
    SourceDetached(PathBuf),
    #[error("cannot merge branch {0} into itself: name another branch to merge into")]
    SameBranch(String),
    #[error(
        "{} has uncommitted changes to tracked files ({}) while {into} is checked out there: commit or stash them there first",
        .repo.display(), super::land::named(.files)
    )]
    SourceDirty {
        repo: PathBuf,
        into: String,
        files: Vec<String>,
    },
    #[error(
        "the merge would overwrite untracked files in {} ({}): move or delete them there first",
        .repo.display(), super::land::named(.files)
    )]
    UntrackedInTheWay { repo: PathBuf, files: Vec<String> },
    #[error(
        "branch {branch} is checked out in {}, so it cannot be moved from here: merge there, or switch that work tree to another branch first",
        .path.display()
    )]
    BranchCheckedOut { branch: String, path: PathBuf },
    #[error(
        "branch {branch} in {} has commits that the clone's branch lacks: merge or rename it there, then try again",
        .repo.display()
    )]
    BranchDiverged { branch: String, repo: PathBuf },
    #[error(
        "merging {branch} into {into} would conflict in {}; nothing was changed: ask the agent to merge {into} into its branch, or resolve by hand",
        super::land::named(.files)
    )]
    MergeConflict {
        branch: String,
        into: String,
        files: Vec<String>,
    },
    #[error("{into} already has every commit of {branch}: there is nothing to merge")]
    NothingToMerge { branch: String, into: String },
    #[error(
        "{} has no remote {remote:?}: {}",
        .repo.display(), super::land::remotes_hint(.known)
    )]
    UnknownRemote {
        remote: String,
        repo: PathBuf,
        known: Vec<String>,
    },
    #[error(
        "{remote} refused branch {branch} ({reason}): merge what it has into the branch (`git pull {remote} {branch}`), then push again"
    )]
    PushRejected {
        remote: String,
        branch: String,
        reason: String,
    },
    #[error(
        "commit {commit:?} is not in the repository of {}: check the id, or fetch the commit there first",
        .path.display()
    )]
    CommitMissing { commit: String, path: PathBuf },
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
