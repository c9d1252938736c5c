//! The streamed text of a part, kept as chunks of at most [`CHUNK`] bytes, each with the
//! byte offset where it starts. Appending never rewrites what is there, and a page of a
//! huge part is read from the chunks it covers alone.

use super::{Result, Store};
use crate::core::chars::floor_char;
use rusqlite::{OptionalExtension, params};

/// The most text one chunk holds.
pub const CHUNK: usize = 256 * 1024;

/// A last chunk under this size takes the next text in, instead of a new chunk.
const SMALL: i64 = 16 * 1024;

impl Store {
    /// Appends streamed text to a part. A small last chunk takes the text first: a slow
    /// stream flushed every 100 ms would otherwise leave one tiny row per flush, costing
    /// more than the text it holds. So the chunks are compacted as they come, and a
    /// part's end has nothing left to do.
    pub fn append_text(&self, part_id: &str, text: &str) -> Result<()> {
        if text.is_empty() {
            return Ok(());
        }
        // All of it or none: a retry after a failure part-way would write text twice.
        self.conn.execute_batch("SAVEPOINT append_text")?;
        let written = self.append_chunks(part_id, text);
        let end = match written {
            Ok(()) => "RELEASE append_text",
            Err(_) => "ROLLBACK TO append_text; RELEASE append_text",
        };
        self.conn.execute_batch(end)?;
        written
    }

    fn append_chunks(&self, part_id: &str, text: &str) -> Result<()> {
        let (mut seq, last_len, mut start) = self.text_end(part_id)?;
        let mut rest = text;
        if seq > 0 && last_len < SMALL {
            let cut = floor_char(rest, CHUNK - last_len as usize);
            let (piece, tail) = rest.split_at(cut);
            self.conn.execute(
                "UPDATE part_chunks SET text = text || ?3 WHERE part_id = ?1 AND seq = ?2",
                params![part_id, seq, piece],
            )?;
            start += piece.len() as i64;
            rest = tail;
        }
        while !rest.is_empty() {
            let mut cut = floor_char(rest, CHUNK);
            if cut == 0 {
                cut = rest.len();
            }
            let (piece, tail) = rest.split_at(cut);
            seq += 1;
            self.conn.execute(
                "INSERT INTO part_chunks (part_id, seq, start, text) VALUES (?1, ?2, ?3, ?4)",
                params![part_id, seq, start, piece],
            )?;
            start += piece.len() as i64;
            rest = tail;
        }
        Ok(())
    }

    /// The last chunk's seq and size, and where the part's text ends; zeros if it has
    /// none.
    fn text_end(&self, part_id: &str) -> Result<(i64, i64, i64)> {
        Ok(self
            .conn
            .query_row(
                "SELECT seq, octet_length(text), start + octet_length(text) FROM part_chunks
                 WHERE part_id = ?1 ORDER BY seq DESC LIMIT 1",
                [part_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?
            .unwrap_or((0, 0, 0)))
    }

    /// How many bytes of streamed text the part has stored.
    pub fn part_text_len(&self, part_id: &str) -> Result<usize> {
        Ok(self.text_end(part_id)?.2 as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Message, Part, PartKind, Role, SessionId};

    fn store_with_part() -> Store {
        let store = Store::open_in_memory().expect("store");
        let sid = SessionId::new();
        store
            .conn
            .pragma_update(None, "foreign_keys", false)
            .expect("pragma");
        let message = Message {
            id: "m1".into(),
            role: Role::Assistant,
            created_at: chrono::Utc::now(),
            parts: Vec::new(),
        };
        store.insert_message(sid, &message).expect("message");
        let part = Part {
            id: "p1".into(),
            message_id: "m1".into(),
            kind: PartKind::Text {
                text: String::new(),
            },
        };
        store.upsert_part(&part).expect("part");
        store
    }

    fn chunks(store: &Store) -> Vec<(i64, i64)> {
        let mut stmt = store
            .conn
            .prepare("SELECT start, octet_length(text) FROM part_chunks WHERE part_id = 'p1' ORDER BY seq")
            .expect("prepare");
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .collect::<rusqlite::Result<_>>()
            .expect("rows")
    }

    #[test]
    fn big_text_is_split_and_each_chunk_knows_its_start() {
        let store = store_with_part();
        let text = "é".repeat(CHUNK); // 2 bytes a char: the cuts fall between chars
        store.append_text("p1", &text).expect("append");
        store.append_text("p1", "tail").expect("append");
        let got = chunks(&store);
        assert!(got.iter().all(|&(_, len)| len as usize <= CHUNK), "{got:?}");
        let mut at = 0;
        for &(start, len) in &got {
            assert_eq!(start, at);
            at += len;
        }
        assert_eq!(at as usize, text.len() + 4);
        assert_eq!(store.part_text_len("p1").expect("len"), text.len() + 4);
        assert_eq!(
            store.part_text("p1").expect("text").expect("some"),
            format!("{text}tail")
        );
    }

    #[test]
    fn a_slow_stream_fills_chunks_instead_of_adding_tiny_ones() {
        let store = store_with_part();
        let mut whole = String::new();
        for i in 0..500 {
            let piece = format!("token {i} ");
            store.append_text("p1", &piece).expect("append");
            whole.push_str(&piece);
        }
        let big = "x".repeat(CHUNK);
        store.append_text("p1", &big).expect("append");
        store.append_text("p1", "end").expect("append");
        whole.push_str(&big);
        whole.push_str("end");
        let got = chunks(&store);
        // The tokens and the start of the big text share a chunk; the rest of it fills
        // one more, and "end" joins the last, which is small.
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(store.part_text("p1").expect("text").expect("some"), whole);
        assert_eq!(store.part_text_len("p1").expect("len"), whole.len());
    }
}
