//! The daemon: a private Unix socket in front of the engine.

use super::lockfile;
use crate::config::Config;
use crate::engine::{Engine, Outcome};
use crate::lines::{Line, MAX_REPLY, MAX_REQUEST, lines};
use crate::paths::{Paths, create_private_dir};
use crate::protocol::{Command, PROTOCOL_VERSION, Request, ServerMsg};
use anyhow::{Context, Result, bail};
use futures::StreamExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncWriteExt, BufWriter};
use tokio::net::{UnixListener, UnixStream};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinSet;

/// Messages waiting to be written to one client. A client that reads nothing holds up
/// only its own replies and events, up to this many.
const OUTBOX: usize = 256;
/// Requests of one connection answered at once. A client that sends requests and reads
/// no replies is not read from any more: what it sends waits in the kernel's buffer.
const IN_FLIGHT: usize = 64;
/// After a failed accept (out of file descriptors, say), how long to wait at most before
/// the next, and how often the failure is logged.
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);
const ACCEPT_LOG_EVERY: Duration = Duration::from_secs(10);

/// How often the daemon checks that its socket is still there: the system may delete the
/// runtime directory (logind does at the last logout) while the daemon runs.
const SOCKET_CHECK: Duration = Duration::from_secs(1);

/// Runs the daemon in the foreground until it is told to stop.
pub async fn run(paths: Paths) -> Result<()> {
    // No umask of its own: the agents and git it starts make files as the user would.
    // The daemon's own files are private by the modes they are created with.
    paths.create_dirs()?;
    // Handlers first: a signal while start-up tidies what a crash left must not kill the
    // daemon halfway; it is acted on as soon as the engine runs.
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    // The terminal the daemon was started from went away: shut down in order as well.
    let mut hangup = signal(SignalKind::hangup())?;
    let _lock = lockfile::lock(&paths, lockfile::Role::Daemon)?;
    let (config, config_error) = Config::load(&paths.config_file);
    if let Some(e) = &config_error {
        tracing::warn!("{e}");
    }
    let engine = Engine::start(paths.clone(), config, config_error)?;

    let (mut listener, mut bound) = bind(&paths)?;
    tracing::info!("listening on {}", paths.socket.display());

    let mut check = tokio::time::interval(SOCKET_CHECK);
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut connections = JoinSet::new();
    let uid = nix::unistd::geteuid().as_raw();
    let mut backoff = Duration::ZERO;
    let mut logged: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    backoff = Duration::ZERO;
                    connections.spawn(connection(stream, engine.clone(), uid));
                }
                Err(e) => {
                    // Out of descriptors the accept fails at once, again and again:
                    // wait before the next, and say so once in a while, not each time.
                    if logged.is_none_or(|at| at.elapsed() >= ACCEPT_LOG_EVERY) {
                        tracing::warn!("accept: {e}; trying again with a pause");
                        logged = Some(tokio::time::Instant::now());
                    }
                    backoff = (backoff * 2).clamp(Duration::from_millis(10), ACCEPT_BACKOFF_MAX);
                    tokio::time::sleep(backoff).await;
                }
            },
            _ = terminate.recv() => { let _ = engine.execute(Command::Shutdown).await; }
            _ = interrupt.recv() => { let _ = engine.execute(Command::Shutdown).await; }
            _ = hangup.recv() => { let _ = engine.execute(Command::Shutdown).await; }
            _ = check.tick() => {
                if !is_bound(&paths.socket, bound) {
                    match bind(&paths) {
                        Ok((again, ino)) => {
                            tracing::warn!("{} was removed: listening there again", paths.socket.display());
                            (listener, bound) = (again, ino);
                        }
                        Err(e) => tracing::warn!("{e:#}"),
                    }
                }
            }
            _ = engine.closed() => break,
            Some(_) = connections.join_next() => {}
        }
    }
    if is_bound(&paths.socket, bound) {
        let _ = std::fs::remove_file(&paths.socket);
    }
    // Let replies already on their way (the one to `daemon stop` among them) go out.
    let drain = async { while connections.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(Duration::from_millis(500), drain).await;
    tracing::info!("stopped");
    Ok(())
}

