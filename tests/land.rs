//! Landing a session's work against real git repositories: committing a workspace,
//! merging its branch into the source repository (and refusing, changing nothing, when it
//! cannot), pushing it, and the comparisons behind checkpoints and conflict warnings.

mod land_fixture;
mod support;

use flotilla::core::{ChronicleFile, FileStatus, Strategy};
use flotilla::workspace::{
    Committed, MergePlan, Merged, Pushed, WorkspaceError, changed_since, commit, files_between,
    merge, merge_plan, push, snapshot, uncommitted, would_conflict,
};
use land_fixture::*;
use rstest::rstest;
use std::fs;

/// Every kind of change `commit` must stage, and one it must leave out (the ignored log).
fn make_changes(dir: &std::path::Path) {
    fs::write(dir.join("mod.txt"), "after\n").unwrap();
    fs::remove_file(dir.join("gone.txt")).unwrap();
    fs::write(dir.join("new.txt"), "new\n").unwrap();
    fs::create_dir_all(dir.join("dir")).unwrap();
    fs::write(dir.join("dir/deep.txt"), "deep\n").unwrap();
    fs::write(dir.join("debug.log"), "ignored\n").unwrap();
}

/// `commit` stages modified, deleted and untracked files but not ignored ones, with the
/// message given; `uncommitted` says beforehand exactly what it will commit, changing
/// nothing; with nothing left, `commit` makes nothing.
#[rstest]
#[case::worktree(Strategy::Worktree)]
#[case::clone(Strategy::Clone)]
fn commit_stages_every_change_but_ignored_files(#[case] strategy: Strategy) {
    let f = fixture();
    let ws = f.create(strategy);
    make_changes(&ws.path);
    let (before, index) = (head(&ws.path), index_bytes(&ws.path));
    let pending = uncommitted(&ws).unwrap();
    let want = [
        ('A', "dir/deep.txt"),
        ('D', "gone.txt"),
        ('M', "mod.txt"),
        ('A', "new.txt"),
    ];
    assert_eq!(pending, want.map(|(c, p)| (c, p.to_string())));
    assert_eq!(index_bytes(&ws.path), index, "uncommitted leaves the index");

    let made: Committed = commit(&ws, "the agent's work").unwrap().expect("a commit");
    assert_eq!(made.commit, head(&ws.path));
    assert_eq!(made.branch, "work");
    assert_eq!(made.files, want.map(|(_, p)| p.to_string()));
    assert_eq!(parents(&ws.path, &made.commit), [before]);
    assert_eq!(
        g(&ws.path, ["log", "-1", "--format=%s"]),
        "the agent's work"
    );
    let files = tree(&ws.path, &made.commit);
    assert!(files.contains_key("new.txt") && files.contains_key("dir/deep.txt"));
    assert!(!files.contains_key("gone.txt") && !files.contains_key("debug.log"));
    assert_eq!(files["mod.txt"].1, b"after\n");
    assert_eq!(
        status(&ws.path),
        "",
        "everything but the ignored file is in"
    );
    assert!(ws.path.join("debug.log").exists());

    assert_eq!(commit(&ws, "again").unwrap(), None);
    assert_eq!(head(&ws.path), made.commit);
}

/// An existing directory is committed on the branch it is on, in its own repository.
#[test]
fn existing_directory_commits_on_its_branch() {
    let f = fixture();
    let ws = f.create(Strategy::Existing);
    fs::write(f.repo.join("mod.txt"), "after\n").unwrap();
    let made = commit(&ws, "in place").unwrap().expect("a commit");
    assert_eq!(made.files, ["mod.txt"]);
    assert_eq!(g(&f.repo, ["rev-parse", "refs/heads/main"]), made.commit);
    assert_eq!(status(&f.repo), "");
}

