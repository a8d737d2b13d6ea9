//! `/varz`: the server's identity, configuration and counters (Go's `Varz`).
//!
//! Field order and omit-when-empty rules follow Go's struct; durations are integer
//! nanoseconds, `auth_timeout`/`tls_timeout` float seconds, times RFC 3339. The nested
//! blocks for features we do not have (gateway, leaf, mqtt, websocket, jetstream) are
//! empty objects, exactly what Go prints when they are not configured. `in_*`/`out_*`
//! count client and route traffic, as Go's do.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering::Relaxed;
use std::time::SystemTime;

use serde::Serialize;

use super::format::{since, uptime, GoTime};
use super::query::Query;
use super::{proc_stats, Endpoint, Out};
use crate::options::NATS_VERSION;
use crate::server::Server;

/// Go's default `tls_timeout` (seconds), shown when no `tls {}` block sets one.
const TLS_TIMEOUT: f64 = crate::tls::DEFAULT_TLS_TIMEOUT;

#[derive(Serialize)]
pub(super) struct Varz {
    server_id: String,
    server_name: String,
    version: String,
    proto: i32,
    go: String,
    host: String,
    port: u16,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    auth_required: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    tls_required: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    tls_verify: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    connect_urls: Vec<String>,
    max_connections: i64,
    #[serde(skip_serializing_if = "is_zero")]
    max_subscriptions: i64,
    ping_interval: u64,
    ping_max: i64,
    http_host: String,
    http_port: i32,
    http_base_path: String,
    https_port: i32,
    auth_timeout: f64,
    max_control_line: i64,
    max_payload: i64,
    max_pending: i64,
    cluster: ClusterVarz,
    gateway: Empty,
    leaf: Empty,
    mqtt: Empty,
    websocket: WebsocketVarz,
    jetstream: super::jsz::JsVarz,
    tls_timeout: f64,
    write_deadline: u64,
    start: GoTime,
    now: GoTime,
    uptime: String,
    mem: u64,
    cores: usize,
    gomaxprocs: usize,
    cpu: f64,
    connections: usize,
    total_connections: u64,
    routes: usize,
    remotes: usize,
    leafnodes: usize,
    in_msgs: u64,
    out_msgs: u64,
    in_bytes: u64,
    out_bytes: u64,
    slow_consumers: u64,
    subscriptions: u32,
    http_req_stats: BTreeMap<String, u64>,
    config_load_time: GoTime,
    #[serde(skip_serializing_if = "String::is_empty")]
    system_account: String,
}

/// Go's `ClusterOptsVarz`: every field is omitted when empty, so a server without a
/// cluster shows `"cluster": {}`.
#[derive(Serialize, Default)]
struct ClusterVarz {
    #[serde(skip_serializing_if = "String::is_empty")]
    name: String,
    #[serde(rename = "addr", skip_serializing_if = "String::is_empty")]
    host: String,
    #[serde(rename = "cluster_port", skip_serializing_if = "is_zero_u16")]
    port: u16,
    #[serde(skip_serializing_if = "is_zero_f64")]
    auth_timeout: f64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    urls: Vec<String>,
    #[serde(skip_serializing_if = "is_zero_f64")]
    tls_timeout: f64,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    tls_required: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    tls_verify: bool,
}

/// Go's `WebsocketOptsVarz`: every field omitted when empty (`{}` without a listener).
#[derive(Serialize, Default)]
struct WebsocketVarz {
    #[serde(skip_serializing_if = "String::is_empty")]
    host: String,
    #[serde(skip_serializing_if = "is_zero_u16")]
    port: u16,
    #[serde(skip_serializing_if = "String::is_empty")]
    advertise: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    no_auth_user: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    jwt_cookie: String,
    #[serde(skip_serializing_if = "is_zero_u64")]
    handshake_timeout: u64,
    #[serde(skip_serializing_if = "is_zero_f64")]
    auth_timeout: f64,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    no_tls: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    tls_map: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tls_pinned_certs: Vec<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    same_origin: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    allowed_origins: Vec<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    compression: bool,
}

fn is_zero_u64(v: &u64) -> bool {
    *v == 0
}

fn websocket_varz(srv: &Server, o: &crate::options::Options) -> WebsocketVarz {
    let w = &o.websocket;
    if w.port == 0 {
        return WebsocketVarz::default();
    }
    WebsocketVarz {
        host: w.host.clone(),
        port: srv.websocket_addr().map_or(0, |a| a.port()),
        advertise: w.advertise.clone(),
        no_auth_user: w.no_auth_user.clone(),
        jwt_cookie: w.jwt_cookie.clone(),
        handshake_timeout: w.handshake_timeout.as_nanos() as u64,
        auth_timeout: w.auth_timeout,
        no_tls: w.no_tls,
        tls_map: w.tls.as_ref().is_some_and(|t| t.map),
        tls_pinned_certs: w
            .tls
            .as_ref()
            .map(|t| t.pinned_certs.clone())
            .unwrap_or_default(),
        same_origin: w.same_origin,
        allowed_origins: w.allowed_origins.clone(),
        compression: w.compression,
    }
}

