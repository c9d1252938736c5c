//! The SQLite store, through its public API, on real files in temporary directories.

use chrono::{DateTime, Duration, TimeZone, Utc};
use flotilla::core::{Message, Part, PartKind, Role, Session, SessionId, Settled};
use flotilla::core::{Status, Strategy, ToolStatus};
use flotilla::protocol::HistoryQuery;
use flotilla::store::{NewSessionRow, Store};
use flotilla::workspace::Workspace;
use rstest::rstest;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// A fixed instant, whole milliseconds, `h` hours after a base time.
fn at(h: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap() + Duration::hours(h)
}

const BASE: &str = "0123456789abcdef0123456789abcdef01234567";

fn workspace(path: &str, strategy: Strategy) -> Workspace {
    Workspace {
        path: PathBuf::from(path),
        source_repo: PathBuf::from("/src/proj"),
        strategy,
        branch: Some("feature/x".into()),
        base_commit: BASE.into(),
    }
}

fn add_ws(store: &Store, path: &str, strategy: Strategy) -> i64 {
    let ws = workspace(path, strategy);
    store.insert_workspace(&ws, at(0)).unwrap()
}

fn add(store: &Store, ws: i64, title: &str, status: Status, h: i64) -> SessionId {
    let (id, agent, model) = (SessionId::new(), "opencode", Some("m-1"));
    let row = NewSessionRow {
        id,
        title,
        agent,
        model,
        workspace_id: ws,
        status,
        now: at(h),
        parent: None,
        notify: None,
        limits: Default::default(),
        template: None,
        reforged_from: None,
    };
    store.insert_session(&row).unwrap();
    id
}

/// A store in a fresh file, with one worktree workspace.
fn file_store() -> (TempDir, PathBuf, Store, i64) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flotilla.db");
    let store = Store::open(&path).unwrap();
    let ws = add_ws(&store, "/w/a", Strategy::Worktree);
    (dir, path, store, ws)
}

/// One value, through a separate connection to the database file.
fn query<T: rusqlite::types::FromSql>(path: &Path, sql: &str, arg: &str) -> T {
    let conn = rusqlite::Connection::open(path).unwrap();
    let args: &[&dyn rusqlite::ToSql] = if sql.contains("?1") { &[&arg] } else { &[] };
    conn.query_row(sql, args, |r| r.get(0)).unwrap()
}

fn message(id: &str, role: Role, parts: Vec<Part>) -> Message {
    let created_at = at(1);
    Message {
        id: id.into(),
        role,
        created_at,
        parts,
    }
}

fn part(id: &str, message_id: &str, kind: PartKind) -> Part {
    Part {
        id: id.into(),
        message_id: message_id.into(),
        kind,
    }
}

fn say(store: &Store, session: SessionId, id: &str, role: Role) {
    let message = message(id, role, Vec::new());
    store.insert_message(session, &message).unwrap();
}

fn put(store: &Store, id: &str, message_id: &str, kind: PartKind) {
    store.upsert_part(&part(id, message_id, kind)).unwrap();
}

fn text(t: &str) -> PartKind {
    PartKind::Text { text: t.into() }
}

fn reasoning(t: &str) -> PartKind {
    PartKind::Reasoning { text: t.into() }
}

/// Hours after the base time, as a history filter bound.
type Hours = Option<i64>;

fn hq(words: Option<&str>, status: Option<Status>, since: Hours, until: Hours) -> HistoryQuery {
    let mut q = HistoryQuery::default();
    (q.search, q.status, q.limit) = (words.map(String::from), status, 100);
    (q.since, q.until) = (since.map(at), until.map(at));
    q
}

#[test]
fn fresh_database_reaches_latest_schema_in_wal_mode() {
    let (_dir, path, store, _) = file_store();
    let latest = Store::open_in_memory().unwrap().schema_version().unwrap();
    assert!(latest >= 1);
    assert_eq!(store.schema_version().unwrap(), latest);
    assert_eq!(query::<i64>(&path, "PRAGMA user_version", ""), latest);
    let sql = "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1";
    for table in "sessions workspaces messages parts search".split(' ') {
        let def: String = query(&path, sql, table);
        let fts = def.to_lowercase().contains("using fts5");
        assert_eq!(fts, table == "search", "{def}");
    }
    // `file_store` wrote a workspace, and the store is still open.
    let wal = PathBuf::from(format!("{}-wal", path.display()));
    assert!(wal.exists(), "no -wal file after a write");
    assert_eq!(query::<String>(&path, "PRAGMA journal_mode", ""), "wal");
}

