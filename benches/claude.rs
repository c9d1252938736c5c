//! Claude Code figures, side by side in one run against the same fake Anthropic server:
//! (a) the CLI alone, driven over stream-json: time from writing a prompt line to the
//! first text delta line (cold: the process spawned with the prompt; warm: a running
//! process); (b) through flotilla's engine: time from `Command::Send` to the first
//! `Event::PartDelta`, on a session whose process already runs and has had a first turn.
//! The daemon's overhead is (b) minus warm (a). Runs only in a loopback-only network namespace with the agents
//! installed (scripts/bench arranges both).

#[path = "../tests/support/mod.rs"]
mod support;

use flotilla::config::{AgentKind, Config};
use flotilla::core::{SessionId, Status, Strategy};
use flotilla::daemon::Events;
use flotilla::protocol::{Command, Event, NewSession, Reply};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use support::engine::{self, AgentWorld};
use support::fake_llm::{Anthropic, Reply as Llm};
use support::offline;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const PROMPTS: usize = 5;
const WAIT: Duration = Duration::from_secs(60);

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // Skips (with a note) outside a loopback-only namespace or without the agent.
    let Some(bin) = support::isolation::agent_binary("claude") else {
        return;
    };
    let fake = Anthropic::start().await.expect("fake");
    let agent_home = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("home");
    let env = offline::claude_env(agent_home.path(), fake.url()).expect("env");
    // The engine runs for (b) below; it has no sessions while (a) runs.
    let mut config = Config::default();
    let agent = engine::agent(AgentKind::Claude, &bin, env.clone());
    config.agents.insert("claude".into(), agent);
    let mut world = AgentWorld::start(config).await;
    let repo = &world.repo;

    // (a) The CLI alone.
    let mut cli = Cli::spawn(&bin, &env, repo.path());
    fake.push(Llm::text("first token and then some more"));
    let start = Instant::now();
    cli.prompt("prompt cold").await;
    let cold = cli.until_first_delta(start).await;
    cli.until_result().await;
    let mut direct = Vec::new();
    for n in 0..PROMPTS {
        fake.push(Llm::text("first token and then some more"));
        let start = Instant::now();
        cli.prompt(&format!("prompt {n}")).await;
        direct.push(cli.until_first_delta(start).await);
        cli.until_result().await;
    }
    drop(cli);

    // (b) Through the engine.
    let mut events = world.client.take_events().expect("events");
    let client = &world.client;
    client.request(Command::Subscribe).await.expect("subscribe");
    let reply = client
        .request(Command::New(NewSession {
            dir: repo.path().to_path_buf(),
            strategy: Some(Strategy::Existing),
            agent: Some("claude".into()),
            ..NewSession::default()
        }))
        .await
        .expect("new");
    let Reply::Session { session, .. } = reply else {
        panic!("{reply:?}")
    };
    until_idle(&mut events, session.id).await;
    // A first turn, not counted, as the CLI's cold one above.
    let mut engine = Vec::new();
    for n in 0..=PROMPTS {
        fake.push(Llm::text("first token and then some more"));
        let start = Instant::now();
        client
            .request(Command::Send {
                id: session.id.to_string(),
                text: format!("prompt {n}"),
            })
            .await
            .expect("send");
        let took = until_first_delta(&mut events, session.id, start).await;
        if n > 0 {
            engine.push(took);
        }
        until_idle(&mut events, session.id).await;
    }
    // (c) An abort Claude answers: Command::Abort to its reply, the session idle.
    let mut aborts = Vec::new();
    for n in 0..PROMPTS {
        fake.push(Llm::SlowText {
            chunks: 400,
            delay_ms: 50,
        });
        let start = Instant::now();
        let id = session.id.to_string();
        let text = format!("slow {n}");
        client
            .request(Command::Send { id, text })
            .await
            .expect("send");
        until_first_delta(&mut events, session.id, start).await;
        let start = Instant::now();
        let id = session.id.to_string();
        let abort = Command::Abort {
            id,
            keep_queue: false,
        };
        client.request(abort).await.expect("abort");
        aborts.push(start.elapsed());
        until_idle(&mut events, session.id).await;
    }
    // (d) The process killed: how soon the session shows it (2 s are promised).
    let pid = claude_pid(session.id).expect("the session's claude");
    let killed = Instant::now();
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
    until_status(&mut events, session.id, Status::Disconnected).await;
    let lost = killed.elapsed();
    let _ = client.request(Command::Shutdown).await;

    let (direct, engine) = (median(direct), median(engine));
    println!("| figure (median of {PROMPTS} prompts) | value |");
    println!("|---|---|");
    println!(
        "| (a) CLI alone, cold: spawn + prompt to first text delta (1 run) | {:.1} ms |",
        ms(cold)
    );
    println!(
        "| (a) CLI alone, warm: prompt line to first text delta | {:.1} ms |",
        ms(direct)
    );
    println!(
        "| (b) engine, warm: Command::Send to first Event::PartDelta | {:.1} ms |",
        ms(engine)
    );
    println!(
        "| daemon overhead (b - warm a) | {:.1} ms |",
        ms(engine) - ms(direct)
    );
    println!(
        "| (c) abort answered by Claude: Command::Abort to its reply | {:.0} ms |",
        ms(median(aborts))
    );
    println!(
        "| (d) process killed to session disconnected (1 run) | {:.0} ms (2 s promised) |",
        ms(lost)
    );
}

