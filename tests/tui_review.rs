//! Reviewing and landing in the dashboard's `update`: the line cursor and the comment
//! box of the Diffs tab, sending comments, the land menu and its confirmations, the
//! checkpoints menu and a forced rollback, and the events that keep them current.

mod support;

use flotilla::core::{Checkpoint, CodeLine, Comment, DiffLine, Hunk, LineKind};
use flotilla::protocol::LandPlan;
use support::tui::*;

fn hunk(new_start: usize, lines: Vec<(LineKind, &str)>) -> Hunk {
    let lines: Vec<DiffLine> = lines
        .into_iter()
        .map(|(kind, text)| DiffLine {
            kind,
            text: text.into(),
        })
        .collect();
    Hunk {
        old_start: new_start,
        old_lines: 3,
        new_start,
        new_lines: 3,
        lines,
    }
}

/// The selected session on the Diffs tab, showing `notes.txt` with these hunks.
fn on_diffs(hunks: Vec<Hunk>) -> State {
    let mut state = one(Status::Idle);
    let up = ch(&mut state, '2');
    let tag = requests(&up)[0].1.clone();
    let file = FileDiff {
        path: "notes.txt".into(),
        status: FileStatus::Modified,
        additions: 1,
        deletions: 1,
        binary: false,
        too_large: false,
        size: 0,
        omitted_lines: 0,
        hunks,
    };
    let session = session(1, Status::Idle, APP, "fix login");
    reply(
        &mut state,
        tag,
        Ok(Reply::Diff {
            session,
            files: vec![file],
        }),
    );
    state
}

fn lines() -> Vec<Hunk> {
    use LineKind::*;
    vec![hunk(
        10,
        vec![
            (Context, "before"),
            (Removed, "old"),
            (Added, "new"),
            (Context, "after"),
        ],
    )]
}

fn comment(id: u64, line: u32, sent: bool) -> Comment {
    Comment {
        id,
        session: sid(1),
        path: "notes.txt".into(),
        line,
        text: format!("comment {id}"),
        context: vec![CodeLine {
            line: Some(line),
            text: "new".into(),
        }],
        created_at: t0(),
        sent_at: sent.then(t0),
    }
}

fn flash(state: &State) -> (String, Level) {
    state.flash.clone().expect("a flash")
}

#[test]
fn loading_a_session_asks_for_its_comments_and_checkpoints_once() {
    let mut state = state_with(Notify::default());
    let up = load(&mut state, vec![session(1, Status::Idle, APP, "fix login")]);
    let asked: Vec<&Tag> = (up.effects.iter())
        .filter_map(|e| match e {
            Effect::Request(_, tag) => Some(tag),
            _ => None,
        })
        .collect();
    assert!(asked.contains(&&Tag::Comments { session: sid(1) }));
    assert!(asked.contains(&&Tag::Checkpoints { session: sid(1) }));
}

#[test]
fn the_cursor_moves_on_the_lines_and_a_comment_goes_on_the_new_files_line() {
    let mut state = on_diffs(lines());
    // Before enter, j moves between sessions and c says what to do.
    ch(&mut state, 'c');
    assert!(flash(&state).0.contains("press enter first"));
    key(&mut state, KeyCode::Enter);
    assert!(state.diff.focus);
    assert_eq!(state.diff.cursor, 0);
    // A removed line takes the number of the line that now stands where it was.
    ch(&mut state, 'j');
    ch(&mut state, 'c');
    let open = state.diff.comment.as_ref().expect("the box");
    assert_eq!((open.path.as_str(), open.line), ("notes.txt", 11));
    key(&mut state, KeyCode::Esc);
    assert!(state.diff.comment.is_none());
    assert!(state.diff.focus, "esc drops the comment, the cursor stays");

    ch(&mut state, 'j');
    ch(&mut state, 'j');
    ch(&mut state, 'j');
    assert_eq!(state.diff.cursor, 3, "stops at the last line");
    assert_eq!(state.selected, Some(sid(1)));
    ch(&mut state, 'k');
    ch(&mut state, 'c');
    typed(&mut state, "say why");
    let up = key(&mut state, KeyCode::Enter);
    assert_eq!(
        only_request(&up),
        Command::Comment {
            id: id1(),
            path: "notes.txt".into(),
            line: 11,
            text: "say why".into(),
        }
    );
    assert!(state.diff.comment.is_none());
    key(&mut state, KeyCode::Esc);
    assert!(!state.diff.focus, "esc leaves the lines");
}

