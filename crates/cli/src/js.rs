//! A small JetStream API client: JSON requests to `$JS.API.*` over a plain async-nats
//! connection, the way natscli (through jsm.go) talks to the server, plus the parsing
//! and formatting helpers the `stream`, `consumer` and `kv` commands share.
//!
//! Requests are raw JSON (`serde_json::Value`) rather than typed configs so that we send
//! only the fields we set and show whatever the server answers, old or new.

use std::time::Duration;

use anyhow::{bail, Context};
use async_nats::{Client, HeaderMap};
use bytes::Bytes;
use serde_json::Value;

use crate::opts::GlobalOpts;
use crate::out;

pub const API: &str = "$JS.API";

pub struct Js {
    pub client: Client,
    pub timeout: Duration,
}

impl Js {
    pub async fn connect(global: &GlobalOpts) -> anyhow::Result<Js> {
        Ok(Js {
            client: global.connect().await?,
            timeout: global.timeout,
        })
    }

    /// `$JS.API.<op>` with a JSON body (`Value::Null` sends an empty payload). A
    /// JetStream error answer becomes jsm.go's text: `description (err_code)`.
    pub async fn api(&self, op: &str, body: &Value) -> anyhow::Result<Value> {
        let payload = if body.is_null() {
            Bytes::new()
        } else {
            Bytes::from(serde_json::to_vec(body)?)
        };
        let msg = self.request(format!("{API}.{op}"), None, payload).await?;
        let v: Value = serde_json::from_slice(&msg.payload)
            .with_context(|| format!("invalid JSON answer to {op}"))?;
        check(&v)?;
        Ok(v)
    }

    /// A request bounded by `--timeout`, with readable errors for the two usual failures.
    pub async fn request(
        &self,
        subject: String,
        headers: Option<HeaderMap>,
        payload: Bytes,
    ) -> anyhow::Result<async_nats::Message> {
        use async_nats::RequestErrorKind;
        let fut = async {
            match headers {
                Some(h) => {
                    self.client
                        .request_with_headers(subject.clone(), h, payload)
                        .await
                }
                None => self.client.request(subject.clone(), payload).await,
            }
        };
        match tokio::time::timeout(self.timeout, fut).await {
            Ok(Ok(m)) => Ok(m),
            Ok(Err(e)) if e.kind() == RequestErrorKind::NoResponders => {
                bail!("no responders available for request: is JetStream enabled?")
            }
            Ok(Err(e)) if e.kind() == RequestErrorKind::TimedOut => {
                bail!("context deadline exceeded")
            }
            Ok(Err(e)) => Err(e.into()),
            Err(_) => bail!("context deadline exceeded"),
        }
    }

    /// All names from a paged `*.NAMES` API (`key` is `streams` or `consumers`).
    pub async fn names(&self, op: &str, key: &str, body: Value) -> anyhow::Result<Vec<String>> {
        let mut names = Vec::new();
        loop {
            let mut req = body.clone();
            req["offset"] = names.len().into();
            let resp = self.api(op, &req).await?;
            let page: Vec<String> = resp[key]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            let total = resp["total"].as_u64().unwrap_or(0) as usize;
            let got = page.len();
            names.extend(page);
            if got == 0 || names.len() >= total {
                break;
            }
        }
        names.sort();
        Ok(names)
    }

    pub async fn stream_info(&self, stream: &str) -> anyhow::Result<Value> {
        self.api(&format!("STREAM.INFO.{stream}"), &Value::Null)
            .await
    }
}

/// Fails with the API error carried by a JetStream answer, if any.
pub fn check(v: &Value) -> anyhow::Result<()> {
    let err = &v["error"];
    if err.is_null() {
        return Ok(());
    }
    let desc = err["description"].as_str().unwrap_or("");
    let code = err["err_code"].as_u64().unwrap_or(0);
    if desc.is_empty() {
        bail!(
            "unknown JetStream {} error code ({code})",
            err["code"].as_u64().unwrap_or(0)
        );
    }
    bail!("{desc} ({code})")
}

