//! One flotilla session on one long-lived `claude` process: prompts go to its stdin, its
//! output becomes events, aborts interrupt the turn (and escalate to signals), and a
//! process that goes away is reported.

use super::events::Mapper;
use super::lines;
use super::{INSTALL, Setup, args};
use crate::agent::piped::{MAX_LINE, Output, Proc};
use crate::agent::{AgentEvent, DriverCmd, EventTx, Launch};
use crate::core::PermissionReply;
use nix::sys::signal::Signal;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// After an interrupt request, how long Claude gets to end the turn itself.
const INTERRUPT_GRACE: Duration = Duration::from_secs(2);
/// How long each signal gets before the next, harder one.
const SIGNAL_GRACE: Duration = Duration::from_secs(1);
/// A process that never answers `initialize` is taken as ready after this long.
const READY_FALLBACK: Duration = Duration::from_secs(15);
/// How long a stopping process gets to exit before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(2);
const STDERR_KEPT: usize = 20;

pub const GONE: &str = "the Claude conversation ID no longer exists: start a new session";

/// How far an abort has escalated.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Abort {
    Asked,
    Sigint,
    Sigterm,
    Sigkill,
}

impl Abort {
    /// What the aborted turn's end says of an abort that took a signal.
    fn forced(self) -> Option<String> {
        let signal = match self {
            Abort::Asked => return None,
            Abort::Sigint => Signal::SIGINT,
            Abort::Sigterm => Signal::SIGTERM,
            Abort::Sigkill => Signal::SIGKILL,
        };
        Some(format!(
            "Claude Code did not end the turn when asked, and was stopped with {signal}"
        ))
    }
}

struct ClaudeDriver {
    setup: Arc<Setup>,
    launch: Launch,
    events: EventTx,
    mapper: Mapper,
    proc: Option<Proc>,
    /// Whether the current process was started with `--session-id` (a new conversation).
    fresh: bool,
    /// Lines written to the current process before it said anything, to replay if it has
    /// to be started again at once.
    unheard: Option<Vec<String>>,
    stderr: VecDeque<String>,
    ready: bool,
    ready_by: Option<Instant>,
    abort: Option<(Abort, Instant)>,
    /// The current process is being ended on purpose.
    killing: bool,
    retried: bool,
    interrupts: u64,
}

enum Flow {
    Continue,
    End,
}

