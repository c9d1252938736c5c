//! What changed in a workspace since its base commit: the work tree (not the index)
//! against the base, untracked files included, read without writing to the index.

mod blobs;
mod list;
mod text;
mod worktree;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::core::{FileDiff, FileStatus};
use crate::git::{self, GitError};

use blobs::{BlobReader, ObjectInfo};
use list::{Changed, MODE_GITLINK};
pub use text::hunks;

use worktree::WorkSide;

#[derive(Debug, Clone, Copy)]
pub struct DiffOptions {
    /// A side bigger than this is counted but not loaded or diffed here.
    pub max_file_bytes: u64,
    /// Unchanged lines around each change in a hunk.
    pub context: usize,
    /// false = stat only: status, counts and binary flag, no hunks.
    pub with_text: bool,
    /// The most hunk lines one file's diff carries; the rest are counted as omitted.
    pub max_lines: usize,
}

impl Default for DiffOptions {
    fn default() -> Self {
        DiffOptions {
            max_file_bytes: crate::core::diff::MAX_FILE_BYTES,
            context: 3,
            with_text: true,
            max_lines: 20_000,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    #[error(
        "workspace {} has vanished: its folder is gone; recreate the workspace or remove the session",
        .0.display()
    )]
    Vanished(PathBuf),
    #[error(
        "workspace {} is no longer a git work tree (its repository may have moved or been deleted); restore the repository, or remove the session",
        .0.display()
    )]
    NotAWorkTree(PathBuf),
    #[error(
        "base commit {0} is not in the workspace's repository; fetch it, or recreate the workspace from a commit that exists"
    )]
    BadBase(String),
    #[error("could not read {}: {source}; check that it is readable and try again", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Git(#[from] GitError),
}

/// The files of the work tree at `workdir` that differ from commit `base`, sorted by
/// path, with paths relative to the repository's top level.
pub fn diff(workdir: &Path, base: &str, opts: &DiffOptions) -> Result<Vec<FileDiff>, DiffError> {
    diff_of(workdir, base, opts, None)
}

/// The diff of the one file at `path` (relative to the top level), with its hunks; None
/// if it does not differ from the base.
pub fn diff_file(
    workdir: &Path,
    base: &str,
    path: &str,
    opts: &DiffOptions,
) -> Result<Option<FileDiff>, DiffError> {
    let opts = DiffOptions {
        with_text: true,
        ..*opts
    };
    Ok(diff_of(workdir, base, &opts, Some(path.as_bytes()))?
        .into_iter()
        .next())
}

fn diff_of(
    workdir: &Path,
    base: &str,
    opts: &DiffOptions,
    only: Option<&[u8]>,
) -> Result<Vec<FileDiff>, DiffError> {
    let vanished = || DiffError::Vanished(workdir.to_path_buf());
    if !workdir.is_dir() {
        return Err(vanished());
    }
    let top = toplevel(workdir)?;
    check_base(&top, base)?;
    match collect(&top, base, opts, only) {
        // A workspace removed while we read it surfaces as a git or read failure.
        Err(DiffError::Git(_) | DiffError::Io { .. }) if !workdir.is_dir() => Err(vanished()),
        result => result,
    }
}

fn toplevel(workdir: &Path) -> Result<PathBuf, DiffError> {
    match git::output(workdir, ["rev-parse", "--show-toplevel"]) {
        Ok(out) => {
            let raw = out.stdout.strip_suffix(b"\n").unwrap_or(&out.stdout);
            Ok(os_path(raw))
        }
        Err(GitError::Failed { stderr, .. }) if stderr.contains("not a git repository") => {
            Err(DiffError::NotAWorkTree(workdir.to_path_buf()))
        }
        Err(e) => Err(e.into()),
    }
}

fn check_base(top: &Path, base: &str) -> Result<(), DiffError> {
    let bad = || DiffError::BadBase(base.to_string());
    if base.is_empty() || base.starts_with('-') || base.contains(char::is_whitespace) {
        return Err(bad());
    }
    if git::succeeds(top, ["cat-file", "-e", &format!("{base}^{{commit}}")])? {
        Ok(())
    } else {
        Err(bad())
    }
}

