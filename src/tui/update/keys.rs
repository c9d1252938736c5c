//! Keys and the mouse outside dialogs: overlays, the filter, the permission card, the
//! tabs, global keys. The prompt box and the History view have modules of their own.

use super::actions::{answer_permission, archive, delete, session_action, terminate};
use super::{
    Effect, Update, dialog_keys, fetch_page, flash, load_diff, load_file, page_in, select,
};
use crate::core::Action as Allowed;
use crate::tui::dialog::{Dialog, NewSessionForm};
use crate::tui::fleet::LOCAL_HOST;
use crate::tui::keymap::{Action, Context};
use crate::tui::state::{Level, Overlay, State, Tab};
use crate::tui::transcript::Load;
use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

pub fn key(state: &mut State, key: KeyEvent, up: &mut Update) {
    if key.kind != KeyEventKind::Press {
        up.redraw = false;
        return;
    }
    let effects = &mut up.effects;
    if key.code == KeyCode::Char('z') && key.modifiers == KeyModifiers::CONTROL {
        effects.push(Effect::Suspend);
        return;
    }
    if let Some((overlay, scroll)) = state.overlay {
        return overlay_key(state, overlay, scroll, key);
    }
    if state.dialog.is_some() {
        return dialog_keys::key(state, key, effects);
    }
    state.flash = None;
    if state.history_view.is_some() {
        return super::history::key(state, key, effects);
    }
    if state.filtering {
        return filter_key(state, key);
    }
    if state.prompting {
        return super::prompt::prompt_key(state, key, effects);
    }
    if state.permission_card_shown()
        && let Some(action) = state.keymap.lookup(Context::Permission, &key)
    {
        return answer_permission(state, action, effects);
    }
    if state.tab == Tab::Diffs && state.diff.comment.is_some() {
        return super::review::comment_key(state, key, effects);
    }
    let contexts: &[Context] = match state.tab {
        Tab::Messages => &[Context::Messages],
        Tab::Diffs if state.diff.focus => &[Context::Hunks, Context::Diffs],
        Tab::Diffs => &[Context::Diffs],
        Tab::Info => &[],
    };
    let action = (contexts.iter())
        .find_map(|c| state.keymap.lookup(*c, &key))
        .or_else(|| state.keymap.lookup(Context::Global, &key));
    match action {
        Some(action) => global(state, action, effects),
        None => up.redraw = false,
    }
}

/// The wheel scrolls what is under the pointer (the sidebar moves the selection, the
/// right pane its text, three lines a notch); a click in the sidebar selects a session.
pub fn mouse(state: &mut State, mouse: MouseEvent, up: &mut Update) {
    if state.dialog.is_some() || state.overlay.is_some() || state.history_view.is_some() {
        up.redraw = false;
        return;
    }
    let effects = &mut up.effects;
    let in_sidebar = mouse.column < state.sidebar_width();
    match (mouse.kind, in_sidebar) {
        (MouseEventKind::ScrollDown, true) => global(state, Action::Down, effects),
        (MouseEventKind::ScrollUp, true) => global(state, Action::Up, effects),
        (MouseEventKind::ScrollDown, false) => scroll(state, Action::PageDown, 3, effects),
        (MouseEventKind::ScrollUp, false) => scroll(state, Action::PageUp, 3, effects),
        (MouseEventKind::Down(MouseButton::Left), true) => {
            // Below the border; grouped, the top line is always a group's header.
            let line = usize::from(mouse.row)
                .checked_sub(1)
                .filter(|l| *l < state.sidebar_height());
            let header = line == Some(0) && !state.needs_me_first;
            let row = line.and_then(|l| state.rows.get(state.sidebar_top + l));
            match row.and_then(|r| r.session()) {
                Some(i) if !header => {
                    let id = state.sessions[i].id;
                    select(state, Some(id), effects);
                }
                _ => up.redraw = false,
            }
        }
        _ => up.redraw = false,
    }
}

