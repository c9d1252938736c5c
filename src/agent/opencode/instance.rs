//! One `opencode serve` for a workspace directory: started (or found again after a daemon
//! restart), health-checked, its event stream read and routed to the sessions using it.

use super::events::{OcEvent, parse};
pub use super::route::FEED;
use super::route::Route;
use eventsource_stream::Eventsource;
use futures::StreamExt;
use reqwest::{Method, RequestBuilder};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

const READY_TIMEOUT: Duration = Duration::from_secs(60);
const HEALTH_TIMEOUT: Duration = Duration::from_secs(1);
/// The longest any one call to the server may take; a long transcript is fetched well
/// within it.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// What the event stream hands a session.
#[derive(Debug)]
pub enum Feed {
    Event(OcEvent),
    /// The stream (re)connected: fetch the messages again so nothing is missed.
    Resync,
}

/// How to start instances, from the agent's configuration.
#[derive(Debug, Clone)]
pub struct Launcher {
    pub binary: PathBuf,
    pub env: Vec<(String, String)>,
    /// Where instance records and logs live (private to the user).
    pub state_dir: PathBuf,
}

/// What a daemon needs to find a running instance again. Kept in a 0600 file, never in
/// the database, since it holds the instance's password.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    dir: PathBuf,
    pid: i32,
    url: String,
    password: String,
}

pub struct Instance {
    pub dir: PathBuf,
    pub url: String,
    pub pid: i32,
    password: String,
    http: reqwest::Client,
    routes: Mutex<HashMap<String, Route>>,
    dead: watch::Sender<Option<String>>,
    record: PathBuf,
}

