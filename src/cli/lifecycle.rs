//! The lifecycle subcommands: answer, wait, templates, chronicles, show.

use super::ChronicleCmd;
use super::output::{self, out, outln};
use super::run::{print_json, unexpected};
use crate::core::{PermissionReply, Session, Status, limits, sanitize, screen_line};
use crate::daemon::Client;
use crate::protocol::{Command, Event, Reply};
use chrono::Utc;

/// The exit status of `wait` when the time ran out, as `timeout(1)` has it.
pub const TIMED_OUT: u8 = 124;

pub fn permission_reply(text: &str) -> Result<PermissionReply, String> {
    match text {
        "once" => Ok(PermissionReply::Once),
        "always" => Ok(PermissionReply::Always),
        "deny" => Ok(PermissionReply::Deny),
        _ => Err(format!("unknown answer '{text}': use once, always or deny")),
    }
}

/// What `wait --for` waits for.
#[derive(Clone, Copy)]
enum Goal {
    Status(Status),
    Ended,
}

impl Goal {
    fn parse(text: &str) -> Result<Goal, String> {
        match text {
            "ended" => Ok(Goal::Ended),
            "idle" => Ok(Goal::Status(Status::Idle)),
            "waiting_input" => Ok(Goal::Status(Status::WaitingInput)),
            _ => Err(format!(
                "cannot wait for '{text}': use idle, waiting_input or ended"
            )),
        }
    }

    fn reached(self, s: &Session) -> bool {
        match self {
            Goal::Status(status) => s.status == status,
            Goal::Ended => s.status.is_ended(),
        }
    }
}

/// Waits for the session to reach the goal. Exits 124 when the time runs out, and fails
/// when the session ends first (it would never get there).
pub async fn wait(
    client: &mut Client,
    id: String,
    until: &str,
    timeout: std::time::Duration,
    json: bool,
) -> Result<(), String> {
    let goal = Goal::parse(until)?;
    let mut events = client
        .take_events()
        .ok_or("the client has no event stream")?;
    let first = get(client, &id).await?;
    let sid = first.id;
    let Reply::Subscribed { sessions } = client.request(Command::Subscribe).await? else {
        return Err("the daemon did not subscribe this client: is it another version?".into());
    };
    let mut now = sessions.into_iter().find(|s| s.id == sid).unwrap_or(first);
    let watch = async {
        loop {
            if goal.reached(&now) {
                return Ok(now);
            }
            if now.status.is_ended() {
                return Err(format!(
                    "session {} is {}{} and will not get there: resume it first",
                    now.id.short(),
                    now.status,
                    now.status_reason
                        .as_deref()
                        .map(|r| format!(" ({})", screen_line(r)))
                        .unwrap_or_default()
                ));
            }
            match events.recv().await {
                Some(Event::SessionUpdated { session }) if session.id == sid => now = session,
                Some(Event::SessionRemoved { id }) if id == sid => {
                    return Err(format!("session {} was removed", sid.short()));
                }
                Some(Event::Lagged { .. }) => now = get(client, &id).await?,
                Some(_) => {}
                None => return Err("lost the connection to the daemon".into()),
            }
        }
    };
    match tokio::time::timeout(timeout, watch).await {
        Ok(Ok(session)) if json => print_json(&session),
        Ok(Ok(session)) => {
            outln!("{} {}", session.id.short(), session.status);
            Ok(())
        }
        Ok(Err(e)) => Err(e),
        Err(_) => {
            eprintln!(
                "flotilla: session {} is still {} after {}: wait longer with --timeout",
                sid.short(),
                now_status(client, &id).await,
                humantime::format_duration(timeout)
            );
            output::flush();
            std::process::exit(TIMED_OUT.into());
        }
    }
}

async fn now_status(client: &Client, id: &str) -> String {
    get(client, id)
        .await
        .map_or_else(|_| "unknown".into(), |s| s.status.to_string())
}

async fn get(client: &Client, id: &str) -> Result<Session, String> {
    match client.request(Command::Get { id: id.to_string() }).await? {
        Reply::Session { session, .. } => Ok(session),
        Reply::Removed { id, .. } => Err(format!("session {} was removed", id.short())),
        other => unexpected(other).and(Err(String::new())),
    }
}

pub async fn templates(client: &Client, json: bool) -> Result<(), String> {
    let reply = client.request(Command::Templates).await?;
    let Reply::Templates { templates } = reply else {
        return unexpected(reply);
    };
    if json {
        return print_json(&templates);
    }
    if templates.is_empty() {
        outln!("no templates: define them under [templates.NAME] in config.toml");
        return Ok(());
    }
    for t in &templates {
        let mut what = vec![format!(
            "agent {}",
            t.agent.as_deref().unwrap_or("(default)")
        )];
        what.extend(t.strategy.map(|s| format!("strategy {s}")));
        what.extend(t.model.as_ref().map(|m| format!("model {m}")));
        what.extend(t.branch.as_ref().map(|b| format!("branch {b}")));
        what.extend(t.setup.as_ref().map(|_| "setup".to_string()));
        what.extend(t.prompt.as_ref().map(|_| "first prompt".to_string()));
        what.extend(limit_words(&t.limits));
        outln!("{:<16} {}", t.name, what.join(" · "));
    }
    Ok(())
}

