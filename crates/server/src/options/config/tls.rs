//! `tls {}` blocks (top level, inside `cluster {}` and `websocket {}`) and
//! `resolver_tls {}`, as nats-server 2.9.10's `parseTLS` and `GenTLSConfig` read them,
//! with Go's error texts. The block is also built once here (certificate, key and CA
//! files read, names mapped to rustls) so that a bad file or name is a config error at
//! the block's key, as in Go.

use super::units;
use super::value::{effective, go_quote, Diag};
use crate::options::TlsOpts;
use nats_conf::{Entry, Value};

/// Parse a `tls {}` block. `client`: the top-level block (Go's `isClientCtx`), where
/// `verify_cert_and_check_known_urls` is refused as Go refuses it.
pub(super) fn parse(e: &Entry, d: &mut Diag, client: bool) -> Option<TlsOpts> {
    let t = read(e, d, client, false)?;
    if let Err(msg) = crate::tls::build(&t, !client) {
        d.error(&e.key_pos, msg);
        return None;
    }
    Some(t)
}

/// Parse `resolver_tls {}`: the fields of a `tls {}` block (Go's `parseTLS` in a client
/// context, then `GenTLSConfig`), built as the URL resolver's HTTPS client so that a bad
/// file is an error at the `resolver_tls` key. No certificate is needed (it is the
/// client's, offered when given); the server-side fields are read and play no part.
pub(super) fn parse_resolver(e: &Entry, d: &mut Diag) -> Option<TlsOpts> {
    let t = read(e, d, true, true)?;
    if let Err(msg) = crate::tls::resolver_client(&t) {
        d.error(&e.key_pos, msg);
        return None;
    }
    Some(t)
}

