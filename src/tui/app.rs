//! The loop: terminal input, daemon events and effect results in; one draw per batch,
//! at most once a frame, and none while nothing changes.

use super::dialog::complete_path;
use super::fleet::LOCAL_HOST;
use super::keymap::Keymap;
use super::link::{LinkNews, RETRY_FIRST, RETRY_MAX};
use super::state::{Notify, State};
use super::stats::Stats;
use super::theme::Theme;
use super::update::fleet::reply_msg;
use super::update::{Effect, Msg, Tag, update};
use super::view;
use super::viewer::Viewer;
use crate::config::Config;
use crate::daemon::{Client, Events};
use crate::paths::Paths;
use crate::protocol::Command;
use anyhow::{Result, anyhow};
use crossterm::event::{Event as TermEvent, EventStream};
use futures::StreamExt;
use ratatui::DefaultTerminal;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

const FRAME: Duration = Duration::from_millis(16);
/// Messages applied before a draw at the most, so input stays responsive under a flood.
const BATCH: usize = 2_000;
/// Replies waiting for the loop; a request whose reply finds no room waits for it.
const REPLIES: usize = 256;
/// News from the other hosts' links waiting for the loop; a link whose news finds no
/// room stops reading its host until there is.
const LINK_NEWS: usize = 1024;

/// Runs the dashboard until the user quits. `started` is when the process began.
pub async fn run(paths: Paths, started: Instant) -> Result<()> {
    let (config, config_error) = Config::load(&paths.config_file);
    let (keymap, keymap_error) = Keymap::load(&config.keys);
    let notify = Notify {
        bell: config.notify.bell,
        osc9: config.notify.osc9,
    };
    let mut client = Client::connect_or_spawn(&paths)
        .await
        .map_err(|e| anyhow!(e))?;
    let events = client
        .take_events()
        .ok_or_else(|| anyhow!("no event stream"))?;
    let client = Arc::new(client);
    let snapshot = client
        .request(Command::Subscribe)
        .await
        .map_err(|e| anyhow!(e))?;

    let mut state = State::new(keymap, Theme::from_env(), notify, chrono::Utc::now());
    state.default_dir = std::env::current_dir()
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    state.env = super::environment::Environment::from_env();
    // Replies and completions; each request's task waits for room rather than piling up.
    let (tx, rx) = mpsc::channel(REPLIES);
    let mut effects = update(
        &mut state,
        Msg::Reply {
            tag: Tag::Sessions,
            result: Ok(snapshot),
        },
    )
    .effects;
    effects.push(Effect::Request(Command::DaemonStatus, Tag::Status));
    effects.push(Effect::Request(Command::Agents, Tag::Agents));
    effects.push(Effect::Request(Command::Templates, Tag::Templates));
    if let Some(problem) = config_error.or(keymap_error) {
        effects.extend(update(&mut state, Msg::Problem(problem)).effects);
    }
    // Every other host has a link of its own, connecting in the background.
    let (links_tx, links) = mpsc::channel(LINK_NEWS);
    let remotes = super::remotes::start(&config, &mut state, &links_tx);
    state.rebuild_rows();

    let mut terminal = init_terminal();
    let mut lp = Loop {
        state,
        viewer: Viewer::start(client.clone()),
        client,
        tx,
        paths,
        stats: Stats::new(started),
        remotes,
        links: links_tx,
    };
    let size = terminal.size()?;
    update(
        &mut lp.state,
        Msg::Resize {
            width: size.width,
            height: size.height,
        },
    );
    let result = lp.run(&mut terminal, rx, events, links, effects).await;
    restore_terminal();
    lp.stats.write();
    result
}

struct Loop {
    state: State,
    client: Arc<Client>,
    tx: mpsc::Sender<Msg>,
    paths: Paths,
    stats: Stats,
    viewer: Viewer,
    /// The other hosts, by their index in `State::fleet` (the first, this machine's, is
    /// `client` and `viewer`).
    remotes: Vec<super::remotes::Remote>,
    /// Where a pod's new link sends its news.
    links: mpsc::Sender<LinkNews>,
}

/// A new connection to the daemon, subscribed, with the sessions as it was made.
type Reconnected = (Client, Events, crate::protocol::Reply);

