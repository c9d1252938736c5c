//! Another host's daemon over SSH: the system `ssh` runs `COMMAND daemon --stdio` there,
//! and the protocol goes over its stdin and stdout, exactly as over the local socket. The
//! user's `~/.ssh/config`, agent, ProxyJump and known_hosts all apply; nothing listens on
//! a network port and flotilla stores no credential.

use super::client::{CLOSED, Client};
use crate::config::{HostConfig, LOCAL};
use crate::paths::Paths;
use crate::protocol::{PROTOCOL_VERSION, Reply};
use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The longest line of ssh's standard error that is kept; a longer one is dropped.
const STDERR_LINE: usize = 4096;

/// How long the link and the remote daemon's start may take before hello is answered.
const HELLO: Duration = Duration::from_secs(30);

/// Options that suit a link nobody types into: no prompts (there is no terminal to ask
/// on), and a dead link noticed within seconds. Options in `ssh_args` come first, and
/// ssh keeps the first value it is given, so the user's win.
const SSH_OPTIONS: [&str; 8] = [
    "-o",
    "BatchMode=yes",
    "-o",
    "ConnectTimeout=10",
    "-o",
    "ServerAliveInterval=1",
    "-o",
    "ServerAliveCountMax=3",
];

/// The `ssh` command line that reaches `host`'s daemon.
pub fn ssh_command(host: &HostConfig) -> Vec<String> {
    let mut argv = vec!["ssh".to_string()];
    argv.extend(host.ssh_args.iter().cloned());
    argv.extend(SSH_OPTIONS.iter().map(|s| s.to_string()));
    argv.push("-T".into());
    argv.push(host.ssh.clone());
    argv.push(format!("{} daemon --stdio", host.command));
    argv
}

/// `ssh -t` to `host`, ending with the destination: a terminal there, for a command the
/// caller adds.
pub fn terminal_command(host: &HostConfig) -> Vec<String> {
    let mut argv = vec!["ssh".to_string()];
    argv.extend(host.ssh_args.iter().cloned());
    argv.push("-t".into());
    argv.push(host.ssh.clone());
    argv
}

/// Connects to host `name`'s daemon: `local` is this machine's (started if none runs),
/// any other is one of `hosts`.
pub async fn connect_to(
    name: &str,
    hosts: &BTreeMap<String, HostConfig>,
    paths: &Paths,
) -> Result<Client, String> {
    if name == LOCAL {
        return Client::connect_or_spawn(paths).await;
    }
    match hosts.get(name) {
        Some(host) => connect(name, host).await,
        None => Err(unknown(name, hosts)),
    }
}

fn unknown(name: &str, hosts: &BTreeMap<String, HostConfig>) -> String {
    let known: Vec<&str> = std::iter::once(LOCAL)
        .chain(hosts.keys().map(String::as_str))
        .collect();
    format!(
        "no host `{name}` in config.toml: add [hosts.{name}] with ssh = \"user@box\" (hosts: {})",
        known.join(", ")
    )
}

