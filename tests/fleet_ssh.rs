//! The fleet over a real SSH link: the CLI drives sessions on another host's daemon
//! through the system `ssh` and a real sshd, exactly as a user's box is reached.

mod support;

use std::io::BufRead;
use std::time::Duration;
use support::cli::{kill9, wait_until};
use support::fleet::{Fleet, HOST};
use support::{Gate, Repo, make_executable};

const LIMIT: Duration = Duration::from_secs(30);

fn repo() -> Repo {
    let repo = Repo::new();
    repo.write("README", "hello\n");
    repo.commit_all("first");
    repo
}

/// Reads `lines` until one is `wanted`; all it read.
fn read_until(lines: &mut impl BufRead, wanted: &str) -> String {
    let mut text = String::new();
    let mut line = String::new();
    while lines.read_line(&mut line).expect("read") > 0 {
        text.push_str(&line);
        if line.trim() == wanted {
            return text;
        }
        line.clear();
    }
    panic!("the stream ended before {wanted:?}: {text}");
}

#[test]
fn the_cli_creates_prompts_follows_and_aborts_a_session_on_another_host() {
    let Some(fleet) = Fleet::new() else { return };
    let repo = repo();
    let id = fleet.remote_session(repo.path(), "far");

    // The session lives in the remote daemon, and nothing was started here.
    let theirs = fleet.remote.json(&["ls"]);
    assert_eq!(theirs[0]["id"], id.as_str(), "{theirs}");
    assert!(!fleet.local_daemon_started(), "a local daemon was started");
    let listed = fleet.json(&["ls"]);
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed[0]["title"], "far");

    // `log --follow` streams a turn as it runs there.
    let (mut follower, mut out) = fleet.follow(&id);
    fleet.ok(&["send", &id, "echo far-away-$((6*7))"]);
    read_until(&mut out, "far-away-42");
    let _ = follower.kill();
    let _ = follower.wait();
    fleet.json(&["wait", &id, "--for", "idle", "--timeout", "30s"]);

    // Abort a long turn there.
    fleet.ok(&["send", &id, "sleep 600"]);
    assert_eq!(fleet.remote.status(&id), "active");
    let aborted = fleet.json(&["abort", &id]);
    assert_eq!(aborted["status"], "idle", "{aborted}");
    let log = fleet.ok(&["log", &id]);
    assert!(log.contains("the turn was aborted"), "{log}");

    // `hosts` and `ls --all-hosts` see both; asking them starts no daemon here.
    let hosts = fleet.local.json(&["hosts"]);
    let build = hosts
        .as_array()
        .and_then(|h| h.iter().find(|h| h["host"] == HOST))
        .unwrap_or_else(|| panic!("{hosts}"));
    assert_eq!(build["reachable"], true, "{hosts}");
    assert_eq!(build["sessions"], 1, "{hosts}");
    assert_eq!(build["version"], env!("CARGO_PKG_VERSION"), "{hosts}");
    assert_eq!(hosts[0]["host"], "local");
    assert_eq!(hosts[0]["reachable"], false, "{hosts}");
    let all = fleet.local.json(&["ls", "--all-hosts"]);
    assert_eq!(all.as_array().map(Vec::len), Some(1), "{all}");
    assert_eq!(all[0]["host"], HOST);
    assert_eq!(all[0]["id"], id.as_str());
    let table = fleet.local.ok(&["hosts"]);
    let line = table.lines().find(|l| l.starts_with(HOST)).unwrap_or("");
    assert!(line.contains(" up "), "{table}");
    assert!(!fleet.local_daemon_started(), "a local daemon was started");

    // A local session shows beside it, each under its host.
    fleet.local.existing_session(repo.path(), None);
    let all = fleet.local.ok(&["ls", "--all-hosts"]);
    let far = all.lines().find(|l| l.contains("far")).unwrap_or("");
    assert!(far.starts_with(HOST), "{all}");
    assert!(all.lines().any(|l| l.starts_with("local")), "{all}");
}

