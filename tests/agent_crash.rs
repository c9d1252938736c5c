//! `kill -9` of the real daemon while a Claude or a Codex turn streams: the next daemon
//! ends the old turn's processes (all of their process group) before it answers, and the
//! session resumes and takes a new prompt. The real agent CLIs run against fake model
//! servers on 127.0.0.1, in the test network namespace.

mod support;

use std::path::Path;
use std::time::Duration;
use support::Repo;
use support::cli::{Flotilla, kill9, process_alive, wait_until};
use support::fake_llm::{Anthropic, FakeServer, OpenAiResponses, Reply as Llm};
use support::{isolation, offline};

const TURN: Duration = Duration::from_secs(60);

/// A TOML basic string: JSON's quoting is a valid subset.
fn quoted(s: &str) -> String {
    serde_json::to_string(s).expect("json")
}

fn agent_config(name: &str, binary: &Path, env: &[(String, String)], extra: &str) -> String {
    let env: Vec<String> = env
        .iter()
        .map(|(k, v)| format!("{k} = {}", quoted(v)))
        .collect();
    format!(
        "[agents.{name}]\nkind = \"{name}\"\ncommand = [{}]\n{extra}\n[agents.{name}.env]\n{}\n",
        quoted(&binary.to_string_lossy()),
        env.join("\n")
    )
}

/// Live processes working in `dir` (their current directory), with their process groups:
/// the agent and every process it started there.
fn processes_in(dir: &Path) -> Vec<(i32, i32)> {
    let dir = dir.canonicalize().expect("dir");
    let procs = std::fs::read_dir("/proc").into_iter().flatten().flatten();
    procs
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| process_alive(pid))
        .filter(|pid| std::fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|c| c == dir))
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let after = stat.rsplit_once(')')?.1;
            let pgrp = after.split_whitespace().nth(2)?.parse().ok()?;
            Some((pid, pgrp))
        })
        .collect()
}

/// Whether a file under the agent's home (its own transcripts) holds `text`.
fn saved_by_agent(dir: &Path, text: &str) -> bool {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| {
            let path = e.path();
            if path.is_dir() {
                saved_by_agent(&path, text)
            } else {
                path.extension().is_some_and(|x| x == "jsonl")
                    && std::fs::read_to_string(&path).is_ok_and(|t| t.contains(text))
            }
        })
}

struct Case {
    agent: &'static str,
    fake: FakeServer,
    agent_home: tempfile::TempDir,
    _rt: tokio::runtime::Runtime,
    f: Flotilla,
    repo: Repo,
}

fn case(agent: &'static str) -> Option<Case> {
    let binary = isolation::agent_binary(agent)?;
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let agent_home = isolation::agent_home();
    let (fake, env, extra) = match agent {
        "claude" => {
            let fake = rt.block_on(Anthropic::start()).expect("fake");
            let env = offline::claude_env(agent_home.path(), fake.url()).expect("env");
            (fake, env, "permission_mode = \"default\"")
        }
        _ => {
            let fake = rt.block_on(OpenAiResponses::start()).expect("fake");
            let env = offline::codex_env(agent_home.path(), fake.url()).expect("env");
            (
                fake,
                env,
                "sandbox = \"workspace-write\"\napproval = \"never\"",
            )
        }
    };
    let f = Flotilla::new();
    let config = agent_config(agent, &binary, &env, extra);
    std::fs::write(f.path("config.toml"), config).expect("config");
    let repo = Repo::new();
    repo.write("README", "hello\n");
    repo.commit_all("first");
    Some(Case {
        agent,
        fake,
        agent_home,
        _rt: rt,
        f,
        repo,
    })
}

impl Case {
    /// A new session of the case's agent in the repository, once it is idle.
    fn new_session(&self) -> String {
        let s = self.f.json(&[
            "new",
            "--dir",
            &self.repo.path().to_string_lossy(),
            "--strategy",
            "existing",
            "--agent",
            self.agent,
        ]);
        let id = s["id"].as_str().expect("id").to_string();
        self.f.wait_status(&id, "idle", TURN);
        id
    }

