//! The scheduler's and the kubelet's parts for pods flotilla makes: every new pod is
//! bound to the Node and its container's command started as a local process, with each
//! mount path turned into the directory that stands for its volume (`ROOT/CLAIM`, so a
//! pod made again on the same claim finds the same files). A deleted pod's process gets
//! SIGTERM, then SIGKILL after a grace period, and the pod is then removed, as a kubelet
//! confirms a deletion. A process that exits by itself fails its pod.

use super::kubelet::{Kubelet, NODE, Running};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a deleted pod's process has after SIGTERM.
const GRACE: Duration = Duration::from_secs(10);

/// A started container: its process group and whether it has ended.
struct Process {
    pid: Pid,
    ended: tokio::sync::watch::Receiver<bool>,
}

#[derive(Clone, Default)]
struct Procs(Arc<Mutex<HashMap<String, Process>>>);

pub struct PodRunner {
    task: tokio::task::JoinHandle<()>,
    procs: Procs,
    pods: Api<Pod>,
}

impl Drop for PodRunner {
    fn drop(&mut self) {
        self.task.abort();
        for process in self.procs.0.lock().expect("lock").values() {
            let _ = killpg(process.pid, Signal::SIGKILL);
        }
    }
}

impl Kubelet {
    /// Plays the scheduler and the kubelet for the pods of the default namespace until
    /// the runner is dropped (which kills what it started).
    pub fn schedule(&self, client: &kube::Client) -> PodRunner {
        let pods: Api<Pod> = Api::default_namespaced(client.clone());
        let procs = Procs::default();
        let (api, root, running, image, started) = (
            pods.clone(),
            self.root.clone(),
            self.pods.running.clone(),
            self.pods.image.clone(),
            procs.clone(),
        );
        let task = tokio::spawn(async move {
            let config = watcher::Config::default();
            let mut watch = watcher(api.clone(), config).default_backoff().boxed();
            while let Some(event) = watch.next().await {
                let pod = match event {
                    Ok(watcher::Event::Apply(pod) | watcher::Event::InitApply(pod)) => pod,
                    _ => continue,
                };
                let Some(name) = pod.metadata.name.clone() else {
                    continue;
                };
                if pod.metadata.deletion_timestamp.is_some() {
                    let (api, procs, running) = (api.clone(), started.clone(), running.clone());
                    tokio::spawn(async move {
                        procs.end(&name).await;
                        running.lock().expect("lock").remove(&name);
                        let now = DeleteParams {
                            grace_period_seconds: Some(0),
                            ..DeleteParams::default()
                        };
                        let _ = api.delete(&name, &now).await;
                    });
                } else if pod.spec.as_ref().is_some_and(|s| s.node_name.is_none()) {
                    let run = Run {
                        api: api.clone(),
                        root: root.clone(),
                        image: image.clone(),
                    };
                    run.start(&pod, &started, &running).await;
                }
            }
        });
        PodRunner { task, procs, pods }
    }
}

impl PodRunner {
    /// Fails pod `name` with `reason`, as a node does when it evicts a pod: its process
    /// is ended and the pod's phase is `Failed`.
    pub async fn fail(&self, name: &str, reason: &str, message: &str) {
        self.procs.end(name).await;
        let status = serde_json::json!({"status": {
            "phase": "Failed", "reason": reason, "message": message
        }});
        (self
            .pods
            .patch_status(name, &PatchParams::default(), &Patch::Merge(&status)))
        .await
        .expect("pod status");
    }

    /// Whether pod `name`'s process runs.
    pub fn runs(&self, name: &str) -> bool {
        (self.procs.0.lock().expect("lock").get(name)).is_some_and(|p| !*p.ended.borrow())
    }
}

impl Procs {
    /// Ends pod `name`'s process: SIGTERM, and SIGKILL after the grace period.
    async fn end(&self, name: &str) {
        let Some((pid, mut ended)) =
            (self.0.lock().expect("lock").remove(name)).map(|p| (p.pid, p.ended))
        else {
            return;
        };
        let _ = killpg(pid, Signal::SIGTERM);
        let gone = (tokio::time::timeout(GRACE, ended.wait_for(|e| *e)).await).is_ok();
        if !gone {
            let _ = killpg(pid, Signal::SIGKILL);
            let _ = ended.wait_for(|e| *e).await;
        }
    }
}

struct Run {
    api: Api<Pod>,
    root: PathBuf,
    image: PathBuf,
}

