//! What the Info tab shows beyond the session record: its callbacks and chronicles, asked
//! of the daemon (`Command::Details`) while the tab is on screen, one request at a time.

use super::state::{State, Tab};
use crate::core::{Callback, Chronicle, SessionId};
use chrono::{DateTime, Utc};

#[derive(Debug, Default)]
pub struct DetailsView {
    /// The session the rest is about.
    pub session: Option<SessionId>,
    pub callbacks: Vec<Callback>,
    /// The session's own chronicles, newest first.
    pub chronicles: Vec<Chronicle>,
    /// The chronicles it was reforged from, nearest first.
    pub chain: Vec<Chronicle>,
    /// An answer for `session` arrived.
    pub loaded: bool,
    pub error: Option<String>,
    /// The session a request is on its way for.
    pub in_flight: Option<SessionId>,
    /// Something changed since the last request: ask again once it is answered.
    pub stale: bool,
}

impl State {
    /// Whether the Info tab is what the user sees.
    pub fn info_shown(&self) -> bool {
        self.tab == Tab::Info && self.history_view.is_none() && self.selected.is_some()
    }

    /// When the Info tab's text next changes by itself: a time limit's "left" counts in
    /// seconds, so once a second while one ticks on screen, and never otherwise.
    pub fn next_info_change(&self) -> Option<DateTime<Utc>> {
        let s = self.selected_session().filter(|_| self.info_shown())?;
        let ticks = s.status.is_live() || s.status == crate::core::Status::Disconnected;
        let timed = s.limits.ttl_secs.is_some()
            || (s.limits.idle_timeout_secs.is_some() && s.status == crate::core::Status::Idle);
        (ticks && timed).then(|| self.now + chrono::Duration::seconds(1))
    }
}
