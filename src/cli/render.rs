//! Plain-text output for people. Agent text is sanitized before it is printed.

use crate::core::{FileDiff, FileStatus, LineKind, PartKind, Session, Status, age, sanitize};
use crate::protocol::DaemonStatus;
use chrono::{DateTime, Utc};
use std::fmt::Write;

fn clip(text: &str, width: usize) -> String {
    crate::core::text::clip(text, width)
}

/// Clipped or padded to exactly `width` columns, as a terminal shows it: a CJK character
/// or an emoji takes two.
fn cell(text: &str, width: usize) -> String {
    crate::core::text::fit(text, width)
}

pub fn session_table(sessions: &[Session], now: DateTime<Utc>) -> String {
    if sessions.is_empty() {
        return "no sessions: create one with `flotilla new --dir REPO --prompt \"...\"`\n".into();
    }
    table(sessions, now)
}

/// Every host's sessions in one table, a host column first.
pub fn fleet_table(hosts: &[(String, Vec<Session>)], now: DateTime<Utc>) -> String {
    if hosts.iter().all(|(_, sessions)| sessions.is_empty()) {
        return "no sessions on any host: create one with `flotilla --host NAME new --dir REPO`\n"
            .into();
    }
    let mut out = String::new();
    for (n, (host, sessions)) in hosts.iter().enumerate() {
        for (i, line) in table(sessions, now).lines().enumerate() {
            match (n, i) {
                (0, 0) => out.push_str(&format!("{:<12}  {line}\n", "HOST")),
                (_, 0) => {}
                _ if line.starts_with(' ') => out.push_str(&format!("{:<12}  {line}\n", "")),
                _ => out.push_str(&format!("{}  {line}\n", cell(&sanitize(host), 12))),
            }
        }
    }
    out
}

/// Past sessions found by `history`; none found says so, not "create one".
pub fn history_table(sessions: &[Session], total: u64, now: DateTime<Utc>) -> String {
    if sessions.is_empty() {
        return match total {
            0 => "no session matches: widen the search, status or dates\n".into(),
            n => format!(
                "no sessions on this page: all {n} matches come before it; lower --offset\n"
            ),
        };
    }
    table(sessions, now)
}

fn table(sessions: &[Session], now: DateTime<Utc>) -> String {
    let mut out = format!(
        "{:<8}  {:<13}  {:<28}  {:<8}  {:<24}  {:>4}  {:>5}\n",
        "ID", "STATUS", "TITLE", "AGENT", "BRANCH", "AGE", "MSGS"
    );
    for s in sessions {
        let _ = writeln!(
            out,
            "{:<8}  {:<13}  {}  {}  {}  {:>4}  {:>5}",
            s.id.short(),
            s.status.as_str(),
            cell(&sanitize(&s.title), 28),
            cell(&sanitize(&s.agent), 8),
            cell(&sanitize(s.branch.as_deref().unwrap_or("-")), 24),
            age(s.created_at, now),
            s.message_count
        );
        // Why a session failed or ended belongs beside it, not only in --json.
        if let Some(why) = s
            .status_reason
            .as_deref()
            .filter(|_| matches!(s.status, Status::Error | Status::Disconnected))
        {
            let _ = writeln!(out, "{:<8}  └ {}", "", clip(&sanitize(why), 100));
        }
    }
    out
}

