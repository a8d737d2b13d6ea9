//! `nats pub` / `nats sub` against a real server: the exact lines our clustering guide
//! prints, counts, headers, queue groups, raw output, Ctrl-C, URL lists and credentials.

mod common;

use common::{is_log_line, run, Background, TestServer};

#[test]
fn guide_round_trip_prints_exact_lines() {
    let s = TestServer::start();
    let sub = Background::spawn(&["sub", "-s", &s.url, "hello", "--count", "1"]);
    sub.wait_log("Subscribing on hello");

    let p = run(&["pub", "-s", &s.url, "hello", "world_4222"]);
    assert!(p.status.success(), "pub failed: {}", p.stderr);
    assert_eq!(p.stdout, "");
    let lines: Vec<&str> = p.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{:?}", p.stderr);
    assert!(
        is_log_line(lines[0], "Published 10 bytes to \"hello\""),
        "{:?}",
        lines[0]
    );

    let d = sub.wait();
    assert!(d.status.success());
    assert_eq!(d.stdout, "[#1] Received on \"hello\"\nworld_4222\n\n");
    let first = d.stderr.lines().next().unwrap_or_default();
    assert!(is_log_line(first, "Subscribing on hello"), "{:?}", d.stderr);
}

#[test]
fn count_and_templates() {
    let s = TestServer::start();
    let sub = Background::spawn(&["sub", "-s", &s.url, "t.>", "--count", "3"]);
    sub.wait_log("Subscribing on t.>");
    let p = run(&[
        "pub",
        "-s",
        &s.url,
        "t.{{Count}}",
        "msg {{Count}}",
        "--count",
        "3",
    ]);
    assert!(p.status.success(), "{}", p.stderr);
    assert_eq!(p.stderr.lines().count(), 3, "{}", p.stderr);
    assert!(is_log_line(
        p.stderr.lines().nth(2).unwrap_or(""),
        "Published 5 bytes to \"t.3\""
    ));
    let d = sub.wait();
    assert_eq!(
        d.stdout,
        "[#1] Received on \"t.1\"\nmsg 1\n\n[#2] Received on \"t.2\"\nmsg 2\n\n[#3] Received on \"t.3\"\nmsg 3\n\n"
    );
}

#[test]
fn many_messages_give_one_summary_line() {
    let s = TestServer::start();
    let sub = Background::spawn(&[
        "sub",
        "-s",
        &s.url,
        "bulk",
        "--count",
        "500",
        "--raw",
        "--connection-name",
        "bulk",
    ]);
    sub.wait_for_ready_raw(&s, "bulk");
    let p = run(&["pub", "-s", &s.url, "bulk", "{{Count}}", "--count", "500"]);
    assert!(p.status.success(), "{}", p.stderr);
    let lines: Vec<&str> = p.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", p.stderr);
    assert!(
        lines[0].ends_with("Published 500 messages (1,392 bytes) to \"bulk\""),
        "{}",
        lines[0]
    );
    let d = sub.wait();
    let bodies: Vec<&str> = d.stdout.lines().collect();
    assert_eq!(bodies.len(), 500);
    assert_eq!(bodies[0], "1");
    assert_eq!(bodies[499], "500");
}

#[test]
fn headers_and_reply_subject_are_shown() {
    let s = TestServer::start();
    let sub = Background::spawn(&["sub", "-s", &s.url, "h", "--count", "1"]);
    sub.wait_log("Subscribing on h");
    let p = run(&[
        "pub", "-s", &s.url, "h", "body", "-H", "X-B: two", "-H", "X-A:1", "--reply", "r.1",
    ]);
    assert!(p.status.success(), "{}", p.stderr);
    let d = sub.wait();
    assert_eq!(
        d.stdout,
        "[#1] Received on \"h\" with reply \"r.1\"\nX-A: 1\nX-B: two\n\nbody\n\n"
    );
}

#[test]
fn raw_prints_bodies_only() {
    let s = TestServer::start();
    let sub = Background::spawn(&[
        "sub",
        "-s",
        &s.url,
        "r",
        "--count",
        "2",
        "-r",
        "--connection-name",
        "rawsub",
    ]);
    sub.wait_for_ready_raw(&s, "rawsub");
    assert!(run(&["pub", "-s", &s.url, "r", "one"]).status.success());
    assert!(run(&["pub", "-s", &s.url, "r", "two\n"]).status.success());
    let d = sub.wait();
    assert_eq!(d.stdout, "one\ntwo\n");
    assert_eq!(d.stderr, "");
}

