//! The dashboard in a real terminal: the real `flotilla` binary runs full-screen in a
//! detached tmux server of its own, keys are sent to it and the screen is read back, as a
//! user would type and look. The daemon it spawns lives under a temporary FLOTILLA_HOME.

mod support;

use serde_json::Value;
use std::path::PathBuf;
use support::cli::Flotilla;
use support::tmux::*;

#[test]
fn a_session_from_the_dashboard_through_abort_terminate_and_restart() {
    let f = Flotilla::new();
    let repo = git_repo();
    let mut tmux = Tmux::start(&f, repo.path(), 120, 40);
    let screen = tmux.wait_for("no sessions yet");
    assert_eq!(screen.lines().count(), 40, "the dashboard fills the pane");
    assert_eq!(
        tmux.pane("#{alternate_on}"),
        "1",
        "drawn on the alternate screen"
    );

    // 1. A session with a first prompt that writes a file.
    let title = "dashboard test";
    create_session(
        &tmux,
        title,
        "printf 'a\\nb\\n' > made.txt && echo wrote-it",
        1,
    );

    // 2. Its output in the Messages tab, its file in the Diffs tab.
    tmux.wait_until("wrote-it on a line of its own", |s| has_cell(s, "wrote-it"));
    tmux.wait_header("○ idle");
    tmux.keys(&["2"]);
    tmux.wait_until("made.txt and its hunk in the Diffs tab", |s| {
        s.contains("A made.txt")
            && s.contains("+2 -0")
            && s.contains("@@ -0,0 +1,2 @@")
            && has_cell(s, "+a")
            && has_cell(s, "+b")
    });

    // 3. A long turn from the prompt box, then abort.
    tmux.keys(&["1"]);
    tmux.wait_until("the Messages tab", |s| has_cell(s, "wrote-it"));
    tmux.keys(&["i"]);
    tmux.wait_status_line("enter send");
    abort_a_long_turn(&tmux);
    tmux.wait_status_line("aborted");

    // 4. Terminate: an idle session loses nothing, so it goes without a question.
    tmux.keys(&["x"]);
    let screen = tmux.wait_until("stopped, or a question", |s| {
        s.lines().next().is_some_and(|l| l.contains("■ stopped")) || s.contains("Terminate '")
    });
    assert!(!screen.contains("Terminate '"), "no question:\n{screen}");
    tmux.wait_until("the stopped glyph in the sidebar", |s| {
        s.contains(&format!("■ {title}"))
    });

    // 5. Quit: the dashboard exits cleanly and gives the screen back.
    tmux.keys(&["q"]);
    assert_eq!(tmux.wait_exit(), "0", "exit status");
    assert_eq!(
        tmux.pane("#{alternate_on}"),
        "0",
        "left the alternate screen"
    );
    let after = tmux.screen();
    assert!(
        !after.contains("sessions 1") && !after.contains(title),
        "the dashboard is gone from the screen:\n{after}"
    );

    // The sessions outlive the dashboard: a new one shows it, still stopped.
    tmux.new_window(&f, repo.path(), "second");
    tmux.wait_until("the session after a restart", |s| {
        s.contains("sessions 1") && s.contains(&format!("■ {title}"))
    });
    tmux.wait_header("■ stopped");
    tmux.wait_until("the transcript after a restart", |s| {
        has_cell(s, "wrote-it") && has_cell(s, "sleep 600")
    });
    tmux.keys(&["q"]);
    assert_eq!(tmux.wait_exit(), "0", "exit status of the second dashboard");

    // The CLI sees the same.
    let listed = f.json(&["ls"]);
    let all = listed.as_array().expect("an array");
    assert_eq!(all.len(), 1, "{listed}");
    let s: &Value = &all[0];
    assert_eq!(s["title"], title);
    assert_eq!(s["status"], "stopped");
    assert_eq!(s["strategy"], "worktree");
    assert_eq!(s["branch"], "flotilla/dashboard-test");
    assert_eq!(s["message_count"], 4, "two prompts and two answers: {s}");
    let workspace = PathBuf::from(s["workspace"].as_str().expect("workspace"));
    assert_eq!(
        std::fs::read_to_string(workspace.join("made.txt")).expect("made.txt"),
        "a\nb\n"
    );

    f.ok(&["daemon", "stop"]);
    drop(tmux);
}

