//! Shared test support: real git repositories in temporary folders, a harness that
//! drives the real `flotilla` binary against its own daemon, and one that drives an
//! in-process engine for the agent tests.
#![allow(dead_code, unused_imports)]

pub mod cli;
pub mod cluster;
pub mod engine;
pub mod events;
pub mod fake_llm;
pub mod fleet;
pub mod isolation;
pub mod kube;
pub mod kubelet;
pub mod lifecycle;
pub mod offline;
pub mod pod_runner;
pub mod poll;
pub mod sshd;
pub mod tmux;
pub mod tui;

use std::fs;
use std::path::Path;

use flotilla::core::FileDiff;
use flotilla::diff::{DiffOptions, diff};
use flotilla::git;
use tempfile::TempDir;

pub struct Repo {
    dir: TempDir,
}

impl Repo {
    pub fn new() -> Repo {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = Repo { dir };
        repo.git(&["init", "-q", "-b", "main"]);
        repo.git(&["config", "user.name", "Test"]);
        repo.git(&["config", "user.email", "test@example.com"]);
        repo.git(&["config", "commit.gpgsign", "false"]);
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn git(&self, args: &[&str]) -> String {
        git::run(self.path(), args).expect("git")
    }

    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) {
        let p = self.path().join(rel);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).expect("mkdir");
        }
        fs::write(p, content).expect("write");
    }

    pub fn commit_all(&self, msg: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", msg]);
        self.git(&["rev-parse", "HEAD"])
    }

    /// `git diff-index --numstat` (plumbing, so it leaves the index alone).
    pub fn numstat(&self, base: &str, path: &str) -> (u64, u64) {
        let out = self.git(&["diff-index", "--numstat", base, "--", path]);
        let mut parts = out.split('\t');
        let mut next = || parts.next().and_then(|n| n.parse().ok()).expect("numstat");
        (next(), next())
    }

    pub fn diff(&self, base: &str) -> Vec<FileDiff> {
        diff(self.path(), base, &DiffOptions::default()).expect("diff")
    }
}

pub fn numbered(n: usize) -> String {
    (1..=n).map(|i| format!("line {i}\n")).collect()
}

pub fn find<'a>(files: &'a [FileDiff], path: &str) -> &'a FileDiff {
    files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("{path} not in {:?}", paths(files)))
}

pub fn paths(files: &[FileDiff]) -> Vec<&str> {
    files.iter().map(|f| f.path.as_str()).collect()
}

/// Runs git in `dir` and returns its trimmed stdout; panics if it fails.
pub fn git_in(dir: &Path, args: &[&str]) -> String {
    git::run(dir, args).unwrap_or_else(|e| panic!("git {args:?}: {e}"))
}

/// A git repository at `path` (made if missing) with one empty commit.
pub fn repo_at(path: &Path) {
    fs::create_dir_all(path).expect("repo");
    git_in(path, &["init", "-q", "-b", "main"]);
    let commit = ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q"];
    git_in(
        path,
        &[&commit[..], &["--allow-empty", "-m", "first"]].concat(),
    );
}

pub fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// A point a shell command waits at until the test lets it go on: what keeps a turn
/// busy, or two bursts of output apart, for exactly as long as the test needs.
pub struct Gate {
    dir: TempDir,
}

impl Gate {
    pub fn new() -> Gate {
        Gate {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// Shell words that wait until gate `n` is opened.
    pub fn wait(&self, n: u32) -> String {
        let open = self.dir.path().join(n.to_string());
        format!("while [ ! -e '{}' ]; do sleep 0.01; done", open.display())
    }

    pub fn open(&self, n: u32) {
        fs::write(self.dir.path().join(n.to_string()), "").expect("open the gate");
    }
}

/// The files on disk under `dir`, without `.git`: path to (executable, bytes).
pub fn files_on_disk(dir: &Path) -> std::collections::BTreeMap<String, (bool, Vec<u8>)> {
    use std::os::unix::fs::PermissionsExt;
    fn go(top: &Path, dir: &Path, files: &mut std::collections::BTreeMap<String, (bool, Vec<u8>)>) {
        for entry in fs::read_dir(dir).expect("read dir") {
            let path = entry.expect("entry").path();
            if dir == top && path.file_name().is_some_and(|n| n == ".git") {
                continue;
            }
            if path.is_dir() {
                go(top, &path, files);
            } else {
                let rel = path
                    .strip_prefix(top)
                    .expect("inside")
                    .to_string_lossy()
                    .into_owned();
                let exec = fs::metadata(&path).expect("stat").permissions().mode() & 0o111 != 0;
                files.insert(rel, (exec, fs::read(&path).expect("read")));
            }
        }
    }
    let mut files = std::collections::BTreeMap::new();
    go(dir, dir, &mut files);
    files
}
