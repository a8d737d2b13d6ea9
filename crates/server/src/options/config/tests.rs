//! The config-file keys, their aliases, units and nats-server's error texts and positions.

use super::{apply_file, apply_map, ConfigReport};
use crate::options::{
    Options, Permissions, ResponsePermission, SubjectPermission, User,
    DEFAULT_ALLOW_RESPONSE_EXPIRATION,
};
use std::path::PathBuf;
use std::time::Duration;

fn apply(src: &str) -> (Options, ConfigReport) {
    let map = nats_conf::parse_str(src, None).unwrap_or_else(|e| panic!("{src:?}: {e}"));
    let mut o = Options::default();
    let r = apply_map(&mut o, &map);
    (o, r)
}

/// Applies `src` and insists it is clean.
fn ok(src: &str) -> Options {
    let (o, r) = apply(src);
    assert!(
        r.errors.is_empty() && r.warnings.is_empty(),
        "{src:?}: {r:?}"
    );
    o
}

fn errors(src: &str) -> Vec<String> {
    apply(src).1.errors
}

#[test]
fn core_keys_and_aliases() {
    let o = ok(r#"
server_name: n1
listen: "127.0.0.1:4333"
client_advertise: "ext:4222"
http: 8222
http_base_path: /nats
max_payload: 2MB
max_control_line: 2KB
max_pending: 128MB
max_connections: 100
max_subscriptions: 10
ping_interval: "30s"
ping_max: 4
write_deadline: "2.5s"
no_header_support: true
disable_sublist_cache: true
max_traced_msg_len: 64
lame_duck_duration: "1m30s"
lame_duck_grace_period: "5s"
debug: true
trace: yes
logtime: off
log_file: "/tmp/n.log"
log_size_limit: 1GB
syslog: false
remote_syslog: "udp://h:514"
pid_file: /var/run/n.pid
ports_file_dir: /tmp
connect_error_reports: 10
reconnect_error_reports: 5
no_auth_user: alice
authorization { users: [ {user: alice, password: a}, {username: bob, pass: b} ], timeout: 0.5 }
"#);
    assert_eq!(o.server_name, "n1");
    assert_eq!((o.host.as_str(), o.port), ("127.0.0.1", 4333));
    assert_eq!(o.client_advertise, "ext:4222");
    assert_eq!((o.http_host.as_str(), o.http_port), ("", 8222));
    assert_eq!(o.http_base_path, "/nats");
    assert_eq!(o.max_payload, 2 * 1024 * 1024);
    assert_eq!(o.max_control_line, 2048);
    assert_eq!(o.max_pending, 128 * 1024 * 1024);
    assert_eq!((o.max_connections, o.max_subs), (100, 10));
    assert_eq!(o.ping_interval, Duration::from_secs(30));
    assert_eq!(o.ping_max, 4);
    assert_eq!(o.write_deadline, Duration::from_millis(2500));
    assert!(o.no_header_support && o.disable_sublist_cache);
    assert_eq!(o.max_traced_msg_len, 64);
    assert_eq!(o.lame_duck_duration, Duration::from_secs(90));
    assert_eq!(o.lame_duck_grace_period, Duration::from_secs(5));
    assert!(o.debug && o.trace && !o.trace_verbose && !o.logtime && !o.syslog);
    assert_eq!(o.log_file, Some(PathBuf::from("/tmp/n.log")));
    assert_eq!(o.log_size_limit, 1 << 30);
    assert_eq!(o.remote_syslog, "udp://h:514");
    assert_eq!(o.pid_file, Some(PathBuf::from("/var/run/n.pid")));
    assert_eq!(o.ports_file_dir, Some(PathBuf::from("/tmp")));
    assert_eq!(
        (o.connect_error_reports, o.reconnect_error_reports),
        (10, 5)
    );
    assert_eq!(o.no_auth_user, "alice");
    assert_eq!(
        o.users,
        vec![
            User {
                username: "alice".into(),
                password: "a".into(),
                ..User::default()
            },
            User {
                username: "bob".into(),
                password: "b".into(),
                ..User::default()
            }
        ]
    );
    assert_eq!(o.auth_timeout, 0.5);

    let o = ok("net: 10.0.0.1\nPORT: 5222\nmonitor_port: 8000\nhttps_port: 8443\nmax_conn: 7\nmax_subs: 3\n\
                no_sublist_cache: true\nlogfile: x.log\npidfile: x.pid\nlogfile_size_limit: 1k\ntrace_verbose: true\n\
                https: \"0.0.0.0:9443\"");
    assert_eq!(
        (o.host.as_str(), o.port, o.http_port, o.https_port),
        ("10.0.0.1", 5222, 8000, 9443)
    );
    assert_eq!(o.http_host, "0.0.0.0");
    assert_eq!(
        (o.max_connections, o.max_subs, o.log_size_limit),
        (7, 3, 1000)
    );
    assert!(o.disable_sublist_cache && o.trace && o.trace_verbose);
    assert_eq!(o.log_file, Some(PathBuf::from("x.log")));
    let o = ok("host: 127.0.0.1\nhttp: \"localhost:8222\"\nlisten: 4555");
    assert_eq!(
        (o.host.as_str(), o.port),
        ("0.0.0.0", 4555),
        "listen with a port only resets the host"
    );
    assert_eq!((o.http_host.as_str(), o.http_port), ("localhost", 8222));
}

#[test]
fn port_zero_means_default_and_minus_one_stays() {
    assert_eq!(ok("port: 0").port, 4222);
    assert_eq!(ok("port: -1").port, -1);
    assert_eq!(ok("listen: \"127.0.0.1:-1\"").port, -1);
    assert_eq!(
        ok("max_payload: 0").max_payload,
        crate::options::DEFAULT_MAX_PAYLOAD
    );
}

#[test]
fn authorization_single_user_and_token() {
    let o = ok("authorization { user: u, password: p, timeout: 3 }");
    assert_eq!(
        (o.username.as_str(), o.password.as_str(), o.auth_timeout),
        ("u", "p", 3.0)
    );
    let o = ok("authorization { token: s3cr3t }");
    assert_eq!(o.authorization, "s3cr3t");
    assert_eq!(o.auth_timeout, 2.0, "no timeout means the default");
    assert_eq!(
        ok("authorization { user: u, pass: p, timeout: \"x\" }").auth_timeout,
        1.0
    );
}

#[test]
fn authorization_errors_as_nats_server_words_them() {
    assert_eq!(
        errors("authorization { user: a, token: b }"),
        ["1:0: Cannot have a user/pass and token"]
    );
    assert_eq!(
        errors("authorization { users: [] \n user: x}"),
        ["1:0: Can not have a single user/pass and a users array"]
    );
    assert_eq!(
        errors("authorization {token: t, users: []}"),
        ["1:0: Can not have a token and a users array"]
    );
    assert_eq!(
        errors("authorization { users: [{user: a, password: b}, {user: a}] }"),
        ["1:0: Duplicate user \"a\" detected"]
    );
    assert_eq!(
        errors("authorization { users: 5 }"),
        ["1:16: Expected users field to be an array, got 5"]
    );
    assert_eq!(
        errors("authorization { users: [5, {password: x}] }"),
        [
            "1:24: Expected user entry to be a map/struct, got 5",
            "1:28: User entry requires a user"
        ]
    );
    let (o, r) =
        apply("authorization { users: [{user: a, password: b, permissions: {publish: \"x..\"}}] }");
    assert_eq!(
        r.errors,
        ["1:61: subject \"x..\" is not a valid subject"],
        "{:?}",
        r.errors
    );
    assert!(
        o.users.is_empty(),
        "users are dropped when an entry could not be read"
    );
    assert!(errors("authorization { auth_callout: {} }")[0].contains("refusing to run"));
}

#[test]
fn cluster_block() {
    let o = ok(r#"
cluster {
  name: demo
  listen: "0.0.0.0:6222"
  authorization { user: ruser, password: T0pS3cr3t, timeout: 2 }
  routes: [
    "nats-route://ruser:T0pS3cr3t@n2:6222"
    nats://n3:6222
    tls://10.0.0.4:6222
  ]
  advertise: "1.2.3.4:6222"
  no_advertise: true
  connect_retries: 5
}
"#);
    let c = &o.cluster;
    assert_eq!(
        (c.name.as_str(), c.host.as_str(), c.port),
        ("demo", "0.0.0.0", 6222)
    );
    assert_eq!(
        (c.username.as_str(), c.password.as_str(), c.auth_timeout),
        ("ruser", "T0pS3cr3t", 2.0)
    );
    let urls: Vec<String> = c.routes.iter().map(|u| u.to_string()).collect();
    assert_eq!(
        urls,
        [
            "nats-route://ruser:T0pS3cr3t@n2:6222",
            "nats://n3:6222",
            "tls://10.0.0.4:6222"
        ]
    );
    assert_eq!(c.routes[0].username(), "ruser");
    assert_eq!(c.advertise, "1.2.3.4:6222");
    assert!(c.no_advertise);
    assert_eq!(c.connect_retries, 5);

    let o = ok("cluster { host: 127.0.0.1, port: 4248, cluster_advertise: \"x:1\" }");
    assert_eq!(
        (
            o.cluster.host.as_str(),
            o.cluster.port,
            o.cluster.advertise.as_str()
        ),
        ("127.0.0.1", 4248, "x:1")
    );
    assert_eq!(ok("cluster { port: -1 }").cluster.host, "0.0.0.0");
    assert_eq!(ok("cluster { net: h }").cluster.host, "h");
}

#[test]
fn cluster_errors() {
    assert_eq!(
        errors("cluster: 5"),
        ["1:0: Expected map to define cluster, got int64"]
    );
    assert_eq!(
        errors("cluster { authorization { users: [] } }"),
        ["1:10: Cluster authorization does not allow multiple users"]
    );
    assert_eq!(
        errors("cluster { authorization { token: x } }"),
        ["1:10: Cluster authorization does not support tokens"]
    );
    let (o, r) = apply("cluster {\n routes: [\"nats://a:1\", \"nats://a:1\", \"nats://b:2\"]\n}\n");
    assert_eq!(
        r.warnings,
        ["2:26: invalid use of field \"nats://a:1\": Duplicate route entry detected"]
    );
    assert_eq!(o.cluster.routes.len(), 2);
    assert_eq!(
        errors("cluster {\n routes: [\"127.0.0.1:4222\"]\n}"),
        ["2:12: error parsing route url [\"127.0.0.1:4222\"]"]
    );
    assert_eq!(
        errors("cluster {\n routes: nats://a:1\n}"),
        ["2:2: interface conversion: interface {} is string, not []interface {}"]
    );
    let (_, r) = apply("cluster {\n  pool_size: 3\n  compression: { mode: s2_auto }\n  bar = 2\n}");
    assert_eq!(r.errors, ["4:3: unknown field \"bar\""]);
    assert_eq!(r.unsupported.len(), 2);
    assert!(
        r.unsupported[0].starts_with("2:3: field \"pool_size\" is not supported"),
        "{:?}",
        r.unsupported
    );
}

#[test]
fn unknown_fields_and_type_errors() {
    let (_, r) = apply("port: 4333\nfoo: 1\nping_interval: 5\n  debug: \"yes\"\nlisten: \"abc\"\n");
    assert_eq!(
        r.errors,
        [
            "2:1: unknown field \"foo\"",
            "4:3: interface conversion: interface {} is string, not bool",
            "5:1: could not parse address string \"abc\"",
        ]
    );
    assert_eq!(r.warnings, ["3:1: invalid use of field \"ping_interval\": ping_interval should be converted to a duration"]);
    assert_eq!(errors("foo: 1"), ["1:0: unknown field \"foo\""]);
    assert_eq!(
        errors("port: \"abc\""),
        ["1:0: interface conversion: interface {} is string, not int64"]
    );
    assert_eq!(
        errors("port: 1.5"),
        ["1:0: interface conversion: interface {} is float64, not int64"]
    );
    assert_eq!(
        errors("listen: \"localhost:abc\""),
        ["1:0: could not parse port \"abc\""]
    );
    assert_eq!(
        errors("listen: 5.5"),
        ["1:0: expected port or host:port, got float64"]
    );
    assert_eq!(
        errors("max_payload: 3GB"),
        ["1:0: max_payload value is too big"]
    );
    assert_eq!(
        errors("MAX_CONTROL_LINE: 3GB"),
        ["1:0: MAX_CONTROL_LINE value is too big"]
    );
    assert_eq!(errors("\"foo bar\": 1"), ["1:1: unknown field \"foo bar\""]);
}

#[test]
fn durations() {
    assert_eq!(
        errors("ping_interval: \"5x\""),
        ["1:0: error parsing ping_interval: time: unknown unit \"x\" in duration \"5x\""]
    );
    assert_eq!(
        errors("write_deadline: \"5\""),
        ["1:0: error parsing write_deadline: time: missing unit in duration \"5\""]
    );
    assert_eq!(
        errors("lame_duck_duration: \"5s\""),
        ["1:0: invalid lame_duck_duration of 5s, minimum is 30 seconds"]
    );
    assert_eq!(
        errors("lame_duck_duration: \"29.5s\""),
        ["1:0: invalid lame_duck_duration of 29.5s, minimum is 30 seconds"]
    );
    assert_eq!(
        errors("lame_duck_grace_period: \"-1s\""),
        ["1:0: invalid lame_duck_grace_period, needs to be positive"]
    );
    assert_eq!(
        errors("lame_duck_duration: 60"),
        ["1:0: interface conversion: interface {} is int64, not string"]
    );
    let (o, r) = apply("write_deadline: 3");
    assert_eq!(o.write_deadline, Duration::from_secs(3));
    assert_eq!(r.warnings.len(), 1);
    assert_eq!(
        ok("ping_interval: \"1h2m3s\"").ping_interval,
        Duration::from_secs(3723)
    );
    assert_eq!(
        ok("ping_interval: \"250ms\"").ping_interval,
        Duration::from_millis(250)
    );
    assert_eq!(
        ok("ping_interval: \"1.5µs\"").ping_interval,
        Duration::from_nanos(1500)
    );
}

#[test]
fn go_duration_formatting() {
    use super::units::go_duration_string as f;
    let s = 1_000_000_000;
    assert_eq!(f(0), "0s");
    assert_eq!(f(5 * s), "5s");
    assert_eq!(f(90 * s), "1m30s");
    assert_eq!(f(3600 * s), "1h0m0s");
    assert_eq!(f(s / 2), "500ms");
    assert_eq!(f(1500), "1.5µs");
    assert_eq!(f(-s), "-1s");
    assert_eq!(f(s + s / 4), "1.25s");
}

#[test]
fn split_host_port_like_go() {
    use super::split_host_port as f;
    assert_eq!(f("h:1").unwrap(), ("h".into(), "1".into()));
    assert_eq!(f("[::1]:4222").unwrap(), ("::1".into(), "4222".into()));
    assert_eq!(f(":80").unwrap(), ("".into(), "80".into()));
    assert_eq!(f("h").unwrap_err(), "address h: missing port in address");
    assert_eq!(
        f("a:b:c").unwrap_err(),
        "address a:b:c: too many colons in address"
    );
}

#[test]
fn keys_used_only_as_variables_are_not_unknown() {
    let o = ok("x = 5\ny = $x\nport: $y\nNAME: n\ncluster { P: 7, port: $P, name: $NAME }");
    assert_eq!(
        (o.port, o.cluster.port, o.cluster.name.as_str()),
        (5, 7, "n")
    );
}

#[test]
fn newer_and_unimplemented_keys_are_reported_not_fatal() {
    let (o, r) = apply(
        "jetstream { store_dir: /data }\naccounts { A: {} }\nleafnodes { port: 7422 }\n\
         gateway { name: g }\nmqtt { port: 1883 }\nserver_tags: [a]\n\
         write_timeout: \"1s\"\nport: 4999",
    );
    assert!(r.errors.is_empty() && r.warnings.is_empty(), "{r:?}");
    // JetStream and websocket are ours now: the other five are reported.
    assert_eq!(r.unsupported.len(), 5, "{r:?}");
    assert_eq!(
        (o.jetstream.enabled, o.jetstream.store_dir.as_str()),
        (true, "/data")
    );
    assert_eq!(o.port, 4999);
    assert_eq!(o.accounts, ["A"]);
}

#[test]
fn system_account_options() {
    let o = ok("accounts { SYS: { users: [ { user: s, password: s } ] } }\nsystem_account: SYS");
    assert_eq!(
        (o.system_account.as_str(), o.no_system_account),
        ("SYS", false)
    );
    assert_eq!(o.users[0].account, "SYS");
    assert_eq!(ok("system: X").system_account, "X");
    for key in ["no_system_account", "no_system", "no_sys_acc"] {
        assert!(ok(&format!("{key}: true")).no_system_account, "{key}");
    }
    // `$SYS` may be configured with users, as in Go.
    let o = ok("accounts { $SYS: { users: [ { user: s, password: s } ] } }");
    assert_eq!(o.accounts, ["$SYS"]);
}

#[test]
fn tls_blocks_report_bad_blocks() {
    for (text, want) in [
        (
            "tls { cert_file: x }",
            "missing 'key_file' in TLS configuration",
        ),
        (
            "cluster { port: 6222, tls { key_file: x } }",
            "missing 'cert_file' in TLS configuration",
        ),
        (
            "tls { cert_file: x, key_file: y }",
            "error parsing X509 certificate/key pair: open x: no such file or directory",
        ),
        (
            "tls { cipher_suites: [\"TLS_FOO\"] }",
            "unrecognized cipher TLS_FOO",
        ),
        (
            "tls { cipher_suites: [\"TLS_RSA_WITH_AES_128_CBC_SHA\"] }",
            "cipher suite TLS_RSA_WITH_AES_128_CBC_SHA is not supported by this server",
        ),
        (
            "tls { curve_preferences: [\"CurveP999\"] }",
            "unrecognized curve preference CurveP999",
        ),
        (
            "tls { curve_preferences: [\"CurveP521\"] }",
            "curve preference CurveP521 is not supported by this server",
        ),
        (
            "tls { cipher_suites: [] }",
            "'cipher_suites' cannot be empty",
        ),
        (
            "tls { nope: 1 }",
            "error parsing tls config, unknown field [\"nope\"]",
        ),
        ("tls { verify: 1 }", "expected 'verify' to be a boolean"),
        (
            "tls { verify_cert_and_check_known_urls: true }",
            "verify_cert_and_check_known_urls not supported in this context",
        ),
        (
            "tls { pinned_certs: [\"abc\"] }",
            "'pinned_certs' key abc does not look like",
        ),
    ] {
        let (_, r) = apply(text);
        assert_eq!(r.errors.len(), 1, "{text}: {r:?}");
        assert!(r.errors[0].contains(want), "{text}: {r:?}");
    }
}

#[test]
fn resolver_tls_is_read_like_a_tls_block() {
    // nats-server's `parseTLS` (client context) and `GenTLSConfig`: errors at the key.
    for (text, want) in [
        (
            "resolver_tls { cert_file: x }",
            "1:0: missing 'key_file' in TLS configuration",
        ),
        (
            "resolver_tls { key_file: x }",
            "1:0: missing 'cert_file' in TLS configuration",
        ),
        (
            "resolver_tls { cert_file: x, key_file: y }",
            "1:0: error parsing X509 certificate/key pair: open x: no such file or directory",
        ),
        (
            "resolver_tls { ca_file: \"/nonexistent/ca.pem\" }",
            "1:0: open /nonexistent/ca.pem: no such file or directory",
        ),
        (
            "resolver_tls { ca_file: 1 }",
            "expected 'ca_file' to be filename",
        ),
        (
            "resolver_tls { verify_cert_and_check_known_urls: true }",
            "verify_cert_and_check_known_urls not supported in this context",
        ),
        (
            "resolver_tls { nope: 1 }",
            "error parsing tls config, unknown field [\"nope\"]",
        ),
        (
            "resolver_tls { cipher_suites: [\"TLS_FOO\"] }",
            "unrecognized cipher TLS_FOO",
        ),
    ] {
        let (o, r) = apply(text);
        assert_eq!(r.errors.len(), 1, "{text}: {r:?}");
        assert!(r.errors[0].contains(want), "{text}: {r:?}");
        assert_eq!(o.operator.resolver_tls, None, "{text}");
    }
    // A CA file that holds no certificate.
    let d = tempfile::tempdir().unwrap();
    let junk = d.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate\n").unwrap();
    let r = apply(&format!("resolver_tls {{ ca_file: {:?} }}", junk)).1;
    assert_eq!(r.errors.len(), 1, "{r:?}");
    assert!(
        r.errors[0].ends_with("failed to parse root ca certificate"),
        "{r:?}"
    );
    // No certificate needed (system roots); the server-side fields are read and play no
    // part, as in Go (pinned certificates are noted as not checked).
    let o =
        ok("resolver_tls { insecure: true, verify: true, timeout: 3, connection_rate_limit: 5 }");
    let t = o.operator.resolver_tls.expect("resolver_tls");
    assert!(t.insecure && t.verify);
    let (o, r) = apply(&format!(
        "resolver_tls {{ pinned_certs: [\"{}\"] }}",
        "ab".repeat(32)
    ));
    assert!(r.errors.is_empty(), "{r:?}");
    assert!(
        r.unsupported
            .iter()
            .any(|u| u.contains("pinned_certs") && u.contains("resolver_tls")),
        "{r:?}"
    );
    assert_eq!(o.operator.resolver_tls.unwrap().pinned_certs.len(), 1);
}

#[test]
fn duplicate_keys_count_once_and_the_last_wins() {
    let (o, r) = apply("port: \"bad\"\nport: 5000");
    assert!(r.errors.is_empty(), "{r:?}");
    assert_eq!(o.port, 5000);
}

#[test]
fn helm_chart_json() {
    std::env::set_var("NATS_RS_T_SERVER_NAME", "nats-1");
    let o = ok(r#"{
  "cluster": {
    "name": "nats",
    "no_advertise": true,
    "port": 6222,
    "routes": [
      "nats://nats-0.nats-headless:6222",
      "nats://nats-1.nats-headless:6222",
      "nats://nats-2.nats-headless:6222"
    ]
  },
  "http_port": 8222,
  "lame_duck_duration": "30s",
  "lame_duck_grace_period": "10s",
  "pid_file": "/var/run/nats/nats.pid",
  "port": 4222,
  "server_name": $NATS_RS_T_SERVER_NAME
}
"#);
    assert_eq!(o.server_name, "nats-1");
    assert_eq!(
        (
            o.cluster.port,
            o.cluster.routes.len(),
            o.cluster.no_advertise
        ),
        (6222, 3, true)
    );
    assert_eq!(o.lame_duck_duration, Duration::from_secs(30));
}

#[test]
fn docker_image_config_and_includes() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("auth.conf"),
        "authorization { user: ruser, password: T0pS3cr3t, timeout: 2 }\n",
    )
    .unwrap();
    let main = d.path().join("nats-server.conf");
    std::fs::write(
        &main,
        "# Client port of 4222 on all interfaces\nport: 4222\n\n# HTTP monitoring port\nmonitor_port: 8222\n\n\
         cluster {\n  name: \"demo\"\n  port: 6222\n  include auth.conf\n  routes = []\n}\n",
    )
    .unwrap();
    let mut o = Options::default();
    let r = apply_file(&mut o, &main).unwrap();
    assert!(r.errors.is_empty() && r.warnings.is_empty(), "{r:?}");
    assert_eq!((o.port, o.http_port, o.cluster.port), (4222, 8222, 6222));
    assert_eq!(o.cluster.username, "ruser");
    assert!(o.cluster.routes.is_empty());
    assert_eq!(o.config_file.as_deref(), Some(main.as_path()));

    std::fs::write(d.path().join("bad.conf"), "port: 1\nfoo: 2\n").unwrap();
    let r = apply_file(&mut Options::default(), &d.path().join("bad.conf")).unwrap();
    assert_eq!(
        r.errors,
        [format!(
            "{}:2:1: unknown field \"foo\"",
            d.path().join("bad.conf").display()
        )]
    );
    assert!(
        apply_file(&mut Options::default(), &d.path().join("missing.conf"))
            .unwrap_err()
            .ends_with("no such file or directory")
    );
}

