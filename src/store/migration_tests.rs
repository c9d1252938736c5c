use super::*;

/// A database at `version`, with foreign keys on as the store opens it.
fn at(version: usize) -> Connection {
    let conn = Connection::open_in_memory().expect("db");
    for sql in &MIGRATIONS[..version] {
        conn.execute_batch(sql).expect("old schema");
    }
    conn.pragma_update(None, "user_version", version as i64)
        .expect("version");
    conn.pragma_update(None, "foreign_keys", true)
        .expect("pragma");
    conn
}

#[test]
fn the_unused_instances_table_goes_and_every_session_keeps_its_messages() {
    let mut conn = at(4);
    conn.execute_batch(
        "INSERT INTO workspaces (id, path, source_repo, strategy, base_commit, created_at)
            VALUES (1, '/w', '/r', 'existing', 'abc', 0);
         INSERT INTO sessions (id, title, status, agent, workspace_id, created_at,
            last_activity_at, message_count, mark)
            VALUES ('s1', 'kept', 'idle', 'shell', 1, 5, 6, 1, 'unread');
         INSERT INTO messages (id, session_id, seq, role, created_at)
            VALUES ('m1', 's1', 0, 'user', 5);
         INSERT INTO queued_prompts (session_id, text) VALUES ('s1', 'later');",
    )
    .expect("rows");
    migrate(&mut conn, Path::new(":memory:")).expect("migrate");
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).expect(sql) };
    assert_eq!(
        count("SELECT count(*) FROM messages WHERE session_id = 's1'"),
        1
    );
    assert_eq!(count("SELECT count(*) FROM queued_prompts"), 1);
    let row: (String, String, i64) = conn
        .query_row(
            "SELECT title, mark, last_activity_at FROM sessions",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("the session");
    assert_eq!(row, ("kept".into(), "unread".into(), 6));
    let tables = "SELECT count(*) FROM sqlite_schema WHERE name IN ('instances', 'sessions_new')";
    assert_eq!(count(tables), 0);
    let fk: bool = conn
        .pragma_query_value(None, "foreign_keys", |r| r.get(0))
        .expect("pragma");
    assert!(fk, "foreign keys are on again");
    // Deleting a session still takes its messages with it.
    conn.execute("DELETE FROM sessions", []).expect("delete");
    assert_eq!(count("SELECT count(*) FROM messages"), 0);
}

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
    let big = "ü".repeat(CHUNK); // twice CHUNK bytes: three chunks once split
    conn.execute(
        "INSERT INTO part_chunks (part_id, seq, text) VALUES ('c', 1, 'x'), ('c', 2, ?1)",
        [&big],
    )
    .expect("big chunk");
    migrate(&mut conn, Path::new(":memory:")).expect("migrate");
    let mut stmt = conn
        .prepare(
            "SELECT part_id, start FROM part_chunks WHERE part_id <> 'c' ORDER BY part_id, seq",
        )
        .expect("query");
    let starts: Vec<(String, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("rows")
        .collect::<rusqlite::Result<_>>()
        .expect("rows");
    let want = [("a", 0), ("a", 6), ("a", 12), ("b", 0)];
    let want: Vec<(String, i64)> = want.iter().map(|(p, s)| (p.to_string(), *s)).collect();
    assert_eq!(starts, want);
    let mut stmt = conn
        .prepare(
            "SELECT seq, start, octet_length(text) FROM part_chunks WHERE part_id = 'c' ORDER BY seq",
        )
        .expect("query");
    let c: Vec<(i64, i64, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("rows")
        .collect::<rusqlite::Result<_>>()
        .expect("rows");
    let chunk = CHUNK as i64;
    assert_eq!(c, [(1, 0, 1), (2, 1, chunk), (3, 1 + chunk, chunk)]);
    let text: String = conn
        .query_row(
            "SELECT group_concat(text, '') FROM (SELECT text FROM part_chunks WHERE part_id = 'c' ORDER BY seq)",
            [],
            |r| r.get(0),
        )
        .expect("text");
    assert_eq!(text, format!("x{big}"));
}

/// Sessions from before the lifecycle get no limits, no parent and no turns counted, and
/// the chronicles and callbacks tables are there, empty.
#[test]
fn sessions_before_the_lifecycle_have_no_limits_and_no_parent() {
    let mut conn = at(5);
    conn.execute_batch(
        "INSERT INTO workspaces (id, path, source_repo, strategy, base_commit, created_at)
            VALUES (1, '/w', '/r', 'existing', 'abc', 0);
         INSERT INTO sessions (id, title, status, agent, workspace_id, created_at,
            last_activity_at, message_count)
            VALUES ('s1', 'old', 'stopped', 'shell', 1, 5, 6, 1);",
    )
    .expect("rows");
    migrate(&mut conn, Path::new(":memory:")).expect("migrate");
    let row: (Option<String>, Option<i64>, Option<i64>, i64, i64) = conn
        .query_row(
            "SELECT parent_id, max_turns, ttl_secs, turns, turn_ms FROM sessions",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .expect("the session");
    assert_eq!(row, (None, None, None, 0, 0));
    for table in ["chronicles", "callbacks"] {
        let n: i64 = conn
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .expect(table);
        assert_eq!(n, 0, "{table}");
    }
}
