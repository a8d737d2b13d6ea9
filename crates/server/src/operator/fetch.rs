//! Fetching an account JWT the resolver does not hold (nats-server 2.9.10's
//! `fetchAccount` through `URLAccResolver.Fetch` and `Server.fetch`):
//!
//! - the URL resolver: an HTTP GET of the base URL plus the account key; `200` gives the
//!   JWT (the body), anything else fails with Go's `could not fetch <"url">: …` text;
//! - the `cache` and `full` resolvers, for an account their directory lacks: a request on
//!   `$SYS.REQ.ACCOUNT.<key>.CLAIMS.LOOKUP` in the system account, answered by a `full`
//!   resolver of the cluster; the first answer counts, none within the fetch timeout
//!   fails with `fetching jwt timed out`. A JWT fetched this way is kept in the
//!   directory.
//!
//! A fetched JWT is checked as nats-server's `verifyAccountClaims` does (an account JWT
//! about this key, signed by a trusted key, not expired) before the account is stored.
//! A connecting client whose account must be fetched waits for the fetch off its read
//! loop's ops (see `readbuf::Deferred::Fetch`), then logs in against the result.
//!
//! `https://` URLs are fetched over TLS (tokio-rustls): with `resolver_tls {}` as that
//! block says (its `ca_file` replacing the system's roots, its certificate offered to the
//! account server, `insecure`), else the account server's certificate is checked against
//! the system's roots (see [`crate::tls::system_roots`]). Handshake failures are worded
//! as Go 1.19's crypto/x509 words them (`x509: certificate signed by unknown authority`).

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::OperatorMode;
use crate::jwt;
use crate::server::Server;

/// How a resolver gets an account it does not hold.
#[derive(Debug, Clone)]
pub enum Fetcher {
    /// Ask the cluster (`cache`, `full`).
    Nats { timeout: Duration },
    /// HTTP GET of the base URL plus the key.
    Url(UrlResolver),
}

/// The URL resolver's client: the base URL (ends with `/`) and, with `resolver_tls`, the
/// TLS configuration of its `https://` requests.
#[derive(Debug, Clone)]
pub struct UrlResolver {
    pub base: String,
    /// `resolver_tls`, built; `None`: Go's default transport (the system's roots).
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl UrlResolver {
    /// The resolver of `base` with `resolver_tls` (read again from its files).
    pub fn new(base: &str, tls: Option<&crate::options::TlsOpts>) -> Result<Self, String> {
        let tls = match tls {
            Some(t) => Some(crate::tls::resolver_client(t)?),
            None => None,
        };
        Ok(UrlResolver {
            base: base.to_string(),
            tls,
        })
    }

    /// nats-server's start-up check of a URL resolver: the base URL must answer `200`.
    pub async fn check(&self) -> Result<(), String> {
        self.get(&self.base).await.map(|_| ())
    }

    /// GET `url` within nats-server's fetch timeout: the body of a `200`, else Go's
    /// error text.
    pub async fn get(&self, url: &str) -> Result<String, String> {
        let shown = redact(url);
        let fail = |why: String| format!("could not fetch <{shown:?}>: {why}");
        let fetch = get(url, self.tls.as_ref());
        match tokio::time::timeout(crate::options::DEFAULT_ACCOUNT_FETCH_TIMEOUT, fetch).await {
            Ok(Ok((200, _, body))) => Ok(String::from_utf8_lossy(&body).into_owned()),
            Ok(Ok((_, status, _))) => Err(fail(status)),
            Ok(Err(e)) => Err(fail(format!("Get {shown:?}: {e}"))),
            Err(_) => Err(fail(format!(
                "Get {shown:?}: context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
            ))),
        }
    }
}

/// The most answer an account server may send (a JWT is a few kB).
const MAX_BODY: usize = 1 << 20;

impl OperatorMode {
    /// Does logging in to account `key` need a fetch first?
    pub fn needs_fetch(&self, key: &str) -> bool {
        let too_soon = self
            .expired
            .lock()
            .get(key)
            .is_some_and(|t| t.elapsed() < Duration::from_secs(1));
        self.fetcher.is_some()
            && !too_soon
            && jwt::is_public_key(key, 'A')
            && !self.accounts.read().contains_key(key)
            && self.dir.as_ref().and_then(|d| d.load(key)).is_none()
    }

    /// Fetch account `key`'s JWT and store it; on failure the error is kept for the
    /// lookup that follows (the refusal names it, as Go's debug line does).
    pub async fn fetch(&self, srv: &Arc<Server>, key: &str) -> Result<(), String> {
        let res = self.fetch_inner(srv, key, true).await;
        if let Err(e) = &res {
            crate::warn!(srv.log, "Account fetch failed: {}", e);
            let mut errs = self.fetch_errors.lock();
            if errs.len() > 1024 {
                errs.clear();
            }
            errs.insert(key.to_string(), e.clone());
        }
        res
    }

