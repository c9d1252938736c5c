//! Keys while a dialog is open.

use super::{Effect, Tag};
use crate::protocol::Command;
use crate::tui::dialog::{Dialog, Field};
use crate::tui::environment::Environment;
use crate::tui::fleet::LOCAL_HOST;
use crate::tui::keymap::{Action, Context};
use crate::tui::state::State;
use crossterm::event::KeyEvent;

pub fn key(state: &mut State, key: KeyEvent, effects: &mut Vec<Effect>) {
    if matches!(state.dialog, Some(Dialog::Menu(_))) {
        return super::land::menu_key(state, key, effects);
    }
    let keymap = &state.keymap;
    match &mut state.dialog {
        Some(Dialog::Confirm(c)) => match keymap.lookup(Context::Confirm, &key) {
            Some(Action::NextChoice) => c.move_focus(true),
            Some(Action::PrevChoice) => c.move_focus(false),
            Some(Action::Choose) => {
                let focus = c.focus;
                choose(state, focus, effects);
            }
            Some(Action::Yes) if c.letters => {
                let last = c.choices.len().saturating_sub(1);
                choose(state, last, effects);
            }
            Some(Action::No) => state.dialog = None,
            _ => {}
        },
        Some(Dialog::NewSession(form)) => {
            if form.submitting {
                return;
            }
            match keymap.lookup(Context::Dialog, &key) {
                Some(Action::Cancel) => state.dialog = None,
                Some(Action::Submit) => {
                    // `~` on another host is that host's home: its daemon expands it.
                    let env = match form.host {
                        LOCAL_HOST => state.env.clone(),
                        _ => Environment {
                            home: None,
                            ..state.env.clone()
                        },
                    };
                    if let Some(spec) = form.validate(&env) {
                        form.submitting = true;
                        let host = form.host;
                        if let Some(prompt) = &spec.prompt {
                            super::prompt::remember(state, prompt.clone());
                        }
                        let new = Command::New(spec);
                        effects.push(Effect::RequestOn(host, new, Tag::NewSession));
                    }
                }
                Some(Action::NextField) => form.move_focus(true),
                Some(Action::PrevField) => form.move_focus(false),
                Some(Action::Complete) if form.focus == Field::Directory => {
                    let typed = form.value(Field::Directory);
                    effects.push(match form.host {
                        LOCAL_HOST => Effect::Complete(typed),
                        host => {
                            let complete = Command::CompletePath { typed };
                            Effect::RequestOn(host, complete, Tag::Completion)
                        }
                    });
                }
                Some(Action::Complete) => form.move_focus(true),
                Some(Action::OptionPrev) if form.focus.is_choice() => form.cycle(false),
                Some(Action::OptionNext) if form.focus.is_choice() => form.cycle(true),
                _ => {
                    let field = form.focus;
                    if let Some(input) = form.inputs.get_mut(&field)
                        && input.input(key)
                    {
                        form.errors.remove(&field);
                        form.completions.clear();
                    }
                }
            }
        }
        Some(Dialog::Menu(_)) | None => {}
    }
}

/// Presses the dialog's button `at`: closes it and makes that button's request.
fn choose(state: &mut State, at: usize, effects: &mut Vec<Effect>) {
    let Some(Dialog::Confirm(c)) = state.dialog.take() else {
        return;
    };
    if let Some((command, tag)) = c.choices.into_iter().nth(at).and_then(|c| c.request) {
        effects.push(match c.host {
            Some(host) => Effect::RequestOn(host, command, tag),
            None => Effect::Request(command, tag),
        });
    }
}

pub fn completed(state: &mut State, completed: String, options: Vec<String>) {
    if let Some(Dialog::NewSession(form)) = &mut state.dialog {
        form.set_value(Field::Directory, &completed);
        form.completions = options;
        form.errors.remove(&Field::Directory);
    }
}
