//! Everything the dashboard shows, as plain data. `update` changes it; views read it.

use super::dialog::Dialog;
use super::keymap::Keymap;
use super::theme::Theme;
use super::transcript::Transcript;
use crate::core::{FileDiff, Session, SessionId};
use chrono::{DateTime, Utc};
use ratatui_textarea::TextArea;
use std::collections::HashMap;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Messages,
    Diffs,
    Info,
}

impl Tab {
    pub const ALL: [Tab; 3] = [Tab::Messages, Tab::Diffs, Tab::Info];

    pub fn title(self) -> &'static str {
        match self {
            Tab::Messages => "Messages",
            Tab::Diffs => "Diffs",
            Tab::Info => "Info",
        }
    }
}

/// Why a session's row is marked: the daemon keeps it for every client.
pub use crate::core::Mark;

/// A full-screen overlay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlay {
    Help,
    /// The messages the bottom line showed.
    Log,
}

/// How many messages the log keeps.
pub const LOG_LEN: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Level {
    Info,
    Error,
}

#[derive(Debug, Default)]
pub struct DiffView {
    pub session: Option<SessionId>,
    /// The newest request; replies to older ones are dropped.
    pub seq: u64,
    pub loading: bool,
    /// The changed files; only the selected one has its hunks, fetched on its own.
    pub files: Vec<FileDiff>,
    /// The file whose hunks are on their way.
    pub fetching: Option<String>,
    pub error: Option<String>,
    pub selected: usize,
    /// Rows scrolled from the top of the selected file's hunks (see [`super::hunks`]).
    pub scroll: usize,
    /// The keys move a cursor over the hunks' lines instead of between sessions.
    pub focus: bool,
    /// The line the cursor is on: its index among the file's lines, headers not counted.
    pub cursor: usize,
    /// The review comment being written, if its box is open.
    pub comment: Option<super::review::CommentBox>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Row {
    /// A host's header, when the dashboard shows several (an index into `fleet.hosts`).
    Host(usize),
    Group(usize),
    Session(usize),
    /// A session nested under its parent, `depth` levels down (1 for a child).
    Child(usize, usize),
}

impl Row {
    /// The index into `sessions` of a session's row.
    pub fn session(self) -> Option<usize> {
        match self {
            Row::Session(i) | Row::Child(i, _) => Some(i),
            Row::Group(_) | Row::Host(_) => None,
        }
    }
}

/// How many sessions' transcripts the dashboard holds at once.
pub const KEPT_TRANSCRIPTS: usize = 8;

pub struct State {
    pub now: DateTime<Utc>,
    pub sessions: Vec<Session>,
    /// Repository of each group, in display order.
    pub groups: Vec<PathBuf>,
    /// The host of each group.
    pub group_hosts: Vec<usize>,
    /// How many sessions each group shows.
    pub group_sizes: Vec<usize>,
    /// The sidebar, top to bottom: group headers and indexes into `sessions`.
    pub rows: Vec<Row>,
    pub selected: Option<SessionId>,
    /// The first sidebar row shown; it moves only to keep the selection in view.
    pub sidebar_top: usize,
    pub needs_me_first: bool,
    pub filter: String,
    pub filtering: bool,
    pub tab: Tab,
    /// The right pane takes the whole width.
    pub zoom: bool,
    /// The transcripts of the sessions viewed last (see [`KEPT_TRANSCRIPTS`]).
    pub transcripts: HashMap<SessionId, Transcript>,
    /// Sessions by when they were last selected, the latest first.
    pub recent: std::collections::VecDeque<SessionId>,
    /// Events for transcripts being loaded, replayed once they arrive.
    pub loading: HashMap<SessionId, Vec<crate::protocol::Event>>,
    /// Lines scrolled up from the end of the transcript; 0 follows the tail.
    pub scroll: usize,
    /// The tool call the cursor is on.
    pub tool_cursor: Option<String>,
    pub diff: DiffView,
    /// The prompt box, holding the selected session's draft.
    pub prompt: TextArea<'static>,
    /// What was typed for the other sessions, kept until they are selected again.
    pub drafts: HashMap<SessionId, String>,
    /// The session whose draft the prompt box holds.
    pub draft_owner: Option<SessionId>,
    /// The session the daemon was last told this dashboard views.
    pub told_viewing: Option<SessionId>,
    pub prompting: bool,
    pub history: Vec<String>,
    pub history_pos: Option<usize>,
    pub dialog: Option<Dialog>,
    /// The overlay open over everything, with how far it is scrolled.
    pub overlay: Option<(Overlay, usize)>,
    /// What the bottom line said, whole, the latest last (see [`LOG_LEN`]).
    pub log: std::collections::VecDeque<(DateTime<Utc>, String, Level)>,
    pub flash: Option<(String, Level)>,
    pub agents: Vec<String>,
    /// Configured agents whose program is missing, with how to install each.
    pub missing_agents: std::collections::BTreeMap<String, String>,
    pub keymap: Keymap,
    pub theme: Theme,
    pub notify: Notify,
    /// The daemon connection was lost.
    pub offline: Option<String>,
    pub next_seq: u64,
    /// The terminal's width and height.
    pub size: (u16, u16),
    /// The configured templates, once the daemon has said (`None` until then).
    pub templates: Option<Vec<crate::protocol::TemplateInfo>>,
    /// What the Info tab shows beyond the session record.
    pub details: super::details::DetailsView,
    /// Rows the Info tab is scrolled down.
    pub info_scroll: usize,
    /// The History view, while it is open.
    pub history_view: Option<super::history::HistoryView>,
    /// Where the new-session dialog starts: the directory flotilla was started in.
    pub default_dir: String,
    /// The shell, the editor and the home directory, read once at start.
    pub env: super::environment::Environment,
    /// Review comments and checkpoints of the sessions viewed last.
    pub review: super::review::Review,
    /// The hosts shown and which one each session is on.
    pub fleet: super::fleet::Fleet,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Notify {
    pub bell: bool,
    pub osc9: bool,
}

impl State {
    pub fn new(keymap: Keymap, theme: Theme, notify: Notify, now: DateTime<Utc>) -> State {
        State {
            now,
            sessions: Vec::new(),
            groups: Vec::new(),
            group_hosts: Vec::new(),
            group_sizes: Vec::new(),
            rows: Vec::new(),
            selected: None,
            sidebar_top: 0,
            needs_me_first: false,
            filter: String::new(),
            filtering: false,
            tab: Tab::Messages,
            zoom: false,
            transcripts: HashMap::new(),
            recent: Default::default(),
            loading: HashMap::new(),
            scroll: 0,
            tool_cursor: None,
            diff: DiffView::default(),
            prompt: new_prompt(),
            drafts: HashMap::new(),
            draft_owner: None,
            told_viewing: None,
            prompting: false,
            history: Vec::new(),
            history_pos: None,
            dialog: None,
            overlay: None,
            log: Default::default(),
            flash: None,
            agents: Vec::new(),
            missing_agents: Default::default(),
            keymap,
            theme,
            notify,
            offline: None,
            next_seq: 1,
            size: (80, 24),
            templates: None,
            details: Default::default(),
            info_scroll: 0,
            history_view: None,
            default_dir: String::new(),
            env: Default::default(),
            review: Default::default(),
            fleet: Default::default(),
        }
    }

