//! The clustering guide (shared/guide/clustering-guide.zh.txt), command for command:
//! three servers routed to a seed, `nats sub` on the first, `nats pub` on each and then
//! on the whole URL list. Our users type these lines verbatim, so the output lines are
//! checked exactly (only the clock is a pattern).

mod common;

use std::time::{Duration, Instant};

use common::{http_get_json, is_log_line, run, Background, TestServer, WAIT};

/// Polls `/routez?subs=1` on `server` until a route carries interest in `subject`.
fn wait_route_interest(server: &TestServer, subject: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        let routez = http_get_json(&server.monitor, "/routez?subs=1");
        let seen = routez["routes"].as_array().is_some_and(|routes| {
            routes.iter().any(|r| {
                r["subscriptions_list"]
                    .as_array()
                    .is_some_and(|subs| subs.iter().any(|s| s.as_str() == Some(subject)))
            })
        });
        if seen {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no route interest in {subject} on {}",
            server.url
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Polls `/routez` until the server has `n` routes (the full mesh).
fn wait_routes(server: &TestServer, n: u64) {
    let deadline = Instant::now() + WAIT;
    while http_get_json(&server.monitor, "/routez")["num_routes"].as_u64() != Some(n) {
        assert!(
            Instant::now() < deadline,
            "{} never reached {n} routes",
            server.url
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn publish(url: &str, body: &str) {
    let p = run(&["pub", "-s", url, "hello", body]);
    assert!(p.status.success(), "{}", p.stderr);
    let expected = format!("Published {} bytes to \"hello\"", body.len());
    assert!(
        is_log_line(p.stderr.trim_end(), &expected),
        "{:?}",
        p.stderr
    );
}

#[test]
fn three_server_cluster_as_in_the_guide() {
    guide(TestServer::start_with);
}

/// The same walkthrough against the Go server, so the expected output is the reference's.
#[test]
fn three_go_servers_as_in_the_guide() {
    guide(TestServer::start_go_with);
}

fn guide(start: fn(&[&str]) -> TestServer) {
    let cluster = [
        "--cluster",
        "nats://127.0.0.1:-1",
        "--cluster_name",
        "test-cluster",
    ];
    let a = start(&cluster);
    let seed = a.cluster.clone().expect("seed cluster url");
    let mut routed = cluster.to_vec();
    routed.extend(["--routes", &seed]);
    let b = start(&routed);
    let c = start(&routed);
    for s in [&a, &b, &c] {
        wait_routes(s, 2);
    }

    // nats sub -s "nats://127.0.0.1:4222" hello &
    let sub = Background::spawn(&["sub", "-s", &a.url, "hello"]);
    sub.wait_log("Subscribing on hello");
    for s in [&b, &c] {
        wait_route_interest(s, "hello");
    }

    publish(&a.url, "world_4222");
    publish(&b.url, "world_5222");
    publish(&c.url, "world_6222");
    let all = format!("{},{},{}", a.url, b.url, c.url);
    publish(&all, "whole_world");

    let out = sub.stdout.clone();
    out.wait_for("four messages", |t| t.matches("] Received on").count() == 4);
    let d = sub.interrupt();
    assert!(d.status.success());
    assert_eq!(
        d.stdout,
        "[#1] Received on \"hello\"\nworld_4222\n\n\
         [#2] Received on \"hello\"\nworld_5222\n\n\
         [#3] Received on \"hello\"\nworld_6222\n\n\
         [#4] Received on \"hello\"\nwhole_world\n\n"
    );
    assert!(is_log_line(
        d.stderr.lines().next().unwrap_or(""),
        "Subscribing on hello"
    ));
}
