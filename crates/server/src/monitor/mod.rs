//! HTTP monitoring (`-m`/`http`): `/varz`, `/connz`, `/routez`, `/subsz` (alias
//! `/subscriptionsz`), `/accountz`, `/accstatz`, `/healthz` and the index page, with nats-server 2.9.10's JSON shapes.
//!
//! Tools read these documents by key name (the Prometheus exporter turns every number into
//! a metric named after its key; Kubernetes probes call `/healthz`), so each endpoint
//! module mirrors Go's struct field for field: same names, order, omit-when-empty rules
//! and units. The fixtures in `tests/fixtures/monitor/` are the Go server's own answers.
//!
//! Routing is done here rather than with axum's router because nats-server's rules are
//! simple and a little unusual: every path lives under `http_base_path`, only exact paths
//! match (`/varz/` is a 404), any HTTP method is accepted, and the hit counters in
//! `/varz`'s `http_req_stats` are bumped at the same points as Go's handlers bump them
//! (for `/connz`, only once its parameters decoded).
//!
//! * `format`: Go-style durations, timestamps and JSON encoding.
//! * `query`: Go-style query parameters and their 400 texts.
//! * `varz`, `connz`, `routez`, `subsz`, `healthz`: one endpoint each; `accountz` both
//!   `/accountz` and `/accstatz`; `sort_opts` the
//!   orders of `/connz?sort=`.
//! * `proc_stats`: memory and CPU of this process for `/varz`.

mod accountz;
mod connz;
pub(crate) mod format;
mod healthz;
mod jsz;
mod proc_stats;
mod query;
mod routez;
mod sort_opts;
mod subsz;
mod varz;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::server::Server;
use crate::sub::Subscription;

pub use format::{go_duration, to_json_compact, GoTime};
pub use proc_stats::{cpu as proc_stats_cpu, rss as proc_stats_rss};
use query::Query;

/// The only account there is; `acc=` filters name it.
const GLOBAL_ACCOUNT: &str = "$G";

/// The endpoints we serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Root,
    Varz,
    Connz,
    Routez,
    Subsz,
    Accountz,
    Accstatz,
    Healthz,
    Jsz,
}

/// Paths relative to the base path, and how `http_req_stats` names them (Go counts the
/// alias `/subscriptionsz` as `/subsz`).
const ENDPOINTS: &[(&str, Endpoint)] = &[
    ("/varz", Endpoint::Varz),
    ("/connz", Endpoint::Connz),
    ("/routez", Endpoint::Routez),
    ("/subsz", Endpoint::Subsz),
    ("/subscriptionsz", Endpoint::Subsz),
    ("/accountz", Endpoint::Accountz),
    ("/accstatz", Endpoint::Accstatz),
    ("/healthz", Endpoint::Healthz),
    ("/jsz", Endpoint::Jsz),
];

impl Endpoint {
    fn stats_key(self) -> &'static str {
        match self {
            Endpoint::Root => "/",
            Endpoint::Varz => "/varz",
            Endpoint::Connz => "/connz",
            Endpoint::Routez => "/routez",
            Endpoint::Subsz => "/subsz",
            Endpoint::Accountz => "/accountz",
            Endpoint::Accstatz => "/accstatz",
            Endpoint::Healthz => "/healthz",
            Endpoint::Jsz => "/jsz",
        }
    }
}

#[derive(Clone)]
struct Ctx {
    srv: Arc<Server>,
    /// Normalized `http_base_path` (`/` when unset).
    base: Arc<str>,
}

/// How long a monitoring client may take to send a request's headers (from the moment we
/// start waiting for them, including on an idle keep-alive connection) before it is
/// disconnected. nats-server 2.9.10 sets no limit; later versions set `ReadHeaderTimeout`
/// to 5 s, which is what we use.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// At most this many monitoring connections are open at once. At the limit, a new
/// connection pushes out the *oldest* one: monitoring requests take milliseconds, so the
/// oldest connections are the idle or stalled ones, and a client that opens hundreds of
/// connections and sends nothing cannot lock out the Prometheus exporter (refusing the
/// new connection instead would). Monitoring is polled by a handful of tools; 256 leaves
/// room for many of them while bounding memory and tasks.
pub const MAX_HTTP_CONNECTIONS: usize = 256;