#[test]
fn auth_we_cannot_enforce_is_refused() {
    // Ignoring it would let in accounts the operator meant to keep out.
    let text = "resolver_pinned_accounts: [ AB ]";
    let (_, r) = apply(text);
    assert!(
        r.errors.iter().any(|e| e.contains("refusing to run")),
        "{text}: {r:?}"
    );
    // Account limits would change who sees what: refused too.
    let text = "accounts { A: { limits: { max_connections: 1 } } }";
    let (_, r) = apply(text);
    assert!(
        r.errors.iter().any(|e| e.contains("refusing to run")),
        "{text}: {r:?}"
    );
}

#[test]
fn accounts_with_users() {
    let o = ok("authorization { users: [ { user: g, password: g } ], \
         default_permissions: { publish: x } }\n\
         accounts { A: { users: [ { user: a, password: a } ] },\n\
         B { users = [ { user: b, password: b } ], default_permissions: { publish: y } }, C: {} }\n\
         no_auth_user: a");
    assert_eq!(o.accounts, ["A", "B", "C"]);
    let who: Vec<(&str, &str)> = o
        .users
        .iter()
        .map(|u| (u.username.as_str(), u.account.as_str()))
        .collect();
    assert_eq!(who, [("g", ""), ("a", "A"), ("b", "B")]);
    // Account defaults apply to that account's users; the top-level ones do not.
    assert_eq!(o.users[1].permissions, None);
    assert_eq!(
        o.users[2].permissions.as_ref().unwrap().publish,
        allow(&["y"])
    );
    assert_eq!(o.no_auth_user, "a");
    assert_eq!(ok("accounts: [A, B]").accounts, ["A", "B"]);
}

