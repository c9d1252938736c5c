//! Reviewing a session's work in the dashboard: the line cursor on the Diffs tab, the
//! comment box, sending the comments, and rolling back to a checkpoint.

use super::{Effect, Tag, flash};
use crate::core::{Action as Allowed, Checkpoint, SessionId, check, coarse_age};
use crate::protocol::{Command, Reply};
use crate::tui::dialog::{Confirm, Dialog};
use crate::tui::hunks::{comment_line, line_count};
use crate::tui::keymap::{Action, Context};
use crate::tui::menu::{Item, Menu, Pick};
use crate::tui::review::CommentBox;
use crate::tui::state::{Level, State};
use crossterm::event::KeyEvent;

/// Asks for a session's comments and checkpoints, unless they are held.
pub fn load(state: &mut State, id: SessionId, effects: &mut Vec<Effect>) {
    let key = id.to_string();
    if let std::collections::hash_map::Entry::Vacant(slot) = state.review.comments.entry(id) {
        slot.insert(Vec::new());
        effects.push(Effect::Request(
            Command::Comments {
                id: key.clone(),
                send: false,
            },
            Tag::Comments { session: id },
        ));
    }
    if !state.review.checkpoints.contains_key(&id) {
        state.review.set_checkpoints(id, Vec::new());
        effects.push(Effect::Request(
            Command::Checkpoints { id: key },
            Tag::Checkpoints { session: id },
        ));
    }
}

/// The keys of the Diffs tab that are about reviewing; false if `action` is none of them.
pub fn diffs_action(state: &mut State, action: Action, effects: &mut Vec<Effect>) -> bool {
    let lines = state
        .diff
        .files
        .get(state.diff.selected)
        .map_or(0, line_count);
    match action {
        Action::ReviewLines => {
            if lines == 0 {
                flash(state, "no lines to review in this file", Level::Error);
            } else {
                state.diff.focus = true;
                state.diff.cursor = state.diff.cursor.min(lines - 1);
                state.scroll_to_cursor();
            }
        }
        Action::Leave => state.diff.focus = false,
        Action::CursorDown | Action::CursorUp => {
            let last = lines.saturating_sub(1);
            state.diff.cursor = match action {
                Action::CursorDown => (state.diff.cursor + 1).min(last),
                _ => state.diff.cursor.saturating_sub(1),
            };
            state.scroll_to_cursor();
        }
        Action::Comment => open_comment(state),
        Action::SendComments => send_comments(state, effects),
        _ => return false,
    }
    true
}

fn open_comment(state: &mut State) {
    let Some(file) = state.diff.files.get(state.diff.selected) else {
        return flash(state, "no file selected", Level::Error);
    };
    if !state.diff.focus {
        let enter = state.keymap.first_key_of(Action::ReviewLines);
        let why = format!("press {enter} first, then move to the line to comment on");
        return flash(state, why, Level::Error);
    }
    match comment_line(file, state.diff.cursor) {
        Ok(line) => {
            let path = file.path.clone();
            state.diff.comment = Some(CommentBox::new(path, line, ""));
            state.scroll_to_cursor();
        }
        Err(why) => flash(state, why, Level::Error),
    }
}

/// Keys while the comment box is open: enter saves the comment, esc drops it.
pub fn comment_key(state: &mut State, key: KeyEvent, effects: &mut Vec<Effect>) {
    let action = state.keymap.lookup(Context::Prompt, &key);
    let Some(mut comment) = state.diff.comment.take() else {
        return;
    };
    match action {
        Some(Action::Leave) => flash(state, "comment dropped", Level::Info),
        Some(Action::Send) => {
            let text = comment.text();
            let Some(id) = state.diff.session.filter(|_| !text.trim().is_empty()) else {
                state.diff.comment = Some(comment);
                return flash(state, "type the comment first (esc drops it)", Level::Error);
            };
            effects.push(Effect::Request(
                Command::Comment {
                    id: id.to_string(),
                    path: comment.path.clone(),
                    line: comment.line,
                    text,
                },
                Tag::Commented {
                    session: id,
                    path: comment.path,
                    line: comment.line,
                },
            ));
        }
        // One line: a newline key is ignored rather than starting a second.
        Some(Action::Newline) => state.diff.comment = Some(comment),
        _ => {
            comment.input.input(key);
            state.diff.comment = Some(comment);
        }
    }
    state.scroll_to_cursor();
}

fn send_comments(state: &mut State, effects: &mut Vec<Effect>) {
    let Some(s) = state.selected_session() else {
        return;
    };
    let id = s.id;
    if let Err(refused) = check(s.status, Allowed::Prompt) {
        return flash(
            state,
            format!("cannot send comments: {refused}"),
            Level::Error,
        );
    }
    if state.waiting_comments() == 0 {
        let c = state.keymap.first_key_of(Action::Comment);
        let why = format!("no comments waiting: {c} on a line of the diff writes one");
        return flash(state, why, Level::Error);
    }
    effects.push(Effect::Request(
        Command::Comments {
            id: id.to_string(),
            send: true,
        },
        Tag::Comments { session: id },
    ));
}

