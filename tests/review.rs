//! Reviewing a session's work through the engine, with real git and real processes:
//! checkpoints after every turn and rolling back to them, review comments sent to the
//! agent, and conflict warnings between sessions.

mod support;

use flotilla::core::{Checkpoint, Comment, Session, Status, Strategy};
use flotilla::protocol::{Command, NewSession, Reply};
use support::engine::AgentWorld;
use support::lifecycle::*;
use support::{files_on_disk, git_in};

async fn session(w: &AgentWorld, strategy: Strategy, title: &str) -> Session {
    let s = create(
        w,
        NewSession {
            strategy: Some(strategy),
            title: Some(title.into()),
            ..NewSession::default()
        },
    )
    .await;
    w.wait_for(&s, |s| s.status == Status::Idle).await
}

async fn checkpoints(w: &AgentWorld, s: &Session) -> Vec<Checkpoint> {
    let id = s.id.to_string();
    match w.request(Command::Checkpoints { id }).await {
        Reply::Checkpoints { checkpoints } => checkpoints,
        other => panic!("{other:?}"),
    }
}

/// Runs a turn and waits for its checkpoint.
async fn turn_kept(w: &AgentWorld, s: &Session, work: &str) -> Checkpoint {
    let before = checkpoints(w, s).await.len();
    w.turn(s, work).await;
    w.events
        .until(s.id, "a checkpoint", async || {
            let all = checkpoints(w, s).await;
            match all.len() > before {
                true => Ok(all.last().cloned().expect("one")),
                false => Err(format!("{} checkpoints", all.len())),
            }
        })
        .await
}

fn refs(repo: &std::path::Path) -> String {
    git_in(repo, &["for-each-ref", "--format=%(refname) %(objectname)"])
}

#[rstest::rstest]
#[case::worktree(Strategy::Worktree)]
#[case::clone(Strategy::Clone)]
#[tokio::test]
async fn every_finished_turn_keeps_the_exact_tree_without_touching_the_workspace(
    #[case] strategy: Strategy,
) {
    let w = world("").await;
    let s = session(&w, strategy, "cp").await;
    let index = || {
        let path = git_in(
            &s.workspace,
            &["rev-parse", "--path-format=absolute", "--git-path", "index"],
        );
        std::fs::read(path.trim()).unwrap_or_default()
    };
    let head = git_in(&s.workspace, &["rev-parse", "HEAD"]);
    let index_before = index();
    let first = turn_kept(&w, &s, "echo one > new.txt && printf 'more\\n' >> README").await;
    assert_eq!(first.turn, 1);
    let mut files: Vec<_> = first
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.added))
        .collect();
    files.sort();
    assert_eq!(files, [("README", 1), ("new.txt", 1)]);
    // The tree is the files on disk, under a private ref of the source repository.
    let refname = Checkpoint::refname(s.id, 1);
    let at = git_in(w.repo.path(), &["rev-parse", &refname]);
    assert_eq!(at.trim(), first.commit);
    let shown = git_in(
        w.repo.path(),
        &["show", &format!("{}:new.txt", first.commit)],
    );
    assert_eq!(shown, "one", "git_in trims");
    assert_eq!(
        git_in(&s.workspace, &["rev-parse", "HEAD"]),
        head,
        "HEAD moved"
    );
    assert_eq!(index(), index_before, "the workspace's index was written");
    let status = git_in(&s.workspace, &["status", "--porcelain"]);
    assert!(
        status.contains("?? new.txt") && status.contains(" M README"),
        "{status}"
    );

    let second = turn_kept(&w, &s, "rm new.txt").await;
    assert_eq!(second.turn, 2);
    let gone: Vec<_> = second.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(gone, ["new.txt"], "only what the turn changed");
    assert!(second.after_message.is_some());
    let listed = checkpoints(&w, &s).await;
    assert_eq!(listed.iter().map(|c| c.turn).collect::<Vec<_>>(), [1, 2]);

    // Removing the session deletes its checkpoints' refs.
    w.request(Command::Remove {
        id: s.id.to_string(),
        cleanup: true,
        force: true,
    })
    .await;
    // They go off the engine's task after the reply, with no event of their own to
    // wait for: the repository is watched until they are gone.
    let prefix = Checkpoint::prefix(s.id);
    let limit = std::time::Duration::from_secs(30);
    support::poll::until(limit, "the refs gone", async || {
        !refs(w.repo.path()).contains(&prefix)
    })
    .await;
}

