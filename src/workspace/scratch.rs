//! A scratch index: git reads a work tree into an index of its own, so that what is on
//! disk can be recorded or compared while the work tree's own index, HEAD and files stay
//! exactly as they are. Shared by snapshots and comparisons.

use super::WorkspaceError;
use crate::git::{self, GitError};
use std::ffi::OsStr;
use std::io::ErrorKind;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A private temporary directory for a scratch index, deleted when dropped.
pub(super) struct Scratch(PathBuf);

impl Scratch {
    pub(super) fn new() -> Result<Scratch, WorkspaceError> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let base = std::env::temp_dir();
        loop {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let dir = base.join(format!("flotilla-snapshot-{}-{n}", std::process::id()));
            // One left by a process of the same pid that died is skipped, not reused.
            match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => return Ok(Scratch(dir)),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(WorkspaceError::io("create", &dir)(e)),
            }
        }
    }

    pub(super) fn index(&self) -> PathBuf {
        self.0.join("index")
    }

    /// Makes a scratch index hold the work tree at `top` exactly as it is on disk:
    /// tracked files as they are (staged or not, deletions included) and untracked files,
    /// but not ignored ones. `head` is the work tree's HEAD commit.
    pub(super) fn of_disk(top: &Path, head: &str) -> Result<Scratch, WorkspaceError> {
        let scratch = Scratch::new()?;
        let index = scratch.index();
        let env = [("GIT_INDEX_FILE", index.as_os_str())];
        // A copy of the work tree's own index knows which files are unchanged on disk, so
        // only the changed ones are read and hashed; without one, HEAD's tree is the start.
        let own = git::run(
            top,
            ["rev-parse", "--path-format=absolute", "--git-path", "index"],
        );
        let copied = own.is_ok_and(|own| copy_index(Path::new(&own), &index).is_ok());
        if !copied {
            run_with(top, &env, ["read-tree", head])?;
        }
        run_with(top, &env, ["add", "--all"])?;
        Ok(scratch)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs git with extra environment (a scratch index, an identity), reporting a failure as
/// `git::run` does.
pub(super) fn run_with<I, S>(
    dir: &Path,
    env: &[(&str, &OsStr)],
    args: I,
) -> Result<String, WorkspaceError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let out = output_with(dir, env, args)?;
    Ok(String::from_utf8_lossy(&out).trim_end().to_string())
}

/// Like [`run_with`], returning stdout's bytes untouched (for `-z` output).
pub(super) fn output_with<I, S>(
    dir: &Path,
    env: &[(&str, &OsStr)],
    args: I,
) -> Result<Vec<u8>, WorkspaceError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<S> = args.into_iter().collect();
    let mut cmd = git::command(dir, &args);
    let out = cmd
        .envs(env.iter().copied())
        .output()
        .map_err(GitError::Spawn)?;
    if !out.status.success() {
        let shown: Vec<_> = args.iter().map(|a| a.as_ref().to_string_lossy()).collect();
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(GitError::Failed {
            args: shown.join(" "),
            dir: dir.display().to_string(),
            stderr: stderr.trim().lines().last().unwrap_or("").to_string(),
            code: out.status.code(),
        }
        .into());
    }
    Ok(out.stdout)
}

/// Copies an index with its modification time. Git trusts an entry's stat data only if
/// the entry is older than the index file; a copy made now would be newer than a file
/// changed in the same second as the original index was written, and a same-size change
/// to it would go unseen ("racy git").
fn copy_index(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::copy(from, to)?;
    let modified = std::fs::metadata(from)?.modified()?;
    std::fs::File::options()
        .write(true)
        .open(to)?
        .set_modified(modified)
}
