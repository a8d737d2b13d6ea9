//! Operator mode (JWT), side by side with the Go nats-server 2.9.10 on the same
//! configuration: an operator, a system account and accounts preloaded into the `MEMORY`
//! resolver, and users whose JWTs the tests sign themselves (keys made fresh with the
//! `nkeys` crate, tokens with `nats_server::jwt::encode`). Each case is a raw-protocol
//! session whose transcript (what the server sent, and whether it closed) must be the
//! same from both servers; async-nats logs in with a JWT and with a `.creds` file. The
//! `full`, `cache` and URL resolvers are run too: the URL one against a small HTTP server
//! of the test, the `cache` one in a cluster beside a `full` one (ours and Go's mixed).

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use common::{bin, Raw, ServerProcess};
use nkeys::KeyPair;
use serde_json::{json, Value};

const T: Duration = Duration::from_secs(5);

fn binaries() -> Vec<(&'static str, PathBuf)> {
    vec![("ours", bin()), ("go", testkit::require_go_server())]
}

fn now() -> i64 {
    nats_server::jwt::now()
}

/// Merge `over` into `base` (objects recursively; anything else replaces).
fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                merge(b.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (b, o) => *b = o.clone(),
    }
}

/// An account JWT as nsc makes one (unlimited), with `nats` overrides.
fn account_jwt(acc: &KeyPair, signer: &KeyPair, name: &str, over: Value) -> String {
    let mut c = json!({"sub": acc.public_key(), "name": name, "nats": {
        "limits": {"subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1,
                   "wildcards": true, "conn": -1, "leaf": -1},
        "default_permissions": {"pub": {}, "sub": {}},
        "type": "account"}});
    merge(&mut c, &json!({ "nats": over }));
    nats_server::jwt::encode(c, signer, now()).unwrap()
}

/// A user JWT as nsc makes one (no limits), with top-level overrides (`exp`, `name`,
/// `nats`).
fn user_jwt(user: &KeyPair, signer: &KeyPair, over: Value) -> String {
    let mut c = json!({"sub": user.public_key(), "name": "u", "nats": {
        "pub": {}, "sub": {}, "subs": -1, "data": -1, "payload": -1, "type": "user"}});
    merge(&mut c, &over);
    nats_server::jwt::encode(c, signer, now()).unwrap()
}

/// An operator, its system account and one account `A`.
struct World {
    op: KeyPair,
    sys: KeyPair,
    a: KeyPair,
    op_jwt: String,
    preload: Vec<(String, String)>,
}

impl World {
    fn new(a_over: Value) -> World {
        let op = KeyPair::new_operator();
        let sys = KeyPair::new_account();
        let a = KeyPair::new_account();
        let op_jwt = nats_server::jwt::encode(
            json!({"sub": op.public_key(), "name": "OP", "nats": {"type": "operator",
                "system_account": sys.public_key()}}),
            &op,
            now(),
        )
        .unwrap();
        let preload = vec![
            (sys.public_key(), account_jwt(&sys, &op, "SYS", json!({}))),
            (a.public_key(), account_jwt(&a, &op, "A", a_over)),
        ];
        World {
            op,
            sys,
            a,
            op_jwt,
            preload,
        }
    }

    fn add(&mut self, acc: &KeyPair, jwt: String) {
        self.preload.push((acc.public_key(), jwt));
    }

    fn config(&self, extra: &str) -> String {
        let mut s = format!(
            "operator: \"{}\"\nsystem_account: {}\nresolver: MEMORY\nresolver_preload: {{\n",
            self.op_jwt,
            self.sys.public_key()
        );
        for (k, v) in &self.preload {
            s.push_str(&format!("  {k}: \"{v}\"\n"));
        }
        s.push_str("}\n");
        s.push_str(extra);
        s
    }
}

fn start(b: &Path, conf: &str) -> (tempfile::TempDir, ServerProcess) {
    start_env(b, conf, &[])
}

fn start_env(b: &Path, conf: &str, env: &[(&str, &str)]) -> (tempfile::TempDir, ServerProcess) {
    let (d, path) = common::config(conf);
    let s = ServerProcess::start_env(b, &["-c", path.as_str()], env);
    (d, s)
}

fn sign(kp: &KeyPair, nonce: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(kp.sign(nonce.as_bytes()).unwrap())
}

/// How a session logs in: the user JWT, and the key that signs the nonce (none: no sig).
struct Login<'a> {
    jwt: &'a str,
    key: Option<&'a KeyPair>,
}

fn connect_line(l: &Login<'_>, nonce: &str) -> String {
    let mut c = json!({"verbose": false, "pedantic": false, "jwt": l.jwt, "protocol": 1});
    if let Some(k) = l.key {
        c["sig"] = sign(k, nonce).into();
    }
    format!("CONNECT {c}\r\n")
}

/// An async INFO reduced to what both servers must agree on.
fn normalize(s: &str) -> String {
    let re = regex::Regex::new(r"INFO (\{[^\r]*\}) ?\r\n").unwrap();
    re.replace_all(s, |c: &regex::Captures<'_>| {
        let v: Value = serde_json::from_str(&c[1]).unwrap_or_default();
        format!(
            "INFO max_payload={} auth_required={}\r\n",
            v["max_payload"], v["auth_required"]
        )
    })
    .into_owned()
}

/// Log in, send PING and `then`, and return everything the server sent after its INFO
/// within `wait`, and whether it closed the connection.
fn session(addr: &str, l: &Login<'_>, then: &str, wait: Duration) -> String {
    let mut r = Raw::connect(addr);
    let caps = r.expect(r"^INFO (\{.*\}) ?\r\n");
    let info: Value = serde_json::from_str(&caps[1]).unwrap();
    let nonce = info["nonce"].as_str().expect("nonce in INFO").to_string();
    assert_eq!(info["auth_required"], true);
    r.try_send(format!("{}PING\r\n{then}", connect_line(l, &nonce)));
    let mut out = r.drain(wait);
    if r.closed_within(Duration::from_millis(200)) {
        out.push_str(&r.buffered());
        out.push_str("[closed]");
    }
    normalize(&out.replace("PING\r\n", ""))
}

/// Run `f` against ours and Go (when installed) on the same config; the transcripts must
/// match, and ours must be `want` (when given).
fn same(conf: &str, want: Option<&str>, f: impl Fn(&str) -> String) -> String {
    same_env(conf, &[], want, f)
}

/// [`same`], both servers started with `env` added to their environment.
fn same_env(
    conf: &str,
    env: &[(&str, &str)],
    want: Option<&str>,
    f: impl Fn(&str) -> String,
) -> String {
    let mut results = Vec::new();
    for (who, b) in binaries() {
        let (_d, s) = start_env(&b, conf, env);
        eprintln!("--- {who}");
        let guard = LogOnPanic(&s);
        let got = f(&s.addr());
        std::mem::forget(guard);
        results.push((who, got, s.log()));
    }
    if let [ours, go] = results.as_slice() {
        assert_eq!(
            ours.1, go.1,
            "ours vs Go\nour log:\n{}\nGo log:\n{}",
            ours.2, go.2
        );
    }
    if let Some(w) = want {
        assert_eq!(results[0].1, w, "our log:\n{}", results[0].2);
    }
    results.swap_remove(0).1
}

struct LogOnPanic<'a>(&'a ServerProcess);
impl Drop for LogOnPanic<'_> {
    fn drop(&mut self) {
        eprintln!("server log:\n{}", self.0.log());
    }
}

const AUTH_VIOLATION: &str = "-ERR 'Authorization Violation'\r\n[closed]";
const SHORT: Duration = Duration::from_millis(300);

#[test]
fn users_log_in_with_a_jwt_and_a_signed_nonce() {
    let w = World::new(json!({}));
    let u = KeyPair::new_user();
    let jwt = user_jwt(&u, &w.a, json!({}));
    let conf = w.config("");
    same(&conf, Some("PONG\r\n"), |addr| {
        session(
            addr,
            &Login {
                jwt: &jwt,
                key: Some(&u),
            },
            "",
            SHORT,
        )
    });
}