const NK1: &str = "UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4";
const NK2: &str = "UA6KOMQ67XOE3FHE37W4OXADVXVYISBNLTBUT2LSY5VFKAIJ7CRDR2RZ";

#[test]
fn nkey_users_beside_password_users() {
    let o = ok(&format!(
        "authorization {{ users: [ {{ nkey: {NK1}, permissions: {{ publish: x }} }}, \
         {{ user: g, password: g }} ], default_permissions: {{ subscribe: d }} }}\n\
         accounts {{ A: {{ users: [ {{ nkey: {NK2} }}, {{ user: a, password: a }} ], \
         default_permissions: {{ publish: y }} }} }}"
    ));
    let who: Vec<(&str, &str)> = o
        .nkeys
        .iter()
        .map(|u| (u.nkey.as_str(), u.account.as_str()))
        .collect();
    assert_eq!(who, [(NK1, ""), (NK2, "A")]);
    assert_eq!(o.users.len(), 2);
    // Own permissions; account defaults for the account's nkey user. (The top-level
    // defaults apply at login, as for password users.)
    assert_eq!(
        o.nkeys[0].permissions.as_ref().unwrap().publish,
        allow(&["x"])
    );
    assert_eq!(
        o.nkeys[1].permissions.as_ref().unwrap().publish,
        allow(&["y"])
    );
}