/// The answer as natscli's `--json` prints it: indented, without the API's `type`
/// marker and paging fields.
pub fn print_json(v: &Value) -> anyhow::Result<()> {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        for k in ["type", "total", "offset", "limit"] {
            o.remove(k);
        }
    }
    println!("{}", serde_json::to_string_pretty(&v)?);
    Ok(())
}

// ---- parsing flags ----

/// natscli's durations for limits: Go's syntax plus `d`, `w`, `M` (30 days) and `y`
/// (365 days) units; `-1` or `0` mean unlimited (returned as zero).
pub fn parse_age(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s == "-1" || s == "0" || s.is_empty() {
        return Ok(Duration::ZERO);
    }
    let day = 24 * 3600;
    for (suffix, secs) in [
        ("d", day),
        ("w", 7 * day),
        ("M", 30 * day),
        ("y", 365 * day),
    ] {
        if let Some(num) = s.strip_suffix(suffix) {
            if let Ok(n) = num.parse::<f64>() {
                if n.is_finite() && n >= 0.0 {
                    return Ok(Duration::from_secs_f64(n * secs as f64));
                }
            }
        }
    }
    crate::opts::parse_duration(s)
}

/// natscli's sizes: a number with an optional `K`, `KB`, `KiB`, `M`, … suffix, base
/// 1024; `-1` is unlimited.
pub fn parse_bytes(s: &str) -> Result<i64, String> {
    let t = s.trim();
    if t == "-1" {
        return Ok(-1);
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| format!("invalid size {s:?}"))?;
    let mult: f64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1.0,
        "K" | "KB" | "KIB" => 1024.0,
        "M" | "MB" | "MIB" => 1024f64.powi(2),
        "G" | "GB" | "GIB" => 1024f64.powi(3),
        "T" | "TB" | "TIB" => 1024f64.powi(4),
        _ => return Err(format!("invalid size {s:?}")),
    };
    Ok((n * mult) as i64)
}

/// Nanoseconds for a JSON duration field.
pub fn nanos(d: Duration) -> u64 {
    d.as_nanos().min(i64::MAX as u128) as u64
}

// ---- formatting answers ----

/// A JSON nanosecond duration as natscli prints a `time.Duration`.
pub fn dur(v: &Value) -> String {
    let ns = v.as_i64().unwrap_or(0).max(0) as u64;
    out::humanize_duration(Duration::from_nanos(ns))
}

/// A JSON integer with thousands separators.
pub fn num(v: &Value) -> String {
    match v.as_i64() {
        Some(n) => out::comma(n),
        None => v
            .as_u64()
            .map(|n| n.to_string())
            .unwrap_or_else(|| "0".into()),
    }
}

/// An RFC 3339 time from the server, parsed; `None` for Go's zero time or garbage.
pub fn time(v: &Value) -> Option<chrono::DateTime<chrono::Local>> {
    let t = chrono::DateTime::parse_from_rfc3339(v.as_str()?).ok()?;
    if t.timestamp() <= 0 {
        return None;
    }
    Some(t.with_timezone(&chrono::Local))
}

