//! Nkey users, side by side with the Go nats-server 2.9.10 on the same configuration:
//! the INFO nonce, async-nats logging in with a seed (and refused with another one), the
//! `-ERR` and log line for a bad signature, permissions and accounts of nkey users,
//! `/connz` naming the key, a reload that removes an nkey user, and `sig` kept out of the
//! trace. Keys are made fresh by each test with the `nkeys` crate.

mod common;

use std::path::Path;
use std::time::Duration;

use base64::Engine;
use common::{bin, Raw, ServerProcess};
use nkeys::KeyPair;

const T: Duration = Duration::from_secs(5);

/// A bad CONNECT, given the nonce: the nkey and the `sig` (none: no `sig` field).
type Case<'a> = dyn Fn(&str) -> (String, Option<String>) + 'a;

/// Our binary, then the Go one (required: the comparison is the point).
fn binaries() -> Vec<(&'static str, std::path::PathBuf)> {
    vec![("ours", bin()), ("go", testkit::require_go_server())]
}

fn start(b: &Path, conf: &str, args: &[&str]) -> (tempfile::TempDir, String, ServerProcess) {
    let (d, path) = common::config(conf);
    let mut a = vec!["-c", path.as_str()];
    a.extend_from_slice(args);
    let s = ServerProcess::start(b, &a);
    (d, path, s)
}

fn sign(kp: &KeyPair, nonce: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(kp.sign(nonce.as_bytes()).unwrap())
}

/// Connect, read INFO (returned), leave the CONNECT to the caller.
fn hello(addr: &str) -> (Raw, serde_json::Value) {
    let mut r = Raw::connect(addr);
    let caps = r.expect(r"^INFO (\{.*\}) ?\r\n");
    (r, serde_json::from_str(&caps[1]).expect("INFO json"))
}

/// Log in as the nkey user of `kp`, signing the nonce of our INFO.
fn login(addr: &str, kp: &KeyPair) -> Raw {
    let (mut r, info) = hello(addr);
    let nonce = info["nonce"].as_str().expect("nonce in INFO");
    r.send(format!(
        "CONNECT {{\"verbose\":false,\"nkey\":\"{}\",\"sig\":\"{}\"}}\r\nPING\r\n",
        kp.public_key(),
        sign(kp, nonce)
    ));
    r.expect(r"PONG\r\n");
    r
}

/// Everything received up to and including `needle` (a regex), the server's own PINGs
/// taken out.
fn upto(r: &mut Raw, needle: &str) -> String {
    let caps = r.expect(&format!(r"(?s)^(.*?{needle})"));
    caps[1].replace("PING\r\n", "")
}

fn assert_same(results: &[(&str, Vec<String>, String)]) {
    if let [ours, go] = results {
        assert_eq!(
            ours.1, go.1,
            "ours vs Go\nour log:\n{}\nGo log:\n{}",
            ours.2, go.2
        );
    }
}

