//! Sessions on Kubernetes clusters in the dashboard. Each session's pod is a host of the
//! fleet, named `CLUSTER/ID`, whose link execs into the pod. A watch of each cluster's
//! pods (by label) says when one appears, runs, fails or goes: the link of a pod that
//! does not run is held down with the pod's reason, and one that runs is kept up. The API
//! server going away ends the pods' exec streams, so their links go down and retry
//! until it is back. A watch of the sessions' volumes says when one is deleted
//! (`rm --cleanup`): that session is gone for good, and its host leaves the sidebar.

use super::link::LinkNews;
use super::pod_watch::Watched;
use crate::cluster::{Cluster, PodState, objects};
use crate::config::ClusterConfig;
use crate::core::SessionId;
use futures::StreamExt;
use futures::future::Either;
use kube::runtime::{WatchStreamExt, watcher};
use std::time::Duration;
use tokio::sync::mpsc;

/// How long to wait before reading the kubeconfig again after it failed.
const AGAIN: Duration = Duration::from_secs(5);

/// What the watch of a cluster saw of one session's pod.
pub struct PodNews {
    pub cluster: Cluster,
    pub id: SessionId,
    pub seen: Seen,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// The session's pod as it is now.
    Pod(PodState),
    /// The session's volume is deleted (or being deleted): the session is gone for good.
    Removed,
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
        let selector = || watcher::Config::default().labels(&objects::selector());
        let pods = watcher(cluster.pods.clone(), selector())
            .default_backoff()
            .boxed();
        let claims = watcher(cluster.claims.clone(), selector())
            .default_backoff()
            .boxed();
        let mut events = futures::stream::select(pods.map(Either::Left), claims.map(Either::Right));
        let mut watched = Watched::default();
        while let Some(event) = events.next().await {
            let seen = match event {
                Either::Left(event) => watched.pod(event),
                Either::Right(event) => watched.claim(event),
            };
            for (id, seen) in seen {
                let news = PodNews {
                    cluster: cluster.clone(),
                    id,
                    seen,
                };
                if tx.send(LinkNews::Pod(Box::new(news))).await.is_err() {
                    return;
                }
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
pub fn held(seen: &Seen) -> Option<String> {
    let why = match seen {
        Seen::Pod(state) => held_raw(state)?,
        Seen::Removed => "removed: its pod and volume are deleted".into(),
    };
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
