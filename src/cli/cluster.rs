//! `--cluster NAME`: the subcommands on a Kubernetes cluster's sessions. `new`, `stop`,
//! `resume` and `rm` make and delete the session's pod and volume through the API server;
//! everything else is the pod's daemon's to answer, reached through exec.

use super::Cmd;
use super::output::{out, outln};
use super::run::{execute, expect_session, print_json, print_note};
use crate::cluster::objects::{self, WORKSPACE_IN_HOME};
use crate::cluster::{Cluster, Entry, PodState, api::START};
use crate::config::Config;
use crate::core::{Session, SessionId, Strategy, sanitize};
use crate::paths::Paths;
use crate::protocol::{Command, NewSession, Reply};
use futures::StreamExt;
use serde::Serialize;
use std::time::Duration;

/// How long a deleted pod may take to end (its grace period, and a little more).
const END: Duration = Duration::from_secs(60);
/// How long a running pod's daemon takes to answer before `ls` lists it as starting and
/// the other commands say what they wait for: one still cloning its repository answers
/// only after the clone, which may take minutes.
const ANSWER: Duration = Duration::from_secs(10);

pub(super) async fn run(name: &str, command: Cmd, paths: &Paths, json: bool) -> Result<(), String> {
    let (config, problem) = Config::load(&paths.config_file);
    if let Some(problem) = problem {
        return Err(problem);
    }
    let Some(settings) = config.clusters.get(name) else {
        let known: Vec<&str> = config.clusters.keys().map(String::as_str).collect();
        return Err(format!(
            "no cluster `{name}` in config.toml: add [clusters.{name}] with image = \"...\" (clusters: {})",
            match known.is_empty() {
                true => "none".to_string(),
                false => known.join(", "),
            }
        ));
    };
    let cluster = Cluster::connect(name, settings).await?;
    match command {
        Cmd::New { repo: None, .. } => Err(format!(
            "a session on cluster {name} works on a clone made in its pod: give --repo URL"
        )),
        Cmd::New {
            repo: Some(repo),
            strategy,
            title,
            branch,
            agent,
            model,
            prompt,
            template,
            limits,
            parent: None,
            notify: None,
            dir: _,
        } => {
            let spec = NewSession {
                dir: WORKSPACE_IN_HOME.into(),
                strategy: Some(strategy.unwrap_or(Strategy::Existing)),
                title,
                branch,
                agent,
                model,
                prompt,
                template,
                limits: limits.limits(),
                ..NewSession::default()
            };
            new(&cluster, &repo, spec, json).await
        }
        Cmd::New { .. } => Err(
            "--parent is not for cluster sessions: each pod's daemon knows only its own session"
                .to_string(),
        ),
        Cmd::Ls { .. } => ls(&cluster, json).await,
        Cmd::Stop { cleanup: true, .. } => Err(format!(
            "on cluster {name}, stop keeps the session's volume: `rm --cleanup` deletes it"
        )),
        Cmd::Stop { id, .. } => stop(&cluster, &id, json).await,
        Cmd::Resume { id } => resume(&cluster, &id, json).await,
        Cmd::Rm { cleanup: false, .. } => Err(format!(
            "a session on cluster {name} lives on its volume: `stop` keeps it, `rm --cleanup` deletes the pod and the volume"
        )),
        Cmd::Rm { id, .. } => rm(&cluster, &id, json).await,
        Cmd::Shell { id, command } => {
            let entry = cluster.find(&id).await?;
            match entry.pod {
                PodState::Running => super::pod_shell::shell(&cluster, &entry, &command).await,
                _ => reach(&cluster, &entry).await.map(drop),
            }
        }
        command => match session_of(&command) {
            Some(id) => {
                let entry = cluster.find(id).await?;
                let mut client = reach(&cluster, &entry).await?;
                execute(command, &mut client, json, true).await
            }
            None => Err(format!(
                "this subcommand is not for cluster sessions: leave out --cluster {name}"
            )),
        },
    }
}