/// The fields of a block, checked one by one with Go's texts. `resolver`: the block is
/// `resolver_tls`, where `connection_rate_limit` and `pinned_certs` have no effect (as in
/// Go) instead of being refused or enforced.
fn read(e: &Entry, d: &mut Diag, client: bool, resolver: bool) -> Option<TlsOpts> {
    let pos = &e.key_pos;
    let m = d.map(pos, &e.item.value)?;
    let mut t = TlsOpts::default();
    let before = d.report.errors.len();
    for f in effective(m) {
        let (fpos, v) = (&f.key_pos, &f.item.value);
        let key = f.key.to_ascii_lowercase();
        let bool_field = |d: &mut Diag, name: &str| -> Option<bool> {
            match v {
                Value::Bool(b) => Some(*b),
                _ => {
                    d.error(
                        fpos,
                        format!("error parsing tls config, expected '{name}' to be a boolean"),
                    );
                    None
                }
            }
        };
        let file_field = |d: &mut Diag, name: &str| -> Option<String> {
            match v {
                Value::String(s) => Some(s.clone()),
                _ => {
                    d.error(
                        fpos,
                        format!("error parsing tls config, expected '{name}' to be filename"),
                    );
                    None
                }
            }
        };
        match key.as_str() {
            "cert_file" => t.cert_file = file_field(d, "cert_file").unwrap_or_default(),
            "key_file" => t.key_file = file_field(d, "key_file").unwrap_or_default(),
            "ca_file" => t.ca_file = file_field(d, "ca_file").unwrap_or_default(),
            "insecure" => t.insecure = bool_field(d, "insecure").unwrap_or(t.insecure),
            "verify" => t.verify = bool_field(d, "verify").unwrap_or(t.verify),
            "verify_and_map" => {
                if let Some(b) = bool_field(d, "verify_and_map") {
                    if b {
                        t.verify = true;
                    }
                    t.map = b;
                }
            }
            "verify_cert_and_check_known_urls" => {
                if let Some(b) = bool_field(d, "verify_cert_and_check_known_urls") {
                    if b && client {
                        d.error(
                            fpos,
                            "verify_cert_and_check_known_urls not supported in this context",
                        );
                    } else if b {
                        d.error(
                            fpos,
                            "verify_cert_and_check_known_urls is not supported by this server; refusing to run without enforcing it",
                        );
                    }
                }
            }
            "cipher_suites" | "curve_preferences" => {
                let Value::Array(items) = v else {
                    d.error(
                        fpos,
                        format!(
                            "interface conversion: interface {{}} is {}, not []interface {{}}",
                            super::value::go_type(v)
                        ),
                    );
                    continue;
                };
                if items.is_empty() {
                    d.error(
                        fpos,
                        format!("error parsing tls config, '{key}' cannot be empty"),
                    );
                    continue;
                }
                for it in items {
                    let Value::String(name) = &it.value else {
                        d.error(&it.pos, "error parsing tls config, expected a string");
                        continue;
                    };
                    let res = if key == "cipher_suites" {
                        crate::tls::check_cipher(name)
                    } else {
                        crate::tls::check_curve(name)
                    };
                    match res {
                        Ok(()) if key == "cipher_suites" => t.ciphers.push(name.clone()),
                        Ok(()) => t.curves.push(name.clone()),
                        Err(msg) => d.error(&it.pos, msg),
                    }
                }
            }
            "timeout" => match v {
                Value::Int(i) => t.timeout = *i as f64,
                Value::Float(x) => t.timeout = *x,
                Value::String(s) => match units::parse_go_duration(s) {
                    Ok(n) => t.timeout = n as f64 / 1e9,
                    Err(err) => d.error(
                        fpos,
                        format!("error parsing tls config, 'timeout' {err}"),
                    ),
                },
                _ => d.error(fpos, "error parsing tls config, 'timeout' wrong type"),
            },
            "connection_rate_limit" => match v {
                Value::Int(_) if resolver => {}
                Value::Int(n) if *n <= 0 => {}
                Value::Int(_) => d.error(
                    fpos,
                    "connection_rate_limit is not supported by this server; refusing to run without enforcing it",
                ),
                _ => d.error(
                    fpos,
                    "error parsing tls config, 'connection_rate_limit' wrong type",
                ),
            },
            "pinned_certs" => {
                let Value::Array(items) = v else {
                    d.error(fpos, "error parsing tls config, expected 'pinned_certs' to be a list of hex-encoded sha256 of DER encoded SubjectPublicKeyInfo");
                    continue;
                };
                for it in items {
                    let entry = match &it.value {
                        Value::String(s) => s.to_ascii_lowercase(),
                        _ => String::new(),
                    };
                    if entry.len() != 64 || !entry.bytes().all(|c| c.is_ascii_hexdigit()) {
                        d.error(&it.pos, format!("error parsing tls config, 'pinned_certs' key {entry} does not look like hex-encoded sha256 of DER encoded SubjectPublicKeyInfo"));
                        continue;
                    }
                    if !t.pinned_certs.contains(&entry) {
                        t.pinned_certs.push(entry);
                    }
                }
                if resolver && !t.pinned_certs.is_empty() {
                    // nats-server checks pinned certificates of clients, routes and
                    // leaf nodes only; the account server's are not checked there either.
                    d.report.unsupported.push(format!(
                        "{fpos}: field \"pinned_certs\" of resolver_tls is ignored (nats-server does not check the account server's certificate against it either)"
                    ));
                }
            }
            "ocsp_peer" | "handshake_first" | "cert_store" | "cert_match" | "cert_match_by"
            | "min_version" | "certs" => d.error(
                fpos,
                format!(
                    "field {} of a tls block is not supported by this server (a newer nats-server option); refusing to run without it",
                    go_quote(&f.key)
                ),
            ),
            _ => d.error(
                fpos,
                format!("error parsing tls config, unknown field [{}]", go_quote(&f.key)),
            ),
        }
    }
    if d.report.errors.len() > before {
        return None;
    }
    Some(t)
}