#[test]
fn newer_schema_is_refused_and_left_alone() {
    let (_dir, path, store, _) = file_store();
    let newer = store.schema_version().unwrap() + 1;
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", newer).unwrap();
    drop(conn);

    let err = Store::open(&path).err().expect("must be refused");
    let msg = err.to_string();
    assert!(msg.contains("upgrade"), "{msg}");
    assert!(msg.contains(&newer.to_string()), "{msg}");
    assert_eq!(query::<i64>(&path, "PRAGMA user_version", ""), newer);
}

#[rstest]
#[case::umask_022(0o022)]
#[case::umask_000(0o000)]
fn database_files_are_private(#[case] mask: u32) {
    use nix::sys::stat::{Mode, umask};
    let old = umask(Mode::from_bits_truncate(mask));
    let (_dir, path, store, ws) = file_store();
    add(&store, ws, "Private", Status::Idle, 0);
    umask(old);
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{}{suffix}", path.display());
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{file} has mode {mode:o}");
    }
}

#[test]
fn session_round_trips_with_its_workspace() {
    let (_dir, _path, store, ws) = file_store();
    let id = add(&store, ws, "Fix the thing", Status::Starting, 2);
    let expected: Session = serde_json::from_value(serde_json::json!({
        "id": id, "title": "Fix the thing", "status": "starting", "status_reason": null,
        "agent": "opencode", "model": "m-1", "strategy": "worktree", "workspace": "/w/a",
        "source_repo": "/src/proj", "branch": "feature/x", "base_commit": BASE,
        "agent_session_id": null, "created_at": at(2), "last_activity_at": at(2),
        "message_count": 0, "queued_prompts": 0, "tokens_in": null, "tokens_out": null, "cost_usd": null,
    }))
    .unwrap();
    assert_eq!(store.session(id).unwrap(), Some(expected.clone()));
    assert_eq!(store.sessions().unwrap(), vec![expected]);
    assert_eq!(store.session(SessionId::new()).unwrap(), None);
    let record = workspace("/w/a", Strategy::Worktree);
    assert_eq!(store.workspace_of(id).unwrap(), (ws, record, false));
}

#[test]
fn saved_changes_survive_reopening_and_migrating_again() {
    let (_dir, path, store, ws) = file_store();
    let version = store.schema_version().unwrap();
    let id = add(&store, ws, "Before", Status::Starting, 0);
    let mut s = store.session(id).unwrap().unwrap();
    s.title = "After".into();
    s.status = Status::Error;
    s.status_reason = Some("agent crashed".into());
    s.model = Some("m-2".into());
    s.agent_session_id = Some("ses_42".into());
    s.last_activity_at = at(3) + Duration::milliseconds(7);
    s.message_count = 5;
    (s.tokens_in, s.tokens_out, s.cost_usd) = (Some(1234), Some(567), Some(0.125));
    store.save_session(&s).unwrap();
    drop(store);
    for _ in 0..2 {
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), version);
        assert_eq!(store.sessions().unwrap(), [s.clone()]);
    }
}

#[test]
fn transaction_commits_or_rolls_back_whole() {
    let (_dir, _path, mut store, ws) = file_store();
    store
        .transaction(|st| Ok(add(st, ws, "Kept", Status::Idle, 0)))
        .unwrap();
    let mut lost = None;
    let result = store.transaction(|st| {
        lost = Some(add(st, ws, "Lost", Status::Idle, 1));
        st.insert_message(SessionId::new(), &message("m", Role::User, vec![]))
    });
    assert!(result.is_err(), "a message of no session must fail");
    assert_eq!(store.session(lost.unwrap()).unwrap(), None);
    assert_eq!(titles(&store.sessions().unwrap()), ["Kept"]);
}

#[test]
fn queued_prompts_are_fifo_per_session_and_clearable() {
    let (_dir, _path, store, ws) = file_store();
    let a = add(&store, ws, "A", Status::Active, 0);
    let b = add(&store, ws, "B", Status::Active, 1);
    let pop = |id| store.pop_queued(id).unwrap();
    let queued = |id| store.session(id).unwrap().unwrap().queued_prompts;
    for p in ["one", "two", "three"] {
        store.push_queued(a, p).unwrap();
    }
    store.push_queued(b, "other").unwrap();
    assert_eq!(queued(a), 3);
    assert_eq!(pop(a).as_deref(), Some("one"));
    store.push_queued(a, "four").unwrap();
    let rest: Vec<_> = std::iter::from_fn(|| pop(a)).collect();
    assert_eq!(rest, ["two", "three", "four"]);

    store.push_queued(a, "five").unwrap();
    store.push_queued(a, "six").unwrap();
    assert_eq!(store.clear_queued(a).unwrap(), 2);
    assert_eq!((pop(a), queued(a), queued(b)), (None, 0, 1));
    assert_eq!(pop(b).as_deref(), Some("other"));
}

