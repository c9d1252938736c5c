//! What the keys ask of a session: abort, resume, terminate, clean up, archive, delete,
//! answer a permission. Anything that loses work or data asks first, with buttons.

use super::{Effect, Tag, flash};
use crate::core::{Action as Allowed, PermissionReply, Session, Status, check, sanitize};
use crate::protocol::Command;
use crate::tui::dialog::{Choice, Confirm, Dialog};
use crate::tui::keymap::Action;
use crate::tui::state::{Level, State};

/// Abort or resume, if the session's status allows it; otherwise say why not. An abort
/// that would drop queued prompts asks whether to keep them.
pub fn session_action(state: &mut State, action: Allowed, effects: &mut Vec<Effect>) {
    let Some(s) = state.selected_session() else {
        return;
    };
    if let Err(refused) = check(s.status, action) {
        return flash(state, refused.to_string(), Level::Error);
    }
    let id = s.id.to_string();
    if action != Allowed::Abort {
        let what = "resumed".to_string();
        return effects.push(Effect::Request(
            Command::Resume { id },
            Tag::Action { what },
        ));
    }
    let queued = s.queued_prompts;
    if queued == 0 {
        let command = Command::Abort {
            id,
            keep_queue: false,
        };
        let what = "aborted".to_string();
        return effects.push(Effect::Request(command, Tag::Action { what }));
    }
    let title = sanitize(&s.title);
    let abort = |keep_queue: bool, label: String, what: &str| Choice {
        label,
        request: Some((
            Command::Abort {
                id: id.clone(),
                keep_queue,
            },
            Tag::Action { what: what.into() },
        )),
    };
    let prompts = plural(queued as usize, "queued prompt");
    state.dialog = Some(Dialog::Confirm(Confirm {
        question: format!("Abort the running turn of '{title}'? It has {prompts} waiting."),
        details: Vec::new(),
        losses: Vec::new(),
        choices: vec![
            Choice {
                label: "Cancel".into(),
                request: None,
            },
            abort(
                true,
                "Abort, keep the queue".into(),
                "aborted; the next queued prompt starts",
            ),
            abort(false, format!("Abort, drop {prompts}"), "aborted"),
        ],
        focus: 0,
        letters: false,
        host: None,
    }));
}

/// `x` ends a live session; `X` also removes its workspace, and on a session that has
/// already ended only removes the workspace.
pub fn terminate(state: &mut State, cleanup: bool, effects: &mut Vec<Effect>) {
    let Some(s) = state.selected_session() else {
        return;
    };
    // Ended by the user or by a limit: only the workspace is left to remove.
    let ended = matches!(s.status, Status::Stopped | Status::Completed);
    if s.status == Status::Archived {
        let why = "its workspace was removed when it was archived: restore it from the history (H)";
        return flash(state, why, Level::Error);
    }
    if !(cleanup && ended)
        && let Err(refused) = check(s.status, Allowed::Terminate)
    {
        return flash(state, refused.to_string(), Level::Error);
    }
    let title = sanitize(&s.title);
    let command = Command::Stop {
        id: s.id.to_string(),
        cleanup,
        force: false,
    };
    if !cleanup {
        let what = format!("terminated '{title}'");
        if !s.status.is_busy() {
            return effects.push(Effect::Request(command, Tag::Action { what }));
        }
        let question = format!("Terminate '{title}'? Its running turn is stopped.");
        state.dialog = Some(Dialog::Confirm(Confirm::yes_no(
            question,
            "Terminate",
            command,
            what,
        )));
        return;
    }
    let workspace = s.workspace.display();
    let (question, yes) = if ended {
        (
            format!("Remove the workspace of '{title}', {workspace}? The branch is kept."),
            "Remove workspace",
        )
    } else {
        (
            format!(
                "Terminate '{title}' and remove its workspace {workspace}? The branch is kept."
            ),
            "Terminate and remove",
        )
    };
    let mut confirm = Confirm::yes_no(question, yes, command, String::new());
    // Uncommitted work stops the cleanup; its refusal comes back as a second question.
    confirm.choices[1].request = confirm.choices[1].request.take().map(|(command, _)| {
        let session = s.id;
        (command, Tag::Cleanup { session })
    });
    state.dialog = Some(Dialog::Confirm(confirm));
}

