//! The `codex` backend: one `codex exec --json` process per turn.
//!
//! The first turn starts a thread and reports its id; later turns run
//! `codex exec resume ... THREAD_ID PROMPT`. Each process runs in the workspace with stdin
//! at /dev/null, in a process group of its own, so an abort (SIGINT, then harder) reaches
//! all of it and leaves the thread resumable. Codex applies its own sandbox and approval
//! policy; flotilla shows no permission cards for it.

pub mod app;
pub mod events;
mod rollout;
mod turn;

use super::{AgentError, Backend, Driver, DriverCmd, EventTx, Launch, new_id};
use events::{Mapper, Totals};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// How to get Codex, for messages about a missing binary.
pub(crate) const INSTALL: &str =
    "install Codex with `npm install -g @openai/codex` or set agents.codex.command in config.toml";
pub(crate) const DEFAULT_SANDBOX: &str = "workspace-write";
const DEFAULT_APPROVAL: &str = "never";

/// What the configuration says about Codex sessions.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// The sandbox ("read-only", "workspace-write", "danger-full-access"); none means
    /// workspace-write.
    pub sandbox: Option<String>,
    /// When Codex asks for approval; none means never, as nobody can answer it here.
    pub approval: Option<String>,
}

#[derive(Debug, Clone)]
pub struct CodexBackend {
    binary: PathBuf,
    env: Vec<(String, String)>,
    settings: Settings,
}

/// The thread a session's turns continue, as far as the driver knows it.
#[derive(Debug, Default)]
pub struct Thread {
    pub id: Option<String>,
    /// The thread's token totals after the last turn; none when not known.
    pub total: Option<Totals>,
}

impl CodexBackend {
    pub fn new(binary: PathBuf, env: Vec<(String, String)>, settings: Settings) -> Self {
        CodexBackend {
            binary,
            env,
            settings,
        }
    }

    /// The arguments of one turn: options first, then `--` and the positionals, so a
    /// prompt that starts with a dash stays a prompt.
    pub fn args(&self, prompt: &str, thread: Option<&str>, model: Option<&str>) -> Vec<String> {
        // `-c` values are TOML; a JSON string is a valid TOML basic string.
        let quoted = |s: &str| serde_json::to_string(s).unwrap_or_default();
        let setting = |value: &Option<String>, default: &str| {
            value
                .as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .unwrap_or(default)
                .to_string()
        };
        let sandbox = setting(&self.settings.sandbox, DEFAULT_SANDBOX);
        let approval = setting(&self.settings.approval, DEFAULT_APPROVAL);
        let mut args = vec!["exec".to_string()];
        if thread.is_some() {
            args.push("resume".into());
        }
        args.extend([
            "--json".to_string(),
            "--skip-git-repo-check".into(),
            "-c".into(),
            format!("sandbox_mode={}", quoted(&sandbox)),
            "-c".into(),
            format!("approval_policy={}", quoted(&approval)),
        ]);
        if let Some(model) = model.filter(|m| !m.is_empty()) {
            args.extend(["-m".to_string(), model.to_string()]);
        }
        args.push("--".into());
        args.extend(thread.map(str::to_string));
        args.push(prompt.to_string());
        args
    }
}

impl Backend for CodexBackend {
    fn check(&self) -> Result<(), AgentError> {
        match super::find_binary(&self.binary) {
            Some(_) => Ok(()),
            None => Err(AgentError::Unavailable(format!(
                "cannot find {}: {INSTALL}",
                self.binary.display()
            ))),
        }
    }

    fn open(&self, launch: Launch, events: EventTx) -> Result<Driver, AgentError> {
        self.check()?;
        let backend = self.clone();
        Ok(Driver::spawn(|rx| drive(backend, launch, events, rx)))
    }
}

/// The session's driver: one `codex exec` process per turn.
async fn drive(
    backend: CodexBackend,
    launch: Launch,
    events: EventTx,
    rx: mpsc::UnboundedReceiver<DriverCmd>,
) {
    let thread = Arc::new(Mutex::new(Thread {
        id: launch.agent_session_id.clone(),
        total: None,
    }));
    super::process::drive_turns(rx, |prompt: String| {
        let (backend, launch, events, thread) = (
            backend.clone(),
            launch.clone(),
            events.clone(),
            thread.clone(),
        );
        async move { start_turn(&backend, &launch, events, thread, &prompt).await }
    })
    .await
}

/// Starts the `codex exec` run of one prompt, on the session's thread.
async fn start_turn(
    backend: &CodexBackend,
    launch: &Launch,
    events: EventTx,
    thread: Arc<Mutex<Thread>>,
    prompt: &str,
) -> super::process::Running {
    let (id, total) = match thread.lock() {
        Ok(t) => (t.id.clone(), t.total),
        Err(_) => (launch.agent_session_id.clone(), None),
    };
    let baseline = match (&id, total) {
        (None, _) => Some(Totals::default()),
        (Some(_), Some(total)) => Some(total),
        (Some(id), None) => backend.recorded_totals(id).await,
    };
    let mut argv = vec![backend.binary.to_string_lossy().into_owned()];
    argv.extend(backend.args(prompt, id.as_deref(), launch.model.as_deref()));
    let spec = turn::Spec {
        argv,
        env: backend
            .env
            .iter()
            .cloned()
            .chain(launch.session_env())
            .collect(),
        workspace: launch.workspace.clone(),
        session: launch.session,
        mapper: Mapper::new(new_id("msg"), id, baseline),
        groups: launch.groups.clone(),
    };
    turn::start(spec, events, thread)
}

impl CodexBackend {
    /// A resumed thread's totals so far, from Codex's own record of it.
    async fn recorded_totals(&self, thread_id: &str) -> Option<Totals> {
        let home = rollout::codex_home(&self.env)?;
        let id = thread_id.to_string();
        tokio::task::spawn_blocking(move || rollout::totals(&home, &id))
            .await
            .ok()
            .flatten()
    }
}

#[cfg(test)]
mod backend_tests;
#[cfg(test)]
mod captured_tests;
#[cfg(test)]
mod tests;
