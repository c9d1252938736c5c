//! A user's cluster for the tests: the real API server, the test's kubelet running every
//! pod, a user whose config names the cluster `test`, and a repository to clone.

use super::cli::Flotilla;
use super::kube::{CONTEXT, KubeApi};
use super::kubelet::Kubelet;
use super::pod_runner::PodRunner;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::Api;
use std::process::Output;

/// The API server, the kubelet's part running every pod, and a user whose config names
/// the cluster `test`.
pub struct Cluster {
    pub api: KubeApi,
    pub client: kube::Client,
    pub volumes: tempfile::TempDir,
    _kubelet: Kubelet,
    pub runner: PodRunner,
    pub user: Flotilla,
    pub origin: tempfile::TempDir,
}

impl Cluster {
    pub async fn start() -> Option<Cluster> {
        let api = KubeApi::start()?;
        let client = api.client().await;
        let volumes = tempfile::tempdir().expect("volumes");
        let kubelet = Kubelet::start(volumes.path()).await;
        kubelet.register(&client).await;
        let runner = kubelet.schedule(&client);
        let user = Flotilla::new();
        let config =
            format!("[clusters.test]\ncontext = \"{CONTEXT}\"\nimage = \"flotilla:test\"\n");
        std::fs::write(user.path("config.toml"), config).expect("config");
        let origin = tempfile::tempdir().expect("origin");
        super::repo_at(origin.path());
        Some(Cluster {
            api,
            client,
            volumes,
            _kubelet: kubelet,
            runner,
            user,
            origin,
        })
    }

    /// `flotilla --cluster test ARGS`, off the runtime's threads.
    pub async fn run(&self, args: &[&str]) -> Output {
        let mut cmd = self.user.command(&[&["--cluster", "test"], args].concat());
        cmd.env("KUBECONFIG", self.api.kubeconfig());
        tokio::task::spawn_blocking(move || cmd.output().expect("flotilla"))
            .await
            .expect("join")
    }

    pub async fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args).await;
        assert!(
            out.status.success(),
            "flotilla --cluster test {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub async fn json(&self, args: &[&str]) -> serde_json::Value {
        let text = self.ok(&[args, &["--json"]].concat()).await;
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?}: {e}: {text}"))
    }

    pub fn pods(&self) -> Api<Pod> {
        Api::default_namespaced(self.client.clone())
    }

    pub fn claims(&self) -> Api<PersistentVolumeClaim> {
        Api::default_namespaced(self.client.clone())
    }

    pub fn origin(&self) -> &str {
        self.origin.path().to_str().expect("utf-8")
    }

    pub fn volume(&self, name: &str) -> std::path::PathBuf {
        self.volumes.path().join(name)
    }
}

pub fn label(meta: &kube::api::ObjectMeta, key: &str) -> Option<String> {
    meta.labels.as_ref()?.get(key).cloned()
}

/// The name of session `id`'s pod and volume.
pub fn pod_name(id: &str) -> String {
    format!("flotilla-{}", &id.replace('-', "")[..8])
}
