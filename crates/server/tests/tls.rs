//! TLS for clients, routes and HTTPS monitoring, side by side with nats-server 2.9.10
//! (same config file, both binaries) wherever the behaviour is observable. Certificates
//! are made by the test with rcgen: a CA, a server certificate for 127.0.0.1/localhost,
//! client certificates (signed, from another CA, expired, mapped to users).

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{bin, ServerProcess};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const T: Duration = Duration::from_secs(5);

/// Certificates in a temp dir: `<name>.pem` and `<name>-key.pem`.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki { dir };
        let (ca, ca_key) = pki.ca("ca", "Test CA");
        let (other, other_key) = pki.ca("ca2", "Other CA");
        let leaf = |name: &str,
                    f: &dyn Fn(&mut CertificateParams),
                    by: (&rcgen::Certificate, &KeyPair)| {
            let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
            f(&mut p);
            let key = KeyPair::generate().unwrap();
            let cert = p.signed_by(&key, by.0, by.1).unwrap();
            pki.write(name, &cert.pem(), &key.serialize_pem());
        };
        let server = |p: &mut CertificateParams| {
            p.distinguished_name.push(DnType::CommonName, "localhost");
            p.subject_alt_names = vec![
                SanType::DnsName("localhost".try_into().unwrap()),
                SanType::IpAddress("127.0.0.1".parse().unwrap()),
            ];
        };
        leaf("server", &server, (&ca, &ca_key));
        // The same names, another key: a certificate swapped in by a reload.
        leaf("server-new", &server, (&ca, &ca_key));
        leaf("server-other", &server, (&other, &other_key));
        let app = |p: &mut CertificateParams| {
            p.distinguished_name.push(DnType::CommonName, "app");
            p.distinguished_name
                .push(DnType::OrganizationalUnitName, "NATS.io");
            p.distinguished_name
                .push(DnType::OrganizationName, "Synadia");
            p.subject_alt_names = vec![SanType::Rfc822Name("app@example.com".try_into().unwrap())];
        };
        leaf("client", &app, (&ca, &ca_key));
        leaf("client-other", &app, (&other, &other_key));
        leaf(
            "client-expired",
            &|p: &mut CertificateParams| {
                app(p);
                p.not_before = rcgen::date_time_ymd(2001, 1, 1);
                p.not_after = rcgen::date_time_ymd(2002, 1, 1);
            },
            (&ca, &ca_key),
        );
        leaf(
            "client-dn",
            &|p: &mut CertificateParams| {
                p.distinguished_name.push(DnType::CommonName, "svc");
                p.distinguished_name
                    .push(DnType::OrganizationalUnitName, "NATS.io");
            },
            (&ca, &ca_key),
        );
        leaf(
            "client-nobody",
            &|p: &mut CertificateParams| {
                p.distinguished_name.push(DnType::CommonName, "nobody");
            },
            (&ca, &ca_key),
        );
        pki
    }

    fn ca(&self, name: &str, cn: &str) -> (rcgen::Certificate, KeyPair) {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, cn);
        let key = KeyPair::generate().unwrap();
        let cert = p.self_signed(&key).unwrap();
        self.write(name, &cert.pem(), &key.serialize_pem());
        (cert, key)
    }

    fn write(&self, name: &str, cert: &str, key: &str) {
        std::fs::write(self.cert(name), cert).unwrap();
        std::fs::write(self.key(name), key).unwrap();
    }

    fn cert(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("{name}.pem"))
    }

    fn key(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("{name}-key.pem"))
    }

    /// A `tls {}` block with the server certificate and the CA, plus `extra`.
    fn block(&self, cert: &str, extra: &str) -> String {
        format!(
            "tls {{ cert_file: {:?}, key_file: {:?}, ca_file: {:?} {extra} }}",
            self.cert(cert),
            self.key(cert),
            self.cert("ca")
        )
    }
}

/// Ours, and Go's when installed.
fn binaries() -> Vec<(&'static str, PathBuf)> {
    let mut v = vec![("ours", bin())];
    if let Some(go) = testkit::go_server() {
        v.push(("go", go));
    }
    v
}

fn start_conf(b: &Path, conf: &str) -> (ServerProcess, tempfile::TempDir) {
    let (d, path) = common::config(conf);
    (ServerProcess::start(b, &["-c", &path]), d)
}

