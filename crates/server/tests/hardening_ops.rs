//! Hardening regressions, operations side: secrets in traces, route credentials in URLs,
//! monitoring port limits, port validation, robustness against huge configured durations.
//! (Attacks on the protocol and the message path are in `hardening.rs`.)

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
    // A route CONNECT that does not decode (a password sent as a number): the error log
    // must not quote the value.
    let mut rr = Raw::connect(&format!("127.0.0.1:{pa}"));
    rr.expect(r"^INFO .*\r\n");
    rr.send("CONNECT {\"user\":\"ruser\",\"pass\":86753091}\r\n");
    assert!(rr.closed_within(Duration::from_secs(5)));
    assert!(a.wait_log("Error parsing route CONNECT", Duration::from_secs(5)));
    assert!(!a.log().contains("86753091"), "{}", a.log());
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
    assert!(log.contains(r#""user":"a","pass":"[REDACTED]"}]"#), "{log}");
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
        let c = start(&[
            "-cluster",
            "nats://127.0.0.1:-1",
            "--cluster_name",
            "pd",
            "-routes",
            &url,
        ]);
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
    assert!(
        closed_within(&mut silent, Duration::from_secs(10)),
        "silent client kept"
    );
    assert!(
        closed_within(&mut partial, Duration::from_secs(10)),
        "partial request kept"
    );
    assert!(trickler.join().unwrap(), "trickling client kept");
    assert!(t0.elapsed() >= Duration::from_secs(4), "closed too early");
    // A normal request still works.
    assert_eq!(s.http_get("/varz").unwrap().0, 200);
}

/// At most 256 monitoring connections at once: past that, a new connection pushes out
/// the oldest, so idle connections cannot lock monitoring out.
#[test]
fn monitoring_connection_cap() {
    let s = start(&["-m", "-1"]);
    let addr = format!("127.0.0.1:{}", s.http_port.unwrap());
    // An attacker holds 300 connections and sends nothing (more than the cap of 256).
    let mut held: Vec<TcpStream> = (0..300)
        .map(|_| TcpStream::connect(&addr).unwrap())
        .collect();
    // A monitoring client still gets its answer: the newest connection pushes out the
    // oldest idle ones instead of being refused.
    assert!(common::wait_for(Duration::from_secs(5), || s
        .http_get("/varz")
        .is_ok_and(|r| r.0 == 200)));
    // The oldest held connections were closed; the server keeps at most 256 open.
    let closed = held
        .iter_mut()
        .take(44)
        .map(|t| closed_within(t, Duration::from_secs(2)))
        .filter(|c| *c)
        .count();
    assert_eq!(closed, 44);
    let newest = held.last_mut().unwrap();
    newest
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut b = [0u8; 256];
    newest
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    assert!(newest.read(&mut b).unwrap() > 0);
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
    for path in [
        "/varz",
        "/connz?sort=bad",
        "/nope",
        "/healthz",
        "/connz?callback=cb",
        "/",
    ] {
        let o = header_names(ours.http_port.unwrap(), path);
        let g = header_names(go.http_port.unwrap(), path);
        assert_eq!(o, g, "{path}");
        assert!(
            !o.1.iter().any(|n| n.starts_with("access-control")),
            "{path}"
        );
    }
}

/// Run our binary to completion (bounded), returning its exit code and stderr.
fn run_to_exit(args: &[&str]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let err_path = dir.path().join("stderr");
    let mut child = std::process::Command::new(common::bin())
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (
        status,
        std::fs::read_to_string(&err_path).unwrap_or_default(),
    )
}

/// Out-of-range ports fail at start-up with Go's texts and exit code 1, instead of being
/// truncated to 16 bits (99999 used to listen on 34463).
#[test]
fn out_of_range_ports_are_refused() {
    let (_d1, c1) = common::config("port: 99999\n");
    let (_d2, c2) = common::config("port: -1\ncluster { port: 99999 }\n");
    let (_d3, c3) = common::config("port: -1\nhttp_port: 99999\n");
    let cases: [(&[&str], &str); 6] = [
        (
            &["-p", "99999"],
            r#"Error listening on port: 0.0.0.0:99999, "listen tcp: address 99999: invalid port""#,
        ),
        (
            &["-p", "-5"],
            r#"Error listening on port: 0.0.0.0:-5, "listen tcp: address -5: invalid port""#,
        ),
        (
            &["-p", "-1", "-m", "99999"],
            "Can't start monitoring: can't listen to the monitor port: listen tcp: address 99999: invalid port",
        ),
        (
            &["-c", &c1],
            r#"Error listening on port: 0.0.0.0:99999, "listen tcp: address 99999: invalid port""#,
        ),
        (
            &["-c", &c2],
            "Error listening on router port: 99999 - listen tcp: address 99999: invalid port",
        ),
        (
            &["-c", &c3],
            "Can't start monitoring: can't listen to the monitor port: listen tcp: address 99999: invalid port",
        ),
    ];
    for (args, want) in cases {
        let (code, err) = run_to_exit(args);
        assert_eq!(code, Some(1), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
}

/// A huge `authorization { timeout }` used to panic every connection
/// (`Duration::from_secs_f64` overflow); it is clamped, and clients work.
#[test]
fn huge_auth_timeout_does_not_break_connections() {
    for t in ["100000000000", "100000000000000000000.5"] {
        let (_d, conf) = common::config(&format!(
            "authorization {{ user: a, password: b, timeout: {t} }}\n\
             cluster {{ name: t, listen: \"127.0.0.1:-1\", authorization {{ user: r, password: s, timeout: {t} }} }}\n\
             no_system_account: true\n"
        ));
        let s = start(&["-c", &conf, "-m", "-1"]);
        let mut r = Raw::connect(&s.addr());
        r.expect(r"^INFO .*\r\n");
        r.send("CONNECT {\"verbose\":false,\"user\":\"a\",\"pass\":\"b\"}\r\nSUB x 1\r\nPING\r\n");
        r.expect("PONG\r\n");
        let mut rr = Raw::connect(&format!("127.0.0.1:{}", s.cluster_port.unwrap()));
        rr.expect(r"^INFO .*\r\n");
        rr.send("CONNECT {\"verbose\":false,\"user\":\"r\",\"pass\":\"s\",\"name\":\"NX\",\"cluster\":\"t\"}\r\nPING\r\n");
        rr.expect("PONG\r\n");
        drop(r);
        // Its clean-up ran: no connection and no subscription left.
        assert!(common::wait_for(Duration::from_secs(5), || {
            s.http_get("/varz").is_ok_and(|(_, b)| {
                let v: serde_json::Value = serde_json::from_str(&b).unwrap();
                v["connections"] == 0 && v["subscriptions"] == 0
            })
        }));
        assert!(!s.log().contains("anic"), "{}", s.log());
    }
}

/// Connections whose options were set in-process (not through the config loader) with
/// huge or NaN auth timeouts still work: the conversion saturates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_auth_timeout_in_process() {
    use nats_server::logging::{Logger, Sink};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    for t in [1e30, f64::INFINITY, f64::NAN] {
        let opts = nats_server::options::Options {
            host: "127.0.0.1".into(),
            port: -1,
            username: "a".into(),
            password: "b".into(),
            auth_timeout: t,
            ..Default::default()
        };
        let srv = nats_server::Server::start(opts, Logger::new(Sink::Discard, true, false, false))
            .await
            .unwrap();
        let mut c = tokio::net::TcpStream::connect(srv.client_addr().unwrap())
            .await
            .unwrap();
        c.write_all(b"CONNECT {\"user\":\"a\",\"pass\":\"b\",\"verbose\":false}\r\nPING\r\n")
            .await
            .unwrap();
        let mut got = Vec::new();
        let ok = tokio::time::timeout(Duration::from_secs(5), async {
            while !got.ends_with(b"PONG\r\n") {
                let mut b = [0u8; 1024];
                let n = c.read(&mut b).await.unwrap();
                if n == 0 {
                    return false;
                }
                got.extend_from_slice(&b[..n]);
            }
            true
        })
        .await;
        assert_eq!(
            ok,
            Ok(true),
            "auth_timeout {t}: {}",
            String::from_utf8_lossy(&got)
        );
        drop(c);
        let deadline = Instant::now() + Duration::from_secs(5);
        while !srv.clients.lock().is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(srv.clients.lock().is_empty());
        srv.shutdown().await;
    }
}