#[rstest::rstest]
#[case::worktree(Strategy::Worktree)]
#[case::clone(Strategy::Clone)]
#[tokio::test]
async fn rollback_restores_a_deleted_untracked_file_and_removes_an_added_one(
    #[case] strategy: Strategy,
) {
    let w = world("").await;
    let s = session(&w, strategy, "rb").await;
    turn_kept(&w, &s, "echo precious > untracked.txt").await;
    let after_one = files_on_disk(&s.workspace);
    turn_kept(
        &w,
        &s,
        "rm untracked.txt && echo later > added.txt && printf 'x\\n' >> README",
    )
    .await;
    let id = s.id.to_string();
    let rollback = |force| Command::Rollback {
        id: id.clone(),
        turn: 1,
        force,
    };
    let Reply::RolledBack { done, .. } = w.request(rollback(false)).await else {
        panic!()
    };
    assert!(done, "nothing changed since the newest checkpoint");
    assert_eq!(files_on_disk(&s.workspace), after_one);

    // A change after the newest checkpoint needs force, and is listed.
    std::fs::write(s.workspace.join("mine.txt"), "typed by hand\n").unwrap();
    let Reply::RolledBack { done, unsaved, .. } = w.request(rollback(false)).await else {
        panic!()
    };
    assert!(!done);
    assert_eq!(unsaved, ["A mine.txt"], "status letter and path");
    assert!(s.workspace.join("mine.txt").exists(), "nothing was done");
    let Reply::RolledBack { done, .. } = w.request(rollback(true)).await else {
        panic!()
    };
    assert!(done);
    assert_eq!(files_on_disk(&s.workspace), after_one);

    let err = refused(
        &w,
        Command::Rollback {
            id: id.clone(),
            turn: 9,
            force: false,
        },
    )
    .await;
    assert!(err.contains("no checkpoint after turn 9"), "{err}");
}

#[tokio::test]
async fn rollback_and_landing_are_refused_while_a_turn_runs() {
    let w = world("").await;
    let s = session(&w, Strategy::Worktree, "busy").await;
    turn_kept(&w, &s, "echo a > a.txt").await;
    let gate = support::Gate::new();
    w.send(&s, &format!("{} && echo b > b.txt", gate.wait(1)))
        .await;
    w.wait_for(&s, |s| s.status == Status::Active).await;
    let id = s.id.to_string();
    let checks = [
        Command::Rollback {
            id: id.clone(),
            turn: 1,
            force: true,
        },
        Command::Commit {
            id: id.clone(),
            message: None,
        },
        Command::Merge {
            id: id.clone(),
            into: None,
            squash: false,
        },
        Command::Push {
            id: id.clone(),
            remote: None,
        },
    ];
    for command in checks {
        let err = refused(&w, command).await;
        assert!(err.contains("a turn is running"), "{err}");
    }
    gate.open(1);
    w.wait_for(&s, |s| s.status == Status::Idle).await;
}

#[tokio::test]
async fn review_comments_quote_the_code_and_go_to_the_agent_as_one_prompt() {
    let dir = tempfile::tempdir().expect("tmp");
    let log = dir.path().join("prompts.log");
    let w = world(&recorder(&log)).await;
    let s = session(&w, Strategy::Worktree, "review").await;
    // The default agent runs its prompt: this writes the file the comments are on.
    let code = "printf 'one\\ntwo\\nthree\\nfour\\nfive\\n' > code.txt";
    turn_kept(&w, &s, code).await;
    let id = s.id.to_string();
    let comment = |path: &str, line, text: &str| Command::Comment {
        id: id.clone(),
        path: path.into(),
        line,
        text: text.into(),
    };
    let Reply::Comments { comments, .. } = w.request(comment("code.txt", 3, "why three?")).await
    else {
        panic!()
    };
    let first: &Comment = &comments[0];
    assert_eq!((first.line, first.sent_at), (3, None));
    let quoted: Vec<_> = first
        .context
        .iter()
        .map(|c| (c.line, c.text.as_str()))
        .collect();
    assert_eq!(
        quoted,
        [
            (Some(1), "one"),
            (Some(2), "two"),
            (Some(3), "three"),
            (Some(4), "four"),
            (Some(5), "five")
        ]
    );
    w.request(comment("./code.txt", 5, "and five")).await;
    let err = refused(&w, comment("code.txt", 9, "nothing there")).await;
    assert!(
        err.contains("code.txt:9 is not a line of the session's diff"),
        "{err}"
    );
    let err = refused(&w, comment("README", 1, "unchanged file")).await;
    assert!(err.contains("README:1 is not a line"), "{err}");
    assert!(
        refused(&w, comment("code.txt", 3, "  "))
            .await
            .contains("empty")
    );

    // Sent, they reach the agent: a recorder, so the prompt can be read back.
    let r = create(
        &w,
        NewSession {
            agent: Some("recorder".into()),
            strategy: Some(Strategy::Worktree),
            prompt: Some(code.into()),
            ..NewSession::default()
        },
    )
    .await;
    let r = w.wait_for(&r, |s| s.status == Status::Idle).await;
    // The recorder does not run the prompt: the file is made here, as the agent would.
    std::fs::write(
        r.workspace.join("code.txt"),
        "one\ntwo\nthree\nfour\nfive\n",
    )
    .unwrap();
    let rid = r.id.to_string();
    w.request(Command::Comment {
        id: rid.clone(),
        path: "code.txt".into(),
        line: 2,
        text: "rename two".into(),
    })
    .await;
    let Reply::Comments { comments, sent } = w
        .request(Command::Comments {
            id: rid.clone(),
            send: true,
        })
        .await
    else {
        panic!()
    };
    assert_eq!(sent, 1);
    assert!(comments.iter().all(|c| c.sent_at.is_some()));
    w.wait_for(&r, |s| s.status == Status::Idle && s.message_count >= 4)
        .await;
    let prompts = std::fs::read_to_string(&log).unwrap();
    assert!(prompts.contains("code.txt:2\n"), "{prompts}");
    assert!(prompts.contains("> 2 | two\n"), "{prompts}");
    assert!(prompts.contains("Comment: rename two\n"), "{prompts}");
    let err = refused(
        &w,
        Command::Comments {
            id: rid,
            send: true,
        },
    )
    .await;
    assert!(err.contains("no comments waiting"), "{err}");
}