/// A detached HEAD, an empty message and a missing identity are refused before anything
/// is staged, each in one line that says what to do.
#[test]
fn commit_refusals_stage_nothing() {
    let f = fixture();
    let ws = f.create(Strategy::Worktree);
    fs::write(ws.path.join("mod.txt"), "after\n").unwrap();
    fs::write(ws.path.join("new.txt"), "new\n").unwrap();
    g(&ws.path, ["switch", "-q", "--detach"]);
    let before = state(&ws.path);
    let err = commit(&ws, "x").unwrap_err();
    assert!(matches!(err, WorkspaceError::DetachedHead(_)), "{err}");
    assert!(one_line(&err).contains("git switch"));
    assert_eq!(state(&ws.path), before);

    g(&ws.path, ["switch", "-q", "work"]);
    let before = state(&ws.path);
    let err = commit(&ws, "  ").unwrap_err();
    assert!(matches!(err, WorkspaceError::EmptyMessage), "{err}");
    one_line(&err);
    // Empty settings here hide any global identity, as if git had none.
    g(&ws.path, ["config", "user.name", ""]);
    g(&ws.path, ["config", "user.email", ""]);
    let err = commit(&ws, "x").unwrap_err();
    assert!(matches!(err, WorkspaceError::NoIdentity(_)), "{err}");
    let msg = one_line(&err);
    assert!(msg.contains("git config --global user.name"), "{msg}");
    assert!(msg.contains("git config --global user.email"), "{msg}");
    assert_eq!(state(&ws.path), before);
}

/// A clone without an identity of its own commits as the source repository's user: the
/// identity set there is the one the user set up for this work.
#[test]
fn a_clone_without_an_identity_commits_as_the_source_user() {
    let f = fixture();
    let ws = f.create(Strategy::Clone);
    // Empty settings in the clone hide any global identity, as if it had none.
    g(&ws.path, ["config", "user.name", ""]);
    g(&ws.path, ["config", "user.email", ""]);
    g(&f.repo, ["config", "user.name", "Source User"]);
    g(&f.repo, ["config", "user.email", "source@example.com"]);
    fs::write(ws.path.join("new.txt"), "new\n").unwrap();
    let done = commit(&ws, "from the clone").unwrap().expect("committed");
    let who = g(
        &ws.path,
        ["log", "-1", "--format=%an <%ae>|%cn <%ce>", &done.commit],
    );
    assert_eq!(
        who,
        "Source User <source@example.com>|Source User <source@example.com>"
    );
}

/// A branch that only adds to `main` fast-forwards it: the source's checked-out branch
/// and its files move, a clone's branch is kept in the source, and no private ref is
/// left behind. A second merge has nothing to do.
#[rstest]
#[case::worktree(Strategy::Worktree)]
#[case::clone(Strategy::Clone)]
fn merge_fast_forwards_the_checked_out_branch(#[case] strategy: Strategy) {
    let f = fixture();
    let ws = f.create(strategy);
    fs::write(ws.path.join("feature.txt"), "feature\n").unwrap();
    let tip = commit(&ws, "feature").unwrap().unwrap().commit;
    let plan = merge_plan(&ws, None).unwrap();
    let want = MergePlan {
        branch: "work".into(),
        into: "main".into(),
        commits: 1,
        fast_forward: true,
        up_to_date: false,
        conflicts: vec![],
        blocked: None,
        blocked_by_uncommitted: false,
    };
    assert_eq!(plan, want);
    assert!(plan.can_merge());

    let merged = merge(&ws, None, false, "").unwrap();
    let want = Merged {
        into: "main".into(),
        commit: tip.clone(),
        fast_forward: true,
        squash: false,
    };
    assert_eq!(merged, want);
    assert_eq!(g(&f.repo, ["rev-parse", "refs/heads/main"]), tip);
    assert_eq!(g(&f.repo, ["symbolic-ref", "HEAD"]), "refs/heads/main");
    assert_eq!(fs::read(f.repo.join("feature.txt")).unwrap(), b"feature\n");
    assert_eq!(status(&f.repo), "", "the index followed the files");
    assert_eq!(g(&f.repo, ["rev-parse", "refs/heads/work"]), tip);
    assert!(!g(&f.repo, ["for-each-ref"]).contains("refs/flotilla"));

    let again = merge_plan(&ws, None).unwrap();
    assert!(again.up_to_date && !again.can_merge(), "{again:?}");
    let err = merge(&ws, None, false, "").unwrap_err();
    assert!(
        matches!(err, WorkspaceError::NothingToMerge { .. }),
        "{err}"
    );
}

