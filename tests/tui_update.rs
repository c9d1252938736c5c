//! The dashboard's `update`: keys, replies and daemon events in, state and effects out.
//! Pure: no terminal, no daemon.

mod support;

use support::tui::*;

#[test]
fn moving_the_selection_crosses_groups_and_loads_transcripts_once() {
    let mut state = three_sessions();
    assert_eq!(only_request(&ch(&mut state, 'j')), wants_transcript(2));
    assert_eq!(state.selected, Some(sid(2)));
    assert_eq!(
        only_request(&key(&mut state, KeyCode::Down)),
        wants_transcript(3)
    );
    assert_eq!(state.selected, Some(sid(3)), "into the second repository");
    assert!(requests(&ch(&mut state, 'j')).is_empty(), "the last");
    assert_eq!(state.selected, Some(sid(3)));
    assert!(requests(&ch(&mut state, 'k')).is_empty(), "still loading");
    assert_eq!(state.selected, Some(sid(2)));
    assert!(requests(&key(&mut state, KeyCode::Up)).is_empty(), "loaded");
    assert_eq!(state.selected, Some(sid(1)));
}

#[test]
fn tabs_switch_and_the_diffs_tab_asks_for_a_diff() {
    let mut state = three_sessions();
    let diff = Command::Diff { id: id1() };
    let steps = [
        (KeyCode::Char('2'), Tab::Diffs, true),
        (KeyCode::Char('3'), Tab::Info, false),
        (KeyCode::Char('1'), Tab::Messages, false),
        (KeyCode::Tab, Tab::Diffs, true),
        (KeyCode::Tab, Tab::Info, false),
        (KeyCode::Tab, Tab::Messages, false),
        (KeyCode::BackTab, Tab::Info, false),
        (KeyCode::BackTab, Tab::Diffs, true),
    ];
    for (code, tab, asks) in steps {
        let shift = code == KeyCode::BackTab;
        let mods = if shift {
            KeyModifiers::SHIFT
        } else {
            KeyModifiers::NONE
        };
        let reqs = requests(&press(&mut state, code, mods));
        assert_eq!(state.tab, tab, "{code:?}");
        assert_eq!(
            reqs.iter().any(|(c, _)| *c == diff),
            asks,
            "{code:?}: {reqs:?}"
        );
    }
}

#[test]
fn only_the_newest_diff_reply_is_used() {
    let mut state = three_sessions();
    let first = requests(&ch(&mut state, '2'))[0].1.clone();
    let second = requests(&ch(&mut state, '2'))[0].1.clone();
    assert_ne!(first, second);
    assert!(matches!(second, Tag::Diff { seq, .. } if seq == state.diff.seq));
    let diff = |path: &str| {
        let session = session(1, Status::Idle, APP, "fix login");
        let files = vec![FileDiff {
            path: path.into(),
            status: FileStatus::Modified,
            additions: 1,
            deletions: 0,
            binary: false,
            too_large: false,
            size: 0,
            omitted_lines: 0,
            hunks: vec![],
        }];
        Ok(Reply::Diff { session, files })
    };
    reply(&mut state, first, diff("old.rs"));
    assert!(
        state.diff.files.is_empty() && state.diff.loading,
        "the older reply is dropped"
    );
    reply(&mut state, second, diff("new.rs"));
    assert!(!state.diff.loading);
    assert_eq!(state.diff.files[0].path, "new.rs");
}

#[test]
fn filtering_narrows_the_sidebar_and_esc_clears_it() {
    let mut state = three_sessions();
    ch(&mut state, '/');
    assert!(state.filtering);
    typed(&mut state, "cache");
    assert_eq!(state.filter, "cache");
    assert_eq!(state.visible_ids().collect::<Vec<_>>(), [sid(2)]);
    assert_eq!(state.selected, Some(sid(2)));
    key(&mut state, KeyCode::Esc);
    assert!(!state.filtering && state.filter.is_empty());
    assert_eq!(state.visible_ids().count(), 3);
}

