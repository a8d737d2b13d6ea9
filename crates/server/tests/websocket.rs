//! The websocket listener: the upgrade and frame errors compared byte for byte with
//! nats-server 2.9.10 (same config file, both binaries), messages between websocket and
//! TCP clients (compressed or not, across a route), authorization overrides, monitoring,
//! config errors, and wss.

mod common;

use std::time::Duration;

use common::ws::{deflate, frame, frame_with, upgrade_request, Frame, Ws};
use common::{bin, config, require_go_server, Raw, ServerProcess};

const T: Duration = Duration::from_secs(5);

fn start_both(conf: &str) -> (ServerProcess, ServerProcess, tempfile::TempDir) {
    let (dir, path) = config(conf);
    let ours = ServerProcess::start(&bin(), &["-c", &path]);
    let go = ServerProcess::start(&require_go_server(), &["-c", &path]);
    (ours, go, dir)
}

fn ws_addr(s: &ServerProcess) -> String {
    format!("127.0.0.1:{}", s.websocket_port.expect("websocket port"))
}

const PLAIN: &str = "websocket { host: 127.0.0.1, port: -1, no_tls: true }\n";

/// Send raw bytes, read the whole answer until the server closes or goes quiet.
fn raw_exchange(addr: &str, bytes: &[u8]) -> (String, bool) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    s.write_all(bytes).unwrap();
    let mut out = Vec::new();
    let mut b = [0u8; 8192];
    let closed = loop {
        match s.read(&mut b) {
            Ok(0) => break true,
            Ok(n) => out.extend_from_slice(&b[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break true,
            Err(_) => break false,
        }
    };
    let text = String::from_utf8_lossy(&out)
        .lines()
        .filter(|l| !l.starts_with("Date: "))
        .collect::<Vec<_>>()
        .join("\n");
    (text, closed)
}

#[test]
fn upgrade_answers_match_go() {
    let (ours, go, _d) = start_both(PLAIN);
    let good = upgrade_request("");
    let requests: Vec<Vec<u8>> = vec![
        good.clone().into_bytes(),
        upgrade_request("Sec-WebSocket-Extensions: permessage-deflate\r\n").into_bytes(),
        upgrade_request("Nats-No-Masking: true\r\n").into_bytes(),
        b"POST / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n".to_vec(),
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n".to_vec(),
        good.replace("Version: 13", "Version: 12").into_bytes(),
        b"GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n".to_vec(),
        b"GET / HTTP/1.0\r\nHost: x\r\n\r\n".to_vec(),
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        b"garbage\r\n\r\n".to_vec(),
        // Data right behind the request: Go drops the connection without an answer.
        [good.as_bytes(), &frame(2, true, b"PING\r\n")].concat(),
    ];
    for req in requests {
        let (a, ac) = raw_exchange(&ws_addr(&ours), &req);
        let (b, bc) = raw_exchange(&ws_addr(&go), &req);
        // Past the 101 each server sends its own INFO: compare up to it.
        let cut = |s: &str| s.split("\n\n").next().unwrap_or("").to_string();
        assert_eq!(
            (cut(&a), ac),
            (cut(&b), bc),
            "request {:?}",
            String::from_utf8_lossy(&req)
        );
    }
    // A request head larger than Go's limit.
    let mut big = b"GET / HTTP/1.1\r\nHost: x\r\nX: ".to_vec();
    big.extend(std::iter::repeat_n(b'a', 1 << 21));
    big.extend_from_slice(b"\r\n\r\n");
    let (a, _) = raw_exchange(&ws_addr(&ours), &big);
    let (b, _) = raw_exchange(&ws_addr(&go), &big);
    assert_eq!(a, b);
}

/// What a server answers to `sends` after the INFO: its frames, and whether it closed.
fn after_info(addr: &str, sends: &[Vec<u8>]) -> (Vec<Frame>, bool) {
    let mut ws = Ws::connect(addr, "");
    let info = ws.next_frame(T).expect("INFO frame");
    assert!(info.payload.starts_with(b"INFO "), "{info:?}");
    for s in sends {
        ws.send(s);
    }
    let (frames, closed) = ws.frames_until_quiet(Duration::from_millis(400));
    // Where one binary frame ends and the next begins follows each server's write timing
    // (both frame what one socket write carries), not the protocol: merge neighbours.
    let mut merged: Vec<Frame> = Vec::new();
    for f in frames {
        match merged.last_mut() {
            Some(last) if last.op == 2 && f.op == 2 && last.fin && !f.compressed => {
                last.payload.extend_from_slice(&f.payload)
            }
            _ => merged.push(f),
        }
    }
    (merged, closed)
}

#[test]
fn frame_handling_matches_go() {
    let (ours, go, _d) = start_both(PLAIN);
    let cases: Vec<(&str, Vec<Vec<u8>>)> = vec![
        (
            "unmasked",
            vec![frame_with(2, true, false, false, b"PING\r\n")],
        ),
        ("ping", vec![frame(9, true, b"hey")]),
        (
            "pong",
            vec![frame(10, true, b""), frame(2, true, b"PING\r\n")],
        ),
        ("close", vec![frame(8, true, b"\x03\xe8bye")]),
        ("close empty", vec![frame(8, true, b"")]),
        ("close bad utf8", vec![frame(8, true, b"\x03\xe8\xff")]),
        ("unknown opcode", vec![frame(3, true, b"x")]),
        ("control too big", vec![frame(9, true, &[b'x'; 126])]),
        ("control fragmented", vec![frame(9, false, b"x")]),
        ("lonely continuation", vec![frame(0, true, b"x")]),
        (
            "new message before final",
            vec![frame(2, false, b"PI"), frame(2, true, b"NG\r\n")],
        ),
        (
            "fragments",
            vec![
                frame(2, false, b"PI"),
                frame(9, true, b"p"),
                frame(0, true, b"NG\r\n"),
            ],
        ),
        ("text frame", vec![frame(1, true, b"PING\r\n")]),
        ("protocol error", vec![frame(2, true, b"FOO\r\n")]),
        ("max payload", vec![frame(2, true, b"PUB a 2000000\r\n")]),
        (
            "connect then ping",
            vec![frame(2, true, b"CONNECT {\"verbose\":true}\r\nPING\r\n")],
        ),
        (
            "op split across frames",
            vec![
                frame(2, true, b"SUB a 1\r\nPUB a 5\r\nhe"),
                frame(2, true, b"llo\r\n"),
            ],
        ),
    ];
    for (name, sends) in cases {
        let a = after_info(&ws_addr(&ours), &sends);
        let b = after_info(&ws_addr(&go), &sends);
        if a == b {
            continue;
        }
        // Go's answer to a framing error is racy: its reader queues a 1002 close frame
        // with the error's words, then closes the connection as a read error, which skips
        // the final flush; the frame goes out only when Go's writer wins that race (often
        // under load, seldom on an idle machine). Ours always sends it. So where Go sent
        // nothing, ours must have sent exactly that close frame, and then closed.
        let (frames, closed) = &a;
        assert!(
            b == (vec![], true) && *closed && frames.len() == 1,
            "{name}: ours {a:?}, Go {b:?}"
        );
        let f = &frames[0];
        assert_eq!((f.op, f.fin), (8, true), "{name}");
        assert_eq!(&f.payload[..2], &1002u16.to_be_bytes(), "{name}");
    }
}

#[test]
fn messages_flow_between_websocket_and_tcp_clients() {
    let (_d, path) = config(PLAIN);
    let s = ServerProcess::start(&bin(), &["-c", &path]);
    let mut ws = Ws::connect(&ws_addr(&s), "");
    ws.expect_nats("INFO ");
    ws.send_nats(
        "CONNECT {\"verbose\":false,\"headers\":true,\"protocol\":1}\r\nSUB ws.in 1\r\nPING\r\n",
    );
    ws.expect_nats("PONG\r\n");
    let mut tcp = Raw::handshake(&s.addr(), "{\"verbose\":false,\"headers\":true}");
    tcp.send("SUB tcp.in 7\r\nPING\r\n");
    tcp.expect("^PONG\r\n");
    tcp.send("PUB ws.in 5\r\nhello\r\nHPUB ws.in 18 20\r\nNATS/1.0\r\nA: b\r\n\r\nhi\r\n");
    let got = ws.expect_nats("hi\r\n");
    assert!(got.contains("MSG ws.in 1 5\r\nhello\r\n"), "{got}");
    assert!(
        got.contains("HMSG ws.in 1 18 20\r\nNATS/1.0\r\nA: b\r\n\r\nhi\r\n"),
        "{got}"
    );
    // A large payload, cut into fragments on the way in.
    let big = "x".repeat(200_000);
    let msg = format!("PUB tcp.in {}\r\n{big}\r\n", big.len());
    let bytes = msg.as_bytes();
    ws.send(&frame(2, false, &bytes[..70_000]));
    ws.send(&frame(0, false, &bytes[70_000..140_000]));
    ws.send(&frame(0, true, &bytes[140_000..]));
    tcp.expect(&format!("^MSG tcp.in 7 {}\r\n", big.len()));
}

#[test]
fn compression_both_ways() {
    let (_d, path) =
        config("websocket { host: 127.0.0.1, port: -1, no_tls: true, compression: true }\n");
    let s = ServerProcess::start(&bin(), &["-c", &path]);
    let mut ws = Ws::connect(
        &ws_addr(&s),
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n",
    );
    assert!(ws
        .response
        .contains("Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n"));
    let info = ws.next_frame(T).unwrap();
    assert!(info.compressed, "the INFO is larger than the threshold");
    assert!(info.payload.starts_with(b"INFO {"));
    let body = "y".repeat(5000);
    let ops = format!(
        "CONNECT {{\"verbose\":false}}\r\nSUB z 1\r\nPUB z {}\r\n{body}\r\nPING\r\n",
        body.len()
    );
    ws.send(&frame_with(2, true, true, true, &deflate(ops.as_bytes())));
    let got = ws.expect_nats("PONG\r\n");
    assert!(got.contains(&format!("MSG z 1 5000\r\n{body}\r\n")));
    // Small answers go uncompressed, as Go's threshold says.
    ws.send_nats("PING\r\n");
    let f = ws.next_frame(T).unwrap();
    assert_eq!(
        (f.compressed, f.payload.as_slice()),
        (false, &b"PONG\r\n"[..])
    );
}

#[test]
fn authorization_override_matches_go() {
    let conf = "authorization { user: tcp, password: tpass }\n\
                websocket { host: 127.0.0.1, port: -1, no_tls: true, authorization { username: web, password: wpass } }\n";
    let (ours, go, _d) = start_both(conf);
    for s in [&ours, &go] {
        let mut ok = Ws::connect(&ws_addr(s), "");
        let info = ok.expect_nats("INFO ");
        assert!(info.contains("\"auth_required\":true"), "{info}");
        ok.send_nats("CONNECT {\"verbose\":false,\"user\":\"web\",\"pass\":\"wpass\"}\r\nPING\r\n");
        ok.expect_nats("PONG\r\n");
    }
    let bad = |s: &ServerProcess, user: &str, pass: &str| {
        after_info(
            &ws_addr(s),
            &[frame(
                2,
                true,
                format!("CONNECT {{\"verbose\":false,\"user\":\"{user}\",\"pass\":\"{pass}\"}}\r\nPING\r\n")
                    .as_bytes(),
            )],
        )
    };
    // The top-level user is not a websocket user here.
    for (u, p) in [("tcp", "tpass"), ("web", "nope")] {
        let a = bad(&ours, u, p);
        assert_eq!(a, bad(&go, u, p));
        assert!(a.1, "closed");
        let close = a.0.last().unwrap();
        assert_eq!(close.op, 8);
        assert_eq!(&close.payload[..2], &1008u16.to_be_bytes());
        assert_eq!(&close.payload[2..], b"Authentication Failure");
    }
}

#[test]
fn connection_types_are_enforced() {
    let conf = "authorization { users: [ {user: web, password: p, allowed_connection_types: [WEBSOCKET]}, {user: std, password: p, allowed_connection_types: [STANDARD]} ] }\n\
                websocket { host: 127.0.0.1, port: -1, no_tls: true }\n";
    let (ours, go, _d) = start_both(conf);
    for s in [&ours, &go] {
        let login = |user: &str| {
            after_info(
                &ws_addr(s),
                &[frame(
                    2,
                    true,
                    format!("CONNECT {{\"verbose\":false,\"user\":\"{user}\",\"pass\":\"p\"}}\r\nPING\r\n")
                        .as_bytes(),
                )],
            )
        };
        let (f, closed) = login("web");
        assert!(!closed && f[0].payload == b"PONG\r\n", "{f:?}");
        let (_, closed) = login("std");
        assert!(closed);
        let mut tcp = Raw::connect(&s.addr());
        tcp.expect(r"^INFO \{.*\} ?\r\n");
        tcp.send("CONNECT {\"verbose\":false,\"user\":\"web\",\"pass\":\"p\"}\r\nPING\r\n");
        tcp.expect("^-ERR 'Authorization Violation'");
    }
}

#[test]
fn monitoring_shows_websocket_clients() {
    let (_d, path) = config(PLAIN);
    let s = ServerProcess::start(&bin(), &["-c", &path, "-m", "-1"]);
    let mut ws = Ws::connect(&ws_addr(&s), "");
    ws.expect_nats("INFO ");
    ws.send_nats("CONNECT {\"verbose\":false,\"name\":\"browser\"}\r\nPING\r\n");
    ws.expect_nats("PONG");
    let (_, body) = s.http_get("/connz").unwrap();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let c = &v["connections"][0];
    assert_eq!(c["kind"], "Client");
    assert_eq!(c["type"], "websocket");
    assert_eq!(c["name"], "browser");
    let (_, body) = s.http_get("/varz").unwrap();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["websocket"]["port"], s.websocket_port.unwrap());
    assert_eq!(v["websocket"]["no_tls"], true);
    drop(ws);
    assert!(common::wait_for(T, || {
        let (_, body) = s.http_get("/connz?state=closed").unwrap();
        body.contains("\"type\": \"websocket\"")
    }));
}

