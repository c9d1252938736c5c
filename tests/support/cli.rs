//! The real `flotilla` binary with a home of its own: every command the tests run goes
//! through the CLI and the daemon it starts, as a user's would.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

pub use super::poll::wait_until;
use tempfile::TempDir;

pub struct Flotilla {
    pub home: TempDir,
}

impl Flotilla {
    pub fn new() -> Flotilla {
        // A short path: Unix socket paths are limited to about 100 bytes.
        let home = tempfile::Builder::new()
            .prefix("flt")
            .tempdir_in("/tmp")
            .expect("tempdir");
        Flotilla { home }
    }

    pub fn bin() -> &'static str {
        env!("CARGO_BIN_EXE_flotilla")
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(Self::bin());
        cmd.args(args)
            .env("FLOTILLA_HOME", self.home.path())
            .env_remove("FLOTILLA_LOG")
            .stdin(Stdio::null());
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run flotilla")
    }

    /// Runs a command that must succeed; returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "flotilla {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs a command that must fail with one line on stderr; returns that line.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "flotilla {args:?} should have failed"
        );
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr:?}");
        stderr.trim_end().to_string()
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let text = self.ok(&all);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?}: {e}: {text}"))
    }

    pub fn session(&self, id: &str) -> Value {
        let sessions = self.json(&["ls"]);
        sessions
            .as_array()
            .and_then(|all| all.iter().find(|s| s["id"] == id))
            .cloned()
            .unwrap_or_else(|| panic!("session {id} not listed: {sessions}"))
    }

    pub fn status(&self, id: &str) -> String {
        self.session(id)["status"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    /// Waits until the session has `status`, on the daemon's own events: a client of
    /// its socket subscribes, and the session's updates say when. After `limit` the test
    /// fails with the statuses it went through.
    pub fn wait_status(&self, id: &str, status: &str, limit: Duration) {
        let paths = flotilla::paths::Paths::with_home(self.home.path()).expect("paths");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let wanted: flotilla::core::Status =
            serde_json::from_value(status.into()).expect("a status");
        let saw = runtime.block_on(async {
            let mut client = flotilla::daemon::Client::connect(&paths)
                .await
                .expect("connect")
                .expect("a daemon");
            let mut events = client.take_events().expect("events");
            let reply = client.request(flotilla::protocol::Command::Subscribe).await;
            let Ok(flotilla::protocol::Reply::Subscribed { sessions }) = reply else {
                panic!("subscribe: {reply:?}")
            };
            let of = |s: &flotilla::core::Session| s.id.to_string().starts_with(id);
            let mut saw: Vec<String> = sessions
                .iter()
                .filter(|s| of(s))
                .map(|s| s.status.to_string())
                .collect();
            if sessions.iter().any(|s| of(s) && s.status == wanted) {
                return None;
            }
            let deadline = tokio::time::Instant::now() + limit;
            loop {
                let next = tokio::time::timeout_at(deadline, events.recv()).await;
                match next {
                    Ok(Some(flotilla::protocol::Event::SessionUpdated { session }))
                        if of(&session) =>
                    {
                        if session.status == wanted {
                            return None;
                        }
                        saw.push(format!("{} ({:?})", session.status, session.status_reason));
                    }
                    // Missed events may hold the one waited for: ask for the session.
                    Ok(Some(flotilla::protocol::Event::Lagged { .. })) => {
                        let get = flotilla::protocol::Command::Get { id: id.to_string() };
                        if let Ok(flotilla::protocol::Reply::Session { session, .. }) =
                            client.request(get).await
                            && session.status == wanted
                        {
                            return None;
                        }
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => return Some(format!("{saw:?}, then the daemon went away")),
                    Err(_) => return Some(format!("{saw:?}")),
                }
            }
        });
        if let Some(saw) = saw {
            panic!("session {id} never became {status} in {limit:?}: it was {saw}");
        }
    }

    pub fn daemon_pid(&self) -> i32 {
        self.json(&["daemon", "status"])["pid"]
            .as_i64()
            .expect("pid") as i32
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.home.path().join(name)
    }

    /// A session in `dir` as it is (`existing`), of `agent` or the default one; its id.
    pub fn existing_session(&self, dir: &Path, agent: Option<&str>) -> String {
        let dir = dir.to_string_lossy();
        let mut args = vec!["new", "--dir", &dir, "--strategy", "existing"];
        args.extend(agent.iter().flat_map(|a| ["--agent", a]));
        let s = self.json(&args);
        s["id"].as_str().expect("id").to_string()
    }

    /// A session of the default agent in `dir` as it is, titled `title`; its id.
    pub fn titled_session(&self, dir: &Path, title: &str) -> String {
        let s = self.json(&new_existing(&dir.to_string_lossy(), title));
        s["id"].as_str().expect("id").to_string()
    }

    /// Configures the `claude` agent as a shell script with `body`: a stand-in that fails
    /// or stays silent as a test needs.
    pub fn fake_claude(&self, body: &str) {
        let script = self.path("fake-claude");
        std::fs::write(&script, format!("#!/bin/sh\n{body}\n")).expect("script");
        super::make_executable(&script);
        let config = format!(
            "[agents.claude]\nkind = \"claude\"\ncommand = [\"{}\"]\n",
            script.display()
        );
        std::fs::write(self.path("config.toml"), config).expect("config");
    }
}

impl Drop for Flotilla {
    fn drop(&mut self) {
        let _ = self.command(&["daemon", "stop"]).output();
    }
}

/// The arguments of `new` for a session in `dir` as it is, titled `title`.
pub fn new_existing<'a>(dir: &'a str, title: &'a str) -> [&'a str; 7] {
    [
        "new",
        "--dir",
        dir,
        "--strategy",
        "existing",
        "--title",
        title,
    ]
}

pub fn process_alive(pid: i32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| !s.contains(") Z "))
            .unwrap_or(false)
}

/// `kill -9` of `pid`, then waits for it to be gone.
pub fn kill9(pid: i32) {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill -9");
    wait_until(Duration::from_secs(5), "the process to die", || {
        !process_alive(pid)
    });
}

/// A session of the default (shell) agent in `dir` that ran `prompt`, with its checkpoint
/// taken. The prompt may still be on its way when the session is first idle: its turn has
/// ended once its checkpoint is kept, and the session is idle after that.
pub fn worked(f: &Flotilla, dir: &Path, strategy: &str, title: &str, prompt: &str) -> String {
    let dir = dir.to_string_lossy().into_owned();
    let args = [
        "new",
        "--dir",
        &dir,
        "--strategy",
        strategy,
        "--title",
        title,
    ];
    let s = f.json(&[&args[..], &["--prompt", prompt]].concat());
    let id = s["id"].as_str().expect("id").to_string();
    let limit = Duration::from_secs(30);
    wait_until(limit, "the first checkpoint", || {
        f.json(&["checkpoints", &id]).as_array().map(Vec::len) == Some(1)
    });
    f.json(&["wait", &id, "--for", "idle", "--timeout", "30s"]);
    id
}
