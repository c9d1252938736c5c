//! End-to-end benchmark of the engine behind a real daemon.
//!
//! A. Streaming: many `shell` sessions in one repository each run a command that prints
//!    lines at a steady rate; one subscribed client counts the lines it receives and the
//!    daemon's CPU time is sampled over the streaming window.
//! B. Idle: the same sessions, now idle, for a while of doing nothing: the daemon should
//!    use (almost) no CPU and start no processes.
//!
//! The daemon is the release `flotilla` binary (FLOTILLA_BIN, or target/release/flotilla),
//! started with FLOTILLA_HOME in a temporary directory that is removed at the end.
//!
//! Knobs (defaults in brackets): BENCH_SESSIONS [100], BENCH_SECONDS [10],
//! BENCH_LINES_PER_SEC [1000] per session, BENCH_BURSTS_PER_SEC [1000] (how the lines of a
//! second are grouped: 10 bursts of 100 lines, or 1000 single lines, ...),
//! BENCH_IDLE_SECONDS [30].

use flotilla::core::{SessionId, Status, Strategy};
use flotilla::daemon::{Client, Events};
use flotilla::paths::Paths;
use flotilla::protocol::{Command, Event, NewSession, Reply};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long to wait for the daemon's socket to answer.
const START_TIMEOUT: Duration = Duration::from_secs(15);
/// The longest any single request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Pause between the end of the stream and the start of the idle window.
const SETTLE: Duration = Duration::from_secs(1);
/// Streaming must end within its nominal length times this, plus `STREAM_SLACK`.
const STREAM_FACTOR: u32 = 2;
const STREAM_SLACK: Duration = Duration::from_secs(30);

const TARGET_STREAM_CORES: f64 = 0.5;
const TARGET_IDLE_CPU_SECONDS: f64 = 0.1;

struct Settings {
    sessions: usize,
    seconds: u64,
    lines_per_sec: u64,
    bursts_per_sec: u64,
    idle_seconds: u64,
}

impl Settings {
    fn from_env() -> Result<Settings, String> {
        let settings = Settings {
            sessions: env_number("BENCH_SESSIONS", 100)? as usize,
            seconds: env_number("BENCH_SECONDS", 10)?,
            lines_per_sec: env_number("BENCH_LINES_PER_SEC", 1000)?,
            bursts_per_sec: env_number("BENCH_BURSTS_PER_SEC", 1000)?,
            idle_seconds: env_number("BENCH_IDLE_SECONDS", 30)?,
        };
        if settings.sessions == 0 || settings.seconds == 0 {
            return Err("BENCH_SESSIONS and BENCH_SECONDS must be at least 1".into());
        }
        let bursts = settings.bursts_per_sec;
        if bursts == 0
            || settings.lines_per_sec == 0
            || !settings.lines_per_sec.is_multiple_of(bursts)
        {
            return Err(
                "BENCH_LINES_PER_SEC must be a positive multiple of BENCH_BURSTS_PER_SEC".into(),
            );
        }
        Ok(settings)
    }

    /// Evenly spaced bursts of lines, each line written on its own (unbuffered).
    fn prompt(&self) -> String {
        let ticks = self.seconds * self.bursts_per_sec;
        let per_tick = self.lines_per_sec / self.bursts_per_sec;
        let pause = 1.0 / self.bursts_per_sec as f64;
        format!(
            "perl -e '$|=1; for $t (1..{ticks}) {{ print \"s$t l$_\\n\" for 1..{per_tick}; select(undef,undef,undef,{pause}) }}'"
        )
    }

    fn lines_per_session(&self) -> u64 {
        self.seconds * self.lines_per_sec
    }
}

fn env_number(name: &str, default: u64) -> Result<u64, String> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse()
            .map_err(|_| format!("{name}={v} is not a whole number")),
        _ => Ok(default),
    }
}

fn main() {
    // Cargo passes `--bench`; there is nothing to parse.
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("engine bench: {e}");
            std::process::exit(2);
        }
    };
    let tmp = match tempfile::Builder::new().prefix("flotilla-bench-").tempdir() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("engine bench: cannot create a temporary directory: {e}");
            std::process::exit(1);
        }
    };
    let home = tmp.path().join("home");
    // SAFETY: no other thread exists yet.
    unsafe { std::env::set_var("FLOTILLA_HOME", &home) };

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let outcome = runtime.block_on(run(&settings, tmp.path()));
    drop(runtime);
    let removed = tmp.close();

    match outcome {
        Ok(table) => {
            table.print();
            if let Err(e) = removed {
                eprintln!("engine bench: could not remove the temporary directory: {e}");
            }
        }
        Err(e) => {
            eprintln!("engine bench failed: {e}");
            std::process::exit(1);
        }
    }
}