#[test]
fn config_errors_match_go() {
    for conf in [
        "websocket { port: -1 }\n",
        "websocket { port: -1, no_tls: true, username: x }\n",
        "websocket { port: -1, no_tls: true, authorization { user: a, nope: 1 } }\n",
        "websocket { port: -1, no_tls: true, compression: 1 }\n",
        "websocket { port: -1, no_tls: true, handshake_timeout: \"abc\" }\n",
        "websocket { port: -1, no_tls: true, no_auth_user: bob }\n",
        "authorization { users: [{user: a, password: b}] }\nwebsocket { port: -1, no_tls: true, authorization { token: t } }\n",
        "websocket: 1\n",
    ] {
        let (_d, path) = config(conf);
        let run = |b: &std::path::Path| {
            let out = std::process::Command::new(b)
                .args(["-t", "-c", &path])
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stderr).to_string()
                + &String::from_utf8_lossy(&out.stdout);
            (out.status.success(), text.replace(&path, "CONF"))
        };
        let (a_ok, a) = run(&bin());
        let (b_ok, b) = run(&require_go_server());
        assert_eq!(a_ok, b_ok, "{conf}\nours: {a}\ngo: {b}");
        if !b_ok {
            // Go prints one error per line; ours must name the same problems.
            for line in b.lines().filter(|l| l.contains("CONF") || l.contains("websocket")) {
                let msg = line.rsplit(": ").next().unwrap();
                assert!(a.contains(msg), "{conf}\nours: {a}\ngo: {b}");
            }
        }
    }
}

