//! History search: full text over titles and message text, with filters and paging.

use super::sessions::{collect_sessions, session_from_row};
use super::{Result, Store, millis};
use crate::core::Session;
use crate::protocol::HistoryQuery;
use rusqlite::types::Value;

/// Turns what a user typed into an FTS5 query that cannot be a syntax error: every word
/// is quoted, and each is matched as a prefix.
fn fts_query(search: &str) -> Option<String> {
    let terms: Vec<String> = search
        .split_whitespace()
        .map(|w| format!("\"{}\"*", w.replace('"', "\"\"")))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" "))
}

impl Store {
    /// Sessions matching the query, most recently active first, and how many match in all.
    pub fn history(&self, q: &HistoryQuery) -> Result<(Vec<Session>, u64)> {
        let mut conditions: Vec<&str> = Vec::new();
        let mut args: Vec<Value> = Vec::new();
        if let Some(fts) = q.search.as_deref().and_then(fts_query) {
            conditions.push("s.id IN (SELECT session_id FROM search WHERE search MATCH ?)");
            args.push(Value::Text(fts));
        }
        if let Some(status) = q.status {
            conditions.push("s.status = ?");
            args.push(Value::Text(status.as_str().to_string()));
        }
        if let Some(since) = q.since {
            conditions.push("s.created_at >= ?");
            args.push(Value::Integer(millis(since)));
        }
        if let Some(until) = q.until {
            conditions.push("s.created_at < ?");
            args.push(Value::Integer(millis(until)));
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };

        let total: u64 = self.conn.query_row(
            &format!("SELECT count(*) FROM sessions s{filter}"),
            rusqlite::params_from_iter(args.iter()),
            |r| r.get(0),
        )?;

        let sql = format!(
            "{} {filter} ORDER BY s.last_activity_at DESC, s.id LIMIT ? OFFSET ?",
            super::sessions::SELECT_SESSION
        );
        // SQLite reads a negative limit as "no limit"; 0 means no limit here too.
        let limit = if q.limit == 0 { -1 } else { i64::from(q.limit) };
        args.push(Value::Integer(limit));
        args.push(Value::Integer(i64::from(q.offset)));
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), session_from_row)?;
        Ok((collect_sessions(rows)?, total))
    }
}

#[cfg(test)]
mod tests {
    use super::fts_query;

    #[test]
    fn user_text_becomes_quoted_prefix_terms() {
        assert_eq!(fts_query("  "), None);
        assert_eq!(fts_query("fix lo").as_deref(), Some("\"fix\"* \"lo\"*"));
        assert_eq!(fts_query("a\"b OR").as_deref(), Some("\"a\"\"b\"* \"OR\"*"));
    }
}