#[test]
fn an_empty_comment_is_not_saved_and_a_removed_last_line_cannot_be_commented_on() {
    use LineKind::*;
    let mut state = on_diffs(vec![hunk(1, vec![(Context, "kept"), (Removed, "gone")])]);
    key(&mut state, KeyCode::Enter);
    ch(&mut state, 'c');
    let up = key(&mut state, KeyCode::Enter);
    assert!(requests(&up).is_empty());
    assert!(flash(&state).0.contains("type the comment first"));
    assert!(state.diff.comment.is_some(), "the box stays open");
    key(&mut state, KeyCode::Esc);
    ch(&mut state, 'j');
    ch(&mut state, 'c');
    assert!(state.diff.comment.is_none());
    assert!(flash(&state).0.contains("cannot be commented on"));
}

#[test]
fn comments_show_under_their_line_and_send_sends_the_waiting_ones() {
    let mut state = on_diffs(lines());
    let up = ch(&mut state, 'C');
    assert!(requests(&up).is_empty());
    assert!(flash(&state).0.contains("no comments waiting"));

    reply(
        &mut state,
        Tag::Comments { session: sid(1) },
        Ok(Reply::Comments {
            comments: vec![comment(1, 11, true), comment(2, 11, false)],
            sent: 0,
        }),
    );
    let rows = state.hunk_rows();
    let at = |wanted: &str| {
        rows.iter().position(|r| match r {
            flotilla::tui::hunks::HunkRow::Line { line, .. } => line.text == wanted,
            flotilla::tui::hunks::HunkRow::Comment { text, .. } => text == wanted,
            _ => false,
        })
    };
    let new = at("new").expect("the line");
    assert_eq!(
        at("comment 1"),
        Some(new + 1),
        "under the new file's line 11"
    );
    assert_eq!(at("comment 2"), Some(new + 2));
    assert_eq!(state.waiting_comments(), 1);

    let up = ch(&mut state, 'C');
    assert_eq!(
        only_request_with_review(&up),
        Command::Comments {
            id: id1(),
            send: true
        }
    );
    // The daemon's event marks them sent.
    event(
        &mut state,
        Event::Comments {
            session: sid(1),
            comments: vec![comment(1, 11, true), comment(2, 11, true)],
        },
    );
    assert_eq!(state.waiting_comments(), 0);
}

/// [`only_request`] for the requests it leaves out: comments and checkpoints.
fn only_request_with_review(up: &Update) -> Command {
    let asked: Vec<&Command> = (up.effects.iter())
        .filter_map(|e| match e {
            Effect::Request(c, tag) if *tag != Tag::Viewing => Some(c),
            _ => None,
        })
        .collect();
    assert_eq!(asked.len(), 1, "{:?}", up.effects);
    asked[0].clone()
}

fn plan() -> LandPlan {
    LandPlan {
        branch: Some("flotilla/s1".into()),
        busy: None,
        uncommitted: vec!["M notes.txt".into(), "A new.txt".into()],
        message: "fix login\n\n- notes.txt\n- new.txt\n".into(),
        into: Some("main".into()),
        commits: 0,
        fast_forward: false,
        up_to_date: true,
        conflicts: vec![],
        merge_blocked: None,
        remotes: vec!["origin".into()],
    }
}

fn open_menu(state: &mut State, plan: LandPlan) {
    let up = ch(state, 'm');
    assert_eq!(
        only_request(&up),
        Command::LandPlan {
            id: id1(),
            into: None
        }
    );
    reply(
        state,
        Tag::LandPlan { session: sid(1) },
        Ok(Reply::LandPlan(plan)),
    );
}

