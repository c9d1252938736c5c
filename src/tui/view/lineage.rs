//! The Info tab's lifecycle rows: turns and what is left of each limit (worked out at
//! each draw from the clock), the parent and how it is told, the children, the callbacks,
//! and the chronicle chain: the session's own chronicles and those it was reforged from.

use super::info::{Row, one_line};
use crate::core::{CallbackState, Chronicle, Notify, Session, limits};
use crate::tui::state::State;
use crate::tui::theme::{Meaning, glyph};

/// The most entries a list shows; the rest are counted.
const LIST: usize = 6;

pub fn rows(state: &State, s: &Session) -> Vec<Row> {
    let mut rows: Vec<Row> = Vec::new();
    let turns = match s.turns {
        0 => "none yet".to_string(),
        n => format!("{n} · {} in turns", limits::words(s.turn_ms / 1000)),
    };
    rows.push(("turns", turns, Meaning::Text));
    let left = limits::remaining(s, state.now, None);
    if left.is_empty() {
        rows.push(("limits", "none".into(), Meaning::Dim));
    }
    for (i, (name, limit, left)) in left.into_iter().enumerate() {
        let meaning = match left.as_str() {
            "reached" => Meaning::Warning,
            _ => Meaning::Text,
        };
        let label = if i == 0 { "limits" } else { "" };
        rows.push((label, format!("{name} {limit} · {left}"), meaning));
    }
    if let Some(parent) = s.parent {
        let told = match s.notify {
            Some(Notify::OnIdle) => "told each time this idles",
            Some(Notify::OnEnd) => "told when this ends",
            None => "not told",
        };
        let who = match state.session(parent) {
            Some(p) => format!("{} {}", parent.short(), one_line(&p.title)),
            None => format!("{} (gone)", parent.short()),
        };
        rows.push(("parent", format!("{who} · {told}"), Meaning::Text));
    }
    let children: Vec<&Session> = (state.sessions.iter())
        .filter(|c| c.parent == Some(s.id) && c.id != s.id)
        .collect();
    for (i, c) in children.iter().take(LIST).enumerate() {
        let label = if i == 0 { "children" } else { "" };
        let row = format!(
            "{} {} {} {}",
            glyph(c.status),
            c.id.short(),
            c.status,
            one_line(&c.title)
        );
        rows.push((label, row, Meaning::Status(c.status)));
    }
    if children.len() > LIST {
        let more = format!("… {} more", children.len() - LIST);
        rows.push(("", more, Meaning::Dim));
    }
    let d = &state.details;
    if d.session != Some(s.id) || !d.loaded {
        let (what, meaning) = match &d.error {
            Some(e) if d.session == Some(s.id) => {
                (format!("cannot be read: {}", one_line(e)), Meaning::Error)
            }
            _ => ("asking the daemon…".to_string(), Meaning::Dim),
        };
        rows.push(("chronicles", what, meaning));
        return rows;
    }
    callbacks(state, s, &mut rows);
    chronicles(state, s, &mut rows);
    rows
}

/// Newest last, as they came; only the newest few.
fn callbacks(state: &State, s: &Session, rows: &mut Vec<Row>) {
    let all = &state.details.callbacks;
    let skip = all.len().saturating_sub(LIST);
    if skip > 0 {
        rows.push(("callbacks", format!("… {skip} earlier"), Meaning::Dim));
    }
    for (i, cb) in all.iter().skip(skip).enumerate() {
        let label = if i == 0 && skip == 0 { "callbacks" } else { "" };
        let (arrow, other) = match cb.child == s.id {
            true => ("→ to", cb.parent),
            false => ("← from", cb.child),
        };
        let name = state
            .session(other)
            .map(|o| format!(" {}", one_line(&o.title)))
            .unwrap_or_default();
        let mut row = format!(
            "{arrow} {}{name} · {} · {} · {} ago",
            other.short(),
            cb.status,
            cb.state.as_str(),
            crate::core::age(cb.created_at, state.now)
        );
        if let Some(why) = &cb.reason {
            row.push_str(&format!(" ({})", one_line(why)));
        }
        let meaning = match cb.state {
            CallbackState::Undeliverable => Meaning::Warning,
            _ => Meaning::Text,
        };
        rows.push((label, row, meaning));
    }
}

fn chronicles(state: &State, s: &Session, rows: &mut Vec<Row>) {
    let d = &state.details;
    let entry = |c: &Chronicle, with_title: bool| {
        let title = match with_title {
            true => format!(" {}", one_line(&c.title)),
            false => String::new(),
        };
        format!(
            "{}{title} · {} · {} ago",
            c.short(),
            one_line(&c.reason),
            crate::core::age(c.created_at, state.now)
        )
    };
    if d.chronicles.is_empty() {
        rows.push(("chronicles", "none yet".into(), Meaning::Dim));
    }
    for (i, c) in d.chronicles.iter().take(LIST).enumerate() {
        let label = if i == 0 { "chronicles" } else { "" };
        rows.push((label, entry(c, false), Meaning::Text));
    }
    if d.chronicles.len() > LIST {
        let more = format!("… {} older", d.chronicles.len() - LIST);
        rows.push(("", more, Meaning::Dim));
    }
    // Nearest first: what this one was reforged from, then where that came from.
    for (i, c) in d.chain.iter().take(LIST).enumerate() {
        let (label, lead) = match i {
            0 => ("reforged from", ""),
            _ => ("", "← "),
        };
        rows.push((label, format!("{lead}{}", entry(c, true)), Meaning::Text));
    }
    if d.chain.len() > LIST {
        let more = format!("… {} further back", d.chain.len() - LIST);
        rows.push(("", more, Meaning::Dim));
    }
    if d.chain.is_empty()
        && let Some(from) = &s.reforged_from
    {
        let short: String = from.chars().take(8).collect();
        let gone = format!("{} (no longer kept)", one_line(&short));
        rows.push(("reforged from", gone, Meaning::Dim));
    }
}
