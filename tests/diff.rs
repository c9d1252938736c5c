use std::fs;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use flotilla::core::{FileStatus, LineKind};
use flotilla::diff::{DiffError, DiffOptions, diff, diff_file};
use support::{Repo, find, numbered, paths};

mod support;

/// The texts of a file's hunk lines of one kind, in order.
fn lines_of(f: &flotilla::core::FileDiff, kind: LineKind) -> Vec<String> {
    let lines = f.hunks.iter().flat_map(|h| &h.lines);
    lines
        .filter(|l| l.kind == kind)
        .map(|l| l.text.clone())
        .collect()
}

#[test]
fn modified_files_count_like_git_numstat() {
    let repo = Repo::new();
    repo.write("middle.txt", numbered(50));
    repo.write("append.txt", numbered(5));
    repo.write("no_eol.txt", "a\nb\nc\n");
    repo.write("rewrite.txt", numbered(20));
    repo.write("shuffle.txt", numbered(30));
    let base = repo.commit_all("base");

    repo.write(
        "middle.txt",
        numbered(50)
            .replace("line 10\n", "ten\n")
            .replace("line 30\n", "")
            .replace("line 40\n", "line 40\nextra\nmore\n"),
    );
    repo.write("append.txt", numbered(9));
    repo.write("no_eol.txt", "a\nB\nc");
    repo.write("rewrite.txt", "completely\ndifferent\n");
    let mut lines: Vec<String> = numbered(30).lines().map(String::from).collect();
    lines.swap(3, 20);
    lines.swap(7, 25);
    repo.write("shuffle.txt", lines.join("\n") + "\n");

    let files = repo.diff(&base);
    assert_eq!(files.len(), 5, "{:?}", paths(&files));
    for f in &files {
        assert_eq!(f.status, FileStatus::Modified);
        assert!(!f.binary && !f.too_large);
        assert_eq!(
            (f.additions, f.deletions),
            repo.numstat(&base, &f.path),
            "{}",
            f.path
        );
        assert!(!f.hunks.is_empty());
    }
    let middle = find(&files, "middle.txt");
    assert_eq!(middle.hunks.len(), 3);
    assert_eq!(middle.hunks[0].old_start, 7);
    assert!(
        middle.hunks[0]
            .lines
            .iter()
            .any(|l| l.kind == LineKind::Added && l.text == "ten")
    );
}

#[test]
fn untracked_file_is_added() {
    let repo = Repo::new();
    repo.write("a.txt", "a\n");
    let base = repo.commit_all("base");
    repo.write("new/file.txt", "one\ntwo\nthree");

    let files = repo.diff(&base);
    assert_eq!(paths(&files), ["new/file.txt"]);
    let f = &files[0];
    assert_eq!(f.status, FileStatus::Added);
    assert_eq!((f.additions, f.deletions), (3, 0));
    assert_eq!(lines_of(f, LineKind::Added), ["one", "two", "three"]);
    assert!(lines_of(f, LineKind::Removed).is_empty());
    assert_eq!((f.hunks[0].old_start, f.hunks[0].old_lines), (0, 0));
    assert_eq!((f.hunks[0].new_start, f.hunks[0].new_lines), (1, 3));
}

#[test]
fn staged_new_file_is_added() {
    let repo = Repo::new();
    repo.write("a.txt", "a\n");
    let base = repo.commit_all("base");
    repo.write("staged.txt", "x\ny\n");
    repo.git(&["add", "staged.txt"]);

    let files = repo.diff(&base);
    assert_eq!(paths(&files), ["staged.txt"]);
    assert_eq!(files[0].status, FileStatus::Added);
    assert_eq!((files[0].additions, files[0].deletions), (2, 0));
}

#[test]
fn deleted_files_are_listed() {
    let repo = Repo::new();
    repo.write("gone.txt", numbered(4));
    repo.write("removed.txt", numbered(2));
    repo.write("keep.txt", "keep\n");
    let base = repo.commit_all("base");
    fs::remove_file(repo.path().join("gone.txt")).expect("rm");
    repo.git(&["rm", "-q", "removed.txt"]);

    let files = repo.diff(&base);
    assert_eq!(paths(&files), ["gone.txt", "removed.txt"]);
    let gone = &files[0];
    assert_eq!(gone.status, FileStatus::Deleted);
    assert_eq!((gone.additions, gone.deletions), (0, 4));
    let old: Vec<String> = numbered(4).lines().map(String::from).collect();
    assert_eq!(lines_of(gone, LineKind::Removed), old);
    assert!(lines_of(gone, LineKind::Added).is_empty());
    assert_eq!((files[1].additions, files[1].deletions), (0, 2));
}