#[test]
fn info_nonce_and_refused_signatures_on_the_wire() {
    let kp = KeyPair::new_user();
    let other = KeyPair::new_user();
    let conf = format!(
        "authorization {{ users: [ {{ nkey: {} }}, {{ user: a, password: pa }} ] }}\n",
        kp.public_key()
    );
    let shape = regex::Regex::new(r"^[A-Za-z0-9_-]{15}$").unwrap();
    let mut results = Vec::new();
    for (name, b) in binaries() {
        let (_d, _p, s) = start(&b, &conf, &["-D"]);
        let mut out = Vec::new();
        let (_r1, i1) = hello(&s.addr());
        let (_r2, i2) = hello(&s.addr());
        let n1 = i1["nonce"].as_str().unwrap_or_default().to_string();
        let n2 = i2["nonce"].as_str().unwrap_or_default().to_string();
        // Go's nonce: 11 random bytes, base64url without padding; one per connection.
        assert!(
            shape.is_match(&n1) && shape.is_match(&n2),
            "{name}: {n1} {n2}"
        );
        assert_ne!(n1, n2, "{name}");
        out.push(i1["auth_required"].to_string());

        // A valid signature by the wrong key, a signature of another nonce, none at all,
        // garbage: each refused with Go's -ERR, and the connection closed.
        // A valid signature by the wrong key, a signature of another nonce, none at all,
        // garbage, an unknown key: each refused with Go's -ERR, and the connection closed.
        let pk = kp.public_key();
        let cases: [&Case<'_>; 5] = [
            &|n| (pk.clone(), Some(sign(&other, n))),
            &|_| (pk.clone(), Some(sign(&kp, "another nonce"))),
            &|_| (pk.clone(), None),
            &|_| (pk.clone(), Some("%%%".into())),
            &|n| (other.public_key(), Some(sign(&other, n))),
        ];
        for (i, case) in cases.iter().enumerate() {
            let (mut r, info) = hello(&s.addr());
            let (key, sig) = case(info["nonce"].as_str().unwrap());
            let sig = sig.map_or(String::new(), |s| format!(",\"sig\":\"{s}\""));
            r.send(format!(
                "CONNECT {{\"verbose\":false,\"nkey\":\"{key}\"{sig}}}\r\nPING\r\n"
            ));
            out.push(upto(&mut r, "Violation'\r\n"));
            assert!(r.closed_within(T), "{name}: closed after bad case {i}");
        }
        assert!(
            s.wait_log(&format!("authentication error - Nkey \"{pk}\""), T),
            "{name}: {}",
            s.log()
        );
        for why in [
            "Signature not verified",
            "Signature missing",
            "Signature not valid base64",
        ] {
            // Logged before the -ERR went out, like the error line waited for above.
            let suffix = format!(" - {why}");
            assert!(
                s.log()
                    .lines()
                    .any(|l| l.contains("[DBG]") && l.ends_with(&suffix)),
                "{name}: {why}\n{}",
                s.log()
            );
        }
        // With nkey users configured, nats-server names the (empty) nkey even for a
        // password user that fails.
        let (mut r, _) = hello(&s.addr());
        r.send("CONNECT {\"verbose\":false,\"user\":\"a\",\"pass\":\"wrong\"}\r\nPING\r\n");
        out.push(upto(&mut r, "Violation'\r\n"));
        assert!(
            s.wait_log("authentication error - Nkey \"\"", T),
            "{name}: {}",
            s.log()
        );
        // The password user beside the nkey user logs in.
        let mut ok = Raw::handshake(
            &s.addr(),
            "{\"verbose\":false,\"user\":\"a\",\"pass\":\"pa\"}",
        );
        ok.send("PING\r\n");
        out.push(upto(&mut ok, "PONG\r\n"));
        results.push((name, out, s.log()));
    }
    for (_, out, log) in &results {
        assert_eq!(
            out,
            &[
                "true",
                "-ERR 'Authorization Violation'\r\n",
                "-ERR 'Authorization Violation'\r\n",
                "-ERR 'Authorization Violation'\r\n",
                "-ERR 'Authorization Violation'\r\n",
                "-ERR 'Authorization Violation'\r\n",
                "-ERR 'Authorization Violation'\r\n",
                "PONG\r\n",
            ],
            "{log}"
        );
    }
    assert_same(&results);
}

