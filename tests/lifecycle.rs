//! The session lifecycle through the engine, with real git and real processes: limits,
//! callbacks, chronicles and reforge, archive and restore, templates.

mod support;

use flotilla::config::Config;
use flotilla::core::{
    CallbackState, Chronicle, Limits, Notify, PartKind, Session, Status, Strategy, ToolStatus,
};
use flotilla::protocol::{Command, NewSession, Reforge, Reply};
use support::engine::{AgentWorld, WAIT};
use support::{files_on_disk, git_in};

async fn world(config: &str) -> AgentWorld {
    AgentWorld::start(Config::parse(config).expect("config")).await
}

/// A session made from `spec` (its directory is the world's repository).
async fn create(w: &AgentWorld, spec: NewSession) -> Session {
    let spec = NewSession {
        dir: w.repo.path().to_path_buf(),
        ..spec
    };
    match w.request(Command::New(spec)).await {
        Reply::Session { session, .. } => session,
        other => panic!("{other:?}"),
    }
}

fn ended(s: &Session) -> bool {
    s.status.is_ended()
}

async fn chronicles(w: &AgentWorld, s: &Session) -> Vec<Chronicle> {
    let session = Some(s.id.to_string());
    match w.request(Command::Chronicles { session }).await {
        Reply::Chronicles { chronicles } => chronicles,
        other => panic!("{other:?}"),
    }
}

async fn refused(w: &AgentWorld, command: Command) -> String {
    let err = w.client.request(command).await.expect_err("refused");
    assert!(!err.contains('\n'), "{err}");
    err
}

#[tokio::test]
async fn max_turns_1_ends_the_session_completed_after_its_first_turn() {
    let w = world("").await;
    let spec = NewSession {
        prompt: Some("echo one".into()),
        limits: Limits {
            max_turns: Some(1),
            ..Limits::default()
        },
        ..NewSession::default()
    };
    let s = create(&w, spec).await;
    let done = w.wait_for(&s, ended).await;
    assert_eq!(done.status, Status::Completed);
    assert_eq!(done.status_reason.as_deref(), Some("max turns 1 reached"));
    assert_eq!(done.turns, 1);
    w.until_text(&s, "one").await;
    let send = Command::Send {
        id: s.id.to_string(),
        text: "echo two".into(),
    };
    assert!(refused(&w, send).await.contains("completed"));
    let kept = w
        .events
        .until(s.id, "a chronicle", async || {
            match chronicles(&w, &s).await {
                kept if kept.is_empty() => Err("none yet".to_string()),
                kept => Ok(kept),
            }
        })
        .await;
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(kept[0].reason, "completed: max turns 1 reached");
    // A limit that is used up would end it again at once: resume says so.
    let resume = Command::Resume {
        id: s.id.to_string(),
    };
    assert!(
        refused(&w, resume)
            .await
            .contains("cannot resume: max turns 1 reached")
    );
}

#[tokio::test]
async fn an_idle_timeout_ends_the_session_once_it_has_been_idle_that_long() {
    let w = world("").await;
    let spec = NewSession {
        limits: Limits {
            idle_timeout_secs: Some(2),
            ..Limits::default()
        },
        ..NewSession::default()
    };
    let s = create(&w, spec).await;
    let s = w.wait_for(&s, |s| s.status == Status::Idle).await;
    let idle = w.turn(&s, "echo busy").await;
    let done = w.wait_for(&s, ended).await;
    assert_eq!(done.status, Status::Completed);
    assert_eq!(
        done.status_reason.as_deref(),
        Some("idle timeout 2s reached")
    );
    let waited = done.last_activity_at - idle.last_activity_at;
    assert!(
        waited.num_milliseconds() >= 1_900,
        "ended after {waited} idle"
    );
    // An idle timeout starts again: the session can be resumed.
    w.request(Command::Resume {
        id: s.id.to_string(),
    })
    .await;
    w.wait_for(&s, |s| s.status == Status::Idle).await;
}

#[tokio::test]
async fn a_running_turn_over_its_time_is_aborted_and_the_session_completes() {
    let w = world("").await;
    let gate = support::Gate::new();
    let spec = NewSession {
        limits: Limits {
            max_duration_secs: Some(1),
            ..Limits::default()
        },
        ..NewSession::default()
    };
    let s = create(&w, spec).await;
    let s = w.wait_for(&s, |s| s.status == Status::Idle).await;
    w.send(&s, &format!("echo started; {}", gate.wait(1))).await;
    let done = w.wait_for(&s, ended).await;
    assert_eq!(done.status, Status::Completed);
    assert_eq!(
        done.status_reason.as_deref(),
        Some("max duration 1s reached")
    );
    let errors = w.errors(&s).await;
    assert!(
        errors.iter().any(|e| e.starts_with("the turn was aborted")),
        "{errors:?}"
    );
}

