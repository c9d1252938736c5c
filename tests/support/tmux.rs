//! A real terminal for the dashboard tests: the real `flotilla` binary runs full-screen
//! in a detached tmux server of its own, keys are sent to it and the screen is read back,
//! as a user would type and look. The daemon it spawns lives under the test's
//! FLOTILLA_HOME.

use super::Repo;
use super::cli::Flotilla;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long any one thing may take to show on screen.
pub const WAIT: Duration = Duration::from_secs(30);
/// How often the screen is read while waiting.
pub const POLL: Duration = Duration::from_millis(50);
pub const SESSION: &str = "flt";

/// A tmux server on a socket of its own, killed (with whatever runs in it) on drop.
pub struct Tmux {
    pub socket: PathBuf,
    /// The window keys go to and the screen is read from.
    pub window: String,
}

impl Tmux {
    /// Starts a server with one `width` x `height` window that runs the dashboard in `dir`.
    pub fn start(f: &Flotilla, dir: &Path, width: u16, height: u16) -> Tmux {
        Tmux::start_with(f, dir, width, height, &[])
    }

    /// [`Tmux::start`] with more `NAME=value` settings in the dashboard's environment.
    pub fn start_with(f: &Flotilla, dir: &Path, width: u16, height: u16, env: &[String]) -> Tmux {
        let config = f.path("tmux.conf");
        // A dead pane stays, so what the dashboard left behind can be read; no status bar,
        // so the dashboard gets every row; Escape goes through at once.
        std::fs::write(
            &config,
            "set -g remain-on-exit on\nset -g status off\nset -g escape-time 0\n",
        )
        .expect("write the tmux config");
        let tmux = Tmux {
            socket: f.path("tmux.sock"),
            window: format!("{SESSION}:first"),
        };
        let (width, height) = (width.to_string(), height.to_string());
        let mut args = vec![
            "-f",
            config.to_str().expect("utf-8 path"),
            "new-session",
            "-d",
            "-s",
            SESSION,
            "-n",
            "first",
            "-x",
            &width,
            "-y",
            &height,
        ];
        let mut dashboard = pane_command(f, dir);
        let at = dashboard.len() - 1;
        dashboard.splice(at..at, env.iter().cloned());
        args.extend(dashboard.iter().map(String::as_str));
        tmux.run(&args);
        tmux
    }

    /// Opens another window running the dashboard; keys and reads go to it from now on.
    pub fn new_window(&mut self, f: &Flotilla, dir: &Path, name: &str) {
        let target = format!("{SESSION}:");
        let mut args = vec!["new-window", "-t", &target, "-n", name];
        let dashboard = pane_command(f, dir);
        args.extend(dashboard.iter().map(String::as_str));
        self.run(&args);
        self.window = format!("{SESSION}:{name}");
    }

    pub fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .env_remove("TMUX")
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run tmux ({e}): run scripts/setup to install it"));
        assert!(
            out.status.success(),
            "tmux {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Sends named keys: "n", "Down", "Enter", "Escape".
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", &self.window];
        args.extend(keys);
        self.run(&args);
    }

    /// Types `text` as it is, character by character.
    pub fn type_text(&self, text: &str) {
        self.run(&["send-keys", "-t", &self.window, "-l", text]);
    }

