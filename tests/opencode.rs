//! The `opencode` agent end to end: the real `opencode serve` driven through flotilla's
//! engine against a fake OpenAI-compatible server on 127.0.0.1.

mod support;

use flotilla::config::{AgentConfig, AgentKind, Config};
use flotilla::core::{PartKind, PermissionReply, Session, Settled, Status, Strategy};
use flotilla::protocol::{Command, Reply};
use serde_json::json;
use std::ops::{Deref, DerefMut};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use support::cli::process_alive;
use support::engine::{self, AgentWorld, WAIT};
use support::fake_llm::{FakeServer, OpenAiChat, Reply as Llm};
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

impl DerefMut for World {
    fn deref_mut(&mut self) -> &mut AgentWorld {
        &mut self.base
    }
}

async fn world() -> Option<World> {
    let binary = isolation::agent_binary("opencode")?;
    let fake = OpenAiChat::start().await.expect("fake server");
    let agent_home = isolation::agent_home();
    let env = offline::opencode_env(agent_home.path(), fake.url()).expect("offline env");
    let agent = engine::agent(AgentKind::Opencode, &binary, env);
    let ask = vec!["edit".to_string()];
    let mut config = Config::default();
    config.agents.insert("opencode".into(), agent.clone());
    config
        .agents
        .insert("opencode-ask".into(), AgentConfig { ask, ..agent });
    Some(World {
        base: AgentWorld::start(config).await,
        fake,
        _agent_home: agent_home,
    })
}

impl World {
    /// Waits for the permission card and answers it.
    async fn answer(&self, s: &Session, reply: PermissionReply) {
        let s = self.wait_for(s, |s| s.status == Status::WaitingInput).await;
        let request_id = self
            .parts(&s)
            .await
            .iter()
            .find_map(|p| match &p.kind {
                PartKind::Permission {
                    request_id,
                    reply: None,
                    ..
                } => Some(request_id.clone()),
                _ => None,
            })
            .expect("a pending permission part");
        let command = Command::Permission {
            id: s.id.to_string(),
            request_id: Some(request_id),
            reply,
        };
        self.request(command).await;
    }

    /// The pids of the OpenCode servers flotilla has records of.
    fn instance_pids(&self) -> Vec<i64> {
        self.opencode_servers().into_iter().map(i64::from).collect()
    }
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .flat_map(|e| {
            if e.path().is_dir() {
                walk(&e.path())
            } else {
                vec![e.path()]
            }
        })
        .collect()
}

