//! News from the links to other hosts: one comes up with its sessions, sends events, or
//! goes away. Each host's sessions change only with its own news.

use super::{Effect, Msg, Tab, Tag, Update, events, flash, load_diff, replies};
use crate::protocol::{Event, Reply};
use crate::tui::fleet::Link;
use crate::tui::state::{Level, State};

#[derive(Debug)]
pub enum HostNews {
    /// Connected (again): the sessions as the host has them now.
    Up(Box<Reply>),
    Event(Box<Event>),
    /// The link is gone, or could not be made: why, in one line.
    Down(String),
    /// A host seen for the first time (a session's pod on a cluster): it takes the next
    /// index of the fleet.
    Joined(Box<crate::tui::fleet::Host>),
    /// Held down by what its host's owner says (a cluster: the pod is not running):
    /// said whenever the reason changes, since no retry follows.
    Held(String),
    /// Gone for good (a cluster: the session's volume is deleted): its sessions go, and
    /// the host leaves the sidebar. Why, in one line, said once.
    Removed(String),
    /// Nothing that changes what is shown.
    Same,
}

pub(super) fn news(state: &mut State, host: usize, news: HostNews, up: &mut Update) {
    let news = match news {
        HostNews::Joined(joined) => {
            if host == state.fleet.hosts.len() {
                state.fleet.hosts.push(*joined);
                state.rebuild_rows();
                up.redraw = true;
            }
            return;
        }
        HostNews::Same => return,
        news => news,
    };
    let Some(name) = state.fleet.hosts.get(host).map(|h| h.name.clone()) else {
        return;
    };
    match news {
        HostNews::Event(event) => {
            up.redraw = events::daemon_event(state, host, *event, &mut up.effects);
        }
        HostNews::Up(snapshot) => {
            let was = std::mem::replace(&mut state.fleet.hosts[host].link, Link::Up);
            // What was held may have missed events while the link was down: the
            // sessions come from the snapshot, and what is on screen is read again.
            state.drop_held(host);
            let Reply::Subscribed { sessions } = *snapshot else {
                return;
            };
            state.merge_host(host, sessions);
            let selected = state.selected;
            state.selected = None;
            super::select(state, selected, &mut up.effects);
            if selected.is_some_and(|id| state.host_of(id) == host) {
                state.told_viewing = None;
                state.details.stale = true;
                if state.tab == Tab::Diffs {
                    load_diff(state, &mut up.effects);
                }
            }
            if matches!(was, Link::Down(_)) {
                flash(state, format!("host {name}: connected again"), Level::Info);
            }
        }
        HostNews::Down(why) => {
            let said = format!("host {name}: disconnected: {why}");
            let was = std::mem::replace(&mut state.fleet.hosts[host].link, Link::Down(why));
            // Said whole once, as the link goes; the retries after only change the header.
            if !matches!(was, Link::Down(_)) {
                flash(state, said, Level::Error);
            }
        }
        // Removed for good: what its pod's watch says after (its relist, say) is too late.
        HostNews::Held(_) if state.fleet.hosts[host].link == Link::Removed => {}
        HostNews::Held(why) => {
            let said = format!("host {name}: disconnected: {why}");
            let was = std::mem::replace(&mut state.fleet.hosts[host].link, Link::Down(why.clone()));
            if was != Link::Down(why) {
                flash(state, said, Level::Error);
            }
        }
        HostNews::Removed(why) => {
            if state.fleet.hosts[host].link == Link::Removed {
                return;
            }
            state.fleet.hosts[host].link = Link::Removed;
            // The selection moves on, as when a session is removed; the next one is read.
            if state.merge_host(host, Vec::new()) {
                let next = state.selected.take();
                super::select(state, next, &mut up.effects);
            }
            up.redraw = true;
            flash(state, format!("host {name}: {why}"), Level::Info);
        }
        HostNews::Joined(_) | HostNews::Same => {}
    }
}

/// A reply from another host: the sessions it names are that host's, then it is taken
/// as any reply is.
pub(super) fn reply(
    state: &mut State,
    host: usize,
    tag: Tag,
    result: Result<Reply, String>,
    effects: &mut Vec<Effect>,
) {
    match &result {
        Ok(Reply::Session { session, .. }) => state.fleet.place(session.id, host),
        Ok(
            Reply::Sessions { sessions }
            | Reply::Subscribed { sessions }
            | Reply::History { sessions, .. },
        ) => sessions.iter().for_each(|s| state.fleet.place(s.id, host)),
        _ => {}
    }
    match (tag, result) {
        (Tag::Sessions, Ok(Reply::Sessions { sessions })) => {
            state.merge_host(host, sessions);
        }
        (tag, result) => replies::reply(state, tag, result, effects),
    }
}

/// The message for a reply from `host`.
pub fn reply_msg(host: usize, tag: Tag, result: Result<Reply, String>) -> Msg {
    match host {
        crate::tui::fleet::LOCAL_HOST => Msg::Reply { tag, result },
        host => Msg::HostReply { host, tag, result },
    }
}
