//! Landing a session's work: committing what is in its workspace, merging its branch into
//! a branch of the source repository, and pushing its branch to a remote. A merge is
//! worked out without a work tree and refused whole, so nothing is ever half done.

mod merge;
mod source;

use super::compare::{changed_since, top};
use super::scratch::Scratch;
use super::{Workspace, WorkspaceError, current_branch};
use crate::core::Strategy;
use crate::git::{self, GitError};
use std::ffi::OsStr;
use std::path::Path;

pub use merge::{MergePlan, Merged, merge, merge_plan};

/// A commit made by [`commit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// Full sha of the new commit.
    pub commit: String,
    /// The branch it was made on.
    pub branch: String,
    /// The paths it committed, sorted.
    pub files: Vec<String>,
}

/// What [`push`] pushed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    pub remote: String,
    pub branch: String,
    /// Full sha of the commit the remote's branch is at now.
    pub commit: String,
}

/// Stages everything in the workspace, as `git add --all` does (changes to tracked files,
/// deletions and untracked files; ignored files stay out), and commits it on the branch
/// the workspace is on, with the user's git identity, hooks and signing settings, as
/// their own `git commit` would. An existing directory's whole repository is committed.
/// Ok(None), changing nothing, when there is nothing to commit. A detached HEAD, an
/// unfinished merge or a missing identity is refused before anything is staged, and a
/// commit that fails (a hook said no) leaves the index as it was.
pub fn commit(ws: &Workspace, message: &str) -> Result<Option<Committed>, WorkspaceError> {
    if !ws.is_git() {
        return Err(WorkspaceError::NotGit(ws.path.clone()));
    }
    let top = top(ws);
    let branch = current_branch(top)?.ok_or_else(|| WorkspaceError::DetachedHead(top.into()))?;
    let unmerged = paths(
        &git::output(top, ["ls-files", "--unmerged", "-z"])?.stdout,
        true,
    );
    if !unmerged.is_empty() {
        return Err(WorkspaceError::Unmerged {
            path: top.to_path_buf(),
            files: unmerged,
        });
    }
    if uncommitted(ws)?.is_empty() {
        return Ok(None);
    }
    if message.trim().is_empty() {
        return Err(WorkspaceError::EmptyMessage);
    }
    let who = identity(top, &ws.source_repo)?;
    let parent = git::run(top, ["rev-parse", "--verify", "HEAD^{commit}"])?;
    // The index as it was, put back if staging or committing fails.
    let saved = Scratch::new()?;
    let index = git::run(
        top,
        ["rev-parse", "--path-format=absolute", "--git-path", "index"],
    )?;
    let index = Path::new(&index);
    let kept = std::fs::copy(index, saved.index()).is_ok();
    let made = git::run(top, ["add", "--all"]).and_then(|_| {
        let args = ["commit", "--quiet", "--no-edit", "-m", message];
        git::run(top, who.iter().map(String::as_str).chain(args))
    });
    if let Err(e) = made {
        if kept {
            // Best effort: the git error is what the caller needs to see.
            let _ = std::fs::copy(saved.index(), index);
        }
        return Err(e.into());
    }
    let commit = git::run(top, ["rev-parse", "--verify", "HEAD^{commit}"])?;
    let diff = ["diff-tree", "-r", "-z", "--no-renames", "--name-only"];
    let out = git::output(top, diff.into_iter().chain([parent.as_str(), &commit]))?;
    let mut files = paths(&out.stdout, false);
    files.sort();
    Ok(Some(Committed {
        commit,
        branch,
        files,
    }))
}

/// What [`commit`] would commit now, sorted by path, each with git's status letter ('A',
/// 'D', 'M', or 'T' for a type change), changing nothing: the workspace as a snapshot
/// would record it, compared with its HEAD.
pub fn uncommitted(ws: &Workspace) -> Result<Vec<(char, String)>, WorkspaceError> {
    changed_since(ws, "HEAD")
}

