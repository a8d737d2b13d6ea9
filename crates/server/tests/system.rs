//! The system account: `$SYS.REQ.SERVER.PING` and the monitoring requests answered by
//! every server of a cluster (ours, and mixed with Go 2.9.10), the reply shapes compared
//! with Go's key for key, event filters, CONNECT/DISCONNECT advisories, `$SYS` hidden from
//! other accounts, and `system_account` naming a missing account.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::Value;

use common::{route_url, start, start_go, ServerProcess};

const ACCOUNTS: &str = "accounts { SYS: { users: [{user: sys, password: sys}] }, \
     A: { users: [{user: a, password: a}] } }\n\
     system_account: SYS\n";

fn server(go: bool, name: &str, extra: &str, args: &[&str]) -> (tempfile::TempDir, ServerProcess) {
    let (d, path) = common::config(&format!("{ACCOUNTS}server_name: {name}\n{extra}"));
    let mut a = vec!["-c", path.as_str()];
    a.extend_from_slice(args);
    let s = if go { start_go(&a) } else { start(&a) };
    (d, s)
}

async fn login(s: &ServerProcess, user: &str) -> async_nats::Client {
    async_nats::ConnectOptions::with_user_and_password(user.into(), user.into())
        .connect(s.addr())
        .await
        .expect("connect")
}

/// Send one request and collect every reply that arrives within `wait`.
async fn gather(c: &async_nats::Client, subject: &str, body: &str, wait: Duration) -> Vec<Value> {
    gather_n(c, subject, body, usize::MAX, wait).await
}

/// [`gather`], returning as soon as `n` replies are in.
async fn gather_n(
    c: &async_nats::Client,
    subject: &str,
    body: &str,
    n: usize,
    wait: Duration,
) -> Vec<Value> {
    let inbox = c.new_inbox();
    let mut sub = c.subscribe(inbox.clone()).await.unwrap();
    c.publish_with_reply(subject.to_string(), inbox, body.to_string().into())
        .await
        .unwrap();
    c.flush().await.unwrap();
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    while out.len() < n {
        let Ok(Some(m)) = tokio::time::timeout_at(deadline, sub.next()).await else {
            break;
        };
        out.push(serde_json::from_slice(&m.payload).expect("JSON reply"));
    }
    out
}

/// Ask `$SYS.REQ.SERVER.PING` until `n` servers answer (interest travels over routes a
/// moment after they connect); the replies of the first complete round.
async fn ping_until(c: &async_nats::Client, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = gather(c, "$SYS.REQ.SERVER.PING", "", Duration::from_millis(500)).await;
        if r.len() >= n || Instant::now() > deadline {
            return r;
        }
    }
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

fn names(replies: &[Value]) -> BTreeSet<String> {
    replies
        .iter()
        .map(|r| r["server"]["name"].as_str().unwrap_or("").to_string())
        .collect()
}

#[tokio::test]
async fn server_ping_is_answered_by_every_server_of_a_cluster() {
    let (_d1, s1) = server(
        false,
        "n1",
        "cluster { name: c, listen: 127.0.0.1:-1 }",
        &[],
    );
    let seed = format!(
        "cluster {{ name: c, listen: 127.0.0.1:-1, routes: [{}] }}",
        route_url(&s1)
    );
    let (_d2, s2) = server(false, "n2", &seed, &[]);
    let (_d3, s3) = server(false, "n3", &seed, &[]);
    assert!(common::wait_full_mesh(
        &[&s1, &s2, &s3],
        Duration::from_secs(10)
    ));
    let c = login(&s2, "sys").await;
    let replies = ping_until(&c, 3).await;
    assert_eq!(names(&replies), ["n1", "n2", "n3"].map(String::from).into());
    for r in &replies {
        let st = &r["statsz"];
        assert_eq!(st["routes"].as_array().map(Vec::len), Some(2), "{r}");
        assert_eq!(r["server"]["cluster"], "c");
    }
    // Every server has heard the others' STATSZ heartbeats.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = ping_until(&c, 3).await;
        if r.iter().all(|x| x["statsz"]["active_servers"] == 3) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "active_servers never reached 3: {r:?}"
        );
    }
    // A filter names one server: only it answers.
    let one = gather(
        &c,
        "$SYS.REQ.SERVER.PING",
        r#"{"server_name":"n3"}"#,
        Duration::from_millis(500),
    )
    .await;
    assert_eq!(names(&one), ["n3".to_string()].into());
    // `$SYS.REQ.SERVER.<id>.VARZ` reaches that server alone, wherever the requester is.
    let id = common::server_id(&s3);
    let v = gather(
        &c,
        &format!("$SYS.REQ.SERVER.{id}.VARZ"),
        "",
        Duration::from_millis(500),
    )
    .await;
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["data"]["server_id"], id.as_str());
}