#[test]
fn bad_logins_are_refused_like_go() {
    let mut w = World::new(json!({"revocations": {}}));
    let u = KeyPair::new_user();
    let other = KeyPair::new_user();
    // A second account with a revoked user and one that disallows bearer tokens.
    let b = KeyPair::new_account();
    let revoked = KeyPair::new_user();
    w.add(
        &b,
        account_jwt(
            &b,
            &w.op,
            "B",
            json!({"revocations": {revoked.public_key(): now() + 100},
                   "limits": {"disallow_bearer": true}}),
        ),
    );
    // An account signed by an operator nobody trusts.
    let rogue_op = KeyPair::new_operator();
    let c = KeyPair::new_account();
    w.add(&c, account_jwt(&c, &rogue_op, "C", json!({})));
    let unknown_acc = KeyPair::new_account();
    let conf = w.config("");

    let good = user_jwt(&u, &w.a, json!({}));
    let expired = user_jwt(&u, &w.a, json!({"exp": now() - 10}));
    let not_yet = user_jwt(&u, &w.a, json!({"nbf": now() + 1000}));
    let by_unknown = user_jwt(&u, &unknown_acc, json!({}));
    let by_rogue = user_jwt(&u, &c, json!({}));
    let rev = user_jwt(&revoked, &b, json!({}));
    let bearer_b = user_jwt(&u, &b, json!({"nats": {"bearer_token": true}}));
    let ws_only = user_jwt(
        &u,
        &w.a,
        json!({"nats": {"allowed_connection_types": ["WEBSOCKET"]}}),
    );
    let bogus_type = user_jwt(
        &u,
        &w.a,
        json!({"nats": {"allowed_connection_types": ["BOGUS"]}}),
    );
    let cases: Vec<(&str, Login<'_>)> = vec![
        (
            "no jwt",
            Login {
                jwt: "",
                key: Some(&u),
            },
        ),
        (
            "garbage",
            Login {
                jwt: "eyJhbGciOi.x.y",
                key: Some(&u),
            },
        ),
        (
            "no sig",
            Login {
                jwt: &good,
                key: None,
            },
        ),
        (
            "other key's sig",
            Login {
                jwt: &good,
                key: Some(&other),
            },
        ),
        (
            "expired",
            Login {
                jwt: &expired,
                key: Some(&u),
            },
        ),
        (
            "not yet valid",
            Login {
                jwt: &not_yet,
                key: Some(&u),
            },
        ),
        (
            "unknown account",
            Login {
                jwt: &by_unknown,
                key: Some(&u),
            },
        ),
        (
            "untrusted operator",
            Login {
                jwt: &by_rogue,
                key: Some(&u),
            },
        ),
        (
            "revoked",
            Login {
                jwt: &rev,
                key: Some(&revoked),
            },
        ),
        (
            "bearer disallowed",
            Login {
                jwt: &bearer_b,
                key: None,
            },
        ),
        (
            "websocket only",
            Login {
                jwt: &ws_only,
                key: Some(&u),
            },
        ),
        (
            "unknown connection type",
            Login {
                jwt: &bogus_type,
                key: Some(&u),
            },
        ),
    ];
    same(&conf, None, |addr| {
        let mut all = String::new();
        for (name, l) in &cases {
            let got = session(addr, l, "", SHORT);
            assert_eq!(got, AUTH_VIOLATION, "{name}");
            all.push_str(&got);
        }
        all
    });
}

#[test]
fn bearer_tokens_need_no_signature() {
    let w = World::new(json!({}));
    let u = KeyPair::new_user();
    let jwt = user_jwt(&u, &w.a, json!({"nats": {"bearer_token": true}}));
    same(&w.config(""), Some("PONG\r\n"), |addr| {
        session(
            addr,
            &Login {
                jwt: &jwt,
                key: None,
            },
            "",
            SHORT,
        )
    });
}

#[test]
fn user_permissions_from_the_jwt_and_account_defaults() {
    let w = World::new(json!({"default_permissions": {"pub": {"deny": ["secret.>"]}}}));
    let u = KeyPair::new_user();
    let own = user_jwt(
        &u,
        &w.a,
        json!({"nats": {"pub": {"allow": ["ok.>"]}, "sub": {"deny": ["no"]}}}),
    );
    let dflt = user_jwt(&u, &w.a, json!({}));
    same(&w.config(""), None, |addr| {
        let a = session(
            addr,
            &Login {
                jwt: &own,
                key: Some(&u),
            },
            "PUB ok.1 0\r\n\r\nPUB bad 0\r\n\r\nSUB no 1\r\nSUB yes 2\r\nPING\r\n",
            SHORT,
        );
        assert_eq!(
            a,
            "PONG\r\n-ERR 'Permissions Violation for Publish to \"bad\"'\r\n\
             -ERR 'Permissions Violation for Subscription to \"no\"'\r\nPONG\r\n"
        );
        let b = session(
            addr,
            &Login {
                jwt: &dflt,
                key: Some(&u),
            },
            "PUB secret.x 0\r\n\r\nPUB open 0\r\n\r\nPING\r\n",
            SHORT,
        );
        assert_eq!(
            b,
            "PONG\r\n-ERR 'Permissions Violation for Publish to \"secret.x\"'\r\nPONG\r\n"
        );
        a + &b
    });
}

#[test]
fn account_and_user_limits() {
    let w = World::new(json!({"limits": {"conn": 1, "subs": 2, "payload": 8}}));
    let u = KeyPair::new_user();
    let jwt = user_jwt(&u, &w.a, json!({}));
    let one_sub = user_jwt(&u, &w.a, json!({"nats": {"subs": 1}}));
    let conf = w.config("");
    same(&conf, None, |addr| {
        let login = Login {
            jwt: &jwt,
            key: Some(&u),
        };
        // The first connection holds the account's only slot while the second tries.
        let mut first = Raw::connect(addr);
        let caps = first.expect(r"^INFO (\{.*\}) ?\r\n");
        let info: Value = serde_json::from_str(&caps[1]).unwrap();
        first.send(format!(
            "{}PING\r\n",
            connect_line(&login, info["nonce"].as_str().unwrap())
        ));
        first.expect("PONG\r\n");
        // Its payload limit is not the server's: an INFO follows the first PONG.
        let info = normalize(&first.drain(SHORT));
        assert_eq!(info, "INFO max_payload=8 auth_required=true\r\n");
        let second = session(addr, &login, "", SHORT);
        assert_eq!(
            second,
            "-ERR 'maximum account active connections exceeded'\r\n[closed]"
        );
        // Subscriptions: two allowed by the account.
        first.send("SUB a 1\r\nSUB b 2\r\nSUB c 3\r\nPING\r\n");
        let subs = first.drain(SHORT);
        assert_eq!(subs, "-ERR 'maximum subscriptions exceeded'\r\nPONG\r\n");
        // Payload: 8 bytes at most.
        first.send("PUB a 8\r\n12345678\r\nPUB a 9\r\n123456789\r\n");
        let mut pay = first.drain(SHORT);
        if first.closed_within(Duration::from_millis(300)) {
            pay.push_str("[closed]");
        }
        assert!(
            pay.ends_with("-ERR 'Maximum Payload Violation'\r\n[closed]"),
            "{pay:?}"
        );
        drop(first);
        // The slot is free again; a user limit below the account's applies.
        let mut third = String::new();
        assert!(testkit::wait_for(T, || {
            third = session(
                addr,
                &Login {
                    jwt: &one_sub,
                    key: Some(&u),
                },
                "SUB a 1\r\nSUB b 2\r\nPING\r\n",
                SHORT,
            );
            !third.contains("active connections")
        }));
        assert_eq!(
            third,
            "PONG\r\nINFO max_payload=8 auth_required=true\r\n\
             -ERR 'maximum subscriptions exceeded'\r\nPONG\r\n"
        );
        info + &second + &subs + &pay + &third
    });
}

#[test]
fn an_expiring_user_is_disconnected_when_its_jwt_expires() {
    let w = World::new(json!({}));
    let u = KeyPair::new_user();
    let conf = w.config("");
    for (who, b) in binaries() {
        let (_d, s) = start(&b, &conf);
        let jwt = user_jwt(&u, &w.a, json!({"exp": now() + 2}));
        let mut r = Raw::connect(&s.addr());
        let caps = r.expect(r"^INFO (\{.*\}) ?\r\n");
        let info: Value = serde_json::from_str(&caps[1]).unwrap();
        r.send(format!(
            "{}PING\r\n",
            connect_line(
                &Login {
                    jwt: &jwt,
                    key: Some(&u)
                },
                info["nonce"].as_str().unwrap()
            )
        ));
        r.expect("PONG\r\n");
        let t0 = std::time::Instant::now();
        r.expect("-ERR 'User Authentication Expired'\r\n");
        assert!(r.closed_within(T), "{who}");
        let took = t0.elapsed();
        assert!(
            took <= Duration::from_secs(4),
            "{who}: disconnected after {took:?}"
        );
    }
}

#[test]
fn signing_keys_and_scoped_signing_keys() {
    let sk = KeyPair::new_account();
    let scoped = KeyPair::new_account();
    let w = World::new(json!({"signing_keys": [
        sk.public_key(),
        {"kind": "user_scope", "key": scoped.public_key(), "role": "r",
         "template": {"pub": {"allow": ["{{name()}}.>"]}, "sub": {"allow": ["_INBOX.>"]},
                      "subs": -1, "payload": -1, "data": -1}}
    ]}));
    let u = KeyPair::new_user();
    let a = w.a.public_key();
    let by_sk = user_jwt(&u, &sk, json!({"nats": {"issuer_account": a}}));
    let by_scoped = user_jwt(
        &u,
        &scoped,
        json!({"name": "bob", "nats": {"issuer_account": a, "pub": {}, "sub": {},
               "subs": 0, "payload": 0, "data": 0}}),
    );
    // A scoped key may not sign users that carry their own permissions.
    let scoped_with_perms = user_jwt(
        &u,
        &scoped,
        json!({"nats": {"issuer_account": a, "pub": {"allow": [">"]}}}),
    );
    // A key the account does not list.
    let stranger = KeyPair::new_account();
    let by_stranger = user_jwt(&u, &stranger, json!({"nats": {"issuer_account": a}}));
    same(&w.config(""), None, |addr| {
        let x = session(
            addr,
            &Login {
                jwt: &by_sk,
                key: Some(&u),
            },
            "",
            SHORT,
        );
        assert_eq!(x, "PONG\r\n");
        let y = session(
            addr,
            &Login {
                jwt: &by_scoped,
                key: Some(&u),
            },
            "PUB bob.x 0\r\n\r\nPUB alice.x 0\r\n\r\nPING\r\n",
            SHORT,
        );
        assert_eq!(
            y,
            "PONG\r\n-ERR 'Permissions Violation for Publish to \"alice.x\"'\r\nPONG\r\n"
        );
        let z = session(
            addr,
            &Login {
                jwt: &scoped_with_perms,
                key: Some(&u),
            },
            "",
            SHORT,
        );
        assert_eq!(z, AUTH_VIOLATION);
        let s = session(
            addr,
            &Login {
                jwt: &by_stranger,
                key: Some(&u),
            },
            "",
            SHORT,
        );
        assert_eq!(s, AUTH_VIOLATION);
        x + &y + &z + &s
    });
}

