//! Clustering between our servers: the guide's walkthrough, full mesh from one seed,
//! interest propagation, the one-hop rule, queue groups across nodes, client URL updates,
//! healing after kill -9, duplicate routes and cluster names.

mod common;

use std::time::Duration;

use common::{route_url, start, wait_for, wait_full_mesh, Raw, ServerProcess};
use futures::StreamExt;

const MESH_TIMEOUT: Duration = Duration::from_secs(10);

fn seed(extra: &[&str]) -> ServerProcess {
    let mut args = vec![
        "-cluster",
        "nats://127.0.0.1:-1",
        "--cluster_name",
        "test-cluster",
        "-D",
    ];
    args.extend_from_slice(extra);
    start(&args)
}

fn join(seed: &ServerProcess, extra: &[&str]) -> ServerProcess {
    let r = route_url(seed);
    let mut args = vec![
        "-cluster",
        "nats://127.0.0.1:-1",
        "-routes",
        &r,
        "--cluster_name",
        "test-cluster",
        "-D",
    ];
    args.extend_from_slice(extra);
    start(&args)
}

/// Count the MSGs for `subject` a raw subscriber receives until `quiet` passes without
/// more.
fn count_msgs(r: &mut Raw, quiet: Duration) -> usize {
    let text = r.drain(quiet);
    text.matches("MSG ").count()
}

#[tokio::test]
async fn guide_walkthrough_three_servers() {
    let a = seed(&[]);
    let b = join(&a, &[]);
    let c = join(&a, &[]);
    assert!(
        wait_full_mesh(&[&a, &b, &c], MESH_TIMEOUT),
        "mesh did not form"
    );

    // The lines the guide tells users to look for.
    for s in [&b, &c] {
        for line in [
            "Listening for route connections on 127.0.0.1:",
            "Trying to connect to route on 127.0.0.1:",
            "- rid:",
            "Route connect msg sent",
            "Route connection created",
            "Registering remote route",
            "Sent local subscriptions to route",
        ] {
            assert!(s.log().contains(line), "missing {line:?} in:\n{}", s.log());
        }
    }

    let sub_client = async_nats::connect(a.url()).await.unwrap();
    let mut sub = sub_client.subscribe("hello").await.unwrap();
    sub_client.flush().await.unwrap();
    let all = format!("{},{},{}", a.url(), b.url(), c.url());
    let targets = [a.url(), b.url(), c.url(), all];
    for (i, url) in targets.iter().enumerate() {
        let addrs: Vec<async_nats::ServerAddr> =
            url.split(',').map(|u| u.parse().unwrap()).collect();
        let p = async_nats::connect(addrs).await.unwrap();
        // Interest reaches the other servers asynchronously: wait until it has.
        let body = format!("world_{i}");
        let mut got = None;
        for _ in 0..100 {
            p.publish("hello", body.clone().into()).await.unwrap();
            p.flush().await.unwrap();
            if let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(100), sub.next()).await
            {
                got = Some(m);
                break;
            }
        }
        let m = got.expect("message from each server");
        assert_eq!(m.payload, body.as_bytes());
    }
    // Exactly once: nothing more is queued.
    assert!(tokio::time::timeout(Duration::from_millis(300), sub.next())
        .await
        .is_err());
}

#[test]
fn full_mesh_of_five_from_one_seed() {
    let a = seed(&[]);
    let others: Vec<ServerProcess> = (0..4).map(|_| join(&a, &[])).collect();
    let mut all: Vec<&ServerProcess> = vec![&a];
    all.extend(others.iter());
    assert!(
        wait_full_mesh(&all, MESH_TIMEOUT),
        "5-node mesh did not form"
    );
    for s in &all {
        let ids = s.log_count("Registering remote route");
        let dups = s.log_count("Router connection closed: Duplicate Route");
        assert_eq!(ids - dups, 4, "each server keeps 4 routes:\n{}", s.log());
    }
}

