//! Errors that name the real cause and what to do, driven through the real CLI: an agent
//! that is not installed, repositories git refuses, branch names git cannot take, empty
//! prompts and history searches, and output into a closed pipe.

mod support;

use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::Duration;
use support::Repo;
use support::cli::Flotilla;

fn repo() -> Repo {
    let repo = Repo::new();
    repo.write("README", "hello\n");
    repo.commit_all("first");
    repo
}

fn dir(repo: &Repo) -> String {
    repo.path().to_string_lossy().into_owned()
}

#[test]
fn a_missing_agent_fails_new_before_anything_is_made() {
    let repo = repo();
    let f = Flotilla::new();
    fs::write(
        f.path("config.toml"),
        "[agents.claude]\nkind = \"claude\"\ncommand = [\"/nonexistent/claude\"]\n",
    )
    .expect("config");
    let err = f.fails(&["new", "--dir", &dir(&repo), "--agent", "claude"]);
    assert!(err.contains("cannot find /nonexistent/claude"), "{err}");
    assert!(err.contains("install"), "{err}");
    assert_eq!(f.json(&["ls"]), serde_json::json!([]));
    assert_eq!(repo.git(&["branch", "--list", "flotilla/*"]), "");
    let made = fs::read_dir(f.path("workspaces"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(made, 0, "no worktree was made");
}

#[test]
fn ls_shows_why_a_session_failed() {
    let repo = repo();
    let f = Flotilla::new();
    // A "claude" that fails at once, saying why on stderr.
    f.fake_claude("echo 'no credentials here' >&2\nexit 3");
    let id = f.existing_session(repo.path(), Some("claude"));
    f.wait_status(&id, "error", Duration::from_secs(20));
    let reason = f.session(&id)["status_reason"]
        .as_str()
        .expect("a reason")
        .to_string();
    let table = f.ok(&["ls"]);
    let shown: String = reason.chars().take(40).collect();
    assert!(table.contains(&shown), "{table}");
}

#[test]
fn repositories_git_refuses_say_why() {
    let f = Flotilla::new();
    let tmp = tempfile::tempdir().expect("tmp");
    let bare = tmp.path().join("bare.git");
    support::git_in(tmp.path(), &["init", "-q", "--bare", "bare.git"]);
    let err = f.fails(&["new", "--dir", &bare.to_string_lossy()]);
    assert!(err.contains("bare repository"), "{err}");

    if !nix::unistd::geteuid().is_root() {
        assert!(std::env::var("CI").is_err(), "CI runs this test as root");
        return;
    }
    // A repository owned by another user: git's "dubious ownership".
    let theirs = repo();
    let nobody = nix::unistd::Uid::from_raw(65534);
    for entry in walk(theirs.path()) {
        nix::unistd::chown(&entry, Some(nobody), None).expect("chown");
    }
    let err = f.fails(&["new", "--dir", &dir(&theirs)]);
    assert!(err.contains("dubious ownership"), "{err}");
    assert!(err.contains("safe.directory"), "{err}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut all = vec![dir.to_path_buf()];
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() && !path.is_symlink() {
            all.extend(walk(&path));
        } else {
            all.push(path);
        }
    }
    all
}

#[test]
fn a_branch_name_too_long_says_so() {
    let repo = repo();
    let f = Flotilla::new();
    let long = "b".repeat(300);
    let err = f.fails(&["new", "--dir", &dir(&repo), "--branch", &long]);
    assert!(err.contains("longer than 200 bytes"), "{err}");
    assert!(!err.contains("install git"), "{err}");
}

#[test]
fn empty_prompts_and_empty_searches_say_so() {
    let repo = repo();
    let f = Flotilla::new();
    let err = f.fails(&["new", "--dir", &dir(&repo), "--prompt", "  "]);
    assert!(err.contains("the prompt is empty"), "{err}");
    assert_eq!(f.json(&["ls"]), serde_json::json!([]), "nothing was made");

    f.ok(&["new", "--dir", &dir(&repo), "--strategy", "existing"]);
    let none = f.ok(&["history", "--search", "nothing-like-this"]);
    assert!(none.contains("no session matches"), "{none}");
}

/// `flotilla log ID | head`: the reader leaves early; flotilla ends as a Unix tool does.
#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let repo = repo();
    let f = Flotilla::new();
    let s = f.json(&["new", "--dir", &dir(&repo), "--strategy", "existing"]);
    let id = s["id"].as_str().expect("id").to_string();
    f.ok(&["send", &id, "seq 1 200000"]);
    f.wait_status(&id, "idle", Duration::from_secs(30));
    for _ in 0..3 {
        let mut log = f
            .command(&["log", &id])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("log");
        let mut first = [0u8; 64];
        std::io::Read::read_exact(log.stdout.as_mut().expect("stdout"), &mut first)
            .expect("some output");
        drop(log.stdout.take());
        let out = log.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert_eq!(
            out.status.signal(),
            Some(13),
            "ended by SIGPIPE: {:?}",
            out.status
        );
    }
}

/// A typo in one agent keeps the rest of the file, and never turns sessions of an agent
/// that went missing into errors: they wait, idle, until the file is fixed.
#[test]
fn a_config_typo_keeps_the_rest_and_fails_no_session() {
    let repo = repo();
    let f = Flotilla::new();
    let good = "[agents.mine]\ncommand = [\"sh\", \"-c\", \"{prompt}\"]\n";
    let typo = "[agents.other]\ncomand = [\"x\"]\n";
    fs::write(f.path("config.toml"), format!("{good}{typo}")).expect("config");
    let id = f.existing_session(repo.path(), Some("mine"));
    f.ok(&["send", &id, "echo kept-the-valid-agent"]);
    f.wait_status(&id, "idle", Duration::from_secs(10));
    assert!(f.ok(&["log", &id]).contains("kept-the-valid-agent"));
    let status = f.ok(&["daemon", "status"]);
    assert!(status.contains("ignored agents.other"), "{status}");

    // Now the session's own agent has the typo.
    fs::write(f.path("config.toml"), "[agents.mine]\ncomand = [\"sh\"]\n").expect("config");
    f.ok(&["daemon", "stop"]);
    assert_eq!(f.status(&id), "idle");
    let err = f.fails(&["send", &id, "echo while-broken"]);
    assert!(err.contains("agent 'mine' is not configured"), "{err}");
    f.ok(&["daemon", "stop"]);
    assert_eq!(f.status(&id), "idle", "no error was stored");

    fs::write(f.path("config.toml"), good).expect("config");
    f.ok(&["daemon", "stop"]);
    f.ok(&["send", &id, "echo fixed-again"]);
    f.wait_status(&id, "idle", Duration::from_secs(10));
    assert!(f.ok(&["log", &id]).contains("fixed-again"));
}

#[test]
fn stop_cleanup_of_a_directory_flotilla_did_not_make_is_refused() {
    let repo = repo();
    let f = Flotilla::new();
    let id = f.existing_session(repo.path(), None);
    let err = f.fails(&["stop", &id, "--cleanup"]);
    assert!(err.contains("your own directory"), "{err}");
    assert!(err.contains("leave out --cleanup"), "{err}");
    assert_eq!(f.status(&id), "idle", "nothing was changed");
    assert!(repo.path().join("README").exists());
    f.ok(&["stop", &id]);
    assert_eq!(f.status(&id), "stopped");
}

#[test]
fn diff_of_a_worktree_whose_repository_was_deleted_names_the_repository() {
    let repo = repo();
    let f = Flotilla::new();
    let s = f.json(&["new", "--dir", &dir(&repo), "--strategy", "worktree"]);
    let id = s["id"].as_str().expect("id").to_string();
    let workspace = s["workspace"].as_str().expect("workspace").to_string();
    fs::remove_dir_all(repo.path().join(".git")).expect("delete the repository");
    assert!(std::path::Path::new(&workspace).is_dir());
    let err = f.fails(&["diff", &id]);
    assert!(err.contains("source repository"), "{err}");
    assert!(err.contains("is gone"), "{err}");
    assert!(!err.contains("its folder is gone"), "{err}");
}

#[test]
fn a_plain_directory_runs_with_existing_and_says_diffs_are_unavailable() {
    let f = Flotilla::new();
    let plain = tempfile::tempdir().expect("tempdir");
    let made = f.run(&[
        "new",
        "--dir",
        &plain.path().to_string_lossy(),
        "--strategy",
        "existing",
        "--prompt",
        "echo hi > made.txt",
    ]);
    assert!(made.status.success(), "{made:?}");
    let said =
        String::from_utf8_lossy(&made.stderr).to_string() + &String::from_utf8_lossy(&made.stdout);
    assert!(said.contains("not a git repository"), "{said}");
    let id = f.json(&["ls"])[0]["id"].as_str().expect("id").to_string();
    f.wait_status(&id, "idle", std::time::Duration::from_secs(10));
    assert!(
        plain.path().join("made.txt").exists(),
        "the agent ran in it"
    );
    let err = f.fails(&["diff", &id]);
    assert!(
        err.contains("diffs are unavailable") && !err.contains('\n'),
        "{err}"
    );
    f.ok(&["daemon", "stop"]);
}
