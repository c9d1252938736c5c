//! `flotilla log` reads a long transcript a page at a time: every line comes out once and
//! in order, whether read whole, as JSON pages, or followed while it streams, and the
//! client never holds the whole transcript.

mod support;

use std::process::Stdio;
use std::time::Duration;
use support::Repo;
use support::cli::Flotilla;

/// A session whose first turn printed `seq 1 n`.
fn session_with_numbers(f: &Flotilla, repo: &Repo, n: u64) -> String {
    repo.commit_all("base");
    let id = f.existing_session(repo.path(), None);
    f.ok(&["send", &id, &format!("seq 1 {n}")]);
    f.wait_status(&id, "idle", Duration::from_secs(300));
    id
}

fn empty_repo() -> Repo {
    let repo = Repo::new();
    repo.write("README", "x\n");
    repo
}

/// Checks that the numbers 1..=n appear in `text`, each once and in order.
fn assert_numbers(text: &str, n: u64) {
    let mut next = 1u64;
    for line in text.lines() {
        if let Ok(k) = line.trim().parse::<u64>() {
            assert_eq!(k, next, "line {next} expected, {k} found");
            next += 1;
        }
    }
    assert_eq!(next, n + 1, "numbers up to {} of {n} came out", next - 1);
}

/// Runs the command to its end; returns whether it succeeded, its output, and the
/// largest resident size it reached in MiB, as the kernel kept it for the whole of its
/// life (sampling its status could miss a short run: a process that has exited has no
/// memory figures left to read).
fn run_measured(mut cmd: std::process::Command) -> (bool, Vec<u8>, f64) {
    use nix::libc;
    use std::io::Read;
    #[allow(
        clippy::zombie_processes,
        reason = "waited for below with wait4, for its resource usage"
    )]
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut out = Vec::new();
    let mut stdout = child.stdout.take().expect("stdout");
    stdout.read_to_end(&mut out).expect("read");
    let (mut status, pid) = (0, child.id() as libc::pid_t);
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is this process's own child, not waited for yet; both pointers are
    // to live locals.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4: {}", std::io::Error::last_os_error());
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    // Linux gives the high-water mark in KiB.
    (ok, out, usage.ru_maxrss as f64 / 1024.0)
}

#[test]
fn log_prints_a_transcript_of_many_pages_once_and_in_order_in_bounded_memory() {
    let f = Flotilla::new();
    let repo = empty_repo();
    // About 31 MB of output: sixty pages.
    let n = 4_000_000;
    let id = session_with_numbers(&f, &repo, n);
    // The baseline: the same command on a one-page transcript, in the same run, so the
    // binary's own size (its mapped code counts in the resident size) is not measured.
    let small_repo = empty_repo();
    let small = session_with_numbers(&f, &small_repo, 1_000);
    let (ok, _, base) = run_measured(f.command(&["log", &small]));
    assert!(ok && base > 0.0);
    let (ok, out, rss) = run_measured(f.command(&["log", &id]));
    assert!(ok);
    // A client holding the transcript whole would grow by more than its 31 MB.
    assert!(
        rss - base < 16.0,
        "`log` reached {rss:.1} MiB, {base:.1} MiB for one page"
    );
    let text = String::from_utf8_lossy(&out);
    assert!(text.len() > 30_000_000, "{} bytes", text.len());
    assert_numbers(&text, n);
}

#[test]
fn log_json_is_one_page_a_line_and_the_pages_join_up() {
    let f = Flotilla::new();
    let repo = empty_repo();
    let n = 300_000;
    let id = session_with_numbers(&f, &repo, n);
    let out = f.ok(&["log", &id, "--json"]);
    let mut messages = Vec::new();
    let mut lines = 0;
    for line in out.lines() {
        let value: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        let page: flotilla::core::Page =
            serde_json::from_value(value["page"].clone()).expect("a page");
        flotilla::core::page::append(&mut messages, page.messages);
        lines += 1;
    }
    assert!(lines > 2, "{lines} pages");
    let text: Vec<&str> = messages
        .iter()
        .flat_map(|m| &m.parts)
        .filter_map(|p| p.kind.streamed_text())
        .collect();
    let text = text.join("\n");
    assert_numbers(&text, n);
}

#[test]
fn log_follow_prints_a_long_stream_once_and_in_order() {
    let f = Flotilla::new();
    let repo = empty_repo();
    repo.commit_all("base");
    let id = f.existing_session(repo.path(), None);
    // An earlier turn of several pages, then one that streams while followed.
    f.ok(&["send", &id, "seq 1 200000"]);
    f.wait_status(&id, "idle", Duration::from_secs(120));
    let mut follower = f
        .command(&["log", &id, "--follow"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("follow");
    f.ok(&["send", &id, "seq 200001 1500000"]);
    // Read until the last number comes out.
    let mut out = std::io::BufReader::new(follower.stdout.take().expect("stdout"));
    let mut text = String::new();
    let mut line = String::new();
    while std::io::BufRead::read_line(&mut out, &mut line).expect("read") > 0 {
        text.push_str(&line);
        if line.trim() == "1500000" {
            break;
        }
        line.clear();
    }
    let _ = follower.kill();
    let _ = follower.wait();
    assert_numbers(&text, 1_500_000);
}
