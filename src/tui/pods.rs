//! Sessions on Kubernetes clusters in the dashboard. Each session's pod is a host of the
//! fleet, named `CLUSTER/ID`, whose link execs into the pod. A watch of each cluster's
//! pods (by label) says when one appears, runs, fails or goes: the link of a pod that
//! does not run is held down with the pod's reason, and one that runs is kept up. The API
//! server going away ends the pods' exec streams, so their links go down and retry
//! until it is back.

use super::link::LinkNews;
use crate::cluster::{Cluster, PodState, objects};
use crate::config::ClusterConfig;
use crate::core::SessionId;
use futures::StreamExt;
use kube::runtime::{WatchStreamExt, watcher};
use std::time::Duration;
use tokio::sync::mpsc;

/// How long to wait before reading the kubeconfig again after it failed.
const AGAIN: Duration = Duration::from_secs(5);

/// What the watch of a cluster saw of one session's pod.
pub struct PodNews {
    pub cluster: Cluster,
    pub id: SessionId,
    pub state: PodState,
}

impl PodNews {
    /// The name of the pod's host in the fleet.
    pub fn host_name(&self) -> String {
        format!("{}/{}", self.cluster.name, self.id.short())
    }
}

/// Watches cluster `name`'s session pods until the loop stops listening.
pub async fn watch(name: String, config: ClusterConfig, tx: mpsc::Sender<LinkNews>) {
    loop {
        let cluster = match Cluster::connect(&name, &config).await {
            Ok(cluster) => cluster,
            Err(why) => {
                tracing::warn!("{why}");
                tokio::time::sleep(AGAIN).await;
                continue;
            }
        };
        let selector = watcher::Config::default().labels(&objects::selector());
        let mut pods = watcher(cluster.pods.clone(), selector)
            .default_backoff()
            .boxed();
        while let Some(event) = pods.next().await {
            let (pod, state) = match event {
                Ok(watcher::Event::Apply(pod) | watcher::Event::InitApply(pod)) => {
                    let state = PodState::of(Some(&pod));
                    (pod, state)
                }
                Ok(watcher::Event::Delete(pod)) => (pod, PodState::Gone),
                _ => continue,
            };
            let id = (pod.metadata.labels.as_ref())
                .and_then(|l| l.get(objects::SESSION))
                .and_then(|id| id.parse().ok());
            let Some(id) = id else { continue };
            let news = PodNews {
                cluster: cluster.clone(),
                id,
                state,
            };
            if tx.send(LinkNews::Pod(Box::new(news))).await.is_err() {
                return;
            }
        }
    }
}

/// What a pod's link connects with: the daemon in the pod while it runs.
pub async fn connect(cluster: Cluster, id: SessionId) -> Result<crate::daemon::Client, String> {
    cluster.daemon(&objects::name(id)).await
}

/// Why a pod's host is down while its pod does not run, as one clean line: the reason
/// is the cluster's words (a container's message), drawn on screen.
pub fn held(state: &PodState) -> Option<String> {
    let why = held_raw(state)?;
    let line = why.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    Some(crate::core::sanitize(line.trim()))
}

fn held_raw(state: &PodState) -> Option<String> {
    match state {
        PodState::Running => None,
        PodState::Gone => Some("stopped: its pod is deleted, its volume kept".into()),
        PodState::Ending => Some("stopping: its pod is being deleted".into()),
        PodState::Starting(why) => Some(format!("starting: {why}")),
        PodState::Failed(why) => Some(why.clone()),
    }
}
