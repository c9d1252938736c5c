//! Snapshots of workspaces against real git repositories: what a snapshot records, that
//! taking one changes nothing, and that the files come back exactly.

mod support;

use flotilla::core::Strategy;
use flotilla::git;
use flotilla::process_groups::Registry;
use flotilla::workspace::{
    CreateRequest, Snapshot, Workspace, WorkspaceError, apply, create, keep_branch, make, plan,
    recreate, remove, snapshot, start_from,
};
use rstest::rstest;
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use tempfile::TempDir;

const REF: &str = "refs/flotilla/chronicles/test-1";

/// Files by path: whether executable, and the bytes.
type Files = BTreeMap<String, (bool, Vec<u8>)>;

fn g<const N: usize>(dir: &Path, args: [&str; N]) -> String {
    git::run(dir, args).unwrap_or_else(|e| panic!("git {args:?}: {e}"))
}

/// A source repository `proj` on `main` with an ignore rule and files to change; identity
/// is repo-local (a clone does not copy it, so commits there pass it with `-c`).
struct Fixture {
    _tmp: TempDir,
    repo: PathBuf,
    root: PathBuf,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("proj");
    fs::create_dir_all(&repo).unwrap();
    g(&repo, ["init", "-q", "-b", "main"]);
    g(&repo, ["config", "user.name", "Test"]);
    g(&repo, ["config", "user.email", "test@example.com"]);
    g(&repo, ["config", "commit.gpgsign", "false"]);
    fs::write(repo.join(".gitignore"), "*.log\n").unwrap();
    fs::write(repo.join("keep.txt"), "keep\n").unwrap();
    fs::write(repo.join("mod.txt"), "before\n").unwrap();
    fs::write(repo.join("gone.txt"), "gone\n").unwrap();
    g(&repo, ["add", "-A"]);
    g(&repo, ["commit", "-q", "-m", "start"]);
    let root = tmp.path().join("workspaces");
    Fixture {
        _tmp: tmp,
        repo: repo.canonicalize().unwrap(),
        root,
    }
}

impl Fixture {
    fn req<'a>(&'a self, strategy: Strategy, branch: &'a str) -> CreateRequest<'a> {
        CreateRequest {
            dir: &self.repo,
            strategy,
            title: "snap",
            branch: Some(branch),
            root: &self.root,
            id_hint: branch,
        }
    }

    fn create(&self, strategy: Strategy) -> Workspace {
        create(&self.req(strategy, "work")).unwrap()
    }
}

fn commit_in(dir: &Path, msg: &str) {
    let id = ["-c", "user.name=Test", "-c", "user.email=test@example.com"];
    g(dir, [id[0], id[1], id[2], id[3], "commit", "-q", "-m", msg]);
}

