use flotilla::core::Strategy;
use flotilla::git;
use flotilla::workspace::{
    Cleanup, CreateRequest, Workspace, WorkspaceError, changes, cleanup, create, ensure_present,
    plan, undo_create,
};
use rstest::rstest;
use std::fs;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// A source repository `proj` with two commits on `main`, and a workspace root, in a
/// private temporary directory. Identity is repo-local so global config is not needed.
struct Fixture {
    tmp: TempDir,
    repo: PathBuf,
    root: PathBuf,
}

fn g<const N: usize>(dir: &Path, args: [&str; N]) -> String {
    git::run(dir, args).unwrap_or_else(|e| panic!("git {args:?}: {e}"))
}

fn init_repo(dir: &Path) {
    fs::create_dir_all(dir).unwrap();
    g(dir, ["init", "-q", "-b", "main"]);
    g(dir, ["config", "user.name", "Test"]);
    g(dir, ["config", "user.email", "test@example.com"]);
    g(dir, ["config", "commit.gpgsign", "false"]);
}

fn commit(dir: &Path, file: &str, text: &str) {
    fs::write(dir.join(file), text).unwrap();
    g(dir, ["add", "--", file]);
    g(dir, ["commit", "-q", "-m", file]);
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("proj");
    init_repo(&repo);
    commit(&repo, "a.txt", "one\n");
    commit(&repo, "b.txt", "two\n");
    let root = tmp.path().join("workspaces");
    Fixture { tmp, repo, root }
}

impl Fixture {
    fn req(&self, strategy: Strategy) -> CreateRequest<'_> {
        CreateRequest {
            dir: &self.repo,
            strategy,
            title: "fix login!",
            branch: None,
            root: &self.root,
            id_hint: "1a2b3c4d",
        }
    }

    fn create(&self, strategy: Strategy) -> Workspace {
        create(&self.req(strategy)).unwrap()
    }

    fn head(&self) -> String {
        g(&self.repo, ["rev-parse", "HEAD"])
    }

    fn has_branch(&self, name: &str) -> bool {
        let r = format!("refs/heads/{name}");
        git::succeeds(&self.repo, ["show-ref", "--verify", "--quiet", &r]).unwrap()
    }

    /// The source repository is on main at its original commit with nothing changed.
    fn assert_source_untouched(&self, head: &str) {
        assert_eq!(self.head(), head);
        assert_eq!(g(&self.repo, ["symbolic-ref", "HEAD"]), "refs/heads/main");
        assert_eq!(g(&self.repo, ["status", "--porcelain"]), "");
    }
}

fn canonical(p: &Path) -> PathBuf {
    p.canonicalize().unwrap()
}

fn one_line(e: &WorkspaceError) -> String {
    let msg = e.to_string();
    assert!(!msg.contains('\n'), "multi-line message: {msg}");
    assert!(msg.contains(": "), "message says no remedy: {msg}");
    msg
}

#[test]
fn existing_uses_the_directory_as_it_is() {
    let f = fixture();
    let head = f.head();
    let ws = f.create(Strategy::Existing);
    assert_eq!(ws.path, canonical(&f.repo));
    assert!(ws.path.is_absolute());
    assert_eq!(ws.source_repo, canonical(&f.repo));
    assert_eq!(ws.strategy, Strategy::Existing);
    assert_eq!(ws.branch.as_deref(), Some("main"));
    assert_eq!(ws.base_commit, head);
    assert_eq!(ws.base_commit.len(), 40);
    f.assert_source_untouched(&head);
    assert!(
        !f.root.exists(),
        "existing must not make workspace directories"
    );
    ensure_present(&ws).unwrap();
}

#[test]
fn existing_from_a_subdirectory_and_detached_head() {
    let f = fixture();
    let sub = f.repo.join("sub");
    fs::create_dir(&sub).unwrap();
    g(&f.repo, ["checkout", "-q", "--detach"]);
    let ws = create(&CreateRequest {
        dir: &sub,
        ..f.req(Strategy::Existing)
    })
    .unwrap();
    assert_eq!(ws.path, canonical(&sub));
    assert_eq!(ws.source_repo, canonical(&f.repo));
    assert_eq!(ws.branch, None);
    assert_eq!(ws.base_commit, f.head());
    ensure_present(&ws).unwrap();
}