/// The open monitoring connections, oldest first, each with the token that closes it.
#[derive(Default)]
struct Live {
    next: u64,
    conns: std::collections::VecDeque<(u64, CancellationToken)>,
}

/// Serve the monitoring endpoints on `l` until the server shuts down.
/// Serve monitoring on `l`; `https`: over TLS with the client `tls {}` block's current
/// certificate (a reload's new certificate serves the next connections).
pub fn spawn(srv: Arc<Server>, l: TcpListener, https: bool) {
    let base: Arc<str> = normalize_base_path(&srv.opts().http_base_path).into();
    let app = axum::Router::new().fallback(dispatch).with_state(Ctx {
        srv: srv.clone(),
        base,
    });
    let s = srv.clone();
    srv.tasks.spawn(async move {
        let live = Arc::new(parking_lot::Mutex::new(Live::default()));
        loop {
            let (stream, _) = tokio::select! {
                _ = s.shutdown.cancelled() => return,
                r = l.accept() => match r {
                    Ok(x) => x,
                    Err(_) => {
                        // Out of descriptors, say: do not spin.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let evict = CancellationToken::new();
            let id = {
                let mut l = live.lock();
                if l.conns.len() >= MAX_HTTP_CONNECTIONS {
                    if let Some((_, oldest)) = l.conns.pop_front() {
                        oldest.cancel();
                    }
                }
                l.next += 1;
                let id = l.next;
                l.conns.push_back((id, evict.clone()));
                id
            };
            let svc = hyper_util::service::TowerToHyperService::new(app.clone());
            let shutdown = s.shutdown.clone();
            let live = live.clone();
            let acceptor = if https {
                match s.tls.read().client.as_ref() {
                    Some(t) => Some((tokio_rustls::TlsAcceptor::from(t.https.clone()), t.timeout)),
                    None => continue,
                }
            } else {
                None
            };
            s.tasks.spawn(async move {
                // Leave the registry however the connection ends.
                let _entry = LiveEntry(live, id);
                match acceptor {
                    None => serve(stream, svc, evict, shutdown).await,
                    Some((acceptor, timeout)) => {
                        let hs = tokio::time::timeout(timeout, acceptor.accept(stream));
                        let stream = tokio::select! {
                            r = hs => match r {
                                Ok(Ok(s)) => s,
                                _ => return,
                            },
                            _ = evict.cancelled() => return,
                            _ = shutdown.cancelled() => return,
                        };
                        serve(stream, svc, evict, shutdown).await
                    }
                }
            });
        }
    });
}

/// One HTTP/1 connection (plain or TLS) until it ends, is evicted, or the server stops.
async fn serve<I, S>(io: I, svc: S, evict: CancellationToken, shutdown: CancellationToken)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    S: hyper::service::Service<
            hyper::Request<hyper::body::Incoming>,
            Response = axum::response::Response,
        > + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: std::error::Error + Send + Sync + 'static,
{
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(1 << 20)
        .serve_connection(hyper_util::rt::TokioIo::new(io), svc);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = evict.cancelled() => {}
        _ = shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(Duration::from_secs(1), conn).await;
        }
    }
}

struct LiveEntry(Arc<parking_lot::Mutex<Live>>, u64);

impl Drop for LiveEntry {
    fn drop(&mut self) {
        let mut l = self.0.lock();
        if let Some(i) = l.conns.iter().position(|(id, _)| *id == self.1) {
            l.conns.remove(i);
        }
    }
}

async fn dispatch(State(ctx): State<Ctx>, req: Request) -> Response {
    let Some(ep) = resolve(&ctx.base, req.uri().path()) else {
        return not_found();
    };
    let q = Query::parse(req.uri().query());
    let srv = &ctx.srv;
    match ep {
        Endpoint::Root => {
            count(srv, ep);
            index_page(&ctx.base)
        }
        Endpoint::Varz => varz::handle(srv, &q, &Http(&q)),
        Endpoint::Connz => connz::handle(srv, &q, &Http(&q)),
        Endpoint::Routez => routez::handle(srv, &q, &Http(&q)),
        Endpoint::Subsz => subsz::handle(srv, &q, &Http(&q)),
        Endpoint::Accountz => accountz::handle_accountz(srv, &q, &Http(&q)),
        Endpoint::Accstatz => accountz::handle_accstatz(srv, &q, &Http(&q)),
        Endpoint::Healthz => healthz::handle(srv, &q),
        Endpoint::Jsz => jsz::handle(srv, &q, &Http(&q)),
    }
}

/// Which endpoint `path` names under `base`, exactly (no trailing slash, no prefix match).
fn resolve(base: &str, path: &str) -> Option<Endpoint> {
    if path == base {
        return Some(Endpoint::Root);
    }
    ENDPOINTS
        .iter()
        .find(|(p, _)| join_path(base, p) == path)
        .map(|&(_, ep)| ep)
}

/// `http_base_path` as nats-server normalizes it: a leading `/`, no trailing one, `/`
/// when empty.
fn normalize_base_path(p: &str) -> String {
    let mut parts = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Go's `path.Join(base, p)` for a normalized base and an absolute endpoint path.
fn join_path(base: &str, p: &str) -> String {
    if base == "/" {
        p.to_string()
    } else {
        format!("{base}{p}")
    }
}

/// Count one hit of `ep` for `/varz`'s `http_req_stats`.
fn count(srv: &Server, ep: Endpoint) {
    *srv.http_req_stats
        .lock()
        .entry(ep.stats_key().to_string())
        .or_insert(0) += 1;
}

/// A JSON answer (already encoded), or JSONP when the request has `callback=`.
fn json_response(q: &Query, status: StatusCode, body: Vec<u8>) -> Response {
    let cb = q.get("callback");
    let (ctype, body) = if cb.is_empty() {
        ("application/json", body)
    } else {
        let mut b = Vec::with_capacity(body.len() + cb.len() + 2);
        b.extend_from_slice(cb.as_bytes());
        b.push(b'(');
        b.extend_from_slice(&body);
        b.push(b')');
        ("application/javascript", b)
    };
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    resp
}

/// Where an endpoint's document goes: an HTTP answer, or the `data` of a system-account
/// reply (`$SYS.REQ.SERVER.PING.VARZ` and friends), which Go encodes compactly and does
/// not count in `http_req_stats`.
trait Out {
    type Doc;
    fn ok<T: Serialize>(&self, v: &T) -> Self::Doc;
    fn bad(&self, msg: String) -> Self::Doc;
    fn count(&self, srv: &Server, ep: Endpoint);
}

struct Http<'a>(&'a Query);

impl Out for Http<'_> {
    type Doc = Response;
    fn ok<T: Serialize>(&self, v: &T) -> Response {
        pretty(self.0, v)
    }
    fn bad(&self, msg: String) -> Response {
        bad_request(msg)
    }
    fn count(&self, srv: &Server, ep: Endpoint) {
        count(srv, ep)
    }
}