#[test]
fn nkey_errors_as_nats_server_words_them() {
    // Texts and positions as nats-server 2.9.10 `-t` printed them for the same files.
    for (text, want) in [
        (
            "authorization {\n  users: [\n    { nkey: UABC }\n  ]\n}\n".to_string(),
            "3:7: Not a valid public nkey for a user",
        ),
        (
            // An account key is not a user key.
            format!("authorization {{\n  users: [\n    {{ nkey: A{}, user: x }}\n  ]\n}}\n", &NK1[1..]),
            "3:71: Not a valid public nkey for a user",
        ),
        (
            format!("authorization {{\n  users: [\n    {{ nkey: {NK1}, user: x }}\n  ]\n}}\n"),
            "3:71: Nkey users do not take usernames or passwords",
        ),
        (
            format!("accounts {{\n  A {{ users: [ {{ nkey: {NK1} }} ] }}\n}}\n\
                     authorization {{\n  users: [ {{ nkey: {NK1} }} ]\n}}\n"),
            "4:1: Duplicate nkey \"UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4\" detected",
        ),
        (
            format!("authorization {{\n  users: [ {{ nkey: {NK1} }}, {{user: {NK1}, password: x}} ]\n}}\n"),
            "Duplicate nkey \"UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4\" detected",
        ),
        (
            format!("accounts {{\n  A {{ users: [ {{ nkey: {NK1} }} ] }}\n  B {{ users: [ {{ nkey: {NK1} }} ] }}\n}}\n"),
            "3:7: Duplicate nkey \"UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4\" detected",
        ),
        (
            format!("authorization {{\n  user: x\n  password: y\n  users: [ {{ nkey: {NK1} }} ]\n}}\n"),
            "Can not have a single user/pass and a users array",
        ),
        (
            "authorization {\n  users: [ { nkey: 12 } ]\n}\n".to_string(),
            "2:14: interface conversion: interface {} is int64, not string",
        ),
    ] {
        let e = errors(&text);
        assert_eq!(e.len(), 1, "{text}: {e:?}");
        assert!(e[0].ends_with(want), "{text}: {e:?}");
    }
}