#[test]
fn websocket_and_tcp_clients_across_a_route() {
    let (_d1, p1) = config(&format!(
        "{PLAIN}cluster {{ listen: 127.0.0.1:-1, name: c }}\n"
    ));
    let a = ServerProcess::start(&bin(), &["-c", &p1]);
    let route = format!("nats://127.0.0.1:{}", a.cluster_port.unwrap());
    let (_d2, p2) = config(&format!(
        "cluster {{ listen: 127.0.0.1:-1, name: c, routes: [{route}] }}\n"
    ));
    let b = ServerProcess::start(&bin(), &["-c", &p2]);
    let mut tcp = Raw::handshake(&b.addr(), "{\"verbose\":false}");
    tcp.send("SUB from.ws 1\r\nPING\r\n");
    tcp.expect("^PONG\r\n");
    let mut ws = Ws::connect(&ws_addr(&a), "");
    ws.expect_nats("INFO ");
    ws.send_nats("CONNECT {\"verbose\":false}\r\nSUB from.tcp 1\r\nPING\r\n");
    ws.expect_nats("PONG\r\n");
    // Interest crosses the route asynchronously: publish until it arrives.
    assert!(common::wait_for(T, || {
        ws.send_nats("PUB from.ws 2\r\nhi\r\n");
        tcp.try_expect("^MSG from.ws 1 2\r\n", Duration::from_millis(100))
            .is_some()
    }));
    let mut got = String::new();
    assert!(common::wait_for(T, || {
        tcp.send("PUB from.tcp 3\r\nyes\r\n");
        if let Some(f) = ws.next_frame(Duration::from_millis(100)) {
            got.push_str(&String::from_utf8_lossy(&f.payload));
        }
        got.contains("MSG from.tcp 1 3\r\nyes\r\n")
    }));
}

