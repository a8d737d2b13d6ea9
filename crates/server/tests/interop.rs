//! Mixed clusters of our server and the Go nats-server 2.9.10 (Debian's package): both
//! roles (our node as the seed, and joining a Go seed), messages and queue groups across
//! both kinds, no duplicates, and no protocol complaints in the Go logs.

mod common;

use std::time::Duration;

use common::{route_url, start, start_go, wait_for, wait_full_mesh, Raw, ServerProcess};

const MESH_TIMEOUT: Duration = Duration::from_secs(15);

fn cluster_args(routes: Option<&str>) -> Vec<String> {
    let mut v: Vec<String> = [
        "-cluster",
        "nats://127.0.0.1:-1",
        "--cluster_name",
        "mixed",
        "-D",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if let Some(r) = routes {
        v.push("-routes".into());
        v.push(r.to_string());
    }
    v
}

fn ours(routes: Option<&str>) -> ServerProcess {
    let a = cluster_args(routes);
    start(&a.iter().map(String::as_str).collect::<Vec<_>>())
}

fn go(routes: Option<&str>) -> ServerProcess {
    let a = cluster_args(routes);
    start_go(&a.iter().map(String::as_str).collect::<Vec<_>>())
}

fn subscriber(s: &ServerProcess, sub: &str) -> Raw {
    let mut r = Raw::handshake(&s.addr(), r#"{"verbose":false}"#);
    r.send(format!("{sub}\r\nPING\r\n"));
    r.expect("PONG\r\n");
    r
}

/// Publish probes from `from` until each subscriber has seen one (interest propagated).
fn wait_interest(from: &ServerProcess, subs: &mut [Raw], subject: &str) {
    let mut p = Raw::handshake(&from.addr(), r#"{"verbose":false}"#);
    for s in subs.iter_mut() {
        let ok = wait_for(MESH_TIMEOUT, || {
            p.send(format!("PUB {subject} 5\r\nprobe\r\nPING\r\n"));
            p.expect("PONG\r\n");
            s.try_expect(r"MSG \S+ \S+ 5\r\nprobe\r\n", Duration::from_millis(50))
                .is_some()
        });
        assert!(ok, "interest in {subject} never arrived");
    }
    for s in subs.iter_mut() {
        s.drain(Duration::from_millis(300));
    }
}

fn publish_n(s: &ServerProcess, subject: &str, n: usize) {
    let mut p = Raw::handshake(&s.addr(), r#"{"verbose":false}"#);
    let mut buf = String::new();
    for _ in 0..n {
        buf.push_str(&format!("PUB {subject} 2\r\nhi\r\n"));
    }
    p.send(buf);
    p.send("PING\r\n");
    p.expect("PONG\r\n");
}

fn count(r: &mut Raw) -> usize {
    r.drain(Duration::from_millis(800)).matches("MSG ").count()
}

fn assert_go_log_clean(g: &ServerProcess) {
    let log = g.log();
    for bad in [
        "parser ERROR",
        "Protocol Violation",
        "Route Error",
        "Parse Error",
        "invalid",
    ] {
        assert!(!log.contains(bad), "Go log shows {bad:?}:\n{log}");
    }
}

fn exercise(nodes: &[&ServerProcess], gos: &[&ServerProcess]) {
    assert!(
        wait_full_mesh(nodes, MESH_TIMEOUT),
        "mixed mesh did not form"
    );
    // A plain subscriber on every node; messages published on every node.
    let mut subs: Vec<Raw> = nodes
        .iter()
        .map(|s| subscriber(s, "SUB mix.plain 1"))
        .collect();
    for n in nodes {
        wait_interest(n, &mut subs, "mix.plain");
    }
    let per = 300;
    for n in nodes {
        publish_n(n, "mix.plain", per);
    }
    for (i, s) in subs.iter_mut().enumerate() {
        assert_eq!(
            count(s),
            per * nodes.len(),
            "subscriber on node {i}: exactly once"
        );
    }
    // One queue group with a member on every node; publish from each node.
    let mut members: Vec<Raw> = nodes
        .iter()
        .map(|s| subscriber(s, "SUB mix.q grp 1\r\nSUB mix.q.probe 2"))
        .collect();
    for n in nodes {
        wait_interest(n, &mut members, "mix.q.probe");
    }
    let total = 3000;
    for n in nodes {
        publish_n(n, "mix.q", total / nodes.len());
    }
    let counts: Vec<usize> = members.iter_mut().map(count).collect();
    assert_eq!(
        counts.iter().sum::<usize>(),
        total,
        "queue group exactly once: {counts:?}"
    );
    for g in gos {
        assert_go_log_clean(g);
    }
}

#[test]
fn our_seed_with_go_and_ours_joining() {
    let seed = ours(None);
    let r = route_url(&seed);
    let g = go(Some(&r));
    let o = ours(Some(&r));
    exercise(&[&seed, &g, &o], &[&g]);
    assert!(g.log().contains("Registering remote route"), "{}", g.log());
}

#[test]
fn go_seed_with_ours_joining() {
    let seed = go(None);
    let r = route_url(&seed);
    let o1 = ours(Some(&r));
    let o2 = ours(Some(&r));
    exercise(&[&seed, &o1, &o2], &[&seed]);
}

#[test]
fn go_seed_go_and_ours() {
    let seed = go(None);
    let r = route_url(&seed);
    let g2 = go(Some(&r));
    let o = ours(Some(&r));
    exercise(&[&seed, &g2, &o], &[&seed, &g2]);
}

#[test]
fn go_sees_our_route_protocol() {
    // Our server dials a Go server: Go must register us, with our id, and trace our
    // CONNECT with the route fields it expects.
    let g = start_go(&[
        "-cluster",
        "nats://127.0.0.1:-1",
        "--cluster_name",
        "mixed",
        "-DV",
    ]);
    let r = route_url(&g);
    let o = ours(Some(&r));
    assert!(wait_full_mesh(&[&g, &o], MESH_TIMEOUT));
    let id = common::server_id(&o);
    assert!(
        g.wait_log(&format!("Registering remote route \"{id}\""), MESH_TIMEOUT),
        "{}",
        g.log()
    );
    let log = g.log();
    let connect = log
        .lines()
        .find(|l| l.contains("<<- [CONNECT"))
        .expect("Go traced our CONNECT");
    for field in [
        "\"verbose\":false",
        "\"headers\":true",
        "\"cluster\":\"mixed\"",
        &format!("\"name\":\"{id}\""),
    ] {
        assert!(connect.contains(field), "{field} in {connect}");
    }
    assert!(
        !connect.contains("lnoc"),
        "we must not announce lnoc: {connect}"
    );
    assert_go_log_clean(&g);
}

#[test]
fn mismatched_cluster_name_with_go_is_refused() {
    let g = start_go(&[
        "-cluster",
        "nats://127.0.0.1:-1",
        "--cluster_name",
        "gocluster",
    ]);
    let r = route_url(&g);
    let o = start(&[
        "-cluster",
        "nats://127.0.0.1:-1",
        "--cluster_name",
        "ourcluster",
        "-routes",
        &r,
    ]);
    assert!(
        g.wait_log(
            r#"Rejecting connection, cluster name "ourcluster" does not match "gocluster""#,
            MESH_TIMEOUT
        ),
        "{}",
        g.log()
    );
    // Go's INFO reaches us first: like Go, we close on it without a word.
    assert!(
        o.wait_log(
            "Router connection closed: Cluster Name Conflict",
            MESH_TIMEOUT
        ),
        "{}",
        o.log()
    );
    assert!(!o.log().contains("Registering remote route"), "{}", o.log());
}