async fn run(settings: &Settings, tmp: &Path) -> Result<Table, String> {
    let repo = tmp.join("repo");
    make_repo(&repo)?;
    let paths = Paths::from_env().map_err(|e| e.to_string())?;
    paths.create_dirs().map_err(|e| e.to_string())?;
    let bin = daemon_binary()?;
    eprintln!("engine bench: daemon {}", bin.display());
    let mut daemon = Daemon::start(&bin, &paths)?;
    let client = daemon.connect(&paths).await?;
    let pid = daemon.pid();
    let ticks = clock_ticks();

    let mut table = Table::default();
    let result = measure(settings, &repo, client, pid, ticks, &mut table).await;
    match result {
        Ok(()) => daemon.stop().await,
        Err(_) => daemon.terminate(),
    }
    result.map(|()| table)
}

async fn measure(
    settings: &Settings,
    repo: &Path,
    client: Client,
    pid: u32,
    ticks: f64,
    table: &mut Table,
) -> Result<(), String> {
    let mut client = client;
    let n = settings.sessions;

    table.info(
        "load".to_string(),
        format!(
            "{n} sessions x {} lines/s x {} s, {} bursts/s",
            settings.lines_per_sec, settings.seconds, settings.bursts_per_sec
        ),
    );

    // Sessions, all idle in the one repository.
    let created_at = Instant::now();
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let reply = request(
            &client,
            Command::New(NewSession {
                dir: repo.to_path_buf(),
                strategy: Some(Strategy::Existing),
                title: Some(format!("bench {i}")),
                agent: Some("shell".into()),
                ..NewSession::default()
            }),
        )
        .await?;
        match reply {
            Reply::Session { session, .. } => ids.push(session.id),
            other => return Err(format!("creating a session answered {other:?}")),
        }
    }
    let create_time = created_at.elapsed();
    table.info(
        format!("create {n} sessions"),
        format!(
            "{:.2} s ({:.1} ms each)",
            create_time.as_secs_f64(),
            create_time.as_secs_f64() * 1000.0 / n as f64
        ),
    );

    match request(&client, Command::Subscribe).await? {
        Reply::Subscribed { .. } => {}
        other => return Err(format!("subscribing answered {other:?}")),
    }
    let mut events = client
        .take_events()
        .ok_or("the client's event stream was already taken")?;
    let client = Arc::new(client);

    // A. Streaming.
    let wanted: HashSet<SessionId> = ids.iter().copied().collect();
    let cpu_before = cpu_ticks(pid)?;
    let started = Instant::now();
    let sender = {
        let client = client.clone();
        let ids = ids.clone();
        let prompt = settings.prompt();
        tokio::spawn(async move {
            let mut failures = Vec::new();
            for id in ids {
                let sent = request(
                    &client,
                    Command::Send {
                        id: id.to_string(),
                        text: prompt.clone(),
                    },
                )
                .await;
                if let Err(e) = sent {
                    failures.push(e);
                }
            }
            (failures, started.elapsed())
        })
    };

    let nominal = Duration::from_secs(settings.seconds);
    let deadline = started + nominal * STREAM_FACTOR + STREAM_SLACK;
    let mut stream = StreamCount::default();
    let mut turn: HashMap<SessionId, Turn> = HashMap::new();
    let mut finished = 0usize;
    while finished < n {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        let event = match tokio::time::timeout(deadline - now, events.recv()).await {
            Ok(Some(event)) => event,
            Ok(None) => return Err("the daemon closed the event stream".into()),
            Err(_) => break,
        };
        stream.events += 1;
        match event {
            Event::PartDelta { session, text, .. } if wanted.contains(&session) => {
                stream.deltas += 1;
                stream.lines += text.bytes().filter(|&b| b == b'\n').count() as u64;
            }
            Event::SessionUpdated { session } if wanted.contains(&session.id) => {
                let state = turn.entry(session.id).or_insert(Turn::Waiting);
                match (*state, session.status) {
                    (Turn::Waiting, Status::Starting | Status::Active) => {
                        *state = Turn::Running;
                    }
                    (Turn::Running, Status::Idle) => {
                        *state = Turn::Done;
                        finished += 1;
                    }
                    (Turn::Waiting | Turn::Running, s) if !s.is_live() => {
                        *state = Turn::Failed;
                        stream.failed += 1;
                        finished += 1;
                    }
                    _ => {}
                }
            }
            Event::Lagged { missed } => stream.lagged += missed,
            _ => {}
        }
    }
    let window = started.elapsed();
    let cpu_after = cpu_ticks(pid)?;
    let (send_failures, send_time) = match sender.await {
        Ok(done) => done,
        Err(e) => return Err(format!("the prompt sender died: {e}")),
    };
    if let Some(e) = send_failures.first() {
        return Err(format!(
            "{} prompt(s) failed, first: {e}",
            send_failures.len()
        ));
    }

    let expected = n as u64 * settings.lines_per_session();
    let secs = window.as_secs_f64();
    let stream_cores = (cpu_after - cpu_before) as f64 / ticks / secs;
    let all_ended = finished == n && stream.failed == 0;
    table.info(
        format!("send {n} prompts"),
        format!("{:.2} s", send_time.as_secs_f64()),
    );
    table.info(
        "streaming window (nominal)".to_string(),
        format!("{secs:.2} s ({} s)", settings.seconds),
    );
    table.check(
        "turns ended".to_string(),
        format!(
            "{} of {n} idle{}",
            finished - stream.failed,
            if stream.failed > 0 {
                format!(", {} failed", stream.failed)
            } else {
                String::new()
            }
        ),
        format!("{n}"),
        all_ended,
    );
    table.info("lines expected".to_string(), expected.to_string());
    table.check(
        "lines delivered".to_string(),
        stream.lines.to_string(),
        format!("= {expected}"),
        stream.lines == expected,
    );
    table.check(
        "events missed (lagged)".to_string(),
        stream.lagged.to_string(),
        "0".to_string(),
        stream.lagged == 0,
    );
    table.info(
        "events delivered (deltas)".to_string(),
        format!("{} ({})", stream.events, stream.deltas),
    );
    table.info(
        "events/s delivered".to_string(),
        format!("{:.0}", stream.events as f64 / secs),
    );
    table.info(
        "lines/s delivered".to_string(),
        format!("{:.0}", stream.lines as f64 / secs),
    );
    table.info(
        "lines per delta (avg)".to_string(),
        format!("{:.1}", stream.lines as f64 / stream.deltas.max(1) as f64),
    );
    table.check(
        "daemon CPU while streaming".to_string(),
        format!("{stream_cores:.3} cores"),
        format!("< {TARGET_STREAM_CORES} core"),
        stream_cores < TARGET_STREAM_CORES,
    );

    // B. Idle: the same sessions, doing nothing.
    tokio::time::sleep(SETTLE).await;
    let mut idle_events = drain(&mut events);
    let baseline = children_of(pid);
    let mut seen: HashSet<u32> = baseline.iter().copied().collect();
    let mut new_pids = 0usize;
    let mut max_children = baseline.len();
    let idle_cpu_before = cpu_ticks(pid)?;
    let idle_started = Instant::now();
    for second in 1..=settings.idle_seconds {
        tokio::time::sleep_until((idle_started + Duration::from_secs(second)).into()).await;
        idle_events += drain(&mut events);
        let now = children_of(pid);
        max_children = max_children.max(now.len());
        for child in now {
            if seen.insert(child) {
                new_pids += 1;
            }
        }
    }
    let idle_cpu_after = cpu_ticks(pid)?;
    let idle_window = idle_started.elapsed().as_secs_f64();
    let idle_cpu = (idle_cpu_after - idle_cpu_before) as f64 / ticks;

    table.info(
        "idle window".to_string(),
        format!("{idle_window:.1} s after {} s settle", SETTLE.as_secs()),
    );
    table.check(
        "daemon CPU while idle".to_string(),
        format!("{idle_cpu:.2} s"),
        format!("< {TARGET_IDLE_CPU_SECONDS} s"),
        idle_cpu < TARGET_IDLE_CPU_SECONDS,
    );
    table.check(
        "child processes while idle (max)".to_string(),
        format!("{max_children} (at start {})", baseline.len()),
        "0".to_string(),
        max_children == 0,
    );
    table.check(
        "new child pids while idle".to_string(),
        new_pids.to_string(),
        "0".to_string(),
        new_pids == 0,
    );
    table.info("events while idle".to_string(), idle_events.to_string());

    let client = Arc::try_unwrap(client).map_err(|_| "the client is still shared")?;
    match tokio::time::timeout(REQUEST_TIMEOUT, client.request(Command::Shutdown)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("shutdown: {e}")),
        Err(_) => Err("the daemon did not answer the shutdown in time".into()),
    }
}