    pub fn session(&self, id: SessionId) -> Option<&Session> {
        self.sessions.iter().find(|s| s.id == id)
    }

    /// How the sidebar marks a session: the daemon's mark, but never on the one on screen.
    pub fn mark(&self, id: SessionId) -> Option<Mark> {
        self.session(id).and_then(|s| self.mark_of(s))
    }

    /// [`State::mark`] of a session at hand.
    pub fn mark_of(&self, s: &Session) -> Option<Mark> {
        s.mark.filter(|_| self.selected != Some(s.id))
    }

    pub fn selected_session(&self) -> Option<&Session> {
        self.selected.and_then(|id| self.session(id))
    }

    pub fn transcript(&self) -> Option<&Transcript> {
        self.selected.and_then(|id| self.transcripts.get(&id))
    }

    /// The width the transcript is drawn at: the screen less the sidebar and borders.
    pub fn messages_width(&self) -> usize {
        let width = self.size.0;
        usize::from(width.saturating_sub(self.sidebar_width()).saturating_sub(2)).max(1)
    }

    /// The sidebar's columns: none while the right pane is zoomed.
    pub fn sidebar_width(&self) -> u16 {
        match self.zoom {
            true => 0,
            false => (self.size.0 / 3).clamp(24, 44),
        }
    }

