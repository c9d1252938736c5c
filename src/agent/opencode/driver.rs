//! One flotilla session on an OpenCode instance: its OpenCode session, prompts, aborts,
//! permission answers, and the events of its turns.

use super::events::{Mapper, OcEvent};
use super::instance::{Feed, Instance};
use super::{Pool, Settings};
use crate::agent::{AgentEvent, DriverCmd, EventTx, Launch};
use crate::core::{PartKind, PermissionReply, Settled};
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// After an abort, how long the server gets to end the turn itself.
const ABORT_GRACE: Duration = Duration::from_secs(2);

struct OpenCodeDriver {
    launch: Launch,
    events: EventTx,
    instance: Arc<Instance>,
    id: String,
    mapper: Mapper,
    settings: Arc<Settings>,
}

impl OpenCodeDriver {
    async fn send(&self, event: AgentEvent) {
        let _ = self.events.send((self.launch.session, event)).await;
    }

    async fn send_all(&self, events: Vec<AgentEvent>) {
        for event in events {
            self.send(event).await;
        }
    }
}

pub async fn drive(
    pool: Arc<Pool>,
    launch: Launch,
    events: EventTx,
    mut rx: mpsc::UnboundedReceiver<DriverCmd>,
) {
    let say = |event| {
        let events = events.clone();
        async move {
            let _ = events.send((launch.session, event)).await;
        }
    };
    let instance = match pool.acquire(&launch.workspace).await {
        Ok(instance) => instance,
        Err(e) => return say(AgentEvent::Failed(e)).await,
    };
    let id = match open_session(&instance, &launch, &pool.settings).await {
        Ok(id) => id,
        Err(e) => {
            pool.release(&launch.workspace, &instance, false).await;
            return say(AgentEvent::Failed(e)).await;
        }
    };
    if launch.agent_session_id.as_deref() != Some(id.as_str()) {
        say(AgentEvent::AgentSessionId(id.clone())).await;
    }
    let (feed_tx, mut feed) = mpsc::channel(super::instance::FEED);
    instance.route(&id, feed_tx);
    let mut died = instance.died();
    let mut s = OpenCodeDriver {
        launch: launch.clone(),
        events: events.clone(),
        instance,
        id,
        mapper: Mapper::default(),
        settings: pool.settings.clone(),
    };
    resync(&mut s).await;
    s.send(AgentEvent::Ready).await;

    let mut abort_deadline: Option<tokio::time::Instant> = None;
    let detach = loop {
        let deadline = abort_deadline;
        tokio::select! {
            cmd = rx.recv() => match cmd {
                None | Some(DriverCmd::Stop) => break false,
                Some(DriverCmd::Detach) => break true,
                Some(DriverCmd::Prompt(text)) => prompt(&mut s, &text).await,
                Some(DriverCmd::Steer(_)) => {}
                Some(DriverCmd::Abort) => {
                    abort(&mut s).await;
                    abort_deadline = Some(tokio::time::Instant::now() + ABORT_GRACE);
                }
                Some(DriverCmd::Permission { request_id, reply }) => answer(&s, &request_id, reply).await,
            },
            Some(item) = feed.recv() => match item {
                Feed::Event(event) => {
                    // An idle left over from an earlier turn (an abort's, say) must not end
                    // the one now running: the server knows whether the session is busy.
                    if matches!(event, OcEvent::SessionIdle { .. }) && s.mapper.busy && session_busy(&s).await {
                        continue;
                    }
                    let mapped = s.mapper.map(event);
                    s.send_all(mapped).await;
                    if !s.mapper.busy {
                        abort_deadline = None;
                    }
                }
                Feed::Resync => resync(&mut s).await,
            },
            why = death(&mut died) => {
                s.send(AgentEvent::Lost(format!("{why}: resume the session to start it again"))).await;
                break false;
            },
            _ = crate::deadline::sleep_until(deadline) => {
                // The server did not end the aborted turn; end it here.
                abort_deadline = None;
                if s.mapper.busy {
                    let ended = s.mapper.map(OcEvent::SessionError {
                        session: None,
                        name: "MessageAbortedError".into(),
                        message: String::new(),
                    });
                    s.send_all(ended).await;
                    let ended = s.mapper.map(OcEvent::SessionIdle { session: s.id.clone() });
                    s.send_all(ended).await;
                }
            }
        }
    };
    s.instance.unroute(&s.id);
    pool.release(&launch.workspace, &s.instance, detach).await;
}

