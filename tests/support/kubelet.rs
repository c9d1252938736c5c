//! The kubelet's part, played by the test: a Node registered with this process's address,
//! pods bound to it and given a status through the API, and the exec endpoint the API
//! server proxies to (TLS, WebSocket, the `v5.channel.k8s.io` or `v4.channel.k8s.io`
//! subprotocol), served by running the command as a local process in the directory that
//! stands for the pod's volume.

use futures::{SinkExt, StreamExt};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, Patch, PatchParams, PostParams};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderValue;

pub const NODE: &str = "here";
const CHANNEL_STDIN: u8 = 0;
const CHANNEL_STDOUT: u8 = 1;
const CHANNEL_STDERR: u8 = 2;
const CHANNEL_STATUS: u8 = 3;
/// v5: `[255, channel]` closes that channel (stdin's end).
const CLOSE: u8 = 255;

pub struct Kubelet {
    pub port: u16,
    /// Each pod's volume: `ROOT/POD`.
    pub root: PathBuf,
    pub(crate) pods: Pods,
    server: tokio::task::JoinHandle<()>,
}

/// A container's environment: name and value.
pub(crate) type Env = Vec<(String, String)>;

/// What a running pod's commands get: the environment of its container spec (its mount
/// paths turned into the volume's directory) and that directory.
#[derive(Clone, Default)]
pub(crate) struct Running {
    pub(crate) env: Env,
    pub(crate) volume: PathBuf,
    /// Whether the container's main process has ended, for a pod started with one: a
    /// container that has ended takes no exec, and its execs end with it.
    pub(crate) ended: Option<tokio::sync::watch::Receiver<bool>>,
}

/// What the "image" gives each running pod's commands: its environment and volume, and
/// `flotilla` (this build) first on its PATH.
#[derive(Clone, Default)]
pub(crate) struct Pods {
    pub(crate) running: Arc<Mutex<HashMap<String, Running>>>,
    pub(crate) image: PathBuf,
}

impl Kubelet {
    /// Serves exec on a free loopback port, running commands under `root/POD`.
    pub async fn start(root: &Path) -> Kubelet {
        let tls = acceptor(root);
        let image = root.join(".image/bin");
        std::fs::create_dir_all(&image).expect("image");
        std::os::unix::fs::symlink(super::cli::Flotilla::bin(), image.join("flotilla"))
            .expect("flotilla in the image");
        let pods = Pods {
            image,
            ..Pods::default()
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let (volumes, serving) = (root.to_path_buf(), pods.clone());
        let server = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (tls, volumes, pods) = (tls.clone(), volumes.clone(), serving.clone());
                tokio::spawn(async move {
                    if let Ok(stream) = tls.accept(tcp).await {
                        serve(stream, &volumes, &pods).await;
                    }
                });
            }
        });
        Kubelet {
            port,
            root: root.to_path_buf(),
            pods,
            server,
        }
    }

    /// Registers the Node, at this process's address and exec port.
    pub async fn register(&self, client: &kube::Client) {
        let nodes: Api<Node> = Api::all(client.clone());
        let node =
            serde_json::from_value(serde_json::json!({"metadata": {"name": NODE}})).expect("node");
        nodes
            .create(&PostParams::default(), &node)
            .await
            .expect("node");
        let status = serde_json::json!({"status": {
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": self.port}},
            "conditions": [{"type": "Ready", "status": "True"}]
        }});
        nodes
            .patch_status(NODE, &PatchParams::default(), &Patch::Merge(&status))
            .await
            .expect("node status");
    }

    /// Binds pod `name` to the Node and marks it running, its volume made.
    pub async fn run(&self, client: &kube::Client, name: &str) {
        let pods: Api<Pod> = Api::default_namespaced(client.clone());
        let binding = serde_json::json!({
            "apiVersion": "v1", "kind": "Binding",
            "metadata": {"name": name},
            "target": {"apiVersion": "v1", "kind": "Node", "name": NODE}
        });
        let bind: Result<serde_json::Value, _> = pods
            .create_subresource("binding", name, &PostParams::default(), &binding)
            .await;
        bind.expect("binding");
        std::fs::create_dir_all(self.root.join(name)).expect("volume");
        let spec = pods.get(name).await.expect("pod").spec.unwrap_or_default();
        let env = (spec.containers.first().and_then(|c| c.env.clone()))
            .unwrap_or_default()
            .into_iter()
            .filter_map(|e| Some((e.name, e.value?)))
            .collect();
        let running = Running {
            env,
            volume: self.root.join(name),
            ended: None,
        };
        (self.pods.running.lock().expect("lock")).insert(name.to_string(), running);
        let status = serde_json::json!({"status": {"phase": "Running"}});
        pods.patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
            .await
            .expect("pod status");
    }
}

