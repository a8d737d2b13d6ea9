//! Client authentication: user/password, token and a users list, as nats-server checks
//! them at CONNECT (and what the official clients see).

mod common;

use std::time::Duration;

use common::{start, Raw};

#[test]
fn user_password_required() {
    let s = start(&["--user", "alice", "--pass", "s3cret"]);
    let info = common::info(&s.addr());
    assert_eq!(info["auth_required"], true);
    let mut bad = Raw::connect(&s.addr());
    bad.expect("^INFO .*\r\n");
    bad.send("CONNECT {\"verbose\":false,\"user\":\"alice\",\"pass\":\"nope\"}\r\nPING\r\n");
    bad.expect("-ERR 'Authorization Violation'\r\n");
    assert!(bad.closed_within(Duration::from_secs(3)));
    let mut good = Raw::connect(&s.addr());
    good.expect("^INFO .*\r\n");
    good.send("CONNECT {\"verbose\":false,\"user\":\"alice\",\"pass\":\"s3cret\"}\r\nPING\r\n");
    good.expect("^PONG\r\n");
}

#[test]
fn ops_before_connect_are_refused_when_auth_is_required() {
    let s = start(&["--auth", "tok"]);
    let mut r = Raw::connect(&s.addr());
    r.expect("^INFO .*\r\n");
    r.send("SUB foo 1\r\n");
    r.expect("-ERR 'Authorization Violation'\r\n");
    assert!(r.closed_within(Duration::from_secs(3)));
}

#[test]
fn auth_timeout() {
    let (_d, path) = common::config("authorization { token: tok, timeout: 0.2 }\n");
    let s = start(&["-c", &path]);
    let mut r = Raw::connect(&s.addr());
    r.expect("^INFO .*\r\n");
    r.expect("-ERR 'Authentication Timeout'\r\n");
    assert!(r.closed_within(Duration::from_secs(3)));
}

#[tokio::test]
async fn official_client_with_token_and_users() {
    let (_d, path) = common::config(
        "authorization { users: [ { user: a, password: pa }, { user: b, password: pb } ] }\n",
    );
    let s = start(&["-c", &path]);
    let ok = async_nats::ConnectOptions::with_user_and_password("b".into(), "pb".into())
        .connect(s.url())
        .await;
    assert!(ok.is_ok());
    let bad = async_nats::ConnectOptions::with_user_and_password("b".into(), "pa".into())
        .connect(s.url());
    let bad = tokio::time::timeout(Duration::from_secs(5), bad).await;
    assert!(!matches!(bad, Ok(Ok(_))), "wrong password must not connect");

    let t = start(&["--auth", "s3cr3t"]);
    let c = async_nats::ConnectOptions::with_token("s3cr3t".into())
        .connect(t.url())
        .await;
    assert!(c.is_ok());
}