/// What a TLS client saw: the plain-text INFO, then the handshake and a CONNECT/PING.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// The server answered the PING (the bytes before the PONG, PINGs removed).
    Pong(String),
    /// Closed or refused; the server's words, if any (`-ERR '…'`).
    Refused(String),
}

fn client_config(pki: &Pki, client: Option<&str>, ca: &str) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    let ca_pem = std::fs::read(pki.cert(ca)).unwrap();
    for c in rustls_pemfile_certs(&ca_pem) {
        roots.add(c).unwrap();
    }
    let p = Arc::new(rustls::crypto::ring::default_provider());
    let b = rustls::ClientConfig::builder_with_provider(p)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    Arc::new(match client {
        None => b.with_no_client_auth(),
        Some(name) => {
            use rustls::pki_types::pem::PemObject;
            let certs = rustls_pemfile_certs(&std::fs::read(pki.cert(name)).unwrap());
            let key = PrivateKeyDer::from_pem_file(pki.key(name)).unwrap();
            b.with_client_auth_cert(certs, key).unwrap()
        }
    })
}

fn rustls_pemfile_certs(pem: &[u8]) -> Vec<CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    CertificateDer::pem_slice_iter(pem)
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Connect over raw TCP, read the plain-text INFO, hand-shake, send `ops` and read up to
/// the PONG. Returns the INFO and the outcome, and (when it got that far) the server's
/// certificate.
async fn probe(
    port: u16,
    cfg: Arc<rustls::ClientConfig>,
    ops: &str,
) -> (serde_json::Value, Outcome, Option<Vec<u8>>) {
    let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let mut r = BufReader::new(tcp);
    let mut line = String::new();
    tokio::time::timeout(T, r.read_line(&mut line))
        .await
        .unwrap()
        .unwrap();
    let info: serde_json::Value =
        serde_json::from_str(line.trim_start_matches("INFO ").trim()).unwrap();
    assert!(
        r.buffer().is_empty(),
        "nothing but INFO before the handshake"
    );
    let tcp = r.into_inner();
    let conn = tokio_rustls::TlsConnector::from(cfg);
    let name = ServerName::try_from("localhost").unwrap();
    let mut s = match tokio::time::timeout(T, conn.connect(name, tcp))
        .await
        .unwrap()
    {
        Ok(s) => s,
        Err(e) => return (info, Outcome::Refused(format!("handshake: {e}")), None),
    };
    let cert = s
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| c.as_ref().to_vec());
    // TLS 1.3: a refused client certificate shows on the first read, not in the handshake.
    if s.write_all(ops.as_bytes()).await.is_err() {
        return (info, Outcome::Refused(String::new()), cert);
    }
    let mut got = Vec::new();
    let deadline = Instant::now() + T;
    loop {
        let mut b = [0u8; 4096];
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, s.read(&mut b)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => got.extend_from_slice(&b[..n]),
            Err(_) => panic!("no answer: {:?}", String::from_utf8_lossy(&got)),
        }
        if got.windows(6).any(|w| w == b"PONG\r\n") {
            let text = String::from_utf8_lossy(&got).replace("PING\r\n", "");
            return (info, Outcome::Pong(text.replace("PONG\r\n", "")), cert);
        }
    }
    let text = String::from_utf8_lossy(&got).replace("PING\r\n", "");
    (info, Outcome::Refused(text), cert)
}

const CONNECT: &str = "CONNECT {\"verbose\":false,\"pedantic\":false}\r\nPING\r\n";

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// INFO in plain text with `tls_required`/`tls_verify`, then the handshake; a client with
/// a certificate of the CA gets in; no certificate, another CA's or an expired one are
/// refused (and logged), and the server carries on.
#[test]
fn client_verify_accepts_and_refuses_like_go() {
    let pki = Pki::new();
    let conf = format!("{}\n", pki.block("server", ", verify: true, timeout: 2"));
    let mut results = Vec::new();
    for (name, b) in binaries() {
        let (s, _d) = start_conf(&b, &conf);
        let port = s.client_port;
        let rt = rt();
        let mut out = Vec::new();
        for client in [
            Some("client"),
            None,
            Some("client-other"),
            Some("client-expired"),
            Some("client"),
        ] {
            let (info, outcome, _) =
                rt.block_on(probe(port, client_config(&pki, client, "ca"), CONNECT));
            assert_eq!(info["tls_required"], true, "{name}");
            assert_eq!(info["tls_verify"], true, "{name}");
            out.push(match outcome {
                Outcome::Pong(t) => format!("pong {t:?}"),
                Outcome::Refused(_) => "refused".to_string(),
            });
        }
        assert_eq!(
            out,
            ["pong \"\"", "refused", "refused", "refused", "pong \"\""],
            "{name}"
        );
        assert!(
            s.wait_log(
                "TLS handshake error: tls: client didn't provide a certificate",
                T
            ),
            "{name}: {}",
            s.log()
        );
        assert!(
            s.wait_log("certificate signed by unknown authority", T),
            "{name}"
        );
        assert!(
            s.wait_log("certificate has expired or is not yet valid", T),
            "{name}"
        );
        results.push(out);
    }
    if results.len() == 2 {
        assert_eq!(results[0], results[1]);
    }
}

