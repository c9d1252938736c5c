//! A client's view of the engine's event stream.

use crate::core::SessionId;
use crate::protocol::Event;
use tokio::sync::broadcast;

pub struct Subscription {
    rx: broadcast::Receiver<Event>,
    only: Option<SessionId>,
}

impl Subscription {
    pub(super) fn new(rx: broadcast::Receiver<Event>, only: Option<SessionId>) -> Self {
        Subscription { rx, only }
    }

    /// The next event for this subscriber; `None` once the engine has shut down. A
    /// subscriber that fell behind gets one `Lagged` event instead of what it missed.
    pub async fn next(&mut self) -> Option<Event> {
        loop {
            match self.rx.recv().await {
                Ok(event) => {
                    if self.only.is_none() || event.session() == self.only {
                        return Some(event);
                    }
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    return Some(Event::Lagged { missed });
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}
