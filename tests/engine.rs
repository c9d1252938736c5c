//! The engine through the in-process client: queueing, interrupts that escalate,
//! configured agents and shared workspaces, with real git and real processes.

mod support;

use flotilla::config::Config;
use flotilla::core::{Mark, Session, Status, Strategy};
use flotilla::daemon::Client;
use flotilla::engine::Engine;
use flotilla::paths::Paths;
use flotilla::protocol::{Command, Event, NewSession, Reply};
use std::time::Instant;
use support::events::Recorder;
use support::{Gate, Repo};

struct Harness {
    client: Client,
    events: Recorder,
    _home: tempfile::TempDir,
}

async fn start(config: &str) -> Harness {
    let home = tempfile::tempdir().expect("tempdir");
    let paths = Paths::with_home(home.path()).expect("paths");
    let config = Config::parse(config).expect("config");
    let engine = Engine::start(paths, config, None).expect("engine");
    Harness {
        events: Recorder::start(&engine).await,
        client: Client::in_process(engine),
        _home: home,
    }
}

fn repo() -> Repo {
    let repo = Repo::new();
    repo.write("README", "hi\n");
    repo.commit_all("first");
    repo
}

impl Harness {
    async fn new_session(&self, repo: &Repo, strategy: Strategy, agent: Option<&str>) -> Session {
        let reply = self
            .client
            .request(Command::New(NewSession {
                dir: repo.path().to_path_buf(),
                strategy: Some(strategy),
                agent: agent.map(str::to_string),
                ..NewSession::default()
            }))
            .await
            .expect("new");
        session(reply)
    }

    async fn send(&self, s: &Session, text: &str) -> Reply {
        let id = s.id.to_string();
        let text = text.to_string();
        self.client
            .request(Command::Send { id, text })
            .await
            .expect("send")
    }

    async fn get(&self, s: &Session) -> Session {
        let id = s.id.to_string();
        session(self.client.request(Command::Get { id }).await.expect("get"))
    }

    /// The session once it is idle with nothing queued.
    async fn wait_idle(&self, s: &Session) -> Session {
        self.events
            .until(s.id, "idle with nothing queued", async || {
                let now = self.get(s).await;
                match now.status == Status::Idle && now.queued_prompts == 0 {
                    true => Ok(now),
                    false => Err(format!("{}, {} queued", now.status, now.queued_prompts)),
                }
            })
            .await
    }

    /// Waits until the agent has written `text`.
    async fn until_output(&self, s: &Session, text: &str) {
        self.events
            .until(s.id, format!("{text:?}"), async || {
                match self.output(s).await {
                    t if t.contains(text) => Ok(()),
                    t => Err(t),
                }
            })
            .await
    }

    async fn text(&self, s: &Session) -> String {
        serde_json::to_string(&self.messages(s).await).expect("json")
    }

    /// What the agent wrote: the text of every part of its answers, not the prompts
    /// (which hold the words a test waits for as well).
    async fn output(&self, s: &Session) -> String {
        let messages = self.messages(s).await.into_iter();
        let answers = messages.filter(|m| m.role != flotilla::core::Role::User);
        let parts = answers.flat_map(|m| m.parts);
        parts
            .filter_map(|p| p.kind.streamed_text().map(str::to_string))
            .collect()
    }

    async fn messages(&self, s: &Session) -> Vec<flotilla::core::Message> {
        let id = s.id.to_string();
        let page = flotilla::core::PageQuery {
            max_bytes: flotilla::core::page::MAX_PAGE_BYTES,
            ..flotilla::core::PageQuery::forward(flotilla::core::Pos::Start)
        };
        let command = Command::Transcript {
            id,
            page,
            follow: false,
        };
        match self.client.request(command).await {
            Ok(Reply::Transcript { page, .. }) => {
                assert!(!page.more, "the test's transcript fits one page");
                page.messages
            }
            other => panic!("transcript: {other:?}"),
        }
    }
}

