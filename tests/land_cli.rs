//! Reviewing and landing through the real CLI and daemon binaries, with real git: the
//! checkpoints a session's turns leave, rollback, commit, merge, push and conflicts.

mod support;

use std::time::Duration;
use support::Repo;
use support::cli::{Flotilla, wait_until, worked};
use support::git_in;

const WAIT: Duration = Duration::from_secs(30);

fn repo() -> Repo {
    let repo = Repo::new();
    repo.write("README", "hello\n");
    repo.commit_all("first");
    repo
}

#[test]
fn checkpoints_rollback_commit_merge_and_push_through_the_cli() {
    let repo = repo();
    let f = Flotilla::new();
    let id = worked(
        &f,
        repo.path(),
        "worktree",
        "add notes",
        "echo one > notes.txt",
    );
    let listed = f.json(&["checkpoints", &id]);
    assert_eq!(listed[0]["turn"], 1, "{listed}");
    assert_eq!(listed[0]["files"][0]["path"], "notes.txt", "{listed}");
    let table = f.ok(&["checkpoints", &id]);
    assert!(table.contains("A notes.txt +1 -0"), "{table}");

    // A second turn, then back to the first.
    f.ok(&["send", &id, "echo two >> notes.txt && echo x > extra.txt"]);
    wait_until(WAIT, "the second checkpoint", || {
        f.json(&["checkpoints", &id]).as_array().map(Vec::len) == Some(2)
    });
    f.json(&["wait", &id, "--for", "idle", "--timeout", "30s"]);
    let ws = std::path::PathBuf::from(f.session(&id)["workspace"].as_str().expect("ws"));
    std::fs::write(ws.join("typed.txt"), "by hand\n").unwrap();
    let err = f.fails(&["rollback", &id, "1"]);
    assert!(
        err.contains("A typed.txt") && err.contains("--force"),
        "{err}"
    );
    assert!(ws.join("extra.txt").exists(), "nothing was rolled back");
    f.ok(&["rollback", &id, "1", "--force"]);
    assert_eq!(
        std::fs::read_to_string(ws.join("notes.txt")).unwrap(),
        "one\n"
    );
    assert!(!ws.join("extra.txt").exists() && !ws.join("typed.txt").exists());
    assert!(
        f.fails(&["rollback", &id, "7"])
            .contains("no checkpoint after turn 7")
    );

    // Commit with the message built from the title, then merge into main.
    let done = f.ok(&["commit", &id]);
    assert!(
        done.contains("committed 1 file(s) on flotilla/add-notes"),
        "{done}"
    );
    let subject = git_in(&ws, &["log", "-1", "--format=%s%n%b"]);
    assert!(
        subject.starts_with("add notes\n") && subject.contains("- notes.txt"),
        "{subject}"
    );
    assert!(f.ok(&["commit", &id]).contains("nothing to commit"));
    let merged = f.json(&["merge", &id]);
    assert!(
        merged["summary"]
            .as_str()
            .unwrap()
            .contains("into main (fast-forward)"),
        "{merged}"
    );
    assert_eq!(
        std::fs::read_to_string(repo.path().join("notes.txt")).unwrap(),
        "one\n"
    );
    assert!(git_in(repo.path(), &["status", "--porcelain"]).is_empty());

    // Push to a bare repository that is the source's origin.
    let bare = tempfile::tempdir().unwrap();
    git_in(bare.path(), &["init", "-q", "--bare"]);
    let bare_path = bare.path().to_string_lossy().into_owned();
    git_in(repo.path(), &["remote", "add", "origin", &bare_path]);
    assert!(
        f.ok(&["push", &id])
            .contains("pushed flotilla/add-notes to origin")
    );
    let there = git_in(bare.path(), &["rev-parse", "refs/heads/flotilla/add-notes"]);
    assert_eq!(there, git_in(&ws, &["rev-parse", "HEAD"]));
    let err = f.fails(&["push", &id, "--remote", "nowhere"]);
    assert!(err.contains("nowhere"), "{err}");
}

#[test]
fn a_conflicting_merge_changes_nothing_and_conflicts_lists_the_pair() {
    let repo = repo();
    let f = Flotilla::new();
    let a = worked(&f, repo.path(), "worktree", "alpha", "echo alpha > README");
    let b = worked(&f, repo.path(), "clone", "beta", "echo beta > README");
    let c = worked(
        &f,
        repo.path(),
        "worktree",
        "gamma",
        "echo gamma > other.txt",
    );
    wait_until(WAIT, "the conflict warning", || {
        f.json(&["conflicts"]).as_array().map(Vec::len) == Some(1)
    });
    let text = f.ok(&["conflicts"]);
    assert!(
        text.contains("alpha") && text.contains("beta") && text.contains("README"),
        "{text}"
    );
    assert!(!text.contains("gamma"), "{text}");

    for id in [&a, &b, &c] {
        let done = f.ok(&["commit", id]);
        assert!(done.contains("committed 1 file(s)"), "{done}");
    }
    f.ok(&["merge", &a]);
    let before = (
        git_in(repo.path(), &["for-each-ref"]),
        git_in(repo.path(), &["status", "--porcelain=v2"]),
        std::fs::read(repo.path().join(".git/index")).unwrap(),
    );
    let err = f.fails(&["merge", &b]);
    assert!(
        err.contains("README") && err.contains("nothing was changed"),
        "{err}"
    );
    let after = (
        git_in(repo.path(), &["for-each-ref"]),
        git_in(repo.path(), &["status", "--porcelain=v2"]),
        std::fs::read(repo.path().join(".git/index")).unwrap(),
    );
    assert_eq!(before, after);
    assert!(!repo.path().join(".git/MERGE_HEAD").exists());
    // Different files merge: a merge commit, as main moved on.
    let merged = f.ok(&["merge", &c, "--squash"]);
    assert!(merged.contains("squashed"), "{merged}");
    assert_eq!(
        std::fs::read_to_string(repo.path().join("other.txt")).unwrap(),
        "gamma\n"
    );

    // An existing-directory session commits but cannot merge into itself.
    let dir = repo.path().to_string_lossy().into_owned();
    let e = f.json(&["new", "--dir", &dir, "--strategy", "existing"]);
    let e = e["id"].as_str().unwrap().to_string();
    f.json(&["wait", &e, "--for", "idle", "--timeout", "30s"]);
    let err = f.fails(&["merge", &e]);
    assert!(err.contains("commit and push"), "{err}");
}
