//! TLS for clients, routes and HTTPS monitoring, with rustls (ring provider), configured
//! as nats-server 2.9.10's `tls {}` blocks are.
//!
//! * [`build`] turns a parsed [`TlsOpts`] into rustls configurations: the certificate and
//!   key, the CA file (client CAs when verifying clients; roots when dialling routes), the
//!   TLS 1.2 cipher suites and key-exchange groups named with Go's names, TLS 1.2 and 1.3
//!   only (Go's `MinVersion: tls.VersionTLS12`). It is called when the config is parsed
//!   (to report errors at the `tls` key, as Go's `GenTLSConfig` does), at start, and on
//!   every reload (certificates are read again, so new handshakes use new files).
//! * [`transport`] is the connection side: the handshake, and the read and write halves
//!   that the read loop and the writer use for plain TCP and TLS alike.
//! * [`x509`] reads what verify_and_map and pinned_certs need from a peer certificate.
//!
//! Invariants: an unknown cipher-suite or curve name is an error naming it (Go's
//! `unrecognized cipher X`), and so is a name Go knows but rustls does not implement (CBC,
//! RC4, 3DES, static-RSA suites, `CurveP521`): nothing in a `tls {}` block is silently
//! dropped.

pub mod transport;
pub mod x509;

use std::sync::Arc;

use rustls::crypto::ring as provider;
use rustls::crypto::{CryptoProvider, SupportedKxGroup};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{RootCertStore, SupportedCipherSuite};

use crate::options::TlsOpts;

/// nats-server's `TLS_TIMEOUT`: 2 seconds for a handshake.
pub const DEFAULT_TLS_TIMEOUT: f64 = 2.0;

/// The rustls side of one `tls {}` block.
pub struct Tls {
    /// For accepting (client port, route port, HTTPS).
    pub server: Arc<rustls::ServerConfig>,
    /// For HTTPS monitoring: the same, never asking for client certificates.
    pub https: Arc<rustls::ServerConfig>,
    /// For dialling (routes): present our certificate, verify the peer against `ca_file`.
    pub client: Arc<rustls::ClientConfig>,
    /// `pinned_certs`: hex SHA-256 of accepted peers' SubjectPublicKeyInfo (lower case).
    pub pinned: Vec<String>,
    /// `verify` (or implied by verify_and_map, or forced on routes).
    pub verify: bool,
    /// `verify_and_map`.
    pub map: bool,
    pub timeout: std::time::Duration,
}

/// Go's cipher-suite names (crypto/tls constants as nats-server lists them) and what
/// rustls offers for each. `None`: a suite Go knows that rustls does not implement.
fn cipher_by_go_name(name: &str) -> Option<Option<SupportedCipherSuite>> {
    use provider::cipher_suite as cs;
    Some(match name {
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" => {
            Some(cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)
        }
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" => Some(cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256),
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" => {
            Some(cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384)
        }
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" => Some(cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384),
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305" => {
            Some(cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256)
        }
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305" => {
            Some(cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256)
        }
        "TLS_AES_128_GCM_SHA256" => Some(cs::TLS13_AES_128_GCM_SHA256),
        "TLS_AES_256_GCM_SHA384" => Some(cs::TLS13_AES_256_GCM_SHA384),
        "TLS_CHACHA20_POLY1305_SHA256" => Some(cs::TLS13_CHACHA20_POLY1305_SHA256),
        "TLS_RSA_WITH_RC4_128_SHA"
        | "TLS_RSA_WITH_3DES_EDE_CBC_SHA"
        | "TLS_RSA_WITH_AES_128_CBC_SHA"
        | "TLS_RSA_WITH_AES_128_CBC_SHA256"
        | "TLS_RSA_WITH_AES_256_CBC_SHA"
        | "TLS_RSA_WITH_AES_256_GCM_SHA384"
        | "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA"
        | "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"
        | "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"
        | "TLS_ECDHE_RSA_WITH_RC4_128_SHA"
        | "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"
        | "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"
        | "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"
        | "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"
        | "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA" => None,
        _ => return None,
    })
}

