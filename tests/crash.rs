//! `kill -9` of the daemon mid-stream keeps every line it had written to the database,
//! leaves no hole and no half-written line, the next command starts a new daemon, and
//! the session can be resumed. (How soon streamed text is written, within 100 ms, is a
//! figure the latency bench reports.)

mod support;

use std::time::Duration;
use support::Repo;
use support::cli::{Flotilla, process_alive, wait_until};

/// The ticks the database holds now, read as another process would.
fn durable_ticks(f: &Flotilla) -> Vec<u64> {
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
    let paths = flotilla::paths::Paths::with_home(f.home.path()).expect("paths");
    let Ok(db) = rusqlite::Connection::open_with_flags(paths.database, flags) else {
        return Vec::new();
    };
    let texts = db.prepare("SELECT text FROM part_chunks ORDER BY part_id, seq");
    let Ok(mut texts) = texts else {
        return Vec::new();
    };
    let rows = texts.query_map([], |row| row.get::<_, String>(0));
    let text: String = rows.into_iter().flatten().flatten().collect();
    ticks(&text)
}

/// The numbers of the whole `tick N` lines in `text`.
fn ticks(text: &str) -> Vec<u64> {
    let lines = text.split_inclusive('\n').filter(|l| l.ends_with('\n'));
    let numbers = lines.filter_map(|l| l.trim_end().strip_prefix("tick "));
    numbers.filter_map(|n| n.parse().ok()).collect()
}

#[test]
fn kill_dash_nine_mid_stream_keeps_the_transcript() {
    let repo = Repo::new();
    repo.write("README", "x\n");
    repo.commit_all("first");
    let f = Flotilla::new();
    let id = f.titled_session(repo.path(), "stream");

    f.ok(&[
        "send",
        &id,
        "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); echo \"tick $i\"; sleep 0.01; done",
    ]);
    // The stream is written as it goes: wait until the database holds 100 lines, then
    // kill the daemon while the command still streams.
    let mut written = Vec::new();
    wait_until(Duration::from_secs(60), "100 lines in the database", || {
        written = durable_ticks(&f);
        written.len() >= 100
    });
    let pid = f.daemon_pid();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill -9");
    wait_until(Duration::from_secs(5), "the daemon to die", || {
        !process_alive(pid)
    });

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

    // Everything written before the kill is there, in order, with no hole.
    let log = f.ok(&["log", &id]);
    let kept = ticks(&log);
    let from_one: Vec<u64> = (1..=kept.len() as u64).collect();
    assert_eq!(kept, from_one, "ticks 1 to N, each once");
    let last = written.last().copied().unwrap_or(0);
    assert!(
        kept.len() as u64 >= last,
        "tick {last} was written before the kill, and the log ends at {}",
        kept.len()
    );

    let resumed = f.json(&["resume", &id]);
    assert_eq!(resumed["status"], "idle");
    f.ok(&["send", &id, "echo after-the-crash"]);
    f.wait_status(&id, "idle", Duration::from_secs(60));
    assert!(f.ok(&["log", &id]).contains("after-the-crash"));
}