#[derive(Default)]
struct StreamCount {
    events: u64,
    deltas: u64,
    lines: u64,
    lagged: u64,
    failed: usize,
}

#[derive(Clone, Copy, PartialEq)]
enum Turn {
    Waiting,
    Running,
    Done,
    Failed,
}

fn drain(events: &mut Events) -> u64 {
    let mut n = 0;
    while events.try_recv().is_ok() {
        n += 1;
    }
    n
}

async fn request(client: &Client, command: Command) -> Result<Reply, String> {
    match tokio::time::timeout(REQUEST_TIMEOUT, client.request(command)).await {
        Ok(answer) => answer,
        Err(_) => Err(format!("no answer within {}s", REQUEST_TIMEOUT.as_secs())),
    }
}

fn make_repo(repo: &Path) -> Result<(), String> {
    std::fs::create_dir_all(repo).map_err(|e| format!("cannot create {}: {e}", repo.display()))?;
    std::fs::write(repo.join("README"), "bench\n").map_err(|e| e.to_string())?;
    git(repo, &["init", "--quiet", "-b", "main"])?;
    git(repo, &["add", "README"])?;
    git(
        repo,
        &[
            "-c",
            "user.name=bench",
            "-c",
            "user.email=bench@example.invalid",
            "-c",
            "commit.gpgsign=false",
            "commit",
            "--quiet",
            "-m",
            "first",
        ],
    )
}

