//! One daemon per database: an exclusive `flock` on a file beside the database, held for
//! the daemon's whole life, with the holder's pid written in it.
//!
//! Clients look at the lock too: a held lock with no socket is a daemon starting up or
//! re-creating its socket, to be waited for, never a reason to start a second one.

use crate::paths::Paths;
use anyhow::{Context, Result};
use nix::fcntl::{Flock, FlockArg};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::time::{Duration, Instant};

/// A client checking the lock holds it for a moment; a starting daemon tries again for
/// this long before it concludes another daemon runs.
const PATIENCE: Duration = Duration::from_millis(300);

/// What holds the lock: the daemon, or a command run with `--no-daemon`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Daemon,
    Command,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::Daemon => "daemon",
            Role::Command => "no-daemon",
        }
    }
}

/// Who holds the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    Nobody,
    /// A daemon, with the pid it wrote, if readable.
    Daemon(Option<i32>),
    /// A `--no-daemon` command: it has no socket to wait for.
    Command(Option<i32>),
}

/// Takes the lock for the holder's life, or says who has it.
pub fn lock(paths: &Paths, role: Role) -> Result<Flock<std::fs::File>> {
    let deadline = Instant::now() + PATIENCE;
    let mut locked = loop {
        match try_lock(paths)? {
            Ok(locked) => break locked,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Err(_) => {
                let (pid, role) = read(paths).unzip();
                let pid = pid
                    .flatten()
                    .map(|p| format!(" (pid {p})"))
                    .unwrap_or_default();
                match role {
                    Some(Role::Command) => anyhow::bail!(
                        "a `--no-daemon` command{pid} is using {}: wait for it to finish",
                        paths.data_dir.display()
                    ),
                    _ => anyhow::bail!(
                        "another flotilla daemon{pid} already runs for {}: use `flotilla daemon stop` first",
                        paths.data_dir.display()
                    ),
                }
            }
        }
    };
    locked.set_len(0)?;
    writeln!(&mut *locked, "{} {}", std::process::id(), role.as_str())?;
    locked.sync_data()?;
    Ok(locked)
}

/// Whether a process holds the lock now.
pub fn holder(paths: &Paths) -> Holder {
    match try_lock(paths) {
        Ok(Ok(probe)) => {
            drop(probe);
            Holder::Nobody
        }
        Ok(Err(())) => match read(paths) {
            Some((pid, Role::Command)) => Holder::Command(pid),
            Some((pid, Role::Daemon)) => Holder::Daemon(pid),
            None => Holder::Daemon(None),
        },
        // No lock file can be opened: no daemon could have taken it either.
        Err(_) => Holder::Nobody,
    }
}

fn try_lock(paths: &Paths) -> Result<std::result::Result<Flock<std::fs::File>, ()>> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .read(true)
        .mode(0o600)
        .open(&paths.lock_file)
        .with_context(|| format!("cannot open {}", paths.lock_file.display()))?;
    Ok(Flock::lock(file, FlockArg::LockExclusiveNonblock).map_err(drop))
}

/// The pid and role the holder wrote. Right after a new holder took the lock the file may
/// still be empty: then the pid is unknown and the role taken to be the daemon's.
fn read(paths: &Paths) -> Option<(Option<i32>, Role)> {
    let mut text = String::new();
    std::fs::File::open(&paths.lock_file)
        .ok()?
        .read_to_string(&mut text)
        .ok()?;
    let mut fields = text.split_whitespace();
    let pid = fields
        .next()
        .and_then(|p| p.parse().ok())
        .filter(|&p| p > 0);
    let role = match fields.next() {
        Some("no-daemon") => Role::Command,
        _ => Role::Daemon,
    };
    Some((pid, role))
}