/// Connects again (starting a daemon if none runs), waiting longer after each failure.
async fn reconnect(paths: Paths, tx: mpsc::Sender<Msg>) -> Reconnected {
    let mut wait = RETRY_FIRST;
    let mut attempt = 1u32;
    loop {
        tokio::time::sleep(wait).await;
        let why = match Client::connect_or_spawn(&paths).await {
            Ok(mut client) => match client.take_events() {
                Some(events) => match client.request(Command::Subscribe).await {
                    Ok(snapshot) => return (client, events, snapshot),
                    Err(e) => e,
                },
                None => "no event stream".to_string(),
            },
            Err(e) => e,
        };
        wait = (wait * 2).min(RETRY_MAX);
        let note = format!(
            "the daemon went away; reconnecting (attempt {attempt} failed: {why}; next in {}s)",
            wait.as_secs_f32().ceil()
        );
        let _ = tx.send(Msg::Offline(note)).await;
        attempt += 1;
    }
}

enum Next {
    Continue,
    Quit,
}

impl Loop {
    async fn run(
        &mut self,
        terminal: &mut DefaultTerminal,
        mut rx: mpsc::Receiver<Msg>,
        mut events: Events,
        mut links: mpsc::Receiver<LinkNews>,
        mut pending: Vec<Effect>,
    ) -> Result<()> {
        let mut input = EventStream::new();
        let mut terminate = signal(SignalKind::terminate())?;
        let mut hangup = signal(SignalKind::hangup())?;
        let mut dirty = true;
        let mut events_open = true;
        let mut reconnecting: Option<tokio::task::JoinHandle<Reconnected>> = None;
        let mut last_draw: Option<Instant> = None;
        loop {
            for effect in pending.drain(..) {
                if let Next::Quit = self.carry_out(effect, terminal, &mut input).await? {
                    return Ok(());
                }
                dirty = true;
            }
            let due = last_draw.map_or(Instant::now(), |t| t + FRAME);
            if dirty && Instant::now() >= due {
                self.state.now = chrono::Utc::now();
                terminal.draw(|frame| view::render(&self.state, frame))?;
                self.stats.drew();
                last_draw = Some(Instant::now());
                dirty = false;
            }
            // Nothing to draw: sleep until an age in the sidebar changes its text.
            let wait = match dirty {
                true => Some(tokio::time::Instant::from_std(due)),
                false => self.state.next_age_change().map(|at| {
                    let later = (at - chrono::Utc::now()).to_std().unwrap_or_default();
                    tokio::time::Instant::now() + later + Duration::from_millis(5)
                }),
            };
            let first = tokio::select! {
                ev = input.next() => match ev {
                    Some(Ok(ev)) => term_msg(ev),
                    Some(Err(e)) => return Err(anyhow!("reading the terminal: {e}")),
                    None => return Ok(()),
                },
                ev = events.recv(), if events_open => Some(match ev {
                    Some(event) => Msg::Daemon(event),
                    None => {
                        events_open = false;
                        let task = reconnect(self.paths.clone(), self.tx.clone());
                        reconnecting = Some(tokio::spawn(task));
                        Msg::Offline("the daemon went away; reconnecting…".into())
                    }
                }),
                done = async { reconnecting.as_mut().expect("checked").await },
                    if reconnecting.is_some() => {
                    reconnecting = None;
                    match done {
                        Ok((client, fresh, snapshot)) => {
                            self.client = Arc::new(client);
                            self.viewer = Viewer::start(self.client.clone());
                            events = fresh;
                            events_open = true;
                            Some(Msg::Reconnected(Box::new(snapshot)))
                        }
                        Err(e) => return Err(anyhow!("reconnecting to the daemon: {e}")),
                    }
                },
                Some(msg) = rx.recv() => Some(msg),
                Some(news) = links.recv() => Some(super::remotes::news(&mut self.remotes, news, &self.links)),
                _ = crate::deadline::sleep_until(wait) => {
                    dirty = true;
                    None
                }
                _ = terminate.recv() => return Ok(()),
                _ = hangup.recv() => return Ok(()),
            };
            let Some(first) = first else { continue };
            self.state.now = chrono::Utc::now();
            let mut batch = vec![first];
            while batch.len() < BATCH {
                let next = (rx.try_recv().ok())
                    .or_else(|| events.try_recv().ok().map(Msg::Daemon))
                    .or_else(|| {
                        links
                            .try_recv()
                            .ok()
                            .map(|news| super::remotes::news(&mut self.remotes, news, &self.links))
                    });
                match next {
                    Some(msg) => batch.push(msg),
                    None => break,
                }
            }
            for msg in batch {
                // A retry's note that arrives after the connection is back is old news.
                if events_open && matches!(msg, Msg::Offline(_)) {
                    continue;
                }
                let up = update(&mut self.state, msg);
                dirty |= up.redraw;
                pending.extend(up.effects);
            }
        }
    }

