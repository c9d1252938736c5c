//! The dashboard a user can trust, driven in a real terminal at 80x24: a sentence typed
//! after `i` is a prompt and never keys, output shows as a terminal would show it, every
//! row of a long transcript is reachable, and a dashboard whose daemon was killed comes
//! back by itself.

mod support;

use std::time::{Duration, Instant};
use support::cli::{Flotilla, kill9};
use support::tmux::*;

#[test]
fn a_sentence_typed_on_a_stopped_session_deletes_and_opens_nothing_and_offers_resume() {
    let f = Flotilla::new();
    let repo = git_repo();
    let tmux = Tmux::start(&f, repo.path(), 80, 24);
    tmux.wait_for("no sessions yet");
    create_session(&tmux, "keys", "echo first-turn", 1);
    tmux.wait_until("the first turn", |s| has_cell(s, "first-turn"));
    tmux.wait_header("○ idle");
    tmux.keys(&["x"]);
    tmux.wait_header("■ stopped");

    // Every letter here is a dashboard key outside the prompt box: D deletes, y answers,
    // s opens a shell, e an editor, r resumes, n opens the new-session dialog.
    tmux.keys(&["i"]);
    tmux.type_text("Do you see the bug");
    tmux.wait_for("Do you see the bug");
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("Resume and send");
    assert!(screen.contains("cannot take prompts now"), "{screen}");
    assert!(!screen.contains("Delete"), "no delete question: {screen}");
    assert_eq!(
        tmux.pane("#{pane_current_command}"),
        "flotilla",
        "no shell or editor"
    );
    let listed = f.json(&["ls"]);
    assert_eq!(
        listed.as_array().map(Vec::len),
        Some(1),
        "nothing deleted: {listed}"
    );
    assert_eq!(listed[0]["status"], "stopped");

    // The offer is the focused button: enter resumes the session and sends the prompt.
    tmux.keys(&["Enter"]);
    tmux.wait_until("the prompt in the transcript", |s| {
        has_cell(s, "Do you see the bug") && !s.contains("Resume and send")
    });
    let id = listed[0]["id"].as_str().expect("id").to_string();
    f.wait_status(&id, "idle", WAIT);
    let session = f.session(&id);
    assert_eq!(
        session["message_count"], 4,
        "two prompts and two answers: {session}"
    );
    tmux.keys(&["Escape"]);
    tmux.wait_status_line("n new session");
    tmux.keys(&["q"]);
    assert_eq!(tmux.wait_exit(), "0");
    f.ok(&["daemon", "stop"]);
}

#[test]
fn tabs_carriage_returns_and_a_long_line_show_as_a_terminal_would() {
    let f = Flotilla::new();
    let repo = git_repo();
    let tmux = Tmux::start(&f, repo.path(), 80, 24);
    tmux.wait_for("no sessions yet");
    create_session(&tmux, "output", "echo first-prompt-here", 1);
    tmux.wait_until("the first turn", |s| s.contains("first-prompt-here"));
    tmux.wait_header("○ idle");

    let send = |prompt: &str| {
        tmux.keys(&["i"]);
        tmux.type_text(prompt);
        tmux.wait_for(prompt);
        tmux.keys(&["Enter"]);
        tmux.keys(&["Escape"]);
    };
    send(r"printf 'a\tb\n'");
    tmux.wait_until("a and b a tab apart", |s| has_cell(s, "a       b"));
    send(r"printf 'p1\rp2\rp3\n'");
    let screen = tmux.wait_until("p3 alone on its line", |s| has_cell(s, "p3"));
    // No line of the answer starts with what the carriage returns wrote over (a line
    // that merely holds "p1", such as a temporary directory's name, is another thing).
    let overwritten = |l: &str| {
        (l.split('│')).any(|cell| cell.trim().starts_with("p1") || cell.trim().starts_with("p2"))
    };
    assert!(!screen.lines().any(overwritten), "{screen}");

    // One line of 2,000 characters, far more rows than the screen: g reaches the top.
    send("printf 'x%.0s' $(seq 2000); echo; echo after-the-long-line");
    tmux.wait_until("the end of the long turn", |s| {
        has_cell(s, "after-the-long-line")
    });
    tmux.wait_header("○ idle");
    let screen = tmux.screen();
    assert!(
        !screen.contains("first-prompt-here"),
        "not in view yet:\n{screen}"
    );
    tmux.keys(&["g"]);
    tmux.wait_until("the first prompt at the top", |s| {
        s.contains("echo first-prompt-here")
    });
    tmux.keys(&["G"]);
    tmux.wait_until("the end again", |s| has_cell(s, "after-the-long-line"));
    tmux.keys(&["q"]);
    assert_eq!(tmux.wait_exit(), "0");
    f.ok(&["daemon", "stop"]);
}

#[test]
fn after_kill_dash_nine_of_the_daemon_the_dashboard_comes_back_by_itself() {
    let f = Flotilla::new();
    let repo = git_repo();
    let tmux = Tmux::start(&f, repo.path(), 80, 24);
    tmux.wait_for("no sessions yet");
    create_session(&tmux, "survivor", "echo before-the-crash", 1);
    tmux.wait_until("the turn", |s| has_cell(s, "before-the-crash"));
    tmux.wait_header("○ idle");

    let pid = f.daemon_pid();
    kill9(pid);
    let killed = Instant::now();
    tmux.wait_until("the dashboard to notice", |s| {
        s.contains("daemon away") || s.contains("reconnected")
    });
    // A new daemon, started by the dashboard itself, and the session shown again.
    let screen = tmux.wait_until("the sessions again", |s| {
        status_line(s).contains("reconnected")
            && s.contains("survivor")
            && has_cell(s, "before-the-crash")
    });
    // Back within 5 s is promised; the margin is for a loaded machine, and the
    // dashboard bench reports the real figure.
    let took = killed.elapsed();
    assert!(
        took < Duration::from_secs(20),
        "back within 5 s, took {took:?}:\n{screen}"
    );
    assert_ne!(f.daemon_pid(), pid, "another daemon");
    assert!(!screen.contains("daemon away"), "{screen}");
    tmux.keys(&["q"]);
    assert_eq!(tmux.wait_exit(), "0");
    f.ok(&["daemon", "stop"]);
}