#[tokio::test]
async fn a_ttl_that_passed_while_the_daemon_was_down_is_enforced_when_it_starts() {
    let mut w = world("").await;
    let spec = NewSession {
        limits: Limits {
            ttl_secs: Some(7200),
            ..Limits::default()
        },
        ..NewSession::default()
    };
    let s = create(&w, spec).await;
    let s = w.wait_for(&s, |s| s.status == Status::Idle).await;
    let _ = w.client.request(Command::Shutdown).await;
    // Three hours pass while no daemon runs.
    let db = rusqlite::Connection::open(&w.paths.database).expect("db");
    let moved = db
        .execute(
            "UPDATE sessions SET created_at = created_at - 3 * 3600 * 1000 WHERE id = ?1",
            [s.id.to_string()],
        )
        .expect("update");
    assert_eq!(moved, 1);
    drop(db);
    w.restart().await;
    let done = w.wait_for(&s, ended).await;
    assert_eq!(done.status, Status::Completed);
    assert_eq!(done.status_reason.as_deref(), Some("ttl 2h reached"));
}

/// A command agent that records each prompt it is given in `log`, and answers "noted".
fn recorder(log: &std::path::Path) -> String {
    format!(
        "[agents.recorder]\ncommand = [\"sh\", \"-c\", \"printf '%s\\\\n===\\\\n' \\\"$1\\\" >> '{}'; echo noted\", \"sh\", \"{{prompt}}\"]\n",
        log.display()
    )
}

#[tokio::test]
async fn a_child_tells_its_parent_its_status_branch_and_changed_files() {
    let dir = tempfile::tempdir().expect("tmp");
    let log = dir.path().join("prompts.log");
    let w = world(&recorder(&log)).await;
    let parent = create(
        &w,
        NewSession {
            agent: Some("recorder".into()),
            ..NewSession::default()
        },
    )
    .await;
    let parent = w.wait_for(&parent, |s| s.status == Status::Idle).await;
    let child = NewSession {
        parent: Some(parent.id.short()),
        prompt: Some(
            "echo new > new.txt && printf 'more\\n' >> README && echo \"id=$FLOTILLA_SESSION_ID\""
                .into(),
        ),
        ..NewSession::default()
    };
    let child = create(&w, child).await;
    assert_eq!(
        (child.parent, child.notify),
        (Some(parent.id), Some(Notify::OnIdle))
    );
    w.until_text(&child, &format!("id={}", child.id)).await;
    let logged = |text: &'static str| {
        let log = log.clone();
        move || {
            let log = log.clone();
            async move { std::fs::read_to_string(&log).is_ok_and(|t| t.contains(text)) }
        }
    };
    support::poll::until(
        WAIT,
        "the parent's agent to get the callback",
        logged("new.txt"),
    )
    .await;
    let got = std::fs::read_to_string(&log).expect("log");
    let child = w.get(&child).await;
    for want in [
        child.id.short(),
        "is idle".to_string(),
        format!("Branch: {}", child.branch.clone().expect("a branch")),
        "A new.txt +1 -0".to_string(),
        "M README +1 -0".to_string(),
    ] {
        assert!(got.contains(&want), "{want:?} not in {got}");
    }
    let details = w
        .request(Command::Details {
            id: parent.id.to_string(),
        })
        .await;
    let Reply::Details {
        children,
        callbacks,
        ..
    } = details
    else {
        panic!("{details:?}")
    };
    assert_eq!(
        children.iter().map(|c| c.id).collect::<Vec<_>>(),
        [child.id]
    );
    assert_eq!(callbacks.len(), 1);
    assert_eq!(callbacks[0].state, CallbackState::Sent);
}

