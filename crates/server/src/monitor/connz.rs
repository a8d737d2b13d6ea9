//! `/connz`: client connections, open and recently closed (Go's `Connz`/`ConnInfo`).
//!
//! Parameters: `sort`, `auth`, `subs` (`1`/`true` or `detail`), `offset`, `limit`
//! (default 1024), `cid`, `state` (`open`, `closed`, `any`/`all`), `user`, `acc`,
//! `mqtt_client`. Routes are never listed. Go 2.9.10's quirks are kept on purpose, since
//! scripts written against it see them:
//! * `total` counts every connection in the requested state, even when `cid` or `user`
//!   selects fewer;
//! * with `cid`, `state=any` searches only the closed connections;
//! * `sort=uptime` and `sort=idle` have Go's odd orders (see `sort_opts`);
//! * an unknown `acc` answers an empty document with `"server_id": ""` and
//!   `"connections": null`.
//!
//! A closed connection reports its uptime and idle time as of when it closed.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::format::{rtt, since, uptime, GoTime};
use super::query::{ConnState, Query};
use super::sort_opts::{sort_keys, SortOpt};
use super::{page, sid_order, Endpoint, Out, SubDetail, GLOBAL_ACCOUNT};
use crate::conn::Conn;
use crate::server::{ClosedConn, Server};

/// Default page size (Go's `DefaultConnListSize`).
const DEFAULT_LIMIT: usize = 1024;

#[derive(Serialize)]
pub(super) struct Connz {
    server_id: String,
    now: GoTime,
    num_connections: usize,
    total: usize,
    offset: usize,
    limit: usize,
    connections: Option<Vec<ConnInfo>>,
}

#[derive(Serialize, Debug)]
pub(super) struct ConnInfo {
    pub(super) cid: u64,
    pub(super) kind: &'static str,
    #[serde(rename = "type")]
    pub(super) typ: &'static str,
    pub(super) ip: String,
    pub(super) port: u16,
    pub(super) start: GoTime,
    pub(super) last_activity: GoTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) stop: Option<GoTime>,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub(super) reason: &'static str,
    pub(super) rtt: String,
    pub(super) uptime: String,
    pub(super) idle: String,
    pub(super) pending_bytes: usize,
    pub(super) in_msgs: u64,
    pub(super) out_msgs: u64,
    pub(super) in_bytes: u64,
    pub(super) out_bytes: u64,
    pub(super) subscriptions: u32,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(super) name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(super) lang: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(super) version: String,
    /// Go's `tls_version`/`tls_cipher_suite` for TLS connections (open ones: the closed
    /// ring keeps no TLS state).
    #[serde(skip_serializing_if = "str::is_empty")]
    pub(super) tls_version: &'static str,
    #[serde(rename = "tls_cipher_suite", skip_serializing_if = "str::is_empty")]
    pub(super) tls_cipher: &'static str,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(super) authorized_user: String,
    /// With `auth`, the account of a client outside `$G` (Go leaves it out for `$G`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(super) account: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) subscriptions_list: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) subscriptions_list_detail: Vec<SubDetail>,
}

/// The decoded request.
#[derive(Debug)]
pub(super) struct ConnzOptions {
    sort: String,
    auth: bool,
    subs: bool,
    detail: bool,
    offset: i64,
    limit: i64,
    cid: u64,
    state: ConnState,
    user: String,
    acc: String,
    mqtt_client: String,
}

impl ConnzOptions {
    /// Decode in Go's order, so the first bad parameter is the one reported.
    pub(super) fn from_query(q: &Query) -> Result<ConnzOptions, String> {
        let sort = q.get("sort").to_string();
        let auth = q.bool("auth")?;
        let (subs, detail) = q.subs()?;
        Ok(ConnzOptions {
            sort,
            auth,
            subs,
            detail,
            offset: q.int("offset")?,
            limit: q.int("limit")?,
            cid: q.uint64("cid")?,
            state: q.state()?,
            user: q.get("user").to_string(),
            acc: q.get("acc").to_string(),
            mqtt_client: q.get("mqtt_client").to_string(),
        })
    }
}

