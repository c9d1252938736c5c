//! Starting the daemon in the background, detached from the terminal.

use crate::paths::Paths;
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::time::Duration;

const START_TIMEOUT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(10);

/// Starts `flotilla daemon` in a session of its own and waits until its socket answers.
pub async fn start_daemon(paths: &Paths) -> Result<(), String> {
    paths.create_dirs().map_err(|e| e.to_string())?;
    let exe =
        std::env::current_exe().map_err(|e| format!("cannot find the flotilla binary: {e}"))?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&paths.daemon_log)
        .map_err(|e| {
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
    // SAFETY: setsid is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            nix::unistd::setsid()
                .map(drop)
                .map_err(std::io::Error::from)
        });
    }
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
            // It may have lost a race with another daemon starting at the same moment.
            if tokio::net::UnixStream::connect(&paths.socket).await.is_ok() {
                return Ok(());
            }
            return Err(format!(
                "the daemon exited at start ({status}): {}",
                last_line(&paths.daemon_log)
            ));
        }
        tokio::time::sleep(POLL).await;
    }
    Err(format!(
        "the daemon did not open {} within {}s: see {}",
        paths.socket.display(),
        START_TIMEOUT.as_secs(),
        paths.daemon_log.display()
    ))
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
