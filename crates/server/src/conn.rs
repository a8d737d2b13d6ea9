//! What every connection (client or route) shares with the rest of the server: its
//! outbound buffer, its doorbell, its counters and its close state.
//!
//! Delivery never touches a socket. A producer (another connection's read loop) appends
//! the whole `MSG …\r\n<payload>\r\n` to the destination's [`Outbound`] under a short lock
//! and remembers the destination; when the producer has processed its read batch it rings
//! each remembered doorbell once (see `client::Pcd`). The destination's writer task then
//! swaps the whole buffer out and writes it in one syscall. This is nats-server's "pending
//! client data" rule, and it is what turns fan-out into few syscalls and wake-ups.
//!
//! Invariants:
//! * `Outbound::pending` = bytes queued + bytes being written; slow-consumer checks use it.
//! * Once `closed` is set nothing more is queued; the reader task owns all clean-up
//!   (subscriptions, registries, reconnects) and runs it exactly once after the close.
//! * The `out` lock is never held while taking any other lock.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::sub::SubRef;
use crate::tls::transport::WriteSide;

/// Which protocol a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnKind {
    Client,
    Route,
}

/// Why a connection closed (nats-server's `ClosedState`, with its wording).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    ClientClosed,
    AuthenticationTimeout,
    AuthenticationViolation,
    SlowConsumerPendingBytes,
    SlowConsumerWriteDeadline,
    WriteError,
    ReadError,
    ParseError,
    StaleConnection,
    ProtocolViolation,
    BadClientProtocolVersion,
    WrongPort,
    MaxConnectionsExceeded,
    MaxPayloadExceeded,
    MaxControlLineExceeded,
    MaxSubscriptionsExceeded,
    DuplicateRoute,
    RouteRemoved,
    ServerShutdown,
    NoRespondersRequiresHeaders,
    ClusterNameConflict,
    DuplicateServerName,
    TlsHandshakeError,
    MaxAccountConnectionsExceeded,
    AuthenticationExpired,
    Revocation,
}

impl CloseReason {
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::ClientClosed => "Client Closed",
            CloseReason::AuthenticationTimeout => "Authentication Timeout",
            CloseReason::AuthenticationViolation => "Authentication Failure",
            CloseReason::SlowConsumerPendingBytes => "Slow Consumer (Pending Bytes)",
            CloseReason::SlowConsumerWriteDeadline => "Slow Consumer (Write Deadline)",
            CloseReason::WriteError => "Write Error",
            CloseReason::ReadError => "Read Error",
            CloseReason::ParseError => "Parse Error",
            CloseReason::StaleConnection => "Stale Connection",
            CloseReason::ProtocolViolation => "Protocol Violation",
            CloseReason::BadClientProtocolVersion => "Bad Client Protocol Version",
            CloseReason::WrongPort => "Incorrect Port",
            CloseReason::MaxConnectionsExceeded => "Maximum Connections Exceeded",
            CloseReason::MaxPayloadExceeded => "Maximum Message Payload Exceeded",
            CloseReason::MaxControlLineExceeded => "Maximum Control Line Exceeded",
            CloseReason::MaxSubscriptionsExceeded => "Maximum Subscriptions Exceeded",
            CloseReason::DuplicateRoute => "Duplicate Route",
            CloseReason::RouteRemoved => "Route Removed",
            CloseReason::ServerShutdown => "Server Shutdown",
            CloseReason::NoRespondersRequiresHeaders => "No Responders Requires Headers",
            CloseReason::ClusterNameConflict => "Cluster Name Conflict",
            CloseReason::DuplicateServerName => "Duplicate Server Name",
            CloseReason::TlsHandshakeError => "TLS Handshake Failure",
            CloseReason::MaxAccountConnectionsExceeded => "Maximum Account Connections Exceeded",
            CloseReason::AuthenticationExpired => "Authentication Expired",
            CloseReason::Revocation => "Credentials Revoked",
        }
    }

    /// Whether queued bytes are still worth writing before the socket closes (an `-ERR`
    /// explaining the close, say). Not after I/O errors or for slow consumers.
    fn flushes(self) -> bool {
        !matches!(
            self,
            CloseReason::ReadError
                | CloseReason::WriteError
                | CloseReason::SlowConsumerPendingBytes
                | CloseReason::SlowConsumerWriteDeadline
        )
    }
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Bytes waiting to be written, and the counters that change with them.
#[derive(Default)]
pub struct Outbound {
    /// Where producers append.
    pub buf: Vec<u8>,
    /// The chunk being written (swapped out of `buf`) and how much of it went out. Only
    /// the holder of the write token (`Conn::writing`) touches these.
    inflight: Vec<u8>,
    inflight_off: usize,
    /// Bytes queued plus bytes in the writer's hands.
    pub pending: usize,
    pub closed: bool,
    /// Closed for a reason not worth flushing for (I/O error, slow consumer): whatever is
    /// queued or half-written is dropped, and the writer stops at once.
    discard: bool,
    /// Messages and payload bytes queued to this connection (`out_msgs`/`out_bytes`).
    pub msgs: u64,
    pub bytes: u64,
}

