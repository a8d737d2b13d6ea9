//! Flow control for a push consumer with `flow_control: true`, as nats-server 2.9.10 runs
//! it: the server counts the bytes it delivered; past half its window it sends
//! `NATS/1.0 100 FlowControl Request` to the deliver subject with a reply subject
//! `$JS.FC.<stream>.<consumer>.<token>`, and past the whole window it stops delivering
//! until the client answers. Clients answer once the application has taken the
//! messages before the request, so a slow application slows the consumer instead of
//! overflowing the client library's buffers. Each answer doubles the window (from
//! 2 MiB up to 32 MiB) and releases the bytes counted when the request went out.
//!
//! While a request is outstanding, idle heartbeats carry `Nats-Consumer-Stalled:
//! <reply>`, so a client that lost the request (or a new subscriber of a durable
//! consumer) can still answer it.

/// Go's `JsFlowControlMaxPending`.
const LIMIT: usize = 32 * 1024 * 1024;

#[derive(Debug, Default)]
pub struct Flow {
    /// Bytes allowed out before an answer (0: no flow control).
    window: usize,
    /// Bytes out since the last answer.
    pending: usize,
    /// The outstanding request's reply subject, and the bytes it answers for.
    asked: Option<(String, usize)>,
}

impl Flow {
    pub fn new(on: bool) -> Flow {
        Flow {
            window: if on { LIMIT / 16 } else { 0 },
            ..Flow::default()
        }
    }

    /// Whether delivery must wait for an answer.
    pub fn blocked(&self) -> bool {
        self.window > 0 && self.pending > self.window
    }

    /// Count a delivered message of `size` bytes (deliver subject, reply, headers and
    /// payload). Returns the reply subject of a request to send after it, made by
    /// `reply`, when one is due.
    pub fn sent(&mut self, size: usize, reply: impl FnOnce() -> String) -> Option<String> {
        if self.window == 0 {
            return None;
        }
        self.pending += size;
        match &mut self.asked {
            None if self.pending > self.window / 2 => {
                let r = reply();
                self.asked = Some((r.clone(), self.pending));
                Some(r)
            }
            // Far past the request: let its answer release this message too.
            Some((_, counted)) if self.pending - *counted >= self.window => {
                *counted += size;
                None
            }
            _ => None,
        }
    }

    /// An answer arrived on `subject`; true when it was the outstanding request's (the
    /// consumer may deliver again).
    pub fn answered(&mut self, subject: &str) -> bool {
        let Some((_, counted)) = self.asked.take_if(|(r, _)| r == subject) else {
            return false;
        };
        self.window = (self.window * 2).min(LIMIT);
        self.pending = self.pending.saturating_sub(counted);
        true
    }

    /// The outstanding request's reply subject, for the idle heartbeat.
    pub fn stalled_on(&self) -> Option<&str> {
        self.asked.as_ref().map(|(r, _)| r.as_str())
    }
}

/// The reply subject of a flow control request: `$JS.FC.<stream>.<consumer>.` and four
/// random characters (Go's form).
pub fn reply_subject(stream: &str, consumer: &str) -> String {
    let id = crate::ids::nuid();
    format!("$JS.FC.{stream}.{consumer}.{}", &id[id.len() - 4..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_never_asks_or_blocks() {
        let mut f = Flow::new(false);
        for _ in 0..1000 {
            assert_eq!(f.sent(1 << 20, || unreachable!()), None);
        }
        assert!(!f.blocked());
    }

    #[test]
    fn asks_past_half_blocks_past_window_and_answers_double_it() {
        let mut f = Flow::new(true);
        let window = LIMIT / 16;
        let mut asked = None;
        let mut sent = 0;
        while asked.is_none() {
            asked = f.sent(1000, || "$JS.FC.S.C.abcd".to_string());
            sent += 1000;
        }
        assert!(sent > window / 2 && sent <= window / 2 + 1000);
        assert_eq!(f.stalled_on(), Some("$JS.FC.S.C.abcd"));
        while !f.blocked() {
            assert_eq!(f.sent(1000, || unreachable!()), None);
        }
        assert!(
            !f.answered("$JS.FC.S.C.zzzz"),
            "only the outstanding request counts"
        );
        assert!(f.blocked());
        assert!(f.answered("$JS.FC.S.C.abcd"));
        assert!(!f.blocked());
        assert_eq!(f.stalled_on(), None);
        assert_eq!(f.window, window * 2);
        assert!(!f.answered("$JS.FC.S.C.abcd"), "an answer counts once");
    }

    #[test]
    fn window_stops_at_the_limit() {
        let mut f = Flow::new(true);
        for i in 0..20 {
            let r = format!("r{i}");
            let mut asked = None;
            while asked.is_none() {
                asked = f.sent(4096, || r.clone());
            }
            assert!(f.answered(&r));
        }
        assert_eq!(f.window, LIMIT);
    }
}
