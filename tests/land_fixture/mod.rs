//! Real git repositories for the landing tests: a source repository with a workspace made
//! from it, and everything about a repository's state that a refused merge must leave
//! exactly as it was.

use flotilla::core::Strategy;
use flotilla::git;
use flotilla::workspace::{CreateRequest, Workspace, WorkspaceError, create};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// Files by path: whether executable, and the bytes.
pub type Files = BTreeMap<String, (bool, Vec<u8>)>;

pub fn g<const N: usize>(dir: &Path, args: [&str; N]) -> String {
    git::run(dir, args).unwrap_or_else(|e| panic!("git {args:?} in {}: {e}", dir.display()))
}

/// A source repository `proj` on `main`, with an ignore rule, files to change and a
/// three-line file to conflict over; identity is repo-local, so a clone gets its own
/// with [`identify`].
pub struct Fixture {
    pub tmp: TempDir,
    pub repo: PathBuf,
    root: PathBuf,
}

pub fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("proj");
    fs::create_dir_all(&repo).unwrap();
    g(&repo, ["init", "-q", "-b", "main"]);
    identify(&repo);
    fs::write(repo.join(".gitignore"), "*.log\n").unwrap();
    fs::write(repo.join("keep.txt"), "keep\n").unwrap();
    fs::write(repo.join("mod.txt"), "before\n").unwrap();
    fs::write(repo.join("gone.txt"), "gone\n").unwrap();
    fs::write(repo.join("shared.txt"), "one\ntwo\nthree\n").unwrap();
    g(&repo, ["add", "-A"]);
    g(&repo, ["commit", "-q", "-m", "start"]);
    let root = tmp.path().join("workspaces");
    Fixture {
        repo: repo.canonicalize().unwrap(),
        tmp,
        root,
    }
}

impl Fixture {
    pub fn req<'a>(&'a self, strategy: Strategy, branch: &'a str) -> CreateRequest<'a> {
        CreateRequest {
            dir: &self.repo,
            strategy,
            title: "land",
            branch: Some(branch),
            root: &self.root,
            id_hint: branch,
        }
    }

    /// A workspace on branch `work`, with a git identity of its own.
    pub fn create(&self, strategy: Strategy) -> Workspace {
        let ws = create(&self.req(strategy, "work")).unwrap();
        identify(&ws.path);
        ws
    }

    /// A bare repository added to the source as remote `name`.
    pub fn remote(&self, name: &str) -> PathBuf {
        let bare = self.tmp.path().join(format!("{name}.git"));
        g(
            self.tmp.path(),
            ["init", "-q", "--bare", bare.to_str().unwrap()],
        );
        g(&self.repo, ["remote", "add", name, bare.to_str().unwrap()]);
        bare
    }
}

pub fn identify(dir: &Path) {
    g(dir, ["config", "user.name", "Test"]);
    g(dir, ["config", "user.email", "test@example.com"]);
    g(dir, ["config", "commit.gpgsign", "false"]);
}

/// Writes `text` to `name` in `dir` and commits it there with git itself.
pub fn commit_file(dir: &Path, name: &str, text: &str) -> String {
    fs::write(dir.join(name), text).unwrap();
    g(dir, ["add", "--", name]);
    g(dir, ["commit", "-q", "-m", &format!("write {name}")]);
    g(dir, ["rev-parse", "HEAD"])
}

pub fn head(dir: &Path) -> String {
    g(dir, ["rev-parse", "HEAD"])
}

/// The parents of `commit`, in order.
pub fn parents(dir: &Path, commit: &str) -> Vec<String> {
    let line = g(dir, ["rev-list", "--parents", "-n", "1", commit]);
    line.split(' ').skip(1).map(str::to_string).collect()
}

/// The files of a commit's tree, read in `repo`.
pub fn tree(repo: &Path, commit: &str) -> Files {
    let out = git::output(repo, ["ls-tree", "-r", "-z", commit]).unwrap();
    let mut files = Files::new();
    for entry in out.stdout.split(|b| *b == 0).filter(|e| !e.is_empty()) {
        let entry = String::from_utf8(entry.to_vec()).unwrap();
        let (meta, path) = entry.split_once('\t').unwrap();
        let fields: Vec<&str> = meta.split(' ').collect();
        let blob = git::output(repo, ["cat-file", "blob", fields[2]]).unwrap();
        files.insert(path.to_string(), (fields[0] == "100755", blob.stdout));
    }
    files
}

pub fn git_path(dir: &Path, name: &str) -> PathBuf {
    PathBuf::from(g(
        dir,
        ["rev-parse", "--path-format=absolute", "--git-path", name],
    ))
}

pub fn index_bytes(dir: &Path) -> Vec<u8> {
    fs::read(git_path(dir, "index")).unwrap()
}

pub fn status(dir: &Path) -> String {
    g(dir, ["status", "--porcelain=v2", "--untracked-files=all"])
}

/// Everything a refused merge must leave as it was in a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    refs: String,
    head: String,
    index: Vec<u8>,
    status: String,
    files: Files,
    merge_head: bool,
}

impl State {
    pub fn merge_head_exists(&self) -> bool {
        self.merge_head
    }
}

pub fn state(dir: &Path) -> State {
    let merge_head = git_path(dir, "MERGE_HEAD").exists();
    let head = g(dir, ["rev-parse", "--symbolic-full-name", "HEAD"]) + " " + &self::head(dir);
    State {
        refs: g(dir, ["for-each-ref", "--format=%(refname) %(objectname)"]),
        head,
        index: index_bytes(dir),
        status: status(dir),
        files: crate::support::files_on_disk(dir),
        merge_head,
    }
}

/// Checks that `e` is one line with a remedy, and returns it.
pub fn one_line(e: &WorkspaceError) -> String {
    let msg = e.to_string();
    assert!(!msg.contains('\n'), "multi-line message: {msg}");
    assert!(msg.contains(": "), "message says no remedy: {msg}");
    msg
}
