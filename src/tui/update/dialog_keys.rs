//! Keys while a dialog is open.

use super::{Effect, Tag};
use crate::protocol::Command;
use crate::tui::dialog::{Dialog, Field};
use crate::tui::keymap::{Action, Context};
use crate::tui::state::State;
use crossterm::event::KeyEvent;

pub fn key(state: &mut State, key: KeyEvent, effects: &mut Vec<Effect>) {
    let keymap = &state.keymap;
    match &mut state.dialog {
        Some(Dialog::Confirm(_)) => match keymap.lookup(Context::Confirm, &key) {
            Some(Action::Yes) => {
                if let Some(Dialog::Confirm(c)) = state.dialog.take() {
                    effects.push(Effect::Request(c.command, Tag::Action { what: c.done }));
                }
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
                    if let Some(spec) = form.validate() {
                        form.submitting = true;
                        effects.push(Effect::Request(Command::New(spec), Tag::NewSession));
                    }
                }
                Some(Action::NextField) => form.move_focus(true),
                Some(Action::PrevField) => form.move_focus(false),
                Some(Action::Complete) if form.focus == Field::Directory => {
                    effects.push(Effect::Complete(form.value(Field::Directory)));
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
        None => {}
    }
}

pub fn completed(state: &mut State, completed: String, options: Vec<String>) {
    if let Some(Dialog::NewSession(form)) = &mut state.dialog {
        form.set_value(Field::Directory, &completed);
        form.completions = options;
        form.errors.remove(&Field::Directory);
    }
}