#[test]
fn no_nonce_without_nkey_users() {
    for (name, b) in binaries() {
        let (_d, _p, s) = start(
            &b,
            "authorization { users: [ { user: a, password: a } ] }\n",
            &[],
        );
        let (_r, info) = hello(&s.addr());
        assert!(info.get("nonce").is_none(), "{name}: {info}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_nats_logs_in_with_a_seed_and_not_with_another() {
    let kp = KeyPair::new_user();
    let seed = kp.seed().unwrap();
    let conf = format!(
        "authorization {{ users: [ {{ nkey: {} }} ] }}\n",
        kp.public_key()
    );
    for (name, b) in binaries() {
        let (_d, _p, s) = start(&b, &conf, &[]);
        let url = s.url();
        let nc = async_nats::ConnectOptions::with_nkey(seed.clone())
            .connect(&url)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut sub = nc.subscribe("greet").await.unwrap();
        nc.publish("greet", "hi".into()).await.unwrap();
        let m = tokio::time::timeout(T, futures::StreamExt::next(&mut sub))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&m.payload[..], b"hi", "{name}");
        drop(nc);
        // Another key's seed: refused.
        let wrong = KeyPair::new_user().seed().unwrap();
        let err = async_nats::ConnectOptions::with_nkey(wrong)
            .connect(&url)
            .await
            .err()
            .unwrap_or_else(|| panic!("{name}: another seed got in"));
        assert_eq!(
            err.kind(),
            async_nats::ConnectErrorKind::AuthorizationViolation,
            "{name}: {err}"
        );
        assert!(
            s.wait_log("authentication error - Nkey", T),
            "{name}: {}",
            s.log()
        );
    }
}

#[test]
fn nkey_user_permissions_and_connz() {
    let kp = KeyPair::new_user();
    let pk = kp.public_key();
    let conf = format!(
        "authorization {{ users: [ {{ nkey: {pk}, permissions: {{ publish: \"ok.>\", subscribe: {{ deny: secret }} }} }} ] }}\n"
    );
    let mut results = Vec::new();
    for (name, b) in binaries() {
        let (_d, _p, s) = start(&b, &conf, &["-m", "-1"]);
        let mut c = login(&s.addr(), &kp);
        let mut out = Vec::new();
        c.send("SUB secret 1\r\nSUB ok.> 2\r\nPUB nope 1\r\nx\r\nPUB ok.a 1\r\ny\r\nPING\r\n");
        out.push(upto(&mut c, "PONG\r\n"));
        assert!(
            s.wait_log(
                &format!("Publish Violation - Nkey \"{pk}\", Subject \"nope\""),
                T
            ),
            "{name}: {}",
            s.log()
        );
        assert!(
            s.wait_log(
                &format!("Subscription Violation - Nkey \"{pk}\", Subject \"secret\", SID 1"),
                T
            ),
            "{name}: {}",
            s.log()
        );
        let (code, body) = s.http_get("/connz?auth=1").unwrap();
        assert_eq!(code, 200);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        out.push(v["connections"][0]["authorized_user"].to_string());
        // Go's `user` filter looks at the CONNECT's user name: an nkey client is not
        // found by its key, and once closed it is remembered without a user.
        let (_, body) = s.http_get(&format!("/connz?auth=1&user={pk}")).unwrap();
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        out.push(v["num_connections"].to_string());
        drop(c);
        let closed = |s: &ServerProcess| {
            let (_, body) = s.http_get("/connz?auth=1&state=closed").unwrap();
            serde_json::from_str::<serde_json::Value>(&body).unwrap()
        };
        assert!(
            common::wait_for(T, || closed(&s)["num_connections"] == 1),
            "{name}"
        );
        out.push(closed(&s)["connections"][0]["authorized_user"].to_string());
        results.push((name, out, s.log()));
    }
    for (_, out, log) in &results {
        assert_eq!(
            out,
            &[
                "-ERR 'Permissions Violation for Subscription to \"secret\"'\r\n\
                 -ERR 'Permissions Violation for Publish to \"nope\"'\r\n\
                 MSG ok.a 2 1\r\ny\r\nPONG\r\n"
                    .to_string(),
                format!("\"{pk}\""),
                "0".to_string(),
                "null".to_string(),
            ],
            "{log}"
        );
    }
    assert_same(&results);
}

#[test]
fn nkey_users_of_accounts_are_isolated() {
    let a1 = KeyPair::new_user();
    let b1 = KeyPair::new_user();
    let conf = format!(
        "accounts {{\n  A {{ users: [ {{ nkey: {} }}, {{ user: a, password: a }} ] }}\n  \
         B {{ users: [ {{ nkey: {} }} ], default_permissions: {{ publish: {{ deny: forbidden }} }} }}\n}}\n",
        a1.public_key(),
        b1.public_key()
    );
    let mut results = Vec::new();
    for (name, b) in binaries() {
        let (_d, _p, s) = start(&b, &conf, &["-m", "-1"]);
        let mut na = login(&s.addr(), &a1);
        let mut nb = login(&s.addr(), &b1);
        let mut pa = Raw::handshake(
            &s.addr(),
            "{\"verbose\":false,\"user\":\"a\",\"pass\":\"a\"}",
        );
        for c in [&mut na, &mut nb, &mut pa] {
            c.send("SUB foo 1\r\nPING\r\n");
            c.expect("PONG\r\n");
        }
        let mut out = Vec::new();
        pa.send("PUB foo 2\r\nA!\r\nPING\r\n");
        pa.expect("PONG\r\n");
        nb.send("PUB foo 2\r\nB!\r\nPUB forbidden 1\r\nx\r\nPING\r\n");
        out.push(upto(&mut nb, "PONG\r\n"));
        na.send("PING\r\n");
        out.push(upto(&mut na, "PONG\r\n"));
        let (_, body) = s.http_get("/connz?auth=1").unwrap();
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let mut accs: Vec<String> = v["connections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                format!(
                    "{} {}",
                    c["account"],
                    c["authorized_user"].as_str().unwrap_or_default().len()
                )
            })
            .collect();
        accs.sort();
        out.extend(accs);
        results.push((name, out, s.log()));
    }
    for (_, out, log) in &results {
        assert_eq!(
            out,
            &[
                "MSG foo 1 2\r\nB!\r\n-ERR 'Permissions Violation for Publish to \"forbidden\"'\r\nPONG\r\n",
                "MSG foo 1 2\r\nA!\r\nPONG\r\n",
                "\"A\" 1",
                "\"A\" 56",
                "\"B\" 56",
            ],
            "{log}"
        );
    }
    assert_same(&results);
}