/// Connects to the daemon of host `name`, starting it there if none runs. The error is
/// one line: what ssh said, or which side to upgrade.
pub async fn connect(name: &str, host: &HostConfig) -> Result<Client, String> {
    let argv = ssh_command(host);
    let mut cmd = tokio::process::Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // Its own process group: a Ctrl-C meant for a command is the command's to handle,
    // and the link is ended with it.
    cmd.process_group(0);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run ssh to reach host {name}: {e}"))?;
    let (Some(stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(format!("cannot talk to ssh for host {name}"));
    };
    let said = Arc::new(Mutex::new(None::<String>));
    let heard = tokio::spawn(last_line(stderr, said.clone()));
    let silent = format!(
        "host {name} does not answer in time: the link may be slow or down, or its daemon stuck"
    );
    let client = Client::over_stream(stdout, Box::new(stdin), silent, Some(Box::new(child)));
    match greet(name, client, HELLO).await {
        Ok(client) => Ok(client),
        Err(Some(e)) => Err(e),
        Err(None) => {
            // ssh's last words arrive on its stderr as it exits.
            let _ = tokio::time::timeout(Duration::from_secs(2), heard).await;
            let said = said.lock().map(|s| s.clone()).unwrap_or_default();
            Err(unreachable(name, host, said))
        }
    }
}

/// Says hello to host `name`'s daemon over `client`. The error is one line, or `None`
/// when the stream closed before any answer: the carrier knows why.
pub(super) async fn greet(
    name: &str,
    client: Client,
    patience: Duration,
) -> Result<Client, Option<String>> {
    match client.hello(patience).await {
        Ok(Reply::Hello { protocol, .. }) if protocol == PROTOCOL_VERSION => Ok(client),
        Ok(Reply::Hello {
            protocol, version, ..
        }) => Err(Some(mismatch(name, protocol, Some(&version)))),
        Ok(other) => Err(Some(format!("host {name} answered hello with {other:?}"))),
        Err(e) => match remote_protocol(&e) {
            Some(protocol) => Err(Some(mismatch(name, protocol, None))),
            None if e == CLOSED => Err(None),
            None => Err(Some(format!("host {name}: {e}"))),
        },
    }
}

/// The protocol a daemon said it speaks when it refused this client's hello.
fn remote_protocol(refusal: &str) -> Option<u32> {
    let rest = refusal.split("daemon speaks protocol ").nth(1)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

fn mismatch(name: &str, protocol: u32, version: Option<&str>) -> String {
    let theirs = match version {
        Some(v) => format!("flotilla {v} (protocol {protocol})"),
        None => format!("a flotilla of protocol {protocol}"),
    };
    let ours = format!(
        "flotilla {} (protocol {PROTOCOL_VERSION})",
        env!("CARGO_PKG_VERSION")
    );
    let older = match protocol < PROTOCOL_VERSION {
        true => format!("upgrade flotilla on {name}"),
        false => "upgrade flotilla on this machine".to_string(),
    };
    format!("host {name} runs {theirs} and this is {ours}: {older} so both speak one protocol")
}

fn unreachable(name: &str, host: &HostConfig, said: Option<String>) -> String {
    let Some(said) = said else {
        return format!(
            "cannot reach host {name} ({}): ssh ended without a word",
            host.ssh
        );
    };
    let hint = if said.contains("not found") || said.contains("No such file") {
        format!("; install flotilla on its PATH or set hosts.{name}.command to how it starts there")
    } else {
        String::new()
    };
    format!("cannot reach host {name} ({}): {said}{hint}", host.ssh)
}

/// Keeps the last line ssh (or the remote shell) wrote on stderr, cleaned of escapes.
async fn last_line(stderr: tokio::process::ChildStderr, said: Arc<Mutex<Option<String>>>) {
    use futures::StreamExt;
    // Lines of ssh or of the remote shell, bounded and decoded lossily: a host that
    // writes without end or writes bytes that are not UTF-8 costs nothing and is heard.
    let mut lines = crate::lines::lines(stderr, STDERR_LINE);
    while let Some(Ok(line)) = lines.next().await {
        let crate::lines::Line::Text(line) = line else {
            continue;
        };
        let line = crate::core::sanitize(line.trim());
        if line.is_empty() {
            continue;
        }
        tracing::debug!("ssh: {line}");
        if let Ok(mut said) = said.lock() {
            *said = Some(line.chars().take(300).collect());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_users_ssh_args_come_before_the_defaults_and_the_command_last() {
        let host = HostConfig {
            ssh: "me@box".into(),
            command: "env FLOTILLA_HOME=/srv/fl flotilla".into(),
            ssh_args: vec!["-F".into(), "cfg".into()],
        };
        let argv = ssh_command(&host);
        assert_eq!(argv[..3], ["ssh", "-F", "cfg"]);
        assert_eq!(argv[argv.len() - 2], "me@box");
        assert_eq!(
            argv.last().map(String::as_str),
            Some("env FLOTILLA_HOME=/srv/fl flotilla daemon --stdio")
        );
    }

    #[test]
    fn a_refusal_of_another_protocol_names_both_and_what_to_upgrade() {
        let refusal = "this daemon speaks protocol 3 and the client 6: run `flotilla daemon stop` and try again";
        let protocol = remote_protocol(refusal).expect("parsed");
        assert_eq!(protocol, 3);
        let message = mismatch("build", protocol, None);
        assert!(message.contains("protocol 3"), "{message}");
        assert!(message.contains(&format!("protocol {PROTOCOL_VERSION}")));
        assert!(message.contains("upgrade flotilla on build"), "{message}");
        assert_eq!(remote_protocol("no such session"), None);
    }
}
