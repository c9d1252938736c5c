//! Dialogs over the dashboard: the new-session form and confirmations.

use super::environment::Environment;
use crate::core::Strategy;
use crate::protocol::{Command, NewSession};
use ratatui_textarea::TextArea;
use std::collections::BTreeMap;

pub enum Dialog {
    NewSession(Box<NewSessionForm>),
    Confirm(Confirm),
}

/// A question with buttons. The first choice changes nothing, and the focus starts there
/// on any question whose answer destroys data; such a question is answered only by
/// moving to its button and pressing enter, never by a letter typed in passing.
pub struct Confirm {
    pub question: String,
    /// What would be lost, a line each, shown above the buttons.
    pub losses: Vec<String>,
    pub choices: Vec<Choice>,
    pub focus: usize,
    /// Whether `y` picks the last choice: only where nothing is destroyed.
    pub letters: bool,
}

pub struct Choice {
    pub label: String,
    /// The request it makes, with what its reply is for; `None` only closes the dialog.
    pub request: Option<(Command, crate::tui::update::Tag)>,
}

impl Confirm {
    /// "No" and "Yes": the yes-answer makes `command`, and says `done` once it is done.
    pub fn yes_no(question: String, yes: &str, command: Command, done: String) -> Confirm {
        Confirm {
            question,
            losses: Vec::new(),
            choices: vec![
                Choice {
                    label: "Cancel".into(),
                    request: None,
                },
                Choice {
                    label: yes.into(),
                    request: Some((command, crate::tui::update::Tag::Action { what: done })),
                },
            ],
            focus: 0,
            letters: true,
        }
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Field {
    Directory,
    Strategy,
    Agent,
    Model,
    Title,
    Branch,
    Prompt,
}

impl Field {
    pub const ALL: [Field; 7] = [
        Field::Directory,
        Field::Strategy,
        Field::Agent,
        Field::Model,
        Field::Title,
        Field::Branch,
        Field::Prompt,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Field::Directory => "Directory",
            Field::Strategy => "Strategy",
            Field::Agent => "Agent",
            Field::Model => "Model",
            Field::Title => "Title",
            Field::Branch => "Branch",
            Field::Prompt => "First prompt",
        }
    }

    pub fn is_choice(self) -> bool {
        matches!(self, Field::Strategy | Field::Agent)
    }
}

pub const STRATEGIES: [Strategy; 3] = [Strategy::Worktree, Strategy::Existing, Strategy::Clone];

pub struct NewSessionForm {
    pub focus: Field,
    pub inputs: BTreeMap<Field, TextArea<'static>>,
    pub strategy: usize,
    pub agents: Vec<String>,
    pub agent: usize,
    /// Agents whose program is not installed, with how to install it.
    pub missing: BTreeMap<String, String>,
    pub errors: BTreeMap<Field, String>,
    /// Completions offered for the directory, after Tab found several.
    pub completions: Vec<String>,
    /// The form was sent and its answer is awaited.
    pub submitting: bool,
}

impl NewSessionForm {
    pub fn new(dir: &str, agents: Vec<String>) -> NewSessionForm {
        let mut inputs = BTreeMap::new();
        for field in Field::ALL.into_iter().filter(|f| !f.is_choice()) {
            let mut input = TextArea::default();
            input.set_cursor_line_style(ratatui::style::Style::default());
            if field == Field::Directory {
                input.insert_str(dir);
            }
            inputs.insert(field, input);
        }
        let agents = if agents.is_empty() {
            vec![crate::config::DEFAULT_AGENT.to_string()]
        } else {
            agents
        };
        NewSessionForm {
            focus: Field::Directory,
            inputs,
            strategy: 0,
            agents,
            agent: 0,
            missing: BTreeMap::new(),
            errors: BTreeMap::new(),
            completions: Vec::new(),
            submitting: false,
        }
    }

    pub fn value(&self, field: Field) -> String {
        match field {
            Field::Strategy => STRATEGIES[self.strategy].to_string(),
            Field::Agent => self.agents.get(self.agent).cloned().unwrap_or_default(),
            _ => self
                .inputs
                .get(&field)
                .map(|i| i.lines().join("\n"))
                .unwrap_or_default(),
        }
    }

