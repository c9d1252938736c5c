//! Starting the daemon in the background, detached from the terminal.

use super::lockfile::{self, Holder};
use crate::paths::Paths;
use std::process::Stdio;
use std::time::Duration;

pub(super) const START_TIMEOUT: Duration = Duration::from_secs(10);
pub(super) const POLL: Duration = Duration::from_millis(10);
/// How long a daemon on this machine may take to answer hello.
pub(super) const HELLO: Duration = Duration::from_secs(5);

/// Starts `flotilla daemon` in a session of its own and waits until its socket answers.
pub async fn start_daemon(paths: &Paths) -> Result<(), String> {
    paths.create_dirs().map_err(|e| e.to_string())?;
    let exe =
        std::env::current_exe().map_err(|e| format!("cannot find the flotilla binary: {e}"))?;
    let log = open_log(&paths.daemon_log).map_err(|e| {
        format!(
            "cannot open the daemon log {}: {e}",
            paths.daemon_log.display()
        )
    })?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("daemon")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    crate::process_groups::in_own_session(&mut cmd);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start the daemon: {e}"))?;

    let deadline = tokio::time::Instant::now() + START_TIMEOUT;
    while tokio::time::Instant::now() < deadline {
        if tokio::net::UnixStream::connect(&paths.socket).await.is_ok() {
            // Reap it later without blocking: the daemon lives on in its own session.
            std::thread::spawn(move || child.wait());
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait()
            && !status.success()
        {
            // It lost the race with a daemon another client started at the same moment:
            // that one is the daemon to wait for.
            if lockfile::holder(paths) != Holder::Nobody {
                return Ok(());
            }
            return Err(format!(
                "the daemon exited at start ({status}): {}",
                last_line(&paths.daemon_log)
            ));
        }
        tokio::time::sleep(POLL).await;
    }
    Err(not_answering(paths))
}

pub(super) fn not_answering(paths: &Paths) -> String {
    let pid = match lockfile::holder(paths) {
        Holder::Command(pid) => return command_holds(paths, pid),
        Holder::Daemon(Some(pid)) => format!(" (pid {pid})"),
        _ => String::new(),
    };
    format!(
        "the daemon{pid} does not answer on {} within {}s: see {}, or end it with `flotilla daemon stop`",
        paths.socket.display(),
        START_TIMEOUT.as_secs(),
        paths.daemon_log.display()
    )
}

/// The lock is held by a `--no-daemon` command, which has no socket to reach.
pub(super) fn command_holds(paths: &Paths, pid: Option<i32>) -> String {
    let pid = pid.map(|p| format!(" (pid {p})")).unwrap_or_default();
    format!(
        "a `--no-daemon` command{pid} is using {}: wait for it to finish, then try again",
        paths.data_dir.display()
    )
}

/// A log larger than this is moved aside to `daemon.log.1` when the next daemon starts.
const LOG_KEEP: u64 = 10 * 1024 * 1024;

/// The daemon's log: private, since errors may name files and sessions.
fn open_log(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    if std::fs::metadata(path).is_ok_and(|m| m.len() > LOG_KEEP) {
        let _ = std::fs::rename(path, path.with_extension("log.1"));
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    // An older log may have been made with a laxer mode.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    Ok(file)
}

fn last_line(path: &std::path::Path) -> String {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| {
            text.lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .map(str::to_string)
        })
        .unwrap_or_else(|| format!("see {}", path.display()))
}
