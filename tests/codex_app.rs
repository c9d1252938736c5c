//! Codex on its app server end to end: the real `codex app-server` of the pinned
//! codex-cli driven through flotilla's engine (agent kind `codex`, the default) against a fake
//! OpenAI Responses server on 127.0.0.1: streamed text, approvals answered from the
//! permission card, abort, and a killed server resumed.

mod support;

use flotilla::config::{AgentConfig, AgentKind, Config};
use flotilla::core::{PartKind, PermissionReply, Session, Settled, Status, Strategy};
use flotilla::protocol::{Command, Reply};
use serde_json::json;
use std::ops::{Deref, DerefMut};
use std::time::{Duration, Instant};
use support::engine::{self, AgentWorld, TurnEnd, WAIT, deltas_until_idle};
use support::fake_llm::{FakeServer, OpenAiResponses, Reply as Llm};
use support::{isolation, offline, poll};

/// How long an abort, and a lost process, may take to show: 2 s are promised, the rest
/// is slack for a loaded machine (the codex bench reports the real figures).
const PROMISED: Duration = Duration::from_secs(10);

struct World {
    base: AgentWorld,
    fake: FakeServer,
    _agent_home: tempfile::TempDir,
}

impl Deref for World {
    type Target = AgentWorld;
    fn deref(&self) -> &AgentWorld {
        &self.base
    }
}

impl DerefMut for World {
    fn deref_mut(&mut self) -> &mut AgentWorld {
        &mut self.base
    }
}

/// Codex asking as `approval` says (none: flotilla's default, on-request).
async fn world(approval: Option<&str>) -> Option<World> {
    let binary = isolation::agent_binary("codex")?;
    let fake = OpenAiResponses::start().await.expect("fake server");
    let agent_home = isolation::agent_home();
    let env = offline::codex_env(agent_home.path(), fake.url()).expect("offline env");
    let mut config = Config::default();
    config.agents.insert(
        "codex".into(),
        AgentConfig {
            approval: approval.map(String::from),
            ..engine::agent(AgentKind::Codex, &binary, env)
        },
    );
    let mut base = AgentWorld::start(config).await;
    base.turn_end = TurnEnd::Replied;
    Some(World {
        base,
        fake,
        _agent_home: agent_home,
    })
}

impl World {
    /// Waits for an unanswered permission card and answers it; returns the card's tool
    /// and what it said.
    async fn answer(&self, s: &Session, reply: PermissionReply) -> (String, String) {
        let s = self.wait_for(s, |s| s.status == Status::WaitingInput).await;
        let parts = self.parts(&s).await.into_iter();
        let mut card = parts.filter_map(|p| match p.kind {
            PartKind::Permission {
                request_id,
                tool,
                detail,
                reply: None,
                ..
            } => Some((request_id, tool, detail)),
            _ => None,
        });
        let (request_id, tool, detail) = card.next_back().expect("a pending permission card");
        let id = s.id.to_string();
        let request_id = Some(request_id);
        self.request(Command::Permission {
            id,
            request_id,
            reply,
        })
        .await;
        (tool, detail)
    }

    fn history(&self) -> String {
        self.fake.requests().pop().expect("a request").to_string()
    }
}

