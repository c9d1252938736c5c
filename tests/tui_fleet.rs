//! The dashboard over several hosts, without a network: each host's sessions merged on
//! their own, a host that drops greyed out and the others untouched, requests sent to the
//! host that has the session, and the link's reconnect loop over in-memory streams.

mod support;

use flotilla::daemon::Client;
use flotilla::protocol::{PROTOCOL_VERSION, Request, ServerMsg};
use flotilla::tui::fleet::{Host, Link};
use flotilla::tui::link::{LinkNews, keep};
use flotilla::tui::update::fleet::HostNews;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use support::tui::*;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

const BUILD: usize = 1;

fn fleet_state() -> State {
    let mut state = state_with(Notify::default());
    state.fleet.hosts.push(Host {
        name: "build".into(),
        link: Link::Connecting,
        ssh: vec!["ssh".into(), "-t".into(), "build".into()],
    });
    state
}

/// Session 1 on this machine and session 2, with `status`, on build.
fn local_and_build(status: Status) -> State {
    let mut state = fleet_state();
    load(&mut state, vec![session(1, Status::Idle, APP, "local one")]);
    host(
        &mut state,
        BUILD,
        up(vec![session(2, status, APP, "remote two")]),
    );
    state
}

fn host(state: &mut State, host: usize, news: HostNews) -> Update {
    update(state, Msg::Host { host, news })
}

fn up(sessions: Vec<Session>) -> HostNews {
    HostNews::Up(Box::new(Reply::Subscribed { sessions }))
}

#[test]
fn each_host_s_snapshot_replaces_only_its_own_sessions() {
    let mut state = fleet_state();
    load(&mut state, vec![session(1, Status::Idle, APP, "local one")]);
    host(
        &mut state,
        BUILD,
        up(vec![
            session(2, Status::Active, APP, "remote two"),
            session(3, Status::Idle, LIB, "remote three"),
        ]),
    );
    let ids: Vec<_> = state.sessions.iter().map(|s| s.id).collect();
    assert_eq!(ids, [sid(1), sid(2), sid(3)]);
    assert_eq!(state.host_of(sid(1)), 0);
    assert_eq!(state.host_of(sid(2)), BUILD);
    // Host headers first, then each host's repositories.
    assert_eq!(state.rows[0], Row::Host(0));
    let build_at = state.rows.iter().position(|r| *r == Row::Host(BUILD));
    let two_at = state.rows.iter().position(|r| *r == Row::Session(1));
    assert!(build_at < two_at, "{:?}", state.rows);

    // The host comes back with one session fewer: only its own go.
    host(&mut state, BUILD, HostNews::Down("the link dropped".into()));
    host(
        &mut state,
        BUILD,
        up(vec![session(2, Status::Idle, APP, "remote two")]),
    );
    let ids: Vec<_> = state.sessions.iter().map(|s| s.id).collect();
    assert_eq!(ids, [sid(1), sid(2)]);
    assert_eq!(state.session(sid(2)).map(|s| s.status), Some(Status::Idle));

    // And the local daemon's own list leaves the remote sessions alone.
    load(
        &mut state,
        vec![session(4, Status::Idle, APP, "local four")],
    );
    let ids: Vec<_> = state.sessions.iter().map(|s| s.id).collect();
    assert_eq!(ids, [sid(2), sid(4)]);
}