impl Drop for Kubelet {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A self-signed serving certificate: the API server does not check the kubelet's unless
/// told to.
fn acceptor(dir: &Path) -> tokio_rustls::TlsAcceptor {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let (cert, key) = (dir.join("kubelet.crt"), dir.join("kubelet.key"));
    let out = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args([
            "-subj",
            "/CN=kubelet",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl");
    assert!(out.status.success(), "openssl: {out:?}");
    let certs = CertificateDer::pem_file_iter(&cert)
        .expect("cert")
        .collect::<Result<Vec<_>, _>>()
        .expect("cert");
    let key = PrivateKeyDer::from_pem_file(&key).expect("key");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("tls config");
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

/// What the exec request asked for.
#[derive(Default, Debug)]
struct Exec {
    pod: String,
    command: Vec<String>,
    v5: bool,
}

// The handshake callback's error type is tungstenite's, whatever its size.
#[allow(clippy::result_large_err)]
async fn serve<S>(stream: S, volumes: &Path, pods: &Pods)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let asked = Arc::new(Mutex::new(Exec::default()));
    let seen = asked.clone();
    let callback = move |req: &Request, mut resp: Response| {
        let mut exec = seen.lock().expect("lock");
        // /exec/NAMESPACE/POD/CONTAINER?command=sh&command=-c&...&input=1&output=1
        let path: Vec<&str> = req.uri().path().split('/').collect();
        exec.pod = path.get(3).unwrap_or(&"").to_string();
        let query = req.uri().query().unwrap_or("");
        exec.command = form_urlencoded::parse(query.as_bytes())
            .filter(|(k, _)| k == "command")
            .map(|(_, v)| v.into_owned())
            .collect();
        let offered = (req.headers().get("Sec-WebSocket-Protocol"))
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        exec.v5 = offered.contains("v5.channel.k8s.io");
        let chosen = if exec.v5 {
            "v5.channel.k8s.io"
        } else {
            "v4.channel.k8s.io"
        };
        resp.headers_mut()
            .insert("Sec-WebSocket-Protocol", HeaderValue::from_static(chosen));
        Ok(resp)
    };
    let Ok(ws) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
        return;
    };
    let exec = std::mem::take(&mut *asked.lock().expect("lock"));
    let Some((program, args)) = exec.command.split_first() else {
        return;
    };
    let Running { env, volume, ended } =
        (pods.running.lock().expect("lock").get(&exec.pod).cloned()).unwrap_or_default();
    let mut ended = ended.unwrap_or_else(|| tokio::sync::watch::channel(false).1);
    if *ended.borrow() {
        let (mut sink, _) = ws.split();
        let status = failure("container not found: it is not running", 126);
        let _ = sink.send(framed(CHANNEL_STATUS, status.as_bytes())).await;
        return;
    }
    let path = std::env::var("PATH").unwrap_or_default();
    let child = tokio::process::Command::new(program)
        .args(args)
        .envs(env)
        .env("PATH", format!("{}:{path}", pods.image.display()))
        .current_dir(match volume.as_os_str().is_empty() {
            true => volumes.join(&exec.pod),
            false => volume,
        })
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn();
    let (mut sink, mut source) = ws.split();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => {
            let status = failure(&format!("cannot run {program}: {e}"), 126);
            let _ = sink.send(framed(CHANNEL_STATUS, status.as_bytes())).await;
            return;
        }
    };
    let mut stdin = child.stdin.take();
    let (stdout, stderr) = (
        child.stdout.take().expect("stdout"),
        child.stderr.take().expect("stderr"),
    );
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Message>(64);
    let pump = |channel: u8, tx: tokio::sync::mpsc::Sender<Message>| {
        move |mut from: Box<dyn tokio::io::AsyncRead + Unpin + Send>| async move {
            let mut buf = vec![0u8; 16 * 1024];
            while let Ok(n) = from.read(&mut buf).await {
                if n == 0 || tx.send(framed(channel, &buf[..n])).await.is_err() {
                    break;
                }
            }
        }
    };
    let out = tokio::spawn(pump(CHANNEL_STDOUT, tx.clone())(Box::new(stdout)));
    let err = tokio::spawn(pump(CHANNEL_STDERR, tx.clone())(Box::new(stderr)));
    drop(tx);
    let writer = tokio::spawn(async move {
        while let Some(message) = rx.recv().await {
            if sink.send(message).await.is_err() {
                return None;
            }
        }
        Some(sink)
    });
    let reader = async {
        while let Some(Ok(message)) = source.next().await {
            let Message::Binary(data) = message else {
                if matches!(message, Message::Close(_)) {
                    break;
                }
                continue;
            };
            match (data.first(), data.get(1)) {
                (Some(&CHANNEL_STDIN), _) => {
                    let broken = match stdin.as_mut() {
                        Some(pipe) => pipe.write_all(&data[1..]).await.is_err(),
                        None => false,
                    };
                    if broken {
                        stdin = None;
                    }
                }
                (Some(&CLOSE), Some(&CHANNEL_STDIN)) if exec.v5 => drop(stdin.take()),
                _ => {}
            }
        }
        drop(stdin.take());
    };
    let main_ended = async {
        if ended.wait_for(|e| *e).await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let status = tokio::select! {
        status = child.wait() => status,
        _ = reader => child.wait().await,
        _ = main_ended => {
            let _ = child.start_kill();
            child.wait().await
        }
    };
    let _ = (out.await, err.await);
    let Ok(Some(mut sink)) = writer.await else {
        return;
    };
    let code = status.ok().and_then(|s| s.code()).unwrap_or(137);
    let status = match code {
        0 => r#"{"metadata":{},"status":"Success"}"#.to_string(),
        n => failure("command terminated with non-zero exit code", n),
    };
    let _ = sink.send(framed(CHANNEL_STATUS, status.as_bytes())).await;
    let _ = sink.close().await;
    // The closing handshake: the client's close comes back before the stream goes.
    let drained = async { while let Some(Ok(_)) = source.next().await {} };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), drained).await;
}

fn framed(channel: u8, data: &[u8]) -> Message {
    let mut bytes = Vec::with_capacity(data.len() + 1);
    bytes.push(channel);
    bytes.extend_from_slice(data);
    Message::Binary(bytes.into())
}

fn failure(message: &str, code: i32) -> String {
    serde_json::json!({
        "metadata": {}, "status": "Failure", "message": message,
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]}
    })
    .to_string()
}