/// Result of queueing to a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queued {
    Ok,
    /// Queued, and the destination is over half its limit: the producer should pause.
    Stall,
    /// Not queued: the connection is closed.
    Closed,
    /// Not queued: this would take a client past `max_pending`. The caller cuts it as a
    /// slow consumer (`Conn::close` with `SlowConsumerPendingBytes`; the client's clean-up
    /// logs and counts it).
    SlowConsumer,
}

/// Per-connection inbound counters (written by the connection's own reader only).
#[derive(Default)]
pub struct InStats {
    pub msgs: AtomicU64,
    pub bytes: AtomicU64,
}

/// Descriptive data for logs and monitoring; changes rarely.
#[derive(Debug, Clone, Default)]
pub struct ConnMeta {
    /// A client's account (set at CONNECT; `None` before it, and for routes).
    pub account: Option<Arc<crate::account::Account>>,
    pub name: String,
    pub lang: String,
    pub version: String,
    pub user: String,
    /// Route: the remote server id and name once its INFO arrived.
    pub remote_id: String,
    pub remote_name: String,
    pub did_solicit: bool,
    pub is_configured: bool,
    /// Route: the URL we dialled (or built from the peer's INFO).
    pub route_url: Option<url::Url>,
    /// Route: the client URLs the peer advertised.
    pub connect_urls: Vec<String>,
    /// Route: the websocket URLs the peer advertised (`ws_connect_urls`).
    pub ws_connect_urls: Vec<String>,
    pub rtt: Option<Duration>,
    /// Route: the peer's INFO (with `ip` filled in), forwarded to others as gossip.
    pub remote_info: Option<Box<nats_proto::info::ServerInfo>>,
    /// Route: re-dial this route if it drops even though we did not solicit it (it
    /// survived a duplicate resolution), as nats-server's `retry` flag.
    pub retry: bool,
    /// Route: the peer turned out to be this server.
    pub self_route: bool,
    /// The credentials this client (or accepted route) authenticated with, checked again
    /// on reload; `None` until its CONNECT was accepted.
    pub auth: Option<Arc<crate::auth::Credentials>>,
    pub close_reason: Option<CloseReason>,
    pub stop: Option<SystemTime>,
    /// Set once a TLS handshake completed: version, cipher, the peer's certificate.
    pub tls: Option<Box<crate::tls::transport::TlsInfo>>,
    /// A client that came through the websocket listener.
    pub websocket: bool,
    /// The JWT from the upgrade request's `jwt_cookie` cookie, if any.
    pub ws_cookie_jwt: Option<Box<str>>,
}