fn global(state: &mut State, action: Action, effects: &mut Vec<Effect>) {
    let page = usize::from(state.size.1.saturating_sub(8)).max(1);
    if state.tab == Tab::Diffs && super::review::diffs_action(state, action, effects) {
        return;
    }
    match action {
        Action::Land => super::land::open(state, effects),
        Action::Rollback => super::review::checkpoints_menu(state),
        Action::Quit => effects.push(Effect::Quit),
        Action::Help => state.overlay = Some((Overlay::Help, 0)),
        Action::Messages => {
            // The latest messages first in view.
            state.overlay = Some((Overlay::Log, usize::MAX / 2));
            clamp_overlay(state);
        }
        Action::New if state.fleet.is_many() => super::hosts::pick_host(state),
        Action::New => new_session_form(state, LOCAL_HOST, effects),
        // The box always opens, so what follows `i` is never read as keys; a prompt the
        // session cannot take now is kept, and enter says what can be done.
        Action::Prompt => match state.selected_session() {
            Some(_) => state.prompting = true,
            None => flash(state, "no session: press n to create one", Level::Error),
        },
        Action::Abort => session_action(state, Allowed::Abort, effects),
        Action::Resume => session_action(state, Allowed::Resume, effects),
        Action::Terminate => terminate(state, false, effects),
        Action::TerminateCleanup => terminate(state, true, effects),
        Action::Delete => delete(state),
        Action::Archive => archive(state),
        Action::History => super::history::open(state, effects),
        Action::Shell | Action::Editor => {
            if let Some(s) = state.selected_session() {
                let (dir, host) = (s.workspace.clone(), state.host_of(s.id));
                let shell = action == Action::Shell;
                match super::hosts::terminal(state, host, &dir, shell) {
                    Ok(effect) => effects.push(effect),
                    Err(e) => flash(state, e, Level::Error),
                }
            }
        }
        Action::Down | Action::Up => {
            let ids: Vec<_> = state.visible_ids().collect();
            let at = state
                .selected
                .and_then(|id| ids.iter().position(|v| *v == id));
            let next = match (at, action == Action::Down) {
                (Some(i), true) => ids.get(i + 1).or(ids.last()),
                (Some(i), false) => ids.get(i.saturating_sub(1)),
                (None, _) => ids.first(),
            };
            select(state, next.copied(), effects);
        }
        Action::MessagesTab => state.tab = Tab::Messages,
        Action::DiffsTab => open_diffs(state, effects),
        Action::InfoTab => show_info(state),
        Action::NextTab | Action::PrevTab => {
            let i = Tab::ALL.iter().position(|t| *t == state.tab).unwrap_or(0);
            let n = Tab::ALL.len();
            let next = Tab::ALL[if action == Action::NextTab {
                (i + 1) % n
            } else {
                (i + n - 1) % n
            }];
            match next {
                Tab::Diffs => open_diffs(state, effects),
                Tab::Info => show_info(state),
                Tab::Messages => state.tab = next,
            }
        }
        Action::Filter => state.filtering = true,
        Action::NeedsMeFirst => {
            state.needs_me_first = !state.needs_me_first;
            state.rebuild_rows();
            let on = if state.needs_me_first {
                "sessions needing you first"
            } else {
                "sessions by repository"
            };
            flash(state, on, Level::Info);
        }
        Action::PageUp | Action::PageDown | Action::Top | Action::Bottom => {
            scroll(state, action, page, effects)
        }
        Action::LineUp => scroll(state, Action::PageUp, 1, effects),
        Action::LineDown => scroll(state, Action::PageDown, 1, effects),
        Action::Zoom => state.zoom = !state.zoom,
        Action::NextTool | Action::PrevTool => move_tool_cursor(state, action == Action::NextTool),
        Action::ToggleTool => toggle_tool(state),
        Action::NextFile => {
            let last = state.diff.files.len().saturating_sub(1);
            state.diff.selected = (state.diff.selected + 1).min(last);
            (state.diff.scroll, state.diff.cursor) = (0, 0);
            load_file(state, effects);
        }
        Action::PrevFile => {
            state.diff.selected = state.diff.selected.saturating_sub(1);
            (state.diff.scroll, state.diff.cursor) = (0, 0);
            load_file(state, effects);
        }
        _ => {}
    }
}

/// The Info tab, its details asked for again: callbacks come without an event of their own.
fn show_info(state: &mut State) {
    state.tab = Tab::Info;
    state.details.stale = true;
}

fn open_diffs(state: &mut State, effects: &mut Vec<Effect>) {
    state.tab = Tab::Diffs;
    load_diff(state, effects);
}

/// Scrolls by `page` rows (a screenful, a line, a wheel's notch).
fn scroll(state: &mut State, action: Action, page: usize, effects: &mut Vec<Effect>) {
    match state.tab {
        Tab::Messages => {
            let Some(t) = state.transcript() else { return };
            let (at_start, at_end) = (t.at_start, t.at_end);
            // The top of what is held is a screenful below its row count.
            let screen = state.sidebar_height();
            let max = crate::tui::view::transcript_rows(state).saturating_sub(screen);
            state.scroll = match action {
                Action::PageUp => (state.scroll + page).min(max),
                Action::PageDown => state.scroll.saturating_sub(page),
                Action::Top => max,
                _ => 0,
            };
            // The window holds part of a long transcript: the top and the end are pages
            // of their own; anything else comes a page at a time as the view nears it.
            match action {
                Action::Top if !at_start => fetch_page(state, Load::Head, effects),
                Action::Bottom if !at_end => fetch_page(state, Load::Tail, effects),
                _ => page_in(state, effects),
            }
        }
        Tab::Diffs => {
            let max = state.hunk_rows().len();
            state.diff.scroll = match action {
                Action::PageUp => state.diff.scroll.saturating_sub(page),
                Action::PageDown => (state.diff.scroll + page).min(max.saturating_sub(1)),
                Action::Top => 0,
                _ => max.saturating_sub(page),
            };
        }
        Tab::Info => {
            let max = crate::tui::view::info_max_scroll(state);
            state.info_scroll = match action {
                Action::PageUp => state.info_scroll.saturating_sub(page),
                Action::PageDown => (state.info_scroll + page).min(max),
                Action::Top => 0,
                _ => max,
            };
        }
    }
}