#[test]
fn delete_session_removes_everything_it_owns() {
    let (_dir, path, store, ws) = file_store();
    let mut ids = Vec::new();
    for (n, title) in ["Doomed zanzibar", "Survivor zanzibar"].iter().enumerate() {
        let id = add(&store, ws, title, Status::Idle, n as i64);
        let (m, p) = (format!("msg{n}"), format!("prt{n}"));
        say(&store, id, &m, Role::User);
        put(&store, &p, &m, text("hello "));
        store.append_text(&p, "world").unwrap();
        store.push_queued(id, "later").unwrap();
        store.index_text(id, "quetzalcoatl").unwrap();
        ids.push(id);
    }
    let (doomed, survivor) = (ids[0], ids[1]);
    store.delete_session(doomed).unwrap();

    assert_eq!(store.session(doomed).unwrap(), None);
    assert!(store.transcript(doomed).unwrap().is_empty());
    assert_eq!(store.part_text("prt0").unwrap(), None);
    for word in ["quetzalcoatl", "zanzibar"] {
        let (found, total) = store.history(&hq(Some(word), None, None, None)).unwrap();
        let found: Vec<_> = found.iter().map(|s| s.id).collect();
        assert_eq!((found, total), (vec![survivor], 1));
    }
    let (d, s) = (doomed.to_string(), survivor.to_string());
    for (from, keys, left) in [
        ("messages WHERE session_id", [d.as_str(), s.as_str()], 1),
        ("parts WHERE message_id", ["msg0", "msg1"], 1),
        // "world" joins the small chunk "hello ".
        ("part_chunks WHERE part_id", ["prt0", "prt1"], 1),
        ("queued_prompts WHERE session_id", [&d, &s], 1),
        ("search WHERE session_id", [&d, &s], 2),
    ] {
        let sql = format!("SELECT count(*) FROM {from} = ?1");
        assert_eq!(query::<i64>(&path, &sql, keys[0]), 0, "{sql}");
        assert_eq!(query::<i64>(&path, &sql, keys[1]), left, "{sql}");
    }
    assert_eq!(store.transcript(survivor).unwrap().len(), 1);
}

#[test]
fn transcript_keeps_message_and_part_order_and_streams_text() {
    let (_dir, _path, store, ws) = file_store();
    let id = add(&store, ws, "Chat", Status::Active, 0);
    let other = add(&store, ws, "Elsewhere", Status::Active, 0);
    // Ids that sort opposite to insertion order, so ordering by id would show.
    say(&store, id, "m9", Role::User);
    say(&store, other, "mx", Role::User);
    say(&store, id, "m1", Role::Assistant);
    put(&store, "p9", "m9", text("Please fix it"));
    put(&store, "px", "mx", text("not mine"));
    put(&store, "p5", "m1", reasoning(""));
    put(&store, "p1", "m1", text(""));
    for chunk in ["Think", "ing ", "hard"] {
        store.append_text("p5", chunk).unwrap();
    }
    for chunk in ["Done", "", ", ", "fixed ", "ünïcödé ✓"] {
        store.append_text("p1", chunk).unwrap();
    }
    let streamed = store.part_text("p1").unwrap();
    assert_eq!(streamed.as_deref(), Some("Done, fixed ünïcödé ✓"));
    assert_eq!(store.part_text("nope").unwrap(), None);

    let p9 = part("p9", "m9", text("Please fix it"));
    let m9 = message("m9", Role::User, vec![p9]);
    let p5 = part("p5", "m1", reasoning("Thinking hard"));
    let p1 = part("p1", "m1", text("Done, fixed ünïcödé ✓"));
    let mut m1 = message("m1", Role::Assistant, vec![p5, p1]);
    assert_eq!(store.transcript(id).unwrap(), vec![m9, m1.clone()]);

    // Replacing a part replaces its text whole, and keeps its place.
    put(&store, "p5", "m1", reasoning("Rethought"));
    store.append_text("p5", " twice").unwrap();
    m1.parts[0].kind = reasoning("Rethought twice");
    assert_eq!(store.transcript(id).unwrap()[1], m1);
    put(&store, "p1", "m1", text(""));
    assert_eq!(store.part_text("p1").unwrap(), None);
    m1.parts[1].kind = text("");
    assert_eq!(store.transcript(id).unwrap()[1], m1);
}

