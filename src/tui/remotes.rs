//! What the dashboard's loop holds of the other hosts: for each, the task that keeps its
//! link and, while the link is up, its client and viewer. Index 0 is this machine, whose
//! client and viewer the loop holds itself.

use super::fleet::{Host, Link};
use super::link::LinkNews;
use super::pods::{PodNews, Seen};
use super::state::State;
use super::update::Msg;
use super::update::fleet::HostNews;
use super::viewer::Viewer;
use crate::cluster::PodState;
use crate::config::HostConfig;
use crate::daemon::Client;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::mpsc;

#[derive(Default)]
pub struct Remote {
    pub client: Option<Arc<Client>>,
    pub viewer: Option<Viewer>,
    link: Option<tokio::task::JoinHandle<()>>,
    /// For a session's pod on a cluster: its host's name, `CLUSTER/ID`.
    pod: Option<String>,
}

impl Drop for Remote {
    fn drop(&mut self) {
        if let Some(link) = &self.link {
            link.abort();
        }
    }
}

/// Adds the configured hosts to the fleet, each connecting on a link of its own that
/// sends its news to `links`, and watches each cluster for its sessions' pods.
pub fn start(
    config: &crate::config::Config,
    state: &mut State,
    links: &mpsc::Sender<LinkNews>,
) -> Vec<Remote> {
    let hosts: &BTreeMap<String, HostConfig> = &config.hosts;
    let mut remotes = vec![Remote::default()];
    // A watch ends as the loop stops listening (or with the runtime): no handle is kept.
    for (name, cluster) in &config.clusters {
        tokio::spawn(super::pods::watch(
            name.clone(),
            cluster.clone(),
            links.clone(),
        ));
    }
    for (host, (name, config)) in hosts.iter().enumerate().map(|(i, h)| (i + 1, h)) {
        state.fleet.hosts.push(Host {
            name: name.clone(),
            link: Link::Connecting,
            ssh: crate::daemon::remote::terminal_command(config),
        });
        let (name, config) = (name.clone(), config.clone());
        let connect = move || {
            let (name, config) = (name.clone(), config.clone());
            async move { crate::daemon::remote::connect(&name, &config).await }
        };
        remotes.push(Remote {
            client: None,
            viewer: None,
            link: Some(tokio::spawn(super::link::keep(
                host,
                connect,
                links.clone(),
            ))),
            pod: None,
        });
    }
    remotes
}

/// Takes a link's news: its client while it is up, and the message for `update`. A pod
/// seen for the first time becomes a host, with a link of its own sending to `links`.
pub fn news(remotes: &mut Vec<Remote>, news: LinkNews, links: &mpsc::Sender<LinkNews>) -> Msg {
    // News a pod's link sent before it was stopped (its pod stopped running) is stale.
    let from = match &news {
        LinkNews::Up { host, .. } | LinkNews::Event { host, .. } | LinkNews::Down { host, .. } => {
            Some(*host)
        }
        LinkNews::Pod(_) => None,
    };
    if let Some(host) = from
        && remotes
            .get(host)
            .is_some_and(|r| r.pod.is_some() && r.link.is_none())
    {
        return Msg::Host {
            host,
            news: HostNews::Same,
        };
    }
    match news {
        LinkNews::Pod(pod) => pod_news(remotes, *pod, links),
        LinkNews::Up {
            host,
            client,
            snapshot,
        } => {
            if let Some(remote) = remotes.get_mut(host) {
                remote.viewer = Some(Viewer::start(client.clone()));
                remote.client = Some(client);
            }
            Msg::Host {
                host,
                news: HostNews::Up(snapshot),
            }
        }
        LinkNews::Event { host, event } => Msg::Host {
            host,
            news: HostNews::Event(event),
        },
        LinkNews::Down { host, why } => {
            if let Some(remote) = remotes.get_mut(host) {
                remote.client = None;
                remote.viewer = None;
            }
            Msg::Host {
                host,
                news: HostNews::Down(why),
            }
        }
    }
}

/// A session's pod as the cluster's watch saw it: its host joins the fleet, its link is
/// kept while the pod runs and held down with the pod's reason while it does not, and
/// it goes when the session's volume does.
fn pod_news(remotes: &mut Vec<Remote>, pod: PodNews, links: &mpsc::Sender<LinkNews>) -> Msg {
    let name = pod.host_name();
    let held = super::pods::held(&pod.seen);
    let found = remotes.iter().position(|r| r.pod.as_deref() == Some(&name));
    let (host, joined) = match found {
        Some(host) => (host, false),
        // A stopped or removed session that this dashboard never saw: nothing to show.
        None if matches!(pod.seen, Seen::Pod(PodState::Gone) | Seen::Removed) => {
            return Msg::Host {
                host: usize::MAX,
                news: HostNews::Same,
            };
        }
        None => {
            remotes.push(Remote {
                client: None,
                viewer: None,
                link: None,
                pod: Some(name.clone()),
            });
            (remotes.len() - 1, true)
        }
    };
    let remote = &mut remotes[host];
    let news = match held {
        Some(why) => {
            if let Some(link) = remote.link.take() {
                link.abort();
            }
            remote.client = None;
            remote.viewer = None;
            match (joined, &pod.seen) {
                (true, _) => HostNews::Joined(Box::new(pod_host(&pod, Link::Down(why)))),
                (false, Seen::Removed) => HostNews::Removed(why),
                (false, Seen::Pod(_)) => HostNews::Held(why),
            }
        }
        None => {
            if remote.link.as_ref().is_none_or(|l| l.is_finished()) {
                let (cluster, id) = (pod.cluster.clone(), pod.id);
                let connect = move || super::pods::connect(cluster.clone(), id);
                let link = super::link::keep(host, connect, links.clone());
                remote.link = Some(tokio::spawn(link));
            }
            match joined {
                true => HostNews::Joined(Box::new(pod_host(&pod, Link::Connecting))),
                false => HostNews::Same,
            }
        }
    };
    Msg::Host { host, news }
}

/// A pod's host: `s` and `e` open a terminal in the pod through this program's
/// `--cluster NAME shell ID -- COMMAND`, as `ssh -t` does on a host.
fn pod_host(pod: &PodNews, link: Link) -> Host {
    let exe = std::env::current_exe().map_or("flotilla".into(), |p| p.display().to_string());
    let shell = [exe.as_str(), "--cluster", &pod.cluster.name, "shell"];
    let mut ssh: Vec<String> = shell.iter().map(|s| s.to_string()).collect();
    ssh.extend([pod.id.to_string(), "--".to_string()]);
    Host {
        name: pod.host_name(),
        link,
        ssh,
    }
}