impl Instance {
    /// A call to the server that must be answered within [`CALL_TIMEOUT`]: a server that
    /// hangs must not hang the session with it.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.stream(method, path).timeout(CALL_TIMEOUT)
    }

    /// A request whose answer streams for as long as the server runs (the event stream).
    fn stream(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.url))
            .basic_auth("opencode", Some(&self.password))
            .query(&[("directory", self.dir.to_string_lossy())])
    }

    /// Resolves once the instance has died, with why.
    pub fn died(&self) -> watch::Receiver<Option<String>> {
        self.dead.subscribe()
    }

    pub fn is_dead(&self) -> bool {
        self.dead.borrow().is_some()
    }

    pub fn route(&self, session: &str, feed: mpsc::Sender<Feed>) {
        let route = Route {
            tx: feed,
            lagging: false,
        };
        lock(&self.routes).insert(session.to_string(), route);
    }

    pub fn unroute(&self, session: &str) {
        lock(&self.routes).remove(session);
    }

    /// Stops the server and forgets its record.
    pub fn stop(&self) {
        let _ = std::fs::remove_file(&self.record);
        if !self.is_dead() && is_opencode(self.pid) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(self.pid),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        let _ = self
            .dead
            .send(Some("the OpenCode server was stopped".into()));
    }

    async fn healthy(&self) -> bool {
        let probe = self
            .request(Method::GET, "/global/health")
            .timeout(HEALTH_TIMEOUT)
            .send()
            .await;
        match probe {
            Ok(resp) if resp.status().is_success() => resp
                .json::<serde_json::Value>()
                .await
                .is_ok_and(|v| v["healthy"] == true),
            _ => false,
        }
    }

    fn mark_dead(&self, why: String) {
        if !self.is_dead() {
            let _ = std::fs::remove_file(&self.record);
            let _ = self.dead.send(Some(why));
        }
    }

    fn broadcast(&self, feed: impl Fn() -> Feed) {
        lock(&self.routes).retain(|_, route| route.deliver(feed()));
    }

    fn deliver(&self, session: &str, feed: Feed) {
        let mut routes = lock(&self.routes);
        if let Some(route) = routes.get_mut(session)
            && !route.deliver(feed)
        {
            routes.remove(session);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Launcher {
    fn record_path(&self, dir: &Path) -> PathBuf {
        let key = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, dir.to_string_lossy().as_bytes());
        self.state_dir.join(format!("{}.json", key.simple()))
    }

    /// Stops the servers a previous daemon left for directories not in `keep` (where no
    /// turn was running): idle sessions start their server again when a prompt needs it.
    pub fn stop_unused(&self, keep: &[PathBuf]) -> usize {
        let Ok(entries) = std::fs::read_dir(&self.state_dir) else {
            return 0;
        };
        let mut stopped = 0;
        for path in entries.flatten().map(|e| e.path()) {
            if path.extension().is_none_or(|x| x != "json") {
                continue;
            }
            let record: Option<Record> = std::fs::read_to_string(&path)
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok());
            let Some(record) = record else { continue };
            if keep.contains(&record.dir) {
                continue;
            }
            if is_opencode(record.pid) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(record.pid),
                    nix::sys::signal::Signal::SIGTERM,
                );
                stopped += 1;
            }
            let _ = std::fs::remove_file(&path);
        }
        stopped
    }

    /// The running instance a previous daemon left for `dir`, if it still answers.
    pub async fn reattach(&self, dir: &Path) -> Option<Arc<Instance>> {
        let path = self.record_path(dir);
        let record: Record = serde_json::from_str(&std::fs::read_to_string(&path).ok()?).ok()?;
        if record.dir != dir || !is_opencode(record.pid) {
            let _ = std::fs::remove_file(&path);
            return None;
        }
        let instance = self.instance(record, path);
        if !instance.healthy().await {
            instance.stop();
            return None;
        }
        tracing::info!(
            "reattached to opencode pid {} for {}",
            instance.pid,
            dir.display()
        );
        tokio::spawn(watch_pid(instance.clone()));
        tokio::spawn(read_events(instance.clone()));
        Some(instance)
    }

    fn instance(&self, record: Record, path: PathBuf) -> Arc<Instance> {
        Arc::new(Instance {
            dir: record.dir,
            url: record.url,
            pid: record.pid,
            password: record.password,
            http: reqwest::Client::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .build()
                .unwrap_or_default(),
            routes: Mutex::default(),
            dead: watch::channel(None).0,
            record: path,
        })
    }

    /// Starts `opencode serve` for `dir` and waits until it is ready.
    pub async fn start(&self, dir: &Path) -> Result<Arc<Instance>, String> {
        crate::paths::create_private_dir(&self.state_dir).map_err(|e| e.to_string())?;
        let record_path = self.record_path(dir);
        let log_path = record_path.with_extension("log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .mode(0o600)
            .open(&log_path)
            .map_err(|e| format!("cannot open {}: {e}", log_path.display()))?;
        let password = uuid::Uuid::new_v4().simple().to_string();
        let mut cmd = tokio::process::Command::new(&self.binary);
        cmd.args(["serve", "--hostname", "127.0.0.1", "--port", "0"])
            .current_dir(dir)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("OPENCODE_SERVER_PASSWORD", &password)
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log);
        // Its own session: the server outlives a daemon restart and is reattached.
        crate::process_groups::in_own_session(cmd.as_std_mut());
        let mut child = cmd.spawn().map_err(|e| {
            format!(
                "cannot run {}: {e}; install OpenCode (`npm install -g opencode-ai`) or set agents.opencode.command in config.toml",
                self.binary.display()
            )
        })?;
        let pid = child.id().map(|p| p as i32).unwrap_or(0);
        let url = match wait_for_url(&log_path, &mut child).await {
            Ok(url) => url,
            Err(e) => {
                let _ = child.start_kill();
                return Err(e);
            }
        };
        let record = Record {
            dir: dir.to_path_buf(),
            pid,
            url,
            password,
        };
        let instance = self.instance(record.clone(), record_path.clone());
        let mut ready = false;
        for _ in 0..50 {
            if instance.healthy().await {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if !ready {
            let _ = child.start_kill();
            return Err(format!(
                "opencode at {} never became healthy: see {}",
                instance.url,
                log_path.display()
            ));
        }
        write_private(
            &record_path,
            &serde_json::to_vec(&record).map_err(|e| e.to_string())?,
        )?;
        let watched = instance.clone();
        tokio::spawn(async move {
            let status = child.wait().await;
            let why = match status {
                Ok(s) => format!("the OpenCode server exited ({s})"),
                Err(e) => format!("lost the OpenCode server: {e}"),
            };
            watched.mark_dead(why);
        });
        tokio::spawn(read_events(instance.clone()));
        Ok(instance)
    }
}

/// Reads the server's log until it says where it listens. A request sent before that
/// line can hang, so nothing is sent until then.
async fn wait_for_url(log: &Path, child: &mut tokio::process::Child) -> Result<String, String> {
    let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
    loop {
        let text = tokio::fs::read_to_string(log).await.unwrap_or_default();
        if let Some(url) = text.lines().find_map(|l| l.split("listening on ").nth(1)) {
            return Ok(url.trim().trim_end_matches('/').to_string());
        }
        if let Ok(Some(status)) = child.try_wait() {
            let last = text
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("no output");
            return Err(format!("opencode exited at start ({status}): {last}"));
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!(
                "opencode did not start listening within {}s: see {}",
                READY_TIMEOUT.as_secs(),
                log.display()
            ));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// For a reattached server there is no child to wait on: watch its pid instead.
async fn watch_pid(instance: Arc<Instance>) {
    let pid = nix::unistd::Pid::from_raw(instance.pid);
    while !instance.is_dead() {
        if nix::sys::signal::kill(pid, None).is_err() || !is_opencode(instance.pid) {
            instance.mark_dead("the OpenCode server exited".into());
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The instance's one event stream: routes each event to its session, reconnects with
/// backoff, and declares the instance dead when it stops answering.
async fn read_events(instance: Arc<Instance>) {
    let mut backoff = Duration::from_millis(100);
    while !instance.is_dead() {
        let connected = instance.stream(Method::GET, "/event").send().await;
        match connected {
            Ok(resp) if resp.status().is_success() => {
                backoff = Duration::from_millis(100);
                instance.broadcast(|| Feed::Resync);
                let mut stream = resp.bytes_stream().eventsource();
                while let Some(frame) = stream.next().await {
                    let Ok(frame) = frame else { break };
                    match parse(&frame.data) {
                        Ok(event) => {
                            if let Some(session) = event.session() {
                                let session = session.to_string();
                                instance.deliver(&session, Feed::Event(event));
                            }
                        }
                        Err(e) => tracing::debug!("opencode event ignored: {e}"),
                    }
                }
            }
            Ok(resp) => tracing::warn!("opencode event stream refused: {}", resp.status()),
            Err(e) => tracing::debug!("opencode event stream: {e}"),
        }
        if instance.is_dead() {
            return;
        }
        if !instance.healthy().await {
            instance.mark_dead("the OpenCode server stopped answering".into());
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Whether `pid` is still an OpenCode server: a recorded pid may since have been reused by
/// an unrelated process, which must never be signalled.
fn is_opencode(pid: i32) -> bool {
    pid > 0
        && std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmd| {
            cmd.windows(8).any(|w| w == b"opencode") && cmd.windows(5).any(|w| w == b"serve")
        })
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    file.write_all(bytes).map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, path).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
