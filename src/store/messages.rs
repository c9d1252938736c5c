//! Messages and their parts. The text of streaming parts lives in `part_chunks`, appended
//! as it is flushed; everything else about a part is one JSON document in `parts.data`.

use super::{Result, Store, StoreError, from_millis, millis};
use crate::core::chars::{ceil_char, floor_char};
use crate::core::{Message, Part, PartKind, Role, SessionId};
use rusqlite::{OptionalExtension, params};
use std::collections::HashMap;

fn role_str(role: Role) -> &'static str {
    match role {
        Role::User => "user",
        Role::Assistant => "assistant",
    }
}

/// The part's JSON without its streamed text, and that text.
fn split_part(kind: &PartKind) -> Result<(String, Option<String>)> {
    let mut kind = kind.clone();
    let text = kind.streamed_text_mut().map(std::mem::take);
    let data = serde_json::to_string(&kind).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok((data, text))
}

impl Store {
    /// Records a new message, without its parts; returns false if it was already there
    /// (an agent re-sending its history). The engine keeps the session's count.
    pub fn insert_message(&self, session: SessionId, message: &Message) -> Result<bool> {
        let sid = session.to_string();
        let inserted = self.conn.execute(
            "INSERT OR IGNORE INTO messages (id, session_id, seq, role, created_at)
             VALUES (?1, ?2, (SELECT coalesce(max(seq), 0) + 1 FROM messages WHERE session_id = ?2), ?3, ?4)",
            params![message.id, sid, role_str(message.role), millis(message.created_at)],
        )?;
        Ok(inserted == 1)
    }

    /// Creates the part, or replaces it whole (text included) if it exists. All of it or
    /// nothing: a failure between dropping the old text and writing the new must not
    /// leave the part without text.
    pub fn upsert_part(&self, part: &Part) -> Result<()> {
        self.conn.execute_batch("SAVEPOINT upsert_part")?;
        let written = self.write_part(part);
        let end = match written {
            Ok(()) => "RELEASE upsert_part",
            Err(_) => "ROLLBACK TO upsert_part; RELEASE upsert_part",
        };
        self.conn.execute_batch(end)?;
        written
    }

    fn write_part(&self, part: &Part) -> Result<()> {
        let (data, text) = split_part(&part.kind)?;
        let updated = self.conn.execute(
            "UPDATE parts SET data = ?2 WHERE id = ?1",
            params![part.id, data],
        )?;
        if updated == 0 {
            self.conn.execute(
                "INSERT INTO parts (id, message_id, seq, data)
                 VALUES (?1, ?2, (SELECT coalesce(max(seq), 0) + 1 FROM parts WHERE message_id = ?2), ?3)",
                params![part.id, part.message_id, data],
            )?;
        } else {
            self.conn
                .execute("DELETE FROM part_chunks WHERE part_id = ?1", [&part.id])?;
        }
        if let Some(text) = text {
            self.append_text(&part.id, &text)?;
        }
        Ok(())
    }

    /// A part's text for the search index: all of it when short, else its first and last
    /// `each` bytes or so. Reads only the chunks it keeps, so a part of a gigabyte costs
    /// no more than one of a few hundred kilobytes.
    pub fn part_text_ends(&self, part_id: &str, each: usize) -> Result<Option<String>> {
        let total: Option<i64> = self.conn.query_row(
            "SELECT sum(octet_length(text)) FROM part_chunks WHERE part_id = ?1",
            [part_id],
            |r| r.get(0),
        )?;
        let Some(total) = total else {
            return Ok(None);
        };
        if total as usize <= 2 * each {
            return self.part_text(part_id);
        }
        let gather = |order: &str| -> Result<Vec<String>> {
            let sql =
                format!("SELECT text FROM part_chunks WHERE part_id = ?1 ORDER BY seq {order}");
            let mut stmt = self.conn.prepare(&sql)?;
            let mut rows = stmt.query([part_id])?;
            let (mut kept, mut len) = (Vec::new(), 0usize);
            while len < each
                && let Some(row) = rows.next()?
            {
                let text: String = row.get(0)?;
                len += text.len();
                kept.push(text);
            }
            Ok(kept)
        };
        let head: String = gather("ASC")?.concat();
        let mut tail = gather("DESC")?;
        tail.reverse();
        let tail = tail.concat();
        let head = &head[..floor_char(&head, each)];
        let tail = &tail[ceil_char(&tail, tail.len().saturating_sub(each))..];
        Ok(Some(format!("{head}\n…\n{tail}")))
    }

