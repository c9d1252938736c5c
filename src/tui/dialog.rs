//! Dialogs over the dashboard: the new-session form and confirmations.

use super::environment::Environment;
use crate::core::Strategy;
use crate::protocol::{NewSession, TemplateInfo};
use ratatui_textarea::TextArea;
use std::collections::BTreeMap;

pub enum Dialog {
    NewSession(Box<NewSessionForm>),
    Confirm(Confirm),
    /// What can be done to a session, each option with why it cannot be, if so.
    Menu(super::menu::Menu),
}

pub use super::confirm::{Choice, Confirm};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Field {
    /// Above the directory, where the form's focus starts: reached with ↑.
    Template,
    Directory,
    Strategy,
    Agent,
    Model,
    Title,
    Branch,
    Prompt,
}

impl Field {
    pub const ALL: [Field; 8] = [
        Field::Template,
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
            Field::Template => "Template",
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
        matches!(self, Field::Strategy | Field::Agent | Field::Template)
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
    /// The configured templates (`None` until the daemon has said).
    pub templates: Option<Vec<TemplateInfo>>,
    /// 0 for none, else the template at `template - 1`.
    pub template: usize,
    /// The user picked the strategy or the agent: it is sent even where a template
    /// would set it.
    pub strategy_chosen: bool,
    pub agent_chosen: bool,
    /// The host the session is made on (an index into `State::fleet`), and its name
    /// when it is not this machine.
    pub host: usize,
    pub host_name: Option<String>,
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
            templates: None,
            template: 0,
            strategy_chosen: false,
            agent_chosen: false,
            host: super::fleet::LOCAL_HOST,
            host_name: None,
        }
    }

    pub fn chosen_template(&self) -> Option<&TemplateInfo> {
        let i = self.template.checked_sub(1)?;
        self.templates.as_ref()?.get(i)
    }

    /// The template's choices go into the fields the user has not chosen: the form shows
    /// what will be made, and those fields are left to the template when it is sent.
    fn apply_template(&mut self) {
        let (strategy, agent) = match self.chosen_template() {
            Some(t) => (t.strategy, t.agent.clone()),
            None => (None, None),
        };
        if !self.strategy_chosen {
            let at = strategy.and_then(|s| STRATEGIES.iter().position(|x| *x == s));
            self.strategy = at.unwrap_or(0);
        }
        if !self.agent_chosen {
            self.agent = match agent {
                Some(a) => match self.agents.iter().position(|x| *x == a) {
                    Some(i) => i,
                    // Not configured here: shown, and the daemon says what is wrong.
                    None => {
                        self.agents.push(a);
                        self.agents.len() - 1
                    }
                },
                None => 0,
            };
        }
    }

    /// What the chosen template sets, in one line, for under its field.
    pub fn template_summary(&self) -> Option<String> {
        let t = self.chosen_template()?;
        let words = crate::core::limits::words;
        let mut sets: Vec<String> = Vec::new();
        let mut set = |what: &str, v: &Option<String>| {
            if let Some(v) = v {
                sets.push(format!("{what} {v}"));
            }
        };
        set("agent", &t.agent);
        set("model", &t.model);
        set("strategy", &t.strategy.map(|s| s.to_string()));
        set("branch", &t.branch);
        let l = &t.limits;
        set("max turns", &l.max_turns.map(|n| n.to_string()));
        set("max duration", &l.max_duration_secs.map(words));
        set("max cost", &l.max_cost_usd.map(|c| format!("${c:.2}")));
        set("ttl", &l.ttl_secs.map(words));
        set("idle timeout", &l.idle_timeout_secs.map(words));
        set("setup", &t.setup.as_ref().map(|c| format!("`{c}`")));
        if !t.env.is_empty() {
            sets.push(format!("env {}", t.env.join(", ")));
        }
        if t.prompt.is_some() {
            sets.push("a first prompt".into());
        }
        Some(match sets.is_empty() {
            true => "sets nothing beyond the defaults".into(),
            false => format!("sets {}", sets.join(" · ")),
        })
    }

    /// What an empty text field becomes when the template fills it.
    pub fn template_value(&self, field: Field) -> Option<String> {
        let t = self.chosen_template()?;
        let v = match field {
            Field::Model => t.model.clone(),
            Field::Branch => t.branch.clone(),
            Field::Prompt => t.prompt.clone(),
            _ => None,
        }?;
        let first = v.lines().next().unwrap_or("").to_string();
        Some(format!("(template: {first})"))
    }

    pub fn value(&self, field: Field) -> String {
        match field {
            Field::Template => match self.chosen_template() {
                Some(t) => t.name.clone(),
                None => "(none)".into(),
            },
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
        if let Some(v) = self.template_value(Field::Branch) {
            v
        } else if STRATEGIES[self.strategy] == Strategy::Existing {
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
            Field::Strategy => {
                self.strategy = step(self.strategy, STRATEGIES.len());
                self.strategy_chosen = true;
            }
            Field::Agent => {
                self.agent = step(self.agent, self.agents.len().max(1));
                self.agent_chosen = true;
            }
            Field::Template => {
                let n = self.templates.as_ref().map_or(0, Vec::len);
                if n > 0 {
                    self.template = step(self.template, n + 1);
                    self.apply_template();
                }
            }
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
        // What the template sets and the user left alone is the template's to fill in.
        let t = self.chosen_template();
        let strategy = match t.and_then(|t| t.strategy) {
            Some(_) if !self.strategy_chosen => None,
            _ => Some(STRATEGIES[self.strategy]),
        };
        let agent = match t.and_then(|t| t.agent.as_ref()) {
            Some(_) if !self.agent_chosen => None,
            _ => Some(self.value(Field::Agent)),
        };
        Some(NewSession {
            dir: env.expand_home(dir.trim()),
            strategy,
            title: opt(Field::Title),
            branch: opt(Field::Branch),
            agent,
            model: opt(Field::Model),
            prompt: opt(Field::Prompt),
            template: t.map(|t| t.name.clone()),
            ..NewSession::default()
        })
    }

    /// Puts the daemon's refusal on the field it is about.
    pub fn show_error(&mut self, message: &str) {
        let lower = message.to_lowercase();
        let field = if lower.contains("template") {
            Field::Template
        } else if lower.contains("branch") {
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

/// Completes `typed` against the directories on this machine (see
/// [`crate::completion::complete_dir`]). Reads the file system, so the loop runs it, not
/// `update`.
pub fn complete_path(typed: &str, env: &Environment) -> (String, Vec<String>) {
    crate::completion::complete_dir(typed, env.home.as_deref())
}