#[test]
fn a_host_that_drops_greys_out_its_sessions_and_says_why_in_its_header() {
    let mut state = local_and_build(Status::Active);
    assert!(!state.host_away(sid(2)));
    let why = "cannot reach host build (box): Connection refused · retrying in 1s";
    let down = host(&mut state, BUILD, HostNews::Down(why.into()));
    assert!(down.redraw);
    assert!(state.host_away(sid(2)));
    assert!(!state.host_away(sid(1)), "the local session is untouched");
    // Its sessions stay listed, shown as they were last known.
    assert!(state.session(sid(2)).is_some());
    let text = screen(&mut state, 120, 40);
    assert!(text.contains("build · disconnected: cannot reac"), "{text}");
    assert!(text.contains("local · 1 session "), "{text}");
    // The whole reason is said once, on the bottom line and in the log.
    let said = state.log.back().map(|(_, text, _)| text.clone());
    assert_eq!(said, Some(format!("host build: disconnected: {why}")));
    // The retries after it change only the header.
    host(&mut state, BUILD, HostNews::Down(format!("{why}.")));
    assert_eq!(state.log.len(), 1);
    assert!(text.contains("remote two"), "{text}");
}

#[test]
fn a_host_removed_for_good_leaves_the_sidebar_with_its_sessions() {
    let mut state = local_and_build(Status::Idle);
    state.selected = Some(sid(2));
    let why = "removed: its pod and volume are deleted";
    let removed = host(&mut state, BUILD, HostNews::Removed(why.into()));
    assert!(removed.redraw);
    assert!(state.session(sid(2)).is_none(), "its session goes");
    assert_eq!(state.selected, Some(sid(1)), "the selection moves on");
    let text = screen(&mut state, 120, 40);
    assert!(!text.contains("▌build"), "no header for it:\n{text}");
    assert!(!text.contains("remote two"), "{text}");
    assert!(text.contains("local · 1 session "), "{text}");
    let said = state.log.back().map(|(_, text, _)| text.clone());
    assert_eq!(said, Some(format!("host build: {why}")));
    // Said once: the watch may tell it again (a claim being deleted, then deleted).
    host(&mut state, BUILD, HostNews::Removed(why.into()));
    assert_eq!(state.log.len(), 1);
    // The pods' watch, relisting after a gap, may tell of the pod after the volume.
    host(
        &mut state,
        BUILD,
        HostNews::Held("stopped: its pod is deleted".into()),
    );
    assert_eq!(state.log.len(), 1);
    let text = screen(&mut state, 120, 40);
    assert!(!text.contains("▌build"), "still no header for it:\n{text}");
}

#[test]
fn events_of_a_host_place_new_sessions_there_and_a_lag_lists_that_host_again() {
    let mut state = fleet_state();
    host(&mut state, BUILD, up(Vec::new()));
    let news = HostNews::Event(Box::new(Event::SessionUpdated {
        session: session(7, Status::Active, APP, "made on build"),
    }));
    host(&mut state, BUILD, news);
    assert_eq!(state.host_of(sid(7)), BUILD);
    let lag = host(
        &mut state,
        BUILD,
        HostNews::Event(Box::new(Event::Lagged { missed: 3 })),
    );
    let listed = lag
        .effects
        .iter()
        .any(|e| matches!(e, Effect::RequestOn(BUILD, Command::List, Tag::Sessions)));
    assert!(listed, "{:?}", lag.effects);
}

#[test]
fn n_asks_which_host_and_the_form_for_a_remote_one_completes_there() {
    let mut state = fleet_state();
    host(&mut state, BUILD, up(Vec::new()));
    update(&mut state, Msg::Key(KeyEvent::from(KeyCode::Char('n'))));
    let Some(Dialog::Menu(menu)) = &state.dialog else {
        panic!("no host menu");
    };
    let labels: Vec<_> = menu.items.iter().map(|i| i.label.as_str()).collect();
    assert_eq!(labels, ["local", "build"]);
    update(&mut state, Msg::Key(KeyEvent::from(KeyCode::Down)));
    let opened = update(&mut state, Msg::Key(KeyEvent::from(KeyCode::Enter)));
    let Some(Dialog::NewSession(form)) = &state.dialog else {
        panic!("no form");
    };
    assert_eq!(form.host, BUILD);
    assert_eq!(form.value(Field::Directory), "~/");
    let asked = opened.effects.iter().any(|e| {
        matches!(
            e,
            Effect::RequestOn(
                BUILD,
                Command::DaemonStatus,
                Tag::HostAgents { host: BUILD }
            )
        )
    });
    assert!(asked, "{:?}", opened.effects);
    let tab = update(&mut state, Msg::Key(KeyEvent::from(KeyCode::Tab)));
    let completes_there = tab.effects.iter().any(|e| {
        matches!(
            e,
            Effect::RequestOn(BUILD, Command::CompletePath { typed }, Tag::Completion) if typed == "~/"
        )
    });
    assert!(completes_there, "{:?}", tab.effects);
    let text = screen(&mut state, 80, 24);
    assert!(text.contains("new session on build"), "{text}");
}