pub struct Conn {
    pub cid: u64,
    pub kind: ConnKind,
    pub addr: SocketAddr,
    pub start: SystemTime,
    /// Log prefix: `<ip:port> - cid:N` (or `rid:N`); grows a client's name once known.
    prefix: Mutex<Arc<str>>,
    pub out: Mutex<Outbound>,
    wake: Notify,
    drained: Notify,
    closed: AtomicBool,
    cancel: CancellationToken,
    /// Over this many pending bytes a client is cut as a slow consumer (0 = never: routes).
    max_pending: usize,
    /// Over this many pending bytes client producers pause after their batch until the
    /// writer catches up, at most `deliver::MAX_STALL` (0 = never). Half of `max_pending`,
    /// for clients and routes alike (a route is never cut for pending bytes, only for
    /// `write_deadline`). Route readers never pause (see `RouteState::after_batch`).
    stall_at: usize,
    /// The write token: whoever swaps it to true is the only one writing to the socket
    /// (the writer task, or a producer flushing inline at the end of its batch).
    writing: AtomicBool,
    /// The socket's write half (plain TCP or TLS), shared so producers can write without
    /// waking the writer task (`try_write` takes `&self`). Set by the writer task, taken
    /// away at close.
    sock: Mutex<Option<Arc<WriteSide>>>,
    pub in_stats: InStats,
    /// Subscriptions by sid (clients) or by `account subject [queue]` key (routes).
    pub subs: Mutex<hashbrown::HashMap<Box<[u8]>, SubRef>>,
    pub meta: Mutex<ConnMeta>,
    /// Read by producers on every delivery, written once at CONNECT.
    pub echo: AtomicBool,
    pub headers: AtomicBool,
    /// Protocol level >= 1 and its first PONG went out: may receive async INFO.
    pub async_info: AtomicBool,
    /// PINGs sent and not yet answered.
    pub pings_out: AtomicU32,
    /// Last time anything arrived, as ms since `epoch` (for idle and ping skipping).
    pub last_activity_ms: AtomicU64,
    /// When the peer last sent us a PING (ping skipping), ms since `epoch`.
    pub last_ping_in_ms: AtomicU64,
    pub epoch: Instant,
    /// When the last PING we sent left (RTT measurement).
    pub ping_sent_at: Mutex<Option<Instant>>,
    /// What producers check when delivering to a client with permissions: reply
    /// subjects it may answer, and the subscribe deny filter (inactive otherwise).
    pub perms: crate::permissions::DeliveryPerms,
}

impl Conn {
    pub fn new(cid: u64, kind: ConnKind, addr: SocketAddr, max_pending: usize) -> Conn {
        let tag = match kind {
            ConnKind::Client => "cid",
            ConnKind::Route => "rid",
        };
        Conn {
            cid,
            kind,
            addr,
            start: SystemTime::now(),
            prefix: Mutex::new(format!("{addr} - {tag}:{cid}").into()),
            out: Mutex::new(Outbound::default()),
            wake: Notify::new(),
            drained: Notify::new(),
            closed: AtomicBool::new(false),
            cancel: CancellationToken::new(),
            max_pending,
            stall_at: max_pending / 2,
            writing: AtomicBool::new(false),
            sock: Mutex::new(None),
            in_stats: InStats::default(),
            subs: Mutex::new(hashbrown::HashMap::new()),
            meta: Mutex::new(ConnMeta::default()),
            echo: AtomicBool::new(true),
            headers: AtomicBool::new(false),
            async_info: AtomicBool::new(false),
            pings_out: AtomicU32::new(0),
            last_activity_ms: AtomicU64::new(0),
            last_ping_in_ms: AtomicU64::new(0),
            epoch: Instant::now(),
            ping_sent_at: Mutex::new(None),
            perms: Default::default(),
        }
    }

    /// A route connection: never cut for pending bytes, but producers pause past
    /// `stall_at` (see [`Conn::queue_msg`]).
    pub fn new_route(cid: u64, addr: SocketAddr, stall_at: usize) -> Conn {
        let mut c = Conn::new(cid, ConnKind::Route, addr, 0);
        c.stall_at = stall_at;
        c
    }

    pub fn prefix(&self) -> Arc<str> {
        self.prefix.lock().clone()
    }

    pub fn set_prefix(&self, p: String) {
        *self.prefix.lock() = p.into();
    }

