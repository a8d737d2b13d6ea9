//! The load generator behind `nats bench`.
//!
//! `stats` turns per-client samples into natscli's report (and `--json` lines);
//! `workers` runs publishers, subscribers, requesters and responders on async-nats;
//! `scan` + `raw` + `raw_rr` are a lean raw-protocol client (publisher, subscriber,
//! responder, requester) so that, when comparing servers, the client is not the
//! bottleneck; `conns` holds thousands of idle connections and `subs` lays out a large
//! subject index. Workers share a [`Shared`] block of counters (for progress,
//! queue-group completion and stall detection) and a stop signal.

pub mod conns;
pub mod raw;
pub mod raw_rr;
pub mod scan;
pub mod stats;
pub mod subs;
pub mod workers;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
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
    /// With `--seq`: where this subscriber ticks off the sequence numbers it receives
    /// (one tracker per subscriber, or one shared by a queue group).
    pub seq: Option<Arc<SeqCheck>>,
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

/// Exactly-once bookkeeping for numbered messages (`nats bench --seq`): publishers put
/// a sequence number in `0..expect` into the first 8 payload bytes (little endian) and
/// receivers tick it off in a bitmap. A number seen twice is a duplicate; at the end
/// every number must have been seen. One atomic `fetch_or` per message, so several
/// queue-group members can share one tracker.
#[derive(Debug)]
pub struct SeqCheck {
    bits: Vec<AtomicU64>,
    expect: u64,
    duplicates: AtomicU64,
    /// Numbers outside `0..expect`, or payloads too short to carry one.
    invalid: AtomicU64,
}

impl SeqCheck {
    pub fn new(expect: u64) -> SeqCheck {
        SeqCheck {
            bits: (0..expect.div_ceil(64))
                .map(|_| AtomicU64::new(0))
                .collect(),
            expect,
            duplicates: AtomicU64::new(0),
            invalid: AtomicU64::new(0),
        }
    }

    /// Records the payload head of one message.
    pub fn saw(&self, head: &[u8]) {
        let Ok(raw) = <[u8; 8]>::try_from(head) else {
            self.invalid.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let n = u64::from_le_bytes(raw);
        if n >= self.expect {
            self.invalid.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let bit = 1u64 << (n % 64);
        let prev = self.bits[(n / 64) as usize].fetch_or(bit, Ordering::Relaxed);
        if prev & bit != 0 {
            self.duplicates.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// `None` when every number arrived exactly once, else what went wrong.
    pub fn problem(&self) -> Option<String> {
        let seen: u64 = self
            .bits
            .iter()
            .map(|w| u64::from(w.load(Ordering::Relaxed).count_ones()))
            .sum();
        let dups = self.duplicates.load(Ordering::Relaxed);
        let invalid = self.invalid.load(Ordering::Relaxed);
        if seen == self.expect && dups == 0 && invalid == 0 {
            return None;
        }
        Some(format!(
            "{} of {} sequence numbers seen, {dups} duplicates, {invalid} invalid",
            seen, self.expect
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seq_check_counts_missing_duplicates_and_invalid() {
        let c = SeqCheck::new(130);
        for n in 0..130u64 {
            c.saw(&n.to_le_bytes());
        }
        assert_eq!(c.problem(), None);
        c.saw(&5u64.to_le_bytes());
        c.saw(&130u64.to_le_bytes());
        c.saw(b"abc");
        assert_eq!(
            c.problem().as_deref(),
            Some("130 of 130 sequence numbers seen, 1 duplicates, 2 invalid")
        );
        let short = SeqCheck::new(3);
        short.saw(&0u64.to_le_bytes());
        short.saw(&2u64.to_le_bytes());
        assert_eq!(
            short.problem().as_deref(),
            Some("2 of 3 sequence numbers seen, 0 duplicates, 0 invalid")
        );
    }
}
