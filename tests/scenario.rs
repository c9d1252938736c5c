//! The whole life of a worktree session, driven through the real CLI and daemon binaries
//! with the `shell` agent.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};
use support::Repo;
use support::cli::Flotilla;

#[test]
fn worktree_session_from_prompt_to_cleanup() {
    let repo = Repo::new();
    repo.write("README", "hello\n");
    let head = repo.commit_all("first");
    let f = Flotilla::new();

    let session = f.json(&[
        "new",
        "--dir",
        &repo.path().to_string_lossy(),
        "--strategy",
        "worktree",
        "--title",
        "Scenario: make a file",
    ]);
    let id = session["id"].as_str().expect("id").to_string();
    let workspace = session["workspace"]
        .as_str()
        .expect("workspace")
        .to_string();
    let branch = session["branch"].as_str().expect("branch").to_string();
    assert_eq!(session["status"], "idle");
    assert_eq!(session["strategy"], "worktree");
    assert_eq!(session["base_commit"], head.as_str());
    assert_eq!(branch, "flotilla/scenario-make-a-file");
    assert!(Path::new(&workspace).is_absolute() && Path::new(&workspace).is_dir());
    for field in [
        "title",
        "agent",
        "created_at",
        "last_activity_at",
        "message_count",
    ] {
        assert!(!session[field].is_null(), "{field} missing from {session}");
    }

    // A prompt that writes a file; a short id prefix is enough.
    let short = &id[..6];
    f.ok(&[
        "send",
        short,
        "printf 'one\\ntwo\\nthree\\n' > made.txt && echo wrote-the-file",
    ]);
    f.wait_status(&id, "idle", Duration::from_secs(10));
    let log = f.ok(&["log", short]);
    assert!(log.contains("wrote-the-file"), "{log}");
    assert!(
        log.contains("printf"),
        "the prompt is in the transcript: {log}"
    );

    let files = f.json(&["diff", &id]);
    let files = files.as_array().expect("array");
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0]["path"], "made.txt");
    assert_eq!(files[0]["status"], "added");
    assert_eq!(files[0]["additions"], 3);
    assert_eq!(files[0]["deletions"], 0);
    let stat = f.ok(&["diff", &id, "--stat"]);
    assert!(
        stat.contains("made.txt") && stat.contains("+3 -0"),
        "{stat}"
    );

    // Abort a long turn: the session is idle again at once, SIGINT having been enough.
    // (Within 2 s is promised: the margin is for a loaded machine, and the engine bench
    // reports the real figure.)
    f.ok(&["send", &id, "sleep 600"]);
    assert_eq!(f.status(&id), "active");
    let queued = f.run(&["send", &id, "echo never-runs"]);
    assert!(String::from_utf8_lossy(&queued.stdout).contains("queued"));
    let start = Instant::now();
    let aborted = f.json(&["abort", &id]);
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "abort took {:?}",
        start.elapsed()
    );
    assert_eq!(aborted["status"], "idle");
    let log = f.ok(&["log", &id]);
    let last = log
        .lines()
        .rev()
        .find(|l| l.contains("aborted"))
        .unwrap_or("");
    assert!(last.ends_with("the turn was aborted"), "{log}");
    assert_eq!(aborted["queued_prompts"], 0, "abort drops the queue");
    assert!(
        !f.ok(&["log", &id]).contains("never-runs"),
        "a dropped prompt never ran"
    );

    // Cleanup refuses while there is uncommitted work, and changes nothing.
    let refused = f.fails(&["stop", &id, "--cleanup"]);
    assert!(refused.contains("uncommitted"), "{refused}");
    assert!(Path::new(&workspace).join("made.txt").exists());
    assert_eq!(f.status(&id), "idle");

    f.ok(&[
        "send",
        &id,
        "git add -A && git -c user.name=t -c user.email=t@t commit -qm made",
    ]);
    f.wait_status(&id, "idle", Duration::from_secs(10));
    let stopped = f.json(&["stop", &id, "--cleanup"]);
    assert_eq!(stopped["status"], "stopped");
    assert!(!Path::new(&workspace).exists(), "the worktree is removed");

    // The branch stays, with the session's commit; the source repo is untouched.
    let tip = repo.git(&["rev-parse", &format!("refs/heads/{branch}")]);
    assert_ne!(tip, head);
    assert_eq!(repo.git(&["rev-parse", "HEAD"]), head);
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
    assert!(!repo.path().join("made.txt").exists());
    assert_eq!(
        repo.git(&["worktree", "list", "--porcelain"])
            .matches("worktree ")
            .count(),
        1
    );

    // Stopped: prompts are refused with a line that names the status.
    let refused = f.fails(&["send", &id, "echo hi"]);
    assert!(refused.contains("stopped"), "{refused}");

    f.ok(&["rm", &id]);
    assert!(f.json(&["ls"]).as_array().expect("array").is_empty());
}

#[test]
fn errors_are_one_line_and_say_what_to_do() {
    let f = Flotilla::new();
    let not_repo = tempfile::tempdir().expect("tempdir");
    let dir = not_repo.path().to_string_lossy().into_owned();
    let line = f.fails(&["new", "--dir", &dir]);
    assert!(line.contains("not inside a git repository"), "{line}");
    let line = f.fails(&["send", "ffffffff", "hi"]);
    assert!(line.contains("no session matches"), "{line}");
    let line = f.fails(&["new", "--dir", &dir, "--agent", "nope"]);
    assert!(line.contains("unknown agent 'nope'"), "{line}");
    let line = f.fails(&["history", "--since", "yesterday"]);
    assert!(line.contains("not a date"), "{line}");
    let line = f.fails(&["frobnicate"]);
    assert!(line.contains("--help"), "{line}");
}

#[test]
fn agents_lists_what_is_configured_and_what_is_missing() {
    let f = Flotilla::new();
    std::fs::write(
        f.path("config.toml"),
        "[agents.ghost]\ncommand = [\"no-such-agent-binary\", \"{prompt}\"]\n",
    )
    .expect("config");
    let agents = f.json(&["agents"]);
    let agents = agents.as_array().expect("array");
    let by_name = |name: &str| {
        agents
            .iter()
            .find(|a| a["name"] == name)
            .unwrap_or_else(|| panic!("{name} not listed: {agents:?}"))
    };
    assert_eq!(agents[0]["name"], "shell", "the default comes first");
    assert_eq!(by_name("shell")["default"], true);
    assert!(by_name("shell")["found"].is_string());
    assert!(
        by_name("ghost")["found"].is_null(),
        "a missing binary is said to be missing"
    );
    for builtin in ["opencode", "claude", "codex"] {
        by_name(builtin);
    }
    let text = f.ok(&["agents"]);
    assert!(
        text.contains("missing: no-such-agent-binary not found"),
        "{text}"
    );
}
