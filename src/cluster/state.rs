//! What a session's pod says of it: pending, running, gone, or failed with the pod's
//! reason. Pure: read off the Pod object as the API server returns it.

use k8s_openapi::api::core::v1::Pod;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodState {
    /// No pod: the session is stopped, its volume kept.
    Gone,
    /// Made, not running yet: scheduling, pulling the image, cloning.
    Starting(String),
    Running,
    /// Deleted, waiting for its container to end.
    Ending,
    /// Failed, evicted, or its container keeps crashing: the pod's reason.
    Failed(String),
}

impl PodState {
    pub fn of(pod: Option<&Pod>) -> PodState {
        let Some(pod) = pod else {
            return PodState::Gone;
        };
        if pod.metadata.deletion_timestamp.is_some() {
            return PodState::Ending;
        }
        let status = pod.status.clone().unwrap_or_default();
        let waiting = (status.container_statuses.iter().flatten())
            .filter_map(|c| c.state.as_ref()?.waiting.as_ref())
            .find_map(|w| {
                let reason = w.reason.clone()?;
                Some(match &w.message {
                    Some(message) => format!("{reason}: {message}"),
                    None => reason,
                })
            });
        let last_words = last_words(&status);
        let reason = || {
            let said = last_words.clone().or_else(|| status.message.clone());
            let words: Vec<String> = [status.reason.clone(), said]
                .into_iter()
                .flatten()
                .collect();
            match words.is_empty() {
                true => None,
                false => Some(words.join(": ")),
            }
        };
        match status.phase.as_deref() {
            Some("Running") => match waiting {
                Some(w) if crashing(&w) => PodState::Failed(match &last_words {
                    Some(said) => format!("the pod's container: {w}: {said}"),
                    None => format!("the pod's container: {w}"),
                }),
                _ => PodState::Running,
            },
            Some("Failed") => PodState::Failed(format!(
                "the pod failed: {}",
                reason().unwrap_or_else(|| "no reason given".into())
            )),
            Some("Succeeded") => {
                PodState::Failed("the pod's flotilla exited: resume starts it again".into())
            }
            _ => PodState::Starting(
                waiting
                    .or_else(reason)
                    .unwrap_or_else(|| "waiting to be scheduled".into()),
            ),
        }
    }

    /// The word lists show for it.
    pub fn word(&self) -> &'static str {
        match self {
            PodState::Gone => "stopped",
            PodState::Starting(_) => "starting",
            PodState::Running => "running",
            PodState::Ending => "stopping",
            PodState::Failed(_) => "disconnected",
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            PodState::Starting(r) | PodState::Failed(r) => Some(r),
            _ => None,
        }
    }
}

/// What the container said as it ended with an error, now or the last time: the last
/// line of its termination message (with `FallbackToLogsOnError`, its log's tail).
fn last_words(status: &k8s_openapi::api::core::v1::PodStatus) -> Option<String> {
    (status.container_statuses.iter().flatten())
        .flat_map(|c| [c.state.as_ref(), c.last_state.as_ref()])
        .filter_map(|s| s?.terminated.as_ref()?.message.as_deref())
        .find_map(|m| m.lines().rev().map(str::trim).find(|l| !l.is_empty()))
        .map(str::to_string)
}

/// Waiting reasons that mean the container will not come up by itself soon.
fn crashing(reason: &str) -> bool {
    [
        "CrashLoopBackOff",
        "ErrImagePull",
        "ImagePullBackOff",
        "CreateContainerError",
    ]
    .iter()
    .any(|r| reason.starts_with(r))
}

#[cfg(test)]
mod tests {
    use super::PodState;
    use k8s_openapi::api::core::v1::Pod;

    fn pod(json: serde_json::Value) -> Pod {
        serde_json::from_value(json).expect("pod")
    }

    #[test]
    fn an_evicted_pod_is_failed_with_its_reason() {
        let p = pod(serde_json::json!({"status": {
            "phase": "Failed", "reason": "Evicted",
            "message": "The node was low on resource: memory."
        }}));
        assert_eq!(
            PodState::of(Some(&p)),
            PodState::Failed(
                "the pod failed: Evicted: The node was low on resource: memory.".into()
            )
        );
    }

    #[test]
    fn a_crash_looping_container_fails_the_pod_though_its_phase_is_running() {
        let p = pod(
            serde_json::json!({"status": {"phase": "Running", "containerStatuses": [{
                "name": "flotilla", "ready": false, "restartCount": 4, "image": "i", "imageID": "",
                "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}}
            }]}}),
        );
        let state = PodState::of(Some(&p));
        assert_eq!(state.word(), "disconnected");
        assert!(
            state
                .reason()
                .is_some_and(|r| r.contains("CrashLoopBackOff"))
        );
    }

    #[test]
    fn a_container_s_last_words_say_why_its_pod_failed() {
        let ended = |state: &str| {
            serde_json::json!({
                "name": "flotilla", "ready": false, "restartCount": 1, "image": "i", "imageID": "",
                state: {"terminated": {"exitCode": 1, "reason": "Error",
                    "message": "cloning\nflotilla: cannot clone /nowhere: fatal: no such repository\n\n"}}
            })
        };
        let failed = pod(serde_json::json!({"status": {
            "phase": "Failed", "reason": "Error", "message": "exited with code 1",
            "containerStatuses": [ended("state")]
        }}));
        let why =
            "the pod failed: Error: flotilla: cannot clone /nowhere: fatal: no such repository";
        assert_eq!(PodState::of(Some(&failed)), PodState::Failed(why.into()));
        let looping = pod(
            serde_json::json!({"status": {"phase": "Running", "containerStatuses": [{
                "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 10s"}},
                "lastState": ended("lastState")["lastState"],
                "name": "flotilla", "ready": false, "restartCount": 1, "image": "i", "imageID": ""
            }]}}),
        );
        let why = PodState::of(Some(&looping));
        assert!(
            why.reason().is_some_and(
                |r| r.contains("CrashLoopBackOff: back-off 10s: flotilla: cannot clone")
            ),
            "{why:?}"
        );
    }

    #[test]
    fn pending_deleted_and_missing_pods() {
        let pending = pod(serde_json::json!({"status": {"phase": "Pending"}}));
        assert_eq!(PodState::of(Some(&pending)).word(), "starting");
        let ending = pod(serde_json::json!({
            "metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"},
            "status": {"phase": "Running"}
        }));
        assert_eq!(PodState::of(Some(&ending)), PodState::Ending);
        assert_eq!(PodState::of(None), PodState::Gone);
        let running = pod(serde_json::json!({"status": {"phase": "Running"}}));
        assert_eq!(PodState::of(Some(&running)), PodState::Running);
    }
}