#[rstest]
#[case::tool_running(PartKind::Tool { name: "bash".into(), input: serde_json::json!({"cmd": "ls -la", "n": [1, 2.5, null, true, {"k": "v"}]}), status: ToolStatus::Running, output: None })]
#[case::tool_failed(PartKind::Tool { name: "edit".into(), input: serde_json::json!([]), status: ToolStatus::Error, output: Some("boom\n\"quoted\"".into()) })]
#[case::error(PartKind::Error { message: "rate limited: retry in 30s".into() })]
#[case::permission_asked(PartKind::Permission { request_id: "per_1".into(), tool: "write".into(), detail: "write a.rs".into(), diff: Some("-a\n+b\n".into()), reply: None })]
#[case::permission_answered(PartKind::Permission { request_id: "per_2".into(), tool: "bash".into(), detail: "rm -rf target".into(), diff: None, reply: Some(Settled::Always) })]
fn non_text_parts_round_trip_exactly(#[case] kind: PartKind) {
    let store = Store::open_in_memory().unwrap();
    let ws = add_ws(&store, "/w/a", Strategy::Clone);
    let id = add(&store, ws, "Tools", Status::Active, 0);
    say(&store, id, "m", Role::Assistant);
    put(&store, "before", "m", text("first"));
    put(&store, "p", "m", kind.clone());
    put(&store, "after", "m", text("last"));
    let parts = || store.transcript(id).unwrap().remove(0).parts;
    assert_eq!(parts()[1], part("p", "m", kind));
    assert_eq!(store.part_text("p").unwrap(), None);

    // Replaced in place, by a streaming kind.
    put(&store, "p", "m", text("now text"));
    let got: Vec<_> = parts().into_iter().map(|p| p.kind).collect();
    assert_eq!(got, [text("first"), text("now text"), text("last")]);
    assert_eq!(store.part_text("p").unwrap().as_deref(), Some("now text"));
}

/// Six sessions: title, status, created and last active (hours), text of their messages.
const HISTORY: [(&str, Status, i64, i64, &str); 6] = [
    ("Fix login bug", Status::Idle, 0, 10, ""),
    ("Refactor parser", Status::Stopped, 1, 6, "a widget twice"),
    ("Add logging", Status::Error, 2, 9, "widget panics"),
    ("Update docs", Status::Stopped, 3, 7, "widget crashes"),
    ("Speed up search", Status::Disconnected, 4, 8, ""),
    ("Write tests", Status::Stopped, 5, 5, "cover widget"),
];

/// Indices into `HISTORY` by last activity, most recent first.
const BY_ACTIVITY: [usize; 6] = [0, 2, 4, 3, 1, 5];

fn history_store() -> Store {
    let store = Store::open_in_memory().unwrap();
    let ws = add_ws(&store, "/w/h", Strategy::Existing);
    for (title, status, created, active, said) in HISTORY {
        let id = add(&store, ws, title, status, created);
        store.index_text(id, said).unwrap();
        let mut s = store.session(id).unwrap().unwrap();
        s.last_activity_at = at(active);
        store.save_session(&s).unwrap();
    }
    store
}

fn titles(found: &[Session]) -> Vec<&str> {
    found.iter().map(|s| s.title.as_str()).collect()
}

fn expect(indices: &[usize]) -> Vec<&'static str> {
    indices.iter().map(|&i| HISTORY[i].0).collect()
}

