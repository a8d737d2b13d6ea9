//! Wire-level behaviour of the client protocol, byte for byte: the INFO greeting, +OK and
//! PONG, framing leniencies, every -ERR and whether the connection closes.

mod common;

use std::time::Duration;

use common::{start, Raw};

#[test]
fn info_has_go_fields() {
    let s = start(&[]);
    let mut r = Raw::connect(&s.addr());
    let caps = r.expect(r"^INFO (\{.*\}) \r\n");
    let text = caps[1].clone();
    let info: serde_json::Value = serde_json::from_str(&text).unwrap();
    let id = info["server_id"].as_str().unwrap();
    assert_eq!(id.len(), 56);
    assert!(id.starts_with('N'));
    assert_eq!(info["server_name"], info["server_id"]);
    assert_eq!(info["version"], "2.9.10");
    assert_eq!(info["proto"], 1);
    assert!(info["go"].is_string());
    assert_eq!(info["host"], "127.0.0.1");
    assert_eq!(info["port"], s.client_port);
    assert_eq!(info["headers"], true);
    assert_eq!(info["max_payload"], 1048576);
    assert!(info["client_id"].as_u64().unwrap() >= 1);
    assert_eq!(info["client_ip"], "127.0.0.1");
    assert!(
        info.get("connect_urls").is_none(),
        "standalone sends no connect_urls"
    );
    assert!(info["rs_version"].is_string());
    // Field order as nats-server writes it.
    let order = [
        "server_id",
        "server_name",
        "version",
        "proto",
        "go",
        "host",
        "port",
        "headers",
        "max_payload",
        "client_id",
        "client_ip",
    ];
    let pos: Vec<usize> = order
        .iter()
        .map(|k| text.find(&format!("\"{k}\"")).unwrap())
        .collect();
    assert!(pos.windows(2).all(|w| w[0] < w[1]), "field order {pos:?}");
}

#[test]
fn verbose_by_default_then_pong() {
    let s = start(&[]);
    let mut r = Raw::connect(&s.addr());
    r.expect(r"^INFO .*\r\n");
    r.send("CONNECT {}\r\nPING\r\n");
    r.expect(r"^\+OK\r\nPONG\r\n$");
}

