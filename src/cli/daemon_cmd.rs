//! `flotilla daemon status` and `flotilla daemon stop`: asking the running daemon about
//! itself, and stopping it, by its socket or, when it does not answer, by its pid.

use super::output::{out, outln};
use super::run::{print_json, unexpected};
use super::{DaemonCmd, render};
use crate::daemon::Client;
use crate::paths::Paths;
use crate::protocol::{Command, Reply};
use chrono::Utc;

/// How long `daemon status` and `daemon stop` wait for a daemon that holds the lock to
/// answer on its socket (it re-creates a removed socket within a second).
const DAEMON_ANSWERS: std::time::Duration = std::time::Duration::from_secs(3);

pub(super) async fn daemon(action: DaemonCmd, paths: &Paths, json: bool) -> Result<(), String> {
    let client = match Client::connect_within(paths, DAEMON_ANSWERS).await {
        Ok(client) => client,
        Err(e) => match (action, crate::daemon::holder(paths)) {
            // Its socket is gone for good: reach it through the pid in the lock.
            (DaemonCmd::Stop, crate::daemon::Holder::Daemon(Some(pid))) if is_daemon(pid) => {
                return stop_by_pid(pid, paths, json).await;
            }
            _ => return Err(e),
        },
    };
    match (action, client) {
        (DaemonCmd::Status, None) => {
            Err("no daemon is running: any flotilla command starts one".into())
        }
        (DaemonCmd::Status, Some(client)) => match client.request(Command::DaemonStatus).await? {
            Reply::DaemonStatus(status) if json => print_json(&status),
            Reply::DaemonStatus(status) => {
                out!("{}", render::daemon_status(&status, Utc::now()));
                Ok(())
            }
            other => unexpected(other),
        },
        (DaemonCmd::Stop, None) => {
            if !json {
                outln!("no daemon is running");
            }
            Ok(())
        }
        (DaemonCmd::Stop, Some(client)) => {
            client.request(Command::Shutdown).await?;
            // Wait for the lock to go, so the next command starts a fresh daemon.
            for _ in 0..1000 {
                if crate::daemon::holder(paths) == crate::daemon::Holder::Nobody {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            if !json {
                outln!("daemon stopped");
            }
            Ok(())
        }
    }
}

/// Whether `pid` runs `flotilla daemon`, so a pid read from the lock is never a stranger.
fn is_daemon(pid: i32) -> bool {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let mut args = cmdline.split(|&b| b == 0);
    let exe = args.next().unwrap_or_default();
    let ours = std::env::current_exe().is_ok_and(|me| {
        me.file_name()
            .is_some_and(|n| exe.ends_with(n.as_encoded_bytes()))
    });
    ours && args.any(|a| a == b"daemon")
}

/// Asks the daemon the lock names to shut down by signal (continuing it first, in case it
/// was stopped), and kills it if it has not let go of the lock within 10 s. What it left
/// running is ended by the next daemon, which finds it recorded.
async fn stop_by_pid(pid: i32, paths: &Paths, json: bool) -> Result<(), String> {
    use nix::sys::signal::{Signal, kill};
    let target = nix::unistd::Pid::from_raw(pid);
    // The lock goes a moment before the process does: "stopped" means both. The start
    // time tells the daemon from a process that gets its pid later, which is never
    // signalled.
    let since = crate::process_groups::running_since(pid);
    let runs = || since.is_some() && crate::process_groups::running_since(pid) == since;
    let _ = kill(target, Signal::SIGCONT);
    kill(target, Signal::SIGTERM)
        .map_err(|e| format!("cannot signal the daemon (pid {pid}): {e}"))?;
    let released = async {
        while crate::daemon::holder(paths) != crate::daemon::Holder::Nobody || runs() {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    };
    let how = match tokio::time::timeout(std::time::Duration::from_secs(10), released).await {
        Ok(()) => "daemon stopped",
        Err(_) if runs() => {
            let _ = kill(target, Signal::SIGKILL);
            "the daemon did not stop within 10s: killed it"
        }
        Err(_) => "the daemon stopped, but another process still holds its lock",
    };
    if !json {
        outln!("{how}");
    }
    Ok(())
}
