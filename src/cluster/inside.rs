//! Inside a session's pod: before the daemon starts, the repository is cloned onto the
//! volume, once. The clone goes to a side directory and is renamed into place, so a pod
//! killed mid-clone leaves nothing the next start mistakes for a workspace.

use super::objects::{REPO_ENV, WORKSPACE_ENV};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Clones `FLOTILLA_REPO` into `FLOTILLA_WORKSPACE` unless it is there already.
pub fn prepare() -> Result<(), String> {
    let var = |name: &str| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("daemon --pod: {name} is not set: it runs in a session's pod, made by `flotilla --cluster NAME new`"))
    };
    let (repo, workspace) = (var(REPO_ENV)?, PathBuf::from(var(WORKSPACE_ENV)?));
    clone_once(&repo, &workspace)
}

/// Clones `repo` into `workspace` if it holds no repository yet.
pub fn clone_once(repo: &str, workspace: &Path) -> Result<(), String> {
    if workspace.join(".git").exists() {
        return Ok(());
    }
    let partial = workspace.with_extension("partial");
    if partial.exists() {
        std::fs::remove_dir_all(&partial).map_err(|e| {
            format!(
                "cannot remove the unfinished clone {}: {e}",
                partial.display()
            )
        })?;
    }
    let out = Command::new("git")
        .args(["clone", "--quiet", "--", repo])
        .arg(&partial)
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .map_err(|e| format!("cannot run git to clone {repo}: {e}"))?;
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stderr);
        let said = said
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        return Err(format!("cannot clone {repo}: {}", said.trim()));
    }
    std::fs::rename(&partial, workspace)
        .map_err(|e| format!("cannot move the clone to {}: {e}", workspace.display()))
}

#[cfg(test)]
mod tests {
    use super::clone_once;
    use std::process::Command;

    fn git(dir: &std::path::Path, args: &[&str]) {
        let ok = Command::new("git").current_dir(dir).args(args).status();
        assert!(ok.is_ok_and(|s| s.success()), "git {args:?}");
    }

    #[test]
    fn a_clone_is_made_once_and_an_unfinished_one_is_made_again() {
        let dir = tempfile::tempdir().expect("tempdir");
        let origin = dir.path().join("origin");
        std::fs::create_dir(&origin).expect("origin");
        git(&origin, &["init", "-q", "-b", "main"]);
        std::fs::write(origin.join("a.txt"), "a\n").expect("write");
        git(&origin, &["add", "."]);
        git(
            &origin,
            &[
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "commit",
                "-qm",
                "a",
            ],
        );
        let workspace = dir.path().join("work");
        std::fs::create_dir_all(dir.path().join("work.partial/junk")).expect("left over");
        let url = origin.to_str().expect("utf-8");
        clone_once(url, &workspace).expect("clone");
        assert!(workspace.join("a.txt").exists());
        assert!(!dir.path().join("work.partial").exists());
        std::fs::write(workspace.join("mine.txt"), "kept\n").expect("write");
        clone_once(url, &workspace).expect("again");
        assert!(
            workspace.join("mine.txt").exists(),
            "a second start keeps the work"
        );
        let err = clone_once("/nowhere/at/all", &dir.path().join("other")).unwrap_err();
        assert!(err.starts_with("cannot clone /nowhere/at/all: "), "{err}");
    }
}
