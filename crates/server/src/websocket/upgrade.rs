//! The HTTP/1.1 upgrade (RFC 6455 section 4.2), sans-I/O: parse a request head, decide
//! as nats-server 2.9.10's `wsUpgrade` (behind Go's `net/http` server) decides, and write
//! its answers byte for byte (status lines, header order, bodies), so that clients and
//! proxies see the same thing from both servers.
//!
//! Invariants: nothing here panics on input; a request head larger than Go's limit
//! (1 MiB + 4 KiB) is refused with 431 before more is buffered.

use std::net::IpAddr;

use base64::Engine;
use sha1_smol::Sha1;

/// Go's `http.DefaultMaxHeaderBytes` plus the 4 KiB of slack its server allows.
pub const MAX_HEAD: usize = (1 << 20) + 4096;
const MAX_HEADERS: usize = 100;
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// A request head, with header names kept as sent (compared case-insensitively).
#[derive(Debug, Default)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// HTTP/1.0 (Go answers in kind and closes).
    pub http10: bool,
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// All values of a header (Go's `Header[name]`).
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first value, or "" (Go's `Header.Get`).
    pub fn get<'a>(&'a self, name: &'a str) -> &'a str {
        self.values(name).next().unwrap_or("")
    }

    /// A header with a comma-separated token equal to `token`, ignoring case.
    fn contains(&self, name: &str, token: &str) -> bool {
        self.values(name)
            .flat_map(|v| v.split(','))
            .any(|t| t.trim_matches([' ', '\t']).eq_ignore_ascii_case(token))
    }

    fn wants_close(&self) -> bool {
        self.http10 || self.contains("Connection", "close")
    }
}

#[derive(Debug)]
pub enum Parsed {
    /// More bytes are needed.
    Partial,
    /// A request head of this many bytes.
    Complete(Request, usize),
    /// Not HTTP: Go's server answers a bare 400 and closes.
    Malformed,
    TooLarge,
}

pub fn parse(buf: &[u8]) -> Parsed {
    let mut hs = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut hs);
    match req.parse(buf) {
        Ok(httparse::Status::Partial) => {
            if buf.len() > MAX_HEAD {
                Parsed::TooLarge
            } else {
                Parsed::Partial
            }
        }
        Ok(httparse::Status::Complete(n)) => {
            if n > MAX_HEAD {
                return Parsed::TooLarge;
            }
            let r = Request {
                method: req.method.unwrap_or("").to_string(),
                path: req.path.unwrap_or("").to_string(),
                http10: req.version == Some(0),
                headers: req
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_string(),
                            String::from_utf8_lossy(h.value).into_owned(),
                        )
                    })
                    .collect(),
            };
            Parsed::Complete(r, n)
        }
        Err(httparse::Error::TooManyHeaders) => Parsed::TooLarge,
        Err(_) => Parsed::Malformed,
    }
}

/// The listener's origin policy (`same_origin`, `allowed_origins`), prepared once.
#[derive(Debug, Default, Clone)]
pub struct OriginPolicy {
    pub same_origin: bool,
    /// host (lower case) -> (scheme, port)
    pub allowed: Vec<(String, String, String)>,
}

impl OriginPolicy {
    pub fn new(same_origin: bool, allowed: &[String]) -> OriginPolicy {
        let allowed = allowed
            .iter()
            .filter_map(|o| {
                let u = url::Url::parse(o).ok()?;
                let (h, p) = host_and_port(u.scheme() == "https", &authority(&u));
                Some((h, u.scheme().to_string(), p))
            })
            .collect();
        OriginPolicy {
            same_origin,
            allowed,
        }
    }

