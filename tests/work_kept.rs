//! Cleanup never loses work: committed work in a clone, ignored files, a directory another
//! session works in, an id that names nothing, and workspaces a crash left half made or
//! half removed. Driven through the real CLI and daemon with the `shell` agent.

mod support;

use flotilla::store::{Store, WorkspaceState};
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::Repo;
use support::cli::{Flotilla, kill9, process_alive, wait_until};

const TURN: Duration = Duration::from_secs(20);

fn repo() -> Repo {
    let repo = Repo::new();
    repo.write("README", "hello\n");
    repo.write(".gitignore", "*.log\n");
    repo.commit_all("first");
    repo
}

fn new_session(f: &Flotilla, dir: &Path, strategy: &str, title: &str) -> Value {
    f.json(&[
        "new",
        "--dir",
        &dir.to_string_lossy(),
        "--strategy",
        strategy,
        "--title",
        title,
    ])
}

fn field(v: &Value, name: &str) -> String {
    v[name]
        .as_str()
        .unwrap_or_else(|| panic!("{name} in {v}"))
        .to_string()
}

/// Runs `prompt` in the session with the shell agent and waits for the turn to end.
fn turn(f: &Flotilla, id: &str, prompt: &str) {
    f.ok(&["send", id, prompt]);
    f.wait_status(id, "idle", TURN);
}

const COMMIT: &str = "git add -A && git -c user.name=t -c user.email=t@t commit -qm work";

#[test]
fn clone_cleanup_keeps_the_committed_branch_in_the_source() {
    let repo = repo();
    let f = Flotilla::new();
    let s = new_session(&f, repo.path(), "clone", "clone work");
    let (id, ws, branch) = (field(&s, "id"), field(&s, "workspace"), field(&s, "branch"));
    turn(&f, &id, &format!("echo done > result.txt && {COMMIT}"));
    let tip = support::git_in(Path::new(&ws), &["rev-parse", "HEAD"]);

    let stopped = f.run(&["stop", &id, "--cleanup"]);
    assert!(stopped.status.success(), "{stopped:?}");
    assert!(!Path::new(&ws).exists(), "the clone is removed");
    let kept = repo.git(&["rev-parse", &format!("refs/heads/{branch}")]);
    assert_eq!(
        kept, tip,
        "the commit is on the branch in the source repository"
    );
    assert_eq!(repo.git(&["show", &format!("{branch}:result.txt")]), "done");
}

#[test]
fn clone_cleanup_never_overwrites_a_different_branch_in_the_source() {
    let repo = repo();
    let f = Flotilla::new();
    let s = new_session(&f, repo.path(), "clone", "diverged");
    let (id, ws, branch) = (field(&s, "id"), field(&s, "workspace"), field(&s, "branch"));
    turn(&f, &id, &format!("echo agent > agent.txt && {COMMIT}"));
    // Meanwhile the user made a branch of the same name in the source, elsewhere.
    repo.git(&["checkout", "-q", "-b", &branch]);
    repo.write("user.txt", "mine\n");
    let users = repo.commit_all("the user's own");
    repo.git(&["checkout", "-q", "main"]);

    let refused = f.fails(&["stop", &id, "--cleanup"]);
    assert!(refused.contains(&branch), "{refused}");
    assert!(refused.contains("nothing was"), "{refused}");
    assert!(
        Path::new(&ws).join("agent.txt").exists(),
        "the clone is kept"
    );
    assert_eq!(repo.git(&["rev-parse", &branch]), users);
    // Even --force keeps the branch: the clone stays until it can be saved.
    f.fails(&["stop", &id, "--cleanup", "--force"]);
    assert!(Path::new(&ws).join("agent.txt").exists());
}

#[test]
fn ignored_files_block_cleanup_without_force() {
    let repo = repo();
    let f = Flotilla::new();
    let s = new_session(&f, repo.path(), "worktree", "notes");
    let (id, ws) = (field(&s, "id"), field(&s, "workspace"));
    turn(&f, &id, "echo remember > notes.log");

    let refused = f.fails(&["stop", &id, "--cleanup"]);
    assert!(refused.contains("1 ignored file (notes.log)"), "{refused}");
    assert!(refused.contains("--force"), "{refused}");
    assert!(Path::new(&ws).join("notes.log").exists());
    assert_eq!(f.status(&id), "idle", "nothing was changed");

    turn(&f, &id, "echo scratch > new.txt");
    let refused = f.fails(&["stop", &id, "--cleanup"]);
    assert!(
        refused.contains("1 untracked and 1 ignored files"),
        "{refused}"
    );

    f.ok(&["stop", &id, "--cleanup", "--force"]);
    assert!(!Path::new(&ws).exists());
}

