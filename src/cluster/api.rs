//! One cluster, through its API server: the sessions' volumes and pods, made, found,
//! watched and deleted with kube-rs, and the daemon in a pod reached through exec.

use super::objects::{self, REPO, TITLE};
use super::state::PodState;
use crate::config::ClusterConfig;
use crate::core::SessionId;
use crate::daemon::Client;
use futures::StreamExt;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::config::KubeConfigOptions;
use kube::runtime::{WatchStreamExt, watcher};
use std::collections::BTreeMap;
use std::time::Duration;

/// How long a new or resumed pod may take to run (scheduling, the image, the clone).
pub const START: Duration = Duration::from_secs(300);

#[derive(Clone)]
pub struct Cluster {
    pub name: String,
    pub config: ClusterConfig,
    pub pods: Api<Pod>,
    pub claims: Api<PersistentVolumeClaim>,
}

/// A session of the cluster, as its objects tell it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: SessionId,
    /// Its pod's and its volume's name.
    pub name: String,
    pub repo: String,
    pub title: Option<String>,
    pub pod: PodState,
}

impl Cluster {
    /// Reaches cluster `name` through the kubeconfig (`KUBECONFIG`, else `~/.kube/config`)
    /// and the configured context.
    pub async fn connect(name: &str, config: &ClusterConfig) -> Result<Cluster, String> {
        let options = KubeConfigOptions {
            context: config.context.clone(),
            ..KubeConfigOptions::default()
        };
        let kube = kube::Config::from_kubeconfig(&options)
            .await
            .map_err(|e| format!("cluster {name}: cannot read the kubeconfig: {e}"))?;
        let namespace =
            (config.namespace.clone()).unwrap_or_else(|| kube.default_namespace.clone());
        let client = kube::Client::try_from(kube)
            .map_err(|e| format!("cluster {name}: cannot make a client: {e}"))?;
        Ok(Cluster {
            name: name.to_string(),
            config: config.clone(),
            pods: Api::namespaced(client.clone(), &namespace),
            claims: Api::namespaced(client, &namespace),
        })
    }

