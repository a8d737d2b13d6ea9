//! Service latency tracking (`latency` on a service export), side by side with the Go
//! nats-server 2.9.10: the same requests through an import give the same metrics
//! (`io.nats.server.metric.v1.service_latency`) on the latency subject in the exporting
//! account: the same key sets, statuses and sane times.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;

use common::{start, start_go, ServerProcess};

const CONFIG: &str = r#"accounts {
  A { users: [{user: a, password: a}]
      exports: [
        {service: "svc", latency: {sampling: 100%, subject: lat}}
        {service: "hdr", latency: {sampling: headers, subject: lat.hdr}}
        {service: "short", latency: "lat.short"}
      ] }
  B { users: [{user: b, password: b}]
      imports: [
        {service: {account: A, subject: svc}}
        {service: {account: A, subject: hdr}}
        {service: {account: A, subject: short}, share: true}
      ] }
  SYS { users: [{user: sys, password: sys}] }
}
system_account: SYS
"#;

fn server(go: bool) -> (tempfile::TempDir, ServerProcess) {
    let (d, path) = common::config(CONFIG);
    let s = if go {
        start_go(&["-c", &path])
    } else {
        start(&["-c", &path])
    };
    (d, s)
}

async fn login(s: &ServerProcess, user: &str, name: &str) -> async_nats::Client {
    async_nats::ConnectOptions::with_user_and_password(user.into(), user.into())
        .name(name)
        .connect(s.addr())
        .await
        .expect("connect")
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

async fn next_json(sub: &mut async_nats::Subscriber) -> Value {
    let m = tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .expect("a metric within 5s")
        .expect("subscription open");
    serde_json::from_slice(&m.payload).expect("JSON metric")
}

/// The metrics one server publishes for: an answered request, a request without a reply,
/// a header-sampled request, an unsampled one, and a request through a `share` import.
async fn scenario(go: bool) -> Vec<Value> {
    let (_d, s) = server(go);
    let svc = login(&s, "a", "responder").await;
    let mut lat = svc.subscribe("lat.>").await.unwrap();
    let mut lat0 = svc.subscribe("lat").await.unwrap();
    let mut reqs = svc.subscribe("svc").await.unwrap();
    let mut hreqs = svc.subscribe("hdr").await.unwrap();
    let mut sreqs = svc.subscribe("short").await.unwrap();
    svc.flush().await.unwrap();
    let responder = svc.clone();
    tokio::spawn(async move {
        loop {
            let m = tokio::select! {
                Some(m) = reqs.next() => m,
                Some(m) = hreqs.next() => m,
                Some(m) = sreqs.next() => m,
                else => return,
            };
            tokio::time::sleep(Duration::from_millis(20)).await;
            if let Some(r) = m.reply {
                responder.publish(r, "pong".into()).await.unwrap();
                responder.flush().await.unwrap();
            }
        }
    });
    let b = login(&s, "b", "requester").await;
    let mut out = Vec::new();

    // 1. Sampled at 100%: one 200 metric.
    let r = b.request("svc", "ping".into()).await.expect("answered");
    assert_eq!(&r.payload[..], b"pong");
    out.push(next_json(&mut lat0).await);

    // 2. No reply subject: 400.
    b.publish("svc", "no reply".into()).await.unwrap();
    b.flush().await.unwrap();
    out.push(next_json(&mut lat0).await);

    // 3. `sampling: headers`: without tracing headers nothing, with them a metric that
    //    names them.
    b.request("hdr", "ping".into()).await.expect("answered");
    let mut h = async_nats::HeaderMap::new();
    h.insert("X-B3-Sampled", "1");
    h.insert("X-B3-TraceId", "80f198ee56343ba864fe8b2a57d3eff7");
    b.request_with_headers("hdr", h, "ping".into())
        .await
        .expect("answered");
    out.push(next_json(&mut lat).await);

    // 4. The short form, through an import with `share: true`.
    b.request("short", "ping".into()).await.expect("answered");
    out.push(next_json(&mut lat).await);

    // Nothing else arrived (the unsampled header request made no metric).
    let extra = tokio::time::timeout(Duration::from_millis(300), lat.next()).await;
    assert!(extra.is_err(), "go={go}: unexpected metric {extra:?}");
    out
}

#[tokio::test]
async fn latency_metrics_as_go() {
    let ours = scenario(false).await;
    let go = scenario(true).await;
    for (i, (o, g)) in ours.iter().zip(&go).enumerate() {
        assert_eq!(keys(o), keys(g), "metric {i}: ours {o}\n go {g}");
        for who in ["requestor", "responder"] {
            assert_eq!(
                keys(&o[who]),
                keys(&g[who]),
                "metric {i} {who}: ours {o}\n go {g}"
            );
        }
        assert_eq!(o["status"], g["status"], "metric {i}");
        assert_eq!(o["header"], g["header"], "metric {i}");
        assert_eq!(o["requestor"]["acc"], g["requestor"]["acc"], "metric {i}");
    }
    for (go, metrics) in [(false, &ours), (true, &go)] {
        let [ok, bad, hdr, share] = &metrics[..] else {
            panic!("go={go}: {metrics:?}")
        };
        for m in [ok, hdr, share] {
            assert_eq!(m["type"], "io.nats.server.metric.v1.service_latency");
            assert_eq!(m["status"], 200, "go={go}: {m}");
            assert_eq!(m["requestor"]["acc"], "B");
            assert_eq!(m["responder"]["acc"], "A");
            assert_eq!(m["responder"]["name"], "responder");
            let service = m["service"].as_u64().unwrap();
            let total = m["total"].as_u64().unwrap();
            // The responder sleeps 20 ms; loopback adds little.
            assert!(
                (15_000_000..2_000_000_000).contains(&service),
                "go={go}: {m}"
            );
            assert!(total >= service, "go={go}: {m}");
        }
        assert_eq!(bad["status"], 400);
        assert_eq!(bad["description"], "Bad Request");
        assert_eq!(hdr["header"]["X-B3-Sampled"][0], "1", "go={go}: {hdr}");
        // Without `share` the requester is its account and RTT; with it, everything.
        assert!(ok["requestor"].get("name").is_none(), "go={go}: {ok}");
        assert_eq!(share["requestor"]["name"], "requester", "go={go}: {share}");
    }
}
