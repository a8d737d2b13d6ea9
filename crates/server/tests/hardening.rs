//! Hardening regressions: secrets in traces, route credentials in URLs, monitoring port
//! limits, port validation, robustness against huge configured durations.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{start, Raw};

/// Every CONNECT variant that carries a secret is traced without it, on clients and on
/// routes (both the accepting and the dialling side), and a route URL with a password is
/// logged redacted.
#[test]
fn no_secret_in_traces() {
    let pa = common::free_port();
    let (_d, conf) = common::config(&format!(
        "authorization {{ user: a, password: \"cl1entPW\" }}\n\
         cluster {{ name: h, listen: \"127.0.0.1:{pa}\",\n\
           authorization {{ user: ruser, password: \"r0utePW\" }}\n\
           routes: [\"nats-route://ruser:r0utePW@127.0.0.1:{pa}\"] }}\n"
    ));
    let a = start(&["-c", &conf, "-DV"]);
    let route = format!("nats-route://ruser:r0utePW@127.0.0.1:{pa}");
    let (_d2, conf2) = common::config("cluster { name: h, listen: \"127.0.0.1:-1\" }\n");
    let b = start(&["-c", &conf2, "-DV", "-routes", &route]);
    assert!(common::wait_full_mesh(&[&a, &b], Duration::from_secs(10)));

    let variants = [
        r#"{"verbose":false,"user":"a","pass":"SECRETlower"}"#,
        r#"{"verbose":false,"user":"a","Pass":"SECRETtitle"}"#,
        r#"{"verbose":false,"user":"a","PASS":"SECRETupper"}"#,
        r#"{"verbose":false,"user":"a","password":"SECRETpassword"}"#,
        r#"{"verbose":false,"auth_token":"SECRETtoken"}"#,
        r#"{"verbose":false,"Auth_Token":"SECRETTokenCase"}"#,
        r#"{"verbose":false,"sig":"SECRETsig","jwt":"SECRETjwt"}"#,
        r#"{"verbose":false,"user":"a","p\u0061ss":"SECRETescaped"}"#,
    ];
    for v in variants {
        let mut r = Raw::connect(&a.addr());
        r.expect(r"^INFO .*\r\n");
        r.send(format!("CONNECT {v}\r\nPING\r\n"));
        r.expect(r"(PONG|-ERR)");
    }
    // The last CONNECT has been traced.
    assert!(a.wait_log("p\\u0061ss", Duration::from_secs(5)));
    for (name, log) in [("a", a.log()), ("b", b.log())] {
        for secret in ["SECRET", "cl1entPW", "r0utePW"] {
            assert!(
                !log.contains(secret),
                "server {name} logged {secret}:\n{log}"
            );
        }
    }
    let log = a.log();
    // Go's format for a redacted password, in place, keys kept as sent.
    assert!(
        log.contains(r#""user":"a","pass":"[REDACTED]"}]"#),
        "{log}"
    );
    assert!(log.contains(r#""Pass":"[REDACTED]""#), "{log}");
    assert!(
        log.contains(r#""user":"ruser","pass":"[REDACTED]""#),
        "route CONNECT redacted: {log}"
    );
    assert!(
        log.contains(&format!("ruser:xxxxx@127.0.0.1:{pa}")),
        "route URL logged redacted: {log}"
    );
}

/// Route credentials in a URL are percent-decoded as a URL (`+` stays `+`, `%26` is
/// `&`), not as form data, both for `-routes` and for `cluster { routes }`.
#[test]
fn route_url_password_is_percent_decoded() {
    let (_d, conf) = common::config(
        "cluster { name: pd, listen: \"127.0.0.1:-1\", authorization { user: ruser, password: \"a+b&c%2Bd\" } }\n",
    );
    let a = start(&["-c", &conf]);
    let port = a.cluster_port.unwrap();
    // `+` literal and `+` as %2B; `&` as %26; a literal `%2B` as %252B.
    for pass in ["a+b%26c%252Bd", "a%2Bb%26c%252Bd"] {
        let url = format!("nats-route://ruser:{pass}@127.0.0.1:{port}");
        let (_d2, conf2) = common::config(&format!(
            "cluster {{ name: pd, listen: \"127.0.0.1:-1\", routes: [\"{url}\"] }}\n"
        ));
        let b = start(&["-c", &conf2]);
        assert!(
            common::wait_full_mesh(&[&a, &b], Duration::from_secs(10)),
            "route with password {pass} refused; log:\n{}",
            a.log()
        );
        let c = start(&["-cluster", "nats://127.0.0.1:-1", "--cluster_name", "pd", "-routes", &url]);
        assert!(
            common::wait_full_mesh(&[&a, &b, &c], Duration::from_secs(10)),
            "-routes with password {pass} refused; log:\n{}",
            a.log()
        );
    }
    assert!(!a.log().contains("Authorization Violation"), "{}", a.log());
}

/// Read until EOF, within `limit`; true if the peer closed.
fn closed_within(s: &mut TcpStream, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    let mut buf = [0u8; 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        s.set_read_timeout(Some(left)).unwrap();
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

#[allow(dead_code)]
fn send_all(s: &mut TcpStream, b: &[u8]) {
    s.write_all(b).unwrap();
}