#[test]
fn file_removed_from_index_only_is_compared_with_the_worktree() {
    let repo = Repo::new();
    repo.write("same.txt", "same\n");
    repo.write("edited.txt", "old\n");
    let base = repo.commit_all("base");
    repo.git(&["rm", "-q", "--cached", "same.txt", "edited.txt"]);
    repo.write("edited.txt", "new\n");

    let files = repo.diff(&base);
    assert_eq!(paths(&files), ["edited.txt"]);
    assert_eq!(files[0].status, FileStatus::Modified);
    assert_eq!((files[0].additions, files[0].deletions), (1, 1));
}

#[test]
fn commits_after_base_are_included() {
    let repo = Repo::new();
    repo.write("a.txt", "1\n");
    let base = repo.commit_all("base");
    repo.write("a.txt", "1\n2\n");
    repo.commit_all("agent work");

    let files = repo.diff(&base);
    assert_eq!(paths(&files), ["a.txt"]);
    assert_eq!((files[0].additions, files[0].deletions), (1, 0));
}

#[test]
fn ignored_files_are_not_listed() {
    let repo = Repo::new();
    repo.write(".gitignore", "*.log\ntarget/\n");
    let base = repo.commit_all("base");
    repo.write("debug.log", "noise\n");
    repo.write("target/out.bin", "noise\n");
    repo.write("kept.txt", "kept\n");

    assert_eq!(paths(&repo.diff(&base)), ["kept.txt"]);
}

#[test]
fn binary_files_are_detected() {
    let repo = Repo::new();
    repo.write("img.bin", b"\x89PNG\0\0\x01\x02");
    repo.write("text.txt", "text\n");
    let base = repo.commit_all("base");
    repo.write("img.bin", b"\x89PNG\0\0\x03\x04");
    repo.write("text.txt", b"now\0binary");
    repo.write("new.bin", b"\0\0\0");
    // No NUL, but not text either.
    repo.write("noise.dat", b"\x01\x02\xff\xfebinary");

    let files = repo.diff(&base);
    assert_eq!(
        paths(&files),
        ["img.bin", "new.bin", "noise.dat", "text.txt"]
    );
    for f in &files {
        assert!(f.binary, "{}", f.path);
        assert_eq!((f.additions, f.deletions), (0, 0));
        assert!(f.hunks.is_empty());
    }
    assert_eq!(files[1].status, FileStatus::Added);
    let sizes: Vec<u64> = files.iter().map(|f| f.size).collect();
    assert_eq!(sizes, [8, 3, 10, 10], "the larger side's size");
}

#[test]
fn huge_files_are_summarized_without_text() {
    let repo = Repo::new();
    repo.write("big.txt", numbered(500));
    repo.write("grows.txt", "small\n");
    repo.write("big_gone.txt", numbered(400));
    let base = repo.commit_all("base");
    repo.write(
        "big.txt",
        numbered(500).replace("line 7\n", "seven\n") + "tail\n",
    );
    repo.write("grows.txt", numbered(300));
    fs::remove_file(repo.path().join("big_gone.txt")).expect("rm");
    repo.write("untracked.txt", numbered(299) + "no newline at end");
    repo.write("untracked.bin", [0u8; 4096]);

    let opts = DiffOptions {
        max_file_bytes: 1024,
        ..DiffOptions::default()
    };
    let files = diff(repo.path(), &base, &opts).expect("diff");
    assert_eq!(
        paths(&files),
        [
            "big.txt",
            "big_gone.txt",
            "grows.txt",
            "untracked.bin",
            "untracked.txt"
        ]
    );
    for f in &files {
        assert!(f.too_large, "{}", f.path);
        assert!(f.hunks.is_empty());
    }
    for tracked in ["big.txt", "big_gone.txt", "grows.txt"] {
        let f = find(&files, tracked);
        assert_eq!((f.additions, f.deletions), repo.numstat(&base, tracked));
    }
    assert_eq!(
        (files[0].additions, files[0].deletions, files[0].status),
        (2, 1, FileStatus::Modified)
    );
    assert_eq!(files[1].status, FileStatus::Deleted);
    assert_eq!((files[1].additions, files[1].deletions), (0, 400));
    assert!(files[3].binary);
    assert_eq!(files[3].status, FileStatus::Added);
    assert_eq!((files[4].additions, files[4].deletions), (300, 0));
    assert!(!files[4].binary);
    // How much was left out is said: the larger side's size.
    let big_size = fs::metadata(repo.path().join("big.txt"))
        .expect("big")
        .len();
    assert_eq!(files[0].size, big_size);
    assert_eq!(files[1].size, numbered(400).len() as u64);
}

