//! The fleet's figures, each beside its baseline in the same run, over a real sshd on
//! loopback and the shell agent:
//! - prompt to first streamed token: `Command::Send` to the first `PartDelta` of the
//!   answer, on a host reached over SSH beside the same on the local daemon;
//! - the dashboard idle in tmux (120x40) for 30 s with 3 hosts of 100 idle sessions
//!   each (this machine and two over SSH), beside this machine alone with its 100:
//!   CPU seconds and frames drawn.
//!
//! Needs sshd and ssh (scripts/setup installs them).

#[path = "../tests/support/mod.rs"]
mod support;

use flotilla::config::HostConfig;
use flotilla::core::{SessionId, Status, Strategy};
use flotilla::daemon::{Client, Events, remote};
use flotilla::paths::Paths;
use flotilla::protocol::{Command, Event, NewSession, Reply};
use std::path::Path;
use std::time::{Duration, Instant};
use support::Repo;
use support::cli::Flotilla;
use support::fleet::Fleet;
use support::sshd::ALIAS;
use support::tmux::Tmux;

const RUNS: usize = 20;
const WAIT: Duration = Duration::from_secs(60);
const IDLE: Duration = Duration::from_secs(30);
const SESSIONS: usize = 100;

fn main() {
    let Some(fleet) = Fleet::new() else {
        panic!("the fleet bench needs sshd and ssh: run scripts/setup");
    };
    let repo = Repo::new();
    repo.write("README", "hello\n");
    repo.commit_all("first");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (mut local, mut far) = runtime.block_on(first_tokens(&fleet, repo.path()));

    let (alone, three) = dashboards(&fleet, repo.path());

    println!("| figure | value | baseline |");
    println!("|---|---|---|");
    println!(
        "| prompt to first streamed token (median / max of {RUNS}) | over SSH {} | local daemon {} |",
        spread(&mut far),
        spread(&mut local)
    );
    println!(
        "| dashboard CPU, idle {} s | 3 hosts x {SESSIONS} sessions: {:.3} s | 1 host x {SESSIONS}: {:.3} s |",
        IDLE.as_secs(),
        three.cpu,
        alone.cpu
    );
    println!(
        "| frames drawn while idle, {} s | 3 hosts: {} | 1 host: {} |",
        IDLE.as_secs(),
        three.frames,
        alone.frames
    );
}

async fn first_tokens(fleet: &Fleet, dir: &Path) -> (Vec<Duration>, Vec<Duration>) {
    let paths = Paths::with_home(fleet.local.home.path()).expect("paths");
    // The CLI starts the local daemon: a client here would start this bench instead.
    fleet.local.ok(&["ls"]);
    let local = Client::connect_or_spawn(&paths)
        .await
        .expect("local daemon");
    let host = HostConfig {
        ssh: ALIAS.into(),
        command: format!(
            "env FLOTILLA_HOME={} {}",
            fleet.remote.home.path().display(),
            Flotilla::bin()
        ),
        ssh_args: vec![
            "-F".into(),
            fleet.sshd.client_config().display().to_string(),
        ],
    };
    let far = remote::connect("build", &host).await.expect("over ssh");
    // Turn by turn, alternating, so both see the same machine.
    let mut ends = Vec::new();
    for client in [local, far] {
        ends.push(End::open(client, dir).await);
    }
    let (mut near, mut away) = (Vec::new(), Vec::new());
    for run in 0..RUNS {
        near.push(ends[0].first_token(run).await);
        away.push(ends[1].first_token(run).await);
    }
    (near, away)
}

struct End {
    client: Client,
    events: Events,
    id: SessionId,
}

impl End {
    async fn open(mut client: Client, dir: &Path) -> End {
        let mut events = client.take_events().expect("events");
        client.request(Command::Subscribe).await.expect("subscribe");
        let new = Command::New(NewSession {
            dir: dir.to_path_buf(),
            strategy: Some(Strategy::Existing),
            ..NewSession::default()
        });
        let Ok(Reply::Session { session, .. }) = client.request(new).await else {
            panic!("new session")
        };
        let id = session.id;
        until(&mut events, |e| idle(e, id)).await;
        End { client, events, id }
    }

    async fn first_token(&mut self, run: usize) -> Duration {
        let marker = format!("token-{run}");
        // printf, so that the prompt itself never holds the marker.
        let text = format!("printf 'token-%s\\n' {run}");
        let start = Instant::now();
        let send = Command::Send {
            id: self.id.to_string(),
            text,
        };
        self.client.request(send).await.expect("send");
        let id = self.id;
        until(&mut self.events, |e| {
            matches!(e, Event::PartDelta { session, text, .. } if *session == id && text.contains(&marker))
        })
        .await;
        let took = start.elapsed();
        until(&mut self.events, |e| idle(e, id)).await;
        took
    }
}

fn idle(event: &Event, id: SessionId) -> bool {
    matches!(event, Event::SessionUpdated { session } if session.id == id && session.status == Status::Idle)
}

async fn until(events: &mut Events, done: impl Fn(&Event) -> bool) {
    loop {
        match tokio::time::timeout(WAIT, events.recv()).await {
            Ok(Some(event)) if done(&event) => return,
            Ok(Some(_)) => {}
            other => panic!("waited for an event: {other:?}"),
        }
    }
}

