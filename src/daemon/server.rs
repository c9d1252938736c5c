//! The daemon: a private Unix socket in front of the engine.

use super::lines::{Line, next_line};
use crate::config::Config;
use crate::engine::{Engine, Outcome};
use crate::paths::Paths;
use crate::protocol::{Command, PROTOCOL_VERSION, Request, ServerMsg};
use anyhow::{Context, Result, bail};
use nix::fcntl::{Flock, FlockArg};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use tokio::io::{AsyncWriteExt, BufReader, BufWriter};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

const OUTBOX: usize = 4096;

/// Runs the daemon in the foreground until it is told to stop.
pub async fn run(paths: Paths) -> Result<()> {
    // Everything the daemon creates (socket, database, logs) is private to its user.
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    paths.create_dirs()?;
    let _lock = lock(&paths)?;
    let (config, config_error) = Config::load(&paths.config_file);
    if let Some(e) = &config_error {
        tracing::warn!("{e}");
    }
    let engine = Engine::start(paths.clone(), config, config_error)?;

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
    tracing::info!("listening on {}", paths.socket.display());

    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    let mut connections = JoinSet::new();
    let uid = nix::unistd::geteuid().as_raw();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(connection(stream, engine.clone(), uid));
                }
                Err(e) => tracing::warn!("accept: {e}"),
            },
            _ = terminate.recv() => { let _ = engine.execute(Command::Shutdown).await; }
            _ = interrupt.recv() => { let _ = engine.execute(Command::Shutdown).await; }
            _ = engine.closed() => break,
            Some(_) = connections.join_next() => {}
        }
    }
    let _ = std::fs::remove_file(&paths.socket);
    // Let replies already on their way (the one to `daemon stop` among them) go out.
    let drain = async { while connections.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(std::time::Duration::from_millis(500), drain).await;
    tracing::info!("stopped");
    Ok(())
}

/// One daemon per home: an exclusive lock held for the daemon's whole life.
pub fn lock(paths: &Paths) -> Result<Flock<std::fs::File>> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .read(true)
        .mode(0o600)
        .open(&paths.lock_file)
        .with_context(|| format!("cannot open {}", paths.lock_file.display()))?;
    let mut locked = Flock::lock(file, FlockArg::LockExclusiveNonblock).map_err(|_| {
        anyhow::anyhow!(
            "another flotilla daemon already runs for {}: use `flotilla daemon stop` first",
            paths.data_dir.display()
        )
    })?;
    locked.set_len(0)?;
    writeln!(&mut *locked, "{}", std::process::id())?;
    Ok(locked)
}

async fn connection(stream: UnixStream, engine: Engine, uid: u32) {
    let (read, write) = stream.into_split();
    let (out, mut outbox) = mpsc::channel::<ServerMsg>(OUTBOX);
    let writer = tokio::spawn(async move {
        let mut w = BufWriter::new(write);
        while let Some(msg) = outbox.recv().await {
            let Ok(mut line) = serde_json::to_vec(&msg) else {
                continue;
            };
            line.push(b'\n');
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

    let mut reader = BufReader::new(read);
    let mut buf = Vec::new();
    let mut requests = JoinSet::new();
    let mut greeted = false;
    loop {
        let line = match next_line(&mut reader, &mut buf).await {
            Ok(Line::Text(line)) => line,
            Ok(Line::TooLong) => {
                let message = "request too long: it was ignored".to_string();
                let _ = out.send(ServerMsg::Error { re: 0, message }).await;
                continue;
            }
            Ok(Line::Eof) | Err(_) => break,
        };
        if line.trim().is_empty() {
            continue;
        }
        let request: Request = match serde_json::from_str(&line) {
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
        requests.spawn(serve_request(request, engine.clone(), out.clone()));
    }
    // The client is gone: drop its requests and subscriptions with it.
    requests.abort_all();
    drop(out);
    let _ = writer.await;
}

async fn serve_request(request: Request, engine: Engine, out: mpsc::Sender<ServerMsg>) {
    let re = request.seq;
    match engine.execute(request.command).await {
        Ok(Outcome { reply, events }) => {
            if out.send(ServerMsg::Reply { re, reply }).await.is_err() {
                return;
            }
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