    fn check(&self, req: &Request, tls: bool) -> Result<(), String> {
        if !self.same_origin && self.allowed.is_empty() {
            return Ok(());
        }
        let mut origin = req.get("Origin");
        if origin.is_empty() {
            origin = req.get("Sec-Websocket-Origin");
        }
        // No origin: not a browser, and RFC 6455 says the check is then meaningless.
        if origin.is_empty() {
            return Ok(());
        }
        let u = url::Url::parse(origin)
            .map_err(|_| format!("parse {origin:?}: invalid URI for request"))?;
        let (oh, op) = host_and_port(u.scheme() == "https", &authority(&u));
        if self.same_origin {
            let (rh, rp) = host_and_port(tls, req.get("Host"));
            if oh != rh || op != rp {
                return Err("not same origin".into());
            }
        }
        if !self.allowed.is_empty()
            && !self
                .allowed
                .iter()
                .any(|(h, s, p)| *h == oh && s == u.scheme() && *p == op)
        {
            return Err("not in the allowed list".into());
        }
        Ok(())
    }
}

/// `host[:port]` of a URL as written (Go's `URL.Host`).
fn authority(u: &url::Url) -> String {
    let host = u.host_str().unwrap_or("");
    match u.port() {
        Some(p) => format!("{host}:{p}"),
        // The url crate drops a scheme's default port; Go keeps what was written, and
        // then defaults it the same way, so the comparison is unchanged.
        None => host.to_string(),
    }
}

/// Go's `wsGetHostAndPort`: a missing port is the scheme's default.
fn host_and_port(tls: bool, hostport: &str) -> (String, String) {
    let (h, p) = match crate::options::config::split_host_port(hostport) {
        Ok((h, p)) => (h, p),
        Err(_) => (
            hostport.to_string(),
            if tls { "443" } else { "80" }.to_string(),
        ),
    };
    (h.to_ascii_lowercase(), p)
}

/// What a successful upgrade agreed on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Accepted {
    pub accept_key: String,
    /// `permessage-deflate` negotiated.
    pub compress: bool,
    /// The client asked not to mask its frames (`Nats-No-Masking: true`).
    pub no_masking: bool,
    /// `User-Agent` starts with `Mozilla/`.
    pub browser: bool,
    /// A valid IP in `X-Forwarded-For`.
    pub forwarded_ip: Option<IpAddr>,
    /// The path started with `/leafnode` or `/mqtt`: not a client.
    pub other_kind: Option<&'static str>,
    /// The value of the `jwt_cookie` cookie, used as the user JWT when CONNECT has none.
    pub cookie_jwt: Option<String>,
}

/// Why an upgrade was refused: the HTTP status, the log text, and whether Go's server
/// then closes the connection (otherwise it waits for another request on it).
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    pub status: u16,
    pub reason: String,
    pub close: bool,
}

/// Go's `wsUpgrade` checks, in its order.
pub fn check(
    req: &Request,
    policy: &OriginPolicy,
    compression: bool,
    tls: bool,
) -> Result<Accepted, Rejected> {
    let close = req.wants_close();
    let reject = |status: u16, reason: &str| Rejected {
        status,
        reason: reason.to_string(),
        close,
    };
    let has_host = req.values("Host").next().is_some();
    if !has_host && !req.http10 {
        // Go's HTTP server refuses this before the handler runs.
        return Err(Rejected {
            status: 0,
            reason: "missing required Host header".into(),
            close: true,
        });
    }
    if req.method != "GET" {
        return Err(reject(405, "request method must be GET"));
    }
    if req.get("Host").is_empty() {
        return Err(reject(400, "'Host' missing in request"));
    }
    if !req.contains("Upgrade", "websocket") {
        return Err(reject(400, "invalid value for header 'Upgrade'"));
    }
    if !req.contains("Connection", "Upgrade") {
        return Err(reject(400, "invalid value for header 'Connection'"));
    }
    let key = req.get("Sec-Websocket-Key");
    if key.is_empty() {
        return Err(reject(400, "key missing"));
    }
    if !req.contains("Sec-Websocket-Version", "13") {
        return Err(reject(400, "invalid version"));
    }
    if let Err(e) = policy.check(req, tls) {
        return Err(reject(403, &format!("origin not allowed: {e}")));
    }
    let compress = compression && pmc_offered(req);
    let no_masking = req.get("Nats-No-Masking") == "true";
    let ua = req.get("User-Agent");
    let other_kind = if req.path.starts_with("/leafnode") {
        Some("leafnode")
    } else if req.path.starts_with("/mqtt") {
        Some("mqtt")
    } else {
        None
    };
    Ok(Accepted {
        accept_key: accept_key(key),
        compress,
        no_masking,
        browser: ua.starts_with("Mozilla/"),
        forwarded_ip: req
            .values("X-Forwarded-For")
            .next()
            .and_then(|v| v.parse().ok()),
        other_kind,
        cookie_jwt: None,
    })
}