#[test]
fn reload_removes_and_restricts_nkey_users() {
    let keep = KeyPair::new_user();
    let gone = KeyPair::new_user();
    let (k, g) = (keep.public_key(), gone.public_key());
    let before = format!(
        "authorization {{ users: [ {{ nkey: {k} }}, {{ nkey: {g} }}, {{ user: a, password: a }} ] }}\n"
    );
    let after = format!(
        "authorization {{ users: [ {{ nkey: {k}, permissions: {{ subscribe: {{ deny: bar }} }} }}, {{ user: a, password: a }} ] }}\n"
    );
    let mut results = Vec::new();
    for (name, b) in binaries() {
        let (_d, path, s) = start(&b, &before, &[]);
        let mut ck = login(&s.addr(), &keep);
        let mut cg = login(&s.addr(), &gone);
        let mut pw = Raw::handshake(
            &s.addr(),
            "{\"verbose\":false,\"user\":\"a\",\"pass\":\"a\"}",
        );
        ck.send("SUB bar 1\r\nSUB baz 2\r\nPING\r\n");
        ck.expect("PONG\r\n");
        std::fs::write(&path, &after).unwrap();
        s.signal("HUP");
        assert!(
            s.wait_log("Reloaded server configuration", T),
            "{name}: {}",
            s.log()
        );
        let mut out = Vec::new();
        // The removed nkey user: closed without a word, as a user that moved accounts.
        assert!(
            cg.closed_within(T),
            "{name}: removed nkey user still connected"
        );
        out.push(cg.buffered().replace("PING\r\n", ""));
        // The kept one loses the subscription its new permissions deny.
        out.push(upto(&mut ck, "\\(sid \"1\"\\)'\r\n"));
        assert!(
            s.wait_log(
                &format!("Removed sub \"bar\" (sid \"1\") for Nkey \"{k}\" - not authorized"),
                T
            ),
            "{name}: {}",
            s.log()
        );
        pw.send("PUB bar 1\r\n1\r\nPUB baz 1\r\n2\r\nPING\r\n");
        pw.expect("PONG\r\n");
        ck.send("PING\r\n");
        out.push(upto(&mut ck, "PONG\r\n"));
        // Removed for good: the old key no longer logs in.
        let (mut r, info) = hello(&s.addr());
        r.send(format!(
            "CONNECT {{\"verbose\":false,\"nkey\":\"{g}\",\"sig\":\"{}\"}}\r\nPING\r\n",
            sign(&gone, info["nonce"].as_str().unwrap())
        ));
        out.push(upto(&mut r, "Violation'\r\n"));
        results.push((name, out, s.log()));
    }
    for (_, out, log) in &results {
        assert_eq!(
            out,
            &[
                "",
                "-ERR 'Permissions Violation for Subscription to \"bar\" (sid \"1\")'\r\n",
                "MSG baz 2 1\r\n2\r\nPONG\r\n",
                "-ERR 'Authorization Violation'\r\n",
            ],
            "{log}"
        );
    }
    assert_same(&results);
}