    /// Starts a turn whose reply streams for 40 s and waits until the model's stream is
    /// under way (the fake has handed out the reply).
    fn start_long_turn(&self, id: &str) {
        self.fake.push(Llm::SlowText {
            chunks: 800,
            delay_ms: 50,
        });
        self.f.ok(&["send", id, "stream for a long while"]);
        wait_until(TURN, "the turn to reach the model", || {
            self.fake.pending() == 0 && self.f.status(id) == "active"
        });
    }
}

fn kill_mid_turn_then_resume(c: Case) {
    let f = &c.f;
    let id = c.new_session();
    // A finished first turn, saved on the agent's side too, so there is a conversation
    // to resume: an agent killed before it saved anything has nothing to go back to.
    c.fake.push(Llm::text("the first answer"));
    f.ok(&["send", &id, "hello"]);
    wait_until(TURN, "the first answer", || {
        f.ok(&["log", &id]).contains("the first answer")
    });
    f.wait_status(&id, "idle", TURN);
    wait_until(TURN, "the agent to save the first turn", || {
        saved_by_agent(c.agent_home.path(), "the first answer")
    });

    // The turn is still running when the daemon dies.
    c.start_long_turn(&id);
    let old: Vec<i32> = processes_in(c.repo.path()).iter().map(|p| p.0).collect();
    assert!(!old.is_empty(), "the agent runs in the workspace");
    kill9(f.daemon_pid());
    assert!(
        old.iter().any(|&p| process_alive(p)),
        "the agent outlives the daemon until the next one starts"
    );

    // The next command starts a daemon, which ends the old turn before it answers.
    assert_eq!(f.status(&id), "disconnected");
    wait_until(
        Duration::from_secs(2),
        "the old turn's processes to end",
        || old.iter().all(|&p| !process_alive(p)),
    );

    f.ok(&["resume", &id]);
    f.wait_status(&id, "idle", TURN);
    c.fake.push(Llm::text("back after the crash"));
    f.ok(&["send", &id, "are you there"]);
    wait_until(TURN, "the reply after the crash", || {
        f.ok(&["log", &id]).contains("back after the crash")
    });
    f.wait_status(&id, "idle", TURN);
}

#[test]
fn claude_turn_killed_with_the_daemon_ends_and_resumes() {
    let Some(c) = case("claude") else { return };
    kill_mid_turn_then_resume(c);
}

#[test]
fn codex_turn_killed_with_the_daemon_ends_and_resumes() {
    let Some(c) = case("codex") else { return };
    kill_mid_turn_then_resume(c);
}

/// Codex's launcher starts a native child (the app server) in its process group. When
/// the process flotilla started dies, the session is disconnected, and everything left
/// in its group ends too.
#[test]
fn codex_launcher_killed_mid_turn_takes_its_native_child_along() {
    let Some(c) = case("codex") else { return };
    let f = &c.f;
    let id = c.new_session();
    c.start_long_turn(&id);
    // The process flotilla started leads its group; the launcher's native child is in it.
    let procs = processes_in(c.repo.path());
    let leader = procs
        .iter()
        .find(|(pid, pgrp)| pid == pgrp)
        .map(|p| p.0)
        .expect("the turn's process leads a group");
    let members: Vec<i32> = procs
        .iter()
        .filter(|(_, pgrp)| *pgrp == leader)
        .map(|p| p.0)
        .collect();
    assert!(
        members.len() >= 2,
        "the launcher has a child in its group: {procs:?}"
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(leader),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill the launcher");
    f.wait_status(&id, "disconnected", TURN);
    wait_until(Duration::from_secs(5), "the group to be gone", || {
        members.iter().all(|&p| !process_alive(p))
    });
}
