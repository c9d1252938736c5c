//! Telling a daemon which session is on screen.

use crate::daemon::Client;
use crate::protocol::Command;
use std::sync::Arc;

/// Tells the daemon which session is on screen, one request at a time and the latest
/// only, so that quick moves cannot reach it out of order.
pub struct Viewer {
    pub latest: tokio::sync::watch::Sender<Option<Command>>,
    task: tokio::task::JoinHandle<()>,
}

impl Viewer {
    pub fn start(client: Arc<Client>) -> Viewer {
        let (latest, mut rx) = tokio::sync::watch::channel(None::<Command>);
        let task = tokio::spawn(async move {
            while rx.changed().await.is_ok() {
                let command = rx.borrow_and_update().clone();
                if let Some(command) = command {
                    let _ = client.request(command).await;
                }
            }
        });
        Viewer { latest, task }
    }
}

impl Drop for Viewer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
