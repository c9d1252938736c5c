//! The `claude` agent end to end: the real Claude Code CLI driven through flotilla's
//! engine against a fake Anthropic server on 127.0.0.1.

mod support;

use flotilla::config::{AgentConfig, AgentKind, Config};
use flotilla::core::{PartKind, PermissionReply, Session, Settled, Status, Strategy, ToolStatus};
use flotilla::protocol::{Command, Reply};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::json;
use std::ops::{Deref, DerefMut};
use std::time::{Duration, Instant};
use support::engine::{self, AgentWorld, TurnEnd, WAIT, deltas_until_idle};
use support::fake_llm::{Anthropic, FakeServer, Reply as Llm};
use support::{isolation, offline, poll};

/// How long a lost process may take to show: 2 s are promised, the rest is slack.
const DISCONNECTED: Duration = Duration::from_secs(10);

const GONE: &str = "the Claude conversation ID no longer exists: start a new session";

struct World {
    base: AgentWorld,
    fake: FakeServer,
    agent_home: tempfile::TempDir,
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
    world_with(Config::default()).await
}

async fn world_with(mut config: Config) -> Option<World> {
    let binary = isolation::agent_binary("claude")?;
    let fake = Anthropic::start().await.expect("fake server");
    let agent_home = isolation::agent_home();
    let env = offline::claude_env(agent_home.path(), fake.url()).expect("offline env");
    config.agents.insert(
        "claude".into(),
        AgentConfig {
            permission_mode: Some("default".into()),
            ..engine::agent(AgentKind::Claude, &binary, env)
        },
    );
    let mut base = AgentWorld::start(config).await;
    // A turn ends idle with the prompt and a reply.
    base.turn_end = TurnEnd::Replied;
    Some(World {
        base,
        fake,
        agent_home,
    })
}

impl World {
    /// Waits for the permission card and answers it.
    async fn answer(&self, s: &Session, reply: PermissionReply) {
        let s = self.wait_for(s, |s| s.status == Status::WaitingInput).await;
        let parts = self.parts(&s).await.into_iter().map(|p| json!(p));
        let mut cards = parts.filter(|p| p["type"] == "permission" && p["reply"].is_null());
        let card = cards.next_back().expect("a pending permission part");
        let (id, request_id) = (s.id.to_string(), card["request_id"].to_string());
        let request_id = request_id.trim_matches('"').to_string();
        self.request(Command::Permission {
            id,
            request_id: Some(request_id),
            reply,
        })
        .await;
    }

    /// Aborts the turn; returns the session as the abort left it.
    async fn abort(&self, s: &Session) -> Session {
        let id = s.id.to_string();
        let Reply::Session { session, .. } = self
            .request(Command::Abort {
                id,
                keep_queue: false,
            })
            .await
        else {
            panic!("abort")
        };
        session
    }

    async fn resume(&self, s: &Session) {
        let id = s.id.to_string();
        self.request(Command::Resume { id }).await;
    }

    /// Waits until Claude's own transcript holds `text`. Claude writes it a few
    /// milliseconds after a turn: a kill sooner than that loses the turn on Claude's
    /// side, whatever flotilla does.
    async fn persisted(&self, text: &str) {
        let dir = self.agent_home.path().join("projects");
        let what = format!("{text:?} in Claude's transcript");
        poll::until(WAIT, &what, async || {
            let mut files = jsonl_files(&dir).into_iter();
            files.any(|f| std::fs::read_to_string(f).is_ok_and(|t| t.contains(text)))
        })
        .await
    }

    /// The last model request's whole text.
    fn history(&self) -> String {
        let requests = self.fake.requests().into_iter();
        let mut model = requests.filter(|r| r.get("messages").is_some());
        model.next_back().expect("a model request").to_string()
    }
}

fn jsonl_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let entries = std::fs::read_dir(dir).into_iter().flatten().flatten();
    let files = entries.flat_map(|e| match e.path() {
        p if p.is_dir() => jsonl_files(&p),
        p if p.extension().is_some_and(|x| x == "jsonl") => vec![p],
        _ => Vec::new(),
    });
    files.collect()
}

/// The pid of the session's `claude` process, found by its command line.
fn claude_pid(s: &Session) -> Option<Pid> {
    let id = s.id.to_string();
    let pids = std::fs::read_dir("/proc").ok()?.filter_map(Result::ok);
    let pids = pids.filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok());
    pids.map(Pid::from_raw).find(|pid| {
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmd = String::from_utf8_lossy(&cmd);
        cmd.contains("claude") && cmd.contains(&id)
    })
}

/// Waits until the session has no `claude` process (an old one may still be exiting).
async fn no_claude_for(s: &Session) {
    let what = format!("the claude process of {} to end", s.id.short());
    poll::until(WAIT, &what, async || claude_pid(s).is_none()).await
}

