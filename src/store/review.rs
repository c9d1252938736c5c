//! Review comments and checkpoints.

use super::{Result, Store, StoreError, from_millis, millis};
use crate::core::{Checkpoint, CodeLine, Comment, SessionId};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};

fn json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn comment_from_row(row: &Row) -> rusqlite::Result<std::result::Result<Comment, String>> {
    let session: String = row.get(1)?;
    let context: String = row.get(5)?;
    let line: i64 = row.get(3)?;
    let sent: Option<i64> = row.get(7)?;
    let build = || -> std::result::Result<Comment, String> {
        let field = |e: rusqlite::Error| e.to_string();
        let context: Vec<CodeLine> =
            serde_json::from_str(&context).map_err(|e| format!("comment context: {e}"))?;
        Ok(Comment {
            id: row.get::<_, i64>(0).map_err(field)? as u64,
            session: session
                .parse()
                .map_err(|e| format!("session id {session}: {e}"))?,
            path: row.get(2).map_err(field)?,
            line: u32::try_from(line).map_err(|_| format!("comment line {line}"))?,
            text: row.get(4).map_err(field)?,
            context,
            created_at: from_millis(row.get(6).map_err(field)?),
            sent_at: sent.map(from_millis),
        })
    };
    Ok(build())
}

fn checkpoint_from_row(row: &Row) -> rusqlite::Result<std::result::Result<Checkpoint, String>> {
    let session: String = row.get(0)?;
    let files: String = row.get(4)?;
    let turn: i64 = row.get(1)?;
    let build = || -> std::result::Result<Checkpoint, String> {
        let field = |e: rusqlite::Error| e.to_string();
        Ok(Checkpoint {
            session: session
                .parse()
                .map_err(|e| format!("session id {session}: {e}"))?,
            turn: u32::try_from(turn).map_err(|_| format!("checkpoint turn {turn}"))?,
            commit: row.get(2).map_err(field)?,
            created_at: from_millis(row.get(3).map_err(field)?),
            files: serde_json::from_str(&files).map_err(|e| format!("checkpoint files: {e}"))?,
            after_message: row.get(5).map_err(field)?,
        })
    };
    Ok(build())
}

const SELECT_COMMENT: &str =
    "SELECT id, session_id, path, line, text, context, created_at, sent_at FROM comments";
const SELECT_CHECKPOINT: &str =
    "SELECT session_id, turn, commit_sha, created_at, files, after_message FROM checkpoints";

impl Store {
    /// Stores a new comment and gives it back with its id.
    pub fn insert_comment(&self, mut c: Comment) -> Result<Comment> {
        self.conn.execute(
            "INSERT INTO comments (session_id, path, line, text, context, created_at, sent_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL)",
            params![
                c.session.to_string(),
                c.path,
                c.line,
                c.text,
                json(&c.context)?,
                millis(c.created_at),
            ],
        )?;
        c.id = self.conn.last_insert_rowid() as u64;
        c.sent_at = None;
        Ok(c)
    }

    /// A session's comments, oldest first.
    pub fn comments(&self, session: SessionId) -> Result<Vec<Comment>> {
        let sql = format!("{SELECT_COMMENT} WHERE session_id = ?1 ORDER BY id");
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([session.to_string()], comment_from_row)?;
        rows.map(|r| r?.map_err(StoreError::Corrupt)).collect()
    }

    /// Marks comments sent, all at once.
    pub fn mark_comments_sent(&mut self, ids: &[u64], at: DateTime<Utc>) -> Result<()> {
        let tx = self.conn.transaction()?;
        for id in ids {
            tx.execute(
                "UPDATE comments SET sent_at = ?2 WHERE id = ?1",
                params![*id as i64, millis(at)],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Records a checkpoint; one taken again for the same turn replaces it.
    pub fn insert_checkpoint(&self, c: &Checkpoint) -> Result<()> {
        self.conn.execute(
            "INSERT OR REPLACE INTO checkpoints
                (session_id, turn, commit_sha, created_at, files, after_message)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                c.session.to_string(),
                c.turn,
                c.commit,
                millis(c.created_at),
                json(&c.files)?,
                c.after_message,
            ],
        )?;
        Ok(())
    }

    /// A session's checkpoints by turn, first turn first.
    pub fn checkpoints(&self, session: SessionId) -> Result<Vec<Checkpoint>> {
        let sql = format!("{SELECT_CHECKPOINT} WHERE session_id = ?1 ORDER BY turn");
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([session.to_string()], checkpoint_from_row)?;
        rows.map(|r| r?.map_err(StoreError::Corrupt)).collect()
    }

    pub fn checkpoint_of(&self, session: SessionId, turn: u32) -> Result<Option<Checkpoint>> {
        let sql = format!("{SELECT_CHECKPOINT} WHERE session_id = ?1 AND turn = ?2");
        let found = self
            .conn
            .query_row(
                &sql,
                params![session.to_string(), turn],
                checkpoint_from_row,
            )
            .optional()?;
        found.transpose().map_err(StoreError::Corrupt)
    }

    /// The newest message of a session, where a checkpoint taken now is marked.
    pub fn last_message_id(&self, session: SessionId) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id FROM messages WHERE session_id = ?1 ORDER BY seq DESC LIMIT 1",
                [session.to_string()],
                |r| r.get(0),
            )
            .optional()?)
    }
}
