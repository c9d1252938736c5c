//! The prompt box: typing, sending, the ↑ history, and a draft per session. A prompt the
//! session cannot take stays a draft, and `enter` offers what fits.

use super::{Effect, Tag, flash};
use crate::core::{Action as Allowed, SessionId, check, sanitize};
use crate::protocol::Command;
use crate::tui::dialog::{Choice, Confirm, Dialog};
use crate::tui::keymap::{Action, Context};
use crate::tui::state::{Level, State, new_prompt};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

pub(super) fn prompt_key(state: &mut State, key: KeyEvent, effects: &mut Vec<Effect>) {
    // As in a shell: ctrl-c drops what is typed, and in an empty box leaves it.
    if key.code == KeyCode::Char('c') && key.modifiers == KeyModifiers::CONTROL {
        state.history_pos = None;
        if state.prompt.lines().iter().all(|l| l.is_empty()) {
            state.prompting = false;
        } else {
            set_prompt(state, "");
        }
        return;
    }
    let row = state.prompt.cursor().0;
    let last_row = state.prompt.lines().len().saturating_sub(1);
    match state.keymap.lookup(Context::Prompt, &key) {
        Some(Action::Send) => send_prompt(state, effects),
        Some(Action::Steer) => steer_prompt(state, effects),
        Some(Action::Newline) => state.prompt.insert_newline(),
        Some(Action::Leave) => state.prompting = false,
        Some(Action::HistoryPrev) if row == 0 && !state.history.is_empty() => {
            let pos = state
                .history_pos
                .map_or(state.history.len() - 1, |p| p.saturating_sub(1));
            state.history_pos = Some(pos);
            set_prompt(state, &state.history[pos].clone());
        }
        Some(Action::HistoryNext) if row == last_row && state.history_pos.is_some() => {
            let next = state
                .history_pos
                .map(|p| p + 1)
                .filter(|p| *p < state.history.len());
            state.history_pos = next;
            let text = next.map(|p| state.history[p].clone()).unwrap_or_default();
            set_prompt(state, &text);
        }
        _ => {
            state.prompt.input(key);
        }
    }
}

fn set_prompt(state: &mut State, text: &str) {
    let mut prompt = new_prompt();
    prompt.insert_str(text);
    state.prompt = prompt;
}

fn send_prompt(state: &mut State, effects: &mut Vec<Effect>) {
    let text = state.prompt.lines().join("\n");
    if text.trim().is_empty() {
        return;
    }
    let Some(s) = state.selected_session() else {
        return;
    };
    if let Err(refused) = check(s.status, Allowed::Prompt) {
        if check(s.status, Allowed::Resume).is_err() {
            return flash(state, format!("kept as a draft: {refused}"), Level::Error);
        }
        let question = format!(
            "'{}' is {}: it cannot take prompts now. Resume it and send the prompt?",
            sanitize(&s.title),
            s.status
        );
        let session = s.id;
        let resume = Command::Resume {
            id: session.to_string(),
        };
        state.dialog = Some(Dialog::Confirm(Confirm {
            question,
            details: Vec::new(),
            losses: Vec::new(),
            choices: vec![
                Choice {
                    label: "Keep the draft".into(),
                    request: None,
                },
                Choice {
                    label: "Resume and send".into(),
                    request: Some((resume, Tag::ResumeThenSend { session, text })),
                },
            ],
            focus: 1,
            letters: true,
            host: None,
        }));
        return;
    }
    let what = match s.status.is_busy() {
        true => "queued: the agent is busy",
        false => "sent",
    };
    let id = s.id;
    send_text(state, id, text, what, effects);
}

/// Adds what is in the box to the running turn; the daemon says if the agent cannot.
fn steer_prompt(state: &mut State, effects: &mut Vec<Effect>) {
    let text = state.prompt.lines().join("\n");
    let Some(s) = state.selected_session().filter(|_| !text.trim().is_empty()) else {
        return;
    };
    if s.status != crate::core::Status::Active {
        let send = state.keymap.first_key_of(Action::Send);
        let why = format!("no turn is running to add to: {send} sends it as a prompt");
        return flash(state, why, Level::Error);
    }
    let id = s.id;
    let command = Command::Steer {
        id: id.to_string(),
        text: text.clone(),
    };
    let what = "added to the running turn";
    let tag = Tag::Sent {
        session: id,
        text: text.clone(),
        what,
    };
    effects.push(Effect::Request(command, tag));
    state.prompt = new_prompt();
    remember(state, text);
}

/// Sends `text` to a session, keeps it in the history, and takes it out of the box.
pub fn send_text(
    state: &mut State,
    id: SessionId,
    text: String,
    what: &'static str,
    effects: &mut Vec<Effect>,
) {
    effects.push(Effect::Request(
        Command::Send {
            id: id.to_string(),
            text: text.clone(),
        },
        Tag::Sent {
            session: id,
            text: text.clone(),
            what,
        },
    ));
    if state.selected == Some(id) && state.prompt.lines().join("\n") == text {
        state.prompt = new_prompt();
        state.scroll = 0;
    } else if state.drafts.get(&id) == Some(&text) {
        state.drafts.remove(&id);
    }
    remember(state, text);
}

/// Puts a prompt into the ↑ history, unless it is the last one already there.
pub fn remember(state: &mut State, text: String) {
    if state.history.last() != Some(&text) {
        state.history.push(text);
    }
    state.history_pos = None;
}

/// Keeps what is typed for the session whose draft the box held, and brings back what
/// was typed for the one selected now: a draft belongs to its session.
pub fn switch_draft(state: &mut State) {
    let typed = state.prompt.lines().join("\n");
    if let Some(was) = state.draft_owner {
        match typed.is_empty() {
            true => state.drafts.remove(&was),
            false => state.drafts.insert(was, typed),
        };
    }
    let draft = state.selected.and_then(|id| state.drafts.remove(&id));
    set_prompt(state, draft.as_deref().unwrap_or(""));
    state.history_pos = None;
    state.draft_owner = state.selected;
}

/// A prompt that did not go out comes back as its session's draft, unless something new
/// was typed there meanwhile.
pub fn restore_draft(state: &mut State, id: SessionId, text: String) {
    if state.selected == Some(id) {
        if state.prompt.lines().iter().all(|l| l.is_empty()) {
            set_prompt(state, &text);
        }
    } else {
        state.drafts.entry(id).or_insert(text);
    }
}
