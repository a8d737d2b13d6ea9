//! The monitoring endpoints against a server started in-process, compared with what the
//! Go nats-server 2.9.10 answered in the same situation (`tests/fixtures/monitor/`,
//! captured by `capture.py` there).
//!
//! Shapes are compared key by key, in order, with JSON types (values differ run to run);
//! counters are checked exactly. Every wait is a bounded poll of an endpoint, never a
//! fixed sleep.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use nats_server::logging::{Logger, Sink};
use nats_server::options::Options;
use nats_server::Server;
use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

mod common;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/monitor");

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{name}"))
        .unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

async fn start_with(f: impl FnOnce(&mut Options)) -> Arc<Server> {
    let mut opts = Options {
        host: "127.0.0.1".into(),
        port: -1,
        http_host: "127.0.0.1".into(),
        http_port: -1,
        ..Options::default()
    };
    f(&mut opts);
    Server::start(opts, Logger::new(Sink::Discard, true, false, false))
        .await
        .expect("server starts")
}

async fn start() -> Arc<Server> {
    start_with(|_| {}).await
}

fn client_addr(srv: &Server) -> String {
    srv.addrs
        .read()
        .client
        .expect("client listener")
        .to_string()
}

fn http_addr(srv: &Server) -> String {
    srv.addrs.read().http.expect("http listener").to_string()
}

/// An HTTP answer: status, lower-cased headers, body.
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// A minimal HTTP/1.1 GET with `Connection: close`, enough for our monitor.
async fn get(srv: &Server, path: &str) -> Resp {
    let addr = http_addr(srv);
    let mut s = TcpStream::connect(&addr).await.expect("connect http");
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("send request");
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut raw))
        .await
        .expect("response in time")
        .expect("read response");
    let text = String::from_utf8(raw).expect("utf-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("header end");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    assert!(
        !headers
            .iter()
            .any(|(k, v)| k == "transfer-encoding" && v == "chunked"),
        "this client does not decode chunked bodies"
    );
    Resp {
        status: status.parse().expect("status code"),
        headers,
        body: body.to_string(),
    }
}

async fn get_json(srv: &Server, path: &str) -> Value {
    let r = get(srv, path).await;
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    r.json()
}

/// GET `path` until `ok` holds for its JSON (at most 10 s); returns that JSON.
async fn poll(srv: &Server, path: &str, ok: impl Fn(&Value) -> bool) -> Value {
    poll_raw(srv, path, ok).await.0
}