struct Compact;

impl Out for Compact {
    type Doc = Result<Vec<u8>, String>;
    fn ok<T: Serialize>(&self, v: &T) -> Self::Doc {
        Ok(format::to_json_compact(v))
    }
    fn bad(&self, msg: String) -> Self::Doc {
        Err(msg)
    }
    fn count(&self, _: &Server, _: Endpoint) {}
}

/// A monitoring document for a system-account request: `endpoint` is the last token of
/// `$SYS.REQ.SERVER.PING.<endpoint>` (or of the account form, with `account` set), `opts`
/// the request body's options in Go's JSON names. `None` for endpoints we do not serve.
pub fn sys_document(
    srv: &Server,
    endpoint: &str,
    opts: &serde_json::Map<String, serde_json::Value>,
    account: Option<&str>,
) -> Option<Result<Vec<u8>, String>> {
    let q = Query::from_event_options(endpoint, opts, account);
    Some(match endpoint {
        "VARZ" => varz::handle(srv, &q, &Compact),
        "CONNZ" => connz::handle(srv, &q, &Compact),
        "ROUTEZ" => routez::handle(srv, &q, &Compact),
        "SUBSZ" => subsz::handle(srv, &q, &Compact),
        "ACCOUNTZ" => accountz::handle_accountz(srv, &q, &Compact),
        "STATZ" => accountz::handle_accstatz(srv, &q, &Compact),
        "HEALTHZ" => Ok(format::to_json_compact(&healthz::healthz(srv))),
        "JSZ" => jsz::handle(srv, &q, &Compact),
        _ => return None,
    })
}