#[rstest]
#[case::worktree(Strategy::Worktree)]
#[case::clone(Strategy::Clone)]
fn new_workspace_on_a_new_branch(#[case] strategy: Strategy) {
    let f = fixture();
    let head = f.head();
    let ws = f.create(strategy);
    assert!(ws.path.is_dir());
    assert!(ws.path.is_absolute());
    assert_eq!(ws.path, canonical(&ws.path));
    assert_eq!(ws.path.parent(), Some(canonical(&f.root).as_path()));
    assert_eq!(
        ws.path.file_name().unwrap(),
        "proj-flotilla-fix-login-1a2b3c4d"
    );
    assert_eq!(ws.source_repo, canonical(&f.repo));
    assert_eq!(ws.strategy, strategy);
    assert_eq!(ws.branch.as_deref(), Some("flotilla/fix-login"));
    assert_eq!(ws.base_commit, head);
    assert_eq!(g(&ws.path, ["rev-parse", "HEAD"]), head);
    assert_eq!(
        g(&ws.path, ["symbolic-ref", "HEAD"]),
        "refs/heads/flotilla/fix-login"
    );
    assert!(ws.path.join("b.txt").is_file());
    assert_eq!(g(&ws.path, ["status", "--porcelain"]), "");
    f.assert_source_untouched(&head);
    ensure_present(&ws).unwrap();
    let worktrees = g(&f.repo, ["worktree", "list", "--porcelain"]);
    let listed = worktrees.contains(&format!("worktree {}\n", ws.path.display()));
    if strategy == Strategy::Worktree {
        assert!(f.has_branch("flotilla/fix-login"));
        assert!(listed, "{worktrees}");
    } else {
        assert!(!f.has_branch("flotilla/fix-login"));
        assert!(!listed, "{worktrees}");
        assert!(ws.path.join(".git").is_dir());
        let origin = g(&ws.path, ["remote", "get-url", "origin"]);
        assert_eq!(PathBuf::from(origin), canonical(&f.repo));
    }
}

#[test]
fn derived_branch_gets_the_first_free_suffix() {
    let f = fixture();
    g(&f.repo, ["branch", "flotilla/fix-login"]);
    g(&f.repo, ["branch", "flotilla/fix-login-2"]);
    let ws = f.create(Strategy::Worktree);
    assert_eq!(ws.branch.as_deref(), Some("flotilla/fix-login-3"));

    let again = create(&CreateRequest {
        id_hint: "99999999",
        ..f.req(Strategy::Worktree)
    })
    .unwrap();
    assert_eq!(again.branch.as_deref(), Some("flotilla/fix-login-4"));
    assert_ne!(again.path, ws.path);
}

#[rstest]
#[case::explicit_worktree(Strategy::Worktree, "feature/x")]
#[case::explicit_clone(Strategy::Clone, "feature/x")]
fn explicit_branch_is_used_and_slashes_leave_the_dir_name(
    #[case] strategy: Strategy,
    #[case] branch: &str,
) {
    let f = fixture();
    let ws = create(&CreateRequest {
        branch: Some(branch),
        ..f.req(strategy)
    })
    .unwrap();
    assert_eq!(ws.branch.as_deref(), Some(branch));
    assert_eq!(ws.path.file_name().unwrap(), "proj-feature-x-1a2b3c4d");
}

#[rstest]
#[case::worktree(Strategy::Worktree)]
#[case::clone(Strategy::Clone)]
fn explicit_branch_taken(#[case] strategy: Strategy) {
    let f = fixture();
    let err = create(&CreateRequest {
        branch: Some("main"),
        ..f.req(strategy)
    })
    .unwrap_err();
    assert!(
        matches!(&err, WorkspaceError::BranchExists(b) if b == "main"),
        "{err}"
    );
    assert!(one_line(&err).contains("--branch"));
    assert!(!f.root.join("proj-main-1a2b3c4d").exists());
}

#[rstest]
#[case("bad..name")]
#[case("a b")]
#[case("-leading-dash")]
#[case("ends.lock")]
#[case("@{-1}")]
#[case("")]
#[case("two\nlines")]
fn invalid_branch(#[case] branch: &str) {
    let f = fixture();
    let err = create(&CreateRequest {
        branch: Some(branch),
        ..f.req(Strategy::Worktree)
    })
    .unwrap_err();
    assert!(
        matches!(&err, WorkspaceError::InvalidBranch(b) if b == branch),
        "{err}"
    );
    one_line(&err);
}

#[rstest]
#[case::a_file("file.txt", true)]
#[case::missing("missing", false)]
fn not_a_directory(#[case] name: &str, #[case] make_file: bool) {
    let f = fixture();
    let path = f.tmp.path().join(name);
    if make_file {
        fs::write(&path, "x").unwrap();
    }
    let err = create(&CreateRequest {
        dir: &path,
        ..f.req(Strategy::Existing)
    })
    .unwrap_err();
    assert!(
        matches!(&err, WorkspaceError::NotADirectory(p) if *p == path),
        "{err}"
    );
    assert!(one_line(&err).starts_with(&path.display().to_string()));
}

