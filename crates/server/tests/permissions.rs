//! User permissions over the wire: publish and subscribe allow/deny lists, queue-scoped
//! entries, the subscribe deny filter behind wildcard subscriptions, `default_permissions`,
//! `allow_responses`, `allowed_connection_types` and `no_auth_user`.
//!
//! Most checks are differential: the same config and the same raw-protocol scripts go to
//! the Go nats-server 2.9.10 and to ours, and everything after INFO must be byte for byte
//! the same, as must the violation lines in the logs. Requires the Go server
//! (`apt-get install -y nats-server`). Every step ends with PING and waits for its PONG
//! (or the close), so nothing here sleeps.

mod common;

use std::time::{Duration, Instant};

use common::{config, start, start_go, Raw, ServerProcess};

const USERS: &str = r#"
authorization {
  default_permissions: { publish: "def.>", subscribe: "def.>" }
  users: [
    { user: a, password: a, permissions: {
        publish: { allow: ["foo.>", "bar", "_INBOX.>"], deny: ["foo.secret"] }
        subscribe: { allow: ["foo.>", "q.* v1", "jobs v2.*", "_INBOX.>"], deny: ["foo.bar", "foo.baz v9"] }
    } }
    { user: d, password: d }
    { user: open, password: open, permissions: {} }
    { user: old, password: old, permissions: { pub: "x.*", sub: ["y.>", "z"] } }
    { user: r, password: r, permissions: { subscribe: "req", allow_responses: true } }
    { user: r2, password: r2, permissions: {
        subscribe: "req.>", publish: { deny: "_INBOX.>" }, allow_responses: { max: 2, expires: "1m" }
    } }
    { user: w, password: w, allowed_connection_types: ["WEBSOCKET", "MQTT"] }
    { user: s, password: s, allowed_connection_types: "standard", permissions: { publish: { deny: ">" } } }
  ]
}
"#;

/// What one step produced: the bytes after INFO (or since the previous step), and
/// whether the server hung up.
#[derive(Debug, PartialEq)]
struct Outcome {
    text: String,
    closed: bool,
}

/// Read until the step's closing PONG arrives or the server closes the connection.
fn finish(r: &mut Raw) -> Outcome {
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut closed = false;
    while Instant::now() < deadline {
        if r.buffered().ends_with("PONG\r\n") {
            break;
        }
        if r.closed_within(Duration::from_millis(20)) {
            closed = true;
            break;
        }
    }
    let text = r.buffered();
    r.drain(Duration::ZERO);
    Outcome { text, closed }
}

/// A connection whose INFO has been read.
fn open(addr: &str) -> Raw {
    let mut r = Raw::connect(addr);
    r.expect(r"^INFO \{.*\} ?\r\n");
    r
}

/// One connection, one script (which ends with PING).
fn run(addr: &str, script: &str) -> Outcome {
    let mut r = open(addr);
    r.send(script);
    finish(&mut r)
}

fn connect(user: &str) -> String {
    format!("CONNECT {{\"verbose\":false,\"pedantic\":false,\"user\":\"{user}\",\"pass\":\"{user}\"}}\r\n")
}

