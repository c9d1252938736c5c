//! What the dashboard's keys ask of a session, through `update`: the transition table,
//! confirmations that need a deliberate answer, the prompt box and its drafts.

mod support;

use support::tui::*;

#[test]
fn abort_and_resume_follow_the_transition_table() {
    for status in listed_statuses() {
        let mut state = one(status);
        let up = ch(&mut state, 'a');
        match ABORTABLE.contains(&status) {
            true => assert_eq!(
                only_request(&up),
                Command::Abort {
                    id: id1(),
                    keep_queue: false
                },
                "{status}"
            ),
            false => assert_refused(&state, &up, status),
        }
        let mut state = one(status);
        let up = ch(&mut state, 'r');
        match RESUMABLE.contains(&status) {
            true => assert_eq!(only_request(&up), Command::Resume { id: id1() }, "{status}"),
            false => assert_refused(&state, &up, status),
        }
    }
}

#[test]
fn terminate_asks_for_busy_sessions_and_refuses_ended_ones() {
    for status in listed_statuses() {
        let mut state = one(status);
        let up = ch(&mut state, 'x');
        if ENDED.contains(&status) {
            assert_refused(&state, &up, status);
        } else if status.is_busy() {
            assert!(requests(&up).is_empty(), "{status}");
            assert!(question(&state).contains("fix login"));
            assert_eq!(only_request(&ch(&mut state, 'y')), stop(false), "{status}");
            assert!(state.dialog.is_none());
        } else {
            assert_eq!(only_request(&up), stop(false), "{status}: asked nothing");
            assert!(state.dialog.is_none());
        }
        // With cleanup it always asks, since a workspace goes; on a session that has
        // ended it removes only the workspace.
        let mut state = one(status);
        let up = ch(&mut state, 'X');
        assert!(requests(&up).is_empty(), "{status}");
        let asked = question(&state);
        assert!(asked.contains("/home/dev/.flotilla/ws/1"), "{asked}");
        assert_eq!(
            asked.starts_with("Remove the workspace"),
            ENDED.contains(&status),
            "{status}: {asked}"
        );
        let reqs = requests(&ch(&mut state, 'y'));
        assert_eq!(reqs.len(), 1, "{status}");
        assert_eq!(reqs[0].0, stop(true), "{status}");
        assert_eq!(reqs[0].1, Tag::Cleanup { session: sid(1) }, "{status}");
    }
}

#[test]
fn a_cleanup_refused_for_uncommitted_work_offers_the_forced_one_listing_what_goes() {
    let mut state = one(Status::Stopped);
    ch(&mut state, 'X');
    let tag = requests(&ch(&mut state, 'y'))[0].1.clone();
    let refusal = "nothing was changed: /home/dev/.flotilla/ws/1 has uncommitted work, \
                   2 changed files (src/a.rs, notes.md): commit or move it, or pass --force \
                   to discard it";
    reply(&mut state, tag, Err(refusal.into()));
    let Some(Dialog::Confirm(c)) = &state.dialog else {
        panic!("no second question: {:?}", state.flash)
    };
    assert!(!c.letters, "a letter cannot answer it");
    assert_eq!(c.focus, 0, "the focus starts on keeping it");
    let losses = c.losses.join("\n");
    assert!(
        losses.contains("src/a.rs, notes.md") && !losses.contains("--force"),
        "{losses}"
    );
    assert!(requests(&ch(&mut state, 'y')).is_empty(), "y does nothing");
    assert!(requests(&key(&mut state, KeyCode::Enter)).is_empty());
    assert!(state.dialog.is_none(), "enter on 'keep it' closes it");

    reply(
        &mut state,
        Tag::Cleanup { session: sid(1) },
        Err(refusal.into()),
    );
    key(&mut state, KeyCode::Right);
    let forced = Command::Stop {
        id: id1(),
        cleanup: true,
        force: true,
    };
    assert_eq!(only_request(&key(&mut state, KeyCode::Enter)), forced);
}

