//! Process lifecycle: signals, exit codes, pid and ports files, lame duck mode, reload.

mod common;

use std::time::Duration;

use common::{start, wait_for, Raw};

#[test]
fn sigint_exits_zero_and_removes_files() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("nats.pid");
    let mut s = start(&["-P", pid_file.to_str().unwrap()]);
    assert!(wait_for(Duration::from_secs(5), || pid_file.exists()));
    let pid: u32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(pid, s.pid());
    s.signal("INT");
    assert_eq!(s.wait_exit(Duration::from_secs(10)), Some(Some(0)));
    assert!(!pid_file.exists(), "pid file removed on exit");
    let log = s.log();
    assert!(log.contains("Initiating Shutdown..."), "{log}");
    assert!(log.contains("Server Exiting.."), "{log}");
}

#[test]
fn sigterm_exits_one_like_go_2_9() {
    let mut s = start(&[]);
    s.signal("TERM");
    assert_eq!(s.wait_exit(Duration::from_secs(10)), Some(Some(1)));
}

#[test]
fn startup_lines_match_nats_server() {
    let s = start(&["-D"]);
    let log = s.log();
    for line in [
        "[INF] Starting nats-server",
        "[INF]   Version:  2.9.10",
        "[INF]   Git:      [not set]",
        "[DBG]   Go build: ",
        "[INF]   Name:     N",
        "[INF]   ID:       N",
        &format!(
            "[INF] Listening for client connections on 127.0.0.1:{}",
            s.client_port
        ),
        "[INF] Server is ready",
    ] {
        assert!(log.contains(line), "missing {line:?} in\n{log}");
    }
    // `[pid] yyyy/mm/dd hh:mm:ss.uuuuuu [LVL] ` prefix.
    let re = regex::Regex::new(
        r"^\[\d+\] \d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{6} \[(INF|DBG|WRN|ERR|TRC)\] ",
    )
    .unwrap();
    for l in log.lines() {
        assert!(re.is_match(l), "bad log line {l:?}");
    }
}

#[test]
fn trace_shows_protocol_with_cid_prefix() {
    let s = start(&["-DV"]);
    let mut r = Raw::handshake(
        &s.addr(),
        r#"{"verbose":false,"name":"tracer","lang":"rust","version":"1.0"}"#,
    );
    r.send("SUB foo 1\r\nPUB foo 2\r\nhi\r\nPING\r\n");
    r.expect("PONG\r\n");
    assert!(
        s.wait_log("<<- [SUB foo 1]", Duration::from_secs(5)),
        "{}",
        s.log()
    );
    let log = s.log();
    assert!(log.contains(r#" - cid:"#), "{log}");
    assert!(
        log.contains(r#" - "v1.0:rust:tracer" - <<- [PUB foo 2]"#),
        "{log}"
    );
    assert!(log.contains(r#"<<- MSG_PAYLOAD: ["hi"]"#), "{log}");
    assert!(log.contains("->> [MSG foo 1 2]"), "{log}");
    assert!(log.contains("->> [PONG]"), "{log}");
}

#[test]
fn lame_duck_moves_clients_then_exits() {
    let (_d, path) =
        common::config("lame_duck_duration: \"30s\"\nlame_duck_grace_period: \"1s\"\n");
    let mut s = start(&["-c", &path, "-m", "-1"]);
    let mut c = Raw::handshake(&s.addr(), r#"{"verbose":false,"protocol":1}"#);
    s.signal("USR2");
    let caps = c.expect(r"INFO (\{.*\}) ?\r\n");
    let info: serde_json::Value = serde_json::from_str(&caps[1]).unwrap();
    assert_eq!(info["ldm"], true);
    assert!(s.wait_log(
        "Entering lame duck mode, stop accepting new clients",
        Duration::from_secs(5)
    ));
    let (code, _) = s.http_get("/healthz").unwrap();
    assert_eq!(code, 503, "healthz fails in lame duck mode");
    assert!(
        c.closed_within(Duration::from_secs(10)),
        "client closed after the grace period"
    );
    assert!(s.log().contains("Closing existing clients"), "{}", s.log());
    assert_eq!(s.wait_exit(Duration::from_secs(10)), Some(Some(0)));
}

#[test]
fn reload_applies_log_levels_and_refuses_name_change() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("r.conf");
    std::fs::write(&conf, "debug: false\n").unwrap();
    let s = start(&["-c", conf.to_str().unwrap()]);
    std::fs::write(&conf, "debug: true\n").unwrap();
    s.signal("HUP");
    assert!(
        s.wait_log("Reloaded: debug = true", Duration::from_secs(5)),
        "{}",
        s.log()
    );
    assert!(s.wait_log("Reloaded server configuration", Duration::from_secs(5)));
    // (The port comes from the command line here, which wins over the file; the name
    // does not.)
    std::fs::write(&conf, "debug: true\nserver_name: renamed\n").unwrap();
    s.signal("HUP");
    assert!(
        s.wait_log(
            "Failed to reload server configuration: config reload not supported for server_name",
            Duration::from_secs(5)
        ),
        "{}",
        s.log()
    );
    // Still serving.
    Raw::handshake(&s.addr(), "{}");
}

#[test]
fn signal_flag_sends_to_pid_file() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("nats.pid");
    let mut s = start(&["-P", pid_file.to_str().unwrap()]);
    assert!(wait_for(Duration::from_secs(5), || pid_file.exists()));
    let arg = format!("quit={}", pid_file.display());
    let st = std::process::Command::new(common::bin())
        .args(["--signal", &arg])
        .status()
        .unwrap();
    assert!(st.success());
    assert_eq!(s.wait_exit(Duration::from_secs(10)), Some(Some(0)));
}

#[test]
fn config_check_and_version_flags() {
    let (_d, path) = common::config("port: 4222\ncluster { listen: 127.0.0.1:6222, name: x }\n");
    let out = std::process::Command::new(common::bin())
        .args(["-t", "-c", &path])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        format!("nats-server: configuration file {path} is valid")
    );
    let out = std::process::Command::new(common::bin())
        .arg("-v")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("nats-server: v2.9.10"));
    let (_d2, bad) = common::config("port: 4222\nbogus_key: 1\n");
    let out = std::process::Command::new(common::bin())
        .args(["-c", &bad])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{bad}:2:1: unknown field \"bogus_key\"")),
        "{err}"
    );
}

#[test]
fn routes_without_cluster_is_an_error() {
    let out = std::process::Command::new(common::bin())
        .args(["-p", "-1", "--routes", "nats://127.0.0.1:1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("solicited routes require cluster capabilities"));
}

#[test]
fn shutdown_with_clients_and_routes_connected() {
    let mut a = start(&["-cluster", "nats://127.0.0.1:-1", "--cluster_name", "sd"]);
    let r = common::route_url(&a);
    let b = start(&[
        "-cluster",
        "nats://127.0.0.1:-1",
        "--cluster_name",
        "sd",
        "-routes",
        &r,
    ]);
    assert!(common::wait_full_mesh(&[&a, &b], Duration::from_secs(10)));
    let mut c = Raw::handshake(&a.addr(), r#"{"verbose":false}"#);
    c.send("SUB x 1\r\nPING\r\n");
    c.expect("PONG\r\n");
    a.signal("TERM");
    assert_eq!(
        a.wait_exit(Duration::from_secs(10)),
        Some(Some(1)),
        "{}",
        a.log()
    );
    assert!(c.closed_within(Duration::from_secs(3)));
    assert!(b.wait_log("Router connection closed", Duration::from_secs(5)));
}
