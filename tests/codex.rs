//! The `codex` agent end to end: the real `codex exec --json` driven through flotilla's
//! engine against a fake OpenAI Responses server on 127.0.0.1.

mod support;

use flotilla::config::{AgentConfig, AgentKind, Config};
use flotilla::core::{Message, PartKind, Session, Status, Strategy, ToolStatus};
use flotilla::daemon::Client;
use flotilla::engine::Engine;
use flotilla::protocol::{Command, NewSession, Reply};
use serde_json::json;
use std::time::{Duration, Instant};
use support::fake_llm::{FakeServer, OpenAiResponses, Reply as Llm};
use support::{Repo, isolation, offline};

const WAIT: Duration = Duration::from_secs(60);

struct World {
    client: Client,
    fake: FakeServer,
    repo: Repo,
    _home: tempfile::TempDir,
    _agent_home: tempfile::TempDir,
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
            kind: AgentKind::Codex,
            command: vec![binary.to_string_lossy().into_owned()],
            env: env.into_iter().collect(),
            ask: vec![],
            agent: None,
            permission_mode: None,
            sandbox: Some("workspace-write".into()),
            approval: Some("never".into()),
        },
    );
    let home = tempfile::Builder::new()
        .prefix("flo")
        .tempdir_in("/tmp")
        .expect("home");
    let paths = flotilla::paths::Paths::with_home(home.path()).expect("paths");
    let engine = Engine::start(paths, config, None).expect("engine");
    let repo = Repo::new();
    repo.write("README", "hello\n");
    repo.commit_all("first");
    Some(World {
        client: Client::in_process(engine),
        fake,
        repo,
        _home: home,
        _agent_home: agent_home,
    })
}

impl World {
    async fn new_session(&self) -> Session {
        let reply = self
            .client
            .request(Command::New(NewSession {
                dir: self.repo.path().to_path_buf(),
                strategy: Some(Strategy::Existing),
                agent: Some("codex".into()),
                ..NewSession::default()
            }))
            .await
            .expect("new");
        let Reply::Session { session, .. } = reply else {
            panic!("{reply:?}")
        };
        self.wait_for(&session, |s| s.status == Status::Idle).await
    }

    async fn get(&self, s: &Session) -> Session {
        let id = s.id.to_string();
        match self.client.request(Command::Get { id }).await {
            Ok(Reply::Session { session, .. }) => session,
            other => panic!("get: {other:?}"),
        }
    }

    async fn wait_for(&self, s: &Session, done: impl Fn(&Session) -> bool) -> Session {
        let start = Instant::now();
        loop {
            let now = self.get(s).await;
            if done(&now) {
                return now;
            }
            assert!(
                start.elapsed() < WAIT,
                "session is {} ({:?})",
                now.status,
                now.status_reason
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    async fn send(&self, s: &Session, text: &str) {
        let command = Command::Send {
            id: s.id.to_string(),
            text: text.into(),
        };
        self.client.request(command).await.expect("send");
    }

    /// Sends a prompt and waits for the turn it starts to end.
    async fn turn(&self, s: &Session, text: &str) -> Session {
        let before = self.transcript(s).await.len();
        self.send(s, text).await;
        let start = Instant::now();
        // The user's message lands when the turn starts; idle after that ends it.
        while self.transcript(s).await.len() <= before {
            assert!(start.elapsed() < WAIT, "the prompt never started a turn");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        self.wait_for(s, |s| s.status == Status::Idle).await
    }

    async fn transcript(&self, s: &Session) -> Vec<Message> {
        let command = Command::Transcript {
            id: s.id.to_string(),
            follow: false,
        };
        match self.client.request(command).await {
            Ok(Reply::Transcript { messages, .. }) => messages,
            other => panic!("transcript: {other:?}"),
        }
    }

    async fn text(&self, s: &Session) -> String {
        serde_json::to_string(&self.transcript(s).await).expect("json")
    }

    async fn tool(&self, s: &Session, tool: &str) -> Option<(ToolStatus, Option<String>)> {
        self.transcript(s)
            .await
            .into_iter()
            .flat_map(|m| m.parts)
            .find_map(|p| match p.kind {
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
    let s = w.new_session().await;

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
        stat: true,
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
    let s = w.new_session().await;

    // 4. Abort during a slow stream: idle again, and the thread still resumes.
    w.fake.push(Llm::SlowText {
        chunks: 200,
        delay_ms: 50,
    });
    let requests = w.fake.requests().len();
    w.send(&s, "talk slowly").await;
    w.wait_for(&s, |s| s.status == Status::Active).await;
    let start = Instant::now();
    while w.fake.requests().len() == requests {
        assert!(start.elapsed() < WAIT, "codex never asked the model");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    // Let the stream run a little.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let asked = Instant::now();
    let abort = Command::Abort {
        id: s.id.to_string(),
    };
    match w.client.request(abort).await {
        Ok(Reply::Session { session, .. }) => assert_eq!(session.status, Status::Idle),
        other => panic!("abort: {other:?}"),
    }
    assert!(
        asked.elapsed() < Duration::from_secs(3),
        "abort took {:?}",
        asked.elapsed()
    );
    assert!(w.text(&s).await.contains("the turn was aborted"));
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
        .transcript(&s)
        .await
        .into_iter()
        .flat_map(|m| m.parts)
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
