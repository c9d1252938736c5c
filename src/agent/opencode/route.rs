//! Handing one session its events from the instance's shared event stream.

use super::instance::Feed;
use tokio::sync::mpsc;

/// Where a session's events go. The queue is bounded: a session that falls behind gets
/// a `Resync` instead of what it missed, as after a reconnect, so the shared event stream
/// never waits for one session and never buffers without end.
pub(super) struct Route {
    pub(super) tx: mpsc::Sender<Feed>,
    /// Events were dropped: a `Resync` is owed before anything else.
    pub(super) lagging: bool,
}

impl Route {
    /// Returns false once the session is gone.
    pub(super) fn deliver(&mut self, feed: Feed) -> bool {
        use mpsc::error::TrySendError;
        if self.lagging {
            match self.tx.try_send(Feed::Resync) {
                // The resync reads what this event says, and more.
                Ok(()) => self.lagging = false,
                Err(TrySendError::Full(_)) => {}
                Err(TrySendError::Closed(_)) => return false,
            }
            return true;
        }
        match self.tx.try_send(feed) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                self.lagging = true;
                true
            }
            Err(TrySendError::Closed(_)) => false,
        }
    }
}

/// How many events a session's queue holds before it is sent a resync instead.
pub const FEED: usize = 4096;