#[test]
fn a_selection_moved_by_the_filter_loads_its_transcript() {
    let mut state = three_sessions();
    ch(&mut state, '/');
    let reqs: Vec<_> = "cache"
        .chars()
        .flat_map(|c| requests(&ch(&mut state, c)))
        .collect();
    assert_eq!(state.selected, Some(sid(2)));
    assert!(
        reqs.iter().any(|(c, _)| *c == wants_transcript(2)),
        "{reqs:?}"
    );
}

#[test]
fn the_first_session_arriving_as_an_event_is_loaded() {
    let mut state = state_with(Notify::default());
    let up = event(
        &mut state,
        Event::SessionUpdated {
            session: session(1, Status::Idle, APP, "a"),
        },
    );
    assert_eq!(state.selected, Some(sid(1)));
    assert_eq!(only_request(&up), wants_transcript(1));
}

#[test]
fn needs_me_first_puts_waiting_and_failed_sessions_on_top() {
    let mut state = state_with(Notify::default());
    let finished = Session {
        mark: Some(Mark::Attention),
        parent: None,
        notify: None,
        limits: Default::default(),
        turns: 0,
        turn_ms: 0,
        template: None,
        reforged_from: None,
        conflicts: Vec::new(),
        rate_limits: None,
        ..session(6, Status::Idle, APP, "f")
    };
    load(
        &mut state,
        vec![
            session(1, Status::Idle, APP, "a"),
            session(2, Status::Active, APP, "b"),
            session(3, Status::Error, APP, "c"),
            session(4, Status::Idle, LIB, "d"),
            session(5, Status::WaitingInput, LIB, "e"),
            finished,
        ],
    );
    let order = |s: &State| s.visible_ids().collect::<Vec<_>>();
    let by_repo = [sid(1), sid(2), sid(3), sid(6), sid(4), sid(5)];
    assert_eq!(order(&state), by_repo);
    ch(&mut state, 'S');
    assert!(state.needs_me_first);
    // One list across repositories, so a session that finished its turn is not left
    // at the end of its group.
    assert!(
        state.rows.iter().all(|r| matches!(r, Row::Session(_))),
        "no group headers"
    );
    assert_eq!(
        order(&state),
        [sid(5), sid(3), sid(6), sid(1), sid(2), sid(4)]
    );
    ch(&mut state, 'S');
    assert_eq!(order(&state), by_repo);
}

#[test]
fn the_sidebar_scrolls_only_to_keep_the_selection_in_view() {
    let mut state = state_with(Notify::default());
    let sessions = (1..=40)
        .map(|n| session(n, Status::Idle, if n <= 20 { APP } else { LIB }, "s"))
        .collect();
    load(&mut state, sessions);
    small_screen(&mut state);
    let height = state.sidebar_height();
    assert_eq!(
        height, 18,
        "24 rows less the prompt, status line and borders"
    );
    for _ in 0..17 {
        ch(&mut state, 'j');
    }
    assert_eq!(
        state.sidebar_top, 1,
        "the 18th session's row is the 19th: one row down"
    );
    for _ in 0..5 {
        ch(&mut state, 'k');
    }
    assert_eq!(
        state.sidebar_top, 1,
        "moving up inside the view does not scroll it"
    );
    for _ in 0..30 {
        ch(&mut state, 'j');
    }
    assert_eq!(state.sidebar_top, state.rows.len() - height, "at the end");
    for _ in 0..40 {
        ch(&mut state, 'k');
    }
    assert_eq!(
        state.sidebar_top, 0,
        "back at the top, with its group header"
    );
}

