//! Schema migrations, in code. `user_version` counts the ones applied.

use super::{Result, StoreError};
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
    WHERE part_chunks.part_id = w.part_id AND part_chunks.seq = w.seq;
    CREATE INDEX part_chunks_start ON part_chunks(part_id, start);
    "#,
];

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
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_written_before_migration_3_learn_where_they_start() {
        let mut conn = Connection::open_in_memory().expect("db");
        for sql in &MIGRATIONS[..2] {
            conn.execute_batch(sql).expect("old schema");
        }
        conn.pragma_update(None, "user_version", 2)
            .expect("version");
        conn.pragma_update(None, "foreign_keys", false)
            .expect("pragma");
        conn.execute_batch(
            "INSERT INTO part_chunks (part_id, seq, text) VALUES
                ('a', 1, 'hello '), ('a', 2, 'wörld'), ('a', 3, '!'), ('b', 1, 'x');",
        )
        .expect("chunks");
        migrate(&mut conn, Path::new(":memory:")).expect("migrate");
        let mut stmt = conn
            .prepare("SELECT part_id, start FROM part_chunks ORDER BY part_id, seq")
            .expect("query");
        let starts: Vec<(String, i64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("rows")
            .collect::<rusqlite::Result<_>>()
            .expect("rows");
        let want = [("a", 0), ("a", 6), ("a", 12), ("b", 0)];
        let want: Vec<(String, i64)> = want.iter().map(|(p, s)| (p.to_string(), *s)).collect();
        assert_eq!(starts, want);
    }
}
