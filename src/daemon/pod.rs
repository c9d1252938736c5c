//! A daemon inside a Kubernetes pod, reached through the API server's exec stream running
//! `flotilla daemon --stdio` in the pod's container: the same protocol, hello and version
//! check as over ssh. Nothing listens in the pod; the API server's own authentication is
//! the way in, with the user's kubeconfig.

use super::client::Client;
use super::remote::greet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, AttachParams, AttachedProcess};

/// How long the pod's daemon may take to answer: on a pod's first start it answers once
/// the repository is cloned.
const HELLO: std::time::Duration = std::time::Duration::from_secs(600);

/// The container that runs flotilla in a session's pod.
pub const CONTAINER: &str = "flotilla";

/// The exec that carries the stream. Dropping the client ends it: the API server then
/// ends the command in the pod (dropping the stdin writer alone would not).
struct Exec(AttachedProcess);

impl Drop for Exec {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Connects to the daemon in `pod`, started there if none runs. `name` is what errors
/// call it (the cluster and the session).
pub async fn connect(pods: &Api<Pod>, pod: &str, name: &str) -> Result<Client, String> {
    let params = AttachParams::default()
        .container(CONTAINER)
        .stdin(true)
        .stdout(true)
        .stderr(false);
    // The pod's own flotilla is its daemon: the bridge waits for it (it may be cloning)
    // and never starts another.
    let command = ["flotilla", "daemon", "--stdio", "--wait"];
    let mut attached = pods
        .exec(pod, command, &params)
        .await
        .map_err(|e| format!("cannot reach {name}: exec in pod {pod}: {e}"))?;
    let (Some(stdin), Some(stdout)) = (attached.stdin(), attached.stdout()) else {
        return Err(format!(
            "cannot reach {name}: the exec in pod {pod} has no stdio"
        ));
    };
    let silent = format!("{name} does not answer in time: the API server or the pod is slow");
    let carrier = Box::new(Exec(attached));
    let client = Client::over_stream(stdout, Box::new(stdin), silent, Some(carrier));
    greet(name, client, HELLO).await.map_err(|e| {
        e.unwrap_or_else(|| format!("{name}: the exec in pod {pod} ended before hello"))
    })
}
