//! Read-only connections for reads that may be long, so they run on a blocking thread
//! and never hold up the engine, which owns the one connection that writes.

use super::{Result, Store, StoreError};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// How many idle connections are kept for the next read.
const KEPT: usize = 4;

#[derive(Clone)]
pub struct Readers {
    path: PathBuf,
    idle: Arc<Mutex<Vec<Store>>>,
}

impl Readers {
    pub fn new(path: &Path) -> Readers {
        Readers {
            path: path.to_path_buf(),
            idle: Arc::default(),
        }
    }

    /// Runs `read` on a read-only connection. Blocks: call it off the async threads.
    pub fn read<T>(&self, read: impl FnOnce(&Store) -> Result<T>) -> Result<T> {
        let kept = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let store = match kept {
            Some(store) => store,
            None => self.open()?,
        };
        let result = read(&store);
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < KEPT
        {
            idle.push(store);
        }
        result
    }

    fn open(&self) -> Result<Store> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn =
            Connection::open_with_flags(&self.path, flags).map_err(|source| StoreError::Open {
                path: self.path.clone(),
                source,
            })?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(Store { conn })
    }
}