/// Single-connection scripts.
fn scripts() -> Vec<(&'static str, String)> {
    let as_user = |u: &str, ops: &str| format!("{}{ops}PING\r\n", connect(u));
    vec![
        (
            "publish allow and deny",
            as_user(
                "a",
                "SUB foo.> 1\r\nPUB foo.x 1\r\na\r\nPUB foo.secret 1\r\nb\r\nPUB baz 1\r\nc\r\n\
                 PUB bar 1\r\nd\r\nPUB foo.* 1\r\ne\r\nPUB foo..x 1\r\nf\r\n",
            ),
        ),
        (
            "subscribe allow and deny with wildcards",
            as_user(
                "a",
                "SUB foo.bar 1\r\nSUB foo.* 2\r\nSUB foo.> 3\r\nSUB > 4\r\nSUB baz 5\r\n\
                 SUB foo..bar 6\r\nSUB foo.*.> 7\r\n",
            ),
        ),
        (
            "queue-scoped entries",
            as_user(
                "a",
                "SUB q.x v1 1\r\nSUB q.x v2 2\r\nSUB q.x 3\r\nSUB foo.x g 4\r\nSUB foo.baz v9 5\r\n\
                 SUB foo.baz v8 6\r\nSUB jobs v2.a 7\r\nSUB jobs v3 8\r\nSUB foo.x _sys_ 9\r\n",
            ),
        ),
        (
            "deny filter behind a wildcard subscription",
            as_user(
                "a",
                "SUB foo.* 1\r\nPUB foo.bar 1\r\nx\r\nPUB foo.baz 1\r\ny\r\nSUB foo.> 2\r\n\
                 PUB foo.bar.z 1\r\nz\r\n",
            ),
        ),
        (
            "verbose: no +OK on violations",
            "CONNECT {\"verbose\":true,\"user\":\"a\",\"pass\":\"a\"}\r\nSUB baz 1\r\nSUB foo.x 2\r\n\
             PUB baz 1\r\na\r\nPUB bar 1\r\nb\r\nPING\r\n"
                .to_string(),
        ),
        (
            "pedantic by default: invalid subject, then permissions",
            "CONNECT {\"verbose\":false,\"user\":\"a\",\"pass\":\"a\"}\r\nSUB foo.* 1\r\nPUB foo.* 1\r\na\r\n\
             PUB baz.* 1\r\nb\r\nPING\r\n"
                .to_string(),
        ),
        (
            "reserved subjects and replies with a user",
            as_user(
                "a",
                "PUB _GR_.x 1\r\na\r\nPUB foo.x _R_.y 1\r\nb\r\nPUB baz _R_.y 1\r\nc\r\n",
            ),
        ),
        (
            "default permissions",
            as_user(
                "d",
                "SUB def.x 1\r\nSUB foo 2\r\nPUB def.x 1\r\na\r\nPUB foo 1\r\nb\r\n",
            ),
        ),
        (
            "empty permissions are not the defaults",
            as_user("open", "SUB foo 1\r\nSUB > 2\r\nPUB foo 1\r\na\r\n"),
        ),
        (
            "old style lists",
            as_user(
                "old",
                "PUB x.y 1\r\na\r\nPUB x 1\r\nb\r\nSUB y.a.b 1\r\nSUB z 2\r\nSUB y 3\r\n",
            ),
        ),
        (
            "connection types without STANDARD",
            as_user("w", "PUB foo 1\r\na\r\n"),
        ),
        (
            "connection types with STANDARD",
            as_user("s", "PUB foo 1\r\na\r\nSUB foo 1\r\n"),
        ),
        ("wrong password", format!("{}PING\r\n", connect("a").replace("\"pass\":\"a\"", "\"pass\":\"x\""))),
        (
            "a second CONNECT changes the permissions",
            format!(
                "{}PUB foo 1\r\na\r\n{}PUB foo 1\r\nb\r\nPUB def.x 1\r\nc\r\nPING\r\n",
                connect("open"),
                connect("d")
            ),
        ),
    ]
}

/// The violation lines of a server log, without time, pid, address and cid.
fn violations(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains("Violation") || l.contains("authentication error"))
        .map(|l| match l.find(" - cid:") {
            Some(i) => {
                let rest = &l[i + 7..];
                rest.split_once(" - ").map_or(rest, |(_, t)| t).to_string()
            }
            None => l.to_string(),
        })
        .collect()
}

/// Wait until both logs hold the same number of violation lines, then return them.
fn logged(go: &ServerProcess, ours: &ServerProcess) -> (Vec<String>, Vec<String>) {
    let mut pair = (Vec::new(), Vec::new());
    common::wait_for(Duration::from_secs(3), || {
        pair = (violations(&go.log()), violations(&ours.log()));
        pair.0.len() == pair.1.len()
    });
    pair
}

