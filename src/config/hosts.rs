//! `[hosts.NAME]`: other machines whose daemons the dashboard and the CLI reach over SSH.

use serde::Deserialize;
use std::collections::BTreeMap;

/// The name of this machine's own daemon among the hosts.
pub const LOCAL: &str = "local";

/// How to reach one host's daemon: `ssh [ssh_args] DEST -- COMMAND daemon --stdio`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostConfig {
    /// The destination as `ssh` takes it: `user@box`, or an alias from `~/.ssh/config`.
    pub ssh: String,
    /// How the remote shell starts flotilla, e.g. `env FLOTILLA_HOME=/srv/fl flotilla`.
    #[serde(default = "default_command")]
    pub command: String,
    /// Extra arguments for `ssh`, before the destination, e.g. `["-p", "2222"]`.
    #[serde(default)]
    pub ssh_args: Vec<String>,
}

fn default_command() -> String {
    "flotilla".into()
}

/// What serde cannot say about the hosts: their names and destinations.
pub(super) fn check(hosts: &BTreeMap<String, HostConfig>) -> Result<(), String> {
    for (name, host) in hosts {
        if name == LOCAL {
            return Err(format!(
                "hosts.{LOCAL}: `{LOCAL}` is this machine's own daemon: give the host another name"
            ));
        }
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(format!(
                "hosts.{name}: a host's name takes letters, digits, '-', '_' and '.'"
            ));
        }
        if host.ssh.trim().is_empty() || host.ssh.starts_with('-') {
            return Err(format!(
                "hosts.{name}: ssh must name the destination, such as `user@box` or an ssh alias"
            ));
        }
        if host.command.trim().is_empty() {
            return Err(format!(
                "hosts.{name}: command is empty: leave it out to run `flotilla`"
            ));
        }
    }
    Ok(())
}