fn menu(state: &State) -> &flotilla::tui::menu::Menu {
    match &state.dialog {
        Some(Dialog::Menu(m)) => m,
        _ => panic!("no menu"),
    }
}

#[test]
fn the_land_menu_says_why_an_option_cannot_be_taken_and_does_nothing_for_it() {
    let mut state = one(Status::Idle);
    open_menu(&mut state, plan());
    let m = menu(&state);
    let labels: Vec<&str> = m.items.iter().map(|i| i.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "Commit",
            "Merge into main",
            "Commit and merge into main",
            "Squash-merge into main",
            "Push to origin"
        ]
    );
    assert_eq!(m.selected, 0, "starts on the first that can be taken");
    let why = m.items[1].disabled.clone().expect("merge disabled");
    assert!(why.contains("uncommitted changes"), "{why}");
    assert!(m.items[2].disabled.is_none() && m.items[4].disabled.is_none());

    ch(&mut state, 'j');
    let up = key(&mut state, KeyCode::Enter);
    assert!(requests(&up).is_empty());
    assert!(flash(&state).0.contains("uncommitted changes"));
    menu(&state);
    key(&mut state, KeyCode::Esc);
    assert!(state.dialog.is_none());

    // A running turn disables them all, with the daemon's reason.
    let busy = LandPlan {
        busy: Some("a turn is running: wait for it to end, or abort it".into()),
        ..plan()
    };
    open_menu(&mut state, busy);
    assert!(menu(&state).items.iter().all(|i| i.disabled.is_some()));
}

#[test]
fn commit_and_merge_confirms_what_it_does_then_merges_after_the_commit() {
    let mut state = one(Status::Idle);
    open_menu(&mut state, plan());
    ch(&mut state, 'j');
    ch(&mut state, 'j');
    key(&mut state, KeyCode::Enter);
    let Some(Dialog::Confirm(c)) = &state.dialog else {
        panic!("no confirmation")
    };
    assert_eq!(
        c.question,
        "Commit 2 files and merge flotilla/s1 into main?"
    );
    let details = c.details.join("\n");
    assert!(
        details.contains("1. commit 2 files on flotilla/s1: fix login"),
        "{details}"
    );
    assert!(details.contains("M notes.txt") && details.contains("A new.txt"));
    assert!(
        details.contains("2. main moves forward to flotilla/s1"),
        "{details}"
    );
    assert!(details.contains("fast-forward"), "{details}");

    let up = ch(&mut state, 'y');
    let asked = requests(&up);
    assert_eq!(
        asked[0].0,
        Command::Commit {
            id: id1(),
            message: None
        }
    );
    let landed = Reply::Landed {
        session: session(1, Status::Idle, APP, "fix login"),
        summary: "committed 2 file(s) on flotilla/s1 as 1234567".into(),
        commit: Some("1234567".into()),
    };
    let up = reply(&mut state, asked[0].1.clone(), Ok(landed));
    assert!(flash(&state).0.starts_with("committed 2 file(s)"));
    let merge = requests(&up);
    assert_eq!(
        merge[0].0,
        Command::Merge {
            id: id1(),
            into: Some("main".into()),
            squash: false
        }
    );
    // A failed commit merges nothing.
    let mut state = one(Status::Idle);
    open_menu(&mut state, plan());
    ch(&mut state, 'j');
    ch(&mut state, 'j');
    key(&mut state, KeyCode::Enter);
    let asked = requests(&ch(&mut state, 'y'));
    let up = reply(&mut state, asked[0].1.clone(), Err("no identity".into()));
    assert!(requests(&up).is_empty());
    assert!(flash(&state).0.contains("nothing was merged"));
}

fn checkpoint(turn: u32) -> Checkpoint {
    Checkpoint {
        session: sid(1),
        turn,
        commit: format!("{turn:040}"),
        created_at: t0(),
        files: vec![],
        after_message: None,
    }
}