#[test]
fn help_quit_suspend_and_key_releases() {
    let mut state = three_sessions();
    ch(&mut state, '?');
    assert_eq!(state.overlay, Some((Overlay::Help, 0)));
    // At 80x24 the keys do not fit: j and k scroll, and stop at either end.
    small_screen(&mut state);
    ch(&mut state, 'k');
    assert_eq!(state.overlay, Some((Overlay::Help, 0)));
    ch(&mut state, 'j');
    ch(&mut state, 'j');
    assert_eq!(state.overlay, Some((Overlay::Help, 2)));
    ch(&mut state, 'G');
    let end = state.overlay.expect("open").1;
    assert!(end > 20, "scrolled to the end: {end}");
    ch(&mut state, 'j');
    assert_eq!(
        state.overlay,
        Some((Overlay::Help, end)),
        "not past the end"
    );
    let up = ch(&mut state, 'q');
    assert!(
        state.overlay.is_none() && up.effects.is_empty(),
        "any other key only closes help"
    );
    assert_eq!(ch(&mut state, 'q').effects, [Effect::Quit]);
    let up = press(&mut state, KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(up.effects, [Effect::Quit]);
    let up = press(&mut state, KeyCode::Char('z'), KeyModifiers::CONTROL);
    assert_eq!(up.effects, [Effect::Suspend]);
    for c in ['j', 'q', '2', '?'] {
        let release =
            KeyEvent::new_with_kind(KeyCode::Char(c), KeyModifiers::NONE, KeyEventKind::Release);
        let up = update(&mut state, Msg::Key(release));
        assert!(up.effects.is_empty() && !up.redraw, "{c}");
    }
    let seen = (state.selected, state.tab, state.overlay);
    assert_eq!(seen, (Some(sid(1)), Tab::Messages, None));
}

#[test]
fn deltas_append_by_offset_and_skip_what_is_already_there() {
    let mut state = one(Status::Active);
    transcript(&mut state, 1, vec![("p1", text("hello "))]);
    assert!(event(&mut state, delta(1, "p1", 3, "lo world")).redraw);
    assert_eq!(part_text(&state, 1, "p1"), "hello world");
    assert!(!event(&mut state, delta(1, "p1", 0, "hello")).redraw);
    assert_eq!(part_text(&state, 1, "p1"), "hello world");
}

#[test]
fn events_during_a_transcript_load_are_replayed_once() {
    let mut state = state_with(Notify::default());
    load(&mut state, vec![session(1, Status::Active, APP, "a")]);
    assert!(state.loading.contains_key(&sid(1)));
    let added = message(vec![("p1", text(""))]);
    event(
        &mut state,
        Event::MessageAdded {
            session: sid(1),
            message: added,
        },
    );
    event(&mut state, delta(1, "p1", 0, "hello "));
    event(&mut state, delta(1, "p1", 6, "world"));
    event(
        &mut state,
        Event::PartUpdated {
            session: sid(1),
            part: part("p2", text("!")),
        },
    );
    // The reply was taken after the first delta.
    transcript(&mut state, 1, vec![("p1", text("hello "))]);
    assert!(state.loading.is_empty());
    let t = &state.transcripts[&sid(1)];
    assert_eq!((t.messages.len(), t.messages[0].parts.len()), (1, 2));
    assert_eq!(part_text(&state, 1, "p1"), "hello world");
    assert_eq!(part_text(&state, 1, "p2"), "!");
    assert!(!t.stale);
}

#[test]
fn marks_are_the_daemons_and_selecting_a_session_tells_it_it_is_viewed() {
    let mut state = three_sessions();
    // Output alone marks nothing here: the daemon says when a session is unread, so
    // every dashboard shows the same.
    assert!(!event(&mut state, delta(2, "p1", 0, "x")).redraw);
    assert_eq!(state.mark(sid(2)), None);
    assert!(event(&mut state, marked(2, Status::Idle, Some(Mark::Unread))).redraw);
    assert_eq!(state.mark(sid(2)), Some(Mark::Unread));
    event(&mut state, marked(1, Status::Idle, Some(Mark::Failed)));
    assert_eq!(
        state.mark(sid(1)),
        None,
        "the one on screen is never marked"
    );
    // Another client looked at it: the daemon cleared its mark.
    event(&mut state, marked(2, Status::Idle, None));
    assert_eq!(state.mark(sid(2)), None);
    event(&mut state, marked(2, Status::Idle, Some(Mark::Failed)));
    let up = ch(&mut state, 'j');
    assert_eq!(state.mark(sid(2)), None, "selecting it clears the mark");
    let view = up.effects.iter().any(|e| {
        matches!(e, Effect::Request(Command::View { id: Some(id), .. }, Tag::Viewing)
            if *id == sid(2).to_string())
    });
    assert!(view, "the daemon is told: {:?}", up.effects);
    // Marks arrive with the sessions, too: a dashboard opened later sees them.
    let mut later = state_with(Notify::default());
    load(
        &mut later,
        vec![
            session(1, Status::Idle, APP, "a"),
            Session {
                mark: Some(Mark::Attention),
                parent: None,
                notify: None,
                limits: Default::default(),
                turns: 0,
                turn_ms: 0,
                template: None,
                reforged_from: None,
                conflicts: Vec::new(),
                rate_limits: None,
                ..session(2, Status::Idle, APP, "b")
            },
        ],
    );
    assert_eq!(later.mark(sid(2)), Some(Mark::Attention));
}

#[test]
fn sessions_that_need_attention_are_marked_and_notified() {
    let cases = [
        (Status::Active, Status::Idle, "finished its turn"),
        (Status::Active, Status::WaitingInput, "needs your answer"),
        (Status::Idle, Status::Error, "failed"),
    ];
    // The configuration's default notifies with OSC 9 and leaves the bell off.
    for bell in [false, true] {
        for (before, after, news) in cases {
            let mut state = state_with(Notify { bell, osc9: true });
            load(
                &mut state,
                vec![
                    session(1, Status::Idle, APP, "a"),
                    session(2, before, APP, "b"),
                ],
            );
            let mark = Some(Mark::Attention);
            let session = Session {
                mark,
                ..session(2, after, APP, "b")
            };
            let up = event(&mut state, Event::SessionUpdated { session });
            assert_eq!(state.mark(sid(2)), Some(Mark::Attention), "{after}");
            let mut want = vec![Effect::Notify(format!("flotilla: b {news}"))];
            want.extend(bell.then_some(Effect::Bell));
            assert_eq!(up.effects, want, "{before} -> {after}, bell {bell}");
        }
    }
    let mut state = state_with(Notify {
        bell: true,
        osc9: true,
    });
    load(&mut state, vec![session(1, Status::Active, APP, "a")]);
    let up = event(
        &mut state,
        Event::SessionUpdated {
            session: session(1, Status::Idle, APP, "a"),
        },
    );
    assert!(
        up.effects.is_empty() && state.mark(sid(1)).is_none(),
        "not for the one on screen"
    );
}

#[test]
fn the_tool_cursor_moves_and_folds_tool_calls() {
    let mut state = one(Status::Idle);
    transcript(
        &mut state,
        1,
        vec![("t1", tool()), ("p1", text("between")), ("t2", tool())],
    );
    let mut cursor_after = |c| {
        ch(&mut state, c);
        state.tool_cursor.clone().unwrap_or_default()
    };
    assert_eq!(cursor_after('t'), "t1");
    assert_eq!(cursor_after('t'), "t2");
    assert_eq!(cursor_after('t'), "t2", "stays on the last");
    assert_eq!(cursor_after('T'), "t1");
    key(&mut state, KeyCode::Enter);
    assert!(state.transcripts[&sid(1)].expanded.contains("t1"));
    key(&mut state, KeyCode::Enter);
    assert!(state.transcripts[&sid(1)].expanded.is_empty());
}

#[test]
fn the_new_session_dialog_checks_submits_and_shows_daemon_errors() {
    let mut state = state_with(Notify::default());
    ch(&mut state, 'n');
    assert!(matches!(state.dialog, Some(Dialog::NewSession(_))));
    assert!(key(&mut state, KeyCode::Enter).effects.is_empty());
    assert!(form_error(&state, Field::Directory).is_some());
    typed(&mut state, "/home/dev/src/a");
    assert_eq!(
        form_error(&state, Field::Directory),
        None,
        "typing clears it"
    );
    let up = key(&mut state, KeyCode::Tab);
    assert_eq!(up.effects, [Effect::Complete("/home/dev/src/a".into())]);
    let (completed, options) = ("/home/dev/src/ap".into(), vec!["api".into(), "app".into()]);
    update(&mut state, Msg::Completed { completed, options });
    typed(&mut state, "p");
    for _ in 0..4 {
        key(&mut state, KeyCode::Down);
    }
    typed(&mut state, "Fix login");
    let up = key(&mut state, KeyCode::Enter);
    let spec = NewSession {
        dir: PathBuf::from(APP),
        strategy: Some(Strategy::Worktree),
        title: Some("Fix login".into()),
        agent: Some("shell".into()),
        ..NewSession::default()
    };
    assert_eq!(requests(&up), [(Command::New(spec), Tag::NewSession)]);
    let refusal = Err("branch 'flotilla/fix-login' already exists".to_string());
    reply(&mut state, Tag::NewSession, refusal);
    let error = form_error(&state, Field::Branch).unwrap_or_default();
    assert!(error.contains("already exists"), "{error}");
    match &state.dialog {
        Some(Dialog::NewSession(form)) => assert!(form.focus == Field::Branch && !form.submitting),
        _ => panic!("the dialog stays open"),
    }
    let session = session(7, Status::Starting, APP, "Fix login");
    let up = reply(
        &mut state,
        Tag::NewSession,
        Ok(Reply::Session {
            session,
            note: None,
        }),
    );
    assert!(state.dialog.is_none());
    assert_eq!(state.selected, Some(sid(7)));
    assert!(requests(&up).iter().any(|(c, _)| *c == wants_transcript(7)));
}

#[test]
fn the_diffs_tab_fetches_only_the_selected_files_hunks() {
    let mut state = three_sessions();
    let tag = requests(&ch(&mut state, '2'))[0].1.clone();
    let listed = |path: &str| FileDiff {
        path: path.into(),
        status: FileStatus::Modified,
        additions: 1,
        deletions: 1,
        binary: false,
        too_large: false,
        size: 0,
        omitted_lines: 0,
        hunks: vec![],
    };
    let session1 = session(1, Status::Idle, APP, "fix login");
    let files = vec![listed("a.rs"), listed("b.rs")];
    let up = reply(
        &mut state,
        tag,
        Ok(Reply::Diff {
            session: session1,
            files,
        }),
    );
    let wants = |path: &str| Command::DiffFile {
        id: id1(),
        path: path.into(),
    };
    let asked = requests(&up);
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(asked[0].0, wants("a.rs"));
    let with_hunks = |path: &str| FileDiff {
        hunks: vec![flotilla::core::Hunk {
            old_start: 1,
            old_lines: 1,
            new_start: 1,
            new_lines: 1,
            lines: vec![flotilla::core::DiffLine {
                kind: flotilla::core::LineKind::Added,
                text: format!("in {path}"),
            }],
        }],
        ..listed(path)
    };
    reply(
        &mut state,
        asked[0].1.clone(),
        Ok(Reply::DiffFile {
            file: Some(with_hunks("a.rs")),
        }),
    );
    assert_eq!(state.diff.files[0].hunks.len(), 1);

    let asked = requests(&ch(&mut state, ']'));
    assert_eq!(state.diff.selected, 1);
    assert!(
        asked.iter().any(|(c, _)| *c == wants("b.rs")),
        "the next file is fetched: {asked:?}"
    );
    assert!(state.diff.files[0].hunks.is_empty(), "a.rs is let go of");
}

#[test]
fn a_reconnect_reloads_the_sessions_and_the_transcript_on_screen() {
    let mut state = one(Status::Active);
    update(
        &mut state,
        Msg::Offline("the daemon went away; reconnecting…".into()),
    );
    assert!(state.offline.is_some());
    let back = vec![session(1, Status::Disconnected, APP, "fix login")];
    let up = update(
        &mut state,
        Msg::Reconnected(Box::new(Reply::Subscribed { sessions: back })),
    );
    assert!(state.offline.is_none());
    assert_eq!(
        state.sessions[0].status,
        Status::Disconnected,
        "the daemon's word"
    );
    let asked: Vec<Command> = requests(&up).into_iter().map(|(c, _)| c).collect();
    assert!(asked.contains(&wants_transcript(1)), "{asked:?}");
    assert!(asked.contains(&Command::DaemonStatus), "{asked:?}");
    assert!(state.flash.clone().unwrap().0.contains("reconnected"));
}

#[test]
fn ages_change_a_minute_at_a_time_and_output_makes_a_session_young_again() {
    let mut state = state_with(Notify::default());
    let mut old = session(1, Status::Active, APP, "old");
    old.last_activity_at = t0() - chrono::Duration::seconds(150);
    let mut young = session(2, Status::Idle, APP, "young");
    young.last_activity_at = t0() - chrono::Duration::seconds(20);
    load(&mut state, vec![old, young]);
    // "now" for the young one turns "1m" 40 s from now; "2m" for the old one turns "3m"
    // in 30 s: the screen is next redrawn then.
    assert_eq!(
        state.next_age_change(),
        Some(t0() + chrono::Duration::seconds(30))
    );
    event(
        &mut state,
        Event::PartDelta {
            session: sid(1),
            message_id: "m1".into(),
            part_id: "p1".into(),
            offset: 0,
            text: "more".into(),
        },
    );
    assert_eq!(state.session(sid(1)).unwrap().last_activity_at, t0());
    assert_eq!(
        state.next_age_change(),
        Some(t0() + chrono::Duration::seconds(40))
    );
}

#[test]
fn only_ages_that_can_be_on_screen_wake_the_dashboard() {
    let mut state = state_with(Notify::default());
    let mut sessions: Vec<_> = (1..=60)
        .map(|n| {
            let mut s = session(n, Status::Idle, APP, &format!("s{n}"));
            s.last_activity_at = t0() - chrono::Duration::seconds(150);
            s
        })
        .collect();
    // One session's age turns first, in 10 s.
    sessions[59].last_activity_at = t0() - chrono::Duration::seconds(50);
    load(&mut state, sessions);
    let row = (state.rows.iter())
        .position(|r| r.session().is_some_and(|i| state.sessions[i].id == sid(60)))
        .expect("a row");
    let soon = Some(t0() + chrono::Duration::seconds(10));
    let others = Some(t0() + chrono::Duration::seconds(30));
    assert!(
        row >= 24,
        "the young one is below the first screenful: row {row}"
    );
    // Out of a 24-row screen's reach, it wakes nothing; scrolled to, it does.
    state.sidebar_top = 0;
    assert_eq!(state.next_age_change(), others);
    state.sidebar_top = row - 5;
    assert_eq!(state.next_age_change(), soon);
}

#[test]
fn the_wheel_scrolls_what_is_under_it_and_a_click_selects_a_session() {
    use crossterm::event::{MouseButton, MouseEventKind};
    let mut state = three_sessions();
    small_screen(&mut state);
    assert_eq!(state.selected, Some(sid(1)));
    mouse(&mut state, MouseEventKind::ScrollDown, 5, 5);
    assert_eq!(
        state.selected,
        Some(sid(2)),
        "the wheel over the sidebar moves the selection"
    );
    mouse(&mut state, MouseEventKind::ScrollUp, 5, 5);
    assert_eq!(state.selected, Some(sid(1)));
    // Rows: the border, then the sidebar's rows from the top.
    let row_of = |state: &State, id: SessionId| {
        let at = state
            .rows
            .iter()
            .position(|r| matches!(r, Row::Session(i) if state.sessions[*i].id == id));
        at.expect("shown") as u16 + 1
    };
    let row = row_of(&state, sid(3));
    mouse(&mut state, MouseEventKind::Down(MouseButton::Left), 3, row);
    assert_eq!(state.selected, Some(sid(3)), "a click selects");
    let up = mouse(&mut state, MouseEventKind::Down(MouseButton::Left), 3, 1);
    assert_eq!(
        state.selected,
        Some(sid(3)),
        "the header row selects nothing"
    );
    assert!(!up.redraw);
    // Over the transcript the wheel scrolls it, three lines a notch.
    let lines: String = (0..100).map(|i| format!("line {i}\n")).collect();
    transcript(&mut state, 3, vec![("p1", text(&lines))]);
    mouse(&mut state, MouseEventKind::ScrollUp, 60, 5);
    assert_eq!(state.scroll, 3);
    mouse(&mut state, MouseEventKind::ScrollDown, 60, 5);
    assert_eq!(state.scroll, 0);
    assert_eq!(state.selected, Some(sid(3)));
}

#[test]
fn ctrl_e_and_ctrl_y_scroll_a_line_and_z_zooms_the_right_pane() {
    let mut state = one(Status::Idle);
    small_screen(&mut state);
    let lines: String = (0..100).map(|i| format!("line {i}\n")).collect();
    transcript(&mut state, 1, vec![("p1", text(&lines))]);
    press(&mut state, KeyCode::Char('y'), KeyModifiers::CONTROL);
    press(&mut state, KeyCode::Char('y'), KeyModifiers::CONTROL);
    assert_eq!(state.scroll, 2);
    press(&mut state, KeyCode::Char('e'), KeyModifiers::CONTROL);
    assert_eq!(state.scroll, 1);
    let narrow = state.messages_width();
    ch(&mut state, 'z');
    assert!(state.zoom);
    assert_eq!(
        state.messages_width(),
        78,
        "the whole width but the borders"
    );
    assert!(narrow < 78);
    ch(&mut state, 'z');
    assert_eq!(state.messages_width(), narrow);
}

#[test]
fn l_opens_the_log_with_every_message_whole() {
    let mut state = one(Status::Idle);
    small_screen(&mut state);
    let long = format!(
        "cannot remove {}: permission denied",
        "/very/long/path".repeat(8)
    );
    reply(
        &mut state,
        Tag::Action { what: "x".into() },
        Err(long.clone()),
    );
    ch(&mut state, 'L');
    assert!(matches!(state.overlay, Some((Overlay::Log, _))));
    assert_eq!(state.log.back().map(|(_, t, _)| t.clone()), Some(long));
    ch(&mut state, 'q');
    assert!(state.overlay.is_none(), "any other key closes it");
}

#[test]
fn ctrl_t_adds_the_box_to_the_running_turn_and_only_while_one_runs() {
    let mut state = one(Status::Active);
    ch(&mut state, 'i');
    typed(&mut state, "also this");
    let up = press(&mut state, KeyCode::Char('t'), KeyModifiers::CONTROL);
    assert_eq!(
        only_request(&up),
        Command::Steer {
            id: id1(),
            text: "also this".into()
        }
    );
    assert_eq!(state.prompt.lines().join(""), "", "out of the box");

    let mut state = one(Status::Idle);
    ch(&mut state, 'i');
    typed(&mut state, "later");
    let up = press(&mut state, KeyCode::Char('t'), KeyModifiers::CONTROL);
    assert!(requests(&up).is_empty());
    let (text, level) = state.flash.clone().expect("a flash");
    assert_eq!(level, Level::Error);
    assert!(text.contains("no turn is running"), "{text}");
    assert_eq!(state.prompt.lines().join(""), "later", "kept");
}