/// When the sessions' ages were set: a session's age label ("now", "1m", "2m") turns a
/// minute after it, and each turn is a frame the dashboard rightly draws. The idle figures
/// are taken where no label turns, as with one host, so both count the same.
struct Ages {
    oldest: chrono::DateTime<chrono::Utc>,
    youngest: chrono::DateTime<chrono::Utc>,
}

impl Ages {
    fn of(homes: &[&Flotilla]) -> Ages {
        let times: Vec<chrono::DateTime<chrono::Utc>> = (homes.iter())
            .flat_map(|f| f.json(&["ls"]).as_array().cloned().unwrap_or_default())
            .filter_map(|s| s["last_activity_at"].as_str()?.parse().ok())
            .collect();
        let ages = Ages {
            oldest: *times.iter().min().expect("sessions"),
            youngest: *times.iter().max().expect("sessions"),
        };
        let span = (ages.youngest - ages.oldest).num_milliseconds();
        eprintln!(
            "fleet bench: {} sessions made within {span} ms",
            times.len()
        );
        ages
    }

    /// Sleeps until `need` from now holds no minute mark of any session's age.
    fn wait_for_calm(&self, need: Duration) {
        let need = chrono::Duration::from_std(need).expect("duration");
        let span = self.youngest - self.oldest + chrono::Duration::seconds(1);
        let minute = chrono::Duration::seconds(60);
        assert!(
            span + need < minute,
            "the sessions' ages are too far apart to measure"
        );
        let turns = |from: chrono::DateTime<chrono::Utc>| {
            let mut mark = self.oldest;
            while mark + span < from {
                mark += minute;
            }
            mark < from + need
        };
        let mut start = chrono::Utc::now();
        while turns(start) {
            start += chrono::Duration::milliseconds(250);
        }
        let wait = (start - chrono::Utc::now()).to_std().unwrap_or_default();
        std::thread::sleep(wait);
    }
}

struct Idle {
    cpu: f64,
    frames: i64,
}

/// The dashboard idle with this machine's sessions alone, then with two more hosts.
fn dashboards(fleet: &Fleet, dir: &Path) -> (Idle, Idle) {
    let other = Flotilla::new();
    fleet.add_host(
        "gpu",
        &format!(
            "env FLOTILLA_HOME={} {}",
            other.home.path().display(),
            Flotilla::bin()
        ),
    );
    // The first session each made is the bench's own: keep the counts at 100. Made side
    // by side, so their ages are close and their labels turn in a short span.
    std::thread::scope(|scope| {
        for (f, have) in [(&fleet.local, 1), (&fleet.remote, 1), (&other, 0)] {
            scope.spawn(move || {
                for i in have..SESSIONS {
                    f.titled_session(dir, &format!("idle {i}"));
                }
            });
        }
    });
    let ages = Ages::of(&[&fleet.local, &fleet.remote, &other]);
    // This machine alone: the same config without the hosts.
    let config = fleet.local.path("config.toml");
    let hosts = std::fs::read_to_string(&config).expect("config");
    std::fs::write(&config, "").expect("config");
    let alone = idle_dashboard(fleet, dir, SESSIONS, &ages);
    std::fs::write(&config, hosts).expect("config");
    let three = idle_dashboard(fleet, dir, 3 * SESSIONS, &ages);
    (alone, three)
}

/// Frames of a start and quit subtracted from those of a start, 30 s idle and quit.
fn idle_dashboard(fleet: &Fleet, dir: &Path, sessions: usize, ages: &Ages) -> Idle {
    ages.wait_for_calm(Duration::from_secs(10));
    let (start_frames, _) = open(fleet, dir, sessions, Duration::ZERO);
    ages.wait_for_calm(IDLE + Duration::from_secs(8));
    let (frames, cpu) = open(fleet, dir, sessions, IDLE);
    Idle {
        cpu,
        frames: frames - start_frames,
    }
}

/// Opens the dashboard, waits until every session is listed and two seconds more, sits
/// for `idle`, and quits: the frames it drew and the CPU seconds of the idle time.
fn open(fleet: &Fleet, dir: &Path, sessions: usize, idle: Duration) -> (i64, f64) {
    let stats = fleet.local.path("stats.json");
    let _ = std::fs::remove_file(&stats);
    let extra = [format!("FLOTILLA_STATS={}", stats.display())];
    let tmux = Tmux::start_with(&fleet.local, dir, 120, 40, &extra);
    let count = format!("sessions {sessions}");
    tmux.wait_until(&count, |s| s.contains(&count) && !s.contains("connecting"));
    std::thread::sleep(Duration::from_secs(2));
    let pid = tmux.pane("#{pane_pid}");
    let c0 = cpu_ticks(&pid);
    std::thread::sleep(idle);
    let c1 = cpu_ticks(&pid);
    tmux.keys(&["q"]);
    tmux.wait_exit();
    let text = std::fs::read_to_string(&stats).expect("the dashboard's figures");
    let figures: serde_json::Value = serde_json::from_str(&text).expect("json");
    let ticks = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<f64>()
                .ok()
        })
        .unwrap_or(100.0);
    (
        figures["frames"].as_i64().expect("frames"),
        (c1 - c0) as f64 / ticks,
    )
}

fn cpu_ticks(pid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let rest = &stat[stat.rfind(')').expect("stat") + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    // utime and stime: fields 14 and 15 of stat, 12 and 13 after the state.
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
}

fn spread(times: &mut [Duration]) -> String {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!(
        "{:.1} ms / {:.1} ms",
        ms(times[times.len() / 2]),
        ms(times[times.len() - 1])
    )
}
