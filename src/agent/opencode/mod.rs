//! The `opencode` backend: one `opencode serve` per workspace directory, driven over HTTP
//! with its events read from the server-sent event stream.

mod driver;
pub mod events;
mod instance;
mod route;
pub use instance::CALL_TIMEOUT;

use super::{AgentError, Backend, Driver, EventTx, Launch};
use instance::{Instance, Launcher};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::Mutex;

/// What the configuration says about OpenCode sessions.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Tools that ask before they run ("edit", "bash"); empty follows OpenCode's defaults.
    pub ask: Vec<String>,
    /// The OpenCode agent prompts go to ("build", "plan"); none uses OpenCode's default.
    pub agent: Option<String>,
}

/// The running instances, one per directory, shared by every session there.
pub struct Pool {
    launcher: Launcher,
    settings: Arc<Settings>,
    instances: Mutex<HashMap<PathBuf, Users>>,
    /// Held while a directory's server is being found or started.
    starting: Mutex<HashMap<PathBuf, Arc<Mutex<()>>>>,
}

/// An instance, how many sessions use it, and whether one of them left it running for a
/// later daemon (its turn goes on).
type Users = (Arc<Instance>, usize, bool);

impl Pool {
    async fn acquire(&self, dir: &Path) -> Result<Arc<Instance>, String> {
        // One start per directory at a time, and a slow start (up to a minute) in one
        // directory never holds up sessions in another.
        let starting = {
            let mut starting = self.starting.lock().await;
            starting.entry(dir.to_path_buf()).or_default().clone()
        };
        let _one_start = starting.lock().await;
        {
            let mut instances = self.instances.lock().await;
            if let Some((instance, users, _)) = instances.get_mut(dir)
                && !instance.is_dead()
            {
                *users += 1;
                return Ok(instance.clone());
            }
        }
        let instance = match self.launcher.reattach(dir).await {
            Some(instance) => instance,
            None => self.launcher.start(dir).await?,
        };
        let mut instances = self.instances.lock().await;
        instances.insert(dir.to_path_buf(), (instance.clone(), 1, false));
        Ok(instance)
    }

    /// A session leaves. The last one out stops the server, unless one of them left only
    /// because the daemon is going away (`detach`) with a turn running: then the server
    /// keeps running to be reattached.
    /// A session lets go of `used`. Only that very instance: one that died may have
    /// been replaced for the directory, and its users must not count against the new.
    async fn release(&self, dir: &Path, used: &Arc<Instance>, detach: bool) {
        let mut instances = self.instances.lock().await;
        let Some((instance, users, keep)) = instances.get_mut(dir) else {
            return;
        };
        if !Arc::ptr_eq(instance, used) {
            return;
        }
        *users = users.saturating_sub(1);
        *keep |= detach;
        if *users == 0 {
            let (instance, keep) = (instance.clone(), *keep);
            instances.remove(dir);
            if !keep {
                instance.stop();
            }
        }
    }
}

pub struct OpenCodeBackend {
    pool: Arc<Pool>,
}

impl OpenCodeBackend {
    pub fn new(
        binary: PathBuf,
        env: Vec<(String, String)>,
        state_dir: PathBuf,
        settings: Settings,
    ) -> Self {
        OpenCodeBackend {
            pool: Arc::new(Pool {
                launcher: Launcher {
                    binary,
                    env,
                    state_dir,
                },
                settings: Arc::new(settings),
                instances: Mutex::default(),
                starting: Mutex::default(),
            }),
        }
    }
}

impl Backend for OpenCodeBackend {
    fn tidy(&self, busy: &[PathBuf]) {
        let stopped = self.pool.launcher.stop_unused(busy);
        if stopped > 0 {
            tracing::info!("stopped {stopped} idle OpenCode server(s) an earlier daemon left");
        }
    }

    fn check(&self) -> Result<(), AgentError> {
        let binary = &self.pool.launcher.binary;
        match super::find_binary(binary) {
            Some(_) => Ok(()),
            None => Err(AgentError::Unavailable(format!(
                "cannot find {}: {INSTALL}",
                binary.display()
            ))),
        }
    }

    fn open(&self, launch: Launch, events: EventTx) -> Result<Driver, AgentError> {
        self.check()?;
        let pool = self.pool.clone();
        Ok(Driver::spawn(|rx| driver::drive(pool, launch, events, rx)))
    }

    fn starts_ready(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod captured_tests;
#[cfg(test)]
mod tests;

pub(crate) const INSTALL: &str = "install OpenCode with `npm install -g opencode-ai` or set agents.opencode.command in config.toml";