#[test]
fn accounts_are_isolated() {
    let mut w = World::new(json!({}));
    let b = KeyPair::new_account();
    w.add(&b, account_jwt(&b, &w.op, "B", json!({})));
    let ua = KeyPair::new_user();
    let ub = KeyPair::new_user();
    let ja = user_jwt(&ua, &w.a, json!({}));
    let ja2 = user_jwt(&ua, &w.a, json!({}));
    let jb = user_jwt(&ub, &b, json!({}));
    same(&w.config(""), None, |addr| {
        let login = |jwt: &str, kp: &KeyPair| {
            let mut r = Raw::connect(addr);
            let caps = r.expect(r"^INFO (\{.*\}) ?\r\n");
            let info: Value = serde_json::from_str(&caps[1]).unwrap();
            r.send(format!(
                "{}PING\r\n",
                connect_line(
                    &Login { jwt, key: Some(kp) },
                    info["nonce"].as_str().unwrap()
                )
            ));
            r.expect("PONG\r\n");
            r
        };
        let mut sub_a = login(&ja, &ua);
        let mut sub_b = login(&jb, &ub);
        sub_a.send("SUB x 1\r\nPING\r\n");
        sub_a.expect("PONG\r\n");
        sub_b.send("SUB x 1\r\nPING\r\n");
        sub_b.expect("PONG\r\n");
        let mut publ = login(&ja2, &ua);
        publ.send("PUB x 2\r\nhi\r\nPING\r\n");
        publ.expect("PONG\r\n");
        let got_a = sub_a.drain(SHORT);
        let got_b = sub_b.drain(SHORT);
        assert_eq!(got_a, "MSG x 1 2\r\nhi\r\n");
        assert_eq!(got_b, "");
        got_a + &got_b
    });
}

#[test]
fn operator_config_errors_like_go() {
    let w = World::new(json!({}));
    // No resolver.
    let no_resolver = format!("operator: \"{}\"\n", w.op_jwt);
    // Users beside operators.
    let with_users = format!(
        "{}authorization {{ users: [ {{user: a, password: b}} ] }}\n",
        w.config("")
    );
    // System account not preloaded.
    let missing_sys = format!(
        "operator: \"{}\"\nsystem_account: {}\nresolver: MEMORY\n",
        w.op_jwt,
        KeyPair::new_account().public_key()
    );
    for conf in [no_resolver, with_users, missing_sys] {
        for (who, b) in binaries() {
            let (_d, path) = common::config(&conf);
            let out = std::process::Command::new(&b)
                .args(["-c", &path, "-p", "-1", "-a", "127.0.0.1"])
                .stdin(std::process::Stdio::null())
                .output()
                .unwrap();
            let _ = who;
            assert!(!out.status.success(), "{who} accepted:\n{conf}");
        }
    }
}

#[tokio::test]
async fn async_nats_with_jwt_and_creds_file() {
    let w = World::new(json!({}));
    let u = KeyPair::new_user();
    let jwt = user_jwt(&u, &w.a, json!({}));
    let (_d, s) = start(&bin(), &w.config(""));
    let seed = u.seed().unwrap();
    let kp = std::sync::Arc::new(KeyPair::from_seed(&seed).unwrap());
    let nc = async_nats::ConnectOptions::with_jwt(jwt.clone(), move |nonce| {
        let kp = kp.clone();
        async move { kp.sign(&nonce).map_err(async_nats::AuthError::new) }
    })
    .connect(s.addr())
    .await
    .expect("connect with a JWT");
    let mut sub = nc.subscribe("hello").await.unwrap();
    nc.publish("hello", "world".into()).await.unwrap();
    use futures::StreamExt;
    let m = tokio::time::timeout(T, sub.next()).await.unwrap().unwrap();
    assert_eq!(&m.payload[..], b"world");

    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("u.creds");
    std::fs::write(
        &creds,
        format!(
            "-----BEGIN NATS USER JWT-----\n{jwt}\n------END NATS USER JWT------\n\n\
             ************************* IMPORTANT *************************\n\n\
             -----BEGIN USER NKEY SEED-----\n{seed}\n------END USER NKEY SEED------\n"
        ),
    )
    .unwrap();
    let nc2 = async_nats::ConnectOptions::with_credentials_file(creds)
        .await
        .unwrap()
        .connect(s.addr())
        .await
        .expect("connect with a creds file");
    nc2.flush().await.unwrap();
}

#[test]
fn the_jwt_and_signature_stay_out_of_the_trace() {
    let w = World::new(json!({}));
    let u = KeyPair::new_user();
    let jwt = user_jwt(&u, &w.a, json!({}));
    let (_d, s) = start(&bin(), &w.config("trace: true\ndebug: true\n"));
    let got = session(
        &s.addr(),
        &Login {
            jwt: &jwt,
            key: Some(&u),
        },
        "",
        SHORT,
    );
    assert_eq!(got, "PONG\r\n");
    assert!(s.wait_log("Authenticated JWT", T), "{}", s.log());
    let log = s.log();
    let sig_part = jwt.rsplit('.').next().unwrap();
    assert!(!log.contains(sig_part), "{log}");
    assert!(!log.contains(&w.op_jwt), "{log}");
    assert!(!log.contains(&jwt[..40]), "{log}");
}

/// Log in on `addr` and wait for the PONG.
fn logged_in(addr: &str, jwt: &str, kp: &KeyPair) -> Raw {
    let mut r = Raw::connect(addr);
    let caps = r.expect(r"^INFO (\{.*\}) ?\r\n");
    let info: Value = serde_json::from_str(&caps[1]).unwrap();
    r.send(format!(
        "{}PING\r\n",
        connect_line(
            &Login { jwt, key: Some(kp) },
            info["nonce"].as_str().unwrap()
        )
    ));
    r.expect("PONG\r\n");
    r
}

#[test]
fn imports_and_exports_from_account_jwts() {
    // A exports a public stream, a public service and a private stream; B imports them
    // (the private one with an activation token from A), C imports the private stream
    // without a token and gets nothing.
    let b = KeyPair::new_account();
    let c = KeyPair::new_account();
    let mut w = World::new(json!({"exports": [
        {"name": "ev", "subject": "events.>", "type": "stream"},
        {"name": "help", "subject": "help", "type": "service"},
        {"name": "priv", "subject": "private.>", "type": "stream", "token_req": true}
    ]}));
    let activation = nats_server::jwt::encode(
        json!({"sub": b.public_key(), "nats": {"type": "activation",
            "subject": "private.>", "kind": "stream"}}),
        &w.a,
        now(),
    )
    .unwrap();
    let a = w.a.public_key();
    w.add(
        &b,
        account_jwt(
            &b,
            &w.op,
            "B",
            json!({"imports": [
                {"name": "ev", "subject": "events.>", "account": a, "type": "stream",
                 "local_subject": "in.events.>"},
                {"name": "help", "subject": "help", "account": a, "type": "service"},
                {"name": "priv", "subject": "private.>", "account": a, "type": "stream",
                 "token": activation}
            ]}),
        ),
    );
    w.add(
        &c,
        account_jwt(
            &c,
            &w.op,
            "C",
            json!({"imports": [
                {"name": "priv", "subject": "private.>", "account": a, "type": "stream"}
            ]}),
        ),
    );
    let (ua, ub, uc) = (
        KeyPair::new_user(),
        KeyPair::new_user(),
        KeyPair::new_user(),
    );
    let ja = user_jwt(&ua, &w.a, json!({}));
    let jb = user_jwt(&ub, &b, json!({}));
    let jc = user_jwt(&uc, &c, json!({}));
    same(&w.config(""), None, |addr| {
        let mut sb = logged_in(addr, &jb, &ub);
        let mut sc = logged_in(addr, &jc, &uc);
        let mut pa = logged_in(addr, &ja, &ua);
        sb.send("SUB in.events.> 1\r\nSUB private.> 2\r\nPING\r\n");
        sb.expect("PONG\r\n");
        sc.send("SUB private.> 1\r\nPING\r\n");
        sc.expect("PONG\r\n");
        // A answers help requests.
        pa.send("SUB help 9\r\nPING\r\n");
        pa.expect("PONG\r\n");
        pa.send("PUB events.x 1\r\na\r\nPUB private.y 1\r\nb\r\nPING\r\n");
        pa.expect("PONG\r\n");
        let got_b = sb.drain(SHORT);
        let got_c = sc.drain(SHORT);
        assert_eq!(
            got_b, "MSG in.events.x 1 1\r\na\r\nMSG private.y 2 1\r\nb\r\n",
            "B"
        );
        assert_eq!(got_c, "", "C");
        // B's request reaches A's responder through the service import.
        sb.send("SUB reply 3\r\nPUB help reply 2\r\nhi\r\nPING\r\n");
        sb.expect("PONG\r\n");
        let caps = pa.expect(r"MSG help 9 (\S+) 2\r\nhi\r\n");
        pa.send(format!("PUB {} 2\r\nok\r\n", caps[1]));
        sb.expect("MSG reply 3 2\r\nok\r\n");
        got_b + &got_c
    });
}

