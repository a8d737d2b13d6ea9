//! `nats server check connection`, and `info`/`ping` from a monitoring port or without
//! a system account (the system-account paths are in `system.rs`).

mod common;

use common::{run, TestServer};

#[test]
fn check_connection_ok() {
    let s = TestServer::start();
    let d = run(&["server", "check", "connection", "-s", &s.url]);
    assert_eq!(d.status.code(), Some(0), "{}{}", d.stdout, d.stderr);
    let line = d.stdout.trim_end();
    let prefix = format!("OK Connection OK:connected to {} in ", s.url);
    assert!(line.starts_with(&prefix), "{line}");
    assert!(line.contains(" OK:rtt time "), "{line}");
    assert!(line.contains(" OK:round trip took "), "{line}");
    let perf = line.split(" | ").nth(1).unwrap_or_default();
    assert!(
        perf.starts_with("connect_time=")
            && perf.contains(" rtt=")
            && perf.contains(" request_time="),
        "{perf}"
    );
}

#[test]
fn check_connection_critical_when_down() {
    let dead = common::dead_url();
    let url = dead.url.clone();
    let d = run(&["server", "check", "conn", "-s", &url]);
    assert_eq!(d.status.code(), Some(2));
    assert!(
        d.stdout
            .starts_with("CRITICAL Connection Crit:connection failed: "),
        "{}",
        d.stdout
    );
}

#[test]
fn info_and_ping_from_monitor() {
    let s = TestServer::start();
    let m = run(&["server", "info", "--monitor", &s.monitor]);
    assert!(m.status.success(), "{}", m.stderr);
    for key in [
        "Server information for ",
        "Version: ",
        "Uptime: ",
        "Connections: ",
        "Messages: ",
    ] {
        assert!(m.stdout.contains(key), "missing {key:?}:\n{}", m.stdout);
    }
    let d = run(&["server", "ping", "--monitor", &s.monitor]);
    assert!(d.status.success(), "{}{}", d.stdout, d.stderr);
    assert!(d.stdout.contains(" rtt="), "{}", d.stdout);
    assert!(
        d.stdout
            .contains("---- ping statistics ----\n1 replies max: "),
        "{}",
        d.stdout
    );
}

/// The default user lives in the global account, not the system account: `$SYS`
/// requests meet "no responders" and we say so, pointing at `--monitor`.
#[test]
fn without_system_account_info_and_ping_fail_with_a_hint() {
    let s = TestServer::start();
    for args in [
        vec!["server", "info", "-s", &s.url],
        vec!["server", "ping", "-s", &s.url],
        vec!["server", "ls", "-s", &s.url],
    ] {
        let d = run(&args);
        assert_eq!(d.status.code(), Some(1), "{args:?}: {}", d.stdout);
        assert!(
            d.stderr.contains("ensure a system account is used")
                || d.stderr
                    .contains("ensure the account used has system privileges"),
            "{args:?}: {}",
            d.stderr
        );
        assert!(d.stderr.contains("--monitor"), "{args:?}: {}", d.stderr);
    }
}
