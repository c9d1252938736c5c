//! The engine's promised deadlines, measured with the shell agent on an in-process
//! engine, each beside its baseline in the same run:
//! - abort: `Command::Abort` of a running `sleep 600` to its reply (the session idle),
//!   beside a `Command::Get` round trip;
//! - written: a streamed line's `Event::PartDelta` to the moment another connection
//!   reads it from the database, beside the 100 ms flush interval.
//!
//! The tests assert these only with a wide margin; this is where the real figures are.

#[path = "../tests/support/mod.rs"]
mod support;

use flotilla::core::{SessionId, Status, Strategy};
use flotilla::protocol::{Command, Event, NewSession, Reply};
use std::time::{Duration, Instant};
use support::engine::AgentWorld;

const RUNS: usize = 10;
const WAIT: Duration = Duration::from_secs(60);

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut world = AgentWorld::start(flotilla::config::Config::default()).await;
    let mut events = world.client.take_events().expect("events");
    let client = &world.client;
    client.request(Command::Subscribe).await.expect("subscribe");
    let reply = client
        .request(Command::New(NewSession {
            dir: world.repo.path().to_path_buf(),
            strategy: Some(Strategy::Existing),
            ..NewSession::default()
        }))
        .await
        .expect("new");
    let Reply::Session { session, .. } = reply else {
        panic!("{reply:?}")
    };
    let id = session.id;
    until(&mut events, |e| idle(e, id)).await;

    let (mut gets, mut aborts) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let start = Instant::now();
        let get = Command::Get { id: id.to_string() };
        client.request(get).await.expect("get");
        gets.push(start.elapsed());

        let text = "printf 'run%s\\n' ning; sleep 600".to_string();
        client
            .request(Command::Send {
                id: id.to_string(),
                text,
            })
            .await
            .expect("send");
        until(&mut events, |e| {
            delta(e, id).is_some_and(|t| t.contains("running"))
        })
        .await;
        let start = Instant::now();
        let abort = Command::Abort {
            id: id.to_string(),
            keep_queue: false,
        };
        match client.request(abort).await {
            Ok(Reply::Session { session, .. }) => assert_eq!(session.status, Status::Idle),
            other => panic!("abort: {other:?}"),
        }
        aborts.push(start.elapsed());
        until(&mut events, |e| idle(e, id)).await;
    }

    // One line at a time, each waited for in the database before the next.
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
    let db = rusqlite::Connection::open_with_flags(&world.paths.database, flags).expect("db");
    let mut written = Vec::new();
    let gate = support::Gate::new();
    let lines: Vec<String> = (0..RUNS)
        // printf, so that the prompt itself never holds the line it prints.
        .map(|n| {
            format!(
                "printf 'line-%s-of-the-stream\\n' {n}; {}",
                gate.wait(n as u32)
            )
        })
        .collect();
    let text = lines.join("; ");
    client
        .request(Command::Send {
            id: id.to_string(),
            text,
        })
        .await
        .expect("send");
    for n in 0..RUNS {
        let marker = format!("line-{n}-of-the-stream");
        until(&mut events, |e| {
            delta(e, id).is_some_and(|t| t.contains(&marker))
        })
        .await;
        let seen = Instant::now();
        while !stored(&db, &marker) {
            assert!(seen.elapsed() < WAIT, "{marker} never written");
            std::thread::sleep(Duration::from_millis(1));
        }
        written.push(seen.elapsed());
        gate.open(n as u32);
    }
    until(&mut events, |e| idle(e, id)).await;
    let _ = client.request(Command::Shutdown).await;

    println!("| figure (median / max of {RUNS}) | value | baseline |");
    println!("|---|---|---|");
    println!(
        "| abort of a running command to the idle reply | {} | Get round trip {} |",
        spread(&mut aborts),
        spread(&mut gets)
    );
    println!(
        "| streamed line: event to readable in the database | {} | flush interval 100 ms |",
        spread(&mut written)
    );
}

fn idle(event: &Event, id: SessionId) -> bool {
    matches!(event, Event::SessionUpdated { session } if session.id == id && session.status == Status::Idle)
}

fn delta(event: &Event, id: SessionId) -> Option<&str> {
    match event {
        Event::PartDelta { session, text, .. } if *session == id => Some(text),
        _ => None,
    }
}

async fn until(events: &mut flotilla::daemon::Events, done: impl Fn(&Event) -> bool) {
    loop {
        match tokio::time::timeout(WAIT, events.recv()).await {
            Ok(Some(event)) if done(&event) => return,
            Ok(Some(_)) => {}
            other => panic!("waited for an event: {other:?}"),
        }
    }
}

/// Whether the agent's answer, not the prompt, holds `marker` in the database.
fn stored(db: &rusqlite::Connection, marker: &str) -> bool {
    let sql = "SELECT count(*) FROM part_chunks c JOIN parts p ON p.id = c.part_id
        JOIN messages m ON m.id = p.message_id
        WHERE m.role <> 'user' AND instr(c.text, ?1) > 0";
    db.query_row(sql, [marker], |r| r.get::<_, i64>(0))
        .is_ok_and(|n| n > 0)
}

fn spread(v: &mut [Duration]) -> String {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!("{:.1} / {:.1} ms", ms(v[v.len() / 2]), ms(v[v.len() - 1]))
}