#[test]
fn account_jwt_mappings_apply() {
    let w = World::new(json!({"mappings": {"old": [{"subject": "new", "weight": 100}]}}));
    let u = KeyPair::new_user();
    let jwt = user_jwt(&u, &w.a, json!({}));
    same(&w.config(""), None, |addr| {
        let mut s = logged_in(addr, &jwt, &u);
        s.send("SUB new 1\r\nPUB old 1\r\nx\r\nPING\r\n");
        let got = s.drain(SHORT);
        assert_eq!(got, "MSG new 1 1\r\nx\r\nPONG\r\n");
        got
    });
}

/// Send `body` as a request on `subject` from `r` (logged in), and return the reply's
/// JSON.
fn request(r: &mut Raw, subject: &str, body: &str) -> Value {
    r.send(format!(
        "SUB _INBOX.upd 99\r\nPUB {subject} _INBOX.upd {}\r\n{body}\r\nPING\r\n",
        body.len()
    ));
    let caps = r.expect(r"MSG _INBOX.upd 99 +(\d+)\r\n");
    let n: usize = caps[1].parse().unwrap();
    let caps = r.expect(&format!(r"(?s)^(.{{{n}}})\r\n"));
    serde_json::from_str(&caps[1]).unwrap()
}

#[test]
fn account_jwt_updates_reach_connected_clients() {
    let w = World::new(json!({}));
    let su = KeyPair::new_user();
    let sys_jwt = user_jwt(&su, &w.sys, json!({}));
    let (u1, u2, u3) = (
        KeyPair::new_user(),
        KeyPair::new_user(),
        KeyPair::new_user(),
    );
    let j1 = user_jwt(&u1, &w.a, json!({}));
    let j2 = user_jwt(&u2, &w.a, json!({}));
    let j3 = user_jwt(&u3, &w.a, json!({}));
    let a = w.a.public_key();
    same(&w.config(""), None, |addr| {
        let mut c1 = logged_in(addr, &j1, &u1);
        let mut c2 = logged_in(addr, &j2, &u2);
        let mut c3 = logged_in(addr, &j3, &u3);
        let mut admin = logged_in(addr, &sys_jwt, &su);
        // Revoke u1, allow two connections, 8-byte payloads.
        let update = account_jwt(
            &w.a,
            &w.op,
            "A",
            json!({"revocations": {u1.public_key(): now() + 5},
                   "limits": {"conn": 2, "payload": 8}}),
        );
        let reply = request(
            &mut admin,
            &format!("$SYS.REQ.ACCOUNT.{a}.CLAIMS.UPDATE"),
            &update,
        );
        assert_eq!(
            reply["data"],
            json!({"account": a, "code": 200, "message": "jwt updated"}),
            "{reply}"
        );
        let mut out = String::new();
        for (name, c) in [("u1", &mut c1), ("u2", &mut c2)] {
            let mut got = c.drain(SHORT);
            if c.closed_within(Duration::from_millis(500)) {
                got.push_str("[closed]");
            }
            out.push_str(&format!("{name}: {got}\n"));
        }
        // u3 stays, with the new payload limit.
        c3.send("PUB x 9\r\n123456789\r\n");
        let mut got = c3.drain(SHORT);
        if c3.closed_within(Duration::from_millis(500)) {
            got.push_str("[closed]");
        }
        out.push_str(&format!("u3: {got}\n"));
        // A JWT for another account on this subject is refused.
        let wrong = account_jwt(&w.sys, &w.op, "SYS", json!({}));
        let reply = request(
            &mut admin,
            &format!("$SYS.REQ.ACCOUNT.{a}.CLAIMS.UPDATE"),
            &wrong,
        );
        out.push_str(&format!("wrong: {}\n", reply["error"]));
        // Revoking u2, who is still connected.
        let update = account_jwt(
            &w.a,
            &w.op,
            "A",
            json!({"revocations": {u2.public_key(): now() + 5}}),
        );
        let reply = request(
            &mut admin,
            &format!("$SYS.REQ.ACCOUNT.{a}.CLAIMS.UPDATE"),
            &update,
        );
        assert_eq!(reply["data"]["code"], 200, "{reply}");
        let mut got = c2.drain(SHORT);
        if c2.closed_within(Duration::from_millis(500)) {
            got.push_str("[closed]");
        }
        out.push_str(&format!("u2: {got}\n"));
        // Go keeps the newest clients when the connection limit drops.
        assert_eq!(
            out,
            format!(
                "u1: -ERR 'maximum account active connections exceeded'\r\n[closed]\n\
                 u2: \n\
                 u3: -ERR 'Maximum Payload Violation'\r\n[closed]\n\
                 wrong: {}\n\
                 u2: -ERR 'User Authentication Revoked'\r\n[closed]\n",
                json!({"account": a, "code": 500,
                       "description": "jwt update resulted in error - subject does not match jwt content"})
            )
        );
        out
    });
}

