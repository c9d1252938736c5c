//! One flotilla session on one long-lived `codex app-server` process: `initialize`, then
//! the thread started or resumed, then a `turn/start` per prompt. Approvals are answered
//! from the permission cards, an abort is `turn/interrupt` (escalated to signals if the
//! server does not end the turn), and a process that goes away is reported.

use super::mapper::{Mapper, Step};
use super::rpc::{self, Incoming};
use crate::agent::piped::{MAX_LINE, Output, Proc};
use crate::agent::{AgentEvent, DriverCmd, EventTx, Launch, new_id};
use crate::core::PermissionReply;
use nix::sys::signal::Signal;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// After `turn/interrupt`, how long the server gets to end the turn itself.
const INTERRUPT_GRACE: Duration = Duration::from_secs(2);
/// How long each signal gets before the next, harder one.
const SIGNAL_GRACE: Duration = Duration::from_secs(1);
/// How long a stopping process gets to exit before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(2);
const STDERR_KEPT: usize = 20;

/// What every session's driver needs to start its process.
#[derive(Debug)]
pub struct Setup {
    pub binary: PathBuf,
    pub env: Vec<(String, String)>,
    pub sandbox: String,
    pub approval: String,
}

/// Where the conversation with the server stands.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    /// `initialize` sent, its answer awaited.
    Initializing(u64),
    /// `thread/start` or `thread/resume` sent.
    Opening(u64),
    Ready,
}

struct AppDriver {
    setup: Arc<Setup>,
    launch: Launch,
    events: EventTx,
    mapper: Mapper,
    proc: Option<Proc>,
    phase: Phase,
    next_id: u64,
    /// A prompt that came while the process was (re)starting, sent once it is ready.
    waiting: Option<String>,
    /// Text for the running turn that came before the server named the turn.
    steering: Vec<String>,
    /// The `turn/start` request not answered yet.
    starting: Option<u64>,
    /// A turn was started and has not ended.
    busy: bool,
    /// How far an abort has gone, and when it goes further.
    abort: Option<(u8, Instant)>,
    /// The current process is being ended on purpose.
    killing: bool,
    ever_ready: bool,
    stderr: VecDeque<String>,
}

pub async fn drive(
    setup: Arc<Setup>,
    launch: Launch,
    events: EventTx,
    mut rx: mpsc::UnboundedReceiver<DriverCmd>,
) {
    let mut s = AppDriver {
        mapper: Mapper::new(launch.agent_session_id.clone()),
        setup,
        launch,
        events,
        proc: None,
        phase: Phase::Initializing(0),
        next_id: 0,
        waiting: None,
        steering: Vec::new(),
        starting: None,
        busy: false,
        abort: None,
        killing: false,
        ever_ready: false,
        stderr: VecDeque::new(),
    };
    if let Err(e) = s.start() {
        s.send(AgentEvent::Failed(e)).await;
        return;
    }
    loop {
        let abort_at = s.abort.map(|a| a.1);
        tokio::select! {
            cmd = rx.recv() => match cmd {
                None | Some(DriverCmd::Stop) | Some(DriverCmd::Detach) => break,
                Some(DriverCmd::Prompt(text)) => s.prompt(text).await,
                Some(DriverCmd::Steer(text)) => s.steer(text),
                Some(DriverCmd::Abort) => s.abort().await,
                Some(DriverCmd::Permission { request_id, reply }) => s.answer(&request_id, reply).await,
            },
            out = Proc::next_of(&mut s.proc) => match out {
                Output::Line(line) => s.line(&line).await,
                Output::TooLong => tracing::warn!("codex app-server: skipped a line over {MAX_LINE} bytes"),
                Output::Stderr(line) => s.stderr_line(line),
                Output::Exited(status) => {
                    if !s.exited(status).await {
                        return;
                    }
                }
            },
            _ = crate::deadline::sleep_until(abort_at) => s.escalate().await,
        }
    }
    s.shutdown().await;
}

impl AppDriver {
    async fn send(&self, event: AgentEvent) {
        let _ = self.events.send((self.launch.session, event)).await;
    }

    async fn send_all(&self, events: Vec<AgentEvent>) {
        for event in events {
            self.send(event).await;
        }
    }

    fn request(&mut self, method: &str, params: serde_json::Value) -> u64 {
        self.next_id += 1;
        let id = self.next_id;
        self.write(rpc::request(id, method, params));
        id
    }

    fn write(&self, line: String) {
        if let Some(proc) = &self.proc {
            proc.write(line);
        }
    }

