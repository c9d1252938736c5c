//! One daemon per database whatever happens to its socket, a start race that every client
//! wins, an orderly shutdown on SIGHUP, no agent left running by a daemon killed with
//! `kill -9`, agents that make files as the user would, and a private log that never
//! repeats a config value. Driven through the real CLI and daemon binaries.

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use support::Repo;
use support::cli::{Flotilla, kill9, process_alive, wait_until};

fn mode(path: &Path) -> u32 {
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// The pids of live processes whose environment holds `marker` (NAME=VALUE) and whose
/// command line contains `arg`.
fn processes_with(marker: &str, arg: &str) -> Vec<i32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| process_alive(pid))
        .filter(|pid| {
            let read = |what: &str| fs::read(format!("/proc/{pid}/{what}")).unwrap_or_default();
            let has = |bytes: Vec<u8>, wanted: &str| {
                bytes
                    .split(|&b| b == 0)
                    .any(|part| part == wanted.as_bytes())
            };
            has(read("environ"), marker) && has(read("cmdline"), arg)
        })
        .collect()
}

fn daemons(f: &Flotilla) -> Vec<i32> {
    let marker = format!("FLOTILLA_HOME={}", f.home.path().display());
    processes_with(&marker, "daemon")
}

fn signal(pid: i32, signal: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal).expect("signal");
}

#[test]
fn a_removed_socket_file_never_leads_to_a_second_daemon() {
    let f = Flotilla::new();
    f.ok(&["ls"]);
    let pid = f.daemon_pid();
    fs::remove_file(f.path("flotilla.sock")).expect("rm socket");

    // The next command reaches the same daemon, which listens again.
    f.ok(&["ls"]);
    assert_eq!(f.daemon_pid(), pid);
    assert_eq!(daemons(&f), vec![pid]);
    assert_eq!(mode(&f.path("flotilla.sock")), 0o600);

    fs::remove_file(f.path("flotilla.sock")).expect("rm socket again");
    let stopped = f.ok(&["daemon", "stop"]);
    assert!(stopped.contains("stopped"), "{stopped}");
    wait_until(Duration::from_secs(5), "the daemon to exit", || {
        !process_alive(pid)
    });
}

/// A socket that cannot be made again (a directory took its place): `daemon status` says
/// the daemon does not answer, and `daemon stop` reaches it through the pid in the lock.
#[test]
fn a_daemon_without_a_socket_is_stopped_through_its_pid() {
    let f = Flotilla::new();
    f.ok(&["ls"]);
    let pid = f.daemon_pid();
    fs::remove_file(f.path("flotilla.sock")).expect("rm socket");
    fs::create_dir(f.path("flotilla.sock")).expect("a directory in its place");

    let err = f.fails(&["daemon", "status"]);
    assert!(err.contains(&format!("pid {pid}")), "{err}");
    assert!(err.contains("does not answer"), "{err}");
    let stopped = f.ok(&["daemon", "stop"]);
    assert!(stopped.contains("stopped"), "{stopped}");
    assert!(!process_alive(pid), "the daemon is gone");
    fs::remove_dir(f.path("flotilla.sock")).expect("rmdir");
}