fn limit_words(l: &crate::core::Limits) -> Vec<String> {
    let mut out = Vec::new();
    out.extend(l.ttl_secs.map(|t| format!("ttl {}", limits::words(t))));
    out.extend((l.idle_timeout_secs).map(|t| format!("idle timeout {}", limits::words(t))));
    out.extend(l.max_turns.map(|n| format!("max turns {n}")));
    out.extend((l.max_duration_secs).map(|t| format!("max duration {}", limits::words(t))));
    out.extend(l.max_cost_usd.map(|c| format!("max cost ${c:.2}")));
    out
}

pub async fn chronicle(client: &Client, action: ChronicleCmd, json: bool) -> Result<(), String> {
    match action {
        ChronicleCmd::Ls { session } => {
            let reply = client.request(Command::Chronicles { session }).await?;
            let Reply::Chronicles { chronicles } = reply else {
                return unexpected(reply);
            };
            if json {
                return print_json(&chronicles);
            }
            let now = Utc::now();
            for c in &chronicles {
                outln!(
                    "{}  {:>4}  {}  {} · {} file(s) · {}",
                    c.short(),
                    crate::core::age(c.created_at, now),
                    c.session_id.short(),
                    screen_line(&c.title),
                    c.files.len(),
                    screen_line(&c.reason)
                );
            }
            Ok(())
        }
        ChronicleCmd::Show { id, diff } => {
            let reply = client.request(Command::Chronicle { id }).await?;
            let Reply::Chronicle {
                chronicle: c,
                chain,
                transcript,
                diff: diff_text,
            } = reply
            else {
                return unexpected(reply);
            };
            if json {
                let mut value =
                    serde_json::json!({ "chronicle": c, "chain": chain, "transcript": transcript });
                if diff {
                    value["diff"] = diff_text.into();
                }
                return print_json(&value);
            }
            outln!("chronicle {}  {}", c.id, screen_line(&c.reason));
            outln!("session   {}  {}", c.session_id, screen_line(&c.title));
            outln!("agent     {}", c.agent);
            outln!(
                "repo      {}",
                screen_line(&c.source_repo.to_string_lossy())
            );
            outln!(
                "branch    {}",
                screen_line(c.branch.as_deref().unwrap_or("-"))
            );
            outln!("base      {}", c.base_commit);
            outln!(
                "tree      {} {}",
                c.tree_commit.as_deref().unwrap_or("-"),
                c.refname.as_deref().unwrap_or("")
            );
            for link in &chain {
                outln!("from      {}  {}", link.short(), screen_line(&link.title));
            }
            outln!("files     {}", c.files.len());
            for f in &c.files {
                outln!(
                    "  {:?} {} +{} -{}",
                    f.status,
                    screen_line(&f.path),
                    f.added,
                    f.removed
                );
            }
            outln!();
            out!("{}", sanitize(&transcript));
            if diff {
                outln!();
                out!("{}", sanitize(&diff_text));
            }
            Ok(())
        }
    }
}

pub async fn show(client: &Client, id: String, json: bool) -> Result<(), String> {
    let reply = client.request(Command::Details { id }).await?;
    let Reply::Details {
        session: s,
        children,
        callbacks,
        chronicles,
        chain,
    } = reply
    else {
        return unexpected(reply);
    };
    if json {
        return print_json(&serde_json::json!({
            "session": s, "children": children, "callbacks": callbacks,
            "chronicles": chronicles, "chain": chain,
        }));
    }
    let now = Utc::now();
    outln!("{}  {}  {}", s.id, s.status, screen_line(&s.title));
    if let Some(reason) = &s.status_reason {
        outln!("reason    {}", screen_line(reason));
    }
    outln!(
        "agent     {}{}",
        s.agent,
        s.model
            .as_deref()
            .map(|m| format!(" ({m})"))
            .unwrap_or_default()
    );
    outln!("workspace {}", screen_line(&s.workspace.to_string_lossy()));
    outln!("turns     {}", s.turns);
    if let Some(t) = &s.template {
        outln!("template  {t}");
    }
    for (name, limit, left) in limits::remaining(&s, now, None) {
        outln!("limit     {name} {limit}: {left}");
    }
    if let Some(p) = s.parent {
        outln!(
            "parent    {} (told {})",
            p.short(),
            s.notify.map_or("on-idle", |n| n.as_str())
        );
    }
    for c in &children {
        outln!(
            "child     {} {} {}",
            c.id.short(),
            c.status,
            screen_line(&c.title)
        );
    }
    for cb in &callbacks {
        let dir = if cb.child == s.id {
            format!("to {}", cb.parent.short())
        } else {
            format!("from {}", cb.child.short())
        };
        outln!(
            "callback  {dir} · {} · {}{}",
            cb.status,
            cb.state.as_str(),
            cb.reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        );
    }
    for c in chronicles.iter().chain(&chain) {
        outln!("chronicle {}  {}", c.short(), screen_line(&c.reason));
    }
    Ok(())
}