    pub fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", &self.window])
    }

    /// A format of the window's pane, e.g. `#{pane_dead}`.
    pub fn pane(&self, format: &str) -> String {
        self.run(&["list-panes", "-t", &self.window, "-F", format])
            .trim()
            .to_string()
    }

    /// Polls the screen until `done` holds; panics with the last screen after `WAIT`.
    pub fn wait_until(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if done(&screen) {
                return screen;
            }
            if start.elapsed() > WAIT {
                panic!(
                    "timed out after {:?} waiting for {what}; the screen:\n{screen}",
                    WAIT
                );
            }
            std::thread::sleep(POLL);
        }
    }

    pub fn wait_for(&self, text: &str) -> String {
        self.wait_until(&format!("{text:?}"), |s| s.contains(text))
    }

    /// Waits for `text` in the top line: the tabs, the selected session's status and title.
    pub fn wait_header(&self, text: &str) -> String {
        self.wait_until(&format!("{text:?} in the header"), |s| {
            s.lines().next().is_some_and(|l| l.contains(text))
        })
    }

    /// Waits for `text` in the bottom line: the keys that apply, or the last flash.
    pub fn wait_status_line(&self, text: &str) -> String {
        self.wait_until(&format!("{text:?} in the status line"), |s| {
            status_line(s).contains(text)
        })
    }

    /// Waits until the dashboard has exited, and returns its exit status.
    pub fn wait_exit(&self) -> String {
        let start = Instant::now();
        let pid = self.pane("#{pane_pid}");
        let mut nudged = false;
        loop {
            let dead = self.pane("#{pane_dead} #{pane_dead_status}");
            if let Some(status) = dead.strip_prefix("1 ") {
                return status.to_string();
            }
            // tmux can miss the SIGCHLD of a pane's process: where it records panes in utmp,
            // it runs a helper with SIGCHLD at its default for a moment, and a child that
            // exits then stays a zombie, its pane alive, until the next SIGCHLD comes.
            if !nudged
                && process_state(&pid) == Some('Z')
                && start.elapsed() > Duration::from_millis(500)
            {
                self.nudge();
                nudged = true;
            }
            if start.elapsed() > WAIT {
                panic!(
                    "the dashboard did not exit within {WAIT:?} (process {pid} state {:?}); \
                     the screen:\n{}",
                    process_state(&pid),
                    self.screen()
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// Sends the server the SIGCHLD it may have missed, so it reaps its exited children.
    pub fn nudge(&self) {
        let server = self.run(&["display-message", "-p", "#{pid}"]);
        if let Ok(server) = server.trim().parse() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(server),
                nix::sys::signal::Signal::SIGCHLD,
            );
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Where a pane starts and what it runs: `env` execs the dashboard, so the pane's process
/// is the dashboard itself, with this test's home and a common terminal type.
pub fn pane_command(f: &Flotilla, dir: &Path) -> Vec<String> {
    vec![
        "-c".into(),
        dir.to_string_lossy().into_owned(),
        "env".into(),
        "-u".into(),
        "FLOTILLA_LOG".into(),
        "-u".into(),
        "NO_COLOR".into(),
        format!("FLOTILLA_HOME={}", f.home.path().display()),
        "TERM=xterm-256color".into(),
        Flotilla::bin().into(),
    ]
}

/// A process's state letter from /proc (`Z` for a zombie); `None` once it is gone.
pub fn process_state(pid: &str) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit(") ").next()?.chars().next()
}

pub fn status_line(screen: &str) -> &str {
    screen.lines().last().unwrap_or("")
}

/// Whether some box on screen holds a line that is exactly `text` (not merely a line that
/// contains it, such as the prompt that printed it).
pub fn has_cell(screen: &str, text: &str) -> bool {
    screen
        .lines()
        .any(|line| line.split('│').any(|cell| cell.trim() == text))
}

pub fn git_repo() -> Repo {
    let repo = Repo::new();
    repo.write("README", "hello\n");
    repo.commit_all("first");
    repo
}

/// From the prompt box: sends a turn that would run for ten minutes, leaves the box, and
/// aborts it with `a`.
pub fn abort_a_long_turn(tmux: &Tmux) {
    tmux.type_text("sleep 600");
    tmux.wait_for("sleep 600");
    tmux.keys(&["Enter"]);
    tmux.wait_header("● active");
    tmux.keys(&["Escape"]);
    tmux.wait_status_line("a abort");
    tmux.keys(&["a"]);
    tmux.wait_header("○ idle");
}

/// Opens the new-session dialog, fills in the title and the first prompt, creates it and
/// waits for it in the sidebar.
pub fn create_session(tmux: &Tmux, title: &str, prompt: &str, sessions_after: usize) {
    tmux.keys(&["n"]);
    tmux.wait_for("›Directory");
    tmux.keys(&["Down", "Down", "Down", "Down"]);
    tmux.wait_for("›Title");
    tmux.type_text(title);
    tmux.wait_for(title);
    tmux.keys(&["Down", "Down"]);
    tmux.wait_for("›First prompt");
    tmux.type_text(prompt);
    tmux.wait_for(prompt);
    tmux.keys(&["Enter"]);
    let count = format!("sessions {sessions_after}");
    tmux.wait_until(&format!("{title:?} in the sidebar"), |s| {
        s.contains(&count)
            && s.lines()
                .any(|l| l.starts_with('│') && l.contains(title) && !l.contains('›'))
            && !s.contains("›First prompt")
    });
}
