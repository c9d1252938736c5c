//! `new` to the first streamed token, on a Kubernetes cluster beside this machine, in one
//! run, with the shell agent. The cluster path is what `flotilla --cluster NAME new
//! --prompt` does: the volume and the pod made through the API server, the pod running
//! (the test's kubelet starts its `flotilla daemon --pod`, which clones the repository),
//! the pod's daemon reached through exec, the session made there with its prompt, and
//! its answer's first `PartDelta` back through exec. The local path is the same `New`
//! with the prompt to the local daemon. Both measure from before the first request.
//!
//! Needs the kube-apiserver and etcd that scripts/setup installs.

#[path = "../tests/support/mod.rs"]
mod support;

use flotilla::cluster::{Cluster as Api, objects};
use flotilla::config::ClusterConfig;
use flotilla::core::{SessionId, Strategy};
use flotilla::daemon::{Client, Events};
use flotilla::paths::Paths;
use flotilla::protocol::{Command, Event, NewSession};
use std::time::{Duration, Instant};
use support::cluster::Cluster;

const RUNS: usize = 10;
const WAIT: Duration = Duration::from_secs(60);

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (mut local, mut far) = runtime.block_on(async {
        let Some(k) = Cluster::start().await else {
            panic!("the cluster bench needs kube-apiserver and etcd: run scripts/setup");
        };
        // SAFETY: set before any thread of this bench reads the environment for it.
        unsafe { std::env::set_var("KUBECONFIG", k.api.kubeconfig()) };
        let config = ClusterConfig {
            context: Some(support::kube::CONTEXT.into()),
            namespace: None,
            image: "flotilla:test".into(),
            storage_class: None,
            volume_size: "1Gi".into(),
            requests: Default::default(),
            limits: Default::default(),
            env_from_secret: None,
        };
        let api = Api::connect("test", &config).await.expect("the cluster");
        k.user.ok(&["ls"]);
        let paths = Paths::with_home(k.user.home.path()).expect("paths");
        let (mut near, mut away) = (Vec::new(), Vec::new());
        for run in 0..RUNS {
            let client = Client::connect_or_spawn(&paths).await.expect("local");
            near.push(local_first_token(client, k.origin(), run).await);
            away.push(cluster_first_token(&api, k.origin(), run).await);
        }
        (near, away)
    });
    println!("| figure | value | baseline |");
    println!("|---|---|---|");
    println!(
        "| `new` to first streamed token (median / max of {RUNS}) | cluster {} | local daemon {} |",
        spread(&mut far),
        spread(&mut local)
    );
}

fn prompt(run: usize) -> (String, String) {
    // printf, so that the prompt itself never holds the marker.
    (
        format!("printf 'token-%s\\n' {run}"),
        format!("token-{run}"),
    )
}

async fn local_first_token(mut client: Client, origin: &str, run: usize) -> Duration {
    let (text, marker) = prompt(run);
    let start = Instant::now();
    let mut events = client.take_events().expect("events");
    client.request(Command::Subscribe).await.expect("subscribe");
    let new = NewSession {
        dir: origin.into(),
        strategy: Some(Strategy::Existing),
        prompt: Some(text),
        ..NewSession::default()
    };
    client.request(Command::New(new)).await.expect("new");
    first(&mut events, &marker).await;
    start.elapsed()
}

async fn cluster_first_token(api: &Api, origin: &str, run: usize) -> Duration {
    let (text, marker) = prompt(run);
    let start = Instant::now();
    let id = SessionId::new();
    let name = objects::name(id);
    api.create(id, origin).await.expect("volume and pod");
    api.wait_running(&name, WAIT).await.expect("running");
    let mut client = api.daemon(&name).await.expect("the pod's daemon");
    let mut events = client.take_events().expect("events");
    client.request(Command::Subscribe).await.expect("subscribe");
    let new = NewSession {
        dir: objects::WORKSPACE_IN_HOME.into(),
        strategy: Some(Strategy::Existing),
        prompt: Some(text),
        id: Some(id),
        ..NewSession::default()
    };
    client.request(Command::New(new)).await.expect("new");
    first(&mut events, &marker).await;
    let took = start.elapsed();
    drop(client);
    api.delete_pod(&name, WAIT).await.expect("pod deleted");
    api.delete_claim(&name).await.expect("volume deleted");
    took
}

async fn first(events: &mut Events, marker: &str) {
    loop {
        match tokio::time::timeout(WAIT, events.recv()).await {
            Ok(Some(Event::PartDelta { text, .. })) if text.contains(marker) => return,
            Ok(Some(_)) => {}
            other => panic!("waited for the first token: {other:?}"),
        }
    }
}

fn spread(times: &mut [Duration]) -> String {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!(
        "{:.0} ms / {:.0} ms",
        ms(times[times.len() / 2]),
        ms(times[times.len() - 1])
    )
}
