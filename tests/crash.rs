//! `kill -9` of the daemon mid-stream loses at most the last flush interval of output,
//! the next command starts a new daemon, and the session can be resumed.

mod support;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::Repo;
use support::cli::{Flotilla, process_alive, wait_until};

/// Lines seen by a follower earlier than this before the kill must have been flushed.
/// The engine flushes every 100 ms; the rest is slack for scheduling on a busy machine.
const SAFE_MARGIN: Duration = Duration::from_millis(400);

#[test]
fn kill_dash_nine_mid_stream_keeps_the_transcript() {
    let repo = Repo::new();
    repo.write("README", "x\n");
    repo.commit_all("first");
    let f = Flotilla::new();
    let dir = repo.path().to_string_lossy().into_owned();
    let id = f.ok(&[
        "new",
        "--dir",
        &dir,
        "--strategy",
        "existing",
        "--title",
        "stream",
    ]);
    let id = id.trim().to_string();

    // A follower records when each line reached a client.
    let mut follower = f
        .command(&["log", &id, "--follow"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("follow");
    let seen: Arc<Mutex<Vec<(Instant, String)>>> = Arc::default();
    let reader = {
        let seen = seen.clone();
        let stdout = follower.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                seen.lock().expect("lock").push((Instant::now(), line));
            }
        })
    };

    f.ok(&[
        "send",
        &id,
        "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); echo \"tick $i\"; sleep 0.01; done",
    ]);
    let count = |seen: &Arc<Mutex<Vec<(Instant, String)>>>| {
        seen.lock()
            .expect("lock")
            .iter()
            .filter(|(_, l)| l.starts_with("tick "))
            .count()
    };
    wait_until(Duration::from_secs(20), "40 streamed lines", || {
        count(&seen) >= 40
    });
    // Let it stream for a while, so most lines are well before the kill.
    std::thread::sleep(Duration::from_secs(1));

    let pid = f.daemon_pid();
    let killed_at = Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill -9");
    wait_until(Duration::from_secs(5), "the daemon to die", || {
        !process_alive(pid)
    });
    let _ = follower.wait();
    let _ = reader.join();

    let must_have: Vec<String> = seen
        .lock()
        .expect("lock")
        .iter()
        .filter(|(at, l)| l.starts_with("tick ") && *at + SAFE_MARGIN < killed_at)
        .map(|(_, l)| l.clone())
        .collect();
    assert!(
        must_have.len() >= 20,
        "only {} lines before the margin",
        must_have.len()
    );

    // The next command starts a new daemon, which finds the session disconnected.
    let session = f.session(&id);
    assert_ne!(f.daemon_pid(), pid, "a new daemon answers");
    assert_eq!(session["status"], "disconnected", "{session}");
    assert!(
        session["status_reason"]
            .as_str()
            .unwrap_or("")
            .contains("resume")
    );

    let log = f.ok(&["log", &id]);
    let kept: std::collections::HashSet<&str> = log.lines().collect();
    for line in &must_have {
        assert!(
            kept.contains(line.as_str()),
            "{line} was lost; transcript:\n{log}"
        );
    }

    let resumed = f.json(&["resume", &id]);
    assert_eq!(resumed["status"], "idle");
    f.ok(&["send", &id, "echo after-the-crash"]);
    f.wait_status(&id, "idle", Duration::from_secs(10));
    assert!(f.ok(&["log", &id]).contains("after-the-crash"));
}
