//! Service latency tracking, as nats-server 2.9.10 does it for a service export with
//! `latency: {sampling, subject}` (Go's `serviceLatency`, `shouldSample`,
//! `sendTrackingLatency`).
//!
//! Only requests that go through a service import are looked at, so the publish path of
//! accounts without imports pays nothing. When a request is sampled
//! ([`should_sample`]), its response mapping (`imports::Responses`) carries a
//! [`Track`]: the requester, when the request was processed, and the tracing headers
//! that asked for it. The first response builds Go's `ServiceLatency` document
//! (`io.nats.server.metric.v1.service_latency`, [`metric_json`]) and publishes it on the
//! export's latency subject in the exporting account. A sampled request without a reply
//! gives a `400 Bad Request` metric, one nobody in the exporter could take `503 Service
//! Unavailable`, and one whose response never came within the response threshold `504
//! Service Timeout`, as in Go.
//!
//! The times follow Go's arithmetic: `service` is the time from the request to the
//! response minus the responder's RTT; `total` is the requester's RTT plus that whole
//! time, plus `system` (the time spent after the response arrived) when the responder's
//! RTT is known. A response that arrived over a route has no responder details here (Go
//! waits for the responder's server to send its half of the measurement; we do not).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

use crate::conn::Conn;
use crate::monitor::{to_json_compact, GoTime};
use crate::server::Server;

/// Tracing headers, with Go's canonical key spelling, sorted as Go encodes a map.
pub type Header = BTreeMap<String, Vec<String>>;

/// A sampled request waiting for its response.
pub struct Track {
    pub requester: Arc<Conn>,
    /// The importer's `share`: the requester's details go into the metric.
    pub share: bool,
    /// The export's latency subject.
    pub subject: Arc<str>,
    /// When the request was processed.
    pub ts: Instant,
    pub wall: SystemTime,
    /// The headers that made it sampled (`sampling: headers`).
    pub header: Option<Header>,
}

/// Go's `ClientInfo`, the fields a core-NATS client has.
#[derive(Serialize, Default)]
pub(crate) struct ClientInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    start: Option<GoTime>,
    #[serde(skip_serializing_if = "String::is_empty")]
    host: String,
    #[serde(skip_serializing_if = "is_zero")]
    id: u64,
    acc: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    user: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    lang: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    ver: String,
    #[serde(skip_serializing_if = "is_zero")]
    rtt: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    server: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    cluster: String,
    #[serde(skip_serializing_if = "str::is_empty")]
    kind: &'static str,
    #[serde(skip_serializing_if = "str::is_empty")]
    client_type: &'static str,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

fn nanos(d: Duration) -> u64 {
    d.as_nanos().min(u64::MAX as u128) as u64
}

fn rtt_of(c: &Conn) -> Duration {
    c.meta.lock().rtt.unwrap_or_default()
}

/// What Go puts in a request entering the system account through an import it does not
/// share (`getClientInfo(false)` plus the server and cluster): the client of a
/// JetStream API audit. `c` is `None` for a request that came over a route.
pub(crate) fn import_client_info(srv: &Server, c: Option<&Conn>, account: &str) -> ClientInfo {
    let mut ci = match c {
        Some(c) => client_info(srv, c, false),
        None => ClientInfo {
            acc: account.to_string(),
            ..ClientInfo::default()
        },
    };
    if ci.acc.is_empty() {
        ci.acc = account.to_string();
    }
    ci.server = srv.name.clone();
    if srv.opts().cluster.port != 0 {
        ci.cluster = srv.cluster_name().name;
    }
    ci
}

/// Go's `getClientInfo(detailed)`: account and RTT always, the rest when `detailed`.
fn client_info(srv: &Server, c: &Conn, detailed: bool) -> ClientInfo {
    let m = c.meta.lock();
    let acc = m
        .account
        .as_ref()
        .map(|a| a.name.to_string())
        .unwrap_or_default();
    let rtt = nanos(m.rtt.unwrap_or_default());
    if !detailed {
        return ClientInfo {
            acc,
            rtt,
            ..ClientInfo::default()
        };
    }
    let opts = srv.opts();
    ClientInfo {
        start: Some(GoTime(c.start)),
        host: c.addr.ip().to_string(),
        id: c.cid,
        acc,
        user: m.user.clone(),
        name: m.name.clone(),
        lang: m.lang.clone(),
        ver: m.version.clone(),
        rtt,
        server: srv.name.clone(),
        cluster: if opts.cluster.port != 0 {
            srv.cluster_name().name
        } else {
            String::new()
        },
        kind: "Client",
        client_type: "nats",
    }
}

