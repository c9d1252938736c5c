//! Workspace records. A worktree or clone is recorded as `creating` before it is made
//! and as `removing` before it is removed, so the next daemon start can finish or undo
//! whatever a crash interrupted.

use super::{Result, Store, StoreError, millis};
use crate::core::Workspace;
use crate::core::{SessionId, Strategy};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use std::path::Path;

/// Where a workspace record stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkspaceState {
    /// Planned; its directory may be half made.
    Creating,
    Ready,
    /// Its checks passed and its branch was kept; its directory may be half removed.
    Removing,
}

impl WorkspaceState {
    fn as_str(self) -> &'static str {
        match self {
            WorkspaceState::Creating => "creating",
            WorkspaceState::Ready => "ready",
            WorkspaceState::Removing => "removing",
        }
    }

    fn parse(s: &str) -> Result<WorkspaceState> {
        match s {
            "creating" => Ok(WorkspaceState::Creating),
            "ready" => Ok(WorkspaceState::Ready),
            "removing" => Ok(WorkspaceState::Removing),
            other => Err(StoreError::Corrupt(format!("workspace state {other:?}"))),
        }
    }
}

const COLUMNS: &str =
    "w.id, w.path, w.source_repo, w.strategy, w.branch, w.base_commit, w.removed_at, w.state";

type WorkspaceRow = (i64, Workspace, bool, WorkspaceState);

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<Result<WorkspaceRow>> {
    let strategy: String = r.get(3)?;
    let state: String = r.get(7)?;
    let id: i64 = r.get(0)?;
    let path: String = r.get(1)?;
    let source: String = r.get(2)?;
    let branch: Option<String> = r.get(4)?;
    let base_commit: String = r.get(5)?;
    let removed: Option<i64> = r.get(6)?;
    Ok((|| {
        let strategy: Strategy = strategy.parse().map_err(StoreError::Corrupt)?;
        let ws = Workspace {
            path: path.into(),
            source_repo: source.into(),
            strategy,
            branch,
            base_commit,
        };
        Ok((id, ws, removed.is_some(), WorkspaceState::parse(&state)?))
    })())
}

impl Store {
    pub fn insert_workspace(&self, ws: &Workspace, now: DateTime<Utc>) -> Result<i64> {
        self.insert_workspace_as(ws, now, WorkspaceState::Ready)
    }

    pub fn insert_workspace_as(
        &self,
        ws: &Workspace,
        now: DateTime<Utc>,
        state: WorkspaceState,
    ) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO workspaces (path, source_repo, strategy, branch, base_commit, created_at, state)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                ws.path.to_string_lossy(),
                ws.source_repo.to_string_lossy(),
                ws.strategy.as_str(),
                ws.branch,
                ws.base_commit,
                millis(now),
                state.as_str(),
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    pub fn set_workspace_state(&self, workspace_id: i64, state: WorkspaceState) -> Result<()> {
        self.conn.execute(
            "UPDATE workspaces SET state = ?2 WHERE id = ?1",
            params![workspace_id, state.as_str()],
        )?;
        Ok(())
    }

    pub fn workspace_state(&self, workspace_id: i64) -> Result<WorkspaceState> {
        let state: String = self.conn.query_row(
            "SELECT state FROM workspaces WHERE id = ?1",
            [workspace_id],
            |r| r.get(0),
        )?;
        WorkspaceState::parse(&state)
    }

    /// Sessions of other workspaces that work in `path` or below it.
    pub fn sessions_inside(&self, path: &Path, workspace_id: i64) -> Result<usize> {
        let n: i64 = self.conn.query_row(
            "SELECT count(*) FROM sessions s JOIN workspaces w ON w.id = s.workspace_id
             WHERE w.id != ?2 AND w.removed_at IS NULL
               AND (w.path = ?1 OR substr(w.path, 1, length(?1) + 1) = ?1 || '/')",
            params![path.to_string_lossy(), workspace_id],
            |r| r.get(0),
        )?;
        Ok(n as usize)
    }

    /// Forgets a workspace that was never made; no session may use it.
    pub fn delete_workspace(&self, workspace_id: i64) -> Result<()> {
        self.conn
            .execute("DELETE FROM workspaces WHERE id = ?1", [workspace_id])?;
        Ok(())
    }

    /// Workspaces a crash left `creating` or `removing`.
    pub fn unfinished_workspaces(&self) -> Result<Vec<(i64, Workspace, WorkspaceState)>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM workspaces w WHERE w.state != 'ready' AND w.removed_at IS NULL"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([], from_row)?;
        rows.map(|r| r?.map(|(id, ws, _, state)| (id, ws, state)))
            .collect()
    }

    /// The live `existing` workspace for a directory, so sessions there share one record.
    pub fn existing_workspace_at(&self, path: &Path) -> Result<Option<i64>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id FROM workspaces WHERE path = ?1 AND strategy = 'existing' AND removed_at IS NULL",
                [path.to_string_lossy()],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// The session's workspace record, its id, and whether it was cleaned up.
    pub fn workspace_of(&self, session: SessionId) -> Result<(i64, Workspace, bool)> {
        let sql = format!(
            "SELECT {COLUMNS} FROM sessions s JOIN workspaces w ON w.id = s.workspace_id WHERE s.id = ?1"
        );
        let (id, ws, removed, _) = self
            .conn
            .query_row(&sql, [session.to_string()], from_row)??;
        Ok((id, ws, removed))
    }

    /// The sessions other than `except` that work in the workspace or in a directory at
    /// or below `path`, whose removal would pull the floor from under them.
    pub fn workspace_users(
        &self,
        workspace_id: i64,
        path: &Path,
        except: SessionId,
    ) -> Result<Vec<SessionId>> {
        let mut stmt = self.conn.prepare(
            "SELECT s.id FROM sessions s JOIN workspaces w ON w.id = s.workspace_id
             WHERE s.id != ?3 AND w.removed_at IS NULL
               AND (w.id = ?1 OR w.path = ?2 OR substr(w.path, 1, length(?2) + 1) = ?2 || '/')
             ORDER BY s.created_at",
        )?;
        let rows = stmt.query_map(
            params![workspace_id, path.to_string_lossy(), except.to_string()],
            |r| r.get::<_, String>(0),
        )?;
        rows.map(|r| {
            let id = r?;
            id.parse()
                .map_err(|_| StoreError::Corrupt(format!("session id {id:?}")))
        })
        .collect()
    }

    /// A workspace made again from its saved state (restore): present once more.
    pub fn mark_workspace_restored(&self, workspace_id: i64) -> Result<()> {
        self.conn.execute(
            "UPDATE workspaces SET removed_at = NULL, state = 'ready' WHERE id = ?1",
            params![workspace_id],
        )?;
        Ok(())
    }

    pub fn mark_workspace_removed(&self, workspace_id: i64, now: DateTime<Utc>) -> Result<()> {
        self.conn.execute(
            "UPDATE workspaces SET removed_at = ?2, state = 'ready' WHERE id = ?1",
            params![workspace_id, millis(now)],
        )?;
        Ok(())
    }
}
