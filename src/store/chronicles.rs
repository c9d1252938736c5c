//! Chronicles (with the transcript and diff they keep) and callbacks.

use super::{Result, Store, StoreError, from_millis, millis};
use crate::core::{Callback, CallbackState, Chronicle, Part, PartKind, SessionId};
use rusqlite::{OptionalExtension, Row, params};

const SELECT_CHRONICLE: &str = "SELECT id, session_id, title, agent, model, reason, source_repo,
    strategy, branch, base_commit, tree_commit, refname, parent_chronicle_id, created_at,
    message_count, files FROM chronicles";

fn chronicle_from_row(row: &Row) -> rusqlite::Result<std::result::Result<Chronicle, String>> {
    let session: String = row.get(1)?;
    let strategy: String = row.get(7)?;
    let files: String = row.get(15)?;
    let source: String = row.get(6)?;
    let build = || -> std::result::Result<Chronicle, String> {
        let field = |e: rusqlite::Error| e.to_string();
        Ok(Chronicle {
            id: row.get(0).map_err(field)?,
            session_id: session
                .parse()
                .map_err(|e| format!("session id {session}: {e}"))?,
            title: row.get(2).map_err(field)?,
            agent: row.get(3).map_err(field)?,
            model: row.get(4).map_err(field)?,
            reason: row.get(5).map_err(field)?,
            source_repo: source.into(),
            strategy: strategy.parse()?,
            branch: row.get(8).map_err(field)?,
            base_commit: row.get(9).map_err(field)?,
            tree_commit: row.get(10).map_err(field)?,
            refname: row.get(11).map_err(field)?,
            parent_chronicle_id: row.get(12).map_err(field)?,
            created_at: from_millis(row.get(13).map_err(field)?),
            message_count: row.get(14).map_err(field)?,
            files: serde_json::from_str(&files).map_err(|e| format!("chronicle files: {e}"))?,
        })
    };
    Ok(build())
}