#[test]
fn full_resolver_takes_pushed_accounts_lists_looks_up_and_deletes() {
    let w = World::new(json!({}));
    let su = KeyPair::new_user();
    let sys_jwt = user_jwt(&su, &w.sys, json!({}));
    let u = KeyPair::new_user();
    let ujwt = user_jwt(&u, &w.a, json!({}));
    let a = w.a.public_key();
    let a_jwt = w.preload[1].1.clone();
    let delete = nats_server::jwt::encode(
        json!({"sub": w.op.public_key(), "nats": {"accounts": [a]}}),
        &w.op,
        now(),
    )
    .unwrap();
    let mut results = Vec::new();
    for (who, b) in binaries() {
        let dir = tempfile::tempdir().unwrap();
        let conf = format!(
            "operator: \"{}\"\nsystem_account: {}\nresolver: {{ type: full, dir: \"{}\", allow_delete: true }}\n\
             resolver_preload: {{ {}: \"{}\" }}\n",
            w.op_jwt,
            w.sys.public_key(),
            dir.path().join("jwt").display(),
            w.sys.public_key(),
            w.preload[0].1
        );
        let (_d, s) = start(&b, &conf);
        let addr = s.addr();
        let mut out = String::new();
        // A is unknown until pushed (Go first asks the cluster, for up to 2 s).
        let login = Login {
            jwt: &ujwt,
            key: Some(&u),
        };
        out += &format!(
            "before: {}",
            session(&addr, &login, "", Duration::from_secs(3))
        );
        let mut admin = logged_in(&addr, &sys_jwt, &su);
        let r = request(&mut admin, "$SYS.REQ.CLAIMS.UPDATE", &a_jwt);
        out += &format!("\npush: {}", r["data"]);
        let mut c = logged_in(&addr, &ujwt, &u);
        out += "\nlogin: ok";
        admin.send(format!(
            "SUB _INBOX.look 7\r\nPUB $SYS.REQ.ACCOUNT.{a}.CLAIMS.LOOKUP _INBOX.look 0\r\n\r\nPING\r\n"
        ));
        let caps = admin.expect(r"MSG _INBOX.look 7 +(\d+)\r\n");
        let n: usize = caps[1].parse().unwrap();
        let caps = admin.expect(&format!(r"(?s)^(.{{{n}}})\r\n"));
        out += &format!("\nlookup: {}", caps[1] == a_jwt);
        let list = request(&mut admin, "$SYS.REQ.CLAIMS.LIST", "");
        let mut keys: Vec<String> = list["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap().to_string())
            .collect();
        keys.sort();
        let mut want = vec![a.clone(), w.sys.public_key()];
        want.sort();
        out += &format!("\nlist: {}", keys == want);
        let r = request(&mut admin, "$SYS.REQ.CLAIMS.DELETE", &delete);
        out += &format!("\ndelete: {}", r["data"]);
        let mut got = c.drain(SHORT);
        if c.closed_within(Duration::from_millis(500)) {
            got.push_str("[closed]");
        }
        out += &format!("\nclient: {got}");
        out += &format!(
            "\nafter: {}",
            session(
                &addr,
                &Login {
                    jwt: &ujwt,
                    key: Some(&u)
                },
                "",
                SHORT
            )
        );
        assert!(
            dir.path()
                .join("jwt")
                .join(format!("{a}.jwt.deleted"))
                .exists(),
            "{who}"
        );
        results.push((who, out, s.log()));
    }
    let ours = &results[0];
    assert_eq!(
        ours.1,
        format!(
            "before: {AUTH_VIOLATION}\npush: {}\nlogin: ok\nlookup: true\nlist: true\n\
             delete: {}\nclient: -ERR 'Account Authentication Expired'\r\n[closed]\nafter: {AUTH_VIOLATION}",
            json!({"account": a, "code": 200, "message": "jwt updated"}),
            json!({"code": 200, "message": "deleted 1 accounts"})
        ),
        "our log:\n{}",
        ours.2
    );
    if let [ours, go] = results.as_slice() {
        assert_eq!(ours.1, go.1, "Go log:\n{}", go.2);
    }
}

#[test]
fn full_resolver_keeps_pushed_accounts_across_restarts() {
    let w = World::new(json!({}));
    let su = KeyPair::new_user();
    let sys_jwt = user_jwt(&su, &w.sys, json!({}));
    let u = KeyPair::new_user();
    let ujwt = user_jwt(&u, &w.a, json!({}));
    let dir = tempfile::tempdir().unwrap();
    let conf = format!(
        "operator: \"{}\"\nsystem_account: {}\nresolver: {{ type: full, dir: \"{}\" }}\n\
         resolver_preload: {{ {}: \"{}\" }}\n",
        w.op_jwt,
        w.sys.public_key(),
        dir.path().display(),
        w.sys.public_key(),
        w.preload[0].1
    );
    {
        let (_d, s) = start(&bin(), &conf);
        let mut admin = logged_in(&s.addr(), &sys_jwt, &su);
        let r = request(
            &mut admin,
            &format!("$SYS.REQ.ACCOUNT.{}.CLAIMS.UPDATE", w.a.public_key()),
            &w.preload[1].1,
        );
        assert_eq!(r["data"]["code"], 200, "{r}");
        // Deleting needs allow_delete.
        let del = nats_server::jwt::encode(
            json!({"sub": w.op.public_key(), "nats": {"accounts": [w.a.public_key()]}}),
            &w.op,
            now(),
        )
        .unwrap();
        let r = request(&mut admin, "$SYS.REQ.CLAIMS.DELETE", &del);
        assert_eq!(
            r["error"]["description"],
            format!(
                "delete accounts request by {} failed - delete must be enabled in server config",
                w.op.public_key()
            )
        );
    }
    let (_d, s) = start(&bin(), &conf);
    assert!(s.wait_log("Managing all jwt in exclusive directory", T));
    let got = session(
        &s.addr(),
        &Login {
            jwt: &ujwt,
            key: Some(&u),
        },
        "",
        SHORT,
    );
    assert_eq!(got, "PONG\r\n");
}

#[test]
fn source_networks_and_zero_limits() {
    let w = World::new(json!({}));
    let u = KeyPair::new_user();
    let elsewhere = user_jwt(&u, &w.a, json!({"nats": {"src": ["10.0.0.0/8"]}}));
    let local = user_jwt(&u, &w.a, json!({"nats": {"src": ["127.0.0.0/8"]}}));
    // A user JWT without limits: zero subscriptions allowed, which Go enforces at once.
    let bare = nats_server::jwt::encode(
        json!({"sub": u.public_key(), "nats": {"type": "user"}}),
        &w.a,
        now(),
    )
    .unwrap();
    same(&w.config(""), None, |addr| {
        let mut out = String::new();
        for (name, jwt) in [
            ("elsewhere", &elsewhere),
            ("local", &local),
            ("bare", &bare),
        ] {
            let login = Login { jwt, key: Some(&u) };
            out += &format!("{name}: {}\n", session(addr, &login, "", SHORT));
        }
        assert!(
            out.starts_with(&format!(
                "elsewhere: {AUTH_VIOLATION}\nlocal: PONG\r\n\nbare: "
            )),
            "{out}"
        );
        // The zero-subscription client is told and closed; the order of that -ERR and
        // the PONG races in Go as well, so only that much is compared.
        let bare = &out[out.find("bare: ").unwrap()..];
        assert!(
            bare.contains("-ERR 'maximum subscriptions exceeded'\r\n")
                && bare.ends_with("[closed]\n"),
            "{out}"
        );
        out[..out.find("bare: ").unwrap()].to_string()
    });
}

#[test]
fn an_expiring_account_disconnects_its_clients() {
    for (who, b) in binaries() {
        let mut w = World::new(json!({}));
        let acc = KeyPair::new_account();
        let c = json!({"sub": acc.public_key(), "name": "B", "exp": now() + 2, "nats": {
            "limits": {"subs": -1, "data": -1, "payload": -1, "conn": -1},
            "type": "account"}});
        w.add(&acc, nats_server::jwt::encode(c, &w.op, now()).unwrap());
        let u = KeyPair::new_user();
        let jwt = user_jwt(&u, &acc, json!({}));
        let (_d, s) = start(&b, &w.config(""));
        let mut r = logged_in(&s.addr(), &jwt, &u);
        let got = r.try_expect("-ERR 'Account Authentication Expired'\r\n", T);
        assert!(got.is_some(), "{who}: {}", r.buffered());
        assert!(r.closed_within(T), "{who}");
        // And it can no longer log in.
        let again = session(
            &s.addr(),
            &Login {
                jwt: &jwt,
                key: Some(&u),
            },
            "",
            SHORT,
        );
        assert_eq!(again, AUTH_VIOLATION, "{who}");
    }
}

/// Two servers with `full` resolvers whose directories already hold account A: a
/// subscriber on the second, a publisher on the first that logs in only after the
/// subscription crossed the route.
fn operator_cluster(first_go: bool, second_go: bool) {
    let w = World::new(json!({}));
    let u = KeyPair::new_user();
    let jwt = user_jwt(&u, &w.a, json!({}));
    let bin_of = |go: bool| {
        if go {
            testkit::require_go_server()
        } else {
            bin()
        }
    };
    let mut guards = Vec::new();
    let mut servers: Vec<ServerProcess> = Vec::new();
    for go in [first_go, second_go] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(format!("{}.jwt", w.a.public_key())),
            &w.preload[1].1,
        )
        .unwrap();
        let routes = servers
            .first()
            .map(|f| format!(", routes: [ \"{}\" ]", common::route_url(f)))
            .unwrap_or_default();
        let conf = format!(
            "operator: \"{}\"\nsystem_account: {}\nresolver: {{ type: full, dir: \"{}\" }}\n\
             resolver_preload: {{ {}: \"{}\" }}\n\
             cluster {{ name: op, listen: \"127.0.0.1:-1\"{routes} }}\n",
            w.op_jwt,
            w.sys.public_key(),
            dir.path().display(),
            w.sys.public_key(),
            w.preload[0].1
        );
        let (d, s) = start(&bin_of(go), &conf);
        guards.push((dir, d));
        servers.push(s);
    }
    assert!(common::wait_full_mesh(
        &[&servers[0], &servers[1]],
        Duration::from_secs(10)
    ));
    let mut sub = logged_in(&servers[1].addr(), &jwt, &u);
    sub.send("SUB foo 1\r\nPING\r\n");
    sub.expect("PONG\r\n");
    // Give the interest time to cross before anyone of A logs in on the first server.
    std::thread::sleep(Duration::from_millis(300));
    let mut publ = logged_in(&servers[0].addr(), &jwt, &u);
    let ok = testkit::wait_for(Duration::from_secs(10), || {
        publ.send("PUB foo 5\r\nprobe\r\nPING\r\n");
        publ.expect("PONG\r\n");
        sub.try_expect(r"MSG foo 1 5\r\nprobe\r\n", Duration::from_millis(50))
            .is_some()
    });
    assert!(ok, "A's interest never crossed the route");
}

#[test]
fn operator_mode_cluster_of_ours() {
    operator_cluster(false, false);
}

#[test]
fn operator_mode_mixed_cluster_go_first() {
    testkit::require_go_server();
    operator_cluster(true, false);
}

#[test]
fn operator_mode_mixed_cluster_go_second() {
    testkit::require_go_server();
    operator_cluster(false, true);
}

#[test]
fn operator_signing_keys_strict_usage_and_trusted_keys() {
    let op = KeyPair::new_operator();
    let opsk = KeyPair::new_operator();
    let sys = KeyPair::new_account();
    let (a, b) = (KeyPair::new_account(), KeyPair::new_account());
    let ask = KeyPair::new_account();
    let u = KeyPair::new_user();
    let op_jwt = |strict: bool| {
        nats_server::jwt::encode(
            json!({"sub": op.public_key(), "name": "OP", "nats": {"type": "operator",
                "system_account": sys.public_key(), "signing_keys": [opsk.public_key()],
                "strict_signing_key_usage": strict}}),
            &op,
            now(),
        )
        .unwrap()
    };
    // A signed by the operator's signing key, B by its identity key. A has a signing key
    // of its own.
    let sys_jwt = account_jwt(&sys, &opsk, "SYS", json!({}));
    let a_jwt = account_jwt(&a, &opsk, "A", json!({"signing_keys": [ask.public_key()]}));
    let b_jwt = account_jwt(&b, &op, "B", json!({}));
    // Users of A: one signed by A's identity key, one by A's signing key.
    let ua = user_jwt(&u, &a, json!({}));
    let uask = user_jwt(
        &u,
        &ask,
        json!({"nats": {"issuer_account": a.public_key()}}),
    );
    let ub = user_jwt(&u, &b, json!({}));
    let preload = format!(
        "resolver: MEMORY\nresolver_preload: {{\n {}: \"{sys_jwt}\"\n {}: \"{a_jwt}\"\n {}: \"{b_jwt}\"\n}}\n",
        sys.public_key(),
        a.public_key(),
        b.public_key()
    );
    let logins = |addr: &str| {
        let login = |jwt: &str| session(addr, &Login { jwt, key: Some(&u) }, "", SHORT);
        format!("A: {} A/sk: {} B: {}", login(&ua), login(&uask), login(&ub))
    };
    for strict in [false, true] {
        let conf = format!("operator: \"{}\"\n{preload}", op_jwt(strict));
        let got = same(&conf, None, logins);
        // Strict usage refuses accounts the operator's identity key signed (B), and, as
        // Go does, makes accounts its signing keys signed (A) strict too: only A's
        // signing keys may sign its users, not A's identity key.
        let want = if strict {
            format!("A: {AUTH_VIOLATION} A/sk: PONG\r\n B: {AUTH_VIOLATION}")
        } else {
            "A: PONG\r\n A/sk: PONG\r\n B: PONG\r\n".to_string()
        };
        assert_eq!(got, want, "strict {strict}");
    }
    // Bare trusted keys, no operator JWT: the identity key signs. The system account
    // must be signed by a trusted key too (else Go does not start: "error resolving
    // system account: account validation failed").
    let sys_jwt = account_jwt(&sys, &op, "SYS", json!({}));
    let conf = format!(
        "trusted: [ {} ]\nsystem_account: {}\nresolver: MEMORY\nresolver_preload: {{\n \
         {}: \"{sys_jwt}\"\n {}: \"{a_jwt}\"\n {}: \"{b_jwt}\"\n}}\n",
        op.public_key(),
        sys.public_key(),
        sys.public_key(),
        a.public_key(),
        b.public_key()
    );
    let got = same(&conf, None, logins);
    assert_eq!(
        got,
        format!("A: {AUTH_VIOLATION} A/sk: {AUTH_VIOLATION} B: PONG\r\n")
    );
}

