//! Frame figures for the benchmarks: how many frames were drawn, the most in a second,
//! and when the first one was.

use std::time::{Duration, Instant};

/// Frame figures for the benchmarks, written where `FLOTILLA_STATS` points at exit.
pub struct Stats {
    started: Instant,
    first_frame: Option<Duration>,
    frames: u64,
    recent: std::collections::VecDeque<Instant>,
    max_fps: usize,
}

impl Stats {
    pub fn new(started: Instant) -> Stats {
        Stats {
            started,
            first_frame: None,
            frames: 0,
            recent: Default::default(),
            max_fps: 0,
        }
    }

    pub fn drew(&mut self) {
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

    pub fn write(&self) {
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
