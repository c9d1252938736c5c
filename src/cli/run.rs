//! Carrying out a subcommand against the daemon (or an in-process engine).

use super::output::{out, outln};
use super::{Cli, Cmd, render};
use crate::config::Config;
use crate::daemon::Client;
use crate::engine::Engine;
use crate::paths::Paths;
use crate::protocol::{Command, HistoryQuery, NewSession, Reply};
use chrono::Utc;
use serde::Serialize;

/// Runs the subcommand. The error is one line for the user.
pub async fn run(cli: Cli, paths: Paths) -> Result<(), String> {
    let json = cli.json;
    let remote = cli.host.as_deref().filter(|h| *h != crate::config::LOCAL);
    if let (Some(host), Some(Cmd::Daemon { .. })) = (remote, &cli.command) {
        return Err(format!(
            "`flotilla daemon` acts on this machine, not on host {host}: `flotilla hosts` shows every host's daemon"
        ));
    }
    let command = match cli.command {
        Some(Cmd::Daemon {
            action: Some(action),
            ..
        }) => return super::daemon_cmd::daemon(action, &paths, json).await,
        Some(Cmd::Daemon {
            stdio: true, wait, ..
        }) => return crate::daemon::bridge(&paths, wait).await,
        Some(command) => command,
        None => Cmd::Ls { all_hosts: false },
    };
    if let Some(cluster) = cli.cluster.as_deref() {
        if cli.no_daemon {
            return Err(format!(
                "--no-daemon runs the engine here, not in cluster {cluster}: leave out one of them"
            ));
        }
        return super::cluster::run(cluster, command, &paths, json).await;
    }
    let host = cli.host.as_deref().unwrap_or(crate::config::LOCAL);
    if cli.no_daemon && host != crate::config::LOCAL {
        return Err(format!(
            "--no-daemon runs the engine here, not on host {host}: leave out one of them"
        ));
    }
    match &command {
        Cmd::Hosts => return super::hosts::hosts(&paths, json).await,
        Cmd::Ls { all_hosts: true } => return super::hosts::ls_all(&paths, json).await,
        Cmd::New { dir, .. } | Cmd::Run { dir, .. }
            if host != crate::config::LOCAL && !dir.is_absolute() && !dir.starts_with("~") =>
        {
            return Err(format!(
                "--dir is a directory on host {host}: give its whole path, such as /home/me/repo or '~/repo'"
            ));
        }
        _ => {}
    }
    if cli.no_daemon {
        let lock = crate::daemon::lock(&paths, crate::daemon::Role::Command).map_err(|e| {
            match crate::daemon::holder(&paths) {
                crate::daemon::Holder::Daemon(_) => {
                    "a daemon is running for this home: leave out --no-daemon".to_string()
                }
                _ => e.to_string(),
            }
        })?;
        let (config, _) = Config::load(&paths.config_file);
        let engine = Engine::start(paths.clone(), config, None).map_err(|e| e.to_string())?;
        let result = execute(
            command,
            &mut Client::in_process(engine.clone()),
            json,
            false,
        )
        .await;
        let _ = engine.execute(Command::Shutdown).await;
        drop(lock);
        return result;
    }
    let (config, _) = Config::load(&paths.config_file);
    let mut client = crate::daemon::remote::connect_to(host, &config.hosts, &paths).await?;
    execute(command, &mut client, json, host != crate::config::LOCAL).await
}

