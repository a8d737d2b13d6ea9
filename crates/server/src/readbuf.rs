//! Reading a connection: its read buffer, sized to the traffic and never holding more than
//! one partial op between reads, and [`OpHandler::handle_batch`], the parse-and-act loop
//! that client and route readers share.
//!
//! It starts small (idle connections are the common case, and memory per connection is a
//! target), doubles whenever a read fills all the room it had (up to `max`), and halves
//! after a few reads that used less than half of it. An op larger than the buffer (a big
//! payload) grows it once to the size the parser says it needs.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use nats_proto::{errors, Op, ParseError, Parser};

use crate::conn::{CloseReason, Conn};
use crate::logging::Logger;
use crate::tls::transport::ReadSide;

/// A connection kind's reaction to the ops it reads (clients and routes).
pub trait OpHandler {
    fn conn(&self) -> &Arc<Conn>;
    fn log(&self) -> &Logger;
    fn parser(&mut self) -> &mut Parser;
    fn handle(&mut self, op: Op<'_>) -> Result<(), CloseReason>;
    /// Report a parse error (log, `-ERR`) and say why the connection closes. `rest` is the
    /// unparsed input from the failing op on.
    fn parse_error(&mut self, e: &ParseError, rest: &[u8]) -> CloseReason;
    /// Still waiting for a CONNECT that authenticates (the auth timer runs).
    fn awaiting_auth(&self) -> bool;
    /// While [`OpHandler::awaiting_auth`], an op that does not start like `CONNECT` is
    /// refused at its first byte, as nats-server's parser does, so nothing an
    /// unauthenticated peer sends is buffered beyond one control line. Returns why the
    /// connection closes (the `-ERR` sent), or `None` to let the op through (a client
    /// that becomes the `no_auth_user`).
    fn refuse_before_auth(&mut self) -> Option<CloseReason>;
    /// An op left work that must not run on an async worker (a CONNECT whose password
    /// needs bcrypt) or that must be waited for (the account JWT of a CONNECT being
    /// fetched): the batch stops after it, the read loop runs the check off the runtime
    /// (or awaits the fetch), hands the outcome to [`OpHandler::finish_deferred`], and only
    /// then goes on with the bytes that followed.
    fn has_deferred(&self) -> bool {
        false
    }
    fn take_deferred(&mut self) -> Option<Deferred> {
        None
    }
    fn finish_deferred(
        &mut self,
        _outcome: Option<crate::auth::OwnedAuthorized>,
    ) -> Result<(), CloseReason> {
        Ok(())
    }
    /// Before a batch is parsed (refresh per-batch settings).
    fn before_batch(&mut self) {}
    /// After a batch: wake destinations, publish counters. Returns a destination that fell
    /// behind, for the producer to wait on.
    fn after_batch(&mut self) -> Option<Arc<Conn>>;

    /// Parse and handle every complete op in `data`. Returns the bytes used and, if the
    /// connection must close, why.
    fn handle_batch(&mut self, data: &[u8]) -> (usize, Result<(), CloseReason>) {
        let mut pos = 0;
        while pos < data.len() {
            if self.awaiting_auth() && !matches!(data[pos], b'C' | b'c') {
                if let Some(reason) = self.refuse_before_auth() {
                    return (pos, Err(reason));
                }
            }
            match self.parser().parse(&data[pos..]) {
                Ok(Some((op, used))) => {
                    pos += used;
                    if let Err(reason) = self.handle(op) {
                        return (pos, Err(reason));
                    }
                    if self.has_deferred() {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    let reason = self.parse_error(&e, &data[pos..]);
                    return (pos, Err(reason));
                }
            }
        }
        (pos, Ok(()))
    }
}

/// A connection's read loop: read, parse and act on every complete op, flush the batch's
/// destinations, pause while one of them drains (producer stall), until the connection
/// closes. Returns why it closed.
pub async fn read_loop<H: OpHandler>(
    h: &mut H,
    mut r: ReadSide,
    mut rb: ReadBuf,
    auth_timeout: Duration,
) -> CloseReason {
    let conn = h.conn().clone();
    let auth_deadline = tokio::time::sleep(auth_timeout);
    tokio::pin!(auth_deadline);
    loop {
        let spare = rb.spare(h.parser().needed());
        let n = tokio::select! {
            res = r.read(spare, &conn) => match res {
                Ok(0) => return CloseReason::ClientClosed,
                Ok(n) => n,
                Err(_) => return CloseReason::ReadError,
            },
            _ = conn.cancelled() => {
                return conn.close_reason().unwrap_or(CloseReason::ServerShutdown);
            }
            _ = &mut auth_deadline, if h.awaiting_auth() => {
                conn.send_err(h.log(), errors::AUTH_TIMEOUT);
                crate::error!(h.log(), "{} - Authentication Timeout", conn.prefix());
                return CloseReason::AuthenticationTimeout;
            }
        };
        rb.filled(n);
        conn.last_activity_ms
            .store(conn.now_ms(), Ordering::Relaxed);
        loop {
            h.before_batch();
            let (pos, result) = h.handle_batch(rb.data());
            rb.consume(pos);
            let slow = h.after_batch();
            if let Err(reason) = result {
                return reason;
            }
            if let Some(slow) = slow {
                if !Arc::ptr_eq(&slow, &conn) {
                    slow.wait_drained(crate::deliver::MAX_STALL).await;
                }
            }
            let Some(job) = h.take_deferred() else {
                break;
            };
            // Boxed: rare, and it would otherwise enlarge every connection's task.
            let work: std::pin::Pin<
                Box<dyn std::future::Future<Output = Option<crate::auth::OwnedAuthorized>> + Send>,
            > = match job {
                Deferred::Check(f) => Box::pin(crate::auth::off_runtime(f)),
                Deferred::Fetch(fut) => Box::pin(async move {
                    fut.await;
                    None
                }),
            };
            let outcome = tokio::select! {
                o = work => o,
                _ = conn.cancelled() => {
                    return conn.close_reason().unwrap_or(CloseReason::ServerShutdown);
                }
            };
            if let Err(reason) = h.finish_deferred(outcome) {
                return reason;
            }
            // Ops that arrived behind the CONNECT are handled before the next read.
        }
    }
}

/// Work an op left for the read loop to finish before the next op.
pub enum Deferred {
    /// A credential check to run off the async workers, that answers who the peer is
    /// (`None`: not authorized).
    Check(Box<dyn FnOnce() -> Option<crate::auth::OwnedAuthorized> + Send>),
    /// Something to wait for (an account JWT being fetched); the handler then looks
    /// again (the outcome it gets is `None`).
    Fetch(std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>),
}

pub struct ReadBuf {
    buf: Vec<u8>,
    start: usize,
    end: usize,
    room: usize,
    short_reads: u8,
    min: usize,
    max: usize,
}

impl ReadBuf {
    pub fn new(min: usize, max: usize) -> ReadBuf {
        ReadBuf {
            buf: vec![0; min],
            start: 0,
            end: 0,
            room: 0,
            short_reads: 0,
            min,
            max,
        }
    }

    /// Room to read into. `needed` is the parser's size for the op in progress, if known.
    ///
    /// The room for a large op grows with the bytes that actually arrive (doubling while
    /// reads fill it), never with the size its control line claims: a peer that announces
    /// `RMSG $G foo 999999999` and sends nothing more costs nothing (nats-server only
    /// reserves address space for it; we do not even do that).
    pub fn spare(&mut self, needed: Option<usize>) -> &mut [u8] {
        let pending = self.end - self.start;
        let want = needed.unwrap_or(0).max(pending + 1);
        if self.start > 0 && (self.end == self.buf.len() || want > self.buf.len() - self.start) {
            self.buf.copy_within(self.start..self.end, 0);
            self.end = pending;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            let len = match needed {
                // Double, but not past what the op needs.
                Some(n) if n > self.buf.len() => (self.buf.len() * 2).min(n),
                _ => self.buf.len() * 2,
            };
            self.buf.resize(len, 0);
        }
        self.room = self.buf.len() - self.end;
        &mut self.buf[self.end..]
    }

    /// `n` bytes were read into the spare room.
    pub fn filled(&mut self, n: usize) {
        self.end += n;
        if n == self.room {
            self.short_reads = 0;
            if self.buf.len() < self.max {
                let len = (self.buf.len() * 2).min(self.max);
                self.buf.resize(len, 0);
            }
        } else if n < self.buf.len() / 2 {
            self.short_reads = self.short_reads.saturating_add(1);
        } else {
            self.short_reads = 0;
        }
    }

    /// The unconsumed bytes.
    pub fn data(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// `used` bytes of `data()` were parsed and handled.
    pub fn consume(&mut self, used: usize) {
        self.start += used;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            if self.buf.len() > 2 * self.max {
                // It grew well past `max` for a large op: do not keep a payload-sized
                // buffer for a connection that may now stay idle for hours. (Up to twice
                // `max` stays, so a stream of ops just over `max` does not reallocate.)
                self.buf = vec![0; self.max];
                self.short_reads = 0;
            } else if self.short_reads > 2 && self.buf.len() > self.min {
                let len = (self.buf.len() / 2).max(self.min);
                self.buf.truncate(len);
                self.buf.shrink_to_fit();
                self.short_reads = 0;
            }
        }
    }

    pub fn capacity(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_when_reads_fill_it_and_shrinks_when_idle() {
        let mut b = ReadBuf::new(512, 65536);
        for _ in 0..10 {
            let n = b.spare(None).len();
            b.filled(n);
            let len = b.data().len();
            // Leave a partial op behind, as a busy connection does.
            b.consume(len - 3);
        }
        assert_eq!(b.capacity(), 65536);
        let len = b.data().len();
        b.consume(len);
        // Three short reads per halving: 65536 -> 512 takes 7 halvings.
        for _ in 0..21 {
            b.spare(None);
            b.filled(10);
            b.consume(10);
        }
        assert_eq!(b.capacity(), 512);
    }

    #[test]
    fn holds_a_large_op_whole() {
        let mut b = ReadBuf::new(512, 65536);
        b.spare(None);
        b.filled(100);
        let mut total = 100;
        while total < 1_000_000 {
            let s = b.spare(Some(1_000_000));
            let n = s.len().min(1_000_000 - total);
            assert!(n > 0);
            b.filled(n);
            total += n;
        }
        assert_eq!(b.data().len(), 1_000_000);
        assert!(b.capacity() <= 2 * 1_000_000);
    }

    #[test]
    fn a_claimed_size_alone_allocates_nothing() {
        // `RMSG $G foo 999999999` followed by a few bytes: the buffer stays small.
        let mut b = ReadBuf::new(4096, 256 * 1024);
        for _ in 0..4 {
            let s = b.spare(Some(999_999_999));
            assert!(!s.is_empty());
            b.filled(10);
        }
        assert!(b.capacity() <= 4096, "{}", b.capacity());
    }

    #[test]
    fn shrinks_after_an_oversized_op() {
        let mut b = ReadBuf::new(512, 65536);
        let mut total = 0;
        while total < 1 << 20 {
            let n = b.spare(Some(1 << 20)).len().min((1 << 20) - total);
            b.filled(n);
            total += n;
        }
        assert!(b.capacity() >= 1 << 20);
        b.consume(1 << 20);
        assert_eq!(b.capacity(), 65536);
    }

    #[test]
    fn keeps_partial_data_when_compacting() {
        let mut b = ReadBuf::new(8, 8);
        let s = b.spare(None);
        s[..8].copy_from_slice(b"abcdefgh");
        b.filled(8);
        b.consume(5);
        b.spare(None);
        assert_eq!(b.data(), b"fgh");
    }
}
