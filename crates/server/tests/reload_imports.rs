//! A config reload applies changed exports and imports, as nats-server 2.9.10 does:
//! clients keep their connections, new imports deliver, removed ones stop. The same
//! scenario runs against our server and the Go binary, and both must see the same.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{bin, Raw, ServerProcess};

const T: Duration = Duration::from_secs(5);

fn conf(imports: &str, exports: &str) -> String {
    format!(
        "accounts {{\n A {{ users: [{{user: a, password: a}}], exports: [ {exports} ] }}\n \
         B {{ users: [{{user: b, password: b}}], imports: [ {imports} ] }}\n}}\n"
    )
}

/// Everything up to the next PONG, without the server's own PINGs, request ids and RTTs
/// (and the HMSG sizes, which the RTT's digits change).
fn until_pong(r: &mut Raw) -> String {
    let caps = r.expect(r"(?s)^(.*?PONG\r\n)");
    let s = caps[1].replace("PING\r\n", "");
    let re = regex::Regex::new(
        r#"_R_\.[A-Za-z0-9]+\.[A-Za-z0-9]+|"rtt":\d+|HMSG (\S+) (\d+) \S+ \d+ \d+"#,
    )
    .unwrap();
    re.replace_all(&s, |c: &regex::Captures<'_>| {
        if let Some(subj) = c.get(1) {
            format!("HMSG {} {} REPLY H T", subj.as_str(), &c[2])
        } else {
            "X".to_string()
        }
    })
    .into_owned()
}

fn scenario(binary: &Path) -> Vec<String> {
    let streams = r#"{stream: "ev.>"}, {service: "svc"}, {service: "svc2"}"#;
    let v1 = conf(
        r#"{stream: {account: A, subject: "ev.>"}}, {service: {account: A, subject: svc}}"#,
        streams,
    );
    let v2 = conf("", streams);
    let v3 = conf(
        r#"{stream: {account: A, subject: "ev.>"}, prefix: p}, {service: {account: A, subject: svc2}, to: s2}"#,
        streams,
    );
    // The export goes away too: the import must go with it (Go refuses an import of
    // nothing, so the file keeps neither).
    let v4 = conf("", r#"{service: "svc"}"#);
    let (_d, path) = common::config(&v1);
    let s = ServerProcess::start(binary, &["-c", &path]);
    let login = |u: &str| {
        Raw::handshake(
            &s.addr(),
            &format!("{{\"verbose\":false,\"headers\":true,\"user\":\"{u}\",\"pass\":\"{u}\"}}"),
        )
    };
    let mut a = login("a");
    let mut b = login("b");
    a.send("SUB svc 1\r\nSUB svc2 2\r\nPING\r\n");
    until_pong(&mut a);
    b.send("SUB ev.> 1\r\nSUB p.ev.> 2\r\nSUB inbox 3\r\nPING\r\n");
    until_pong(&mut b);
    let mut seen = Vec::new();
    let mut step = |tag: &str, a: &mut Raw, b: &mut Raw| {
        // A's PONG comes after the stream message is queued for B; B's PONG after its
        // requests reached A.
        a.send("PUB ev.x 2\r\nhi\r\nPING\r\n");
        let mut got_a = until_pong(a);
        b.send("PUB svc inbox 1\r\nq\r\nPUB s2 inbox 1\r\nr\r\nPING\r\n");
        let got_b = until_pong(b);
        a.send("PING\r\n");
        got_a.push_str(&until_pong(a));
        seen.push(format!("{tag} A: {got_a}"));
        seen.push(format!("{tag} B: {got_b}"));
    };
    step("v1", &mut a, &mut b);
    for (i, (tag, text)) in [("v2", &v2), ("v3", &v3), ("v4", &v4)].iter().enumerate() {
        std::fs::write(&path, text).unwrap();
        s.signal("HUP");
        assert!(
            testkit::wait_for(T, || s.log_count("Reloaded server configuration") > i),
            "{}: {}",
            binary.display(),
            s.log()
        );
        step(tag, &mut a, &mut b);
    }
    assert!(!s.log().contains("[ERR]"), "{}", s.log());
    seen
}

#[test]
fn reload_applies_exports_and_imports_as_go() {
    let ours = scenario(&bin());
    let go = scenario(&common::require_go_server());
    assert_eq!(ours, go, "ours vs Go");
    // And what that is: v1 delivers both, v2 nothing, v3 the new forms, v4 nothing.
    let all = ours.join("\n");
    assert!(all.contains("v1 B: MSG ev.x 1 2"), "{all}");
    assert!(all.contains("v1 A: PONG\r\nHMSG svc 1 REPLY"), "{all}");
    assert!(all.contains("v2 A: PONG\r\nPONG\r\n\n"), "{all}");
    assert!(all.contains("v2 B: PONG\r\n\n"), "{all}");
    assert!(all.contains("v3 B: MSG p.ev.x 2 2"), "{all}");
    assert!(all.contains("v3 A: PONG\r\nHMSG svc2 2 REPLY"), "{all}");
    assert!(all.ends_with("v4 B: PONG\r\n"), "{all}");
    assert!(all.contains("v4 A: PONG\r\nPONG\r\n\n"), "{all}");
}