#[test]
fn a_file_is_fetched_on_its_own_and_its_hunks_are_capped() {
    let repo = Repo::new();
    repo.write("a.txt", "a\n");
    repo.write("long.txt", numbered(100));
    let base = repo.commit_all("base");
    repo.write("a.txt", "A\n");
    repo.write("long.txt", numbered(100).replace("line ", "LINE "));

    let list = DiffOptions {
        with_text: false,
        ..DiffOptions::default()
    };
    let files = diff(repo.path(), &base, &list).expect("list");
    assert_eq!(paths(&files), ["a.txt", "long.txt"]);
    assert!(
        files.iter().all(|f| f.hunks.is_empty()),
        "a list has no hunks"
    );
    assert_eq!((files[1].additions, files[1].deletions), (100, 100));

    let capped = DiffOptions {
        max_lines: 50,
        ..DiffOptions::default()
    };
    let one = diff_file(repo.path(), &base, "long.txt", &capped)
        .expect("file")
        .expect("changed");
    assert_eq!(one.path, "long.txt");
    let shown: usize = one.hunks.iter().map(|h| h.lines.len()).sum();
    assert_eq!(shown, 50);
    assert_eq!(one.omitted_lines, 150);
    let a = diff_file(repo.path(), &base, "a.txt", &capped)
        .expect("file")
        .expect("changed");
    assert_eq!(lines_of(&a, LineKind::Added), ["A"]);
    assert_eq!(a.omitted_lines, 0);
    // Changed back: nothing to show.
    repo.write("a.txt", "a\n");
    assert_eq!(
        diff_file(repo.path(), &base, "a.txt", &capped).expect("file"),
        None
    );
}

#[test]
fn names_with_spaces_and_unicode_work() {
    let repo = Repo::new();
    repo.write("dir with space/naïve file.txt", "old\n");
    let base = repo.commit_all("base");
    repo.write("dir with space/naïve file.txt", "new\n");
    repo.write("ünïcødé name.md", "hi\n");
    repo.write("tab\there.txt", "t\n");

    let files = repo.diff(&base);
    assert_eq!(
        paths(&files),
        [
            "dir with space/naïve file.txt",
            "tab\there.txt",
            "ünïcødé name.md"
        ]
    );
    assert_eq!((files[0].additions, files[0].deletions), (1, 1));
    assert_eq!(files[2].status, FileStatus::Added);
}

#[cfg(unix)]
#[test]
fn symlinks_diff_their_target() {
    let repo = Repo::new();
    repo.write("real.txt", numbered(100));
    std::os::unix::fs::symlink("real.txt", repo.path().join("link")).expect("symlink");
    let base = repo.commit_all("base");
    fs::remove_file(repo.path().join("link")).expect("rm");
    std::os::unix::fs::symlink("elsewhere.txt", repo.path().join("link")).expect("symlink");

    let files = repo.diff(&base);
    assert_eq!(paths(&files), ["link"]);
    assert_eq!(lines_of(&files[0], LineKind::Removed), ["real.txt"]);
    assert_eq!(lines_of(&files[0], LineKind::Added), ["elsewhere.txt"]);
    assert_eq!((files[0].additions, files[0].deletions), (1, 1));
}

