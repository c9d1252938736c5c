//! A session's limits (M14) and what is left of each: the daemon ends a session as
//! `completed` when one is reached. Pure: the engine passes in the clock.

use super::{Session, Status};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// The limits of one session. None is no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    /// Seconds from creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_secs: Option<u64>,
    /// Seconds idle since the last activity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_timeout_secs: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_turns: Option<u32>,
    /// Seconds of turns, added up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_duration_secs: Option<u64>,
    /// Dollars, where the agent reports cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_cost_usd: Option<f64>,
}

impl Limits {
    /// Each limit of `self`, or else the one of `fallback`.
    pub fn or(self, fallback: Limits) -> Limits {
        Limits {
            ttl_secs: self.ttl_secs.or(fallback.ttl_secs),
            idle_timeout_secs: self.idle_timeout_secs.or(fallback.idle_timeout_secs),
            max_turns: self.max_turns.or(fallback.max_turns),
            max_duration_secs: self.max_duration_secs.or(fallback.max_duration_secs),
            max_cost_usd: self.max_cost_usd.or(fallback.max_cost_usd),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Limits::default()
    }

    /// A one-line refusal for a limit that could never allow anything.
    pub fn check(&self) -> Result<(), String> {
        if self.max_turns == Some(0) {
            return Err("--max-turns 0 allows no turn: give at least 1".into());
        }
        if self
            .max_cost_usd
            .is_some_and(|c| !c.is_finite() || c <= 0.0)
        {
            return Err("--max-cost must be a positive amount of dollars, such as 5.00".into());
        }
        let times = [
            self.ttl_secs,
            self.idle_timeout_secs,
            self.max_duration_secs,
        ];
        if times.contains(&Some(0)) {
            return Err(
                "a time limit of 0 ends the session at once: give a duration such as 30m".into(),
            );
        }
        if times.iter().flatten().any(|&t| t > MAX_SECS) {
            return Err("a time limit over 10 years is no limit: leave it out".into());
        }
        Ok(())
    }
}

/// The statuses a limit applies in: the session has not ended by itself or by the user.
fn bounded(status: Status) -> bool {
    status.is_live() || status == Status::Disconnected
}

/// Milliseconds of turns so far, counting the running one from `running_since`.
fn turn_ms(s: &Session, running_since: Option<DateTime<Utc>>, now: DateTime<Utc>) -> i64 {
    let running = running_since.map_or(0, |t| (now - t).num_milliseconds().max(0));
    s.turn_ms as i64 + running
}

/// The limit the session has reached at `now`, as the reason it ends ("max turns 10
/// reached"). `running_since` is when its running turn started, if one runs.
pub fn reached(
    s: &Session,
    now: DateTime<Utc>,
    running_since: Option<DateTime<Utc>>,
) -> Option<String> {
    if !bounded(s.status) {
        return None;
    }
    let l = &s.limits;
    if let Some(ttl) = l.ttl_secs
        && now >= s.created_at + secs(ttl)
    {
        return Some(format!("ttl {} reached", words(ttl)));
    }
    if let Some(max) = l.max_turns
        && s.turns >= max
        && running_since.is_none()
    {
        return Some(format!("max turns {max} reached"));
    }
    if let Some(max) = l.max_duration_secs
        && turn_ms(s, running_since, now) >= max.min(MAX_SECS) as i64 * 1000
    {
        return Some(format!("max duration {} reached", words(max)));
    }
    if let Some(max) = l.max_cost_usd
        && s.cost_usd.is_some_and(|c| c >= max)
    {
        return Some(format!("max cost ${max:.2} reached"));
    }
    if let Some(idle) = l.idle_timeout_secs
        && s.status == Status::Idle
        && now >= s.last_activity_at + secs(idle)
    {
        return Some(format!("idle timeout {} reached", words(idle)));
    }
    None
}

/// When the session next reaches a time limit, if nothing else happens meanwhile.
pub fn next_deadline(
    s: &Session,
    now: DateTime<Utc>,
    running_since: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    if !bounded(s.status) {
        return None;
    }
    let l = &s.limits;
    let ttl = l.ttl_secs.map(|t| s.created_at + secs(t));
    let idle = (l.idle_timeout_secs)
        .filter(|_| s.status == Status::Idle)
        .map(|t| s.last_activity_at + secs(t));
    let duration = l.max_duration_secs.zip(running_since).map(|(max, _)| {
        let left = max.min(MAX_SECS) as i64 * 1000 - turn_ms(s, running_since, now);
        now + Duration::milliseconds(left.max(0))
    });
    [ttl, idle, duration].into_iter().flatten().min()
}

/// Each limit that is set, with what is left of it: `("max turns", "10", "7 left")`.
pub fn remaining(
    s: &Session,
    now: DateTime<Utc>,
    running_since: Option<DateTime<Utc>>,
) -> Vec<(&'static str, String, String)> {
    let l = &s.limits;
    let left_until = |at: DateTime<Utc>| match (at - now).num_seconds() {
        n if n <= 0 => "reached".to_string(),
        n => format!("{} left", words(n as u64)),
    };
    let mut rows = Vec::new();
    if let Some(t) = l.ttl_secs {
        rows.push(("ttl", words(t), left_until(s.created_at + secs(t))));
    }
    if let Some(t) = l.idle_timeout_secs {
        let left = match s.status {
            Status::Idle => left_until(s.last_activity_at + secs(t)),
            _ => "counts while idle".to_string(),
        };
        rows.push(("idle timeout", words(t), left));
    }
    if let Some(max) = l.max_turns {
        let left = max.saturating_sub(s.turns);
        rows.push(("max turns", max.to_string(), format!("{left} left")));
    }
    if let Some(max) = l.max_duration_secs {
        let used = (turn_ms(s, running_since, now) / 1000).max(0) as u64;
        let left = match max.saturating_sub(used) {
            0 => "reached".to_string(),
            n => format!("{} left", words(n)),
        };
        rows.push(("max duration", words(max), left));
    }
    if let Some(max) = l.max_cost_usd {
        let left = match s.cost_usd {
            Some(c) => format!("${:.2} left", (max - c).max(0.0)),
            None => "no cost reported yet".to_string(),
        };
        rows.push(("max cost", format!("${max:.2}"), left));
    }
    rows
}

/// The longest time limit taken: 10 years. Longer ones are refused, so that no date
/// computed from one can overflow.
const MAX_SECS: u64 = 10 * 365 * 86_400;

fn secs(n: u64) -> Duration {
    Duration::seconds(n.min(MAX_SECS) as i64)
}

/// A duration as people write it: "2h", "1h 30m", "45s".
pub fn words(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    let parts: Vec<String> = [(d, "d"), (h, "h"), (m, "m"), (s, "s")]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect();
    match parts.is_empty() {
        true => "0s".into(),
        false => parts.join(" "),
    }
}

/// How a child session tells its parent (M13).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Notify {
    /// Each time it goes idle after a turn.
    OnIdle,
    /// Once, when it ends.
    OnEnd,
}

impl Notify {
    pub fn as_str(self) -> &'static str {
        match self {
            Notify::OnIdle => "on-idle",
            Notify::OnEnd => "on-end",
        }
    }
}

impl std::str::FromStr for Notify {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "on-idle" => Ok(Notify::OnIdle),
            "on-end" => Ok(Notify::OnEnd),
            _ => Err(format!("unknown notify '{s}': use on-idle or on-end")),
        }
    }
}

#[cfg(test)]
mod tests;