/// The pid of the session's `claude` process, found by its command line.
fn claude_pid(id: SessionId) -> Option<nix::unistd::Pid> {
    let id = id.to_string();
    let pids = std::fs::read_dir("/proc").ok()?.filter_map(Result::ok);
    let pids = pids.filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok());
    pids.map(nix::unistd::Pid::from_raw).find(|pid| {
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmd = String::from_utf8_lossy(&cmd);
        cmd.contains("claude") && cmd.contains(&id)
    })
}

/// Claude Code run by hand the way the backend runs it.
struct Cli {
    child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

impl Cli {
    fn spawn(bin: &Path, env: &[(String, String)], dir: &Path) -> Cli {
        // The very command line flotilla runs, so (a) and (b) differ only by flotilla.
        let launch = flotilla::agent::Launch {
            session: SessionId::new(),
            workspace: dir.to_path_buf(),
            agent_session_id: None,
            model: None,
            groups: flotilla::process_groups::Registry::none(),
            env: Vec::new(),
        };
        let argv = flotilla::agent::claude::args(
            &flotilla::agent::claude::Settings::default(),
            &launch,
            None,
        );
        let mut child = tokio::process::Command::new(bin)
            .args(argv)
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("claude");
        let stdin = child.stdin.take().expect("stdin");
        let lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        Cli {
            child,
            stdin,
            lines,
        }
    }

    async fn prompt(&mut self, text: &str) {
        let line = serde_json::json!({
            "type": "user",
            "message": {"role": "user", "content": text},
            "parent_tool_use_id": null,
            "session_id": "",
        });
        self.stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .expect("write");
        self.stdin.flush().await.expect("flush");
    }

    async fn next_line(&mut self) -> String {
        match tokio::time::timeout(WAIT, self.lines.next_line()).await {
            Ok(Ok(Some(line))) => line,
            other => panic!("claude stopped talking: {other:?} ({:?})", self.child.id()),
        }
    }

    async fn until_first_delta(&mut self, start: Instant) -> Duration {
        loop {
            let line = self.next_line().await;
            if line.contains("\"stream_event\"") && line.contains("\"text_delta\"") {
                return start.elapsed();
            }
        }
    }

    async fn until_result(&mut self) {
        while !self.next_line().await.starts_with("{\"type\":\"result\"") {}
    }
}

async fn until_first_delta(events: &mut Events, id: SessionId, start: Instant) -> Duration {
    loop {
        match tokio::time::timeout(WAIT, events.recv()).await {
            Ok(Some(Event::PartDelta { session, .. })) if session == id => return start.elapsed(),
            Ok(Some(_)) => {}
            other => panic!("no token: {other:?}"),
        }
    }
}

async fn until_idle(events: &mut Events, id: SessionId) {
    until_status(events, id, Status::Idle).await
}

async fn until_status(events: &mut Events, id: SessionId, status: Status) {
    loop {
        match tokio::time::timeout(WAIT, events.recv()).await {
            Ok(Some(Event::SessionUpdated { session }))
                if session.id == id && session.status == status =>
            {
                return;
            }
            Ok(Some(_)) => {}
            other => panic!("never {status}: {other:?}"),
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
