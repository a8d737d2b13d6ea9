//! The route protocol on the wire, with a fake route peer speaking raw bytes to our server
//! and, for comparison, to the Go nats-server 2.9.10: the route INFO, interest (`RS+`/`RS-`
//! with queue weights), `RMSG` forms, and delivery of routed messages to local clients.

mod common;

use std::time::Duration;

use common::{start, start_go, Raw, ServerProcess};

const FAKE_ID: &str = "NFAKEROUTEPEER00000000000000000000000000000000000000000";

/// Connect to the cluster port as a route peer; returns the connection and the server's
/// route INFO.
fn fake_route(s: &ServerProcess) -> (Raw, serde_json::Value) {
    testkit::route_peer(
        &format!("127.0.0.1:{}", s.cluster_port.unwrap()),
        FAKE_ID,
        "wire",
    )
}

fn server(go: bool) -> ServerProcess {
    let args = ["-cluster", "nats://127.0.0.1:-1", "--cluster_name", "wire"];
    if go {
        start_go(&args)
    } else {
        start(&args)
    }
}

/// Everything the peer receives, minus system-account chatter and pings.
fn route_lines(r: &mut Raw, wait: Duration) -> Vec<String> {
    r.drain(wait)
        .split("\r\n")
        .filter(|l| !l.is_empty() && !l.contains("$SYS") && *l != "PING" && *l != "PONG")
        .map(String::from)
        .collect()
}