pub(super) fn handle<O: Out>(srv: &Server, q: &Query, out: &O) -> O::Doc {
    let opts = match ConnzOptions::from_query(q) {
        Ok(o) => o,
        Err(e) => return out.bad(e),
    };
    out.count(srv, Endpoint::Connz);
    match connz(srv, &opts) {
        Ok(c) => out.ok(&c),
        Err(e) => out.bad(e),
    }
}

pub(super) fn connz(srv: &Server, o: &ConnzOptions) -> Result<Connz, String> {
    let sort =
        SortOpt::parse(&o.sort).ok_or_else(|| format!("invalid sorting option: {}", o.sort))?;
    if sort == SortOpt::Stop && o.state != ConnState::Closed {
        return Err("sort by stop only valid on closed connections".into());
    }
    if sort == SortOpt::Reason && o.state != ConnState::Closed {
        return Err("sort by reason only valid on closed connections".into());
    }
    let offset = usize::try_from(o.offset).unwrap_or(0);
    let mut limit = usize::try_from(o.limit)
        .ok()
        .filter(|&l| l > 0)
        .unwrap_or(DEFAULT_LIMIT);
    if o.cid > 0 {
        limit = 1;
    }
    let now = SystemTime::now();
    let mut c = Connz {
        server_id: String::new(),
        now: GoTime(now),
        num_connections: 0,
        total: 0,
        offset,
        limit,
        connections: None,
    };
    // An account that does not exist has no connections.
    if !o.acc.is_empty() && srv.accounts.lookup(o.acc.as_bytes()).is_none() {
        return Ok(c);
    }
    c.server_id = srv.id.clone();

    let want_open = matches!(o.state, ConnState::Open | ConnState::All);
    let want_closed = matches!(o.state, ConnState::Closed | ConnState::All);
    let mut open: Vec<Arc<Conn>> = Vec::new();
    let mut closed: Vec<Arc<ClosedConn>> = Vec::new();
    {
        let clients = srv.clients.lock();
        if want_open {
            c.total += clients.len();
            if o.cid == 0 {
                open = clients.values().cloned().collect();
            } else if o.state == ConnState::Open {
                open.extend(clients.get(&o.cid).cloned());
            }
        }
    }
    if want_closed {
        let ring = srv.closed.lock();
        c.total += ring.len();
        if o.cid == 0 {
            closed = ring.iter().cloned().collect();
        } else {
            closed.extend(ring.iter().find(|cc| cc.cid == o.cid).cloned());
        }
    }

    let keep_user = |user: &str, acc: &str| {
        (o.user.is_empty() || user == o.user)
            && (o.acc.is_empty() || acc == o.acc)
            && o.mqtt_client.is_empty()
    };
    let keep = |conn: &Conn| {
        let m = conn.meta.lock();
        // Go filters open connections on the CONNECT's user name: an nkey user (shown
        // by its key) is not found by it. Closed ones are filtered on what they show.
        let nkey = m.auth.as_ref().is_some_and(|a| !a.nkey.is_empty());
        keep_user(
            if nkey { "" } else { &m.user },
            m.account.as_ref().map_or(GLOBAL_ACCOUNT, |a| &*a.name),
        )
    };
    if !o.acc.is_empty() && o.cid == 0 {
        // As Go: with `acc`, `total` counts that account's connections only.
        let in_acc = |conn: &Conn| {
            conn.meta
                .lock()
                .account
                .as_ref()
                .map_or(GLOBAL_ACCOUNT, |a| &*a.name)
                == o.acc
        };
        c.total = open.iter().filter(|conn| in_acc(conn)).count()
            + closed.iter().filter(|cc| *cc.account == *o.acc).count();
    }
    // Sort and page on small keys (counters and times only); the full entries, with
    // names and subscription lists, are built for the page alone.
    let mut keys: Vec<SortKey> = open
        .iter()
        .enumerate()
        .filter(|(_, conn)| keep(conn))
        .map(|(i, conn)| open_key(conn, Src::Open(i)))
        .chain(
            closed
                .iter()
                .enumerate()
                .filter(|(_, cc)| keep_user(closed_user(cc), &cc.account))
                .map(|(i, cc)| closed_key(cc, Src::Closed(i))),
        )
        .collect();
    sort_keys(&mut keys, sort, now);
    let range = page(keys.len(), offset, limit);
    let conns: Vec<ConnInfo> = keys[range]
        .iter()
        .map(|k| match k.src {
            Src::Open(i) => open_info(&open[i], now, o),
            Src::Closed(i) => closed_info(&closed[i], o),
        })
        .collect();
    c.num_connections = conns.len();
    c.connections = Some(conns);
    Ok(c)
}