#[test]
fn delete_needs_a_deliberate_answer_and_says_what_goes() {
    let remove = Command::Remove {
        id: id1(),
        cleanup: false,
        force: false,
    };
    for status in listed_statuses() {
        let mut state = one(status);
        assert!(requests(&ch(&mut state, 'D')).is_empty());
        assert!(question(&state).contains("Delete 'fix login'"), "{status}");
        let Some(Dialog::Confirm(c)) = &state.dialog else {
            unreachable!()
        };
        assert!(c.losses.iter().any(|l| l.contains("transcript")));
        // Letters typed in passing answer nothing, and enter on the focused "no" closes.
        for c in "you sey".chars() {
            assert!(requests(&ch(&mut state, c)).is_empty(), "{status}: {c}");
        }
        if state.dialog.is_some() {
            assert!(requests(&key(&mut state, KeyCode::Enter)).is_empty());
        }
        assert!(state.dialog.is_none(), "{status}");
        let mut state = one(status);
        ch(&mut state, 'D');
        key(&mut state, KeyCode::Right);
        assert_eq!(
            only_request(&key(&mut state, KeyCode::Enter)),
            remove,
            "{status}"
        );
        for no in [KeyCode::Char('n'), KeyCode::Esc] {
            let mut state = one(status);
            ch(&mut state, 'D');
            let up = key(&mut state, no);
            assert!(
                up.effects.is_empty() && state.dialog.is_none(),
                "{status} {no:?}"
            );
        }
    }
}

#[test]
fn prose_typed_after_i_on_a_stopped_session_stays_a_prompt_and_offers_resume_and_send() {
    let mut state = one(Status::Stopped);
    ch(&mut state, 'i');
    assert!(state.prompting, "i always opens the box");
    // Every key of the sentence is a dashboard key outside the box: D, y, s, e, r, n...
    typed(
        &mut state,
        "Do you see the bug? echo x; for i in 1 2; do r; n; done",
    );
    assert!(state.dialog.is_none(), "no dialog opened while typing");
    let up = key(&mut state, KeyCode::Enter);
    assert!(requests(&up).is_empty(), "nothing is sent yet");
    let asked = question(&state);
    assert!(
        asked.contains("stopped") && asked.contains("Resume"),
        "{asked}"
    );
    let text = "Do you see the bug? echo x; for i in 1 2; do r; n; done";
    let up = key(&mut state, KeyCode::Enter);
    let reqs = requests(&up);
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].0, Command::Resume { id: id1() });
    let resumed = session(1, Status::Idle, APP, "fix login");
    let up = reply(
        &mut state,
        reqs[0].1.clone(),
        Ok(Reply::Session {
            session: resumed,
            note: None,
        }),
    );
    assert_eq!(only_request(&up), send(text), "sent once resumed");
    assert!(state.prompt.lines().concat().is_empty(), "the box is empty");
    assert_eq!(state.history.last().map(String::as_str), Some(text));
}

#[test]
fn keeping_the_draft_keeps_it_and_a_refused_send_puts_it_back() {
    let mut state = one(Status::Disconnected);
    ch(&mut state, 'i');
    typed(&mut state, "later");
    key(&mut state, KeyCode::Enter);
    key(&mut state, KeyCode::Left);
    assert!(requests(&key(&mut state, KeyCode::Enter)).is_empty());
    assert_eq!(state.prompt.lines().concat(), "later", "kept as a draft");
    assert!(state.prompting, "still typing");

    // Waiting for a permission: it cannot be resumed either; the draft stays.
    let mut state = one(Status::WaitingInput);
    ch(&mut state, 'i');
    typed(&mut state, "go on");
    let up = key(&mut state, KeyCode::Enter);
    assert!(requests(&up).is_empty() && state.dialog.is_none());
    assert!(state.flash.clone().unwrap().0.contains("draft"));
    assert_eq!(state.prompt.lines().concat(), "go on");

    // The daemon refuses a prompt that was sent: it comes back into the box.
    let mut state = one(Status::Idle);
    ch(&mut state, 'i');
    typed(&mut state, "hello");
    let tag = requests(&key(&mut state, KeyCode::Enter))[0].1.clone();
    assert!(state.prompt.lines().concat().is_empty());
    reply(&mut state, tag, Err("the agent went away".into()));
    assert_eq!(state.prompt.lines().concat(), "hello");
}