#[test]
fn queue_group_shares_messages_and_ctrl_c_exits_zero() {
    let s = TestServer::start();
    let a = Background::spawn(&["sub", "-s", &s.url, "q", "--queue", "workers"]);
    let b = Background::spawn(&["sub", "-s", &s.url, "q", "--queue", "workers"]);
    a.wait_log("Subscribing on q");
    b.wait_log("Subscribing on q");
    let p = run(&["pub", "-s", &s.url, "q", "m{{Count}}", "--count", "40"]);
    assert!(p.status.success(), "{}", p.stderr);
    let count = |t: &str| t.matches("] Received on \"q\"").count();
    let (ao, bo) = (a.stdout.clone(), b.stdout.clone());
    ao.wait_for("40 messages across the group", |t| {
        count(t) + count(&bo.text()) == 40
    });
    let (da, db) = (a.interrupt(), b.interrupt());
    assert!(da.status.success(), "sub a exit: {:?}", da.status);
    assert!(db.status.success(), "sub b exit: {:?}", db.status);
    assert_eq!(count(&da.stdout) + count(&db.stdout), 40);
    assert!(
        count(&da.stdout) > 0 && count(&db.stdout) > 0,
        "one member got nothing"
    );
}

#[test]
fn server_list_skips_a_dead_server() {
    let s = TestServer::start();
    let dead = common::dead_url();
    let list = format!("{},{}", dead.url, s.url);
    let sub = Background::spawn(&["sub", "-s", &s.url, "hello", "--count", "1"]);
    sub.wait_log("Subscribing on hello");
    let p = run(&["pub", "-s", &list, "hello", "whole_world"]);
    assert!(p.status.success(), "{}", p.stderr);
    assert!(p.stderr.contains("Published 11 bytes to \"hello\""));
    assert_eq!(
        sub.wait().stdout,
        "[#1] Received on \"hello\"\nwhole_world\n\n"
    );
}

#[test]
fn credentials_in_url_and_flags() {
    let s = TestServer::start_with(&["--user", "alice", "--pass", "s3cret"]);
    let port = s.port();
    let in_url = format!("nats://alice:s3cret@127.0.0.1:{port}");
    assert!(run(&["pub", "-s", &in_url, "x", "y"]).status.success());
    let flags = run(&[
        "pub",
        "-s",
        &s.url,
        "--user",
        "alice",
        "--password",
        "s3cret",
        "x",
        "y",
    ]);
    assert!(flags.status.success(), "{}", flags.stderr);
    let none = run(&["pub", "-s", &s.url, "x", "y"]);
    assert_eq!(none.status.code(), Some(1));
    assert_eq!(none.stderr.lines().count(), 1, "{}", none.stderr);
    assert!(none.stderr.starts_with("nats: error: "), "{}", none.stderr);
    assert!(
        none.stderr.contains("authorization violation"),
        "{}",
        none.stderr
    );
}