#[test]
fn plain_directory_is_not_a_repo() {
    let f = fixture();
    let plain = f.tmp.path().join("plain");
    fs::create_dir(&plain).unwrap();
    let err = create(&CreateRequest {
        dir: &plain,
        ..f.req(Strategy::Worktree)
    })
    .unwrap_err();
    assert!(matches!(err, WorkspaceError::NotARepo(_)), "{err}");
    assert!(one_line(&err).contains("git init"));
}

#[test]
fn a_plain_directory_is_used_as_it_is_with_existing() {
    let f = fixture();
    let plain = f.tmp.path().join("plain");
    fs::create_dir(&plain).unwrap();
    let ws = create(&CreateRequest {
        dir: &plain,
        ..f.req(Strategy::Existing)
    })
    .expect("a plain directory is fine as it is");
    assert_eq!(ws.path, plain.canonicalize().unwrap());
    assert!(!ws.is_git() && ws.branch.is_none());
    flotilla::workspace::ensure_present(&ws).expect("present");
    fs::remove_dir(&plain).unwrap();
    assert!(flotilla::workspace::ensure_present(&ws).is_err(), "gone");
}

#[rstest]
#[case::existing(Strategy::Existing)]
#[case::worktree(Strategy::Worktree)]
fn repo_without_commits(#[case] strategy: Strategy) {
    let f = fixture();
    let empty = f.tmp.path().join("empty");
    init_repo(&empty);
    let err = create(&CreateRequest {
        dir: &empty,
        ..f.req(strategy)
    })
    .unwrap_err();
    assert!(
        matches!(&err, WorkspaceError::NoCommits(p) if *p == canonical(&empty)),
        "{err}"
    );
    one_line(&err);
}

#[rstest]
#[case::worktree(Strategy::Worktree)]
#[case::clone(Strategy::Clone)]
fn target_already_exists(#[case] strategy: Strategy) {
    let f = fixture();
    let target = f.root.join("proj-flotilla-fix-login-1a2b3c4d");
    fs::create_dir_all(&target).unwrap();
    fs::write(target.join("keep.txt"), "mine").unwrap();
    let err = create(&f.req(strategy)).unwrap_err();
    assert!(matches!(err, WorkspaceError::TargetExists(_)), "{err}");
    one_line(&err);
    assert_eq!(fs::read_to_string(target.join("keep.txt")).unwrap(), "mine");
    assert!(!f.has_branch("flotilla/fix-login"));
}

#[test]
fn clone_that_is_no_longer_a_work_tree_has_vanished() {
    let f = fixture();
    let ws = f.create(Strategy::Clone);
    fs::remove_dir_all(ws.path.join(".git")).unwrap();
    assert!(matches!(
        ensure_present(&ws),
        Err(WorkspaceError::Vanished(_))
    ));
    // Never delete a directory that is not a work tree, even when forced.
    assert!(matches!(
        cleanup(&ws, true),
        Err(WorkspaceError::Vanished(_))
    ));
    assert!(ws.path.exists());
}

#[test]
fn cleanup_worktree_keeps_branch_and_source() {
    let f = fixture();
    let head = f.head();
    let ws = f.create(Strategy::Worktree);
    assert_eq!(cleanup(&ws, false).unwrap(), Cleanup::Removed);
    assert!(!ws.path.exists());
    assert!(f.has_branch("flotilla/fix-login"));
    f.assert_source_untouched(&head);
    let list = g(&f.repo, ["worktree", "list", "--porcelain"]);
    assert!(!list.contains(&ws.path.display().to_string()), "{list}");
}

#[test]
fn deleted_worktree_has_vanished_and_cleanup_prunes_it() {
    let f = fixture();
    let ws = f.create(Strategy::Worktree);
    ensure_present(&ws).unwrap();
    fs::remove_dir_all(&ws.path).unwrap();
    let err = ensure_present(&ws).unwrap_err();
    assert!(
        matches!(&err, WorkspaceError::Vanished(p) if *p == ws.path),
        "{err}"
    );
    one_line(&err);
    assert_eq!(cleanup(&ws, false).unwrap(), Cleanup::AlreadyGone);
    let list = g(&f.repo, ["worktree", "list", "--porcelain"]);
    assert!(!list.contains(&ws.path.display().to_string()), "{list}");
    assert!(f.has_branch("flotilla/fix-login"));
}

#[rstest]
#[case::worktree_untracked(Strategy::Worktree, "new.txt")]
#[case::worktree_modified(Strategy::Worktree, "a.txt")]
#[case::clone_untracked(Strategy::Clone, "new.txt")]
#[case::clone_modified(Strategy::Clone, "a.txt")]
fn cleanup_refuses_dirty_unless_forced(#[case] strategy: Strategy, #[case] file: &str) {
    let f = fixture();
    let head = f.head();
    let ws = f.create(strategy);
    fs::write(ws.path.join(file), "changed\n").unwrap();
    let found = changes(&ws.path).unwrap();
    assert_eq!(found.total(), 1, "{found:?}");

    let err = cleanup(&ws, false).unwrap_err();
    assert!(
        matches!(&err, WorkspaceError::Dirty { changes, .. } if changes.total() == 1),
        "{err}"
    );
    assert!(one_line(&err).contains("--force"));
    assert!(ws.path.join(file).exists());

    assert_eq!(cleanup(&ws, true).unwrap(), Cleanup::Removed);
    assert!(!ws.path.exists());
    f.assert_source_untouched(&head);
}

