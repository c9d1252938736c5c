//! Waiting for a deadline that may not be set, as every select loop here does for its
//! timers (an abort's next signal, a flush, a redraw).

use tokio::time::Instant;

/// Resolves at `at`; never, when there is no deadline.
pub async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
