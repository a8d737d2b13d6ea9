//! The load generator behind `nats bench`.
//!
//! `stats` turns per-client samples into natscli's report; `workers` runs publishers,
//! subscribers, requesters and responders on async-nats; `raw` is a lean raw-protocol
//! publisher and subscriber so that, when comparing servers, the client is not the
//! bottleneck. Workers share a [`Shared`] block of counters (for progress, queue-group
//! completion and stall detection) and a stop signal.

pub mod raw;
pub mod stats;
pub mod workers;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tokio::sync::watch;

/// Counters every worker updates and the coordinator reads.
pub struct Shared {
    /// Messages published so far, all publishers together (updated in batches).
    pub published: AtomicU64,
    /// Messages received so far, all subscribers together.
    pub received: AtomicU64,
    /// Slow-consumer events reported by async-nats (messages it dropped).
    pub slow_consumers: AtomicU64,
    /// Flips to `true` when subscribers must stop waiting.
    pub stop: watch::Receiver<bool>,
}

impl Shared {
    pub fn new(stop: watch::Receiver<bool>) -> Self {
        Shared {
            published: AtomicU64::new(0),
            received: AtomicU64::new(0),
            slow_consumers: AtomicU64::new(0),
            stop,
        }
    }

    pub fn add_published(&self, n: u64) {
        self.published.fetch_add(n, Ordering::Relaxed);
    }

    pub fn add_received(&self, n: u64) {
        self.received.fetch_add(n, Ordering::Relaxed);
    }
}

/// What a subscriber is told to expect.
#[derive(Clone, Debug)]
pub struct SubPlan {
    pub subject: String,
    pub queue: Option<String>,
    /// Messages this subscriber must see (plain) or the group must see (queue).
    pub expect: u64,
    /// Payload size every message must have.
    pub size: usize,
}

impl SubPlan {
    /// Whether a subscriber that has seen `mine` messages is finished. In a queue group
    /// the group finishes together, which the coordinator signals through `stop`.
    pub fn done(&self, mine: u64) -> bool {
        self.queue.is_none() && mine >= self.expect
    }
}

/// What one subscriber saw.
#[derive(Clone, Debug)]
pub struct SubOutcome {
    pub sample: stats::Sample,
    /// Messages whose payload size was not the expected one.
    pub wrong_size: u64,
}

/// Tracks first and last arrival for a subscriber's sample.
pub struct Window {
    first: Option<Instant>,
    last: Instant,
}

impl Window {
    pub fn new() -> Self {
        Window {
            first: None,
            last: Instant::now(),
        }
    }

    pub fn saw(&mut self, now: Instant) {
        self.first.get_or_insert(now);
        self.last = now;
    }

    pub fn sample(&self, msgs: u64, size: usize) -> stats::Sample {
        let start = self.first.unwrap_or(self.last);
        stats::Sample::new(msgs, size, start, self.last.max(start))
    }
}
