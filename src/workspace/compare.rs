//! Comparisons for checkpoints and conflict warnings: which files differ between two
//! commits, which differ between a commit and a workspace as it is now, and which would
//! conflict in a merge. Nothing here changes a work tree, an index or a ref; git may
//! only add objects (a merged tree, a file's blob), which nothing points at.

use super::scratch::{Scratch, output_with};
use super::{Workspace, WorkspaceError};
use crate::core::{ChronicleFile, FileStatus, Strategy};
use crate::git::{self, GitError};
use std::path::Path;

/// Files that differ between two commits' trees, sorted by path, with the lines each
/// gained and lost (0 and 0 for a binary file), as chronicles list them.
pub fn files_between(
    repo: &Path,
    from: &str,
    to: &str,
) -> Result<Vec<ChronicleFile>, WorkspaceError> {
    let (from, to) = (commit_in(repo, from)?, commit_in(repo, to)?);
    // Renames are an addition and a deletion, as in a workspace's diff.
    let diff = ["diff-tree", "-r", "-z", "--no-renames", "--no-textconv"];
    let with = |what: &'static str| diff.into_iter().chain([what, &from, &to]);
    let statuses = name_status(&git::output(repo, with("--name-status"))?.stdout);
    let counts = numstat(&git::output(repo, with("--numstat"))?.stdout);
    let files = statuses.into_iter().map(|(letter, path)| {
        let (added, removed) = counts.get(&path).copied().unwrap_or((0, 0));
        let status = match letter {
            'A' => FileStatus::Added,
            'D' => FileStatus::Deleted,
            _ => FileStatus::Modified,
        };
        ChronicleFile {
            path,
            status,
            added,
            removed,
        }
    });
    Ok(files.collect())
}

/// Files whose content in the workspace now differs from `commit`'s tree, sorted by path,
/// each with git's status letter ('A', 'D', 'M', or 'T' for a type change). "Now" is
/// exactly what a snapshot would record: tracked files as they are on disk, staged or
/// not, and untracked files, but not ignored ones. Git reads the files into a scratch
/// index, so the workspace's own index, HEAD and files are untouched. `commit` must be
/// in the workspace's repository (for an existing directory, the whole repository).
pub fn changed_since(ws: &Workspace, commit: &str) -> Result<Vec<(char, String)>, WorkspaceError> {
    if !ws.is_git() {
        return Err(WorkspaceError::NotGit(ws.path.clone()));
    }
    let top = top(ws);
    let commit = commit_in(top, commit)?;
    let head = git::run(top, ["rev-parse", "--verify", "HEAD^{commit}"])?;
    let scratch = Scratch::of_disk(top, &head)?;
    let index = scratch.index();
    let env = [("GIT_INDEX_FILE", index.as_os_str())];
    let args = [
        "diff-index",
        "--cached",
        "-z",
        "--no-renames",
        "--name-status",
    ];
    let out = output_with(top, &env, args.into_iter().chain([commit.as_str()]))?;
    Ok(name_status(&out))
}

/// The files that would conflict if `a` and `b` (commits in `repo`) were merged, sorted;
/// empty when they merge cleanly.
pub fn would_conflict(repo: &Path, a: &str, b: &str) -> Result<Vec<String>, WorkspaceError> {
    Ok(merge_tree(repo, a, b)?.conflicts)
}

/// What merging two commits gives, worked out without a work tree or index.
pub(super) struct MergeTree {
    /// The merged tree; with conflicts, one holding conflict markers, never to be used.
    pub tree: String,
    /// Conflicting paths, sorted; empty for a clean merge.
    pub conflicts: Vec<String>,
}