#[tokio::test]
async fn on_end_tells_a_busy_parent_by_its_queue_and_a_removed_one_not_at_all() {
    let dir = tempfile::tempdir().expect("tmp");
    let log = dir.path().join("prompts.log");
    let w = world(&recorder(&log)).await;
    let parent = create(
        &w,
        NewSession {
            agent: Some("recorder".into()),
            ..NewSession::default()
        },
    )
    .await;
    let parent = w.wait_for(&parent, |s| s.status == Status::Idle).await;
    let child = create(
        &w,
        NewSession {
            parent: Some(parent.id.to_string()),
            notify: Some(Notify::OnEnd),
            ..NewSession::default()
        },
    )
    .await;
    let child = w.wait_for(&child, |s| s.status == Status::Idle).await;
    w.turn(&child, "echo working").await;
    assert!(!log.exists(), "on-end says nothing while the child is idle");
    let stop = Command::Stop {
        id: child.id.to_string(),
        cleanup: false,
        force: false,
    };
    w.request(stop).await;
    let logged = {
        let log = log.clone();
        move || {
            let log = log.clone();
            async move { std::fs::read_to_string(&log).is_ok_and(|t| t.contains("is stopped")) }
        }
    };
    support::poll::until(WAIT, "the stop to reach the parent", logged).await;
    // A second child whose parent is removed before it ends.
    let orphan = create(
        &w,
        NewSession {
            parent: Some(parent.id.to_string()),
            notify: Some(Notify::OnEnd),
            ..NewSession::default()
        },
    )
    .await;
    let orphan = w.wait_for(&orphan, |s| s.status == Status::Idle).await;
    let rm = Command::Remove {
        id: parent.id.to_string(),
        cleanup: false,
        force: false,
    };
    w.request(rm).await;
    let stop = Command::Stop {
        id: orphan.id.to_string(),
        cleanup: false,
        force: false,
    };
    w.request(stop).await;
    let details = || Command::Details {
        id: orphan.id.to_string(),
    };
    let callbacks = w
        .events
        .until(orphan.id, "the undeliverable callback", async || {
            match w.request(details()).await {
                Reply::Details { callbacks, .. } if !callbacks.is_empty() => Ok(callbacks),
                _ => Err("no callback yet".to_string()),
            }
        })
        .await;
    assert_eq!(callbacks[0].state, CallbackState::Undeliverable);
    assert_eq!(
        callbacks[0].reason.as_deref(),
        Some("the parent session was removed")
    );
}

/// A session that commits one file, changes another without committing, and leaves an
/// untracked one; the files as it left them.
async fn with_work(
    w: &AgentWorld,
) -> (Session, std::collections::BTreeMap<String, (bool, Vec<u8>)>) {
    let s = create(
        w,
        NewSession {
            title: Some("work".into()),
            ..NewSession::default()
        },
    )
    .await;
    let s = w.wait_for(&s, |s| s.status == Status::Idle).await;
    let work = "echo kept > committed.txt && git add committed.txt && git commit -qm c && printf 'changed\\n' >> README && echo fresh > untracked.txt && rm -f gone.txt";
    w.turn(&s, work).await;
    let files = files_on_disk(&s.workspace);
    assert!(
        files.contains_key("untracked.txt") && files.contains_key("committed.txt"),
        "{files:?}"
    );
    (s, files)
}

#[tokio::test]
async fn a_chronicle_keeps_the_exact_files_through_a_cleanup_and_reforge_brings_them_back() {
    let w = world("").await;
    let (s, files) = with_work(&w).await;
    let stop = Command::Stop {
        id: s.id.to_string(),
        cleanup: true,
        force: true,
    };
    w.request(stop).await;
    assert!(!s.workspace.exists(), "the cleanup removed the workspace");
    let kept = chronicles(&w, &s).await;
    assert_eq!(kept.len(), 1, "{kept:?}");
    let c = &kept[0];
    assert_eq!(c.reason, "stopped");
    let paths: Vec<&str> = c.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["README", "committed.txt", "untracked.txt"]);
    let show = w
        .request(Command::Chronicle {
            id: c.short().into(),
        })
        .await;
    let Reply::Chronicle {
        transcript, diff, ..
    } = show
    else {
        panic!("{show:?}")
    };
    assert!(transcript.contains("untracked.txt"), "{transcript}");
    assert!(diff.contains("+fresh"), "{diff}");

    let reforge = Reforge {
        chronicle: c.short().into(),
        prompt: Some("echo again".into()),
        ..Reforge::default()
    };
    let new = match w.request(Command::Reforge(reforge)).await {
        Reply::Session { session, .. } => session,
        other => panic!("{other:?}"),
    };
    assert_eq!(new.reforged_from.as_deref(), Some(c.id.as_str()));
    assert_ne!(new.workspace, s.workspace);
    assert_eq!(
        files_on_disk(&new.workspace),
        files,
        "exactly the files the first session left"
    );
    let status = git_in(&new.workspace, &["status", "--porcelain"]);
    assert!(
        status.contains(" M README") && status.contains("?? untracked.txt"),
        "{status}"
    );
    assert_eq!(
        new.base_commit, s.base_commit,
        "diffs go back to the first base"
    );
    // The first prompt carries the earlier context.
    let new = w
        .wait_for(&new, |s| s.status == Status::Idle && s.turns == 1)
        .await;
    w.until_text(&new, "continues earlier work").await;
    let stop = Command::Stop {
        id: new.id.to_string(),
        cleanup: false,
        force: false,
    };
    w.request(stop).await;
    let second = chronicles(&w, &new).await;
    assert_eq!(
        second[0].parent_chronicle_id.as_deref(),
        Some(c.id.as_str())
    );
    let show = w
        .request(Command::Chronicle {
            id: second[0].id.clone(),
        })
        .await;
    let Reply::Chronicle { chain, .. } = show else {
        panic!("{show:?}")
    };
    assert_eq!(
        chain.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        [c.id.as_str()]
    );
}

