//! `nats server check connection`, `nats server info` and `nats server ping`.

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
fn info_from_monitor_and_from_info() {
    let s = TestServer::start();
    let m = run(&["server", "info", "--monitor", &s.monitor]);
    assert!(m.status.success(), "{}", m.stderr);
    for key in [
        "Server information for ",
        "Version: ",
        "Uptime: ",
        "Connections: ",
        "Routes: ",
        "Messages: ",
    ] {
        assert!(m.stdout.contains(key), "missing {key:?}:\n{}", m.stdout);
    }
    let i = run(&["server", "info", "-s", &s.url]);
    assert!(i.status.success(), "{}", i.stderr);
    assert!(
        i.stdout.contains("Version: ")
            && i.stdout.contains(&format!("Host: 127.0.0.1:{}", s.port())),
        "{}",
        i.stdout
    );
}

#[test]
fn ping_both_ways() {
    let s = TestServer::start();
    for args in [
        vec!["server", "ping", "--monitor", &s.monitor],
        vec!["server", "ping", "-s", &s.url],
    ] {
        let d = run(&args);
        assert!(d.status.success(), "{args:?}: {}{}", d.stdout, d.stderr);
        assert!(d.stdout.contains(" rtt="), "{}", d.stdout);
        assert!(
            d.stdout
                .contains("---- ping statistics ----\n1 replies max: "),
            "{}",
            d.stdout
        );
    }
}
