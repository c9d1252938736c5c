//! A turn's process: run in a process group of its own, and interrupted by escalating
//! signals to the whole group (SIGINT, then SIGTERM, then SIGKILL).

use crate::process_groups::Group;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long each signal of an interrupt gets before the next, harder one.
pub const GRACE: Duration = Duration::from_millis(500);

/// Makes `cmd` start with stdin at /dev/null, as the leader of a new process group.
pub fn in_own_group(cmd: &mut tokio::process::Command) -> &mut tokio::process::Command {
    cmd.stdin(std::process::Stdio::null()).process_group(0)
}

/// The signals of an interrupt, softest first.
const SIGNALS: [Signal; 3] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGKILL];

/// How far an interrupt of one run has gone: not asked, or the hardest signal sent.
#[derive(Debug, Clone, Default)]
pub struct Interrupt(Arc<AtomicU8>);

impl Interrupt {
    /// Whether an interrupt was asked for.
    pub fn asked(&self) -> bool {
        self.0.load(Ordering::SeqCst) > 0
    }

    /// Asks for the interrupt; false if it was asked for already.
    fn ask(&self) -> bool {
        self.0
            .compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }

    fn sent(&self, stage: usize) {
        self.0.fetch_max(stage as u8 + 1, Ordering::SeqCst);
    }

    /// What the aborted turn's end says when SIGINT was not enough, for the user to
    /// know the agent was stopped hard: only when a harder signal was sent and is what
    /// ended the process (one that ended on SIGINT, however late, was not forced).
    pub fn forced(&self, status: Option<&std::process::ExitStatus>) -> Option<String> {
        use std::os::unix::process::ExitStatusExt;
        let stage = usize::from(self.0.load(Ordering::SeqCst));
        let harder = SIGNALS.get(1..stage).unwrap_or_default();
        let ended_by = status.and_then(ExitStatusExt::signal)?;
        let signal = harder.iter().find(|s| **s as i32 == ended_by)?;
        Some(format!("it ignored SIGINT and was stopped with {signal}"))
    }
}

/// How a process ended, for a turn's error: "codex exited with status 3".
pub fn exit_words(what: &str, status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("{what} exited with status {code}"),
        (None, Some(sig)) => format!("{what} was killed by signal {sig}"),
        _ => format!("{what} failed"),
    }
}

/// The task that owns one run of a process, and the means to interrupt it.
pub struct Running {
    pgid: Option<Pid>,
    interrupted: Interrupt,
    finished: watch::Receiver<bool>,
    task: JoinHandle<()>,
}

impl Running {
    /// Runs `work` as a task. `group` is the recorded process group an interrupt signals
    /// (none when nothing was spawned); it is let go, killing whatever the process left
    /// in it, as soon as the work ends. `work` is told how far an interrupt went.
    pub fn start<F, Fut>(group: Option<Group>, work: F) -> Running
    where
        F: FnOnce(Interrupt) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let interrupted = Interrupt::default();
        let (done_tx, done_rx) = watch::channel(false);
        let work = work(interrupted.clone());
        let pgid = group.as_ref().map(Group::pgid);
        let task = tokio::spawn(async move {
            work.await;
            drop(group);
            let _ = done_tx.send(true);
        });
        Running {
            pgid,
            interrupted,
            finished: done_rx,
            task,
        }
    }

    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// SIGINT to the whole process group, then SIGTERM, then SIGKILL, each after a grace
    /// period, stopping as soon as the turn has ended.
    pub fn interrupt(&self) {
        let Some(pgid) = self.pgid else { return };
        if !self.interrupted.ask() {
            return;
        }
        let mut finished = self.finished.clone();
        let interrupted = self.interrupted.clone();
        tokio::spawn(async move {
            for (stage, signal) in SIGNALS.into_iter().enumerate() {
                if *finished.borrow() {
                    return;
                }
                if killpg(pgid, signal).is_err() {
                    return;
                }
                interrupted.sent(stage);
                let ended = tokio::time::timeout(GRACE, finished.wait_for(|f| *f)).await;
                if ended.is_ok() {
                    return;
                }
            }
        });
    }

    /// Resolves once the work has ended, keeping the handle (to interrupt it meanwhile).
    pub async fn done(&self) {
        let mut finished = self.finished.clone();
        let _ = finished.wait_for(|f| *f).await;
    }

    pub async fn wait(self) {
        let _ = self.task.await;
    }
}

/// How long a process that has ended its turn gets to exit before it is interrupted.
const EXIT_WAIT: Duration = Duration::from_secs(5);

/// The driver of an agent that runs one process per turn: `start` begins the turn of a
/// prompt, an abort interrupts it, and stopping (or the engine dropping the driver)
/// interrupts what runs and waits for it, so no turn is left running unowned.
pub async fn drive_turns<F, Fut>(
    mut rx: tokio::sync::mpsc::UnboundedReceiver<crate::agent::DriverCmd>,
    mut start: F,
) where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Running>,
{
    use crate::agent::DriverCmd;
    let mut current: Option<Running> = None;
    while let Some(cmd) = rx.recv().await {
        if current.as_ref().is_some_and(Running::is_finished) {
            current = None;
        }
        match cmd {
            DriverCmd::Prompt(prompt) => {
                if let Some(running) = current.take() {
                    // The turn has ended (the engine queues prompts while one runs), but
                    // its process may still be exiting: let it, and stop it if it hangs.
                    if tokio::time::timeout(EXIT_WAIT, running.done())
                        .await
                        .is_err()
                    {
                        running.interrupt();
                    }
                    running.wait().await;
                }
                current = Some(start(prompt).await);
            }
            DriverCmd::Abort => {
                if let Some(running) = &current {
                    running.interrupt();
                }
            }
            DriverCmd::Permission { .. } | DriverCmd::Steer(_) => {}
            DriverCmd::Stop | DriverCmd::Detach => break,
        }
    }
    if let Some(running) = current.take() {
        running.interrupt();
        running.wait().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn an_abort_is_forced_only_when_a_harder_signal_ended_the_process() {
        let killed_by = |signal: i32| std::process::ExitStatus::from_raw(signal);
        let interrupt = Interrupt::default();
        assert!(interrupt.ask());
        interrupt.sent(0);
        // SIGINT alone, however the process ended, was not forcing it.
        assert_eq!(interrupt.forced(Some(&killed_by(9))), None);
        interrupt.sent(2);
        // SIGKILL sent, but the process had ended on SIGINT: not forced either.
        assert_eq!(interrupt.forced(Some(&killed_by(2))), None);
        assert_eq!(interrupt.forced(None), None);
        let forced = interrupt.forced(Some(&killed_by(9)));
        assert_eq!(
            forced.as_deref(),
            Some("it ignored SIGINT and was stopped with SIGKILL")
        );
    }
}
