//! Reviewing and landing a session's work: comments on diff lines that go back to the
//! agent as one prompt, a checkpoint of the workspace after every finished turn, and the
//! warnings that two sessions' changes would collide.

use super::{ChronicleFile, SessionId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How many lines of code either side of a commented line a comment keeps to quote.
pub const CONTEXT_LINES: usize = 2;
/// The longest comment kept; a longer one is refused rather than cut.
pub const MAX_COMMENT: usize = 4 * 1024;

/// A review comment on one line of a session's diff.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comment {
    pub id: u64,
    pub session: SessionId,
    /// Relative to the repository's top level, `/`-separated.
    pub path: String,
    /// The line's number in the file as the session has it now (1-based).
    pub line: u32,
    pub text: String,
    /// The code around the line when the comment was made, the line itself included.
    pub context: Vec<CodeLine>,
    pub created_at: DateTime<Utc>,
    /// When it went to the agent; None while it waits to be sent.
    pub sent_at: Option<DateTime<Utc>>,
}

/// A line of code a comment quotes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeLine {
    /// Its number in the new file; None for a line the session removed.
    pub line: Option<u32>,
    pub text: String,
}

/// The workspace's exact tree after a finished turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub session: SessionId,
    /// The turn it was taken after (1 for the first).
    pub turn: u32,
    /// The commit holding the tree, under [`Checkpoint::refname`] in the source repository.
    pub commit: String,
    pub created_at: DateTime<Utc>,
    /// The files the turn changed: against the previous checkpoint, or for the first,
    /// against the workspace's HEAD when it was taken.
    pub files: Vec<ChronicleFile>,
    /// The newest message of the transcript when it was taken: the mark goes after it.
    pub after_message: Option<String>,
}

impl Checkpoint {
    pub fn refname(session: SessionId, turn: u32) -> String {
        format!("refs/flotilla/checkpoints/{}/{turn}", session.0.simple())
    }

    /// Where every checkpoint of a session lives, to remove them with it.
    pub fn prefix(session: SessionId) -> String {
        format!("refs/flotilla/checkpoints/{}/", session.0.simple())
    }

    pub fn short(&self) -> &str {
        &self.commit[..self.commit.len().min(8)]
    }
}

/// Another line of work a session's changes would not merge with cleanly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    /// The other session; None for the source repository's branch the work goes into.
    pub with: Option<SessionId>,
    /// The other session's title, or the base branch's name.
    pub with_name: String,
    /// The files both changed in ways that conflict.
    pub files: Vec<String>,
}

/// A pair of sessions (or a session and its base branch) that would conflict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictPair {
    pub session: SessionId,
    pub title: String,
    pub conflict: Conflict,
}

/// The one prompt that sends review comments to the agent: each file and line, the code
/// around it, and the comment. Comments on the same file come together, in line order.
pub fn comments_prompt(comments: &[Comment]) -> String {
    let mut sorted: Vec<&Comment> = comments.iter().collect();
    sorted.sort_by(|a, b| (&a.path, a.line, a.id).cmp(&(&b.path, b.line, b.id)));
    let mut out = String::from(if sorted.len() == 1 {
        "A review comment on your changes. Please address it.\n"
    } else {
        "Review comments on your changes. Please address each of them.\n"
    });
    for c in sorted {
        out.push_str(&format!("\n{}:{}\n", c.path, c.line));
        let width = c
            .context
            .iter()
            .filter_map(|l| l.line)
            .max()
            .unwrap_or(c.line)
            .to_string()
            .len();
        for code in &c.context {
            let marker = if code.line == Some(c.line) { '>' } else { ' ' };
            let number = code.line.map(|n| n.to_string()).unwrap_or_default();
            out.push_str(&format!("{marker} {number:>width$} | {}\n", code.text));
        }
        out.push_str(&format!("Comment: {}\n", c.text.trim()));
    }
    out
}

/// A commit message from the session's title and the files it commits:
/// the title, then a blank line, then the files.
pub fn commit_message(title: &str, files: &[String]) -> String {
    const LISTED: usize = 20;
    let subject = title.lines().next().unwrap_or("").trim();
    let subject = if subject.is_empty() {
        "Work from a flotilla session"
    } else {
        subject
    };
    let mut out = format!("{subject}\n");
    if !files.is_empty() {
        out.push('\n');
        for file in files.iter().take(LISTED) {
            out.push_str(&format!("- {file}\n"));
        }
        if files.len() > LISTED {
            out.push_str(&format!("- and {} more\n", files.len() - LISTED));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comment(path: &str, line: u32, text: &str) -> Comment {
        Comment {
            id: line as u64,
            session: SessionId::new(),
            path: path.into(),
            line,
            text: text.into(),
            context: vec![
                CodeLine {
                    line: Some(line - 1),
                    text: "before".into(),
                },
                CodeLine {
                    line: None,
                    text: "removed".into(),
                },
                CodeLine {
                    line: Some(line),
                    text: "the line".into(),
                },
            ],
            created_at: Utc::now(),
            sent_at: None,
        }
    }

    #[test]
    fn the_prompt_quotes_file_line_code_and_comment_in_order() {
        let prompt = comments_prompt(&[
            comment("src/b.rs", 10, "second"),
            comment("src/a.rs", 12, "  first  "),
        ]);
        let a = prompt.find("src/a.rs:12").unwrap();
        let b = prompt.find("src/b.rs:10").unwrap();
        assert!(a < b, "{prompt}");
        assert!(prompt.contains("\n> 12 | the line\n"), "{prompt}");
        assert!(prompt.contains("\n  11 | before\n"), "{prompt}");
        assert!(prompt.contains("\n     | removed\n"), "{prompt}");
        assert!(prompt.contains("Comment: first\n"), "{prompt}");
        assert!(prompt.starts_with("Review comments"), "{prompt}");
    }

    #[test]
    fn a_commit_message_names_the_files_and_cuts_a_long_list() {
        let files: Vec<String> = (0..25).map(|i| format!("f{i}.txt")).collect();
        let msg = commit_message("Fix the parser\nmore", &files);
        assert!(msg.starts_with("Fix the parser\n\n- f0.txt\n"), "{msg}");
        assert!(msg.ends_with("- and 5 more\n"), "{msg}");
        assert_eq!(commit_message("  ", &[]), "Work from a flotilla session\n");
    }

    #[test]
    fn checkpoint_refs_are_private_and_per_session() {
        let id = SessionId::new();
        let r = Checkpoint::refname(id, 3);
        assert!(r.starts_with(&Checkpoint::prefix(id)), "{r}");
        assert!(r.starts_with("refs/flotilla/checkpoints/") && r.ends_with("/3"));
    }
}