/// Listens on the socket path, replacing whatever is there (the lock says no other
/// daemon uses it); returns the listener and the socket's inode.
fn bind(paths: &Paths) -> Result<(UnixListener, u64)> {
    if let Some(dir) = paths.socket.parent() {
        create_private_dir(dir)?;
    }
    match std::fs::remove_file(&paths.socket) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => bail!(
            "cannot remove the stale socket {}: {e}",
            paths.socket.display()
        ),
    }
    let listener = UnixListener::bind(&paths.socket)
        .with_context(|| format!("cannot listen on {}", paths.socket.display()))?;
    std::fs::set_permissions(&paths.socket, std::fs::Permissions::from_mode(0o600))?;
    let ino = std::fs::symlink_metadata(&paths.socket)?.ino();
    Ok((listener, ino))
}

/// Whether the socket path is still the socket this daemon listens on.
fn is_bound(socket: &std::path::Path, ino: u64) -> bool {
    std::fs::symlink_metadata(socket).is_ok_and(|m| m.ino() == ino)
}

/// The line that carries `msg`, newline included. A reply over `max` bytes, more than a
/// client takes in one line, becomes an error for that request alone, saying why, and
/// the connection goes on; an event that big becomes `Lagged`, so the client fetches
/// what it missed.
fn encode(msg: &ServerMsg, max: usize) -> Option<Vec<u8>> {
    let mut line = serde_json::to_vec(msg).ok()?;
    if line.len() >= max {
        let re = match msg {
            ServerMsg::Reply { re, .. } => *re,
            // An event too big to send is missed: say so, and the client fetches again.
            ServerMsg::Event { .. } => {
                tracing::warn!("an event of {} bytes is too big to send", line.len());
                let lagged = ServerMsg::Event {
                    event: crate::protocol::Event::Lagged { missed: 1 },
                };
                let mut line = serde_json::to_vec(&lagged).ok()?;
                line.push(b'\n');
                return Some(line);
            }
            ServerMsg::Error { .. } => return None,
        };
        let message = format!(
            "the answer is {} MiB, more than the {} MiB a client takes at once: ask for less",
            line.len() / (1024 * 1024),
            max / (1024 * 1024)
        );
        line = serde_json::to_vec(&ServerMsg::Error { re, message }).ok()?;
    }
    line.push(b'\n');
    Some(line)
}

/// Numbers connections, for the sessions their clients look at.
static NEXT_VIEWER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

async fn connection(stream: UnixStream, engine: Engine, uid: u32) {
    let (read, write) = stream.into_split();
    let (out, mut outbox) = mpsc::channel::<ServerMsg>(OUTBOX);
    let writer = tokio::spawn(async move {
        let mut w = BufWriter::new(write);
        while let Some(msg) = outbox.recv().await {
            let Some(line) = encode(&msg, MAX_REPLY) else {
                continue;
            };
            if w.write_all(&line).await.is_err() {
                return;
            }
            if outbox.is_empty() && w.flush().await.is_err() {
                return;
            }
        }
        let _ = w.flush().await;
    });

    let peer = peer_uid(&read);
    if peer != Some(uid) {
        tracing::warn!("refused a connection from uid {peer:?}");
        let message = format!(
            "refused: this daemon belongs to uid {uid}; start your own flotilla as your own user"
        );
        let _ = out.send(ServerMsg::Error { re: 0, message }).await;
        drop(out);
        let _ = writer.await;
        return;
    }

    let mut reader = lines(read, MAX_REQUEST);
    let mut requests = JoinSet::new();
    let in_flight = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut greeted = false;
    let viewer = NEXT_VIEWER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut viewed = false;
    // Whether the connection took events, whose queue is worth giving back at its end.
    let subscribed = std::sync::atomic::AtomicBool::new(false);
    loop {
        // Stop reading while the client leaves its replies unread.
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            break;
        };
        let line = match reader.next().await {
            Some(Ok(Line::Text(line))) => line,
            Some(Ok(Line::TooLong)) => {
                let message = format!(
                    "request over {} MiB: it was ignored; send a shorter prompt",
                    MAX_REQUEST / (1024 * 1024)
                );
                let _ = out.send(ServerMsg::Error { re: 0, message }).await;
                continue;
            }
            None | Some(Err(_)) => break,
        };
        if line.trim().is_empty() {
            continue;
        }
        let mut request: Request = match serde_json::from_str(&line) {
            Ok(r) => r,
            Err(e) => {
                let message = format!("bad request: {e}");
                let _ = out.send(ServerMsg::Error { re: 0, message }).await;
                continue;
            }
        };
        match (&request.command, greeted) {
            (Command::Hello { protocol }, _) if *protocol != PROTOCOL_VERSION => {
                let message = format!(
                    "this daemon speaks protocol {PROTOCOL_VERSION} and the client {protocol}: run `flotilla daemon stop` and try again"
                );
                let _ = out
                    .send(ServerMsg::Error {
                        re: request.seq,
                        message,
                    })
                    .await;
                break;
            }
            (Command::Hello { .. }, _) => greeted = true,
            (_, false) => {
                let message =
                    "say hello first: send a Hello request with the protocol version".to_string();
                let _ = out
                    .send(ServerMsg::Error {
                        re: request.seq,
                        message,
                    })
                    .await;
                continue;
            }
            _ => {}
        }
        if let Command::View { viewer: v, .. } = &mut request.command {
            // Which client looks is this connection, whatever the client said.
            *v = viewer;
            viewed = true;
        }
        if matches!(
            request.command,
            Command::Subscribe | Command::Transcript { follow: true, .. }
        ) {
            subscribed.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        requests.spawn(serve_request(request, engine.clone(), out.clone(), permit));
        // Finished requests are not kept around until the connection ends.
        while requests.try_join_next().is_some() {}
    }
    // The client is gone: drop its requests and subscriptions with it, and what it
    // looked at.
    requests.abort_all();
    // A view asked for just before must not land after the one that ends it.
    while requests.join_next().await.is_some() {}
    if viewed {
        let _ = engine.execute(Command::View { id: None, viewer }).await;
    }
    drop(out);
    let _ = writer.await;
    if subscribed.load(std::sync::atomic::Ordering::Relaxed) {
        // What the subscriber's queue and unread events held is free now.
        tokio::task::spawn_blocking(crate::heap::trim);
    }
}