mod wss {
    use super::*;
    use rcgen::{CertificateParams, KeyPair, SanType};
    use std::io::{Read, Write};
    use std::sync::Arc;

    #[test]
    fn wss_upgrade_and_messages() {
        let dir = tempfile::tempdir().unwrap();
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        p.subject_alt_names
            .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
        let cert = p.self_signed(&key).unwrap();
        let (cf, kf) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        std::fs::write(&cf, cert.pem()).unwrap();
        std::fs::write(&kf, key.serialize_pem()).unwrap();
        let (_d, path) = config(&format!(
            "websocket {{ host: 127.0.0.1, port: -1, tls {{ cert_file: {cf:?}, key_file: {kf:?} }} }}\n"
        ));
        let s = ServerProcess::start(&bin(), &["-c", &path]);
        let mut roots = rustls::RootCertStore::empty();
        roots.add(cert.der().clone()).unwrap();
        let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        let conn =
            rustls::ClientConnection::new(Arc::new(cfg), "localhost".try_into().unwrap()).unwrap();
        let tcp = std::net::TcpStream::connect(ws_addr(&s)).unwrap();
        tcp.set_read_timeout(Some(T)).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        tls.write_all(upgrade_request("").as_bytes()).unwrap();
        let mut got = Vec::new();
        let mut b = [0u8; 4096];
        let mut read_until = |tls: &mut rustls::StreamOwned<_, _>, needle: &str| {
            let deadline = std::time::Instant::now() + T;
            while !String::from_utf8_lossy(&got).contains(needle) {
                assert!(std::time::Instant::now() < deadline, "{needle} not seen");
                match tls.read(&mut b) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&b[..n]),
                }
            }
            String::from_utf8_lossy(&got).into_owned()
        };
        let text = read_until(&mut tls, "INFO {");
        assert!(
            text.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
            "{text}"
        );
        tls.write_all(&frame(
            2,
            true,
            b"CONNECT {\"verbose\":false}\r\nSUB a 1\r\nPUB a 2\r\nok\r\nPING\r\n",
        ))
        .unwrap();
        let text = read_until(&mut tls, "PONG");
        assert!(text.contains("MSG a 1 2\r\nok\r\n"), "{text}");
    }
}