/// The value of cookie `name` in the request's `Cookie` headers, as Go's
/// `Request.Cookie` finds it (first match; surrounding double quotes removed).
pub fn cookie(req: &Request, name: &str) -> Option<String> {
    req.values("Cookie")
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| {
            let (n, v) = pair.trim_matches([' ', '\t']).split_once('=')?;
            (n == name).then_some(v)
        })
        .map(|v| {
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v);
            v.to_string()
        })
        .next()
}

/// Whether the client offers `permessage-deflate` (its parameters do not matter: we
/// always answer without context takeover, as Go does).
fn pmc_offered(req: &Request) -> bool {
    req.values("Sec-Websocket-Extensions")
        .flat_map(|v| v.split(','))
        .flat_map(|ext| ext.split(';'))
        .any(|p| {
            p.trim_matches([' ', '\t'])
                .eq_ignore_ascii_case("permessage-deflate")
        })
}

pub fn accept_key(key: &str) -> String {
    let mut h = Sha1::new();
    h.update(key.as_bytes());
    h.update(GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(h.digest().bytes())
}

/// The 101 answer.
pub fn switching(a: &Accepted) -> Vec<u8> {
    let mut p = Vec::with_capacity(256);
    p.extend_from_slice(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ",
    );
    p.extend_from_slice(a.accept_key.as_bytes());
    p.extend_from_slice(b"\r\n");
    if a.compress {
        p.extend_from_slice(b"Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n");
    }
    if a.no_masking {
        p.extend_from_slice(b"Nats-No-Masking: true\r\n");
    }
    p.extend_from_slice(b"\r\n");
    p
}

fn status_text(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        403 => "Forbidden",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        _ => "Internal Server Error",
    }
}

/// The answer to a refused upgrade, as Go's `http.Error` writes it (with the date).
pub fn refusal(r: &Rejected, http10: bool, date: &str) -> Vec<u8> {
    if r.status == 0 {
        return server_error_close(400, Some(&r.reason));
    }
    let text = status_text(r.status);
    let mut p = format!(
        "HTTP/1.{} {} {text}\r\nContent-Type: text/plain; charset=utf-8\r\nSec-Websocket-Version: 13\r\nX-Content-Type-Options: nosniff\r\nDate: {date}\r\nContent-Length: {}\r\n",
        if http10 { 0 } else { 1 },
        r.status,
        text.len() + 1,
    );
    if r.close && !http10 {
        p.push_str("Connection: close\r\n");
    }
    p.push_str("\r\n");
    p.push_str(text);
    p.push('\n');
    p.into_bytes()
}

/// What Go's HTTP server answers, and then closes, when the request never reached the
/// handler: malformed (400), head too large (431), no Host (400 with a reason).
pub fn server_error_close(status: u16, reason: Option<&str>) -> Vec<u8> {
    let mut line = format!("{status} {}", status_text(status));
    if let Some(r) = reason {
        line = format!("{line}: {r}");
    }
    format!(
        "HTTP/1.1 {line}\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n{line}"
    )
    .into_bytes()
}

/// An HTTP date (`Sat, 05 Dec 2026 07:02:59 GMT`).
pub fn http_date() -> String {
    chrono::Utc::now()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

#[cfg(test)]
#[path = "upgrade_tests.rs"]
mod tests;
