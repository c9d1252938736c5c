//! The sidebar's rows: sessions grouped by repository (or the most urgent first), narrowed
//! by the filter, archived ones left to the History view, and each child nested directly
//! under its parent.

use super::state::{Mark, Row, State};
use crate::core::{Session, SessionId, Status};
use std::collections::HashMap;
use std::path::PathBuf;

impl State {
    /// Recomputes the sidebar after sessions, sorting or the filter changed, and keeps
    /// the selection on a visible session.
    pub fn rebuild_rows(&mut self) {
        let filter = self.filter.to_lowercase();
        let visible: Vec<usize> = (0..self.sessions.len())
            .filter(|&i| self.sessions[i].status != Status::Archived)
            .filter(|&i| filter.is_empty() || matches_filter(&self.sessions[i], &filter))
            .collect();
        let mut trees = trees(&self.sessions, &visible);
        self.groups.clear();
        self.group_hosts.clear();
        self.rows.clear();
        self.group_sizes.clear();
        let row = |(i, depth): (usize, usize)| match depth {
            0 => Row::Session(i),
            d => Row::Child(i, d),
        };
        if self.needs_me_first {
            // One list, the most urgent first, whatever the repository; a family goes
            // where its most urgent member would.
            let sessions = &self.sessions;
            trees.sort_by_key(|t| t.iter().map(|&(i, _)| urgency(&sessions[i])).min());
            self.rows.extend(trees.into_iter().flatten().map(row));
        } else {
            let fleet = &self.fleet;
            let key = |i: usize| {
                (
                    fleet.host_of(self.sessions[i].id),
                    &self.sessions[i].source_repo,
                )
            };
            let mut keys: Vec<(usize, &PathBuf)> = Vec::new();
            for tree in &trees {
                let k = key(tree[0].0);
                if !keys.contains(&k) {
                    keys.push(k);
                }
            }
            // Several hosts: each host's header, then its repositories.
            let many = fleet.is_many();
            let hosts: Vec<usize> = match many {
                true => (0..fleet.hosts.len())
                    .filter(|&h| fleet.hosts[h].link != super::fleet::Link::Removed)
                    .collect(),
                false => vec![super::fleet::LOCAL_HOST],
            };
            let mut rows = Vec::new();
            let (mut groups, mut group_hosts, mut sizes) = (Vec::new(), Vec::new(), Vec::new());
            for h in hosts {
                if many {
                    rows.push(Row::Host(h));
                }
                for &(host, repo) in keys.iter().filter(|(host, _)| *host == h) {
                    rows.push(Row::Group(groups.len()));
                    let before = rows.len();
                    let own = trees.iter().filter(|t| key(t[0].0) == (host, repo));
                    rows.extend(own.flatten().copied().map(row));
                    sizes.push(rows.len() - before);
                    groups.push(repo.clone());
                    group_hosts.push(host);
                }
            }
            (self.rows, self.groups, self.group_hosts) = (rows, groups, group_hosts);
            self.group_sizes = sizes;
        }
        let still_visible = self
            .selected
            .is_some_and(|id| self.visible_ids().any(|v| v == id));
        if !still_visible {
            let first = self.visible_ids().next();
            self.selected = first;
        }
    }

    /// How many sessions the sidebar lists (archived ones are in the History view).
    pub fn listed(&self) -> usize {
        (self.sessions.iter())
            .filter(|s| s.status != Status::Archived)
            .count()
    }
}

/// What needs the user most: a question, a failure, news, then the rest.
fn urgency(s: &Session) -> u8 {
    match (s.status, s.mark) {
        (Status::WaitingInput, _) => 0,
        (Status::Error, _) | (_, Some(Mark::Failed)) => 1,
        (Status::Disconnected, _) | (_, Some(Mark::Attention)) => 2,
        (_, Some(Mark::Unread)) => 3,
        _ => 4,
    }
}

/// The visible sessions as families, in the order given: each session whose parent is
/// not visible starts one, and its children follow it (depth first, one level deeper
/// each). A session in a cycle of parents starts a family of its own, so none is lost.
fn trees(sessions: &[Session], visible: &[usize]) -> Vec<Vec<(usize, usize)>> {
    let at: HashMap<SessionId, usize> = visible.iter().map(|&i| (sessions[i].id, i)).collect();
    let parent_of = |i: usize| {
        (sessions[i].parent)
            .filter(|p| *p != sessions[i].id)
            .and_then(|p| at.get(&p).copied())
    };
    let mut children: HashMap<usize, Vec<usize>> = HashMap::new();
    for &i in visible {
        if let Some(p) = parent_of(i) {
            children.entry(p).or_default().push(i);
        }
    }
    let mut placed = vec![false; sessions.len()];
    let mut out = Vec::new();
    let roots = (visible.iter())
        .filter(|&&i| parent_of(i).is_none())
        .chain(visible);
    for &root in roots {
        if placed[root] {
            continue;
        }
        let mut tree = Vec::new();
        let mut stack = vec![(root, 0)];
        while let Some((i, depth)) = stack.pop() {
            if std::mem::replace(&mut placed[i], true) {
                continue;
            }
            tree.push((i, depth));
            for &child in children.get(&i).into_iter().flatten().rev() {
                stack.push((child, depth + 1));
            }
        }
        out.push(tree);
    }
    out
}

fn matches_filter(s: &Session, filter: &str) -> bool {
    s.title.to_lowercase().contains(filter)
        || s.branch
            .as_deref()
            .is_some_and(|b| b.to_lowercase().contains(filter))
        || s.agent.to_lowercase().contains(filter)
        || s.status.as_str().contains(filter)
        || s.source_repo
            .to_string_lossy()
            .to_lowercase()
            .contains(filter)
}