#[test]
fn account_errors_as_nats_server_words_them() {
    // nats-server 2.9.10: `Duplicate user "a" detected`, at the account's `users` key.
    let e = errors("accounts { A: { users: [{user: a, password: a}] }, B: { users: [{user: a, password: b}] } }");
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].ends_with(": Duplicate user \"a\" detected"), "{e:?}");
    for text in [
        "authorization { users: [{user: a, password: x}] }\naccounts { A: { users: [{user: a, password: a}] } }",
        "accounts { A: { users: [{user: a, password: a}] } }\nauthorization { users: [{user: a, password: x}] }",
    ] {
        let e = errors(text);
        assert!(
            e.iter().any(|e| e.ends_with("Duplicate user \"a\" detected")),
            "{text}: {e:?}"
        );
    }
    let e = errors("accounts { $G: {} }");
    assert!(e[0].ends_with("\"$G\" is a Reserved Account"), "{e:?}");
    let e = errors("accounts { A: 1 }");
    assert!(e[0].ends_with("Expected map entries for accounts"), "{e:?}");
    let e = errors("authorization { user: u, password: p }\naccounts { A: { users: [{user: a, password: a}] } }");
    assert!(
        e[0].ends_with("Can not have a single user/pass and accounts"),
        "{e:?}"
    );
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn allow(v: &[&str]) -> Option<SubjectPermission> {
    Some(SubjectPermission {
        allow: strings(v),
        deny: Vec::new(),
    })
}

/// The permissions of the only user of `users`.
fn user_perms(perms: &str) -> Option<Permissions> {
    let o = ok(&format!(
        "authorization {{ users: [ {{ user: u, password: p, permissions: {perms} }} ] }}"
    ));
    o.users[0].permissions.clone()
}

#[test]
fn permissions_in_every_form_go_accepts() {
    // A single subject, a list, and allow/deny maps (each one string or a list).
    assert_eq!(
        user_perms("{ publish: \"foo.>\", subscribe: [\"a\", \"b.*\"] }"),
        Some(Permissions {
            publish: allow(&["foo.>"]),
            subscribe: allow(&["a", "b.*"]),
            response: None,
        })
    );
    assert_eq!(
        user_perms(
            "{ publish: { allow: [\"a\", \"b\"], deny: \"a.secret\" }, subscribe: { deny: [\">\"] } }"
        ),
        Some(Permissions {
            publish: Some(SubjectPermission {
                allow: strings(&["a", "b"]),
                deny: strings(&["a.secret"]),
            }),
            subscribe: Some(SubjectPermission {
                allow: Vec::new(),
                deny: strings(&[">"]),
            }),
            response: None,
        })
    );
    // Aliases, any case; queue-qualified subscribe entries.
    let p = user_perms("{ PUB: x, Import: y, sub: \"q.* workers\" }").unwrap();
    assert_eq!(p.publish, allow(&["y"]), "the last of pub/import wins");
    assert_eq!(p.subscribe, allow(&["q.* workers"]));
    let p = user_perms("{ export: { allow: \"e\" } }").unwrap();
    assert_eq!(p.subscribe, allow(&["e"]));
    // An empty map restricts nothing (nats-server drops it).
    assert_eq!(user_perms("{ publish: {} }"), Some(Permissions::default()));
}

#[test]
fn allow_responses_forms() {
    let p = user_perms("{ subscribe: req, allow_responses: true }").unwrap();
    assert_eq!(p.response, Some(ResponsePermission::default()));
    assert_eq!(
        p.response.unwrap(),
        ResponsePermission {
            max_msgs: 1,
            expires: Some(DEFAULT_ALLOW_RESPONSE_EXPIRATION),
        }
    );
    let p = user_perms("{ allow_responses: false }").unwrap();
    assert_eq!(p.response, None);
    let p = user_perms("{ allow_responses: { max: 5, expires: \"1m\" } }").unwrap();
    assert_eq!(
        p.response,
        Some(ResponsePermission {
            max_msgs: 5,
            expires: Some(Duration::from_secs(60)),
        })
    );
    // Zero keeps the default, negative means no limit; aliases.
    let p = user_perms("{ publish_allow_responses: { max_msgs: 0, ttl: \"-1s\" } }").unwrap();
    assert_eq!(
        p.response,
        Some(ResponsePermission {
            max_msgs: 1,
            expires: None,
        })
    );
    let p = user_perms("{ allow_responses: { max_responses: -1, expiration: \"0s\" } }").unwrap();
    assert_eq!(
        p.response,
        Some(ResponsePermission {
            max_msgs: -1,
            expires: Some(DEFAULT_ALLOW_RESPONSE_EXPIRATION),
        })
    );
}

