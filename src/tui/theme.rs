//! Colours by meaning. Views ask for a meaning; only this file knows colours, and with
//! `NO_COLOR` set every meaning is drawn with attributes alone.

use crate::core::Status;
use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meaning {
    Text,
    Dim,
    Title,
    Focus,
    Selected,
    Key,
    Error,
    Warning,
    Success,
    Added,
    Removed,
    HunkHeader,
    User,
    Assistant,
    Tool,
    Reasoning,
    /// What a command wrote to standard error.
    Stderr,
    Attention,
    Unread,
    Status(Status),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    pub fn from_env() -> Theme {
        // https://no-color.org: any non-empty value disables colour.
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Theme { color: !no_color }
    }

    pub fn style(&self, meaning: Meaning) -> Style {
        let plain = Style::default();
        let bold = plain.add_modifier(Modifier::BOLD);
        let dim = plain.add_modifier(Modifier::DIM);
        if !self.color {
            return match meaning {
                Meaning::Title | Meaning::Key | Meaning::Attention | Meaning::Error => bold,
                Meaning::Selected | Meaning::Focus => plain.add_modifier(Modifier::REVERSED),
                Meaning::Dim | Meaning::Reasoning => dim,
                Meaning::Stderr => plain.add_modifier(Modifier::ITALIC),
                Meaning::Status(Status::WaitingInput | Status::Error) => bold,
                Meaning::Status(Status::Stopped | Status::Completed | Status::Archived) => dim,
                _ => plain,
            };
        }
        let fg = |c: Color| plain.fg(c);
        match meaning {
            Meaning::Text => plain,
            Meaning::Dim => fg(Color::DarkGray),
            Meaning::Title => bold.fg(Color::Cyan),
            Meaning::Focus => fg(Color::Cyan),
            Meaning::Selected => plain.bg(Color::DarkGray).add_modifier(Modifier::BOLD),
            Meaning::Key => bold.fg(Color::Yellow),
            Meaning::Error => bold.fg(Color::Red),
            Meaning::Warning => fg(Color::Yellow),
            Meaning::Success => fg(Color::Green),
            Meaning::Added => fg(Color::Green),
            Meaning::Removed => fg(Color::Red),
            Meaning::HunkHeader => fg(Color::Cyan),
            Meaning::User => bold.fg(Color::Blue),
            Meaning::Assistant => bold.fg(Color::Magenta),
            Meaning::Tool => fg(Color::Cyan),
            Meaning::Reasoning => dim.add_modifier(Modifier::ITALIC),
            Meaning::Stderr => fg(Color::LightRed),
            Meaning::Attention => bold.fg(Color::Black).bg(Color::Yellow),
            Meaning::Unread => bold.fg(Color::Blue),
            Meaning::Status(status) => match status {
                Status::Starting => fg(Color::Blue),
                Status::Active => fg(Color::Green),
                Status::WaitingInput => bold.fg(Color::Yellow),
                Status::Idle => plain,
                Status::Stopped | Status::Archived => fg(Color::DarkGray),
                Status::Completed => fg(Color::Cyan),
                Status::Disconnected => fg(Color::Magenta),
                Status::Error => bold.fg(Color::Red),
            },
        }
    }
}

/// The sidebar glyph of a status: shape carries the meaning without colour too.
pub fn glyph(status: Status) -> &'static str {
    match status {
        Status::Starting => "◌",
        Status::Active => "●",
        Status::WaitingInput => "?",
        Status::Idle => "○",
        Status::Stopped => "■",
        Status::Completed => "✓",
        Status::Archived => "▤",
        Status::Disconnected => "⊘",
        Status::Error => "✗",
    }
}
