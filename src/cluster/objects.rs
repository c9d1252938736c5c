//! The objects of a cluster session, made from the config alone: its volume (a
//! PersistentVolumeClaim) and its pod, both named after the session and labelled with
//! its id. Pure: nothing here talks to the API server.

use crate::config::ClusterConfig;
use crate::core::SessionId;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use serde_json::json;

/// Every object flotilla makes carries this label, so one selector finds them all.
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const MANAGER: &str = "flotilla";
/// The session an object belongs to.
pub const SESSION: &str = "flotilla.dev/session";
/// The repository the workspace is cloned from, kept on the volume's claim so a stopped
/// session's pod can be made again.
pub const REPO: &str = "flotilla.dev/repo";
/// The session's title, for lists while its pod is away.
pub const TITLE: &str = "flotilla.dev/title";

/// Where the volume is mounted in the container, and what lives on it. The mount is
/// also the container's `HOME`, so what the agents keep there (their own sessions, for a
/// resumed conversation) outlives the pod too.
pub const MOUNT: &str = "/data";
pub const HOME: &str = "/data/flotilla";
pub const WORKSPACE: &str = "/data/work";
/// The workspace as the user's side names it to the pod's daemon, which resolves `~`.
pub const WORKSPACE_IN_HOME: &str = "~/work";

/// The environment that tells `flotilla daemon --pod` what to clone, and where.
pub const REPO_ENV: &str = "FLOTILLA_REPO";
pub const WORKSPACE_ENV: &str = "FLOTILLA_WORKSPACE";

/// The container of a session's pod that runs flotilla.
pub use crate::daemon::pod::CONTAINER;

/// The name of the session's pod and of its volume's claim.
pub fn name(id: SessionId) -> String {
    format!("flotilla-{}", id.short())
}

/// Selects every object flotilla made.
pub fn selector() -> String {
    format!("{MANAGED_BY}={MANAGER}")
}

/// Selects the objects of one session.
pub fn session_selector(id: SessionId) -> String {
    format!("{},{SESSION}={id}", selector())
}

/// The session an object flotilla made belongs to, read off its label.
pub fn session_of(meta: &kube::api::ObjectMeta) -> Option<SessionId> {
    meta.labels.as_ref()?.get(SESSION)?.parse().ok()
}

fn labels(id: SessionId) -> serde_json::Value {
    json!({ MANAGED_BY: MANAGER, SESSION: id.to_string() })
}

/// The claim of the session's volume: the workspace and the session's record live on it,
/// so they outlive the pod.
pub fn claim(config: &ClusterConfig, id: SessionId, repo: &str) -> PersistentVolumeClaim {
    let mut spec = json!({
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": config.volume_size}},
    });
    if let Some(class) = &config.storage_class {
        spec["storageClassName"] = json!(class);
    }
    from(json!({
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": name(id),
            "labels": labels(id),
            "annotations": {REPO: repo},
        },
        "spec": spec,
    }))
}

/// The session's pod: one container running `flotilla daemon --pod`, which clones the
/// repository onto the volume the first time and then owns the session there.
pub fn pod(config: &ClusterConfig, id: SessionId, repo: &str) -> Pod {
    let mut container = json!({
        "name": CONTAINER,
        "image": config.image,
        "command": ["flotilla", "daemon", "--pod"],
        "workingDir": MOUNT,
        "env": [
            {"name": "HOME", "value": MOUNT},
            {"name": "FLOTILLA_HOME", "value": HOME},
            {"name": REPO_ENV, "value": repo},
            {"name": WORKSPACE_ENV, "value": WORKSPACE},
        ],
        "volumeMounts": [{"name": "work", "mountPath": MOUNT}],
        "resources": {"requests": config.requests, "limits": config.limits},
        // flotilla's last words (a clone that failed) become the container's termination
        // message, which the pod's state then says.
        "terminationMessagePolicy": "FallbackToLogsOnError",
    });
    if let Some(secret) = &config.env_from_secret {
        container["envFrom"] = json!([{"secretRef": {"name": secret}}]);
    }
    from(json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name(id), "labels": labels(id)},
        "spec": {
            // The daemon ends only when told to; if it dies, the kubelet starts it again
            // on the same volume.
            "restartPolicy": "OnFailure",
            "containers": [container],
            "volumes": [{"name": "work", "persistentVolumeClaim": {"claimName": name(id)}}],
        },
    }))
}

fn from<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
    serde_json::from_value(value).expect("a well-formed object")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ClusterConfig {
        ClusterConfig {
            context: None,
            namespace: None,
            image: "registry.example/flotilla:1".into(),
            storage_class: Some("fast".into()),
            volume_size: "5Gi".into(),
            requests: [("cpu".to_string(), "500m".to_string())].into(),
            limits: [("memory".to_string(), "2Gi".to_string())].into(),
            env_from_secret: Some("agent-keys".into()),
        }
    }

    #[test]
    fn a_session_s_pod_mounts_its_own_volume_and_carries_its_id() {
        let id = SessionId::new();
        let pod = pod(&config(), id, "https://git.example/repo.git");
        let meta = &pod.metadata;
        assert_eq!(meta.name.as_deref(), Some(name(id).as_str()));
        let labels = meta.labels.clone().unwrap_or_default();
        assert_eq!(labels.get(SESSION), Some(&id.to_string()));
        assert_eq!(labels.get(MANAGED_BY).map(String::as_str), Some(MANAGER));
        let spec = pod.spec.expect("spec");
        let volume = &spec.volumes.expect("volumes")[0];
        let claim = volume.persistent_volume_claim.as_ref().expect("a claim");
        assert_eq!(claim.claim_name, name(id));
        let container = &spec.containers[0];
        assert_eq!(
            container.image.as_deref(),
            Some("registry.example/flotilla:1")
        );
        let env = container.env.clone().unwrap_or_default();
        let repo = env.iter().find(|e| e.name == REPO_ENV).expect("repo env");
        assert_eq!(repo.value.as_deref(), Some("https://git.example/repo.git"));
        let from = &container.env_from.as_ref().expect("envFrom")[0];
        assert_eq!(
            from.secret_ref.as_ref().map(|s| s.name.as_str()),
            Some("agent-keys")
        );
        let resources = container.resources.as_ref().expect("resources");
        assert!(
            resources
                .requests
                .as_ref()
                .is_some_and(|r| r.contains_key("cpu"))
        );
        assert!(
            resources
                .limits
                .as_ref()
                .is_some_and(|l| l.contains_key("memory"))
        );
    }

    #[test]
    fn a_session_s_claim_keeps_the_repository_and_the_class() {
        let id = SessionId::new();
        let claim = claim(&config(), id, "git@example:repo");
        let annotations = claim.metadata.annotations.unwrap_or_default();
        assert_eq!(
            annotations.get(REPO).map(String::as_str),
            Some("git@example:repo")
        );
        let spec = claim.spec.expect("spec");
        assert_eq!(spec.storage_class_name.as_deref(), Some("fast"));
        let size = spec.resources.and_then(|r| r.requests).unwrap_or_default();
        assert_eq!(size.get("storage").map(|q| q.0.as_str()), Some("5Gi"));
    }
}