/// The scenario, run the same way against either server. Returns the transcript.
fn scenario(go: bool) -> Vec<String> {
    let s = server(go);
    let (mut route, info) = fake_route(&s);
    assert_eq!(info["proto"], 2);
    assert_eq!(info["headers"], true);
    assert_eq!(info["cluster"], "wire");
    assert_eq!(info["nonce"].as_str().unwrap().len(), 15);
    let mut out = Vec::new();
    // Wait until the server registered us (its answer to our PING comes after).
    route.send("PING\r\n");
    route.expect("PONG\r\n");
    out.extend(route_lines(&mut route, Duration::from_millis(300)));

    let mut c = Raw::handshake(&s.addr(), r#"{"verbose":false,"headers":true}"#);
    c.send("SUB foo 1\r\nSUB foo 2\r\nSUB work grp 3\r\nSUB work grp 4\r\nPING\r\n");
    c.expect("PONG\r\n");
    out.push("--- after subs".into());
    out.extend(route_lines(&mut route, Duration::from_millis(300)));
    c.send("UNSUB 1\r\nUNSUB 3\r\nPING\r\n");
    c.expect("PONG\r\n");
    out.push("--- after one unsub each".into());
    out.extend(route_lines(&mut route, Duration::from_millis(300)));
    c.send("UNSUB 2\r\nUNSUB 4\r\nPING\r\n");
    c.expect("PONG\r\n");
    out.push("--- after last unsubs".into());
    out.extend(route_lines(&mut route, Duration::from_millis(300)));

    // Remote interest: messages from a local client go to the route in each RMSG form.
    route.send("RS+ $G bar\r\nRS+ $G jobs q1 2\r\nPING\r\n");
    route.expect("PONG\r\n");
    c.send("PUB bar 2\r\nhi\r\nPUB bar rep 2\r\nhi\r\nPUB jobs 2\r\nhi\r\nPUB jobs rep 2\r\nhi\r\nHPUB bar 12 14\r\nNATS/1.0\r\n\r\nhi\r\nPING\r\n");
    c.expect("PONG\r\n");
    out.push("--- routed out".into());
    out.extend(route_lines(&mut route, Duration::from_millis(300)));

    // Messages from the route reach local subscribers (plain, and queue only if named).
    c.send("SUB in 5\r\nSUB inq g 6\r\nPING\r\n");
    c.expect("PONG\r\n");
    route_lines(&mut route, Duration::from_millis(300));
    route.send("RMSG $G in 2\r\nhi\r\nRMSG $G in rep 2\r\nhi\r\nRMSG $G inq 2\r\nno\r\nRMSG $G inq | g 2\r\nq1\r\nRMSG $G inq + rep g 2\r\nq2\r\nHMSG $G in 12 14\r\nNATS/1.0\r\n\r\nhi\r\nPING\r\n");
    route.expect("PONG\r\n");
    c.send("PING\r\n");
    out.push("--- delivered locally".into());
    out.extend(
        c.drain(Duration::from_millis(300))
            .split("\r\n")
            .filter(|l| !l.is_empty())
            .map(String::from),
    );
    out
}

#[test]
fn route_protocol_matches_go() {
    let ours = scenario(false);
    let go = scenario(true);
    assert_eq!(ours, go, "\nours: {ours:#?}\ngo: {go:#?}");
    // And the transcript says what we expect (so a shared mistake would still show).
    let text = ours.join("\n");
    for line in [
        "RS+ $G foo",
        "RS+ $G work grp 2",
        "RS+ $G work grp 1",
        "RS- $G foo",
        "RS- $G work grp",
        "RMSG $G bar 2",
        "RMSG $G bar rep 2",
        "RMSG $G jobs | q1 2",
        "RMSG $G jobs + rep q1 2",
        "HMSG $G bar 12 14",
        "MSG in 5 2",
        "MSG in 5 rep 2",
        "MSG inq 6 2",
        "MSG inq 6 rep 2",
        "HMSG in 5 12 14",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    assert!(
        !text.contains("MSG inq 6 2\r\nno"),
        "unnamed queue must not be delivered"
    );
}

#[test]
fn cluster_authorization_requires_connect_first() {
    let (_d, path) = common::config(
        "cluster { name: wire, listen: \"127.0.0.1:-1\", authorization { user: ruser, password: rpass, timeout: 2 } }\n",
    );
    let s = start(&["-c", &path]);
    // An INFO without a CONNECT must not register a route.
    let mut r = Raw::connect(&format!("127.0.0.1:{}", s.cluster_port.unwrap()));
    let caps = r.expect(r"^INFO (\{.*\}) ?\r\n");
    let info: serde_json::Value = serde_json::from_str(&caps[1]).unwrap();
    assert_eq!(info["auth_required"], true);
    r.send(format!(
        "INFO {{\"server_id\":\"{FAKE_ID}\",\"proto\":2,\"host\":\"127.0.0.1\",\"port\":1,\"headers\":true,\"cluster\":\"wire\"}}\r\nRS+ $G x\r\n"
    ));
    r.expect("-ERR 'Authorization Violation'\r\n");
    assert!(r.closed_within(Duration::from_secs(3)));
    // Wrong password.
    let mut r = Raw::connect(&format!("127.0.0.1:{}", s.cluster_port.unwrap()));
    r.expect(r"^INFO .*\r\n");
    r.send("CONNECT {\"verbose\":false,\"user\":\"ruser\",\"pass\":\"bad\",\"name\":\"NX\",\"cluster\":\"wire\"}\r\n");
    r.expect("-ERR 'Authorization Violation'\r\n");
    assert!(r.closed_within(Duration::from_secs(3)));
    // Silence until the auth timeout.
    let mut r = Raw::connect(&format!("127.0.0.1:{}", s.cluster_port.unwrap()));
    r.expect(r"^INFO .*\r\n");
    r.expect("-ERR 'Authentication Timeout'\r\n");
}

#[test]
fn route_credentials_with_go_both_ways() {
    let conf = "cluster { name: auth, listen: \"127.0.0.1:-1\", authorization { user: ruser, password: rpass } }\n";
    let (_d1, p1) = common::config(conf);
    let (_d2, p2) = common::config(conf);
    let ours = start(&["-c", &p1]);
    let go_route = format!(
        "nats-route://ruser:rpass@127.0.0.1:{}",
        ours.cluster_port.unwrap()
    );
    let go = start_go(&["-c", &p2, "-routes", &go_route]);
    assert!(
        common::wait_full_mesh(&[&ours, &go], Duration::from_secs(10)),
        "Go dials us with credentials"
    );
    let our_route = format!(
        "nats-route://ruser:rpass@127.0.0.1:{}",
        go.cluster_port.unwrap()
    );
    let ours2 = start(&["-c", &p1, "-routes", &our_route]);
    assert!(
        common::wait_full_mesh(&[&ours, &go, &ours2], Duration::from_secs(10)),
        "we dial Go with credentials, and gossip carries them to our peer"
    );
    assert!(
        !go.log().contains("Authorization Violation"),
        "{}",
        go.log()
    );
}
