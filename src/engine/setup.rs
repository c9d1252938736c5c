//! A template's `setup` command (M17): run in the new workspace before the agent starts
//! and the first prompt goes. Its output is in the transcript as a tool call; a failure
//! ends the session in `error` with that output.

use super::State;
use crate::agent::new_id;
use crate::core::{Message, Part, PartKind, Role, SessionId, Status, ToolStatus};
use crate::protocol::Event;
use std::os::unix::process::CommandExt;
use std::process::Stdio;

/// The most of a setup's output the transcript keeps: its start and its end.
const HEAD: usize = 16 * 1024;
const TAIL: usize = 48 * 1024;

/// The process group of a running setup, once it has started.
pub(super) type Running = std::sync::Arc<std::sync::Mutex<Option<nix::unistd::Pid>>>;

impl State {
    pub(super) fn run_setup(&mut self, id: SessionId, setup: String, prompt: Option<String>) {
        let Some(session) = self.sessions.get(&id) else {
            return;
        };
        let workspace = session.workspace.clone();
        let mut env = super::backends::agent_env(&Default::default());
        env.extend(self.template_env(session.template.as_deref()));
        env.push(("FLOTILLA_SESSION_ID".into(), id.to_string()));
        let message = Message {
            id: new_id("msg"),
            role: Role::Assistant,
            created_at: Self::now(),
            parts: Vec::new(),
        };
        let mut part = Part {
            id: new_id("prt"),
            message_id: message.id.clone(),
            kind: PartKind::Tool {
                name: "setup".into(),
                input: serde_json::json!({ "command": setup }),
                status: ToolStatus::Running,
                output: None,
            },
        };
        if let Err(e) =
            (self.store.insert_message(id, &message)).and_then(|_| self.store.upsert_part(&part))
        {
            tracing::error!("recording the setup of {id}: {e}");
        }
        if let Some(s) = self.sessions.get_mut(&id) {
            s.message_count += 1;
        }
        self.broadcast(Event::MessageAdded {
            session: id,
            message,
        });
        self.broadcast(Event::PartUpdated {
            session: id,
            part: part.clone(),
        });
        let groups = self.groups.clone();
        let command = setup.clone();
        // Where the running setup's process group is, for a stop to end it.
        let running: Running = Default::default();
        self.setups.insert(id, running.clone());
        self.blocking(
            move || -> Result<(bool, String), String> {
                let child = std::process::Command::new("sh")
                    .arg("-c")
                    .arg(format!("exec 2>&1; {command}"))
                    .current_dir(&workspace)
                    .env_clear()
                    .envs(env)
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .process_group(0)
                    .spawn()
                    .map_err(|e| format!("could not run the setup with sh: {e}"))?;
                let mut child = child;
                let group = groups.record(child.id());
                if let Ok(mut slot) = running.lock() {
                    *slot = Some(group.pgid());
                }
                let text = child.stdout.take().map(read_ends).unwrap_or_default();
                let status = child.wait().map_err(|e| e.to_string());
                drop(group);
                let status = status?;
                let words = crate::agent::process::exit_words("the setup", status);
                Ok((
                    status.success(),
                    match status.success() {
                        true => text,
                        false => format!(
                            "{text}{}({words})",
                            if text.ends_with('\n') || text.is_empty() {
                                ""
                            } else {
                                "\n"
                            }
                        ),
                    },
                ))
            },
            move |state, ran| {
                state.setups.remove(&id);
                let (passed, output) = match ran {
                    Ok(ran) => ran,
                    Err(e) => (false, e),
                };
                if let PartKind::Tool {
                    status,
                    output: out,
                    ..
                } = &mut part.kind
                {
                    *status = if passed {
                        ToolStatus::Completed
                    } else {
                        ToolStatus::Error
                    };
                    *out = Some(output.clone());
                }
                if let Err(e) = state.store.upsert_part(&part) {
                    tracing::error!("recording the setup of {id}: {e}");
                }
                state.broadcast(Event::PartUpdated { session: id, part });
                if !state.sessions.contains_key(&id) {
                    return;
                }
                if state.status_of(id).ok() != Some(Status::Starting) {
                    // Stopped (or removed) while the setup ran: nothing more to start.
                    return;
                }
                if !passed {
                    let last = output
                        .lines()
                        .rev()
                        .find(|l| !l.trim().is_empty())
                        .unwrap_or("");
                    let reason = format!(
                        "the template's setup failed: {}",
                        crate::core::screen_line(last)
                    );
                    state.set_status(id, Status::Error, Some(reason));
                    state.mark(id, crate::core::Mark::Failed);
                    state.publish(id);
                    state.notify_parent(id, None);
                    return;
                }
                state.open_driver(id);
                if let Some(prompt) = prompt
                    && let Err(e) = state.send(id, prompt)
                {
                    tracing::warn!("the first prompt of {id} was not sent: {e}");
                }
            },
        );
    }
}

impl State {
    /// After a crash: a setup the daemon died during did not finish, and the agent never
    /// started. The session fails, saying so, rather than start without its setup.
    pub(super) fn setup_cut_short(&mut self, id: SessionId) -> bool {
        let parts = self.store.running_tools(id, "setup").unwrap_or_default();
        if parts.is_empty() {
            return false;
        }
        for mut part in parts {
            if let PartKind::Tool { status, output, .. } = &mut part.kind {
                *status = ToolStatus::Error;
                let said = output.take().unwrap_or_default();
                *output = Some(format!("{said}(the daemon stopped while the setup ran)"));
            }
            if let Err(e) = self.store.upsert_part(&part) {
                tracing::error!("recording the cut-short setup of {id}: {e}");
            }
        }
        let reason = "the template's setup did not finish: the daemon stopped while it ran; start a new session";
        self.set_status(id, Status::Error, Some(reason.into()));
        self.publish(id);
        true
    }

    /// Ends the session's setup if one runs (the session was stopped or removed).
    pub(super) fn end_setup(&mut self, id: SessionId) {
        let Some(running) = self.setups.remove(&id) else {
            return;
        };
        if let Some(pgid) = running.lock().ok().and_then(|slot| *slot) {
            let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
        }
    }
}

/// What a setup wrote, read as it comes: its first and last bytes, however much it is.
fn read_ends(mut out: impl std::io::Read) -> String {
    let (mut head, mut tail) = (Vec::new(), std::collections::VecDeque::new());
    let mut skipped = 0usize;
    let mut buf = [0u8; 8192];
    while let Ok(n) = out.read(&mut buf) {
        if n == 0 {
            break;
        }
        let mut chunk = &buf[..n];
        if head.len() < HEAD {
            let take = chunk.len().min(HEAD - head.len());
            head.extend_from_slice(&chunk[..take]);
            chunk = &chunk[take..];
        }
        tail.extend(chunk.iter().copied());
        while tail.len() > TAIL {
            tail.pop_front();
            skipped += 1;
        }
    }
    let mut text = String::from_utf8_lossy(&head).into_owned();
    if skipped > 0 {
        text.push_str(&format!("\n[… {skipped} bytes left out …]\n"));
    }
    text.push_str(&String::from_utf8_lossy(tail.make_contiguous()));
    text
}
