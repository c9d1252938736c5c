//! Reviewing and landing from the dashboard in a real terminal: a comment written on a
//! hunk's line, sent to the agent and then shown sent; a session's work committed and
//! merged through the land menu, checked in git.

mod support;

use std::time::Duration;
use support::cli::{Flotilla, wait_until, worked};
use support::git_in;
use support::tmux::*;

const WAIT: Duration = Duration::from_secs(30);

#[test]
fn a_comment_on_a_hunk_line_is_sent_and_then_shown_sent() {
    let f = Flotilla::new();
    let repo = git_repo();
    let id = worked(
        &f,
        repo.path(),
        "worktree",
        "review me",
        "printf 'one\\ntwo\\n' > notes.txt",
    );
    let tmux = Tmux::start(&f, repo.path(), 80, 24);
    tmux.wait_until("the session in the sidebar", |s| s.contains("review me"));
    tmux.keys(&["2"]);
    tmux.wait_until("the hunk of notes.txt", |s| {
        s.contains("notes.txt +2 -0") && has_cell(s, "+one") && has_cell(s, "+two")
    });

    // `c` before the cursor is on the lines says how to get there.
    tmux.keys(&["c"]);
    tmux.wait_status_line("press enter first");
    // Onto the lines, down to the second, a comment on it.
    tmux.keys(&["Enter", "j", "c"]);
    tmux.wait_for("comment on notes.txt:2");
    tmux.type_text("spell it out: second");
    tmux.wait_for("spell it out: second");
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_until("the comment under its line, waiting", |s| {
        s.contains("╰ waiting") && !s.contains("comment on notes.txt:2")
    });
    let two = screen.lines().position(|l| has_cell(l, "+two"));
    let mark = screen.lines().position(|l| l.contains("╰ waiting"));
    assert!(
        two.is_some() && mark == two.map(|t| t + 1),
        "under +two:\n{screen}"
    );
    assert!(screen.contains("spell it out: second"), "{screen}");
    let kept = f.json(&["comments", &id]);
    assert_eq!(kept[0]["path"], "notes.txt", "{kept}");
    assert_eq!(kept[0]["line"], 2, "{kept}");
    assert!(kept[0]["sent_at"].is_null(), "{kept}");

    // Esc leaves the lines; C sends what waits, as one prompt.
    tmux.keys(&["Escape"]);
    tmux.wait_status_line("enter review");
    tmux.keys(&["C"]);
    tmux.wait_until("the comment marked sent", |s| {
        s.contains("╰ sent") && !s.contains("╰ waiting")
    });
    let sent = f.json(&["comments", &id]);
    assert!(sent[0]["sent_at"].is_string(), "{sent}");
    // The prompt the agent got quotes the file, the line and the comment.
    wait_until(WAIT, "the comments' prompt in the transcript", || {
        let log = f.ok(&["log", &id]);
        log.contains("notes.txt:2") && log.contains("Comment: spell it out: second")
    });
    tmux.keys(&["q"]);
    assert_eq!(tmux.wait_exit(), "0");
}

#[test]
fn a_session_is_committed_and_merged_from_the_land_menu() {
    let f = Flotilla::new();
    let repo = git_repo();
    worked(
        &f,
        repo.path(),
        "worktree",
        "add notes",
        "echo landed > notes.txt",
    );
    let tmux = Tmux::start(&f, repo.path(), 120, 40);
    tmux.wait_until("the session in the sidebar", |s| s.contains("add notes"));

    tmux.keys(&["m"]);
    let menu = tmux.wait_for("Commit and merge into main");
    // A merge on its own cannot take uncommitted work, and says so.
    assert!(
        menu.contains("uncommitted changes: commit them first"),
        "{menu}"
    );
    tmux.keys(&["j"]);
    tmux.keys(&["Enter"]);
    tmux.wait_status_line("uncommitted changes");
    tmux.keys(&["j", "Enter"]);
    let confirm = tmux.wait_for("Commit 1 file and merge");
    assert!(
        confirm.contains("A notes.txt"),
        "the files listed:\n{confirm}"
    );
    assert!(confirm.contains("fast-forward") || confirm.contains("merge commit"));
    // Nothing has happened yet.
    assert_eq!(
        git_in(repo.path(), &["rev-list", "--count", "main"]).trim(),
        "1"
    );
    tmux.keys(&["y"]);
    tmux.wait_status_line("merged flotilla/");

    assert_eq!(
        std::fs::read_to_string(repo.path().join("notes.txt")).unwrap(),
        "landed\n",
        "main's work tree has the session's file"
    );
    let subjects = git_in(repo.path(), &["log", "--format=%s", "main"]);
    assert!(subjects.lines().any(|l| l == "add notes"), "{subjects}");
    let status = git_in(repo.path(), &["status", "--porcelain"]);
    assert_eq!(status.trim(), "", "the source is clean");

    // Landed: the menu now has nothing to commit or merge.
    tmux.keys(&["m"]);
    let again = tmux.wait_for("nothing to commit: the workspace is clean");
    assert!(
        again.contains("nothing to merge: main has it all"),
        "{again}"
    );
    tmux.keys(&["Escape"]);
    tmux.keys(&["q"]);
    assert_eq!(tmux.wait_exit(), "0");
}
