//! `codex app-server`: Codex's JSON-RPC 2.0 protocol on stdio, one long-lived process per
//! session, the protocol its editor integrations use. `rpc` reads and writes its lines,
//! `mapper` maps a thread's turns onto flotilla's message model (both pure; the tests run
//! them over lines captured from the pinned codex-cli), and `driver` runs the process.

mod driver;
pub mod mapper;
pub mod rpc;

pub use mapper::{Mapper, Step};

use crate::agent::{AgentError, Backend, Driver, EventTx, Launch, find_binary};
use std::path::PathBuf;
use std::sync::Arc;

/// Asked before a command or a change leaves the sandbox, as Claude asks: the permission
/// card answers it.
pub const DEFAULT_APPROVAL: &str = "on-request";

/// The `codex` backend on the app server.
pub struct AppBackend {
    binary: PathBuf,
    env: Vec<(String, String)>,
    settings: super::Settings,
}

impl AppBackend {
    pub fn new(binary: PathBuf, env: Vec<(String, String)>, settings: super::Settings) -> Self {
        AppBackend {
            binary,
            env,
            settings,
        }
    }
}

impl Backend for AppBackend {
    fn check(&self) -> Result<(), AgentError> {
        match find_binary(&self.binary) {
            Some(_) => Ok(()),
            None => Err(AgentError::Unavailable(format!(
                "cannot find {}: {}",
                self.binary.display(),
                super::INSTALL
            ))),
        }
    }

    fn open(&self, launch: Launch, events: EventTx) -> Result<Driver, AgentError> {
        self.check()?;
        let binary = find_binary(&self.binary).unwrap_or_else(|| self.binary.clone());
        let setting = |v: &Option<String>, default: &str| {
            let v = v.as_deref().map(str::trim).filter(|v| !v.is_empty());
            v.unwrap_or(default).to_string()
        };
        let setup = Arc::new(driver::Setup {
            binary,
            env: self.env.clone(),
            sandbox: setting(&self.settings.sandbox, super::DEFAULT_SANDBOX),
            approval: setting(&self.settings.approval, DEFAULT_APPROVAL),
        });
        Ok(Driver::spawn(|rx| driver::drive(setup, launch, events, rx)))
    }

    /// The process starts at once; it takes prompts once its thread is open.
    fn starts_ready(&self) -> bool {
        false
    }

    /// `turn/steer` adds text to the running turn.
    fn steers(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests;