fn session(reply: Reply) -> Session {
    match reply {
        Reply::Session { session, .. } => session,
        other => panic!("expected a session, got {other:?}"),
    }
}

#[tokio::test]
async fn prompts_sent_while_busy_run_in_order() {
    let h = start("").await;
    let repo = repo();
    let s = h.new_session(&repo, Strategy::Existing, None).await;
    // The first prompt stays busy until the others are queued behind it.
    let gate = Gate::new();
    h.send(&s, &format!("{}; echo first", gate.wait(1))).await;
    for n in ["second", "third"] {
        match h.send(&s, &format!("echo {n}")).await {
            Reply::Session { note, .. } => assert!(note.unwrap_or_default().contains("queued")),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(h.get(&s).await.queued_prompts, 2);
    gate.open(1);
    let done = h.wait_idle(&s).await;
    assert_eq!(done.message_count, 6, "three prompts and three replies");
    let text = h.text(&s).await;
    let at = |word: &str| {
        text.find(&format!("{word}\\n"))
            .unwrap_or_else(|| panic!("{word}: {text}"))
    };
    assert!(
        at("first") < at("second") && at("second") < at("third"),
        "{text}"
    );
}

#[tokio::test]
async fn an_abort_can_keep_the_queue_or_drop_it_and_says_how_many_went() {
    let h = start("").await;
    let repo = repo();
    let s = h.new_session(&repo, Strategy::Existing, None).await;
    let id = s.id.to_string();
    h.send(&s, "echo started; sleep 600").await;
    h.send(&s, "echo kept-one").await;
    h.until_output(&s, "started").await;
    let abort = |keep_queue| Command::Abort {
        id: id.clone(),
        keep_queue,
    };
    match h.client.request(abort(true)).await.expect("abort") {
        Reply::Session { note, .. } => assert_eq!(note, None, "nothing was dropped"),
        other => panic!("{other:?}"),
    }
    h.wait_idle(&s).await;
    assert!(
        h.text(&s).await.contains("kept-one\\n"),
        "the queue went on"
    );

    h.send(&s, "sleep 600").await;
    h.send(&s, "echo dropped-one").await;
    h.send(&s, "echo dropped-two").await;
    match h.client.request(abort(false)).await.expect("abort") {
        Reply::Session { note, session } => {
            assert_eq!(note.as_deref(), Some("2 queued prompt(s) dropped"));
            assert_eq!(session.queued_prompts, 0);
        }
        other => panic!("{other:?}"),
    }
    h.wait_idle(&s).await;
    assert!(!h.text(&s).await.contains("dropped-one\\n"));
}

#[tokio::test]
async fn marks_are_set_by_what_happens_and_cleared_by_a_viewer() {
    let h = start("").await;
    let repo = repo();
    let s = h.new_session(&repo, Strategy::Existing, None).await;
    let id = s.id.to_string();
    h.wait_idle(&s).await;
    assert_eq!(
        h.get(&s).await.mark,
        None,
        "an agent that only started did nothing"
    );
    h.send(&s, "echo done").await;
    h.wait_idle(&s).await;
    assert_eq!(
        h.get(&s).await.mark,
        Some(Mark::Attention),
        "finished, unseen"
    );
    let view = |id: Option<String>, viewer| Command::View { id, viewer };
    h.client
        .request(view(Some(id.clone()), 1))
        .await
        .expect("view");
    assert_eq!(h.get(&s).await.mark, None, "looked at");
    // While it is looked at, nothing marks it: a failing turn included.
    h.send(&s, "exit 3").await;
    h.wait_idle(&s).await;
    assert_eq!(h.get(&s).await.mark, None, "watched all along");
    // Looked away: the next failure marks it, and unread output does not hide that.
    h.client.request(view(None, 1)).await.expect("view");
    h.send(&s, "echo out; exit 4").await;
    h.wait_idle(&s).await;
    assert_eq!(h.get(&s).await.mark, Some(Mark::Failed));
    h.send(&s, "echo fine").await;
    h.wait_idle(&s).await;
    assert_eq!(
        h.get(&s).await.mark,
        Some(Mark::Failed),
        "not hidden by later output"
    );
}

#[tokio::test]
async fn standard_error_comes_as_parts_of_its_own_in_the_order_written() {
    let h = start("").await;
    let repo = repo();
    let s = h.new_session(&repo, Strategy::Existing, None).await;
    // Each line is written only once the one before it has arrived.
    let gate = Gate::new();
    let command = format!(
        "echo out-one; {}; echo err-one >&2; {}; echo out-two",
        gate.wait(1),
        gate.wait(2)
    );
    h.send(&s, &command).await;
    h.until_output(&s, "out-one").await;
    gate.open(1);
    h.until_output(&s, "err-one").await;
    gate.open(2);
    h.wait_idle(&s).await;
    let page = flotilla::core::PageQuery::forward(flotilla::core::Pos::Start);
    let command = Command::Transcript {
        id: s.id.to_string(),
        page,
        follow: false,
    };
    let Ok(Reply::Transcript { page, .. }) = h.client.request(command).await else {
        panic!("no transcript")
    };
    let answer = page.messages.last().expect("the answer");
    let parts: Vec<(&str, &str)> = answer
        .parts
        .iter()
        .map(|p| (p.kind.kind_name(), p.kind.streamed_text().unwrap_or("")))
        .collect();
    assert_eq!(
        parts,
        [
            ("text", "out-one\n"),
            ("stderr", "err-one\n"),
            ("text", "out-two\n")
        ]
    );
}

#[tokio::test]
async fn abort_escalates_past_a_command_that_ignores_sigint_and_sigterm() {
    let h = start("").await;
    let repo = repo();
    let s = h.new_session(&repo, Strategy::Existing, None).await;
    h.send(
        &s,
        "trap '' INT TERM; echo stubborn; while :; do sleep 0.05; done",
    )
    .await;
    // The shell has installed its traps once it says so.
    h.until_output(&s, "stubborn").await;
    let id = s.id.to_string();
    let aborted = session(
        h.client
            .request(Command::Abort {
                id,
                keep_queue: false,
            })
            .await
            .expect("abort"),
    );
    assert_eq!(aborted.status, Status::Idle);
    let forced = "the turn was aborted: it ignored SIGINT and was stopped with SIGKILL";
    assert!(
        h.text(&s).await.contains(forced),
        "the transcript says how it was stopped"
    );
    assert_eq!(
        h.get(&s).await.mark,
        Some(Mark::Attention),
        "an abort is no failure"
    );
    // The group got SIGKILL at last: a new prompt runs.
    h.send(&s, "echo alive").await;
    h.wait_idle(&s).await;
    assert!(h.text(&s).await.contains("alive"));
}

#[tokio::test]
async fn a_failing_command_is_an_error_turn_not_a_failed_session() {
    let h = start("").await;
    let repo = repo();
    let s = h.new_session(&repo, Strategy::Existing, None).await;
    h.send(&s, "echo partial; exit 3").await;
    let done = h.wait_idle(&s).await;
    assert_eq!(done.status, Status::Idle);
    let text = h.text(&s).await;
    assert!(
        text.contains("partial") && text.contains("exited with status 3"),
        "{text}"
    );
}

#[tokio::test]
async fn configured_agents_get_the_prompt_and_workspace() {
    let h = start(
        "[agents.echoer]\ncommand = [\"sh\", \"-c\", \"echo agent-says: \\\"$1\\\" in $(pwd)\", \"sh\", \"{prompt}\"]\n",
    )
    .await;
    let repo = repo();
    let s = h
        .new_session(&repo, Strategy::Worktree, Some("echoer"))
        .await;
    assert_eq!(s.agent, "echoer");
    h.send(&s, "hello; rm -rf nothing").await;
    h.wait_idle(&s).await;
    let text = h.text(&s).await;
    let expected = format!(
        "agent-says: hello; rm -rf nothing in {}",
        s.workspace.display()
    );
    assert!(text.contains(&expected), "{text}");
}

#[tokio::test]
async fn sessions_in_one_existing_directory_share_it_and_cleanup_keeps_it() {
    let h = start("").await;
    let repo = repo();
    let a = h.new_session(&repo, Strategy::Existing, None).await;
    let b = h.new_session(&repo, Strategy::Existing, None).await;
    assert_eq!(a.workspace, b.workspace);
    let id = a.id.to_string();
    let reply = h
        .client
        .request(Command::Remove {
            id,
            cleanup: true,
            force: false,
        })
        .await
        .expect("rm");
    assert!(matches!(reply, Reply::Removed { .. }));
    assert!(
        repo.path().join("README").exists(),
        "an existing directory is never deleted"
    );
    assert_eq!(h.get(&b).await.status, Status::Idle);
}

#[tokio::test]
async fn subscribers_see_the_stream_and_the_status_changes() {
    let mut h = start("").await;
    let mut events = h.client.take_events().expect("events");
    let repo = repo();
    let s = h.new_session(&repo, Strategy::Existing, None).await;
    match h
        .client
        .request(Command::Subscribe)
        .await
        .expect("subscribe")
    {
        Reply::Subscribed { sessions } => assert_eq!(sessions.len(), 1),
        other => panic!("{other:?}"),
    }
    h.send(&s, "echo streamed-text").await;
    let mut text = String::new();
    let mut statuses = Vec::new();
    let deadline = Instant::now() + support::events::WAIT;
    while statuses.last() != Some(&Status::Idle) {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, events.recv()).await {
            Ok(Some(Event::PartDelta { text: t, .. })) => text.push_str(&t),
            Ok(Some(Event::SessionUpdated { session })) => statuses.push(session.status),
            Ok(Some(_)) => {}
            other => panic!("no idle status: {other:?}, saw {statuses:?}"),
        }
    }
    assert_eq!(text, "streamed-text\n");
    assert!(statuses.contains(&Status::Active), "{statuses:?}");
}

/// A prompt no program can be given says why, not "cannot run `sh`: install it".
#[tokio::test]
async fn prompts_an_agent_cannot_take_say_why() {
    let h = start("").await;
    let repo = repo();
    let s = h.new_session(&repo, Strategy::Existing, None).await;
    let id = s.id.to_string();
    let nul = h
        .client
        .request(Command::Send {
            id: id.clone(),
            text: "echo a\0b".into(),
        })
        .await
        .expect_err("a NUL byte is refused");
    assert!(nul.contains("NUL byte"), "{nul}");

    // Linux caps one argument at 128 KiB; the shell agent passes the prompt as one.
    let long = format!("echo {}", "x".repeat(200 * 1024));
    h.send(&s, &long).await;
    h.wait_idle(&s).await;
    let text = h.text(&s).await;
    assert!(
        text.contains("128 KiB"),
        "{}",
        &text[text.len().saturating_sub(400)..]
    );
    assert!(!text.contains("install it"), "not a missing program");
}

/// A worktree deleted by hand: the turn says the workspace is gone.
#[tokio::test]
async fn a_prompt_in_a_vanished_workspace_says_it_is_gone() {
    let h = start("").await;
    let repo = repo();
    let s = h.new_session(&repo, Strategy::Worktree, None).await;
    std::fs::remove_dir_all(&s.workspace).expect("rm");
    h.send(&s, "echo hi").await;
    h.wait_idle(&s).await;
    let text = h.text(&s).await;
    assert!(text.contains("is gone"), "{text}");
    assert!(!text.contains("cannot run"), "{text}");
}