/// A client that answers the INFO in plain text is closed without a word (Go's
/// `tls: first record does not look like a TLS handshake`); one that never starts the
/// handshake is closed after `timeout`.
#[test]
fn plain_text_and_stalled_clients_are_closed_like_go() {
    let pki = Pki::new();
    let conf = format!("{}\n", pki.block("server", ", timeout: 0.5"));
    for (name, b) in binaries() {
        let (s, _d) = start_conf(&b, &conf);
        let addr = s.addr();
        let mut r = common::Raw::connect(&addr);
        r.expect(r#"^INFO \{.*"tls_required":true.*\} ?\r\n"#);
        r.send(CONNECT);
        assert!(r.closed_within(T), "{name}");
        assert_eq!(r.buffered(), "", "{name}: nothing after INFO");
        assert!(
            s.wait_log(
                "TLS handshake error: tls: first record does not look like a TLS handshake",
                T
            ),
            "{name}: {}",
            s.log()
        );

        let mut r = common::Raw::connect(&addr);
        r.expect(r"^INFO .*\r\n");
        let t0 = Instant::now();
        assert!(r.closed_within(T), "{name}");
        let took = t0.elapsed();
        assert!(
            took >= Duration::from_millis(400) && took < Duration::from_secs(3),
            "{name}: closed after {took:?}"
        );
        // Go races its read deadline against its handshake timer: either line may come.
        assert!(
            testkit::wait_for(T, || {
                let l = s.log();
                l.contains("TLS handshake timeout") || l.contains("i/o timeout")
            }),
            "{name}: {}",
            s.log()
        );

        // The server carries on.
        let rt = rt();
        let (_, outcome, _) = rt.block_on(probe(
            s.client_port,
            client_config(&pki, None, "ca"),
            CONNECT,
        ));
        assert_eq!(outcome, Outcome::Pong(String::new()), "{name}");
    }
}

/// A real client (async-nats over rustls, `require_tls`, the CA as root, a client
/// certificate) publishes and subscribes over TLS.
#[test]
fn async_nats_over_tls() {
    let pki = Pki::new();
    let conf = format!("{}\n", pki.block("server", ", verify: true"));
    for (name, b) in binaries() {
        let (s, _d) = start_conf(&b, &conf);
        let url = format!("tls://127.0.0.1:{}", s.client_port);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let nc = async_nats::ConnectOptions::new()
                .require_tls(true)
                .add_root_certificates(pki.cert("ca"))
                .add_client_certificate(pki.cert("client"), pki.key("client"))
                .connect(&url)
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let mut sub = nc.subscribe("tls.>").await.unwrap();
            nc.flush().await.unwrap();
            let big = vec![b'x'; 300_000];
            for i in 0..100 {
                let payload = if i == 50 {
                    big.clone()
                } else {
                    format!("m{i}").into_bytes()
                };
                nc.publish(format!("tls.{i}"), payload.into())
                    .await
                    .unwrap();
            }
            nc.flush().await.unwrap();
            use futures::StreamExt;
            for i in 0..100 {
                let m = tokio::time::timeout(T, sub.next()).await.unwrap().unwrap();
                assert_eq!(m.subject.as_str(), format!("tls.{i}"), "{name}");
                if i == 50 {
                    assert_eq!(m.payload.len(), 300_000);
                }
            }
            // Without a client certificate the connection is refused.
            let refused = async_nats::ConnectOptions::new()
                .require_tls(true)
                .add_root_certificates(pki.cert("ca"))
                .connect(&url)
                .await;
            assert!(refused.is_err(), "{name}");
        });
    }
}