/// As [`poll`], also returning the body as sent (key order intact).
async fn poll_raw(srv: &Server, path: &str, ok: impl Fn(&Value) -> bool) -> (Value, String) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = get(srv, path).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        let v = r.json();
        if ok(&v) {
            return (v, r.body);
        }
        assert!(Instant::now() < deadline, "{path} never satisfied: {v:#}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A raw protocol client: send text, then wait for the PONG that follows it.
struct Raw {
    s: TcpStream,
    buf: Vec<u8>,
}

impl Raw {
    async fn connect(srv: &Server, connect: &str) -> Raw {
        let s = TcpStream::connect(client_addr(srv)).await.expect("connect");
        let mut r = Raw { s, buf: Vec::new() };
        r.send_sync(&format!("CONNECT {connect}\r\n")).await;
        r
    }

    /// Send `text` plus a PING, and wait for the PONG: the server has processed it all.
    async fn send_sync(&mut self, text: &str) {
        self.s
            .write_all(format!("{text}PING\r\n").as_bytes())
            .await
            .expect("send");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(i) = find(&self.buf, b"PONG\r\n") {
                self.buf.drain(..i + 6);
                return;
            }
            let mut chunk = [0u8; 4096];
            let left = deadline.saturating_duration_since(Instant::now());
            let n = tokio::time::timeout(left, self.s.read(&mut chunk))
                .await
                .expect("PONG in time")
                .expect("read");
            assert!(
                n > 0,
                "server closed: {}",
                String::from_utf8_lossy(&self.buf)
            );
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

// ---- JSON shapes: keys in document order, with types ----

/// A JSON document that keeps object keys in order (serde_json's `Value` sorts them).
enum J {
    Null,
    Bool,
    Num,
    Str,
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl<'de> Deserialize<'de> for J {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<J, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = J;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_unit<E>(self) -> Result<J, E> {
                Ok(J::Null)
            }
            fn visit_bool<E>(self, _: bool) -> Result<J, E> {
                Ok(J::Bool)
            }
            fn visit_u64<E>(self, _: u64) -> Result<J, E> {
                Ok(J::Num)
            }
            fn visit_i64<E>(self, _: i64) -> Result<J, E> {
                Ok(J::Num)
            }
            fn visit_f64<E>(self, _: f64) -> Result<J, E> {
                Ok(J::Num)
            }
            fn visit_str<E>(self, _: &str) -> Result<J, E> {
                Ok(J::Str)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<J, A::Error> {
                let mut v = Vec::new();
                while let Some(x) = a.next_element()? {
                    v.push(x);
                }
                Ok(J::Arr(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<J, A::Error> {
                let mut v = Vec::new();
                while let Some((k, x)) = a.next_entry()? {
                    v.push((k, x));
                }
                Ok(J::Obj(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// `path: type` lines in document order. Array elements share the path `[]` and their
/// lines are merged (first appearance wins); `maps` are objects with data-dependent keys,
/// shown as `map`.
fn shape(doc: &str, maps: &[&str]) -> Vec<String> {
    fn walk(j: &J, path: &str, maps: &[&str], out: &mut Vec<String>, seen: &mut HashSet<String>) {
        let mut line = |t: &str| {
            let l = format!("{path}: {t}");
            if seen.insert(l.clone()) {
                out.push(l);
            }
        };
        match j {
            J::Null => line("null"),
            J::Bool => line("bool"),
            J::Num => line("number"),
            J::Str => line("string"),
            J::Arr(v) => {
                line("array");
                for x in v {
                    walk(x, &format!("{path}[]"), maps, out, seen);
                }
            }
            J::Obj(_) if maps.contains(&path) => line("map"),
            J::Obj(kv) => {
                line("object");
                for (k, x) in kv {
                    walk(x, &format!("{path}.{k}"), maps, out, seen);
                }
            }
        }
    }
    let j: J = serde_json::from_str(doc).unwrap_or_else(|e| panic!("bad JSON ({e}): {doc}"));
    let mut out = Vec::new();
    walk(&j, "", maps, &mut out, &mut HashSet::new());
    out
}

/// Assert that our document has the Go fixture's keys, order and types, except for the
/// listed paths (things we deliberately do not have).
fn assert_shape(ours: &str, fixture_name: &str, maps: &[&str], go_only: &[&str]) {
    let go: Vec<String> = shape(&fixture(fixture_name), maps)
        .into_iter()
        .filter(|l| !go_only.iter().any(|p| l.starts_with(&format!("{p}:"))))
        .collect();
    let us = shape(ours, maps);
    assert_eq!(us, go, "shape differs from {fixture_name}; ours:\n{ours}");
}

/// The client of the capture script: two subscriptions (one queue group with an
/// auto-unsubscribe limit), ten 5-byte messages to itself.
async fn fixture_client(srv: &Server) -> Raw {
    let mut c = Raw::connect(
        srv,
        r#"{"verbose":false,"name":"fixture","lang":"py","version":"1.0"}"#,
    )
    .await;
    c.send_sync("SUB foo.* 1\r\nSUB bar q 2\r\nUNSUB 2 100\r\n")
        .await;
    c.send_sync(&"PUB foo.x 5\r\nhello\r\n".repeat(10)).await;
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn varz_matches_go_shape_and_headers() {
    let srv = start().await;
    let _c = fixture_client(&srv).await;
    let r = get(&srv, "/varz").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    // Go 2.9.10 sends no CORS header.
    assert_eq!(r.header("access-control-allow-origin"), None);
    assert!(
        r.body.starts_with("{\n  \"server_id\": \""),
        "2-space pretty print"
    );
    // We have no system account.
    assert_shape(&r.body, "varz_single.json", &[".http_req_stats"], &[]);
    let v = r.json();
    assert_eq!(v["version"], "2.9.10");
    assert_eq!(v["port"], srv.addrs.read().client.unwrap().port());
    assert_eq!(v["ping_interval"], 120_000_000_000u64);
    assert_eq!(v["write_deadline"], 10_000_000_000u64);
    assert_eq!(v["http_port"], -1);
    assert_eq!(v["cluster"], serde_json::json!({}));
    assert_eq!(v["connections"], 1);
    assert!(v["mem"].as_u64().unwrap() > 0);
    assert!(v["cores"].as_u64().unwrap() >= 1);
    assert!(v["uptime"].as_str().unwrap().ends_with('s'));
    assert!(v["now"].as_str().unwrap().ends_with('Z'));
    srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn connz_matches_go_shapes() {
    let srv = start().await;
    let _c = fixture_client(&srv).await;
    let cid_of = |v: &Value| v["connections"][0]["cid"].as_u64().unwrap();

    let body = get(&srv, "/connz").await.body;
    assert_shape(&body, "connz.json", &[], &[]);
    assert_shape(
        &get(&srv, "/connz?subs=1").await.body,
        "connz_subs.json",
        &[],
        &[],
    );
    let detail = get(&srv, "/connz?subs=detail&auth=1").await.body;
    assert_shape(&detail, "connz_detail.json", &[], &[]);
    let d: Value = serde_json::from_str(&detail).unwrap();
    let cid = cid_of(&d);
    let subs = &d["connections"][0]["subscriptions_list_detail"];
    assert_eq!(
        subs,
        &serde_json::json!([
            {"subject": "foo.*", "sid": "1", "msgs": 10, "cid": cid},
            {"subject": "bar", "qgroup": "q", "sid": "2", "msgs": 0, "max": 100, "cid": cid}
        ])
    );

    // A connection that goes away shows up as closed, with its subscriptions.
    let mut gone = Raw::connect(&srv, r#"{"verbose":false,"name":"gone"}"#).await;
    gone.send_sync("SUB gone 9\r\n").await;
    drop(gone);
    let (closed, raw) = poll_raw(&srv, "/connz?state=closed&subs=1", |v| v["total"] == 1).await;
    assert_shape(&raw, "connz_closed.json", &[], &[]);
    let c = &closed["connections"][0];
    assert_eq!(c["name"], "gone");
    assert_eq!(c["subscriptions_list"], serde_json::json!(["gone"]));
    assert!(c["reason"].as_str().is_some_and(|r| !r.is_empty()));
    srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn subsz_matches_go_shapes() {
    let srv = start().await;
    let _c = fixture_client(&srv).await;
    let stats = get(&srv, "/subsz").await.body;
    assert_shape(&stats, "subsz.json", &[], &[]);
    assert_shape(
        &get(&srv, "/subscriptionsz").await.body,
        "subsz.json",
        &[],
        &[],
    );
    assert_shape(
        &get(&srv, "/subsz?subs=1").await.body,
        "subsz_subs.json",
        &[],
        &[],
    );
    let test = get(&srv, "/subsz?subs=1&test=foo.bar").await.body;
    assert_shape(&test, "subsz_test.json", &[], &[]);
    let t: Value = serde_json::from_str(&test).unwrap();
    assert_eq!(t["total"], 1);
    assert_eq!(t["subscriptions_list"][0]["subject"], "foo.*");
    assert_eq!(t["subscriptions_list"][0]["account"], "$G");
    // No match: only the counters, as Go.
    let none = get_json(&srv, "/subsz?subs=1&test=nothing.here").await;
    assert!(none.get("server_id").is_none());
    // The counters include the system account's internal subscriptions; `$G` has the
    // client's two and its three system services.
    assert!(none["num_subscriptions"].as_u64() > Some(2), "{none}");
    let g = get_json(&srv, "/subsz?acc=%24G").await;
    assert_eq!(g["num_subscriptions"], 2 + 3);
    // Paging: the second of two.
    let p = get_json(&srv, "/subsz?subs=1&offset=1&limit=1").await;
    assert_eq!(p["subscriptions_list"][0]["subject"], "bar");
    assert_eq!(
        (p["total"].as_u64(), p["offset"].as_u64()),
        (Some(1), Some(1))
    );
    srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn healthz_ok_compact_and_ignores_js_flags() {
    let srv = start().await;
    for path in [
        "/healthz",
        "/healthz?js-enabled-only=true",
        "/healthz?js-server-only=true",
        "/healthz?js-enabled=true",
    ] {
        let r = get(&srv, path).await;
        assert_eq!(
            (r.status, r.body.as_str()),
            (200, fixture("healthz.json").as_str()),
            "{path}"
        );
        assert_eq!(r.header("content-type"), Some("application/json"));
    }
    srv.shutdown().await;
}

/// Every request of the capture script's error/header table answers with Go's status,
/// content type, CORS header (none) and first line.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn statuses_and_error_texts_as_go() {
    let srv = start().await;
    let _c = fixture_client(&srv).await;
    for row in fixture("responses.tsv").lines().skip(1) {
        let cols: Vec<&str> = row.split('\t').collect();
        let (path, status, ctype, first) = (cols[0], cols[1], cols[2], cols[4]);
        let r = get(&srv, path).await;
        assert_eq!(r.status.to_string(), status, "{path}: {}", r.body);
        assert_eq!(r.header("content-type"), Some(ctype), "{path}");
        // Go 2.9.10 sends no CORS header (the capture's `None`).
        assert_eq!(
            r.header("access-control-allow-origin").unwrap_or("None"),
            cols[3],
            "{path}"
        );
        let ours = r.body.lines().next().unwrap_or("");
        assert_eq!(&ours[..ours.len().min(100)], first, "{path}");
    }
    srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn jsonp_base_path_and_request_counts() {
    let srv = start_with(|o| o.http_base_path = "mon/".into()).await;
    assert_eq!(get(&srv, "/varz").await.status, 404);
    let r = get(&srv, "/mon/varz?callback=cb").await;
    assert_eq!(r.header("content-type"), Some("application/javascript"));
    assert!(
        r.body.starts_with("cb({") && r.body.ends_with("})"),
        "{}",
        r.body
    );
    let index = get(&srv, "/mon").await;
    assert_eq!(
        index.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(index.body.contains("href=./mon/connz"), "{}", index.body);
    get_json(&srv, "/mon/connz").await;
    get_json(&srv, "/mon/connz").await;
    // A bad parameter is not counted for connz (Go counts after decoding)...
    assert_eq!(get(&srv, "/mon/connz?limit=x").await.status, 400);
    // ...but is for subsz.
    assert_eq!(get(&srv, "/mon/subscriptionsz?subs=x").await.status, 400);
    let v = get_json(&srv, "/mon/varz").await;
    assert_eq!(
        v["http_req_stats"],
        serde_json::json!({"/": 1, "/connz": 2, "/subsz": 1, "/varz": 2})
    );
    assert_eq!(v["http_base_path"], "mon/");
    srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn connz_sort_limit_offset_cid_state() {
    let srv = start().await;
    let mut clients = Vec::new();
    for n in 1..=3 {
        let mut c = Raw::connect(&srv, &format!(r#"{{"verbose":false,"name":"c{n}"}}"#)).await;
        let subs: String = (1..=n).map(|i| format!("SUB s.{i} {i}\r\n")).collect();
        // c1 publishes 3 messages, c2 two, c3 one.
        let pubs = "PUB x 3\r\nabc\r\n".repeat(4 - n);
        c.send_sync(&(subs + &pubs)).await;
        clients.push(c);
    }
    let v = get_json(&srv, "/connz").await;
    let cids: Vec<u64> = v["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["cid"].as_u64().unwrap())
        .collect();
    assert_eq!(cids.len(), 3);
    assert!(
        cids.windows(2).all(|w| w[0] < w[1]),
        "ascending cids: {cids:?}"
    );
    let names = |v: &Value| -> Vec<String> {
        v["connections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        names(&get_json(&srv, "/connz?sort=subs").await),
        ["c3", "c2", "c1"]
    );
    assert_eq!(
        names(&get_json(&srv, "/connz?sort=msgs_from").await),
        ["c1", "c2", "c3"]
    );
    assert_eq!(
        names(&get_json(&srv, "/connz?sort=bytes_from").await),
        ["c1", "c2", "c3"]
    );
    assert_eq!(
        names(&get_json(&srv, "/connz?sort=uptime").await),
        ["c3", "c2", "c1"]
    );
    let page = get_json(&srv, "/connz?sort=subs&offset=1&limit=1").await;
    assert_eq!(names(&page), ["c2"]);
    assert_eq!(
        (
            &page["num_connections"],
            &page["total"],
            &page["offset"],
            &page["limit"]
        ),
        (&1.into(), &3.into(), &1.into(), &1.into())
    );
    let one = get_json(&srv, &format!("/connz?cid={}", cids[1])).await;
    assert_eq!(names(&one), ["c2"]);
    // Go keeps the unfiltered total and forces the limit to 1.
    assert_eq!((&one["total"], &one["limit"]), (&3.into(), &1.into()));
    let empty = get_json(&srv, "/connz?offset=10").await;
    assert_eq!(empty["connections"], serde_json::json!([]));
    let other = get_json(&srv, "/connz?acc=nope").await;
    assert_eq!(
        (&other["server_id"], &other["connections"]),
        (&"".into(), &Value::Null)
    );

    let r = get(&srv, "/connz?sort=stop").await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (400, "sort by stop only valid on closed connections")
    );
    drop(clients.remove(0));
    let closed = poll(&srv, "/connz?state=closed", |v| v["total"] == 1).await;
    assert_eq!(names(&closed), ["c1"]);
    let c = &closed["connections"][0];
    assert_eq!((&c["in_msgs"], &c["in_bytes"]), (&3.into(), &9.into()));
    assert!(c["stop"].is_string());
    assert_eq!(get(&srv, "/connz?state=closed&sort=stop").await.status, 200);
    assert_eq!(
        get(&srv, "/connz?state=closed&sort=reason").await.status,
        200
    );
    let all = get_json(&srv, "/connz?state=all").await;
    assert_eq!(names(&all), ["c1", "c2", "c3"]);
    assert_eq!(all["total"], 3);
    let by_cid = get_json(&srv, &format!("/connz?state=closed&cid={}", cids[0])).await;
    assert_eq!(names(&by_cid), ["c1"]);
    srv.shutdown().await;
}

/// N clients each publish M messages to one subscriber; every counter is exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn counters_exact_under_concurrency() {
    const N: usize = 8;
    const M: usize = 250;
    const SIZE: usize = 17;
    let srv = start().await;
    let url = format!("nats://{}", client_addr(&srv));
    let sub_client = async_nats::ConnectOptions::new()
        .name("sink")
        .connect(&url)
        .await
        .unwrap();
    let mut sub = sub_client.subscribe("count.>").await.unwrap();
    sub_client.flush().await.unwrap();
    let payload: Vec<u8> = vec![b'x'; SIZE];
    let mut tasks = Vec::new();
    for i in 0..N {
        let (url, payload) = (url.clone(), payload.clone());
        tasks.push(tokio::spawn(async move {
            let c = async_nats::ConnectOptions::new()
                .name(format!("pub{i}"))
                .connect(&url)
                .await
                .unwrap();
            for _ in 0..M {
                c.publish(format!("count.{i}"), payload.clone().into())
                    .await
                    .unwrap();
            }
            c.flush().await.unwrap();
            c
        }));
    }
    let mut pubs = Vec::new();
    for t in tasks {
        pubs.push(t.await.unwrap());
    }
    let mut got = 0;
    while got < N * M {
        tokio::time::timeout(Duration::from_secs(10), sub.next())
            .await
            .expect("messages in time")
            .expect("subscription open");
        got += 1;
    }
    let total = (N * M) as u64;
    let bytes = total * SIZE as u64;
    // Counters are published per read batch; poll until the last batch is in.
    let v = poll(&srv, "/varz", |v| {
        v["in_msgs"] == total && v["out_msgs"] == total
    })
    .await;
    assert_eq!(
        (&v["in_bytes"], &v["out_bytes"]),
        (&bytes.into(), &bytes.into())
    );
    assert_eq!(v["connections"], N + 1);
    assert_eq!(v["total_connections"], N + 1);
    let c = get_json(&srv, "/connz?limit=100").await;
    for ci in c["connections"].as_array().unwrap() {
        if ci["name"] == "sink" {
            assert_eq!(
                (&ci["out_msgs"], &ci["out_bytes"]),
                (&total.into(), &bytes.into())
            );
            assert_eq!(
                (&ci["in_msgs"], &ci["subscriptions"]),
                (&0.into(), &1.into())
            );
        } else {
            let m = M as u64;
            assert_eq!(
                (&ci["in_msgs"], &ci["in_bytes"]),
                (&m.into(), &(m * SIZE as u64).into())
            );
            assert_eq!(ci["out_msgs"], 0);
        }
        assert_eq!(ci["lang"], "rust");
    }
    // One client subscription, plus the three system services every account has (as
    // Go's three system service imports).
    let s = get_json(&srv, "/subsz?acc=%24G").await;
    assert_eq!(s["num_subscriptions"], 1 + 3);
    drop(pubs);
    srv.shutdown().await;
}

/// Two of our servers routed together: routez and the cluster block of varz.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn routez_and_cluster_varz_match_go_shapes() {
    let cluster = |o: &mut Options| {
        o.cluster.name = "fx".into();
        o.cluster.host = "127.0.0.1".into();
        o.cluster.port = -1;
    };
    let a = start_with(cluster).await;
    let a_route = a.addrs.read().cluster.expect("cluster listener");
    let b = start_with(|o| {
        cluster(o);
        o.cluster.routes = vec![format!("nats://{a_route}").parse().unwrap()];
    })
    .await;
    poll(&a, "/routez", |v| v["num_routes"] == 1).await;
    poll(&b, "/routez", |v| v["num_routes"] == 1).await;
    // A subscription on B becomes a remote subscription held by A's route.
    let mut cb = Raw::connect(&b, r#"{"verbose":false,"name":"remote"}"#).await;
    cb.send_sync("SUB remote.> 1\r\n").await;
    let _c = fixture_client(&a).await;
    let mut ca = Raw::connect(&a, r#"{"verbose":false}"#).await;
    ca.send_sync("PUB remote.x 2\r\nhi\r\n").await;
    // The route also holds B's system-account interest (`$SYS.REQ.…`).
    let (rz, raw) = poll_raw(&a, "/routez?subs=1", |v| {
        let list = v["routes"][0]["subscriptions_list"].as_array();
        let client: Vec<&Value> = list
            .into_iter()
            .flatten()
            .filter(|s| !s.as_str().unwrap_or("").starts_with("$SYS."))
            .collect();
        client == [&serde_json::json!("remote.>")]
    })
    .await;
    assert_shape(&get(&a, "/routez").await.body, "routez.json", &[], &[]);
    assert_shape(&raw, "routez_subs.json", &[], &[]);
    let detail = get(&a, "/routez?subs=detail").await.body;
    assert_shape(&detail, "routez_detail.json", &[], &[]);
    let r = &rz["routes"][0];
    assert_eq!(r["remote_id"], b.id.as_str());
    assert_eq!(
        (&r["did_solicit"], &r["is_configured"]),
        (&false.into(), &false.into())
    );
    assert_eq!(r["pending_size"], 0);
    let rb = get_json(&b, "/routez").await;
    assert_eq!(rb["routes"][0]["remote_id"], a.id.as_str());
    assert_eq!(rb["routes"][0]["did_solicit"], true);
    assert_eq!(rb["routes"][0]["is_configured"], true);
    // The message to remote.x crossed the route.
    poll(&a, "/routez", |v| {
        v["routes"][0]["out_msgs"].as_u64() >= Some(1)
    })
    .await;

    let va = get(&a, "/varz").await.body;
    assert_shape(&va, "varz.json", &[".http_req_stats"], &[]);
    let vb = get(&b, "/varz").await.body;
    assert_shape(&vb, "varz_b.json", &[".http_req_stats"], &[]);
    let vb: Value = serde_json::from_str(&vb).unwrap();
    assert_eq!(
        vb["cluster"]["urls"],
        serde_json::json!([a_route.to_string()])
    );
    assert_eq!(
        vb["cluster"]["cluster_port"],
        b.addrs.read().cluster.unwrap().port()
    );
    assert_eq!((&vb["routes"], &vb["remotes"]), (&1.into(), &1.into()));
    b.shutdown().await;
    a.shutdown().await;
}

// ---- /accountz and /accstatz, against the Go server run side by side ----

/// Start ours or Go with one configured account and monitoring; user `a` (account A)
/// subscribes to `foo` and publishes one 3-byte message to itself.
fn accounts_server(go: bool) -> (tempfile::TempDir, common::ServerProcess, common::Raw) {
    let (d, path) = common::config("accounts { A { users = [{user: a, password: a}] } }\n");
    let args = ["-c", path.as_str(), "-m", "-1"];
    let s = if go {
        common::start_go(&args)
    } else {
        common::start(&args)
    };
    let mut c = common::Raw::handshake(&s.addr(), r#"{"verbose":false,"user":"a","pass":"a"}"#);
    c.send("SUB foo 1\r\nPUB foo 3\r\nabc\r\nPING\r\n");
    c.expect("MSG foo 1 3\r\nabc\r\nPONG\r\n");
    (d, s, c)
}

fn http_json(s: &common::ServerProcess, path: &str) -> (String, Value) {
    let (status, body) = s.http_get(path).unwrap();
    assert_eq!(status, 200, "{path}: {body}");
    let v = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path} ({e}): {body}"));
    (body, v)
}

/// `/accountz` (list and `acc=` details) and `/accstatz` (with and without `unused`) have
/// Go's keys, order and types and the same counters, `$SYS` and `system_account`
/// included, except for the service imports (and their three subscriptions) every account
/// gets from Go's system account, which we do not have.
#[test]
fn accountz_and_accstatz_match_go() {
    let (_dg, go, _cg) = accounts_server(true);
    let (_du, us, _cu) = accounts_server(false);
    for path in ["/accountz", "/accountz?acc=A", "/accountz?acc=%24G"] {
        let (gb, gv) = http_json(&go, path);
        let (ub, uv) = http_json(&us, path);
        let gs: Vec<String> = shape(&gb, &[])
            .into_iter()
            .filter(|l| !l.starts_with(".account_detail.imports"))
            .collect();
        assert_eq!(shape(&ub, &[]), gs, "{path}; ours:\n{ub}\nGo:\n{gb}");
        if let Some(list) = gv["accounts"].as_array() {
            let mut g: Vec<&str> = list.iter().filter_map(|a| a.as_str()).collect();
            let mut u: Vec<&str> = uv["accounts"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|a| a.as_str())
                .collect();
            g.sort_unstable();
            u.sort_unstable();
            assert_eq!(u, g, "{path}");
            continue;
        }
        let (gd, ud) = (&gv["account_detail"], &uv["account_detail"]);
        for k in ["account_name", "expired", "complete", "jetstream_enabled"] {
            assert_eq!(ud[k], gd[k], "{path} {k}");
        }
        for k in ["leafnode_connections", "client_connections"] {
            assert_eq!(ud[k], gd[k], "{path} {k}");
        }
        // Go's three system service imports each hold a subscription in the account;
        // our three internal services stand for them.
        assert_eq!(ud["subscriptions"], gd["subscriptions"], "{path}");
    }
    let (status, body) = us.http_get("/accountz?acc=nope").unwrap();
    assert_eq!(
        (status, body.as_str()),
        (400, "Account nope does not exist")
    );
    let (status, _) = us.http_get("/accstatz?unused=x").unwrap();
    assert_eq!(status, 400);
    for path in ["/accstatz", "/accstatz?unused=1"] {
        let (gb, gv) = http_json(&go, path);
        let (ub, uv) = http_json(&us, path);
        assert_eq!(
            shape(&ub, &[]),
            shape(&gb, &[]),
            "{path}; ours:\n{ub}\nGo:\n{gb}"
        );
        let by_acc = |v: &Value| -> Vec<(String, String)> {
            let mut l: Vec<(String, String)> = v["account_statz"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|a| a["acc"] != "$SYS")
                .map(|a| (a["acc"].as_str().unwrap().to_string(), a.to_string()))
                .collect();
            l.sort();
            l
        };
        assert_eq!(by_acc(&uv), by_acc(&gv), "{path}");
    }
    // The index page links both, as Go's does.
    let (_, index) = us.http_get("/").unwrap();
    assert!(index.contains("<a href=./accountz>Accounts</a>"), "{index}");
    assert!(
        index.contains("<a href=./accstatz>Account Stats</a>"),
        "{index}"
    );
}
