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

/// The largest file whose hunks a diff loads; a bigger one says how big it is instead.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

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
    /// The size in bytes of the larger side, when it is over the cap.
    #[serde(default)]
    pub size: u64,
    /// Lines of hunks left out past the cap on what one file's diff shows.
    #[serde(default)]
    pub omitted_lines: u64,
    /// Empty in a list of files; a file asked for on its own carries them.
    pub hunks: Vec<Hunk>,
}
