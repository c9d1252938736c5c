//! Sessions, the workspaces they run in, and their queued prompts.

use super::{Result, Store, StoreError, from_millis, millis};
use crate::core::{Limits, Notify, Session, SessionId, Status};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};
use std::path::PathBuf;

pub struct NewSessionRow<'a> {
    pub id: SessionId,
    pub title: &'a str,
    pub agent: &'a str,
    pub model: Option<&'a str>,
    pub workspace_id: i64,
    pub status: Status,
    pub now: DateTime<Utc>,
    pub parent: Option<SessionId>,
    pub notify: Option<Notify>,
    pub limits: Limits,
    pub template: Option<&'a str>,
    pub reforged_from: Option<&'a str>,
}

pub(super) const SELECT_SESSION: &str =
    "SELECT s.id, s.title, s.status, s.status_reason, s.agent, s.model,
        w.strategy, w.path, w.source_repo, w.branch, w.base_commit, s.agent_session_id,
        s.created_at, s.last_activity_at, s.message_count,
        (SELECT count(*) FROM queued_prompts q WHERE q.session_id = s.id),
        s.tokens_in, s.tokens_out, s.cost_usd, s.mark,
        s.parent_id, s.notify, s.ttl_secs, s.idle_timeout_secs, s.max_turns,
        s.max_duration_secs, s.max_cost_usd, s.turns, s.turn_ms, s.template, s.reforged_from
    FROM sessions s JOIN workspaces w ON w.id = s.workspace_id";

pub(super) fn session_from_row(
    row: &Row,
) -> rusqlite::Result<std::result::Result<Session, String>> {
    let id: String = row.get(0)?;
    let status: String = row.get(2)?;
    let strategy: String = row.get(6)?;
    let path: String = row.get(7)?;
    let source: String = row.get(8)?;
    let build = || -> std::result::Result<Session, String> {
        Ok(Session {
            id: id.parse().map_err(|e| format!("session id {id}: {e}"))?,
            title: row.get(1).map_err(|e| e.to_string())?,
            status: status.parse()?,
            status_reason: row.get(3).map_err(|e| e.to_string())?,
            agent: row.get(4).map_err(|e| e.to_string())?,
            model: row.get(5).map_err(|e| e.to_string())?,
            strategy: strategy.parse()?,
            workspace: PathBuf::from(path),
            source_repo: PathBuf::from(source),
            branch: row.get(9).map_err(|e| e.to_string())?,
            base_commit: row.get(10).map_err(|e| e.to_string())?,
            agent_session_id: row.get(11).map_err(|e| e.to_string())?,
            created_at: from_millis(row.get(12).map_err(|e| e.to_string())?),
            last_activity_at: from_millis(row.get(13).map_err(|e| e.to_string())?),
            message_count: row.get(14).map_err(|e| e.to_string())?,
            queued_prompts: row.get(15).map_err(|e| e.to_string())?,
            tokens_in: row.get(16).map_err(|e| e.to_string())?,
            tokens_out: row.get(17).map_err(|e| e.to_string())?,
            cost_usd: row.get(18).map_err(|e| e.to_string())?,
            agent_running: false,
            mark: row
                .get::<_, Option<String>>(19)
                .map_err(|e| e.to_string())?
                .as_deref()
                .and_then(crate::core::Mark::parse),
            parent: row
                .get::<_, Option<String>>(20)
                .map_err(|e| e.to_string())?
                .and_then(|p| p.parse().ok()),
            notify: row
                .get::<_, Option<String>>(21)
                .map_err(|e| e.to_string())?
                .and_then(|n| n.parse().ok()),
            limits: Limits {
                ttl_secs: row.get(22).map_err(|e| e.to_string())?,
                idle_timeout_secs: row.get(23).map_err(|e| e.to_string())?,
                max_turns: row.get(24).map_err(|e| e.to_string())?,
                max_duration_secs: row.get(25).map_err(|e| e.to_string())?,
                max_cost_usd: row.get(26).map_err(|e| e.to_string())?,
            },
            turns: row.get(27).map_err(|e| e.to_string())?,
            turn_ms: row.get(28).map_err(|e| e.to_string())?,
            template: row.get(29).map_err(|e| e.to_string())?,
            reforged_from: row.get(30).map_err(|e| e.to_string())?,
            conflicts: Vec::new(),
            rate_limits: None,
        })
    };
    Ok(build())
}