fn move_tool_cursor(state: &mut State, forward: bool) {
    let Some(t) = state.transcript() else { return };
    let tools = t.tool_ids();
    let at = state
        .tool_cursor
        .as_deref()
        .and_then(|c| tools.iter().position(|t| *t == c));
    let next = match (at, forward) {
        (Some(i), true) => tools.get(i + 1),
        (Some(i), false) => i.checked_sub(1).and_then(|i| tools.get(i)),
        (None, true) => tools.first(),
        (None, false) => tools.last(),
    };
    state.tool_cursor = next.map(|s| s.to_string()).or(state.tool_cursor.take());
}

fn toggle_tool(state: &mut State) {
    let Some(id) = state.selected else { return };
    let cursor = state.tool_cursor.clone().or_else(|| {
        state
            .transcript()
            .and_then(|t| t.tool_ids().last().map(|s| s.to_string()))
    });
    let Some(part) = cursor else { return };
    state.tool_cursor = Some(part.clone());
    if let Some(t) = state.transcripts.get_mut(&id)
        && !t.expanded.remove(&part)
    {
        t.expanded.insert(part);
    }
}

/// Keys over an overlay: the scrolling keys scroll it, any other key closes it.
fn overlay_key(state: &mut State, overlay: Overlay, scroll: usize, key: KeyEvent) {
    let page = usize::from(state.size.1.saturating_sub(3)).max(1);
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let next = match key.code {
        KeyCode::Char('j') | KeyCode::Down => scroll + 1,
        KeyCode::Char('e') if ctrl => scroll + 1,
        KeyCode::Char('k') | KeyCode::Up => scroll.saturating_sub(1),
        KeyCode::Char('y') if ctrl => scroll.saturating_sub(1),
        KeyCode::PageDown | KeyCode::Char(' ') => scroll + page,
        KeyCode::Char('d') if ctrl => scroll + page,
        KeyCode::PageUp => scroll.saturating_sub(page),
        KeyCode::Char('u') if ctrl => scroll.saturating_sub(page),
        KeyCode::Home | KeyCode::Char('g') => 0,
        KeyCode::End | KeyCode::Char('G') => usize::MAX / 2,
        _ => {
            state.overlay = None;
            return;
        }
    };
    state.overlay = Some((overlay, next));
    clamp_overlay(state);
}

/// Keeps an overlay's scroll where its last screenful starts, at the most.
fn clamp_overlay(state: &mut State) {
    let Some((overlay, scroll)) = state.overlay else {
        return;
    };
    let rows = crate::tui::view::overlay::rows(state, overlay, state.size.0);
    let max = rows.saturating_sub(usize::from(state.size.1.saturating_sub(2)));
    state.overlay = Some((overlay, scroll.min(max)));
}

fn filter_key(state: &mut State, key: KeyEvent) {
    match key.code {
        KeyCode::Esc => {
            state.filter.clear();
            state.filtering = false;
        }
        KeyCode::Enter => state.filtering = false,
        KeyCode::Backspace => {
            state.filter.pop();
        }
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => state.filter.push(c),
        _ => return,
    }
    state.rebuild_rows();
}

/// Opens the new-session form for `host`: another host's starts in its home, and its
/// agents are asked of it.
pub(super) fn new_session_form(state: &mut State, host: usize, effects: &mut Vec<Effect>) {
    let remote = (host != LOCAL_HOST).then(|| state.fleet.hosts.get(host).map(|h| h.name.clone()));
    let dir = match remote {
        Some(_) => "~/".to_string(),
        None => state.default_dir.clone(),
    };
    let mut form = NewSessionForm::new(&dir, state.agents.clone());
    form.missing = state.missing_agents.clone();
    form.templates = state.templates.clone();
    if let Some(name) = remote {
        form.host = host;
        form.host_name = name;
        form.missing.clear();
        // Its own templates are not known here: none are offered.
        form.templates = Some(Vec::new());
        effects.push(Effect::RequestOn(
            host,
            crate::protocol::Command::DaemonStatus,
            super::Tag::HostAgents { host },
        ));
    }
    state.dialog = Some(Dialog::NewSession(Box::new(form)));
}
