//! Subject mappings (the top-level `mappings` block), differential against nats-server
//! 2.9.10: the same config on both servers, a raw `>` subscriber, and the subjects it
//! receives compared.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{bin, config, require_go_server, route_url, wait_for, Raw, ServerProcess};

const CONF: &str = r#"
mappings {
  "lit": "literal.dest"
  "w.*.*": "W.{{wildcard(2)}}.$1"
  "f.*.>": "F.$1.>"
  "p.*.*": "P.{{partition(10,1,2)}}.$1.$2"
  "q.*": "Q.{{Partition(7,1)}}"
  "s.*": "S.{{split(1,-)}}"
  "l.*": "L.{{splitfromleft(1,2)}}.{{SplitFromRight(1,2)}}"
  "sl.*": "SL.{{slicefromleft(1,3)}}.x.{{sliceFromRight(1,3)}}"
  "v.*": "x.$1"
}
"#;

/// Publish each subject (empty payload) and return the subjects a `>` subscriber got, in
/// order, ending at a PONG.
fn received(srv: &ServerProcess, subjects: &[&str]) -> Vec<String> {
    let mut r = Raw::handshake(&srv.addr(), r#"{"verbose":false,"pedantic":false}"#);
    r.send("SUB > 1\r\nPING\r\n");
    r.expect(r"PONG\r\n");
    let mut out = String::new();
    for s in subjects {
        out.push_str(&format!("PUB {s} 0\r\n\r\n"));
    }
    out.push_str("PING\r\n");
    r.send(out);
    let caps = r.expect(r"(?s)^(.*?)PONG\r\n");
    caps[1]
        .split("\r\n")
        .filter_map(|l| l.strip_prefix("MSG "))
        .map(|l| l.split(' ').next().unwrap_or_default().to_string())
        .collect()
}

fn both(conf: &str) -> (tempfile::TempDir, ServerProcess, ServerProcess) {
    let (dir, path) = config(conf);
    let ours = ServerProcess::start(&bin(), &["-c", &path]);
    let go = ServerProcess::start(&require_go_server(), &["-c", &path]);
    (dir, ours, go)
}

#[test]
fn transforms_match_go() {
    let (_d, ours, go) = both(CONF);
    let mut subjects = vec![
        "lit",
        "w.one.two",
        "f.a.b.c",
        "s.a-b--c",
        "s.-a-b-",
        "s.abc",
        "l.abcdef",
        "l.ab",
        "l.a",
        "sl.abcdefgh",
        "sl.abc",
        "sl.abcdef",
        "v.1",
        "unmapped.subject",
        "w.too.many.tokens",
    ];
    let parts: Vec<String> = (0..60)
        .flat_map(|i| [format!("p.k{i}.t{}", i * 7), format!("q.key-{i}")])
        .collect();
    subjects.extend(parts.iter().map(String::as_str));
    let a = received(&ours, &subjects);
    let b = received(&go, &subjects);
    assert_eq!(a, b);
    assert_eq!(a[0], "literal.dest");
    assert_eq!(a[1], "W.two.one");
    assert!(a.iter().any(|s| s.starts_with("P.")));
}

#[test]
fn weighted_distribution() {
    let conf = r#"
mappings {
  foo: [ {destination: bar, weight: 50%}, {destination: baz, weight: 30} ]
}
"#;
    let (_d, ours, go) = both(conf);
    const N: usize = 10_000;
    let subjects = vec!["foo"; N];
    for srv in [&ours, &go] {
        let got = received(srv, &subjects);
        assert_eq!(got.len(), N);
        let count = |s: &str| got.iter().filter(|g| *g == s).count() as f64;
        // Expected 5000/3000/2000; standard deviations about 50, 46 and 40: a band of
        // ±300 is more than six of them.
        for (s, want) in [("bar", 5000.0), ("baz", 3000.0), ("foo", 2000.0)] {
            let c = count(s);
            assert!((c - want).abs() < 300.0, "{s}: {c} of {N}");
        }
    }
}

/// The source listed as a destination with less than 100% in all: the rest is dropped.
#[test]
fn weighted_with_explicit_source_drops_the_rest() {
    let conf = r#"
mappings {
  foo: [ {destination: foo, weight: 20%}, {destination: bar, weight: 20%} ]
}
"#;
    let (_d, ours, go) = both(conf);
    let subjects = vec!["foo"; 2000];
    for srv in [&ours, &go] {
        let got = received(srv, &subjects);
        let n = got.len() as f64;
        assert!((n - 800.0).abs() < 150.0, "{n} of 2000 delivered");
    }
}

/// `cluster:` destinations apply only on servers of that cluster.
#[test]
fn cluster_scoped_destinations() {
    let conf = r#"
mappings {
  foo: [ {destination: east, weight: 100%, cluster: east} ]
}
"#;
    let (_d, path) = config(conf);
    for b in [bin(), require_go_server()] {
        let east = ServerProcess::start(
            &b,
            &[
                "-c",
                &path,
                "-cluster",
                "nats://127.0.0.1:-1",
                "--cluster_name",
                "east",
            ],
        );
        let west = ServerProcess::start(
            &b,
            &[
                "-c",
                &path,
                "-cluster",
                "nats://127.0.0.1:-1",
                "--cluster_name",
                "west",
            ],
        );
        assert_eq!(received(&east, &["foo"]), ["east"], "{}", b.display());
        assert_eq!(received(&west, &["foo"]), ["foo"], "{}", b.display());
    }
}

/// Start `bin -c conf -t`-style and return (exit status, stderr text).
fn config_error(b: &Path, path: &str) -> (Option<i32>, String) {
    let out = std::process::Command::new(b)
        .args(["-c", path, "-p", "-1", "-a", "127.0.0.1"])
        .output()
        .expect("run server");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn invalid_mappings_are_config_errors_like_go() {
    let cases = [
        r#"mappings { "foo.*": "bar.$2" }"#,
        r#"mappings { "foo.*": "bar.{{nope(1)}}" }"#,
        r#"mappings { "foo.*.*": "bar.$1" }"#,
        r#"mappings { "foo.*": "bar.{{wildcard()}}" }"#,
        r#"mappings { "foo.*": "bar.{{wildcard(1,2)}}" }"#,
        r#"mappings { "foo.*": "bar.{{split(1)}}" }"#,
        r#"mappings { "foo.*": "bar.{{partition(x,1)}}" }"#,
        r#"mappings { "foo.*": "bar.*" }"#,
        r#"mappings { "foo.>": "bar" }"#,
        r#"mappings { foo: [ {destination: bar, weight: 160%} ] }"#,
        r#"mappings { foo: [ {destination: bar, weight: 10%, x: 1} ] }"#,
        r#"mappings { foo: 1 }"#,
    ];
    for c in cases {
        let (_d, path) = config(c);
        let (ours_rc, ours) = config_error(&bin(), &path);
        let (go_rc, go) = config_error(&require_go_server(), &path);
        assert_ne!(ours_rc, Some(0), "{c}: {ours}");
        assert_ne!(go_rc, Some(0), "{c}: {go}");
        // The same first line (file:line:col: message).
        let first = |s: &str| s.lines().next().unwrap_or_default().to_string();
        assert_eq!(first(&ours), first(&go), "{c}");
    }
    // Weights over 100% in total: Go's message is a type-assertion panic; ours says why.
    let (_d, path) = config(
        r#"mappings { foo: [ {destination: a, weight: 60%}, {destination: b, weight: 50%} ] }"#,
    );
    let (rc, text) = config_error(&bin(), &path);
    assert_ne!(rc, Some(0));
    assert!(text.contains("total weight needs to be <= 100"), "{text}");
}

/// Two-node cluster: the mapping is applied once, at the publisher's server. B maps `bar`
/// further; a message published on A to `foo` (A maps it to `bar`) must reach B's
/// subscriber as `bar`, not `qux`.
#[test]
fn cluster_maps_once_at_the_publishing_server() {
    let (_da, pa) = config(r#"mappings { foo: bar }"#);
    let (_db, pb) = config(r#"mappings { bar: qux }"#);
    for b in [bin(), require_go_server()] {
        let a = ServerProcess::start(
            &b,
            &[
                "-c",
                &pa,
                "-cluster",
                "nats://127.0.0.1:-1",
                "--cluster_name",
                "m",
            ],
        );
        let ra = route_url(&a);
        let bsrv = ServerProcess::start(
            &b,
            &[
                "-c",
                &pb,
                "-cluster",
                "nats://127.0.0.1:-1",
                "--cluster_name",
                "m",
                "-routes",
                &ra,
            ],
        );
        let mut sub = Raw::handshake(&bsrv.addr(), r#"{"verbose":false}"#);
        sub.send("SUB > 1\r\nPING\r\n");
        sub.expect(r"PONG\r\n");
        let mut publ = Raw::handshake(&a.addr(), r#"{"verbose":false}"#);
        // Wait for B's interest to reach A.
        assert!(wait_for(Duration::from_secs(10), || {
            publ.send("PUB probe 0\r\n\r\nPING\r\n");
            publ.expect(r"PONG\r\n");
            sub.try_expect(r"MSG probe 1 0\r\n", Duration::from_millis(200))
                .is_some()
        }));
        sub.drain(Duration::from_millis(300));
        publ.send("PUB foo 2\r\nhi\r\nPING\r\n");
        publ.expect(r"PONG\r\n");
        let got = sub.expect(r"MSG (\S+) 1 2\r\nhi\r\n");
        assert_eq!(got[1], "bar", "{}", b.display());
        // Published on B itself, B's own mapping applies.
        let mut pb_ = Raw::handshake(&bsrv.addr(), r#"{"verbose":false}"#);
        pb_.send("PUB bar 2\r\nhi\r\nPING\r\n");
        pb_.expect(r"PONG\r\n");
        let got = sub.expect(r"MSG (\S+) 1 2\r\nhi\r\n");
        assert_eq!(got[1], "qux", "{}", b.display());
    }
}

/// SIGHUP applies a changed mapping to connected clients.
#[test]
fn reload_changes_mappings() {
    for b in [bin(), require_go_server()] {
        let (_d, path) = config("mappings { foo: bar }\n");
        let srv = ServerProcess::start(&b, &["-c", &path]);
        let mut r = Raw::handshake(&srv.addr(), r#"{"verbose":false}"#);
        r.send("SUB > 1\r\nPUB foo 0\r\n\r\nPING\r\n");
        r.expect(r"MSG bar 1 0\r\n\r\nPONG\r\n");
        std::fs::write(&path, "mappings { foo: baz }\n").unwrap();
        srv.signal("HUP");
        assert!(
            wait_for(Duration::from_secs(5), || {
                r.send("PUB foo 0\r\n\r\nPING\r\n");
                let caps = r.expect(r"MSG (\S+) 1 0\r\n\r\nPONG\r\n");
                caps[1] == "baz"
            }),
            "{}",
            b.display()
        );
    }
}

/// Account-level mappings apply to that account's publishers only, as in Go: the same
/// config on both servers, a `>` subscriber in each account.
#[test]
fn account_mappings_apply_to_their_account_only() {
    let conf = r#"
accounts {
  A: { users: [{user: a, password: a}], mappings: { "in.*": "out.$1", "lit": "A.lit" } }
  B: { users: [{user: b, password: b}] }
}
mappings { "lit": "G.lit" }
no_auth_user: b
"#;
    let (_d, ours, go) = both(conf);
    let mut results = Vec::new();
    for s in [&ours, &go] {
        let login = |u: &str| {
            let mut r = Raw::handshake(
                &s.addr(),
                &format!(r#"{{"verbose":false,"user":"{u}","pass":"{u}"}}"#),
            );
            r.send("SUB > 1\r\nPING\r\n");
            r.expect(r"PONG\r\n");
            r
        };
        let mut a = login("a");
        let mut b = login("b");
        for r in [&mut a, &mut b] {
            r.send("PUB in.x 0\r\n\r\nPUB lit 0\r\n\r\nPING\r\n");
        }
        let subjects = |r: &mut Raw| -> Vec<String> {
            let caps = r.expect(r"(?s)^(.*?)PONG\r\n");
            caps[1]
                .split("\r\n")
                .filter_map(|l| l.strip_prefix("MSG "))
                .map(|l| l.split(' ').next().unwrap_or_default().to_string())
                .collect()
        };
        results.push((subjects(&mut a), subjects(&mut b)));
    }
    assert_eq!(results[0], results[1], "ours vs Go");
    assert_eq!(results[0].0, ["out.x", "A.lit"]);
    assert_eq!(results[0].1, ["in.x", "lit"]);
}