#[test]
fn a_shell_on_a_remote_session_opens_through_ssh_in_its_workspace() {
    let mut state = fleet_state();
    host(
        &mut state,
        BUILD,
        up(vec![session(2, Status::Idle, APP, "remote two")]),
    );
    let up = update(&mut state, Msg::Key(KeyEvent::from(KeyCode::Char('s'))));
    let run = up.effects.iter().find_map(|e| match e {
        Effect::Run { program, args, .. } => Some((program.clone(), args.clone())),
        _ => None,
    });
    let (program, args) = run.expect("a program to run");
    assert_eq!(program, "ssh");
    assert_eq!(args[..2], ["-t", "build"]);
    assert_eq!(
        args[2],
        r#"exec sh -c 'cd "$1" && exec "${SHELL:-sh}" -l' sh '/home/dev/.flotilla/ws/2'"#,
    );
}

/// A daemon at the far end of an in-memory stream that answers hello and subscribe with
/// `sessions`, sends one event, and hangs up when `hang_up` says so. Asked anything
/// after that, it never answers, as a stopped daemon would not.
async fn scripted_daemon(stream: tokio::io::DuplexStream, sessions: Vec<Session>, hang_up: bool) {
    let (read, mut write) = tokio::io::split(stream);
    let mut lines = tokio::io::BufReader::new(read).lines();
    let mut send = async |msg: ServerMsg| {
        let mut line = serde_json::to_vec(&msg).unwrap();
        line.push(b'\n');
        write.write_all(&line).await.unwrap();
    };
    while let Ok(Some(line)) = lines.next_line().await {
        let request: Request = serde_json::from_str(&line).unwrap();
        let reply = match request.command {
            Command::Hello { .. } => Reply::Hello {
                protocol: PROTOCOL_VERSION,
                version: "test".into(),
                pid: 1,
            },
            Command::Subscribe => Reply::Subscribed {
                sessions: sessions.clone(),
            },
            _ => continue,
        };
        let subscribed = matches!(reply, Reply::Subscribed { .. });
        send(ServerMsg::Reply {
            re: request.seq,
            reply,
        })
        .await;
        if subscribed {
            let event = Event::SessionUpdated {
                session: sessions[0].clone(),
            };
            send(ServerMsg::Event { event }).await;
            if hang_up {
                return;
            }
        }
    }
}

