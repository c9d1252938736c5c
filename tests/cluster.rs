//! Sessions on Kubernetes, end to end: the real `flotilla` binary drives a real API server
//! through kube-rs; the test plays the scheduler and the kubelet, running each pod's
//! `flotilla daemon --pod` as a local process on a directory that stands for its volume.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};
use support::cluster::{Cluster, label, pod_name};

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_session_lives_in_its_pod_and_on_its_volume_through_stop_and_resume() {
    let Some(k) = Cluster::start().await else {
        return;
    };
    let prompt = "printf 'from-the-%s\\n' pod | tee notes.txt";
    let new = [
        "new",
        "--repo",
        k.origin(),
        "--title",
        "in a pod",
        "--prompt",
        prompt,
    ];
    let id = k.ok(&new).await.trim().to_string();
    let name = pod_name(&id);

    // The volume and the pod, through the API, both carrying the session's id.
    let claim = k.claims().get(&name).await.expect("the session's volume");
    assert_eq!(
        label(&claim.metadata, "flotilla.dev/session"),
        Some(id.clone())
    );
    let pod = k.pods().get(&name).await.expect("the session's pod");
    assert_eq!(
        label(&pod.metadata, "flotilla.dev/session"),
        Some(id.clone())
    );
    let mounts = pod.spec.expect("spec").volumes.unwrap_or_default();
    assert_eq!(
        (mounts[0].persistent_volume_claim.as_ref()).map(|c| c.claim_name.clone()),
        Some(name.clone())
    );

    // The turn ran in the pod, on the clone it made on its volume; its output and its
    // diff come back through exec.
    k.ok(&["wait", &id, "--timeout", "60s"]).await;
    let log = k.ok(&["log", &id]).await;
    assert!(log.contains("from-the-pod"), "{log}");
    let diff = k.ok(&["diff", &id]).await;
    assert!(diff.contains("notes.txt"), "{diff}");
    let workspace = k.volume(&name).join("work");
    assert_eq!(read(&workspace.join("notes.txt")), "from-the-pod\n");
    assert!(
        k.volume(&name).join("flotilla/flotilla.db").exists(),
        "the record is on the volume"
    );

    // stop: the pod goes, the volume stays.
    let said = k.ok(&["stop", &id]).await;
    assert!(said.contains("volume kept"), "{said}");
    assert!(
        k.pods().get_opt(&name).await.expect("get").is_none(),
        "the pod is deleted"
    );
    assert!(
        k.claims().get_opt(&name).await.expect("get").is_some(),
        "the volume is kept"
    );
    assert!(!k.runner.runs(&name), "the pod's flotilla ended");
    let listed = k.json(&["ls"]).await;
    assert_eq!(listed[0]["state"], "stopped", "{listed}");

    // resume: the pod again, on the same volume, with the conversation and the files.
    k.ok(&["resume", &id]).await;
    assert!(
        k.pods().get_opt(&name).await.expect("get").is_some(),
        "the pod is back"
    );
    let log = k.ok(&["log", &id]).await;
    assert!(
        log.contains("from-the-pod"),
        "the transcript survived: {log}"
    );
    k.ok(&["send", &id, "cat notes.txt; echo again-$((40+2))"])
        .await;
    k.ok(&["wait", &id, "--timeout", "60s"]).await;
    let log = k.ok(&["log", &id]).await;
    assert!(log.contains("again-42"), "{log}");
    assert_eq!(
        log.matches("from-the-pod").count(),
        2,
        "the file was there: {log}"
    );
    let listed = k.json(&["ls"]).await;
    assert_eq!(listed[0]["session"]["status"], "idle", "{listed}");

    // A terminal in the pod, through exec: its home is the volume.
    let shell = [
        "shell",
        &id,
        "--",
        "cat ~/work/notes.txt; echo shell-$((6*7))",
    ];
    let said = k.ok(&shell).await;
    assert!(
        said.contains("from-the-pod") && said.contains("shell-42"),
        "{said}"
    );

    // rm needs --cleanup, which deletes both.
    let out = k.run(&["rm", &id]).await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("rm --cleanup"), "{err}");
    k.ok(&["rm", &id, "--cleanup"]).await;
    assert!(k.pods().get_opt(&name).await.expect("get").is_none());
    assert!(k.claims().get_opt(&name).await.expect("get").is_none());
    let listed = k.ok(&["ls"]).await;
    assert!(
        listed.starts_with("no sessions on cluster test"),
        "{listed}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_evicted_pod_makes_its_session_disconnected_with_the_reason() {
    let Some(k) = Cluster::start().await else {
        return;
    };
    let id = k
        .ok(&["new", "--repo", k.origin()])
        .await
        .trim()
        .to_string();
    let name = pod_name(&id);
    let listed = k.json(&["ls"]).await;
    assert_eq!(listed[0]["session"]["status"], "idle", "{listed}");

    let message = "The node was low on resource: memory.";
    k.runner.fail(&name, "Evicted", message).await;
    let failed = Instant::now();
    let listed = k.json(&["ls"]).await;
    let seen = failed.elapsed();
    assert_eq!(listed[0]["state"], "disconnected", "{listed}");
    let reason = listed[0]["reason"].as_str().unwrap_or("");
    assert!(
        reason.contains("Evicted") && reason.contains(message),
        "{listed}"
    );
    assert!(seen < Duration::from_secs(5), "seen after {seen:?}");
    let out = k.run(&["send", &id, "echo hi"]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("Evicted"), "{err}");

    // resume makes a new pod on the same volume.
    k.ok(&["resume", &id]).await;
    let listed = k.json(&["ls"]).await;
    assert_eq!(listed[0]["state"], "running", "{listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_still_cloning_is_listed_starting_and_new_says_what_it_waits_for() {
    let Some(k) = Cluster::start().await else {
        return;
    };
    // A git server that takes the connection and never answers: the clone in the pod
    // hangs, and its daemon with it.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("git://{}/hangs.git", silent.local_addr().expect("addr"));
    let mut new = k
        .user
        .command(&["--cluster", "test", "new", "--repo", &url]);
    let said = tempfile::NamedTempFile::new().expect("stderr");
    new.env("KUBECONFIG", k.api.kubeconfig())
        .stdout(std::process::Stdio::null())
        .stderr(said.reopen().expect("stderr"));
    let mut new = new.spawn().expect("new");
    let pods = k.pods();
    let running = || async {
        let listed = pods.list(&Default::default()).await;
        listed.is_ok_and(|l| {
            (l.items.iter()).any(|p| {
                let phase = p.status.as_ref().and_then(|s| s.phase.as_deref());
                phase == Some("Running")
            })
        })
    };
    support::poll::until(Duration::from_secs(60), "the pod to run", running).await;

    // Well within the 600 s the pod's daemon is given to answer once cloned.
    let asked = Instant::now();
    let listed = tokio::time::timeout(Duration::from_secs(60), k.json(&["ls"])).await;
    let listed = listed.unwrap_or_else(|_| panic!("ls still waiting after {:?}", asked.elapsed()));
    assert_eq!(listed[0]["state"], "starting", "{listed}");
    let reason = listed[0]["reason"].as_str().unwrap_or("");
    assert!(reason.contains("may still be cloning"), "{listed}");
    // `new`, waiting on, says what for.
    let noted = || std::future::ready(read(said.path()).contains("may still be cloning"));
    support::poll::until(
        Duration::from_secs(30),
        "new to say what it waits for",
        noted,
    )
    .await;
    let _ = new.kill();
    let _ = new.wait();
    let note = read(said.path());
    assert_eq!(note.trim_end().lines().count(), 1, "{note}");
    drop(silent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_cluster_input_gets_one_line_that_says_what_to_do() {
    let Some(k) = Cluster::start().await else {
        return;
    };
    for (args, expect) in [
        (vec!["new"], "give --repo URL"),
        (vec!["rm", "ffff"], "rm --cleanup"),
        (vec!["stop", "ffff"], "no session ffff"),
        (vec!["history"], "not for cluster sessions"),
    ] {
        let out = k.run(&args).await;
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains(expect), "{args:?}: {err}");
    }
    // A repository the pod cannot clone leaves nothing behind.
    let out = k.run(&["new", "--repo", "/nowhere/at/all"]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    // The pod's last words say why.
    assert!(err.contains("cannot clone /nowhere/at/all"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    let left = k.claims().list(&Default::default()).await.expect("list");
    assert!(left.items.is_empty(), "no volume is left behind");
    let other = k
        .user
        .command(&["--cluster", "nope", "ls"])
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&other.stderr);
    assert!(
        err.contains("no cluster `nope`") && err.contains("test"),
        "{err}"
    );
}