/// Go's `ServiceLatency`.
#[derive(Serialize)]
struct ServiceLatency<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: String,
    timestamp: GoTime,
    status: u16,
    #[serde(skip_serializing_if = "str::is_empty")]
    description: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    requestor: Option<ClientInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    responder: Option<ClientInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    header: Option<&'a Header>,
    start: GoTime,
    service: u64,
    system: u64,
    total: u64,
}

/// The outcome a metric reports.
pub enum Outcome<'a> {
    /// Answered by `responder` (`None`: the response came over a route).
    Answered(Option<&'a Conn>),
    /// 400: a sampled request without a reply subject.
    BadRequest,
    /// 503: nobody in the exporter took the request.
    Unavailable,
    /// 504: no response within the export's response threshold.
    Timeout,
}

/// The metric for a tracked request, as JSON.
pub fn metric_json(srv: &Server, t: &Track, outcome: Outcome<'_>) -> Vec<u8> {
    let requestor = client_info(srv, &t.requester, t.share);
    let req_rtt = rtt_of(&t.requester);
    // Go's start: when the request was processed, less the requester's RTT.
    let start = GoTime(t.wall.checked_sub(req_rtt).unwrap_or(t.wall));
    let mut m = ServiceLatency {
        kind: "io.nats.server.metric.v1.service_latency",
        id: crate::ids::nuid(),
        timestamp: GoTime(SystemTime::now()),
        status: 200,
        description: "",
        requestor: Some(requestor),
        responder: None,
        header: t.header.as_ref(),
        start,
        service: 0,
        system: 0,
        total: 0,
    };
    match outcome {
        Outcome::Answered(responder) => {
            let now = Instant::now();
            let service_rtt = now.saturating_duration_since(t.ts);
            let resp_rtt = responder.map(rtt_of).unwrap_or_default();
            m.responder = responder.map(|c| client_info(srv, c, true));
            m.service = nanos(service_rtt.saturating_sub(resp_rtt));
            let mut total = req_rtt + service_rtt;
            if !resp_rtt.is_zero() {
                let system = now.elapsed();
                m.system = nanos(system);
                total += system;
            }
            m.total = nanos(total);
        }
        Outcome::BadRequest => (m.status, m.description) = (400, "Bad Request"),
        Outcome::Unavailable => (m.status, m.description) = (503, "Service Unavailable"),
        Outcome::Timeout => (m.status, m.description) = (504, "Service Timeout"),
    }
    to_json_compact(&m)
}

/// Go's `textproto.CanonicalMIMEHeaderKey` for the ASCII keys tracing uses.
fn canonical(key: &str) -> String {
    let mut up = true;
    key.chars()
        .map(|c| {
            let out = if up {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            };
            up = c == '-';
            out
        })
        .collect()
}

/// The header block of a message (`NATS/1.0\r\nKey: value\r\n…\r\n\r\n`) as a map.
fn parse_header(hdr: &[u8]) -> Header {
    let mut h = Header::new();
    let text = String::from_utf8_lossy(hdr);
    for line in text.split("\r\n").skip(1) {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let k = k.trim();
        if k.is_empty() {
            continue;
        }
        h.entry(canonical(k))
            .or_default()
            .push(v.trim().to_string());
    }
    h
}

fn pick(h: &Header, keys: &[&str]) -> Header {
    keys.iter()
        .filter_map(|k| h.get(*k).map(|v| (k.to_string(), v.clone())))
        .collect()
}

const UBER: &str = "Uber-Trace-Id";
const B3: &str = "B3";
const B3_SAMPLED: &str = "X-B3-Sampled";
const B3_TRACE_ID: &str = "X-B3-Traceid";
const B3_KEYS: [&str; 4] = [B3_SAMPLED, B3_TRACE_ID, "X-B3-Parentspanid", "X-B3-Spanid"];
const TRACE_PARENT: &str = "Traceparent";
const TRACE_STATE: &str = "Tracestate";

