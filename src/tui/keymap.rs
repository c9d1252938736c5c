//! Keys as data: the embedded default keymap, the user's overrides, lookup, and the text
//! the help overlay and status line show.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;

const DEFAULT_KEYMAP: &str = include_str!("../../assets/keymap.toml");

/// Where a key is read: the first context that binds it wins, in the order the dashboard
/// asks (a dialog, the history view, the prompt, the permission card, the tab, then
/// global).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Context {
    Global,
    Messages,
    Diffs,
    Permission,
    Prompt,
    Dialog,
    Confirm,
    History,
    /// The Diffs tab with its line cursor on the hunks.
    Hunks,
    /// A menu of options (the land menu, the checkpoints).
    Menu,
}

macro_rules! actions {
    ($($variant:ident = $name:literal),* $(,)?) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Action { $($variant),* }

        impl Action {
            pub fn name(self) -> &'static str {
                match self { $(Action::$variant => $name),* }
            }

            fn from_name(name: &str) -> Option<Action> {
                match name { $($name => Some(Action::$variant),)* _ => None }
            }
        }
    };
}

actions! {
    Quit = "quit", Help = "help", New = "new", Prompt = "prompt", Abort = "abort",
    Resume = "resume", Terminate = "terminate", TerminateCleanup = "terminate_cleanup",
    Delete = "delete", Shell = "shell", Editor = "editor", Down = "down", Up = "up",
    MessagesTab = "messages_tab", DiffsTab = "diffs_tab", InfoTab = "info_tab",
    NextTab = "next_tab", PrevTab = "prev_tab", Filter = "filter",
    NeedsMeFirst = "needs_me_first", PageUp = "page_up", PageDown = "page_down",
    Top = "top", Bottom = "bottom", NextTool = "next_tool", PrevTool = "prev_tool",
    ToggleTool = "toggle_tool", NextFile = "next_file", PrevFile = "prev_file",
    AllowOnce = "allow_once", AllowAlways = "allow_always", Deny = "deny",
    Send = "send", Newline = "newline", HistoryPrev = "history_prev",
    HistoryNext = "history_next", Leave = "leave", NextField = "next_field",
    PrevField = "prev_field", Complete = "complete", OptionPrev = "option_prev",
    OptionNext = "option_next", Submit = "submit", Cancel = "cancel", Yes = "yes", No = "no",
    NextChoice = "next_choice", PrevChoice = "prev_choice", Choose = "choose",
    Zoom = "zoom", LineUp = "line_up", LineDown = "line_down", Messages = "messages",
    Archive = "archive", Restore = "restore", History = "history", Search = "search",
    StatusFilter = "status_filter", DateRange = "date_range", Open = "open",
    Reforge = "reforge", NextPage = "next_page", PrevPage = "prev_page", Close = "close",
    ReviewLines = "review_lines", CursorDown = "cursor_down", CursorUp = "cursor_up",
    Comment = "comment", SendComments = "send_comments", Land = "land",
    Rollback = "rollback", Steer = "steer", NextHost = "next_host",
}

