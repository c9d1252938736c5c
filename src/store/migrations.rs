//! Schema migrations, in code. `user_version` counts the ones applied.

use super::chunks::CHUNK;
use super::{Result, StoreError};
use crate::core::chars::floor_char;
use rusqlite::Connection;
use std::path::Path;

const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    r#"
    CREATE TABLE workspaces (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL,
        source_repo TEXT NOT NULL,
        strategy TEXT NOT NULL,
        branch TEXT,
        base_commit TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        removed_at INTEGER
    );
    CREATE INDEX workspaces_path ON workspaces(path);
    CREATE TABLE instances (
        id INTEGER PRIMARY KEY,
        agent TEXT NOT NULL,
        directory TEXT NOT NULL,
        pid INTEGER,
        url TEXT,
        secret TEXT,
        started_at INTEGER NOT NULL
    );
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        status TEXT NOT NULL,
        status_reason TEXT,
        agent TEXT NOT NULL,
        model TEXT,
        workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
        instance_id INTEGER REFERENCES instances(id) ON DELETE SET NULL,
        agent_session_id TEXT,
        created_at INTEGER NOT NULL,
        last_activity_at INTEGER NOT NULL,
        message_count INTEGER NOT NULL DEFAULT 0,
        tokens_in INTEGER,
        tokens_out INTEGER,
        cost_usd REAL
    );
    CREATE INDEX sessions_created ON sessions(created_at);
    CREATE TABLE messages (
        id TEXT PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        role TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE INDEX messages_session ON messages(session_id, seq);
    CREATE TABLE parts (
        id TEXT PRIMARY KEY,
        message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        data TEXT NOT NULL
    );
    CREATE INDEX parts_message ON parts(message_id, seq);
    -- Streamed text is appended in chunks so a long stream is never rewritten whole.
    CREATE TABLE part_chunks (
        part_id TEXT NOT NULL REFERENCES parts(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        text TEXT NOT NULL,
        PRIMARY KEY (part_id, seq)
    );
    CREATE TABLE queued_prompts (
        id INTEGER PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        text TEXT NOT NULL
    );
    CREATE VIRTUAL TABLE search USING fts5(session_id UNINDEXED, text);
    "#,
    // 2: workspaces being made or removed, for crash recovery.
    r#"
    ALTER TABLE workspaces ADD COLUMN state TEXT NOT NULL DEFAULT 'ready';
    "#,
    // 3: where each chunk starts in its part's text, so a page of a huge part is read
    // without reading what comes before it.
    r#"
    ALTER TABLE part_chunks ADD COLUMN start INTEGER NOT NULL DEFAULT 0;
    UPDATE part_chunks SET start = w.start
    FROM (SELECT part_id, seq,
                 coalesce(sum(octet_length(text)) OVER (PARTITION BY part_id ORDER BY seq
                     ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS start
          FROM part_chunks) AS w
    WHERE part_chunks.part_id = w.part_id AND part_chunks.seq = w.seq AND w.start <> 0;
    CREATE INDEX part_chunks_start ON part_chunks(part_id, start);
    "#,
    // 4: what no one has looked at yet (unread output, a finished or failed turn), shared
    // by every client and kept across restarts.
    r#"
    ALTER TABLE sessions ADD COLUMN mark TEXT;
    "#,
    // 5: the `instances` table was never used (agent servers keep records of their own):
    // it goes, and so does the column that pointed at it. SQLite cannot drop a column
    // with a foreign key, so the table is made again; foreign keys are off meanwhile
    // (see `migrate`), so the messages that belong to the sessions stay.
    r#"
    CREATE TABLE sessions_new (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        status TEXT NOT NULL,
        status_reason TEXT,
        agent TEXT NOT NULL,
        model TEXT,
        workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
        agent_session_id TEXT,
        created_at INTEGER NOT NULL,
        last_activity_at INTEGER NOT NULL,
        message_count INTEGER NOT NULL DEFAULT 0,
        tokens_in INTEGER,
        tokens_out INTEGER,
        cost_usd REAL,
        mark TEXT
    );
    INSERT INTO sessions_new (id, title, status, status_reason, agent, model, workspace_id,
        agent_session_id, created_at, last_activity_at, message_count, tokens_in,
        tokens_out, cost_usd, mark)
    SELECT id, title, status, status_reason, agent, model, workspace_id,
        agent_session_id, created_at, last_activity_at, message_count, tokens_in,
        tokens_out, cost_usd, mark FROM sessions;
    DROP TABLE sessions;
    ALTER TABLE sessions_new RENAME TO sessions;
    CREATE INDEX sessions_created ON sessions(created_at);
    DROP TABLE instances;
    "#,
    // 6: the lifecycle: parents and callbacks, limits and what was used of them,
    // templates, and the chronicles kept when a session ends.
    r#"
    ALTER TABLE sessions ADD COLUMN parent_id TEXT;
    ALTER TABLE sessions ADD COLUMN notify TEXT;
    ALTER TABLE sessions ADD COLUMN ttl_secs INTEGER;
    ALTER TABLE sessions ADD COLUMN idle_timeout_secs INTEGER;
    ALTER TABLE sessions ADD COLUMN max_turns INTEGER;
    ALTER TABLE sessions ADD COLUMN max_duration_secs INTEGER;
    ALTER TABLE sessions ADD COLUMN max_cost_usd REAL;
    ALTER TABLE sessions ADD COLUMN turns INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN turn_ms INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN template TEXT;
    ALTER TABLE sessions ADD COLUMN reforged_from TEXT;
    CREATE INDEX sessions_parent ON sessions(parent_id);
    CREATE TABLE chronicles (
        id TEXT PRIMARY KEY,
        session_id TEXT NOT NULL,
        title TEXT NOT NULL,
        agent TEXT NOT NULL,
        model TEXT,
        reason TEXT NOT NULL,
        source_repo TEXT NOT NULL,
        strategy TEXT NOT NULL,
        branch TEXT,
        base_commit TEXT NOT NULL,
        tree_commit TEXT,
        refname TEXT,
        parent_chronicle_id TEXT,
        created_at INTEGER NOT NULL,
        message_count INTEGER NOT NULL,
        files TEXT NOT NULL,
        transcript TEXT NOT NULL,
        diff TEXT NOT NULL
    );
    CREATE INDEX chronicles_session ON chronicles(session_id, created_at);
    CREATE TABLE callbacks (
        id INTEGER PRIMARY KEY,
        child_id TEXT NOT NULL,
        parent_id TEXT NOT NULL,
        status TEXT NOT NULL,
        state TEXT NOT NULL,
        reason TEXT,
        created_at INTEGER NOT NULL
    );
    CREATE INDEX callbacks_child ON callbacks(child_id);
    CREATE INDEX callbacks_parent ON callbacks(parent_id);
    "#,
    // 7: review comments on diff lines, and a checkpoint of the workspace per turn.
    r#"
    CREATE TABLE comments (
        id INTEGER PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        path TEXT NOT NULL,
        line INTEGER NOT NULL,
        text TEXT NOT NULL,
        context TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        sent_at INTEGER
    );
    CREATE INDEX comments_session ON comments(session_id, id);
    CREATE TABLE checkpoints (
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        turn INTEGER NOT NULL,
        commit_sha TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        files TEXT NOT NULL,
        after_message TEXT,
        PRIMARY KEY (session_id, turn)
    );
    "#,
];

/// The migrations that make a table again, which must not cascade deletes to its rows'
/// children: they run with foreign keys off, and are checked before they commit.
const REBUILDS: &[usize] = &[5];

/// Chunks written before migration 3 may be of any size (a whole part replaced at once):
/// they are cut to at most [`CHUNK`] bytes, so a page of them reads only what it shows.
/// One old chunk is held at a time.
fn split_big_chunks(tx: &rusqlite::Transaction) -> Result<()> {
    // New seqs go above any old one, then come down: (part, seq) stays unique throughout.
    const ABOVE: i64 = 1 << 40;
    let parts: Vec<String> = {
        let mut stmt =
            tx.prepare("SELECT DISTINCT part_id FROM part_chunks WHERE octet_length(text) > ?1")?;
        let rows = stmt.query_map([CHUNK as i64], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for part in parts {
        let seqs: Vec<i64> = {
            let mut stmt =
                tx.prepare("SELECT seq FROM part_chunks WHERE part_id = ?1 ORDER BY seq")?;
            let rows = stmt.query_map([&part], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let (mut next, mut start) = (ABOVE, 0i64);
        for seq in seqs {
            let text: String = tx.query_row(
                "SELECT text FROM part_chunks WHERE part_id = ?1 AND seq = ?2",
                rusqlite::params![part, seq],
                |r| r.get(0),
            )?;
            tx.execute(
                "DELETE FROM part_chunks WHERE part_id = ?1 AND seq = ?2",
                rusqlite::params![part, seq],
            )?;
            let mut rest = text.as_str();
            while !rest.is_empty() {
                let cut = match floor_char(rest, CHUNK) {
                    0 => rest.len(),
                    cut => cut,
                };
                let (piece, tail) = rest.split_at(cut);
                next += 1;
                tx.execute(
                    "INSERT INTO part_chunks (part_id, seq, start, text) VALUES (?1, ?2, ?3, ?4)",
                    rusqlite::params![part, next, start, piece],
                )?;
                start += piece.len() as i64;
                rest = tail;
            }
        }
        tx.execute(
            "UPDATE part_chunks SET seq = seq - ?2 WHERE part_id = ?1",
            rusqlite::params![part, ABOVE],
        )?;
    }
    Ok(())
}

/// How many rows point at a row that is not there.
fn broken_links(conn: &Connection) -> Result<i64> {
    Ok(
        conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })?,
    )
}

pub fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let known = MIGRATIONS.len() as i64;
    let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found > known {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found,
            known,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let version = i + 1;
        let rebuild = REBUILDS.contains(&version);
        if !rebuild {
            apply(conn, version, sql)?;
            continue;
        }
        // Only outside a transaction does this take effect; it comes back on whatever
        // the migration does.
        let before = broken_links(conn)?;
        conn.pragma_update(None, "foreign_keys", false)?;
        let applied = apply_checked(conn, version, sql, before);
        conn.pragma_update(None, "foreign_keys", true)?;
        applied?;
    }
    Ok(())
}

fn apply(conn: &mut Connection, version: usize, sql: &str) -> Result<()> {
    let tx = conn.transaction()?;
    tx.execute_batch(sql)?;
    if version == 3 {
        split_big_chunks(&tx)?;
    }
    tx.pragma_update(None, "user_version", version as i64)?;
    tx.commit()?;
    Ok(())
}

/// [`apply`] for a migration that makes a table again: it commits only if it left no
/// more rows pointing at nothing than there were.
fn apply_checked(conn: &mut Connection, version: usize, sql: &str, before: i64) -> Result<()> {
    let tx = conn.transaction()?;
    tx.execute_batch(sql)?;
    let broken = broken_links(&tx)? - before;
    if broken > 0 {
        return Err(StoreError::Corrupt(format!(
            "migration {version} would leave {broken} rows pointing at nothing"
        )));
    }
    tx.pragma_update(None, "user_version", version as i64)?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
#[path = "migration_tests.rs"]
mod tests;