/// The session a subcommand acts on, for those the pod's daemon carries out.
fn session_of(command: &Cmd) -> Option<&str> {
    match command {
        Cmd::Answer { id, .. }
        | Cmd::Wait { id, .. }
        | Cmd::Show { id }
        | Cmd::Send { id, .. }
        | Cmd::Steer { id, .. }
        | Cmd::Log { id, .. }
        | Cmd::Abort { id, .. }
        | Cmd::Diff { id, .. }
        | Cmd::Comment { id, .. }
        | Cmd::Comments { id, .. }
        | Cmd::Checkpoints { id }
        | Cmd::Rollback { id, .. }
        | Cmd::Commit { id, .. }
        | Cmd::Push { id, .. } => Some(id),
        _ => None,
    }
}

/// The daemon of a session whose pod runs; otherwise why not, and what to do.
async fn reach(cluster: &Cluster, entry: &Entry) -> Result<crate::daemon::Client, String> {
    let short = entry.id.short();
    match &entry.pod {
        PodState::Running => daemon(cluster, &entry.name).await,
        PodState::Gone => Err(format!(
            "session {short} is stopped (its pod is deleted, its volume kept): `flotilla --cluster {} resume {short}` starts it",
            cluster.name
        )),
        state => Err(format!(
            "session {short}'s pod is {}: {}",
            state.word(),
            state.reason().unwrap_or("wait for it, or resume")
        )),
    }
}

/// The daemon in pod `name`, saying so on stderr when it is slow to answer.
async fn daemon(cluster: &Cluster, name: &str) -> Result<crate::daemon::Client, String> {
    let reached = cluster.daemon(name);
    tokio::pin!(reached);
    tokio::select! {
        reached = &mut reached => return reached,
        _ = tokio::time::sleep(ANSWER) => {}
    }
    eprintln!(
        "note: waiting for the daemon in pod {name}, which has not answered in {}s: its repository may still be cloning",
        ANSWER.as_secs()
    );
    reached.await
}

async fn new(
    cluster: &Cluster,
    repo: &str,
    mut spec: NewSession,
    json: bool,
) -> Result<(), String> {
    let id = SessionId::new();
    spec.id = Some(id);
    let name = objects::name(id);
    cluster.create(id, repo).await?;
    let made = async {
        cluster.wait_running(&name, START).await?;
        let client = daemon(cluster, &name).await?;
        let made = expect_session(client.request(Command::New(spec)).await?)?;
        if made.0.id != id {
            return Err(format!(
                "the flotilla in image {} is older than this one: give the cluster an image of this version",
                cluster.config.image
            ));
        }
        Ok(made)
    };
    let (session, note) = match made.await {
        Ok(made) => made,
        Err(e) => {
            // Nothing is left half-made: the pod and the volume go with the error.
            let _ = cluster.delete_pod(&name, END).await;
            let _ = cluster.delete_claim(&name).await;
            return Err(e);
        }
    };
    let _ = cluster.note_title(&name, &session.title).await;
    print_note(note);
    match json {
        true => print_json(&session),
        false => {
            outln!("{}", session.id);
            Ok(())
        }
    }
}

async fn stop(cluster: &Cluster, id: &str, json: bool) -> Result<(), String> {
    let entry = cluster.find(id).await?;
    // The pod's daemon ends the agent and keeps the session's record first; a pod that
    // does not answer is ended by its deletion all the same.
    if entry.pod == PodState::Running
        && let Ok(client) = cluster.daemon(&entry.name).await
    {
        let stop = Command::Stop {
            id: entry.id.to_string(),
            cleanup: false,
            force: false,
        };
        let _ = client.request(stop).await;
    }
    cluster.delete_pod(&entry.name, END).await?;
    done(json, &entry, "stopped: its pod is deleted, its volume kept")
}

async fn resume(cluster: &Cluster, id: &str, json: bool) -> Result<(), String> {
    let entry = cluster.find(id).await?;
    match &entry.pod {
        PodState::Running => {}
        PodState::Failed(_) | PodState::Ending => {
            cluster.delete_pod(&entry.name, END).await?;
            cluster.start_pod(entry.id, &entry.repo).await?;
        }
        PodState::Gone => cluster.start_pod(entry.id, &entry.repo).await?,
        PodState::Starting(_) => {}
    }
    cluster.wait_running(&entry.name, START).await?;
    let client = cluster.daemon(&entry.name).await?;
    let id = entry.id.to_string();
    // A pod that ended without `stop` (evicted, crashed) brings its session back live
    // as its daemon starts: then there is nothing more to resume.
    let (session, note) = expect_session(client.request(Command::Get { id: id.clone() }).await?)?;
    let (session, note) = match session.status.is_live() {
        true => (session, note),
        false => expect_session(client.request(Command::Resume { id }).await?)?,
    };
    print_note(note);
    match json {
        true => print_json(&session),
        false => {
            outln!("{} {}", session.id.short(), session.status.as_str());
            Ok(())
        }
    }
}

