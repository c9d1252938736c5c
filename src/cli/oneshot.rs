//! `flotilla run` (M26): one prompt in a session of its own, the reply streamed to
//! stdout, then the session ended and its workspace removed — unless the agent left
//! changes there, which are kept and their path printed, so nothing is lost.

use super::output::{self, out, outln};
use super::run::{expect_session, print_note};
use crate::core::{PartKind, Role, SessionId, Status, Strategy, sanitize};
use crate::daemon::Client;
use crate::protocol::{Command, Event, NewSession, Reply};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

/// Exit statuses besides 0 (the turn succeeded) and 1 (it failed, or flotilla did).
const LIMIT_REACHED: i32 = 2;
const INTERRUPTED: i32 = 130;

pub struct RunArgs {
    pub dir: PathBuf,
    pub strategy: Option<Strategy>,
    pub agent: Option<String>,
    pub model: Option<String>,
    pub template: Option<String>,
    pub keep: bool,
    pub limits: crate::core::Limits,
    pub prompt: String,
    /// The daemon is on another host: the directory is that host's.
    pub remote: bool,
}

/// How the turn ended.
enum Ended {
    Done { failed: bool },
    Limit(String),
    Lost(String),
    Interrupted,
}

pub async fn run_once(client: &mut Client, args: RunArgs, json: bool) -> Result<(), String> {
    let dir = super::run::resolve(args.dir.clone(), args.remote)?;
    // A directory outside git is used as it is; in a repository, a worktree of its own.
    // Another host's directory is not looked at here: its daemon makes a worktree, or
    // says to pass --strategy existing.
    let strategy = args.strategy.or_else(|| {
        if args.remote {
            return None;
        }
        let in_git = crate::git::succeeds(&dir, ["rev-parse", "--git-dir"]).unwrap_or(false);
        (!in_git).then_some(Strategy::Existing)
    });
    // Listened for from the start, so a Ctrl-C at any moment ends the session.
    let mut interrupts = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .map_err(|e| format!("cannot listen for Ctrl-C: {e}"))?;
    let mut events = client
        .take_events()
        .ok_or("the client has no event stream")?;
    // Subscribed before the session exists, so not one of its events is missed.
    let Reply::Subscribed { .. } = client.request(Command::Subscribe).await? else {
        return Err("the daemon did not subscribe this client: is it another version?".into());
    };
    let spec = NewSession {
        dir,
        strategy,
        agent: args.agent,
        model: args.model,
        template: args.template,
        limits: args.limits,
        prompt: Some(args.prompt),
        ..NewSession::default()
    };
    let (session, note) = expect_session(client.request(Command::New(spec)).await?)?;
    print_note(note);
    let id = session.id;
    let mut printer = Printer {
        json,
        ..Printer::default()
    };
    let ended = tokio::select! {
        ended = printer.follow(&mut events, id) => ended,
        _ = interrupts.recv() => Ended::Interrupted,
    };
    printer.end_line();
    output::flush();
    let code = match &ended {
        Ended::Done { failed: false } => 0,
        Ended::Done { failed: true } | Ended::Lost(_) => 1,
        Ended::Limit(_) => LIMIT_REACHED,
        Ended::Interrupted => INTERRUPTED,
    };
    match &ended {
        Ended::Limit(why) => eprintln!("flotilla: the session ended: {why}"),
        Ended::Lost(why) => eprintln!("flotilla: the session failed: {why}"),
        Ended::Interrupted => eprintln!("flotilla: interrupted: ending the session"),
        Ended::Done { .. } => {}
    }
    if args.keep {
        eprintln!(
            "flotilla: kept session {} in {}",
            id.short(),
            session.workspace.display()
        );
    } else {
        finish(client, id, &session.workspace).await;
    }
    output::flush();
    if code != 0 {
        std::process::exit(code);
    }
    Ok(())
}