/// Why the instance died, once it has.
async fn death(died: &mut tokio::sync::watch::Receiver<Option<String>>) -> String {
    let _ = died.wait_for(|d| d.is_some()).await;
    died.borrow().clone().unwrap_or_default()
}

/// The session's OpenCode session: the one it had (which must still exist), or a new one.
async fn open_session(
    instance: &Instance,
    launch: &Launch,
    settings: &Settings,
) -> Result<String, String> {
    if let Some(id) = &launch.agent_session_id {
        let resp = instance
            .request(Method::GET, &format!("/session/{id}"))
            .send()
            .await
            .map_err(|e| format!("cannot reach OpenCode: {e}"))?;
        return match resp.status().as_u16() {
            200 => Ok(id.clone()),
            404 => Err(format!(
                "the OpenCode session {id} no longer exists in {}: start a new session",
                launch.workspace.display()
            )),
            code => Err(format!("OpenCode answered {code} for session {id}")),
        };
    }
    let rules: Vec<Value> = settings
        .ask
        .iter()
        .map(|tool| json!({"permission": tool, "pattern": "*", "action": "ask"}))
        .collect();
    let mut body = json!({});
    if !rules.is_empty() {
        body["permission"] = Value::Array(rules);
    }
    let resp = instance
        .request(Method::POST, "/session")
        .json(&body)
        .send()
        .await
        .map_err(|e| format!("cannot reach OpenCode: {e}"))?;
    let status = resp.status();
    let created: Value = resp
        .json()
        .await
        .map_err(|e| format!("OpenCode answered {status} with {e}"))?;
    created["id"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("OpenCode did not create a session ({status}): {created}"))
}

/// Fetches every message again and replays it: after a (re)connect nothing is missed,
/// and what was already there is recognised by id.
async fn resync(s: &mut OpenCodeDriver) {
    let resp = s
        .instance
        .request(Method::GET, &format!("/session/{}/message", s.id))
        .send()
        .await;
    let Ok(messages) = (match resp {
        Ok(r) if r.status().is_success() => r.json::<Vec<Value>>().await,
        _ => return,
    }) else {
        return;
    };
    for message in messages {
        let info = message.get("info").cloned().unwrap_or(Value::Null);
        let mapped = s.mapper.map(OcEvent::MessageUpdated {
            session: s.id.clone(),
            info,
        });
        s.send_all(mapped).await;
        for part in message
            .get("parts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let mapped = s.mapper.map(OcEvent::PartUpdated {
                session: s.id.clone(),
                part: part.clone(),
            });
            s.send_all(mapped.into_iter().map(synced).collect()).await;
        }
    }
    // The server knows whether a turn runs, not this driver: one that ended while the
    // stream was down never sent its idle event, and one that went on across a daemon
    // restart is still this session's turn.
    let busy = server_busy(s).await;
    match busy {
        Ok(false) if s.mapper.busy => {
            let mapped = s.mapper.map(OcEvent::SessionIdle {
                session: s.id.clone(),
            });
            s.send_all(mapped).await;
        }
        Ok(true) if !s.mapper.busy => {
            s.mapper.start_turn();
            s.send(AgentEvent::Busy).await;
        }
        Ok(_) => {}
        Err(ref e) => tracing::warn!("re-syncing OpenCode session {}: {e}", s.id),
    }
    // A permission asked while nobody listened (the daemon was down) still blocks the
    // turn: its card comes back so it can be answered. Only a running turn waits for one;
    // the server may still list a request whose turn was aborted.
    if busy == Ok(true) {
        match pending_permissions(s).await {
            Ok(asked) => {
                for props in asked {
                    let mapped = s.mapper.map(OcEvent::PermissionAsked {
                        session: s.id.clone(),
                        props,
                    });
                    s.send_all(mapped).await;
                }
            }
            Err(e) => tracing::warn!("re-syncing OpenCode session {}: {e}", s.id),
        }
    }
}