    /// [`OperatorMode::fetch`] without its log lines (the bootstrapping system account).
    pub async fn fetch_quiet(&self, srv: &Arc<Server>, key: &str) -> Result<(), String> {
        self.fetch_inner(srv, key, false).await
    }

    async fn fetch_inner(&self, srv: &Arc<Server>, key: &str, log: bool) -> Result<(), String> {
        let Some(fetcher) = &self.fetcher else {
            return Err("account not found".into());
        };
        let start = std::time::Instant::now();
        let got = match fetcher {
            Fetcher::Url(r) => r.get(&format!("{}{key}", r.base)).await,
            Fetcher::Nats { timeout } => {
                let subject = format!("$SYS.REQ.ACCOUNT.{key}.CLAIMS.LOOKUP");
                crate::sys::request(srv, &subject, *timeout)
                    .await
                    .and_then(|body| {
                        let token = String::from_utf8_lossy(&body).trim().to_string();
                        match &self.dir {
                            Some(d) => d.save_if_newer(key, &token).map(|_| token),
                            None => Ok(token),
                        }
                    })
            }
        };
        let took = start.elapsed();
        if log && took > Duration::from_secs(1) {
            crate::warn!(srv.log, "Account [{}] fetch took {:?}", key, took);
        } else if log {
            crate::debug!(srv.log, "Account [{}] fetch took {:?}", key, took);
        }
        let token = got?;
        let token = token.trim();
        let claims = jwt::decode_account(token).map_err(|e| e.to_string())?;
        if !self.is_trusted_issuer(&claims.data.issuer)
            || claims.data.check_times(jwt::now()).is_err()
            || claims.data.subject != key
        {
            return Err("account validation failed".into());
        }
        self.store(key, claims, token);
        self.fetch_errors.lock().remove(key);
        Ok(())
    }

    /// The error of the last failed fetch of `key`, taken.
    pub(super) fn take_fetch_error(&self, key: &str) -> Option<String> {
        self.fetch_errors.lock().remove(key)
    }
}

/// nats-server's `redactURLString`: a password in the URL is shown as `xxxxx`.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let auth_end = rest.find('/').unwrap_or(rest.len());
    let (auth, tail) = rest.split_at(auth_end);
    match auth.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:xxxxx@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// An HTTP answer: status code, Go's `resp.Status` (`"404 Not Found"`), body.
type Response = (u16, String, Vec<u8>);

/// One request on a fresh connection; `https://` with `config` (else the default client).
async fn get(url: &str, config: Option<&Arc<rustls::ClientConfig>>) -> Result<Response, String> {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (s.to_ascii_lowercase(), r),
        None => (String::new(), url),
    };
    let tls = match scheme.as_str() {
        "http" => false,
        "https" => true,
        other => return Err(format!("unsupported protocol scheme {other:?}")),
    };
    let path_at = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(path_at);
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let path = if path.is_empty() { "/" } else { path };
    let has_port = hostport
        .rsplit_once(':')
        .is_some_and(|(_, p)| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let addr = if has_port {
        hostport.to_string()
    } else if tls {
        format!("{hostport}:443")
    } else {
        format!("{hostport}:80")
    };
    let stream = tokio::net::TcpStream::connect(&addr)
        .await
        .map_err(|e| format!("dial tcp {addr}: {}", go_net_error(&e)))?;
    if !tls {
        return exchange(stream, path, hostport).await;
    }
    let host = if has_port {
        hostport.rsplit_once(':').map_or(hostport, |(h, _)| h)
    } else {
        hostport
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let name = rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|e| format!("tls: invalid server name {host:?}: {e}"))?;
    let config = match config {
        Some(c) => c.clone(),
        None => crate::tls::default_https_client()?,
    };
    let stream = tokio_rustls::TlsConnector::from(config)
        .connect(name, stream)
        .await
        .map_err(|e| tls_error_text(&e))?;
    exchange(stream, path, hostport).await
}

/// Go 1.19's words for a failed TLS handshake or a TLS alert (`x509: certificate signed
/// by unknown authority`, `remote error: tls: bad certificate`); other errors as they are.
fn tls_error_text(e: &std::io::Error) -> String {
    use rustls::CertificateError as C;
    let Some(err) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) else {
        return e.to_string();
    };
    let rfc3339 = |t: &rustls::pki_types::UnixTime| {
        chrono::DateTime::from_timestamp(t.as_secs() as i64, 0)
            .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_default()
    };
    match err {
        rustls::Error::InvalidCertificate(c) => {
            match c {
                C::UnknownIssuer => "x509: certificate signed by unknown authority".into(),
                C::NotValidForNameContext {
                    expected,
                    presented,
                } => {
                    let host = expected.to_str();
                    let ip = host.parse::<std::net::IpAddr>().is_ok();
                    let valid: Vec<&str> = presented
                        .iter()
                        .map(String::as_str)
                        .filter(|n| n.parse::<std::net::IpAddr>().is_ok() == ip)
                        .collect();
                    if ip && valid.is_empty() {
                        format!("x509: cannot validate certificate for {host} because it doesn't contain any IP SANs")
                    } else if valid.is_empty() {
                        format!("x509: certificate is not valid for any names, but wanted to match {host}")
                    } else {
                        format!(
                            "x509: certificate is valid for {}, not {host}",
                            valid.join(", ")
                        )
                    }
                }
                C::NotValidForName => "x509: certificate is not valid for this host".into(),
                C::ExpiredContext { time, not_after } => format!(
                "x509: certificate has expired or is not yet valid: current time {} is after {}",
                rfc3339(time),
                rfc3339(not_after)
            ),
                C::NotValidYetContext { time, not_before } => format!(
                "x509: certificate has expired or is not yet valid: current time {} is before {}",
                rfc3339(time),
                rfc3339(not_before)
            ),
                C::Expired | C::NotValidYet => {
                    "x509: certificate has expired or is not yet valid".into()
                }
                _ => err.to_string(),
            }
        }
        rustls::Error::AlertReceived(a) => {
            use rustls::AlertDescription as A;
            let text = match a {
                A::BadCertificate => "bad certificate".to_string(),
                A::CertificateRequired => "certificate required".into(),
                A::UnknownCA => "unknown certificate authority".into(),
                A::CertificateExpired => "expired certificate".into(),
                A::CertificateUnknown => "unknown certificate".into(),
                A::HandshakeFailure => "handshake failure".into(),
                A::ProtocolVersion => "protocol version not supported".into(),
                A::DecryptError => "error decrypting message".into(),
                A::InternalError => "internal error".into(),
                other => format!("alert({})", u8::from(*other)),
            };
            format!("remote error: tls: {text}")
        }
        _ => err.to_string(),
    }
}

