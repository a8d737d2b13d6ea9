//! Shared by the integration tests: start our binary (or the Go one) on free ports.
#![allow(dead_code)]

use std::path::PathBuf;

pub mod ws;

pub use testkit::{require_go_server, wait_for, Raw, ServerProcess};

/// Our `nats-server` binary, built by cargo for these tests.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_nats-server"))
}

/// Start our server with extra arguments (`-a 127.0.0.1 -p -1` are added).
pub fn start(args: &[&str]) -> ServerProcess {
    ServerProcess::start(&bin(), args)
}

/// Start the Go reference server with the same arguments.
pub fn start_go(args: &[&str]) -> ServerProcess {
    ServerProcess::start(&require_go_server(), args)
}

/// Write a config file into a temp dir that lives as long as the returned guard.
pub fn config(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("server.conf");
    std::fs::write(&path, text).expect("write config");
    let p = path.display().to_string();
    (dir, p)
}

/// The INFO a server sends to a new client.
pub fn info(addr: &str) -> serde_json::Value {
    let mut r = Raw::connect(addr);
    let caps = r.expect(r"^INFO (\{.*\}) ?\r\n");
    serde_json::from_str(&caps[1]).expect("INFO json")
}

/// `connect_urls` of a server's INFO.
pub fn connect_urls(addr: &str) -> Vec<String> {
    let i = info(addr);
    let mut v: Vec<String> = i["connect_urls"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|u| u.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Wait until every server's INFO lists exactly the client URLs of all of `servers`:
/// the mesh is complete as far as each member knows.
pub fn wait_full_mesh(servers: &[&ServerProcess], timeout: std::time::Duration) -> bool {
    let mut want: Vec<String> = servers.iter().map(|s| s.addr()).collect();
    want.sort();
    wait_for(timeout, || {
        servers.iter().all(|s| connect_urls(&s.addr()) == want)
    })
}

/// A `nats://127.0.0.1:<cluster port>` route URL for a started server.
pub fn route_url(s: &ServerProcess) -> String {
    format!("nats://127.0.0.1:{}", s.cluster_port.expect("cluster port"))
}

pub fn server_id(s: &ServerProcess) -> String {
    info(&s.addr())["server_id"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// A port that was free a moment ago (bind to 0, read, release). Only for tests that must
/// write a server's own cluster port into its configuration before it starts (routes to
/// itself, routes both ways); everything else uses `-1`.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}