#[test]
fn each_session_keeps_its_own_draft() {
    let mut state = state_with(Notify::default());
    load(
        &mut state,
        vec![
            session(1, Status::Idle, APP, "one"),
            session(2, Status::Idle, APP, "two"),
        ],
    );
    transcript(&mut state, 1, vec![]);
    ch(&mut state, 'i');
    typed(&mut state, "for one");
    key(&mut state, KeyCode::Esc);
    ch(&mut state, 'j');
    assert_eq!(state.selected, Some(sid(2)));
    assert!(state.prompt.lines().concat().is_empty(), "two has no draft");
    ch(&mut state, 'i');
    typed(&mut state, "for two");
    key(&mut state, KeyCode::Esc);
    ch(&mut state, 'k');
    assert_eq!(state.prompt.lines().concat(), "for one");
    ch(&mut state, 'j');
    assert_eq!(state.prompt.lines().concat(), "for two");
}

#[test]
fn an_abort_with_queued_prompts_says_how_many_and_can_keep_them() {
    let mut state = state_with(Notify::default());
    let mut busy = session(1, Status::Active, APP, "fix login");
    busy.queued_prompts = 2;
    load(&mut state, vec![busy]);
    transcript(&mut state, 1, vec![]);
    assert!(requests(&ch(&mut state, 'a')).is_empty());
    let Some(Dialog::Confirm(c)) = &state.dialog else {
        panic!("no question")
    };
    assert!(c.question.contains("2 queued prompts"), "{}", c.question);
    assert!(
        requests(&ch(&mut state, 'y')).is_empty(),
        "no letter answers"
    );
    key(&mut state, KeyCode::Right);
    let kept = Command::Abort {
        id: id1(),
        keep_queue: true,
    };
    assert_eq!(only_request(&key(&mut state, KeyCode::Enter)), kept);
    ch(&mut state, 'a');
    key(&mut state, KeyCode::Right);
    key(&mut state, KeyCode::Right);
    let dropped = Command::Abort {
        id: id1(),
        keep_queue: false,
    };
    assert_eq!(only_request(&key(&mut state, KeyCode::Enter)), dropped);
}

#[test]
fn prompts_are_sent_queued_or_refused_by_status() {
    for status in listed_statuses() {
        let mut state = one(status);
        ch(&mut state, 'i');
        assert!(state.prompting, "{status}: the box always opens");
        typed(&mut state, "run the tests");
        let up = key(&mut state, KeyCode::Enter);
        if !PROMPTABLE.contains(&status) {
            // Nothing is sent; the draft stays, and a resume is offered where it can be.
            assert!(requests(&up).is_empty(), "{status}");
            assert_eq!(state.prompt.lines().concat(), "run the tests");
            assert_eq!(
                state.dialog.is_some(),
                RESUMABLE.contains(&status),
                "{status}"
            );
            continue;
        }
        let reqs = requests(&up);
        assert_eq!(reqs.len(), 1, "{status}");
        assert_eq!(reqs[0].0, send("run the tests"));
        let session = session(1, status, APP, "fix login");
        reply(
            &mut state,
            reqs[0].1.clone(),
            Ok(Reply::Session {
                session,
                note: None,
            }),
        );
        let (flash, level) = state.flash.clone().unwrap();
        assert_eq!(level, Level::Info);
        assert_eq!(
            flash.contains("queued"),
            status != Status::Idle,
            "{status}: {flash}"
        );
    }
}