pub fn part(kind: &PartKind) -> String {
    let mut out = match kind {
        PartKind::Text { text } | PartKind::Stderr { text } => sanitize(text),
        PartKind::Reasoning { text } => format!("(thinking) {}", sanitize(text)),
        PartKind::Tool {
            name,
            status,
            output,
            ..
        } => {
            let mut s = format!("[tool {} · {status:?}]", sanitize(name));
            if let Some(output) = output {
                s.push('\n');
                s.push_str(&sanitize(output));
            }
            s
        }
        PartKind::Error { message } => format!("error: {}", sanitize(message)),
        PartKind::Permission {
            tool,
            detail,
            reply,
            ..
        } => format!(
            "[permission {} · {}] {}",
            sanitize(tool),
            reply.map_or("waiting", |answer| answer.as_str()),
            sanitize(detail)
        ),
    };
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

pub fn diff_stat(files: &[FileDiff]) -> String {
    if files.is_empty() {
        return "no changes against the base commit\n".into();
    }
    let width = files
        .iter()
        .map(|f| f.path.chars().count())
        .max()
        .unwrap_or(0)
        .min(60);
    let mut out = String::new();
    let (mut adds, mut dels) = (0, 0);
    for f in files {
        adds += f.additions;
        dels += f.deletions;
        let mark = match f.status {
            FileStatus::Added => 'A',
            FileStatus::Modified => 'M',
            FileStatus::Deleted => 'D',
        };
        let note = if f.binary {
            "  (binary)"
        } else if f.too_large {
            "  (too large to show)"
        } else if f.omitted_lines > 0 {
            "  (partly shown)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "{mark} {:<width$}  +{} -{}{note}",
            clip(&sanitize(&f.path), 60),
            f.additions,
            f.deletions
        );
    }
    let _ = writeln!(out, "{} file(s), +{adds} -{dels}", files.len());
    out
}

/// One file's diff, hunks and all.
pub fn file_diff(f: &FileDiff) -> String {
    let mut out = String::new();
    let path = sanitize(&f.path);
    let _ = writeln!(
        out,
        "--- {path} ({:?}, +{} -{})",
        f.status, f.additions, f.deletions
    );
    if f.binary {
        out.push_str("binary file\n");
    } else if f.too_large {
        let _ = writeln!(out, "{}", too_large(f));
    }
    for h in &f.hunks {
        let _ = writeln!(
            out,
            "@@ -{},{} +{},{} @@",
            h.old_start, h.old_lines, h.new_start, h.new_lines
        );
        for line in &h.lines {
            let sign = match line.kind {
                LineKind::Context => ' ',
                LineKind::Added => '+',
                LineKind::Removed => '-',
            };
            let _ = writeln!(out, "{sign}{}", sanitize(&line.text));
        }
    }
    if f.omitted_lines > 0 {
        let _ = writeln!(
            out,
            "… {} more lines not shown: open the file in the workspace",
            f.omitted_lines
        );
    }
    out
}

/// Why a file's hunks are not shown, with how big it is.
pub fn too_large(f: &FileDiff) -> String {
    format!(
        "too large to show: {:.1} MiB, over the {} MiB a file's diff may load",
        f.size as f64 / (1024.0 * 1024.0),
        crate::core::diff::MAX_FILE_BYTES / (1024 * 1024)
    )
}

pub fn agents(agents: &[crate::protocol::AgentInfo]) -> String {
    let mut out = format!(
        "{:<12}  {:<9}  {:<40}  {}\n",
        "AGENT", "KIND", "FOUND", "VERSION"
    );
    for a in agents {
        let name = if a.default {
            format!("{} *", a.name)
        } else {
            a.name.clone()
        };
        let found = match &a.found {
            Some(path) => path.display().to_string(),
            None => format!("missing: {} not found", a.command),
        };
        let version = a.version.clone().unwrap_or_else(|| "-".into());
        let _ = writeln!(
            out,
            "{:<12}  {:<9}  {:<40}  {}",
            name,
            a.kind,
            clip(&found, 40),
            sanitize(&version)
        );
    }
    out.push_str("* the default agent\n");
    out
}

pub fn daemon_status(s: &DaemonStatus, now: DateTime<Utc>) -> String {
    let mut out = format!(
        "daemon running: pid {}, version {}, protocol {}, up {}\nsocket   {}\ndatabase {}\nsessions {} ({} live)\n",
        s.pid,
        s.version,
        s.protocol,
        age(s.started_at, now),
        s.socket.display(),
        s.database.display(),
        s.sessions,
        s.live_sessions
    );
    if let Some(e) = &s.config_error {
        let _ = writeln!(out, "config   {e}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_with_wide_titles() {
        let now = chrono::Utc::now();
        let mut sessions = Vec::new();
        for (n, title) in ["plain title", "日本語のタイトル", "fix 🚀 launch"]
            .iter()
            .enumerate()
        {
            let mut s: Session = serde_json::from_value(serde_json::json!({
                "id": uuid::Uuid::from_u128(n as u128 + 1),
                "title": title, "status": "idle", "status_reason": null, "agent": "shell",
                "model": null, "strategy": "worktree", "workspace": "/w", "source_repo": "/r",
                "branch": "flotilla/x", "base_commit": "0", "agent_session_id": null,
                "created_at": now, "last_activity_at": now, "message_count": 2,
                "queued_prompts": 0, "tokens_in": null, "tokens_out": null, "cost_usd": null,
            }))
            .expect("a session");
            s.title = title.to_string();
            sessions.push(s);
        }
        let table = session_table(&sessions, now);
        let at_agent: Vec<usize> = table
            .lines()
            .skip(1)
            .map(|l| {
                let cut = l.find("shell").expect("agent column");
                unicode_width::UnicodeWidthStr::width(&l[..cut])
            })
            .collect();
        assert!(at_agent.windows(2).all(|w| w[0] == w[1]), "{table}");
    }

    #[test]
    fn ages_are_short() {
        let now = Utc::now();
        assert_eq!(age(now - chrono::Duration::seconds(5), now), "5s");
        assert_eq!(age(now - chrono::Duration::minutes(3), now), "3m");
        assert_eq!(age(now - chrono::Duration::hours(2), now), "2h");
        assert_eq!(age(now - chrono::Duration::days(4), now), "4d");
    }

    #[test]
    fn agent_text_is_printed_inert() {
        let shown = part(&PartKind::Text {
            text: "ok\u{1b}[2J\u{1b}]52;c;eA==\u{7}".into(),
        });
        assert_eq!(shown, "ok\n");
    }
}