async fn serve_request(
    request: Request,
    engine: Engine,
    out: mpsc::Sender<ServerMsg>,
    permit: OwnedSemaphorePermit,
) {
    let re = request.seq;
    match engine.execute(request.command).await {
        Ok(Outcome { reply, events }) => {
            if out.send(ServerMsg::Reply { re, reply }).await.is_err() {
                return;
            }
            // Answered: a subscription's events that follow do not hold up requests.
            drop(permit);
            if let Some(mut events) = events {
                while let Some(event) = events.next().await {
                    if out.send(ServerMsg::Event { event }).await.is_err() {
                        return;
                    }
                }
            }
        }
        Err(message) => {
            let _ = out.send(ServerMsg::Error { re, message }).await;
        }
    }
}

fn peer_uid(read: &tokio::net::unix::OwnedReadHalf) -> Option<u32> {
    read.as_ref().peer_cred().ok().map(|cred| cred.uid())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Reply;

    #[test]
    fn a_reply_too_big_for_a_client_fails_only_its_request() {
        let big = ServerMsg::Reply {
            re: 7,
            reply: Reply::Agents {
                agents: vec![
                    crate::protocol::AgentInfo {
                        name: "x".repeat(3 * 1024 * 1024),
                        kind: "shell".into(),
                        default: true,
                        command: "sh".into(),
                        found: None,
                        version: None,
                        install: None,
                    };
                    1
                ],
            },
        };
        let line = encode(&big, 2 * 1024 * 1024).expect("a line");
        assert!(line.len() < 1024, "{} bytes", line.len());
        let said: ServerMsg = serde_json::from_slice(&line).expect("json");
        match said {
            ServerMsg::Error { re, message } => {
                assert_eq!(re, 7);
                assert!(message.contains("more than the 2 MiB"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        let event = ServerMsg::Event {
            event: crate::protocol::Event::SessionRemoved {
                id: crate::core::SessionId::new(),
            },
        };
        let line = encode(&event, 16).expect("a line");
        assert!(matches!(
            serde_json::from_slice(&line).expect("json"),
            ServerMsg::Event {
                event: crate::protocol::Event::Lagged { missed: 1 }
            }
        ));
        let small = ServerMsg::Reply {
            re: 8,
            reply: Reply::Ok,
        };
        let line = encode(&small, 2 * 1024 * 1024).expect("a line");
        assert!(line.ends_with(b"\n"));
        assert!(matches!(
            serde_json::from_slice(&line).expect("json"),
            ServerMsg::Reply { re: 8, .. }
        ));
    }
}
