//! One client API over two transports: a byte stream to a daemon (its Unix socket, or an
//! SSH link to another host's), or an engine in this process.

use super::lockfile::{self, Holder};
use super::spawn;
use crate::engine::Engine;
use crate::lines::{Line, LineCodec, MAX_REPLY, MAX_REQUEST};
use crate::paths::Paths;
use crate::protocol::{Command, Event, PROTOCOL_VERSION, Reply, Request, ServerMsg};
use futures::StreamExt;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::sync::{mpsc, oneshot};
use tokio_util::codec::FramedRead;

type Pending = Arc<Mutex<Shared>>;

/// What the connection's reader and its requesters share.
#[derive(Default)]
struct Shared {
    waiting: HashMap<u64, oneshot::Sender<Result<Reply, String>>>,
    /// Why the connection ended, once it has: the daemon's own words when it gave them.
    closed: Option<String>,
}

pub(super) const CLOSED: &str =
    "the daemon closed the connection: see `flotilla daemon status` and the daemon log";

/// Events from every subscription the client made, in order.
pub type Events = mpsc::Receiver<Event>;

/// Events waiting for the client to take them. When it takes none, the connection is not
/// read further, the daemon's queue for it fills, and it is told it lagged: memory stays
/// bounded on both sides.
const EVENTS: usize = 1024;

pub struct Client {
    transport: Transport,
    events_rx: Option<Events>,
}

/// The writing half of a connection to a daemon.
pub type Writer = Box<dyn AsyncWrite + Send + Unpin>;

/// What carries a stream (the `ssh` process, an exec through a Kubernetes API server):
/// kept by the client, and dropped, so ended, with it.
pub type Carrier = Box<dyn std::any::Any + Send>;

enum Transport {
    /// The stream's reader task holds the event sender, so the events end with the
    /// connection.
    Stream {
        writer: tokio::sync::Mutex<Writer>,
        pending: Pending,
        next_id: AtomicU64,
        /// What to say when the daemon does not answer in time.
        silent: String,
        /// What carries the stream (the `ssh` process), ended with the client.
        _carrier: Option<std::sync::Mutex<Carrier>>,
    },
    InProcess {
        engine: Engine,
        events: mpsc::Sender<Event>,
    },
}

impl Client {
    /// Connects to the daemon, starting one in the background if none runs. A daemon
    /// that holds the lock but has no socket yet (starting, or re-creating a socket
    /// someone removed) is waited for, never doubled.
    pub async fn connect_or_spawn(paths: &Paths) -> Result<Client, String> {
        // A daemon that holds the lock may be on its way out (`daemon stop`): once it is
        // gone, start another.
        for _ in 0..3 {
            if let Some(client) = Client::connect(paths).await? {
                return Ok(client);
            }
            if lockfile::holder(paths) == Holder::Nobody {
                spawn::start_daemon(paths).await?;
            }
            if let Some(client) = Client::connect_within(paths, spawn::START_TIMEOUT).await? {
                return Ok(client);
            }
        }
        Err(spawn::not_answering(paths))
    }

