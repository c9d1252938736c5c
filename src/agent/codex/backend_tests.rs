//! The backend around the mapper: the arguments of a turn, a missing binary, and a
//! resumed thread's totals from Codex's rollout files.

use super::events::Totals;
use super::{CodexBackend, Settings, rollout};
use crate::agent::{AgentError, Backend, Launch};
use crate::core::SessionId;
use serde_json::json;

const THREAD: &str = "01a1fb38-d2bd-79a1-8103-9f5cf030e4b1";

fn backend(settings: Settings) -> CodexBackend {
    CodexBackend::new("codex".into(), Vec::new(), settings)
}

#[test]
fn arguments_for_new_and_resumed_threads() {
    let b = backend(Settings::default());
    assert_eq!(
        b.args("-do it", None, None),
        [
            "exec",
            "--json",
            "--skip-git-repo-check",
            "-c",
            "sandbox_mode=\"workspace-write\"",
            "-c",
            "approval_policy=\"never\"",
            "--",
            "-do it"
        ]
    );
    let b = backend(Settings {
        sandbox: Some("read-only".into()),
        approval: Some("on-\"request".into()),
    });
    assert_eq!(
        b.args("go", Some(THREAD), Some("gpt-5.5")),
        [
            "exec",
            "resume",
            "--json",
            "--skip-git-repo-check",
            "-c",
            "sandbox_mode=\"read-only\"",
            "-c",
            "approval_policy=\"on-\\\"request\"",
            "-m",
            "gpt-5.5",
            "--",
            THREAD,
            "go"
        ]
    );
}

#[test]
fn a_missing_binary_says_how_to_install_codex() {
    let b = CodexBackend::new("/nonexistent/codex".into(), Vec::new(), Settings::default());
    let (tx, _rx) = tokio::sync::mpsc::channel(1);
    let launch = Launch {
        session: SessionId::new(),
        workspace: "/".into(),
        agent_session_id: None,
        model: None,
        groups: crate::process_groups::Registry::none(),
        env: Vec::new(),
    };
    match b.open(launch, tx) {
        Err(AgentError::Unavailable(m)) => {
            assert!(m.contains("npm install -g @openai/codex"), "{m}")
        }
        Ok(_) => panic!("opened without a binary"),
    }
}

#[test]
fn a_resumed_threads_totals_come_from_its_rollout() {
    let home = tempfile::tempdir().expect("tempdir");
    let day = home.path().join("sessions/2026/11/20");
    std::fs::create_dir_all(&day).expect("mkdir");
    let count = |i: u64, o: u64| {
        json!({"type": "event_msg", "payload": {"type": "token_count", "info": {
            "total_token_usage": {"input_tokens": i, "output_tokens": o},
            "last_token_usage": {"input_tokens": 1, "output_tokens": 1}}}})
        .to_string()
    };
    let rollout = [
        json!({"type": "session_meta", "payload": {"id": THREAD}}).to_string(),
        count(10, 5),
        "not json \"token_count\"".to_string(),
        count(40, 20),
        json!({"type": "event_msg", "payload": {"type": "token_count", "info": null}}).to_string(),
    ]
    .join("\n");
    std::fs::write(
        day.join(format!("rollout-2026-11-20T23-09-27-{THREAD}.jsonl")),
        rollout,
    )
    .expect("write");
    assert_eq!(
        rollout::totals(home.path(), THREAD),
        Some(Totals {
            input: 40,
            output: 20
        })
    );
    assert_eq!(rollout::totals(home.path(), "other-thread"), None);
    let env = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    assert_eq!(
        rollout::codex_home(&env(&[("HOME", "/h"), ("CODEX_HOME", "/c")])),
        Some("/c".into())
    );
    assert_eq!(
        rollout::codex_home(&env(&[("HOME", "/h")])),
        Some("/h/.codex".into())
    );
}

#[test]
fn a_failed_run_quotes_what_stderr_said_last() {
    use super::turn::Tail;
    let mut tail = Tail::default();
    assert_eq!(tail.message(), None);
    tail.push("Reading additional input from stdin...");
    tail.push("   ");
    assert_eq!(
        tail.message().as_deref(),
        Some("Reading additional input from stdin...")
    );
    tail.push("Error loading config.toml: unknown variant `bogus`");
    tail.push("in `sandbox_mode`");
    assert_eq!(
        tail.message().as_deref(),
        Some("Error loading config.toml: unknown variant `bogus` in `sandbox_mode`")
    );
    tail.push(&"x".repeat(10_000));
    assert!(tail.message().is_some_and(|m| m.chars().count() <= 400));
}