/// A cleanup refused for work it would discard: asks again, saying what would go, with
/// the forced cleanup behind a button.
pub fn cleanup_refused(state: &mut State, session: &Session, refusal: &str) {
    let Some(lost) = refusal
        .strip_prefix("nothing was changed: ")
        .and_then(|r| r.split_once(": commit or move it").map(|(what, _)| what))
        .or_else(|| {
            refusal
                .split_once(", or pass --force")
                .map(|(what, _)| what)
        })
    else {
        return flash(state, refusal, Level::Error);
    };
    let title = sanitize(&session.title);
    let question = format!(
        "The workspace of '{title}' was kept. Removing it anyway discards this for good; the branch keeps only what was committed:"
    );
    let command = Command::Stop {
        id: session.id.to_string(),
        cleanup: true,
        force: true,
    };
    let done = format!("removed the workspace of '{title}'");
    let mut confirm = Confirm::yes_no(question, "Discard and remove", command, done)
        .destructive(vec![sanitize(lost)]);
    confirm.choices[0].label = "Keep it".into();
    state.dialog = Some(Dialog::Confirm(confirm));
}

/// `A` saves an ended session's workspace in a chronicle and removes the directory. The
/// directory goes, and files git ignores are not saved: it asks first, with buttons.
pub fn archive(state: &mut State) {
    let Some(s) = state.selected_session() else {
        return;
    };
    if let Err(refused) = check(s.status, Allowed::Archive) {
        return flash(state, refused.to_string(), Level::Error);
    }
    let title = sanitize(&s.title);
    // The question below names what goes, ignored files included: answered, it forces.
    let command = Command::Archive {
        id: s.id.to_string(),
        force: true,
    };
    let done = format!("archived '{title}': it is in the history (H)");
    // A directory flotilla did not make is never removed: nothing is lost then.
    if s.strategy == crate::core::Strategy::Existing {
        let question = format!(
            "Archive '{title}'? Its files are saved in a chronicle; {} is kept, since flotilla did not create it.",
            s.workspace.display()
        );
        let confirm = Confirm::yes_no(question, "Archive", command, done);
        state.dialog = Some(Dialog::Confirm(confirm));
        return;
    }
    let question = format!(
        "Archive '{title}'? Its files are saved in a chronicle, then its workspace is removed; restore (R in the history, H) makes it again. This goes:"
    );
    let losses = vec![
        format!("the directory {}", s.workspace.display()),
        "files git ignores there (build output, .env): they are not saved".to_string(),
    ];
    let confirm = Confirm::yes_no(question, "Archive", command, done).destructive(losses);
    state.dialog = Some(Dialog::Confirm(confirm));
}

pub fn delete(state: &mut State) {
    let Some(s) = state.selected_session() else {
        return;
    };
    let title = sanitize(&s.title);
    let command = Command::Remove {
        id: s.id.to_string(),
        cleanup: false,
        force: false,
    };
    let mut losses = vec![format!(
        "its transcript: {}",
        plural(s.message_count as usize, "message")
    )];
    if s.queued_prompts > 0 {
        losses.push(format!(
            "{} not yet sent",
            plural(s.queued_prompts as usize, "queued prompt")
        ));
    }
    let question = format!(
        "Delete '{title}' for good? Its workspace {} and its branch are kept. This goes:",
        s.workspace.display()
    );
    let confirm = Confirm::yes_no(
        question,
        "Delete for good",
        command,
        format!("deleted '{title}'"),
    );
    state.dialog = Some(Dialog::Confirm(confirm.destructive(losses)));
}

pub fn answer_permission(state: &mut State, action: Action, effects: &mut Vec<Effect>) {
    let reply = match action {
        Action::AllowOnce => PermissionReply::Once,
        Action::AllowAlways => PermissionReply::Always,
        Action::Deny => PermissionReply::Deny,
        _ => return,
    };
    let Some(id) = state.selected else { return };
    let Some(request_id) = state
        .transcript()
        .and_then(|t| t.pending_permission())
        .and_then(|p| match &p.kind {
            crate::core::PartKind::Permission { request_id, .. } => Some(request_id.clone()),
            _ => None,
        })
    else {
        return;
    };
    let what = match reply {
        PermissionReply::Deny => "denied",
        _ => "allowed",
    };
    effects.push(Effect::Request(
        Command::Permission {
            id: id.to_string(),
            request_id: Some(request_id),
            reply,
        },
        Tag::Action { what: what.into() },
    ));
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}