/// One key with its modifiers, as written in the keymap ("ctrl-c", "G", "alt-enter").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl Key {
    pub fn parse(text: &str) -> Result<Key, String> {
        let mut mods = KeyModifiers::NONE;
        let mut rest = text;
        loop {
            let (modifier, after) = match rest.split_once('-') {
                Some((m, after)) if !after.is_empty() => (m, after),
                _ => break,
            };
            mods |= match modifier {
                "ctrl" => KeyModifiers::CONTROL,
                "alt" => KeyModifiers::ALT,
                "shift" => KeyModifiers::SHIFT,
                _ => break,
            };
            rest = after;
        }
        let code = match rest {
            "enter" => KeyCode::Enter,
            "esc" => KeyCode::Esc,
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "backspace" => KeyCode::Backspace,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "pgup" => KeyCode::PageUp,
            "pgdn" => KeyCode::PageDown,
            "delete" => KeyCode::Delete,
            "space" => KeyCode::Char(' '),
            f if f.len() > 1 && f.starts_with('f') && f[1..].parse::<u8>().is_ok() => {
                KeyCode::F(f[1..].parse().unwrap_or(1))
            }
            c if c.chars().count() == 1 => KeyCode::Char(c.chars().next().unwrap_or(' ')),
            _ => return Err(format!("unknown key '{text}'")),
        };
        Ok(Key { code, mods })
    }

    /// Whether a key event from the terminal is this key. Terminals report shifted
    /// characters inconsistently, so SHIFT is ignored for characters.
    pub fn matches(&self, event: &KeyEvent) -> bool {
        let ignore = match event.code {
            KeyCode::Char(_) | KeyCode::BackTab => KeyModifiers::SHIFT,
            _ => KeyModifiers::NONE,
        };
        let strip = |m: KeyModifiers| m - ignore;
        self.code == event.code && strip(self.mods) == strip(event.modifiers)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mods.contains(KeyModifiers::CONTROL) {
            f.write_str("^")?;
        }
        if self.mods.contains(KeyModifiers::ALT) {
            f.write_str("M-")?;
        }
        if self.mods.contains(KeyModifiers::SHIFT) {
            f.write_str("S-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("S-tab"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::PageUp => f.write_str("pgup"),
            KeyCode::PageDown => f.write_str("pgdn"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::F(n) => write!(f, "f{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Binding {
    pub context: Context,
    pub action: Action,
    pub keys: Vec<Key>,
    pub desc: String,
}

#[derive(Debug, Clone)]
pub struct Keymap {
    pub bindings: Vec<Binding>,
}

#[derive(Deserialize)]
struct Entry {
    action: String,
    keys: Vec<String>,
    desc: String,
}

impl Keymap {
    /// The defaults with the user's overrides applied. A bad override is reported in one
    /// line and left out; the default for that action stays.
    pub fn load(overrides: &BTreeMap<String, Vec<String>>) -> (Keymap, Option<String>) {
        let mut keymap = Keymap::defaults();
        let mut problems = Vec::new();
        for (name, keys) in overrides {
            let Some(action) = Action::from_name(name) else {
                problems.push(format!("unknown action '{name}'"));
                continue;
            };
            match keys
                .iter()
                .map(|k| Key::parse(k))
                .collect::<Result<Vec<_>, _>>()
            {
                Ok(keys) => {
                    for b in keymap.bindings.iter_mut().filter(|b| b.action == action) {
                        b.keys = keys.clone();
                    }
                }
                Err(e) => problems.push(format!("{name}: {e}")),
            }
        }
        let problem = (!problems.is_empty()).then(|| {
            format!(
                "config.toml [keys]: {}; using the default keys there",
                problems.join(", ")
            )
        });
        (keymap, problem)
    }

    pub fn defaults() -> Keymap {
        Keymap::parse(DEFAULT_KEYMAP)
            .unwrap_or_else(|e| panic!("the embedded keymap is broken: {e}"))
    }

    pub fn parse(text: &str) -> Result<Keymap, String> {
        let file: BTreeMap<Context, Vec<Entry>> =
            toml::from_str(text).map_err(|e| e.to_string())?;
        let mut bindings = Vec::new();
        for (context, entries) in file {
            for entry in entries {
                let action = Action::from_name(&entry.action)
                    .ok_or_else(|| format!("unknown action '{}'", entry.action))?;
                let keys = entry
                    .keys
                    .iter()
                    .map(|k| Key::parse(k))
                    .collect::<Result<_, _>>()?;
                bindings.push(Binding {
                    context,
                    action,
                    keys,
                    desc: entry.desc,
                });
            }
        }
        Ok(Keymap { bindings })
    }

    /// The action a key means in `context`, if it binds one there.
    pub fn lookup(&self, context: Context, key: &KeyEvent) -> Option<Action> {
        self.bindings
            .iter()
            .find(|b| b.context == context && b.keys.iter().any(|k| k.matches(key)))
            .map(|b| b.action)
    }

    pub fn binding(&self, action: Action) -> Option<&Binding> {
        self.bindings.iter().find(|b| b.action == action)
    }

    /// The first of an action's keys, where there is room for one only.
    pub fn first_key_of(&self, action: Action) -> String {
        self.binding(action)
            .and_then(|b| b.keys.first())
            .map(Key::to_string)
            .unwrap_or_default()
    }

    /// "x" or "q/^c": how the status line and help name an action's keys.
    pub fn keys_of(&self, action: Action) -> String {
        self.binding(action)
            .map(|b| {
                b.keys
                    .iter()
                    .map(Key::to_string)
                    .collect::<Vec<_>>()
                    .join("/")
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyEventKind;

    fn press(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new_with_kind(code, mods, KeyEventKind::Press)
    }

    #[test]
    fn the_embedded_keymap_parses_and_binds_every_context() {
        let keymap = Keymap::defaults();
        for context in [
            Context::Global,
            Context::Messages,
            Context::Diffs,
            Context::Permission,
            Context::Prompt,
            Context::Dialog,
            Context::Confirm,
            Context::History,
            Context::Hunks,
            Context::Menu,
        ] {
            assert!(
                keymap.bindings.iter().any(|b| b.context == context),
                "{context:?}"
            );
        }
        assert_eq!(
            keymap.lookup(
                Context::Global,
                &press(KeyCode::Char('c'), KeyModifiers::CONTROL)
            ),
            Some(Action::Quit)
        );
        assert_eq!(
            keymap.lookup(
                Context::Global,
                &press(KeyCode::Char('G'), KeyModifiers::SHIFT)
            ),
            Some(Action::Bottom)
        );
        assert_eq!(
            keymap.lookup(Context::Prompt, &press(KeyCode::Enter, KeyModifiers::ALT)),
            Some(Action::Newline)
        );
        assert_eq!(
            keymap.lookup(Context::Prompt, &press(KeyCode::Enter, KeyModifiers::NONE)),
            Some(Action::Send)
        );
    }

    #[test]
    fn overrides_replace_only_what_they_name() {
        let overrides = BTreeMap::from([("abort".to_string(), vec!["A".to_string()])]);
        let (keymap, problem) = Keymap::load(&overrides);
        assert_eq!(problem, None);
        assert_eq!(
            keymap.lookup(
                Context::Global,
                &press(KeyCode::Char('A'), KeyModifiers::SHIFT)
            ),
            Some(Action::Abort)
        );
        assert_eq!(
            keymap.lookup(
                Context::Global,
                &press(KeyCode::Char('a'), KeyModifiers::NONE)
            ),
            None
        );
        assert_eq!(
            keymap.lookup(
                Context::Global,
                &press(KeyCode::Char('q'), KeyModifiers::NONE)
            ),
            Some(Action::Quit)
        );
    }

    #[test]
    fn bad_overrides_are_reported_and_defaults_kept() {
        let overrides = BTreeMap::from([
            ("abort".to_string(), vec!["ctrl-nonsense".to_string()]),
            ("fly".to_string(), vec!["f".to_string()]),
        ]);
        let (keymap, problem) = Keymap::load(&overrides);
        let problem = problem.expect("reported");
        assert!(problem.contains("fly") && problem.contains("nonsense") && !problem.contains('\n'));
        assert_eq!(
            keymap.lookup(
                Context::Global,
                &press(KeyCode::Char('a'), KeyModifiers::NONE)
            ),
            Some(Action::Abort)
        );
    }
}
