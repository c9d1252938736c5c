//! One run of a command: spawn, stream its output, report how it ended, interrupt it.

use crate::agent::{AgentEvent, EventTx, Launch, Utf8Decoder, new_id};
use crate::core::{Part, PartKind, Role};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long each signal of an interrupt gets before the next, harder one.
const GRACE: Duration = Duration::from_millis(500);
/// After the process exits, how long to wait for output still in the pipe.
const DRAIN: Duration = Duration::from_millis(100);
/// Output arriving within this window of the first byte goes out as one delta: a program
/// writing line by line would otherwise cost an event, a wake-up and a socket write per
/// line all the way to every client. Too short for a person to notice.
const COALESCE: Duration = Duration::from_millis(10);
const BURST: usize = 32 * 1024;

pub struct Running {
    pgid: Option<Pid>,
    interrupted: Arc<AtomicBool>,
    finished: watch::Receiver<bool>,
    task: JoinHandle<()>,
}

impl Running {
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// SIGINT to the whole process group, then SIGTERM, then SIGKILL, each after a grace
    /// period, stopping as soon as the turn has ended.
    pub fn interrupt(&self) {
        let Some(pgid) = self.pgid else { return };
        if self.interrupted.swap(true, Ordering::SeqCst) {
            return;
        }
        let mut finished = self.finished.clone();
        tokio::spawn(async move {
            for signal in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGKILL] {
                if *finished.borrow() || killpg(pgid, signal).is_err() {
                    return;
                }
                let ended = tokio::time::timeout(GRACE, finished.wait_for(|f| *f)).await;
                if ended.is_ok() {
                    return;
                }
            }
        });
    }

    pub async fn wait(self) {
        let _ = self.task.await;
    }
}

pub fn start(
    argv: Vec<String>,
    env: &BTreeMap<String, String>,
    launch: &Launch,
    events: EventTx,
) -> Running {
    let session = launch.session;
    let interrupted = Arc::new(AtomicBool::new(false));
    let (done_tx, done_rx) = watch::channel(false);
    let spawned = spawn(&argv, env, launch);
    let pgid = spawned
        .as_ref()
        .ok()
        .and_then(|(child, _)| child.id())
        .map(|id| Pid::from_raw(id as i32));
    let flag = interrupted.clone();
    let task = tokio::spawn(async move {
        let send = |event| events.send((session, event));
        let ended = match spawned {
            Ok((child, output)) => stream(child, output, &flag, &send).await,
            Err(e) => {
                let program = argv.first().map(String::as_str).unwrap_or("");
                AgentEvent::TurnEnded {
                    error: Some(format!(
                        "cannot run `{program}`: {e}; install it or fix the agent's command in config.toml"
                    )),
                    aborted: false,
                    usage: None,
                }
            }
        };
        let _ = send(ended).await;
        let _ = done_tx.send(true);
    });
    Running {
        pgid,
        interrupted,
        finished: done_rx,
        task,
    }
}

fn spawn(
    argv: &[String],
    env: &BTreeMap<String, String>,
    launch: &Launch,
) -> std::io::Result<(tokio::process::Child, tokio::net::unix::pipe::Receiver)> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "empty command"))?;
    let (reader, writer) = std::io::pipe()?;
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .current_dir(&launch.workspace)
        .envs(env)
        .env("FLOTILLA_SESSION", launch.session.to_string())
        .stdin(std::process::Stdio::null())
        .stdout(writer.try_clone()?)
        .stderr(writer)
        .process_group(0);
    let child = cmd.spawn()?;
    // `cmd` still holds the pipe's write end; the reader sees EOF only once it is gone.
    drop(cmd);
    let reader = tokio::net::unix::pipe::Receiver::from_owned_fd(reader.into())?;
    Ok((child, reader))
}

/// After the first `n` bytes, waits out [`COALESCE`] and then takes whatever else the pipe
/// holds, up to [`BURST`] bytes; returns how many bytes `buf` holds and whether the pipe
/// closed. One wake-up per window instead of one per write.
async fn read_burst(
    output: &mut tokio::net::unix::pipe::Receiver,
    buf: &mut [u8],
    mut len: usize,
) -> (usize, bool) {
    tokio::time::sleep(COALESCE).await;
    let limit = BURST.min(buf.len());
    while len < limit {
        match output.try_read(&mut buf[len..limit]) {
            Ok(0) => return (len, true),
            Ok(m) => len += m,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(_) => return (len, true),
        }
    }
    (len, false)
}

async fn stream<F, Fut>(
    mut child: tokio::process::Child,
    mut output: tokio::net::unix::pipe::Receiver,
    interrupted: &AtomicBool,
    send: &F,
) -> AgentEvent
where
    F: Fn(AgentEvent) -> Fut,
    Fut: std::future::Future,
{
    let message_id = new_id("msg");
    let part_id = new_id("prt");
    send(AgentEvent::Message {
        id: message_id.clone(),
        role: Role::Assistant,
    })
    .await;
    send(AgentEvent::Part(Part {
        id: part_id.clone(),
        message_id: message_id.clone(),
        kind: PartKind::Text {
            text: String::new(),
        },
    }))
    .await;

    let mut decoder = Utf8Decoder::default();
    let mut buf = vec![0u8; 64 * 1024];
    let delta = |text: String| AgentEvent::Delta {
        message_id: message_id.clone(),
        part_id: part_id.clone(),
        text,
    };
    let mut open = true;
    let status = loop {
        tokio::select! {
            read = output.read(&mut buf), if open => match read {
                Ok(0) | Err(_) => open = false,
                Ok(n) => {
                    let (len, eof) = read_burst(&mut output, &mut buf, n).await;
                    open = !eof;
                    let text = decoder.push(&buf[..len]);
                    if !text.is_empty() {
                        send(delta(text)).await;
                    }
                }
            },
            status = child.wait() => break status,
        }
    };
    // Output written just before exit may still be in the pipe. A background process the
    // command left behind may hold the pipe open, so drain only briefly.
    while open {
        match tokio::time::timeout(DRAIN, output.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => {
                let text = decoder.push(&buf[..n]);
                if !text.is_empty() {
                    send(delta(text)).await;
                }
            }
            _ => open = false,
        }
    }
    let rest = decoder.finish();
    if !rest.is_empty() {
        send(delta(rest)).await;
    }

    let aborted = interrupted.load(Ordering::SeqCst);
    let error = match status {
        _ if aborted => None,
        Ok(s) if s.success() => None,
        Ok(s) => Some(
            match (s.code(), std::os::unix::process::ExitStatusExt::signal(&s)) {
                (Some(code), _) => format!("command exited with status {code}"),
                (None, Some(sig)) => format!("command was killed by signal {sig}"),
                _ => "command failed".to_string(),
            },
        ),
        Err(e) => Some(format!("lost track of the command: {e}")),
    };
    AgentEvent::TurnEnded {
        error,
        aborted,
        usage: None,
    }
}