    /// Connects to a running daemon, waiting up to `limit` for its socket if the lock
    /// says one runs; `None` when none runs.
    pub async fn connect_within(
        paths: &Paths,
        limit: std::time::Duration,
    ) -> Result<Option<Client>, String> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(client) = Client::connect(paths).await? {
                return Ok(Some(client));
            }
            match lockfile::holder(paths) {
                Holder::Nobody => return Ok(None),
                Holder::Command(pid) => return Err(spawn::command_holds(paths, pid)),
                Holder::Daemon(_) => {}
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(spawn::not_answering(paths));
            }
            tokio::time::sleep(spawn::POLL).await;
        }
    }

    /// Connects to a running daemon; `None` when no daemon answers.
    pub async fn connect(paths: &Paths) -> Result<Option<Client>, String> {
        let stream = match UnixStream::connect(&paths.socket).await {
            Ok(stream) => stream,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
                ) =>
            {
                return Ok(None);
            }
            Err(e) => {
                return Err(format!("cannot connect to {}: {e}", paths.socket.display()));
            }
        };
        let pid = match lockfile::holder(paths) {
            Holder::Daemon(Some(pid)) => format!(" (pid {pid})"),
            _ => String::new(),
        };
        let silent = format!(
            "the daemon{pid} does not answer in time: it may be stopped (SIGSTOP), stuck or very busy; see {}, and `flotilla daemon stop` ends it",
            paths.daemon_log.display()
        );
        let (read, write) = stream.into_split();
        let client = Client::over_stream(read, Box::new(write), silent, None);
        let hello = client.hello(spawn::HELLO).await;
        // A daemon killed a moment ago can still have its socket take a connection, then
        // close it unanswered as it dies: that is no daemon, not an error.
        let hello = match hello {
            Err(e) if e == CLOSED => return Ok(None),
            other => other?,
        };
        match hello {
            Reply::Hello { protocol, .. } if protocol == PROTOCOL_VERSION => Ok(Some(client)),
            Reply::Hello { protocol, .. } => Err(format!(
                "the running daemon speaks protocol {protocol} and this flotilla {PROTOCOL_VERSION}: run `flotilla daemon stop` and try again"
            )),
            other => Err(format!("the daemon answered hello with {other:?}")),
        }
    }

    /// Opens the connection with the protocol version, waiting up to `patience`.
    pub(super) async fn hello(&self, patience: std::time::Duration) -> Result<Reply, String> {
        let hello = Command::Hello {
            protocol: PROTOCOL_VERSION,
        };
        self.request_within(hello, patience).await
    }

    /// A client of an engine running in this process (tests, `--no-daemon`).
    pub fn in_process(engine: Engine) -> Client {
        let (events_tx, events_rx) = mpsc::channel(EVENTS);
        Client {
            transport: Transport::InProcess {
                engine,
                events: events_tx,
            },
            events_rx: Some(events_rx),
        }
    }

    /// A client over any byte stream to a daemon, before its hello. `carrier` is the
    /// process that carries the stream, if one does; it ends with the client.
    pub fn over_stream(
        read: impl AsyncRead + Send + Unpin + 'static,
        write: Writer,
        silent: String,
        carrier: Option<Carrier>,
    ) -> Client {
        let (events_tx, events_rx) = mpsc::channel(EVENTS);
        let pending: Pending = Arc::default();
        tokio::spawn(read_replies(
            crate::lines::lines(read, MAX_REPLY),
            pending.clone(),
            events_tx,
        ));
        Client {
            transport: Transport::Stream {
                writer: tokio::sync::Mutex::new(write),
                pending,
                next_id: AtomicU64::new(1),
                silent,
                _carrier: carrier.map(std::sync::Mutex::new),
            },
            events_rx: Some(events_rx),
        }
    }

    /// The events of this client's subscriptions. There is one stream; take it once. It
    /// ends when the connection to the daemon does.
    pub fn take_events(&mut self) -> Option<Events> {
        self.events_rx.take()
    }

    /// Sends a command and waits for its reply. The error is one line for the user.
    pub async fn request(&self, command: Command) -> Result<Reply, String> {
        let patience = patience(&command);
        self.request_within(command, patience).await
    }

    async fn request_within(
        &self,
        command: Command,
        patience: std::time::Duration,
    ) -> Result<Reply, String> {
        match &self.transport {
            Transport::InProcess { engine, events: tx } => {
                let outcome = engine.execute(command).await?;
                if let Some(mut events) = outcome.events {
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        while let Some(event) = events.next().await {
                            if tx.send(event).await.is_err() {
                                return;
                            }
                        }
                    });
                }
                Ok(outcome.reply)
            }
            Transport::Stream {
                writer,
                pending,
                next_id,
                silent,
                ..
            } => {
                let id = next_id.fetch_add(1, Ordering::Relaxed);
                let mut line = serde_json::to_vec(&Request { seq: id, command })
                    .map_err(|e| format!("cannot encode the request: {e}"))?;
                if line.len() >= MAX_REQUEST {
                    return Err(format!(
                        "the request is {} MiB, more than the daemon takes ({} MiB): send a shorter prompt",
                        line.len() / (1024 * 1024),
                        MAX_REQUEST / (1024 * 1024)
                    ));
                }
                line.push(b'\n');
                let (tx, rx) = oneshot::channel();
                {
                    let mut shared = lock(pending);
                    if let Some(why) = &shared.closed {
                        return Err(why.clone());
                    }
                    shared.waiting.insert(id, tx);
                }
                // The write counts against the patience too: a daemon that stops reading
                // fills the pipe, and a write that never ends would hold every request.
                let deadline = tokio::time::Instant::now() + patience;
                let write = async { writer.lock().await.write_all(&line).await };
                let Ok(written) = tokio::time::timeout_at(deadline, write).await else {
                    // Part of the line may be out: the stream is past use.
                    let mut shared = lock(pending);
                    shared.waiting.remove(&id);
                    shared.closed = Some(silent.clone());
                    return Err(silent.clone());
                };
                if let Err(e) = written {
                    // The daemon may have said why it hung up; give it a moment to arrive.
                    let said = tokio::time::timeout(std::time::Duration::from_secs(1), rx).await;
                    return match said {
                        Ok(Ok(answer)) => answer,
                        _ => Err(lock(pending)
                            .closed
                            .clone()
                            .unwrap_or_else(|| format!("lost the connection to the daemon: {e}"))),
                    };
                }
                match tokio::time::timeout_at(deadline, rx).await {
                    Ok(Ok(answer)) => answer,
                    Ok(Err(_)) => Err(lock(pending)
                        .closed
                        .clone()
                        .unwrap_or_else(|| CLOSED.into())),
                    Err(_) => {
                        lock(pending).waiting.remove(&id);
                        Err(silent.clone())
                    }
                }
            }
        }
    }
}

