//! A tiny HTTP/1.0 GET over a tokio `TcpStream`, enough to read the monitoring
//! endpoints (`/varz`) without an HTTP client dependency. HTTP/1.0 makes the server
//! close the connection after the body, so "read to EOF" is the whole protocol; a
//! chunked reply (a server answering 1.1-style anyway) is decoded too.

use std::time::Duration;

use anyhow::{bail, Context};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest body we accept; `/varz` is a few KiB.
const MAX_RESPONSE: usize = 16 * 1024 * 1024;

/// Splits `http://host:port/base` into host, port and base path.
pub fn parse_url(url: &str) -> anyhow::Result<(String, u16, String)> {
    let rest = url.strip_prefix("http://").with_context(|| {
        format!("monitor URL {url:?} must start with http:// (https is not supported)")
    })?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].trim_end_matches('/').to_string()),
        None => (rest, String::new()),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => (
            h.trim_start_matches('[').trim_end_matches(']').to_string(),
            p.parse()
                .with_context(|| format!("bad port in monitor URL {url:?}"))?,
        ),
        _ => (authority.to_string(), 80),
    };
    if host.is_empty() {
        bail!("monitor URL {url:?} has no host");
    }
    Ok((host, port, path))
}

/// GETs `base_url` + `path` and returns the body of a 200 response.
pub async fn get(base_url: &str, path: &str, timeout: Duration) -> anyhow::Result<Vec<u8>> {
    let (host, port, base) = parse_url(base_url)?;
    let fetch = async {
        let mut stream = TcpStream::connect((host.as_str(), port))
            .await
            .with_context(|| format!("connecting to {host}:{port}"))?;
        let req = format!("GET {base}{path} HTTP/1.0\r\nHost: {host}:{port}\r\nAccept: application/json\r\nConnection: close\r\n\r\n");
        stream.write_all(req.as_bytes()).await?;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        loop {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
            if buf.len() > MAX_RESPONSE {
                bail!("response larger than {MAX_RESPONSE} bytes");
            }
        }
        anyhow::Ok(buf)
    };
    let raw = tokio::time::timeout(timeout, fetch)
        .await
        .with_context(|| format!("GET {base_url}{path}: timed out"))?
        .with_context(|| format!("GET {base_url}{path}"))?;
    parse_response(&raw).with_context(|| format!("GET {base_url}{path}"))
}

/// Status line check, header split, optional chunked decoding.
pub fn parse_response(raw: &[u8]) -> anyhow::Result<Vec<u8>> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("malformed HTTP response: no end of headers")?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let body = &raw[end + 4..];
    let mut lines = head.lines();
    let status = lines.next().unwrap_or("");
    let code = status.split_whitespace().nth(1).unwrap_or("");
    if code != "200" {
        bail!("server answered {status:?}");
    }
    let chunked = lines.any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    if chunked {
        dechunk(body)
    } else {
        Ok(body.to_vec())
    }
}

fn dechunk(mut body: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(body.len());
    loop {
        let eol = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .context("bad chunk header")?;
        let size_text = String::from_utf8_lossy(&body[..eol]);
        let size_hex = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_hex, 16).context("bad chunk size")?;
        body = &body[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        if body.len() < size {
            bail!("truncated chunk");
        }
        out.extend_from_slice(&body[..size]);
        body = body.get(size + 2..).unwrap_or(&[]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            parse_url("http://127.0.0.1:8222").ok(),
            Some(("127.0.0.1".into(), 8222, String::new()))
        );
        assert_eq!(
            parse_url("http://h/x/").ok(),
            Some(("h".into(), 80, "/x".into()))
        );
        assert!(parse_url("https://h").is_err());
    }

    #[test]
    fn responses() {
        let ok = b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"a\":1}";
        assert_eq!(parse_response(ok).ok(), Some(b"{\"a\":1}".to_vec()));
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4\r\n\":1}\r\n0\r\n\r\n";
        assert_eq!(parse_response(chunked).ok(), Some(b"{\"a\":1}".to_vec()));
        assert!(parse_response(b"HTTP/1.0 404 Not Found\r\n\r\n").is_err());
    }
}