async fn rm(cluster: &Cluster, id: &str, json: bool) -> Result<(), String> {
    let entry = cluster.find(id).await?;
    cluster.delete_pod(&entry.name, END).await?;
    cluster.delete_claim(&entry.name).await?;
    done(json, &entry, "removed: its pod and its volume are deleted")
}

fn done(json: bool, entry: &Entry, what: &str) -> Result<(), String> {
    match json {
        true => print_json(&serde_json::json!({"id": entry.id, "pod": entry.name})),
        false => {
            outln!("{} {what}", entry.id.short());
            Ok(())
        }
    }
}

/// A cluster session in `ls`: its objects' state, and the session as its pod's daemon has
/// it while the pod runs.
#[derive(Serialize)]
struct Line {
    id: SessionId,
    pod: String,
    state: &'static str,
    reason: Option<String>,
    repo: String,
    session: Option<Session>,
}

/// How many pods' daemons `ls` asks at once.
const ASK_AT_ONCE: usize = 8;

async fn ls(cluster: &Cluster, json: bool) -> Result<(), String> {
    let entries = cluster.sessions().await?;
    let lines: Vec<Line> = futures::stream::iter(entries)
        .map(|entry| async move {
            let mut line = Line {
                id: entry.id,
                pod: entry.name.clone(),
                state: entry.pod.word(),
                reason: entry.pod.reason().map(str::to_string),
                repo: entry.repo.clone(),
                session: None,
            };
            if entry.pod == PodState::Running {
                match tokio::time::timeout(ANSWER, session(cluster, &entry)).await {
                    Ok(Ok(session)) => line.session = Some(session),
                    Ok(Err(e)) => (line.state, line.reason) = ("disconnected", Some(e)),
                    Err(_) => {
                        let why = format!(
                            "its daemon has not answered in {}s: its repository may still be cloning",
                            ANSWER.as_secs()
                        );
                        (line.state, line.reason) = ("starting", Some(why));
                    }
                }
            }
            (line, entry.title)
        })
        .buffered(ASK_AT_ONCE)
        .map(|(mut line, title)| {
            if line.session.is_none() && title.is_some() {
                line.reason = line.reason.or(title.map(|t| format!("“{t}”")));
            }
            line
        })
        .collect()
        .await;
    if json {
        return print_json(&lines);
    }
    out!("{}", table(&cluster.name, &lines));
    Ok(())
}

async fn session(cluster: &Cluster, entry: &Entry) -> Result<Session, String> {
    let client = cluster.daemon(&entry.name).await?;
    match client.request(Command::List).await? {
        Reply::Sessions { sessions } => (sessions.into_iter())
            .find(|s| s.id == entry.id)
            .ok_or_else(|| "its pod's daemon does not have it".to_string()),
        _ => Err("its pod's daemon answered List with something else".into()),
    }
}

fn table(cluster: &str, lines: &[Line]) -> String {
    if lines.is_empty() {
        return format!(
            "no sessions on cluster {cluster}: create one with `flotilla --cluster {cluster} new --repo URL`\n"
        );
    }
    let mut out = format!("{:<8}  {:<13}  {:<17}  TITLE\n", "ID", "STATUS", "POD");
    for line in lines {
        let (status, what) = match &line.session {
            Some(s) => (s.status.as_str(), s.title.clone()),
            None => (line.state, line.reason.clone().unwrap_or_default()),
        };
        out.push_str(&format!(
            "{:<8}  {:<13}  {:<17}  {}\n",
            line.id.short(),
            status,
            line.pod,
            sanitize(&what)
        ));
    }
    out
}
