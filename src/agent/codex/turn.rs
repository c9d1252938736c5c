//! One `codex exec --json` run: spawn it, map its stdout lines, end the turn when it
//! says so or exits, and keep what the next turn needs (the thread and its totals).

use super::events::{MAX_LINE, Mapper};
use super::{INSTALL, Thread};
use crate::agent::process::{self, Running};
use crate::agent::{AgentEvent, EventTx};
use crate::core::SessionId;
use crate::lines::{Line, lines};
use crate::process_groups::Registry;
use futures::StreamExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::process::{Child, ChildStderr};

/// After the process exits, how long to wait for output still in its pipes.
const DRAIN: Duration = Duration::from_millis(100);
/// The most of a stderr line an error message quotes.
const STDERR_QUOTE: usize = 400;

/// What one run needs.
pub struct Spec {
    /// The program, then its arguments.
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    pub workspace: PathBuf,
    pub session: SessionId,
    pub mapper: Mapper,
    pub groups: Registry,
}

pub fn start(spec: Spec, events: EventTx, thread: Arc<Mutex<Thread>>) -> Running {
    let spawned = spawn(&spec);
    let group = spawned
        .as_ref()
        .ok()
        .and_then(Child::id)
        .map(|pid| spec.groups.record(pid));
    let Spec {
        argv,
        session,
        mut mapper,
        ..
    } = spec;
    Running::start(group, move |flag| async move {
        let send = |event| events.send((session, event));
        match spawned {
            Ok(child) => {
                run(child, &mut mapper, &flag, &send).await;
                if let Ok(mut thread) = thread.lock() {
                    thread.id = mapper.thread_id().map(str::to_string).or(thread.id.take());
                    thread.total = mapper.total();
                }
            }
            Err(e) => {
                let program = argv.first().map(String::as_str).unwrap_or("codex");
                let error = format!("cannot run `{program}`: {e}; {INSTALL}");
                let _ = send(AgentEvent::TurnEnded {
                    error: Some(error),
                    aborted: false,
                    usage: None,
                })
                .await;
            }
        }
    })
}

fn spawn(spec: &Spec) -> std::io::Result<Child> {
    let (program, args) = spec
        .argv
        .split_first()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "empty command"))?;
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .current_dir(&spec.workspace)
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    process::in_own_group(&mut cmd).spawn()
}

async fn run<F, Fut>(
    mut child: Child,
    mapper: &mut Mapper,
    interrupted: &process::Interrupt,
    send: &F,
) where
    F: Fn(AgentEvent) -> Fut,
    Fut: std::future::Future,
{
    let stderr = child.stderr.take().map(|s| tokio::spawn(last_line(s)));
    let mut stdout = child.stdout.take().map(|out| lines(out, MAX_LINE));
    let emit = async |mapper: &mut Mapper, line: Line| match line {
        Line::Text(line) => {
            for event in mapper.line(&line) {
                send(event).await;
            }
        }
        Line::TooLong => tracing::warn!("codex: skipped an output line over {MAX_LINE} bytes"),
    };
    let status = loop {
        let Some(out) = stdout.as_mut() else {
            break child.wait().await;
        };
        tokio::select! {
            line = out.next() => match line {
                Some(Ok(line)) => emit(mapper, line).await,
                _ => stdout = None,
            },
            status = child.wait() => break status,
        }
    };
    // Lines written just before exit may still be in the pipe. Something the agent left
    // behind may hold it open, so drain only briefly.
    while let Some(out) = stdout.as_mut() {
        match tokio::time::timeout(DRAIN, out.next()).await {
            Ok(Some(Ok(line))) => emit(mapper, line).await,
            _ => stdout = None,
        }
    }

    let failure = match status {
        _ if interrupted.asked() => interrupted.forced(status.as_ref().ok()),
        Ok(s) if s.success() => None,
        Ok(s) => {
            let how = process::exit_words("codex", s);
            let last = match stderr {
                Some(task) => tokio::time::timeout(DRAIN, task)
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .flatten(),
                None => None,
            };
            Some(match last {
                Some(line) => format!("{how}: {line}"),
                None => how,
            })
        }
        Err(e) => Some(format!("lost track of codex: {e}")),
    };
    for event in mapper.finish(interrupted.asked(), failure) {
        send(event).await;
    }
}

/// Reads stderr to its end; what it last said (see [`Tail`]).
async fn last_line(stderr: ChildStderr) -> Option<String> {
    let mut lines = lines(stderr, 64 * 1024);
    let mut tail = Tail::default();
    while let Some(Ok(line)) = lines.next().await {
        if let Line::Text(line) = line {
            tail.push(&line);
        }
    }
    tail.message()
}

/// What to quote of stderr: Codex's last `Error...` line with the few lines that follow
/// it (a config error names the setting on the next line), else the last line.
#[derive(Debug, Default)]
pub struct Tail {
    error: Vec<String>,
    last: Option<String>,
}

impl Tail {
    pub fn push(&mut self, line: &str) {
        let line = line.trim();
        if line.is_empty() {
            return;
        }
        if line.starts_with("Error") {
            self.error = vec![line.to_string()];
        } else if !self.error.is_empty() && self.error.len() < 4 {
            self.error.push(line.to_string());
        }
        self.last = Some(line.to_string());
    }

    pub fn message(&self) -> Option<String> {
        let text = match &self.error[..] {
            [] => self.last.clone()?,
            lines => lines.join(" "),
        };
        Some(text.chars().take(STDERR_QUOTE).collect())
    }
}
