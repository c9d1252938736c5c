//! One run of a command: spawn, stream its output, report how it ended, interrupt it.

use crate::agent::process;
pub use crate::agent::process::Running;
use crate::agent::{AgentEvent, EventTx, Launch};
use std::collections::BTreeMap;

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
            Ok((child, pipes)) => stream(child, pipes, &flag, &send).await,
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

/// A command's two output pipes, read apart so that standard error is shown as such.
pub(super) struct Pipes {
    out: tokio::net::unix::pipe::Receiver,
    err: tokio::net::unix::pipe::Receiver,
}

impl Pipes {
    pub(super) fn into_parts(
        self,
    ) -> (
        tokio::net::unix::pipe::Receiver,
        tokio::net::unix::pipe::Receiver,
    ) {
        (self.out, self.err)
    }
}

fn spawn(
    argv: &[String],
    env: &BTreeMap<String, String>,
    launch: &Launch,
) -> std::io::Result<(tokio::process::Child, Pipes)> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "empty command"))?;
    let (out, out_writer) = std::io::pipe()?;
    let (err, err_writer) = std::io::pipe()?;
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .current_dir(&launch.workspace)
        .envs(env)
        .envs(launch.session_env())
        .stdout(out_writer)
        .stderr(err_writer);
    let child = process::in_own_group(&mut cmd).spawn()?;
    // `cmd` still holds the pipes' write ends; a reader sees EOF only once they are gone.
    drop(cmd);
    let pipes = Pipes {
        out: tokio::net::unix::pipe::Receiver::from_owned_fd(out.into())?,
        err: tokio::net::unix::pipe::Receiver::from_owned_fd(err.into())?,
    };
    Ok((child, pipes))
}

async fn stream<F, Fut>(
    mut child: tokio::process::Child,
    pipes: Pipes,
    interrupted: &process::Interrupt,
    send: &F,
) -> AgentEvent
where
    F: Fn(AgentEvent) -> Fut,
    Fut: std::future::Future,
{
    let status = super::output::read(&mut child, pipes, send).await;
    let aborted = interrupted.asked();
    let error = match status {
        _ if aborted => interrupted.forced(status.as_ref().ok()),
        Ok(s) if s.success() => None,
        Ok(s) => Some(process::exit_words("command", s)),
        Err(e) => Some(format!("lost track of the command: {e}")),
    };
    AgentEvent::TurnEnded {
        error,
        aborted,
        usage: None,
    }
}