/// verify_and_map: the certificate's e-mail SAN or subject names the user, whose
/// permissions apply; a certificate naming no user is an authorization violation.
#[test]
fn verify_and_map_like_go() {
    let pki = Pki::new();
    let conf = format!(
        "{}\nauthorization {{ users = [
            {{user: \"app@example.com\", permissions: {{publish: \"ok.>\", subscribe: \">\"}}}}
            {{user: \"OU=NATS.io,CN=svc\", permissions: {{publish: \"svc.>\"}}}}
        ] }}\n",
        pki.block("server", ", verify_and_map: true")
    );
    let mut results = Vec::new();
    for (name, b) in binaries() {
        let (s, _d) = start_conf(&b, &conf);
        let rt = rt();
        let ops = "CONNECT {\"verbose\":false}\r\nPUB ok.1 0\r\n\r\nPUB no 0\r\n\r\nPUB svc.1 0\r\n\r\nPING\r\n";
        let mut out = Vec::new();
        for client in ["client", "client-dn", "client-nobody"] {
            let (info, outcome, _) = rt.block_on(probe(
                s.client_port,
                client_config(&pki, Some(client), "ca"),
                ops,
            ));
            assert_eq!(info["auth_required"], true);
            out.push(format!("{client}: {outcome:?}"));
        }
        assert!(s.wait_log("authentication error", T), "{name}: {}", s.log());
        results.push(out);
    }
    let want = [
        "client: Pong(\"-ERR 'Permissions Violation for Publish to \\\"no\\\"'\\r\\n-ERR 'Permissions Violation for Publish to \\\"svc.1\\\"'\\r\\n\")",
        "client-dn: Pong(\"-ERR 'Permissions Violation for Publish to \\\"ok.1\\\"'\\r\\n-ERR 'Permissions Violation for Publish to \\\"no\\\"'\\r\\n\")",
        "client-nobody: Refused(\"-ERR 'Authorization Violation'\\r\\n\")",
    ];
    for r in &results {
        assert_eq!(r, &want);
    }
}

/// pinned_certs: only the listed client key gets in.
#[test]
fn pinned_certs() {
    let pki = Pki::new();
    let der = rustls_pemfile_certs(&std::fs::read(pki.cert("client")).unwrap());
    let spki = nats_server::tls::x509::spki_sha256_hex(&der[0]).unwrap();
    assert_eq!(spki.len(), 64);
    let conf = format!(
        "{}\n",
        pki.block(
            "server",
            &format!(", verify: true, pinned_certs: [\"{spki}\"]")
        )
    );
    for (name, b) in binaries() {
        let (s, _d) = start_conf(&b, &conf);
        let rt = rt();
        let (_, ok, _) = rt.block_on(probe(
            s.client_port,
            client_config(&pki, Some("client"), "ca"),
            CONNECT,
        ));
        assert_eq!(ok, Outcome::Pong(String::new()), "{name}");
        let (_, refused, _) = rt.block_on(probe(
            s.client_port,
            client_config(&pki, Some("client-dn"), "ca"),
            CONNECT,
        ));
        assert!(
            matches!(refused, Outcome::Refused(_)),
            "{name}: {refused:?}"
        );
        assert!(
            s.wait_log("certificate not pinned", T),
            "{name}: {}",
            s.log()
        );
    }
}

/// A reload re-reads the certificate files: connected clients stay, new handshakes get
/// the new certificate.
#[test]
fn reload_swaps_the_certificate_without_dropping_clients() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::copy(pki.cert("server"), &cert).unwrap();
    std::fs::copy(pki.key("server"), &key).unwrap();
    let conf = format!("tls {{ cert_file: {cert:?}, key_file: {key:?} }}\n");
    for (name, b) in binaries() {
        std::fs::copy(pki.cert("server"), &cert).unwrap();
        std::fs::copy(pki.key("server"), &key).unwrap();
        let (s, _d) = start_conf(&b, &conf);
        let rt = rt();
        rt.block_on(async {
            let old_der =
                rustls_pemfile_certs(&std::fs::read(pki.cert("server")).unwrap())[0].to_vec();
            let new_der =
                rustls_pemfile_certs(&std::fs::read(pki.cert("server-new")).unwrap())[0].to_vec();
            // A client that stays connected across the reload.
            let tcp = TcpStream::connect(("127.0.0.1", s.client_port))
                .await
                .unwrap();
            let mut r = BufReader::new(tcp);
            let mut line = String::new();
            r.read_line(&mut line).await.unwrap();
            let conn = tokio_rustls::TlsConnector::from(client_config(&pki, None, "ca"));
            let mut c = conn
                .connect(ServerName::try_from("localhost").unwrap(), r.into_inner())
                .await
                .unwrap();
            assert_eq!(
                c.get_ref().1.peer_certificates().unwrap()[0].as_ref(),
                &old_der[..]
            );
            c.write_all(CONNECT.as_bytes()).await.unwrap();
            read_until(&mut c, "PONG\r\n").await;

            std::fs::copy(pki.cert("server-new"), &cert).unwrap();
            std::fs::copy(pki.key("server-new"), &key).unwrap();
            let before = s.log_count("Reloaded server configuration");
            s.signal("HUP");
            assert!(
                testkit::wait_for(T, || s.log_count("Reloaded server configuration") > before),
                "{name}: {}",
                s.log()
            );

            let (_, outcome, der) =
                probe(s.client_port, client_config(&pki, None, "ca"), CONNECT).await;
            assert_eq!(outcome, Outcome::Pong(String::new()), "{name}");
            assert_eq!(
                der.unwrap(),
                new_der,
                "{name}: new handshakes use the new certificate"
            );
            c.write_all(b"PING\r\n").await.unwrap();
            read_until(&mut c, "PONG\r\n").await;
        });
    }
}

