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

/// Who holds the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    Nobody,
    /// A daemon (or a `--no-daemon` command), with the pid it wrote, if readable.
    Process(Option<i32>),
}

/// Takes the lock for the daemon's life, or says which daemon has it.
pub fn lock(paths: &Paths) -> Result<Flock<std::fs::File>> {
    let deadline = Instant::now() + PATIENCE;
    let mut locked = loop {
        match try_lock(paths)? {
            Ok(locked) => break locked,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Err(_) => {
                let pid = read_pid(paths)
                    .map(|p| format!(" (pid {p})"))
                    .unwrap_or_default();
                anyhow::bail!(
                    "another flotilla daemon{pid} already runs for {}: use `flotilla daemon stop` first",
                    paths.data_dir.display()
                );
            }
        }
    };
    locked.set_len(0)?;
    writeln!(&mut *locked, "{}", std::process::id())?;
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
        Ok(Err(())) => Holder::Process(read_pid(paths)),
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

fn read_pid(paths: &Paths) -> Option<i32> {
    let mut text = String::new();
    std::fs::File::open(&paths.lock_file)
        .ok()?
        .read_to_string(&mut text)
        .ok()?;
    text.trim().parse().ok().filter(|&p| p > 0)
}