/// When `main` has moved on too, the merge is a new commit with both tips as parents,
/// holding both sides' files, and the source's work tree follows.
#[rstest]
#[case::worktree(Strategy::Worktree)]
#[case::clone(Strategy::Clone)]
fn merge_of_divergent_history_makes_a_two_parent_commit(#[case] strategy: Strategy) {
    let f = fixture();
    let ws = f.create(strategy);
    let tip = commit_file(&ws.path, "a.txt", "from the agent\n");
    let main = commit_file(&f.repo, "b.txt", "from the user\n");
    let plan = merge_plan(&ws, Some("main")).unwrap();
    assert!(!plan.fast_forward && plan.conflicts.is_empty() && plan.can_merge());
    assert_eq!(plan.commits, 1);

    let merged = merge(&ws, Some("main"), false, "land the work").unwrap();
    assert!(!merged.fast_forward && !merged.squash);
    assert_eq!(parents(&f.repo, &merged.commit), [main, tip]);
    assert_eq!(g(&f.repo, ["rev-parse", "main"]), merged.commit);
    let subject = g(&f.repo, ["log", "-1", "--format=%s %an", "main"]);
    assert_eq!(subject, "land the work Test");
    let files = tree(&f.repo, &merged.commit);
    assert!(files.contains_key("a.txt") && files.contains_key("b.txt"));
    assert_eq!(fs::read(f.repo.join("a.txt")).unwrap(), b"from the agent\n");
    assert_eq!(status(&f.repo), "");
}

/// A squash is one commit on `main` with one parent, the old `main`, holding the merged
/// tree; even where a fast-forward was possible.
#[rstest]
#[case::worktree(Strategy::Worktree)]
#[case::clone(Strategy::Clone)]
fn squash_makes_a_one_parent_commit_with_the_merged_tree(#[case] strategy: Strategy) {
    let f = fixture();
    let ws = f.create(strategy);
    commit_file(&ws.path, "a.txt", "one\n");
    let tip = commit_file(&ws.path, "a.txt", "two\n");
    let start = head(&f.repo);
    let merged = merge(&ws, None, true, "squashed").unwrap();
    assert!(merged.squash && !merged.fast_forward);
    assert_ne!(merged.commit, tip);
    assert_eq!(parents(&f.repo, &merged.commit), [start]);
    assert_eq!(tree(&f.repo, &merged.commit), tree(&f.repo, &tip));
    assert_eq!(g(&f.repo, ["log", "-1", "--format=%s", "main"]), "squashed");

    let main = commit_file(&f.repo, "b.txt", "user\n");
    commit_file(&ws.path, "c.txt", "agent\n");
    let merged = merge(&ws, None, true, "").unwrap();
    assert_eq!(
        parents(&f.repo, &merged.commit),
        std::slice::from_ref(&main)
    );
    let mut want = tree(&f.repo, &main);
    want.insert("c.txt".into(), (false, b"agent\n".to_vec()));
    assert_eq!(tree(&f.repo, &merged.commit), want);
    assert_eq!(
        tree(&f.repo, "HEAD"),
        crate::support::files_on_disk(&f.repo)
    );
    let subject = g(&f.repo, ["log", "-1", "--format=%s", "main"]);
    assert_eq!(subject, "Squashed branch 'work' into main");
}

/// A target branch checked out nowhere only has its ref moved: the source's work tree,
/// index and checked-out branch stay as they are, even with changes of the user's in it.
#[test]
fn merge_into_a_branch_not_checked_out_moves_only_its_ref() {
    let f = fixture();
    g(&f.repo, ["branch", "release"]);
    let ws = f.create(Strategy::Worktree);
    let tip = commit_file(&ws.path, "a.txt", "a\n");
    fs::write(f.repo.join("mod.txt"), "the user's edit\n").unwrap();
    fs::write(f.repo.join("mine.txt"), "mine\n").unwrap();
    let main = head(&f.repo);
    let (index, files, st) = (
        index_bytes(&f.repo),
        support::files_on_disk(&f.repo),
        status(&f.repo),
    );
    let merged = merge(&ws, Some("release"), false, "").unwrap();
    assert!(merged.fast_forward);
    assert_eq!(g(&f.repo, ["rev-parse", "refs/heads/release"]), tip);
    assert_eq!(g(&f.repo, ["rev-parse", "refs/heads/main"]), main);
    assert_eq!(index_bytes(&f.repo), index);
    assert_eq!(support::files_on_disk(&f.repo), files);
    assert_eq!(status(&f.repo), st);
}