/// An `exec_command` that asks to leave the sandbox: in on-request mode, Codex asks.
fn escalated(cmd: &str) -> Llm {
    Llm::tool_call(
        "exec_command",
        &json!({"cmd": cmd, "sandbox_permissions": "require_escalated", "justification": "the test asks"}),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_streams_and_commands_ask_once_deny_and_always() {
    let Some(mut w) = world(None).await else {
        return;
    };
    let mut events = w.client.take_events().expect("events");
    w.request(Command::Subscribe).await;
    let s = w.new_session("codex", Strategy::Existing).await;

    // 1. Streamed text arrives as several deltas, into one part.
    let hello = "Hello from the fake model, streamed in pieces.";
    w.fake.push(Llm::text(hello));
    w.send(&s, "say hello").await;
    let deltas = deltas_until_idle(&mut events, &s).await;
    assert!(deltas.len() > 1, "streamed in pieces: {deltas:?}");
    assert_eq!(deltas.concat(), hello);
    let after = w.get(&s).await;
    assert!(after.agent_session_id.is_some(), "the thread is kept");
    assert!(after.tokens_in.is_some_and(|n| n > 0), "{after:?}");

    // 2. A command asks; allowed once, it runs.
    w.fake.push(escalated("touch once.txt"));
    w.fake.push(Llm::text("Ran it."));
    w.send(&s, "run it").await;
    let (tool, detail) = w.answer(&s, PermissionReply::Once).await;
    assert_eq!(tool, "bash");
    assert!(detail.contains("touch once.txt"), "{detail}");
    w.until_text(&s, "Ran it.").await;
    w.wait_for(&s, |s| s.status == Status::Idle).await;
    assert!(w.repo.path().join("once.txt").exists(), "allowed: it ran");

    // 3. Denied, it does not run, and the turn goes on.
    w.fake.push(escalated("touch denied.txt"));
    w.fake.push(Llm::text("Did not run it."));
    w.send(&s, "run another").await;
    w.answer(&s, PermissionReply::Deny).await;
    w.until_text(&s, "Did not run it.").await;
    w.wait_for(&s, |s| s.status == Status::Idle).await;
    assert!(
        !w.repo.path().join("denied.txt").exists(),
        "denied: nothing ran"
    );

    // 4. Always: the same command runs again without asking.
    for (round, file) in ["a.txt", "a.txt"].iter().enumerate() {
        w.fake.push(escalated(&format!("touch {file}")));
        w.fake.push(Llm::text(format!("round {round}")));
    }
    w.send(&s, "run it always").await;
    w.answer(&s, PermissionReply::Always).await;
    w.until_text(&s, "round 0").await;
    w.wait_for(&s, |s| s.status == Status::Idle).await;
    w.turn(&s, "and again").await;
    assert!(w.text(&s).await.contains("round 1"));
    let cards = w.parts(&s).await.into_iter().filter(
        |p| matches!(&p.kind, PartKind::Permission { detail, .. } if detail.contains("a.txt")),
    );
    let cards: Vec<_> = cards.collect();
    assert_eq!(cards.len(), 1, "asked once: {cards:?}");
    assert!(matches!(
        cards[0].kind,
        PartKind::Permission {
            reply: Some(Settled::Always),
            ..
        }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patch_asks_and_its_file_is_in_the_diff_after_approval() {
    let Some(w) = world(Some("untrusted")).await else {
        return;
    };
    let s = w.new_session("codex", Strategy::Existing).await;
    w.fake.push(Llm::ToolCall {
        name: "apply_patch".into(),
        arguments_json: "*** Begin Patch\n*** Add File: made.txt\n+made by codex\n*** End Patch\n"
            .into(),
    });
    w.fake.push(Llm::text("I wrote the file."));
    w.send(&s, "write the file").await;
    let (tool, detail) = w.answer(&s, PermissionReply::Once).await;
    assert_eq!(tool, "apply_patch");
    assert!(detail.contains("made.txt"), "{detail}");
    w.until_text(&s, "I wrote the file.").await;
    w.wait_for(&s, |s| s.status == Status::Idle).await;
    let id = s.id.to_string();
    let Reply::Diff { files, .. } = w.request(Command::Diff { id }).await else {
        panic!("diff")
    };
    let made = files.iter().find(|f| f.path == "made.txt");
    assert_eq!(made.map(|f| f.additions), Some(1), "{files:?}");
}

/// The session's app-server processes (the npm wrapper and the binary), by their
/// command line and working directory.
fn server_pids(s: &Session) -> Vec<i32> {
    let entries = std::fs::read_dir("/proc").into_iter().flatten().flatten();
    let pids = entries.filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok());
    pids.filter(|pid| {
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).ok();
        String::from_utf8_lossy(&cmd).contains("app-server")
            && cwd.is_some_and(|c| c == s.workspace)
    })
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_keeps_the_server_and_a_killed_one_resumes_the_thread() {
    let Some(w) = world(None).await else {
        return;
    };
    let s = w.new_session("codex", Strategy::Existing).await;
    w.fake.push(Llm::text("Remember the word pelican."));
    w.turn(&s, "remember a word").await;

    // Abort mid-stream: idle, and the same process takes the next prompt.
    w.fake.push(Llm::SlowText {
        chunks: 400,
        delay_ms: 50,
    });
    w.send(&s, "talk slowly").await;
    w.until_text(&s, "chunk 3").await;
    let before = server_pids(&s);
    assert!(!before.is_empty(), "a server runs");
    let id = s.id.to_string();
    let abort = Command::Abort {
        id: id.clone(),
        keep_queue: false,
    };
    let asked = Instant::now();
    let Reply::Session { session, .. } = w.request(abort).await else {
        panic!("abort")
    };
    assert_eq!(session.status, Status::Idle);
    assert!(asked.elapsed() < PROMISED, "{:?}", asked.elapsed());
    assert_eq!(
        w.errors(&s).await.last().map(String::as_str),
        Some("the turn was aborted")
    );
    w.fake.push(Llm::text("after the abort"));
    w.turn(&s, "are you there").await;
    assert!(w.text(&s).await.contains("after the abort"));
    assert_eq!(server_pids(&s), before, "the same process");

    // kill -9: disconnected; resume and a prompt send the earlier conversation.
    for pid in &before {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(*pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let killed = Instant::now();
    let lost = w.wait_for(&s, |s| s.status == Status::Disconnected).await;
    assert!(killed.elapsed() < PROMISED, "{:?}", killed.elapsed());
    let why = lost.status_reason.unwrap_or_default();
    assert!(!why.contains("bubblewrap"), "{why}");
    assert!(why.contains("resume the session"), "{why}");
    poll::until(WAIT, "the old server gone", async || {
        server_pids(&s).is_empty()
    })
    .await;
    w.request(Command::Resume { id }).await;
    w.wait_for(&s, |s| s.status == Status::Idle).await;
    w.fake.push(Llm::text("It was pelican."));
    w.turn(&s, "which word?").await;
    assert!(w.text(&s).await.contains("It was pelican."));
    assert!(
        w.history().contains("Remember the word pelican."),
        "the earlier conversation"
    );
}

/// The methods of a `oneOf` of requests or notifications in a generated schema file.
fn methods(dir: &std::path::Path, file: &str) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join(file)).expect("schema file");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    (v["oneOf"].as_array().into_iter().flatten())
        .filter_map(|m| {
            m.pointer("/properties/method/enum/0")?
                .as_str()
                .map(String::from)
        })
        .collect()
}

/// The checked-in contract (tests/data/codex-app-contract.json) against the schema the
/// pinned binary writes: a method, field or decision the backend uses that goes missing
/// fails here, before any turn does.
#[test]
fn the_pinned_servers_schema_still_has_what_the_backend_uses() {
    let Some(binary) = isolation::agent_binary("codex") else {
        return;
    };
    let out = tempfile::tempdir().expect("tmp");
    let home = isolation::agent_home();
    let made = std::process::Command::new(&binary)
        .args(["app-server", "generate-json-schema", "--out"])
        .arg(out.path())
        .env("CODEX_HOME", home.path())
        .env("HOME", home.path())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run codex");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let contract: serde_json::Value =
        serde_json::from_str(include_str!("data/codex-app-contract.json")).expect("contract");
    let listed = |key: &str| -> Vec<String> {
        (contract[key].as_array().into_iter().flatten())
            .filter_map(|m| m.as_str().map(String::from))
            .collect()
    };
    for (key, file) in [
        ("client_requests", "ClientRequest.json"),
        ("client_notifications", "ClientNotification.json"),
        ("server_requests", "ServerRequest.json"),
        ("notifications", "ServerNotification.json"),
    ] {
        let have = methods(out.path(), file);
        for method in listed(key) {
            assert!(have.contains(&method), "{file} no longer has {method}");
        }
    }
    let all = std::fs::read_to_string(out.path().join("codex_app_server_protocol.v2.schemas.json"))
        .expect("the v2 schema");
    let all: serde_json::Value = serde_json::from_str(&all).expect("json");
    let defs = &all["definitions"];
    for (name, fields) in contract["params"].as_object().expect("params") {
        for field in fields.as_array().expect("fields") {
            let field = field.as_str().expect("a name");
            let props = &defs[name]["properties"];
            assert!(!props[field].is_null(), "{name} no longer has {field}");
        }
    }
    for (file, decisions) in contract["decisions"].as_object().expect("decisions") {
        let text = std::fs::read_to_string(out.path().join(file)).expect("schema file");
        for d in decisions.as_array().expect("list") {
            let d = d.as_str().expect("a decision");
            assert!(
                text.contains(&format!("\"{d}\"")),
                "{file} no longer offers {d}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steered_text_reaches_the_model_within_the_running_turn() {
    let Some(w) = world(None).await else {
        return;
    };
    let s = w.new_session("codex", Strategy::Existing).await;
    w.fake.push(Llm::SlowText {
        chunks: 60,
        delay_ms: 50,
    });
    w.fake.push(Llm::text("Steered, as asked."));
    w.send(&s, "talk slowly").await;
    w.until_text(&s, "chunk 3").await;
    let id = s.id.to_string();
    let steer = Command::Steer {
        id: id.clone(),
        text: "also mention pelicans".into(),
    };
    let Reply::Session { note, .. } = w.request(steer).await else {
        panic!("steer")
    };
    assert_eq!(note.as_deref(), Some("added to the running turn"));
    let turns_before = w.fake.requests().len();
    w.until_text(&s, "Steered, as asked.").await;
    let after = w.wait_for(&s, |s| s.status == Status::Idle).await;
    assert_eq!(after.turns, s.turns + 1, "one turn, not two");
    assert!(
        w.fake.requests().len() > turns_before,
        "the model was asked again"
    );
    assert!(
        w.history().contains("also mention pelicans"),
        "{}",
        w.history()
    );

    // With no turn running there is nothing to steer: it says to send instead.
    let idle = Command::Steer {
        id,
        text: "late".into(),
    };
    let err = w.client.request(idle).await.expect_err("refused");
    assert!(err.contains("send it as a prompt"), "{err}");
}
