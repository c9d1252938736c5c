//! A turn's process: run in a process group of its own, and interrupted by escalating
//! signals to the whole group (SIGINT, then SIGTERM, then SIGKILL).

use crate::process_groups::Group;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long each signal of an interrupt gets before the next, harder one.
pub const GRACE: Duration = Duration::from_millis(500);

/// Makes `cmd` start with stdin at /dev/null, as the leader of a new process group.
pub fn in_own_group(cmd: &mut tokio::process::Command) -> &mut tokio::process::Command {
    cmd.stdin(std::process::Stdio::null()).process_group(0)
}

/// The task that owns one run of a process, and the means to interrupt it.
pub struct Running {
    pgid: Option<Pid>,
    interrupted: Arc<AtomicBool>,
    finished: watch::Receiver<bool>,
    task: JoinHandle<()>,
}

impl Running {
    /// Runs `work` as a task. `group` is the recorded process group an interrupt signals
    /// (none when nothing was spawned); it is let go, killing whatever the process left
    /// in it, as soon as the work ends. `work` is told whether an interrupt came.
    pub fn start<F, Fut>(group: Option<Group>, work: F) -> Running
    where
        F: FnOnce(Arc<AtomicBool>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let interrupted = Arc::new(AtomicBool::new(false));
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

    /// Resolves once the work has ended, keeping the handle (to interrupt it meanwhile).
    pub async fn done(&self) {
        let mut finished = self.finished.clone();
        let _ = finished.wait_for(|f| *f).await;
    }

    pub async fn wait(self) {
        let _ = self.task.await;
    }
}