/// A conflict refuses the merge and leaves both repositories exactly as they were: refs,
/// HEAD, index bytes, status, files, no MERGE_HEAD; the error names the file.
#[rstest]
#[case::worktree(Strategy::Worktree)]
#[case::clone(Strategy::Clone)]
fn a_merge_conflict_leaves_both_repositories_exactly_as_they_were(#[case] strategy: Strategy) {
    let f = fixture();
    let ws = f.create(strategy);
    commit_file(&ws.path, "shared.txt", "one\nTWO (agent)\nthree\n");
    commit_file(&ws.path, "a.txt", "a\n");
    commit_file(&f.repo, "shared.txt", "one\nTWO (user)\nthree\n");
    // What a merge may meet and must leave: an untracked file in the source (in the
    // workspace it would be uncommitted work, which blocks), ignored files in both.
    fs::write(f.repo.join("untracked.txt"), "u\n").unwrap();
    for dir in [&f.repo, &ws.path] {
        fs::write(dir.join("build.log"), "log\n").unwrap();
    }
    let (source, work) = (state(&f.repo), state(&ws.path));

    let plan = merge_plan(&ws, None).unwrap();
    assert_eq!(plan.conflicts, ["shared.txt"]);
    assert_eq!(plan.blocked, None);
    assert!(!plan.can_merge() && !plan.fast_forward);
    assert_eq!(
        (state(&f.repo), state(&ws.path)),
        (source.clone(), work.clone())
    );

    for squash in [false, true] {
        let err = merge(&ws, None, squash, "").unwrap_err();
        let WorkspaceError::MergeConflict { files, .. } = &err else {
            panic!("not a conflict: {err}");
        };
        assert_eq!(files, &["shared.txt"]);
        let msg = one_line(&err);
        assert!(
            msg.contains("shared.txt") && msg.contains("nothing was changed"),
            "{msg}"
        );
        assert!(
            msg.contains("ask the agent to merge main into its branch"),
            "{msg}"
        );
    }
    let (source_after, work_after) = (state(&f.repo), state(&ws.path));
    assert!(!source_after.merge_head_exists() && !work_after.merge_head_exists());
    assert_eq!(source_after, source, "the source repository");
    assert_eq!(work_after, work, "the workspace");
}

/// Tracked changes in the source's work tree, with `main` checked out there, block the
/// merge, and nothing changes; untracked files alone do not block it.
#[test]
fn merge_is_refused_while_the_source_has_tracked_changes() {
    let f = fixture();
    let ws = f.create(Strategy::Worktree);
    commit_file(&ws.path, "a.txt", "a\n");
    fs::write(f.repo.join("mod.txt"), "the user's edit\n").unwrap();
    fs::write(f.repo.join("mine.txt"), "mine\n").unwrap();
    let (source, work) = (state(&f.repo), state(&ws.path));
    let plan = merge_plan(&ws, None).unwrap();
    let blocked = plan.blocked.clone().expect("blocked");
    assert!(
        blocked.contains("uncommitted changes to tracked files (mod.txt)"),
        "{blocked}"
    );
    assert!(!plan.can_merge() && !plan.blocked_by_uncommitted);
    let err = merge(&ws, None, false, "").unwrap_err();
    assert!(matches!(err, WorkspaceError::SourceDirty { .. }), "{err}");
    assert_eq!(one_line(&err), blocked);
    assert_eq!((state(&f.repo), state(&ws.path)), (source, work));

    // Uncommitted work in the workspace too: the source is what a commit would not fix,
    // so it is what the plan names.
    fs::write(
        ws.path.join("later.txt"),
        "later
",
    )
    .unwrap();
    let plan = merge_plan(&ws, None).unwrap();
    assert!(!plan.blocked_by_uncommitted, "{:?}", plan.blocked);
    assert_eq!(plan.blocked.as_deref(), Some(blocked.as_str()));
    fs::remove_file(ws.path.join("later.txt")).unwrap();

    g(&f.repo, ["checkout", "--", "mod.txt"]);
    assert!(merge_plan(&ws, None).unwrap().can_merge());
    merge(&ws, None, false, "").unwrap();
    assert_eq!(fs::read(f.repo.join("mine.txt")).unwrap(), b"mine\n");
}

