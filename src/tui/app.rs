//! The loop: terminal input, daemon events and effect results in; one draw per batch,
//! at most once a frame, and none while nothing changes.

use super::dialog::complete_path;
use super::keymap::Keymap;
use super::state::{Notify, State};
use super::theme::Theme;
use super::update::{Effect, Msg, Tag, update};
use super::view;
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

    let mut terminal = init_terminal();
    let mut lp = Loop {
        state,
        viewer: Viewer::start(client.clone()),
        client,
        tx,
        paths,
        stats: Stats::new(started),
    };
    let size = terminal.size()?;
    update(
        &mut lp.state,
        Msg::Resize {
            width: size.width,
            height: size.height,
        },
    );
    let result = lp.run(&mut terminal, rx, events, effects).await;
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
}

/// Tells the daemon which session is on screen, one request at a time and the latest
/// only, so that quick moves cannot reach it out of order.
struct Viewer {
    latest: tokio::sync::watch::Sender<Option<Command>>,
    task: tokio::task::JoinHandle<()>,
}

impl Viewer {
    fn start(client: Arc<Client>) -> Viewer {
        let (latest, mut rx) = tokio::sync::watch::channel(None::<Command>);
        let task = tokio::spawn(async move {
            while rx.changed().await.is_ok() {
                let command = rx.borrow_and_update().clone();
                if let Some(command) = command {
                    let _ = client.request(command).await;
                }
            }
        });
        Viewer { latest, task }
    }
}

impl Drop for Viewer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A new connection to the daemon, subscribed, with the sessions as it was made.
type Reconnected = (Client, Events, crate::protocol::Reply);

/// The first wait before connecting again after the daemon went away, and the longest.
const RETRY_FIRST: Duration = Duration::from_millis(250);
const RETRY_MAX: Duration = Duration::from_secs(5);

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
                match rx
                    .try_recv()
                    .ok()
                    .or_else(|| events.try_recv().ok().map(Msg::Daemon))
                {
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
            Effect::Request(command, Tag::Viewing) => {
                self.viewer.latest.send_replace(Some(command));
            }
            Effect::Request(command, tag) => {
                let client = self.client.clone();
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    let result = client.request(command).await;
                    let _ = tx.send(Msg::Reply { tag, result }).await;
                });
            }
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

/// Frame figures for the benchmarks, written where `FLOTILLA_STATS` points at exit.
struct Stats {
    started: Instant,
    first_frame: Option<Duration>,
    frames: u64,
    recent: std::collections::VecDeque<Instant>,
    max_fps: usize,
}

impl Stats {
    fn new(started: Instant) -> Stats {
        Stats {
            started,
            first_frame: None,
            frames: 0,
            recent: Default::default(),
            max_fps: 0,
        }
    }

    fn drew(&mut self) {
        let now = Instant::now();
        self.frames += 1;
        self.first_frame.get_or_insert_with(|| now - self.started);
        self.recent.push_back(now);
        while self
            .recent
            .front()
            .is_some_and(|t| now - *t > Duration::from_secs(1))
        {
            self.recent.pop_front();
        }
        self.max_fps = self.max_fps.max(self.recent.len());
    }

    fn write(&self) {
        let Some(path) = std::env::var_os("FLOTILLA_STATS") else {
            return;
        };
        let stats = serde_json::json!({
            "frames": self.frames,
            "max_frames_per_second": self.max_fps,
            "first_frame_ms": self.first_frame.map(|d| d.as_secs_f64() * 1000.0),
        });
        let _ = std::fs::write(path, stats.to_string());
    }
}