impl Store {
    pub fn insert_chronicle(&self, c: &Chronicle, transcript: &str, diff: &str) -> Result<()> {
        let files =
            serde_json::to_string(&c.files).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.conn.execute(
            "INSERT INTO chronicles (id, session_id, title, agent, model, reason, source_repo,
                strategy, branch, base_commit, tree_commit, refname, parent_chronicle_id,
                created_at, message_count, files, transcript, diff)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
            params![
                c.id,
                c.session_id.to_string(),
                c.title,
                c.agent,
                c.model,
                c.reason,
                c.source_repo.to_string_lossy(),
                c.strategy.as_str(),
                c.branch,
                c.base_commit,
                c.tree_commit,
                c.refname,
                c.parent_chronicle_id,
                millis(c.created_at),
                c.message_count,
                files,
                transcript,
                diff,
            ],
        )?;
        Ok(())
    }

    /// Newest first; only those of `session` if given.
    pub fn chronicles(&self, session: Option<SessionId>) -> Result<Vec<Chronicle>> {
        let (sql, arg) = match session {
            Some(id) => (
                format!(
                    "{SELECT_CHRONICLE} WHERE session_id = ?1 ORDER BY created_at DESC, rowid DESC"
                ),
                id.to_string(),
            ),
            None => (
                format!("{SELECT_CHRONICLE} WHERE ?1 = ?1 ORDER BY created_at DESC, rowid DESC"),
                String::new(),
            ),
        };
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([arg], chronicle_from_row)?;
        rows.map(|r| r?.map_err(StoreError::Corrupt)).collect()
    }

    /// The chronicle a (possibly shortened) id names.
    pub fn find_chronicle(&self, prefix: &str) -> Result<Chronicle> {
        let compact = prefix.trim().to_ascii_lowercase();
        if compact.is_empty() || !compact.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(StoreError::Gone(format!(
                "'{prefix}' is not a chronicle id: run `flotilla chronicle ls` to see them"
            )));
        }
        let sql = format!("{SELECT_CHRONICLE} WHERE id LIKE ?1 || '%' LIMIT 2");
        let mut stmt = self.conn.prepare(&sql)?;
        let found: Vec<Chronicle> = stmt
            .query_map([&compact], chronicle_from_row)?
            .map(|r| r?.map_err(StoreError::Corrupt))
            .collect::<Result<_>>()?;
        match found.len() {
            1 => Ok(found.into_iter().next().expect("one")),
            0 => Err(StoreError::Gone(format!(
                "no chronicle matches '{prefix}': run `flotilla chronicle ls` to see them"
            ))),
            _ => Err(StoreError::Gone(format!(
                "'{prefix}' matches several chronicles: type more of the id"
            ))),
        }
    }

    /// The transcript and diff a chronicle kept.
    pub fn chronicle_text(&self, id: &str) -> Result<(String, String)> {
        self.conn
            .query_row(
                "SELECT transcript, diff FROM chronicles WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .ok_or_else(|| StoreError::Gone(format!("chronicle {id} is gone")))
    }

    /// The chronicle and the ones it came from, oldest last; a loop in the links ends it.
    pub fn chronicle_chain(&self, first: &Chronicle) -> Result<Vec<Chronicle>> {
        let mut chain = vec![first.clone()];
        let sql = format!("{SELECT_CHRONICLE} WHERE id = ?1");
        while let Some(parent) = chain.last().and_then(|c| c.parent_chronicle_id.clone()) {
            if chain.iter().any(|c| c.id == parent) || chain.len() > 100 {
                break;
            }
            let row = self
                .conn
                .query_row(&sql, [&parent], chronicle_from_row)
                .optional()?;
            match row {
                Some(c) => chain.push(c.map_err(StoreError::Corrupt)?),
                None => break,
            }
        }
        Ok(chain)
    }

    pub fn insert_callback(&self, c: &Callback) -> Result<()> {
        self.conn.execute(
            "INSERT INTO callbacks (child_id, parent_id, status, state, reason, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                c.child.to_string(),
                c.parent.to_string(),
                c.status.as_str(),
                c.state.as_str(),
                c.reason,
                millis(c.created_at)
            ],
        )?;
        Ok(())
    }

    /// The callbacks a session sent or was sent, oldest first.
    pub fn callbacks(&self, session: SessionId) -> Result<Vec<Callback>> {
        let mut stmt = self.conn.prepare(
            "SELECT child_id, parent_id, status, state, reason, created_at FROM callbacks
             WHERE child_id = ?1 OR parent_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([session.to_string()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, i64>(5)?,
            ))
        })?;
        rows.map(|r| {
            let (child, parent, status, state, reason, at) = r?;
            let corrupt = |what: &str| StoreError::Corrupt(format!("callback {what}"));
            Ok(Callback {
                child: child.parse().map_err(|_| corrupt("child"))?,
                parent: parent.parse().map_err(|_| corrupt("parent"))?,
                status: status.parse().map_err(|_| corrupt("status"))?,
                state: CallbackState::parse(&state).ok_or_else(|| corrupt("state"))?,
                reason,
                created_at: from_millis(at),
            })
        })
        .collect()
    }

    /// The session's tool parts named `name` that are still marked running: a template's
    /// setup that a crash cut short.
    pub fn running_tools(&self, session: SessionId, name: &str) -> Result<Vec<Part>> {
        let mut stmt = self.conn.prepare(
            "SELECT p.id, p.message_id, p.data FROM parts p JOIN messages m ON m.id = p.message_id
             WHERE m.session_id = ?1 AND json_extract(p.data, '$.type') = 'tool'
                AND json_extract(p.data, '$.name') = ?2
                AND json_extract(p.data, '$.status') = 'running'",
        )?;
        let rows = stmt.query_map(params![session.to_string(), name], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        rows.map(|row| {
            let (id, message_id, data) = row?;
            let kind: PartKind = serde_json::from_str(&data)
                .map_err(|e| StoreError::Corrupt(format!("part {id}: {e}")))?;
            Ok(Part {
                id,
                message_id,
                kind,
            })
        })
        .collect()
    }
}
