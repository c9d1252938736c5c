//! `flotilla --cluster NAME shell ID [COMMAND]`: a terminal in a session's pod, through
//! the API server's exec with a TTY, as `kubectl exec -it` opens one. With no command it
//! is a login shell in the workspace. The terminal is raw while it lasts and its size
//! follows this one.

use crate::cluster::objects::CONTAINER;
use crate::cluster::{Cluster, Entry};
use futures::SinkExt;
use kube::api::{AttachParams, TerminalSize};
use std::io::{IsTerminal, Read, Write};
use tokio::io::AsyncReadExt;

/// What runs in the pod when no command is given.
const LOGIN: &str = r#"cd ~/work 2>/dev/null; exec "${SHELL:-sh}" -l"#;

pub(super) async fn shell(
    cluster: &Cluster,
    entry: &Entry,
    command: &[String],
) -> Result<(), String> {
    let script = match command.is_empty() {
        true => LOGIN.to_string(),
        false => command.join(" "),
    };
    let tty = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    // Without a terminal, the command's errors come on a stream of their own.
    let params = (AttachParams::interactive_tty().container(CONTAINER))
        .tty(tty)
        .stderr(!tty);
    let argv = ["sh", "-c", script.as_str()];
    let mut attached = (cluster.pods.exec(&entry.name, argv, &params).await)
        .map_err(|e| format!("cannot open a shell in pod {}: {e}", entry.name))?;
    let (Some(mut to_pod), Some(mut from_pod)) = (attached.stdin(), attached.stdout()) else {
        return Err(format!("the exec in pod {} has no terminal", entry.name));
    };
    let raw = Raw::enter(tty)?;
    if let Some(mut sizes) = attached.terminal_size() {
        tokio::spawn(async move {
            let Ok(mut winch) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change())
            else {
                return;
            };
            loop {
                let Ok((width, height)) = crossterm::terminal::size() else {
                    return;
                };
                if sizes.send(TerminalSize { width, height }).await.is_err() {
                    return;
                }
                winch.recv().await;
            }
        });
    }
    // A plain thread reads this terminal: a read that blocks must not hold the exit.
    let (keys_tx, mut keys) = tokio::sync::mpsc::channel::<Vec<u8>>(16);
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = std::io::stdin().lock().read(&mut buf) {
            if keys_tx.blocking_send(buf[..n].to_vec()).is_err() {
                return;
            }
        }
    });
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        while let Some(bytes) = keys.recv().await {
            if to_pod.write_all(&bytes).await.is_err() {
                return;
            }
        }
        let _ = to_pod.shutdown().await;
    });
    // Read beside the output, so neither stream waits on the other.
    let errors = attached.stderr().map(|mut errors| {
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            while let Ok(n @ 1..) = errors.read(&mut buf).await {
                let _ = std::io::stderr().write_all(&buf[..n]);
            }
        })
    });
    let mut out = std::io::stdout().lock();
    let mut buf = vec![0u8; 16 * 1024];
    while let Ok(n @ 1..) = from_pod.read(&mut buf).await {
        // What the pod's shell prints is the user's own terminal session, as with ssh.
        if out.write_all(&buf[..n]).and_then(|()| out.flush()).is_err() {
            break;
        }
    }
    drop(raw);
    if let Some(errors) = errors {
        let _ = errors.await;
    }

    let status = attached.take_status();
    match status {
        Some(status) => match status.await {
            Some(s) if s.status.as_deref() == Some("Failure") => Err(format!(
                "the shell in pod {} ended: {}",
                entry.name,
                s.message.unwrap_or_default()
            )),
            _ => Ok(()),
        },
        None => Ok(()),
    }
}

/// The terminal in raw mode while the shell lasts.
struct Raw(bool);

impl Raw {
    fn enter(tty: bool) -> Result<Raw, String> {
        if tty {
            crossterm::terminal::enable_raw_mode()
                .map_err(|e| format!("cannot set the terminal up: {e}"))?;
        }
        Ok(Raw(tty))
    }
}

impl Drop for Raw {
    fn drop(&mut self) {
        if self.0 {
            let _ = crossterm::terminal::disable_raw_mode();
        }
    }
}