#[tokio::test]
async fn archive_frees_the_workspace_and_restore_brings_back_exactly_its_files() {
    let w = world("").await;
    let (s, files) = with_work(&w).await;
    let archive = Command::Archive {
        id: s.id.to_string(),
        force: false,
    };
    assert!(refused(&w, archive.clone()).await.contains("stop it first"));
    let stop = Command::Stop {
        id: s.id.to_string(),
        cleanup: false,
        force: false,
    };
    w.request(stop).await;
    // An ignored file cannot be saved: archiving asks for --force first.
    std::fs::write(s.workspace.join(".env"), "SECRET=1\n").expect("env");
    let exclude = w.repo.path().join(".git/info/exclude");
    std::fs::write(&exclude, ".env\n").expect("exclude");
    let refusal = refused(&w, archive.clone()).await;
    assert!(
        refusal.contains("1 ignored file(s) (.env)") && refusal.contains("--force"),
        "{refusal}"
    );
    assert!(s.workspace.join(".env").exists(), "nothing was changed");
    let archive = Command::Archive {
        id: s.id.to_string(),
        force: true,
    };
    let Reply::Session { session, note } = w.request(archive).await else {
        panic!()
    };
    assert_eq!(session.status, Status::Archived);
    assert!(note.is_some_and(|n| n.contains("restore")));
    assert!(!s.workspace.exists(), "archiving freed the directory");
    let send = Command::Send {
        id: s.id.to_string(),
        text: "echo x".into(),
    };
    assert!(refused(&w, send).await.contains("restore it first"));

    let Reply::Session { session, .. } = w
        .request(Command::Restore {
            id: s.id.to_string(),
        })
        .await
    else {
        panic!()
    };
    assert_eq!(session.status, Status::Stopped);
    assert_eq!(
        files_on_disk(&s.workspace),
        files,
        "exactly the files it had"
    );
    let status = git_in(&s.workspace, &["status", "--porcelain"]);
    assert!(
        status.contains(" M README") && status.contains("?? untracked.txt"),
        "{status}"
    );
    w.request(Command::Resume {
        id: s.id.to_string(),
    })
    .await;
    w.wait_for(&s, |s| s.status == Status::Idle).await;
    let again = w.turn(&s, "cat untracked.txt").await;
    assert_eq!(again.status, Status::Idle);
    w.until_text(&s, "fresh").await;
}

const TEMPLATES: &str = r#"
[templates.quick]
agent = "shell"
branch = "feat/{title}"
setup = "echo setting up; touch .setup-done"
prompt = "echo from-template"
max_turns = 1

[templates.broken]
setup = "echo it broke >&2; exit 3"
"#;

#[tokio::test]
async fn a_template_names_the_branch_runs_its_setup_first_and_sets_limits() {
    let w = world(TEMPLATES).await;
    let Reply::Templates { templates } = w.request(Command::Templates).await else {
        panic!()
    };
    assert_eq!(
        templates
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>(),
        ["broken", "quick"]
    );
    let s = create(
        &w,
        NewSession {
            title: Some("Fix login".into()),
            template: Some("quick".into()),
            ..NewSession::default()
        },
    )
    .await;
    assert_eq!(s.branch.as_deref(), Some("feat/fix-login"));
    assert_eq!(s.template.as_deref(), Some("quick"));
    let done = w.wait_for(&s, ended).await;
    assert_eq!(done.status_reason.as_deref(), Some("max turns 1 reached"));
    assert!(s.workspace.join(".setup-done").exists());
    let parts = w.parts(&s).await;
    let setup = parts.iter().find_map(|p| match &p.kind {
        PartKind::Tool {
            name,
            status,
            output,
            ..
        } if name == "setup" => Some((*status, output.clone())),
        _ => None,
    });
    assert_eq!(
        setup,
        Some((ToolStatus::Completed, Some("setting up\n".into())))
    );
    w.until_text(&s, "from-template").await;

    // Flags win over the template.
    let s = create(
        &w,
        NewSession {
            template: Some("quick".into()),
            prompt: Some("echo mine".into()),
            limits: Limits {
                max_turns: Some(2),
                ..Limits::default()
            },
            ..NewSession::default()
        },
    )
    .await;
    let s = w
        .wait_for(&s, |s| s.turns == 1 && s.status == Status::Idle)
        .await;
    assert_eq!(s.limits.max_turns, Some(2));
    w.until_text(&s, "mine").await;
}