/// Carries out `command` through `client`; `remote` when its daemon is on another host,
/// where paths are that host's to resolve.
pub(super) async fn execute(
    command: Cmd,
    client: &mut Client,
    json: bool,
    remote: bool,
) -> Result<(), String> {
    let now = Utc::now();
    match command {
        Cmd::New {
            dir,
            strategy,
            title,
            branch,
            agent,
            model,
            prompt,
            template,
            parent,
            notify,
            limits,
            repo,
        } => {
            if repo.is_some() {
                return Err("--repo is for a cluster session: add --cluster NAME".into());
            }
            let dir = resolve(dir, remote)?;
            let reply = client
                .request(Command::New(NewSession {
                    dir,
                    strategy,
                    title,
                    branch,
                    agent,
                    model,
                    prompt,
                    parent,
                    notify: notify.map(|n| n.parse()).transpose()?,
                    limits: limits.limits(),
                    template,
                    id: None,
                }))
                .await?;
            let (session, note) = expect_session(reply)?;
            print_note(note);
            if json {
                print_json(&session)
            } else {
                outln!("{}", session.id);
                Ok(())
            }
        }
        Cmd::Ls { .. } | Cmd::Hosts => match client.request(Command::List).await? {
            Reply::Sessions { sessions } if json => print_json(&sessions),
            Reply::Sessions { sessions } => {
                out!("{}", render::session_table(&sessions, now));
                Ok(())
            }
            other => unexpected(other),
        },
        Cmd::Send { id, text } => session_command(client, Command::Send { id, text }, json).await,
        Cmd::Steer { id, text } => session_command(client, Command::Steer { id, text }, json).await,
        Cmd::Abort { id, keep_queue } => {
            session_command(client, Command::Abort { id, keep_queue }, json).await
        }
        Cmd::Resume { id } => session_command(client, Command::Resume { id }, json).await,
        Cmd::Stop { id, cleanup, force } => {
            session_command(client, Command::Stop { id, cleanup, force }, json).await
        }
        Cmd::Rm { id, cleanup, force } => {
            match client
                .request(Command::Remove { id, cleanup, force })
                .await?
            {
                Reply::Removed { id, note } => {
                    print_note(note);
                    if json {
                        print_json(&serde_json::json!({ "id": id, "removed": true }))
                    } else {
                        outln!("removed {}", id.short());
                        Ok(())
                    }
                }
                other => unexpected(other),
            }
        }
        Cmd::Diff { id, stat } => diff(client, id, stat, json).await,
        Cmd::Log { id, follow } => super::log::log(client, id, follow, json).await,
        Cmd::History {
            search,
            status,
            since,
            until,
            limit,
            offset,
        } => {
            let query = HistoryQuery {
                search,
                status,
                since,
                until,
                limit,
                offset,
            };
            match client.request(Command::History(query)).await? {
                Reply::History { sessions, total } if json => {
                    print_json(&serde_json::json!({ "sessions": sessions, "total": total }))
                }
                Reply::History { sessions, total } => {
                    out!("{}", render::history_table(&sessions, total, now));
                    if !sessions.is_empty() {
                        let first = u64::from(offset) + 1;
                        let last = u64::from(offset) + sessions.len() as u64;
                        outln!("{first}-{last} of {total}");
                    }
                    Ok(())
                }
                other => unexpected(other),
            }
        }
        Cmd::Agents => match client.request(Command::Agents).await? {
            Reply::Agents { agents } if json => print_json(&agents),
            Reply::Agents { agents } => {
                out!("{}", render::agents(&agents));
                Ok(())
            }
            other => unexpected(other),
        },
        Cmd::Answer { id, reply, request } => {
            let reply = super::lifecycle::permission_reply(&reply)?;
            let command = Command::Permission {
                id,
                request_id: request,
                reply,
            };
            session_command(client, command, json).await
        }
        Cmd::Wait { id, until, timeout } => {
            super::lifecycle::wait(client, id, &until, timeout, json).await
        }
        Cmd::Templates => super::lifecycle::templates(client, json).await,
        Cmd::Archive { id, force } => {
            session_command(client, Command::Archive { id, force }, json).await
        }
        Cmd::Restore { id } => session_command(client, Command::Restore { id }, json).await,
        Cmd::Chronicle { action } => super::lifecycle::chronicle(client, action, json).await,
        Cmd::Reforge {
            chronicle,
            agent,
            model,
            prompt,
            title,
        } => {
            let reforge = crate::protocol::Reforge {
                chronicle,
                agent,
                model,
                prompt,
                title,
            };
            let (session, note) = expect_session(client.request(Command::Reforge(reforge)).await?)?;
            print_note(note);
            match json {
                true => print_json(&session),
                false => {
                    outln!("{}", session.id);
                    Ok(())
                }
            }
        }
        Cmd::Show { id } => super::lifecycle::show(client, id, json).await,
        Cmd::Run {
            dir,
            strategy,
            agent,
            model,
            template,
            keep,
            limits,
            prompt,
        } => {
            let args = super::oneshot::RunArgs {
                dir,
                strategy,
                agent,
                model,
                template,
                keep,
                limits: limits.limits(),
                prompt,
                remote,
            };
            super::oneshot::run_once(client, args, json).await
        }
        Cmd::Comment { id, place, text } => {
            super::land::comment(client, id, &place, text, json).await
        }
        Cmd::Comments { id, send } => super::land::comments(client, id, send, json).await,
        Cmd::Checkpoints { id } => super::land::checkpoints(client, id, json).await,
        Cmd::Rollback { id, turn, force } => {
            super::land::rollback(client, id, turn, force, json).await
        }
        Cmd::Commit { id, message } => {
            super::land::landed(client, Command::Commit { id, message }, json).await
        }
        Cmd::Merge { id, into, squash } => {
            super::land::landed(client, Command::Merge { id, into, squash }, json).await
        }
        Cmd::Push { id, remote } => {
            let remote = Some(remote);
            super::land::landed(client, Command::Push { id, remote }, json).await
        }
        Cmd::Conflicts => super::land::conflicts(client, json).await,
        Cmd::Daemon { .. } => {
            Err("`flotilla daemon` runs in the foreground: start it on its own".into())
        }
        Cmd::Shell { .. } => Err(
            "shell opens a terminal in a cluster session's pod: add --cluster NAME (on a host, `s` in the dashboard runs ssh -t)"
                .into(),
        ),
    }
}

