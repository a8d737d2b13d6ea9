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
