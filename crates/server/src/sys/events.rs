//! The JSON of system events and replies, in nats-server 2.9.10's shapes (`ServerInfo`,
//! `ServerStatsMsg`, `ConnectEventMsg`, `DisconnectEventMsg`): tools decode them by key.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::System;
use crate::account::Account;
use crate::conn::Conn;
use crate::monitor::{to_json_compact, GoTime};
use crate::options::NATS_VERSION;
use crate::server::{ClosedConn, Server};

/// Go's `ServerInfo`: who sends an event.
#[derive(Serialize)]
pub(super) struct ServerInfo {
    name: String,
    host: String,
    id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    cluster: String,
    ver: &'static str,
    seq: u64,
    jetstream: bool,
    time: GoTime,
}

impl ServerInfo {
    pub(super) fn of(srv: &Server, seq: u64) -> ServerInfo {
        let opts = srv.opts();
        ServerInfo {
            name: srv.name.clone(),
            host: opts.host.clone(),
            id: srv.id.clone(),
            cluster: if opts.cluster.port != 0 {
                srv.cluster_name().name
            } else {
                String::new()
            },
            ver: NATS_VERSION,
            seq,
            jetstream: false,
            time: GoTime(SystemTime::now()),
        }
    }
}

/// `{"server": …}` alone (the SHUTDOWN event's body is a bare `ServerInfo`).
pub(super) fn server_info_json(srv: &Server, seq: u64) -> Vec<u8> {
    to_json_compact(&ServerInfo::of(srv, seq))
}

#[derive(Serialize, Default)]
struct DataStats {
    msgs: u64,
    bytes: u64,
}

#[derive(Serialize)]
struct RouteStat {
    rid: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    name: String,
    sent: DataStats,
    received: DataStats,
    pending: usize,
}

/// Go's `ServerStats`.
#[derive(Serialize)]
struct ServerStats {
    start: GoTime,
    mem: u64,
    cores: usize,
    cpu: f64,
    connections: usize,
    total_connections: u64,
    active_accounts: usize,
    subscriptions: u32,
    sent: DataStats,
    received: DataStats,
    slow_consumers: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    routes: Vec<RouteStat>,
    active_servers: usize,
}

#[derive(Serialize)]
struct ServerStatsMsg {
    server: ServerInfo,
    statsz: ServerStats,
}

fn route_stat(r: &Conn) -> RouteStat {
    let (msgs, bytes) = {
        let out = r.out.lock();
        (out.msgs, out.bytes)
    };
    RouteStat {
        rid: r.cid,
        name: r.meta.lock().remote_name.clone(),
        sent: DataStats { msgs, bytes },
        received: DataStats {
            msgs: r.in_stats.msgs.load(Relaxed),
            bytes: r.in_stats.bytes.load(Relaxed),
        },
        pending: r.pending_bytes(),
    }
}

/// A STATSZ message (heartbeat, or the answer to `$SYS.REQ.SERVER.PING`).
pub(super) fn statsz_json(srv: &Server, sys: &System, seq: u64) -> Vec<u8> {
    let clients: Vec<Arc<Conn>> = srv.clients.lock().values().cloned().collect();
    let mut active: Vec<*const crate::account::Account> = clients
        .iter()
        .filter_map(|c| c.meta.lock().account.as_ref().map(Arc::as_ptr))
        .collect();
    active.sort();
    active.dedup();
    let mut routes = srv.routes.read().registered();
    routes.sort_by_key(|r| r.cid);
    let st = &srv.stats;
    let msg = ServerStatsMsg {
        server: ServerInfo::of(srv, seq),
        statsz: ServerStats {
            start: GoTime(srv.start),
            mem: crate::monitor::proc_stats_rss(),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu: crate::monitor::proc_stats_cpu(),
            connections: clients.len(),
            total_connections: st.total_connections.load(Relaxed),
            active_accounts: active.len(),
            subscriptions: srv.accounts.list().iter().map(|a| a.sl.count()).sum(),
            sent: DataStats {
                msgs: st.out_msgs.load(Relaxed),
                bytes: st.out_bytes.load(Relaxed),
            },
            received: DataStats {
                msgs: st.in_msgs.load(Relaxed),
                bytes: st.in_bytes.load(Relaxed),
            },
            slow_consumers: st.slow_consumers.load(Relaxed),
            routes: routes.iter().map(|r| route_stat(r)).collect(),
            active_servers: sys.active_servers(),
        },
    };
    to_json_compact(&msg)
}

/// What a CONNECT advisory says of a client, taken when its CONNECT was accepted.
pub struct ClientFacts {
    pub account: Arc<str>,
    pub start: SystemTime,
    pub host: String,
    pub cid: u64,
    pub user: String,
    pub name: String,
    pub lang: String,
    pub version: String,
}