/// Check one `cipher_suites` entry (config parsing): Go's error for unknown names, ours
/// for names rustls does not implement.
pub fn check_cipher(name: &str) -> Result<(), String> {
    match cipher_by_go_name(name) {
        Some(Some(_)) => Ok(()),
        Some(None) => Err(format!(
            "cipher suite {name} is not supported by this server (rustls implements only the ECDHE AEAD suites: \
             TLS_ECDHE_{{ECDSA,RSA}}_WITH_{{AES_128_GCM_SHA256,AES_256_GCM_SHA384,CHACHA20_POLY1305}})"
        )),
        None => Err(format!("unrecognized cipher {name}")),
    }
}

fn curve_by_go_name(name: &str) -> Option<Option<&'static dyn SupportedKxGroup>> {
    Some(match name {
        "X25519" => Some(provider::kx_group::X25519),
        "CurveP256" => Some(provider::kx_group::SECP256R1),
        "CurveP384" => Some(provider::kx_group::SECP384R1),
        "CurveP521" => None,
        _ => return None,
    })
}

/// Check one `curve_preferences` entry.
pub fn check_curve(name: &str) -> Result<(), String> {
    match curve_by_go_name(name) {
        Some(Some(_)) => Ok(()),
        Some(None) => Err(format!(
            "curve preference {name} is not supported by this server (rustls implements X25519, CurveP256 and CurveP384)"
        )),
        None => Err(format!("unrecognized curve preference {name}")),
    }
}

/// The crypto provider for a block: TLS 1.3 suites always (Go enables them whatever
/// `cipher_suites` says), the configured TLS 1.2 suites (default: Go's six ECDHE AEAD
/// suites, which are exactly rustls's), the configured groups in order.
fn provider_for(o: &TlsOpts) -> Result<Arc<CryptoProvider>, String> {
    use provider::cipher_suite as cs;
    let mut p = provider::default_provider();
    // Go's preference order: TLS 1.3 AES-128 first, then its default TLS 1.2 list.
    let mut suites = vec![
        cs::TLS13_AES_128_GCM_SHA256,
        cs::TLS13_AES_256_GCM_SHA384,
        cs::TLS13_CHACHA20_POLY1305_SHA256,
    ];
    let defaults = [
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    ];
    let names: Vec<&str> = if o.ciphers.is_empty() {
        defaults.to_vec()
    } else {
        o.ciphers.iter().map(String::as_str).collect()
    };
    for name in names {
        check_cipher(name)?;
        if let Some(Some(s)) = cipher_by_go_name(name) {
            if s.version() == &rustls::version::TLS12 && !suites.contains(&s) {
                suites.push(s);
            }
        }
    }
    p.cipher_suites = suites;
    if !o.curves.is_empty() {
        let mut groups: Vec<&'static dyn SupportedKxGroup> = Vec::new();
        for name in &o.curves {
            check_curve(name)?;
            if let Some(Some(g)) = curve_by_go_name(name) {
                if !groups.iter().any(|x| x.name() == g.name()) {
                    groups.push(g);
                }
            }
        }
        p.kx_groups = groups;
    }
    Ok(Arc::new(p))
}

fn load_certs(path: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let data = std::fs::read(path).map_err(|e| format!("open {path}: {}", io_text(&e)))?;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&data)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("error parsing certificates in {path}: {e}"))?;
    if certs.is_empty() {
        return Err(format!("no certificate found in {path}"));
    }
    Ok(certs)
}

fn load_roots(path: &str) -> Result<RootCertStore, String> {
    let data = std::fs::read(path).map_err(|e| format!("open {path}: {}", io_text(&e)))?;
    let mut roots = RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(&data) {
        let c = c.map_err(|_| "failed to parse root ca certificate".to_string())?;
        roots
            .add(c)
            .map_err(|_| "failed to parse root ca certificate".to_string())?;
    }
    if roots.is_empty() {
        return Err("failed to parse root ca certificate".into());
    }
    Ok(roots)
}