fn git(dir: &Path, args: &[&str]) -> Result<(), String> {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

fn daemon_binary() -> Result<PathBuf, String> {
    if let Some(bin) = std::env::var_os("FLOTILLA_BIN").filter(|b| !b.is_empty()) {
        return Ok(PathBuf::from(bin));
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .filter(|t| !t.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let bin = target.join("release").join("flotilla");
    if bin.is_file() {
        Ok(bin)
    } else {
        Err(format!(
            "no daemon binary at {}: run `cargo build --release` or set FLOTILLA_BIN",
            bin.display()
        ))
    }
}

/// The daemon child; stopped (hard, if need be) when dropped.
struct Daemon {
    child: Child,
}

impl Daemon {
    fn start(bin: &Path, paths: &Paths) -> Result<Daemon, String> {
        let log = std::fs::File::create(&paths.daemon_log)
            .map_err(|e| format!("cannot create the daemon log: {e}"))?;
        let child = std::process::Command::new(bin)
            .arg("daemon")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        Ok(Daemon { child })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    async fn connect(&mut self, paths: &Paths) -> Result<Client, String> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(client) = Client::connect(paths).await? {
                return Ok(client);
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = std::fs::read_to_string(&paths.daemon_log).unwrap_or_default();
                return Err(format!(
                    "the daemon exited at start ({status}): {}",
                    log.lines().last().unwrap_or("")
                ));
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "the daemon did not answer within {}s",
                    START_TIMEOUT.as_secs()
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits for the daemon to exit after a shutdown request; forces it if it does not.
    async fn stop(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        eprintln!("engine bench: the daemon did not exit; terminating it");
        self.terminate();
    }

    fn terminate(&mut self) {
        if !matches!(self.child.try_wait(), Ok(None)) {
            return;
        }
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        for _ in 0..100 {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// The fields of /proc/<pid>/stat after the command name: index 0 is field 3 (state).
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_string).collect())
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> Result<u64, String> {
    let fields = stat_fields(pid).ok_or_else(|| format!("cannot read /proc/{pid}/stat"))?;
    let field = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    match (field(11), field(12)) {
        (Some(utime), Some(stime)) => Ok(utime + stime),
        _ => Err(format!("unexpected /proc/{pid}/stat")),
    }
}

/// Processes whose parent is `pid`.
fn children_of(pid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&p| {
            stat_fields(p).and_then(|f| f.get(1).and_then(|ppid| ppid.parse::<u32>().ok()))
                == Some(pid)
        })
        .collect()
}

fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|&t| t > 0.0)
        .unwrap_or(100.0)
}

#[derive(Default)]
struct Table {
    rows: Vec<[String; 4]>,
    failed: usize,
}

impl Table {
    fn info(&mut self, figure: String, value: String) {
        self.rows.push([figure, value, "-".into(), "info".into()]);
    }

    fn check(&mut self, figure: String, value: String, target: String, pass: bool) {
        if !pass {
            self.failed += 1;
        }
        let result = if pass { "pass" } else { "FAIL" };
        self.rows.push([figure, value, target, result.into()]);
    }

    fn print(&self) {
        let header = ["figure", "value", "target", "result"].map(String::from);
        let mut widths = [0usize; 4];
        for row in std::iter::once(&header).chain(&self.rows) {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |row: &[String; 4]| {
            let cells: Vec<String> = row
                .iter()
                .zip(widths)
                .map(|(cell, w)| format!("{cell:<w$}"))
                .collect();
            println!("| {} |", cells.join(" | "));
        };
        line(&header);
        println!(
            "|{}|",
            widths
                .iter()
                .map(|w| "-".repeat(w + 2))
                .collect::<Vec<_>>()
                .join("|")
        );
        for row in &self.rows {
            line(row);
        }
        let checks = self.rows.iter().filter(|r| r[3] != "info").count();
        println!("{} of {checks} targets met", checks - self.failed);
    }
}
