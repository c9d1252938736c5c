//! The History view's state: a search, a status filter, a date range, and the page of
//! sessions the daemon answered with. `update::history` changes it; `view::history`
//! draws it.

use crate::core::{Session, Status};
use crate::protocol::HistoryQuery;
use chrono::{DateTime, Duration, Utc};

/// When the sessions shown were created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Range {
    #[default]
    Any,
    Day,
    Week,
    Month,
    Older,
}

impl Range {
    pub const ALL: [Range; 5] = [
        Range::Any,
        Range::Day,
        Range::Week,
        Range::Month,
        Range::Older,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Range::Any => "any time",
            Range::Day => "last 24 hours",
            Range::Week => "last 7 days",
            Range::Month => "last 30 days",
            Range::Older => "over 30 days ago",
        }
    }

    /// The query's `since` and `until`.
    pub fn bounds(self, now: DateTime<Utc>) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
        match self {
            Range::Any => (None, None),
            Range::Day => (Some(now - Duration::days(1)), None),
            Range::Week => (Some(now - Duration::days(7)), None),
            Range::Month => (Some(now - Duration::days(30)), None),
            Range::Older => (None, Some(now - Duration::days(30))),
        }
    }

    pub fn next(self) -> Range {
        let i = Range::ALL.iter().position(|r| *r == self).unwrap_or(0);
        Range::ALL[(i + 1) % Range::ALL.len()]
    }
}

/// The statuses the filter steps through after "all": the ended ones first, since they
/// are what the history is mostly looked at for.
pub const STATUSES: [Status; 9] = [
    Status::Archived,
    Status::Completed,
    Status::Stopped,
    Status::Error,
    Status::Disconnected,
    Status::Idle,
    Status::Active,
    Status::WaitingInput,
    Status::Starting,
];

/// The longest search the box takes.
pub const MAX_SEARCH: usize = 200;

#[derive(Debug, Default)]
pub struct HistoryView {
    /// What is typed in the search box.
    pub typed: String,
    /// The search box has the keys.
    pub editing: bool,
    /// The search the rows answer (what was typed when enter was pressed).
    pub search: String,
    pub status: Option<Status>,
    pub range: Range,
    /// Where the page starts in the whole answer, and how many rows a page holds.
    pub offset: u32,
    pub page_size: u32,
    pub rows: Vec<Session>,
    pub total: u64,
    pub selected: usize,
    pub loaded: bool,
    pub error: Option<String>,
    /// This view's newest request; answers to others are dropped.
    pub seq: u64,
    pub in_flight: bool,
    /// The query changed while a request was on its way: ask again once it is answered.
    pub again: bool,
    /// The host whose sessions these are: each daemon keeps its own history.
    pub host: usize,
}

impl HistoryView {
    pub fn new(page_size: u32) -> HistoryView {
        HistoryView {
            page_size: page_size.max(1),
            ..HistoryView::default()
        }
    }

    pub fn query(&self, now: DateTime<Utc>) -> HistoryQuery {
        let (since, until) = self.range.bounds(now);
        HistoryQuery {
            search: Some(self.search.trim().to_string()).filter(|s| !s.is_empty()),
            status: self.status,
            since,
            until,
            limit: self.page_size,
            offset: self.offset,
        }
    }

    /// The next status filter: all, then each of [`STATUSES`], then all again.
    pub fn next_status(&mut self) {
        self.status = match self.status {
            None => Some(STATUSES[0]),
            Some(s) => {
                let i = STATUSES.iter().position(|x| *x == s);
                i.and_then(|i| STATUSES.get(i + 1)).copied()
            }
        };
    }

    pub fn has_next_page(&self) -> bool {
        u64::from(self.offset) + u64::from(self.page_size) < self.total
    }

    /// "21-40 of 123", or what says there is nothing.
    pub fn shown(&self) -> String {
        match self.rows.len() {
            0 if !self.loaded => "loading…".into(),
            0 => "no sessions".into(),
            n => format!(
                "{}-{} of {}",
                self.offset + 1,
                u64::from(self.offset) + n as u64,
                self.total
            ),
        }
    }

    pub fn selected_row(&self) -> Option<&Session> {
        self.rows.get(self.selected)
    }
}
