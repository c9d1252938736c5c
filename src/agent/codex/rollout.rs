//! What Codex recorded of a thread: its token totals so far, read from the thread's
//! rollout file (`$CODEX_HOME/sessions/YYYY/MM/DD/rollout-*-<thread_id>.jsonl`).
//!
//! Codex reports a thread's running totals at the end of each turn, so the turn's own
//! usage is the difference from the totals before it. A resumed thread's totals are
//! known only from here.

use super::events::Totals;
use serde_json::Value;
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// Where Codex keeps its state, from the environment the agent runs with.
pub fn codex_home(env: &[(String, String)]) -> Option<PathBuf> {
    let last = |name: &str| {
        env.iter()
            .rev()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| PathBuf::from(v))
    };
    last("CODEX_HOME").or_else(|| last("HOME").map(|home| home.join(".codex")))
}

/// The thread's totals as its rollout last recorded them: zero for a thread that has
/// used nothing yet, none when there is no rollout to read.
pub fn totals(codex_home: &Path, thread_id: &str) -> Option<Totals> {
    if thread_id.is_empty() || thread_id.contains('/') {
        return None;
    }
    let file = find(
        &codex_home.join("sessions"),
        &format!("-{thread_id}.jsonl"),
        4,
    )?;
    let reader = std::io::BufReader::new(std::fs::File::open(file).ok()?);
    let mut last = Totals::default();
    for line in reader.split(b'\n') {
        let Ok(line) = line else { break };
        if !line.windows(13).any(|w| w == b"\"token_count\"") {
            continue;
        }
        let Ok(v) = serde_json::from_slice::<Value>(&line) else {
            continue;
        };
        if let Some(t) = v
            .pointer("/payload/info/total_token_usage")
            .and_then(Totals::from_usage)
        {
            last = t;
        }
    }
    Some(last)
}

/// The file under `dir` (at most `depth` levels down) whose name ends with `suffix`.
fn find(dir: &Path, suffix: &str, depth: usize) -> Option<PathBuf> {
    let mut entries: Vec<_> = std::fs::read_dir(dir).ok()?.flatten().collect();
    // Newest first: the day folders and file names sort by date.
    entries.sort_by_key(|e| std::cmp::Reverse(e.file_name()));
    for entry in entries {
        let path = entry.path();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if is_dir && depth > 1 {
            if let Some(found) = find(&path, suffix, depth - 1) {
                return Some(found);
            }
        } else if !is_dir && entry.file_name().to_string_lossy().ends_with(suffix) {
            return Some(path);
        }
    }
    None
}
