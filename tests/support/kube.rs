//! A real Kubernetes API server of the test's own: etcd and kube-apiserver (v1.20.2, built
//! by scripts/build-kube-apiserver) on free loopback ports, with a static token, every
//! request allowed, and a kubeconfig that points at it with its own CA. No kubelet,
//! scheduler or controller runs: the tests play those parts through the API.

use super::poll::wait_until;
use kube::config::{KubeConfigOptions, Kubeconfig};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tempfile::TempDir;

pub const VERSION: &str = "1.20.2";
pub const CONTEXT: &str = "test";
const TOKEN: &str = "flotilla-test-token";

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false")
}

/// Where scripts/build-kube-apiserver leaves the binary.
pub fn apiserver_binary() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from("/root/.cache"));
    cache
        .join("flotilla-test")
        .join(format!("kube-apiserver-{VERSION}"))
        .join("kube-apiserver")
}

const ETCD: &str = "/usr/bin/etcd";

pub struct KubeApi {
    dir: TempDir,
    pub port: u16,
    etcd: Child,
    apiserver: Option<Child>,
    etcd_port: u16,
}

impl KubeApi {
    /// Starts etcd and the API server and waits until it is ready; `None` where they are
    /// missing outside CI.
    pub fn start() -> Option<KubeApi> {
        let bin = apiserver_binary();
        if !bin.exists() || !Path::new(ETCD).exists() {
            assert!(
                !in_ci(),
                "kube-apiserver or etcd is missing: scripts/setup builds and installs them"
            );
            eprintln!("skipped: kube-apiserver or etcd is missing: run scripts/setup");
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("kube")
            .tempdir()
            .expect("tempdir");
        let d = dir.path();
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(d)
                .output()
                .expect("openssl");
            assert!(out.status.success(), "openssl {args:?}: {out:?}");
        };
        openssl(&["genrsa", "-out", "sa.key", "2048"]);
        openssl(&["rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub"]);
        std::fs::write(
            d.join("tokens.csv"),
            format!("{TOKEN},admin,admin,system:masters\n"),
        )
        .expect("tokens");
        let (etcd_port, peer, port) = (free_port(), free_port(), free_port());
        let log = |name: &str| std::fs::File::create(d.join(name)).expect("log");
        let etcd = Command::new(ETCD)
            .arg("--data-dir")
            .arg(d.join("etcd"))
            .arg(format!("--listen-client-urls=http://127.0.0.1:{etcd_port}"))
            .arg(format!(
                "--advertise-client-urls=http://127.0.0.1:{etcd_port}"
            ))
            .arg(format!("--listen-peer-urls=http://127.0.0.1:{peer}"))
            .stdin(Stdio::null())
            .stdout(log("etcd.log"))
            .stderr(Stdio::from(log("etcd.err")))
            .spawn()
            .expect("etcd");
        wait_until(Duration::from_secs(20), "etcd to listen", || {
            TcpStream::connect(("127.0.0.1", etcd_port)).is_ok()
        });
        let mut api = KubeApi {
            dir,
            port,
            etcd,
            apiserver: None,
            etcd_port,
        };
        api.restart();
        Some(api)
    }

    /// Starts the API server (again, after [`KubeApi::stop`]) on the same port, and
    /// waits until it is ready.
    pub fn restart(&mut self) {
        assert!(self.apiserver.is_none(), "the API server already runs");
        let d = self.dir.path();
        let log = std::fs::File::options()
            .create(true)
            .append(true)
            .open(d.join("apiserver.log"))
            .expect("log");
        let flags = [
            format!("--etcd-servers=http://127.0.0.1:{}", self.etcd_port),
            "--bind-address=127.0.0.1".into(),
            // With no default route (a loopback-only namespace) it cannot pick one.
            "--advertise-address=127.0.0.1".into(),
            format!("--secure-port={}", self.port),
            format!("--cert-dir={}", d.join("certs").display()),
            format!("--token-auth-file={}", d.join("tokens.csv").display()),
            "--authorization-mode=AlwaysAllow".into(),
            format!("--service-account-key-file={}", d.join("sa.pub").display()),
            format!(
                "--service-account-signing-key-file={}",
                d.join("sa.key").display()
            ),
            "--service-account-issuer=https://kubernetes.default.svc".into(),
            "--service-cluster-ip-range=10.96.0.0/16".into(),
            // Nothing makes the default service account a pod would need, and no
            // controller manager takes the protection finalizer off a deleted claim, so
            // the plugins that expect them are off.
            "--disable-admission-plugins=ServiceAccount,StorageObjectInUseProtection".into(),
        ];
        let child = Command::new(apiserver_binary())
            .args(&flags)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("kube-apiserver");
        self.apiserver = Some(child);
        let log = d.join("apiserver.log");
        wait_until(
            Duration::from_secs(60),
            "the API server to be ready",
            || {
                if let Some(Ok(Some(status))) = self.apiserver.as_mut().map(|c| c.try_wait()) {
                    panic!("kube-apiserver ended ({status}): {}", tail(&log));
                }
                self.ready()
            },
        );
        self.write_kubeconfig();
    }

    /// `kill -9` of the API server; etcd keeps the objects.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.apiserver.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn ready(&self) -> bool {
        // The serving certificate exists once it listens; curl checks readiness.
        if TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            return false;
        }
        let out = Command::new("curl")
            .args(["-sk", "-m", "2", "-H"])
            .arg(format!("Authorization: Bearer {TOKEN}"))
            .arg(format!("https://127.0.0.1:{}/readyz", self.port))
            .output();
        out.is_ok_and(|o| o.stdout == b"ok")
    }

    /// The kubeconfig with one context, [`CONTEXT`], that reaches this server.
    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }

    /// A kube-rs client of this server, found through its kubeconfig as flotilla finds one.
    pub async fn client(&self) -> kube::Client {
        let kubeconfig = Kubeconfig::read_from(self.kubeconfig()).expect("kubeconfig");
        let options = KubeConfigOptions {
            context: Some(CONTEXT.into()),
            ..Default::default()
        };
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .expect("config");
        kube::Client::try_from(config).expect("client")
    }

    fn write_kubeconfig(&self) {
        let ca = self.dir.path().join("certs/apiserver.crt");
        let ca = ca.display();
        let config = format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: {CONTEXT}\n\
             clusters:\n- name: {CONTEXT}\n  cluster:\n    server: https://127.0.0.1:{}\n\
             \x20   certificate-authority: {ca}\n\
             users:\n- name: admin\n  user:\n    token: {TOKEN}\n\
             contexts:\n- name: {CONTEXT}\n  context:\n    cluster: {CONTEXT}\n\
             \x20   user: admin\n    namespace: default\n",
            self.port
        );
        std::fs::write(self.kubeconfig(), config).expect("kubeconfig");
    }

    pub fn log(&self) -> String {
        tail(&self.dir.path().join("apiserver.log"))
    }
}

impl Drop for KubeApi {
    fn drop(&mut self) {
        self.stop();
        let _ = self.etcd.kill();
        let _ = self.etcd.wait();
    }
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("a free port");
    l.local_addr().expect("addr").port()
}