/// Wait until a publish on `pubr` reaches `sub` (interest propagated), draining it.
fn wait_interest(pubr: &mut Raw, sub: &mut Raw, subject: &str) {
    let ok = wait_for(MESH_TIMEOUT, || {
        pubr.send(format!("PUB {subject} 5\r\nprobe\r\nPING\r\n"));
        pubr.expect("PONG\r\n");
        sub.try_expect(r"MSG \S+ \S+ 5\r\nprobe\r\n", Duration::from_millis(50))
            .is_some()
    });
    assert!(ok, "interest in {subject} never arrived");
    sub.drain(Duration::from_millis(200));
}

#[test]
fn one_hop_each_subscriber_gets_one_copy() {
    let a = seed(&[]);
    let b = join(&a, &[]);
    let c = join(&a, &[]);
    assert!(wait_full_mesh(&[&a, &b, &c], MESH_TIMEOUT));
    let mut subs: Vec<Raw> = [&a, &b, &c]
        .iter()
        .map(|s| {
            let mut r = Raw::handshake(&s.addr(), r#"{"verbose":false}"#);
            r.send("SUB onehop 1\r\nPING\r\n");
            r.expect("PONG\r\n");
            r
        })
        .collect();
    let mut pa = Raw::handshake(&a.addr(), r#"{"verbose":false}"#);
    for sub in subs.iter_mut() {
        wait_interest(&mut pa, sub, "onehop");
    }
    for s in subs.iter_mut() {
        s.drain(Duration::from_millis(200));
    }
    let n = 500;
    for p in [&a, &b, &c] {
        let mut pubr = Raw::handshake(&p.addr(), r#"{"verbose":false}"#);
        for _ in 0..n {
            pubr.send("PUB onehop 2\r\nhi\r\n");
        }
        pubr.send("PING\r\n");
        pubr.expect("PONG\r\n");
    }
    for (i, s) in subs.iter_mut().enumerate() {
        assert_eq!(
            count_msgs(s, Duration::from_millis(700)),
            3 * n,
            "subscriber {i}"
        );
    }
}

#[test]
fn interest_withdrawal_stops_forwarding() {
    let a = seed(&[]);
    let b = join(&a, &[]);
    assert!(wait_full_mesh(&[&a, &b], MESH_TIMEOUT));
    let mut sub = Raw::handshake(&b.addr(), r#"{"verbose":false}"#);
    sub.send("SUB gone 1\r\nPING\r\n");
    sub.expect("PONG\r\n");
    let mut pa = Raw::handshake(&a.addr(), r#"{"verbose":false}"#);
    wait_interest(&mut pa, &mut sub, "gone");
    sub.send("UNSUB 1\r\nSUB gone 2\r\nUNSUB 2\r\nPING\r\n");
    sub.expect("PONG\r\n");
    // After RS- reaches A, A stops sending: its route out_msgs stop growing. Observed
    // here through the subscriber, which must see nothing more.
    std::thread::sleep(Duration::from_millis(300));
    pa.send("PUB gone 1\r\nx\r\nPING\r\n");
    pa.expect("PONG\r\n");
    assert_eq!(count_msgs(&mut sub, Duration::from_millis(300)), 0);
}

#[test]
fn queue_group_across_three_nodes_exactly_once() {
    let a = seed(&[]);
    let b = join(&a, &[]);
    let c = join(&a, &[]);
    assert!(wait_full_mesh(&[&a, &b, &c], MESH_TIMEOUT));
    let mut members: Vec<Raw> = [&a, &b, &c]
        .iter()
        .map(|s| {
            let mut r = Raw::handshake(&s.addr(), r#"{"verbose":false}"#);
            r.send("SUB work workers 1\r\nPING\r\n");
            r.expect("PONG\r\n");
            r
        })
        .collect();
    // Interest from B and C reaches A: wait until A knows 3 members (a probe to a
    // plain subscriber on each node proves their RS+ went out before).
    let mut probes: Vec<Raw> = [&b, &c]
        .iter()
        .map(|s| {
            let mut r = Raw::handshake(&s.addr(), r#"{"verbose":false}"#);
            r.send("SUB work.probe 1\r\nPING\r\n");
            r.expect("PONG\r\n");
            r
        })
        .collect();
    let mut pa = Raw::handshake(&a.addr(), r#"{"verbose":false}"#);
    for p in probes.iter_mut() {
        wait_interest(&mut pa, p, "work.probe");
    }
    let n = 10_000;
    for _ in 0..n {
        pa.send("PUB work 1\r\nx\r\n");
    }
    pa.send("PING\r\n");
    pa.expect("PONG\r\n");
    let counts: Vec<usize> = members
        .iter_mut()
        .map(|m| count_msgs(m, Duration::from_millis(1000)))
        .collect();
    assert_eq!(counts.iter().sum::<usize>(), n, "exactly once: {counts:?}");
    assert!(
        counts.iter().all(|&k| k > n / 10),
        "spread across nodes: {counts:?}"
    );
}

#[test]
fn routed_queue_message_prefers_local_members() {
    // A member on B and one on C; a publish on A is routed to one server with the queue
    // named, and that server must hand it to its local member (never bounce it on).
    let a = seed(&[]);
    let b = join(&a, &[]);
    assert!(wait_full_mesh(&[&a, &b], MESH_TIMEOUT));
    let mut mb = Raw::handshake(&b.addr(), r#"{"verbose":false}"#);
    mb.send("SUB lp q 1\r\nSUB lp.probe 2\r\nPING\r\n");
    mb.expect("PONG\r\n");
    let mut pa = Raw::handshake(&a.addr(), r#"{"verbose":false}"#);
    wait_interest(&mut pa, &mut mb, "lp.probe");
    for _ in 0..1000 {
        pa.send("PUB lp 1\r\nx\r\n");
    }
    pa.send("PING\r\n");
    pa.expect("PONG\r\n");
    assert_eq!(count_msgs(&mut mb, Duration::from_millis(700)), 1000);
}

#[test]
fn async_info_on_join_and_leave() {
    let a = seed(&[]);
    let mut client = Raw::handshake(&a.addr(), r#"{"verbose":false,"protocol":1}"#);
    let mut b = join(&a, &[]);
    let caps = client.expect(r"INFO (\{.*\}) ?\r\n");
    let info: serde_json::Value = serde_json::from_str(&caps[1]).unwrap();
    let urls: Vec<&str> = info["connect_urls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(urls.contains(&b.addr().as_str()), "{urls:?}");
    b.kill();
    let caps = client.expect(r"INFO (\{.*\}) ?\r\n");
    let info: serde_json::Value = serde_json::from_str(&caps[1]).unwrap();
    let urls: Vec<String> = info["connect_urls"]
        .as_array()
        .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    assert!(!urls.contains(&b.addr()), "{urls:?}");
}

#[tokio::test]
async fn kill_and_restart_heals_mesh_and_interest() {
    let a = seed(&[]);
    let b = join(&a, &[]);
    let mut c = join(&a, &[]);
    assert!(wait_full_mesh(&[&a, &b, &c], MESH_TIMEOUT));
    let urls: Vec<async_nats::ServerAddr> =
        vec![a.url().parse().unwrap(), b.url().parse().unwrap()];
    let client = async_nats::connect(urls).await.unwrap();
    let mut sub = client.subscribe("heal").await.unwrap();
    client.flush().await.unwrap();
    c.kill();
    assert!(wait_full_mesh(&[&a, &b], MESH_TIMEOUT), "survivors drop C");
    let c2 = join(&a, &[]);
    assert!(
        wait_full_mesh(&[&a, &b, &c2], MESH_TIMEOUT),
        "mesh heals with the new C"
    );
    let p = async_nats::connect(c2.url()).await.unwrap();
    let mut got = false;
    for _ in 0..100 {
        p.publish("heal", "x".into()).await.unwrap();
        p.flush().await.unwrap();
        if let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(100), sub.next()).await {
            got = true;
            break;
        }
    }
    assert!(got, "interest reaches the restarted node");
}

#[test]
fn explicit_routes_both_ways_end_with_one_route() {
    // Two servers that each list the other: both dial, exactly one connection survives.
    let (pa, pb) = (common::free_port(), common::free_port());
    let (ca, cb) = (
        format!("nats://127.0.0.1:{pa}"),
        format!("nats://127.0.0.1:{pb}"),
    );
    let a = start(&["-cluster", &ca, "-routes", &cb, "--cluster_name", "t", "-D"]);
    let b = start(&["-cluster", &cb, "-routes", &ca, "--cluster_name", "t", "-D"]);
    assert!(wait_full_mesh(&[&a, &b], MESH_TIMEOUT));
    assert!(
        wait_for(MESH_TIMEOUT, || {
            [&a, &b].iter().all(|s| {
                s.log_count("Registering remote route")
                    == s.log_count("Router connection closed") + 1
            })
        }),
        "A:\n{}\nB:\n{}",
        a.log(),
        b.log()
    );
}

#[test]
fn cluster_name_mismatch_is_refused() {
    let a = start(&["-cluster", "nats://127.0.0.1:-1", "--cluster_name", "alpha"]);
    let r = route_url(&a);
    let b = start(&[
        "-cluster",
        "nats://127.0.0.1:-1",
        "--cluster_name",
        "beta",
        "-routes",
        &r,
    ]);
    assert!(
        a.wait_log(
            r#"Rejecting connection, cluster name "beta" does not match "alpha""#,
            MESH_TIMEOUT
        ),
        "{}",
        a.log()
    );
    assert!(
        b.wait_log(
            "Router connection closed: Cluster Name Conflict",
            MESH_TIMEOUT
        ),
        "{}",
        b.log()
    );
    assert!(connect_urls_len(&a) <= 1);
}

fn connect_urls_len(s: &ServerProcess) -> usize {
    common::connect_urls(&s.addr()).len()
}

#[test]
fn dynamic_cluster_name_adopts_the_configured_one() {
    let a = start(&[
        "-cluster",
        "nats://127.0.0.1:-1",
        "--cluster_name",
        "alpha",
        "-D",
    ]);
    let r = route_url(&a);
    let b = start(&["-cluster", "nats://127.0.0.1:-1", "-routes", &r, "-D"]);
    assert!(
        b.wait_log("Cluster name updated to alpha", MESH_TIMEOUT),
        "{}",
        b.log()
    );
    assert!(wait_full_mesh(&[&a, &b], MESH_TIMEOUT));
}

#[test]
fn route_to_self_is_ignored_quietly() {
    // Every node listed in routes, itself included (the Helm chart's layout).
    let a = seed(&[]);
    let ra = route_url(&a);
    let pc = common::free_port();
    let cc = format!("nats://127.0.0.1:{pc}");
    let routes = format!("{ra},{cc}");
    let c = start(&[
        "-cluster",
        &cc,
        "--cluster_name",
        "test-cluster",
        "-routes",
        &routes,
        "-D",
    ]);
    assert!(wait_full_mesh(&[&a, &c], MESH_TIMEOUT));
    assert!(!c.log().contains("[ERR]"), "{}", c.log());
    assert!(
        !c.log().contains("Duplicate Route"),
        "self is skipped before dialling:\n{}",
        c.log()
    );
}

#[test]
fn nine_nodes_started_at_once_form_a_mesh_without_duplicate_storms() {
    // All nine start together, each routed to the seed only. nats-server 2.9.10 in the
    // same setup logs ~80-95 "Duplicate Route" closes here (every gossiped link is dialled
    // from both ends); the tie-break between our servers dials each link from one end.
    let seed_port = common::free_port();
    let seed_url = format!("nats://127.0.0.1:{seed_port}");
    let mut nodes = Vec::new();
    let handles: Vec<_> = (0..9)
        .map(|i| {
            let seed_url = seed_url.clone();
            std::thread::spawn(move || {
                let listen = if i == 0 {
                    seed_url.clone()
                } else {
                    "nats://127.0.0.1:-1".to_string()
                };
                start(&[
                    "-cluster",
                    &listen,
                    "-routes",
                    &seed_url,
                    "--cluster_name",
                    "nine",
                    "-D",
                ])
            })
        })
        .collect();
    for h in handles {
        nodes.push(h.join().unwrap());
    }
    let all: Vec<&ServerProcess> = nodes.iter().collect();
    assert!(wait_full_mesh(&all, Duration::from_secs(20)), "9-node mesh");
    let dups: usize = nodes
        .iter()
        .map(|s| s.log_count("Router connection closed: Duplicate Route"))
        .sum();
    assert!(dups <= 8, "{dups} duplicate-route closes");
}
