//! Only the daemon's own user may reach it: the socket and database are private, and a
//! connection from another uid is refused even when the socket's mode would let it in.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use support::cli::Flotilla;

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn socket_and_database_are_private() {
    let f = Flotilla::new();
    f.ok(&["ls"]);
    assert_eq!(mode(&f.path("flotilla.sock")), 0o600);
    assert_eq!(mode(&f.path("flotilla.db")), 0o600);
    for sidecar in ["flotilla.db-wal", "flotilla.db-shm"] {
        let path = f.path(sidecar);
        if path.exists() {
            assert_eq!(mode(&path), 0o600, "{sidecar}");
        }
    }
}

/// Needs root to run a client as another user; CI runs as root, so there it must run.
#[test]
fn another_uid_is_refused() {
    if !nix::unistd::geteuid().is_root() {
        assert!(
            std::env::var("CI").is_err(),
            "CI must run this test as root"
        );
        eprintln!("skipped: switching to another uid needs root");
        return;
    }
    let f = Flotilla::new();
    f.ok(&["ls"]);
    let nobody = 65534;
    let as_nobody = || {
        let mut cmd = f.command(&["ls"]);
        cmd.uid(nobody).gid(nobody).env("HOME", "/");
        cmd.output().expect("run as nobody")
    };

    // As the daemon leaves them, the files keep another user out at the door.
    let out = as_nobody();
    assert!(!out.status.success());

    // Open every door: the daemon itself must still refuse the stranger.
    std::fs::set_permissions(f.home.path(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod home");
    std::fs::set_permissions(
        f.path("flotilla.sock"),
        std::fs::Permissions::from_mode(0o666),
    )
    .expect("chmod socket");
    let out = as_nobody();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a stranger was served: {stderr}");
    assert!(stderr.contains("refused"), "{stderr}");
    assert!(stderr.contains("uid 0"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");

    // And the owner is still served.
    f.ok(&["ls"]);
}

#[test]
fn the_handshake_checks_the_protocol_version() {
    use std::io::{BufRead, BufReader, Write};
    let f = Flotilla::new();
    f.ok(&["ls"]);
    let talk = |lines: &[&str]| -> Vec<serde_json::Value> {
        let mut stream =
            std::os::unix::net::UnixStream::connect(f.path("flotilla.sock")).expect("connect");
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .expect("timeout");
        for line in lines {
            writeln!(stream, "{line}").expect("write");
        }
        let reader = BufReader::new(stream);
        reader
            .lines()
            .take(lines.len())
            .map(|l| serde_json::from_str(&l.expect("line")).expect("json"))
            .collect()
    };

    let answers = talk(&[r#"{"seq":1,"cmd":"list"}"#]);
    assert_eq!(answers[0]["kind"], "error");
    assert!(
        answers[0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("hello first")
    );

    let answers = talk(&[r#"{"seq":1,"cmd":"hello","protocol":999}"#]);
    assert_eq!(answers[0]["kind"], "error");
    assert!(
        answers[0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("protocol")
    );

    let hello = format!(
        r#"{{"seq":1,"cmd":"hello","protocol":{}}}"#,
        flotilla::protocol::PROTOCOL_VERSION
    );
    let answers = talk(&[&hello, r#"not json"#, r#"{"seq":2,"cmd":"list"}"#]);
    // Requests are served concurrently: match replies by `re`, not by position.
    let by_re = |re: u64| {
        answers
            .iter()
            .find(|a| a["re"] == re && a["kind"] == "reply")
    };
    assert_eq!(by_re(1).expect("hello reply")["reply"]["type"], "hello");
    assert_eq!(by_re(2).expect("list reply")["reply"]["type"], "sessions");
    assert!(
        answers.iter().any(|a| a["kind"] == "error" && a["re"] == 0),
        "bad lines get an error, not a hang-up: {answers:?}"
    );
}