    fn start(&mut self) -> Result<(), String> {
        let args = ["app-server".to_string()];
        let proc =
            Proc::spawn(&self.setup.binary, &args, &self.setup.env, &self.launch).map_err(|e| {
                format!(
                    "cannot start {} app-server: {e}; {}",
                    self.setup.binary.display(),
                    super::super::INSTALL
                )
            })?;
        self.proc = Some(proc);
        self.killing = false;
        self.stderr.clear();
        let version = env!("CARGO_PKG_VERSION");
        let id = self.request("initialize", rpc::initialize_params(version));
        self.phase = Phase::Initializing(id);
        Ok(())
    }

    async fn prompt(&mut self, text: String) {
        if self.proc.is_none()
            && let Err(e) = self.start()
        {
            let ended = AgentEvent::TurnEnded {
                error: Some(e),
                aborted: false,
                usage: None,
            };
            return self.send(ended).await;
        }
        if self.phase != Phase::Ready {
            self.waiting = Some(text);
            return;
        }
        let Some(thread) = self.mapper.thread_id().map(String::from) else {
            let ended = AgentEvent::TurnEnded {
                error: Some("the Codex app server opened no thread: resume the session".into()),
                aborted: false,
                usage: None,
            };
            return self.send(ended).await;
        };
        self.mapper.begin_turn(new_id("msg"));
        self.busy = true;
        let id = self.request("turn/start", rpc::turn_start_params(&thread, &text));
        self.starting = Some(id);
    }

    /// More text for the running turn: sent at once if the server has named the turn,
    /// else as soon as it does.
    fn steer(&mut self, text: String) {
        if !self.busy {
            return;
        }
        self.steering.push(text);
        self.send_steering();
    }

    fn send_steering(&mut self) {
        let (Some(thread), Some(turn)) = (self.mapper.thread_id(), self.mapper.turn_id()) else {
            return;
        };
        let (thread, turn) = (thread.to_string(), turn.to_string());
        for text in std::mem::take(&mut self.steering) {
            self.request("turn/steer", rpc::turn_steer_params(&thread, &turn, &text));
        }
    }

    async fn line(&mut self, line: &str) {
        let Some(msg) = rpc::read(line) else {
            return;
        };
        match msg {
            Incoming::Response { id, result } => self.response(id, result).await,
            other => {
                let Step { events, send } = self.mapper.incoming(other);
                for line in send {
                    self.write(line);
                }
                if !self.steering.is_empty() {
                    self.send_steering();
                }
                for event in events {
                    if matches!(event, AgentEvent::TurnEnded { .. }) {
                        self.busy = false;
                        self.abort = None;
                        self.steering.clear();
                    }
                    self.send(event).await;
                }
            }
        }
    }

    async fn response(&mut self, id: u64, result: Result<serde_json::Value, String>) {
        match (self.phase, result) {
            (Phase::Initializing(want), Ok(_)) if want == id => {
                self.write(rpc::initialized());
                let (cwd, setup) = (
                    self.launch.workspace.to_string_lossy().into_owned(),
                    self.setup.clone(),
                );
                let (approval, sandbox) = (setup.approval.as_str(), setup.sandbox.as_str());
                let id = match self.mapper.thread_id().map(String::from) {
                    Some(thread) => self.request(
                        "thread/resume",
                        rpc::thread_resume_params(&thread, &cwd, approval, sandbox),
                    ),
                    None => {
                        let model = self.launch.model.clone().filter(|m| !m.is_empty());
                        let params =
                            rpc::thread_start_params(&cwd, approval, sandbox, model.as_deref());
                        self.request("thread/start", params)
                    }
                };
                self.phase = Phase::Opening(id);
            }
            (Phase::Opening(want), Ok(result)) if want == id => {
                let named = self.mapper.thread_started(&result);
                self.send_all(named).await;
                self.phase = Phase::Ready;
                if !std::mem::replace(&mut self.ever_ready, true) {
                    self.send(AgentEvent::Ready).await;
                }
                if let Some(text) = self.waiting.take() {
                    Box::pin(self.prompt(text)).await;
                }
            }
            (Phase::Initializing(want) | Phase::Opening(want), Err(e)) if want == id => {
                let why = match self.mapper.thread_id() {
                    Some(_) => {
                        format!("Codex could not resume the thread: {e}; start a new session")
                    }
                    None => format!("the Codex app server refused to start: {e}"),
                };
                self.send(AgentEvent::Failed(why)).await;
                self.killing = true;
                if let Some(p) = &self.proc {
                    p.signal(Signal::SIGTERM);
                }
            }
            (_, Err(e)) if self.starting == Some(id) => {
                self.starting = None;
                self.busy = false;
                let ended = AgentEvent::TurnEnded {
                    error: Some(format!("Codex did not start the turn: {e}")),
                    aborted: false,
                    usage: None,
                };
                self.send(ended).await;
            }
            _ => {
                if self.starting == Some(id) {
                    self.starting = None;
                }
            }
        }
    }