/// Go's `shouldSample`: `None` when the request is not measured; otherwise the tracing
/// headers that asked for it (none when the sampling percentage chose it). `hdr` is the
/// request's header block (empty without one). Note Go's `rand(100) <= sampling`: 50%
/// samples 51 requests in 100; kept.
pub fn should_sample(sampling: u8, hdr: &[u8]) -> Option<Option<Header>> {
    if sampling >= 100 {
        return Some(None);
    }
    if sampling > 0 && fastrand::u8(..100) <= sampling {
        return Some(None);
    }
    if hdr.is_empty() {
        return None;
    }
    let h = parse_header(hdr);
    let first = |k: &str| h.get(k).and_then(|v| v.first()).map(String::as_str);
    if let Some(id) = first(UBER) {
        // `trace:span:parent:flags`: sampled when the flags' low bit is set.
        let tk: Vec<&str> = id.split(':').collect();
        let flags = tk.get(3).copied().unwrap_or("");
        let sampled = tk.len() == 4
            && (1..=2).contains(&flags.len())
            && u8::from_str_radix(flags, 16).is_ok_and(|f| f & 1 == 1);
        if !sampled {
            return None;
        }
        let mut out: Header = h
            .iter()
            .filter(|(k, _)| k.starts_with("Uberctx-"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        out.insert(UBER.into(), h[UBER].clone());
        return Some(Some(out));
    }
    match first(B3_SAMPLED) {
        Some("1") => return Some(Some(pick(&h, &B3_KEYS))),
        Some("0") => return None,
        _ => {}
    }
    if h.contains_key(B3_TRACE_ID) {
        return Some(Some(pick(&h, &B3_KEYS)));
    }
    if let Some(b3) = first(B3) {
        let tk: Vec<&str> = b3.split('-').collect();
        if (tk.len() > 2 && tk[2] == "0") || (tk.len() == 1 && tk[0] == "0") {
            return None;
        }
        return Some(Some(pick(&h, &[B3])));
    }
    if let Some(tp) = first(TRACE_PARENT) {
        let tk: Vec<&str> = tp.split('-').collect();
        if tk.len() == 4 && tk[3] == "01" {
            return Some(Some(pick(&h, &[TRACE_PARENT, TRACE_STATE])));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdr(lines: &str) -> Vec<u8> {
        format!("NATS/1.0\r\n{lines}\r\n").into_bytes()
    }

    #[test]
    fn percentages_and_headers() {
        assert_eq!(should_sample(100, b""), Some(None));
        assert_eq!(should_sample(0, b""), None);
        let b3 = hdr("X-B3-Sampled: 1\r\nX-B3-TraceId: abc\r\nOther: x\r\n");
        let h = should_sample(0, &b3).unwrap().unwrap();
        assert_eq!(
            h.keys().collect::<Vec<_>>(),
            ["X-B3-Sampled", "X-B3-Traceid"]
        );
        assert_eq!(should_sample(0, &hdr("X-B3-Sampled: 0\r\n")), None);
        assert!(should_sample(0, &hdr("x-b3-traceid: abc\r\n")).is_some());
        assert!(should_sample(0, &hdr("b3: 80f1-e457-1-05e3\r\n")).is_some());
        assert_eq!(should_sample(0, &hdr("b3: 0\r\n")), None);
        assert!(should_sample(0, &hdr("Uber-Trace-Id: a:b:c:1\r\n")).is_some());
        assert_eq!(should_sample(0, &hdr("Uber-Trace-Id: a:b:c:2\r\n")), None);
        let tp = hdr("traceparent: 00-4bf9-00f0-01\r\ntracestate: k=v\r\n");
        let h = should_sample(0, &tp).unwrap().unwrap();
        assert_eq!(h.keys().collect::<Vec<_>>(), ["Traceparent", "Tracestate"]);
        assert_eq!(
            should_sample(0, &hdr("traceparent: 00-4bf9-00f0-00\r\n")),
            None
        );
        assert_eq!(should_sample(0, &hdr("Other: 1\r\n")), None);
    }

    #[test]
    fn canonical_keys() {
        assert_eq!(canonical("x-b3-traceid"), "X-B3-Traceid");
        assert_eq!(canonical("uber-trace-id"), "Uber-Trace-Id");
    }
}