#[test]
fn rolling_back_asks_again_with_what_a_forced_rollback_loses() {
    let mut state = one(Status::Idle);
    ch(&mut state, 'b');
    assert!(flash(&state).0.contains("no checkpoints yet"));
    reply(
        &mut state,
        Tag::Checkpoints { session: sid(1) },
        Ok(Reply::Checkpoints {
            checkpoints: vec![checkpoint(1)],
        }),
    );
    event(
        &mut state,
        Event::Checkpoint {
            session: sid(1),
            checkpoint: checkpoint(2),
        },
    );
    ch(&mut state, 'b');
    let m = menu(&state);
    let labels: Vec<&str> = m.items.iter().map(|i| i.label.as_str()).collect();
    assert_eq!(labels, ["turn 2", "turn 1"], "newest first");
    ch(&mut state, 'j');
    let up = key(&mut state, KeyCode::Enter);
    let asked = requests(&up);
    assert_eq!(
        asked[0].0,
        Command::Rollback {
            id: id1(),
            turn: 1,
            force: false
        }
    );
    let stopped = Reply::RolledBack {
        session: session(1, Status::Idle, APP, "fix login"),
        turn: 1,
        done: false,
        unsaved: vec!["A typed.txt".into()],
    };
    reply(&mut state, asked[0].1.clone(), Ok(stopped));
    let Some(Dialog::Confirm(c)) = &state.dialog else {
        panic!("no confirmation")
    };
    assert_eq!(c.losses, ["A typed.txt"]);
    assert!(!c.letters, "only the button loses work");
    assert_eq!(c.focus, 0);
    ch(&mut state, 'y');
    assert!(state.dialog.is_some(), "y does not force it");
    ch(&mut state, 'l');
    let up = key(&mut state, KeyCode::Enter);
    assert_eq!(
        requests(&up)[0].0,
        Command::Rollback {
            id: id1(),
            turn: 1,
            force: true
        }
    );
}

#[test]
fn a_running_turn_disables_every_checkpoint() {
    let mut state = one(Status::Active);
    reply(
        &mut state,
        Tag::Checkpoints { session: sid(1) },
        Ok(Reply::Checkpoints {
            checkpoints: vec![checkpoint(1)],
        }),
    );
    ch(&mut state, 'b');
    let why = menu(&state).items[0].disabled.clone().expect("disabled");
    assert!(why.contains("a turn is running"), "{why}");
    let up = key(&mut state, KeyCode::Enter);
    assert!(requests(&up).is_empty());
}

/// Snapshots the screen at both sizes.
fn snap(name: &str, state: &mut State) {
    for (w, h) in [(80, 24), (120, 40)] {
        let terminal = render(state, w, h);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), terminal.backend());
    }
}

#[test]
fn the_diffs_tab_with_comments_the_cursor_and_the_comment_box() {
    let mut state = on_diffs(lines());
    let mut long = comment(3, 12, false);
    long.text = "this one is long enough to wrap onto a second row and then a third, \
                 and what does not fit in three rows is cut"
        .into();
    reply(
        &mut state,
        Tag::Comments { session: sid(1) },
        Ok(Reply::Comments {
            comments: vec![comment(1, 11, true), comment(2, 11, false), long],
            sent: 0,
        }),
    );
    key(&mut state, KeyCode::Enter);
    ch(&mut state, 'j');
    snap("review_diffs", &mut state);
    ch(&mut state, 'c');
    typed(&mut state, "why was this removed?");
    snap("review_comment_box", &mut state);
}

#[test]
fn the_land_menu_with_a_disabled_option_selected() {
    let mut state = one(Status::Idle);
    let plan = LandPlan {
        conflicts: vec!["src/login.rs".into()],
        remotes: vec![],
        ..plan()
    };
    open_menu(&mut state, plan);
    ch(&mut state, 'j');
    snap("review_land_menu", &mut state);
}

