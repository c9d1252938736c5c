//! Each lifecycle command through the real CLI and daemon binaries: answer, wait, new
//! with a parent, limits and a template, templates, archive and restore, chronicle ls and
//! show, reforge, and the one-shot run.

mod support;

use std::time::Duration;
use support::Repo;
use support::cli::Flotilla;

const WAIT: Duration = Duration::from_secs(30);

fn repo() -> Repo {
    let repo = Repo::new();
    repo.write("README", "hello\n");
    repo.commit_all("first");
    repo
}

fn id_of(session: &serde_json::Value) -> String {
    session["id"].as_str().expect("id").to_string()
}

#[test]
fn limits_wait_and_show_through_the_cli() {
    let repo = repo();
    let f = Flotilla::new();
    let dir = repo.path().to_string_lossy().into_owned();
    let s = f.json(&[
        "new",
        "--dir",
        &dir,
        "--prompt",
        "echo one",
        "--max-turns",
        "1",
        "--ttl",
        "2h",
    ]);
    let id = id_of(&s);
    let reached = f.json(&["wait", &id, "--for", "ended", "--timeout", "30s"]);
    assert_eq!(reached["status"], "completed");
    assert_eq!(reached["status_reason"], "max turns 1 reached");
    let show = f.ok(&["show", &id]);
    assert!(show.contains("limit     max turns 1: 0 left"), "{show}");
    assert!(show.contains("limit     ttl 2h:"), "{show}");
    let json = f.json(&["show", &id]);
    assert_eq!(json["session"]["limits"]["max_turns"], 1);

    // A status the session will not reach in time: 124, as timeout(1) exits.
    let idle = id_of(&f.json(&["new", "--dir", &dir]));
    let out = f.run(&["wait", &idle, "--for", "waiting_input", "--timeout", "1s"]);
    assert_eq!(out.status.code(), Some(124), "{out:?}");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("still idle after 1s"), "{said}");
    // One it can never reach, as it has ended: a failure at once, not a timeout.
    let out = f.run(&["wait", &id, "--for", "idle", "--timeout", "30s"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    for bad in [
        vec!["new", "--dir", &dir, "--max-turns", "0"],
        vec!["new", "--dir", &dir, "--ttl", "soon"],
        vec!["new", "--dir", &dir, "--ttl", "1000000years"],
        vec!["new", "--dir", &dir, "--notify", "on-end"],
        vec!["answer", &idle, "once"],
        vec!["answer", &idle, "maybe"],
    ] {
        f.fails(&bad);
    }
    // None of them hurt the daemon: it still answers.
    assert_eq!(f.status(&idle), "idle");
}

#[test]
fn a_parent_hears_from_its_child_through_the_cli() {
    let repo = repo();
    let f = Flotilla::new();
    let log = f.path("prompts.log");
    std::fs::write(
        f.path("config.toml"),
        format!(
            "[agents.recorder]\ncommand = [\"sh\", \"-c\", \"printf '%s\\\\n' \\\"$1\\\" >> '{}'\", \"sh\", \"{{prompt}}\"]\n",
            log.display()
        ),
    )
    .expect("config");
    let dir = repo.path().to_string_lossy().into_owned();
    let parent = id_of(&f.json(&["new", "--dir", &dir, "--agent", "recorder"]));
    let child = f.json(&[
        "new",
        "--dir",
        &dir,
        "--parent",
        &parent,
        "--notify",
        "on-end",
        "--prompt",
        "echo made > made.txt",
    ]);
    let child_id = id_of(&child);
    f.ok(&["wait", &child_id, "--for", "idle"]);
    f.ok(&["stop", &child_id]);
    support::cli::wait_until(WAIT, "the parent's agent to hear of the child", || {
        std::fs::read_to_string(&log).is_ok_and(|t| t.contains("made.txt"))
    });
    let got = std::fs::read_to_string(&log).expect("log");
    assert!(
        got.contains(&child_id[..8]) && got.contains("is stopped"),
        "{got}"
    );
    assert!(got.contains("A made.txt +1 -0"), "{got}");
    let show = f.ok(&["show", &parent]);
    assert!(
        show.contains(&format!("child     {}", &child_id[..8])),
        "{show}"
    );
    assert!(show.contains("callback  from"), "{show}");
}

#[test]
fn templates_archive_restore_chronicles_and_reforge_through_the_cli() {
    let repo = repo();
    let f = Flotilla::new();
    std::fs::write(
        f.path("config.toml"),
        "[templates.tidy]\nbranch = \"tidy/{title}\"\nsetup = \"echo prepared > .prepared\"\nidle_timeout = \"1h\"\n",
    )
    .expect("config");
    let listed = f.ok(&["templates"]);
    assert!(
        listed.contains("tidy") && listed.contains("idle timeout 1h"),
        "{listed}"
    );
    assert_eq!(f.json(&["templates"])[0]["name"], "tidy");
    let dir = repo.path().to_string_lossy().into_owned();
    let s = f.json(&[
        "new",
        "--dir",
        &dir,
        "--template",
        "tidy",
        "--title",
        "Clean up",
    ]);
    let id = id_of(&s);
    assert_eq!(s["branch"], "tidy/clean-up");
    f.ok(&["wait", &id, "--for", "idle"]);
    let workspace = std::path::PathBuf::from(s["workspace"].as_str().expect("workspace"));
    assert!(
        workspace.join(".prepared").exists(),
        "the setup ran in the workspace"
    );
    f.ok(&["send", &id, "echo draft > notes.txt"]);
    f.wait_status(&id, "idle", WAIT);
    let files = support::files_on_disk(&workspace);

    f.ok(&["stop", &id]);
    let archived = f.json(&["archive", &id]);
    assert_eq!(archived["status"], "archived");
    assert!(!workspace.exists());
    let chronicles = f.json(&["chronicle", "ls"]);
    let first = chronicles[0]["id"].as_str().expect("chronicle").to_string();
    assert_eq!(chronicles[0]["reason"], "archived");
    let restored = f.json(&["restore", &id]);
    assert_eq!(restored["status"], "stopped");
    assert_eq!(support::files_on_disk(&workspace), files);

    let show = f.ok(&["chronicle", "show", &first[..8], "--diff"]);
    assert!(show.contains("+draft"), "the diff is shown: {show}");
    assert!(
        show.contains("echo draft > notes.txt"),
        "the transcript is shown: {show}"
    );
    let plain = f.ok(&["chronicle", "show", &first[..8]]);
    assert!(!plain.contains("+draft"), "no diff without --diff: {plain}");

    let new = f.json(&["reforge", &first[..8], "--title", "Again"]);
    let new_ws = std::path::PathBuf::from(new["workspace"].as_str().expect("workspace"));
    assert_eq!(support::files_on_disk(&new_ws), files);
    assert_eq!(new["reforged_from"], first.as_str());
    let missing = f.fails(&["reforge", "abcdef12"]);
    assert!(missing.contains("no chronicle matches"), "{missing}");
}

#[test]
fn run_prints_the_reply_and_leaves_nothing_behind() {
    let repo = repo();
    let f = Flotilla::new();
    let dir = repo.path().to_string_lossy().into_owned();
    // No daemon runs yet: `run` starts one.
    let out = f.run(&["run", "--dir", &dir, "--agent", "shell", "echo hi"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hi\n");
    assert_eq!(f.json(&["ls"]), serde_json::json!([]), "no session is left");
    let workspaces = f.path("workspaces");
    let left: Vec<_> = (std::fs::read_dir(&workspaces).expect("the workspace root"))
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "no workspace is left: {left:?}");

    let out = f.run(&["run", "--dir", &dir, "echo failing; exit 3"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "failing\n");

    // Work the agent leaves is kept, and where it is said.
    let out = f.run(&["run", "--dir", &dir, "echo work > kept.txt"]);
    assert!(out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stderr);
    let sessions = f.json(&["ls"]);
    let kept = &sessions[0];
    assert_eq!(kept["status"], "stopped");
    let path = kept["workspace"].as_str().expect("workspace");
    assert!(said.contains(path), "{said}");
    assert!(std::path::Path::new(path).join("kept.txt").exists());

    let out = f.run(&["run", "--dir", &dir, "--json", "echo as-json"]);
    assert!(out.status.success(), "{out:?}");
    let lines = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        lines
            .lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()),
        "{lines}"
    );
    assert!(lines.contains("as-json"), "{lines}");
}

#[test]
fn an_interrupted_run_ends_its_session() {
    let repo = repo();
    let f = Flotilla::new();
    let gate = support::Gate::new();
    let dir = repo.path().to_string_lossy().into_owned();
    let prompt = format!("echo started; {}", gate.wait(1));
    let mut run = f
        .command(&["run", "--dir", &dir, &prompt])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run");
    support::cli::wait_until(WAIT, "the run's session to be busy", || {
        let sessions = f.json(&["ls"]);
        sessions[0]["status"] == "active"
    });
    let pid = nix::unistd::Pid::from_raw(run.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("interrupt");
    let status = run.wait().expect("wait");
    assert_eq!(status.code(), Some(130));
    assert_eq!(
        f.json(&["ls"]),
        serde_json::json!([]),
        "the session is gone"
    );
}