#[test]
fn default_permissions_and_connection_types() {
    let o = ok(r#"
authorization {
  default_permissions: { publish: "d.>" }
  users: [
    { user: a, password: a, permissions: { subscribe: "s" }, allowed_connection_types: ["standard", "WebSocket"] }
    { user: b, password: b, clients: "STANDARD" }
  ]
}
"#);
    assert_eq!(
        o.default_permissions,
        Some(Permissions {
            publish: allow(&["d.>"]),
            ..Permissions::default()
        })
    );
    assert_eq!(
        o.users[0].permissions.as_ref().unwrap().subscribe,
        allow(&["s"])
    );
    assert_eq!(
        o.users[0].allowed_connection_types,
        ["STANDARD", "WEBSOCKET"]
    );
    // Defaults are resolved when a client logs in (auth.rs), not copied into the user.
    assert_eq!(o.users[1].permissions, None);
    assert_eq!(o.users[1].allowed_connection_types, ["STANDARD"]);
    // `permissions` is an alias of `default_permissions`.
    let o = ok("authorization { permissions: { sub: x }, users: [ {user: a, password: a} ] }");
    assert_eq!(o.default_permissions.unwrap().subscribe, allow(&["x"]));
}

#[test]
fn permission_errors_carry_go_wording_and_positions() {
    let u = |perms: &str| {
        errors(&format!(
            "authorization {{\n  users: [\n    {{user: a, password: b,\n      permissions: {perms}}}\n  ]\n}}\n"
        ))
    };
    // Line 4 is `      permissions: …`; its value starts at column 20.
    assert_eq!(
        u("\"foo\""),
        ["4:7: Expected permissions to be a map/struct, got foo"]
    );
    assert_eq!(
        u("{publish: \"foo..bar\"}"),
        ["4:21: subject \"foo..bar\" is not a valid subject"]
    );
    assert_eq!(
        u("{publish: {allow: [\"a\", \">.b\"], deny: [\"\"]}}"),
        [
            "4:31: subject \">.b\" is not a valid subject",
            "4:52: subject \"\" is not a valid subject",
        ]
    );
    assert_eq!(
        u("{subscribe: [\"ok\", \"foo bar baz\", \"x.. q\"]}"),
        ["4:21: subject \"foo bar baz\" is not a valid subject"]
    );
    assert_eq!(
        u("{subscribe: \"foo.. q\"}"),
        ["4:21: subject \"foo..\" is not a valid subject"]
    );
    assert_eq!(
        u("{publish: 42}"),
        ["4:21: Expected subject permissions to be a subject, or array of subjects, got int64"]
    );
    assert_eq!(
        u("{publish: {deny: {x: 1}}}"),
        ["4:31: Expected subject permissions to be a subject, or array of subjects, got map[string]interface {}"]
    );
    assert_eq!(
        u("{publish: [\"ok\",\n 42\n]}"),
        ["5:2: Subject in permissions array cannot be cast to string"]
    );
    assert_eq!(
        u("{bogus: 1}"),
        ["4:21: Unknown field \"bogus\" parsing permissions"]
    );
    assert_eq!(
        u("{publish: {allow: x, bogus: 1}}"),
        ["4:41: Unknown field name \"bogus\" parsing subject permissions, only 'allow' or 'deny' are permitted"]
    );
    assert_eq!(
        u("{allow_responses: 5}"),
        ["4:21: error parsing response permissions, expected a boolean or a map"]
    );
    assert_eq!(
        u("{allow_responses: {max: \"x\"}}"),
        ["4:39: interface conversion: interface {} is string, not int64"]
    );
    assert_eq!(
        u("{allow_responses: {expires: 5}}"),
        ["4:39: error parsing expires, not a duration string"]
    );
    assert_eq!(
        u("{allow_responses: {expires: \"abc\"}}"),
        ["4:39: error parsing expires: time: invalid duration \"abc\""]
    );
    assert_eq!(
        u("{allow_responses: {bogus: 1}}"),
        ["4:39: Unknown field \"bogus\" parsing permissions"]
    );
    assert_eq!(
        errors("authorization {\n  default_permissions: 7\n  users: []\n}"),
        ["2:3: Expected permissions to be a map/struct, got 7"]
    );
    // A valid subject followed by a queue name is fine; three fields are not.
    assert!(u("{subscribe: [\"a.b\\tq\", \"x y\"]}").is_empty());
}

#[test]
fn connection_type_errors() {
    let u = |types: &str| {
        errors(&format!(
            "authorization {{\n  users: [\n    {{user: a, password: b, allowed_connection_types: {types}}}\n  ]\n}}\n"
        ))
    };
    assert_eq!(
        u("[\"mqtt\", \"bad\", \"worse\"]"),
        ["3:28: invalid connection types [\"BAD\" \"WORSE\"]"]
    );
    assert_eq!(
        u("5"),
        ["3:28: error parsing allowed connection types: unsupported type int64"]
    );
    assert_eq!(
        u("[\n 1\n]"),
        ["4:2: error parsing allowed connection types: unsupported type in array int64"]
    );
    assert!(u("[]").is_empty());
}

#[test]
fn exports_and_imports_typed() {
    use crate::options::{Export, Import, ResponseType, ServiceExportOpts};
    let o = ok(r#"accounts {
  A { exports: [
      {stream: "foo.>", accounts: [B]}
      {service: "svc.*", response_type: stream, response_threshold: "5s"}
      {service: "one", response: Chunked}
      {stream: "acc.*", account_token_position: 2}
      {stream: "pub", accounts: []}
  ] }
  B { imports: [
      {stream: {account: A, subject: "foo.>"}, prefix: "a"}
      {stream: {account: A, subject: "pub"}, to: "mine"}
      {service: {account: A, subject: "svc.x"}, to: "x"}
      {service: {account: A, subject: "one"}}
      {stream: {account: A, subject: "acc.B"}}
  ] }
}"#);
    let svc = |rt, secs| {
        Some(ServiceExportOpts {
            response_type: rt,
            response_threshold: Duration::from_secs(secs),
            latency: None,
        })
    };
    let ex = |subject: &str, accounts: Option<Vec<&str>>, tp, service| Export {
        account: "A".into(),
        subject: subject.into(),
        accounts: accounts.map(|v| v.into_iter().map(String::from).collect()),
        token_position: tp,
        service,
    };
    // Streams first, then services: the order in which Go wires them.
    assert_eq!(
        o.exports,
        vec![
            ex("foo.>", Some(vec!["B"]), 0, None),
            ex("acc.*", None, 2, None),
            ex("pub", None, 0, None),
            ex("svc.*", None, 0, svc(ResponseType::Stream, 5)),
            ex("one", None, 0, svc(ResponseType::Chunked, 120)),
        ]
    );
    let im = |subject: &str, to: &str, service| Import {
        account: "B".into(),
        from_account: "A".into(),
        subject: subject.into(),
        to: to.into(),
        service,
        share: false,
    };
    assert_eq!(
        o.imports,
        vec![
            im("foo.>", "a.foo.>", false),
            im("pub", "mine", false),
            im("acc.B", "acc.B", false),
            im("svc.x", "x", true),
            im("one", "one", true),
        ]
    );
}

#[test]
fn service_latency_forms() {
    use crate::options::ServiceLatency;
    let o = ok(r#"accounts {
  A { exports: [
      {service: a, latency: lat.a}
      {service: b, latency: {sampling: "50%", subject: lat.b}}
      {service: c, latency: {sampling: 7, subject: lat.c}}
      {service: d, latency: {sampling: headers, subject: lat.d}}
      {service: e, latency: {subject: lat.e}}
      {service: f, latency: {sampling: 100%, subject: lat.f}}
  ] }
  B { imports: [ {service: {account: A, subject: a}, share: true} ] }
}"#);
    let got: Vec<Option<ServiceLatency>> = o
        .exports
        .iter()
        .map(|e| e.service.as_ref().and_then(|s| s.latency.clone()))
        .collect();
    let l = |sampling, subject: &str| {
        Some(ServiceLatency {
            sampling,
            subject: subject.into(),
        })
    };
    assert_eq!(
        got,
        [
            l(100, "lat.a"),
            l(50, "lat.b"),
            l(7, "lat.c"),
            l(0, "lat.d"),
            l(100, "lat.e"),
            l(100, "lat.f")
        ]
    );
    assert!(o.imports[0].share);
    let errs = errors(
        "no_system_account: true
accounts { A { exports: [ {service: foo, latency: lat} ] } }",
    );
    assert_eq!(
        errs,
        ["2:1: Error adding service latency sampling for \"foo\": system account not setup"]
    );
}

#[test]
fn exports_and_imports_errors_as_go() {
    let acc = |body: &str| format!("accounts {{\n{body}\n}}\n");
    let cases: &[(&str, &str)] = &[
        (
            "A { exports: [ {stream: foo} ] }\nB { imports: [ {stream: {account: Z, subject: foo}} ] }",
            "1:0: \"Z\" account not defined for stream import",
        ),
        (
            "A { exports: [ {service: foo} ] }\nB { imports: [ {service: {account: Z, subject: foo}} ] }",
            "1:0: \"Z\" account not defined for service import",
        ),
        (
            "A { exports: [ {stream: \"foo.>\", accounts: [C]} ] }\nB { imports: [ {stream: {account: A, subject: \"foo.x\"}} ] }\nC {}",
            "1:0: Error adding stream import \"foo.x\": stream import not authorized",
        ),
        (
            "A { exports: [ {service: \"s.*\", accounts: [C]} ] }\nB { imports: [ {service: {account: A, subject: s.x}} ] }\nC {}",
            "1:0: Error adding service import \"s.x\": service import not authorized",
        ),
        (
            "A { exports: [ {service: foo, accounts: [Q]} ] }",
            "1:0: \"Q\" account not defined for service export",
        ),
        (
            "A { exports: [ {stream: foo} ], imports: [ {stream: {account: B, subject: foo}} ] }\nB { exports: [ {stream: foo} ], imports: [ {stream: {account: A, subject: foo}} ] }",
            "1:0: Error adding stream import \"foo\": import forms a cycle",
        ),
        (
            "A { exports: [ {service: q} ], imports: [ {service: {account: B, subject: q}} ] }\nB { exports: [ {service: q} ], imports: [ {service: {account: A, subject: q}} ] }",
            "1:0: Error adding service import \"q\": import forms a cycle",
        ),
        (
            "A { exports: [ {stream: foo} ] }\nB { imports: [ {stream: {account: A, subject: foo}, prefix: \"p.*\"} ] }",
            "1:0: Error adding stream import \"foo\": stream import prefix can not contain wildcard tokens",
        ),
        (
            "A { exports: [ {service: \">\"} ] }\nB { imports: [ {service: {account: A, subject: \"a..b\"}} ] }",
            "1:0: Error adding service import \"a..b\": sublist: invalid subject",
        ),
        (
            "A { exports: [ {stream: \"f.*.*\"} ] }\nB { imports: [ {stream: {account: A, subject: \"f.*.*\"}, to: \"g.*\"} ] }",
            "1:0: Error adding stream import \"f.*.*\": failed to create mapping transform for stream import subject \"f.*.*\" to \"g.*\": invalid mapping destination: not using all of the token wildcard(s) in g.$1",
        ),
        (
            "A { exports: [ {stream: foo} ] }\nB { imports: [ {stream: {account: A, subject: foo}, prefix: x}, {stream: {account: A, subject: foo}, prefix: y} ] }",
            "1:0: Error adding stream import \"foo\": stream import already exists",
        ),
        (
            "A { exports: [ {stream: \"foo.bar\", account_token_position: 2} ] }",
            "1:0: Error adding stream export \"foo.bar\": sublist: invalid subject",
        ),
        (
            "A { exports: [ {stream: foo} ] }\nB { imports: [ {stream: {account: A, subject: foo}, prefix: p, to: t} ] }",
            "3:64: Stream import can not have a 'prefix' and a 'to' property",
        ),
        (
            "A { exports: [ {service: foo, response_type: many} ] }",
            "2:31: Unknown response type: \"many\"",
        ),
        (
            "A { exports: [ {stream: foo, response_type: stream} ] }",
            "2:30: Detected response directive on non-service",
        ),
        (
            "A { exports: [ {service: foo, threshold: \"2x\"} ] }",
            "2:31: Expected response threshold to be a parseable time duration, got \"2x\"",
        ),
        (
            "A { exports: [ {stream: foo, service: bar} ] }",
            "2:30: Detected service \"bar\" but already saw a stream",
        ),
        ("A { exports: foo }", "2:5: Exports should be an array, got string"),
        // Latency tracking: Go 2.9.10's texts and positions (checked with its `-t`).
        (
            "A { exports: [ {stream: foo, latency: lat} ] }",
            "2:30: Detected latency directive on non-service",
        ),
        (
            "A { exports: [ {service: foo, latency: {sampling: 0, subject: lat}} ] }",
            "2:41: bad sampling percentage, should be 1-100",
        ),
        (
            "A { exports: [ {service: foo, latency: {sampling: \"x%\", subject: lat}} ] }",
            "2:41: Failed to parse latency sample: strconv.Atoi: parsing \"x\": invalid syntax",
        ),
        (
            "A { exports: [ {service: foo, latency: {sampling: 50}} ] }",
            "2:31: Latency subject required, but missing",
        ),
        (
            "A { exports: [ {service: foo, latency: 5} ] }",
            "2:31: Expected latency entry to be a map/struct or string, got int64",
        ),
        (
            "A { exports: [ {service: foo, latency: {subject: 5}} ] }",
            "2:41: Expected latency subject to be a string, got string",
        ),
        (
            "A { exports: [ {service: foo, latency: {subject: \"lat.*\"}} ] }",
            "1:0: Error adding service latency sampling for \"foo\" on subject \"lat.*\": invalid publish subject",
        ),
        (
            "A { exports: [ {service: foo, latency: foo} ] }",
            "1:0: Error adding service latency sampling for \"foo\" on subject \"foo\": invalid publish subject",
        ),
        (
            "A { exports: [ {service: foo, response_type: stream, latency: lat} ] }",
            "1:0: Error adding service latency sampling for \"foo\" on subject \"lat\": bad service response type",
        ),
        ("A { imports: [ 1 ] }", "2:16: Import Items should be a map with type entry, got int64"),
        (
            "A { imports: [ {stream: {account: B}} ] }",
            "2:17: Expect an account name and a subject",
        ),
        (
            "A { exports: [ {service: a}, {service: b} ] }\nB { imports: [ {service: {account: A, subject: a}, to: q}, {service: {account: A, subject: b}, to: q} ] }",
            "3:102: Duplicate service import subject \"q\", previously used in import for account \"A\", subject \"a\"",
        ),
    ];
    let mut bad = Vec::new();
    for (body, want) in cases {
        let text = acc(body);
        let errs = errors(&text);
        if errs != vec![want.to_string()] {
            bad.push(format!("{text}\n  want {want}\n  got  {errs:?}"));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    // Wiring happens only when the rest of the file is clean (Go bails first).
    let errs =
        errors("port: x\naccounts { B { imports: [ {stream: {account: Z, subject: f}} ] } }");
    assert_eq!(errs.len(), 1, "{errs:?}");
}

#[test]
fn operator_mode_options() {
    let op = nkeys::KeyPair::new_operator();
    let acc = nkeys::KeyPair::new_account();
    let ojwt = crate::jwt::encode(
        serde_json::json!({"sub": op.public_key(), "nats": {"type": "operator",
            "system_account": acc.public_key()}}),
        &op,
        1,
    )
    .unwrap();
    let ajwt = crate::jwt::encode(
        serde_json::json!({"sub": acc.public_key(), "nats": {"type": "account"}}),
        &op,
        1,
    )
    .unwrap();
    let o = ok(&format!(
        "operator: \"{ojwt}\"\nresolver: MEMORY\nresolver_preload: {{ {}: \"{ajwt}\" }}",
        acc.public_key()
    ));
    assert!(o.operator.enabled());
    assert_eq!(o.operator.resolver, crate::options::Resolver::Memory);
    // The operator names the system account.
    assert_eq!(o.system_account, acc.public_key());
    assert_eq!(o.operator.preload.len(), 1);
    // The operator in a file, decorated.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("op.jwt");
    std::fs::write(
        &f,
        format!("-----BEGIN NATS OPERATOR JWT-----\n{ojwt}\n------END NATS OPERATOR JWT------\n"),
    )
    .unwrap();
    let o = ok(&format!(
        "operator: \"{}\"\nresolver: {{ type: full, dir: \"{}\", allow_delete: true, limit: 5, interval: \"2m\" }}",
        f.display(),
        dir.path().join("jwt").display()
    ));
    assert!(matches!(
        o.operator.resolver,
        crate::options::Resolver::Full {
            allow_delete: true,
            limit: 5,
            ..
        }
    ));
    let o = ok(&format!(
        "operator: \"{}\"\nresolver: {{ type: cache, dir: \"{}\", ttl: \"1h\", timeout: \"3s\" }}",
        f.display(),
        dir.path().join("cache").display()
    ));
    assert_eq!(
        o.operator.resolver,
        crate::options::Resolver::Cache {
            dir: dir.path().join("cache"),
            limit: 1000,
            ttl: std::time::Duration::from_secs(3600),
            timeout: std::time::Duration::from_secs(3),
        }
    );
    for (text, url) in [
        (
            "URL(http://h:1/jwt/v1/accounts)",
            "http://h:1/jwt/v1/accounts/",
        ),
        ("\"URL(\\\"http://h:1/a/\\\")\"", "http://h:1/a/"),
        ("\"url( http://h:1/a/ )\"", "http://h:1/a/"),
        ("URL", "/"),
    ] {
        let o = ok(&format!("operator: \"{ojwt}\"\nresolver: {text}"));
        assert_eq!(
            o.operator.resolver,
            crate::options::Resolver::Url(url.into()),
            "{text}"
        );
    }
    // No resolver: a single operator's `account_server_url` (here none) plus `/accounts`.
    let o = ok(&format!("operator: \"{ojwt}\""));
    assert_eq!(
        o.operator.resolver,
        crate::options::Resolver::Url("/accounts/".into())
    );
    // Problems nats-server reports.
    let bad = [
        ("operator: \"/nonexistent/op.jwt\"\nresolver: MEMORY", "error parsing operator JWT"),
        (&format!("operator: \"{ojwt}\"\nresolver: nothing") as &str, "error parsing account resolver"),
        (&format!("operator: \"{ojwt}\"\nresolver: {{ type: cache, dir: \"/tmp\", allow_delete: true }}"), "CACHE does not accept allow_delete"),
        ("trusted: [ NOTAKEY ]\nresolver: MEMORY", "required to be a valid public operator nkey"),
        (
            &format!("operator: \"{ojwt}\"\nresolver: MEMORY\nauthorization {{ users: [ {{user: a, password: b}} ] }}"),
            "operators do not allow users",
        ),
        (
            &format!("operator: \"{ojwt}\"\nresolver: MEMORY\nresolver_preload: {{ {}: \"nope\" }}", acc.public_key()),
            "invalid account JWT",
        ),
        (
            &format!("operator: \"{ojwt}\"\nresolver: {{ type: full }}"),
            "dir has no value",
        ),
    ];
    for (text, want) in bad {
        let (_, r) = apply(text);
        assert!(r.errors.iter().any(|e| e.contains(want)), "{text}: {r:?}");
    }
}

#[test]
fn account_jetstream_limits() {
    let o = ok(
        "accounts { A: { jetstream: { max_mem: 1K, max_file: 2MB, max_streams: 3, \
                consumers: 4, max_bytes_required: true } }, B: { jetstream: disabled } }",
    );
    let (name, l) = &o.jetstream.account_limits[0];
    assert_eq!(name, "A");
    assert_eq!(
        (
            l.max_memory,
            l.max_store,
            l.max_streams,
            l.max_consumers,
            l.max_bytes_required
        ),
        (1000, 2 * 1024 * 1024, 3, 4, true)
    );
    assert_eq!(l.max_ack_pending, -1);
    assert_eq!(
        o.jetstream.accounts,
        [("A".into(), true), ("B".into(), false)]
    );
    let errs = errors("accounts { A: { jetstream: { max_mem: \"lots\", bogus: 1 } } }");
    assert!(
        errs.iter()
            .any(|e| e.contains("Expected a parseable size for \"max_mem\", got lots")),
        "{errs:?}"
    );
    assert!(
        errs.iter().any(|e| e.contains("unknown field \"bogus\"")),
        "{errs:?}"
    );
    let errs = errors("accounts { A: { jetstream: maybe } }");
    assert!(
        errs.iter()
            .any(|e| e.contains("Expected 'enabled' or 'disabled' for string value, got 'maybe'")),
        "{errs:?}"
    );
}
