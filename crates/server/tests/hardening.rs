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

/// A monitoring client that never finishes its headers is disconnected after the header
/// read timeout (5 s): one that sends nothing, one that stops mid-request-line, and one
/// that trickles a header byte every 300 ms.
#[test]
fn monitoring_header_read_timeout() {
    let s = start(&["-m", "-1"]);
    let addr = format!("127.0.0.1:{}", s.http_port.unwrap());
    let t0 = Instant::now();
    let mut silent = TcpStream::connect(&addr).unwrap();
    let mut partial = TcpStream::connect(&addr).unwrap();
    partial.write_all(b"GET /varz HT").unwrap();
    let trickle_addr = addr.clone();
    let trickler = std::thread::spawn(move || {
        let mut t = TcpStream::connect(&trickle_addr).unwrap();
        t.write_all(b"GET /varz HTTP/1.1\r\nX-Slow: ").unwrap();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(12) {
            if t.write_all(b"a").is_err() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        closed_within(&mut t, Duration::from_millis(100))
    });
    assert!(closed_within(&mut silent, Duration::from_secs(10)), "silent client kept");
    assert!(closed_within(&mut partial, Duration::from_secs(10)), "partial request kept");
    assert!(trickler.join().unwrap(), "trickling client kept");
    assert!(t0.elapsed() >= Duration::from_secs(4), "closed too early");
    // A normal request still works.
    assert_eq!(s.http_get("/varz").unwrap().0, 200);
}

/// At most 256 monitoring connections at once: the next one is closed at once, and a
/// slot frees when a connection ends.
#[test]
fn monitoring_connection_cap() {
    let s = start(&["-m", "-1"]);
    let addr = format!("127.0.0.1:{}", s.http_port.unwrap());
    let mut held: Vec<TcpStream> = (0..256).map(|_| TcpStream::connect(&addr).unwrap()).collect();
    // Make sure all of them have been accepted: a request on the last one is answered.
    let last = held.last_mut().unwrap();
    last.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut b = [0u8; 256];
    last.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert!(last.read(&mut b).unwrap() > 0);
    let mut over = TcpStream::connect(&addr).unwrap();
    assert!(
        closed_within(&mut over, Duration::from_secs(2)),
        "connection over the cap was not closed at once"
    );
    drop(held.pop());
    assert!(common::wait_for(Duration::from_secs(5), || s
        .http_get("/varz")
        .is_ok_and(|r| r.0 == 200)));
}

/// Raw response headers (names, lower case, sorted) for `path`.
fn header_names(port: u16, path: &str) -> (String, Vec<String>) {
    let mut t = TcpStream::connect(("127.0.0.1", port)).unwrap();
    t.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .unwrap();
    t.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut text = String::new();
    let _ = t.read_to_string(&mut text);
    let head = text.split("\r\n\r\n").next().unwrap_or("").to_string();
    let mut lines = head.lines();
    let status = lines.next().unwrap_or("").to_string();
    let mut names: Vec<String> = lines
        .filter_map(|l| l.split(':').next())
        .map(|n| n.to_ascii_lowercase())
        // Go streams the index page (chunked); we send its length. Both are framing.
        .filter(|n| n != "transfer-encoding" && n != "content-length")
        .collect();
    names.sort();
    (status, names)
}

/// The monitoring responses carry the same headers as Go 2.9.10's (no CORS header).
#[test]
fn monitoring_headers_as_go() {
    let ours = start(&["-m", "-1"]);
    let go = common::start_go(&["-m", "-1"]);
    for path in ["/varz", "/connz?sort=bad", "/nope", "/healthz", "/connz?callback=cb", "/"] {
        let o = header_names(ours.http_port.unwrap(), path);
        let g = header_names(go.http_port.unwrap(), path);
        assert_eq!(o, g, "{path}");
        assert!(!o.1.iter().any(|n| n.starts_with("access-control")), "{path}");
    }
}