/// An untracked file where the merge would add one blocks it: it would be overwritten.
#[test]
fn merge_is_refused_when_an_untracked_file_is_in_the_way() {
    let f = fixture();
    let ws = f.create(Strategy::Worktree);
    commit_file(&ws.path, "a.txt", "the agent's\n");
    fs::write(f.repo.join("a.txt"), "the user's\n").unwrap();
    let source = state(&f.repo);
    let err = merge(&ws, None, false, "").unwrap_err();
    assert!(
        matches!(err, WorkspaceError::UntrackedInTheWay { .. }),
        "{err}"
    );
    assert!(one_line(&err).contains("(a.txt)"));
    assert_eq!(state(&f.repo), source);
}

/// Uncommitted work in the workspace would be left out of a merge: it is refused, the
/// plan says so, and neither repository changes (a clone's branch is not kept either).
#[rstest]
#[case::worktree(Strategy::Worktree)]
#[case::clone(Strategy::Clone)]
fn merge_is_refused_with_uncommitted_workspace_changes(#[case] strategy: Strategy) {
    let f = fixture();
    let ws = f.create(strategy);
    commit_file(&ws.path, "a.txt", "a\n");
    fs::write(ws.path.join("mod.txt"), "not yet committed\n").unwrap();
    fs::write(ws.path.join("new.txt"), "new\n").unwrap();
    let (source, work) = (state(&f.repo), state(&ws.path));
    let plan = merge_plan(&ws, None).unwrap();
    assert!(plan.blocked_by_uncommitted, "a commit first would clear it");
    let blocked = plan.blocked.expect("blocked");
    assert!(blocked.contains("(mod.txt and new.txt)"), "{blocked}");
    assert!(
        blocked.contains("commit them first: flotilla commit"),
        "{blocked}"
    );
    let err = merge(&ws, None, false, "").unwrap_err();
    assert!(matches!(err, WorkspaceError::Uncommitted { .. }), "{err}");
    one_line(&err);
    assert_eq!((state(&f.repo), state(&ws.path)), (source, work));
}

/// An existing directory cannot be merged into itself; commit and push work instead.
#[test]
fn existing_directory_cannot_merge_but_commits_and_pushes() {
    let f = fixture();
    let bare = f.remote("origin");
    let ws = f.create(Strategy::Existing);
    let plan = merge_plan(&ws, None).unwrap();
    let blocked = plan.blocked.clone().expect("blocked");
    assert!(blocked.contains("commit and push instead"), "{blocked}");
    assert_eq!((plan.commits, plan.can_merge()), (0, false));
    let before = state(&f.repo);
    let err = merge(&ws, None, false, "").unwrap_err();
    assert!(
        matches!(err, WorkspaceError::ExistingCannotMerge(_)),
        "{err}"
    );
    assert_eq!(one_line(&err), blocked);
    assert_eq!(state(&f.repo), before);

    fs::write(f.repo.join("mod.txt"), "after\n").unwrap();
    let made = commit(&ws, "in place").unwrap().unwrap();
    let pushed = push(&ws, "origin").unwrap();
    assert_eq!(
        (pushed.branch.as_str(), pushed.commit.as_str()),
        ("main", made.commit.as_str())
    );
    assert_eq!(g(&bare, ["rev-parse", "refs/heads/main"]), made.commit);
}