#[test]
fn reload_dropping_every_nkey_user_closes_their_clients() {
    let kp = KeyPair::new_user();
    let before = format!(
        "authorization {{ users: [ {{ nkey: {} }} ] }}\n",
        kp.public_key()
    );
    let mut results = Vec::new();
    for (name, b) in binaries() {
        let (_d, path, s) = start(&b, &before, &[]);
        let mut c = login(&s.addr(), &kp);
        // No authorization at all any more: nats-server still closes the nkey client.
        std::fs::write(&path, "max_payload: 2000\n").unwrap();
        s.signal("HUP");
        assert!(
            s.wait_log("Reloaded server configuration", T),
            "{name}: {}",
            s.log()
        );
        let closed = c.closed_within(T);
        let out = vec![closed.to_string(), c.buffered().replace("PING\r\n", "")];
        results.push((name, out, s.log()));
    }
    for (_, out, log) in &results {
        assert_eq!(out, &["true", ""], "{log}");
    }
    assert_same(&results);
}

#[test]
fn trace_never_shows_the_signature() {
    let kp = KeyPair::new_user();
    let pk = kp.public_key();
    let conf = format!("authorization {{ users: [ {{ nkey: {pk} }} ] }}\n");
    let (_d, _p, s) = start(&bin(), &conf, &["-V"]);
    let (mut r, info) = hello(&s.addr());
    let sig = sign(&kp, info["nonce"].as_str().unwrap());
    r.send(format!(
        "CONNECT {{\"verbose\":false,\"nkey\":\"{pk}\",\"sig\":\"{sig}\"}}\r\nPING\r\n"
    ));
    r.expect("PONG\r\n");
    // And a refused one.
    let (mut bad, _) = hello(&s.addr());
    let bad_sig = sign(&kp, "not the nonce");
    bad.send(format!(
        "CONNECT {{\"verbose\":false,\"nkey\":\"{pk}\",\"sig\":\"{bad_sig}\"}}\r\n"
    ));
    bad.expect("Violation'\r\n");
    assert!(s.wait_log("authentication error - Nkey", T), "{}", s.log());
    let log = s.log();
    assert!(
        log.contains(&format!("\"nkey\":\"{pk}\",\"sig\":\"[REDACTED]\"")),
        "{log}"
    );
    assert!(!log.contains(&sig) && !log.contains(&bad_sig), "{log}");
    assert!(!log.contains(&kp.seed().unwrap()), "{log}");
}
