//! The transition table, every (status, action) pair.

use flotilla::core::{Action, Status, Verdict, check};

const RUN: Option<Verdict> = Some(Verdict::Run);
const QUEUE: Option<Verdict> = Some(Verdict::Queue);
const NO: Option<Verdict> = None;

/// The table's row for `status`: prompt, abort, resume, terminate, archive, restore, land,
/// rollback. The match has no
/// wildcard, so a new status does not compile until its row is written here.
fn row(status: Status) -> [Option<Verdict>; 8] {
    match status {
        Status::Starting => [QUEUE, RUN, NO, RUN, NO, NO, NO, NO],
        Status::Active => [QUEUE, RUN, NO, RUN, NO, NO, NO, NO],
        Status::WaitingInput => [NO, RUN, NO, RUN, NO, NO, NO, NO],
        Status::Idle => [RUN, NO, NO, RUN, NO, NO, RUN, RUN],
        Status::Stopped => [NO, NO, RUN, NO, RUN, NO, RUN, RUN],
        Status::Completed => [NO, NO, RUN, NO, RUN, NO, RUN, RUN],
        Status::Disconnected => [NO, NO, RUN, RUN, NO, NO, RUN, RUN],
        Status::Error => [NO, NO, RUN, RUN, RUN, NO, RUN, RUN],
        Status::Archived => [NO, NO, NO, NO, NO, RUN, NO, NO],
    }
}

/// Every (status, action) pair, for every status there is: `Status::ALL` is derived
/// from the enum, so none is left out.
#[test]
fn table() {
    for &status in Status::ALL {
        assert_eq!(status.as_str().parse::<Status>(), Ok(status));
        let actions = [
            Action::Prompt,
            Action::Abort,
            Action::Resume,
            Action::Terminate,
            Action::Archive,
            Action::Restore,
            Action::Land,
            Action::Rollback,
        ];
        assert_eq!(Action::ALL, actions, "the row's order");
        for (action, expected) in actions.into_iter().zip(row(status)) {
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
        (Status::Active, Action::Land, "a turn is running"),
        (Status::WaitingInput, Action::Rollback, "a turn is running"),
        (Status::Archived, Action::Land, "restore it first"),
    ];
    for (status, action, hint) in cases {
        let msg = check(status, action).expect_err("refused").to_string();
        assert!(msg.contains(hint), "{msg}");
    }
}