#[tokio::test]
async fn a_link_that_drops_is_made_again_after_a_backoff_and_reloads_the_sessions() {
    let attempts = Arc::new(AtomicUsize::new(0));
    let counter = attempts.clone();
    let connect = move || {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        async move {
            let sessions = match n {
                0 => vec![session(1, Status::Idle, APP, "one")],
                // The second try finds the host unreachable.
                1 => return Err("cannot reach host build (box): Connection refused".to_string()),
                _ => vec![
                    session(1, Status::Idle, APP, "one"),
                    session(2, Status::Idle, APP, "two"),
                ],
            };
            let (ours, theirs) = tokio::io::duplex(64 * 1024);
            tokio::spawn(scripted_daemon(theirs, sessions, n == 0));
            let (read, write) = tokio::io::split(ours);
            Ok(Client::over_stream(
                read,
                Box::new(write),
                "silent".into(),
                None,
            ))
        }
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let link = tokio::spawn(keep(BUILD, connect, tx));
    let mut seen = Vec::new();
    while seen.len() < 6 {
        let news = tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv())
            .await
            .expect("news in time")
            .expect("the link runs");
        seen.push(match news {
            LinkNews::Up { host, snapshot, .. } => match *snapshot {
                Reply::Subscribed { sessions } => format!("up {host} {}", sessions.len()),
                other => panic!("{other:?}"),
            },
            LinkNews::Event { host, .. } => format!("event {host}"),
            LinkNews::Down { host, why } => format!("down {host}: {why}"),
            LinkNews::Pod(_) => "a pod".into(),
        });
    }
    link.abort();
    assert_eq!(
        seen,
        [
            "up 1 1",
            "event 1",
            "down 1: the link dropped · retrying in 1s",
            "down 1: cannot reach host build (box): Connection refused · retrying in 1s",
            "up 1 2",
            "event 1",
        ]
    );
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
}

#[test]
fn history_asks_the_selected_session_s_host_and_tab_goes_on_to_the_next() {
    let mut state = local_and_build(Status::Idle);
    ch(&mut state, 'j');
    assert_eq!(state.selected, Some(sid(2)));
    let opened = update(&mut state, Msg::Key(KeyEvent::from(KeyCode::Char('H'))));
    let asked = |up: &Update, on: usize| {
        up.effects.iter().find_map(|e| match e {
            Effect::RequestOn(h, Command::History(_), tag) if *h == on => Some(tag.clone()),
            _ => None,
        })
    };
    let tag = asked(&opened, BUILD).expect("history asked of build");
    assert!(screen(&mut state, 80, 24).contains("history of build"));

    // Its answer names an archived session of build's: what is done with it goes there.
    let mut archived = session(9, Status::Archived, APP, "archived on build");
    archived.last_activity_at = t0();
    update(
        &mut state,
        Msg::HostReply {
            host: BUILD,
            tag,
            result: Ok(Reply::History {
                sessions: vec![archived],
                total: 1,
            }),
        },
    );
    assert_eq!(state.host_of(sid(9)), BUILD);
    let text = screen(&mut state, 120, 40);
    assert!(text.contains("archived on build"), "{text}");

    // Reforged from: the chronicles are asked of build, and so is the reforge.
    let reforging = ch(&mut state, 'f');
    let (_, tag) = requests(&reforging)
        .into_iter()
        .next()
        .expect("chronicles asked");
    let news = Msg::HostReply {
        host: BUILD,
        tag,
        result: Ok(Reply::Chronicles {
            chronicles: vec![chronicle("c9", 9, "archived", true)],
        }),
    };
    update(&mut state, news);
    let yes = ch(&mut state, 'y');
    let sent = yes.effects.iter().any(
        |e| matches!(e, Effect::RequestOn(BUILD, Command::Reforge(r), _) if r.chronicle == "c9"),
    );
    assert!(sent, "{:?}", yes.effects);

    let next = update(&mut state, Msg::Key(KeyEvent::from(KeyCode::Tab)));
    assert!(asked(&next, 0).is_some(), "{:?}", next.effects);
    let text = screen(&mut state, 120, 40);
    assert!(text.contains("history of local"), "{text}");
    assert!(!text.contains("archived on build"), "{text}");
}

