//! Waiting for what no event reports: a process's end, a file an agent writes, a
//! request reaching a fake model server. Each wait looks again every few milliseconds
//! until its generous deadline, and a test that times out says what it waited for.

use std::future::Future;
use std::time::{Duration, Instant};

/// How often a wait looks again.
const EVERY: Duration = Duration::from_millis(20);

/// Waits until `done`, for at most `limit`.
pub fn wait_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "waited {limit:?} for {what}");
        std::thread::sleep(EVERY);
    }
}

/// [`wait_until`] for async tests: the runtime goes on meanwhile.
pub async fn until<F: Future<Output = bool>>(
    limit: Duration,
    what: &str,
    mut done: impl FnMut() -> F,
) {
    let start = Instant::now();
    while !done().await {
        assert!(start.elapsed() < limit, "waited {limit:?} for {what}");
        tokio::time::sleep(EVERY).await;
    }
}