#[test]
fn non_verbose_only_pong() {
    let s = start(&[]);
    let mut r = Raw::handshake(&s.addr(), r#"{"verbose":false}"#);
    r.send("PING\r\n");
    r.expect(r"^PONG\r\n$");
}

#[test]
fn ops_case_insensitive_tabs_and_bare_newlines() {
    let s = start(&[]);
    let mut r = Raw::handshake(&s.addr(), r#"{"verbose":false}"#);
    r.send("sub foo 1\npub foo 2\nhi\r\n");
    r.expect(r"^MSG foo 1 2\r\nhi\r\n");
    r.send("SuB\tbar\t\t 2\r\nPuB  bar   reply.x  3\r\nabc\r\n");
    r.expect(r"^MSG bar 2 reply.x 3\r\nabc\r\n");
    r.send("PINGxyz\r\n");
    r.expect(r"^PONG\r\n");
}

#[test]
fn frames_split_at_every_byte() {
    let s = start(&[]);
    let mut r = Raw::handshake(&s.addr(), r#"{"verbose":false}"#);
    let script = b"SUB a.b 9\r\nPUB a.b reply 5\r\nhello\r\nPING\r\n";
    for b in script {
        r.send([*b]);
    }
    r.expect(r"^MSG a.b 9 reply 5\r\nhello\r\nPONG\r\n");
}

fn expect_err_and_close(r: &mut Raw, text: &str) {
    r.expect(&format!(r"-ERR '{}'\r\n", regex::escape(text)));
    assert!(
        r.closed_within(Duration::from_secs(3)),
        "connection should close after {text}"
    );
}

#[test]
fn bad_payload_terminator_is_unknown_op_and_closes() {
    let s = start(&[]);
    let mut r = Raw::handshake(&s.addr(), r#"{"verbose":false}"#);
    r.send("PUB foo 2\r\nhiX\r\n");
    expect_err_and_close(&mut r, "Unknown Protocol Operation");
}

#[test]
fn unknown_op_is_reported_before_newline() {
    let s = start(&[]);
    let mut r = Raw::handshake(&s.addr(), r#"{"verbose":false}"#);
    r.send("PUX");
    expect_err_and_close(&mut r, "Unknown Protocol Operation");
}

#[test]
fn max_payload_violation_closes() {
    let s = start(&[]);
    let mut r = Raw::handshake(&s.addr(), r#"{"verbose":false}"#);
    r.send("PUB foo 2000000\r\n");
    expect_err_and_close(&mut r, "Maximum Payload Violation");
}

#[test]
fn max_control_line_closes() {
    let s = start(&[]);
    let mut r = Raw::handshake(&s.addr(), r#"{"verbose":false}"#);
    let subject = "a".repeat(5000);
    r.send(format!("SUB {subject} 1\r\n"));
    expect_err_and_close(&mut r, "maximum control line exceeded");
}

#[test]
fn invalid_client_protocol_closes() {
    let s = start(&[]);
    let mut r = Raw::connect(&s.addr());
    r.expect("^INFO .*\r\n");
    r.send("CONNECT {\"protocol\":2}\r\n");
    expect_err_and_close(&mut r, "invalid client protocol");
}

#[test]
fn no_responders_without_headers_closes() {
    let s = start(&[]);
    let mut r = Raw::connect(&s.addr());
    r.expect("^INFO .*\r\n");
    r.send("CONNECT {\"no_responders\":true,\"verbose\":false}\r\n");
    expect_err_and_close(&mut r, "no responders requires headers support");
}

#[test]
fn invalid_subject_keeps_connection() {
    let s = start(&[]);
    let mut r = Raw::handshake(&s.addr(), r#"{"verbose":false}"#);
    r.send("SUB foo..bar 1\r\nPING\r\n");
    r.expect(r"^-ERR 'Invalid Subject'\r\nPONG\r\n");
}

#[test]
fn pedantic_invalid_publish_subject_still_routes() {
    let s = start(&[]);
    let mut r = Raw::handshake(&s.addr(), r#"{"verbose":false,"pedantic":true}"#);
    r.send("SUB foo.* 1\r\nPUB foo.* 2\r\nhi\r\n");
    r.expect(r"-ERR 'Invalid Publish Subject'\r\n");
    r.expect(r"MSG foo.\* 1 2\r\nhi\r\n");
}

#[test]
fn no_responders_status_bytes() {
    let s = start(&[]);
    let mut r = Raw::handshake(
        &s.addr(),
        r#"{"verbose":false,"headers":true,"no_responders":true}"#,
    );
    r.send("SUB _INBOX.x.* 7\r\nPUB svc _INBOX.x.1 2\r\nhi\r\n");
    r.expect(r"^HMSG _INBOX\.x\.1 7 16 16\r\nNATS/1\.0 503\r\n\r\n\r\n");
}

#[test]
fn headers_stripped_for_clients_without_header_support() {
    let s = start(&[]);
    let mut plain = Raw::handshake(&s.addr(), r#"{"verbose":false}"#);
    plain.send("SUB h 1\r\nPING\r\n");
    plain.expect("PONG\r\n");
    let mut hdr = Raw::handshake(&s.addr(), r#"{"verbose":false,"headers":true}"#);
    hdr.send("SUB h 2\r\nHPUB h 22 24\r\nNATS/1.0\r\nX-Id: 12\r\n\r\nhi\r\n");
    hdr.expect(r"^HMSG h 2 22 24\r\nNATS/1\.0\r\nX-Id: 12\r\n\r\nhi\r\n");
    plain.expect(r"^MSG h 1 2\r\nhi\r\n");
}

#[test]
fn hpub_without_headers_closes_silently() {
    let s = start(&[]);
    let mut r = Raw::handshake(&s.addr(), r#"{"verbose":false}"#);
    r.send("HPUB h 12 14\r\nNATS/1.0\r\n\r\nhi\r\n");
    assert!(r.closed_within(Duration::from_secs(3)));
    assert!(!r.buffered().contains("-ERR"), "{}", r.buffered());
}

#[test]
fn auto_unsubscribe_after_max() {
    let s = start(&[]);
    let mut r = Raw::handshake(&s.addr(), r#"{"verbose":false}"#);
    r.send(
        "SUB foo 1\r\nUNSUB 1 2\r\nPUB foo 1\r\na\r\nPUB foo 1\r\nb\r\nPUB foo 1\r\nc\r\nPING\r\n",
    );
    r.expect(r"^MSG foo 1 1\r\na\r\nMSG foo 1 1\r\nb\r\nPONG\r\n$");
}

#[test]
fn echo_off_suppresses_own_messages() {
    let s = start(&[]);
    let mut r = Raw::handshake(&s.addr(), r#"{"verbose":false,"echo":false}"#);
    r.send("SUB foo 1\r\nPUB foo 1\r\na\r\nPING\r\n");
    r.expect(r"^PONG\r\n$");
}

#[test]
fn verbose_ok_for_each_op() {
    let s = start(&[]);
    let mut r = Raw::handshake(&s.addr(), r#"{"verbose":true}"#);
    r.send("SUB foo 1\r\nPUB foo 1\r\na\r\nUNSUB 1\r\nUNSUB 99\r\n");
    r.expect(r"^(\+OK\r\n)?\+OK\r\n\+OK\r\nMSG foo 1 1\r\na\r\n\+OK\r\n\+OK\r\n");
}

#[test]
fn queue_group_delivers_to_one_member() {
    let s = start(&[]);
    let mut a = Raw::handshake(&s.addr(), r#"{"verbose":false}"#);
    let mut b = Raw::handshake(&s.addr(), r#"{"verbose":false}"#);
    a.send("SUB q.x workers 1\r\nPING\r\n");
    a.expect("PONG\r\n");
    b.send("SUB q.x workers 1\r\nPING\r\n");
    b.expect("PONG\r\n");
    let mut p = Raw::handshake(&s.addr(), r#"{"verbose":false}"#);
    for _ in 0..100 {
        p.send("PUB q.x 1\r\nz\r\n");
    }
    p.send("PING\r\n");
    p.expect("PONG\r\n");
    let got_a = a
        .drain(Duration::from_millis(300))
        .matches("MSG q.x")
        .count();
    let got_b = b
        .drain(Duration::from_millis(300))
        .matches("MSG q.x")
        .count();
    assert_eq!(got_a + got_b, 100);
    assert!(got_a > 0 && got_b > 0, "both members used: {got_a}/{got_b}");
}

#[test]
fn max_connections_exceeded() {
    let (_d, path) = common::config("max_connections: 1\n");
    let s = start(&["-c", &path]);
    let _first = Raw::handshake(&s.addr(), r#"{"verbose":false}"#);
    let mut second = Raw::connect(&s.addr());
    second.expect(r"^INFO .*\r\n");
    expect_err_and_close(&mut second, "maximum connections exceeded");
}

#[test]
fn stale_connection_after_unanswered_pings() {
    let (_d, path) = common::config("ping_interval: \"100ms\"\nping_max: 1\n");
    let s = start(&["-c", &path]);
    let mut r = Raw::handshake(&s.addr(), r#"{"verbose":false}"#);
    r.expect(r"PING\r\n");
    r.expect(r"-ERR 'Stale Connection'\r\n");
    assert!(r.closed_within(Duration::from_secs(3)));
}

#[test]
fn client_ops_before_connect_use_defaults() {
    let s = start(&[]);
    let mut r = Raw::connect(&s.addr());
    r.expect(r"^INFO .*\r\n");
    r.send("SUB foo 1\r\n");
    r.expect(r"^\+OK\r\n");
}

#[test]
fn one_bad_client_does_not_affect_another() {
    let s = start(&[]);
    let mut good = Raw::handshake(&s.addr(), r#"{"verbose":false}"#);
    good.send("SUB z 1\r\nPING\r\n");
    good.expect("PONG\r\n");
    let mut bad = Raw::handshake(&s.addr(), r#"{"verbose":false}"#);
    bad.send("\x00\x01garbage\r\n");
    assert!(bad.closed_within(Duration::from_secs(3)));
    let mut p = Raw::handshake(&s.addr(), r#"{"verbose":false}"#);
    p.send("PUB z 2\r\nok\r\n");
    good.expect(r"MSG z 1 2\r\nok\r\n");
}

#[test]
fn slow_consumer_is_cut_and_publisher_carries_on() {
    let (_d, path) = common::config("max_payload: 1024\nmax_pending: 100000\n");
    let s = start(&["-c", &path, "-m", "-1"]);
    // A subscriber that never reads.
    let mut slow = Raw::handshake(&s.addr(), r#"{"verbose":false}"#);
    slow.send("SUB flood 1\r\nPING\r\n");
    slow.expect("PONG\r\n");
    let mut p = Raw::handshake(&s.addr(), r#"{"verbose":false}"#);
    let chunk = "PUB flood 1000\r\n".to_string() + &"x".repeat(1000) + "\r\n";
    let batch = chunk.repeat(1000);
    let cut = testkit::wait_for(Duration::from_secs(30), || {
        p.send(&batch);
        s.log()
            .contains("Slow Consumer Detected: MaxPending of 100000 Exceeded")
    });
    assert!(cut, "{}", s.log());
    p.send("PING\r\n");
    p.expect("PONG\r\n");
    let (_, varz) = s.http_get("/varz").unwrap();
    let v: serde_json::Value = serde_json::from_str(&varz).unwrap();
    assert_eq!(v["slow_consumers"], 1);
}

#[test]
fn wildcard_host_takes_ipv4_and_ipv6_clients() {
    let s = start(&["-a", "0.0.0.0"]);
    let mut v4 = Raw::connect(&format!("127.0.0.1:{}", s.client_port));
    let caps = v4.expect(r"^INFO (\{.*\}) \r\n");
    let info: serde_json::Value = serde_json::from_str(&caps[1]).unwrap();
    assert_eq!(
        info["client_ip"], "127.0.0.1",
        "IPv4 peers are not shown IPv4-mapped"
    );
    assert_eq!(info["host"], "0.0.0.0");
    // IPv6 loopback, where the machine has it.
    if std::net::TcpListener::bind("[::1]:0").is_ok() {
        let mut v6 = Raw::connect(&format!("[::1]:{}", s.client_port));
        let caps = v6.expect(r"^INFO (\{.*\}) \r\n");
        let info: serde_json::Value = serde_json::from_str(&caps[1]).unwrap();
        assert_eq!(info["client_ip"], "::1");
    }
}
