//! The engine: the one owner of sessions, the store and the agent drivers.
//!
//! It runs as a single task. Clients reach it through an [`Engine`] handle with
//! [`Command`]s; backends reach it with [`AgentEvent`]s; it answers with [`Reply`]s and
//! broadcasts [`Event`]s. Slow work (git, diffs, stopping processes) runs elsewhere and
//! comes back to the task as a [`Job`] that applies its result.

mod agent_events;
mod agents;
mod archive;
mod backends;
mod callbacks;
mod checkpoints;
mod chronicles;
mod commands;
mod conflicts;
mod creation;
mod flush;
mod hibernation;
mod land;
mod lifecycle;
mod limits;
mod marks;
mod plans;
mod prompts;
mod review;
mod setup;
mod subscription;
mod termination;

use crate::agent::{AgentEvent, Backend, Driver};
use crate::config::Config;
use crate::core::{Session, SessionId};
use crate::paths::Paths;
use crate::process_groups::Registry;
use crate::protocol::{Command, Event, Reply};
use crate::store::{Readers, Store};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::time::Instant;

pub use subscription::Subscription;

/// How long streamed text may wait in memory before it is written to the database: the
/// most a crash can lose of a message that was still streaming.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(100);
/// Events kept for subscribers that are behind; one that falls further behind is told it
/// lagged and fetches the state again. This bounds what a client that never reads can
/// cost the daemon: the command agent's deltas are coalesced up to 32 KiB, the other
/// agents' are a token or a few.
const EVENT_BUFFER: usize = 1_024;
const AGENT_BUFFER: usize = 4_096;

/// What a command produced: a reply, and for subscribing commands, the events after it.
pub struct Outcome {
    pub reply: Reply,
    pub events: Option<Subscription>,
}

impl From<Reply> for Outcome {
    fn from(reply: Reply) -> Self {
        Outcome {
            reply,
            events: None,
        }
    }
}

/// A one-line message for the user: what went wrong and what to do.
pub type Answer = Result<Outcome, String>;
type Responder = oneshot::Sender<Answer>;
type Job = Box<dyn FnOnce(&mut State) + Send>;

/// What the engine task is handed: a client's command with where to answer, or a job
/// that finishes work done off the task.
// Each value is made and moved once, never held in bulk: boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
enum Input {
    Request(Command, Responder),
    Job(Job),
}

/// A cheap, cloneable handle on the engine task.
#[derive(Clone)]
pub struct Engine {
    tx: mpsc::UnboundedSender<Input>,
}

impl Engine {
    /// Opens the store, reconciles what a previous daemon left behind, and starts the task.
    pub fn start(
        paths: Paths,
        config: Config,
        config_error: Option<String>,
    ) -> anyhow::Result<Engine> {
        let (mut state, (requests, agent_events)) = State::open(paths, config, config_error)?;
        let tx = state.jobs.clone();
        state.finish_workspaces();
        state.reconcile()?;
        tokio::spawn(state.run(requests, agent_events));
        Ok(Engine { tx })
    }

    pub async fn execute(&self, command: Command) -> Answer {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Input::Request(command, reply))
            .map_err(|_| "the engine has shut down: start the daemon again".to_string())?;
        rx.await
            .map_err(|_| "the engine stopped before answering: check the daemon log".to_string())?
    }

    /// Resolves once the engine task has ended.
    pub async fn closed(&self) {
        self.tx.closed().await
    }
}

/// What the engine keeps for a session whose agent is running.
struct Live {
    driver: Driver,
    /// The assistant message that parts and errors of the current turn belong to.
    message: Option<String>,
    /// Streamed parts of the current turn, indexed for search when the turn ends.
    streamed: Vec<String>,
    /// `abort` requests waiting for the turn to end.
    abort_waiters: Vec<(Responder, Option<String>)>,
    /// Since when the session has been idle, for hibernation.
    idle_since: Option<Instant>,
    /// Which driver of the session this is; events of earlier ones are stale.
    generation: u64,
    /// When the running turn started, for the limit on turns' time.
    turn_started: Option<DateTime<Utc>>,
    /// A limit was reached during the turn: the session completes once it has ended.
    ending: Option<String>,
    /// Permission requests not answered yet, oldest first.
    pending: Vec<String>,
}

pub(crate) struct State {
    store: Store,
    /// Read-only connections for reads that may be long (pages of a transcript).
    readers: Readers,
    paths: Paths,
    config: Config,
    config_error: Option<String>,
    backends: HashMap<String, Arc<dyn Backend>>,
    sessions: BTreeMap<SessionId, Session>,
    live: HashMap<SessionId, Live>,
    /// Streamed text not yet written, by part id.
    pending_text: HashMap<String, flush::Pending>,
    /// Text length so far of the parts streaming in running turns, for delta offsets.
    part_len: HashMap<String, usize>,
    /// Sessions whose row needs writing at the next flush.
    dirty: HashSet<SessionId>,
    flush_at: Option<Instant>,
    /// When the next idle agent is due to be stopped.
    hibernate_at: Option<Instant>,
    /// When the next session may reach a time limit.
    limit_at: Option<Instant>,
    events: broadcast::Sender<Event>,
    /// Backends' events, each with the generation of the driver that sent it.
    agent_tx: mpsc::Sender<Tagged>,
    /// The generation the next driver gets.
    next_generation: u64,
    jobs: mpsc::UnboundedSender<Input>,
    started_at: DateTime<Utc>,
    shutting_down: Option<Responder>,
    /// Every process group the engine and its backends start is recorded here.
    groups: Registry,
    /// The session each client looks at, by connection; those are not marked.
    viewers: HashMap<u64, SessionId>,
    /// Sessions whose archive or restore runs: nothing else may touch their workspace.
    in_flight: HashSet<SessionId>,
    /// Templates' setup commands running, by session.
    setups: HashMap<SessionId, setup::Running>,
    /// Sessions whose workspace git is rolling back or landing: prompts wait in the
    /// queue, and other such requests are refused, until it is done.
    git_busy: HashSet<SessionId>,
    conflict_checks: conflicts::Checks,
    /// The checkpoint a session was rolled back to, until its next one is taken: what
    /// its files should hold, for the check of changes a rollback would lose.
    baselines: HashMap<SessionId, String>,
    /// When the source repositories' branches are next looked at for moves.
    conflict_at: Option<Instant>,
}