async fn read_until<S: tokio::io::AsyncRead + Unpin>(s: &mut S, needle: &str) -> String {
    let mut got = Vec::new();
    while !String::from_utf8_lossy(&got).contains(needle) {
        let mut b = [0u8; 1024];
        let n = tokio::time::timeout(T, s.read(&mut b))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "closed: {:?}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&b[..n]);
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// Config errors name the bad entry, with Go's words where Go has them.
#[test]
fn config_errors_like_go() {
    let pki = Pki::new();
    for (extra, want) in [
        (
            ", cipher_suites: [\"TLS_NOPE\"]",
            "unrecognized cipher TLS_NOPE",
        ),
        (
            ", curve_preferences: [\"CurveNope\"]",
            "unrecognized curve preference CurveNope",
        ),
        (
            ", nope: true",
            "error parsing tls config, unknown field [\"nope\"]",
        ),
    ] {
        let conf = format!("{}\n", pki.block("server", extra));
        for (name, b) in binaries() {
            let (_d, path) = common::config(&conf);
            let out = std::process::Command::new(&b)
                .args(["-t", "-c", &path])
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stderr).into_owned()
                + &String::from_utf8_lossy(&out.stdout);
            assert!(!out.status.success(), "{name}: {text}");
            assert!(text.contains(want), "{name}: {text}");
        }
    }
    // Names Go knows that rustls does not implement are refused, not dropped.
    let conf = format!(
        "{}\n",
        pki.block(
            "server",
            ", cipher_suites: [\"TLS_RSA_WITH_AES_128_CBC_SHA\"]"
        )
    );
    let (_d, path) = common::config(&conf);
    let out = std::process::Command::new(bin())
        .args(["-t", "-c", &path])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not supported by this server"));
}

/// `--tls --tlscert --tlskey --tlscacert --tlsverify` configure client TLS as the block
/// does.
#[test]
fn tls_flags() {
    let pki = Pki::new();
    let (c, k, ca) = (pki.cert("server"), pki.key("server"), pki.cert("ca"));
    let args = [
        "--tls",
        "--tlscert",
        c.to_str().unwrap(),
        "--tlskey",
        k.to_str().unwrap(),
        "--tlscacert",
        ca.to_str().unwrap(),
        "--tlsverify",
    ];
    for (name, b) in binaries() {
        let s = ServerProcess::start(&b, &args);
        let rt = rt();
        let (info, ok, _) = rt.block_on(probe(
            s.client_port,
            client_config(&pki, Some("client"), "ca"),
            CONNECT,
        ));
        assert_eq!(info["tls_verify"], true, "{name}");
        assert_eq!(ok, Outcome::Pong(String::new()), "{name}");
        let (_, refused, _) = rt.block_on(probe(
            s.client_port,
            client_config(&pki, None, "ca"),
            CONNECT,
        ));
        assert!(matches!(refused, Outcome::Refused(_)), "{name}");
    }
}

/// HTTPS monitoring with the client block's certificate.
#[test]
fn https_monitoring() {
    let pki = Pki::new();
    let conf = format!(
        "{}\nhttps: \"127.0.0.1:-1\"\n",
        pki.block("server", ", verify: true")
    );
    for (name, b) in binaries() {
        let (s, _d) = start_conf(&b, &conf);
        let port = s.http_port.expect("monitoring port");
        assert!(s.log().contains("Starting https monitor on"), "{name}");
        let rt = rt();
        let body = rt.block_on(async {
            let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            // No client certificate needed for monitoring, even with `verify`.
            let conn = tokio_rustls::TlsConnector::from(client_config(&pki, None, "ca"));
            let mut c = conn
                .connect(ServerName::try_from("localhost").unwrap(), tcp)
                .await
                .unwrap();
            c.write_all(b"GET /varz HTTP/1.0\r\nHost: localhost\r\n\r\n")
                .await
                .unwrap();
            let mut out = Vec::new();
            let _ = tokio::time::timeout(T, c.read_to_end(&mut out)).await;
            String::from_utf8_lossy(&out).into_owned()
        });
        assert!(
            body.starts_with("HTTP/1.1 200") || body.starts_with("HTTP/1.0 200"),
            "{name}: {body}"
        );
        assert!(body.contains("\"https_port\""), "{name}: {body}");
    }
}

/// Routes with mutual TLS: ours and Go 2.9.10 form one cluster in both roles (ours
/// accepts Go's dial, ours dials Go) and route messages; a node whose certificate is from
/// another CA cannot join.
#[test]
fn route_tls_mixed_cluster_with_go() {
    let go = testkit::require_go_server();
    let pki = Pki::new();
    let cluster = |name: &str, cert: &str, routes: &str| {
        format!(
            "server_name: {name}\ncluster {{ name: c, listen: \"127.0.0.1:-1\"\n{routes}\n{} }}\n",
            pki.block(cert, ", timeout: 2")
        )
    };
    let (a, _da) = start_conf(&bin(), &cluster("ours-a", "server", ""));
    let route_a = format!("routes: [\"nats://127.0.0.1:{}\"]", a.cluster_port.unwrap());
    let (g, _dg) = start_conf(&go, &cluster("go-b", "server", &route_a));
    let route_g = format!("routes: [\"nats://localhost:{}\"]", g.cluster_port.unwrap());
    let (c, _dc) = start_conf(&bin(), &cluster("ours-c", "server", &route_g));
    assert!(
        common::wait_full_mesh(&[&a, &g, &c], Duration::from_secs(10)),
        "A:\n{}\nG:\n{}\nC:\n{}",
        a.log(),
        g.log(),
        c.log()
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use futures::StreamExt;
        let sub_c = async_nats::connect(c.url()).await.unwrap();
        let mut s = sub_c.subscribe("r.>").await.unwrap();
        sub_c.flush().await.unwrap();
        let sub_g = async_nats::connect(g.url()).await.unwrap();
        let mut sg = sub_g.subscribe("r.>").await.unwrap();
        sub_g.flush().await.unwrap();
        for srv in [&a, &g] {
            let pc = async_nats::connect(srv.url()).await.unwrap();
            // Interest travels over the routes; publish until it arrives.
            let deadline = Instant::now() + T;
            loop {
                pc.publish("r.x", "hi".into()).await.unwrap();
                pc.flush().await.unwrap();
                if let Ok(Some(m)) =
                    tokio::time::timeout(Duration::from_millis(200), s.next()).await
                {
                    assert_eq!(&m.payload[..], b"hi");
                    break;
                }
                assert!(Instant::now() < deadline, "no message via TLS routes");
            }
        }
        // From ours (A) to Go (G).
        let pa = async_nats::connect(a.url()).await.unwrap();
        pa.publish("r.y", "to-go".into()).await.unwrap();
        pa.flush().await.unwrap();
        let deadline = Instant::now() + T;
        loop {
            let m = tokio::time::timeout(T, sg.next()).await.unwrap().unwrap();
            if &m.payload[..] == b"to-go" {
                break;
            }
            assert!(Instant::now() < deadline);
        }
    });
    // A node with a certificate from another CA cannot join.
    let (x, _dx) = start_conf(
        &bin(),
        &cluster(
            "intruder",
            "server-other",
            &route_a.replace("127.0.0.1", "localhost"),
        ),
    );
    assert!(a.wait_log("TLS route handshake error", T), "{}", a.log());
    let _ = &x;
    std::thread::sleep(Duration::from_millis(300));
    assert!(!common::connect_urls(&a.addr()).contains(&x.addr()));
}