impl Run {
    /// Binds the pod and starts its container's command; what its execs then get.
    async fn start(
        &self,
        pod: &Pod,
        procs: &Procs,
        running: &Arc<Mutex<HashMap<String, Running>>>,
    ) -> Option<()> {
        let name = pod.metadata.name.clone()?;
        let binding = serde_json::json!({
            "apiVersion": "v1", "kind": "Binding",
            "metadata": {"name": name},
            "target": {"apiVersion": "v1", "kind": "Node", "name": NODE}
        });
        let bound: Result<serde_json::Value, _> = (self.api)
            .create_subresource("binding", &name, &PostParams::default(), &binding)
            .await;
        bound.ok()?;
        let spec = pod.spec.clone()?;
        let claim = (spec.volumes.iter().flatten()).find_map(|v| {
            Some((
                v.name.clone(),
                v.persistent_volume_claim.clone()?.claim_name,
            ))
        });
        let volume = self.root.join(claim.as_ref().map_or(&name, |(_, c)| c));
        std::fs::create_dir_all(&volume).expect("volume");
        let container = spec.containers.first()?.clone();
        let mounts: Vec<(String, PathBuf)> = (container.volume_mounts.iter().flatten())
            .filter(|m| claim.as_ref().is_some_and(|(v, _)| *v == m.name))
            .map(|m| (m.mount_path.clone(), volume.clone()))
            .collect();
        let local = |value: &str| mounted(value, &mounts);
        let env: Vec<(String, String)> = (container.env.iter().flatten())
            .filter_map(|e| Some((e.name.clone(), local(e.value.as_deref()?))))
            .collect();
        let (tx, ended) = tokio::sync::watch::channel(false);
        let main = container.command.as_ref().is_some_and(|c| !c.is_empty());
        let ready = Running {
            env: env.clone(),
            volume: volume.clone(),
            ended: main.then(|| ended.clone()),
        };
        running.lock().expect("lock").insert(name.clone(), ready);
        // Running as its container starts, as a kubelet reports it; a command that ends
        // at once fails the pod after that.
        let status = serde_json::json!({"status": {"phase": "Running"}});
        (self
            .api
            .patch_status(&name, &PatchParams::default(), &Patch::Merge(&status)))
        .await
        .ok()?;
        if let Some(command) = container.command.as_ref().filter(|c| !c.is_empty()) {
            let dir = container
                .working_dir
                .as_deref()
                .map_or(volume.clone(), |d| local(d).into());
            let path = std::env::var("PATH").unwrap_or_default();
            let log = std::fs::File::create(volume.with_extension("log")).expect("log");
            let mut child = tokio::process::Command::new(&command[0])
                .args(command[1..].iter().map(|a| local(a)))
                .envs(env.clone())
                .env("PATH", format!("{}:{path}", self.image.display()))
                .current_dir(dir)
                .stdin(std::process::Stdio::null())
                .stdout(log.try_clone().expect("log"))
                .stderr(log)
                .process_group(0)
                .spawn()
                .expect("the pod's command");
            let pid = Pid::from_raw(child.id()? as i32);
            procs
                .0
                .lock()
                .expect("lock")
                .insert(name.clone(), Process { pid, ended });
            let (api, procs, pod) = (self.api.clone(), procs.clone(), name.clone());
            let logs_on_error =
                container.termination_message_policy.as_deref() == Some("FallbackToLogsOnError");
            let log = volume.with_extension("log");
            tokio::spawn(async move {
                let code = child.wait().await.ok().and_then(|s| s.code());
                let _ = tx.send(true);
                // Ended by itself, not by a deletion or an eviction: the pod fails.
                let mine = (procs.0.lock().expect("lock").get(&pod)).is_some_and(|p| p.pid == pid);
                if mine {
                    // As a kubelet does with FallbackToLogsOnError: an error's message is
                    // the log's tail.
                    let message = match logs_on_error && code != Some(0) {
                        true => log_tail(&log),
                        false => String::new(),
                    };
                    let status = serde_json::json!({"status": {
                        "phase": "Failed", "reason": "Error",
                        "message": format!("the container exited with code {code:?}"),
                        "containerStatuses": [{
                            "name": container.name, "ready": false, "restartCount": 0,
                            "image": container.image, "imageID": "",
                            "state": {"terminated": {
                                "exitCode": code.unwrap_or(-1), "reason": "Error",
                                "message": message,
                            }},
                        }],
                    }});
                    let _ =
                        (api.patch_status(&pod, &PatchParams::default(), &Patch::Merge(&status)))
                            .await;
                }
            });
        }
        Some(())
    }
}

/// The last 80 lines of a container's log, at most 2048 bytes: what a kubelet keeps of
/// it as the termination message.
fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(80)..].join("\n");
    let mut start = tail.len().saturating_sub(2048);
    while !tail.is_char_boundary(start) {
        start += 1;
    }
    tail[start..].to_string()
}

/// `value` with a mount path at its start turned into the volume's directory.
fn mounted(value: &str, mounts: &[(String, PathBuf)]) -> String {
    for (path, dir) in mounts {
        if let Some(rest) = value.strip_prefix(path.as_str())
            && (rest.is_empty() || rest.starts_with('/'))
        {
            return format!("{}{rest}", dir.display());
        }
    }
    value.to_string()
}

pub fn volume_of(root: &Path, claim: &str) -> PathBuf {
    root.join(claim)
}
