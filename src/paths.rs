//! Where flotilla keeps its files. `FLOTILLA_HOME` puts everything under one directory.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Paths {
    pub data_dir: PathBuf,
    pub config_file: PathBuf,
    pub socket: PathBuf,
    /// Held by the daemon for its whole life. It lives beside the database, not in the
    /// runtime directory, which the system may delete while the daemon runs.
    pub lock_file: PathBuf,
    pub database: PathBuf,
    /// The process groups the daemon started, one file each (see `process_groups`).
    pub groups: PathBuf,
    pub workspaces: PathBuf,
    pub daemon_log: PathBuf,
}

// sun_path holds 108 bytes including the terminating NUL.
const MAX_SOCKET_PATH: usize = 107;

impl Paths {
    pub fn from_env() -> Result<Paths> {
        if let Some(home) = std::env::var_os("FLOTILLA_HOME").filter(|h| !h.is_empty()) {
            return Paths::with_home(Path::new(&home));
        }
        let dirs = directories::ProjectDirs::from("", "", "flotilla")
            .context("cannot find the home directory: set HOME or FLOTILLA_HOME")?;
        let data = dirs.data_dir().to_path_buf();
        let runtime = dirs.runtime_dir().unwrap_or(dirs.data_dir()).to_path_buf();
        Paths::under(&data, dirs.config_dir(), &runtime)
    }

    /// Everything under one directory, as `FLOTILLA_HOME` does.
    pub fn with_home(home: &Path) -> Result<Paths> {
        let home = absolute(home)?;
        Paths::under(&home, &home, &home)
    }

    fn under(data: &Path, config: &Path, runtime: &Path) -> Result<Paths> {
        let socket = runtime.join("flotilla.sock");
        if socket.as_os_str().len() > MAX_SOCKET_PATH {
            bail!(
                "socket path {} is longer than {MAX_SOCKET_PATH} bytes: set FLOTILLA_HOME to a shorter directory",
                socket.display()
            );
        }
        Ok(Paths {
            data_dir: data.to_path_buf(),
            config_file: config.join("config.toml"),
            lock_file: data.join("flotilla.lock"),
            groups: data.join("groups"),
            socket,
            database: data.join("flotilla.db"),
            workspaces: data.join("workspaces"),
            daemon_log: data.join("daemon.log"),
        })
    }

    /// Creates the private directories the daemon writes to.
    pub fn create_dirs(&self) -> Result<()> {
        for dir in [
            Some(self.data_dir.as_path()),
            self.socket.parent(),
            Some(self.workspaces.as_path()),
            Some(self.groups.as_path()),
        ]
        .into_iter()
        .flatten()
        {
            create_private_dir(dir)?;
        }
        Ok(())
    }
}

fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).with_context(|| format!("cannot resolve {}", path.display()))
}

/// Creates `dir` (and its parents) readable by this user alone.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| {
            format!(
                "cannot create {}: check its parent's permissions",
                dir.display()
            )
        })
}