fn model_requests(fake: &FakeServer) -> Vec<serde_json::Value> {
    fake.requests()
        .into_iter()
        .filter(|r| !OpenAiChat::is_title_request(r))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_streams_tools_write_files_and_a_second_session_shares_the_server() {
    let Some(w) = world().await else { return };
    let s = w.new_session("opencode", Strategy::Existing).await;
    assert!(
        s.agent_session_id
            .as_deref()
            .is_some_and(|id| id.starts_with("ses")),
        "{s:?}"
    );

    // 1. A text reply streams into the transcript.
    w.fake
        .push(Llm::text("Hello from the fake model, streamed in pieces."));
    w.turn(&s, "say hello").await;
    let text = w.text(&s).await;
    assert!(
        text.contains("Hello from the fake model, streamed in pieces."),
        "{text}"
    );
    assert_eq!(
        OpenAiChat::last_user_text(model_requests(&w.fake).last().expect("request")).as_deref(),
        Some("say hello")
    );

    // 2. A write tool call creates a file, and the diff shows it.
    let target = w.repo.path().join("made.txt");
    w.fake.push(Llm::tool_call(
        "write",
        &json!({"filePath": target, "content": "made by opencode\n"}),
    ));
    w.fake.push(Llm::text("I wrote the file."));
    let after = w.turn(&s, "write the file").await;
    assert_eq!(
        std::fs::read_to_string(&target).expect("written"),
        "made by opencode\n"
    );
    let transcript = w.transcript(&s).await;
    assert!(
        transcript.iter().flat_map(|m| &m.parts).any(|p| matches!(&p.kind,
            PartKind::Tool { name, status: flotilla::core::ToolStatus::Completed, .. } if name == "write")),
        "a completed write tool part: {transcript:?}"
    );
    match w
        .client
        .request(Command::Diff {
            id: s.id.to_string(),
        })
        .await
    {
        Ok(Reply::Diff { files, .. }) => {
            assert!(
                files
                    .iter()
                    .any(|f| f.path == "made.txt" && f.additions == 1),
                "{files:?}"
            )
        }
        other => panic!("diff: {other:?}"),
    }
    assert!(
        after.tokens_in.is_some() || after.cost_usd.is_some(),
        "usage from the assistant messages: {after:?}"
    );

    // The server's password stays in its private record: not in the database, not in
    // what clients are told.
    let record = walk(&w.paths.data_dir.join("opencode"))
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "json"))
        .expect("an instance record");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&record)
            .expect("record")
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    let password = serde_json::from_str::<serde_json::Value>(
        &std::fs::read_to_string(&record).expect("record"),
    )
    .expect("json")["password"]
        .as_str()
        .expect("password")
        .to_string();
    for file in ["flotilla.db", "flotilla.db-wal"] {
        let bytes = std::fs::read(w.paths.data_dir.join(file)).unwrap_or_default();
        assert!(
            !bytes
                .windows(password.len())
                .any(|b| b == password.as_bytes()),
            "the password is in {file}"
        );
    }
    let told = format!("{:?}", w.client.request(Command::List).await.expect("list"));
    assert!(!told.contains(&password), "the password reached a client");

    // 7. A second session in the same directory reuses the server.
    let pids = w.instance_pids();
    assert_eq!(pids.len(), 1, "{pids:?}");
    let second = w.new_session("opencode", Strategy::Existing).await;
    assert_ne!(second.agent_session_id, s.agent_session_id);
    assert_eq!(
        w.instance_pids(),
        pids,
        "the same server serves both sessions"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permissions_are_asked_allowed_and_denied() {
    let Some(w) = world().await else { return };
    let s = w.new_session("opencode-ask", Strategy::Existing).await;

    let allowed = w.repo.path().join("allowed.txt");
    w.fake.push(Llm::tool_call(
        "write",
        &json!({"filePath": allowed, "content": "yes\n"}),
    ));
    w.fake.push(Llm::text("written"));
    w.send(&s, "write allowed.txt").await;
    w.answer(&s, PermissionReply::Once).await;
    w.wait_for(&s, |s| s.status == Status::Idle).await;
    assert!(allowed.exists(), "allowed once: the file is written");

    let denied = w.repo.path().join("denied.txt");
    w.fake.push(Llm::tool_call(
        "write",
        &json!({"filePath": denied, "content": "no\n"}),
    ));
    w.send(&s, "write denied.txt").await;
    w.answer(&s, PermissionReply::Deny).await;
    w.wait_for(&s, |s| s.status == Status::Idle).await;
    assert!(!denied.exists(), "denied: nothing written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_mid_stream_then_kill_and_resume_then_restart_reattaches() {
    let Some(mut w) = world().await else { return };
    let s = w.new_session("opencode", Strategy::Existing).await;

    // 4. Abort during a slow stream: idle again, and the next prompt works.
    w.fake.push(Llm::SlowText {
        chunks: 200,
        delay_ms: 50,
    });
    w.send(&s, "talk slowly").await;
    w.wait_for(&s, |s| s.status == Status::Active).await;
    w.until_text(&s, "chunk 3").await;
    match w
        .client
        .request(Command::Abort {
            id: s.id.to_string(),
            keep_queue: false,
        })
        .await
    {
        Ok(Reply::Session { session, .. }) => assert_eq!(session.status, Status::Idle),
        other => panic!("abort: {other:?}"),
    }
    w.fake.push(Llm::text("after the abort"));
    w.turn(&s, "are you there").await;
    let text = w.text(&s).await;
    assert!(text.contains("after the abort"), "{text}");

    // 6. A daemon restart stops the server of a session with no turn running (idle
    // sessions cost nothing); the next prompt starts one that resumes the conversation.
    // Nothing is lost or doubled. (A running turn's server is reattached: see the test of
    // a turn streaming across a restart.)
    let before = w.transcript(&s).await;
    let old = w.instance_pids();
    w.restart().await;
    let again = w.wait_for(&s, |s| s.status == Status::Idle).await;
    assert!(!again.agent_running, "no agent for an idle session");
    let what = format!("the idle server {old:?} to end");
    poll::until(WAIT, &what, async || {
        !old.iter().any(|&p| process_alive(p as i32))
    })
    .await;
    let after = w.transcript(&s).await;
    let ids = |t: &[flotilla::core::Message]| t.iter().map(|m| m.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&after), ids(&before), "no message lost or doubled");
    assert_eq!(again.message_count, before.len() as u64);
    w.fake.push(Llm::text("after the restart"));
    w.turn(&s, "still there").await;
    assert!(w.text(&s).await.contains("after the restart"));
    let pids = w.instance_pids();
    assert_eq!(pids.len(), 1, "one new server: {pids:?}");

    // 5. Killing the server disconnects the session; resume brings the conversation back.
    let pid = pids[0];
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill");
    let killed = Instant::now();
    w.wait_for(&s, |s| s.status == Status::Disconnected).await;
    // Disconnected within 2 s is promised; the margin is for a loaded machine, and the
    // opencode bench reports the real figure.
    assert!(
        killed.elapsed() < Duration::from_secs(10),
        "disconnected after {:?}",
        killed.elapsed()
    );
    match w
        .client
        .request(Command::Resume {
            id: s.id.to_string(),
        })
        .await
    {
        Ok(Reply::Session { .. }) => {}
        other => panic!("resume: {other:?}"),
    }
    w.wait_for(&s, |s| s.status == Status::Idle).await;
    w.fake.push(Llm::text("I remember"));
    w.turn(&s, "what did I say first").await;
    let last = model_requests(&w.fake).pop().expect("a request");
    let history = last.to_string();
    assert!(
        history.contains("talk slowly") && history.contains("are you there"),
        "the earlier conversation: {history}"
    );
}

impl World {
    /// Resumes a `disconnected` session.
    async fn resume(&self, s: &Session) {
        let id = s.id.to_string();
        match self.request(Command::Resume { id }).await {
            Reply::Session { .. } => {}
            other => panic!("resume: {other:?}"),
        }
    }

    /// The status the session settles in after a resume, past `starting` (and past
    /// `also`, a status it may pass through on the way).
    async fn settled(&self, s: &Session, also: Option<Status>) -> Session {
        self.wait_for(s, |s| {
            s.status != Status::Starting && Some(s.status) != also
        })
        .await
    }
}

/// The text the slow reply's deltas spell, from chunk 0 up to (not including) `n`.
fn chunks_upto(n: usize) -> String {
    (0..n).map(|i| format!("chunk {i} ")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_text_survives_a_server_kill_a_resume_and_a_daemon_restart() {
    let Some(mut w) = world().await else { return };
    let s = w.new_session("opencode", Strategy::Existing).await;

    w.fake.push(Llm::SlowText {
        chunks: 400,
        delay_ms: 50,
    });
    w.send(&s, "talk slowly").await;
    w.until_text(&s, "chunk 3 ").await;
    let saved = chunks_upto(4);

    // The server dies mid-stream: what it streamed never reached its own storage.
    let pids = w.instance_pids();
    assert_eq!(pids.len(), 1, "{pids:?}");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pids[0] as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill");
    w.wait_for(&s, |s| s.status == Status::Disconnected).await;
    w.resume(&s).await;
    w.wait_for(&s, |s| s.status == Status::Idle).await;
    assert_ne!(w.instance_pids(), pids, "a new server");
    let text = w.text(&s).await;
    assert!(text.contains(&saved), "after the resume: {text}");

    // A new daemon re-syncs from that server: the saved text must stay.
    w.restart().await;
    w.wait_for(&s, |s| s.status == Status::Idle).await;
    let text = w.text(&s).await;
    assert!(text.contains(&saved), "after the restart: {text}");

    // And the session still works.
    w.fake.push(Llm::text("still here"));
    w.turn(&s, "are you there").await;
    let text = w.text(&s).await;
    assert!(
        text.contains("still here") && text.contains(&saved),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turn_still_streaming_across_a_daemon_restart_shows_active_until_it_ends() {
    let Some(mut w) = world().await else { return };
    let s = w.new_session("opencode", Strategy::Existing).await;

    // A reply of 20 s: the restart and the resume happen while the server streams it.
    w.fake.push(Llm::SlowText {
        chunks: 400,
        delay_ms: 50,
    });
    w.send(&s, "talk slowly").await;
    w.wait_for(&s, |s| s.status == Status::Active).await;
    w.until_text(&s, "chunk 3 ").await;
    let pids = w.instance_pids();

    w.restart().await;
    w.wait_for(&s, |s| s.status == Status::Disconnected).await;
    w.resume(&s).await;
    let resumed = w.settled(&s, None).await;
    assert_eq!(
        w.instance_pids(),
        pids,
        "the running server is reattached, not replaced"
    );
    assert_eq!(
        resumed.status,
        Status::Active,
        "the server is still streaming the turn: {resumed:?}"
    );
    // What streamed before the restart stays, and the rest of the turn keeps arriving
    // while the session is still active.
    w.until_text(&s, "chunk 250 ").await;
    let text = w.text(&s).await;
    assert!(text.contains(&chunks_upto(4)), "{text}");
    let midway = w.get(&s).await;
    assert_eq!(midway.status, Status::Active, "{midway:?}");

    // A prompt sent meanwhile waits for that turn, then gets its own.
    w.fake.push(Llm::text("the next answer"));
    w.send(&s, "and then?").await;
    let queued = w.get(&s).await;
    assert_eq!(
        queued.queued_prompts, 1,
        "the prompt waits its turn: {queued:?}"
    );
    w.until_text(&s, "the next answer").await;
    let done = w.wait_for(&s, |s| s.status == Status::Idle).await;
    assert_eq!(done.queued_prompts, 0, "{done:?}");
    let text = w.text(&s).await;
    assert!(
        text.contains(&chunks_upto(400)),
        "the whole old turn: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permission_pending_across_a_daemon_restart_comes_back_and_can_be_answered() {
    let Some(mut w) = world().await else { return };
    let s = w.new_session("opencode-ask", Strategy::Existing).await;

    let target = w.repo.path().join("after-restart.txt");
    w.fake.push(Llm::tool_call(
        "write",
        &json!({"filePath": target, "content": "answered after a restart\n"}),
    ));
    w.fake.push(Llm::text("written after all"));
    w.send(&s, "write after-restart.txt").await;
    w.wait_for(&s, |s| s.status == Status::WaitingInput).await;

    w.restart().await;
    w.wait_for(&s, |s| s.status == Status::Disconnected).await;
    w.resume(&s).await;
    // Told the turn runs, then that it waits: `active` may show on the way.
    let resumed = w.settled(&s, Some(Status::Active)).await;
    assert_eq!(
        resumed.status,
        Status::WaitingInput,
        "the server still waits for the answer: {resumed:?}"
    );
    let open: Vec<_> = w
        .parts(&s)
        .await
        .into_iter()
        .filter(|p| matches!(&p.kind, PartKind::Permission { reply: None, .. }))
        .collect();
    assert_eq!(open.len(), 1, "one open permission card: {open:?}");

    w.answer(&s, PermissionReply::Once).await;
    w.until_text(&s, "written after all").await;
    w.wait_for(&s, |s| s.status == Status::Idle).await;
    assert_eq!(
        std::fs::read_to_string(&target).expect("the tool ran"),
        "answered after a restart\n"
    );
    assert!(
        w.parts(&s).await.iter().any(|p| matches!(
            &p.kind,
            PartKind::Permission {
                reply: Some(Settled::Once),
                ..
            }
        )),
        "the card shows the answer"
    );
}

/// A server that is slow to start in one directory holds up no other: the start lock is
/// per directory. The first `opencode serve` waits for the test's word before it starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_server_start_in_one_directory_holds_up_no_other() {
    let Some(binary) = isolation::agent_binary("opencode") else {
        return;
    };
    let fake = OpenAiChat::start().await.expect("fake server");
    let agent_home = isolation::agent_home();
    let env = offline::opencode_env(agent_home.path(), fake.url()).expect("offline env");
    let gate = tempfile::tempdir().expect("gate");
    let (hold, taken, release) = (
        gate.path().join("hold"),
        gate.path().join("taken"),
        gate.path().join("release"),
    );
    let wrapper = gate.path().join("opencode");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\ncase \"$*\" in *serve*)\n  if mv '{}' '{}' 2>/dev/null; then\n    while [ ! -e '{}' ]; do sleep 0.05; done\n  fi;;\nesac\nexec '{}' \"$@\"\n",
            hold.display(),
            taken.display(),
            release.display(),
            binary.display()
        ),
    )
    .expect("wrapper");
    support::make_executable(&wrapper);
    std::fs::write(&hold, "").expect("hold");
    let mut config = Config::default();
    config.agents.insert(
        "opencode".into(),
        engine::agent(AgentKind::Opencode, &wrapper, env),
    );
    let w = AgentWorld::start(config).await;

    // Session A's server start is held: it stays starting.
    let a = match w
        .request(Command::New(flotilla::protocol::NewSession {
            dir: w.repo.path().to_path_buf(),
            strategy: Some(Strategy::Worktree),
            agent: Some("opencode".into()),
            ..Default::default()
        }))
        .await
    {
        Reply::Session { session, .. } => session,
        other => panic!("{other:?}"),
    };
    poll::until(WAIT, "A's server to start", async || taken.exists()).await;

    // Meanwhile session B, in a directory of its own, starts and answers.
    let b = w.new_session("opencode", Strategy::Worktree).await;
    assert_ne!(a.workspace, b.workspace);
    fake.push(Llm::text("B answers while A waits."));
    w.turn(&b, "say something").await;
    let text = w.text(&b).await;
    assert!(text.contains("B answers while A waits."), "{text}");
    assert_eq!(w.get(&a).await.status, Status::Starting, "A is still held");

    std::fs::write(&release, "").expect("release");
    let a = w.wait_for(&a, |s| s.status == Status::Idle).await;
    assert!(a.agent_session_id.is_some(), "{a:?}");
}

/// A server that stops answering (here: stopped with SIGSTOP) does not hang the session:
/// the prompt's call times out and the turn ends with an error that says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_stops_answering_ends_the_turn_with_why() {
    let Some(w) = world().await else { return };
    let s = w.new_session("opencode", Strategy::Existing).await;
    let pids = w.instance_pids();
    assert!(!pids.is_empty(), "a server runs");
    for &pid in &pids {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGSTOP,
        );
    }
    w.send(&s, "are you there").await;
    let limit = flotilla::agent::opencode::CALL_TIMEOUT + WAIT;
    w.until_text_within(limit, &s, "did not answer").await;
    let said = w.text(&s).await;
    for &pid in &pids {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGCONT,
        );
    }
    assert!(said.contains("may be stuck"), "{said}");
    // The error is written as the turn ends; the session is idle once its checkpoint
    // is kept, a moment later.
    w.wait_for(&s, |s| !s.status.is_busy()).await;
}
