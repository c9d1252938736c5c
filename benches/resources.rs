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

fn run() -> Result<(), String> {
    let mb: u64 = std::env::var("BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
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
    let s = fl.json(&[
        "new",
        "--dir",
        &repo.to_string_lossy(),
        "--strategy",
        "existing",
    ])?;
    let id = s["id"].as_str().unwrap_or("").to_string();
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
    let big = format!("head -c {}000000 /dev/zero | tr '\\0' x | fold -w 99", mb);
    let (peak, lats, secs) = turn(&fl, &id, &big, pid)?;
    let rss_during = rss_mib(pid);
    drop(sub);
    std::thread::sleep(Duration::from_secs(2));
    let rss_after = rss_mib(pid);
    let db = fl.home.join("flotilla.db");
    let db_mib = file_mib(&[
        db.clone(),
        db.with_extension("db-wal"),
        db.with_extension("db-shm"),
    ]);
    let output_mib = (mb * 1_000_000) as f64 / (1024.0 * 1024.0);

    let log_start = Instant::now();
    let log = fl
        .cmd(&["log", &id])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output();
    let log_secs = log_start.elapsed().as_secs_f64();
    let log_said = match &log {
        Ok(out) if out.status.success() => format!("completes in {log_secs:.1} s"),
        Ok(out) => format!("fails: {}", String::from_utf8_lossy(&out.stderr).trim()),
        Err(e) => format!("fails: {e}"),
    };
    let _ = fl.ok(&["daemon", "stop"]);

    println!("resources with a {mb} MB turn ({secs:.1} s), shell agent, release build");
    println!("| figure | baseline | measured | target |");
    println!("|---|---|---|---|");
    println!(
        "| daemon RSS, a subscriber that never reads | {rss_idle:.1} MiB idle | peak {peak:.1} MiB, {rss_during:.1} MiB at the end, {rss_after:.1} MiB after it left | < 200 MiB, back within 20 MiB |"
    );
    println!(
        "| database size / output | {output_mib:.0} MiB output | {db_mib:.0} MiB: {:.2}x | <= 1.5x |",
        db_mib / output_mib
    );
    println!(
        "| `ls` latency (CLI process, median / max) | {ls_idle:.1} ms idle | {:.1} / {:.1} ms during the turn | < 50 ms |",
        median(lats.clone()),
        lats.iter().copied().fold(0.0, f64::max)
    );
    println!("| `log` of the whole transcript | - | {log_said} | completes |");
    Ok(())
}