/// A reply slow enough to be interrupted: 20 s of chunks.
fn slow() -> Llm {
    Llm::SlowText {
        chunks: 400,
        delay_ms: 50,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_streams_tools_ask_and_errors_end_the_turn() {
    let Some(mut w) = world().await else { return };
    let mut events = w.client.take_events().expect("events");
    w.request(Command::Subscribe).await;
    let s = w.new_session("claude", Strategy::Existing).await;

    // 1. A text reply streams into one part; the conversation is named after the session.
    let hello = "Hello from the fake model, streamed in pieces.";
    w.fake.push(Llm::text(hello));
    w.send(&s, "say hello").await;
    let deltas = deltas_until_idle(&mut events, &s).await;
    assert!(deltas.len() > 1, "streamed in pieces: {deltas:?}");
    assert_eq!(deltas.concat(), hello);
    let text = w.text(&s).await;
    assert_eq!(text.matches(hello).count(), 1, "one part, not two: {text}");
    let after = w.get(&s).await;
    assert_eq!(after.agent_session_id, Some(s.id.to_string()));
    assert!(after.tokens_in.is_some() && after.cost_usd.is_some());
    let request: serde_json::Value = serde_json::from_str(&w.history()).expect("json");
    assert_eq!(
        Anthropic::last_user_text(&request).as_deref(),
        Some("say hello")
    );

    // 2. A Write asks; allowed, the file is written and the diff shows it.
    let target = w.repo.path().join("made.txt");
    let input = json!({"file_path": target, "content": "made by claude\n"});
    w.fake.push(Llm::tool_call("Write", &input));
    w.fake.push(Llm::text("I wrote the file."));
    w.send(&s, "write the file").await;
    w.answer(&s, PermissionReply::Once).await;
    w.until_text(&s, "I wrote the file.").await;
    w.wait_for(&s, |s| s.status == Status::Idle).await;
    assert_eq!(
        std::fs::read_to_string(&target).expect("written"),
        "made by claude\n"
    );
    let parts = w.parts(&s).await;
    assert!(
        parts.iter().any(|p| matches!(&p.kind,
            PartKind::Tool { name, status: ToolStatus::Completed, .. } if name == "Write")),
        "a completed Write part: {parts:?}"
    );
    assert!(parts.iter().any(|p| matches!(&p.kind,
        PartKind::Permission { tool, detail, reply: Some(Settled::Once), .. }
            if tool == "Write" && detail.ends_with("made.txt"))));
    let id = s.id.to_string();
    let Reply::Diff { files, .. } = w.request(Command::Diff { id }).await else {
        panic!("diff")
    };
    let made = files.iter().find(|f| f.path == "made.txt");
    assert_eq!(made.map(|f| f.additions), Some(1), "{files:?}");

    // 3. A second Write, denied: nothing is written and the turn goes on to its end.
    let denied = w.repo.path().join("denied.txt");
    let input = json!({"file_path": denied, "content": "no\n"});
    w.fake.push(Llm::tool_call("Write", &input));
    w.fake.push(Llm::text("Understood, I did not write it."));
    w.send(&s, "write denied.txt").await;
    w.answer(&s, PermissionReply::Deny).await;
    w.until_text(&s, "Understood, I did not write it.").await;
    w.wait_for(&s, |s| s.status == Status::Idle).await;
    assert!(!denied.exists(), "denied: nothing written");

    // 6. An API error is an error turn; the session takes prompts again.
    w.fake.push(Llm::error(400, "the fake model refuses this"));
    let after = w.turn(&s, "fail please").await;
    assert_eq!(after.status, Status::Idle);
    let errors = w.parts(&s).await.into_iter().filter_map(|p| match p.kind {
        PartKind::Error { message } => Some(message),
        _ => None,
    });
    let errors: Vec<String> = errors.collect();
    assert!(
        errors.len() == 1 && errors[0].contains("the fake model refuses this"),
        "{errors:?}"
    );
    w.fake.push(Llm::text("fine again"));
    w.turn(&s, "and now?").await;
    assert!(w.text(&s).await.contains("fine again"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_keeps_the_process_and_a_killed_one_resumes_until_the_conversation_is_gone() {
    let Some(mut w) = world().await else { return };
    let s = w.new_session("claude", Strategy::Existing).await;

    // 4. Abort during a slow stream: idle again, the same process takes the next prompt.
    w.fake.push(slow());
    w.send(&s, "talk slowly").await;
    w.until_text(&s, "chunk 3").await;
    let pid = claude_pid(&s).expect("the session's claude process");
    let after = w.abort(&s).await;
    assert_eq!(after.status, Status::Idle);
    // Claude answered the interrupt: the turn's end names no signal.
    let errors = w.errors(&s).await;
    assert_eq!(
        errors.last().map(String::as_str),
        Some("the turn was aborted"),
        "{errors:?}"
    );
    w.fake.push(Llm::text("after the abort"));
    w.turn(&s, "are you there").await;
    assert!(w.text(&s).await.contains("after the abort"));
    assert_eq!(claude_pid(&s), Some(pid), "the same process");

    // 5. A killed process disconnects the session; resume continues the conversation.
    w.persisted("after the abort").await;
    kill(pid, Signal::SIGKILL).expect("kill");
    let killed = Instant::now();
    let lost = w.wait_for(&s, |s| s.status == Status::Disconnected).await;
    // Disconnected within 2 s is promised; the margin is for a loaded machine, and the
    // claude bench reports the real figure.
    assert!(killed.elapsed() < DISCONNECTED, "{lost:?}");
    let why = lost.status_reason.unwrap_or_default();
    assert!(why.contains("resume the session"), "{why}");
    w.resume(&s).await;
    w.wait_for(&s, |s| s.status == Status::Idle).await;
    w.fake.push(Llm::text("I remember"));
    w.turn(&s, "what did I say first").await;
    let history = w.history();
    assert!(
        history.contains("talk slowly") && history.contains("are you there"),
        "the earlier conversation: {history}"
    );
    assert!(w.text(&s).await.contains("I remember"));

    // After a daemon restart the idle session has no process until a prompt needs one;
    // then Claude starts again, resumed.
    let messages = w.get(&s).await.message_count;
    w.restart().await;
    let idle = w.wait_for(&s, |s| s.status == Status::Idle).await;
    assert!(
        !idle.agent_running,
        "no agent for an idle session: {idle:?}"
    );
    no_claude_for(&s).await;
    w.fake.push(Llm::text("still here"));
    let after = w.turn(&s, "after the restart").await;
    assert!(w.history().contains("what did I say first"));
    assert_eq!(
        after.message_count,
        messages + 2,
        "the prompt and the reply"
    );
    assert!(w.text(&s).await.contains("still here"));

    // A conversation Claude no longer has cannot be resumed, and says so.
    w.persisted("still here").await;
    kill(claude_pid(&s).expect("claude"), Signal::SIGKILL).expect("kill");
    w.wait_for(&s, |s| s.status == Status::Disconnected).await;
    std::fs::remove_dir_all(w.agent_home.path().join("projects")).expect("transcripts");
    w.resume(&s).await;
    let failed = w.wait_for(&s, |s| s.status == Status::Error).await;
    assert_eq!(failed.status_reason.as_deref(), Some(GONE));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_interrupt_escalates_and_the_next_prompt_starts_claude_again() {
    let Some(w) = world().await else { return };
    let s = w.new_session("claude", Strategy::Existing).await;
    w.fake.push(slow());
    w.send(&s, "talk slowly").await;
    w.until_text(&s, "chunk 3").await;
    w.persisted("talk slowly").await;
    // A frozen process answers nothing: the interrupt goes unanswered, then signals.
    let pid = claude_pid(&s).expect("the session's claude process");
    kill(pid, Signal::SIGSTOP).expect("stop");
    let after = w.abort(&s).await;
    assert_eq!(after.status, Status::Idle);
    // A stopped process holds SIGINT and SIGTERM back; SIGKILL ends it, and the turn's
    // end says so.
    let errors = w.errors(&s).await;
    let forced = "the turn was aborted: Claude Code did not end the turn when asked, and was stopped with SIGKILL";
    assert_eq!(
        errors.last().map(String::as_str),
        Some(forced),
        "{errors:?}"
    );
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"));
    assert!(
        stat.is_err() || stat.is_ok_and(|s| s.contains(") Z")),
        "the process is gone"
    );
    w.fake.push(Llm::text("back again"));
    w.turn(&s, "hello again").await;
    assert!(w.text(&s).await.contains("back again"));
    let again = claude_pid(&s).expect("a new claude process");
    assert_ne!(again, pid);
    let cmdline = std::fs::read(format!("/proc/{again}/cmdline")).expect("cmdline");
    let resumed = format!("--resume={}", s.id);
    assert!(
        String::from_utf8_lossy(&cmdline).contains(&resumed),
        "resumed, not new"
    );
    assert!(w.history().contains("talk slowly"));
}

/// An idle session's Claude process is stopped after `idle_instance_timeout`; the session
/// stays idle, and the next prompt starts Claude again with the whole conversation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_claude_hibernates_and_the_next_prompt_resumes_it() {
    let config = Config {
        idle_instance_timeout: Duration::from_secs(1),
        ..Config::default()
    };
    let Some(w) = world_with(config).await else {
        return;
    };
    let s = w.new_session("claude", Strategy::Existing).await;
    w.fake.push(Llm::text("the first answer"));
    w.turn(&s, "remember the word heron").await;
    w.persisted("the first answer").await;

    let asleep = w.wait_for(&s, |s| !s.agent_running).await;
    assert_eq!(
        asleep.status,
        Status::Idle,
        "hibernation keeps the session idle"
    );
    no_claude_for(&s).await;

    w.fake.push(Llm::text("the word was heron"));
    w.turn(&s, "which word?").await;
    let history = w.history();
    assert!(
        history.contains("remember the word heron") && history.contains("the first answer"),
        "the model gets the whole earlier conversation: {history}"
    );
    assert!(w.text(&s).await.contains("the word was heron"));
}