/// The other refusals, each before anything changes: a detached session HEAD, a target
/// that does not exist, one checked out in another worktree.
#[test]
fn merge_refusals_name_the_obstacle() {
    let f = fixture();
    let ws = f.create(Strategy::Worktree);
    commit_file(&ws.path, "a.txt", "a\n");
    let err = merge(&ws, Some("nope"), false, "").unwrap_err();
    assert!(matches!(err, WorkspaceError::NoSuchBranch { .. }), "{err}");
    assert!(one_line(&err).contains("\"nope\""));

    let other = f.tmp.path().join("release-tree");
    g(
        &f.repo,
        [
            "worktree",
            "add",
            "-q",
            "-b",
            "release",
            other.to_str().unwrap(),
        ],
    );
    let (source, work) = (state(&f.repo), state(&ws.path));
    let plan = merge_plan(&ws, Some("release")).unwrap();
    let blocked = plan.blocked.expect("blocked");
    assert!(
        blocked.contains(&other.canonicalize().unwrap().display().to_string()),
        "{blocked}"
    );
    let err = merge(&ws, Some("release"), false, "").unwrap_err();
    assert!(
        matches!(err, WorkspaceError::BranchCheckedOut { .. }),
        "{err}"
    );
    assert_eq!((state(&f.repo), state(&ws.path)), (source, work));

    g(&ws.path, ["switch", "-q", "--detach"]);
    let plan = merge_plan(&ws, None).unwrap();
    assert!(plan.blocked.expect("blocked").contains("detached HEAD"));
    let err = merge(&ws, None, false, "").unwrap_err();
    assert!(matches!(err, WorkspaceError::DetachedHead(_)), "{err}");
}

/// A clone's branch never overwrites a different branch of that name in the source.
#[test]
fn a_clone_branch_that_diverged_in_the_source_is_refused() {
    let f = fixture();
    let bare = f.remote("origin");
    let ws = f.create(Strategy::Clone);
    commit_file(&ws.path, "a.txt", "the clone's\n");
    g(&f.repo, ["switch", "-q", "-c", "work"]);
    let theirs = commit_file(&f.repo, "b.txt", "the source's\n");
    g(&f.repo, ["switch", "-q", "main"]);
    let source = state(&f.repo);
    let plan = merge_plan(&ws, None).unwrap();
    assert!(
        plan.blocked
            .expect("blocked")
            .contains("has commits that the clone's branch lacks")
    );
    for err in [
        merge(&ws, None, false, "").unwrap_err(),
        push(&ws, "origin").unwrap_err(),
    ] {
        assert!(
            matches!(err, WorkspaceError::BranchDiverged { .. }),
            "{err}"
        );
        one_line(&err);
    }
    assert_eq!(state(&f.repo), source);
    assert_eq!(g(&f.repo, ["rev-parse", "work"]), theirs);
    assert_eq!(g(&bare, ["for-each-ref"]), "");
}

/// Push puts the session's branch on the remote (a clone's by way of the source); an
/// unknown remote names the ones there are; a remote that has moved on refuses.
#[rstest]
#[case::worktree(Strategy::Worktree)]
#[case::clone(Strategy::Clone)]
fn push_puts_the_branch_on_the_remote(#[case] strategy: Strategy) {
    let f = fixture();
    let ws = f.create(strategy);
    let err = push(&ws, "origin").unwrap_err();
    assert!(one_line(&err).contains("git remote add"), "{err}");
    let bare = f.remote("origin");
    let tip = commit_file(&ws.path, "a.txt", "a\n");
    let pushed = push(&ws, "origin").unwrap();
    let want = Pushed {
        remote: "origin".into(),
        branch: "work".into(),
        commit: tip.clone(),
    };
    assert_eq!(pushed, want);
    assert_eq!(g(&bare, ["rev-parse", "refs/heads/work"]), tip);
    assert_eq!(g(&f.repo, ["rev-parse", "refs/heads/work"]), tip);

    let err = push(&ws, "upstream").unwrap_err();
    assert!(matches!(err, WorkspaceError::UnknownRemote { .. }), "{err}");
    assert!(
        one_line(&err).ends_with("no remote \"upstream\": use origin"),
        "{err}"
    );

    // Someone else's commit on the remote's branch.
    g(&f.repo, ["switch", "-q", "-c", "elsewhere", "main"]);
    let theirs = commit_file(&f.repo, "z.txt", "z\n");
    g(&f.repo, ["push", "-q", "-f", "origin", "elsewhere:work"]);
    commit_file(&ws.path, "b.txt", "b\n");
    let err = push(&ws, "origin").unwrap_err();
    assert!(matches!(err, WorkspaceError::PushRejected { .. }), "{err}");
    assert!(one_line(&err).contains("rejected"), "{err}");
    assert_eq!(g(&bare, ["rev-parse", "refs/heads/work"]), theirs);
}

