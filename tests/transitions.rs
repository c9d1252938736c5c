//! The transition table from SPEC.md, every (status, action) pair.

use flotilla::core::{Action, Status, Verdict, check};
use rstest::rstest;

const RUN: Option<Verdict> = Some(Verdict::Run);
const QUEUE: Option<Verdict> = Some(Verdict::Queue);
const RESTORE: Option<Verdict> = Some(Verdict::Restore);
const NO: Option<Verdict> = None;

#[rstest]
//            status                 prompt  abort  resume   terminate
#[case::starting(Status::Starting, QUEUE, RUN, NO, RUN)]
#[case::active(Status::Active, QUEUE, RUN, NO, RUN)]
#[case::waiting(Status::WaitingInput, NO, RUN, NO, RUN)]
#[case::idle(Status::Idle, RUN, NO, NO, RUN)]
#[case::stopped(Status::Stopped, NO, NO, RUN, NO)]
#[case::completed(Status::Completed, NO, NO, RUN, NO)]
#[case::disconnected(Status::Disconnected, NO, NO, RUN, RUN)]
#[case::error(Status::Error, NO, NO, RUN, RUN)]
#[case::archived(Status::Archived, NO, NO, RESTORE, NO)]
fn table(
    #[case] status: Status,
    #[case] prompt: Option<Verdict>,
    #[case] abort: Option<Verdict>,
    #[case] resume: Option<Verdict>,
    #[case] terminate: Option<Verdict>,
) {
    for (action, expected) in [
        (Action::Prompt, prompt),
        (Action::Abort, abort),
        (Action::Resume, resume),
        (Action::Terminate, terminate),
    ] {
        match (check(status, action), expected) {
            (Ok(got), Some(want)) => assert_eq!(got, want, "{status} {action:?}"),
            (Err(refused), None) => {
                let msg = refused.to_string();
                assert!(
                    msg.contains(status.as_str()),
                    "the refusal names the status: {msg}"
                );
                assert!(!msg.contains('\n'), "one line: {msg}");
                assert_eq!((refused.action, refused.status), (action, status));
            }
            (got, want) => panic!("{status} {action:?}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn every_status_is_in_the_table() {
    // The rstest cases above list nine statuses; a new status must be added there too.
    assert_eq!(Status::ALL.len(), 9);
    for status in Status::ALL {
        assert_eq!(status.as_str().parse::<Status>(), Ok(status));
    }
}

#[test]
fn refusals_say_what_to_do() {
    let cases = [
        (Status::Stopped, Action::Prompt, "resume it first"),
        (
            Status::WaitingInput,
            Action::Prompt,
            "answer its permission request",
        ),
        (Status::Idle, Action::Abort, "nothing is running"),
        (Status::Active, Action::Resume, "still live"),
        (Status::Stopped, Action::Terminate, "already ended"),
    ];
    for (status, action, hint) in cases {
        let msg = check(status, action).expect_err("refused").to_string();
        assert!(msg.contains(hint), "{msg}");
    }
}