    async fn carry_out(
        &mut self,
        effect: Effect,
        terminal: &mut DefaultTerminal,
        input: &mut EventStream,
    ) -> Result<Next> {
        match effect {
            Effect::Request(command, tag) => {
                let host = (command.session())
                    .and_then(|id| id.parse().ok())
                    .map_or(LOCAL_HOST, |id| self.state.host_of(id));
                self.request(host, command, tag);
            }
            Effect::RequestOn(host, command, tag) => self.request(host, command, tag),
            Effect::Complete(typed) => {
                let (tx, env) = (self.tx.clone(), self.state.env.clone());
                tokio::task::spawn_blocking(move || {
                    let (completed, options) = complete_path(&typed, &env);
                    let _ = tx.blocking_send(Msg::Completed { completed, options });
                });
            }
            Effect::Run { program, args, dir } => {
                self.outside(terminal, input, move || {
                    std::process::Command::new(&program)
                        .args(&args)
                        .current_dir(&dir)
                        .status()
                        .map(drop)
                        .map_err(|e| format!("cannot run {program}: {e}"))
                })
                .await?;
            }
            Effect::Suspend => {
                self.outside(terminal, input, || {
                    nix::sys::signal::raise(nix::sys::signal::Signal::SIGTSTP)
                        .map_err(|e| format!("cannot suspend: {e}"))
                })
                .await?;
            }
            Effect::Notify(text) => {
                // OSC 9: a desktop notification in terminals that support it.
                let mut out = std::io::stdout();
                let _ = write!(out, "\x1b]9;{}\x1b\\", crate::core::sanitize(&text));
                let _ = out.flush();
            }
            Effect::Bell => {
                let mut out = std::io::stdout();
                let _ = out.write_all(b"\x07");
                let _ = out.flush();
            }
            Effect::Quit => return Ok(Next::Quit),
        }
        Ok(Next::Continue)
    }

    /// Sends a request to `host` on a task of its own; the reply comes back as a message.
    fn request(&mut self, host: usize, command: Command, tag: Tag) {
        let viewer = match host {
            LOCAL_HOST => Some(&self.viewer),
            h => self.remotes.get(h).and_then(|r| r.viewer.as_ref()),
        };
        if tag == Tag::Viewing {
            if let Some(viewer) = viewer {
                viewer.latest.send_replace(Some(command));
            }
            return;
        }
        let client = match host {
            LOCAL_HOST => Ok(self.client.clone()),
            h => (self.remotes.get(h).and_then(|r| r.client.clone())).ok_or_else(|| {
                let name = self
                    .state
                    .fleet
                    .hosts
                    .get(h)
                    .map_or("?", |h| h.name.as_str());
                format!("host {name} is not connected: wait for it to come back")
            }),
        };
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let result = match client {
                Ok(client) => client.request(command).await,
                Err(e) => Err(e),
            };
            let _ = tx.send(reply_msg(host, tag, result)).await;
        });
    }

    /// Leaves the screen to the terminal for `work` (a shell, an editor, a suspend), then
    /// takes it back and redraws from scratch.
    async fn outside(
        &mut self,
        terminal: &mut DefaultTerminal,
        input: &mut EventStream,
        work: impl FnOnce() -> Result<(), String> + Send + 'static,
    ) -> Result<()> {
        restore_terminal();
        // A fresh input stream afterwards: nothing typed for the child is read as ours.
        let result = tokio::task::spawn_blocking(work)
            .await
            .unwrap_or_else(|e| Err(e.to_string()));
        *terminal = init_terminal();
        terminal.clear()?;
        *input = EventStream::new();
        let size = terminal.size()?;
        update(
            &mut self.state,
            Msg::Resize {
                width: size.width,
                height: size.height,
            },
        );
        if let Err(e) = result {
            update(&mut self.state, Msg::Problem(e));
        }
        Ok(())
    }
}

/// The screen for the dashboard: raw mode, the alternate screen, and the mouse (its
/// wheel and clicks; shift and drag still selects text in most terminals).
fn init_terminal() -> DefaultTerminal {
    let terminal = ratatui::init();
    let _ = crossterm::execute!(std::io::stdout(), crossterm::event::EnableMouseCapture);
    terminal
}

fn restore_terminal() {
    let _ = crossterm::execute!(std::io::stdout(), crossterm::event::DisableMouseCapture);
    ratatui::restore();
}

fn term_msg(event: TermEvent) -> Option<Msg> {
    match event {
        TermEvent::Key(key) => Some(Msg::Key(key)),
        TermEvent::Mouse(mouse) => Some(Msg::Mouse(mouse)),
        TermEvent::Resize(width, height) => Some(Msg::Resize { width, height }),
        _ => None,
    }
}