/// Two commits changing the same line conflict in that file; two changing different
/// files do not. Neither check writes a ref or touches the index.
#[test]
fn would_conflict_lists_the_files_two_commits_fight_over() {
    let f = fixture();
    let start = head(&f.repo);
    let ours = commit_file(&f.repo, "shared.txt", "one\nours\nthree\n");
    g(&f.repo, ["switch", "-q", "-c", "other", &start]);
    let theirs = commit_file(&f.repo, "shared.txt", "one\ntheirs\nthree\n");
    g(&f.repo, ["switch", "-q", "-c", "third", &start]);
    let apart = commit_file(&f.repo, "mod.txt", "elsewhere\n");
    let before = state(&f.repo);
    assert_eq!(
        would_conflict(&f.repo, &ours, &theirs).unwrap(),
        ["shared.txt"]
    );
    assert_eq!(
        would_conflict(&f.repo, &ours, &apart).unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(state(&f.repo), before);
    let err = would_conflict(&f.repo, &ours, "no-such-commit").unwrap_err();
    assert!(matches!(err, WorkspaceError::CommitMissing { .. }), "{err}");
    one_line(&err);
}

/// `changed_since` is empty right after a snapshot of the same state, then lists what
/// changed on disk since (modified, added untracked, deleted, not ignored), never touching
/// the workspace's index.
#[rstest]
#[case::worktree(Strategy::Worktree)]
#[case::clone(Strategy::Clone)]
fn changed_since_a_checkpoint_lists_what_changed_on_disk(#[case] strategy: Strategy) {
    let f = fixture();
    let ws = f.create(strategy);
    fs::write(ws.path.join("keep.txt"), "edited before\n").unwrap();
    fs::write(ws.path.join("early.txt"), "early\n").unwrap();
    let snap = snapshot(&ws, "refs/flotilla/checkpoints/test-1", "turn 1").unwrap();
    assert_eq!(changed_since(&ws, &snap.commit).unwrap(), []);
    assert_eq!(changed_since(&ws, "HEAD").unwrap().len(), 2);

    fs::write(ws.path.join("mod.txt"), "after\n").unwrap();
    fs::write(ws.path.join("new.txt"), "new\n").unwrap();
    fs::remove_file(ws.path.join("gone.txt")).unwrap();
    fs::write(ws.path.join("debug.log"), "ignored\n").unwrap();
    let work = state(&ws.path);
    let changed = changed_since(&ws, &snap.commit).unwrap();
    let want = [('D', "gone.txt"), ('M', "mod.txt"), ('A', "new.txt")];
    assert_eq!(changed, want.map(|(c, p)| (c, p.to_string())));
    assert_eq!(
        state(&ws.path),
        work,
        "index, HEAD, files and status untouched"
    );
    let err = changed_since(&ws, "refs/flotilla/nothing").unwrap_err();
    assert!(matches!(err, WorkspaceError::CommitMissing { .. }), "{err}");
}

/// `files_between` counts each file's added and removed lines between two commits.
#[test]
fn files_between_counts_lines_per_file() {
    let f = fixture();
    let start = head(&f.repo);
    fs::write(f.repo.join("mod.txt"), "after\n").unwrap();
    fs::write(f.repo.join("new.txt"), "1\n2\n3\n").unwrap();
    fs::write(f.repo.join("blob.bin"), b"\0\x01binary").unwrap();
    fs::remove_file(f.repo.join("gone.txt")).unwrap();
    g(&f.repo, ["add", "-A"]);
    g(&f.repo, ["commit", "-q", "-m", "changes"]);
    let file = |path: &str, status, added, removed| ChronicleFile {
        path: path.into(),
        status,
        added,
        removed,
    };
    let want = vec![
        file("blob.bin", FileStatus::Added, 0, 0),
        file("gone.txt", FileStatus::Deleted, 0, 1),
        file("mod.txt", FileStatus::Modified, 1, 1),
        file("new.txt", FileStatus::Added, 3, 0),
    ];
    assert_eq!(files_between(&f.repo, &start, "HEAD").unwrap(), want);
    assert_eq!(files_between(&f.repo, "HEAD", "HEAD").unwrap(), []);
    let err = files_between(&f.repo, "--output=x", "HEAD").unwrap_err();
    assert!(matches!(err, WorkspaceError::CommitMissing { .. }), "{err}");
    assert!(!f.repo.join("x").exists());
}