    pub fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Resolves when the connection is closed.
    pub fn cancelled(&self) -> tokio_util::sync::WaitForCancellationFuture<'_> {
        self.cancel.cancelled()
    }

    /// Mark closed and wake both tasks. Returns false if it was already closed. Never
    /// blocks, so any task may call it (a producer cutting a slow consumer, say).
    pub fn close(&self, reason: CloseReason) -> bool {
        if self.closed.swap(true, Ordering::AcqRel) {
            return false;
        }
        {
            let mut m = self.meta.lock();
            m.close_reason = Some(reason);
            m.stop = Some(SystemTime::now());
        }
        {
            let mut out = self.out.lock();
            out.closed = true;
            if !reason.flushes() {
                out.discard = true;
                out.buf = Vec::new();
                out.inflight = Vec::new();
                out.inflight_off = 0;
                out.pending = 0;
            }
        }
        self.cancel.cancel();
        // Producers stalled on us must not wait for a drain that will never come.
        self.drained.notify_waiters();
        true
    }

    pub fn close_reason(&self) -> Option<CloseReason> {
        self.meta.lock().close_reason
    }

    /// Queue protocol bytes (not a message) and ring the doorbell.
    pub fn send(&self, bytes: &[u8]) {
        self.send_with(|b| b.extend_from_slice(bytes));
    }

    /// Queue `-ERR '<text>'` (traced with `-V`, as every op we send) and ring the doorbell.
    pub fn send_err(&self, log: &crate::logging::Logger, text: &str) {
        crate::trace!(log, "{} - ->> [-ERR '{}']", self.prefix(), text);
        self.send_with(|b| nats_proto::encode::err_line(b, text));
    }

    /// Queue bytes that a closure writes into the buffer, then ring the doorbell. Protocol
    /// bytes count against `max_pending` like messages (a client that pipelines PINGs and
    /// never reads is cut as a slow consumer, as nats-server does).
    pub fn send_with(&self, f: impl FnOnce(&mut Vec<u8>)) {
        let queued = {
            let mut out = self.out.lock();
            if out.closed {
                return;
            }
            let before = out.buf.len();
            f(&mut out.buf);
            let added = out.buf.len() - before;
            out.pending += added;
            if self.max_pending > 0 && out.pending > self.max_pending {
                out.buf.truncate(before);
                out.pending -= added;
                false
            } else {
                true
            }
        };
        if queued {
            self.wake.notify_one();
        } else {
            self.close(CloseReason::SlowConsumerPendingBytes);
        }
    }

    /// Queue one message. `write` appends the whole frame (control line, payload, CRLF);
    /// `payload_len` feeds `out_bytes`. The caller rings the doorbell later (see `Pcd`).
    /// A client over `max_pending` is closed as a slow consumer, as nats-server does.
    #[inline]
    pub fn queue_msg(&self, payload_len: usize, write: impl FnOnce(&mut Vec<u8>)) -> Queued {
        let mut out = self.out.lock();
        if out.closed {
            return Queued::Closed;
        }
        let before = out.buf.len();
        write(&mut out.buf);
        let added = out.buf.len() - before;
        out.pending += added;
        out.msgs += 1;
        out.bytes += payload_len as u64;
        if self.stall_at > 0 && out.pending > self.stall_at {
            if self.max_pending > 0 && out.pending > self.max_pending {
                out.buf.truncate(before);
                out.pending -= added;
                out.msgs -= 1;
                out.bytes -= payload_len as u64;
                return Queued::SlowConsumer;
            }
            return Queued::Stall;
        }
        Queued::Ok
    }

    /// Ring the writer's doorbell.
    #[inline]
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// End of a producer's batch: write what is queued right here if the socket takes it
    /// without blocking, instead of waking the writer task (a thread hop and a wake-up per
    /// batch). Whatever cannot go out now is left to the writer, which is woken.
    pub fn flush_inline(&self) {
        if self.writing.swap(true, Ordering::AcqRel) {
            // Someone is writing; make sure they look again when done.
            self.wake();
            return;
        }
        let sock = self.sock.lock().clone();
        let done = match sock {
            Some(sock) => self
                .write_some(|chunk| match sock.try_write(chunk) {
                    Ok(n) => Ok(n),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(0),
                    Err(e) => Err(e),
                })
                // TLS records the socket did not take are the writer's to finish.
                .and_then(|empty| {
                    if empty {
                        sock.flush_backlog()
                    } else {
                        Ok(false)
                    }
                }),
            None => Ok(false),
        };
        self.writing.store(false, Ordering::Release);
        match done {
            Ok(true) => {
                // Data queued while we wrote (its producer saw the token taken and woke
                // the writer, which may have given up already): hand it on.
                if !self.out.lock().buf.is_empty() {
                    self.wake();
                }
            }
            Ok(false) => self.wake(),
            Err(_) => {
                self.close(CloseReason::WriteError);
            }
        }
    }

    /// With the write token held: take the chunk to write (the unwritten rest of the
    /// previous one, or everything queued), offer it to `write` once, and account for what
    /// went out. Returns true when nothing is left queued. The `out` lock is not held
    /// while writing.
    fn write_some(
        &self,
        write: impl FnOnce(&[u8]) -> std::io::Result<usize>,
    ) -> std::io::Result<bool> {
        let (mut chunk, off) = {
            let mut out = self.out.lock();
            if out.discard
                || (out.closed && out.buf.is_empty() && out.inflight_off >= out.inflight.len())
            {
                return Ok(true);
            }
            if out.inflight_off >= out.inflight.len() {
                out.inflight.clear();
                out.inflight_off = 0;
                if out.buf.is_empty() {
                    return Ok(true);
                }
                let o = &mut *out;
                std::mem::swap(&mut o.buf, &mut o.inflight);
            }
            (std::mem::take(&mut out.inflight), out.inflight_off)
        };
        let res = write(&chunk[off..]);
        let n = *res.as_ref().unwrap_or(&0);
        let (drained, empty) = {
            let mut out = self.out.lock();
            out.pending = out.pending.saturating_sub(n);
            let off = off + n;
            if out.discard {
                chunk = Vec::new();
                out.inflight_off = 0;
            } else if off >= chunk.len() {
                chunk.clear();
                // A burst can leave a large buffer behind; do not keep it for an idle peer.
                if chunk.capacity() > 1 << 20 {
                    chunk = Vec::new();
                }
                out.inflight_off = 0;
            } else {
                out.inflight_off = off;
            }
            out.inflight = chunk;
            let empty = out.inflight.is_empty() && out.buf.is_empty();
            (out.pending <= self.stall_at, empty)
        };
        if drained && n > 0 {
            self.drained.notify_waiters();
        }
        res.map(|_| empty)
    }

    /// Wait until this connection's writer has drained below its stall mark (or closed),
    /// at most `max`.
    pub async fn wait_drained(&self, max: Duration) {
        let notified = self.drained.notified();
        {
            let out = self.out.lock();
            if out.closed || out.pending <= self.stall_at {
                return;
            }
        }
        let _ = tokio::time::timeout(max, notified).await;
    }

    /// After clean-up: drop the outbound buffers (the writer is gone). Other connections'
    /// stale match results may keep the `Conn` itself alive for a while.
    pub fn release_buffers(&self) {
        let mut out = self.out.lock();
        out.buf = Vec::new();
        out.inflight = Vec::new();
        out.inflight_off = 0;
    }

    pub fn pending_bytes(&self) -> usize {
        self.out.lock().pending
    }

    pub fn max_pending(&self) -> usize {
        self.max_pending
    }
}