/// 200 with `v` pretty-printed as Go's `MarshalIndent(v, "", "  ")`.
fn pretty<T: Serialize>(q: &Query, v: &T) -> Response {
    json_response(q, StatusCode::OK, format::to_json_pretty(v))
}

fn text(status: StatusCode, msg: String) -> Response {
    let mut resp = Response::new(Body::from(msg));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

/// 400 with the plain-text reason, as Go's handlers answer bad parameters.
fn bad_request(msg: String) -> Response {
    text(StatusCode::BAD_REQUEST, msg)
}

/// Go's `http.NotFound`.
fn not_found() -> Response {
    let mut resp = text(StatusCode::NOT_FOUND, "404 page not found\n".into());
    resp.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}

/// The HTML index: one link per endpoint. Links are `.` + the full path, as Go writes
/// them, so they resolve under any base path.
fn index_page(base: &str) -> Response {
    let mut links = String::new();
    for (path, label) in [
        ("/varz", "General"),
        ("/jsz", "JetStream"),
        ("/connz", "Connections"),
        ("/accountz", "Accounts"),
        ("/accstatz", "Account Stats"),
        ("/subsz", "Subscriptions"),
        ("/routez", "Routes"),
        ("/healthz", "Health Probe"),
    ] {
        links.push_str(&format!(
            "    <a href=.{}>{label}</a>\n",
            join_path(base, path)
        ));
    }
    let html = format!(
        "<html lang=\"en\">\n  <head>\n    <title>NATS server monitoring</title>\n    \
         <style type=\"text/css\">\n      body {{ font-family: sans-serif; margin-left: 32px }}\n      \
         a {{ display: block; padding-bottom: 6px; text-decoration: none }}\n    </style>\n  \
         </head>\n  <body>\n    <h2>nats-server v{}</h2>\n{links}    \
         <a href=https://docs.nats.io/running-a-nats-service/nats_admin/monitoring>Help</a>\n  \
         </body>\n</html>\n",
        crate::options::NATS_VERSION
    );
    let mut resp = text(StatusCode::OK, html);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp
}

/// One subscription in `subscriptions_list_detail` (connz, routez) and `subsz`'s list
/// (Go's `SubDetail`; `account` only on subsz).
#[derive(Debug, Clone, Serialize)]
struct SubDetail {
    #[serde(skip_serializing_if = "String::is_empty")]
    account: String,
    subject: String,
    #[serde(rename = "qgroup", skip_serializing_if = "String::is_empty")]
    queue: String,
    sid: String,
    msgs: u64,
    #[serde(skip_serializing_if = "is_zero")]
    max: u64,
    cid: u64,
}

// How many list entries (connections, subscriptions) this thread has built: tests check
// that paging builds only the entries of the page.
#[cfg(test)]
thread_local! {
    pub(super) static ENTRIES_BUILT: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Count one entry built (tests only).
fn built_one() {
    #[cfg(test)]
    ENTRIES_BUILT.with(|c| c.set(c.get() + 1));
}

impl SubDetail {
    /// A subscription of a closed client (`/connz?state=closed&subs=detail`).
    fn closed(sub: &crate::server::ClosedSub, cid: u64) -> SubDetail {
        built_one();
        SubDetail {
            account: String::new(),
            subject: sub.subject.to_string(),
            queue: sub.queue.as_deref().unwrap_or_default().to_string(),
            sid: sub.sid.to_string(),
            msgs: sub.msgs,
            max: sub.max,
            cid,
        }
    }

    fn new(sub: &Subscription, account: &str) -> SubDetail {
        use std::sync::atomic::Ordering::Relaxed;
        built_one();
        SubDetail {
            account: account.to_string(),
            subject: String::from_utf8_lossy(&sub.subject).into_owned(),
            queue: sub
                .queue
                .as_deref()
                .map(|q| String::from_utf8_lossy(q).into_owned())
                .unwrap_or_default(),
            sid: String::from_utf8_lossy(&sub.sid).into_owned(),
            msgs: sub.delivered.load(Relaxed),
            max: sub.max.load(Relaxed),
            cid: sub.target.conn().map_or(0, |c| c.cid),
        }
    }
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// Order sids numerically when they are numbers (clients use `1`, `2`, … `10`), so that
/// lists come out in subscription order rather than Go's random map order.
fn sid_order(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    (a.len(), a).cmp(&(b.len(), b))
}

/// `[offset, offset+limit)` of `len` items, clamped as Go clamps it.
fn page(len: usize, offset: usize, limit: usize) -> std::ops::Range<usize> {
    let start = offset.min(len);
    let end = offset.saturating_add(limit).min(len);
    start..end
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `/connz` and `/subsz` sort on small keys and build full entries for the requested
    /// page only.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn paging_builds_only_the_page() {
        use crate::logging::{Logger, Sink};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let opts = crate::options::Options {
            host: "127.0.0.1".into(),
            port: -1,
            ..Default::default()
        };
        let srv = Server::start(opts, Logger::new(Sink::Discard, true, false, false))
            .await
            .unwrap();
        let addr = srv.client_addr().unwrap();
        let mut socks = Vec::new();
        for i in 0..40 {
            let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
            s.write_all(
                format!("CONNECT {{}}\r\nSUB a.{i} 1\r\nSUB b.{i} 2\r\nPING\r\n").as_bytes(),
            )
            .await
            .unwrap();
            let mut buf = Vec::new();
            while !buf.ends_with(b"PONG\r\n") {
                let mut b = [0u8; 512];
                let n = s.read(&mut b).await.unwrap();
                assert!(n > 0);
                buf.extend_from_slice(&b[..n]);
            }
            socks.push(s);
        }
        let built = |f: &dyn Fn()| {
            ENTRIES_BUILT.with(|c| c.set(0));
            f();
            ENTRIES_BUILT.with(|c| c.get())
        };
        let q = Query::parse(Some("limit=3&offset=5&sort=subs&subs=detail"));
        let n = built(&|| {
            let o = connz::ConnzOptions::from_query(&q).unwrap();
            let c = connz::connz(&srv, &o).unwrap();
            assert_eq!(c.num_connections_for_test(), 3);
        });
        // 3 connections, each with 2 subscription details, plus the 3 entries.
        assert_eq!(n, 3 + 3 * 2, "connz built entries beyond its page");
        let q = Query::parse(Some("subs=1&limit=4&offset=10"));
        let n = built(&|| {
            let r = subsz::handle(&srv, &q, &Http(&q));
            assert_eq!(r.status(), StatusCode::OK);
        });
        assert_eq!(n, 4, "subsz built entries beyond its page");
        drop(socks);
        srv.shutdown().await;
    }

    #[test]
    fn base_paths() {
        assert_eq!(normalize_base_path(""), "/");
        assert_eq!(normalize_base_path("mon"), "/mon");
        assert_eq!(normalize_base_path("/mon/"), "/mon");
        assert_eq!(normalize_base_path("/a//b/../c"), "/a/c");
        assert_eq!(resolve("/", "/"), Some(Endpoint::Root));
        assert_eq!(resolve("/", "/varz"), Some(Endpoint::Varz));
        assert_eq!(resolve("/", "/varz/"), None);
        assert_eq!(resolve("/", "/subscriptionsz"), Some(Endpoint::Subsz));
        assert_eq!(resolve("/mon", "/mon"), Some(Endpoint::Root));
        assert_eq!(resolve("/mon", "/mon/connz"), Some(Endpoint::Connz));
        assert_eq!(resolve("/mon", "/connz"), None);
        assert_eq!(resolve("/mon", "/"), None);
    }

    #[test]
    fn global_account_matches_delivery() {
        assert_eq!(GLOBAL_ACCOUNT, crate::account::GLOBAL_ACCOUNT);
    }

    #[test]
    fn paging_clamps() {
        assert_eq!(page(3, 0, 1024), 0..3);
        assert_eq!(page(3, 1, 1), 1..2);
        assert_eq!(page(3, 5, 1), 3..3);
        assert_eq!(page(3, usize::MAX, usize::MAX), 3..3);
    }

    #[test]
    fn sids_in_numeric_order() {
        let mut v: Vec<&[u8]> = vec![b"10", b"2", b"1", b"ab"];
        v.sort_by(|a, b| sid_order(a, b));
        assert_eq!(v, vec![&b"1"[..], b"2", b"10", b"ab"]);
    }
}