#[test]
fn the_host_a_viewed_session_is_on_is_told_when_the_view_moves_to_another() {
    let mut state = local_and_build(Status::Idle);
    // Where each View goes: a plain request goes to the host of the session it names.
    let viewed = |state: &State, up: &Update| -> Vec<(usize, Option<u128>)> {
        let n = |id: &Option<String>| id.as_ref().map(|i| i.parse::<SessionId>().unwrap());
        up.effects
            .iter()
            .filter_map(|e| match e {
                Effect::Request(Command::View { id, .. }, _) => {
                    let host = n(id).map_or(0, |id| state.host_of(id));
                    Some((host, n(id).map(|i| i.0.as_u128())))
                }
                Effect::RequestOn(h, Command::View { id, .. }, _) => {
                    Some((*h, n(id).map(|i| i.0.as_u128())))
                }
                _ => None,
            })
            .collect()
    };
    // To build's session: this machine hears that nothing of its own is on screen.
    let down = ch(&mut state, 'j');
    assert_eq!(viewed(&state, &down), [(0, None), (BUILD, Some(2))]);
    // And back.
    let back = ch(&mut state, 'k');
    assert_eq!(viewed(&state, &back), [(BUILD, None), (0, Some(1))]);
}

#[test]
fn a_host_s_header_at_the_top_of_the_sidebar_stays_its_own() {
    let mut state = fleet_state();
    load(&mut state, vec![session(1, Status::Idle, APP, "local one")]);
    let remote = (2..40).map(|n| session(n, Status::Idle, APP, &format!("r{n}")));
    host(&mut state, BUILD, up(remote.collect()));
    state.size = (80, 24);
    let header = (state.rows.iter())
        .position(|r| matches!(r, Row::Host(BUILD)))
        .expect("build's header");
    // Selected where the sidebar scrolls just so that build's header is its top row.
    let below = header + state.sidebar_height() - 1;
    let i = state.rows[below].session().expect("a session row");
    state.selected = Some(state.sessions[i].id);
    state.scroll_sidebar();
    assert_eq!(state.sidebar_top, header);
    let text = screen(&mut state, 80, 24);
    let first = text.lines().nth(1).unwrap_or("");
    assert!(first.contains("▌build"), "{text}");
}

#[tokio::test(start_paused = true)]
async fn a_link_that_stays_open_but_stops_answering_is_dropped_and_made_again() {
    let attempts = Arc::new(AtomicUsize::new(0));
    let counter = attempts.clone();
    let connect = move || {
        counter.fetch_add(1, Ordering::SeqCst);
        async move {
            let (ours, theirs) = tokio::io::duplex(64 * 1024);
            let sessions = vec![session(1, Status::Idle, APP, "one")];
            tokio::spawn(scripted_daemon(theirs, sessions, false));
            let (read, write) = tokio::io::split(ours);
            let silent = "host build does not answer in time".to_string();
            Ok(Client::over_stream(read, Box::new(write), silent, None))
        }
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let link = tokio::spawn(keep(BUILD, connect, tx));
    let mut seen = Vec::new();
    while seen.len() < 4 {
        let wait = tokio::time::timeout(std::time::Duration::from_secs(120), rx.recv());
        let news = wait.await.expect("news in time").expect("the link runs");
        seen.push(match news {
            LinkNews::Up { host, .. } => format!("up {host}"),
            LinkNews::Event { host, .. } => format!("event {host}"),
            LinkNews::Down { host, why } => format!("down {host}: {why}"),
            LinkNews::Pod(_) => "a pod".into(),
        });
    }
    link.abort();
    assert_eq!(
        seen,
        [
            "up 1",
            "event 1",
            "down 1: the host stopped answering: host build does not answer in time · retrying in 1s",
            "up 1",
        ]
    );
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn a_daemon_that_stops_reading_fails_the_request_in_time_and_the_stream_with_it() {
    // A pipe of 64 bytes that nobody at the far end reads.
    let (ours, _theirs) = tokio::io::duplex(64);
    let (read, write) = tokio::io::split(ours);
    let silent = "host build does not answer in time".to_string();
    let client = Client::over_stream(read, Box::new(write), silent.clone(), None);
    let long = Command::Send {
        id: "1".into(),
        text: "x".repeat(4096),
    };
    assert_eq!(client.request(long).await.err(), Some(silent.clone()));
    // Part of that line may be out: nothing more is sent on this stream.
    assert_eq!(client.request(Command::List).await.err(), Some(silent));
}