#[tokio::test]
async fn mixed_cluster_with_go_answers_ping_from_both_sides() {
    let (_dg, go) = server(
        true,
        "go1",
        "cluster { name: c, listen: 127.0.0.1:-1 }",
        &[],
    );
    let seed = format!(
        "cluster {{ name: c, listen: 127.0.0.1:-1, routes: [{}] }}",
        route_url(&go)
    );
    let (_dr, rs) = server(false, "rs1", &seed, &[]);
    assert!(common::wait_full_mesh(&[&go, &rs], Duration::from_secs(10)));
    for s in [&go, &rs] {
        let c = login(s, "sys").await;
        let r = ping_until(&c, 2).await;
        assert_eq!(names(&r), ["go1", "rs1"].map(String::from).into());
    }
    for s in [&go, &rs] {
        for needle in ["[ERR]", "Protocol Violation", "Error processing"] {
            assert!(!s.log().contains(needle), "{}", s.log());
        }
    }
}

/// Our replies carry Go's keys: the envelope, `server`, `statsz` and each document.
#[tokio::test]
async fn replies_have_go_shapes() {
    let (_dg, go) = server(true, "go1", "", &[]);
    let (_dr, rs) = server(false, "rs1", "", &[]);
    let cg = login(&go, "sys").await;
    let cr = login(&rs, "sys").await;
    let wait = Duration::from_secs(5);
    let one = |mut v: Vec<Value>| {
        assert_eq!(v.len(), 1, "{v:?}");
        v.remove(0)
    };
    let g = one(gather_n(&cg, "$SYS.REQ.SERVER.PING", "", 1, wait).await);
    let r = one(gather_n(&cr, "$SYS.REQ.SERVER.PING", "", 1, wait).await);
    assert_eq!(keys(&r), keys(&g));
    assert_eq!(keys(&r["server"]), keys(&g["server"]));
    assert_eq!(keys(&r["statsz"]), keys(&g["statsz"]));
    for (ep, body) in [
        ("VARZ", ""),
        ("CONNZ", r#"{"subscriptions":true}"#),
        ("ROUTEZ", ""),
        ("SUBSZ", ""),
        ("HEALTHZ", ""),
        ("ACCOUNTZ", r#"{"account":"A"}"#),
    ] {
        let subject = format!("$SYS.REQ.SERVER.PING.{ep}");
        let g = one(gather_n(&cg, &subject, body, 1, wait).await);
        let r = one(gather_n(&cr, &subject, body, 1, wait).await);
        assert_eq!(keys(&r), keys(&g), "{ep}: {r} vs {g}");
        assert!(r.get("data").is_some(), "{ep}: {r}");
        if ep != "VARZ" {
            // Our /varz has fewer fields (no JetStream, leaf, gateway sections filled).
            let (gk, rk) = (keys(&g["data"]), keys(&r["data"]));
            assert!(
                gk.is_subset(&rk) || rk.is_subset(&gk),
                "{ep}: {rk:?} vs {gk:?}"
            );
        }
    }
    // CONNZ lists the requester with its account.
    let r = one(gather_n(&cr, "$SYS.REQ.SERVER.PING.CONNZ", "", 1, wait).await);
    assert_eq!(r["data"]["num_connections"], 1);
    // Account-scoped: `$SYS.REQ.ACCOUNT.<acc>.CONNZ` counts that account only.
    let _a = login(&rs, "a").await;
    let mut accz: Vec<Value> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while accz.len() != 1 || accz[0]["data"]["num_connections"] != 1 {
        assert!(Instant::now() < deadline, "{accz:?}");
        accz = gather(
            &cr,
            "$SYS.REQ.ACCOUNT.A.CONNZ",
            "",
            Duration::from_millis(300),
        )
        .await;
    }
    // A bad body is a 400 in the envelope, as Go answers it.
    let bad = one(gather_n(&cr, "$SYS.REQ.SERVER.PING.VARZ", "{nope", 1, wait).await);
    let gbad = one(gather_n(&cg, "$SYS.REQ.SERVER.PING.VARZ", "{nope", 1, wait).await);
    assert_eq!(bad["error"]["code"], 400);
    assert_eq!(gbad["error"]["code"], 400);
}

#[tokio::test]
async fn system_subjects_are_invisible_to_other_accounts() {
    let (_d, s) = server(false, "rs1", "", &[]);
    let a = login(&s, "a").await;
    let err = a
        .request("$SYS.REQ.SERVER.PING", "".into())
        .await
        .expect_err("no responders in account A");
    assert_eq!(err.kind(), async_nats::RequestErrorKind::NoResponders);
    // The system user gets an answer on the same subject.
    let sys = login(&s, "sys").await;
    let r = sys
        .request("$SYS.REQ.SERVER.PING", "".into())
        .await
        .unwrap();
    let v: Value = serde_json::from_slice(&r.payload).unwrap();
    assert_eq!(v["server"]["name"], "rs1");
}

#[tokio::test]
async fn connect_and_disconnect_advisories() {
    for go in [false, true] {
        let (_d, s) = server(go, "s1", "", &[]);
        let sys = login(&s, "sys").await;
        let mut events = sys.subscribe("$SYS.ACCOUNT.A.*").await.unwrap();
        sys.flush().await.unwrap();
        let a = async_nats::ConnectOptions::with_user_and_password("a".into(), "a".into())
            .name("adv-test")
            .connect(s.addr())
            .await
            .unwrap();
        a.publish("x", "12345".into()).await.unwrap();
        a.flush().await.unwrap();
        drop(a);
        let mut got = Vec::new();
        while got.len() < 2 {
            let m = tokio::time::timeout(Duration::from_secs(5), events.next())
                .await
                .expect("advisory within 5s")
                .unwrap();
            got.push((
                m.subject.to_string(),
                serde_json::from_slice::<Value>(&m.payload).unwrap(),
            ));
        }
        let (cs, c) = &got[0];
        let (ds, d) = &got[1];
        assert_eq!(cs, "$SYS.ACCOUNT.A.CONNECT", "go={go}");
        assert_eq!(ds, "$SYS.ACCOUNT.A.DISCONNECT", "go={go}");
        assert_eq!(c["type"], "io.nats.server.advisory.v1.client_connect");
        assert_eq!(d["type"], "io.nats.server.advisory.v1.client_disconnect");
        for e in [c, d] {
            assert_eq!(e["client"]["acc"], "A", "go={go}: {e}");
            assert_eq!(e["client"]["user"], "a");
            assert_eq!(e["client"]["name"], "adv-test");
            assert_eq!(e["client"]["kind"], "Client");
            assert_eq!(e["server"]["name"], "s1");
        }
        assert_eq!(d["reason"], "Client Closed", "go={go}: {d}");
        // The client's point of view: what it sent.
        assert_eq!(d["sent"]["msgs"], 1, "go={go}: {d}");
        assert_eq!(d["sent"]["bytes"], 5, "go={go}: {d}");
        // The system user's own connection (`SYS`) and `$G` clients send none to A.
        let mut ck = keys(c);
        ck.remove("client");
        assert_eq!(
            ck,
            ["id", "server", "timestamp", "type"]
                .map(String::from)
                .into()
        );
    }
}

#[test]
fn system_account_must_exist() {
    let (_d, path) = common::config("system_account: NOPE\n");
    for bin in [common::bin(), testkit::require_go_server()] {
        let out = std::process::Command::new(&bin)
            .args(["-c", &path, "-p", "-1"])
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("error resolving system account: account missing"),
            "{}: {err}",
            bin.display()
        );
    }
}

/// Every account may ask about itself, as through Go's system service imports:
/// `$SYS.REQ.SERVER.PING.CONNZ`, `$SYS.REQ.ACCOUNT.PING.CONNZ` and `…PING.STATZ` answer
/// with the requester's own account only, in the same shapes as Go.
#[tokio::test]
async fn accounts_see_their_own_connections_and_stats() {
    let (_dg, go) = server(true, "go1", "", &[]);
    let (_dr, rs) = server(false, "rs1", "", &[]);
    let mut docs = Vec::new();
    for s in [&rs, &go] {
        let a = login(s, "a").await;
        let _sys = login(s, "sys").await;
        let mut one = Vec::new();
        for subject in [
            "$SYS.REQ.SERVER.PING.CONNZ",
            "$SYS.REQ.ACCOUNT.PING.CONNZ",
            "$SYS.REQ.ACCOUNT.PING.STATZ",
        ] {
            let r = a.request(subject, "".into()).await.expect(subject);
            let v: Value = serde_json::from_slice(&r.payload).unwrap();
            one.push(v);
        }
        docs.push(one);
    }
    for (ours, go) in docs[0].iter().zip(&docs[1]) {
        assert_eq!(keys(ours), keys(go), "{ours} vs {go}");
        assert_eq!(keys(&ours["data"]), keys(&go["data"]), "{ours} vs {go}");
    }
    for d in &docs {
        // A's one connection, not the system user's.
        assert_eq!(d[0]["data"]["num_connections"], 1, "{}", d[0]);
        assert_eq!(d[1]["data"]["num_connections"], 1, "{}", d[1]);
        let st = d[2]["data"]["account_statz"].as_array().unwrap();
        assert_eq!(st.len(), 1);
        assert_eq!(st[0]["acc"], "A");
    }
}

/// Go 2.9.10's account connection events (`io.nats.server.advisory.v1.account_connections`)
/// on both subjects, the old and the new, when a client joins or leaves an account (an
/// accepted client counts in `$G` until its CONNECT moves it), and the answer to
/// `$SYS.REQ.ACCOUNT.<acc>.CONNS`: same subjects, key sets and counts from Go and us.
#[tokio::test]
async fn account_connection_events_and_requests() {
    let mut shapes = Vec::new();
    for go in [false, true] {
        let (_d, s) = server(go, "s1", "", &[]);
        let sys = login(&s, "sys").await;
        let mut events = sys.subscribe("$SYS.SERVER.ACCOUNT.*.CONNS").await.unwrap();
        let mut new_events = sys.subscribe("$SYS.ACCOUNT.*.SERVER.CONNS").await.unwrap();
        sys.flush().await.unwrap();
        let a = login(&s, "a").await;
        a.publish("x", "12345".into()).await.unwrap();
        a.flush().await.unwrap();
        // While A has a connection, CONNS is answered (with the event itself).
        let r = gather_n(
            &sys,
            "$SYS.REQ.ACCOUNT.A.CONNS",
            "",
            1,
            Duration::from_secs(2),
        )
        .await;
        assert_eq!(r.len(), 1, "go={go}");
        assert_eq!(r[0]["acc"], "A", "go={go}: {}", r[0]);
        assert_eq!(r[0]["conns"], 1, "go={go}: {}", r[0]);
        // A body naming another account is refused; an account without connections, or
        // one we do not know, gets no answer.
        let body = r#"{"acc":"B"}"#;
        let none = Duration::from_millis(300);
        assert!(gather(&sys, "$SYS.REQ.ACCOUNT.A.CONNS", body, none)
            .await
            .is_empty());
        assert!(gather(&sys, "$SYS.REQ.ACCOUNT.NOPE.CONNS", "", none)
            .await
            .is_empty());
        drop(a);
        let mut got = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        // $G (accept: 1) then A (CONNECT: 1, close: 0), each on both subjects.
        while got.len() < 6 {
            let m = tokio::select! {
                m = events.next() => m,
                m = new_events.next() => m,
                _ = tokio::time::sleep_until(deadline) => None,
            };
            let Some(m) = m else { break };
            let v: Value = serde_json::from_slice(&m.payload).unwrap();
            got.push((m.subject.to_string(), v));
        }
        let seen: Vec<(String, i64)> = got
            .iter()
            .map(|(s, v)| (s.clone(), v["conns"].as_i64().unwrap_or(-1)))
            .collect();
        for (subject, conns) in [
            ("$SYS.SERVER.ACCOUNT.$G.CONNS", 1),
            ("$SYS.ACCOUNT.$G.SERVER.CONNS", 1),
            ("$SYS.SERVER.ACCOUNT.A.CONNS", 1),
            ("$SYS.ACCOUNT.A.SERVER.CONNS", 1),
            ("$SYS.SERVER.ACCOUNT.A.CONNS", 0),
            ("$SYS.ACCOUNT.A.SERVER.CONNS", 0),
        ] {
            assert!(
                seen.contains(&(subject.to_string(), conns)),
                "go={go}: {subject} {conns} not in {seen:?}"
            );
        }
        let e = &got[0].1;
        assert_eq!(e["type"], "io.nats.server.advisory.v1.account_connections");
        assert_eq!(e["server"]["name"], "s1");
        shapes.push((keys(e), keys(&e["server"]), keys(&r[0])));
    }
    assert_eq!(shapes[0], shapes[1], "ours vs Go");
}
