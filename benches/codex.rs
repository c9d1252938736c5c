//! Codex figures, side by side: the CLI alone (`codex exec --json`, spawn to its first
//! item line) against the same through flotilla's engine (`Command::Send` to the first
//! part of the turn), before (the exec backend) and after (the app server), for a new
//! thread and for the same thread again. Runs only in a
//! loopback-only network namespace with the agents installed (scripts/bench arranges both).

#[path = "../tests/support/mod.rs"]
mod support;

use flotilla::agent::codex::{CodexBackend, Settings};
use flotilla::config::{AgentKind, Config};
use flotilla::core::{Role, Session, SessionId, Status, Strategy};
use flotilla::daemon::{Client, Events};
use flotilla::protocol::{Command, Event, NewSession, Reply};
use std::process::Stdio;
use std::time::{Duration, Instant};
use support::engine::{self, AgentWorld};
use support::fake_llm::{FakeServer, OpenAiResponses, Reply as Llm};
use support::offline;
use tokio::io::AsyncBufReadExt;

const PROMPTS: usize = 5;
const REPLY: &str = "first words and then some more";
/// A pause before each timed prompt: a turn ends at Codex's `turn.completed` line, while
/// its process may still be exiting, and the next resume waits for that.
const PAUSE: Duration = Duration::from_millis(300);

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // Skips (with a note) outside a loopback-only namespace or without the agent.
    let Some(bin) = support::isolation::agent_binary("codex") else {
        return;
    };
    let fake = OpenAiResponses::start().await.expect("fake");
    let agent_home = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("home");
    let env = offline::codex_env(agent_home.path(), fake.url()).expect("env");
    // Through flotilla twice, each in an engine of its own: before, the exec backend (one
    // `codex exec` per turn, agent kind codex_exec), and after, the app server (kind
    // codex). The CLI alone and both take turns, so drift in the machine's load falls on
    // all alike.
    let mut worlds = Vec::new();
    for kind in [AgentKind::CodexExec, AgentKind::Codex] {
        let mut config = Config::default();
        config
            .agents
            .insert("codex".into(), engine::agent(kind, &bin, env.clone()));
        let mut world = AgentWorld::start(config).await;
        let events = world.client.take_events().expect("events");
        world
            .client
            .request(Command::Subscribe)
            .await
            .expect("subscribe");
        worlds.push((world, events));
    }
    let repo = worlds[0].0.repo.path().to_path_buf();

    // (a) The CLI alone, as from a shell: this environment plus the offline settings,
    // and the arguments flotilla passes. (An environment without the certificate
    // variables flotilla passes on, SSL_CERT_FILE and NODE_EXTRA_CA_CERTS, starts Codex
    // some 30 ms sooner: that is Codex loading certificates, not flotilla.)
    let backend = CodexBackend::new(bin.clone(), Vec::new(), Settings::default());
    let cli = async |prompt: String, thread: Option<&str>| {
        tokio::time::sleep(PAUSE).await;
        fake.push(Llm::text(REPLY));
        let mut cmd = tokio::process::Command::new(&bin);
        cmd.args(backend.args(&prompt, thread, None))
            .current_dir(&repo)
            .envs(env.iter().cloned())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        first_item(cmd).await
    };

    let mut new = [Vec::new(), Vec::new(), Vec::new()];
    let mut resumed = [Vec::new(), Vec::new(), Vec::new()];
    let mut thread = String::new();
    let mut sessions: [Option<Session>; 2] = [None, None];
    for n in 0..PROMPTS {
        let (took, id) = cli(format!("prompt {n}"), None).await;
        new[0].push(took);
        thread = id;
        for (i, (world, events)) in worlds.iter_mut().enumerate() {
            let s = new_session(world).await;
            new[i + 1].push(engine_turn(&world.client, events, &fake, &s, n).await);
            sessions[i] = Some(s);
        }
    }
    for n in 0..PROMPTS {
        let (took, _) = cli(format!("again {n}"), Some(&thread)).await;
        resumed[0].push(took);
        for (i, (world, events)) in worlds.iter_mut().enumerate() {
            let s = sessions[i].clone().expect("a session");
            resumed[i + 1].push(engine_turn(&world.client, events, &fake, &s, n).await);
        }
    }

    println!(
        "| first item of a turn (median of {PROMPTS}) | CLI alone, exec (a) | flotilla before: exec backend (b) | flotilla after: app server (c) | b - a | c - a |"
    );
    println!("|---|---|---|---|---|---|");
    for (what, [a, b, c]) in [("new thread", new), ("same thread again", resumed)] {
        let (a, b, c) = (ms(median(a)), ms(median(b)), ms(median(c)));
        println!(
            "| {what} | {a:.0} ms | {b:.0} ms | {c:.0} ms | {:+.0} ms | {:+.0} ms |",
            b - a,
            c - a
        );
    }
}

/// A new session of the world's codex agent, in its repository.
async fn new_session(world: &AgentWorld) -> Session {
    let reply = world
        .client
        .request(Command::New(NewSession {
            dir: world.repo.path().to_path_buf(),
            strategy: Some(Strategy::Existing),
            agent: Some("codex".into()),
            ..NewSession::default()
        }))
        .await
        .expect("new");
    let Reply::Session { session, .. } = reply else {
        panic!("{reply:?}")
    };
    session
}

/// Runs the CLI to its end; the time to its first `item.*` line, and the thread id.
async fn first_item(mut cmd: tokio::process::Command) -> (Duration, String) {
    let start = Instant::now();
    let mut child = cmd.spawn().expect("codex");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let (mut first, mut thread) = (None, String::new());
    while let Ok(Some(line)) = lines.next_line().await {
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        let kind = v["type"].as_str().unwrap_or("");
        if kind == "thread.started" {
            thread = v["thread_id"].as_str().unwrap_or("").to_string();
        }
        if kind.starts_with("item.") && first.is_none() {
            first = Some(start.elapsed());
        }
    }
    let _ = child.wait().await;
    (first.expect("an item line"), thread)
}

/// Sends a prompt and times it to the first part of the assistant's reply; waits for
/// the turn to end.
async fn engine_turn(
    client: &Client,
    events: &mut Events,
    fake: &FakeServer,
    session: &Session,
    n: usize,
) -> Duration {
    let id = session.id;
    wait_idle(client, id).await;
    tokio::time::sleep(PAUSE).await;
    fake.push(Llm::text(REPLY));
    let start = Instant::now();
    let send = Command::Send {
        id: id.to_string(),
        text: format!("prompt {n}"),
    };
    client.request(send).await.expect("send");
    let mut assistant = None;
    let took = loop {
        let event = tokio::time::timeout(Duration::from_secs(60), events.recv()).await;
        match event {
            Ok(Some(Event::MessageAdded { session, message }))
                if session == id && message.role == Role::Assistant =>
            {
                assistant = Some(message.id)
            }
            Ok(Some(Event::PartUpdated { session, part }))
                if session == id && assistant.as_ref() == Some(&part.message_id) =>
            {
                break start.elapsed();
            }
            Ok(Some(Event::PartDelta {
                session,
                message_id,
                ..
            })) if session == id && assistant.as_ref() == Some(&message_id) => {
                break start.elapsed();
            }
            Ok(Some(_)) => {}
            other => panic!("no reply: {other:?}"),
        }
    };
    wait_idle(client, id).await;
    took
}

async fn wait_idle(client: &Client, id: SessionId) {
    let start = Instant::now();
    loop {
        let get = Command::Get { id: id.to_string() };
        if let Ok(Reply::Session { session, .. }) = client.request(get).await
            && session.status == Status::Idle
        {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "never idle");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}