/// Pushes the session's branch from the source repository to its `remote`: a clone's
/// branch is first brought into the source repository (created there, or moved forward),
/// a worktree's is there already. For an existing directory, the branch it is on.
/// Never forced: a remote that has commits the branch lacks refuses it.
pub fn push(ws: &Workspace, remote: &str) -> Result<Pushed, WorkspaceError> {
    if !ws.is_git() {
        return Err(WorkspaceError::NotGit(ws.path.clone()));
    }
    let branch = match (ws.strategy, &ws.branch) {
        (Strategy::Worktree | Strategy::Clone, Some(branch)) => branch.clone(),
        _ => {
            let top = top(ws);
            current_branch(top)?.ok_or_else(|| WorkspaceError::DetachedHead(top.into()))?
        }
    };
    let out = git::run(&ws.source_repo, ["remote"])?;
    let known: Vec<String> = out.lines().map(str::to_string).collect();
    if !known.iter().any(|r| r == remote) {
        return Err(WorkspaceError::UnknownRemote {
            remote: remote.to_string(),
            repo: ws.source_repo.clone(),
            known,
        });
    }
    let there = source::branch_in_source(ws, &branch)?;
    if let Some(problem) = there.problem {
        return Err(problem);
    }
    there.keep(&ws.source_repo)?;
    let refspec = format!("refs/heads/{branch}:refs/heads/{branch}");
    let args = ["push", "--porcelain", "--", remote, &refspec];
    let out = git::command(&ws.source_repo, args)
        .output()
        .map_err(GitError::Spawn)?;
    if !out.status.success() {
        let stdout = String::from_utf8_lossy(&out.stdout);
        // "!\t<refspec>\t[rejected] (non-fast-forward)" for each refused ref.
        let refused = stdout.lines().find_map(|l| l.strip_prefix("!\t"));
        if let Some(line) = refused {
            let reason = line.split('\t').nth(1).unwrap_or("rejected");
            return Err(WorkspaceError::PushRejected {
                remote: remote.to_string(),
                branch,
                reason: reason.replace(['[', ']'], ""),
            });
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(GitError::Failed {
            args: args.join(" "),
            dir: ws.source_repo.display().to_string(),
            stderr: stderr.trim().lines().last().unwrap_or("").to_string(),
            code: out.status.code(),
        }
        .into());
    }
    Ok(Pushed {
        remote: remote.to_string(),
        branch,
        commit: there.tip,
    })
}

/// The identity to commit with in `repo`: its own (none to add), or, for a clone that has
/// none, the source repository's, as `-c` settings. Fails, naming what to set, when there
/// is neither: better before anything is staged than halfway through.
fn identity(repo: &Path, source: &Path) -> Result<Vec<String>, WorkspaceError> {
    let has = |ident: &str| match git::run(repo, ["var", ident]) {
        Ok(_) => Ok(true),
        Err(GitError::Failed { .. }) => Ok(false),
        Err(e) => Err(e),
    };
    if has("GIT_AUTHOR_IDENT")? && has("GIT_COMMITTER_IDENT")? {
        return Ok(Vec::new());
    }
    let get = |key: &str| {
        git::run(source, ["config", "--get", key])
            .ok()
            .filter(|v| !v.is_empty())
    };
    match (get("user.name"), get("user.email")) {
        (Some(name), Some(email)) if source != repo => Ok(vec![
            "-c".into(),
            format!("user.name={name}"),
            "-c".into(),
            format!("user.email={email}"),
        ]),
        _ => Err(WorkspaceError::NoIdentity(repo.into())),
    }
}

/// Paths from git's `-z` output, each once; `staged` for `ls-files --stage` records
/// ("mode oid stage\tpath").
fn paths(out: &[u8], staged: bool) -> Vec<String> {
    let mut paths: Vec<String> = out
        .split(|&b| b == 0)
        .filter(|r| !r.is_empty())
        .map(|r| match (staged, r.iter().position(|&b| b == b'\t')) {
            (true, Some(tab)) => &r[tab + 1..],
            _ => r,
        })
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    paths.dedup();
    paths
}

/// How many paths an error names before "and N more".
const NAMED: usize = 10;

/// "a.txt, b.txt and 3 more", for one-line messages: a path with a control character
/// (a newline) is shown escaped.
pub(super) fn named(files: &[String]) -> String {
    let shown: Vec<String> = files
        .iter()
        .take(NAMED)
        .map(|f| match f.chars().any(char::is_control) {
            true => f.escape_debug().to_string(),
            false => f.clone(),
        })
        .collect();
    match (shown.as_slice(), files.len().saturating_sub(NAMED)) {
        ([], _) => "no files".to_string(),
        ([one], 0) => one.clone(),
        ([init @ .., last], 0) => format!("{} and {last}", init.join(", ")),
        (all, more) => format!("{} and {more} more", all.join(", ")),
    }
}

/// What to do instead of an unknown remote.
pub(super) fn remotes_hint(known: &[String]) -> String {
    match known {
        [] => "it has none; add one with `git remote add NAME URL`".to_string(),
        [one] => format!("use {one}"),
        all => format!("use one of {}", all.join(", ")),
    }
}

/// `git -C repo update-ref` of `refname` to `new`, only if it is at `old` still (None:
/// only if it does not exist), so that a change made meanwhile is never overwritten.
fn move_ref(
    repo: &Path,
    refname: &str,
    new: &str,
    old: Option<&str>,
    why: &str,
) -> Result<(), WorkspaceError> {
    let absent = "0".repeat(new.len());
    let old = old.unwrap_or(&absent);
    let args = ["update-ref", "-m", why, refname, new, old].map(OsStr::new);
    git::run(repo, args)?;
    Ok(())
}

/// The commit `refname` names in `repo`, if it exists.
fn tip(repo: &Path, refname: &str) -> Result<Option<String>, WorkspaceError> {
    let spec = format!("{refname}^{{commit}}");
    match git::run(repo, ["rev-parse", "--verify", "--quiet", &spec]) {
        Ok(sha) if !sha.is_empty() => Ok(Some(sha)),
        Ok(_) | Err(GitError::Failed { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Whether `a` is an ancestor of `b` (or is `b`).
fn is_ancestor(repo: &Path, a: &str, b: &str) -> Result<bool, WorkspaceError> {
    Ok(git::succeeds(repo, ["merge-base", "--is-ancestor", a, b])?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_cuts_after_ten_and_escapes() {
        let files: Vec<String> = (1..=12).map(|i| format!("f{i}")).collect();
        assert_eq!(named(&files[..1]), "f1");
        assert_eq!(named(&files[..3]), "f1, f2 and f3");
        assert_eq!(
            named(&files),
            "f1, f2, f3, f4, f5, f6, f7, f8, f9, f10 and 2 more"
        );
        assert_eq!(named(&["a\nb".to_string()]), "a\\nb");
        assert_eq!(remotes_hint(&[]).split(';').count(), 2);
    }

    #[test]
    fn paths_parse() {
        let staged = b"100644 aaaa 1\tx y\x00100644 bbbb 2\tx y\x00100644 cccc 3\tz\0";
        assert_eq!(paths(staged, true), ["x y", "z"]);
        assert_eq!(paths(b"a\0b\0", false), ["a", "b"]);
    }
}
