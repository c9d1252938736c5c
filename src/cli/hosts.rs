//! `flotilla hosts` and `flotilla ls --all-hosts`: every configured host at once, each
//! reached on its own, so one that is down costs only its own line.

use super::output::out;
use super::render;
use super::run::print_json;
use crate::config::{Config, LOCAL};
use crate::core::Session;
use crate::daemon::{Client, remote};
use crate::paths::Paths;
use crate::protocol::{Command, DaemonStatus, Reply};
use serde::Serialize;
use std::time::Duration;

/// How long one host may take to answer before it is reported unreachable.
const PATIENCE: Duration = Duration::from_secs(40);

#[derive(Debug, Serialize)]
struct HostLine {
    host: String,
    /// `local`, or the ssh destination.
    destination: String,
    reachable: bool,
    /// Why the host could not be reached.
    error: Option<String>,
    version: Option<String>,
    protocol: Option<u32>,
    sessions: Option<usize>,
    live_sessions: Option<usize>,
}

fn names(config: &Config) -> Vec<(String, String)> {
    std::iter::once((LOCAL.to_string(), "this machine".to_string()))
        .chain(config.hosts.iter().map(|(n, h)| (n.clone(), h.ssh.clone())))
        .collect()
}

pub(super) async fn hosts(paths: &Paths, json: bool) -> Result<(), String> {
    let (config, _) = Config::load(&paths.config_file);
    let asks = names(&config).into_iter().map(|(host, destination)| {
        let config = &config;
        async move {
            let status = ask(&host, config, paths, Command::DaemonStatus).await;
            let status = status.and_then(|reply| match reply {
                Reply::DaemonStatus(status) => Ok(status),
                other => Err(format!("host {host} answered with {other:?}")),
            });
            line(host, destination, status)
        }
    });
    let lines = futures::future::join_all(asks).await;
    if json {
        return print_json(&lines);
    }
    let mut text = format!(
        "{:<12}  {:<24}  {:<11}  {:<8}  {:>8}  {:>4}\n",
        "HOST", "DESTINATION", "STATE", "VERSION", "SESSIONS", "LIVE"
    );
    for l in &lines {
        let count = |n: Option<usize>| n.map_or("-".into(), |n| n.to_string());
        let state = match (&l.error, l.reachable) {
            (_, true) => "up",
            (Some(e), false) if e.starts_with("no daemon") => "not running",
            _ => "unreachable",
        };
        text.push_str(&format!(
            "{:<12}  {:<24}  {:<11}  {:<8}  {:>8}  {:>4}\n",
            crate::core::text::fit(&l.host, 12),
            crate::core::text::fit(&l.destination, 24),
            state,
            crate::core::sanitize(l.version.as_deref().unwrap_or("-")),
            count(l.sessions),
            count(l.live_sessions),
        ));
        if let Some(e) = &l.error {
            text.push_str(&format!("{:<12}  └ {}\n", "", crate::core::sanitize(e)));
        }
    }
    out!("{text}");
    Ok(())
}

fn line(host: String, destination: String, status: Result<DaemonStatus, String>) -> HostLine {
    match status {
        Ok(s) => HostLine {
            host,
            destination,
            reachable: true,
            error: None,
            version: Some(s.version),
            protocol: Some(s.protocol),
            sessions: Some(s.sessions),
            live_sessions: Some(s.live_sessions),
        },
        Err(e) => HostLine {
            host,
            destination,
            reachable: false,
            error: Some(e),
            version: None,
            protocol: None,
            sessions: None,
            live_sessions: None,
        },
    }
}

/// One request to one host. Asking about `local` does not start a daemon there.
async fn ask(
    host: &str,
    config: &Config,
    paths: &Paths,
    command: Command,
) -> Result<Reply, String> {
    let work = async {
        let client = match host {
            LOCAL => Client::connect(paths).await?.ok_or_else(|| {
                "no daemon is running here: any flotilla command starts one".to_string()
            })?,
            _ => remote::connect_to(host, &config.hosts, paths).await?,
        };
        client.request(command).await
    };
    tokio::time::timeout(PATIENCE, work)
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "host {host} did not answer within {}s",
                PATIENCE.as_secs()
            ))
        })
}

/// Sessions of a host, as `--json` prints them: each with its host.
#[derive(Serialize)]
struct HostSession<'a> {
    host: &'a str,
    #[serde(flatten)]
    session: &'a Session,
}

pub(super) async fn ls_all(paths: &Paths, json: bool) -> Result<(), String> {
    let (config, _) = Config::load(&paths.config_file);
    let asks = names(&config).into_iter().map(|(host, _)| {
        let config = &config;
        async move {
            let listed = match ask(&host, config, paths, Command::List).await {
                Ok(Reply::Sessions { sessions }) => Ok(sessions),
                // No daemon here means no sessions here, not a failure.
                Err(e) if host == LOCAL && e.starts_with("no daemon") => Ok(Vec::new()),
                Ok(other) => Err(format!("host {host} answered with {other:?}")),
                Err(e) => Err(e),
            };
            (host, listed)
        }
    });
    let mut listed = Vec::new();
    for (host, result) in futures::future::join_all(asks).await {
        match result {
            Ok(sessions) => listed.push((host, sessions)),
            Err(e) => eprintln!(
                "flotilla: host {host} left out: {}",
                crate::core::sanitize(&e)
            ),
        }
    }
    if json {
        let all: Vec<HostSession> = listed
            .iter()
            .flat_map(|(host, sessions)| {
                sessions.iter().map(|session| HostSession { host, session })
            })
            .collect();
        return print_json(&all);
    }
    out!("{}", render::fleet_table(&listed, chrono::Utc::now()));
    Ok(())
}