/// Removes the session and its workspace; if the workspace holds work (or cannot be
/// removed for another reason), stops the session and says where the work is.
async fn finish(client: &Client, id: SessionId, workspace: &std::path::Path) {
    let remove = Command::Remove {
        id: id.to_string(),
        cleanup: true,
        force: false,
    };
    match client.request(remove).await {
        Ok(Reply::Removed { .. }) => {}
        Ok(_) | Err(_) => {
            let stop = Command::Stop {
                id: id.to_string(),
                cleanup: false,
                force: false,
            };
            let _ = client.request(stop).await;
            eprintln!(
                "flotilla: the agent left changes: kept them in {} (session {}; `flotilla rm {} --cleanup --force` discards them)",
                workspace.display(),
                id.short(),
                id.short()
            );
        }
    }
}

/// Prints the agent's side of the session as it streams: text on stdout, the rest on
/// stderr; with `--json`, every event of the session as one line.
#[derive(Default)]
struct Printer {
    json: bool,
    /// Messages of the agent (the prompt's own message is not printed).
    agent_messages: HashSet<String>,
    /// Bytes printed of each text part.
    printed: HashMap<String, usize>,
    open_line: bool,
    failed: bool,
}

impl Printer {
    async fn follow(&mut self, events: &mut crate::daemon::Events, id: SessionId) -> Ended {
        while let Some(event) = events.recv().await {
            if event.session() != Some(id) && !matches!(event, Event::Lagged { .. }) {
                continue;
            }
            if self.json
                && let Ok(line) = serde_json::to_string(&event)
            {
                outln!("{line}");
            }
            match event {
                Event::MessageAdded { message, .. } if message.role == Role::Assistant => {
                    self.agent_messages.insert(message.id);
                }
                Event::PartDelta {
                    message_id,
                    part_id,
                    offset,
                    text,
                    ..
                } if self.agent_messages.contains(&message_id) => {
                    self.text(&part_id, offset, &text)
                }
                Event::PartUpdated { part, .. }
                    if self.agent_messages.contains(&part.message_id) =>
                {
                    match &part.kind {
                        PartKind::Text { text } => self.text(&part.id, 0, text),
                        PartKind::Error { message } => {
                            self.failed = true;
                            self.end_line();
                            eprintln!("flotilla: {}", sanitize(message));
                        }
                        PartKind::Permission {
                            reply: None, tool, ..
                        } if !self.json => {
                            eprintln!(
                                "flotilla: the agent asks to use {}: answer with `flotilla answer {} once|deny`",
                                sanitize(tool),
                                id.short()
                            );
                        }
                        _ => {}
                    }
                }
                Event::SessionUpdated { session } => match session.status {
                    Status::Idle if session.turns > 0 && session.queued_prompts == 0 => {
                        return Ended::Done {
                            failed: self.failed,
                        };
                    }
                    Status::Completed => {
                        return Ended::Limit(session.status_reason.unwrap_or_default());
                    }
                    Status::Error | Status::Disconnected | Status::Stopped | Status::Archived => {
                        return Ended::Lost(
                            session
                                .status_reason
                                .unwrap_or_else(|| session.status.to_string()),
                        );
                    }
                    _ => {}
                },
                Event::SessionRemoved { .. } => {
                    return Ended::Lost("the session was removed".into());
                }
                Event::Lagged { missed } => {
                    return Ended::Lost(format!(
                        "this client fell behind by {missed} events; `flotilla log` has the whole reply"
                    ));
                }
                _ => {}
            }
        }
        Ended::Lost("lost the connection to the daemon".into())
    }

    fn text(&mut self, part: &str, offset: usize, text: &str) {
        let have = self.printed.get(part).copied().unwrap_or(0);
        let skip = have.saturating_sub(offset);
        let Some(new) = text.get(skip..).filter(|t| !t.is_empty()) else {
            return;
        };
        if !self.json {
            out!("{}", sanitize(new));
            self.open_line = !new.ends_with('\n');
            output::flush();
        }
        self.printed.insert(part.to_string(), offset + text.len());
    }

    fn end_line(&mut self) {
        if std::mem::take(&mut self.open_line) {
            outln!();
        }
    }
}
