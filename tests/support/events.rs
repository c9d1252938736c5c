//! Waiting on an engine's events instead of sleeping: a subscription of its own keeps
//! every event the engine sends, so a wait can ask what is true now (and be woken by
//! the next event of its session to ask again) or what happened since a point in time,
//! such as a status the session passed through between two looks.

use std::fmt::Display;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use flotilla::core::{Session, SessionId, Status};
use flotilla::daemon::Client;
use flotilla::engine::Engine;
use flotilla::protocol::{Command, Event, Reply};
use tokio::sync::watch;
use tokio::time::Instant;

/// The longest a test waits for anything.
pub const WAIT: Duration = Duration::from_secs(60);

/// One event as the waits need it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// `None` for an event about every session (`Lagged`): it wakes every wait.
    pub session: Option<SessionId>,
    pub update: Option<Session>,
    /// The subscription fell behind and missed events.
    pub lagged: bool,
}

/// Every event of one subscription, kept for the length of a test.
pub struct Recorder {
    log: Arc<Mutex<Vec<Seen>>>,
    tick: watch::Receiver<usize>,
    task: tokio::task::JoinHandle<()>,
}

impl Recorder {
    /// Subscribes to `engine` and records from now on.
    pub async fn start(engine: &Engine) -> Recorder {
        let mut client = Client::in_process(engine.clone());
        let mut events = client.take_events().expect("a fresh client's events");
        match client.request(Command::Subscribe).await {
            Ok(Reply::Subscribed { .. }) => {}
            other => panic!("subscribe: {other:?}"),
        }
        let log: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let (tx, tick) = watch::channel(0);
        let task = tokio::spawn({
            let log = log.clone();
            async move {
                // The client holds the subscription open.
                let _client = client;
                while let Some(event) = events.recv().await {
                    let seen = Seen::of(event);
                    let len = {
                        let mut log = log.lock().expect("log");
                        log.push(seen);
                        log.len()
                    };
                    tx.send_replace(len);
                }
            }
        });
        Recorder { log, tick, task }
    }

    /// Where the log ends now: waits from here see only what comes after.
    pub fn mark(&self) -> usize {
        self.log.lock().expect("log").len()
    }

    /// The statuses `id` was given from `from` on, in order.
    pub fn statuses(&self, id: SessionId, from: usize) -> Vec<Status> {
        let log = self.log.lock().expect("log");
        let updates = log.iter().skip(from).filter_map(|s| s.update.as_ref());
        updates.filter(|s| s.id == id).map(|s| s.status).collect()
    }

    /// Waits until an event about `id` (or about every session) is logged at `from` or
    /// later; false when `deadline` passes first.
    async fn event_since(&self, id: SessionId, from: usize, deadline: Instant) -> bool {
        let mut tick = self.tick.clone();
        loop {
            {
                let log = self.log.lock().expect("log");
                let mut since = log.iter().skip(from);
                if since.any(|s| s.session.is_none_or(|s| s == id)) {
                    return true;
                }
            }
            match tokio::time::timeout_at(deadline, tick.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => panic!("the engine went away while a test waited on it"),
                Err(_) => return false,
            }
        }
    }

    /// Asks `check` until it says yes, again after each event about `id`. `check` says
    /// what it saw when it says no; after [`WAIT`] the test fails with that and the
    /// statuses `id` went through meanwhile.
    pub async fn until<T>(
        &self,
        id: SessionId,
        what: impl Display,
        check: impl AsyncFnMut() -> Result<T, String>,
    ) -> T {
        self.until_within(WAIT, id, what, check).await
    }

    /// [`Recorder::until`], for something that may take longer than [`WAIT`].
    pub async fn until_within<T>(
        &self,
        limit: Duration,
        id: SessionId,
        what: impl Display,
        mut check: impl AsyncFnMut() -> Result<T, String>,
    ) -> T {
        let (began, deadline) = (self.mark(), Instant::now() + limit);
        loop {
            let mark = self.mark();
            let saw = match check().await {
                Ok(done) => return done,
                Err(saw) => saw,
            };
            if !self.event_since(id, mark, deadline).await {
                let statuses = self.statuses(id, began);
                panic!("waited {limit:?} for {what}: saw {saw}; statuses meanwhile {statuses:?}");
            }
        }
    }

    /// The first update of `id` logged at `from` or later that `done` takes, with where
    /// it is in the log: a status the session passed through is found even if it has
    /// moved on since.
    pub async fn passed(
        &self,
        id: SessionId,
        from: usize,
        what: impl Display,
        done: impl Fn(&Session) -> bool,
    ) -> (usize, Session) {
        let deadline = Instant::now() + WAIT;
        let mut at = from;
        loop {
            {
                let log = self.log.lock().expect("log");
                let mut since = log.iter().enumerate().skip(from);
                let found = since.find(|(_, s)| {
                    s.lagged || s.update.as_ref().is_some_and(|u| u.id == id && done(u))
                });
                match found {
                    // What it missed may be what this wait looks for: say so now.
                    Some((_, seen)) if seen.lagged => {
                        panic!("the test's subscription lagged while it waited for {what}")
                    }
                    Some((i, seen)) => return (i, seen.update.clone().expect("an update")),
                    None => {}
                }
                at = at.max(log.len());
            }
            if !self.event_since(id, at, deadline).await {
                let statuses = self.statuses(id, from);
                panic!("waited {WAIT:?} for {what}: statuses since {statuses:?}");
            }
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Seen {
    fn of(event: Event) -> Seen {
        Seen {
            session: event.session(),
            lagged: matches!(event, Event::Lagged { .. }),
            update: match event {
                Event::SessionUpdated { session } => Some(session),
                _ => None,
            },
        }
    }
}