async fn conflicts_of(w: &AgentWorld, s: &Session) -> Vec<String> {
    w.get(s)
        .await
        .conflicts
        .iter()
        .map(|c| format!("{}:{}", c.with_name, c.files.join(",")))
        .collect()
}

/// Waits until the session's conflict warnings are exactly `want` ("other:files").
async fn conflicts_become(w: &AgentWorld, s: &Session, want: &[&str]) {
    w.events
        .until(s.id, "the conflict warnings", async || {
            let got = conflicts_of(w, s).await;
            match got == want {
                true => Ok(()),
                false => Err(format!("{got:?}")),
            }
        })
        .await;
}

#[tokio::test]
async fn sessions_that_edit_the_same_line_are_warned_and_others_are_not() {
    let w = world("").await;
    let a = session(&w, Strategy::Worktree, "alpha").await;
    let b = session(&w, Strategy::Clone, "beta").await;
    let c = session(&w, Strategy::Worktree, "gamma").await;
    turn_kept(&w, &a, "echo from-a > README && echo a > only-a.txt").await;
    turn_kept(&w, &c, "echo c > only-c.txt").await;
    turn_kept(&w, &b, "echo from-b > README").await;
    conflicts_become(&w, &a, &["beta:README"]).await;
    assert_eq!(conflicts_of(&w, &b).await, ["alpha:README"]);
    assert!(
        conflicts_of(&w, &c).await.is_empty(),
        "different files merge cleanly"
    );
    let Reply::Conflicts { pairs } = w.request(Command::Conflicts).await else {
        panic!()
    };
    assert_eq!(pairs.len(), 1, "{pairs:?}");

    // The base branch moving onto c's file warns c, without a turn.
    w.repo.write("only-c.txt", "from main\n");
    w.repo.commit_all("main takes only-c");
    w.events
        .until_within(
            std::time::Duration::from_secs(30),
            c.id,
            "a warning against main",
            async || {
                let got = conflicts_of(&w, &c).await;
                match got == ["main:only-c.txt"] {
                    true => Ok(()),
                    false => Err(format!("{got:?}")),
                }
            },
        )
        .await;
}

/// Work that was committed and merged stands for itself by its branch's tip, not by a
/// checkpoint whose parent is the old base: sessions started on top of it do not
/// conflict with it, while they still do with each other.
#[tokio::test]
async fn landed_work_does_not_conflict_with_sessions_built_on_it() {
    let w = world("").await;
    let a = session(&w, Strategy::Worktree, "alpha").await;
    turn_kept(&w, &a, "printf 'x\\ny\\n' > notes.txt").await;
    let id = a.id.to_string();
    for command in [
        Command::Commit {
            id: id.clone(),
            message: None,
        },
        Command::Merge {
            id: id.clone(),
            into: None,
            squash: false,
        },
    ] {
        let reply = w.request(command).await;
        assert!(matches!(reply, Reply::Landed { .. }), "{reply:?}");
    }
    let b = session(&w, Strategy::Worktree, "beta").await;
    let c = session(&w, Strategy::Worktree, "gamma").await;
    turn_kept(&w, &b, "printf 'x from b\\ny\\n' > notes.txt").await;
    turn_kept(&w, &c, "printf 'x from c\\ny\\n' > notes.txt").await;
    conflicts_become(&w, &b, &["gamma:notes.txt"]).await;
    assert!(conflicts_of(&w, &a).await.is_empty());
}