    pub fn set_value(&mut self, field: Field, value: &str) {
        if let Some(input) = self.inputs.get_mut(&field) {
            let mut fresh = TextArea::from([value.to_string()]);
            fresh.set_cursor_line_style(ratatui::style::Style::default());
            fresh.move_cursor(ratatui_textarea::CursorMove::End);
            *input = fresh;
        }
    }

    /// The branch the daemon will derive when the field is left empty.
    pub fn branch_placeholder(&self) -> String {
        let title = self.value(Field::Title);
        if STRATEGIES[self.strategy] == Strategy::Existing {
            "(the directory's current branch)".into()
        } else if title.trim().is_empty() {
            "(from the title)".into()
        } else {
            crate::core::branch_from_title(&title)
        }
    }

    pub fn move_focus(&mut self, forward: bool) {
        let i = Field::ALL
            .iter()
            .position(|f| *f == self.focus)
            .unwrap_or(0);
        let n = Field::ALL.len();
        self.focus = Field::ALL[if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        }];
        self.completions.clear();
    }

    pub fn cycle(&mut self, forward: bool) {
        let step = |i: usize, n: usize| {
            if forward {
                (i + 1) % n
            } else {
                (i + n - 1) % n
            }
        };
        match self.focus {
            Field::Strategy => self.strategy = step(self.strategy, STRATEGIES.len()),
            Field::Agent => self.agent = step(self.agent, self.agents.len().max(1)),
            _ => {}
        }
    }

    /// Checks what can be checked here; the daemon checks the rest and its answer is
    /// shown on the field it concerns.
    pub fn validate(&mut self, env: &Environment) -> Option<NewSession> {
        self.errors.clear();
        let dir = self.value(Field::Directory);
        if dir.trim().is_empty() {
            self.errors
                .insert(Field::Directory, "choose a directory".into());
        }
        let branch = self.value(Field::Branch);
        if branch.contains(char::is_whitespace) {
            self.errors
                .insert(Field::Branch, "a branch name cannot contain spaces".into());
        }
        if !self.errors.is_empty() {
            return None;
        }
        let opt = |field| Some(self.value(field)).filter(|v: &String| !v.trim().is_empty());
        Some(NewSession {
            dir: env.expand_home(dir.trim()),
            strategy: Some(STRATEGIES[self.strategy]),
            title: opt(Field::Title),
            branch: opt(Field::Branch),
            agent: Some(self.value(Field::Agent)),
            model: opt(Field::Model),
            prompt: opt(Field::Prompt),
            ..NewSession::default()
        })
    }

    /// Puts the daemon's refusal on the field it is about.
    pub fn show_error(&mut self, message: &str) {
        let lower = message.to_lowercase();
        let field = if lower.contains("branch") {
            Field::Branch
        } else if lower.contains("agent") {
            Field::Agent
        } else if lower.contains("prompt") {
            Field::Prompt
        } else {
            Field::Directory
        };
        self.errors.insert(field, message.to_string());
        self.focus = field;
        self.submitting = false;
    }
}

/// Completes `typed` against the entries of its directory: the longest common prefix of
/// the directories that match, and the list of them. Reads the file system, so the loop
/// runs it, not `update`.
pub fn complete_path(typed: &str, env: &Environment) -> (String, Vec<String>) {
    let expanded = env.expand_home(typed).to_string_lossy().into_owned();
    let (dir, prefix) = match expanded.rfind('/') {
        Some(i) => (&expanded[..=i], &expanded[i + 1..]),
        None => ("./", expanded.as_str()),
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return (typed.to_string(), Vec::new());
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix) && (prefix.starts_with('.') || !n.starts_with('.')))
        .collect();
    names.sort();
    let Some(first) = names.first() else {
        return (typed.to_string(), Vec::new());
    };
    let common = names.iter().fold(first.clone(), |acc, n| {
        acc.chars()
            .zip(n.chars())
            .take_while(|(a, b)| a == b)
            .map(|(a, _)| a)
            .collect()
    });
    let shown_dir = if typed.starts_with('~') || expanded.contains('/') {
        &typed[..typed.rfind('/').map_or(0, |i| i + 1)]
    } else {
        ""
    };
    let mut completed = format!("{shown_dir}{common}");
    if names.len() == 1 {
        completed.push('/');
        return (completed, Vec::new());
    }
    (completed, names)
}