/// `status.showUntrackedFiles=no`, common in big repositories, hides untracked and
/// ignored files from a plain `git status`; the check must see them all the same.
#[test]
fn a_users_status_settings_hide_nothing_from_the_check() {
    let repo = repo();
    repo.git(&["config", "status.showUntrackedFiles", "no"]);
    let f = Flotilla::new();
    let s = new_session(&f, repo.path(), "worktree", "hidden");
    let (id, ws) = (field(&s, "id"), field(&s, "workspace"));
    turn(&f, &id, "echo a > new.txt && echo b > notes.log");
    let refused = f.fails(&["stop", &id, "--cleanup"]);
    assert!(refused.contains("1 untracked and 1 ignored"), "{refused}");
    assert!(Path::new(&ws).join("new.txt").exists());
}

/// A stash lives in the clone alone: it is work the cleanup would lose.
#[test]
fn a_stash_in_a_clone_blocks_cleanup_without_force() {
    let repo = repo();
    let f = Flotilla::new();
    let s = new_session(&f, repo.path(), "clone", "stashed");
    let (id, ws) = (field(&s, "id"), field(&s, "workspace"));
    turn(
        &f,
        &id,
        "echo x > README && git -c user.name=t -c user.email=t@t stash -q",
    );
    let refused = f.fails(&["stop", &id, "--cleanup"]);
    assert!(refused.contains("stash"), "{refused}");
    assert!(Path::new(&ws).is_dir());
}

#[test]
fn a_commit_on_no_branch_blocks_cleanup_without_force() {
    let repo = repo();
    let f = Flotilla::new();
    let s = new_session(&f, repo.path(), "worktree", "detached");
    let (id, ws) = (field(&s, "id"), field(&s, "workspace"));
    turn(
        &f,
        &id,
        &format!("git checkout -q --detach && echo x > x.txt && {COMMIT}"),
    );
    let refused = f.fails(&["stop", &id, "--cleanup"]);
    assert!(refused.contains("detached HEAD"), "{refused}");
    assert!(Path::new(&ws).join("x.txt").exists());
}

#[test]
fn cleanup_keeps_a_workspace_another_session_works_inside() {
    let repo = repo();
    let f = Flotilla::new();
    let a = new_session(&f, repo.path(), "worktree", "outer");
    let (a_id, a_ws) = (field(&a, "id"), field(&a, "workspace"));
    let inner = Path::new(&a_ws).join("sub");
    fs::create_dir_all(&inner).expect("mkdir");
    let b = new_session(&f, &inner, "existing", "inner");
    let b_id = field(&b, "id");

    let refused = f.fails(&["stop", &a_id, "--cleanup"]);
    assert!(
        refused.contains("also used by 1 other session"),
        "{refused}"
    );
    assert!(refused.contains(&b_id[..8]), "{refused}");
    assert!(inner.is_dir(), "the inner session's directory is kept");
    assert_eq!(f.status(&a_id), "idle");
}

#[test]
fn an_id_of_only_dashes_matches_nothing() {
    let repo = repo();
    let f = Flotilla::new();
    let s = new_session(&f, repo.path(), "existing", "only one");
    let id = field(&s, "id");
    for bad in ["-", "  "] {
        let err = f.fails(&["rm", bad]);
        assert!(err.contains("flotilla ls"), "{bad:?}: {err}");
    }
    let err = f.fails(&["rm", "xyz"]);
    assert!(err.contains("not a session id"), "{err}");
    assert_eq!(f.status(&id), "idle", "the session is still there");
}

#[test]
fn a_vanished_workspace_is_cleaned_up_without_force() {
    let repo = repo();
    let f = Flotilla::new();
    let s = new_session(&f, repo.path(), "worktree", "vanish");
    let (id, ws) = (field(&s, "id"), field(&s, "workspace"));
    fs::remove_dir_all(&ws).expect("rm");
    let stopped = f.json(&["stop", &id, "--cleanup"]);
    assert_eq!(stopped["status"], "stopped");
    let list = repo.git(&["worktree", "list", "--porcelain"]);
    assert!(!list.contains(&ws), "{list}");
}

