//! `nats req` / `nats reply`: natscli's log lines, the queue group, echo mode,
//! templates, and the error texts and exit codes for no responders and timeouts.

mod common;

use common::{is_log_line, run, Background, TestServer};

#[test]
fn request_reply_with_templates() {
    let s = TestServer::start();
    let reply = Background::spawn(&[
        "reply",
        "-s",
        &s.url,
        "svc",
        "answer {{Count}}: {{Request}}",
        "--count",
        "2",
    ]);
    reply.wait_log("Listening on \"svc\" in group \"NATS-RPLY-22\"");

    let r = run(&["req", "-s", &s.url, "svc", "hi"]);
    assert!(r.status.success(), "{}", r.stderr);
    assert_eq!(r.stdout, "answer 0: hi\n\n");
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert!(
        is_log_line(lines[0], "Sending request on \"svc\""),
        "{}",
        r.stderr
    );
    assert!(lines[1].contains(" Received with rtt "), "{}", r.stderr);

    let raw = run(&["req", "-s", &s.url, "svc", "there", "--raw", "-H", "K:v"]);
    assert!(raw.status.success(), "{}", raw.stderr);
    assert_eq!(raw.stdout, "answer 1: there\n");
    assert_eq!(raw.stderr, "");

    let d = reply.wait();
    assert!(d.status.success(), "reply exit {:?}", d.status);
    assert!(
        d.stderr.contains(" [#0] Received on subject \"svc\":\n"),
        "{}",
        d.stderr
    );
    assert!(
        d.stderr.contains(" [#1] Received on subject \"svc\":\n"),
        "{}",
        d.stderr
    );
    assert!(d.stderr.contains(" K: v\n"), "{}", d.stderr);
    assert_eq!(d.stdout, "\nhi\n\nthere\n");
}

#[test]
fn echo_mode_returns_body_and_headers() {
    let s = TestServer::start();
    let reply = Background::spawn(&["reply", "-s", &s.url, "echo", "--count", "1"]);
    reply.wait_log("Listening on \"echo\"");
    assert!(reply
        .stderr
        .text()
        .contains("No body or command supplied, enabling echo mode"));
    let r = run(&["req", "-s", &s.url, "echo", "ping", "-H", "A:b"]);
    assert!(r.status.success(), "{}", r.stderr);
    assert_eq!(r.stdout, "ping\n\n");
    assert!(r.stderr.contains(" A: b\n"), "{}", r.stderr);
    assert!(
        r.stderr.contains(" NATS-Reply-Counter: 0\n"),
        "{}",
        r.stderr
    );
    assert!(reply.wait().status.success());
}

#[test]
fn custom_queue_name_is_reported() {
    let s = TestServer::start();
    let reply = Background::spawn(&[
        "reply", "-s", &s.url, "svc", "ok", "--queue", "mine", "--count", "1",
    ]);
    reply.wait_log("Listening on \"svc\" in group \"mine\"");
    assert_eq!(run(&["req", "-s", &s.url, "svc", "x", "-r"]).stdout, "ok\n");
    assert!(reply.wait().status.success());
}

#[test]
fn no_responders_is_an_error() {
    let s = TestServer::start();
    let r = run(&["req", "-s", &s.url, "nobody.home", "hi"]);
    assert_eq!(r.status.code(), Some(1));
    assert_eq!(r.stdout, "");
    let last = r.stderr.lines().last().unwrap_or_default();
    assert_eq!(
        last,
        "nats: error: nats: no responders available for request"
    );
}

#[test]
fn timeout_is_an_error() {
    let s = TestServer::start();
    // A subscriber that never answers: the request is delivered but nobody replies.
    let silent = Background::spawn(&["sub", "-s", &s.url, "silent"]);
    silent.wait_log("Subscribing on silent");
    let r = run(&["req", "-s", &s.url, "silent", "hi", "--timeout", "300ms"]);
    assert_eq!(r.status.code(), Some(1));
    assert_eq!(
        r.stderr.lines().last().unwrap_or_default(),
        "nats: error: nats: timeout"
    );
    assert!(silent.interrupt().status.success());
}