#[test]
fn cleanup_clone_removes_it() {
    let f = fixture();
    let ws = f.create(Strategy::Clone);
    assert_eq!(cleanup(&ws, false).unwrap(), Cleanup::Removed);
    assert!(!ws.path.exists());
    assert!(f.root.is_dir());
    assert_eq!(cleanup(&ws, false).unwrap(), Cleanup::AlreadyGone);
}

#[test]
fn cleanup_existing_keeps_the_directory() {
    let f = fixture();
    let ws = f.create(Strategy::Existing);
    fs::write(f.repo.join("scratch.txt"), "x").unwrap();
    assert_eq!(cleanup(&ws, true).unwrap(), Cleanup::KeptExisting);
    assert!(f.repo.join("scratch.txt").is_file());
    assert!(f.repo.join(".git").is_dir());
}

#[test]
fn uncommitted_changes_lists_paths() {
    let f = fixture();
    assert!(changes(&f.repo).unwrap().is_empty());
    g(&f.repo, ["mv", "a.txt", "renamed file.txt"]);
    fs::write(f.repo.join("b.txt"), "changed\n").unwrap();
    fs::write(f.repo.join("new.txt"), "new\n").unwrap();
    let mut found = changes(&f.repo).unwrap();
    found.modified.sort();
    assert_eq!(found.modified, ["b.txt", "renamed file.txt"]);
    assert_eq!(found.untracked, ["new.txt"]);
    assert!(found.ignored.is_empty());
}

/// What `git worktree add` leaves when it is killed mid-checkout: a directory with part of
/// the files and git's record of it, locked ("initializing"), which `git worktree prune`
/// will not touch. Undoing the creation removes all of it and the new branch.
#[test]
fn undo_create_removes_a_locked_half_made_worktree_and_its_branch() {
    let f = fixture();
    let head = f.head();
    let ws = f.create(Strategy::Worktree);
    let name = ws.path.file_name().unwrap().to_string_lossy().into_owned();
    fs::write(
        f.repo.join(".git/worktrees").join(&name).join("locked"),
        "initializing",
    )
    .unwrap();
    fs::remove_file(ws.path.join("a.txt")).unwrap();
    g(&f.repo, ["worktree", "prune"]);
    assert!(
        g(&f.repo, ["worktree", "list"]).contains(&name),
        "prune keeps it"
    );

    undo_create(&ws).unwrap();
    assert!(!ws.path.exists());
    assert!(!g(&f.repo, ["worktree", "list"]).contains(&name));
    assert!(!f.has_branch("flotilla/fix-login"));
    f.assert_source_untouched(&head);
}

/// A plan creates nothing; undoing a plan that was never made is harmless.
#[test]
fn a_plan_makes_nothing_and_undoing_it_is_harmless() {
    let f = fixture();
    let ws = plan(&f.req(Strategy::Worktree)).unwrap();
    assert!(!ws.path.exists());
    assert!(!f.has_branch("flotilla/fix-login"));
    undo_create(&ws).unwrap();
    // A branch the user made meanwhile, with commits of its own, is never deleted.
    g(&f.repo, ["branch", "flotilla/fix-login"]);
    commit(&f.repo, "c.txt", "three\n");
    g(&f.repo, ["branch", "-f", "flotilla/fix-login", "HEAD"]);
    undo_create(&ws).unwrap();
    assert!(f.has_branch("flotilla/fix-login"));
}

/// A branch someone made between the plan and the making is theirs: `make` refuses, and
/// nothing of theirs is undone.
#[test]
fn make_refuses_a_branch_taken_since_the_plan_and_leaves_it() {
    let f = fixture();
    let ws = plan(&f.req(Strategy::Worktree)).unwrap();
    g(&f.repo, ["branch", "flotilla/fix-login"]);
    let err =
        flotilla::workspace::make(&ws, &flotilla::process_groups::Registry::none()).unwrap_err();
    assert!(matches!(err, WorkspaceError::BranchExists(_)), "{err}");
    assert!(
        f.has_branch("flotilla/fix-login"),
        "the user's branch is kept"
    );
    undo_create(&ws).unwrap();
    assert!(
        f.has_branch("flotilla/fix-login"),
        "undo never takes a branch it did not make"
    );
}