pub(super) fn collect_sessions(
    rows: impl Iterator<Item = rusqlite::Result<std::result::Result<Session, String>>>,
) -> Result<Vec<Session>> {
    rows.map(|r| r?.map_err(StoreError::Corrupt)).collect()
}

impl Store {
    pub fn insert_session(&self, row: &NewSessionRow) -> Result<()> {
        self.conn.execute(
            "INSERT INTO sessions (id, title, status, agent, model, workspace_id, created_at,
                last_activity_at, parent_id, notify, ttl_secs, idle_timeout_secs, max_turns,
                max_duration_secs, max_cost_usd, template, reforged_from)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            params![
                row.id.to_string(),
                row.title,
                row.status.as_str(),
                row.agent,
                row.model,
                row.workspace_id,
                millis(row.now),
                row.parent.map(|p| p.to_string()),
                row.notify.map(Notify::as_str),
                row.limits.ttl_secs,
                row.limits.idle_timeout_secs,
                row.limits.max_turns,
                row.limits.max_duration_secs,
                row.limits.max_cost_usd,
                row.template,
                row.reforged_from,
            ],
        )?;
        self.index_text(row.id, row.title)?;
        Ok(())
    }

    /// Writes the session's mutable fields.
    pub fn save_session(&self, s: &Session) -> Result<()> {
        self.conn.execute(
            "UPDATE sessions SET title = ?2, status = ?3, status_reason = ?4, model = ?5,
                agent_session_id = ?6, last_activity_at = ?7, message_count = ?8,
                tokens_in = ?9, tokens_out = ?10, cost_usd = ?11, mark = ?12, turns = ?13,
                turn_ms = ?14
             WHERE id = ?1",
            params![
                s.id.to_string(),
                s.title,
                s.status.as_str(),
                s.status_reason,
                s.model,
                s.agent_session_id,
                millis(s.last_activity_at),
                s.message_count,
                s.tokens_in,
                s.tokens_out,
                s.cost_usd,
                s.mark.map(crate::core::Mark::as_str),
                s.turns,
                s.turn_ms,
            ],
        )?;
        Ok(())
    }

    pub fn session(&self, id: SessionId) -> Result<Option<Session>> {
        let sql = format!("{SELECT_SESSION} WHERE s.id = ?1");
        let row = self
            .conn
            .query_row(&sql, [id.to_string()], session_from_row)
            .optional()?;
        row.map(|r| r.map_err(StoreError::Corrupt)).transpose()
    }

    pub fn sessions(&self) -> Result<Vec<Session>> {
        let sql = format!("{SELECT_SESSION} ORDER BY s.created_at");
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([], session_from_row)?;
        collect_sessions(rows)
    }

    /// Deletes the session with its messages, parts, queue and search entries.
    pub fn delete_session(&self, id: SessionId) -> Result<()> {
        let id = id.to_string();
        self.conn
            .execute("DELETE FROM search WHERE session_id = ?1", [&id])?;
        self.conn
            .execute("DELETE FROM sessions WHERE id = ?1", [&id])?;
        Ok(())
    }

    pub fn push_queued(&self, session: SessionId, text: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO queued_prompts (session_id, text) VALUES (?1, ?2)",
            params![session.to_string(), text],
        )?;
        Ok(())
    }

    pub fn pop_queued(&self, session: SessionId) -> Result<Option<String>> {
        let next: Option<(i64, String)> = self
            .conn
            .query_row(
                "SELECT id, text FROM queued_prompts WHERE session_id = ?1 ORDER BY id LIMIT 1",
                [session.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if let Some((id, _)) = &next {
            self.conn
                .execute("DELETE FROM queued_prompts WHERE id = ?1", [id])?;
        }
        Ok(next.map(|(_, text)| text))
    }

    pub fn clear_queued(&self, session: SessionId) -> Result<usize> {
        Ok(self.conn.execute(
            "DELETE FROM queued_prompts WHERE session_id = ?1",
            [session.to_string()],
        )?)
    }

    /// Adds text to what history search finds for the session.
    pub fn index_text(&self, session: SessionId, text: &str) -> Result<()> {
        if !text.trim().is_empty() {
            self.conn.execute(
                "INSERT INTO search (session_id, text) VALUES (?1, ?2)",
                params![session.to_string(), text],
            )?;
        }
        Ok(())
    }
}
