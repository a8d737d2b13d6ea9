//! Accounts: isolation of the same subject in two accounts (locally, across a cluster of
//! ours, across mixed clusters with the Go nats-server 2.9.10 in both roles, in queue
//! groups), the route wire format per account (`RS+ A foo`, `RMSG A foo …`) compared with
//! Go through a fake route peer, `no_auth_user` inside an account, and `/connz` accounts.

mod common;

use std::time::Duration;

use common::{start, start_go, wait_for, Raw, ServerProcess};

const ACCOUNTS: &str = "accounts { A: { users: [{user: a, password: a}] }, \
     B: { users: [{user: b, password: b}] } }\n\
     authorization { users: [{user: g, password: g}] }\n";

const FAKE_ID: &str = "NFAKEROUTEPEER00000000000000000000000000000000000000000";

fn login(s: &ServerProcess, user: &str) -> Raw {
    Raw::handshake(
        &s.addr(),
        &format!(r#"{{"verbose":false,"headers":true,"user":"{user}","pass":"{user}"}}"#),
    )
}

fn sub(r: &mut Raw, ops: &str) {
    r.send(format!("{ops}\r\nPING\r\n"));
    r.expect("PONG\r\n");
}

fn server(go: bool, extra: &str, args: &[&str]) -> (tempfile::TempDir, ServerProcess) {
    let (d, path) = common::config(&format!("{ACCOUNTS}{extra}"));
    let mut a = vec!["-c", path.as_str()];
    a.extend_from_slice(args);
    let s = if go { start_go(&a) } else { start(&a) };
    (d, s)
}

#[test]
fn same_subject_in_two_accounts_never_crosses() {
    let (_d, s) = server(false, "", &[]);
    let mut a = login(&s, "a");
    let mut b = login(&s, "b");
    let mut g = login(&s, "g");
    for c in [&mut a, &mut b, &mut g] {
        sub(c, "SUB foo 1\r\nSUB work grp 2");
    }
    a.send("PUB foo 2\r\nhi\r\nPING\r\n");
    a.expect("MSG foo 1 2\r\nhi\r\n");
    a.expect("PONG\r\n");
    // Queue groups: every message goes to A's only member.
    a.send("PUB work 2\r\nq1\r\nPUB work 2\r\nq2\r\nPUB work 2\r\nq3\r\nPING\r\n");
    a.expect("MSG work 2 2\r\nq1\r\nMSG work 2 2\r\nq2\r\nMSG work 2 2\r\nq3\r\nPONG\r\n");
    for c in [&mut b, &mut g] {
        c.send("PING\r\n");
        assert_eq!(c.drain(Duration::from_millis(300)), "PONG\r\n");
    }
    // No responders: a request with nobody in the requester's account.
    sub(&mut a, "SUB only.a 3");
    let mut nr = Raw::handshake(
        &s.addr(),
        r#"{"verbose":false,"headers":true,"no_responders":true,"user":"b","pass":"b"}"#,
    );
    nr.send("SUB inbox 9\r\nPUB only.a inbox 0\r\n\r\nPING\r\n");
    nr.expect(r"HMSG inbox 9 \d+ \d+\r\nNATS/1.0 503\r\n\r\n\r\n");
}

#[test]
fn no_auth_user_inside_an_account() {
    let (_d, s) = server(false, "no_auth_user: a\n", &["-m", "-1"]);
    let mut anon = Raw::handshake(&s.addr(), r#"{"verbose":false}"#);
    sub(&mut anon, "SUB foo 1");
    let mut g = login(&s, "g");
    sub(&mut g, "SUB foo 1");
    let mut a = login(&s, "a");
    a.send("PUB foo 2\r\nhi\r\nPING\r\n");
    a.expect("PONG\r\n");
    anon.expect("MSG foo 1 2\r\nhi\r\n");
    g.send("PING\r\n");
    assert_eq!(g.drain(Duration::from_millis(300)), "PONG\r\n");
    // /connz shows the account with `auth`, and filters by `acc`.
    let (_, body) = s.http_get("/connz?auth=1").unwrap();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let conns = v["connections"].as_array().unwrap();
    let accs: Vec<(String, String)> = conns
        .iter()
        .map(|c| {
            (
                c["authorized_user"].as_str().unwrap_or("").to_string(),
                c["account"].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect();
    assert_eq!(
        accs,
        [
            ("a".to_string(), "A".to_string()),
            ("g".to_string(), "-".to_string()),
            ("a".to_string(), "A".to_string())
        ]
    );
    let (_, body) = s.http_get("/connz?acc=A").unwrap();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["num_connections"], 2);
    // `total` counts the account's connections only (Go's `Connz.Total`).
    assert_eq!(v["total"], 2);
    assert!(v["connections"][0].get("account").is_none(), "{body}");
    let (_, body) = s.http_get("/connz?acc=%24G").unwrap();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["num_connections"], 1);
    assert_eq!(v["total"], 1);
    let (_, body) = s.http_get("/subsz?subs=1").unwrap();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    // The count includes the system account's internal subscriptions; the list shows
    // client subscriptions only.
    assert_eq!(
        v["subscriptions_list"].as_array().map(Vec::len),
        Some(2),
        "{body}"
    );
    let mut accs: Vec<&str> = v["subscriptions_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["account"].as_str().unwrap())
        .collect();
    accs.sort();
    assert_eq!(accs, ["$G", "A"]);
}

/// Two servers with accounts, `second` routed to `first`: A's subscriber on one gets A's
/// messages published on the other; B's subscriber on the same subject gets none.
fn cluster_isolation(first_go: bool, second_go: bool) {
    let cl = "cluster { name: acc, listen: \"127.0.0.1:-1\" }\n";
    let (_d1, s1) = server(first_go, cl, &[]);
    let route = common::route_url(&s1);
    let (_d2, s2) = server(second_go, cl, &["-routes", &route]);
    for (from, to) in [(&s1, &s2), (&s2, &s1)] {
        let mut sa = login(to, "a");
        let mut sb = login(to, "b");
        let mut sg = login(to, "g");
        sub(&mut sa, "SUB foo 1\r\nSUB work grp 2");
        sub(&mut sb, "SUB foo 1\r\nSUB work grp 2");
        sub(&mut sg, "SUB foo 1");
        let mut pa = login(from, "a");
        let ok = wait_for(Duration::from_secs(10), || {
            pa.send("PUB foo 5\r\nprobe\r\nPING\r\n");
            pa.expect("PONG\r\n");
            sa.try_expect(r"MSG foo 1 5\r\nprobe\r\n", Duration::from_millis(50))
                .is_some()
        });
        assert!(ok, "A's interest never crossed the route");
        sa.drain(Duration::from_millis(200));
        pa.send("PUB foo 2\r\nhi\r\nPUB work 2\r\nq1\r\nPUB work 2\r\nq2\r\nPING\r\n");
        pa.expect("PONG\r\n");
        sa.expect("MSG foo 1 2\r\nhi\r\n");
        sa.expect("MSG work 2 2\r\nq1\r\n");
        sa.expect("MSG work 2 2\r\nq2\r\n");
        for c in [&mut sb, &mut sg] {
            c.send("PING\r\n");
            assert_eq!(c.drain(Duration::from_millis(300)), "PONG\r\n");
        }
        // And B's traffic reaches B only.
        let mut pb = login(from, "b");
        let ok = wait_for(Duration::from_secs(10), || {
            pb.send("PUB foo 5\r\nprobe\r\nPING\r\n");
            pb.expect("PONG\r\n");
            sb.try_expect(r"MSG foo 1 5\r\nprobe\r\n", Duration::from_millis(50))
                .is_some()
        });
        assert!(ok, "B's interest never crossed the route");
        sa.send("PING\r\n");
        assert_eq!(sa.drain(Duration::from_millis(300)), "PONG\r\n");
    }
}

#[test]
fn cluster_of_ours_keeps_accounts_apart() {
    cluster_isolation(false, false);
}

#[test]
fn mixed_cluster_go_first() {
    cluster_isolation(true, false);
}

#[test]
fn mixed_cluster_go_second() {
    cluster_isolation(false, true);
}

/// Everything the peer receives, minus system-account chatter and pings.
fn route_lines(r: &mut Raw, wait: Duration) -> Vec<String> {
    r.drain(wait)
        .split("\r\n")
        .filter(|l| !l.is_empty() && !l.contains("$SYS") && *l != "PING" && *l != "PONG")
        .map(String::from)
        .collect()
}

fn lines(r: &mut Raw) -> Vec<String> {
    r.send("PING\r\n");
    let mut v: Vec<String> = r
        .drain(Duration::from_millis(300))
        .split("\r\n")
        .filter(|l| !l.is_empty() && *l != "PING")
        .map(String::from)
        .collect();
    v.sort();
    v
}

fn wire_scenario(go: bool) -> Vec<String> {
    let (_d, s) = server(
        go,
        "cluster { name: wire, listen: \"127.0.0.1:-1\" }\n",
        &[],
    );
    let mut out = Vec::new();
    // Interest that exists before the route registers is sent in the burst.
    let mut b = login(&s, "b");
    sub(&mut b, "SUB early 1\r\nSUB foo 2");
    let (mut route, _info) = testkit::route_peer(
        &format!("127.0.0.1:{}", s.cluster_port.unwrap()),
        FAKE_ID,
        "wire",
    );
    // (Not PING/PONG here: `expect` would skip the burst that comes before the PONG.)
    let mut burst = route_lines(&mut route, Duration::from_millis(700));
    burst.sort();
    out.push("--- burst".into());
    out.extend(burst);
    let mut a = login(&s, "a");
    let mut g = login(&s, "g");
    sub(&mut a, "SUB foo 1\r\nSUB work grp 2");
    sub(&mut g, "SUB foo 1");
    out.push("--- after subs".into());
    out.extend(route_lines(&mut route, Duration::from_millis(300)));
    sub(&mut a, "UNSUB 1");
    out.push("--- after unsub".into());
    out.extend(route_lines(&mut route, Duration::from_millis(300)));
    // Remote interest in A: A's messages go out as `RMSG A …`; B's never.
    route.send("RS+ A bar\r\nRS+ A jobs q1 2\r\nRS+ NOPE bar\r\nPING\r\n");
    route.expect("PONG\r\n");
    a.send("PUB bar 2\r\nhi\r\nPUB bar rep 2\r\nhi\r\nPUB jobs 2\r\nhi\r\nPING\r\n");
    a.expect("PONG\r\n");
    b.send("PUB bar 2\r\nno\r\nPING\r\n");
    b.expect("PONG\r\n");
    assert!(
        s.wait_log(
            "Unknown account \"NOPE\" for remote subject \"bar\"",
            Duration::from_secs(2)
        ),
        "go={go}: {}",
        s.log()
    );
    out.push("--- routed out".into());
    out.extend(route_lines(&mut route, Duration::from_millis(300)));
    // Routed messages reach the named account's subscribers only; an unknown account is
    // ignored.
    sub(&mut a, "SUB in 5");
    sub(&mut b, "SUB in 5");
    route_lines(&mut route, Duration::from_millis(300));
    route.send("RMSG A in 2\r\nta\r\nRMSG B in 2\r\ntb\r\nRMSG $G in 2\r\ntg\r\nRMSG NOPE in 2\r\ntn\r\nRS- A bar\r\nPING\r\n");
    route.expect("PONG\r\n");
    out.push("--- delivered to A".into());
    out.extend(lines(&mut a));
    out.push("--- delivered to B".into());
    out.extend(lines(&mut b));
    out
}

#[test]
fn route_wire_per_account_matches_go() {
    let ours = wire_scenario(false);
    let go = wire_scenario(true);
    assert_eq!(ours, go, "\nours: {ours:#?}\ngo: {go:#?}");
    let text = ours.join("\n");
    for line in [
        "RS+ B early",
        "RS+ B foo",
        "RS+ A foo",
        "RS+ A work grp 1",
        "RS+ $G foo",
        "RS- A foo",
        "RMSG A bar 2",
        "RMSG A bar rep 2",
        "RMSG A jobs | q1 2",
        "MSG in 5 2\nPONG",
    ] {
        assert!(
            text.contains(line) || text.replace("\r\n", "\n").contains(line),
            "missing {line:?} in\n{text}"
        );
    }
    assert!(!text.contains("RMSG B"), "{text}");
}

#[test]
fn config_errors_as_go_words_them() {
    for go in [false, true] {
        let (_d, path) = common::config(
            "accounts { A: { users: [{user: a, password: a}] }, B: { users: [{user: a, password: b}] } }\n",
        );
        let bin = if go {
            common::require_go_server()
        } else {
            common::bin()
        };
        let out = std::process::Command::new(bin)
            .args(["-c", &path, "-t"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stderr).to_string()
            + &String::from_utf8_lossy(&out.stdout);
        assert!(!out.status.success(), "go={go}: {text}");
        assert!(
            text.contains("Duplicate user \"a\" detected"),
            "go={go}: {text}"
        );
    }
}