/// The certificate chain and private key of a block (both files named), with Go's
/// `error parsing X509 certificate/key pair: …` texts.
fn load_pair(
    o: &TlsOpts,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
    let certs = load_certs(&o.cert_file)
        .map_err(|e| format!("error parsing X509 certificate/key pair: {e}"))?;
    let key_data = std::fs::read(&o.key_file).map_err(|e| {
        format!(
            "error parsing X509 certificate/key pair: open {}: {}",
            o.key_file,
            io_text(&e)
        )
    })?;
    let key = PrivateKeyDer::from_pem_slice(&key_data).map_err(|_| {
        "error parsing X509 certificate/key pair: tls: failed to find any PEM data in key input"
            .to_string()
    })?;
    Ok((certs, key))
}

/// The client side of `resolver_tls {}` (nats-server's `AccountResolverTLSConfig`, the
/// URL resolver's HTTPS client): `ca_file` replaces the system's roots, `cert_file` and
/// `key_file` (both or neither) are the client certificate offered, `insecure` skips the
/// check of the account server's certificate, `cipher_suites` and `curve_preferences`
/// as in any block. The server-side fields (`verify`, `verify_and_map`, `timeout`,
/// `pinned_certs`, `connection_rate_limit`) play no part, as in Go.
pub fn resolver_client(o: &TlsOpts) -> Result<Arc<rustls::ClientConfig>, String> {
    let pair = match (o.cert_file.is_empty(), o.key_file.is_empty()) {
        (false, true) => return Err("missing 'key_file' in TLS configuration".into()),
        (true, false) => return Err("missing 'cert_file' in TLS configuration".into()),
        (true, true) => None,
        (false, false) => Some(load_pair(o)?),
    };
    let roots = if o.ca_file.is_empty() {
        system_roots()
    } else {
        Arc::new(load_roots(&o.ca_file)?)
    };
    client_config(o, roots, pair)
}

/// The HTTPS client of a URL resolver without `resolver_tls`: the system's roots, no
/// client certificate (Go's default transport). Built once per process, as Go loads its
/// system pool once.
pub fn default_https_client() -> Result<Arc<rustls::ClientConfig>, String> {
    static CONFIG: std::sync::OnceLock<Arc<rustls::ClientConfig>> = std::sync::OnceLock::new();
    if let Some(c) = CONFIG.get() {
        return Ok(c.clone());
    }
    let c = client_config(&TlsOpts::default(), system_roots(), None)?;
    Ok(CONFIG.get_or_init(|| c).clone())
}

fn client_config(
    o: &TlsOpts,
    roots: Arc<RootCertStore>,
    pair: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
) -> Result<Arc<rustls::ClientConfig>, String> {
    let p = provider_for(o)?;
    let cb = rustls::ClientConfig::builder_with_provider(p.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| format!("TLS configuration: {e}"))?;
    let cb = if o.insecure {
        cb.dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(p)))
    } else {
        cb.with_root_certificates(roots)
    };
    let config = match pair {
        Some((certs, key)) => cb
            .with_client_auth_cert(certs, key)
            .map_err(|e| format!("error parsing X509 certificate/key pair: {e}"))?,
        None => cb.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// The system's roots as Go's `x509.SystemCertPool` finds them on Linux: the bundle
/// named by `SSL_CERT_FILE`, else the first of the usual bundle files that exists, plus
/// the certificates in the directories of `SSL_CERT_DIR` (colon-separated) when set.
/// Unparsable entries are skipped and a missing file gives no roots (then every
/// certificate is of an unknown authority), as in Go. Read once per process.
pub fn system_roots() -> Arc<RootCertStore> {
    static ROOTS: std::sync::OnceLock<Arc<RootCertStore>> = std::sync::OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let mut roots = RootCertStore::empty();
            let mut add = |data: &[u8]| {
                for c in CertificateDer::pem_slice_iter(data).flatten() {
                    let _ = roots.add(c);
                }
            };
            let files: Vec<String> = match std::env::var("SSL_CERT_FILE") {
                Ok(f) if !f.is_empty() => vec![f],
                _ => [
                    "/etc/ssl/certs/ca-certificates.crt",
                    "/etc/pki/tls/certs/ca-bundle.crt",
                    "/etc/ssl/ca-bundle.pem",
                    "/etc/pki/tls/cacert.pem",
                    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
                    "/etc/ssl/cert.pem",
                ]
                .map(String::from)
                .to_vec(),
            };
            if let Some(data) = files.iter().find_map(|f| std::fs::read(f).ok()) {
                add(&data);
            }
            if let Ok(dirs) = std::env::var("SSL_CERT_DIR") {
                for dir in dirs.split(':').filter(|d| !d.is_empty()) {
                    let Ok(entries) = std::fs::read_dir(dir) else {
                        continue;
                    };
                    for entry in entries.flatten() {
                        if let Ok(data) = std::fs::read(entry.path()) {
                            add(&data);
                        }
                    }
                }
            }
            Arc::new(roots)
        })
        .clone()
}

