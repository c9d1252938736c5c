//! Review comments: a comment is made on a line of the session's diff, kept, and sent to
//! the agent with the others not sent yet as one prompt that quotes the code around each.

use super::{Outcome, Responder, State};
use crate::core::review::{CONTEXT_LINES, MAX_COMMENT, comments_prompt};
use crate::core::{CodeLine, Comment, FileDiff, LineKind, SessionId};
use crate::diff::{self, DiffOptions};
use crate::protocol::{Event, Reply};

impl State {
    /// Checks the comment against the file's diff as it is now, then keeps it with the
    /// code around its line.
    pub(super) fn add_comment(
        &mut self,
        id: SessionId,
        path: String,
        line: u32,
        text: String,
        reply: Responder,
    ) {
        let checked = check_comment(&text).and_then(|()| {
            let (_, ws, removed) = self.store.workspace_of(id).map_err(|e| e.to_string())?;
            match removed || !ws.is_git() {
                true => Err(format!(
                    "session {} has no diff to comment on: its workspace is gone or not in git",
                    id.short()
                )),
                false => Ok(ws),
            }
        });
        let ws = match checked {
            Ok(ws) => ws,
            Err(e) => {
                let _ = reply.send(Err(e));
                return;
            }
        };
        let path = path.trim().trim_start_matches("./").to_string();
        self.blocking(
            move || {
                let file = diff::diff_file(&ws.path, &ws.base_commit, &path, &DiffOptions::default())
                    .map_err(|e| e.to_string())?;
                let context = file.as_ref().and_then(|f| context_of(f, line));
                context.map(|c| (path.clone(), c)).ok_or_else(|| {
                    format!(
                        "{path}:{line} is not a line of the session's diff: comment on a line `flotilla diff {}` shows",
                        id.short()
                    )
                })
            },
            move |state, found| {
                let answer = found.and_then(|(path, context)| {
                    let comment = Comment {
                        id: 0,
                        session: id,
                        path,
                        line,
                        text: text.trim().to_string(),
                        context,
                        created_at: State::now(),
                        sent_at: None,
                    };
                    state
                        .store
                        .insert_comment(comment)
                        .map_err(|e| e.to_string())?;
                    state.comment_reply(id, 0, true)
                });
                let _ = reply.send(answer);
            },
        );
    }

    /// The session's comments; with `send`, the unsent ones go to the agent first.
    pub(super) fn comments(&mut self, id: SessionId, send: bool) -> Result<Outcome, String> {
        if !send {
            return self.comment_reply(id, 0, false);
        }
        let all = self.store.comments(id).map_err(|e| e.to_string())?;
        let unsent: Vec<Comment> = all.into_iter().filter(|c| c.sent_at.is_none()).collect();
        if unsent.is_empty() {
            return Err(format!(
                "session {} has no comments waiting to be sent: add one with `flotilla comment {} FILE:LINE TEXT`",
                id.short(),
                id.short()
            ));
        }
        self.send(id, comments_prompt(&unsent))?;
        let ids: Vec<u64> = unsent.iter().map(|c| c.id).collect();
        self.store
            .mark_comments_sent(&ids, State::now())
            .map_err(|e| e.to_string())?;
        self.comment_reply(id, ids.len() as u32, true)
    }

    /// Replies with the session's comments; when they `changed`, every client is told.
    fn comment_reply(
        &mut self,
        id: SessionId,
        sent: u32,
        changed: bool,
    ) -> Result<Outcome, String> {
        let comments = self.store.comments(id).map_err(|e| e.to_string())?;
        if changed {
            self.broadcast(Event::Comments {
                session: id,
                comments: comments.clone(),
            });
        }
        Ok(Reply::Comments { comments, sent }.into())
    }
}

fn check_comment(text: &str) -> Result<(), String> {
    if text.trim().is_empty() {
        return Err("the comment is empty: type what the agent should change".into());
    }
    if text.len() > MAX_COMMENT {
        return Err(format!(
            "the comment is {} bytes, over the {MAX_COMMENT} a comment may have: shorten it",
            text.len()
        ));
    }
    if text.contains('\0') {
        return Err("the comment contains a NUL byte: remove it".into());
    }
    Ok(())
}

/// The lines of the file's diff around its new line `line`, that line included; None if
/// no hunk shows that line.
pub fn context_of(file: &FileDiff, line: u32) -> Option<Vec<CodeLine>> {
    let line = line as usize;
    for hunk in &file.hunks {
        let mut numbered = Vec::with_capacity(hunk.lines.len());
        let mut new = hunk.new_start;
        for l in &hunk.lines {
            let number = match l.kind {
                LineKind::Removed => None,
                LineKind::Context | LineKind::Added => {
                    new += 1;
                    Some(new - 1)
                }
            };
            numbered.push((number, l));
        }
        let Some(at) = numbered.iter().position(|(n, _)| *n == Some(line)) else {
            continue;
        };
        let from = at.saturating_sub(CONTEXT_LINES);
        let to = (at + CONTEXT_LINES + 1).min(numbered.len());
        return Some(
            numbered[from..to]
                .iter()
                .map(|(n, l)| CodeLine {
                    line: n.map(|n| n as u32),
                    text: crate::core::screen_line(&l.text),
                })
                .collect(),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{DiffLine, FileStatus, Hunk};

    fn line(kind: LineKind, text: &str) -> DiffLine {
        DiffLine {
            kind,
            text: text.into(),
        }
    }

    #[test]
    fn context_is_taken_from_the_hunk_by_new_line_number() {
        let file = FileDiff {
            path: "a.rs".into(),
            status: FileStatus::Modified,
            additions: 1,
            deletions: 1,
            binary: false,
            too_large: false,
            size: 0,
            omitted_lines: 0,
            hunks: vec![Hunk {
                old_start: 10,
                old_lines: 4,
                new_start: 10,
                new_lines: 4,
                lines: vec![
                    line(LineKind::Context, "ten"),
                    line(LineKind::Removed, "old eleven"),
                    line(LineKind::Added, "new eleven"),
                    line(LineKind::Context, "twelve"),
                    line(LineKind::Context, "thirteen"),
                    line(LineKind::Context, "fourteen"),
                ],
            }],
        };
        let got = context_of(&file, 11).unwrap();
        let texts: Vec<_> = got.iter().map(|c| (c.line, c.text.as_str())).collect();
        assert_eq!(
            texts,
            [
                (Some(10), "ten"),
                (None, "old eleven"),
                (Some(11), "new eleven"),
                (Some(12), "twelve"),
                (Some(13), "thirteen"),
            ]
        );
        assert!(context_of(&file, 9).is_none());
        assert!(context_of(&file, 14).is_some());
        assert!(context_of(&file, 15).is_none());
    }
}
