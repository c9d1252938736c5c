//! Chronicles, reforge, archive and restore through the engine, with real git: the
//! exact files come back, whatever was committed or not.

mod support;

use flotilla::core::Status;
use flotilla::protocol::{Command, Reforge, Reply};
use support::lifecycle::*;
use support::{files_on_disk, git_in};

#[tokio::test]
async fn a_chronicle_keeps_the_exact_files_through_a_cleanup_and_reforge_brings_them_back() {
    let w = world("").await;
    let (s, files) = with_work(&w).await;
    let stop = Command::Stop {
        id: s.id.to_string(),
        cleanup: true,
        force: true,
    };
    w.request(stop).await;
    assert!(!s.workspace.exists(), "the cleanup removed the workspace");
    let kept = chronicles(&w, &s).await;
    assert_eq!(kept.len(), 1, "{kept:?}");
    let c = &kept[0];
    assert_eq!(c.reason, "stopped");
    let paths: Vec<&str> = c.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["README", "committed.txt", "untracked.txt"]);
    let show = w
        .request(Command::Chronicle {
            id: c.short().into(),
        })
        .await;
    let Reply::Chronicle {
        transcript, diff, ..
    } = show
    else {
        panic!("{show:?}")
    };
    assert!(transcript.contains("untracked.txt"), "{transcript}");
    assert!(diff.contains("+fresh"), "{diff}");

    let reforge = Reforge {
        chronicle: c.short().into(),
        prompt: Some("echo again".into()),
        ..Reforge::default()
    };
    let new = match w.request(Command::Reforge(reforge)).await {
        Reply::Session { session, .. } => session,
        other => panic!("{other:?}"),
    };
    assert_eq!(new.reforged_from.as_deref(), Some(c.id.as_str()));
    assert_ne!(new.workspace, s.workspace);
    assert_eq!(
        files_on_disk(&new.workspace),
        files,
        "exactly the files the first session left"
    );
    let status = git_in(&new.workspace, &["status", "--porcelain"]);
    assert!(
        status.contains(" M README") && status.contains("?? untracked.txt"),
        "{status}"
    );
    assert_eq!(
        new.base_commit, s.base_commit,
        "diffs go back to the first base"
    );
    // The first prompt carries the earlier context.
    let new = w
        .wait_for(&new, |s| s.status == Status::Idle && s.turns == 1)
        .await;
    w.until_text(&new, "continues earlier work").await;
    let stop = Command::Stop {
        id: new.id.to_string(),
        cleanup: false,
        force: false,
    };
    w.request(stop).await;
    let second = chronicles(&w, &new).await;
    assert_eq!(
        second[0].parent_chronicle_id.as_deref(),
        Some(c.id.as_str())
    );
    let show = w
        .request(Command::Chronicle {
            id: second[0].id.clone(),
        })
        .await;
    let Reply::Chronicle { chain, .. } = show else {
        panic!("{show:?}")
    };
    assert_eq!(
        chain.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        [c.id.as_str()]
    );
}

#[tokio::test]
async fn archive_frees_the_workspace_and_restore_brings_back_exactly_its_files() {
    let w = world("").await;
    let (s, files) = with_work(&w).await;
    let archive = Command::Archive {
        id: s.id.to_string(),
        force: false,
    };
    assert!(refused(&w, archive.clone()).await.contains("stop it first"));
    let stop = Command::Stop {
        id: s.id.to_string(),
        cleanup: false,
        force: false,
    };
    w.request(stop).await;
    // An ignored file cannot be saved: archiving asks for --force first.
    std::fs::write(s.workspace.join(".env"), "SECRET=1\n").expect("env");
    let exclude = w.repo.path().join(".git/info/exclude");
    std::fs::write(&exclude, ".env\n").expect("exclude");
    let refusal = refused(&w, archive.clone()).await;
    assert!(
        refusal.contains("1 ignored file(s) (.env)") && refusal.contains("--force"),
        "{refusal}"
    );
    assert!(s.workspace.join(".env").exists(), "nothing was changed");
    let archive = Command::Archive {
        id: s.id.to_string(),
        force: true,
    };
    let Reply::Session { session, note } = w.request(archive).await else {
        panic!()
    };
    assert_eq!(session.status, Status::Archived);
    assert!(note.is_some_and(|n| n.contains("restore")));
    assert!(!s.workspace.exists(), "archiving freed the directory");
    let send = Command::Send {
        id: s.id.to_string(),
        text: "echo x".into(),
    };
    assert!(refused(&w, send).await.contains("restore it first"));

    let Reply::Session { session, .. } = w
        .request(Command::Restore {
            id: s.id.to_string(),
        })
        .await
    else {
        panic!()
    };
    assert_eq!(session.status, Status::Stopped);
    assert_eq!(
        files_on_disk(&s.workspace),
        files,
        "exactly the files it had"
    );
    let status = git_in(&s.workspace, &["status", "--porcelain"]);
    assert!(
        status.contains(" M README") && status.contains("?? untracked.txt"),
        "{status}"
    );
    w.request(Command::Resume {
        id: s.id.to_string(),
    })
    .await;
    w.wait_for(&s, |s| s.status == Status::Idle).await;
    let again = w.turn(&s, "cat untracked.txt").await;
    assert_eq!(again.status, Status::Idle);
    w.until_text(&s, "fresh").await;
}

#[tokio::test]
async fn archive_refuses_what_it_cannot_save_and_restore_finishes_what_a_crash_left() {
    let w = world("").await;
    let (s, files) = with_work(&w).await;
    let nested = s.workspace.join("vendor/dep");
    std::fs::create_dir_all(&nested).expect("mkdir");
    git_in(&nested, &["init", "-q"]);
    std::fs::write(nested.join("lib.txt"), "dep\n").expect("write");
    git_in(&nested, &["add", "lib.txt"]);
    git_in(
        &nested,
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-qm",
            "dep",
        ],
    );
    let stop = Command::Stop {
        id: s.id.to_string(),
        cleanup: false,
        force: false,
    };
    w.request(stop).await;
    let archive = |force| Command::Archive {
        id: s.id.to_string(),
        force,
    };
    let refusal = refused(&w, archive(false)).await;
    assert!(
        refusal.contains("git repositories inside the workspace (vendor/"),
        "{refusal}"
    );
    std::fs::remove_dir_all(s.workspace.join("vendor")).expect("rm");
    w.request(archive(false)).await;
    assert!(!s.workspace.exists());
    // A restore cut short by a crash left part of the directory behind.
    std::fs::create_dir_all(s.workspace.join("half")).expect("mkdir");
    let restore = Command::Restore {
        id: s.id.to_string(),
    };
    let Reply::Session { session, .. } = w.request(restore).await else {
        panic!()
    };
    assert_eq!(session.status, Status::Stopped);
    assert_eq!(files_on_disk(&s.workspace), files);
}
