//! A real OpenSSH server of the test's own: a temporary host key, a temporary client key
//! in `authorized_keys`, a config that allows nothing but that key, on a free port. The
//! client side is an `ssh_config` with one alias, `remote`, pinned to that host key, so
//! the system `ssh` reaches it exactly as it would a user's box. [`Sshd::in_netns`]
//! puts the server in a network namespace of its own joined to the test's by a veth
//! pair, so the "remote" really is another network host.

use super::poll::wait_until;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use tempfile::TempDir;

pub const SSHD: &str = "/usr/sbin/sshd";

/// The alias the client's `ssh_config` gives the server.
pub const ALIAS: &str = "remote";

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false")
}

/// Whether sshd and ssh are here; under CI their absence fails the test.
pub fn available() -> bool {
    let here = Path::new(SSHD).exists() && which("ssh") && which("ssh-keygen");
    if !here {
        assert!(
            !in_ci(),
            "openssh-server and openssh-client are missing: scripts/setup installs them"
        );
        eprintln!("skipped: sshd or ssh is missing: run scripts/setup");
    }
    here
}

fn which(name: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(name).exists()))
}

fn is_root() -> bool {
    nix::unistd::Uid::effective().is_root()
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A second network namespace, held open by a sleeping process, and the veth pair that
/// joins it to the test's.
struct Netns {
    holder: Child,
    ours: String,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

impl Netns {
    /// The namespace and the server's address in it.
    fn new() -> (Netns, String) {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let tag = std::process::id() % 100_000;
        let holder = Command::new("unshare")
            .args(["--net", "sleep", "infinity"])
            .stdin(Stdio::null())
            .spawn()
            .expect("unshare --net");
        let pid = holder.id().to_string();
        // unshare makes the namespace before it runs sleep: wait until it differs.
        let ns = |p: &str| std::fs::read_link(format!("/proc/{p}/ns/net")).ok();
        wait_until(Duration::from_secs(5), "the second namespace", || {
            ns(&pid).is_some() && ns(&pid) != ns("self")
        });
        let ours = format!("fa{tag}x{n}");
        let theirs = format!("fb{tag}x{n}");
        let subnet = 1 + (tag * 7 + n) % 250;
        run(Command::new("ip")
            .args(["link", "add", &ours, "type", "veth", "peer", "name"])
            .args([&theirs, "netns", &pid]));
        run(Command::new("ip").args([
            "addr",
            "add",
            &format!("10.203.{subnet}.1/24"),
            "dev",
            &ours,
        ]));
        run(Command::new("ip").args(["link", "set", &ours, "up"]));
        let inside = |args: &[&str]| {
            run(Command::new("nsenter")
                .args(["-t", &pid, "-n", "ip"])
                .args(args));
        };
        inside(&[
            "addr",
            "add",
            &format!("10.203.{subnet}.2/24"),
            "dev",
            &theirs,
        ]);
        inside(&["link", "set", &theirs, "up"]);
        inside(&["link", "set", "lo", "up"]);
        (Netns { holder, ours }, format!("10.203.{subnet}.2"))
    }

    fn link(&self, up: bool) {
        let state = if up { "up" } else { "down" };
        run(Command::new("ip").args(["link", "set", &self.ours, state]));
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.ours])
            .output();
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}

pub struct Sshd {
    dir: TempDir,
    addr: String,
    port: u16,
    server: Option<Child>,
    netns: Option<Netns>,
}

impl Sshd {
    /// A server on a free loopback port; `None` where sshd is missing outside CI.
    pub fn start() -> Option<Sshd> {
        if !available() {
            return None;
        }
        Some(Sshd::make("127.0.0.1".into(), None))
    }

    /// A server in a network namespace of its own; `None` where that cannot be made
    /// outside CI (it needs root).
    pub fn in_netns() -> Option<Sshd> {
        if !available() {
            return None;
        }
        if !is_root() {
            assert!(!in_ci(), "the second network namespace needs root");
            eprintln!("skipped: a second network namespace needs root");
            return None;
        }
        let (netns, addr) = Netns::new();
        Some(Sshd::make(addr, Some(netns)))
    }

    fn make(addr: String, netns: Option<Netns>) -> Sshd {
        let dir = tempfile::Builder::new()
            .prefix("sshd")
            .tempdir()
            .expect("tempdir");
        let d = dir.path();
        for key in ["host_key", "client_key"] {
            run(Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-C", key, "-f"])
                .arg(d.join(key)));
        }
        std::fs::copy(d.join("client_key.pub"), d.join("authorized_keys")).expect("keys");
        let host_key = std::fs::read_to_string(d.join("host_key.pub")).expect("host key");
        std::fs::write(d.join("known_hosts"), format!("{ALIAS} {host_key}")).expect("known");
        let port = free_port();
        let user = nix::unistd::User::from_uid(nix::unistd::Uid::effective())
            .ok()
            .flatten()
            .map(|u| u.name)
            .expect("this user's name");
        let d_ = d.display();
        let server = format!(
            "Port {port}\nListenAddress {addr}\nHostKey {d_}/host_key\nPidFile {d_}/sshd.pid\n\
             AuthorizedKeysFile {d_}/authorized_keys\nUsePAM no\nStrictModes no\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             PubkeyAuthentication yes\nPermitRootLogin prohibit-password\n\
             AllowTcpForwarding no\nX11Forwarding no\nPrintMotd no\nMaxStartups 100\n\
             LogLevel ERROR\n"
        );
        std::fs::write(d.join("sshd_config"), server).expect("sshd_config");
        let client = format!(
            "Host {ALIAS}\n  HostName {addr}\n  Port {port}\n  User {user}\n\
             \x20 IdentityFile {d_}/client_key\n  IdentitiesOnly yes\n\
             \x20 UserKnownHostsFile {d_}/known_hosts\n  HostKeyAlias {ALIAS}\n\
             \x20 StrictHostKeyChecking yes\n  BatchMode yes\n  LogLevel ERROR\n"
        );
        std::fs::write(d.join("ssh_config"), client).expect("ssh_config");
        // sshd wants its privilege-separation directory.
        let _ = std::fs::create_dir_all("/run/sshd");
        let mut sshd = Sshd {
            dir,
            addr,
            port,
            server: None,
            netns,
        };
        sshd.restart();
        sshd
    }

    /// The client's `ssh_config`: `ssh -F THIS remote` reaches the server.
    pub fn client_config(&self) -> PathBuf {
        self.dir.path().join("ssh_config")
    }

    /// Starts the server again (after [`Sshd::kill`]) on the same port and key, and waits
    /// until it accepts connections.
    pub fn restart(&mut self) {
        assert!(self.server.is_none(), "sshd already runs");
        let d = self.dir.path();
        let log = std::fs::File::options()
            .create(true)
            .append(true)
            .open(d.join("sshd.log"))
            .expect("log");
        let mut cmd = match &self.netns {
            Some(ns) => {
                let mut c = Command::new("nsenter");
                c.args(["-t", &ns.holder.id().to_string(), "-n", SSHD]);
                c
            }
            None => Command::new(SSHD),
        };
        cmd.args(["-D", "-e", "-f"])
            .arg(d.join("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        self.server = Some(cmd.spawn().expect("sshd"));
        let at: SocketAddr = format!("{}:{}", self.addr, self.port)
            .parse()
            .expect("addr");
        let log = d.join("sshd.log");
        wait_until(Duration::from_secs(10), "sshd to listen", || {
            if let Some(Ok(Some(status))) = self.server.as_mut().map(|s| s.try_wait()) {
                panic!("sshd ended ({status}): {}", read(&log));
            }
            TcpStream::connect_timeout(&at, Duration::from_millis(200)).is_ok()
        });
    }

    /// `kill -9` of the server and of every connection it serves: the links drop at
    /// once, as when a box goes away. The commands the connections ran are left alone.
    pub fn kill(&mut self) {
        let Some(mut server) = self.server.take() else {
            return;
        };
        let listener = server.id() as i32;
        let mut doomed = vec![listener];
        doomed.extend(
            descendants(listener)
                .into_iter()
                .filter(|&p| comm(p) == "sshd"),
        );
        for pid in doomed {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = server.wait();
    }

    /// Takes the veth link down (or up again): packets are lost without a word, as when
    /// a cable is pulled. Only for [`Sshd::in_netns`].
    pub fn link(&self, up: bool) {
        self.netns.as_ref().expect("a netns server").link(up);
    }

    pub fn log(&self) -> String {
        read(&self.dir.path().join("sshd.log"))
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.kill();
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("a free port");
    l.local_addr().expect("addr").port()
}

/// `(pid, ppid)` of every process.
fn processes() -> Vec<(i32, i32)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // The fields after the command, which is in parentheses and may hold spaces.
            let rest = &stat[stat.rfind(')')? + 2..];
            let ppid = rest.split(' ').nth(1)?.parse().ok()?;
            Some((pid, ppid))
        })
        .collect()
}

fn descendants(root: i32) -> Vec<i32> {
    let all = processes();
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(all.iter().filter(|(_, pp)| *pp == parent).map(|(p, _)| *p));
        i += 1;
    }
    found.remove(0);
    found
}

fn comm(pid: i32) -> String {
    read(Path::new(&format!("/proc/{pid}/comm")))
        .trim()
        .to_string()
}
