//! The harness the agent end-to-end tests share: an in-process engine on a home of its
//! own, a git repository to run sessions in, and the requests a test makes of both.
//! What is particular to an agent (its fake model server, its home, its helpers) stays
//! with its test.

use std::path::Path;

use flotilla::config::{AgentConfig, AgentKind, Config};
use flotilla::core::{Message, Part, Session, Status, Strategy};
use flotilla::daemon::Client;
use flotilla::engine::Engine;
use flotilla::paths::Paths;
use flotilla::protocol::{Command, NewSession, Reply};
use tempfile::TempDir;

use super::Repo;
use super::events::Recorder;
pub use super::events::WAIT;

/// An agent of `kind` run from `binary` with `env`; every other setting left unset.
pub fn agent(kind: AgentKind, binary: &Path, env: Vec<(String, String)>) -> AgentConfig {
    AgentConfig {
        kind,
        command: vec![binary.to_string_lossy().into_owned()],
        env: env.into_iter().collect(),
        ask: Vec::new(),
        agent: None,
        permission_mode: None,
        sandbox: None,
        approval: None,
    }
}

/// What [`AgentWorld::turn`] takes for the end of a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnEnd {
    /// The session goes busy (active, or waiting for input), then idle again.
    BusyThenIdle,
    /// Idle, with the prompt and a reply counted in the session's messages.
    Replied,
    /// The prompt lands in the transcript, so the turn has started; then idle.
    Started,
}

pub struct AgentWorld {
    pub client: Client,
    pub repo: Repo,
    pub paths: Paths,
    pub config: Config,
    /// Every event of the engine: what the waits below wake on.
    pub events: Recorder,
    pub turn_end: TurnEnd,
    _home: TempDir,
}

impl AgentWorld {
    /// An engine with `config` on a fresh home, and a repository with one commit.
    pub async fn start(config: Config) -> AgentWorld {
        // A short path: Unix socket paths are limited to about 100 bytes.
        let home = tempfile::Builder::new()
            .prefix("flo")
            .tempdir_in("/tmp")
            .expect("home");
        let paths = Paths::with_home(home.path()).expect("paths");
        let engine = Engine::start(paths.clone(), config.clone(), None).expect("engine");
        let events = Recorder::start(&engine).await;
        let repo = Repo::new();
        repo.write("README", "hello\n");
        repo.commit_all("first");
        AgentWorld {
            client: Client::in_process(engine),
            repo,
            paths,
            config,
            events,
            turn_end: TurnEnd::BusyThenIdle,
            _home: home,
        }
    }

    /// The reply to `command`; a failed request fails the test.
    pub async fn request(&self, command: Command) -> Reply {
        let what = format!("{command:?}");
        let reply = self.client.request(command).await;
        reply.unwrap_or_else(|e| panic!("{what}: {e}"))
    }

    /// A new session of `agent` in the repository, once it is idle.
    pub async fn new_session(&self, agent: &str, strategy: Strategy) -> Session {
        let reply = self
            .request(Command::New(NewSession {
                dir: self.repo.path().to_path_buf(),
                strategy: Some(strategy),
                agent: Some(agent.into()),
                ..NewSession::default()
            }))
            .await;
        let Reply::Session { session, .. } = reply else {
            panic!("{reply:?}")
        };
        self.wait_for(&session, |s| s.status == Status::Idle).await
    }

    pub async fn get(&self, s: &Session) -> Session {
        let id = s.id.to_string();
        match self.request(Command::Get { id }).await {
            Reply::Session { session, .. } => session,
            other => panic!("get: {other:?}"),
        }
    }

    /// The session once `done` takes it, asked again after each of its events.
    pub async fn wait_for(&self, s: &Session, done: impl Fn(&Session) -> bool) -> Session {
        let what = format!("session {}", s.id.short());
        self.events
            .until(s.id, what, async || {
                let now = self.get(s).await;
                match done(&now) {
                    true => Ok(now),
                    false => Err(format!("{} ({:?})", now.status, now.status_reason)),
                }
            })
            .await
    }

    pub async fn send(&self, s: &Session, text: &str) {
        let (id, text) = (s.id.to_string(), text.to_string());
        self.request(Command::Send { id, text }).await;
    }

