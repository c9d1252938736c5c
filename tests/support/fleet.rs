//! Two flotillas on one machine, one reached from the other over a real SSH link: the
//! `remote` one has its own home and daemon, and the `local` one's config names it as
//! host `build`, reached with the system `ssh` through the test's own sshd.

use super::cli::Flotilla;
use super::sshd::{ALIAS, Sshd};
use std::io::BufReader;
use std::path::Path;
use std::process::{Child, ChildStdout, Stdio};

pub const HOST: &str = "build";

pub struct Fleet {
    pub local: Flotilla,
    pub remote: Flotilla,
    pub sshd: Sshd,
}

impl Fleet {
    /// `None` where sshd is missing outside CI.
    pub fn new() -> Option<Fleet> {
        Some(Fleet::over(Sshd::start()?))
    }

    /// The same over a server in a second network namespace.
    pub fn in_netns() -> Option<Fleet> {
        Some(Fleet::over(Sshd::in_netns()?))
    }

    fn over(sshd: Sshd) -> Fleet {
        let fleet = Fleet {
            local: Flotilla::new(),
            remote: Flotilla::new(),
            sshd,
        };
        let command = format!(
            "env FLOTILLA_HOME={} {}",
            fleet.remote.home.path().display(),
            Flotilla::bin()
        );
        fleet.add_host(HOST, &command);
        fleet
    }

    /// Adds `[hosts.NAME]` to the local config, reached through the test's sshd and
    /// started there with `command`.
    pub fn add_host(&self, name: &str, command: &str) {
        let config = self.local.path("config.toml");
        let mut text = std::fs::read_to_string(&config).unwrap_or_default();
        text.push_str(&format!(
            "\n[hosts.{name}]\nssh = \"{ALIAS}\"\ncommand = \"{command}\"\nssh_args = [\"-F\", \"{}\"]\n",
            self.sshd.client_config().display()
        ));
        std::fs::write(config, text).expect("config");
    }

    /// `args` on host `build`, through the local CLI.
    pub fn on(args: &[&str]) -> Vec<String> {
        ["--host", HOST]
            .iter()
            .chain(args)
            .map(|s| s.to_string())
            .collect()
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let all = Fleet::on(args);
        self.local
            .ok(&all.iter().map(String::as_str).collect::<Vec<_>>())
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let all = Fleet::on(args);
        self.local
            .json(&all.iter().map(String::as_str).collect::<Vec<_>>())
    }

    pub fn fails(&self, args: &[&str]) -> String {
        let all = Fleet::on(args);
        self.local
            .fails(&all.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// A session of the shell agent in `dir` on host `build`; its id.
    pub fn remote_session(&self, dir: &Path, title: &str) -> String {
        let s = self.json(&super::cli::new_existing(&dir.to_string_lossy(), title));
        s["id"].as_str().expect("id").to_string()
    }

    /// `log ID --follow` on host `build`, running: the process and its output.
    pub fn follow(&self, id: &str) -> (Child, BufReader<ChildStdout>) {
        let args = Fleet::on(&["log", id, "--follow"]);
        let mut follower = (self.local)
            .command(&args.iter().map(String::as_str).collect::<Vec<_>>())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("follow");
        let out = BufReader::new(follower.stdout.take().expect("stdout"));
        (follower, out)
    }

    /// Whether a daemon was ever started under the local home: its lock, socket or
    /// database.
    pub fn local_daemon_started(&self) -> bool {
        ["flotilla.lock", "flotilla.sock", "flotilla.db"]
            .iter()
            .any(|f| self.local.path(f).exists())
    }
}
