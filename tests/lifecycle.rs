//! The session lifecycle through the engine, with real git and real processes:
//! callbacks between parents and children, templates and their setup, answers.

mod support;

use flotilla::core::{CallbackState, Limits, Notify, PartKind, Status, Strategy, ToolStatus};
use flotilla::protocol::{Command, NewSession, Reply};
use support::engine::WAIT;
use support::lifecycle::*;

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
async fn a_setup_the_daemon_died_during_fails_the_session_instead_of_skipping_it() {
    let gate = support::Gate::new();
    let config = format!(
        "[templates.slow]\nsetup = \"echo begun; {}\"\n",
        gate.wait(1)
    );
    let mut w = world(&config).await;
    let s = create(
        &w,
        NewSession {
            template: Some("slow".into()),
            prompt: Some("echo never".into()),
            ..NewSession::default()
        },
    )
    .await;
    w.until_text(&s, "\"name\":\"setup\"").await;
    w.restart().await;
    gate.open(1);
    let failed = w.wait_for(&s, ended).await;
    assert_eq!(failed.status, Status::Error);
    let reason = failed.status_reason.unwrap_or_default();
    assert!(reason.contains("setup did not finish"), "{reason}");
    let setup = w.parts(&s).await.into_iter().find_map(|p| match p.kind {
        PartKind::Tool { name, status, .. } if name == "setup" => Some(status),
        _ => None,
    });
    assert_eq!(setup, Some(ToolStatus::Error));
    assert!(
        !w.text(&s).await.contains("never\\n"),
        "the first prompt never ran"
    );
}
