//! Reading a transcript a page at a time (see [`crate::core::page`]). Messages and parts
//! are walked in order through their indexes, and a part's text is read from the chunks
//! the page covers, so a page costs about its own size however big the transcript.

use super::{Result, Store, StoreError, from_millis};
use crate::core::chars::{ceil_char, floor_char};
use crate::core::page::MAX_PAGE_BYTES;
use crate::core::{Message, Page, PageQuery, Part, PartKind, Pos, Role, SessionId};
use rusqlite::{OptionalExtension, params};

/// A place by seqs, as the store orders the transcript: `part` 0 is before the message's
/// parts (and, read backward, before the message itself).
#[derive(Clone, Copy)]
struct Place {
    message: i64,
    part: i64,
    offset: u64,
}

const LAST: i64 = i64::MAX;

/// What is left of a page's size, and what it holds so far.
struct Fill {
    left: usize,
    messages: Vec<Message>,
    /// The edge of the page reached so far: its end when reading forward, else its start.
    edge: Pos,
    /// Something is in the page, so a too-big item now ends it rather than joining it.
    any: bool,
    /// Parts in the page: a part without streamed text too big for what is left starts
    /// the next page, unless the page has none yet.
    parts: usize,
}

impl Fill {
    fn full(&self) -> bool {
        self.any && self.left == 0
    }

    fn spend(&mut self, bytes: usize) {
        self.left = self.left.saturating_sub(bytes);
        self.any = true;
    }
}

fn sql_i64(n: u64) -> i64 {
    n.min(LAST as u64) as i64
}

fn role(text: &str) -> Role {
    if text == "user" {
        Role::User
    } else {
        Role::Assistant
    }
}

impl Store {
    /// A page of the session's transcript.
    pub fn page(&self, session: SessionId, query: &PageQuery) -> Result<Page> {
        let size = query.max_bytes.clamp(1024, MAX_PAGE_BYTES) as usize;
        let at = self.place(&query.at)?;
        let mut fill = Fill {
            left: size,
            messages: Vec::new(),
            edge: query.at.clone(),
            any: false,
            parts: 0,
        };
        let more = if query.backward {
            self.fill_backward(session, at, &mut fill)?
        } else {
            self.fill_forward(session, at, &mut fill)?
        };
        let (start, end) = if query.backward {
            fill.messages.reverse();
            (fill.edge, query.at.clone())
        } else {
            (query.at.clone(), fill.edge)
        };
        Ok(Page {
            messages: fill.messages,
            start,
            end,
            more,
        })
    }

    fn place(&self, pos: &Pos) -> Result<Place> {
        let gone = |what: &str| {
            StoreError::Gone(format!(
                "{what} is no longer in the transcript: load it again"
            ))
        };
        Ok(match pos {
            Pos::Start => Place {
                message: 0,
                part: 0,
                offset: 0,
            },
            Pos::End => Place {
                message: LAST,
                part: LAST,
                offset: Pos::AFTER,
            },
            Pos::At {
                message,
                part,
                offset,
            } => {
                let seq = |sql: &str, id: &str| -> Result<Option<i64>> {
                    Ok(self.conn.query_row(sql, [id], |r| r.get(0)).optional()?)
                };
                let message_seq = seq("SELECT seq FROM messages WHERE id = ?1", message)?
                    .ok_or_else(|| gone("that message"))?;
                let part_seq = match part {
                    Some(part) => seq("SELECT seq FROM parts WHERE id = ?1", part)?
                        .ok_or_else(|| gone("that part"))?,
                    None => 0,
                };
                Place {
                    message: message_seq,
                    part: part_seq,
                    offset: *offset,
                }
            }
        })
    }