/// The server's pending permission requests of the session not yet shown.
async fn pending_permissions(s: &OpenCodeDriver) -> Result<Vec<Value>, String> {
    let resp = s
        .instance
        .request(Method::GET, "/permission")
        .send()
        .await
        .map_err(|e| format!("cannot reach OpenCode for pending permissions: {e}"))?;
    let code = resp.status();
    if !code.is_success() {
        return Err(format!("OpenCode answered {code} for pending permissions"));
    }
    let pending: Vec<Value> = resp
        .json()
        .await
        .map_err(|e| format!("OpenCode sent unreadable pending permissions: {e}"))?;
    Ok(pending
        .into_iter()
        .filter(|p| p.get("sessionID").and_then(Value::as_str) == Some(s.id.as_str()))
        .filter(|p| {
            p.get("id")
                .and_then(Value::as_str)
                .is_some_and(|id| !s.mapper.asks(id))
        })
        .collect())
}

/// A part fetched again is only the server's copy: text the server never stored (a
/// server killed mid-stream keeps none of it) is still in flotilla's transcript.
fn synced(event: AgentEvent) -> AgentEvent {
    match event {
        AgentEvent::Part(part) => AgentEvent::Synced(part),
        other => other,
    }
}

/// Whether the server runs a turn of the session (busy, or retrying), as it says.
async fn server_busy(s: &OpenCodeDriver) -> Result<bool, String> {
    let resp = s
        .instance
        .request(Method::GET, "/session/status")
        .send()
        .await
        .map_err(|e| format!("cannot reach OpenCode for the session status: {e}"))?;
    let code = resp.status();
    if !code.is_success() {
        return Err(format!("OpenCode answered {code} for the session status"));
    }
    let status: Value = resp
        .json()
        .await
        .map_err(|e| format!("OpenCode sent an unreadable session status: {e}"))?;
    Ok(status.get(&s.id).is_some())
}

async fn session_busy(s: &OpenCodeDriver) -> bool {
    let resp = s
        .instance
        .request(Method::GET, "/session/status")
        .send()
        .await;
    match resp {
        Ok(r) => r
            .json::<Value>()
            .await
            .is_ok_and(|v| v.get(&s.id).is_some()),
        Err(_) => true,
    }
}

async fn prompt(s: &mut OpenCodeDriver, text: &str) {
    s.mapper.start_turn();
    let mut body = json!({"parts": [{"type": "text", "text": text}]});
    if let Some((provider, model)) = s.launch.model.as_deref().and_then(|m| m.split_once('/')) {
        body["model"] = json!({"providerID": provider, "modelID": model});
    }
    if let Some(agent) = &s.settings.agent {
        body["agent"] = json!(agent);
    }
    let sent = s
        .instance
        .request(Method::POST, &format!("/session/{}/prompt_async", s.id))
        .json(&body)
        .send()
        .await;
    let error = match sent {
        Ok(r) if r.status().is_success() => return,
        Ok(r) => format!(
            "OpenCode refused the prompt ({}): {}",
            r.status(),
            r.text().await.unwrap_or_default()
        ),
        Err(e) if e.is_timeout() => format!(
            "OpenCode did not answer the prompt within {} s: its server (pid {}) may be stuck; stop the session and resume it to start a new one",
            super::instance::CALL_TIMEOUT.as_secs(),
            s.instance.pid
        ),
        Err(e) => format!("cannot reach OpenCode: {e}"),
    };
    s.mapper.busy = false;
    s.send(AgentEvent::TurnEnded {
        error: Some(error),
        aborted: false,
        usage: None,
    })
    .await;
}

async fn abort(s: &mut OpenCodeDriver) {
    let _ = s
        .instance
        .request(Method::POST, &format!("/session/{}/abort", s.id))
        .send()
        .await;
    // A permission asked before the abort will never be answered: close its card.
    for mut part in s.mapper.open_permissions() {
        if let PartKind::Permission { reply, .. } = &mut part.kind {
            *reply = Some(Settled::Withdrawn);
        }
        s.send(AgentEvent::Part(part)).await;
    }
}

async fn answer(s: &OpenCodeDriver, request_id: &str, reply: PermissionReply) {
    let reply = match reply {
        PermissionReply::Once => "once",
        PermissionReply::Always => "always",
        PermissionReply::Deny => "reject",
    };
    let sent = s
        .instance
        .request(Method::POST, &format!("/permission/{request_id}/reply"))
        .json(&json!({"reply": reply}))
        .send()
        .await;
    if let Err(e) = sent {
        tracing::warn!("answering permission {request_id}: {e}");
    }
}
