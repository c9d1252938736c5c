//! The `codex_exec` agent kind end to end: the real `codex exec --json` driven through flotilla's
//! engine against a fake OpenAI Responses server on 127.0.0.1.

mod support;

use flotilla::config::{AgentConfig, AgentKind, Config};
use flotilla::core::{PartKind, Session, Status, Strategy, ToolStatus};
use flotilla::protocol::{Command, Reply};
use serde_json::json;
use std::ops::Deref;
use support::engine::{self, AgentWorld, TurnEnd, WAIT};
use support::fake_llm::{FakeServer, OpenAiResponses, Reply as Llm};
use support::{isolation, offline, poll};

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

async fn world() -> Option<World> {
    let binary = isolation::agent_binary("codex")?;
    let fake = OpenAiResponses::start().await.expect("fake server");
    let agent_home = isolation::agent_home();
    let env = offline::codex_env(agent_home.path(), fake.url()).expect("offline env");
    let mut config = Config::default();
    config.agents.insert(
        "codex".into(),
        AgentConfig {
            sandbox: Some("workspace-write".into()),
            approval: Some("never".into()),
            ..engine::agent(AgentKind::CodexExec, &binary, env)
        },
    );
    let mut base = AgentWorld::start(config).await;
    // The user's message lands when the turn starts; idle after that ends it.
    base.turn_end = TurnEnd::Started;
    Some(World {
        base,
        fake,
        _agent_home: agent_home,
    })
}

impl World {
    async fn tool(&self, s: &Session, tool: &str) -> Option<(ToolStatus, Option<String>)> {
        self.parts(s).await.into_iter().find_map(|p| match p.kind {
            PartKind::Tool {
                name,
                status,
                output,
                ..
            } if name == tool => Some((status, output)),
            _ => None,
        })
    }
}

fn last_request(fake: &FakeServer) -> String {
    fake.requests().pop().expect("a request").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_and_a_patch_run_and_the_thread_resumes() {
    let Some(w) = world().await else { return };
    let s = w.new_session("codex", Strategy::Existing).await;

    // 1. A shell command runs; its output shows in the tool part.
    w.fake.push(Llm::tool_call(
        "exec_command",
        &json!({"cmd": "echo flotilla-shell-output"}),
    ));
    w.fake.push(Llm::text("The command ran."));
    let after = w.turn(&s, "run a command").await;
    let (status, output) = w.tool(&s, "shell").await.expect("a shell tool part");
    assert_eq!(status, ToolStatus::Completed);
    let output = output.unwrap_or_default();
    assert!(output.contains("flotilla-shell-output"), "{output}");
    assert!(output.contains("exit code 0"), "{output}");
    assert!(w.text(&s).await.contains("The command ran."));
    let thread = after.agent_session_id.clone().expect("the thread id");
    assert_eq!(
        after.tokens_in,
        Some(20),
        "two model requests of 10: {after:?}"
    );
    assert_eq!(after.tokens_out, Some(10));

    // 2. apply_patch creates a file, and the diff shows it.
    w.fake.push(Llm::ToolCall {
        name: "apply_patch".into(),
        arguments_json: "*** Begin Patch\n*** Add File: made.txt\n+made by codex\n*** End Patch\n"
            .into(),
    });
    w.fake.push(Llm::text("I wrote the file."));
    let after = w.turn(&s, "write the file").await;
    assert_eq!(
        std::fs::read_to_string(w.repo.path().join("made.txt")).expect("written"),
        "made by codex\n"
    );
    let (status, output) = w
        .tool(&s, "apply_patch")
        .await
        .expect("an apply_patch part");
    assert_eq!(status, ToolStatus::Completed);
    assert!(output.unwrap_or_default().contains("made.txt"));
    let diff = Command::Diff {
        id: s.id.to_string(),
    };
    match w.client.request(diff).await {
        Ok(Reply::Diff { files, .. }) => assert!(
            files
                .iter()
                .any(|f| f.path == "made.txt" && f.additions == 1),
            "{files:?}"
        ),
        other => panic!("diff: {other:?}"),
    }
    // Codex reports the thread's running totals; the session adds up turns.
    assert_eq!(after.tokens_in, Some(40), "{after:?}");

    // 3. The next prompt resumes the thread: the model sees the earlier conversation.
    w.fake.push(Llm::text("I remember"));
    let after = w.turn(&s, "what did I ask first").await;
    assert_eq!(after.agent_session_id.as_deref(), Some(thread.as_str()));
    let history = last_request(&w.fake);
    for earlier in ["run a command", "flotilla-shell-output", "write the file"] {
        assert!(history.contains(earlier), "{earlier} not in {history}");
    }
    assert!(w.text(&s).await.contains("I remember"));
    assert_eq!(after.tokens_in, Some(50), "{after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abort_leaves_the_thread_resumable_and_api_errors_end_the_turn() {
    let Some(w) = world().await else { return };
    let s = w.new_session("codex", Strategy::Existing).await;

    // 4. Abort during a slow stream: idle again, and the thread still resumes.
    w.fake.push(Llm::SlowText {
        chunks: 200,
        delay_ms: 50,
    });
    let requests = w.fake.requests().len();
    w.send(&s, "talk slowly").await;
    w.wait_for(&s, |s| s.status == Status::Active).await;
    // The model is streaming its slow reply once codex has asked it.
    poll::until(WAIT, "codex to ask the model", async || {
        w.fake.requests().len() > requests
    })
    .await;
    let abort = Command::Abort {
        id: s.id.to_string(),
        keep_queue: false,
    };
    match w.client.request(abort).await {
        Ok(Reply::Session { session, .. }) => assert_eq!(session.status, Status::Idle),
        other => panic!("abort: {other:?}"),
    }
    // SIGINT was enough: the turn's end names no harder signal.
    let errors = w.errors(&s).await;
    assert_eq!(
        errors.last().map(String::as_str),
        Some("the turn was aborted"),
        "{errors:?}"
    );
    let thread = w.get(&s).await.agent_session_id.expect("the thread id");

    w.fake.push(Llm::text("after the abort"));
    let after = w.turn(&s, "are you there").await;
    assert!(w.text(&s).await.contains("after the abort"));
    assert_eq!(after.agent_session_id.as_deref(), Some(thread.as_str()));
    let history = last_request(&w.fake);
    assert!(history.contains("talk slowly"), "{history}");

    // 5. An API error is an error turn; the session takes prompts again.
    w.fake
        .push(Llm::error(400, "the fake refuses this request"));
    let after = w.turn(&s, "fail please").await;
    assert_eq!(after.status, Status::Idle);
    let errors: Vec<String> = w
        .parts(&s)
        .await
        .into_iter()
        .filter_map(|p| match p.kind {
            PartKind::Error { message } => Some(message),
            _ => None,
        })
        .collect();
    assert!(
        errors.iter().any(|e| e == "the fake refuses this request"),
        "{errors:?}"
    );
    w.fake.push(Llm::text("fine again"));
    w.turn(&s, "and now").await;
    assert!(w.text(&s).await.contains("fine again"));
}
