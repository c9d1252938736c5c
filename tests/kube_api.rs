//! The test API server that the Kubernetes sessions will be driven through: kube-rs, as
//! flotilla uses it, reaches it through a kubeconfig, makes the objects a session needs,
//! watches pods by label, and sees the status the tests set in the kubelet's place.

mod support;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, PersistentVolumeClaim, Pod};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use std::time::Duration;
use support::kube::KubeApi;
use support::kubelet::Kubelet;

const LIMIT: Duration = Duration::from_secs(30);

/// The API server, a client of it, and the kubelet's part with its volumes' directory.
async fn with_kubelet() -> Option<(KubeApi, kube::Client, tempfile::TempDir, Kubelet)> {
    let server = KubeApi::start()?;
    let client = server.client().await;
    let volumes = tempfile::tempdir().expect("volumes");
    let kubelet = Kubelet::start(volumes.path()).await;
    kubelet.register(&client).await;
    Some((server, client, volumes, kubelet))
}

fn object<T: serde::de::DeserializeOwned>(json: serde_json::Value) -> T {
    serde_json::from_value(json).expect("an object")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_rs_makes_a_session_s_objects_and_watches_its_pod_s_status() {
    let Some(mut server) = KubeApi::start() else {
        return;
    };
    let client = server.client().await;
    let nodes: Api<Node> = Api::all(client.clone());
    let node = object(serde_json::json!({"metadata": {"name": "here"}}));
    nodes
        .create(&PostParams::default(), &node)
        .await
        .expect("node");

    let claims: Api<PersistentVolumeClaim> = Api::default_namespaced(client.clone());
    let claim = object(serde_json::json!({
        "metadata": {"name": "s1-work", "labels": {"flotilla.session": "s1"}},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}}
        }
    }));
    claims
        .create(&PostParams::default(), &claim)
        .await
        .expect("pvc");

    let pods: Api<Pod> = Api::default_namespaced(client.clone());
    let selector = watcher::Config::default().labels("flotilla.session=s1");
    let mut watch = watcher(pods.clone(), selector).boxed();
    let pod = object(serde_json::json!({
        "metadata": {"name": "s1", "labels": {"flotilla.session": "s1"}},
        "spec": {
            "nodeName": "here",
            "containers": [{"name": "flotilla", "image": "flotilla:test"}],
            "volumes": [{"name": "work", "persistentVolumeClaim": {"claimName": "s1-work"}}]
        }
    }));
    pods.create(&PostParams::default(), &pod)
        .await
        .expect("pod");

    // In the kubelet's place: the pod fails, with a reason.
    let failed = serde_json::json!({"status": {"phase": "Failed", "reason": "Evicted"}});
    pods.patch_status("s1", &PatchParams::default(), &Patch::Merge(&failed))
        .await
        .expect("status");
    let seen = tokio::time::timeout(LIMIT, async {
        while let Some(event) = watch.next().await {
            let pod = match event.expect("watch") {
                watcher::Event::Apply(pod) | watcher::Event::InitApply(pod) => pod,
                _ => continue,
            };
            let status = pod.status.unwrap_or_default();
            if status.phase.as_deref() == Some("Failed") {
                return status.reason;
            }
        }
        None
    })
    .await
    .expect("the failure seen by the watch");
    assert_eq!(seen.as_deref(), Some("Evicted"));

    // Stopped API server: the client fails; back, it answers and the objects are kept.
    server.stop();
    assert!(pods.get("s1").await.is_err());
    server.restart();
    let client = server.client().await;
    let pods: Api<Pod> = Api::default_namespaced(client.clone());
    assert!(pods.get("s1").await.is_ok(), "{}", server.log());
    pods.delete("s1", &DeleteParams::default())
        .await
        .expect("delete");
    let claims: Api<PersistentVolumeClaim> = Api::default_namespaced(client);
    assert!(
        claims.get("s1-work").await.is_ok(),
        "the volume outlives the pod"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_through_the_api_server_runs_in_the_pod_s_volume_with_stdin_and_stdout() {
    use kube::api::AttachParams;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Some((_server, client, volumes, kubelet)) = with_kubelet().await else {
        return;
    };
    let pods: Api<Pod> = Api::default_namespaced(client.clone());
    let pod = object(serde_json::json!({
        "metadata": {"name": "s2"},
        "spec": {"containers": [{"name": "flotilla", "image": "flotilla:test"}]}
    }));
    pods.create(&PostParams::default(), &pod)
        .await
        .expect("pod");
    kubelet.run(&client, "s2").await;

    let command = [
        "sh",
        "-c",
        "read line; echo \"got $line in $(pwd)\"; echo to-err >&2",
    ];
    let params = AttachParams::default()
        .stdin(true)
        .stdout(true)
        .stderr(true);
    let mut attached = pods.exec("s2", command, &params).await.expect("exec");
    let mut stdin = attached.stdin().expect("stdin");
    stdin.write_all(b"hello\n").await.expect("write");
    stdin.shutdown().await.expect("stdin's end");
    let mut out = String::new();
    (attached.stdout().expect("stdout"))
        .read_to_string(&mut out)
        .await
        .expect("read");
    let mut err = String::new();
    (attached.stderr().expect("stderr"))
        .read_to_string(&mut err)
        .await
        .expect("read");
    let volume = volumes.path().join("s2");
    assert_eq!(out, format!("got hello in {}\n", volume.display()));
    assert_eq!(err, "to-err\n");
    let status = attached.take_status().expect("status");
    attached.join().await.expect("the exec ends cleanly");
    let status = status.await;
    assert_eq!(status.and_then(|s| s.status).as_deref(), Some("Success"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_s_daemon_is_reached_through_exec_and_streams_a_turn_back() {
    use flotilla::core::Strategy;
    use flotilla::protocol::{Command as Ask, Event, NewSession, Reply};
    let Some((_server, client, volumes, kubelet)) = with_kubelet().await else {
        return;
    };
    // The pod's daemon keeps its data on the volume; dropped, it stops that daemon.
    let home = support::cli::Flotilla::new();
    let pods: Api<Pod> = Api::default_namespaced(client.clone());
    let pod = object(serde_json::json!({
        "metadata": {"name": "s3"},
        "spec": {"containers": [{
            "name": "flotilla", "image": "flotilla:test",
            "env": [{"name": "FLOTILLA_HOME", "value": home.home.path()}]
        }]}
    }));
    pods.create(&PostParams::default(), &pod)
        .await
        .expect("pod");
    kubelet.run(&client, "s3").await;
    let repo = volumes.path().join("s3/repo");
    support::repo_at(&repo);
    // The pod's own daemon, as its main process would be: the exec's bridge waits for
    // it and never starts one.
    home.ok(&["ls"]);

    let mut daemon = flotilla::daemon::pod::connect(&pods, "s3", "cluster test")
        .await
        .expect("the pod's daemon");
    let mut events = daemon.take_events().expect("events");
    daemon.request(Ask::Subscribe).await.expect("subscribe");
    let new = Ask::New(NewSession {
        dir: repo.clone(),
        strategy: Some(Strategy::Existing),
        ..NewSession::default()
    });
    let made = daemon.request(new).await;
    let Ok(Reply::Session { session, .. }) = made else {
        panic!("new session in the pod: {made:?}")
    };
    let send = Ask::Send {
        id: session.id.to_string(),
        text: "printf 'from-the-%s\\n' pod".into(),
    };
    daemon.request(send).await.expect("send");
    let streamed = tokio::time::timeout(LIMIT, async {
        while let Some(event) = events.recv().await {
            if let Event::PartDelta {
                session: s, text, ..
            } = event
                && s == session.id
                && text.contains("from-the-pod")
            {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(
        streamed,
        Ok(true),
        "the turn's output came back through exec"
    );
    // The session is the pod's daemon's, on the volume.
    assert!(home.path("flotilla.db").exists());
}
