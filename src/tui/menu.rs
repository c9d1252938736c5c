//! A menu of what can be done to a session (land its work, roll back to a checkpoint):
//! every option is listed, and one that cannot be taken now says why beside it, so the
//! menu shows the whole picture and enter on it does nothing but say that again.

use super::confirm::Confirm;
use super::theme::Meaning;
use crate::protocol::Command;

pub struct Menu {
    pub title: String,
    /// Lines above the options, each with how it is drawn: what the menu is about.
    pub intro: Vec<(String, Meaning)>,
    pub items: Vec<Item>,
    pub selected: usize,
}

pub struct Item {
    pub label: String,
    /// What it does, in a few words, or why it cannot be done now.
    pub note: String,
    /// Why it cannot be chosen now; `None` when it can.
    pub disabled: Option<String>,
    pub pick: Pick,
}

/// What choosing an option does. Made and moved once per menu, never held in bulk.
#[allow(clippy::large_enum_variant)]
pub enum Pick {
    /// Makes the request at once: it changes nothing that is not asked about again.
    Request(Command, crate::tui::update::Tag),
    /// Asks first, saying exactly what will happen.
    Confirm(Box<Confirm>),
    /// Opens the new-session form for a host (an index into `State::fleet`).
    NewOn(usize),
}

impl Menu {
    /// Starts on `selected`, or on the first option that can be taken.
    pub fn new(title: String, intro: Vec<(String, Meaning)>, items: Vec<Item>) -> Menu {
        let selected = items.iter().position(|i| i.disabled.is_none()).unwrap_or(0);
        Menu {
            title,
            intro,
            items,
            selected,
        }
    }

    pub fn move_selection(&mut self, forward: bool) {
        let last = self.items.len().saturating_sub(1);
        self.selected = match forward {
            true => (self.selected + 1).min(last),
            false => self.selected.saturating_sub(1),
        };
    }
}