/// Every kind of change a snapshot must see, and one it must not (the ignored log).
fn make_dirty(dir: &Path) {
    fs::write(dir.join("branch.txt"), "on the branch\n").unwrap();
    g(dir, ["add", "branch.txt"]);
    commit_in(dir, "branch work");
    fs::write(dir.join("mod.txt"), "after\n").unwrap();
    fs::write(dir.join("staged.txt"), "staged\n").unwrap();
    g(dir, ["add", "staged.txt"]);
    fs::remove_file(dir.join("gone.txt")).unwrap();
    fs::write(dir.join("new.txt"), "new\n").unwrap();
    fs::create_dir_all(dir.join("dir/sub")).unwrap();
    fs::write(dir.join("dir/sub/deep.txt"), "deep\n").unwrap();
    fs::write(dir.join("with space.txt"), "spaced\n").unwrap();
    fs::write(dir.join("tool.sh"), "#!/bin/sh\necho hi\n").unwrap();
    fs::set_permissions(dir.join("tool.sh"), fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(dir.join("debug.log"), "ignored\n").unwrap();
}

/// What a snapshot of a `make_dirty` workspace holds.
fn expected() -> Files {
    let file = |exec: bool, text: &str| (exec, text.as_bytes().to_vec());
    [
        (".gitignore", file(false, "*.log\n")),
        ("branch.txt", file(false, "on the branch\n")),
        ("dir/sub/deep.txt", file(false, "deep\n")),
        ("keep.txt", file(false, "keep\n")),
        ("mod.txt", file(false, "after\n")),
        ("new.txt", file(false, "new\n")),
        ("staged.txt", file(false, "staged\n")),
        ("tool.sh", file(true, "#!/bin/sh\necho hi\n")),
        ("with space.txt", file(false, "spaced\n")),
    ]
    .into_iter()
    .map(|(p, f)| (p.to_string(), f))
    .collect()
}

/// The files of a commit's tree, read in `repo`.
fn tree(repo: &Path, commit: &str) -> Files {
    let out = git::output(repo, ["ls-tree", "-r", "-z", commit]).unwrap();
    let mut files = Files::new();
    for entry in out.stdout.split(|b| *b == 0).filter(|e| !e.is_empty()) {
        let entry = String::from_utf8(entry.to_vec()).unwrap();
        let (meta, path) = entry.split_once('\t').unwrap();
        let fields: Vec<&str> = meta.split(' ').collect();
        assert_eq!(fields[1], "blob", "{entry}");
        let blob = git::output(repo, ["cat-file", "blob", fields[2]]).unwrap();
        files.insert(path.to_string(), (fields[0] == "100755", blob.stdout));
    }
    files
}

/// The files on disk under `dir`, without `.git`.
fn walk(dir: &Path) -> Files {
    support::files_on_disk(dir)
}

fn status(dir: &Path) -> Vec<String> {
    let out = g(dir, ["status", "--porcelain", "--untracked-files=all"]);
    let mut lines: Vec<String> = out.lines().map(str::to_string).collect();
    lines.sort();
    lines
}

fn index_bytes(dir: &Path) -> Vec<u8> {
    let path = g(
        dir,
        ["rev-parse", "--path-format=absolute", "--git-path", "index"],
    );
    fs::read(path).unwrap()
}

/// Takes the snapshot, checking that it changes nothing in the workspace.
fn snapshot_untouched(ws: &Workspace) -> Snapshot {
    let (status_before, index_before) = (status(&ws.path), index_bytes(&ws.path));
    let head = g(&ws.path, ["rev-parse", "HEAD"]);
    let branch = g(&ws.path, ["symbolic-ref", "HEAD"]);
    let files = walk(&ws.path);
    let snap = snapshot(ws, REF, "archived").unwrap();
    assert_eq!(snap.parent, head);
    assert_eq!(snap.commit.len(), 40);
    assert_eq!(status(&ws.path), status_before);
    assert_eq!(
        index_bytes(&ws.path),
        index_before,
        "the index is untouched"
    );
    assert_eq!(g(&ws.path, ["rev-parse", "HEAD"]), head);
    assert_eq!(g(&ws.path, ["symbolic-ref", "HEAD"]), branch);
    assert_eq!(walk(&ws.path), files);
    snap
}

fn one_line(e: &WorkspaceError) -> String {
    let msg = e.to_string();
    assert!(!msg.contains('\n'), "multi-line message: {msg}");
    assert!(msg.contains(": "), "message says no remedy: {msg}");
    msg
}

/// (1, 2) The snapshot holds the files as they are on disk, its parent is HEAD, and it
/// is kept in the source repository: for a clone, after the clone is gone.
#[rstest]
#[case::worktree(Strategy::Worktree)]
#[case::clone(Strategy::Clone)]
fn snapshot_records_the_tree_as_on_disk(#[case] strategy: Strategy) {
    let f = fixture();
    let ws = f.create(strategy);
    make_dirty(&ws.path);
    assert!(status(&ws.path).contains(&"A  staged.txt".to_string()));
    let snap = snapshot_untouched(&ws);
    if strategy == Strategy::Clone {
        fs::remove_dir_all(&ws.path).unwrap();
    }
    assert_eq!(g(&f.repo, ["rev-parse", REF]), snap.commit);
    assert_eq!(g(&f.repo, ["rev-parse", &format!("{REF}^@")]), snap.parent);
    let author = g(&f.repo, ["log", "-1", "--format=%an <%ae> %s", REF]);
    assert_eq!(author, "flotilla <flotilla@localhost> archived");
    assert_eq!(tree(&f.repo, &snap.commit), expected());
}

/// (3) Removed and re-created, the worktree has the same files, bytes and modes, on its
/// branch at the same commit, with the same status; the ignored file is not brought back.
#[test]
fn recreate_brings_the_removed_worktree_back() {
    let f = fixture();
    let ws = f.create(Strategy::Worktree);
    make_dirty(&ws.path);
    let before = status(&ws.path);
    let mut files = walk(&ws.path);
    let snap = snapshot_untouched(&ws);
    remove(&ws).unwrap();
    assert!(!ws.path.exists());

    recreate(&ws, REF, &snap.commit, &Registry::none()).unwrap();
    assert!(files.remove("debug.log").is_some());
    assert_eq!(walk(&ws.path), files);
    assert_eq!(files, expected());
    assert_eq!(g(&ws.path, ["symbolic-ref", "HEAD"]), "refs/heads/work");
    assert_eq!(g(&ws.path, ["rev-parse", "HEAD"]), snap.parent);
    // The index is HEAD's again: a staged new file comes back untracked. Modified stays
    // modified, deleted stays deleted, untracked stays untracked.
    let mut wanted: Vec<String> = before
        .iter()
        .map(|l| l.replace("A  staged.txt", "?? staged.txt"))
        .collect();
    wanted.sort();
    assert!(wanted.contains(&" D gone.txt".to_string()), "{wanted:?}");
    assert_eq!(status(&ws.path), wanted);
}

/// A clone comes back too: cloned from the source (where its branch was kept), with the
/// snapshot fetched into it.
#[test]
fn recreate_brings_a_removed_clone_back() {
    let f = fixture();
    let ws = f.create(Strategy::Clone);
    make_dirty(&ws.path);
    let snap = snapshot_untouched(&ws);
    keep_branch(&ws).unwrap();
    remove(&ws).unwrap();
    recreate(&ws, REF, &snap.commit, &Registry::none()).unwrap();
    assert_eq!(walk(&ws.path), expected());
    assert_eq!(g(&ws.path, ["rev-parse", "HEAD"]), snap.parent);
    assert_eq!(g(&ws.path, ["symbolic-ref", "HEAD"]), "refs/heads/work");
    // The clone's refs stay its own: the snapshot's ref is not copied into it.
    assert!(!g(&ws.path, ["for-each-ref"]).contains("refs/flotilla"));
}

/// (4) A new workspace on a new branch from the snapshot's parent gets exactly its files.
#[rstest]
#[case::worktree(Strategy::Worktree)]
#[case::clone(Strategy::Clone)]
fn start_from_brings_the_files_into_a_new_workspace(#[case] strategy: Strategy) {
    let f = fixture();
    let old = f.create(strategy);
    make_dirty(&old.path);
    // A clone's branch is kept in the source first, as at removal, so the parent is there.
    keep_branch(&old).unwrap();
    let mut new = plan(&f.req(strategy, "reforged")).unwrap();
    new.base_commit = g(&old.path, ["rev-parse", "HEAD"]);
    make(&new, &Registry::none()).unwrap();
    // Taken after the new clone was made, so the clone must fetch it.
    let snap = snapshot_untouched(&old);
    assert_eq!(snap.parent, new.base_commit);

    let inode = |name: &str| fs::metadata(new.path.join(name)).unwrap().ino();
    let keep = inode("keep.txt");
    start_from(&new, REF, &snap.commit).unwrap();
    assert_eq!(walk(&new.path), expected());
    // Files the snapshot did not change are not written again (git would make new ones).
    assert_eq!(inode("keep.txt"), keep);
    assert_eq!(
        g(&new.path, ["symbolic-ref", "HEAD"]),
        "refs/heads/reforged"
    );
    assert_eq!(g(&new.path, ["rev-parse", "HEAD"]), snap.parent);
    let mut changed = status(&new.path);
    changed.retain(|l| !l.starts_with("??"));
    assert_eq!(changed, [" D gone.txt", " M mod.txt"]);
}

/// `apply` makes the tree exactly the snapshot's even when HEAD is elsewhere: files HEAD
/// has that the snapshot lacks are deleted, ignored files are left alone.
#[test]
fn apply_over_another_head_deletes_what_the_snapshot_lacks() {
    let f = fixture();
    let ws = f.create(Strategy::Worktree);
    make_dirty(&ws.path);
    let snap = snapshot_untouched(&ws);
    let other = plan(&f.req(Strategy::Worktree, "other")).unwrap();
    make(&other, &Registry::none()).unwrap();
    fs::write(other.path.join("extra.txt"), "extra\n").unwrap();
    g(&other.path, ["add", "extra.txt"]);
    commit_in(&other.path, "extra");
    fs::write(other.path.join("other.log"), "mine\n").unwrap();

    apply(&other.path, &snap.commit).unwrap();
    let mut files = walk(&other.path);
    assert!(files.remove("other.log").is_some(), "ignored files stay");
    assert_eq!(files, expected());
}

/// (5) A path that exists is never written over: a live worktree or someone's directory.
#[test]
fn recreate_refuses_an_existing_path_and_leaves_it() {
    let f = fixture();
    let ws = f.create(Strategy::Worktree);
    make_dirty(&ws.path);
    let snap = snapshot_untouched(&ws);
    let (files, before) = (walk(&ws.path), status(&ws.path));
    let err = recreate(&ws, REF, &snap.commit, &Registry::none()).unwrap_err();
    assert!(
        matches!(err, WorkspaceError::RecreateTargetExists(_)),
        "{err}"
    );
    one_line(&err);
    assert_eq!(walk(&ws.path), files);
    assert_eq!(status(&ws.path), before);

    remove(&ws).unwrap();
    fs::create_dir_all(&ws.path).unwrap();
    fs::write(ws.path.join("mine.txt"), "mine\n").unwrap();
    let err = recreate(&ws, REF, &snap.commit, &Registry::none()).unwrap_err();
    assert!(
        matches!(err, WorkspaceError::RecreateTargetExists(_)),
        "{err}"
    );
    let mine = Files::from([("mine.txt".to_string(), (false, b"mine\n".to_vec()))]);
    assert_eq!(walk(&ws.path), mine);
    assert!(!ws.path.join(".git").exists());
    let list = g(&f.repo, ["worktree", "list", "--porcelain"]);
    assert!(!list.contains(&ws.path.display().to_string()), "{list}");
}

/// A re-creation that fails takes back what it made, and keeps the branch.
#[test]
fn failed_recreate_removes_what_it_made() {
    let f = fixture();
    let ws = f.create(Strategy::Worktree);
    remove(&ws).unwrap();
    let missing = "0123456789abcdef0123456789abcdef01234567";
    let err = recreate(&ws, REF, missing, &Registry::none()).unwrap_err();
    assert!(
        matches!(err, WorkspaceError::SnapshotMissing { .. }),
        "{err}"
    );
    one_line(&err);
    assert!(!ws.path.exists());
    let list = g(&f.repo, ["worktree", "list", "--porcelain"]);
    assert!(!list.contains(&ws.path.display().to_string()), "{list}");
    assert!(
        git::succeeds(
            &f.repo,
            ["show-ref", "--verify", "--quiet", "refs/heads/work"]
        )
        .unwrap()
    );
}

/// (6) A plain directory has no git to snapshot into: one line that says so.
#[test]
fn snapshot_of_a_plain_directory_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = create(&CreateRequest {
        dir: tmp.path(),
        strategy: Strategy::Existing,
        title: "plain",
        branch: None,
        root: &tmp.path().join("ws"),
        id_hint: "p",
    })
    .unwrap();
    assert!(!ws.is_git());
    let err = snapshot(&ws, REF, "x").unwrap_err();
    assert!(matches!(err, WorkspaceError::NotGit(_)), "{err}");
    assert!(one_line(&err).contains(&ws.path.display().to_string()));
}

/// An existing directory's snapshot is of its repository, kept there; names outside
/// refs/flotilla/ are refused.
#[test]
fn existing_snapshot_and_ref_names() {
    let f = fixture();
    let ws = f.create(Strategy::Existing);
    fs::write(f.repo.join("mod.txt"), "after\n").unwrap();
    let index = index_bytes(&f.repo);
    let snap = snapshot(&ws, REF, "x").unwrap();
    assert_eq!(index_bytes(&f.repo), index);
    assert_eq!(tree(&f.repo, &snap.commit)["mod.txt"].1, b"after\n");
    let err = start_from(&ws, REF, &snap.commit).unwrap_err();
    assert!(matches!(err, WorkspaceError::NotMadeByFlotilla(_)), "{err}");

    for bad in ["refs/heads/main", "HEAD", "refs/flotilla/"] {
        let err = snapshot(&ws, bad, "x").unwrap_err();
        assert!(matches!(err, WorkspaceError::SnapshotRef(_)), "{err}");
        one_line(&err);
    }
    assert_eq!(g(&f.repo, ["symbolic-ref", "HEAD"]), "refs/heads/main");
}