    /// Sends a prompt and waits for the turn to end, as `turn_end` says.
    pub async fn turn(&self, s: &Session, text: &str) -> Session {
        let idle = |s: &Session| s.status == Status::Idle;
        match self.turn_end {
            TurnEnd::BusyThenIdle => {
                // A short turn may be over before a look could see it busy: the events
                // have it.
                let from = self.events.mark();
                self.send(s, text).await;
                let busy = |s: &Session| matches!(s.status, Status::Active | Status::WaitingInput);
                let (at, _) = self.events.passed(s.id, from, "a busy status", busy).await;
                let ended = self.events.passed(s.id, at, "idle after the turn", idle);
                ended.await.1
            }
            TurnEnd::Replied => {
                let before = self.get(s).await.message_count;
                self.send(s, text).await;
                self.wait_for(s, |s| idle(s) && s.message_count >= before + 2)
                    .await
            }
            TurnEnd::Started => {
                let before = self.transcript(s).await.len();
                self.send(s, text).await;
                self.events
                    .until(s.id, "the prompt to start a turn", async || {
                        match self.transcript(s).await.len() {
                            n if n > before => Ok(()),
                            n => Err(format!("{n} messages")),
                        }
                    })
                    .await;
                self.wait_for(s, idle).await
            }
        }
    }

    /// The whole transcript, read a page at a time as clients do.
    pub async fn transcript(&self, s: &Session) -> Vec<Message> {
        let mut held = Vec::new();
        let mut at = flotilla::core::Pos::Start;
        loop {
            let page = flotilla::core::PageQuery::forward(at.clone());
            let id = s.id.to_string();
            let command = Command::Transcript {
                id,
                page,
                follow: false,
            };
            match self.request(command).await {
                Reply::Transcript { page, .. } => {
                    at = page.end;
                    flotilla::core::page::append(&mut held, page.messages);
                    if !page.more {
                        return held;
                    }
                }
                other => panic!("transcript: {other:?}"),
            }
        }
    }

    /// Every part of the transcript, in order.
    pub async fn parts(&self, s: &Session) -> Vec<Part> {
        let messages = self.transcript(s).await.into_iter();
        messages.flat_map(|m| m.parts).collect()
    }

    /// The messages of the transcript's error parts, in order.
    pub async fn errors(&self, s: &Session) -> Vec<String> {
        let parts = self.parts(s).await.into_iter();
        let errors = parts.filter_map(|p| match p.kind {
            flotilla::core::PartKind::Error { message } => Some(message),
            _ => None,
        });
        errors.collect()
    }

    /// The transcript as JSON, to look for text in.
    pub async fn text(&self, s: &Session) -> String {
        serde_json::to_string(&self.transcript(s).await).expect("json")
    }

    /// Waits until the transcript holds `text`.
    pub async fn until_text(&self, s: &Session, text: &str) {
        self.until_text_within(WAIT, s, text).await
    }

    /// [`AgentWorld::until_text`], for text that may take longer than [`WAIT`].
    pub async fn until_text_within(&self, limit: std::time::Duration, s: &Session, text: &str) {
        let what = format!("{text:?} in the transcript");
        self.events
            .until_within(limit, s.id, what, async || match self.text(s).await {
                t if t.contains(text) => Ok(()),
                t => Err(format!("{} bytes without it", t.len())),
            })
            .await
    }

    /// A new engine on the same home, as after a daemon restart.
    pub async fn restart(&mut self) {
        let _ = self.client.request(Command::Shutdown).await;
        let engine = Engine::start(self.paths.clone(), self.config.clone(), None).expect("engine");
        self.events = Recorder::start(&engine).await;
        self.client = Client::in_process(engine);
    }
}

impl AgentWorld {
    /// The pids of the OpenCode servers this world's engine started (from their records).
    pub fn opencode_servers(&self) -> Vec<i32> {
        fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path.extension().is_some_and(|e| e == "json") {
                    out.push(path);
                }
            }
        }
        let mut records = Vec::new();
        walk(&self.paths.data_dir.join("opencode"), &mut records);
        records
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .filter_map(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .filter_map(|v| v["pid"].as_i64())
            .map(|pid| pid as i32)
            .collect()
    }
}

/// Servers outlive a daemon on purpose, so a test's engine leaves them behind: stop the
/// ones this world started, and only those.
impl Drop for AgentWorld {
    fn drop(&mut self) {
        for pid in self.opencode_servers() {
            let is_server = std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
                c.windows(8).any(|w| w == b"opencode") && c.windows(5).any(|w| w == b"serve")
            });
            if is_server {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGTERM,
                );
            }
        }
    }
}

/// Text deltas of the session's parts seen on the event stream until its turn ends.
pub async fn deltas_until_idle(events: &mut flotilla::daemon::Events, s: &Session) -> Vec<String> {
    use flotilla::protocol::Event;
    let (mut seen, mut busy) = (Vec::new(), false);
    loop {
        match tokio::time::timeout(WAIT, events.recv()).await {
            Ok(Some(Event::PartDelta { session, text, .. })) if session == s.id => seen.push(text),
            Ok(Some(Event::SessionUpdated { session })) if session.id == s.id => {
                busy |= session.status == Status::Active;
                if busy && session.status == Status::Idle {
                    return seen;
                }
            }
            Ok(Some(_)) => {}
            other => panic!("the turn did not end: {other:?}"),
        }
    }
}