#[test]
fn the_prompt_box_edits_sends_and_recalls_history() {
    let mut state = one(Status::Idle);
    ch(&mut state, 'i');
    typed(&mut state, "one");
    press(&mut state, KeyCode::Enter, KeyModifiers::ALT);
    typed(&mut state, "two");
    assert_eq!(state.prompt.lines(), ["one", "two"]);
    assert_eq!(
        only_request(&key(&mut state, KeyCode::Enter)),
        send("one\ntwo")
    );
    assert_eq!(state.prompt.lines(), [""]);
    typed(&mut state, "three");
    key(&mut state, KeyCode::Enter);
    let mut after = |code| {
        key(&mut state, code);
        state.prompt.lines().join("|")
    };
    assert_eq!(after(KeyCode::Up), "three");
    assert_eq!(after(KeyCode::Up), "one|two");
    assert_eq!(
        after(KeyCode::Down),
        "three",
        "down on the last line goes forward"
    );
    assert_eq!(after(KeyCode::Down), "");
    key(&mut state, KeyCode::Esc);
    assert!(!state.prompting);
}

#[test]
fn the_permission_card_answers_once_always_or_deny() {
    let answers = [
        ('y', PermissionReply::Once),
        ('Y', PermissionReply::Always),
        ('d', PermissionReply::Deny),
    ];
    for (c, answer) in answers {
        let mut state = one(Status::WaitingInput);
        let ask = PartKind::Permission {
            request_id: "req-1".into(),
            tool: "edit".into(),
            detail: "edit src/main.rs".into(),
            diff: None,
            reply: None,
        };
        transcript(&mut state, 1, vec![("perm", ask)]);
        let request_id = "req-1".to_string();
        let want = Command::Permission {
            id: id1(),
            request_id: Some(request_id),
            reply: answer,
        };
        assert_eq!(only_request(&ch(&mut state, c)), want, "{c}");
    }
}

#[test]
fn ctrl_c_in_the_prompt_box_clears_it_then_leaves_it_and_never_quits() {
    let mut state = one(Status::Idle);
    ch(&mut state, 'i');
    assert!(state.prompting);
    for c in "half a thought".chars() {
        ch(&mut state, c);
    }
    let up = press(&mut state, KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert!(!up.effects.contains(&Effect::Quit));
    assert!(state.prompting, "the first ctrl-c clears");
    assert_eq!(state.prompt.lines().join(""), "");
    ch(&mut state, 'x');
    assert_eq!(
        state.prompt.lines().join(""),
        "x",
        "what follows is a fresh prompt"
    );
    press(&mut state, KeyCode::Char('c'), KeyModifiers::CONTROL);
    let up = press(&mut state, KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert!(!state.prompting, "ctrl-c in an empty box leaves it");
    assert!(!up.effects.contains(&Effect::Quit));
    let up = press(&mut state, KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert!(
        up.effects.contains(&Effect::Quit),
        "in the main view it quits"
    );
}

#[test]
fn a_draft_survives_a_reload_and_follows_its_session_when_the_filter_moves_the_selection() {
    let mut state = state_with(Notify::default());
    load(
        &mut state,
        vec![
            session(1, Status::Idle, APP, "alpha"),
            session(2, Status::Idle, APP, "beta"),
        ],
    );
    transcript(&mut state, 1, vec![]);
    ch(&mut state, 'i');
    typed(&mut state, "half typed");
    // Events were missed: the sessions are read again; what is typed stays.
    let sessions = state.sessions.clone();
    load(&mut state, sessions);
    assert_eq!(state.prompt.lines().concat(), "half typed");
    key(&mut state, KeyCode::Esc);
    // The filter hides the selected session: the selection moves, the draft stays behind
    // with its session, and the daemon is told what is on screen now.
    ch(&mut state, '/');
    typed(&mut state, "beta");
    key(&mut state, KeyCode::Enter);
    assert_eq!(state.selected, Some(sid(2)));
    assert!(
        state.prompt.lines().concat().is_empty(),
        "beta has no draft"
    );
    assert_eq!(
        state.drafts.get(&sid(1)).map(String::as_str),
        Some("half typed")
    );
    assert_eq!(state.told_viewing, Some(sid(2)));
}