    fn stderr_line(&mut self, line: String) {
        if line.trim().is_empty() {
            return;
        }
        // Its log lines come with colours: kept as text only, to be shown as a reason.
        let line = crate::core::sanitize(&line);
        tracing::debug!("codex app-server stderr: {line}");
        // Said at every start where bubblewrap is not installed (Codex brings its own):
        // never why the server ended, so never kept as the reason.
        if line.contains("could not find bubblewrap") {
            return;
        }
        if self.stderr.len() == STDERR_KEPT {
            self.stderr.pop_front();
        }
        self.stderr.push_back(line);
    }

    async fn abort(&mut self) {
        if !self.busy {
            if self.waiting.take().is_some() {
                let ended = AgentEvent::TurnEnded {
                    error: None,
                    aborted: true,
                    usage: None,
                };
                self.send(ended).await;
            }
            return;
        }
        if self.abort.is_some() {
            return;
        }
        if let (Some(thread), Some(turn)) = (self.mapper.thread_id(), self.mapper.turn_id()) {
            let params = rpc::turn_interrupt_params(thread, turn);
            self.request("turn/interrupt", params);
        }
        self.abort = Some((0, Instant::now() + INTERRUPT_GRACE));
    }

    /// The server did not end the aborted turn in time: signal harder, then give up.
    async fn escalate(&mut self) {
        let Some((stage, _)) = self.abort else { return };
        let (Some(proc), true) = (&self.proc, self.busy) else {
            self.abort = None;
            return;
        };
        let signal = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGKILL].get(usize::from(stage));
        match signal {
            Some(&signal) => {
                tracing::info!(
                    "the codex app server did not end the aborted turn: sending {signal}"
                );
                self.killing = true;
                proc.signal(signal);
                self.abort = Some((stage + 1, Instant::now() + SIGNAL_GRACE));
            }
            None => {
                self.proc = None;
                self.abort = None;
                self.end_abandoned(stage).await;
            }
        }
    }

    async fn end_abandoned(&mut self, stage: u8) {
        self.busy = false;
        let signal = ["SIGINT", "SIGTERM", "SIGKILL"][usize::from(stage.clamp(1, 3)) - 1];
        let error = (stage > 0).then(|| {
            format!("the Codex app server did not end the turn when asked, and was stopped with {signal}")
        });
        let ended = AgentEvent::TurnEnded {
            error,
            aborted: true,
            usage: None,
        };
        self.send(ended).await;
    }

    async fn answer(&mut self, request_id: &str, reply: PermissionReply) {
        let Some(step) = self.mapper.answer(request_id, reply) else {
            tracing::warn!("codex app-server: no open approval {request_id}");
            return;
        };
        for line in step.send {
            self.write(line);
        }
        self.send_all(step.events).await;
    }

    /// The process ended. Returns whether the driver goes on.
    async fn exited(&mut self, status: Option<std::process::ExitStatus>) -> bool {
        self.proc = None;
        self.phase = Phase::Initializing(0);
        if self.killing {
            // Ended by an abort: the turn is over, and the next prompt starts it again.
            let stage = self.abort.take().map_or(0, |a| a.0);
            if self.busy {
                self.end_abandoned(stage).await;
            }
            return self.ever_ready;
        }
        let how = match status {
            Some(s) if s.success() => "exited".to_string(),
            Some(s) => format!("exited with {s}"),
            None => "went away".to_string(),
        };
        let reason = match self.stderr.back() {
            Some(line) => format!("the Codex app server {how}: {line}"),
            None => format!("the Codex app server {how}"),
        };
        match self.ever_ready {
            true => {
                let why = format!("{reason}; resume the session to start it again");
                self.send(AgentEvent::Lost(why)).await;
            }
            false => self.send(AgentEvent::Failed(reason)).await,
        }
        false
    }

    /// Lets go of the process: stdin closes (mid-turn, the turn is interrupted first),
    /// then it is killed if it lingers. The thread stays on disk for a later resume.
    async fn shutdown(&mut self) {
        if self.busy
            && let (Some(thread), Some(turn)) = (self.mapper.thread_id(), self.mapper.turn_id())
        {
            let params = rpc::turn_interrupt_params(thread, turn);
            self.request("turn/interrupt", params);
        }
        let Some(proc) = self.proc.take() else {
            return;
        };
        proc.stop(STOP_GRACE, SIGNAL_GRACE).await;
    }
}