#[test]
fn a_dropped_link_leaves_the_remote_session_running_and_its_transcript_whole() {
    let Some(mut fleet) = Fleet::new() else {
        return;
    };
    let repo = repo();
    let id = fleet.remote_session(repo.path(), "long");
    let gate = Gate::new();
    let prompt = format!("echo before-drop; {}; echo after-drop", gate.wait(1));
    fleet.ok(&["send", &id, &prompt]);
    let (mut follower, mut out) = fleet.follow(&id);
    read_until(&mut out, "before-drop");

    // sshd and every connection it serves die: the follower hears of it and says why.
    fleet.sshd.kill();
    let status = follower.wait().expect("the follower ends");
    assert!(!status.success(), "a dropped link is a failure");
    let mut said = String::new();
    std::io::Read::read_to_string(&mut follower.stderr.take().expect("stderr"), &mut said)
        .expect("stderr");
    assert_eq!(said.trim_end().lines().count(), 1, "one line: {said:?}");

    // Meanwhile the remote daemon goes on: the turn finishes there without us.
    assert_eq!(fleet.remote.status(&id), "active");
    gate.open(1);
    fleet.remote.wait_status(&id, "idle", LIMIT);

    // While sshd is down the host is unreachable, in one line that says what ssh said.
    let refused = fleet.fails(&["ls"]);
    assert!(refused.contains("cannot reach host build"), "{refused}");
    assert!(!fleet.local_daemon_started(), "a local daemon was started");

    // Back up: the transcript over the link has both halves, in order, once.
    fleet.sshd.restart();
    let log = fleet.ok(&["log", &id]);
    let before = log.find("before-drop").unwrap_or(usize::MAX);
    let after = log.rfind("after-drop").unwrap_or(0);
    assert!(before < after, "{log}");
    assert_eq!(log.matches("\nbefore-drop").count(), 1, "{log}");
}

#[test]
fn another_protocol_on_the_host_names_both_versions_and_what_to_upgrade() {
    let Some(fleet) = Fleet::new() else { return };
    // What a daemon of protocol 3 answers a newer client's hello, then hangs up.
    let old = fleet.local.path("old-flotilla");
    let refusal = r#"{"kind":"error","re":1,"message":"this daemon speaks protocol 3 and the client 7: run `flotilla daemon stop` and try again"}"#;
    std::fs::write(&old, format!("#!/bin/sh\nread hello\necho '{refusal}'\n")).expect("w");
    make_executable(&old);
    fleet.add_host("old", &old.display().to_string());
    let said = fleet.local.fails(&["--host", "old", "ls"]);
    assert!(
        said.contains("host old runs a flotilla of protocol 3")
            && said.contains("(protocol 7)")
            && said.contains("upgrade flotilla on old"),
        "{said}"
    );
    let hosts = fleet.local.json(&["hosts"]);
    let line = hosts
        .as_array()
        .and_then(|h| h.iter().find(|h| h["host"] == "old"))
        .unwrap_or_else(|| panic!("{hosts}"));
    assert!(
        line["error"]
            .as_str()
            .is_some_and(|e| e.contains("upgrade flotilla on old")),
        "{hosts}"
    );
    assert!(!fleet.local_daemon_started(), "a local daemon was started");
}

#[test]
fn a_missing_remote_flotilla_says_how_to_fix_it() {
    let Some(fleet) = Fleet::new() else { return };
    fleet.add_host("bare", "/nonexistent/flotilla");
    let said = fleet.local.fails(&["--host", "bare", "ls"]);
    assert!(
        said.contains("cannot reach host bare") && said.contains("hosts.bare.command"),
        "{said}"
    );
    assert!(!fleet.local_daemon_started(), "a local daemon was started");
}

#[test]
fn a_stale_socket_on_the_host_is_replaced_there_never_here() {
    let Some(fleet) = Fleet::new() else { return };
    let repo = repo();
    let id = fleet.remote_session(repo.path(), "kept");
    // The remote daemon dies hard: its socket file stays, with nobody behind it.
    kill9(fleet.remote.daemon_pid());
    assert!(fleet.remote.path("flotilla.sock").exists());

    // The bridge there starts that host's daemon again; the session is still there.
    let listed = fleet.json(&["ls"]);
    assert_eq!(listed[0]["id"], id.as_str(), "{listed}");
    assert!(!fleet.local_daemon_started(), "a local daemon was started");

    // With the host unreachable too, nothing here stands in for it.
    let mut fleet = fleet;
    fleet.sshd.kill();
    fleet.fails(&["ls"]);
    let all = fleet.local.run(&["ls", "--all-hosts", "--json"]);
    assert_eq!(String::from_utf8_lossy(&all.stdout).trim(), "[]");
    let said = String::from_utf8_lossy(&all.stderr);
    assert!(
        said.contains("host build left out: cannot reach host build"),
        "{said}"
    );
    assert!(!fleet.local_daemon_started(), "a local daemon was started");
}