    /// The whole streamed text of a part, if it has any.
    pub fn part_text(&self, part_id: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT group_concat(text, '') FROM (SELECT text FROM part_chunks WHERE part_id = ?1 ORDER BY seq)",
                [part_id],
                |r| r.get(0),
            )
            .optional()?
            .flatten())
    }

    /// Every message of the session, oldest first, with its parts in order. Reads the
    /// whole transcript: clients read pages (`Store::page`); this is the reference the
    /// tests compare pages with.
    pub fn transcript(&self, session: SessionId) -> Result<Vec<Message>> {
        self.transcript_with(session, None)
    }

    /// The transcript with each streamed part cut to its first and last `each` bytes: what
    /// a chronicle keeps, read without holding a huge part whole.
    pub fn transcript_ends(&self, session: SessionId, each: usize) -> Result<Vec<Message>> {
        self.transcript_with(session, Some(each))
    }

    fn transcript_with(&self, session: SessionId, each: Option<usize>) -> Result<Vec<Message>> {
        let sid = session.to_string();
        let mut stmt = self.conn.prepare(
            "SELECT id, role, created_at FROM messages WHERE session_id = ?1 ORDER BY seq",
        )?;
        let mut messages: Vec<Message> = stmt
            .query_map([&sid], |r| {
                let role: String = r.get(1)?;
                Ok(Message {
                    id: r.get(0)?,
                    role: if role == "user" {
                        Role::User
                    } else {
                        Role::Assistant
                    },
                    created_at: from_millis(r.get(2)?),
                    parts: Vec::new(),
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        let index: HashMap<String, usize> = messages
            .iter()
            .enumerate()
            .map(|(i, m)| (m.id.clone(), i))
            .collect();

        let mut texts: HashMap<String, String> = HashMap::new();
        if let Some(each) = each {
            let mut stmt = self.conn.prepare(
                "SELECT DISTINCT c.part_id FROM part_chunks c
                 JOIN parts p ON p.id = c.part_id JOIN messages m ON m.id = p.message_id
                 WHERE m.session_id = ?1",
            )?;
            let ids: Vec<String> = stmt
                .query_map([&sid], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            for id in ids {
                if let Some(text) = self.part_text_ends(&id, each)? {
                    texts.insert(id, text);
                }
            }
        }
        let mut stmt = self.conn.prepare(
            "SELECT c.part_id, c.text FROM part_chunks c
             JOIN parts p ON p.id = c.part_id JOIN messages m ON m.id = p.message_id
             WHERE m.session_id = ?1 ORDER BY c.part_id, c.seq",
        )?;
        let mut rows = stmt.query([&sid])?;
        while each.is_none()
            && let Some(row) = rows.next()?
        {
            let id: String = row.get(0)?;
            let chunk: String = row.get(1)?;
            texts.entry(id).or_default().push_str(&chunk);
        }

        let mut stmt = self.conn.prepare(
            "SELECT p.id, p.message_id, p.data FROM parts p JOIN messages m ON m.id = p.message_id
             WHERE m.session_id = ?1 ORDER BY m.seq, p.seq",
        )?;
        let mut rows = stmt.query([&sid])?;
        while let Some(row) = rows.next()? {
            let id: String = row.get(0)?;
            let message_id: String = row.get(1)?;
            let data: String = row.get(2)?;
            let mut kind: PartKind = serde_json::from_str(&data)
                .map_err(|e| StoreError::Corrupt(format!("part {id}: {e}")))?;
            if let (Some(slot), Some(text)) = (kind.streamed_text_mut(), texts.remove(&id)) {
                *slot = text;
            }
            if let (
                Some(each),
                PartKind::Tool {
                    output: Some(out), ..
                },
            ) = (each, &mut kind)
                && out.len() > 2 * each
            {
                let (head, tail) = (floor_char(out, each), ceil_char(out, out.len() - each));
                *out = format!("{}\n…\n{}", &out[..head], &out[tail..]);
            }
            if let Some(&i) = index.get(&message_id) {
                messages[i].parts.push(Part {
                    id,
                    message_id,
                    kind,
                });
            }
        }
        Ok(messages)
    }
}