    /// Returns whether anything is left after the page.
    fn fill_forward(&self, session: SessionId, at: Place, fill: &mut Fill) -> Result<bool> {
        let mut messages = self.conn.prepare(
            "SELECT seq, id, role, created_at FROM messages
             WHERE session_id = ?1 AND seq >= ?2 ORDER BY seq",
        )?;
        let mut parts = self.conn.prepare(
            "SELECT seq, id, data FROM parts WHERE message_id = ?1 AND seq >= ?2 ORDER BY seq",
        )?;
        let mut rows = messages.query(params![session.to_string(), at.message])?;
        while let Some(row) = rows.next()? {
            let mseq: i64 = row.get(0)?;
            if fill.full() {
                return Ok(true);
            }
            let mut message = message_from(row)?;
            let first_part = if mseq == at.message { at.part } else { 0 };
            if mseq != at.message {
                fill.edge = Pos::before_message(&message.id);
            }
            fill.spend(0);
            let mut prows = parts.query(params![message.id, first_part])?;
            let mut stopped = false;
            while let Some(prow) = prows.next()? {
                let pseq: i64 = prow.get(0)?;
                if fill.full() {
                    stopped = true;
                    break;
                }
                let mut part = part_from(prow, &message.id)?;
                let from = if (mseq, pseq) == (at.message, at.part) {
                    at.offset
                } else {
                    0
                };
                let (bytes, end, whole) = match part.kind.streamed_text_mut() {
                    Some(slot) => {
                        let (text, whole) = self.text_after(&part.id, from, fill.left)?;
                        let len = text.len();
                        *slot = text;
                        (len, from + len as u64, whole)
                    }
                    // A part without streamed text is whole or not at all.
                    None if from > 0 => continue,
                    // Too big for what is left: it starts the next page.
                    None if fill.parts > 0 && data_len(prow)? > fill.left => {
                        stopped = true;
                        break;
                    }
                    None => (data_len(prow)?, Pos::AFTER, true),
                };
                fill.spend(bytes);
                fill.edge = Pos::in_part(&message.id, &part.id, end);
                // The edge part again with nothing left of it does not count.
                if bytes > 0 || part.kind.streamed_text().is_none() {
                    fill.parts += 1;
                }
                message.parts.push(part);
                if !whole {
                    stopped = true;
                    break;
                }
            }
            fill.messages.push(message);
            if stopped {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Returns whether anything is left before the page.
    fn fill_backward(&self, session: SessionId, at: Place, fill: &mut Fill) -> Result<bool> {
        // Before a message (part 0) is after all of the one before it.
        let at = if at.part == 0 {
            Place {
                message: at.message - 1,
                part: LAST,
                offset: Pos::AFTER,
            }
        } else {
            at
        };
        let mut messages = self.conn.prepare(
            "SELECT seq, id, role, created_at FROM messages
             WHERE session_id = ?1 AND seq <= ?2 ORDER BY seq DESC",
        )?;
        let mut parts = self.conn.prepare(
            "SELECT seq, id, data FROM parts WHERE message_id = ?1 AND seq <= ?2 ORDER BY seq DESC",
        )?;
        let mut rows = messages.query(params![session.to_string(), at.message])?;
        while let Some(row) = rows.next()? {
            let mseq: i64 = row.get(0)?;
            if fill.full() {
                return Ok(true);
            }
            let mut message = message_from(row)?;
            let last_part = if mseq == at.message { at.part } else { LAST };
            fill.spend(0);
            let mut prows = parts.query(params![message.id, last_part])?;
            let mut stopped = false;
            while let Some(prow) = prows.next()? {
                let pseq: i64 = prow.get(0)?;
                if fill.full() {
                    stopped = true;
                    break;
                }
                let mut part = part_from(prow, &message.id)?;
                let to = if (mseq, pseq) == (at.message, at.part) {
                    at.offset
                } else {
                    Pos::AFTER
                };
                let (bytes, start) = match part.kind.streamed_text_mut() {
                    Some(slot) => {
                        let (text, start) = self.text_before(&part.id, to, fill.left)?;
                        let len = text.len();
                        *slot = text;
                        (len, start)
                    }
                    None if to == 0 => continue,
                    None if fill.parts > 0 && data_len(prow)? > fill.left => {
                        stopped = true;
                        break;
                    }
                    None => (data_len(prow)?, 0),
                };
                fill.spend(bytes);
                fill.edge = Pos::in_part(&message.id, &part.id, start);
                if bytes > 0 || part.kind.streamed_text().is_none() {
                    fill.parts += 1;
                }
                message.parts.push(part);
                if start > 0 {
                    stopped = true;
                    break;
                }
            }
            message.parts.reverse();
            let before = Pos::before_message(&message.id);
            fill.messages.push(message);
            if stopped {
                return Ok(true);
            }
            fill.edge = before;
        }
        Ok(false)
    }

    /// The part's text from byte `from`, at most `max` bytes of it (at least one char);
    /// and whether that reaches its end.
    fn text_after(&self, part_id: &str, from: u64, max: usize) -> Result<(String, bool)> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT start, text FROM part_chunks WHERE part_id = ?1
             AND start >= (SELECT coalesce(max(start), 0) FROM part_chunks
                           WHERE part_id = ?1 AND start <= ?2)
             ORDER BY start",
        )?;
        let mut rows = stmt.query(params![part_id, sql_i64(from)])?;
        let mut out = String::new();
        while let Some(row) = rows.next()? {
            let start: i64 = row.get(0)?;
            let text = text_of(row, 1)?;
            let skip = (from as usize)
                .saturating_sub(start as usize)
                .min(text.len());
            let text = &text[ceil_char(text, skip)..];
            let room = max.saturating_sub(out.len());
            if text.len() > room {
                let mut cut = floor_char(text, room);
                if cut == 0 && out.is_empty() {
                    cut = ceil_char(text, 1);
                }
                out.push_str(&text[..cut]);
                return Ok((out, false));
            }
            out.push_str(text);
        }
        Ok((out, true))
    }

    /// The part's text before byte `to` (all of it for [`Pos::AFTER`]), at most `max`
    /// bytes of it (at least one char); and where that begins.
    fn text_before(&self, part_id: &str, to: u64, max: usize) -> Result<(String, u64)> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT start, text FROM part_chunks WHERE part_id = ?1 AND start < ?2
             ORDER BY start DESC",
        )?;
        let mut rows = stmt.query(params![part_id, sql_i64(to)])?;
        let mut pieces: Vec<String> = Vec::new();
        let (mut len, mut begins) = (0usize, None);
        while let Some(row) = rows.next()? {
            let start: i64 = row.get(0)?;
            let text = text_of(row, 1)?;
            let end = (to.saturating_sub(start as u64) as usize).min(text.len());
            let text = &text[..floor_char(text, end)];
            let room = max.saturating_sub(len);
            if text.len() > room {
                let mut cut = ceil_char(text, text.len() - room);
                if cut == text.len() && len == 0 {
                    cut = floor_char(text, text.len() - 1);
                }
                pieces.push(text[cut..].to_string());
                begins = Some(start as u64 + cut as u64);
                break;
            }
            len += text.len();
            pieces.push(text.to_string());
            begins = Some(start as u64);
        }
        pieces.reverse();
        Ok((pieces.concat(), begins.filter(|&b| b > 0).unwrap_or(0)))
    }
}

fn message_from(row: &rusqlite::Row) -> Result<Message> {
    let role_text: String = row.get(2)?;
    Ok(Message {
        id: row.get(1)?,
        role: role(&role_text),
        created_at: from_millis(row.get(3)?),
        parts: Vec::new(),
    })
}

fn part_from(row: &rusqlite::Row, message_id: &str) -> Result<Part> {
    let id: String = row.get(1)?;
    let data = text_of(row, 2)?;
    let kind: PartKind =
        serde_json::from_str(data).map_err(|e| StoreError::Corrupt(format!("part {id}: {e}")))?;
    Ok(Part {
        id,
        message_id: message_id.to_string(),
        kind,
    })
}

fn text_of<'r>(row: &'r rusqlite::Row, i: usize) -> Result<&'r str> {
    row.get_ref(i)?
        .as_str()
        .map_err(|e| StoreError::Corrupt(format!("stored text: {e}")))
}

fn data_len(row: &rusqlite::Row) -> Result<usize> {
    Ok(text_of(row, 2)?.len())
}

#[cfg(test)]
#[path = "pages_tests.rs"]
mod tests;