pub(super) async fn session_command(
    client: &Client,
    command: Command,
    json: bool,
) -> Result<(), String> {
    let (session, note) = expect_session(client.request(command).await?)?;
    if json {
        print_note(note);
        print_json(&session)
    } else {
        outln!(
            "{} {}{}",
            session.id.short(),
            session.status,
            note.map(|n| format!(" ({n})")).unwrap_or_default()
        );
        Ok(())
    }
}

/// The list of changed files, then (unless `stat`) each file's hunks, fetched one at a
/// time so a huge diff never sits whole in memory.
async fn diff(client: &Client, id: String, stat: bool, json: bool) -> Result<(), String> {
    let reply = client.request(Command::Diff { id: id.clone() }).await?;
    let Reply::Diff { files, .. } = reply else {
        return unexpected(reply);
    };
    if stat || files.is_empty() {
        if json {
            return print_json(&files);
        }
        out!("{}", render::diff_stat(&files));
        return Ok(());
    }
    if json {
        outln!("[");
    }
    let mut first = true;
    for listed in &files {
        let command = Command::DiffFile {
            id: id.clone(),
            path: listed.path.clone(),
        };
        let file = match client.request(command).await {
            Ok(Reply::DiffFile { file }) => file,
            failed => {
                // What was printed stays valid JSON.
                if json {
                    outln!("]");
                }
                return match failed {
                    Err(e) => Err(e),
                    Ok(other) => unexpected(other),
                };
            }
        };
        // Changed back since the list was made: nothing to show for it.
        let Some(file) = file else { continue };
        if json {
            let text =
                serde_json::to_string(&file).map_err(|e| format!("cannot encode JSON: {e}"))?;
            let comma = if std::mem::take(&mut first) { "" } else { "," };
            outln!("{comma}{text}");
        } else {
            out!("{}", render::file_diff(&file));
        }
    }
    if json {
        outln!("]");
    }
    Ok(())
}

pub(super) fn expect_session(
    reply: Reply,
) -> Result<(crate::core::Session, Option<String>), String> {
    match reply {
        Reply::Session { session, note } => Ok((session, note)),
        Reply::Removed { id, .. } => Err(format!("session {} was removed", id.short())),
        other => Err(format!("the daemon answered with {}", kind(&other))),
    }
}

pub(super) fn unexpected(reply: Reply) -> Result<(), String> {
    Err(format!(
        "the daemon answered with {}: is it another version? run `flotilla daemon stop`",
        kind(&reply)
    ))
}

fn kind(reply: &Reply) -> String {
    serde_json::to_value(reply)
        .ok()
        .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_string))
        .unwrap_or_else(|| "something unexpected".into())
}

pub(super) fn print_note(note: Option<String>) {
    if let Some(note) = note {
        // A daemon on another host or in a pod wrote it: no escape reaches the terminal.
        eprintln!("note: {}", crate::core::sanitize(&note));
    }
}

pub(super) fn print_json<T: Serialize>(value: &T) -> Result<(), String> {
    let text =
        serde_json::to_string_pretty(value).map_err(|e| format!("cannot encode JSON: {e}"))?;
    outln!("{text}");
    Ok(())
}

/// `--dir` as the daemon gets it: whole here; on another host as given (whole, or from
/// `~`), for that host to resolve.
pub(super) fn resolve(dir: std::path::PathBuf, remote: bool) -> Result<std::path::PathBuf, String> {
    if remote {
        return Ok(dir);
    }
    std::path::absolute(&dir).map_err(|e| format!("cannot resolve {}: {e}", dir.display()))
}