#[rstest]
#[case::everything(None, None, None, None, &BY_ACTIVITY)]
#[case::blank_search(Some("   "), None, None, None, &BY_ACTIVITY)]
#[case::title_word(Some("parser"), None, None, None, &[1])]
#[case::title_word_any_case(Some("DOCS"), None, None, None, &[3])]
#[case::message_text_only(Some("widget"), None, None, None, &[2, 3, 1, 5])]
#[case::another_message_word(Some("crashes"), None, None, None, &[3])]
#[case::prefix(Some("log"), None, None, None, &[0, 2])]
#[case::every_word_must_match(Some("fix log"), None, None, None, &[0])]
#[case::status(None, Some(Status::Stopped), None, None, &[3, 1, 5])]
#[case::status_none_match(None, Some(Status::Active), None, None, &[])]
#[case::since_inclusive(None, None, Some(3), None, &[4, 3, 5])]
#[case::until_exclusive(None, None, None, Some(2), &[0, 1])]
#[case::range(None, None, Some(1), Some(4), &[2, 3, 1])]
#[case::range_misses(None, Some(Status::Disconnected), Some(0), Some(4), &[])]
#[case::all_filters(Some("widget"), Some(Status::Stopped), Some(2), Some(5), &[3])]
#[case::no_such_word(Some("xylophone"), None, None, None, &[])]
#[case::fts_quote(Some("\""), None, None, None, &[])]
#[case::fts_star(Some("*"), None, None, None, &[])]
#[case::fts_or(Some("OR"), None, None, None, &[])]
#[case::fts_minus(Some("-"), None, None, None, &[])]
#[case::fts_paren(Some("("), None, None, None, &[])]
#[case::fts_or_is_a_plain_word(Some("fix OR parser"), None, None, None, &[])]
#[case::fts_open_quote(Some("\"login"), None, None, None, &[0])]
#[case::fts_open_paren(Some("(parser"), None, None, None, &[1])]
#[case::fts_negation(Some("-bug"), None, None, None, &[0])]
#[case::fts_star_prefix(Some("log*"), None, None, None, &[0, 2])]
#[case::fts_near(Some("NEAR(fix login)"), None, None, None, &[])]
#[case::fts_column_caret_and(Some("title:docs ^update AND"), None, None, None, &[])]
fn history_filters(
    #[case] words: Option<&str>,
    #[case] status: Option<Status>,
    #[case] since: Hours,
    #[case] until: Hours,
    #[case] expected: &[usize],
) {
    let q = hq(words, status, since, until);
    let (found, total) = history_store().history(&q).unwrap();
    assert_eq!(titles(&found), expect(expected));
    assert_eq!(total, expected.len() as u64);
}

#[rstest]
#[case::all(None, &BY_ACTIVITY)]
#[case::stopped(Some(Status::Stopped), &[3, 1, 5])]
fn history_pages(#[case] status: Option<Status>, #[case] expected: &[usize]) {
    let store = history_store();
    let mut seen = Vec::new();
    for offset in (0..=expected.len() as u32 + 2).step_by(2) {
        let q = HistoryQuery {
            limit: 2,
            offset,
            ..hq(None, status, None, None)
        };
        let (page, total) = store.history(&q).unwrap();
        assert_eq!(total, expected.len() as u64, "total at offset {offset}");
        let want = expected.len().saturating_sub(offset as usize).min(2);
        assert_eq!(page.len(), want, "page at offset {offset}");
        for s in page {
            assert!(!seen.contains(&s.title), "{} on two pages", s.title);
            seen.push(s.title);
        }
    }
    assert_eq!(seen, expect(expected));
}

#[test]
fn existing_workspace_is_shared_until_removed() {
    let store = Store::open_in_memory().unwrap();
    let found = |path: &str| store.existing_workspace_at(Path::new(path)).unwrap();
    assert_eq!(found("/w/shared"), None);
    let wt = add_ws(&store, "/w/shared", Strategy::Worktree);
    assert_eq!(found("/w/shared"), None, "a worktree is not shared");
    let ex = add_ws(&store, "/w/shared", Strategy::Existing);
    assert_ne!(wt, ex);
    assert_eq!(found("/w/shared"), Some(ex));
    assert_eq!(found("/w/shared/sub"), None);

    let id = add(&store, ex, "On it", Status::Stopped, 1);
    store.mark_workspace_removed(ex, at(2)).unwrap();
    assert_eq!(found("/w/shared"), None);
    let (ws_id, _, removed) = store.workspace_of(id).unwrap();
    assert_eq!((ws_id, removed), (ex, true));

    let again = add_ws(&store, "/w/shared", Strategy::Existing);
    assert_eq!(found("/w/shared"), Some(again));
}

#[test]
fn workspace_users_counts_other_sessions_only() {
    let store = Store::open_in_memory().unwrap();
    let shared = add_ws(&store, "/w/s", Strategy::Existing);
    let lone = add_ws(&store, "/w/l", Strategy::Clone);
    let a = add(&store, shared, "A", Status::Idle, 0);
    let b = add(&store, shared, "B", Status::Idle, 1);
    add(&store, shared, "C", Status::Stopped, 2);
    let d = add(&store, lone, "D", Status::Idle, 3);
    let users = |ws, path: &str, except| {
        store
            .workspace_users(ws, Path::new(path), except)
            .unwrap()
            .len()
    };
    assert_eq!((users(shared, "/w/s", a), users(shared, "/w/s", d)), (2, 3));
    assert_eq!(users(lone, "/w/l", d), 0);
    store.delete_session(b).unwrap();
    assert_eq!(users(shared, "/w/s", a), 1);
}

