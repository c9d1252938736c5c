//! `flotilla daemon --stdio`: this machine's daemon on stdin and stdout, for a client on
//! another machine that reaches it through `ssh`. The daemon is started if none runs and
//! checks the peer as it does for any local client: the bridge runs as the user who
//! logged in, so only that user's daemon is reached.

use super::Client;
use crate::paths::Paths;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;

/// Carries bytes both ways until either side ends. The handshake (hello and the protocol
/// check) is the far client's to make, over the bridge.
///
/// Plain threads, not the runtime's: a read of stdin that blocks forever would hold the
/// runtime's shutdown, and the process must end as soon as either side does.
pub async fn bridge(paths: &Paths, wait: bool) -> Result<(), String> {
    match wait {
        true => drop(wait_for(paths).await?),
        false => drop(Client::connect_or_spawn(paths).await?),
    }
    let socket = UnixStream::connect(&paths.socket)
        .map_err(|e| format!("cannot connect to {}: {e}", paths.socket.display()))?;
    let mut from_daemon = socket
        .try_clone()
        .map_err(|e| format!("cannot use the daemon's socket: {e}"))?;
    let mut to_daemon = socket;
    let (done, mut over) = tokio::sync::mpsc::channel::<()>(2);
    let up_done = done.clone();
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut to_daemon);
        let _ = to_daemon.shutdown(std::net::Shutdown::Write);
        let _ = up_done.blocking_send(());
    });
    std::thread::spawn(move || {
        let mut out = std::io::stdout().lock();
        let mut buf = vec![0u8; 64 * 1024];
        // Each chunk goes out at once: events must not wait in a buffer.
        while let Ok(n @ 1..) = from_daemon.read(&mut buf) {
            if out.write_all(&buf[..n]).and_then(|()| out.flush()).is_err() {
                break;
            }
        }
        let _ = done.blocking_send(());
    });
    // The far client left (stdin closed) or the daemon did: either way the link is over.
    over.recv().await;
    Ok(())
}

/// How long `--wait` waits for a daemon that is starting (a pod's, cloning first).
const WAIT: std::time::Duration = std::time::Duration::from_secs(600);

/// The daemon, once it answers; it is never started from here.
async fn wait_for(paths: &Paths) -> Result<Client, String> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(client) = Client::connect(paths).await? {
            return Ok(client);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!(
                "no daemon answered at {} within {}s",
                paths.socket.display(),
                WAIT.as_secs()
            ));
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