/// The user a closed connection is remembered as: Go keeps the CONNECT's user name, which
/// an nkey user has none of.
fn closed_user(cc: &ClosedConn) -> &str {
    if cc.nkey {
        ""
    } else {
        &cc.user
    }
}

#[cfg(test)]
impl Connz {
    pub(super) fn num_connections_for_test(&self) -> usize {
        self.num_connections
    }
}

/// Where a sort key's connection is: an index into the open or the closed list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Src {
    Open(usize),
    Closed(usize),
}

/// What `/connz` sorts on, read without building the entry (no strings are copied).
#[derive(Debug, Clone)]
pub(super) struct SortKey {
    pub(super) src: Src,
    pub(super) cid: u64,
    pub(super) start: SystemTime,
    pub(super) last_activity: SystemTime,
    pub(super) stop: Option<SystemTime>,
    pub(super) reason: &'static str,
    pub(super) subscriptions: u32,
    pub(super) pending_bytes: usize,
    pub(super) in_msgs: u64,
    pub(super) out_msgs: u64,
    pub(super) in_bytes: u64,
    pub(super) out_bytes: u64,
}

fn base_key(conn: &Conn, src: Src) -> SortKey {
    let (out_msgs, out_bytes, pending) = {
        let out = conn.out.lock();
        (out.msgs, out.bytes, out.pending)
    };
    SortKey {
        src,
        cid: conn.cid,
        start: conn.start,
        last_activity: last_activity(conn),
        stop: None,
        reason: "",
        subscriptions: 0,
        pending_bytes: pending,
        in_msgs: conn.in_stats.msgs.load(Relaxed),
        out_msgs,
        in_bytes: conn.in_stats.bytes.load(Relaxed),
        out_bytes,
    }
}

fn open_key(conn: &Conn, src: Src) -> SortKey {
    let mut k = base_key(conn, src);
    k.subscriptions = conn.subs.lock().len() as u32;
    k
}

fn closed_key(cc: &ClosedConn, src: Src) -> SortKey {
    SortKey {
        src,
        cid: cc.cid,
        start: cc.start,
        last_activity: cc.last_activity,
        stop: Some(cc.stop),
        reason: cc.reason,
        subscriptions: cc.subs.len() as u32,
        // The writer is gone; whatever it did not write will never be.
        pending_bytes: 0,
        in_msgs: cc.in_msgs,
        out_msgs: cc.out_msgs,
        in_bytes: cc.in_bytes,
        out_bytes: cc.out_bytes,
    }
}

/// The parts common to open and closed connections; `now` is when uptime and idle end.
fn base_info(conn: &Conn, now: SystemTime, o: &ConnzOptions) -> ConnInfo {
    super::built_one();
    let meta = conn.meta.lock().clone();
    let (out_msgs, out_bytes, pending) = {
        let out = conn.out.lock();
        (out.msgs, out.bytes, out.pending)
    };
    let last = last_activity(conn);
    ConnInfo {
        cid: conn.cid,
        kind: "Client",
        typ: if meta.websocket { "websocket" } else { "nats" },
        ip: conn.addr.ip().to_string(),
        port: conn.addr.port(),
        start: GoTime(conn.start),
        last_activity: GoTime(last),
        stop: None,
        reason: "",
        rtt: rtt(meta.rtt),
        uptime: uptime(since(now, conn.start)),
        idle: uptime(since(now, last)),
        pending_bytes: pending,
        in_msgs: conn.in_stats.msgs.load(Relaxed),
        out_msgs,
        in_bytes: conn.in_stats.bytes.load(Relaxed),
        out_bytes,
        subscriptions: 0,
        name: meta.name,
        lang: meta.lang,
        version: meta.version,
        tls_version: meta.tls.as_ref().map_or("", |t| t.version),
        tls_cipher: meta.tls.as_ref().map_or("", |t| t.cipher),
        account: match &meta.account {
            Some(a) if o.auth && !a.is_global() => a.name.to_string(),
            _ => String::new(),
        },
        authorized_user: if o.auth { meta.user } else { String::new() },
        subscriptions_list: Vec::new(),
        subscriptions_list_detail: Vec::new(),
    }
}

