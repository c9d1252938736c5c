//! A record, on disk, of every process group the daemon starts (agent turns, agent
//! processes, git commands that build a workspace), so that the next daemon
//! can end the groups a crashed one left running before it resumes anything.
//!
//! Each group is one small file named for its id (the leader's pid) holding the leader's
//! start time, the boot it belongs to and the daemon's session id, so that a pid the
//! kernel has since given to another process is not signalled. The file is written
//! right after the spawn and removed when the group's owner lets go of it, which also
//! kills whatever is left in the group.
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
            let written = stat_fields(pgid)
                .and_then(|f| Some((f.start_time?, f.session)))
                .ok_or_else(|| std::io::Error::other("the process is already gone"))
                .and_then(|(start, sid)| {
                    std::fs::write(file, format!("{start} {} {sid}\n", boot_id()))
                });
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
                .map(|pid| (Pid::from_raw(pid), read_record(&path)));
            if let Some((pgid, Some(record))) = recorded
                && is_ours(pgid, &record)
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

/// What a record says of its group.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Record {
    start: u64,
    boot: String,
    session: i32,
}

/// Whether the recorded group still has processes of its own. A record of another boot
/// names nothing that runs now. A live process with the leader's pid but another start
/// time is someone else's; with the leader gone, the members must be in the session the
/// recording daemon ran in.
fn is_ours(pgid: Pid, record: &Record) -> bool {
    if record.boot != boot_id() {
        return false;
    }
    match stat_fields(pgid) {
        Some(fields) => fields.start_time == Some(record.start),
        // The leader is gone. Its id stays reserved while any member of its group lives.
        None => group_members(pgid, Some(record.session)) > 0,
    }
}

fn group_alive(pgid: Pid) -> bool {
    group_members(pgid, None) > 0
}

/// How many live (not zombie) processes are in the group (and in `session`, if given).
fn group_members(pgid: Pid, session: Option<i32>) -> usize {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| stat_fields(Pid::from_raw(pid)))
        .filter(|f| f.pgrp == pgid.as_raw() && f.state != 'Z')
        .filter(|f| session.is_none_or(|s| s == f.session))
        .count()
}

fn read_record(path: &Path) -> Option<Record> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut fields = text.split_whitespace();
    Some(Record {
        start: fields.next()?.parse().ok()?,
        boot: fields.next()?.to_string(),
        session: fields.next()?.parse().ok()?,
    })
}

/// This boot's id: pids and start times mean something only within one boot.
fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|b| b.trim().to_string())
        .unwrap_or_default()
}

struct StatFields {
    state: char,
    pgrp: i32,
    session: i32,
    start_time: Option<u64>,
}

/// The fields of `/proc/PID/stat` this module needs. The command name (field 2) may hold
/// spaces and parentheses, so the rest is read after its last ')'.
fn stat_fields(pid: Pid) -> Option<StatFields> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3, pgrp field 5, session field 6, starttime field 22.
    Some(StatFields {
        state: fields.first()?.chars().next()?,
        pgrp: fields.get(2)?.parse().ok()?,
        session: fields.get(3)?.parse().ok()?,
        start_time: fields.get(19).and_then(|s| s.parse().ok()),
    })
}

/// Which process `pid` is: its start time, while it runs (not a zombie). Compared with
/// an earlier answer, it tells the same process from a later one given the same pid.
pub fn running_since(pid: i32) -> Option<u64> {
    let fields = stat_fields(Pid::from_raw(pid))?;
    (fields.state != 'Z').then_some(fields.start_time).flatten()
}

/// Makes `cmd` start in a session of its own, so that it outlives the daemon (or the
/// client) that starts it and no terminal's signals reach it: the daemon itself, and
/// OpenCode servers, which a restarted daemon finds again.
pub fn in_own_session(cmd: &mut std::process::Command) -> &mut std::process::Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: setsid is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            nix::unistd::setsid()
                .map(drop)
                .map_err(std::io::Error::from)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_start_time_is_read() {
        let me = nix::unistd::getpid();
        assert!(
            stat_fields(me)
                .and_then(|f| f.start_time)
                .is_some_and(|t| t > 0)
        );
        let fields = stat_fields(me).expect("own stat");
        assert_eq!(fields.pgrp, nix::unistd::getpgrp().as_raw());
    }

    #[test]
    fn a_reused_pid_or_another_boot_is_not_ours() {
        let me = nix::unistd::getpid();
        let fields = stat_fields(me).expect("stat");
        let record = Record {
            start: fields.start_time.expect("start"),
            boot: boot_id(),
            session: fields.session,
        };
        assert!(is_ours(me, &record));
        let later = Record {
            start: record.start + 1,
            ..record.clone()
        };
        assert!(!is_ours(me, &later), "another process got the pid");
        let other_boot = Record {
            boot: "another-boot".into(),
            ..record
        };
        assert!(!is_ours(me, &other_boot));
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
        while group_members(pgid, None) < 3 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(registry.end_orphans(), 1);
        let mut child = child;
        let _ = child.wait();
        assert_eq!(
            group_members(pgid, None),
            0,
            "every process of the group is gone"
        );
        assert!(!dir.path().join(pid.to_string()).exists());
    }

    use std::os::unix::process::CommandExt;
}