/// An agent's event with the generation of the driver it came from: a driver let go of
/// (stopped while starting, say) may still report, and must not touch its successor.
type Tagged = (SessionId, u64, AgentEvent);

type Inboxes = (mpsc::UnboundedReceiver<Input>, mpsc::Receiver<Tagged>);

impl State {
    /// The engine's state on the store at `paths`, and the inboxes its task reads.
    fn open(
        paths: Paths,
        config: Config,
        config_error: Option<String>,
    ) -> anyhow::Result<(State, Inboxes)> {
        paths.create_dirs()?;
        let store = Store::open(&paths.database)?;
        // What a daemon that died left running must be gone before anything is resumed
        // or tidied: a second agent beside the first, or git still writing a workspace.
        let groups = Registry::new(paths.groups.clone());
        let ended = groups.end_orphans();
        if ended > 0 {
            tracing::warn!("ended {ended} process group(s) an earlier daemon left running");
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let (agent_tx, agent_rx) = mpsc::channel(AGENT_BUFFER);
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let backends = backends::backends_from(&config, &paths);
        let state = State {
            store,
            readers: Readers::new(&paths.database),
            paths,
            config,
            config_error,
            backends,
            sessions: BTreeMap::new(),
            live: HashMap::new(),
            pending_text: HashMap::new(),
            part_len: HashMap::new(),
            dirty: HashSet::new(),
            viewers: HashMap::new(),
            in_flight: HashSet::new(),
            setups: HashMap::new(),
            git_busy: HashSet::new(),
            conflict_checks: conflicts::Checks::default(),
            baselines: HashMap::new(),
            conflict_at: None,
            flush_at: None,
            hibernate_at: None,
            limit_at: None,
            events,
            agent_tx,
            next_generation: 0,
            jobs: tx,
            started_at: Utc::now(),
            shutting_down: None,
            groups,
        };
        Ok((state, (rx, agent_rx)))
    }

    async fn run(
        mut self,
        mut requests: mpsc::UnboundedReceiver<Input>,
        mut agent_events: mpsc::Receiver<Tagged>,
    ) {
        // On the task: the checks' results come back to it as jobs.
        self.check_all_conflicts();
        loop {
            let (flush_at, hibernate_at, limit_at, conflict_at) = (
                self.flush_at,
                self.hibernate_at,
                self.limit_at,
                self.conflict_at,
            );
            tokio::select! {
                msg = requests.recv() => match msg {
                    Some(Input::Request(cmd, reply)) => self.request(cmd, reply),
                    Some(Input::Job(job)) => job(&mut self),
                    None => break,
                },
                Some((session, generation, event)) = agent_events.recv() => {
                    self.driver_event(session, generation, event)
                }
                _ = crate::deadline::sleep_until(flush_at), if flush_at.is_some() => self.flush(),
                _ = crate::deadline::sleep_until(hibernate_at), if hibernate_at.is_some() => self.hibernate_due(),
                _ = crate::deadline::sleep_until(limit_at), if limit_at.is_some() => self.limits_due(),
                _ = crate::deadline::sleep_until(conflict_at), if conflict_at.is_some() => self.poll_bases(),
            }
            if let Some(reply) = self.shutting_down.take() {
                self.shutdown().await;
                let _ = reply.send(Ok(Reply::Ok.into()));
                break;
            }
        }
    }

    /// Runs `work` on a blocking thread, then `then` on the engine task with its result.
    fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
        then: impl FnOnce(&mut State, T) + Send + 'static,
    ) {
        let jobs = self.jobs.clone();
        tokio::spawn(async move {
            if let Ok(value) = tokio::task::spawn_blocking(work).await {
                let _ = jobs.send(Input::Job(Box::new(move |state: &mut State| {
                    then(state, value)
                })));
            }
        });
    }

    /// Waits for `fut`, then runs `then` on the engine task.
    fn after<F>(&self, fut: F, then: impl FnOnce(&mut State, F::Output) + Send + 'static)
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let jobs = self.jobs.clone();
        tokio::spawn(async move {
            let value = fut.await;
            let _ = jobs.send(Input::Job(Box::new(move |state: &mut State| {
                then(state, value)
            })));
        });
    }

    fn broadcast(&self, event: Event) {
        // No subscribers is not an error.
        let _ = self.events.send(event);
    }

    fn subscribe(&self, only: Option<SessionId>) -> Subscription {
        Subscription::new(self.events.subscribe(), only)
    }

    /// Writes a changed session and tells subscribers.
    fn publish(&mut self, id: SessionId) {
        let running = self.live.contains_key(&id);
        if let Some(session) = self.sessions.get_mut(&id) {
            session.agent_running = running;
            if let Err(e) = self.store.save_session(session) {
                tracing::error!("saving session {id}: {e}");
            }
            self.dirty.remove(&id);
            // No subscribers is not an error.
            let _ = self.events.send(Event::SessionUpdated {
                session: session.clone(),
            });
        }
    }

    fn now() -> DateTime<Utc> {
        Utc::now()
    }
}