fn open_info(conn: &Conn, now: SystemTime, o: &ConnzOptions) -> ConnInfo {
    let mut ci = base_info(conn, now, o);
    let mut subs: Vec<_> = conn.subs.lock().values().cloned().collect();
    ci.subscriptions = subs.len() as u32;
    subs.sort_by(|a, b| sid_order(&a.sid, &b.sid));
    if o.detail {
        ci.subscriptions_list_detail = subs.iter().map(|s| SubDetail::new(s, "")).collect();
    } else if o.subs {
        ci.subscriptions_list = subs
            .iter()
            .map(|s| String::from_utf8_lossy(&s.subject).into_owned())
            .collect();
    }
    ci
}

/// A closed connection as it was when it closed, with the subscriptions it had.
fn closed_info(cc: &ClosedConn, o: &ConnzOptions) -> ConnInfo {
    super::built_one();
    let mut ci = ConnInfo {
        cid: cc.cid,
        kind: "Client",
        typ: if cc.websocket { "websocket" } else { "nats" },
        ip: cc.addr.ip().to_string(),
        port: cc.addr.port(),
        start: GoTime(cc.start),
        last_activity: GoTime(cc.last_activity),
        stop: Some(GoTime(cc.stop)),
        reason: cc.reason,
        rtt: rtt(cc.rtt),
        uptime: uptime(since(cc.stop, cc.start)),
        idle: uptime(since(cc.stop, cc.last_activity)),
        pending_bytes: 0,
        in_msgs: cc.in_msgs,
        out_msgs: cc.out_msgs,
        in_bytes: cc.in_bytes,
        out_bytes: cc.out_bytes,
        subscriptions: cc.subs.len() as u32,
        name: cc.name.to_string(),
        lang: cc.lang.to_string(),
        version: cc.version.to_string(),
        tls_version: "",
        tls_cipher: "",
        authorized_user: if o.auth {
            closed_user(cc).to_string()
        } else {
            String::new()
        },
        account: if o.auth && &*cc.account != GLOBAL_ACCOUNT {
            cc.account.to_string()
        } else {
            String::new()
        },
        subscriptions_list: Vec::new(),
        subscriptions_list_detail: Vec::new(),
    };
    if o.detail {
        ci.subscriptions_list_detail = cc
            .subs
            .iter()
            .map(|s| SubDetail::closed(s, cc.cid))
            .collect();
    } else if o.subs {
        ci.subscriptions_list = cc.subs.iter().map(|s| s.subject.to_string()).collect();
    }
    ci
}

/// When the connection last received anything: the reader keeps milliseconds since the
/// connection's own epoch, which was taken together with `start`.
fn last_activity(conn: &Conn) -> SystemTime {
    conn.start + Duration::from_millis(conn.last_activity_ms.load(Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_errors_in_go_order() {
        let q = Query::parse(Some("auth=x&subs=y"));
        assert!(ConnzOptions::from_query(&q).unwrap_err().contains("'auth'"));
        let q = Query::parse(Some("limit=x&cid=y"));
        assert!(ConnzOptions::from_query(&q)
            .unwrap_err()
            .contains("'limit'"));
        let q = Query::parse(Some(
            "sort=foo&state=closed&subs=detail&offset=2&limit=3&cid=4",
        ));
        let o = ConnzOptions::from_query(&q).unwrap();
        assert_eq!((o.detail, o.offset, o.limit, o.cid), (true, 2, 3, 4));
        assert_eq!(o.state, ConnState::Closed);
    }
}