#[test]
fn a_host_in_another_network_namespace_is_reached_and_a_pulled_link_is_noticed() {
    let Some(fleet) = Fleet::in_netns() else {
        return;
    };
    let repo = repo();
    let id = fleet.remote_session(repo.path(), "across");
    fleet.ok(&["send", &id, "echo across-the-veth"]);
    fleet.json(&["wait", &id, "--for", "idle", "--timeout", "30s"]);
    assert!(fleet.ok(&["log", &id]).contains("across-the-veth"));

    // Follow a turn, then pull the cable: no packet comes back, no FIN either. The
    // keepalives notice and the follower ends with a line that says so.
    let gate = Gate::new();
    fleet.ok(&["send", &id, &format!("echo pulled; {}", gate.wait(1))]);
    let (mut follower, mut out) = fleet.follow(&id);
    read_until(&mut out, "pulled");
    fleet.sshd.link(false);
    wait_until(LIMIT, "the follower to notice the pulled link", || {
        matches!(follower.try_wait(), Ok(Some(_)))
    });
    assert_eq!(fleet.remote.status(&id), "active", "the turn goes on there");
    gate.open(1);
    fleet.remote.wait_status(&id, "idle", LIMIT);

    fleet.sshd.link(true);
    let log = fleet.ok(&["log", &id]);
    assert!(log.contains("pulled"), "{log}");
    assert!(!fleet.local_daemon_started(), "a local daemon was started");
}

#[test]
fn a_directory_on_another_host_is_resolved_there() {
    let Some(fleet) = Fleet::new() else { return };
    // That host's home is not this one's: `~` there is elsewhere.
    let their_home = tempfile::tempdir().expect("home");
    let repo = their_home.path().join("repo");
    support::repo_at(&repo);
    let command = format!(
        "env HOME={} FLOTILLA_HOME={} {}",
        their_home.path().display(),
        fleet.remote.home.path().display(),
        support::cli::Flotilla::bin()
    );
    fleet.add_host("homed", &command);
    let run = [
        "--host",
        "homed",
        "run",
        "--dir",
        "~/repo",
        "--keep",
        "echo ran-there",
    ];
    let ran = fleet.local.ok(&run);
    assert!(ran.contains("ran-there"), "{ran}");
    let sessions = fleet.remote.json(&["ls"]);
    let s = &sessions[0];
    assert_eq!(s["source_repo"], repo.display().to_string(), "{sessions}");
    // A repository there gets a worktree of its own, as here: its own checkout is left.
    assert_eq!(s["strategy"], "worktree", "{sessions}");
}

#[test]
fn what_another_host_says_reaches_the_terminal_without_its_escapes() {
    let Some(fleet) = Fleet::new() else { return };
    let loud = fleet.local.path("loud-flotilla");
    let said = r#"{"kind":"error","re":1,"message":"\u001b]0;owned\u0007\u001b[31mno\u001b[0m"}"#;
    std::fs::write(&loud, format!("#!/bin/sh\nread hello\necho '{said}'\n")).expect("w");
    make_executable(&loud);
    fleet.add_host("loud", &loud.display().to_string());
    let line = fleet.local.fails(&["--host", "loud", "ls"]);
    assert!(line.contains("no"), "{line:?}");
    assert!(
        !line.contains('\u{1b}') && !line.contains('\u{7}'),
        "{line:?}"
    );
}

#[test]
fn bytes_that_are_not_text_on_the_host_s_stderr_do_not_hide_its_last_word() {
    let Some(fleet) = Fleet::new() else { return };
    let broken = fleet.local.path("broken-flotilla");
    let script =
        "#!/bin/sh\nprintf '\\377\\376 garbled\\n' >&2\necho 'the real reason' >&2\nexit 1\n";
    std::fs::write(&broken, script).expect("w");
    make_executable(&broken);
    fleet.add_host("broken", &broken.display().to_string());
    let line = fleet.local.fails(&["--host", "broken", "ls"]);
    assert!(line.ends_with("the real reason"), "{line:?}");
}