/// What the writer needs from its owner besides the connection itself.
pub struct WriterCfg {
    pub write_deadline: Duration,
    pub ping_interval: Duration,
    /// Delay before the first PING (routes: about a second, to learn the RTT).
    pub first_ping: Duration,
}

/// The writer stopped: the connection is closed and what could be flushed was.
pub enum WriterExit {
    Closed,
}

/// The writer task: drains the outbound buffer whenever the doorbell rings (and producers
/// could not write it inline), sends PINGs on the ping timer and detects stale peers. It
/// closes the socket's write side when the connection closes.
pub async fn write_loop(
    conn: Arc<Conn>,
    w: WriteSide,
    cfg: WriterCfg,
    on_event: impl Fn(WriterEvent, &Arc<Conn>),
) -> WriterExit {
    let sock = Arc::new(w);
    *conn.sock.lock() = Some(sock.clone());
    // One timer for the connection's life, re-armed when it fires: cheaper than a new
    // sleep per wake-up on a busy connection.
    let ping = tokio::time::sleep(cfg.first_ping);
    tokio::pin!(ping);
    let exit = loop {
        let closing = tokio::select! {
            biased;
            _ = conn.wake.notified() => false,
            _ = conn.cancel.cancelled() => true,
            _ = &mut ping => {
                ping.as_mut().reset(tokio::time::Instant::now() + cfg.ping_interval);
                // The handler queues a PING, or an -ERR and closes a stale peer; either
                // way the drain below writes it.
                on_event(WriterEvent::PingTimer, &conn);
                false
            }
        };
        let deadline = if closing {
            cfg.write_deadline.min(Duration::from_secs(1))
        } else {
            cfg.write_deadline
        };
        match drain(&conn, &sock, deadline).await {
            Ok(()) => {}
            Err(Stop::WriteError) => {
                if !closing {
                    on_event(WriterEvent::WriteError, &conn);
                }
                break WriterExit::Closed;
            }
            Err(Stop::Deadline(n)) => {
                if !closing {
                    on_event(WriterEvent::WriteDeadline(n), &conn);
                }
                break WriterExit::Closed;
            }
        }
        if closing || conn.is_closed() {
            // Let a producer that holds the token finish its one non-blocking write.
            while conn.writing.load(Ordering::Acquire) {
                tokio::task::yield_now().await;
            }
            if drain(&conn, &sock, deadline).await.is_err() {
                break WriterExit::Closed;
            }
            break WriterExit::Closed;
        }
    };
    conn.sock.lock().take();
    sock.close_notify(
        conn.close_reason(),
        cfg.write_deadline.min(Duration::from_secs(1)),
    )
    .await;
    // The write side closes when the last `Arc` (ours) goes: a FIN to the peer.
    let _ = socket2::SockRef::from(sock.tcp().as_ref()).shutdown(std::net::Shutdown::Write);
    exit
}

