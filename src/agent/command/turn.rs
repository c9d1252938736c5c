//! One run of a command: spawn, stream its output, report how it ended, interrupt it.

use crate::agent::process;
pub use crate::agent::process::Running;
use crate::agent::{AgentEvent, EventTx, Launch, Utf8Decoder, new_id};
use crate::core::{Part, PartKind, Role};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// After the process exits, how long to wait for output still in the pipe.
const DRAIN: Duration = Duration::from_millis(100);
/// Output arriving within this window of the first byte goes out as one delta: a program
/// writing line by line would otherwise cost an event, a wake-up and a socket write per
/// line all the way to every client. Too short for a person to notice.
const COALESCE: Duration = Duration::from_millis(10);
const BURST: usize = 32 * 1024;

pub fn start(
    argv: Vec<String>,
    env: &BTreeMap<String, String>,
    launch: &Launch,
    events: EventTx,
) -> Running {
    let session = launch.session;
    let workspace = launch.workspace.clone();
    let spawned = spawn(&argv, env, launch);
    let group = spawned
        .as_ref()
        .ok()
        .and_then(|(child, _)| child.id())
        .map(|pid| launch.groups.record(pid));
    Running::start(group, move |flag| async move {
        let send = |event| events.send((session, event));
        let ended = match spawned {
            Ok((child, output)) => stream(child, output, &flag, &send).await,
            Err(e) => AgentEvent::TurnEnded {
                error: Some(spawn_error(&e, &argv, &workspace)),
                aborted: false,
                usage: None,
            },
        };
        let _ = send(ended).await;
    })
}

/// Why the command could not start, in words that point at the real cause.
fn spawn_error(e: &std::io::Error, argv: &[String], workspace: &std::path::Path) -> String {
    const E2BIG: i32 = 7;
    let program = argv.first().map(String::as_str).unwrap_or("");
    if !workspace.is_dir() {
        return format!(
            "the workspace {} is gone: restore it, or stop this session and start a new one",
            workspace.display()
        );
    }
    if e.raw_os_error() == Some(E2BIG) {
        let longest = argv.iter().map(String::len).max().unwrap_or(0);
        return format!(
            "the prompt is {longest} bytes, more than the system lets `{program}` take as an argument (128 KiB): shorten it"
        );
    }
    format!("cannot run `{program}`: {e}; install it or fix the agent's command in config.toml")
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
        .stdout(writer.try_clone()?)
        .stderr(writer);
    let child = process::in_own_group(&mut cmd).spawn()?;
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