/// `websocket { jwt_cookie }`: a browser client whose CONNECT carries no JWT logs in with
/// the one in its upgrade request's cookie (a bearer token: no nonce to sign); without the
/// cookie it is refused. Same transcript from Go.
#[test]
fn websocket_clients_log_in_with_the_jwt_cookie() {
    use common::ws::Ws;
    let w = World::new(json!({}));
    let u = KeyPair::new_user();
    let jwt = user_jwt(&u, &w.a, json!({"nats": {"bearer_token": true}}));
    let conf =
        w.config("websocket { host: 127.0.0.1, port: -1, no_tls: true, jwt_cookie: \"my_jwt\" }\n");
    let session = |addr: &str, cookie: &str| {
        let mut ws = Ws::connect(addr, cookie);
        ws.expect_nats("INFO ");
        ws.send_nats("CONNECT {\"verbose\":false,\"protocol\":1}\r\nPING\r\n");
        let (frames, closed) = ws.frames_until_quiet(Duration::from_millis(400));
        let text: String = frames
            .iter()
            .filter(|f| f.op == 2)
            .map(|f| String::from_utf8_lossy(&f.payload).into_owned())
            .collect();
        format!("{text}{}", if closed { "[closed]" } else { "" })
    };
    let mut results = Vec::new();
    for (who, b) in binaries() {
        let (_d, s) = start(&b, &conf);
        let guard = LogOnPanic(&s);
        let addr = format!("127.0.0.1:{}", s.websocket_port.expect("websocket port"));
        let with = session(&addr, &format!("Cookie: other=1; my_jwt={jwt}\r\n"));
        let without = session(&addr, "Cookie: other=1\r\n");
        std::mem::forget(guard);
        results.push((who, with, without));
    }
    assert_eq!(results[0].1, "PONG\r\n");
    assert!(
        results[0]
            .2
            .starts_with("-ERR 'Authorization Violation'\r\n"),
        "{}",
        results[0].2
    );
    if let [ours, go] = results.as_slice() {
        assert_eq!((&ours.1, &ours.2), (&go.1, &go.2));
    }
}

/// A tiny account server (nsc's `account_server_url` side): `GET /jwt/v1/accounts/` is
/// `200` (the start-up probe), `GET /jwt/v1/accounts/<key>` the JWT it serves or `404`.
/// Returns the resolver's base URL; the thread serves until the test process ends.
fn account_server(jwts: Vec<(String, String)>) -> String {
    serve_accounts(jwts, None)
}

/// One request of an account server's client on `c`, answered.
fn answer_account_request(
    jwts: &[(String, String)],
    c: &mut (impl std::io::Read + std::io::Write),
) {
    let mut buf = Vec::new();
    let mut b = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match c.read(&mut b) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&b[..n]),
        }
    }
    let head = String::from_utf8_lossy(&buf).to_string();
    let path = head.split_whitespace().nth(1).unwrap_or_default();
    let found = path.strip_prefix("/jwt/v1/accounts/").map(|k| {
        jwts.iter()
            .find(|(key, _)| key == k)
            .map(|(_, j)| j.clone())
    });
    let (status, body) = match found {
        Some(_) if path == "/jwt/v1/accounts/" => ("200 OK", String::new()),
        Some(Some(jwt)) => ("200 OK", jwt),
        _ => ("404 Not Found", "404 page not found\n".to_string()),
    };
    let _ = write!(
        c,
        "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = c.flush();
}

/// How an account server speaks TLS: its certificate (`Certs` names), the one it shows
/// from its second connection on (after the start-up probe), and the CA its clients'
/// certificates must be signed by (none: no client certificate asked for).
struct Https<'a> {
    certs: &'a Certs,
    cert: &'a str,
    later: Option<&'a str>,
    client_ca: Option<&'a str>,
}

/// [`account_server`], over TLS when `https` says so (then the URL is `https://`).
fn serve_accounts(jwts: Vec<(String, String)>, https: Option<Https<'_>>) -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let configs = https.as_ref().map(|h| {
        let first = h.certs.server_config(h.cert, h.client_ca);
        let later = h
            .later
            .map_or(first.clone(), |c| h.certs.server_config(c, h.client_ca));
        (first, later)
    });
    let scheme = if configs.is_some() { "https" } else { "http" };
    let jwts = std::sync::Arc::new(jwts);
    std::thread::spawn(move || {
        for (i, conn) in l.incoming().enumerate() {
            let Ok(c) = conn else { continue };
            let _ = c.set_read_timeout(Some(Duration::from_secs(5)));
            let jwts = jwts.clone();
            let config = configs
                .as_ref()
                .map(|(first, later)| if i == 0 { first.clone() } else { later.clone() });
            std::thread::spawn(move || match config {
                None => {
                    let mut c = c;
                    answer_account_request(&jwts, &mut c)
                }
                Some(config) => {
                    let tls = rustls::ServerConnection::new(config).unwrap();
                    let mut s = rustls::StreamOwned::new(tls, c);
                    answer_account_request(&jwts, &mut s);
                    s.conn.send_close_notify();
                    let _ = std::io::Write::flush(&mut s);
                }
            });
        }
    });
    format!("{scheme}://127.0.0.1:{port}/jwt/v1/accounts/")
}

/// Certificates made with rcgen in a temp dir (`<name>.pem`, `<name>-key.pem`): CAs `ca`
/// and `ca2`; `server` (127.0.0.1 and localhost, by `ca`), `server2` (the same names, by
/// `ca2`); `client` (by `ca`).
struct Certs {
    dir: tempfile::TempDir,
}

impl Certs {
    fn new() -> Certs {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
        let certs = Certs {
            dir: tempfile::tempdir().unwrap(),
        };
        let write = |name: &str, cert: &rcgen::Certificate, key: &KeyPair| {
            std::fs::write(certs.cert(name), cert.pem()).unwrap();
            std::fs::write(certs.key(name), key.serialize_pem()).unwrap();
        };
        let ca = |name: &str, cn: &str| {
            let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            p.distinguished_name.push(DnType::CommonName, cn);
            let key = KeyPair::generate().unwrap();
            let cert = p.self_signed(&key).unwrap();
            write(name, &cert, &key);
            (cert, key)
        };
        let leaf = |name: &str, cn: &str, server: bool, by: &(rcgen::Certificate, KeyPair)| {
            let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
            p.distinguished_name.push(DnType::CommonName, cn);
            if server {
                p.subject_alt_names = vec![
                    SanType::DnsName("localhost".try_into().unwrap()),
                    SanType::IpAddress("127.0.0.1".parse().unwrap()),
                ];
            }
            let key = KeyPair::generate().unwrap();
            let cert = p.signed_by(&key, &by.0, &by.1).unwrap();
            write(name, &cert, &key);
        };
        let (one, two) = (ca("ca", "Test CA"), ca("ca2", "Other CA"));
        leaf("server", "localhost", true, &one);
        leaf("server2", "localhost", true, &two);
        leaf("client", "resolver", false, &one);
        certs
    }

    fn cert(&self, name: &str) -> String {
        self.dir
            .path()
            .join(format!("{name}.pem"))
            .display()
            .to_string()
    }

    fn key(&self, name: &str) -> String {
        self.dir
            .path()
            .join(format!("{name}-key.pem"))
            .display()
            .to_string()
    }

    /// A rustls server configuration with certificate `name`, asking for a client
    /// certificate signed by `client_ca` when given.
    fn server_config(
        &self,
        name: &str,
        client_ca: Option<&str>,
    ) -> std::sync::Arc<rustls::ServerConfig> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let certs: Vec<_> = CertificateDer::pem_file_iter(self.cert(name))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let key = PrivateKeyDer::from_pem_file(self.key(name)).unwrap();
        let b = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap();
        let b = match client_ca {
            Some(ca) => {
                let mut roots = rustls::RootCertStore::empty();
                for c in CertificateDer::pem_file_iter(self.cert(ca)).unwrap() {
                    roots.add(c.unwrap()).unwrap();
                }
                let v = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    std::sync::Arc::new(roots),
                    provider,
                )
                .build()
                .unwrap();
                b.with_client_cert_verifier(v)
            }
            None => b.with_no_client_auth(),
        };
        std::sync::Arc::new(b.with_single_cert(certs, key).unwrap())
    }
}