/// Build the rustls configurations for a `tls {}` block. `route`: a cluster block, where
/// nats-server forces mutual verification (`ClientAuth = RequireAndVerifyClientCert`,
/// `RootCAs = ClientCAs`).
pub fn build(o: &TlsOpts, route: bool) -> Result<Tls, String> {
    match (o.cert_file.is_empty(), o.key_file.is_empty()) {
        (false, true) => return Err("missing 'key_file' in TLS configuration".into()),
        (true, false) => return Err("missing 'cert_file' in TLS configuration".into()),
        (true, true) => {
            return Err(
                "missing 'cert_file' and 'key_file' in TLS configuration (this server needs a certificate to serve TLS)"
                    .into(),
            )
        }
        _ => {}
    }
    let verify = o.verify || o.map || route;
    let (certs, key) = load_pair(o)?;
    let roots = if o.ca_file.is_empty() {
        None
    } else {
        Some(Arc::new(load_roots(&o.ca_file)?))
    };
    if verify && roots.is_none() {
        return Err(
            "verifying peer certificates needs a 'ca_file' (this server does not use the system's roots)"
                .into(),
        );
    }
    let p = provider_for(o)?;
    let versions = &[&rustls::version::TLS13, &rustls::version::TLS12];
    let sb = rustls::ServerConfig::builder_with_provider(p.clone())
        .with_protocol_versions(versions)
        .map_err(|e| format!("TLS configuration: {e}"))?;
    let sb = match (&roots, verify) {
        (Some(r), true) => {
            let v =
                rustls::server::WebPkiClientVerifier::builder_with_provider(r.clone(), p.clone())
                    .build()
                    .map_err(|e| format!("TLS configuration: {e}"))?;
            sb.with_client_cert_verifier(v)
        }
        _ => sb.with_no_client_auth(),
    };
    let finish = |mut c: rustls::ServerConfig| {
        c.ignore_client_order = true; // Go's PreferServerCipherSuites
                                      // No session resumption state to keep: every handshake is a full one, as with
                                      // nats-server (which sets no session cache).
        c.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
        c.send_tls13_tickets = 0;
        Arc::new(c)
    };
    let server = sb
        .with_single_cert(certs.clone(), key.clone_key())
        .map_err(|e| format!("error parsing X509 certificate/key pair: {e}"))?;
    // HTTPS monitoring: the same certificate, no client certificates (Go's
    // `getMonitoringTLSConfig`).
    let https = rustls::ServerConfig::builder_with_provider(p.clone())
        .with_protocol_versions(versions)
        .map_err(|e| format!("TLS configuration: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs.clone(), key.clone_key())
        .map_err(|e| format!("error parsing X509 certificate/key pair: {e}"))?;

    let cb = rustls::ClientConfig::builder_with_provider(p.clone())
        .with_protocol_versions(versions)
        .map_err(|e| format!("TLS configuration: {e}"))?;
    let cb = if o.insecure {
        cb.dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(p.clone())))
    } else {
        let r = roots
            .clone()
            .unwrap_or_else(|| Arc::new(RootCertStore::empty()));
        cb.with_root_certificates(r)
    };
    let client = cb
        .with_client_auth_cert(certs, key)
        .map_err(|e| format!("error parsing X509 certificate/key pair: {e}"))?;
    Ok(Tls {
        server: finish(server),
        https: finish(https),
        client: Arc::new(client),
        pinned: o.pinned_certs.clone(),
        verify,
        map: o.map,
        timeout: crate::options::secs_to_duration(if o.timeout > 0.0 {
            o.timeout
        } else {
            DEFAULT_TLS_TIMEOUT
        }),
    })
}