/// Websocket clients learn the websocket URLs of the cluster (route INFO's
/// `ws_connect_urls`), plain clients the client URLs, as from Go.
#[test]
fn ws_connect_urls_across_routes_match_go() {
    for b in [bin(), require_go_server()] {
        let (_d1, p1) = config(&format!(
            "{PLAIN}cluster {{ listen: 127.0.0.1:-1, name: c }}\n"
        ));
        let a = ServerProcess::start(&b, &["-c", &p1]);
        let route = format!("nats://127.0.0.1:{}", a.cluster_port.unwrap());
        let (_d2, p2) = config(&format!(
            "{PLAIN}cluster {{ listen: 127.0.0.1:-1, name: c, routes: [{route}] }}\n"
        ));
        let b2 = ServerProcess::start(&b, &["-c", &p2]);
        let want = {
            let mut v = vec![ws_addr(&a), ws_addr(&b2)];
            v.sort();
            v
        };
        let mut got = Vec::new();
        assert!(
            common::wait_for(T, || {
                let mut ws = Ws::connect(&ws_addr(&a), "");
                let info = ws.expect_nats("INFO ");
                let json = info.trim_start_matches("INFO ").trim_end();
                let v: serde_json::Value = serde_json::from_str(json).unwrap();
                got = v["connect_urls"]
                    .as_array()
                    .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
                    .unwrap_or_default();
                got.sort();
                assert!(v.get("ws_connect_urls").is_none(), "{v}");
                got == want
            }),
            "{}: {got:?} != {want:?}",
            b.display()
        );
        let plain = common::connect_urls(&a.addr());
        assert!(plain.iter().all(|u| !want.contains(u)), "{plain:?}");
    }
}