#[test]
fn url_resolver_fetches_accounts_over_http_like_go() {
    let w = World::new(json!({}));
    // B is served but signed by an operator nobody trusts; C is not served at all.
    let stranger = KeyPair::new_operator();
    let (b, c) = (KeyPair::new_account(), KeyPair::new_account());
    let mut served = w.preload.clone();
    served.push((b.public_key(), account_jwt(&b, &stranger, "B", json!({}))));
    let url = account_server(served);
    let conf = format!(
        "operator: \"{}\"\nsystem_account: {}\nresolver: URL(\"{url}\")\n",
        w.op_jwt,
        w.sys.public_key()
    );
    let login = |acc: &KeyPair| {
        let u = KeyPair::new_user();
        (user_jwt(&u, acc, json!({})), u)
    };
    for (acc, want) in [
        (&w.a, "PONG\r\n"),
        (&b, AUTH_VIOLATION),
        (&c, AUTH_VIOLATION),
    ] {
        let (jwt, u) = login(acc);
        same(&conf, Some(want), |addr| {
            let l = Login {
                jwt: &jwt,
                key: Some(&u),
            };
            // Twice: the second login finds the account already fetched (or not).
            let first = session(addr, &l, "", SHORT);
            let again = session(addr, &l, "", SHORT);
            assert_eq!(first, again);
            first
        });
    }
    // No `resolver`: the operator JWT's `account_server_url` (plus `/accounts/`).
    let base = url.trim_end_matches("/accounts/").to_string();
    let op_jwt = nats_server::jwt::encode(
        json!({"sub": w.op.public_key(), "name": "OP", "nats": {"type": "operator",
            "system_account": w.sys.public_key(), "account_server_url": base}}),
        &w.op,
        now(),
    )
    .unwrap();
    let implied = format!("operator: \"{op_jwt}\"\n");
    for (acc, want) in [(&w.a, "PONG\r\n"), (&c, AUTH_VIOLATION)] {
        let (jwt, u) = login(acc);
        same(&implied, Some(want), |addr| {
            let l = Login {
                jwt: &jwt,
                key: Some(&u),
            };
            session(addr, &l, "", SHORT)
        });
    }
    // A served account's users can talk to each other.
    let (jwt, u) = login(&w.a);
    same(&conf, None, |addr| {
        let mut sub = logged_in(addr, &jwt, &u);
        sub.send("SUB foo 1\r\nPING\r\n");
        sub.expect("PONG\r\n");
        let mut publ = logged_in(addr, &jwt, &u);
        publ.send("PUB foo 2\r\nhi\r\nPING\r\n");
        publ.expect("PONG\r\n");
        sub.expect(r"MSG foo 1 2\r\nhi\r\n");
        "ok".into()
    });
}

/// Log in to the account of `acc` twice (the second login finds the account fetched), and
/// check that two of its users can talk to each other: `"PONG\r\n"` when it all worked.
fn fetched_account_works(addr: &str, acc: &KeyPair) -> String {
    let u = KeyPair::new_user();
    let jwt = user_jwt(&u, acc, json!({}));
    let l = Login {
        jwt: &jwt,
        key: Some(&u),
    };
    let first = session(addr, &l, "", SHORT);
    if first != "PONG\r\n" {
        return first;
    }
    assert_eq!(session(addr, &l, "", SHORT), first);
    let mut sub = logged_in(addr, &jwt, &u);
    sub.send("SUB foo 1\r\nPING\r\n");
    sub.expect("PONG\r\n");
    let mut publ = logged_in(addr, &jwt, &u);
    publ.send("PUB foo 2\r\nhi\r\nPING\r\n");
    publ.expect("PONG\r\n");
    sub.expect(r"MSG foo 1 2\r\nhi\r\n");
    first
}

#[test]
fn url_resolver_fetches_accounts_over_https_like_go() {
    let w = World::new(json!({}));
    let certs = Certs::new();
    let c = KeyPair::new_account(); // not served
    let head = format!(
        "operator: \"{}\"\nsystem_account: {}\n",
        w.op_jwt,
        w.sys.public_key()
    );
    let https = |client_ca: Option<&str>| {
        serve_accounts(
            w.preload.clone(),
            Some(Https {
                certs: &certs,
                cert: "server",
                later: None,
                client_ca,
            }),
        )
    };
    let check = |conf: &str, env: &[(&str, &str)]| {
        same_env(conf, env, Some("PONG\r\n"), |addr| {
            fetched_account_works(addr, &w.a)
        });
        same_env(conf, env, Some(AUTH_VIOLATION), |addr| {
            fetched_account_works(addr, &c)
        });
    };

    // (a) `resolver_tls { ca_file }`: the test CA instead of the system's roots.
    let url = https(None);
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let conf = format!(
        "{head}resolver: URL(\"{url}\")\nresolver_tls {{ ca_file: {:?} }}\n",
        certs.cert("ca")
    );
    check(&conf, &[]);

    // (b) No `resolver_tls`: the system's roots, here the bundle `SSL_CERT_FILE` names.
    let conf = format!("{head}resolver: URL(\"{url}\")\n");
    check(&conf, &[("SSL_CERT_FILE", certs.cert("ca").as_str())]);

    // (d) An account server that wants a client certificate signed by the test CA: the
    // one `resolver_tls` names is offered.
    let url = https(Some("ca"));
    let conf = format!(
        "{head}resolver: URL(\"{url}\")\nresolver_tls {{ ca_file: {:?}, cert_file: {:?}, key_file: {:?} }}\n",
        certs.cert("ca"),
        certs.cert("client"),
        certs.key("client")
    );
    check(&conf, &[]);
    // Without it, the start-up probe is refused and so is the start.
    let conf = format!(
        "{head}resolver: URL(\"{url}\")\nresolver_tls {{ ca_file: {:?} }}\n",
        certs.cert("ca")
    );
    let ours = refusal(&bin(), &conf);
    assert_eq!(
        ours,
        format!(
            "could not fetch <\"{url}\">: Get \"{url}\": remote error: tls: certificate required"
        )
    );
    assert_eq!(ours, refusal(&testkit::require_go_server(), &conf));

    // `insecure`: the account server's certificate is not checked (one of a CA nobody
    // trusts here is taken).
    let url = serve_accounts(
        w.preload.clone(),
        Some(Https {
            certs: &certs,
            cert: "server2",
            later: None,
            client_ca: None,
        }),
    );
    let conf = format!("{head}resolver: URL(\"{url}\")\nresolver_tls {{ insecure: true }}\n");
    check(&conf, &[]);
}

#[test]
fn url_resolver_over_https_refuses_an_unknown_authority_like_go() {
    let w = World::new(json!({}));
    let certs = Certs::new();
    let head = format!(
        "operator: \"{}\"\nsystem_account: {}\n",
        w.op_jwt,
        w.sys.public_key()
    );
    let trusting = |ca: &str, url: &str| {
        format!(
            "{head}resolver: URL(\"{url}\")\nresolver_tls {{ ca_file: {:?} }}\n",
            certs.cert(ca)
        )
    };
    let served = |later: Option<&str>| {
        serve_accounts(
            w.preload.clone(),
            Some(Https {
                certs: &certs,
                cert: "server",
                later,
                client_ca: None,
            }),
        )
    };
    // The account server's certificate is not signed by the CA trusted: the start-up
    // probe fails, and the start with it, in Go's words.
    let url = served(None);
    let conf = trusting("ca2", &url);
    let ours = refusal(&bin(), &conf);
    assert_eq!(
        ours,
        format!(
            "could not fetch <\"{url}\">: Get \"{url}\": x509: certificate signed by unknown authority"
        )
    );
    assert_eq!(ours, refusal(&testkit::require_go_server(), &conf));
    // No `resolver_tls` and a system bundle without the test CA: the same.
    let conf = format!("{head}resolver: URL(\"{url}\")\n");
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle.pem");
    std::fs::copy(certs.cert("ca2"), &bundle).unwrap();
    for (who, b) in binaries() {
        let (_d, path) = common::config(&conf);
        let out = std::process::Command::new(&b)
            .args(["-c", &path, "-p", "-1", "-a", "127.0.0.1"])
            .env("SSL_CERT_FILE", &bundle)
            .env("SSL_CERT_DIR", dir.path())
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert!(!out.status.success(), "{who} started");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.contains("x509: certificate signed by unknown authority"),
            "{who}: {text}"
        );
    }

    // The probe passes, then the server shows a certificate of another CA: the fetch of
    // the account fails, its user is refused, and the log says why.
    for (who, b) in binaries() {
        let url = served(Some("server2"));
        let (_d, s) = start(&b, &trusting("ca", &url));
        let guard = LogOnPanic(&s);
        assert_eq!(
            fetched_account_works(&s.addr(), &w.a),
            AUTH_VIOLATION,
            "{who}"
        );
        let line = format!(
            "Account fetch failed: could not fetch <\"{url}{a}\">: Get \"{url}{a}\": x509: certificate signed by unknown authority",
            a = w.a.public_key()
        );
        assert!(s.wait_log(&line, T), "{who}: no {line:?}");
        std::mem::forget(guard);
    }
}

#[test]
fn resolver_tls_config_errors_like_go() {
    let w = World::new(json!({}));
    let certs = Certs::new();
    let head = w.config("");
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate\n").unwrap();
    let missing = dir.path().join("missing.pem");
    let cases = [
        format!("resolver_tls {{ ca_file: {missing:?} }}"),
        format!("resolver_tls {{ ca_file: {junk:?} }}"),
        format!("resolver_tls {{ cert_file: {:?} }}", certs.cert("client")),
        format!("resolver_tls {{ key_file: {:?} }}", certs.key("client")),
        format!(
            "resolver_tls {{ cert_file: {missing:?}, key_file: {:?} }}",
            certs.key("client")
        ),
        "resolver_tls { verify_cert_and_check_known_urls: true }".to_string(),
        "resolver_tls { nope: true }".to_string(),
        "resolver_tls { insecure: \"yes\" }".to_string(),
    ];
    let go = testkit::require_go_server();
    for case in &cases {
        let conf = format!("{head}{case}\n");
        let ours = refusal(&bin(), &conf);
        assert_eq!(ours, refusal(&go, &conf), "config:\n{case}");
    }
}

