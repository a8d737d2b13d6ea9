//! Pacing a consumer's deliveries, as nats-server 2.9.10 does:
//! * `replay_policy: original` — until the consumer has caught up with the messages the
//!   stream held when it started, each message waits for the gap between its timestamp
//!   and the previous message's (gaps of a millisecond or less are not waited for);
//! * `rate_limit_bps` — a token bucket of bytes (the limit / 8 per second, as deep as the
//!   largest message the stream takes), each delivery counting its subject, ack
//!   subject, headers and payload.
//!
//! A message that must wait has already been taken from the consumer (as in Go); the
//! consumer's task holds it and sends it when its time comes.

/// Nanoseconds.
type Nanos = i64;

#[derive(Debug)]
pub struct Pacer {
    /// Replaying in original time until a message past `until` (stream sequence).
    replay: Option<u64>,
    /// The previous message's timestamp (for the replay gaps).
    last_ts: Option<Nanos>,
    bucket: Option<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    /// Bytes per second.
    rate: f64,
    burst: f64,
    tokens: f64,
    at: Nanos,
}

impl Pacer {
    /// `replay_until`: the stream's last sequence when the consumer started, for
    /// `replay_policy: original`; `bps`/`burst`: the rate limit in bits per second (0
    /// for none) and the bucket's depth in bytes.
    pub fn new(replay_until: Option<u64>, bps: u64, burst: u64, now: Nanos) -> Pacer {
        let bucket = (bps / 8 > 0).then(|| Bucket {
            rate: (bps / 8) as f64,
            burst: burst.max(1) as f64,
            tokens: burst.max(1) as f64,
            at: now,
        });
        Pacer {
            replay: replay_until,
            last_ts: None,
            bucket,
        }
    }

    /// Follow a changed rate limit (a consumer update may change it); the bucket starts
    /// full again.
    pub fn set_rate(&mut self, bps: u64, burst: u64, now: Nanos) {
        let rate = (bps / 8) as f64;
        if self.bucket.as_ref().map_or(0.0, |b| b.rate) != rate {
            self.bucket = Pacer::new(None, bps, burst, now).bucket;
        }
    }

    /// Whether this pacer ever delays anything.
    pub fn active(&self) -> bool {
        self.replay.is_some() || self.bucket.is_some()
    }

    /// A message (stream sequence `seq`, stored at `ts`, `size` bytes on the wire) is about
    /// to go out at `now`: when it may go (`now` when it need not wait).
    pub fn admit(&mut self, seq: u64, ts: Nanos, size: usize, now: Nanos) -> Nanos {
        let mut at = now;
        if let Some(until) = self.replay {
            if let Some(last) = self.last_ts {
                let gap = ts - last;
                if gap > 1_000_000 {
                    at = now + gap;
                }
            }
            if seq >= until {
                self.replay = None;
            }
        }
        self.last_ts = Some(ts);
        if let Some(b) = &mut self.bucket {
            // Tokens accrue up to the bucket's depth; a reservation may take them below
            // zero, and the message then waits until they are back at zero.
            let elapsed = (at - b.at).max(0) as f64 / 1e9;
            b.tokens = (b.tokens + elapsed * b.rate).min(b.burst);
            b.at = b.at.max(at);
            b.tokens -= size as f64;
            if b.tokens < 0.0 {
                at += (-b.tokens / b.rate * 1e9) as Nanos;
            }
        }
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Nanos = 1_000_000;

    #[test]
    fn replay_waits_for_the_original_gaps_until_caught_up() {
        let mut p = Pacer::new(Some(3), 0, 0, 0);
        assert_eq!(p.admit(1, 1_000 * MS, 10, 0), 0, "the first goes at once");
        assert_eq!(p.admit(2, 1_250 * MS, 10, 5), 5 + 250 * MS);
        assert_eq!(
            p.admit(3, 1_250 * MS + 1, 10, 7),
            7,
            "a gap under 1 ms is not waited"
        );
        // Caught up with what the stream held at the start: instant from here.
        assert_eq!(p.admit(4, 9_000 * MS, 10, 9), 9);
        assert!(p.replay.is_none());
    }

    #[test]
    fn the_rate_limit_lets_a_burst_through_then_paces() {
        // 8,000 bits/s = 1,000 bytes/s, a bucket of 500 bytes.
        let mut p = Pacer::new(None, 8_000, 500, 0);
        assert_eq!(p.admit(1, 0, 250, 0), 0);
        assert_eq!(p.admit(2, 0, 250, 0), 0);
        // Empty: 250 more bytes take a quarter of a second.
        assert_eq!(p.admit(3, 0, 250, 0), 250 * MS);
        // Over a second later the bucket is full again, not fuller.
        let t = 2_000 * MS;
        assert_eq!(p.admit(4, 0, 500, t), t);
        assert_eq!(p.admit(5, 0, 100, t), t + 100 * MS);
    }

    #[test]
    fn no_policy_never_waits() {
        let mut p = Pacer::new(None, 0, 0, 0);
        assert!(!p.active());
        assert_eq!(p.admit(1, 0, 1 << 20, 42), 42);
    }
}
