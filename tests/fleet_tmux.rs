//! The dashboard over a fleet, in a real terminal: sessions of this machine and of a host
//! reached over a real SSH link, side by side, through a link that drops and comes back.

mod support;

use std::time::{Duration, Instant};
use support::Gate;
use support::fleet::{Fleet, HOST};
use support::tmux::*;

/// The promise: a dropped host is shown as such within this.
const NOTICED: Duration = Duration::from_secs(5);

fn host_header(screen: &str, host: &str) -> Option<String> {
    let head = format!("▌{host} ");
    screen
        .lines()
        .find(|l| l.contains(&head))
        .map(|l| l[l.find(&head).unwrap_or(0)..].to_string())
}

#[test]
fn local_and_remote_sessions_side_by_side_through_a_dropped_link() {
    let Some(mut fleet) = Fleet::new() else {
        return;
    };
    let repo = git_repo();
    fleet.local.titled_session(repo.path(), "near one");
    let far = fleet.remote_session(repo.path(), "far one");
    let gate = Gate::new();
    let prompt = format!("echo before-drop; {}; echo after-drop", gate.wait(1));
    fleet.ok(&["send", &far, &prompt]);

    let tmux = Tmux::start(&fleet.local, repo.path(), 120, 40);
    // Both hosts, each with its sessions under it.
    let screen = tmux.wait_until("both hosts up", |s| {
        host_header(s, "local").is_some_and(|h| h.contains("· 1 session"))
            && host_header(s, HOST).is_some_and(|h| h.contains("· 1 session"))
    });
    let row =
        |s: &str, title: &str| (s.lines()).position(|l| l.starts_with('│') && l.contains(title));
    let (near, far_row) = (row(&screen, "near one"), row(&screen, "far one"));
    let (local_head, build_head) = (row(&screen, "▌local "), row(&screen, "▌build "));
    assert!(
        local_head < near && near < build_head && build_head < far_row,
        "grouped by host:\n{screen}"
    );

    // The remote session streams into the dashboard as on this machine.
    tmux.keys(&["j"]);
    tmux.wait_header("far one");
    tmux.wait_until("the remote turn's output", |s| has_cell(s, "before-drop"));

    // sshd dies with every connection: the host's header says so at once.
    let killed = Instant::now();
    fleet.sshd.kill();
    let screen = tmux.wait_until("build disconnected", |s| {
        host_header(s, HOST).is_some_and(|h| h.contains("disconnected"))
    });
    let noticed = killed.elapsed();
    assert!(noticed < NOTICED, "noticed after {noticed:?}:\n{screen}");
    assert!(
        host_header(&screen, "local").is_some_and(|h| h.contains("· 1 session")),
        "the other host is untouched:\n{screen}"
    );

    // The turn goes on there while nobody watches, and ends.
    assert_eq!(fleet.remote.status(&far), "active");
    gate.open(1);
    fleet.remote.wait_status(&far, "idle", WAIT);

    // sshd comes back: the link comes back by itself, and the transcript has the part
    // that streamed while it was down.
    fleet.sshd.restart();
    tmux.wait_until("build up again with the whole turn", |s| {
        host_header(s, HOST).is_some_and(|h| h.contains("· 1 session"))
            && has_cell(s, "before-drop")
            && has_cell(s, "after-drop")
    });
    tmux.wait_header("○ idle");

    // A prompt from the dashboard runs there.
    tmux.keys(&["i"]);
    tmux.wait_status_line("enter send");
    tmux.type_text("echo typed-$((20+22))");
    tmux.keys(&["Enter"]);
    tmux.wait_until("the typed prompt's output", |s| has_cell(s, "typed-42"));
    let log = fleet.remote.ok(&["log", &far]);
    assert!(log.contains("typed-42"), "it ran on the remote host: {log}");

    // A long turn there, aborted from here.
    abort_a_long_turn(&tmux);
    assert_eq!(fleet.remote.status(&far), "idle");

    // A new session on build: n asks which host, and the directory completes there.
    tmux.keys(&["n"]);
    tmux.wait_for("Where does the session run?");
    tmux.keys(&["j", "Enter"]);
    tmux.wait_for("new session on build");
    tmux.keys(&["C-u"]);
    let dir = repo.path().to_string_lossy().into_owned();
    let (head, _) = dir.split_at(dir.len() - 2);
    tmux.type_text(head);
    tmux.keys(&["Tab"]);
    tmux.wait_for(&format!("{dir}/"));
    tmux.keys(&["Down", "Down", "Down", "Down"]);
    tmux.wait_for("›Title");
    tmux.type_text("made there");
    tmux.keys(&["Down", "Down"]);
    tmux.wait_for("›First prompt");
    tmux.type_text("echo made-$((40+2))");
    tmux.keys(&["Enter"]);
    tmux.wait_until("the new session's output", |s| {
        has_cell(s, "made-42") && host_header(s, HOST).is_some_and(|h| h.contains("2 sessions"))
    });
    let theirs = fleet.remote.json(&["ls"]);
    let made = (theirs.as_array().into_iter().flatten()).any(|s| s["title"] == "made there");
    assert!(made, "made on the remote host: {theirs}");

    // At 80x24 the two groups still show, each under its host.
    tmux.run(&["resize-window", "-t", &tmux.window, "-x", "80", "-y", "24"]);
    tmux.wait_until("both groups at 80x24", |s| {
        s.lines().count() == 24
            && s.lines().all(|l| l.chars().count() <= 80)
            && host_header(s, "local").is_some()
            && host_header(s, HOST).is_some()
            && s.contains("near one")
            && s.contains("far one")
            && has_cell(s, "made-42")
    });
    tmux.keys(&["Escape"]);
    tmux.wait_for("i to type a prompt");
    tmux.keys(&["q"]);
    assert_eq!(tmux.wait_exit(), "0");
}