/// How the base side of one path will be obtained.
#[derive(Clone, Copy, PartialEq, Eq)]
enum BasePlan {
    Absent,
    Large,
    Read,
}

/// A path over the size cap, counted once every loaded file is done.
struct Large {
    path: Vec<u8>,
    in_base: bool,
    in_work: bool,
    /// Of the larger side.
    size: u64,
}

fn collect(
    top: &Path,
    base: &str,
    opts: &DiffOptions,
    only: Option<&[u8]>,
) -> Result<Vec<FileDiff>, DiffError> {
    let cap = opts.max_file_bytes;
    let mut changed: BTreeMap<Vec<u8>, Changed> = list::tracked(top, base, only)?
        .into_iter()
        .map(|c| (c.path.clone(), c))
        .collect();
    for path in list::untracked(top, only)? {
        // Untracked yet in the diff means removed from the index only (`git rm
        // --cached`): the file is still there, so compare it with the base.
        changed
            .entry(path.clone())
            .and_modify(|c| c.untracked = true)
            .or_insert(Changed {
                path,
                base_mode: 0,
                base_oid: None,
                work_mode: 0,
                untracked: true,
            });
    }
    let changed: Vec<Changed> = changed
        .into_values()
        .filter(|c| only.is_none_or(|p| c.path == p))
        .collect();

    let mut work_large = Vec::with_capacity(changed.len());
    for c in &changed {
        let path = top.join(os_path(&c.path));
        let large = in_work(c) && worktree::over_cap(&path, cap).map_err(io_err(&path))?;
        work_large.push(large);
    }

    let specs: Vec<String> = changed
        .iter()
        .filter(|c| !is_gitlink(c))
        .filter_map(|c| c.base_oid.clone())
        .collect();
    let mut infos = blobs::check(top, &specs)?.into_iter();
    let mut plans = Vec::with_capacity(changed.len());
    let mut base_sizes = Vec::with_capacity(changed.len());
    let mut to_read = Vec::new();
    for (c, &wl) in changed.iter().zip(&work_large) {
        let info = c
            .base_oid
            .as_ref()
            .filter(|_| !is_gitlink(c))
            .map(|_| infos.next());
        base_sizes.push(match info {
            Some(Some(ObjectInfo::Blob { size })) => size,
            _ => 0,
        });
        let plan = match (c.base_oid.as_ref(), info) {
            (None, _) | (_, None) => BasePlan::Absent,
            (Some(oid), Some(info)) => match info {
                Some(ObjectInfo::Blob { size }) if size > cap || wl => BasePlan::Large,
                Some(ObjectInfo::Blob { .. }) => {
                    to_read.push(oid.clone());
                    BasePlan::Read
                }
                _ => BasePlan::Absent,
            },
        };
        plans.push(plan);
    }

    let mut reader = BlobReader::start(top, &to_read)?;
    let mut out = Vec::new();
    let mut large = Vec::new();
    for (((c, plan), wl), base_size) in changed.iter().zip(plans).zip(work_large).zip(base_sizes) {
        let before = match plan {
            BasePlan::Read => reader.next_blob()?,
            _ => None,
        };
        if is_gitlink(c) {
            out.extend(gitlink(c));
            continue;
        }
        let path = top.join(os_path(&c.path));
        let size = || {
            let work = std::fs::metadata(&path).map_or(0, |m| m.len());
            work.max(base_size)
        };
        let after = if wl {
            WorkSide::TooLarge
        } else if in_work(c) {
            worktree::read(&path, cap).map_err(io_err(&path))?
        } else {
            WorkSide::Absent
        };
        let in_base = plan != BasePlan::Absent;
        let after = match after {
            WorkSide::Content(bytes) => Some(bytes),
            WorkSide::Absent => None,
            // Over the cap, or grew past it since we looked: count it later.
            WorkSide::TooLarge => {
                large.push(Large {
                    path: c.path.clone(),
                    in_base,
                    in_work: true,
                    size: size(),
                });
                continue;
            }
        };
        if plan == BasePlan::Large {
            large.push(Large {
                path: c.path.clone(),
                in_base,
                in_work: after.is_some(),
                size: size(),
            });
            continue;
        }
        let mode_changed = c.base_mode != 0 && c.work_mode != 0 && c.base_mode != c.work_mode;
        if let Some(file) = loaded(c, before, after, mode_changed, opts) {
            out.push(file);
        }
    }
    reader.finish()?;

    out.extend(summarize_large(top, base, large)?);
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// The diff of a path whose sides were both loaded; None if nothing really changed.
fn loaded(
    c: &Changed,
    before: Option<Vec<u8>>,
    after: Option<Vec<u8>>,
    mode_changed: bool,
    opts: &DiffOptions,
) -> Option<FileDiff> {
    let status = status_of(before.is_some(), after.is_some())?;
    // diff-index lists files whose stat data changed; their content may not have.
    if before == after && !mode_changed {
        return None;
    }
    let mut file = empty_diff(&c.path, status);
    let (b, a) = (before.unwrap_or_default(), after.unwrap_or_default());
    if text::looks_binary(&b) || text::looks_binary(&a) {
        file.binary = true;
        file.size = b.len().max(a.len()) as u64;
        return Some(file);
    }
    let (b, a) = (into_text(b), into_text(a));
    let compared = text::compare(&b, &a, opts.context, opts.with_text);
    file.additions = compared.additions;
    file.deletions = compared.deletions;
    if opts.with_text {
        (file.hunks, file.omitted_lines) = text::cap_lines(compared.hunks, opts.max_lines);
    }
    Some(file)
}

/// Counts for over-cap paths without loading them: git's numstat when there is a base
/// side, otherwise a chunked newline count of the new file.
fn summarize_large(top: &Path, base: &str, large: Vec<Large>) -> Result<Vec<FileDiff>, DiffError> {
    let with_base: Vec<&[u8]> = large
        .iter()
        .filter(|l| l.in_base)
        .map(|l| l.path.as_slice())
        .collect();
    let stats = if with_base.is_empty() {
        HashMap::new()
    } else {
        list::numstat(top, base, &with_base)?
    };
    let mut out = Vec::new();
    for l in large {
        let Some(status) = status_of(l.in_base, l.in_work) else {
            continue;
        };
        let mut file = empty_diff(&l.path, status);
        file.too_large = true;
        file.size = l.size;
        if l.in_base {
            // Absent from numstat: only the stat data changed.
            let Some(stat) = stats.get(&l.path) else {
                continue;
            };
            match stat {
                Some((added, removed)) => (file.additions, file.deletions) = (*added, *removed),
                None => file.binary = true,
            }
        } else {
            let path = top.join(os_path(&l.path));
            let Some(counted) = worktree::count_lines(&path).map_err(io_err(&path))? else {
                continue;
            };
            file.binary = counted.binary;
            file.additions = counted.lines;
        }
        out.push(file);
    }
    Ok(out)
}

/// Submodules have no text here; report only that the recorded commit changed.
fn gitlink(c: &Changed) -> Option<FileDiff> {
    let status = status_of(c.base_mode != 0, c.work_mode != 0)?;
    Some(empty_diff(&c.path, status))
}

fn status_of(in_base: bool, in_work: bool) -> Option<FileStatus> {
    match (in_base, in_work) {
        (true, true) => Some(FileStatus::Modified),
        (false, true) => Some(FileStatus::Added),
        (true, false) => Some(FileStatus::Deleted),
        (false, false) => None,
    }
}

fn empty_diff(path: &[u8], status: FileStatus) -> FileDiff {
    FileDiff {
        path: String::from_utf8_lossy(path).into_owned(),
        status,
        additions: 0,
        deletions: 0,
        binary: false,
        too_large: false,
        size: 0,
        omitted_lines: 0,
        hunks: Vec::new(),
    }
}

fn in_work(c: &Changed) -> bool {
    c.work_mode != 0 || c.untracked
}

fn is_gitlink(c: &Changed) -> bool {
    c.base_mode == MODE_GITLINK || c.work_mode == MODE_GITLINK
}

fn into_text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> DiffError + '_ {
    move |source| DiffError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(unix)]
fn os_path(bytes: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from(std::ffi::OsStr::from_bytes(bytes))
}

#[cfg(not(unix))]
fn os_path(bytes: &[u8]) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(bytes).into_owned())
}