#[test]
fn checkpoint_marks_sit_where_each_turn_ended() {
    let mut state = one(Status::Idle);
    let said = |id: &str, role: Role, text_: &str| Message {
        id: id.into(),
        role,
        created_at: t0(),
        parts: vec![Part {
            id: format!("{id}p"),
            message_id: id.into(),
            kind: text(text_),
        }],
    };
    let messages = vec![
        said("u1", Role::User, "add a notes file"),
        said("a1", Role::Assistant, "wrote notes.txt"),
        said("u2", Role::User, "and a second line"),
        said("a2", Role::Assistant, "added it"),
    ];
    let session = state.session(sid(1)).cloned().unwrap();
    reply(
        &mut state,
        Tag::Page {
            session: sid(1),
            load: flotilla::tui::transcript::Load::Tail,
        },
        Ok(Reply::Transcript {
            session,
            page: flotilla::core::Page::whole(messages),
        }),
    );
    let mark = |turn: u32, after: &str, files: usize| Checkpoint {
        after_message: Some(after.into()),
        files: (0..files)
            .map(|i| flotilla::core::ChronicleFile {
                path: format!("f{i}.txt"),
                status: FileStatus::Added,
                added: 1,
                removed: 0,
            })
            .collect(),
        ..checkpoint(turn)
    };
    reply(
        &mut state,
        Tag::Checkpoints { session: sid(1) },
        Ok(Reply::Checkpoints {
            checkpoints: vec![mark(1, "a1", 1), mark(2, "a2", 2)],
        }),
    );
    let terminal = render(&mut state, 80, 24);
    let screen = format!("{:?}", terminal.backend());
    let row = |text: &str| screen.lines().position(|l| l.contains(text));
    let (first, second) = (row("turn 1 · 1 file"), row("turn 2 · 2 files"));
    assert!(first.is_some() && second.is_some(), "{screen}");
    assert!(row("wrote notes.txt") < first && first < row("and a second line"));
    assert!(row("added it") < second, "{screen}");
    // The marks count in the rows the transcript scrolls over.
    let before = flotilla::tui::view::transcript_rows(&state);
    event(
        &mut state,
        Event::Checkpoint {
            session: sid(1),
            checkpoint: mark(2, "a2", 3),
        },
    );
    assert_eq!(
        flotilla::tui::view::transcript_rows(&state),
        before,
        "taken again: replaced"
    );
    snap("review_checkpoint_marks", &mut state);
}

#[test]
fn a_session_that_would_conflict_is_marked_and_info_names_the_other_and_the_files() {
    let mut state = state_with(Notify::default());
    let mut clashing = session(1, Status::Idle, APP, "fix login");
    clashing.conflicts = vec![flotilla::core::Conflict {
        with: Some(sid(2)),
        with_name: "add cache".into(),
        files: vec!["src/login.rs".into(), "README".into()],
    }];
    clashing.rate_limits = Some("primary 42% used of 5h".into());
    load(
        &mut state,
        vec![clashing, session(2, Status::Idle, APP, "add cache")],
    );
    let drawn = |state: &mut State| format!("{:?}", render(state, 120, 40).backend());
    let screen = drawn(&mut state);
    let row = |name: &str| {
        let line = screen
            .lines()
            .find(|l| l.contains(name))
            .unwrap_or_default();
        line.split('│').nth(1).unwrap_or_default().to_string()
    };
    assert!(row("○ fix login").trim_end().ends_with('≠'), "{screen}");
    assert!(!row("○ add cache").contains('≠'), "{screen}");
    ch(&mut state, '3');
    let screen = drawn(&mut state);
    assert!(
        screen.contains("≠ with session 'add cache' in src/login.rs, README"),
        "{screen}"
    );
    assert!(
        screen.contains("rate limits   primary 42% used of 5h"),
        "{screen}"
    );
}

#[test]
fn an_existing_directory_session_can_commit_and_push_but_not_merge() {
    let mut state = one(Status::Idle);
    let why =
        "an existing-directory session works in the repository itself: commit and push instead";
    let plan = LandPlan {
        into: None,
        merge_blocked: Some(why.into()),
        ..plan()
    };
    open_menu(&mut state, plan);
    let m = menu(&state);
    let labels: Vec<&str> = m.items.iter().map(|i| i.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "Commit",
            "Merge",
            "Commit and merge",
            "Squash-merge",
            "Push to origin"
        ]
    );
    for i in [1, 2, 3] {
        assert_eq!(m.items[i].disabled.as_deref(), Some(why));
    }
    assert!(m.items[0].disabled.is_none() && m.items[4].disabled.is_none());
}
