//! Running the git CLI. Every git call in flotilla goes through here, so each one gets
//! the same environment: no prompts, no optional index writes, no pager, C locale.

use crate::process_groups::Registry;
use std::ffi::OsStr;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("could not run git: {0}; install git and make sure it is on PATH")]
    Spawn(std::io::Error),
    #[error("git {args} failed in {dir}: {stderr}")]
    Failed {
        args: String,
        dir: String,
        stderr: String,
        code: Option<i32>,
    },
}

/// A git command in `dir`, ready to run, with flotilla's standard environment.
pub fn command<I, S>(dir: &Path, args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new("git");
    cmd.arg("-C").arg(dir).args(args);
    // GIT_OPTIONAL_LOCKS=0 stops `git status`/`git diff` from refreshing the index, so
    // reading a workspace never writes to it.
    cmd.env("GIT_OPTIONAL_LOCKS", "0")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_PAGER", "cat")
        .env("LC_ALL", "C")
        .stdin(Stdio::null());
    cmd
}

/// Runs git and returns its raw output when it exits 0.
pub fn output<I, S>(dir: &Path, args: I) -> Result<Output, GitError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<S> = args.into_iter().collect();
    let out = command(dir, &args).output().map_err(GitError::Spawn)?;
    checked(dir, &args, out)
}

/// Like [`run`], for long git work that changes a workspace (a checkout, a clone): git
/// runs as a process group recorded in `groups`, so that if the daemon dies meanwhile,
/// the next one ends it before it tidies up what was half made.
pub fn run_grouped<I, S>(dir: &Path, args: I, groups: &Registry) -> Result<String, GitError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<S> = args.into_iter().collect();
    let child = command(dir, &args)
        .process_group(0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(GitError::Spawn)?;
    let group = groups.record(child.id());
    let out = child.wait_with_output().map_err(GitError::Spawn);
    drop(group);
    let out = checked(dir, &args, out?)?;
    Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_string())
}

fn checked<S: AsRef<OsStr>>(dir: &Path, args: &[S], out: Output) -> Result<Output, GitError> {
    if out.status.success() {
        Ok(out)
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let shown: Vec<String> = args
            .iter()
            .map(|a| a.as_ref().to_string_lossy().into_owned())
            .collect();
        Err(GitError::Failed {
            args: shown.join(" "),
            dir: dir.display().to_string(),
            stderr: stderr.trim().lines().last().unwrap_or("").to_string(),
            code: out.status.code(),
        })
    }
}

/// Runs git and returns its stdout as text with the trailing newline trimmed.
pub fn run<I, S>(dir: &Path, args: I) -> Result<String, GitError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let out = output(dir, args)?;
    Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_string())
}

/// Whether git exits 0; for yes/no questions such as "does this ref exist".
pub fn succeeds<I, S>(dir: &Path, args: I) -> Result<bool, GitError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let status = command(dir, args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(GitError::Spawn)?;
    Ok(status.success())
}