/// The request and its answer over an open connection (plain TCP or TLS).
async fn exchange<S>(mut stream: S, path: &str, hostport: &str) -> Result<Response, String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {hostport}\r\nUser-Agent: Go-http-client/1.1\r\n\
         Accept-Encoding: identity\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(req.as_bytes())
        .await
        .map_err(|e| tls_error_text(&e))?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|e| tls_error_text(&e))?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() > MAX_BODY {
            return Err("response too large".into());
        }
        if let Some(done) = complete(&buf) {
            return done;
        }
    }
    complete(&buf).unwrap_or_else(|| parse(&buf, true))
}

/// The response, once `buf` holds all of it (by `Content-Length` or chunked encoding).
fn complete(buf: &[u8]) -> Option<Result<Response, String>> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    let chunked = head
        .lines()
        .any(|l| l.starts_with("transfer-encoding:") && l.contains("chunked"));
    if let Some(n) = length {
        return (buf.len() >= end + n).then(|| parse(buf, false));
    }
    if chunked {
        return dechunk(&buf[end..]).map(|_| parse(buf, false));
    }
    None
}

fn parse(buf: &[u8], eof: bool) -> Result<Response, String> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4) else {
        return Err(if eof && buf.is_empty() {
            "EOF".into()
        } else {
            "malformed HTTP response".into()
        });
    };
    let head = String::from_utf8_lossy(&buf[..end]);
    let status_line = head.lines().next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let proto = parts.next().unwrap_or_default();
    if !proto.starts_with("HTTP/") {
        return Err(format!("malformed HTTP response {status_line:?}"));
    }
    let code: u16 = parts
        .next()
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("malformed HTTP status code {status_line:?}"))?;
    let reason = parts.next().unwrap_or_default().trim();
    let status = if reason.is_empty() {
        code.to_string()
    } else {
        format!("{code} {reason}")
    };
    let low = head.to_ascii_lowercase();
    let body = &buf[end..];
    let body = if let Some(n) = low
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
    {
        body[..n.min(body.len())].to_vec()
    } else if low
        .lines()
        .any(|l| l.starts_with("transfer-encoding:") && l.contains("chunked"))
    {
        dechunk(body).ok_or("unexpected EOF")?
    } else {
        body.to_vec()
    };
    Ok((code, status, body))
}

/// A complete chunked body, decoded; `None` while incomplete.
fn dechunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = b.windows(2).position(|w| w == b"\r\n")?;
        let size_text = String::from_utf8_lossy(&b[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        b = &b[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        if b.len() < size + 2 {
            return None;
        }
        out.extend_from_slice(&b[..size]);
        b = &b[size + 2..];
    }
}

/// Go's words for the common dial errors.
fn go_net_error(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "connect: connection refused".into(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_parse() {
        let r = b"HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nabc";
        assert_eq!(
            complete(r).unwrap().unwrap(),
            (404, "404 Not Found".to_string(), b"abc".to_vec())
        );
        let r = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        assert_eq!(complete(r).unwrap().unwrap().2, b"abcde".to_vec());
        assert!(complete(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc").is_none());
        assert_eq!(
            parse(b"HTTP/1.0 200 OK\r\n\r\nxyz", true).unwrap().2,
            b"xyz"
        );
        assert_eq!(
            redact("http://u:secret@h:1/x"),
            "http://u:xxxxx@h:1/x".to_string()
        );
    }
}
