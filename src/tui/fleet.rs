//! The hosts the dashboard shows: this machine's daemon and each `[hosts.NAME]`, the state
//! of the link to each, and which host each session lives on. Session ids are random
//! 128-bit UUIDs, so an id names one session across every host.

use super::state::State;
use crate::core::{Session, SessionId};
use std::collections::HashMap;

/// This machine's daemon: always the first host.
pub const LOCAL_HOST: usize = 0;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// Not answered yet.
    Connecting,
    Up,
    /// Lost or never made, with the one-line reason (what ssh said).
    Down(String),
    /// Gone for good (a cluster session's volume is deleted): not shown.
    Removed,
}

#[derive(Debug, Clone)]
pub struct Host {
    pub name: String,
    pub link: Link,
    /// `ssh`, its arguments and the destination: how to open a terminal there. Empty for
    /// this machine.
    pub ssh: Vec<String>,
}

impl Host {
    pub fn local() -> Host {
        Host {
            name: crate::config::LOCAL.into(),
            link: Link::Up,
            ssh: Vec::new(),
        }
    }
}

#[derive(Debug)]
pub struct Fleet {
    pub hosts: Vec<Host>,
    /// The host of each session that is not on this machine.
    of: HashMap<SessionId, usize>,
}

impl Default for Fleet {
    fn default() -> Fleet {
        Fleet {
            hosts: vec![Host::local()],
            of: HashMap::new(),
        }
    }
}

impl Fleet {
    /// Whether the dashboard shows other hosts than this machine.
    pub fn is_many(&self) -> bool {
        self.hosts.len() > 1
    }

    pub fn host_of(&self, id: SessionId) -> usize {
        self.of.get(&id).copied().unwrap_or(LOCAL_HOST)
    }

    /// Records that `id` lives on `host`; the first host that reports a session keeps it
    /// (two aliases of one machine show its sessions once).
    pub fn place(&mut self, id: SessionId, host: usize) {
        if host != LOCAL_HOST {
            self.of.entry(id).or_insert(host);
        }
    }

    pub fn forget(&mut self, id: SessionId) {
        self.of.remove(&id);
    }
}

impl State {
    pub fn host_of(&self, id: SessionId) -> usize {
        self.fleet.host_of(id)
    }

    /// Whether what is shown of the session may be out of date: its host is away.
    pub fn host_away(&self, id: SessionId) -> bool {
        match self.host_of(id) {
            LOCAL_HOST => self.offline.is_some(),
            h => self.fleet.hosts.get(h).is_some_and(|h| h.link != Link::Up),
        }
    }

    /// The sessions of `host` as it has them now: those it no longer has go, with what
    /// was held of them; the others' are untouched. Returns whether the selection went.
    pub fn merge_host(&mut self, host: usize, sessions: Vec<Session>) -> bool {
        let fresh: std::collections::HashSet<SessionId> = sessions.iter().map(|s| s.id).collect();
        let gone: Vec<SessionId> = (self.sessions.iter())
            .map(|s| s.id)
            .filter(|id| self.fleet.host_of(*id) == host && !fresh.contains(id))
            .collect();
        for id in &gone {
            self.transcripts.remove(id);
            self.loading.remove(id);
            self.drafts.remove(id);
        }
        let fleet = &self.fleet;
        self.sessions.retain(|s| fleet.host_of(s.id) != host);
        for id in &gone {
            self.fleet.forget(*id);
        }
        for session in sessions {
            self.fleet.place(session.id, host);
            if self.fleet.host_of(session.id) == host {
                self.sessions.push(session);
            }
        }
        self.rebuild_rows();
        self.selected.is_some_and(|id| gone.contains(&id))
    }

    /// Forgets what was held of `host`'s transcripts and reviews: they may have missed
    /// events while the link was down.
    pub fn drop_held(&mut self, host: usize) {
        let held: Vec<SessionId> = (self.transcripts.keys().chain(self.loading.keys()))
            .copied()
            .filter(|id| self.fleet.host_of(*id) == host)
            .collect();
        for id in held {
            self.transcripts.remove(&id);
            self.loading.remove(&id);
            self.review.comments.remove(&id);
            self.review.checkpoints.remove(&id);
        }
    }
}