/// `git merge-tree --write-tree` of `a` and `b`: git writes the merged tree's objects to
/// `repo`, and nothing else.
pub(super) fn merge_tree(repo: &Path, a: &str, b: &str) -> Result<MergeTree, WorkspaceError> {
    let (a, b) = (commit_in(repo, a)?, commit_in(repo, b)?);
    let args = [
        "merge-tree",
        "--write-tree",
        "--name-only",
        "--no-messages",
        "-z",
        a.as_str(),
        b.as_str(),
    ];
    let out = git::command(repo, args).output().map_err(GitError::Spawn)?;
    let mut fields = out.stdout.split(|&b| b == 0).filter(|f| !f.is_empty());
    let tree = fields
        .next()
        .map(|t| String::from_utf8_lossy(t).into_owned());
    // Exit 1 means conflicts, but also some bad input: only a tree printed tells them apart.
    match (out.status.code(), tree) {
        (Some(0 | 1), Some(tree)) if is_oid(&tree) => {
            let mut conflicts: Vec<String> = fields
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect();
            conflicts.sort();
            conflicts.dedup();
            Ok(MergeTree { tree, conflicts })
        }
        (code, _) => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            Err(GitError::Failed {
                args: args.join(" "),
                dir: repo.display().to_string(),
                stderr: stderr.trim().lines().last().unwrap_or("").to_string(),
                code,
            }
            .into())
        }
    }
}

/// The work tree a workspace's git commands run in: an existing directory may be a
/// subdirectory, and stands for its whole repository.
pub(super) fn top(ws: &Workspace) -> &Path {
    match ws.strategy {
        Strategy::Existing => &ws.source_repo,
        Strategy::Worktree | Strategy::Clone => &ws.path,
    }
}

/// The full sha of `rev` as a commit of `repo`, or why there is none.
pub(super) fn commit_in(repo: &Path, rev: &str) -> Result<String, WorkspaceError> {
    let missing = || WorkspaceError::CommitMissing {
        commit: rev.to_string(),
        path: repo.to_path_buf(),
    };
    // An option-like or empty name is never a commit; git must not read it as a flag.
    if rev.is_empty() || rev.starts_with('-') {
        return Err(missing());
    }
    let spec = format!("{rev}^{{commit}}");
    match git::run(repo, ["rev-parse", "--verify", "--quiet", &spec]) {
        Ok(sha) if is_oid(&sha) => Ok(sha),
        Ok(_) | Err(GitError::Failed { .. }) => Err(missing()),
        Err(e) => Err(e.into()),
    }
}

fn is_oid(text: &str) -> bool {
    matches!(text.len(), 40 | 64) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `--name-status -z` records ("M\0path\0"), sorted by path.
fn name_status(out: &[u8]) -> Vec<(char, String)> {
    let mut fields = out.split(|&b| b == 0);
    let mut files = Vec::new();
    while let (Some(status), Some(path)) = (fields.next(), fields.next()) {
        let Some(&letter) = status.first() else { break };
        files.push((
            char::from(letter),
            String::from_utf8_lossy(path).into_owned(),
        ));
    }
    files.sort_by(|a, b| a.1.cmp(&b.1));
    files
}

/// `--numstat -z` records ("3\t1\tpath\0"); a binary file counts 0 and 0.
fn numstat(out: &[u8]) -> std::collections::HashMap<String, (u32, u32)> {
    let records = out.split(|&b| b == 0).filter(|r| !r.is_empty());
    records
        .filter_map(|record| {
            let mut parts = record.splitn(3, |&b| b == b'\t');
            let (added, removed, path) = (parts.next()?, parts.next()?, parts.next()?);
            let number = |b: &[u8]| {
                let n = std::str::from_utf8(b).ok()?.parse::<u64>().ok()?;
                Some(u32::try_from(n).unwrap_or(u32::MAX))
            };
            let counts = number(added).zip(number(removed)).unwrap_or((0, 0));
            Some((String::from_utf8_lossy(path).into_owned(), counts))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_parse() {
        let s = name_status(b"M\0b.txt\0A\0a\tb\0D\0c\0");
        assert_eq!(
            s,
            [
                ('A', "a\tb".to_string()),
                ('M', "b.txt".to_string()),
                ('D', "c".to_string())
            ]
        );
        let n = numstat(b"3\t1\ta\tb\0-\t-\tbin\0");
        assert_eq!(n["a\tb"], (3, 1));
        assert_eq!(n["bin"], (0, 0));
        assert!(is_oid(&"a".repeat(40)) && !is_oid("HEAD"));
    }
}