pub async fn drive(
    setup: Arc<Setup>,
    launch: Launch,
    events: EventTx,
    mut rx: mpsc::UnboundedReceiver<DriverCmd>,
) {
    let prefix = format!("{}-", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let mut s = ClaudeDriver {
        mapper: Mapper::new(&prefix, launch.agent_session_id.clone()),
        setup,
        launch,
        events,
        proc: None,
        fresh: false,
        unheard: None,
        stderr: VecDeque::new(),
        ready: false,
        ready_by: None,
        abort: None,
        killing: false,
        retried: false,
        interrupts: 0,
    };
    if let Err(e) = s.start() {
        s.send(AgentEvent::Failed(e)).await;
        return;
    }
    loop {
        let (abort_at, ready_by) = (s.abort.map(|a| a.1), s.ready_by);
        tokio::select! {
            cmd = rx.recv() => match cmd {
                None | Some(DriverCmd::Stop) | Some(DriverCmd::Detach) => break,
                Some(DriverCmd::Prompt(text)) => s.prompt(&text).await,
                Some(DriverCmd::Abort) => s.abort().await,
                Some(DriverCmd::Steer(_)) => {}
                Some(DriverCmd::Permission { request_id, reply }) => s.answer(&request_id, reply).await,
            },
            out = Proc::next_of(&mut s.proc) => match out {
                Output::Line(line) => s.line(&line).await,
                Output::TooLong => tracing::warn!("claude: skipped an output line over {MAX_LINE} bytes"),
                Output::Stderr(line) => s.stderr_line(line),
                Output::Exited(status) => {
                    if let Flow::End = s.exited(status).await {
                        return;
                    }
                }
            },
            _ = crate::deadline::sleep_until(abort_at) => s.escalate().await,
            _ = crate::deadline::sleep_until(ready_by) => {
                s.ready_by = None;
                if !s.ready {
                    s.ready = true;
                    s.send(AgentEvent::Ready).await;
                }
            }
        }
    }
    s.shutdown().await;
}

impl ClaudeDriver {
    async fn send(&self, event: AgentEvent) {
        let _ = self.events.send((self.launch.session, event)).await;
    }

    async fn send_all(&self, events: Vec<AgentEvent>) {
        for event in events {
            self.send(event).await;
        }
    }

    /// Starts the process: a new conversation under the session's id, or the known one
    /// resumed.
    fn start(&mut self) -> Result<(), String> {
        let resume = self.mapper.session_id.clone();
        self.fresh = resume.is_none();
        let argv = args(&self.setup.settings, &self.launch, resume.as_deref());
        let proc =
            Proc::spawn(&self.setup.binary, &argv, &self.setup.env, &self.launch).map_err(|e| {
                format!(
                    "cannot start {}: {e}; {INSTALL}",
                    self.setup.binary.display()
                )
            })?;
        self.mapper.process_started();
        self.stderr.clear();
        self.killing = false;
        self.unheard = Some(Vec::new());
        self.proc = Some(proc);
        self.write(lines::initialize());
        if !self.ready {
            self.ready_by = Some(Instant::now() + READY_FALLBACK);
        }
        Ok(())
    }

    fn write(&mut self, line: String) {
        if let Some(unheard) = &mut self.unheard {
            unheard.push(line.clone());
        }
        if let Some(proc) = &self.proc {
            proc.write(line);
        }
    }

    async fn prompt(&mut self, text: &str) {
        if self.proc.is_none()
            && let Err(e) = self.start()
        {
            self.send(AgentEvent::TurnEnded {
                error: Some(e),
                aborted: false,
                usage: None,
            })
            .await;
            return;
        }
        self.mapper.start_turn();
        self.write(lines::user(text));
    }

    async fn line(&mut self, line: &str) {
        // A blank line says nothing: the process has not been heard from yet.
        if line.trim().is_empty() {
            return;
        }
        self.unheard = None;
        let step = self.mapper.map_line(line);
        for out in step.send {
            self.write(out);
        }
        for event in step.events {
            if event == AgentEvent::Ready {
                self.ready_by = None;
                if std::mem::replace(&mut self.ready, true) {
                    continue;
                }
            }
            self.send(event).await;
        }
        if !self.mapper.busy {
            self.abort = None;
        }
    }

    fn stderr_line(&mut self, line: String) {
        if line.trim().is_empty() {
            return;
        }
        tracing::debug!("claude stderr: {line}");
        if self.stderr.len() == STDERR_KEPT {
            self.stderr.pop_front();
        }
        self.stderr.push_back(line);
    }

    async fn abort(&mut self) {
        if !self.mapper.busy {
            // Still starting, with nothing running: the abort is done at once. (After a
            // turn has ended there is nothing to abort, and saying so again would end
            // the next turn.)
            if !self.ready {
                self.send(AgentEvent::TurnEnded {
                    error: None,
                    aborted: true,
                    usage: None,
                })
                .await;
            }
            return;
        }
        if self.abort.is_some() {
            return;
        }
        self.interrupts += 1;
        let id = format!("flotilla_interrupt_{}", self.interrupts);
        self.write(lines::interrupt(&id));
        let closed = self.mapper.interrupt();
        self.send_all(closed).await;
        self.abort = Some((Abort::Asked, Instant::now() + INTERRUPT_GRACE));
    }

    /// Claude did not end the aborted turn in time: signal harder, then give up on it.
    async fn escalate(&mut self) {
        let Some((stage, _)) = self.abort else { return };
        let (Some(proc), true) = (&self.proc, self.mapper.busy) else {
            self.abort = None;
            return;
        };
        let next = match stage {
            Abort::Asked => Some((Abort::Sigint, Signal::SIGINT)),
            Abort::Sigint => Some((Abort::Sigterm, Signal::SIGTERM)),
            Abort::Sigterm => Some((Abort::Sigkill, Signal::SIGKILL)),
            Abort::Sigkill => None,
        };
        match next {
            Some((stage, signal)) => {
                tracing::info!("claude did not end the aborted turn: sending {signal}");
                self.killing = true;
                proc.signal(signal);
                self.abort = Some((stage, Instant::now() + SIGNAL_GRACE));
            }
            None => {
                // Not even gone after SIGKILL: leave it to kill_on_drop and move on.
                self.proc = None;
                self.abort = None;
                let ended = self.mapper.abandon_turn(stage.forced());
                self.send_all(ended).await;
            }
        }
    }

    async fn answer(&mut self, request_id: &str, reply: PermissionReply) {
        let Some(step) = self.mapper.answer(request_id, reply) else {
            tracing::warn!("claude: no open permission request {request_id}");
            return;
        };
        for out in step.send {
            self.write(out);
        }
        self.send_all(step.events).await;
    }

    async fn exited(&mut self, status: Option<std::process::ExitStatus>) -> Flow {
        self.proc = None;
        let forced = self.abort.take().and_then(|(stage, _)| stage.forced());
        let said = |needle: &str| self.stderr.iter().any(|l| l.contains(needle));
        if self.killing {
            // Ended by an abort: the turn is over, and the next prompt starts it again.
            let ended = self.mapper.abandon_turn(forced);
            self.send_all(ended).await;
            return Flow::Continue;
        }
        if said("No conversation found") {
            self.send(AgentEvent::Failed(GONE.into())).await;
            return Flow::End;
        }
        if self.fresh && !self.retried && said("already in use") {
            // The conversation exists although its id was never reported: resume it.
            self.retried = true;
            let id = self.launch.session.to_string();
            self.mapper.session_id = Some(id.clone());
            self.send(AgentEvent::AgentSessionId(id)).await;
            let replay = self.unheard.take().unwrap_or_default();
            if let Err(e) = self.start() {
                self.send(AgentEvent::Failed(e)).await;
                return Flow::End;
            }
            // The first line was the old process's `initialize`; the new one has its own.
            for line in replay.into_iter().skip(1) {
                self.write(line);
            }
            return Flow::Continue;
        }
        let how = match status {
            Some(s) if s.success() => "exited".to_string(),
            Some(s) => format!("exited with {s}"),
            None => "went away".to_string(),
        };
        let last = self.stderr.back().cloned();
        let reason = match &last {
            Some(line) => format!("Claude Code {how}: {line}"),
            None => format!("Claude Code {how}"),
        };
        if !self.ready {
            let hint = if last.is_some_and(|l| l.contains("root")) {
                "; as root, bypassPermissions needs IS_SANDBOX=1 in the agent's env"
            } else {
                ""
            };
            self.send(AgentEvent::Failed(format!("{reason}{hint}")))
                .await;
        } else {
            self.send(AgentEvent::Lost(format!(
                "{reason}; resume the session to start it again"
            )))
            .await;
        }
        Flow::End
    }

    /// Lets go of the process: stdin closes (or, mid-turn, SIGINT), then it gets killed
    /// if it lingers. Claude keeps the conversation for a later `--resume`.
    async fn shutdown(&mut self) {
        let Some(proc) = self.proc.take() else {
            return;
        };
        if self.mapper.busy {
            proc.signal(Signal::SIGINT);
        }
        proc.stop(STOP_GRACE, SIGNAL_GRACE).await;
    }
}
