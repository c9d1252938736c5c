//! The streamed text of a part, kept as chunks of at most [`CHUNK`] bytes, each with the
//! byte offset where it starts. Appending never rewrites what is there, and a page of a
//! huge part is read from the chunks it covers alone.

use super::messages::floor_char;
use super::{Result, Store};
use rusqlite::{OptionalExtension, params};

/// The most text one chunk holds.
pub const CHUNK: usize = 256 * 1024;

/// A chunk under this size is merged with its neighbours when its part ends.
const SMALL: i64 = 16 * 1024;

impl Store {
    /// Appends streamed text to a part.
    pub fn append_text(&self, part_id: &str, text: &str) -> Result<()> {
        if text.is_empty() {
            return Ok(());
        }
        let (mut seq, mut start) = self.text_end(part_id)?;
        let mut rest = text;
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

    /// The last chunk's seq and where the part's text ends, (0, 0) if it has none.
    fn text_end(&self, part_id: &str) -> Result<(i64, i64)> {
        Ok(self
            .conn
            .query_row(
                "SELECT seq, start + octet_length(text) FROM part_chunks
                 WHERE part_id = ?1 ORDER BY seq DESC LIMIT 1",
                [part_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .unwrap_or((0, 0)))
    }

    /// How many bytes of streamed text the part has stored.
    pub fn part_text_len(&self, part_id: &str) -> Result<usize> {
        Ok(self.text_end(part_id)?.1 as usize)
    }

    /// Merges runs of small chunks, once the part's text is complete: a slow stream
    /// leaves one tiny row per flush, which would cost more than the text it holds.
    /// Reads only the small chunks, so a huge part written in big chunks costs nothing.
    pub fn compact_part(&self, part_id: &str) -> Result<()> {
        let mut stmt = self.conn.prepare(
            "SELECT seq, start, octet_length(text) FROM part_chunks WHERE part_id = ?1 ORDER BY seq",
        )?;
        let sizes: Vec<(i64, i64, i64)> = stmt
            .query_map([part_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut run: Vec<(i64, i64)> = Vec::new();
        let mut run_len = 0;
        for (seq, start, len) in sizes {
            if len >= SMALL || run_len + len > CHUNK as i64 {
                self.merge(part_id, &run)?;
                run.clear();
                run_len = 0;
            }
            if len < SMALL {
                run.push((seq, start));
                run_len += len;
            }
        }
        self.merge(part_id, &run)
    }

    /// Replaces the chunks `run` (seq, start; consecutive) by one.
    fn merge(&self, part_id: &str, run: &[(i64, i64)]) -> Result<()> {
        let (Some(&(first, start)), Some(&(last, _))) = (run.first(), run.last()) else {
            return Ok(());
        };
        if first == last {
            return Ok(());
        }
        let text: String = self.conn.query_row(
            "SELECT group_concat(text, '') FROM (SELECT text FROM part_chunks
             WHERE part_id = ?1 AND seq BETWEEN ?2 AND ?3 ORDER BY seq)",
            params![part_id, first, last],
            |r| r.get(0),
        )?;
        self.conn.execute(
            "DELETE FROM part_chunks WHERE part_id = ?1 AND seq BETWEEN ?2 AND ?3",
            params![part_id, first, last],
        )?;
        self.conn.execute(
            "INSERT INTO part_chunks (part_id, seq, start, text) VALUES (?1, ?2, ?3, ?4)",
            params![part_id, first, start, text],
        )?;
        Ok(())
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
    fn small_chunks_are_merged_when_the_part_ends() {
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
        store.compact_part("p1").expect("compact");
        let got = chunks(&store);
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(store.part_text("p1").expect("text").expect("some"), whole);
        assert_eq!(store.part_text_len("p1").expect("len"), whole.len());
    }
}