/// natscli's `f(time)`: local `2006-01-02 15:04:05`.
pub fn fmt_time(v: &Value) -> String {
    match time(v) {
        Some(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
        None => "0001-01-01 00:00:00".into(),
    }
}

/// How long ago a server time was, natscli style (`1.50s`, `2m3s`); `never` for none.
pub fn since(v: &Value) -> String {
    match time(v) {
        Some(t) => {
            let d = chrono::Local::now().signed_duration_since(t);
            out::humanize_duration(d.to_std().unwrap_or(Duration::ZERO))
        }
        None => "never".into(),
    }
}

/// The metadata a JetStream delivery carries in its reply subject
/// (`$JS.ACK[.<domain>.<hash>].<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>[...]`).
pub struct AckInfo {
    pub delivered: u64,
    pub stream_seq: u64,
    pub consumer_seq: u64,
    pub pending: u64,
    /// The message's stream timestamp, Unix nanoseconds.
    pub ts: i64,
}

pub fn parse_ack_subject(reply: &str) -> Option<AckInfo> {
    let parts: Vec<&str> = reply.split('.').collect();
    if parts.len() < 9 || parts[0] != "$JS" || parts[1] != "ACK" {
        return None;
    }
    // The v1 form has 9 tokens; v2 adds domain and account hash after ACK.
    let base = if parts.len() == 9 { 2 } else { 4 };
    let n = |i: usize| parts.get(base + i).and_then(|t| t.parse::<u64>().ok());
    Some(AckInfo {
        delivered: n(2)?,
        stream_seq: n(3)?,
        consumer_seq: n(4)?,
        pending: n(6)?,
        ts: parts.get(base + 5).and_then(|t| t.parse::<i64>().ok())?,
    })
}

/// natscli's confirmation prompt, for `rm`/`purge`/`del` without `--force`: only on a
/// terminal; elsewhere it fails with natscli's message.
pub fn confirm(question: &str) -> anyhow::Result<bool> {
    use std::io::{BufRead, IsTerminal, Write};
    if !std::io::stdin().is_terminal() {
        bail!("could not obtain confirmation: cannot ask for confirmation without a terminal");
    }
    print!("? {question} (y/N) ");
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(matches!(
        line.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// Standard base64 (how STREAM.MSG.GET carries `data` and `hdrs`).
pub fn b64(v: &Value) -> anyhow::Result<Vec<u8>> {
    use base64::Engine;
    let s = v.as_str().unwrap_or("");
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .context("invalid base64 in the server's answer")
}

/// Parses a `NATS/1.0[ status]\r\nK: V\r\n…` header block into `(key, value)` pairs.
pub fn parse_header_block(raw: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(raw);
    text.split("\r\n")
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// A header's first value, the name compared case-insensitively as text (async-nats
/// keeps well-known names such as `Nats-Sequence` apart from the same name parsed off
/// the wire, so `HeaderMap::get` can miss them).
pub fn header(msg: &async_nats::Message, name: &str) -> Option<String> {
    msg.headers.as_ref()?.iter().find_map(|(k, vs)| {
        if k.to_string().eq_ignore_ascii_case(name) {
            vs.first().map(|v| v.to_string())
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_ages() {
        assert_eq!(parse_bytes("1024"), Ok(1024));
        assert_eq!(parse_bytes("1KB"), Ok(1024));
        assert_eq!(parse_bytes("2m"), Ok(2 * 1024 * 1024));
        assert_eq!(parse_bytes("-1"), Ok(-1));
        assert!(parse_bytes("x").is_err());
        assert_eq!(parse_age("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_age("2d"), Ok(Duration::from_secs(2 * 86400)));
        assert_eq!(parse_age("-1"), Ok(Duration::ZERO));
    }

    #[test]
    fn ack_subjects() {
        let a = parse_ack_subject("$JS.ACK.ORDERS.C1.2.10.3.1700000000000000000.5").unwrap();
        assert_eq!(
            (a.delivered, a.stream_seq, a.consumer_seq, a.pending),
            (2, 10, 3, 5)
        );
        let b = parse_ack_subject("$JS.ACK.dom.ACCHASH.ORDERS.C1.1.4.4.1700000000000000000.0.tok")
            .unwrap();
        assert_eq!((b.stream_seq, b.pending), (4, 0));
        assert!(parse_ack_subject("_INBOX.x").is_none());
    }

    #[test]
    fn api_errors() {
        let v: Value = serde_json::from_str(
            r#"{"type":"x","error":{"code":404,"err_code":10059,"description":"stream not found"}}"#,
        )
        .unwrap();
        assert_eq!(
            check(&v).unwrap_err().to_string(),
            "stream not found (10059)"
        );
    }
}
