//! Keep-alive: what happens when a connection's ping timer fires (nats-server's
//! `processPingTimer`). A PING is skipped while the peer is active or has pinged us, unless
//! we still need an RTT sample; a peer with `ping_max` PINGs unanswered is stale.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nats_proto::errors;

use crate::conn::{CloseReason, Conn, ConnKind};
use crate::debug;
use crate::server::Server;

pub fn on_ping_timer(srv: &Server, conn: &Arc<Conn>) {
    if conn.is_closed() {
        return;
    }
    let opts = srv.opts();
    let kind = match conn.kind {
        ConnKind::Client => "Client",
        ConnKind::Route => "Router",
    };
    debug!(srv.log, "{} - {} Ping Timer", conn.prefix(), kind);
    let interval = opts.ping_interval.as_millis() as u64;
    let now = conn.now_ms();
    let need_rtt = conn.meta.lock().rtt.is_none();
    let last = conn.last_activity_ms.load(Ordering::Relaxed);
    let last_ping = conn.last_ping_in_ms.load(Ordering::Relaxed);
    if !need_rtt && last > 0 && now.saturating_sub(last) < interval {
        debug!(
            srv.log,
            "{} - Delaying PING due to client activity {}s ago",
            conn.prefix(),
            (now.saturating_sub(last) + 500) / 1000
        );
        return;
    }
    if !need_rtt && last_ping > 0 && now.saturating_sub(last_ping) < interval {
        debug!(
            srv.log,
            "{} - Delaying PING due to remote ping {}s ago",
            conn.prefix(),
            (now.saturating_sub(last_ping) + 500) / 1000
        );
        return;
    }
    let out = conn.pings_out.load(Ordering::Relaxed) as i64;
    if out + 1 > opts.ping_max {
        debug!(
            srv.log,
            "{} - Stale Client Connection - Closing",
            conn.prefix()
        );
        conn.send_err(&srv.log, errors::STALE_CONNECTION);
        conn.close(CloseReason::StaleConnection);
        return;
    }
    conn.pings_out.fetch_add(1, Ordering::Relaxed);
    *conn.ping_sent_at.lock() = Some(Instant::now());
    crate::trace!(srv.log, "{} - ->> [PING]", conn.prefix());
    conn.send(b"PING\r\n");
}

/// A PONG arrived: the peer is alive; take an RTT sample if a PING was out.
pub fn on_pong(conn: &Conn) {
    conn.pings_out.store(0, Ordering::Relaxed);
    if let Some(sent) = conn.ping_sent_at.lock().take() {
        conn.meta.lock().rtt = Some(sent.elapsed());
    }
}

/// First ping delay: clients min(interval, 2s), routes min(interval, 1s), plus up to 20%.
pub fn first_ping(kind: ConnKind, interval: Duration) -> Duration {
    let cap = match kind {
        ConnKind::Client => Duration::from_secs(2),
        ConnKind::Route => Duration::from_secs(1),
    };
    let d = interval.min(cap);
    let extra = d.as_millis() as u64 / 5;
    d + Duration::from_millis(if extra > 0 { fastrand::u64(..extra) } else { 0 })
}