impl ClientFacts {
    pub fn of(conn: &Conn) -> Option<ClientFacts> {
        let m = conn.meta.lock();
        let account = m.account.as_ref()?.name.clone();
        Some(ClientFacts {
            account,
            start: conn.start,
            host: conn.addr.ip().to_string(),
            cid: conn.cid,
            user: m.user.clone(),
            name: m.name.clone(),
            lang: m.lang.clone(),
            version: m.version.clone(),
        })
    }
}

/// Go's `ClientInfo`, with the fields a core-NATS client can have.
#[derive(Serialize)]
struct ClientInfo<'a> {
    start: GoTime,
    host: &'a str,
    id: u64,
    acc: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    user: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    lang: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    ver: &'a str,
    /// Nanoseconds, as Go encodes a `time.Duration`.
    #[serde(skip_serializing_if = "is_zero")]
    rtt: u64,
    server: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    cluster: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    stop: Option<GoTime>,
    kind: &'static str,
    client_type: &'static str,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

#[derive(Serialize)]
struct ConnectEventMsg<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: String,
    timestamp: GoTime,
    server: ServerInfo,
    client: ClientInfo<'a>,
}

#[derive(Serialize)]
struct DisconnectEventMsg<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: String,
    timestamp: GoTime,
    server: ServerInfo,
    client: ClientInfo<'a>,
    sent: DataStats,
    received: DataStats,
    reason: &'a str,
}

fn cluster_of(srv: &Server) -> String {
    if srv.opts().cluster.port != 0 {
        srv.cluster_name().name
    } else {
        String::new()
    }
}

pub(super) fn connect_json(srv: &Server, seq: u64, f: &ClientFacts) -> Vec<u8> {
    let cluster = cluster_of(srv);
    to_json_compact(&ConnectEventMsg {
        kind: "io.nats.server.advisory.v1.client_connect",
        id: crate::ids::nuid(),
        timestamp: GoTime(SystemTime::now()),
        server: ServerInfo::of(srv, seq),
        client: ClientInfo {
            start: GoTime(f.start),
            host: &f.host,
            id: f.cid,
            acc: &f.account,
            user: &f.user,
            name: &f.name,
            lang: &f.lang,
            ver: &f.version,
            rtt: 0,
            server: &srv.name,
            cluster: &cluster,
            stop: None,
            kind: "Client",
            client_type: "nats",
        },
    })
}

pub(super) fn disconnect_json(srv: &Server, seq: u64, c: &ClosedConn) -> Vec<u8> {
    let cluster = cluster_of(srv);
    let host = c.addr.ip().to_string();
    to_json_compact(&DisconnectEventMsg {
        kind: "io.nats.server.advisory.v1.client_disconnect",
        id: crate::ids::nuid(),
        timestamp: GoTime(SystemTime::now()),
        server: ServerInfo::of(srv, seq),
        client: ClientInfo {
            start: GoTime(c.start),
            host: &host,
            id: c.cid,
            acc: &c.account,
            user: &c.user,
            name: &c.name,
            lang: &c.lang,
            ver: &c.version,
            rtt: c.rtt.map_or(0, |d: Duration| d.as_nanos() as u64),
            server: &srv.name,
            cluster: &cluster,
            stop: Some(GoTime(c.stop)),
            kind: "Client",
            client_type: "nats",
        },
        // The client's point of view, as Go reports it: `sent` is what the client
        // published, `received` what was delivered to it.
        sent: DataStats {
            msgs: c.in_msgs,
            bytes: c.in_bytes,
        },
        received: DataStats {
            msgs: c.out_msgs,
            bytes: c.out_bytes,
        },
        reason: c.reason,
    })
}

#[derive(Serialize)]
struct AccountNumConns<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a str,
    timestamp: GoTime,
    server: ServerInfo,
    acc: &'a str,
    conns: usize,
    leafnodes: usize,
    total_conns: usize,
    sent: DataStats,
    received: DataStats,
    slow_consumers: u64,
}

/// Go's `AccountNumConns` (`io.nats.server.advisory.v1.account_connections`): one
/// account's local connections and traffic. `event` is the event's id and time, shared
/// by the copies sent on both subjects.
pub(super) fn account_conns_json(
    srv: &Server,
    seq: u64,
    event: (&str, SystemTime),
    acc: &Account,
    conns: usize,
) -> Vec<u8> {
    to_json_compact(&AccountNumConns {
        kind: "io.nats.server.advisory.v1.account_connections",
        id: event.0,
        timestamp: GoTime(event.1),
        server: ServerInfo::of(srv, seq),
        acc: &acc.name,
        conns,
        leafnodes: 0,
        total_conns: conns,
        sent: DataStats {
            msgs: acc.out_msgs.load(Relaxed),
            bytes: acc.out_bytes.load(Relaxed),
        },
        received: DataStats {
            msgs: acc.in_msgs.load(Relaxed),
            bytes: acc.in_bytes.load(Relaxed),
        },
        slow_consumers: 0,
    })
}