#[test]
fn usable_at_80_by_24() {
    let f = Flotilla::new();
    let repo = git_repo();
    let tmux = Tmux::start(&f, repo.path(), 80, 24);
    let screen = tmux.wait_for("no sessions yet");
    assert_eq!(screen.lines().count(), 24, "the dashboard fills the pane");

    // The whole form fits.
    tmux.keys(&["n"]);
    let labels = [
        "›Directory",
        "Strategy",
        "Agent",
        "Model",
        "Title",
        "Branch",
        "First prompt",
        "enter create",
    ];
    tmux.wait_until("every field of the form", |s| {
        labels.iter().all(|label| s.contains(label))
    });
    tmux.keys(&["Escape"]);
    tmux.wait_until("the dialog to close", |s| !s.contains("›Directory"));

    create_session(&tmux, "small", "echo small-screen-ok", 1);
    tmux.wait_until("the output", |s| has_cell(s, "small-screen-ok"));
    tmux.wait_header("○ idle");
    tmux.wait_status_line("created 'small'");
    // The next key clears the flash: the keys that apply show in its place.
    tmux.keys(&["3"]);
    tmux.wait_until("the Info tab and the keys", |s| {
        s.contains("strategy") && status_line(s).contains("i prompt")
    });
    tmux.keys(&["q"]);
    assert_eq!(tmux.wait_exit(), "0", "exit status");
    f.ok(&["daemon", "stop"]);
}

#[test]
fn a_completed_session_is_archived_from_the_dashboard_and_restored_from_the_history() {
    let f = Flotilla::new();
    let repo = git_repo();
    let dir = repo.path().to_str().expect("utf-8 path");
    let made = f.ok(&[
        "new",
        "--dir",
        dir,
        "--agent",
        "shell",
        "--title",
        "limited",
        "--prompt",
        "echo limited-ok",
        "--max-turns",
        "1",
    ]);
    let id = made.trim().lines().last().expect("the id").to_string();
    f.wait_status(&id, "completed", WAIT);
    let workspace = PathBuf::from(f.session(&id)["workspace"].as_str().expect("workspace"));
    assert!(workspace.is_dir());
    let tmux = Tmux::start(&f, repo.path(), 80, 24);
    tmux.wait_until("the completed session", |s| s.contains("✓ limited"));
    tmux.wait_status_line("A archive");

    // A asks with buttons: a letter answers nothing, the button does.
    tmux.keys(&["A"]);
    tmux.wait_for("Archive 'limited'?");
    tmux.keys(&["y"]);
    tmux.wait_for("[ Archive ]");
    tmux.keys(&["Right"]);
    tmux.keys(&["Enter"]);
    tmux.wait_until("the sidebar without it", |s| {
        s.contains("sessions 0") && s.contains("H shows 1 archived")
    });
    assert_eq!(f.status(&id), "archived");
    assert!(!workspace.exists(), "the directory was removed");

    // H finds it; enter offers to restore it and shows it once it is back.
    tmux.keys(&["H"]);
    tmux.wait_until("the history with the archived row", |s| {
        s.contains("history · 1-1 of 1") && s.contains("archived      limited")
    });
    tmux.keys(&["Enter"]);
    tmux.wait_for("Restore and open");
    tmux.keys(&["y"]);
    tmux.wait_header("■ stopped");
    tmux.wait_until("the session back in the sidebar", |s| {
        s.contains("■ limited")
    });
    assert!(workspace.is_dir(), "the directory was made again");
    tmux.keys(&["q"]);
    assert_eq!(tmux.wait_exit(), "0", "exit status");
    f.ok(&["daemon", "stop"]);
}
