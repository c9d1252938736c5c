//! OpenCode figures: time from creating a session with a prompt to its first streamed
//! token (cold: no server yet; warm: a server already runs for the directory), and the
//! engine's memory with 10 OpenCode sessions. Runs only in a loopback-only network
//! namespace with the agents installed (scripts/bench arranges both).

#[path = "../tests/support/mod.rs"]
mod support;

use flotilla::config::{AgentKind, Config};
use flotilla::core::{SessionId, Strategy};
use flotilla::protocol::{Command, Event, NewSession, Reply};
use std::time::{Duration, Instant};
use support::engine::{self, AgentWorld};
use support::fake_llm::{OpenAiChat, Reply as Llm};
use support::offline;

const SESSIONS: usize = 10;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // Skips (with a note) outside a loopback-only namespace or without the agent.
    let Some(bin) = support::isolation::agent_binary("opencode") else {
        return;
    };
    let fake = OpenAiChat::start().await.expect("fake");
    let agent_home = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("home");
    let env = offline::opencode_env(agent_home.path(), fake.url()).expect("env");
    let mut config = Config::default();
    let agent = engine::agent(AgentKind::Opencode, &bin, env);
    config.agents.insert("opencode".into(), agent);
    let mut world = AgentWorld::start(config).await;
    let mut events = world.client.take_events().expect("events");
    let (client, repo) = (&world.client, &world.repo);
    client.request(Command::Subscribe).await.expect("subscribe");

    let mut first_token = Vec::new();
    for n in 0..SESSIONS {
        fake.push(Llm::text("first token and then some more"));
        let start = Instant::now();
        let reply = client
            .request(Command::New(NewSession {
                dir: repo.path().to_path_buf(),
                strategy: Some(Strategy::Existing),
                agent: Some("opencode".into()),
                prompt: Some(format!("prompt {n}")),
                ..NewSession::default()
            }))
            .await
            .expect("new");
        let Reply::Session { session, .. } = reply else {
            panic!("{reply:?}")
        };
        let took = until_first_delta(&mut events, session.id, start).await;
        first_token.push(took);
    }
    let rss_kib = rss_kib(std::process::id());
    // This bench's own servers only, from the records of its engine.
    let pids = world.opencode_servers();
    let servers: u64 = pids.iter().map(|p| rss_kib_of(*p)).sum();
    for pid in &pids {
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        eprintln!(
            "server pid {pid}: {} KiB: {}",
            rss_kib_of(*pid),
            String::from_utf8_lossy(&cmd).replace('\0', " ")
        );
    }

    // The server killed: how soon its sessions show it (2 s are promised).
    let killed = Instant::now();
    if let Some(&pid) = pids.first() {
        let pid = nix::unistd::Pid::from_raw(pid);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
    }
    let lost = until_disconnected(&mut events).await;
    let lost = lost.then(|| killed.elapsed());

    let warm: Vec<Duration> = first_token[1..].to_vec();
    println!("| figure | value |");
    println!("|---|---|");
    println!(
        "| first token, cold (server started) | {:.0} ms |",
        ms(first_token[0])
    );
    println!(
        "| first token, warm (median of {}) | {:.0} ms |",
        warm.len(),
        ms(median(warm))
    );
    println!(
        "| engine (daemon) RSS with {SESSIONS} OpenCode sessions | {:.1} MiB |",
        rss_kib as f64 / 1024.0
    );
    println!("| OpenCode servers running | {} |", pids.len());
    println!(
        "| OpenCode server RSS (all of them) | {:.1} MiB |",
        servers as f64 / 1024.0
    );
    match lost {
        Some(took) => println!(
            "| server killed to session disconnected | {:.0} ms (2 s promised) |",
            ms(took)
        ),
        None => println!("| server killed to session disconnected | not seen in 60 s |"),
    }
    // Dropping the world stops the servers it started.
}

/// Waits for a session to go disconnected; false after a minute.
async fn until_disconnected(events: &mut flotilla::daemon::Events) -> bool {
    loop {
        match tokio::time::timeout(Duration::from_secs(60), events.recv()).await {
            Ok(Some(flotilla::protocol::Event::SessionUpdated { session }))
                if session.status == flotilla::core::Status::Disconnected =>
            {
                return true;
            }
            Ok(Some(_)) => {}
            _ => return false,
        }
    }
}

async fn until_first_delta(
    events: &mut flotilla::daemon::Events,
    id: SessionId,
    start: Instant,
) -> Duration {
    loop {
        match tokio::time::timeout(Duration::from_secs(60), events.recv()).await {
            Ok(Some(Event::PartDelta { session, .. })) if session == id => return start.elapsed(),
            Ok(Some(_)) => {}
            other => panic!("no token: {other:?}"),
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn rss_kib(pid: u32) -> u64 {
    rss_kib_of(pid as i32)
}

fn rss_kib_of(pid: i32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}