/// The menu of the selected session's checkpoints, newest first.
pub fn checkpoints_menu(state: &mut State) {
    let Some(s) = state.selected_session() else {
        return;
    };
    let (id, status) = (s.id, s.status);
    let title = crate::core::sanitize(&s.title);
    let list = state.checkpoints();
    if list.is_empty() {
        let why = "no checkpoints yet: one is taken each time a turn ends";
        return flash(state, why, Level::Error);
    }
    let disabled = check(status, Allowed::Rollback)
        .err()
        .map(|e| e.to_string());
    let items = list
        .iter()
        .rev()
        .map(|c| checkpoint_item(c, id, state.now, disabled.clone()))
        .collect();
    let intro = vec![(
        format!("Roll '{title}' back to the workspace as a turn left it:"),
        crate::tui::theme::Meaning::Text,
    )];
    state.dialog = Some(Dialog::Menu(Menu::new(
        " checkpoints ".into(),
        intro,
        items,
    )));
}

fn checkpoint_item(
    c: &Checkpoint,
    id: SessionId,
    now: chrono::DateTime<chrono::Utc>,
    disabled: Option<String>,
) -> Item {
    let files: Vec<&str> = c.files.iter().take(3).map(|f| f.path.as_str()).collect();
    let more = c.files.len().saturating_sub(files.len());
    let age = match coarse_age(c.created_at, now) {
        now if now == "now" => "just now".to_string(),
        age => format!("{age} ago"),
    };
    let mut note = format!(
        "{age} · {} file{}",
        c.files.len(),
        if c.files.len() == 1 { "" } else { "s" }
    );
    if !files.is_empty() {
        note.push_str(&format!(": {}", files.join(", ")));
        if more > 0 {
            note.push_str(&format!(" and {more} more"));
        }
    }
    Item {
        label: format!("turn {}", c.turn),
        note,
        disabled,
        pick: Pick::Request(
            Command::Rollback {
                id: id.to_string(),
                turn: c.turn,
                force: false,
            },
            Tag::Rollback {
                session: id,
                turn: c.turn,
            },
        ),
    }
}

/// A rollback's answer: done, or stopped by changes made since the newest checkpoint,
/// which a second question lists before they are thrown away.
pub fn rolled_back(state: &mut State, reply: Reply, effects: &mut Vec<Effect>) {
    let Reply::RolledBack {
        session,
        turn,
        done,
        unsaved,
    } = reply
    else {
        return;
    };
    let id = session.id;
    super::events::upsert_session(state, session, effects);
    if done {
        return flash(
            state,
            format!("rolled back to the workspace after turn {turn}"),
            Level::Info,
        );
    }
    let question = format!(
        "Roll back to turn {turn}? These changes were made after the newest checkpoint and would be lost:"
    );
    let command = Command::Rollback {
        id: id.to_string(),
        turn,
        force: true,
    };
    let tag = Tag::Rollback { session: id, turn };
    let confirm =
        Confirm::asking(question, "Roll back, losing them", command, tag).destructive(unsaved);
    state.dialog = Some(Dialog::Confirm(confirm));
}

/// The replies to what this module and the land menu asked.
pub fn replied(
    state: &mut State,
    tag: Tag,
    result: Result<Reply, String>,
    effects: &mut Vec<Effect>,
) {
    match (tag, result) {
        (Tag::Comments { session }, Ok(Reply::Comments { comments, sent })) => {
            state.review.comments.insert(session, comments);
            if sent > 0 {
                let what = format!(
                    "sent {sent} comment{} to the agent",
                    if sent == 1 { "" } else { "s" }
                );
                flash(state, what, Level::Info);
            }
        }
        (
            Tag::Commented {
                session,
                path,
                line,
            },
            Ok(Reply::Comments { comments, .. }),
        ) => {
            state.review.comments.insert(session, comments);
            let send = state.keymap.first_key_of(Action::SendComments);
            let what = format!("comment saved on {path}:{line}: {send} sends the waiting ones");
            flash(state, what, Level::Info);
        }
        (Tag::Checkpoints { session }, Ok(Reply::Checkpoints { checkpoints })) => {
            state.review.set_checkpoints(session, checkpoints);
        }
        (Tag::Checkpoints { session }, Err(_)) => {
            // Asked again the next time the session is loaded.
            state.review.checkpoints.remove(&session);
        }
        (Tag::Rollback { .. }, Ok(reply)) => rolled_back(state, reply, effects),
        (Tag::LandPlan { session }, Ok(crate::protocol::Reply::LandPlan(plan))) => {
            super::land::planned(state, session, plan)
        }
        (
            Tag::Landed { session, then },
            Ok(Reply::Landed {
                session: s,
                summary,
                ..
            }),
        ) => {
            super::events::upsert_session(state, s, effects);
            super::land::landed(state, session, then, summary, effects);
        }
        (Tag::Landed { then: Some(_), .. }, Err(e)) => flash(
            state,
            format!("nothing was merged: the commit failed: {e}"),
            Level::Error,
        ),
        (_, Err(e)) => flash(state, e, Level::Error),
        (_, Ok(_)) => {}
    }
}