#[test]
fn nkey_seed_file_signs_the_nonce() {
    let dir = std::env::temp_dir().join(format!("nats-cli-nkey-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let user = nkeys::KeyPair::new_user();
    let seed_file = dir.join("user.nk");
    std::fs::write(&seed_file, format!("{}\n", user.seed().unwrap())).unwrap();
    let wrong_file = dir.join("wrong.nk");
    let wrong_seed = nkeys::KeyPair::new_user().seed().unwrap();
    std::fs::write(&wrong_file, &wrong_seed).unwrap();
    let conf = dir.join("server.conf");
    std::fs::write(
        &conf,
        format!(
            "authorization {{ users: [ {{ nkey: {} }} ] }}\n",
            user.public_key()
        ),
    )
    .unwrap();
    let conf = conf.display().to_string();
    let (seed_file, wrong_file) = (
        seed_file.display().to_string(),
        wrong_file.display().to_string(),
    );
    for s in [
        TestServer::start_with(&["-c", &conf]),
        TestServer::start_go_with(&["-c", &conf]),
    ] {
        let ok = run(&["pub", "-s", &s.url, "--nkey", &seed_file, "x", "y"]);
        assert!(ok.status.success(), "{}", ok.stderr);
        let bad = run(&["pub", "-s", &s.url, "--nkey", &wrong_file, "x", "y"]);
        assert_eq!(bad.status.code(), Some(1), "{}", bad.stderr);
        assert!(
            bad.stderr.contains("authorization violation"),
            "{}",
            bad.stderr
        );
        assert!(!bad.stderr.contains(&wrong_seed), "{}", bad.stderr);
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn connection_refused_is_one_line_and_exit_1() {
    let dead = common::dead_url();
    let url = dead.url.clone();
    for args in [
        vec!["pub", "-s", &url, "x", "y"],
        vec!["sub", "-s", &url, "x"],
        vec!["req", "-s", &url, "x", "y"],
        vec!["reply", "-s", &url, "x"],
        vec!["bench", "-s", &url, "x", "--pub", "1", "--msgs", "10"],
    ] {
        let d = run(&args);
        assert_eq!(d.status.code(), Some(1), "{args:?}: {}", d.stderr);
        assert_eq!(d.stdout, "", "{args:?}");
        assert_eq!(
            d.stderr,
            format!("nats: error: could not connect to {url}: connection refused\n"),
            "{args:?}"
        );
    }
}

trait RawReady {
    fn wait_for_ready_raw(&self, s: &TestServer, name: &str);
}

impl RawReady for Background {
    /// `--raw` prints no "Subscribing" line, so readiness is observed on the server:
    /// poll `/connz?subs=1` until the named connection holds a subscription.
    fn wait_for_ready_raw(&self, s: &TestServer, name: &str) {
        let deadline = std::time::Instant::now() + common::WAIT;
        loop {
            let connz = common::http_get_json(&s.monitor, "/connz?subs=1");
            let ready = connz["connections"].as_array().is_some_and(|conns| {
                conns.iter().any(|c| {
                    c["name"].as_str() == Some(name) && c["subscriptions"].as_u64().unwrap_or(0) > 0
                })
            });
            if ready {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "raw subscriber {name} never subscribed"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

#[test]
fn silent_server_times_out_with_one_line() {
    // Accepts TCP but never sends INFO: the connect must give up, not hang.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("nats://{}", listener.local_addr().expect("addr"));
    let d = run(&["pub", "-s", &url, "x", "y", "--timeout", "300ms"]);
    assert_eq!(d.status.code(), Some(1));
    assert_eq!(
        d.stderr,
        format!("nats: error: could not connect to {url}: timed out\n")
    );
    drop(listener);
}

#[test]
fn creds_file_logs_in_to_an_operator_mode_server() {
    use nats_server::jwt::{encode, now};
    let dir = std::env::temp_dir().join(format!("nats-cli-creds-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let op = nkeys::KeyPair::new_operator();
    let acc = nkeys::KeyPair::new_account();
    let user = nkeys::KeyPair::new_user();
    let op_jwt = encode(
        serde_json::json!({"sub": op.public_key(), "nats": {"type": "operator"}}),
        &op,
        now(),
    )
    .unwrap();
    let acc_jwt = encode(
        serde_json::json!({"sub": acc.public_key(), "nats": {"type": "account",
            "limits": {"subs": -1, "data": -1, "payload": -1, "conn": -1}}}),
        &op,
        now(),
    )
    .unwrap();
    let user_jwt = encode(
        serde_json::json!({"sub": user.public_key(), "nats": {"type": "user",
            "subs": -1, "data": -1, "payload": -1}}),
        &acc,
        now(),
    )
    .unwrap();
    let creds = |seed: &str| {
        format!(
            "-----BEGIN NATS USER JWT-----\n{user_jwt}\n------END NATS USER JWT------\n\n\
             -----BEGIN USER NKEY SEED-----\n{seed}\n------END USER NKEY SEED------\n"
        )
    };
    let good = dir.join("good.creds");
    std::fs::write(&good, creds(&user.seed().unwrap())).unwrap();
    let wrong_seed = nkeys::KeyPair::new_user().seed().unwrap();
    let bad = dir.join("bad.creds");
    std::fs::write(&bad, creds(&wrong_seed)).unwrap();
    let conf = dir.join("server.conf");
    std::fs::write(
        &conf,
        format!(
            "operator: \"{op_jwt}\"\nresolver: MEMORY\nresolver_preload: {{ {}: \"{acc_jwt}\" }}\n",
            acc.public_key()
        ),
    )
    .unwrap();
    let conf = conf.display().to_string();
    let (good, bad) = (good.display().to_string(), bad.display().to_string());
    for s in [
        TestServer::start_with(&["-c", &conf]),
        TestServer::start_go_with(&["-c", &conf]),
    ] {
        let ok = run(&["pub", "-s", &s.url, "--creds", &good, "x", "y"]);
        assert!(ok.status.success(), "{}", ok.stderr);
        let refused = run(&["pub", "-s", &s.url, "--creds", &bad, "x", "y"]);
        assert_eq!(refused.status.code(), Some(1), "{}", refused.stderr);
        assert!(
            refused.stderr.contains("authorization violation"),
            "{}",
            refused.stderr
        );
        assert!(!refused.stderr.contains(&wrong_seed), "{}", refused.stderr);
        let none = run(&["pub", "-s", &s.url, "x", "y"]);
        assert_eq!(none.status.code(), Some(1), "{}", none.stderr);
    }
    std::fs::remove_dir_all(&dir).ok();
}