    fn failed(&self, doing: &str) -> impl Fn(kube::Error) -> String + '_ {
        let doing = doing.to_string();
        move |e| format!("cluster {}: {doing}: {}", self.name, said(&e))
    }

    /// Every session of the cluster: one per volume, with its pod's state.
    pub async fn sessions(&self) -> Result<Vec<Entry>, String> {
        let selector = ListParams::default().labels(&objects::selector());
        let claims = (self.claims.list(&selector).await).map_err(self.failed("listing volumes"))?;
        let pods = (self.pods.list(&selector).await).map_err(self.failed("listing pods"))?;
        let mut pods: BTreeMap<String, Pod> = (pods.items.into_iter())
            .filter_map(|p| Some((p.metadata.name.clone()?, p)))
            .collect();
        let mut entries: Vec<Entry> = (claims.items.into_iter())
            .filter_map(|claim| {
                let meta = claim.metadata;
                let id = objects::session_of(&meta)?;
                let name = meta.name?;
                let notes = meta.annotations.unwrap_or_default();
                Some(Entry {
                    id,
                    repo: notes.get(REPO).cloned().unwrap_or_default(),
                    title: notes.get(TITLE).cloned(),
                    pod: PodState::of(pods.remove(&name).as_ref()),
                    name,
                })
            })
            .collect();
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }

    /// The session whose id starts with `prefix`.
    pub async fn find(&self, prefix: &str) -> Result<Entry, String> {
        let prefix = prefix.trim().to_ascii_lowercase();
        let all = self.sessions().await?;
        let mut hits = all
            .into_iter()
            .filter(|e| !prefix.is_empty() && e.id.to_string().starts_with(&prefix));
        match (hits.next(), hits.next()) {
            (Some(entry), None) => Ok(entry),
            (Some(_), Some(_)) => Err(format!(
                "cluster {}: several sessions start with {prefix}: give more of the id",
                self.name
            )),
            (None, _) => Err(format!(
                "cluster {}: no session {prefix}: `flotilla --cluster {} ls` lists them",
                self.name, self.name
            )),
        }
    }

    /// Makes a new session's volume, then its pod. A volume without a pod is a stopped
    /// session, so a crash between the two leaves one that `resume` or `rm --cleanup` ends.
    pub async fn create(&self, id: SessionId, repo: &str) -> Result<(), String> {
        let claim = objects::claim(&self.config, id, repo);
        (self.claims.create(&PostParams::default(), &claim).await)
            .map_err(self.failed("making the volume"))?;
        let started = self.start_pod(id, repo).await;
        if started.is_err() {
            let _ = self.delete_claim(&objects::name(id)).await;
        }
        started
    }

    /// Makes the session's pod on its volume.
    pub async fn start_pod(&self, id: SessionId, repo: &str) -> Result<(), String> {
        let pod = objects::pod(&self.config, id, repo);
        (self.pods.create(&PostParams::default(), &pod).await)
            .map(drop)
            .map_err(self.failed("making the pod"))
    }

    /// Waits until the pod runs; an error names the pod's reason.
    pub async fn wait_running(&self, name: &str, limit: Duration) -> Result<(), String> {
        let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
        let mut watch = watcher(self.pods.clone(), config).default_backoff().boxed();
        let mut last = PodState::Gone;
        let waited = tokio::time::timeout(limit, async {
            while let Some(event) = watch.next().await {
                let pod = match event {
                    Ok(watcher::Event::Apply(pod) | watcher::Event::InitApply(pod)) => pod,
                    Ok(watcher::Event::Delete(_)) => return Err("the pod was deleted".into()),
                    Ok(_) => continue,
                    // The watch retries with a backoff; a passing error is no verdict.
                    Err(_) => continue,
                };
                last = PodState::of(Some(&pod));
                match &last {
                    PodState::Running => return Ok(()),
                    PodState::Failed(why) => return Err(why.clone()),
                    _ => {}
                }
            }
            Err("the watch ended".into())
        })
        .await;
        let why = match waited {
            Ok(result) => result,
            Err(_) => Err(format!(
                "not running after {}s ({})",
                limit.as_secs(),
                last.reason().unwrap_or(last.word())
            )),
        };
        why.map_err(|e| format!("cluster {}: pod {name}: {e}", self.name))
    }

    /// Deletes the session's pod and waits until it is gone; its volume stays.
    pub async fn delete_pod(&self, name: &str, limit: Duration) -> Result<(), String> {
        match self.pods.delete(name, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 404 => return Ok(()),
            Err(e) => return Err(self.failed("deleting the pod")(e)),
        }
        let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
        let mut watch = watcher(self.pods.clone(), config).default_backoff().boxed();
        let gone = tokio::time::timeout(limit, async {
            while let Some(event) = watch.next().await {
                match event {
                    Ok(watcher::Event::Delete(_)) => return true,
                    Ok(watcher::Event::InitDone)
                        if matches!(self.pods.get_opt(name).await, Ok(None)) =>
                    {
                        return true;
                    }
                    _ => {}
                }
            }
            false
        })
        .await;
        match gone {
            Ok(true) => Ok(()),
            _ => Err(format!(
                "cluster {}: pod {name} is still ending after {}s: its volume is kept",
                self.name,
                limit.as_secs()
            )),
        }
    }

    /// Deletes the session's volume: its workspace and record go for good.
    pub async fn delete_claim(&self, name: &str) -> Result<(), String> {
        match self.claims.delete(name, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
            Err(e) => Err(self.failed("deleting the volume")(e)),
        }
    }

    /// Keeps the session's title on its volume's claim, for lists while the pod is away.
    pub async fn note_title(&self, name: &str, title: &str) -> Result<(), String> {
        let patch = serde_json::json!({"metadata": {"annotations": {TITLE: title}}});
        (self
            .claims
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await)
            .map(drop)
            .map_err(self.failed("noting the title"))
    }

    /// The daemon in the session's pod, through exec.
    pub async fn daemon(&self, name: &str) -> Result<Client, String> {
        let what = format!("cluster {} pod {name}", self.name);
        let reached = crate::daemon::pod::connect(&self.pods, name, &what).await;
        match reached {
            Ok(client) => Ok(client),
            // The pod's own word is better than the exec's, when it has one.
            Err(e) => match self.pods.get_opt(name).await {
                Ok(pod) => match PodState::of(pod.as_ref()) {
                    PodState::Running => Err(e),
                    state => Err(format!(
                        "cluster {}: pod {name} is {}: {}",
                        self.name,
                        state.word(),
                        state.reason().unwrap_or("it is not running")
                    )),
                },
                Err(_) => Err(e),
            },
        }
    }
}

/// What the API server said, without the client's wrapping.
fn said(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(status) => status.message.clone(),
        other => other.to_string(),
    }
}
