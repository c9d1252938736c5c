//! What huge turns and slow clients cost the daemon, each figure beside its baseline from
//! the same run: daemon memory with a subscriber that never reads, the database's size
//! against the output it holds, `ls` latency while a huge turn ends, and `log` of the
//! whole transcript. Drives the release binary through its CLI with the `shell` agent.
//!
//! `BENCH_MB` sets the size of the big turn (default 200).

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn main() {
    if let Err(e) = run() {
        eprintln!("resources bench: {e}");
        std::process::exit(1);
    }
}

struct Fl {
    bin: PathBuf,
    home: PathBuf,
}

impl Fl {
    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.args(args)
            .env("FLOTILLA_HOME", &self.home)
            .stdin(Stdio::null());
        cmd
    }

    fn ok(&self, args: &[&str]) -> Result<String, String> {
        let out = self
            .cmd(args)
            .output()
            .map_err(|e| format!("flotilla {args:?}: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "flotilla {args:?}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn json(&self, args: &[&str]) -> Result<serde_json::Value, String> {
        let mut all = args.to_vec();
        all.push("--json");
        serde_json::from_str(&self.ok(&all)?).map_err(|e| e.to_string())
    }

    fn status(&self, id: &str) -> Result<String, String> {
        let all = self.json(&["ls"])?;
        let found = all
            .as_array()
            .and_then(|a| a.iter().find(|s| s["id"] == id));
        Ok(found
            .and_then(|s| s["status"].as_str())
            .unwrap_or("")
            .to_string())
    }
}

fn binary() -> Result<PathBuf, String> {
    if let Some(bin) = std::env::var_os("FLOTILLA_BIN").filter(|b| !b.is_empty()) {
        return Ok(PathBuf::from(bin));
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let bin = target.join("release").join("flotilla");
    bin.is_file()
        .then_some(bin)
        .ok_or_else(|| "no release binary: run `cargo build --release`".into())
}

fn rss_mib(pid: i64) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

fn file_mib(paths: &[PathBuf]) -> f64 {
    let bytes: u64 = paths
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    bytes as f64 / (1024.0 * 1024.0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn ls_ms(fl: &Fl) -> f64 {
    let start = Instant::now();
    let _ = fl.cmd(&["ls"]).stdout(Stdio::null()).status();
    start.elapsed().as_secs_f64() * 1000.0
}

/// Sends a prompt and waits, sampling daemon memory and `ls` latency, until idle.
fn turn(fl: &Fl, id: &str, prompt: &str, pid: i64) -> Result<(f64, Vec<f64>, f64), String> {
    fl.ok(&["send", id, prompt])?;
    let (mut peak, mut lats) = (0.0f64, Vec::new());
    let start = Instant::now();
    loop {
        peak = peak.max(rss_mib(pid));
        lats.push(ls_ms(fl));
        if fl.status(id)? == "idle" {
            return Ok((peak, lats, start.elapsed().as_secs_f64()));
        }
        if start.elapsed() > Duration::from_secs(900) {
            return Err("the turn did not end within 15 minutes".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs `flotilla log` to its end; returns whether it succeeded, how long it took, how
/// many bytes it printed, and its peak resident size in MiB (its high-water mark, read
/// between reads of its output).
fn log_measured(fl: &Fl, id: &str) -> (bool, f64, u64, f64) {
    use std::io::Read;
    let start = Instant::now();
    let Ok(mut child) = fl.cmd(&["log", id]).stdout(Stdio::piped()).spawn() else {
        return (false, 0.0, 0, 0.0);
    };
    let status_file = format!("/proc/{}/status", child.id());
    let mut stdout = child.stdout.take().expect("piped");
    let (mut buf, mut bytes, mut peak) = (vec![0u8; 1 << 16], 0u64, 0.0f64);
    loop {
        let n = stdout.read(&mut buf).unwrap_or(0);
        let hwm = std::fs::read_to_string(&status_file).unwrap_or_default();
        if let Some(kb) = hwm
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        {
            peak = peak.max(kb / 1024.0);
        }
        if n == 0 {
            break;
        }
        bytes += n as u64;
    }
    let ok = child.wait().is_ok_and(|s| s.success());
    (ok, start.elapsed().as_secs_f64(), bytes, peak)
}

/// The dashboard opening on the session, and jumping to its top: milliseconds until each
/// screen is drawn, pages fetched from the daemon as the dashboard fetches them.
fn dashboard_ms(fl: &Fl, id: &str) -> Result<(f64, f64, bool), String> {
    use flotilla::tui::update::{Effect, Msg, Tag, update};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let paths = flotilla::paths::Paths::with_home(&fl.home).map_err(|e| e.to_string())?;
        let client = flotilla::daemon::Client::connect(&paths)
            .await?
            .ok_or("no daemon")?;
        let mut state = flotilla::tui::state::State::new(
            flotilla::tui::keymap::Keymap::defaults(),
            flotilla::tui::theme::Theme { color: true },
            flotilla::tui::state::Notify::default(),
            chrono::Utc::now(),
        );
        update(
            &mut state,
            Msg::Resize {
                width: 120,
                height: 40,
            },
        );
        let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 40))
            .map_err(|e| e.to_string())?;
        // Carries out the dashboard's requests, then draws.
        async fn settle(
            state: &mut flotilla::tui::state::State,
            client: &flotilla::daemon::Client,
            mut effects: Vec<Effect>,
        ) {
            while let Some(effect) = effects.pop() {
                if let Effect::Request(command, tag) = effect {
                    let result = client.request(command).await;
                    effects.extend(update(state, Msg::Reply { tag, result }).effects);
                }
            }
        }
        let sessions = match client.request(flotilla::protocol::Command::List).await? {
            flotilla::protocol::Reply::Sessions { sessions } => sessions,
            _ => return Err("no sessions".to_string()),
        };
        let sessions: Vec<_> = sessions
            .into_iter()
            .filter(|s| s.id.to_string() == id)
            .collect();
        let start = Instant::now();
        let effects = update(
            &mut state,
            Msg::Reply {
                tag: Tag::Sessions,
                result: Ok(flotilla::protocol::Reply::Sessions { sessions }),
            },
        )
        .effects;
        settle(&mut state, &client, effects).await;
        terminal
            .draw(|f| flotilla::tui::view::render(&state, f))
            .map_err(|e| e.to_string())?;
        let first = start.elapsed().as_secs_f64() * 1000.0;
        let start = Instant::now();
        let home = crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::Home,
            crossterm::event::KeyModifiers::NONE,
        );
        let effects = update(&mut state, Msg::Key(home)).effects;
        settle(&mut state, &client, effects).await;
        terminal
            .draw(|f| flotilla::tui::view::render(&state, f))
            .map_err(|e| e.to_string())?;
        let top = start.elapsed().as_secs_f64() * 1000.0;
        let at_top = state.transcript().is_some_and(|t| t.at_start);
        Ok((first, top, at_top))
    })
}

fn run() -> Result<(), String> {
    let mb: u64 = std::env::var("BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let more_mb: u64 = std::env::var("BENCH_MORE_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let tmp = tempfile::Builder::new()
        .prefix("flb")
        .tempdir_in("/tmp")
        .map_err(|e| e.to_string())?;
    let fl = Fl {
        bin: binary()?,
        home: tmp.path().join("home"),
    };
    let repo = tmp.path().join("repo");
    std::fs::create_dir_all(&repo).map_err(|e| e.to_string())?;
    for args in [
        &["init", "-q"][..],
        &[
            "-c",
            "user.name=b",
            "-c",
            "user.email=b@b",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "x",
        ][..],
    ] {
        Command::new("git")
            .args(args)
            .current_dir(&repo)
            .status()
            .map_err(|e| e.to_string())?;
    }
    fl.ok(&["ls"])?;
    let pid = fl.json(&["daemon", "status"])?["pid"].as_i64().unwrap_or(0);
    let new_session = || -> Result<String, String> {
        let s = fl.json(&[
            "new",
            "--dir",
            &repo.to_string_lossy(),
            "--strategy",
            "existing",
        ])?;
        Ok(s["id"].as_str().unwrap_or("").to_string())
    };
    let id = new_session()?;
    // A small session beside it, the baseline for the dashboard and `log`.
    let small = new_session()?;
    fl.ok(&["send", &small, "seq 1 100"])?;
    std::thread::sleep(Duration::from_millis(500));
    let rss_idle = rss_mib(pid);
    let ls_idle = median((0..9).map(|_| ls_ms(&fl)).collect());

    // A subscriber that never reads a byte.
    let mut sub = UnixStream::connect(fl.home.join("flotilla.sock")).map_err(|e| e.to_string())?;
    let hello = format!(
        "{{\"seq\":1,\"cmd\":\"hello\",\"protocol\":{}}}\n{{\"seq\":2,\"cmd\":\"subscribe\"}}\n",
        flotilla::protocol::PROTOCOL_VERSION
    );
    sub.write_all(hello.as_bytes()).map_err(|e| e.to_string())?;
    let big = |mb: u64| format!("head -c {mb}000000 /dev/zero | tr '\\0' x | fold -w 99");
    let (peak, _, secs) = turn(&fl, &id, &big(mb), pid)?;
    let rss_during = rss_mib(pid);
    drop(sub);
    std::thread::sleep(Duration::from_secs(2));
    let rss_after = rss_mib(pid);
    let db = fl.home.join("flotilla.db");
    let db_files = [
        db.clone(),
        db.with_extension("db-wal"),
        db.with_extension("db-shm"),
    ];
    let db_mib = file_mib(&db_files);
    let output_mib = (mb * 1_000_000) as f64 / (1024.0 * 1024.0);

    // A second huge turn, with `ls` asked all along and at its end.
    let (_, lats, more_secs) = turn(&fl, &id, &big(more_mb), pid)?;
    let total_mb = mb + more_mb;

    let (small_ok, small_secs, _, small_peak) = log_measured(&fl, &small);
    let (log_ok, log_secs, log_bytes, log_peak) = log_measured(&fl, &id);
    let (dash_small, _, _) = dashboard_ms(&fl, &small)?;
    let (dash_first, dash_top, at_top) = dashboard_ms(&fl, &id)?;
    let _ = fl.ok(&["daemon", "stop"]);

    println!(
        "resources: turns of {mb} MB ({secs:.1} s) and {more_mb} MB ({more_secs:.1} s), shell agent, release build"
    );
    println!("| figure | baseline | measured | target |");
    println!("|---|---|---|---|");
    println!(
        "| daemon RSS, a subscriber that never reads, {mb} MB turn | {rss_idle:.1} MiB idle | peak {peak:.1} MiB, {rss_during:.1} MiB at the end, {rss_after:.1} MiB 2 s after it left | < 200 MiB, back within 20 MiB |"
    );
    println!(
        "| database size / output, {mb} MB turn | {output_mib:.0} MiB output | {db_mib:.0} MiB: {:.2}x | <= 1.5x |",
        db_mib / output_mib
    );
    println!(
        "| `ls` latency (whole CLI process, median / max), {more_mb} MB turn to its end | {ls_idle:.1} ms idle | {:.1} / {:.1} ms | < 50 ms |",
        median(lats.clone()),
        lats.iter().copied().fold(0.0, f64::max)
    );
    println!(
        "| `log` of the {total_mb} MB transcript | a 100-line transcript: {}, {small_secs:.2} s, peak {small_peak:.1} MiB | {}: {:.0} MiB in {log_secs:.1} s, client peak {log_peak:.1} MiB | completes, bounded client memory |",
        if small_ok { "completes" } else { "fails" },
        if log_ok { "completes" } else { "FAILS" },
        log_bytes as f64 / (1024.0 * 1024.0)
    );
    println!(
        "| dashboard: first screen of the {total_mb} MB transcript (120x40) | a 100-line transcript: {dash_small:.1} ms | {dash_first:.1} ms; to its top {dash_top:.1} ms{} | < 200 ms, reaches the top |",
        if at_top { "" } else { " (NOT at the top)" }
    );
    Ok(())
}