/// What a server binary says when it refuses to start on `conf`: the text after
/// `nats-server: ` or `[FTL] `, with the config path replaced.
fn refusal(b: &Path, conf: &str) -> String {
    let (_d, path) = common::config(conf);
    let out = std::process::Command::new(b)
        .args(["-c", &path, "-p", "-1", "-a", "127.0.0.1"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success(), "{} accepted:\n{conf}", b.display());
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let line = text
        .lines()
        .find_map(|l| {
            l.split_once("nats-server: ")
                .or_else(|| l.split_once("[FTL] "))
                .map(|(_, t)| t.to_string())
        })
        .unwrap_or_else(|| panic!("no refusal from {}:\n{text}", b.display()));
    line.replace(&path, "CONF")
}

#[test]
fn resolver_config_errors_like_go() {
    let w = World::new(json!({}));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("jwt").display().to_string();
    let head = format!(
        "operator: \"{}\"\nsystem_account: {}\n",
        w.op_jwt,
        w.sys.public_key()
    );
    // An HTTP server that answers 404 to everything: the start-up probe fails.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port404 = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for mut c in l.incoming().flatten() {
            let mut b = [0u8; 4096];
            let _ = c.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = c.read(&mut b);
            let _ = c.write_all(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cases = [
        format!("{head}resolver: {{ type: cache }}\n"),
        format!("{head}resolver: {{ type: cache, dir: \"{d}\", interval: \"1m\" }}\n"),
        format!("{head}resolver: {{ type: cache, dir: \"{d}\", allow_delete: true }}\n"),
        format!("{head}resolver: {{ type: cache, dir: \"{d}\", ttl: \"soon\" }}\n"),
        format!("{head}resolver: {{ type: cache, dir: \"{d}\", ttl: 5 }}\n"),
        format!("{head}resolver: {{ type: cache, dir: \"{d}\", timeout: \"0s\" }}\n"),
        format!("{head}resolver: {{ type: cache, dir: \"{d}\", limit: \"x\" }}\n"),
        format!("{head}resolver: {{ type: other, dir: \"{d}\" }}\n"),
        format!("{head}resolver: {{ type: full, dir: \"{d}\", ttl: \"1m\", timeout: \"-1s\" }}\n"),
        format!("{head}resolver: something\n"),
        format!("{head}resolver: 42\n"),
        format!("{head}resolver: URL\n"),
        format!("{head}resolver: URL(\"http://127.0.0.1:{closed}/jwt/v1/accounts/\")\n"),
        format!("{head}resolver: URL(\"http://127.0.0.1:{port404}/jwt/v1/accounts/\")\n"),
        format!(
            "{head}resolver: URL(\"http://127.0.0.1:{port404}/\")\nresolver_preload: {{ {}: \"{}\" }}\n",
            w.sys.public_key(),
            w.preload[0].1
        ),
        // No resolver: the operator's (empty) account server URL.
        format!("operator: \"{}\"\n", w.op_jwt),
        // A directory resolver without an operator.
        format!("resolver: {{ type: cache, dir: \"{d}\" }}\n"),
    ];
    let go = testkit::require_go_server();
    for conf in &cases {
        let ours = refusal(&bin(), conf);
        assert_eq!(ours, refusal(&go, conf), "config:\n{conf}");
    }
}

/// Send `body` on `subject` and collect `n` replies (several servers answer), as JSON.
fn requests(r: &mut Raw, subject: &str, body: &str, n: usize) -> Vec<Value> {
    r.send(format!(
        "SUB _INBOX.many 98\r\nPUB {subject} _INBOX.many {}\r\n{body}\r\nPING\r\n",
        body.len()
    ));
    let mut out = Vec::new();
    for _ in 0..n {
        let caps = r.expect(r"MSG _INBOX.many 98 +(\d+)\r\n");
        let len: usize = caps[1].parse().unwrap();
        let caps = r.expect(&format!(r"(?s)^(.{{{len}}})\r\n"));
        out.push(serde_json::from_str(&caps[1]).unwrap());
    }
    r.send("UNSUB 98\r\n");
    out
}

/// A `full` server holding account A and a `cache` server routed to it: a subscriber of
/// A on the first before the cache knows A, then a publisher of A logs in on the cache
/// (which fetches A from the cluster) and reaches the subscriber; claim updates on the
/// cache apply to accounts it holds only.
fn cache_resolver_cluster(full_go: bool, cache_go: bool) {
    let w = World::new(json!({}));
    let u = KeyPair::new_user();
    let jwt = user_jwt(&u, &w.a, json!({}));
    let su = KeyPair::new_user();
    let sys_jwt = user_jwt(&su, &w.sys, json!({}));
    let bin_of = |go: bool| {
        if go {
            testkit::require_go_server()
        } else {
            bin()
        }
    };
    let full_dir = tempfile::tempdir().unwrap();
    std::fs::write(
        full_dir.path().join(format!("{}.jwt", w.a.public_key())),
        &w.preload[1].1,
    )
    .unwrap();
    let cache_dir = tempfile::tempdir().unwrap();
    let head = format!(
        "operator: \"{}\"\nsystem_account: {}\nresolver_preload: {{ {}: \"{}\" }}\n",
        w.op_jwt,
        w.sys.public_key(),
        w.sys.public_key(),
        w.preload[0].1
    );
    let (_g1, full) = start(
        &bin_of(full_go),
        &format!(
            "{head}resolver: {{ type: full, dir: \"{}\" }}\ncluster {{ name: op, listen: \"127.0.0.1:-1\" }}\n",
            full_dir.path().display()
        ),
    );
    let (_g2, cache) = start(
        &bin_of(cache_go),
        &format!(
            "{head}resolver: {{ type: cache, dir: \"{}\", ttl: \"1h\", timeout: \"1s\" }}\n\
             cluster {{ name: op, listen: \"127.0.0.1:-1\", routes: [ \"{}\" ] }}\n",
            cache_dir.path().display(),
            common::route_url(&full)
        ),
    );
    let _logs = (LogOnPanic(&full), LogOnPanic(&cache));
    assert!(common::wait_full_mesh(
        &[&full, &cache],
        Duration::from_secs(10)
    ));
    let cached = cache_dir.path().join(format!("{}.jwt", w.a.public_key()));
    assert!(!cached.exists());
    let mut sub = logged_in(&full.addr(), &jwt, &u);
    sub.send("SUB foo 1\r\nPING\r\n");
    sub.expect("PONG\r\n");
    // Logging in on the cache: it asks the cluster for A (retried until the full
    // server's lookup interest has reached the cache server).
    let login = Login {
        jwt: &jwt,
        key: Some(&u),
    };
    let ok = testkit::wait_for(Duration::from_secs(15), || {
        session(&cache.addr(), &login, "", Duration::from_millis(100)) == "PONG\r\n"
    });
    assert!(ok, "never logged in on the cache server");
    assert_eq!(
        std::fs::read_to_string(&cached).unwrap().trim(),
        w.preload[1].1,
        "the cache keeps the fetched JWT"
    );
    let mut publ = logged_in(&cache.addr(), &jwt, &u);
    let crossed = testkit::wait_for(Duration::from_secs(10), || {
        publ.send("PUB foo 5\r\nprobe\r\nPING\r\n");
        publ.expect("PONG\r\n");
        sub.try_expect(r"MSG foo 1 5\r\nprobe\r\n", Duration::from_millis(50))
            .is_some()
    });
    assert!(crossed, "A's interest never reached the cache server");
    // Claim updates, sent on the cache server: both servers answer.
    let mut admin = logged_in(&cache.addr(), &sys_jwt, &su);
    let a2 = account_jwt(&w.a, &w.op, "A2", json!({}));
    let d = KeyPair::new_account();
    let d_jwt = account_jwt(&d, &w.op, "D", json!({}));
    let messages = |replies: Vec<Value>| {
        let mut m: Vec<String> = replies
            .iter()
            .map(|r| r["data"]["message"].as_str().unwrap_or("?").to_string())
            .collect();
        m.sort();
        m
    };
    let got = messages(requests(&mut admin, "$SYS.REQ.CLAIMS.UPDATE", &a2, 2));
    assert_eq!(got, ["jwt updated", "jwt updated cache"]);
    assert_eq!(std::fs::read_to_string(&cached).unwrap().trim(), a2);
    let got = messages(requests(&mut admin, "$SYS.REQ.CLAIMS.UPDATE", &d_jwt, 2));
    assert_eq!(got, ["jwt update cache skipped", "jwt updated"]);
    assert!(!cache_dir
        .path()
        .join(format!("{}.jwt", d.public_key()))
        .exists());
    // Only the full resolver answers lookups.
    admin.send(format!(
        "SUB _INBOX.look 7\r\nPUB $SYS.REQ.ACCOUNT.{}.CLAIMS.LOOKUP _INBOX.look 0\r\n\r\nPING\r\n",
        w.a.public_key()
    ));
    admin.expect(r"MSG _INBOX.look 7 +\d+\r\n");
    assert!(admin
        .try_expect(r"MSG _INBOX.look", Duration::from_millis(500))
        .is_none());
}

#[test]
fn cache_resolver_fetches_from_a_full_resolver_in_the_cluster() {
    cache_resolver_cluster(false, false);
}

#[test]
fn cache_resolver_of_ours_beside_a_full_resolver_of_go() {
    testkit::require_go_server();
    cache_resolver_cluster(true, false);
}

#[test]
fn cache_resolver_of_go_beside_a_full_resolver_of_ours() {
    testkit::require_go_server();
    cache_resolver_cluster(false, true);
}
