//! One long-lived agent process on pipes (Claude Code, the Codex app server): spawned in
//! a process group of its own, its stdin fed from a queue, its stdout split into lines
//! and its stderr kept, both reported on a channel that ends with how the process exited.

use crate::agent::Launch;
use crate::lines::{Line, lines};
use crate::process_groups::Group;
use futures::StreamExt;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_util::codec::FramedRead;

/// The longest stdout line kept; a longer one is dropped whole.
pub const MAX_LINE: usize = 64 * 1024 * 1024;
/// Output lines waiting for the driver.
const OUTPUT_BUFFER: usize = 16;
/// The longest stderr line kept.
const MAX_STDERR_LINE: usize = 64 * 1024;
/// After the process exits, how long output still in the pipes is waited for. A child it
/// left behind may hold them open.
const DRAIN: Duration = Duration::from_millis(200);

#[derive(Debug)]
pub enum Output {
    Line(String),
    /// A line over [`MAX_LINE`], dropped.
    TooLong,
    Stderr(String),
    /// The last message: how the process ended.
    Exited(Option<ExitStatus>),
}

pub struct Proc {
    pub pid: Pid,
    input: Option<mpsc::UnboundedSender<String>>,
    output: mpsc::Receiver<Output>,
}

impl Proc {
    pub fn spawn(
        binary: &Path,
        args: &[String],
        env: &[(String, String)],
        launch: &Launch,
    ) -> std::io::Result<Proc> {
        let mut child = tokio::process::Command::new(binary)
            .args(args)
            .current_dir(&launch.workspace)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .envs(launch.session_env())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()?;
        let group = child
            .id()
            .map(|id| launch.groups.record(id))
            .ok_or_else(|| std::io::Error::other("the process exited at once"))?;
        let pid = group.pgid();
        let (Some(mut stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(std::io::Error::other("the process has no pipes"));
        };
        let (input_tx, mut input_rx) = mpsc::unbounded_channel::<String>();
        tokio::spawn(async move {
            while let Some(line) = input_rx.recv().await {
                let written = async {
                    stdin.write_all(line.as_bytes()).await?;
                    stdin.write_all(b"\n").await?;
                    stdin.flush().await
                };
                if written.await.is_err() {
                    break;
                }
            }
            // Dropping stdin closes it: the process ends once it has nothing more to do.
        });
        // Bounded: a driver that falls behind holds up the reading, so Claude waits on
        // its pipe instead of the daemon buffering its output.
        let (output_tx, output) = mpsc::channel(OUTPUT_BUFFER);
        tokio::spawn(pump(child, group, stdout, stderr, output_tx));
        Ok(Proc {
            pid,
            input: Some(input_tx),
            output,
        })
    }

    /// Queues a line for stdin. A process that is gone just does not get it.
    pub fn write(&self, line: String) {
        if let Some(input) = &self.input {
            let _ = input.send(line);
        }
    }

    /// Closes stdin once what is queued is written.
    pub fn close_input(&mut self) {
        self.input = None;
    }

    /// Closes stdin and waits up to `grace` for the exit; then SIGKILL, and up to `kill`
    /// more. A process not gone even then is left to `kill_on_drop`.
    pub async fn stop(mut self, grace: Duration, kill: Duration) {
        self.close_input();
        if tokio::time::timeout(grace, self.exited()).await.is_err() {
            self.signal(Signal::SIGKILL);
            let _ = tokio::time::timeout(kill, self.exited()).await;
        }
    }

    async fn exited(&mut self) {
        while !matches!(self.next().await, Output::Exited(_)) {}
    }

    /// Signals the whole process group.
    pub fn signal(&self, signal: Signal) {
        let _ = killpg(self.pid, signal);
    }

    /// The next output of the process, if there is one; with none, never.
    pub async fn next_of(proc: &mut Option<Proc>) -> Output {
        match proc {
            Some(proc) => proc.next().await,
            None => std::future::pending().await,
        }
    }

    /// The next output; after `Exited`, nothing more ever comes.
    pub async fn next(&mut self) -> Output {
        self.output.recv().await.unwrap_or(Output::Exited(None))
    }
}

/// Reads the process's output until it has exited; then lets go of its group, which ends
/// anything it left running.
async fn pump(
    mut child: tokio::process::Child,
    group: Group,
    stdout: tokio::process::ChildStdout,
    stderr: tokio::process::ChildStderr,
    tx: mpsc::Sender<Output>,
) {
    let mut out = Some(lines(stdout, MAX_LINE));
    let mut err = Some(lines(stderr, MAX_STDERR_LINE));
    let mut status = None;
    let mut drain_until = None;
    while out.is_some() || err.is_some() {
        tokio::select! {
            line = next(&mut out) => match line {
                Some(line) => hand_on(&tx, line, false).await,
                None => out = None,
            },
            line = next(&mut err) => match line {
                Some(line) => hand_on(&tx, line, true).await,
                None => err = None,
            },
            exited = child.wait(), if status.is_none() => {
                status = Some(exited.ok());
                drain_until = Some(tokio::time::Instant::now() + DRAIN);
            },
            _ = crate::deadline::sleep_until(drain_until) => break,
        }
    }
    let status = match status {
        Some(status) => status,
        None => child.wait().await.ok(),
    };
    drop(group);
    let _ = tx.send(Output::Exited(status)).await;
}

/// The next line of a stream still open; `None` once it has ended (or failed).
async fn next<R: AsyncRead + Unpin>(
    stream: &mut Option<FramedRead<R, crate::lines::LineCodec>>,
) -> Option<Line> {
    match stream {
        Some(stream) => stream.next().await.and_then(Result::ok),
        None => std::future::pending().await,
    }
}

/// Hands a line on, waiting for room. A driver that is gone takes nothing.
async fn hand_on(tx: &mpsc::Sender<Output>, line: Line, stderr: bool) {
    let output = match (line, stderr) {
        (Line::Text(l), false) => Output::Line(l),
        (Line::Text(l), true) => Output::Stderr(l),
        (Line::TooLong, false) => Output::TooLong,
        (Line::TooLong, true) => Output::Stderr(format!("(a line over {MAX_STDERR_LINE} bytes)")),
    };
    let _ = tx.send(output).await;
}