/// With the platform directories (no FLOTILLA_HOME) the socket lives in the runtime
/// directory, which logind deletes at the last logout; the lock lives beside the data.
#[test]
fn a_removed_runtime_directory_never_leads_to_a_second_daemon() {
    let tmp = tempfile::Builder::new()
        .prefix("flt")
        .tempdir_in("/tmp")
        .expect("tmp");
    let dir = |name: &str| tmp.path().join(name);
    let run = |args: &[&str]| {
        Command::new(Flotilla::bin())
            .args(args)
            .env_remove("FLOTILLA_HOME")
            .env_remove("FLOTILLA_LOG")
            .env("HOME", dir("home"))
            .env("XDG_DATA_HOME", dir("data"))
            .env("XDG_CONFIG_HOME", dir("config"))
            .env("XDG_RUNTIME_DIR", dir("run"))
            .stdin(Stdio::null())
            .output()
            .expect("run flotilla")
    };
    let ok = |args: &[&str]| {
        let out = run(args);
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let pid_of = |status: String| -> i64 {
        let v: serde_json::Value = serde_json::from_str(&status).expect("json");
        v["pid"].as_i64().expect("pid")
    };
    ok(&["ls"]);
    let pid = pid_of(ok(&["daemon", "status", "--json"]));
    assert!(dir("data/flotilla/flotilla.lock").exists());
    fs::remove_dir_all(dir("run")).expect("rm runtime dir");

    ok(&["ls"]);
    assert_eq!(pid_of(ok(&["daemon", "status", "--json"])), pid);
    let marker = format!("XDG_DATA_HOME={}", dir("data").display());
    assert_eq!(processes_with(&marker, "daemon"), vec![pid as i32]);

    fs::remove_dir_all(dir("run")).expect("rm runtime dir again");
    ok(&["daemon", "stop"]);
    wait_until(Duration::from_secs(5), "the daemon to exit", || {
        !process_alive(pid as i32)
    });
}

#[test]
fn clients_that_start_together_share_one_daemon() {
    let f = Flotilla::new();
    let clients: Vec<_> = (0..10)
        .map(|_| {
            f.command(&["ls"])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for client in clients {
        let out = client.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "a client failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // A daemon that lost the race for the lock exits on its own; one stays.
    let pid = f.daemon_pid();
    wait_until(Duration::from_secs(5), "the losers to exit", || {
        daemons(&f) == vec![pid]
    });
    f.ok(&["ls"]);
    assert_eq!(f.daemon_pid(), pid);
}

fn repo() -> Repo {
    let repo = Repo::new();
    repo.write("README", "hello\n");
    repo.commit_all("first");
    repo
}

/// The processes of a session's agent: each gets FLOTILLA_SESSION in its environment.
fn agent_processes(id: &str) -> Vec<i32> {
    processes_with(&format!("FLOTILLA_SESSION={id}"), "300")
}

#[test]
fn kill_dash_nine_leaves_no_agent_running_and_resume_works() {
    let repo = repo();
    let f = Flotilla::new();
    let id = f.existing_session(repo.path(), None);
    f.ok(&["send", &id, "sleep 300 & sleep 300"]);
    wait_until(Duration::from_secs(10), "the agent's processes", || {
        agent_processes(&id).len() >= 2
    });
    let old = agent_processes(&id);
    kill9(f.daemon_pid());
    assert!(
        old.iter().all(|&p| process_alive(p)),
        "they outlive the daemon"
    );

    // The next command starts a daemon that ends them before it answers.
    assert_eq!(f.status(&id), "disconnected");
    wait_until(
        Duration::from_secs(2),
        "the old turn's processes to end",
        || old.iter().all(|&p| !process_alive(p)),
    );
    assert_eq!(f.json(&["resume", &id])["status"], "idle");
    f.ok(&["send", &id, "echo after-the-crash"]);
    f.wait_status(&id, "idle", Duration::from_secs(10));
    assert!(f.ok(&["log", &id]).contains("after-the-crash"));
}

#[test]
fn sighup_shuts_the_daemon_down_in_order() {
    let repo = repo();
    let f = Flotilla::new();
    let id = f.existing_session(repo.path(), None);
    f.ok(&["send", &id, "sleep 300"]);
    wait_until(Duration::from_secs(10), "the agent's process", || {
        !agent_processes(&id).is_empty()
    });
    let agent = agent_processes(&id);
    let pid = f.daemon_pid();
    signal(pid, nix::sys::signal::Signal::SIGHUP);
    wait_until(Duration::from_secs(10), "the daemon to exit", || {
        !process_alive(pid)
    });
    assert!(
        agent.iter().all(|&p| !process_alive(p)),
        "the turn was ended"
    );
    let log = fs::read_to_string(f.path("daemon.log")).expect("log");
    assert!(log.contains("stopped"), "{log}");
    let session = f.session(&id);
    assert_eq!(session["status"], "disconnected");
    assert!(
        session["status_reason"]
            .as_str()
            .is_some_and(|r| r.contains("was stopped during a turn")),
        "the shutdown recorded why: {session}"
    );
}

#[test]
fn agents_make_files_with_the_users_umask() {
    let repo = repo();
    let f = Flotilla::new();
    // The daemon starts from this client, as it would from a user's shell with umask 022.
    let start = Command::new("sh")
        .args(["-c", "umask 022 && exec \"$0\" ls", Flotilla::bin()])
        .env("FLOTILLA_HOME", f.home.path())
        .stdin(Stdio::null())
        .output()
        .expect("start");
    assert!(start.status.success(), "{start:?}");
    let id = f.existing_session(repo.path(), None);
    f.ok(&["send", &id, "echo x > made.txt && mkdir made-dir"]);
    f.wait_status(&id, "idle", Duration::from_secs(10));
    assert_eq!(mode(&repo.path().join("made.txt")), 0o644);
    assert_eq!(mode(&repo.path().join("made-dir")), 0o755);

    let wt = f.json(&[
        "new",
        "--dir",
        &repo.path().to_string_lossy(),
        "--strategy",
        "worktree",
    ]);
    let ws = PathBuf::from(wt["workspace"].as_str().expect("workspace"));
    assert_eq!(mode(&ws.join("README")), 0o644, "checked out as git would");

    // The daemon's own files stay private all the same.
    for own in [
        "flotilla.db",
        "flotilla.sock",
        "flotilla.lock",
        "daemon.log",
    ] {
        assert_eq!(mode(&f.path(own)), 0o600, "{own}");
    }
}

#[test]
fn a_bad_config_never_puts_a_value_in_the_log() {
    let f = Flotilla::new();
    let secret = "sk-test-do-not-log-4242";
    fs::write(
        f.path("config.toml"),
        format!("[agents.codex]\nkind = \"codex\"\ncommand = [\"codex\"]\nenv = {{ OPENAI_API_KEY = \"{secret}\"\n"),
    )
    .expect("config");
    f.ok(&["ls"]);
    let status = f.ok(&["daemon", "status"]);
    assert!(status.contains("line 4"), "{status}");
    assert!(status.contains("agents.codex.env"), "{status}");
    f.ok(&["daemon", "stop"]);
    let log = fs::read_to_string(f.path("daemon.log")).expect("log");
    assert!(log.contains("line 4"), "the error is logged: {log}");
    assert!(
        !log.contains(secret),
        "the value leaked into the log: {log}"
    );
    assert!(!status.contains(secret));
    assert_eq!(mode(&f.path("daemon.log")), 0o600);
}

/// A daemon that is stopped (SIGSTOP) accepts connections but answers nothing: every
/// command gives up with a message that says so, and `daemon stop` still ends it.
#[test]
fn a_stopped_daemon_is_reported_and_can_be_stopped() {
    let f = Flotilla::new();
    f.ok(&["ls"]);
    let pid = f.daemon_pid();
    signal(pid, nix::sys::signal::Signal::SIGSTOP);
    for args in [&["ls"][..], &["daemon", "status"][..]] {
        let err = f.fails(args);
        assert!(err.contains("does not answer"), "{args:?}: {err}");
        assert!(err.contains(&format!("pid {pid}")), "{args:?}: {err}");
    }
    let stopped = f.ok(&["daemon", "stop"]);
    assert!(stopped.contains("stopped"), "{stopped}");
    wait_until(Duration::from_secs(15), "the daemon to exit", || {
        !process_alive(pid)
    });
    f.ok(&["ls"]);
    assert_ne!(f.daemon_pid(), pid, "a new daemon answers");
}

/// An abort while the agent is still starting ends the start at once, instead of waiting
/// for a turn that has not begun.
#[test]
fn an_abort_during_start_ends_the_start() {
    let repo = repo();
    let f = Flotilla::new();
    // A "claude" that never answers its initialize request.
    f.fake_claude("exec cat > /dev/null");
    let id = f.existing_session(repo.path(), Some("claude"));
    assert_eq!(f.status(&id), "starting");
    let aborted = f.json(&["abort", &id]);
    assert_eq!(aborted["status"], "idle", "{aborted}");
    assert_eq!(aborted["agent_running"], false);
}

#[test]
fn marks_are_kept_across_a_restart_of_the_daemon() {
    let f = Flotilla::new();
    let repo = repo();
    let id = f.existing_session(repo.path(), None);
    f.ok(&["send", &id, "echo finished-unseen"]);
    f.wait_status(&id, "idle", Duration::from_secs(10));
    assert_eq!(
        f.session(&id)["mark"],
        "attention",
        "no client looked at it"
    );
    f.ok(&["daemon", "stop"]);
    assert_eq!(
        f.session(&id)["mark"],
        "attention",
        "kept by the next daemon"
    );
    f.ok(&["daemon", "stop"]);
}