#[test]
fn subdirectory_workspace_reports_top_level_paths() {
    let repo = Repo::new();
    repo.write("sub/a.txt", "a\n");
    repo.write("other/b.txt", "b\n");
    let base = repo.commit_all("base");
    repo.write("sub/a.txt", "A\n");
    repo.write("other/b.txt", "B\n");
    repo.write("sub/new.txt", "n\n");

    let from_sub = diff(&repo.path().join("sub"), &base, &DiffOptions::default()).expect("diff");
    assert_eq!(
        paths(&from_sub),
        ["other/b.txt", "sub/a.txt", "sub/new.txt"]
    );
    assert_eq!(from_sub, repo.diff(&base));
}

fn index_snapshot(repo: &Repo) -> (Vec<u8>, SystemTime) {
    let index = repo.path().join(".git/index");
    let bytes = fs::read(&index).expect("read index");
    let mtime = fs::metadata(&index)
        .and_then(|m| m.modified())
        .expect("mtime");
    (bytes, mtime)
}

#[test]
fn index_is_never_written() {
    let repo = Repo::new();
    for i in 0..20 {
        repo.write(&format!("f{i}.txt"), numbered(i + 1));
    }
    let base = repo.commit_all("base");
    // Same content, new mtime: stale stat data that `git diff` would refresh and save.
    let later = SystemTime::now() + Duration::from_secs(120);
    for i in 0..10 {
        fs::File::options()
            .write(true)
            .open(repo.path().join(format!("f{i}.txt")))
            .and_then(|f| f.set_modified(later))
            .expect("touch");
    }
    repo.write("f15.txt", "changed\n");
    repo.write("untracked.txt", "u\n");
    let before = index_snapshot(&repo);

    let files = repo.diff(&base);
    let stat_only = DiffOptions {
        with_text: false,
        ..DiffOptions::default()
    };
    diff(repo.path(), &base, &stat_only).expect("stat diff");

    assert_eq!(paths(&files), ["f15.txt", "untracked.txt"]);
    assert!(index_snapshot(&repo) == before, "the index was rewritten");
}

#[test]
fn clean_tree_is_empty() {
    let repo = Repo::new();
    repo.write("a.txt", "a\n");
    let base = repo.commit_all("base");
    assert!(repo.diff(&base).is_empty());
}

#[test]
fn stat_only_has_counts_but_no_text() {
    let repo = Repo::new();
    repo.write("a.txt", numbered(10));
    let base = repo.commit_all("base");
    repo.write("a.txt", numbered(12));
    repo.write("b.txt", "b\n");
    let opts = DiffOptions {
        with_text: false,
        ..DiffOptions::default()
    };

    let files = diff(repo.path(), &base, &opts).expect("diff");
    assert_eq!(paths(&files), ["a.txt", "b.txt"]);
    assert_eq!((files[0].additions, files[0].deletions), (2, 0));
    assert_eq!((files[1].additions, files[1].deletions), (1, 0));
    for f in &files {
        assert!(f.hunks.is_empty());
    }
}

#[test]
fn vanished_workdir_is_reported() {
    let repo = Repo::new();
    repo.write("a.txt", "a\n");
    let base = repo.commit_all("base");
    let gone: PathBuf = repo.path().join("no-such-workspace");

    let err = diff(&gone, &base, &DiffOptions::default()).expect_err("must fail");
    assert!(
        matches!(&err, DiffError::Vanished(p) if *p == gone),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("has vanished") && !msg.contains('\n'), "{msg}");

    let not_a_repo = tempfile::tempdir().expect("tempdir");
    let err = diff(not_a_repo.path(), &base, &DiffOptions::default()).expect_err("must fail");
    assert!(matches!(err, DiffError::NotAWorkTree(_)), "{err:?}");
}

#[test]
fn bad_base_is_reported() {
    let repo = Repo::new();
    repo.write("a.txt", "a\n");
    let head = repo.commit_all("base");
    let blob = repo.git(&["rev-parse", "HEAD:a.txt"]);
    for base in [
        "0123456789abcdef0123456789abcdef01234567",
        "--output=x",
        "",
        blob.as_str(),
    ] {
        let err = diff(repo.path(), base, &DiffOptions::default()).expect_err(base);
        assert!(matches!(err, DiffError::BadBase(_)), "{base}: {err:?}");
        assert!(!err.to_string().contains('\n'));
    }
    assert!(repo.diff(&head).is_empty());
}
