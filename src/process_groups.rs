//! A record, on disk, of every process group the daemon starts (agent turns, agent
//! processes, git commands that build or remove a workspace), so that the next daemon
//! can end the groups a crashed one left running before it resumes anything.
//!
//! Each group is one small file named for its id (the leader's pid) holding the leader's
//! start time, so a pid the kernel has since given to another process is never signalled.
//! The file is written right after the spawn and removed when the group's owner lets go
//! of it, which also kills whatever is left in the group.
//!
//! The start time comes from `/proc/PID/stat`; one field of one file does not warrant a
//! crate for all of procfs.

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long start-up waits for the groups it killed to be gone.
const GONE_WITHIN: Duration = Duration::from_secs(2);

/// Where the daemon records its process groups. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Registry {
    dir: Option<Arc<PathBuf>>,
}

impl Registry {
    /// Records under `dir`, which must be private to the user and exist.
    pub fn new(dir: PathBuf) -> Registry {
        Registry {
            dir: Some(Arc::new(dir)),
        }
    }

    /// Records nothing: for code run outside a daemon (tests, one-off tools).
    pub fn none() -> Registry {
        Registry { dir: None }
    }

    /// Records the group led by `pid`, a process just spawned as a group leader. The
    /// returned guard kills the group when it is dropped.
    pub fn record(&self, pid: u32) -> Group {
        let pgid = Pid::from_raw(pid as i32);
        let file = self.dir.as_ref().map(|dir| dir.join(pid.to_string()));
        if let Some(file) = &file {
            let written = start_time(pgid)
                .ok_or_else(|| std::io::Error::other("the process is already gone"))
                .and_then(|start| std::fs::write(file, format!("{start}\n")));
            if let Err(e) = written {
                tracing::warn!("recording process group {pid}: {e}");
            }
        }
        Group { pgid, file }
    }

    /// Ends every recorded group whose processes are still running: what a daemon that
    /// died without shutting down left behind. Call it with the daemon lock held, before
    /// any session is resumed. Returns how many groups were ended.
    pub fn end_orphans(&self) -> usize {
        let Some(dir) = &self.dir else { return 0 };
        let Ok(entries) = std::fs::read_dir(dir.as_path()) else {
            return 0;
        };
        let mut ended = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            let recorded = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.parse::<i32>().ok())
                .filter(|&pid| pid > 1)
                .map(|pid| (Pid::from_raw(pid), read_start(&path)));
            if let Some((pgid, start)) = recorded
                && is_ours(pgid, start)
                && killpg(pgid, Signal::SIGKILL).is_ok()
            {
                tracing::info!("ended process group {pgid} left by an earlier daemon");
                ended.push(pgid);
            }
            let _ = std::fs::remove_file(&path);
        }
        let deadline = Instant::now() + GONE_WITHIN;
        while Instant::now() < deadline && ended.iter().any(|&g| group_alive(g)) {
            std::thread::sleep(Duration::from_millis(10));
        }
        ended.len()
    }
}

/// A recorded process group. Dropping it kills what is left of the group (a turn's
/// process may have left children behind) and removes the record.
#[derive(Debug)]
pub struct Group {
    pgid: Pid,
    file: Option<PathBuf>,
}

impl Group {
    pub fn pgid(&self) -> Pid {
        self.pgid
    }

    /// Signals every process of the group.
    pub fn signal(&self, signal: Signal) -> nix::Result<()> {
        killpg(self.pgid, signal)
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        // The leader may be reaped already. Its id cannot be given to another group while
        // any member of this one lives, so this reaches only what the group left; with no
        // member left the signal finds nothing (pids are handed out in sequence, so the id
        // is not given out again within moments).
        let _ = killpg(self.pgid, Signal::SIGKILL);
        if let Some(file) = &self.file {
            let _ = std::fs::remove_file(file);
        }
    }
}

/// Whether the group `pgid` recorded with leader start time `start` still has processes
/// of its own. A live process with that pid but another start time is someone else's.
fn is_ours(pgid: Pid, start: Option<u64>) -> bool {
    match stat_fields(pgid) {
        Some(fields) => start.is_some() && fields.start_time == start,
        // The leader is gone. Its id stays reserved while any member of its group lives,
        // so members with that group id are the recorded group's.
        None => group_members(pgid) > 0,
    }
}

fn group_alive(pgid: Pid) -> bool {
    group_members(pgid) > 0
}

/// How many live (not zombie) processes are in the group.
fn group_members(pgid: Pid) -> usize {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| stat_fields(Pid::from_raw(pid)))
        .filter(|f| f.pgrp == pgid.as_raw() && f.state != 'Z')
        .count()
}

fn read_start(path: &Path) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The leader's start time, in clock ticks since boot.
pub fn start_time(pid: Pid) -> Option<u64> {
    stat_fields(pid)?.start_time
}

struct StatFields {
    state: char,
    pgrp: i32,
    start_time: Option<u64>,
}

/// The fields of `/proc/PID/stat` this module needs. The command name (field 2) may hold
/// spaces and parentheses, so the rest is read after its last ')'.
fn stat_fields(pid: Pid) -> Option<StatFields> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3, pgrp field 5, starttime field 22.
    Some(StatFields {
        state: fields.first()?.chars().next()?,
        pgrp: fields.get(2)?.parse().ok()?,
        start_time: fields.get(19).and_then(|s| s.parse().ok()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_start_time_is_read() {
        let me = nix::unistd::getpid();
        assert!(start_time(me).is_some_and(|t| t > 0));
        let fields = stat_fields(me).expect("own stat");
        assert_eq!(fields.pgrp, nix::unistd::getpgrp().as_raw());
    }

    #[test]
    fn a_reused_pid_is_not_ours() {
        let me = nix::unistd::getpid();
        let start = start_time(me).expect("start");
        assert!(is_ours(me, Some(start)));
        assert!(!is_ours(me, Some(start + 1)));
        assert!(!is_ours(me, None));
    }

    #[test]
    fn orphans_are_ended_and_records_removed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let registry = Registry::new(dir.path().to_path_buf());
        let child = std::process::Command::new("sh")
            .args(["-c", "sleep 300 & sleep 300"])
            .process_group(0)
            .spawn()
            .expect("spawn");
        let pid = child.id();
        // A daemon that dies never drops its guards.
        std::mem::forget(registry.record(pid));
        assert!(dir.path().join(pid.to_string()).exists());
        // Wait until the background sleep exists, so the whole group is tested.
        let pgid = Pid::from_raw(pid as i32);
        let deadline = Instant::now() + Duration::from_secs(10);
        while group_members(pgid) < 3 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(registry.end_orphans(), 1);
        let mut child = child;
        let _ = child.wait();
        assert_eq!(group_members(pgid), 0, "every process of the group is gone");
        assert!(!dir.path().join(pid.to_string()).exists());
    }

    use std::os::unix::process::CommandExt;
}