#[tokio::test]
async fn a_failing_setup_ends_the_session_in_error_with_its_output() {
    let w = world(TEMPLATES).await;
    let s = create(
        &w,
        NewSession {
            template: Some("broken".into()),
            ..NewSession::default()
        },
    )
    .await;
    let failed = w.wait_for(&s, ended).await;
    assert_eq!(failed.status, Status::Error);
    let reason = failed.status_reason.unwrap_or_default();
    assert!(
        reason.contains("setup failed") && reason.contains("exited with status 3"),
        "{reason}"
    );
    w.until_text(&s, "it broke").await;
    let unknown = Command::New(NewSession {
        dir: w.repo.path().to_path_buf(),
        template: Some("nope".into()),
        ..NewSession::default()
    });
    assert!(
        refused(&w, unknown)
            .await
            .contains("configured templates are broken, quick")
    );
}

#[tokio::test]
async fn answer_without_a_pending_request_is_refused() {
    let w = world("").await;
    let s = w.new_session("shell", Strategy::Existing).await;
    let answer = Command::Permission {
        id: s.id.to_string(),
        request_id: None,
        reply: flotilla::core::PermissionReply::Once,
    };
    assert!(
        refused(&w, answer)
            .await
            .contains("not waiting for a permission")
    );
}

#[tokio::test]
async fn archive_refuses_what_it_cannot_save_and_restore_finishes_what_a_crash_left() {
    let w = world("").await;
    let (s, files) = with_work(&w).await;
    let nested = s.workspace.join("vendor/dep");
    std::fs::create_dir_all(&nested).expect("mkdir");
    git_in(&nested, &["init", "-q"]);
    std::fs::write(nested.join("lib.txt"), "dep\n").expect("write");
    git_in(&nested, &["add", "lib.txt"]);
    git_in(
        &nested,
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-qm",
            "dep",
        ],
    );
    let stop = Command::Stop {
        id: s.id.to_string(),
        cleanup: false,
        force: false,
    };
    w.request(stop).await;
    let archive = |force| Command::Archive {
        id: s.id.to_string(),
        force,
    };
    let refusal = refused(&w, archive(false)).await;
    assert!(
        refusal.contains("git repositories inside the workspace (vendor/"),
        "{refusal}"
    );
    std::fs::remove_dir_all(s.workspace.join("vendor")).expect("rm");
    w.request(archive(false)).await;
    assert!(!s.workspace.exists());
    // A restore cut short by a crash left part of the directory behind.
    std::fs::create_dir_all(s.workspace.join("half")).expect("mkdir");
    let restore = Command::Restore {
        id: s.id.to_string(),
    };
    let Reply::Session { session, .. } = w.request(restore).await else {
        panic!()
    };
    assert_eq!(session.status, Status::Stopped);
    assert_eq!(files_on_disk(&s.workspace), files);
}

#[tokio::test]
async fn cleaning_up_a_completed_session_keeps_why_it_completed() {
    let w = world("").await;
    let spec = NewSession {
        prompt: Some("echo one".into()),
        limits: Limits {
            max_turns: Some(1),
            ..Limits::default()
        },
        ..NewSession::default()
    };
    let s = create(&w, spec).await;
    w.wait_for(&s, ended).await;
    let stop = Command::Stop {
        id: s.id.to_string(),
        cleanup: true,
        force: true,
    };
    let Reply::Session { session, .. } = w.request(stop).await else {
        panic!()
    };
    assert!(!s.workspace.exists());
    assert_eq!(session.status, Status::Completed);
    assert_eq!(
        session.status_reason.as_deref(),
        Some("max turns 1 reached")
    );
}
