//! Limits through the engine: each one ends the session `completed`, saying which, and
//! a deadline that passed while the daemon was down is enforced when it starts.

mod support;

use flotilla::core::{Limits, Status};
use flotilla::protocol::{Command, NewSession, Reply};
use support::lifecycle::*;

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
