//! `nats bench`: the report's shape and, above all, that counts are verified.

mod common;

use common::{run, TestServer};

fn sub_lines(stdout: &str) -> Vec<String> {
    stdout
        .split(" Sub stats: ")
        .nth(1)
        .unwrap_or("")
        .lines()
        .filter(|l| l.trim_start().starts_with('['))
        .map(String::from)
        .collect()
}

#[test]
fn pub_sub_counts_are_verified() {
    let s = TestServer::start();
    let d = run(&[
        "bench",
        "-s",
        &s.url,
        "b",
        "--pub",
        "2",
        "--sub",
        "2",
        "--msgs",
        "2000",
        "--size",
        "64",
        "--no-progress",
    ]);
    assert!(d.status.success(), "{}\n{}", d.stdout, d.stderr);
    assert!(d.stdout.contains("NATS Pub/Sub stats: "), "{}", d.stdout);
    assert!(d.stdout.contains("\n Pub stats: "), "{}", d.stdout);
    assert!(
        d.stdout.contains("  [2] ") && d.stdout.contains(" (1000 msgs)\n"),
        "{}",
        d.stdout
    );
    let subs = sub_lines(&d.stdout);
    assert_eq!(subs.len(), 2, "{}", d.stdout);
    assert!(subs.iter().all(|l| l.ends_with("(2000 msgs)")), "{subs:?}");
    assert!(d.stdout.contains(" | stddev "), "{}", d.stdout);
    assert!(d.stdout.contains("bench client CPU: "), "{}", d.stdout);
    assert!(
        d.stderr.contains("Starting Core NATS pub/sub benchmark"),
        "{}",
        d.stderr
    );
}

#[test]
fn raw_mode_counts_are_verified() {
    let s = TestServer::start();
    let d = run(&[
        "bench", "-s", &s.url, "b", "--pub", "1", "--sub", "2", "--msgs", "5000", "--size", "100",
        "--raw",
    ]);
    assert!(d.status.success(), "{}\n{}", d.stdout, d.stderr);
    assert!(d.stderr.contains("client=raw"), "{}", d.stderr);
    let subs = sub_lines(&d.stdout);
    assert!(
        subs.len() == 2 && subs.iter().all(|l| l.ends_with("(5000 msgs)")),
        "{}",
        d.stdout
    );
}

/// A CA and a server certificate for 127.0.0.1, written to `dir`: (ca, cert, key).
fn tls_files(dir: &std::path::Path) -> [String; 3] {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, SanType};
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().expect("ca key");
    let ca_cert = ca.self_signed(&ca_key).expect("ca cert");
    let mut leaf = CertificateParams::new(Vec::<String>::new()).expect("leaf params");
    leaf.subject_alt_names = vec![SanType::IpAddress("127.0.0.1".parse().expect("ip"))];
    let key = KeyPair::generate().expect("leaf key");
    let cert = leaf.signed_by(&key, &ca_cert, &ca_key).expect("leaf cert");
    let files = [
        ("ca.pem", ca_cert.pem()),
        ("server.pem", cert.pem()),
        ("server-key.pem", key.serialize_pem()),
    ];
    files.map(|(name, pem)| {
        let path = dir.join(name);
        std::fs::write(&path, pem).expect("write pem");
        path.display().to_string()
    })
}

