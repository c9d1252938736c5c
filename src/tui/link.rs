//! The link to one other host: connect, subscribe, pass the events on, and when the link
//! drops, connect again, waiting longer after each failure. One task per host, so a host
//! that is slow or gone never holds up the others.

use crate::daemon::{Client, Events};
use crate::protocol::{Command, Event, Reply};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// The first wait before connecting again, and the longest.
pub const RETRY_FIRST: Duration = Duration::from_millis(250);
pub const RETRY_MAX: Duration = Duration::from_secs(5);
/// How often an open link is asked whether its daemon still answers.
pub const PING: Duration = Duration::from_secs(15);

/// What a link tells the dashboard's loop.
pub enum LinkNews {
    Up {
        host: usize,
        client: Arc<Client>,
        snapshot: Box<Reply>,
    },
    Event {
        host: usize,
        event: Box<Event>,
    },
    Down {
        host: usize,
        why: String,
    },
    /// A cluster's watch saw a session's pod.
    Pod(Box<super::pods::PodNews>),
}

/// Keeps host `host` connected through `connect` until the loop stops listening.
pub async fn keep<F, Fut>(host: usize, connect: F, tx: mpsc::Sender<LinkNews>)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<Client, String>>,
{
    let mut wait = RETRY_FIRST;
    loop {
        let why = match open(&connect).await {
            Ok((client, mut events, snapshot)) => {
                wait = RETRY_FIRST;
                let client = Arc::new(client);
                let up = LinkNews::Up {
                    host,
                    client: client.clone(),
                    snapshot: Box::new(snapshot),
                };
                if tx.send(up).await.is_err() {
                    return;
                }
                // The events end with the link: its reader holds their sender. A link
                // that stays open but carries nothing back (keepalives off, a stopped
                // daemon) is found by asking now and then.
                let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + PING, PING);
                loop {
                    tokio::select! {
                        event = events.recv() => {
                            let Some(event) = event else {
                                break "the link dropped".to_string();
                            };
                            let news = LinkNews::Event { host, event: Box::new(event) };
                            if tx.send(news).await.is_err() {
                                return;
                            }
                        }
                        _ = ping.tick() => {
                            if let Err(e) = client.request(Command::DaemonStatus).await {
                                break format!("the host stopped answering: {e}");
                            }
                        }
                    }
                }
            }
            Err(why) => why,
        };
        let retry = format!("{why} · retrying in {}s", wait.as_secs_f32().ceil());
        if tx.send(LinkNews::Down { host, why: retry }).await.is_err() {
            return;
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(RETRY_MAX);
    }
}

async fn open<F, Fut>(connect: &F) -> Result<(Client, Events, Reply), String>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<Client, String>>,
{
    let mut client = connect().await?;
    let events = client
        .take_events()
        .ok_or_else(|| "no event stream".to_string())?;
    let snapshot = client.request(Command::Subscribe).await?;
    Ok((client, events, snapshot))
}