/// How long a reply may take. Making or removing a workspace runs git over a whole
/// repository and may take minutes; everything else answers at once or within seconds.
fn patience(command: &Command) -> std::time::Duration {
    let secs = match command {
        Command::Hello { .. } => 5,
        Command::DaemonStatus | Command::List => 10,
        Command::New(_)
        | Command::Reforge(_)
        | Command::Stop { .. }
        | Command::Remove { .. }
        | Command::Archive { .. }
        | Command::Restore { .. }
        | Command::Rollback { .. }
        | Command::Commit { .. }
        | Command::Merge { .. }
        | Command::Push { .. } => 900,
        Command::Diff { .. }
        | Command::DiffFile { .. }
        | Command::Agents
        | Command::Comment { .. }
        | Command::LandPlan { .. }
        | Command::Resume { .. }
        | Command::Abort { .. } => 120,
        _ => 60,
    };
    std::time::Duration::from_secs(secs)
}

fn lock(pending: &Pending) -> std::sync::MutexGuard<'_, Shared> {
    pending
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn read_replies<R: AsyncRead + Unpin>(
    mut reader: FramedRead<R, LineCodec>,
    pending: Pending,
    events: mpsc::Sender<Event>,
) {
    let mut last_said: Option<String> = None;
    loop {
        let line = match reader.next().await {
            Some(Ok(Line::Text(line))) => line,
            // The daemon never sends so long a line; skip it rather than hang up.
            Some(Ok(Line::TooLong)) => continue,
            None | Some(Err(_)) => break,
        };
        let msg: ServerMsg = match serde_json::from_str(&line) {
            Ok(msg) => msg,
            Err(e) => {
                tracing::warn!("unreadable line from the daemon: {e}");
                continue;
            }
        };
        match msg {
            ServerMsg::Reply { re, reply } => {
                if let Some(tx) = lock(&pending).waiting.remove(&re) {
                    let _ = tx.send(Ok(reply));
                }
            }
            ServerMsg::Error { re, message } => {
                let mut shared = lock(&pending);
                match shared.waiting.remove(&re) {
                    Some(tx) => {
                        let _ = tx.send(Err(message));
                    }
                    // Not tied to a waiting request: the answer to one that timed out,
                    // or the daemon's word before it hangs up (a refusal). Only the end of
                    // the connection makes it the reason everything fails.
                    None => {
                        tracing::debug!("the daemon said: {message}");
                        last_said = Some(message);
                    }
                }
            }
            ServerMsg::Event { event } => {
                let _ = events.send(event).await;
            }
        }
    }
    // Connection closed: whoever still waits learns why from `closed`.
    let mut shared = lock(&pending);
    let why = last_said.unwrap_or_else(|| CLOSED.into());
    for (_, tx) in shared.waiting.drain() {
        let _ = tx.send(Err(why.clone()));
    }
    shared.closed.get_or_insert(why);
    shared.waiting.clear();
}