/// `insecure: true` on a cluster block or in `resolver_tls`: the certificate chain and
/// host name of the dialled peer are not verified (signatures still are, so the
/// handshake is sound).
#[derive(Debug)]
struct NoVerify(Arc<CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The TLS state of a running server: the client block and the cluster block, built at
/// start and rebuilt by every reload (new handshakes take the current one).
#[derive(Default)]
pub struct TlsState {
    pub client: Option<Arc<Tls>>,
    pub route: Option<Arc<Tls>>,
    /// `websocket { tls {} }` (wss).
    pub websocket: Option<Arc<Tls>>,
}

impl TlsState {
    pub fn from_options(o: &crate::options::Options) -> Result<TlsState, String> {
        let client = match &o.tls {
            Some(t) => Some(Arc::new(build(t, false)?)),
            None => None,
        };
        let route = match &o.cluster.tls {
            Some(t) => Some(Arc::new(build(t, true)?)),
            None => None,
        };
        let websocket = match &o.websocket.tls {
            Some(t) if o.websocket.port != 0 => Some(Arc::new(build(t, false)?)),
            _ => None,
        };
        Ok(TlsState {
            client,
            route,
            websocket,
        })
    }
}

/// `verify_and_map`: the user of `authorization { users }` or of an account that the
/// client certificate names (nats-server's `checkClientTLSCertSubject` with the users
/// map: e-mail, DNS and URI SANs, the subject as an LDAP DN in any RDN order, the RDN
/// string with and without domain components), if the password the client sent matches
/// that user's (normally none). A bcrypt password never matches here (no hashing on the
/// reader).
pub fn map_user<'o>(
    opts: &'o crate::options::Options,
    cert: Option<&[u8]>,
    pass: &str,
) -> Option<crate::auth::Authorized<'o>> {
    let cert = cert?;
    let usable = |u: &&crate::options::User| crate::auth::standard_allowed(u);
    let user = x509::map_subject(cert, |name, dn, _| {
        if !name.is_empty() {
            return opts
                .users
                .iter()
                .filter(usable)
                .find(|u| u.username == name);
        }
        let dn = dn?;
        let listed: Vec<_> = opts
            .users
            .iter()
            .filter(usable)
            .filter_map(|u| x509::Dn::parse(&u.username).map(|d| (u, d)))
            .collect();
        listed
            .iter()
            .find(|(_, d)| d == dn)
            .or_else(|| listed.iter().find(|(_, d)| d.matches(dn)))
            .map(|(u, _)| *u)
    })?;
    let ok = if user.password.is_empty() {
        pass.is_empty()
    } else {
        crate::auth::secret_matches_cached(&user.password, pass) == Some(true)
    };
    ok.then(|| crate::auth::Authorized::listed(opts, user))
}

/// Go's `tlsVersion` names, for logs and `/connz`.
pub fn version_name(v: Option<rustls::ProtocolVersion>) -> &'static str {
    match v {
        Some(rustls::ProtocolVersion::TLSv1_2) => "1.2",
        Some(rustls::ProtocolVersion::TLSv1_3) => "1.3",
        _ => "unknown",
    }
}

/// Go's cipher-suite names, for logs and `/connz`.
pub fn cipher_name(s: Option<SupportedCipherSuite>) -> &'static str {
    use rustls::CipherSuite as C;
    match s.map(|s| s.suite()) {
        Some(C::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256) => {
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
        }
        Some(C::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256) => "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        Some(C::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384) => {
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"
        }
        Some(C::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) => "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        Some(C::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256) => {
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305"
        }
        Some(C::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256) => {
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305"
        }
        Some(C::TLS13_AES_128_GCM_SHA256) => "TLS_AES_128_GCM_SHA256",
        Some(C::TLS13_AES_256_GCM_SHA384) => "TLS_AES_256_GCM_SHA384",
        Some(C::TLS13_CHACHA20_POLY1305_SHA256) => "TLS_CHACHA20_POLY1305_SHA256",
        _ => "unknown",
    }
}

/// An I/O error as Go words it: lower-case `strerror` text without Rust's "(os error N)".
fn io_text(e: &std::io::Error) -> String {
    let s = e.to_string();
    let s = s.find(" (os error").map_or(s.as_str(), |i| &s[..i]);
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}