    /// Notes that the session was selected, for [`State::keep_transcripts`].
    pub fn viewed(&mut self, id: SessionId) {
        self.recent.retain(|r| *r != id);
        self.recent.push_front(id);
        self.recent.truncate(KEPT_TRANSCRIPTS);
    }

    /// Lets go of the transcripts of all but the sessions viewed last: each window is
    /// bounded, and so is how many are held. One let go of is read again when selected.
    pub fn keep_transcripts(&mut self) {
        let (recent, selected) = (&self.recent, self.selected);
        self.transcripts
            .retain(|id, _| Some(*id) == selected || recent.contains(id));
        self.keep_reviews();
    }

    /// The rows inside the sidebar's box, and inside the transcript's, which is as tall.
    pub fn sidebar_height(&self) -> usize {
        let prompt = self.prompt.lines().len().clamp(1, 4) + 2;
        usize::from(self.size.1)
            .saturating_sub(prompt + 1 + 2)
            .max(1)
    }

    /// Scrolls the sidebar as little as keeps the selected session in view, one row
    /// spare at the top for its group's header, which stays in view.
    pub fn scroll_sidebar(&mut self) {
        let height = self.sidebar_height();
        let at = self.rows.iter().position(|r| {
            r.session()
                .is_some_and(|i| Some(self.sessions[i].id) == self.selected)
        });
        let Some(at) = at else {
            self.sidebar_top = 0;
            return;
        };
        let header_above = at > 0 && matches!(self.rows[at - 1], Row::Group(_) | Row::Host(_));
        if at <= self.sidebar_top {
            self.sidebar_top = if header_above {
                at - 1
            } else {
                at.saturating_sub(1)
            };
        } else if at + 1 > self.sidebar_top + height {
            self.sidebar_top = at + 1 - height;
        }
        self.sidebar_top = self.sidebar_top.min(self.rows.len().saturating_sub(height));
    }

    pub fn visible_ids(&self) -> impl Iterator<Item = SessionId> + '_ {
        self.rows
            .iter()
            .filter_map(|r| r.session().map(|i| self.sessions[i].id))
    }

    /// When the next age in the sidebar changes its text, so the screen is redrawn then
    /// and not before.
    pub fn next_age_change(&self) -> Option<DateTime<Utc>> {
        // Only rows that can be on screen: the sidebar shows at most a screenful from
        // its top row, and an age that changes below it changes nothing drawn.
        let top = self.sidebar_top.min(self.rows.len());
        let shown = usize::from(self.size.1).max(1);
        (self.rows[top..].iter().take(shown))
            .filter_map(|r| r.session().and_then(|i| self.sessions.get(i)))
            .map(|s| crate::core::coarse_age_changes(s.last_activity_at, self.now))
            .chain(self.next_info_change())
            .min()
    }

    pub fn next_seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }
}

pub fn new_prompt() -> TextArea<'static> {
    let mut prompt = TextArea::default();
    prompt.set_placeholder_text(IDLE_PLACEHOLDER);
    prompt
}

const IDLE_PLACEHOLDER: &str = "i to type a prompt";
const TYPING_PLACEHOLDER: &str = "type a prompt · enter sends · alt-enter new line · esc leaves";

impl State {
    /// Whether the selected session's permission card is up: it asks, and its question
    /// is in the transcript.
    pub fn permission_card_shown(&self) -> bool {
        self.selected_session()
            .is_some_and(|s| s.status == crate::core::Status::WaitingInput)
            && self
                .transcript()
                .and_then(|t| t.pending_permission())
                .is_some()
    }

    /// The empty box says what to do: open it, or, while it is open, type.
    pub fn sync_placeholder(&mut self) {
        let wanted = match self.prompting {
            true => TYPING_PLACEHOLDER,
            false => IDLE_PLACEHOLDER,
        };
        if self.prompt.placeholder_text() != wanted {
            self.prompt.set_placeholder_text(wanted);
        }
    }
}
