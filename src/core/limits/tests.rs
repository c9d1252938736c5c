use super::*;
use crate::core::{SessionId, Strategy};
use chrono::TimeZone;

fn session(limits: Limits) -> Session {
    let t = Utc.with_ymd_and_hms(2026, 1, 1, 9, 0, 0).unwrap();
    Session {
        id: SessionId::new(),
        title: "t".into(),
        status: Status::Idle,
        status_reason: None,
        agent: "shell".into(),
        model: None,
        strategy: Strategy::Worktree,
        workspace: "/w".into(),
        source_repo: "/r".into(),
        branch: None,
        base_commit: String::new(),
        agent_session_id: None,
        created_at: t,
        last_activity_at: t,
        message_count: 0,
        queued_prompts: 0,
        tokens_in: None,
        tokens_out: None,
        cost_usd: None,
        agent_running: false,
        mark: None,
        parent: None,
        notify: None,
        limits,
        turns: 0,
        turn_ms: 0,
        template: None,
        reforged_from: None,
        conflicts: Vec::new(),
        rate_limits: None,
    }
}

#[test]
fn each_limit_is_reached_and_says_which() {
    let mut s = session(Limits {
        max_turns: Some(2),
        ..Limits::default()
    });
    let now = s.created_at;
    assert_eq!(reached(&s, now, None), None);
    s.turns = 2;
    assert_eq!(
        reached(&s, now, None).as_deref(),
        Some("max turns 2 reached")
    );
    // A running turn is let finish: turns are counted when they end.
    assert_eq!(reached(&s, now, Some(now)), None);
    s.status = Status::Stopped;
    assert_eq!(
        reached(&s, now, None),
        None,
        "an ended session has no limits"
    );

    let s = session(Limits {
        ttl_secs: Some(7200),
        ..Limits::default()
    });
    let later = s.created_at + Duration::seconds(7200);
    assert_eq!(reached(&s, later - Duration::seconds(1), None), None);
    assert_eq!(reached(&s, later, None).as_deref(), Some("ttl 2h reached"));
    assert_eq!(next_deadline(&s, s.created_at, None), Some(later));

    let s = session(Limits {
        idle_timeout_secs: Some(2),
        ..Limits::default()
    });
    let due = s.last_activity_at + Duration::seconds(2);
    assert_eq!(next_deadline(&s, s.created_at, None), Some(due));
    assert_eq!(
        reached(&s, due, None).as_deref(),
        Some("idle timeout 2s reached")
    );
    let mut busy = s.clone();
    busy.status = Status::Active;
    assert_eq!(
        reached(&busy, due, Some(s.created_at)),
        None,
        "only while idle"
    );

    let mut s = session(Limits {
        max_duration_secs: Some(60),
        max_cost_usd: Some(1.0),
        ..Limits::default()
    });
    s.turn_ms = 50_000;
    s.status = Status::Active;
    let start = s.created_at;
    assert_eq!(
        next_deadline(&s, start, Some(start)),
        Some(start + Duration::seconds(10))
    );
    assert_eq!(
        reached(&s, start + Duration::seconds(10), Some(start)).as_deref(),
        Some("max duration 1m reached")
    );
    s.cost_usd = Some(1.25);
    assert_eq!(
        reached(&s, start, None).as_deref(),
        Some("max cost $1.00 reached")
    );
}

#[test]
fn what_is_left_of_each_limit() {
    let mut s = session(Limits {
        ttl_secs: Some(3600),
        max_turns: Some(10),
        max_cost_usd: Some(5.0),
        ..Limits::default()
    });
    s.turns = 3;
    s.cost_usd = Some(1.5);
    let rows = remaining(&s, s.created_at + Duration::seconds(600), None);
    assert_eq!(
        rows,
        vec![
            ("ttl", "1h".to_string(), "50m left".to_string()),
            ("max turns", "10".to_string(), "7 left".to_string()),
            ("max cost", "$5.00".to_string(), "$3.50 left".to_string()),
        ]
    );
}

#[test]
fn limits_fall_back_field_by_field_and_refuse_nonsense() {
    let flags = Limits {
        max_turns: Some(1),
        ..Limits::default()
    };
    let template = Limits {
        max_turns: Some(5),
        ttl_secs: Some(60),
        ..Limits::default()
    };
    let merged = flags.or(template);
    assert_eq!((merged.max_turns, merged.ttl_secs), (Some(1), Some(60)));
    for bad in [
        Limits {
            max_turns: Some(0),
            ..Limits::default()
        },
        Limits {
            max_cost_usd: Some(-1.0),
            ..Limits::default()
        },
        Limits {
            ttl_secs: Some(0),
            ..Limits::default()
        },
        Limits {
            ttl_secs: Some(u64::MAX / 2),
            ..Limits::default()
        },
    ] {
        let err = bad.check().expect_err("refused");
        assert!(!err.contains('\n'), "{err}");
    }
    assert_eq!(words(5400), "1h 30m");
}
