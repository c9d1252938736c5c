//! The dashboard with sessions on a Kubernetes cluster, in a real terminal: a local session
//! and pods' sessions side by side, through an eviction, an API server outage and a
//! session removed with its volume.

mod support;

use std::time::{Duration, Instant};
use support::cluster::{Cluster, pod_name};
use support::tmux::*;
use tokio::task::block_in_place;

/// The promise: a failed pod is shown as such within this.
const NOTICED: Duration = Duration::from_secs(5);

fn host_header(screen: &str, host: &str) -> Option<String> {
    let head = format!("▌{host} ");
    (screen.lines())
        .find(|l| l.contains(&head))
        .map(|l| l[l.find(&head).unwrap_or(0)..].to_string())
}

fn host_of(id: &str) -> String {
    format!("test/{}", &id.replace('-', "")[..8])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_and_cluster_sessions_side_by_side_through_an_eviction_an_api_outage_and_a_removal() {
    let Some(mut k) = Cluster::start().await else {
        return;
    };
    let repo = git_repo();
    block_in_place(|| k.user.titled_session(repo.path(), "near one"));
    let new = |title: &'static str| ["new", "--repo", "", "--title", title];
    let mut far = new("far one");
    far[2] = k.origin();
    let far = k.ok(&far).await.trim().to_string();
    let mut other = new("other one");
    other[2] = k.origin();
    let other = k.ok(&other).await.trim().to_string();
    let (far_host, other_host) = (host_of(&far), host_of(&other));

    let env = [format!("KUBECONFIG={}", k.api.kubeconfig().display())];
    let tmux = block_in_place(|| Tmux::start_with(&k.user, repo.path(), 120, 40, &env));
    let screen = block_in_place(|| {
        tmux.wait_until("local and both pods up", |s| {
            [
                ("local", "· 1 session"),
                (&far_host, "· 1 session"),
                (&other_host, "· 1 session"),
            ]
            .iter()
            .all(|(host, what)| host_header(s, host).is_some_and(|h| h.contains(what)))
        })
    });
    for title in ["near one", "far one", "other one"] {
        assert!(screen.contains(title), "{title}:\n{screen}");
    }

    // s opens a terminal in the selected session's pod, in its workspace, and the
    // dashboard comes back after it.
    block_in_place(|| {
        tmux.keys(&["j"]);
        let top = |s: &str| s.lines().next().unwrap_or("").to_string();
        let screen = tmux.wait_until("a pod's session selected", |s| {
            top(s).contains("far one") || top(s).contains("other one")
        });
        if !top(&screen).contains("far one") {
            tmux.keys(&["j"]);
            tmux.wait_header("far one");
        }
        tmux.keys(&["s"]);
        tmux.type_text("echo in-pod-$((40+2)) > shell-was-here; exit\n");
    });
    let mark = k.volume(&pod_name(&far)).join("work/shell-was-here");
    let seen = || std::future::ready(mark.exists());
    support::poll::until(WAIT, "the shell to write in the pod's workspace", seen).await;
    assert_eq!(
        std::fs::read_to_string(&mark).unwrap_or_default(),
        "in-pod-42\n"
    );
    block_in_place(|| tmux.wait_until("the dashboard back", |s| host_header(s, "local").is_some()));

    // The node evicts a pod: its session is shown disconnected, with the pod's reason.
    let message = "The node was low on resource: memory.";
    k.runner.fail(&pod_name(&far), "Evicted", message).await;
    let failed = Instant::now();
    let screen = block_in_place(|| {
        tmux.wait_until("the eviction shown", |s| {
            host_header(s, &far_host).is_some_and(|h| h.contains("disconnected"))
                && s.lines().last().is_some_and(|l| l.contains("Evicted"))
        })
    });
    let noticed = failed.elapsed();
    assert!(noticed < NOTICED, "noticed after {noticed:?}:\n{screen}");
    assert!(
        host_header(&screen, &other_host).is_some_and(|h| h.contains("· 1 session")),
        "the other pod is untouched:\n{screen}"
    );

    // The API server goes: the cluster's sessions grey out; back, they come back by
    // themselves.
    k.api.stop();
    block_in_place(|| {
        tmux.wait_until("the cluster away", |s| {
            host_header(s, &other_host).is_some_and(|h| h.contains("disconnected"))
        })
    });
    assert!(host_header(&tmux.screen(), "local").is_some_and(|h| h.contains("· 1 session")));
    block_in_place(|| k.api.restart());
    block_in_place(|| {
        tmux.wait_until("the cluster back", |s| {
            host_header(s, &other_host).is_some_and(|h| h.contains("· 1 session"))
        })
    });

    // `rm --cleanup` deletes the pod and its volume: that session leaves the sidebar.
    k.ok(&["rm", &other, "--cleanup"]).await;
    let screen = block_in_place(|| {
        tmux.wait_until("the removed session gone", |s| {
            host_header(s, &other_host).is_none() && !s.contains("other one")
        })
    });
    assert!(
        host_header(&screen, "local").is_some_and(|h| h.contains("· 1 session")),
        "{screen}"
    );
    assert!(host_header(&screen, &far_host).is_some(), "{screen}");
}