/// A feature block we do not implement: `{}`.
#[derive(Serialize, Default)]
struct Empty {}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

fn is_zero_u16(v: &u16) -> bool {
    *v == 0
}

fn is_zero_f64(v: &f64) -> bool {
    *v == 0.0
}

pub(super) fn handle<O: Out>(srv: &Server, _: &Query, out: &O) -> O::Doc {
    out.count(srv, Endpoint::Varz);
    out.ok(&varz(srv))
}

pub(super) fn varz(srv: &Server) -> Varz {
    let opts = srv.opts();
    // The client INFO already resolves advertise addresses, connect URLs and auth.
    let info = srv.client_info();
    let addrs = srv.addrs.read().clone();
    let now = SystemTime::now();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cluster = if srv.is_clustered() {
        let host = if opts.cluster.host.is_empty() {
            crate::options::DEFAULT_HOST.to_string()
        } else {
            opts.cluster.host.clone()
        };
        ClusterVarz {
            name: srv.cluster_name().name,
            host,
            port: addrs.cluster.map_or(0, |a| a.port()),
            auth_timeout: opts.cluster.auth_timeout,
            // Go lists the configured routes as `host:port`, credentials dropped.
            urls: opts
                .cluster
                .routes
                .iter()
                .map(|u| match (u.host_str(), u.port()) {
                    (Some(h), Some(p)) => format!("{h}:{p}"),
                    (Some(h), None) => h.to_string(),
                    _ => String::new(),
                })
                .collect(),
            tls_timeout: opts.cluster.tls.as_ref().map_or(TLS_TIMEOUT, |t| t.timeout),
            tls_required: opts.cluster.tls.is_some(),
            tls_verify: opts.cluster.tls.is_some(),
        }
    } else {
        ClusterVarz::default()
    };
    let (routes, remotes) = {
        let r = srv.routes.read();
        (r.by_cid.len(), r.by_id.len())
    };
    let st = &srv.stats;
    Varz {
        server_id: srv.id.clone(),
        server_name: srv.name.clone(),
        version: NATS_VERSION.to_string(),
        proto: 1,
        go: info.go,
        host: info.host,
        port: info.port,
        auth_required: info.auth_required,
        tls_required: info.tls_required,
        tls_verify: info.tls_verify,
        connect_urls: info.connect_urls,
        max_connections: opts.max_connections,
        max_subscriptions: opts.max_subs,
        ping_interval: opts.ping_interval.as_nanos() as u64,
        ping_max: opts.ping_max,
        http_host: if opts.http_host.is_empty() {
            opts.host.clone()
        } else {
            opts.http_host.clone()
        },
        // Go reports the configured value, so `-m -1` shows -1.
        http_port: opts.http_port,
        http_base_path: opts.http_base_path.clone(),
        https_port: opts.https_port,
        auth_timeout: opts.auth_timeout,
        max_control_line: opts.max_control_line,
        max_payload: opts.max_payload,
        max_pending: opts.max_pending,
        cluster,
        gateway: Empty {},
        leaf: Empty {},
        mqtt: Empty {},
        websocket: websocket_varz(srv, &opts),
        jetstream: super::jsz::varz_block(srv),
        tls_timeout: opts.tls.as_ref().map_or(TLS_TIMEOUT, |t| t.timeout),
        write_deadline: opts.write_deadline.as_nanos() as u64,
        start: GoTime(srv.start),
        now: GoTime(now),
        uptime: uptime(since(now, srv.start)),
        mem: proc_stats::rss(),
        cores,
        gomaxprocs: cores,
        cpu: proc_stats::cpu(),
        connections: srv.clients.lock().len(),
        total_connections: st.total_connections.load(Relaxed),
        routes,
        remotes,
        leafnodes: 0,
        in_msgs: st.in_msgs.load(Relaxed),
        out_msgs: st.out_msgs.load(Relaxed),
        in_bytes: st.in_bytes.load(Relaxed),
        out_bytes: st.out_bytes.load(Relaxed),
        slow_consumers: st.slow_consumers.load(Relaxed),
        subscriptions: srv.accounts.list().iter().map(|a| a.sl.count()).sum(),
        http_req_stats: srv.http_req_stats.lock().clone(),
        config_load_time: GoTime(*srv.config_load_time.read()),
        system_account: srv
            .sys
            .get()
            .map(|s| s.account.name.to_string())
            .unwrap_or_default(),
    }
}