fn compare(go: &ServerProcess, ours: &ServerProcess, cases: &[(&str, String)]) {
    let mut mismatches = Vec::new();
    for (name, script) in cases {
        let g = run(&go.addr(), script);
        let o = run(&ours.addr(), script);
        if g != o {
            mismatches.push(format!("{name}:\n  go:   {g:?}\n  ours: {o:?}"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "differences from Go:\n{}",
        mismatches.join("\n")
    );
}

#[test]
fn single_connection_scripts_match_go() {
    let (_dir, path) = config(USERS);
    let go = start_go(&["-c", &path]);
    let ours = start(&["-c", &path]);
    compare(&go, &ours, &scripts());
    let (g, o) = logged(&go, &ours);
    assert_eq!(g, o, "violation logs differ");
    assert!(
        o.iter()
            .any(|l| l == r#"Publish Violation - User "a", Subject "foo.secret""#),
        "{o:#?}"
    );
    assert!(
        o.iter().any(|l| l
            == r#"Subscription Violation - User "a", Subject "q.x", Queue: "v2", SID 2"#),
        "{o:#?}"
    );
}

/// A request/reply exchange between a requester and a responder with `allow_responses`:
/// the transcript of both connections, step by step.
fn request_reply(addr: &str, responder: &str) -> Vec<Outcome> {
    let mut out = Vec::new();
    let mut req = open(addr);
    req.send(format!("{}SUB _INBOX.> 9\r\nPING\r\n", connect("open")));
    out.push(finish(&mut req));
    let mut rsp = open(addr);
    rsp.send(format!(
        "{}SUB req 1\r\nSUB req.> 2\r\nPING\r\n",
        connect(responder)
    ));
    out.push(finish(&mut rsp));
    // Not a reply subject yet: denied.
    rsp.send("PUB _INBOX.x 1\r\n0\r\nPING\r\n");
    out.push(finish(&mut rsp));
    for subject in ["req", "req.a"] {
        req.send(format!("PUB {subject} _INBOX.x 2\r\nhi\r\nPING\r\n"));
        out.push(finish(&mut req));
        rsp.send("PING\r\n");
        out.push(finish(&mut rsp));
        // Up to `max` answers to the reply subject it received; others stay denied.
        rsp.send(
            "PUB _INBOX.x 1\r\na\r\nPUB _INBOX.x 1\r\nb\r\nPUB _INBOX.x 1\r\nc\r\n\
             PUB _INBOX.y 1\r\nd\r\nPUB other 1\r\ne\r\nPING\r\n",
        );
        out.push(finish(&mut rsp));
        req.send("PING\r\n");
        out.push(finish(&mut req));
    }
    out
}

#[test]
fn allow_responses_match_go() {
    let (_dir, path) = config(USERS);
    let go = start_go(&["-c", &path]);
    let ours = start(&["-c", &path]);
    for responder in ["r", "r2"] {
        let g = request_reply(&go.addr(), responder);
        let o = request_reply(&ours.addr(), responder);
        assert_eq!(g, o, "responder {responder}");
        // The requester got exactly the allowed answers (sanity check of the script).
        let answers: usize = o
            .iter()
            .map(|s| s.text.matches("MSG _INBOX.x 9").count())
            .sum();
        // `r` (max 1) hears `req` only; `r2` (max 2) hears `req.>` only.
        assert_eq!(answers, if responder == "r" { 1 } else { 2 }, "{o:?}");
    }
    let (g, o) = logged(&go, &ours);
    assert_eq!(g, o, "violation logs differ");
}

#[test]
fn no_auth_user_gets_its_permissions_and_wrong_credentials_fail() {
    let (_dir, path) = config(
        r#"
no_auth_user: anon
authorization {
  users: [
    { user: anon, password: anon, permissions: { publish: "ok", subscribe: "ok" } }
    { user: a, password: a }
  ]
}
"#,
    );
    let go = start_go(&["-c", &path]);
    let ours = start(&["-c", &path]);
    let cases = vec![
        (
            "no credentials",
            "CONNECT {\"verbose\":false,\"pedantic\":false}\r\nSUB ok 1\r\nSUB no 2\r\nPUB ok 1\r\na\r\n\
             PUB no 1\r\nb\r\nPING\r\n"
                .to_string(),
        ),
        ("no CONNECT at all", "PUB no 1\r\nb\r\nSUB ok 1\r\nPUB ok 1\r\na\r\nPING\r\n".into()),
        ("wrong password", format!("{}PING\r\n", connect("anon").replace("\"pass\":\"anon\"", "\"pass\":\"x\""))),
        ("another user", format!("{}PUB no 1\r\nb\r\nPING\r\n", connect("a"))),
    ];
    compare(&go, &ours, &cases);
    let (g, o) = logged(&go, &ours);
    assert_eq!(g, o, "violation logs differ");
}

#[test]
fn default_permissions_apply_to_listed_users_only() {
    // nats-server 2.9 gives `default_permissions` to users of the `users` list that have
    // none of their own; a single user (or a token) is not restricted by them.
    let (_dir, path) = config(
        "authorization {\n  user: solo\n  password: solo\n  default_permissions: { publish: \"x\" }\n}\n",
    );
    let go = start_go(&["-c", &path]);
    let ours = start(&["-c", &path]);
    let cases = vec![(
        "single user",
        format!("{}SUB y 1\r\nPUB y 1\r\na\r\nPING\r\n", connect("solo")),
    )];
    compare(&go, &ours, &cases);
}

#[test]
fn invalid_permission_subjects_stop_the_server_with_a_position() {
    let (_dir, path) = config(
        "authorization {\n  users: [\n    { user: a, password: a, permissions: { publish: { allow: [\"ok\", \"foo..bar\"] } } }\n  ]\n}\n",
    );
    let err = match ServerProcess::try_start(&common::bin(), &["-c", &path]) {
        Ok(_) => panic!("started with an invalid permission subject"),
        Err(e) => e,
    };
    assert!(
        err.contains(&format!(
            "{path}:3:55: subject \"foo..bar\" is not a valid subject"
        )),
        "{err}"
    );
}

#[test]
fn permissions_survive_many_subjects_and_stay_exact() {
    // More distinct subjects than the per-connection decision cache holds: answers stay
    // right after it is pruned, and the connection stays open throughout.
    let (_dir, path) = config(USERS);
    let ours = start(&["-c", &path]);
    let mut r = open(&ours.addr());
    let mut script = connect("a");
    for i in 0..300 {
        script.push_str(&format!("PUB foo.{i} 1\r\na\r\nPUB nope.{i} 1\r\na\r\n"));
    }
    script.push_str("PING\r\n");
    r.send(script);
    let o = finish(&mut r);
    assert!(!o.closed);
    assert_eq!(
        o.text
            .matches("-ERR 'Permissions Violation for Publish to \"nope.")
            .count(),
        300
    );
    assert_eq!(o.text.matches("-ERR").count(), 300, "{}", o.text);
}
