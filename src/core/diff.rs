//! The diff model: what changed in a workspace since its base commit.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    Added,
    Modified,
    Deleted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    Context,
    Added,
    Removed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffLine {
    pub kind: LineKind,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hunk {
    pub old_start: usize,
    pub old_lines: usize,
    pub new_start: usize,
    pub new_lines: usize,
    pub lines: Vec<DiffLine>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDiff {
    /// Relative to the repository's top level, `/`-separated.
    pub path: String,
    pub status: FileStatus,
    pub additions: u64,
    pub deletions: u64,
    pub binary: bool,
    /// Over the size cap: counted, but no text or hunks were loaded.
    pub too_large: bool,
    /// The whole old and new text, which the hunks are made from. They stay in the
    /// daemon: no client draws them, and sending them would double a diff's size.
    #[serde(default, skip_serializing)]
    pub before: Option<String>,
    #[serde(default, skip_serializing)]
    pub after: Option<String>,
    pub hunks: Vec<Hunk>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_texts_never_go_over_the_wire() {
        let file = FileDiff {
            path: "a.txt".into(),
            status: FileStatus::Modified,
            additions: 1,
            deletions: 1,
            binary: false,
            too_large: false,
            before: Some("old text".into()),
            after: Some("new text".into()),
            hunks: Vec::new(),
        };
        let wire = serde_json::to_string(&file).expect("json");
        assert!(
            !wire.contains("old text") && !wire.contains("new text"),
            "{wire}"
        );
        let back: FileDiff = serde_json::from_str(&wire).expect("back");
        assert_eq!((back.before, back.after), (None, None));
    }
}
