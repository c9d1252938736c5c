//! What idle sessions cost, for each agent with a process of its own: the agent
//! processes (and their memory) left running once every session's turn has ended, with
//! hibernation off (the baseline: what every idle session cost before) and after the
//! `idle_instance_timeout`. Drives the real agents against fake model servers, so it
//! runs only in a loopback-only network namespace with the agents installed.
//!
//! `BENCH_IDLE_SESSIONS` (default 100) sessions per agent, `BENCH_IDLE_BASELINE`
//! (default 10) with hibernation off, `BENCH_IDLE_TIMEOUT` seconds (default 5).

#[path = "../tests/support/mod.rs"]
mod support;

use flotilla::config::{AgentKind, Config};
use flotilla::core::{Session, Strategy};
use flotilla::protocol::{Command, Reply};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use support::engine::{self, AgentWorld};
use support::fake_llm::{Anthropic, FakeServer, OpenAiChat, OpenAiResponses, Reply as Llm};
use support::offline;

fn number(var: &str, default: u64) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The processes descended from this one, and their resident memory in MiB.
fn agents() -> (usize, f64) {
    let me = std::process::id() as i64;
    let mut parent: HashMap<i64, i64> = HashMap::new();
    let mut rss: HashMap<i64, f64> = HashMap::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i64>() else {
            continue;
        };
        let status = std::fs::read_to_string(entry.path().join("status")).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        };
        if let Some(ppid) = field("PPid:") {
            parent.insert(pid, ppid as i64);
            rss.insert(pid, field("VmRSS:").unwrap_or(0.0) / 1024.0);
        }
    }
    let descends = |mut pid: i64| {
        while let Some(&up) = parent.get(&pid) {
            if up == me {
                return true;
            }
            pid = up;
        }
        false
    };
    let ours: Vec<i64> = parent.keys().copied().filter(|&p| descends(p)).collect();
    let mib: f64 = ours.iter().filter_map(|p| rss.get(p)).sum();
    (ours.len(), mib + 0.0)
}

fn own_rss() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

async fn sessions(world: &AgentWorld) -> Vec<Session> {
    match world.request(Command::List).await {
        Reply::Sessions { sessions } => sessions,
        other => panic!("{other:?}"),
    }
}

/// `n` sessions of the agent, one turn each; then what runs once they are all idle,
/// and (with a timeout) once every agent has been let go of.
async fn run(
    kind: AgentKind,
    name: &str,
    bin: &std::path::Path,
    env: &[(String, String)],
    fake: &FakeServer,
    n: u64,
    timeout: Option<Duration>,
) -> ((usize, f64), Option<(usize, f64, f64)>) {
    let mut config = Config {
        idle_instance_timeout: timeout.unwrap_or(Duration::ZERO),
        ..Config::default()
    };
    config
        .agents
        .insert(name.into(), engine::agent(kind, bin, env.to_vec()));
    let world = AgentWorld::start(config).await;
    for i in 0..n {
        let s = world.new_session(name, Strategy::Existing).await;
        fake.push(Llm::text(format!("answer {i}")));
        world.turn(&s, &format!("prompt {i}")).await;
    }
    let idle = agents();
    let Some(timeout) = timeout else {
        shut_down(&world).await;
        return (idle, None);
    };
    let deadline = Instant::now() + timeout * 3 + Duration::from_secs(120);
    loop {
        let all = sessions(&world).await;
        if all.iter().all(|s| !s.agent_running) && agents().0 == 0 {
            break;
        }
        if Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (procs, mib) = agents();
    let rss = own_rss();
    shut_down(&world).await;
    (idle, Some((procs, mib, rss)))
}

/// Stops the engine and waits for its agents to be gone, so the next run counts its own.
async fn shut_down(world: &AgentWorld) {
    let _ = world.client.request(Command::Shutdown).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while agents().0 > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n = number("BENCH_IDLE_SESSIONS", 100);
    let baseline = number("BENCH_IDLE_BASELINE", 10);
    let timeout = Duration::from_secs(number("BENCH_IDLE_TIMEOUT", 5));
    println!(
        "idle sessions: agent processes and their memory; hibernation after {}s",
        timeout.as_secs()
    );
    println!(
        "| agent | baseline: {baseline} idle sessions, hibernation off | {n} sessions, just after the last turn | {n} sessions after the timeout | engine RSS then | target |"
    );
    println!("|---|---|---|---|---|---|");
    for (kind, name) in [
        (AgentKind::Opencode, "opencode"),
        (AgentKind::Claude, "claude"),
        (AgentKind::Codex, "codex"),
    ] {
        let Some(bin) = support::isolation::agent_binary(name) else {
            return;
        };
        let fake = match kind {
            AgentKind::Opencode => OpenAiChat::start().await,
            AgentKind::Claude => Anthropic::start().await,
            _ => OpenAiResponses::start().await,
        }
        .expect("fake server");
        let home = support::isolation::agent_home();
        let env = match kind {
            AgentKind::Opencode => offline::opencode_env(home.path(), fake.url()),
            AgentKind::Claude => offline::claude_env(home.path(), fake.url()),
            _ => offline::codex_env(home.path(), fake.url()),
        }
        .expect("env");
        let ((base_procs, base_mib), _) = run(kind, name, &bin, &env, &fake, baseline, None).await;
        let ((busy_procs, busy_mib), after) =
            run(kind, name, &bin, &env, &fake, n, Some(timeout)).await;
        let (procs, mib, rss) = after.unwrap_or_default();
        println!(
            "| {name} | {base_procs} processes, {base_mib:.0} MiB | {busy_procs} processes, {busy_mib:.0} MiB | {procs} processes, {mib:.0} MiB | {rss:.0} MiB | 0 processes |"
        );
    }
}
