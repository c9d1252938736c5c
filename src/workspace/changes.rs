//! What a work tree holds that is not committed: the files a cleanup would destroy.

use super::WorkspaceError;
use crate::git;
use std::path::Path;

/// Paths in a work tree that are not in its last commit, by kind. A folder that git
/// reports whole (all of it untracked or ignored) is one entry, ending in '/'.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Changed, added, deleted or renamed tracked files (the new path of a rename).
    pub modified: Vec<String>,
    pub untracked: Vec<String>,
    /// Ignored files: build output, logs, local notes. A cleanup deletes them too.
    pub ignored: Vec<String>,
}

/// How many paths an error names before it says "...".
const NAMED: usize = 3;

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.total() == 0
    }

    pub fn total(&self) -> usize {
        self.modified.len() + self.untracked.len() + self.ignored.len()
    }

    /// "1 modified, 2 untracked and 1 ignored files (a.txt, new.txt, notes.log, ...)".
    pub fn summary(&self) -> String {
        let kinds: Vec<String> = [
            (self.modified.len(), "modified"),
            (self.untracked.len(), "untracked"),
            (self.ignored.len(), "ignored"),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, kind)| format!("{n} {kind}"))
        .collect();
        let counts = match kinds.as_slice() {
            [] => "no".to_string(),
            [one] => one.clone(),
            [init @ .., last] => format!("{} and {last}", init.join(", ")),
        };
        let noun = if self.total() == 1 { "file" } else { "files" };
        let mut named: Vec<&str> = self
            .modified
            .iter()
            .chain(&self.untracked)
            .chain(&self.ignored)
            .take(NAMED)
            .map(String::as_str)
            .collect();
        if self.total() > NAMED {
            named.push("...");
        }
        format!("{counts} {noun} ({})", named.join(", "))
    }
}

/// What `git status` reports in the work tree at `path`, ignored files included (a plain
/// `git status` hides them, and `git worktree remove` deletes them without asking).
pub fn changes(path: &Path) -> Result<Changes, WorkspaceError> {
    if !path.is_dir() {
        return Err(WorkspaceError::Vanished(path.to_path_buf()));
    }
    // Explicit modes: a user's `status.showUntrackedFiles=no` would otherwise hide both
    // untracked and ignored files.
    let out = git::output(
        path,
        [
            "status",
            "--porcelain=v1",
            "-z",
            "--untracked-files=normal",
            "--ignored=traditional",
            "--ignore-submodules=none",
        ],
    )?;
    let mut changes = Changes::default();
    let mut entries = out.stdout.split(|&b| b == 0).filter(|e| !e.is_empty());
    while let Some(entry) = entries.next() {
        if entry.len() < 4 {
            continue;
        }
        let file = String::from_utf8_lossy(&entry[3..]).into_owned();
        match &entry[..2] {
            b"??" => changes.untracked.push(file),
            b"!!" => changes.ignored.push(file),
            _ => changes.modified.push(file),
        }
        // With -z, a rename or copy is followed by a separate entry for its old path.
        if matches!(entry[0], b'R' | b'C') {
            entries.next();
        }
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_names_counts_and_the_first_paths() {
        let c = Changes {
            modified: vec!["a.txt".into()],
            untracked: vec!["new.txt".into(), "more/".into()],
            ignored: vec!["notes.log".into()],
        };
        assert_eq!(
            c.summary(),
            "1 modified, 2 untracked and 1 ignored files (a.txt, new.txt, more/, ...)"
        );
        let one = Changes {
            ignored: vec!["notes.log".into()],
            ..Changes::default()
        };
        assert_eq!(one.summary(), "1 ignored file (notes.log)");
    }
}