/// `kill -9` of the daemon while `git worktree add` runs: the next daemon ends git and
/// removes the half-made worktree, git's record of it and its new branch.
#[test]
fn kill_dash_nine_during_new_leaves_nothing_half_made() {
    let repo = repo();
    let marker = repo.path().join("checkout-started");
    let pids = repo.path().join("hook.pid");
    // The checkout blocks in its hook until the test has killed the daemon.
    let hook = repo.path().join(".git/hooks/post-checkout");
    fs::write(
        &hook,
        format!(
            "#!/bin/sh\necho $$ > '{}'\ntouch '{}'\nexec sleep 300\n",
            pids.display(),
            marker.display()
        ),
    )
    .expect("hook");
    support::make_executable(&hook);
    let f = Flotilla::new();
    f.ok(&["ls"]);
    let daemon = f.daemon_pid();
    let mut new = f
        .command(&[
            "new",
            "--dir",
            &repo.path().to_string_lossy(),
            "--strategy",
            "worktree",
            "--title",
            "half made",
        ])
        .spawn()
        .expect("new");
    wait_until(Duration::from_secs(20), "the checkout to start", || {
        marker.exists()
    });
    kill9(daemon);
    let _ = new.wait();
    let hook_pid: i32 = fs::read_to_string(&pids)
        .expect("hook pid")
        .trim()
        .parse()
        .expect("pid");

    // The next command starts a daemon that tidies up before it answers.
    assert_eq!(f.json(&["ls"]), serde_json::json!([]));
    assert!(!process_alive(hook_pid), "git's hook was left running");
    let list = repo.git(&["worktree", "list", "--porcelain"]);
    assert_eq!(list.matches("worktree ").count(), 1, "{list}");
    assert_eq!(
        repo.git(&["branch", "--list", "flotilla/*"]),
        "",
        "the new branch is gone"
    );
    assert!(workspace_dirs(&f).is_empty(), "{:?}", workspace_dirs(&f));
}

/// A crash while `--cleanup` removed a worktree leaves it recorded as `removing`, partly
/// deleted; the next start finishes the removal and keeps the branch.
#[test]
fn a_cleanup_cut_short_is_finished_at_the_next_start() {
    let repo = repo();
    let f = Flotilla::new();
    let s = new_session(&f, repo.path(), "worktree", "cut short");
    let (id, ws, branch) = (field(&s, "id"), field(&s, "workspace"), field(&s, "branch"));
    f.ok(&["stop", &id]);
    f.ok(&["daemon", "stop"]);
    {
        let store = Store::open(&f.path("flotilla.db")).expect("db");
        let sid = id.parse().expect("id");
        let (wid, _, _) = store.workspace_of(sid).expect("workspace");
        store
            .set_workspace_state(wid, WorkspaceState::Removing)
            .expect("state");
    }
    // What `git worktree remove` had done so far: the `.git` link and a file are gone.
    fs::remove_file(Path::new(&ws).join(".git")).expect("rm .git");
    fs::remove_file(Path::new(&ws).join("README")).expect("rm README");

    let session = f.session(&id);
    assert_eq!(session["status"], "stopped");
    assert!(!Path::new(&ws).exists(), "the removal was finished");
    let list = repo.git(&["worktree", "list", "--porcelain"]);
    assert!(!list.contains(&ws), "{list}");
    assert!(!repo.git(&["branch", "--list", &branch]).is_empty());
    let err = f.fails(&["resume", &id]);
    assert!(err.contains("cleaned up"), "{err}");
}

fn workspace_dirs(f: &Flotilla) -> Vec<PathBuf> {
    fs::read_dir(f.path("workspaces"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

#[test]
fn a_stopped_sessions_workspace_can_still_be_cleaned_up() {
    let repo = repo();
    let f = Flotilla::new();
    let s = new_session(&f, repo.path(), "worktree", "stopped work");
    let (id, ws) = (field(&s, "id"), field(&s, "workspace"));
    turn(&f, &id, "echo draft > notes.txt");
    f.ok(&["stop", &id]);
    f.wait_status(&id, "stopped", TURN);

    // Uncommitted work still stops it, and nothing changes.
    let refused = f.fails(&["stop", &id, "--cleanup"]);
    assert!(refused.contains("notes.txt"), "{refused}");
    assert!(Path::new(&ws).join("notes.txt").exists());

    let cleaned = f.json(&["stop", &id, "--cleanup", "--force"]);
    assert_eq!(cleaned["status"], "stopped", "{cleaned}");
    assert!(!Path::new(&ws).exists(), "the worktree is removed");
    let again = f.fails(&["stop", &id, "--cleanup"]);
    assert!(again.contains("already removed"), "{again}");
}
