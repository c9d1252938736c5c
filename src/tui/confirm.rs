//! Questions with buttons: the first changes nothing, and a question whose answer
//! destroys something is answered only by moving to its button.

use crate::protocol::Command;

/// A question with buttons. The first choice changes nothing, and the focus starts there
/// on any question whose answer destroys data; such a question is answered only by
/// moving to its button and pressing enter, never by a letter typed in passing.
pub struct Confirm {
    pub question: String,
    /// Exactly what a yes does (the files a commit takes, the branch a merge goes into),
    /// a line each, shown under the question.
    pub details: Vec<String>,
    /// What would be lost, a line each, shown above the buttons.
    pub losses: Vec<String>,
    pub choices: Vec<Choice>,
    pub focus: usize,
    /// Whether `y` picks the last choice: only where nothing is destroyed.
    pub letters: bool,
    /// The host the choices' requests go to, where they name no session of their own
    /// (a reforge names a chronicle); `None` sends them the usual way.
    pub host: Option<usize>,
}

pub struct Choice {
    pub label: String,
    /// The request it makes, with what its reply is for; `None` only closes the dialog.
    pub request: Option<(Command, crate::tui::update::Tag)>,
}

impl Confirm {
    /// "No" and "Yes": the yes-answer makes `command`, and says `done` once it is done.
    pub fn yes_no(question: String, yes: &str, command: Command, done: String) -> Confirm {
        Confirm::asking(
            question,
            yes,
            command,
            crate::tui::update::Tag::Action { what: done },
        )
    }

    /// "Cancel" and `yes`, which makes `command`, its reply handled as `tag` says.
    pub fn asking(
        question: String,
        yes: &str,
        command: Command,
        tag: crate::tui::update::Tag,
    ) -> Confirm {
        Confirm {
            question,
            details: Vec::new(),
            losses: Vec::new(),
            choices: vec![
                Choice {
                    label: "Cancel".into(),
                    request: None,
                },
                Choice {
                    label: yes.into(),
                    request: Some((command, tag)),
                },
            ],
            focus: 0,
            letters: true,
            host: None,
        }
    }

    /// What a yes does, a line each.
    pub fn detailed(mut self, details: Vec<String>) -> Confirm {
        self.details = details;
        self
    }

    /// A question about something that cannot be undone: `losses` say what goes.
    pub fn destructive(mut self, losses: Vec<String>) -> Confirm {
        self.losses = losses;
        self.letters = false;
        self
    }

    pub fn move_focus(&mut self, forward: bool) {
        let n = self.choices.len().max(1);
        self.focus = if forward {
            (self.focus + 1).min(n - 1)
        } else {
            self.focus.saturating_sub(1)
        };
    }
}
