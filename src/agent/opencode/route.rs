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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::opencode::events::OcEvent;

    #[test]
    fn a_session_that_falls_behind_gets_a_resync_instead_of_what_it_missed() {
        let (tx, mut rx) = mpsc::channel(2);
        let mut route = Route { tx, lagging: false };
        for _ in 0..5 {
            assert!(route.deliver(Feed::Event(OcEvent::Heartbeat)));
        }
        assert!(route.lagging, "the queue filled");
        assert!(matches!(rx.try_recv(), Ok(Feed::Event(_))));
        assert!(matches!(rx.try_recv(), Ok(Feed::Event(_))));
        assert!(rx.try_recv().is_err(), "what did not fit was dropped");
        // The next event finds room: a resync goes first, in its place.
        assert!(route.deliver(Feed::Event(OcEvent::Heartbeat)));
        assert!(matches!(rx.try_recv(), Ok(Feed::Resync)));
        assert!(!route.lagging);
        assert!(route.deliver(Feed::Event(OcEvent::Heartbeat)));
        assert!(matches!(rx.try_recv(), Ok(Feed::Event(_))));
        drop(rx);
        assert!(!route.deliver(Feed::Resync), "a session gone is let go of");
    }
}
