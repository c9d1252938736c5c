//! What one client can cost the daemon is bounded: a request line has a cap, and a client
//! that sends requests without reading the replies is no longer read from, while other
//! clients go on being served.

mod support;

use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::os::unix::net::UnixStream;
use support::cli::Flotilla;

fn connect(f: &Flotilla) -> UnixStream {
    f.ok(&["ls"]);
    let mut stream = UnixStream::connect(f.path("flotilla.sock")).expect("connect");
    let hello = format!(
        "{{\"seq\":1,\"cmd\":\"hello\",\"protocol\":{}}}\n",
        flotilla::protocol::PROTOCOL_VERSION
    );
    stream.write_all(hello.as_bytes()).expect("hello");
    stream
}

fn read_line(reader: &mut BufReader<UnixStream>) -> String {
    let mut line = String::new();
    reader.read_line(&mut line).expect("read");
    line
}

#[test]
fn a_request_over_the_cap_is_refused_and_the_connection_stays() {
    let f = Flotilla::new();
    let mut stream = connect(&f);
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    assert!(read_line(&mut reader).contains("hello"));

    let huge = format!("{}\n", "x".repeat(5 * 1024 * 1024));
    stream.write_all(huge.as_bytes()).expect("a huge line");
    let refused = read_line(&mut reader);
    assert!(refused.contains("request over 4 MiB"), "{refused}");

    stream
        .write_all(b"{\"seq\":2,\"cmd\":\"list\"}\n")
        .expect("list");
    let listed = read_line(&mut reader);
    assert!(
        listed.contains("\"re\":2"),
        "the connection still works: {listed}"
    );
}

#[test]
fn a_client_that_reads_no_replies_is_not_read_from() {
    let f = Flotilla::new();
    let stream = connect(&f);
    stream.set_nonblocking(true).expect("nonblocking");
    let mut stream = stream;
    let request = b"{\"seq\":2,\"cmd\":\"daemon_status\"}\n";
    // Keep writing for two seconds. A daemon that reads on fills its memory with the
    // requests; one that stops reading leaves them in the socket's buffer, which fills.
    let mut sent = 0usize;
    let until = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while std::time::Instant::now() < until && sent < 1_000_000 {
        match stream.write(request) {
            Ok(n) if n == request.len() => sent += 1,
            Ok(_) => break,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                std::thread::sleep(std::time::Duration::from_millis(5))
            }
            Err(e) => panic!("write: {e}"),
        }
    }
    // The socket buffer holds a few thousand such requests; the daemon takes 64.
    assert!(sent < 20_000, "the daemon took {sent} unanswered requests");
    // Another client is served all the same.
    let status = f.json(&["daemon", "status"]);
    assert!(status["pid"].as_i64().is_some());
}

#[test]
fn out_of_file_descriptors_the_daemon_waits_and_logs_once_then_recovers() {
    use std::os::unix::process::CommandExt;
    let f = Flotilla::new();
    let log = std::fs::File::create(f.path("foreground.log")).expect("log");
    let mut cmd = f.command(&["daemon"]);
    cmd.stderr(log);
    // SAFETY: only setrlimit, which is async-signal-safe, runs in the child.
    unsafe {
        cmd.pre_exec(|| {
            nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE, 48, 48)
                .map_err(std::io::Error::from)
        });
    }
    let mut daemon = cmd.spawn().expect("daemon");
    support::cli::wait_until(
        std::time::Duration::from_secs(20),
        "the daemon listens",
        || f.run(&["daemon", "status"]).status.success(),
    );
    // Connections the kernel queues while the daemon has no descriptor left to take them.
    let mut held = Vec::new();
    let warned = || {
        std::fs::read_to_string(f.path("foreground.log"))
            .unwrap_or_default()
            .matches("accept:")
            .count()
    };
    while warned() == 0 && held.len() < 120 {
        match UnixStream::connect(f.path("flotilla.sock")) {
            Ok(stream) => held.push(stream),
            Err(e) => panic!("connect {}: {e}", held.len()),
        }
    }
    support::cli::wait_until(
        std::time::Duration::from_secs(10),
        "the failed accept is logged",
        || warned() > 0,
    );
    // Failing again and again, it says so once, not thousands of times. Nothing shows a
    // line that is not written, so this is a window to look through, not a wait: the
    // daemon retries every few milliseconds, so two seconds hold hundreds of retries.
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(
        warned(),
        1,
        "{}",
        std::fs::read_to_string(f.path("foreground.log")).unwrap_or_default()
    );
    drop(held);
    support::cli::wait_until(
        std::time::Duration::from_secs(20),
        "the daemon serves again",
        || f.run(&["ls"]).status.success(),
    );
    f.ok(&["daemon", "stop"]);
    let _ = daemon.wait();
}
