//! `/routez`: registered route connections (Go's `Routez`/`RouteInfo`).
//!
//! `subscriptions` is the number of remote subscriptions this route holds (one per
//! `account subject [queue]` the peer announced with `RS+`), and `subs=1`/`subs=detail`
//! list them; the detail's `sid` is that route key, as in Go. `pending_size` is always 0:
//! nats-server 2.9.10 never fills it in. There are no cluster permissions, so `import` and
//! `export` are never present.

use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::format::{rtt, since, uptime, GoTime};
use super::query::Query;
use super::{sid_order, Endpoint, Out, SubDetail};
use crate::conn::Conn;
use crate::server::Server;

#[derive(Serialize)]
pub(super) struct Routez {
    server_id: String,
    now: GoTime,
    num_routes: usize,
    routes: Vec<RouteInfo>,
}

#[derive(Serialize)]
struct RouteInfo {
    rid: u64,
    remote_id: String,
    did_solicit: bool,
    is_configured: bool,
    ip: String,
    port: u16,
    start: GoTime,
    last_activity: GoTime,
    rtt: String,
    uptime: String,
    idle: String,
    pending_size: u64,
    in_msgs: u64,
    out_msgs: u64,
    in_bytes: u64,
    out_bytes: u64,
    subscriptions: u32,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    subscriptions_list: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    subscriptions_list_detail: Vec<SubDetail>,
}

pub(super) fn handle<O: Out>(srv: &Server, q: &Query, out: &O) -> O::Doc {
    let (subs, detail) = match q.subs() {
        Ok(v) => v,
        Err(e) => return out.bad(e),
    };
    out.count(srv, Endpoint::Routez);
    out.ok(&routez(srv, subs, detail))
}

pub(super) fn routez(srv: &Server, subs: bool, detail: bool) -> Routez {
    let now = SystemTime::now();
    let mut conns = srv.routes.read().registered();
    conns.sort_by_key(|c| c.cid);
    let routes: Vec<RouteInfo> = conns
        .iter()
        .map(|r| route_info(r, now, subs, detail))
        .collect();
    Routez {
        server_id: srv.id.clone(),
        now: GoTime(now),
        num_routes: routes.len(),
        routes,
    }
}

fn route_info(r: &Conn, now: SystemTime, subs: bool, detail: bool) -> RouteInfo {
    let meta = r.meta.lock().clone();
    let (out_msgs, out_bytes) = {
        let out = r.out.lock();
        (out.msgs, out.bytes)
    };
    let last = r.start + Duration::from_millis(r.last_activity_ms.load(Relaxed));
    // The list is copied only when it is asked for; otherwise only counted.
    let (count, mut list) = {
        let held = r.subs.lock();
        let list: Vec<_> = if subs || detail {
            held.values().cloned().collect()
        } else {
            Vec::new()
        };
        (held.len(), list)
    };
    list.sort_by(|a, b| sid_order(&a.sid, &b.sid));
    let mut ri = RouteInfo {
        rid: r.cid,
        remote_id: meta.remote_id,
        did_solicit: meta.did_solicit,
        is_configured: meta.is_configured,
        ip: r.addr.ip().to_string(),
        port: r.addr.port(),
        start: GoTime(r.start),
        last_activity: GoTime(last),
        rtt: rtt(meta.rtt),
        uptime: uptime(since(now, r.start)),
        idle: uptime(since(now, last)),
        pending_size: 0,
        in_msgs: r.in_stats.msgs.load(Relaxed),
        out_msgs,
        in_bytes: r.in_stats.bytes.load(Relaxed),
        out_bytes,
        subscriptions: count as u32,
        subscriptions_list: Vec::new(),
        subscriptions_list_detail: Vec::new(),
    };
    if detail {
        ri.subscriptions_list_detail = list.iter().map(|s| SubDetail::new(s, "")).collect();
    } else if subs {
        ri.subscriptions_list = list
            .iter()
            .map(|s| String::from_utf8_lossy(&s.subject).into_owned())
            .collect();
    }
    ri
}