/// A session working inside another's workspace (an `existing` session in a worktree)
/// uses it too; a sibling whose path merely starts with the same letters does not.
#[test]
fn workspace_users_include_sessions_in_directories_below() {
    let store = Store::open_in_memory().unwrap();
    let outer = add_ws(&store, "/w/proj-a", Strategy::Worktree);
    let inner = add_ws(&store, "/w/proj-a/sub", Strategy::Existing);
    let sibling = add_ws(&store, "/w/proj-ab", Strategy::Existing);
    let a = add(&store, outer, "A", Status::Idle, 0);
    let b = add(&store, inner, "B", Status::Idle, 1);
    add(&store, sibling, "C", Status::Idle, 2);
    let users = store
        .workspace_users(outer, Path::new("/w/proj-a"), a)
        .unwrap();
    assert_eq!(users, vec![b]);
    store.mark_workspace_removed(inner, at(3)).unwrap();
    assert!(
        store
            .workspace_users(outer, Path::new("/w/proj-a"), a)
            .unwrap()
            .is_empty()
    );
}

/// A huge part goes into the search index by its two ends, read without reading it all.
#[test]
fn the_index_takes_the_ends_of_a_huge_part() {
    let (_dir, _path, store, ws) = file_store();
    let id = add(&store, ws, "Big", Status::Active, 0);
    say(&store, id, "m1", Role::Assistant);
    put(&store, "small", "m1", text(""));
    store.append_text("small", "short ✓").unwrap();
    assert_eq!(
        store.part_text_ends("small", 1024).unwrap().as_deref(),
        Some("short ✓")
    );
    put(&store, "big", "m1", text(""));
    for n in 0..5000 {
        store.append_text("big", &format!("line {n} é\n")).unwrap();
    }
    let ends = store.part_text_ends("big", 1024).unwrap().expect("text");
    assert!(ends.starts_with("line 0 é\n"), "{}", &ends[..40]);
    assert!(ends.ends_with("line 4999 é\n"), "the end is kept");
    assert!(ends.contains("\n…\n"), "the middle is left out");
    assert!(ends.len() <= 2 * 1024 + 8, "{} bytes", ends.len());
    assert!(!ends.contains("line 2500 é"), "the middle is not read in");
    assert_eq!(store.part_text_ends("none", 1024).unwrap(), None);
}

#[test]
fn comments_and_checkpoints_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("db.sqlite")).unwrap();
    let ws = add_ws(&store, "/w/review", Strategy::Worktree);
    let id = add(&store, ws, "review", Status::Idle, 0);
    let c = store
        .insert_comment(flotilla::core::Comment {
            id: 0,
            session: id,
            path: "a.rs".into(),
            line: 3,
            text: "why?".into(),
            context: vec![flotilla::core::CodeLine {
                line: Some(3),
                text: "x".into(),
            }],
            created_at: chrono::Utc::now(),
            sent_at: None,
        })
        .unwrap();
    assert!(c.id > 0);
    store
        .mark_comments_sent(&[c.id], chrono::Utc::now())
        .unwrap();
    let back = store.comments(id).unwrap();
    assert_eq!(back.len(), 1);
    assert!(back[0].sent_at.is_some());
    assert_eq!(back[0].context, c.context);
    let cp = flotilla::core::Checkpoint {
        session: id,
        turn: 2,
        commit: "ab".repeat(20),
        created_at: chrono::Utc::now(),
        files: vec![flotilla::core::ChronicleFile {
            path: "a.rs".into(),
            status: flotilla::core::FileStatus::Added,
            added: 1,
            removed: 0,
        }],
        after_message: Some("msg_1".into()),
    };
    store.insert_checkpoint(&cp).unwrap();
    assert_eq!(store.checkpoint_of(id, 2).unwrap().unwrap().files, cp.files);
    assert!(store.checkpoint_of(id, 1).unwrap().is_none());
    assert_eq!(store.checkpoints(id).unwrap().len(), 1);
    store.delete_session(id).unwrap();
    assert!(store.checkpoints(id).unwrap().is_empty());
    assert!(store.comments(id).unwrap().is_empty());
}