/// The raw client speaks TLS (INFO, handshake, then the same loops): every message
/// arrives exactly once, requests are answered, and without --tlsca it says why not.
#[test]
fn raw_mode_over_tls() {
    let dir = std::env::temp_dir().join(format!("nats-cli-bench-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let [ca, cert, key] = tls_files(&dir);
    let s = TestServer::start_with(&["--tls", "--tlscert", &cert, "--tlskey", &key]);
    let url = s.url.replacen("nats://", "tls://", 1);
    let d = run(&[
        "bench", "-s", &url, "--tlsca", &ca, "t", "--pub", "1", "--sub", "2", "--msgs", "5000",
        "--size", "16", "--raw", "--seq",
    ]);
    assert!(d.status.success(), "{}\n{}", d.stdout, d.stderr);
    let subs = sub_lines(&d.stdout);
    assert!(
        subs.len() == 2 && subs.iter().all(|l| l.ends_with("(5000 msgs)")),
        "{}",
        d.stdout
    );
    let rr = run(&[
        "bench",
        "-s",
        &url,
        "--tlsca",
        &ca,
        "rr",
        "--pub",
        "1",
        "--sub",
        "1",
        "--msgs",
        "200",
        "--request",
        "--reply",
        "--raw",
    ]);
    assert!(rr.status.success(), "{}\n{}", rr.stdout, rr.stderr);
    assert!(rr.stdout.contains("(200 requests)"), "{}", rr.stdout);
    let plain = run(&[
        "bench", "-s", &s.url, "p", "--pub", "1", "--msgs", "10", "--raw",
    ]);
    assert!(!plain.status.success());
    assert!(
        plain.stderr.contains("the server requires TLS"),
        "{}",
        plain.stderr
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn queue_group_receives_exactly_k() {
    let s = TestServer::start();
    for raw in [false, true] {
        let mut args = vec![
            "bench", "-s", &s.url, "q", "--pub", "1", "--sub", "3", "--msgs", "3000", "--queue",
            "g",
        ];
        if raw {
            args.push("--raw");
        }
        let d = run(&args);
        assert!(d.status.success(), "raw={raw}: {}\n{}", d.stdout, d.stderr);
        let total: u64 = sub_lines(&d.stdout)
            .iter()
            .filter_map(|l| {
                l.rsplit('(')
                    .next()?
                    .strip_suffix(" msgs)")?
                    .parse::<u64>()
                    .ok()
            })
            .sum();
        assert_eq!(total, 3000, "raw={raw}: {}", d.stdout);
    }
}

#[test]
fn request_reply_reports_latency() {
    let s = TestServer::start();
    let d = run(&[
        "bench",
        "-s",
        &s.url,
        "rr",
        "--pub",
        "1",
        "--sub",
        "1",
        "--msgs",
        "300",
        "--request",
        "--reply",
    ]);
    assert!(d.status.success(), "{}\n{}", d.stdout, d.stderr);
    let lat = d
        .stdout
        .lines()
        .find(|l| l.contains("Request latency:"))
        .unwrap_or_default();
    for key in [
        "min ",
        "p50 ",
        "p90 ",
        "p99 ",
        "p99.9 ",
        "max ",
        "(300 requests)",
    ] {
        assert!(lat.contains(key), "missing {key:?} in {lat:?}");
    }
}

#[test]
fn request_without_responders_fails() {
    let s = TestServer::start();
    let d = run(&[
        "bench",
        "-s",
        &s.url,
        "none",
        "--pub",
        "1",
        "--msgs",
        "10",
        "--request",
    ]);
    assert_eq!(d.status.code(), Some(1));
    assert!(d.stderr.contains("no responders available"), "{}", d.stderr);
}

#[test]
fn csv_is_written() {
    let s = TestServer::start();
    let path = std::env::temp_dir().join(format!("nats-bench-{}.csv", std::process::id()));
    let p = path.to_string_lossy().to_string();
    let d = run(&[
        "bench", "-s", &s.url, "c", "--pub", "1", "--sub", "1", "--msgs", "100", "--csv", &p,
    ]);
    assert!(d.status.success(), "{}", d.stderr);
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let _ = std::fs::remove_file(&path);
    assert!(
        text.starts_with("#RunID,ClientID,MsgCount,MsgBytes,MsgsPerSec,BytesPerSec,DurationSecs\n")
    );
    assert_eq!(text.lines().count(), 3, "{text}");
}

#[test]
fn bad_arguments_are_rejected() {
    let d = run(&["bench", "x"]);
    assert_eq!(d.status.code(), Some(1));
    assert!(
        d.stderr.starts_with("nats: error: nothing to do"),
        "{}",
        d.stderr
    );
}

/// The single JSON line `--json` prints on stdout.
fn json(d: &common::Done) -> serde_json::Value {
    let lines: Vec<&str> = d.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "one JSON line expected:\n{}", d.stdout);
    serde_json::from_str(lines[0]).unwrap_or_else(|e| panic!("{e}: {}", lines[0]))
}

#[test]
fn json_line_carries_verified_counts_and_cpu() {
    let s = TestServer::start();
    let d = run(&[
        "bench", "-s", &s.url, "j", "--pub", "1", "--sub", "2", "--msgs", "3000", "--size", "16",
        "--raw", "--seq", "--json",
    ]);
    assert!(d.status.success(), "{}\n{}", d.stdout, d.stderr);
    let v = json(&d);
    assert_eq!(v["verified"], true, "{v}");
    assert_eq!(v["seq"], true);
    assert_eq!(v["client"], "raw");
    assert_eq!(v["sub"]["counts"], serde_json::json!([3000, 3000]), "{v}");
    assert_eq!(v["pub"]["msgs"], 3000);
    assert!(v["pub"]["msgs_per_sec"].as_i64().unwrap_or(0) > 0, "{v}");
    assert!(v["client_cpu_secs"].is_number(), "{v}");
    assert!(v["latency"].is_null());
}

#[test]
fn queue_group_gets_every_message_exactly_once() {
    let s = TestServer::start();
    let d = run(&[
        "bench", "-s", &s.url, "q", "--pub", "2", "--sub", "4", "--msgs", "20000", "--size", "32",
        "--queue", "g", "--raw", "--seq", "--json",
    ]);
    assert!(d.status.success(), "{}\n{}", d.stdout, d.stderr);
    let v = json(&d);
    let counts: u64 = v["sub"]["counts"]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c.as_u64()).sum())
        .unwrap_or(0);
    assert_eq!(counts, 20000, "{v}");
    assert_eq!(v["verified"], true);
}

#[test]
fn seq_needs_the_raw_client() {
    let s = TestServer::start();
    let d = run(&[
        "bench", "-s", &s.url, "x", "--pub", "1", "--msgs", "5", "--seq",
    ]);
    assert_eq!(d.status.code(), Some(1));
    assert!(d.stderr.contains("--seq needs --raw"), "{}", d.stderr);
}

#[test]
fn raw_request_reply_reports_latency() {
    let s = TestServer::start();
    let d = run(&[
        "bench",
        "-s",
        &s.url,
        "rr",
        "--pub",
        "1",
        "--sub",
        "1",
        "--msgs",
        "500",
        "--request",
        "--reply",
        "--raw",
        "--json",
    ]);
    assert!(d.status.success(), "{}\n{}", d.stdout, d.stderr);
    let v = json(&d);
    assert_eq!(v["kind"], "request-reply");
    assert_eq!(v["latency"]["count"], 500, "{v}");
    assert_eq!(v["sub"]["counts"], serde_json::json!([500]));
    let p50 = v["latency"]["p50_us"].as_f64().unwrap_or(0.0);
    let p999 = v["latency"]["p999_us"].as_f64().unwrap_or(0.0);
    assert!(p50 > 0.0 && p999 >= p50, "{v}");
    // The human report has the natscli latency line too.
    let d = run(&[
        "bench",
        "-s",
        &s.url,
        "rr",
        "--pub",
        "1",
        "--sub",
        "1",
        "--msgs",
        "50",
        "--request",
        "--reply",
        "--raw",
    ]);
    assert!(d.status.success(), "{}", d.stderr);
    assert!(d.stdout.contains(" Request latency: min "), "{}", d.stdout);
}

/// Publisher on one server, subscriber on another: the bench waits for interest to
/// cross the route (no sleeps here, not even for the route itself), then every message
/// must arrive; request/reply crosses in both directions.
fn across_a_route(start: fn(&[&str]) -> TestServer) {
    let cluster = ["--cluster", "nats://127.0.0.1:-1", "--cluster_name", "b"];
    let a = start(&cluster);
    let seed = a.cluster.clone().expect("cluster url");
    let mut routed = cluster.to_vec();
    routed.extend(["--routes", &seed]);
    let b = start(&routed);
    for raw in [true, false] {
        let mut args = vec![
            "bench",
            "x.route",
            "--pub-server",
            &a.url,
            "--sub-server",
            &b.url,
            "--pub",
            "1",
            "--sub",
            "2",
            "--msgs",
            "20000",
            "--size",
            "64",
            "--json",
        ];
        if raw {
            args.extend(["--raw", "--seq"]);
        }
        let d = run(&args);
        assert!(d.status.success(), "raw={raw}: {}\n{}", d.stdout, d.stderr);
        let v = json(&d);
        assert_eq!(v["sub"]["counts"], serde_json::json!([20000, 20000]), "{v}");
        assert_eq!(v["pub_server"], a.url.as_str());
        assert_eq!(v["sub_server"], b.url.as_str());
    }
    let d = run(&[
        "bench",
        "x.route.rr",
        "--pub-server",
        &a.url,
        "--sub-server",
        &b.url,
        "--pub",
        "1",
        "--sub",
        "1",
        "--msgs",
        "300",
        "--request",
        "--reply",
        "--raw",
        "--json",
    ]);
    assert!(d.status.success(), "{}\n{}", d.stdout, d.stderr);
    assert_eq!(json(&d)["latency"]["count"], 300);
}

#[test]
fn across_a_route_ours() {
    across_a_route(TestServer::start_with);
}

#[test]
fn across_a_route_go() {
    across_a_route(TestServer::start_go_with);
}

#[test]
fn conns_holds_and_checks_every_connection() {
    let s = TestServer::start();
    let d = run(&[
        "bench",
        "-s",
        &s.url,
        "conns",
        "--count",
        "200",
        "--hold",
        "100ms",
        "--json",
        "--source-ips",
        "4",
    ]);
    assert!(d.status.success(), "{}\n{}", d.stdout, d.stderr);
    let v = json(&d);
    assert_eq!(v["kind"], "conns");
    assert_eq!(v["count"], 200);
    assert!(v["connect_secs"].as_f64().unwrap_or(0.0) > 0.0, "{v}");
    assert!(
        d.stderr
            .contains("All 200 connections answered a final PING"),
        "{}",
        d.stderr
    );
    // The human form.
    let d = run(&[
        "bench", "-s", &s.url, "conns", "--count", "10", "--hold", "0s",
    ]);
    assert!(d.status.success(), "{}", d.stderr);
    assert!(
        d.stdout
            .starts_with("Connected 10 clients with one subscription each in "),
        "{}",
        d.stdout
    );
}

#[test]
fn conns_holds_until_interrupted() {
    let s = TestServer::start();
    let bg =
        common::Background::spawn(&["bench", "-s", &s.url, "conns", "--count", "30", "--json"]);
    bg.stdout
        .wait_for("the JSON line", |t| t.contains("\"kind\":\"conns\""));
    let d = bg.interrupt();
    assert!(d.status.success(), "{}", d.stderr);
    assert!(
        d.stderr.contains("All 30 connections answered"),
        "{}",
        d.stderr
    );
}

#[test]
fn conns_fail_when_the_server_goes_away() {
    let s = TestServer::start();
    let bg = common::Background::spawn(&["bench", "-s", &s.url, "conns", "--count", "5", "--json"]);
    bg.stdout
        .wait_for("the JSON line", |t| t.contains("\"kind\":\"conns\""));
    drop(s);
    let d = bg.wait();
    assert_eq!(d.status.code(), Some(1), "{}", d.stderr);
    assert!(
        d.stderr.contains("did not survive the hold"),
        "{}",
        d.stderr
    );
}

#[test]
fn subs_index_counts_literal_and_wildcard_matches() {
    let s = TestServer::start();
    let d = run(&[
        "bench", "-s", &s.url, "subs", "--count", "1001", "--msgs", "999", "--spread", "3",
        "--json",
    ]);
    assert!(d.status.success(), "{}\n{}", d.stdout, d.stderr);
    let v = json(&d);
    assert_eq!(v["kind"], "subs");
    assert_eq!(
        (v["literal"].as_u64(), v["wildcard"].as_u64()),
        (Some(501), Some(500))
    );
    // Targets 0, 167, 334 all have a wildcard twin: two deliveries per message.
    assert_eq!(v["expected"], 1998, "{v}");
    assert_eq!(v["sub"]["msgs"], 1998, "{v}");
    assert_eq!(v["verified"], true);
    assert!(v["subscribe_secs"].as_f64().unwrap_or(0.0) > 0.0);
    let d = run(&[
        "bench", "-s", &s.url, "subs", "--count", "10", "--msgs", "10",
    ]);
    assert!(d.status.success(), "{}", d.stderr);
    assert!(
        d.stdout.starts_with("Subscribed 10 subscriptions in "),
        "{}",
        d.stdout
    );
    assert!(d.stdout.contains("(20 msgs)"), "{}", d.stdout);
}

/// Payloads of 1 KiB and more take the writev path; numbering and cycling subjects
/// must survive it.
#[test]
fn large_payloads_are_counted_and_numbered() {
    let s = TestServer::start();
    let d = run(&[
        "bench", "-s", &s.url, "big", "--pub", "2", "--sub", "2", "--msgs", "3001", "--size",
        "70000", "--raw", "--seq", "--json",
    ]);
    assert!(d.status.success(), "{}\n{}", d.stdout, d.stderr);
    assert_eq!(json(&d)["sub"]["counts"], serde_json::json!([3001, 3001]));
    let d = run(&[
        "bench", "-s", &s.url, "subs", "--count", "100", "--msgs", "2000", "--size", "2KiB",
        "--spread", "3", "--json",
    ]);
    assert!(d.status.success(), "{}\n{}", d.stdout, d.stderr);
    let v = json(&d);
    assert_eq!(v["sub"]["msgs"], v["expected"], "{v}");
}