enum Stop {
    WriteError,
    Deadline(usize),
}

/// Write everything queued (and what arrives meanwhile) unless a producer holds the write
/// token, in which case it wakes us again when it is done.
async fn drain(conn: &Conn, sock: &WriteSide, deadline: Duration) -> Result<(), Stop> {
    loop {
        if conn.writing.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let res = tokio::time::timeout(deadline, write_chunk(conn, sock)).await;
        conn.writing.store(false, Ordering::Release);
        match res {
            Ok(Ok(true)) => {
                if conn.out.lock().buf.is_empty() {
                    return Ok(());
                }
            }
            Ok(Ok(false)) => {}
            Ok(Err(_)) => return Err(Stop::WriteError),
            Err(_) => return Err(Stop::Deadline(conn.pending_bytes())),
        }
    }
}

/// With the write token held: write one chunk completely, waiting for the socket.
async fn write_chunk(conn: &Conn, sock: &WriteSide) -> std::io::Result<bool> {
    loop {
        let mut blocked = false;
        let empty = conn.write_some(|chunk| match sock.try_write(chunk) {
            Ok(n) => Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                blocked = true;
                Ok(0)
            }
            Err(e) => Err(e),
        })?;
        if empty {
            // TLS: the records of what was taken must reach the socket too.
            if sock.flush_backlog()? {
                return Ok(true);
            }
        } else {
            let partial = conn.out.lock().inflight_off > 0;
            if !blocked && !partial {
                // The chunk went out whole; more was queued meanwhile: let the caller loop.
                return Ok(false);
            }
        }
        if conn.is_closed() {
            // Flushing a last -ERR: the caller's deadline bounds the wait.
            sock.writable().await?;
        } else {
            // A close while we wait (a slow consumer cut) must not leave us waiting for a
            // peer that does not read: look again at once.
            tokio::select! {
                r = sock.writable() => r?,
                _ = conn.cancel.cancelled() => {}
            }
        }
    }
}

/// Things the writer tells its owner about.
pub enum WriterEvent {
    /// The ping timer fired: send a PING or declare the peer stale.
    PingTimer,
    WriteError,
    /// A write did not finish within `write_deadline` (bytes in that write).
    WriteDeadline(usize),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(max_pending: usize) -> Conn {
        Conn::new(
            1,
            ConnKind::Client,
            "127.0.0.1:1".parse().unwrap(),
            max_pending,
        )
    }

    /// A half-written chunk is dropped when the connection closes for a reason not worth
    /// flushing for, and clean-up leaves no buffer behind.
    #[test]
    fn close_drops_queued_and_half_written_bytes() {
        let c = conn(0);
        assert_eq!(
            c.queue_msg(1 << 20, |b| b.resize(1 << 20, b'x')),
            Queued::Ok
        );
        // The writer took the chunk and the socket took a quarter of it.
        let empty = c.write_some(|chunk| Ok(chunk.len() / 4)).unwrap();
        assert!(!empty);
        assert!(c.out.lock().inflight.capacity() >= 1 << 20);
        c.close(CloseReason::SlowConsumerPendingBytes);
        {
            let out = c.out.lock();
            assert_eq!(out.inflight.capacity(), 0);
            assert_eq!(out.buf.capacity(), 0);
            assert_eq!(out.pending, 0);
        }
        // Nothing more is offered to the socket.
        let mut offered = 0;
        assert!(c
            .write_some(|chunk| {
                offered += chunk.len();
                Ok(chunk.len())
            })
            .unwrap());
        assert_eq!(offered, 0);
        c.release_buffers();
        assert_eq!(c.out.lock().inflight.capacity(), 0);
    }

    /// Protocol replies count against `max_pending`: past it the client is cut.
    #[test]
    fn protocol_bytes_count_against_max_pending() {
        let c = conn(100);
        for _ in 0..16 {
            c.send(b"PONG\r\n");
        }
        assert!(!c.is_closed());
        c.send(b"PONG\r\n");
        assert!(c.is_closed());
        assert_eq!(
            c.close_reason(),
            Some(CloseReason::SlowConsumerPendingBytes)
        );
    }
}
