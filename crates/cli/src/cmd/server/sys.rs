//! Requests to the system account (`$SYS.REQ.SERVER...`) and the reply shapes.
//!
//! Every server in the cluster subscribes to `$SYS.REQ.SERVER.PING[.VARZ|.CONNZ|…]`, so
//! one request with a reply inbox draws one reply per server. [`collect`] gathers them
//! the way natscli (jsm.go's `DoReqAsync`) does: until `expect` replies arrived, or — when
//! no count is given — until nothing arrived for 300ms after the last reply (the first one
//! may take the whole timeout); never longer than the timeout. A `503` status on the inbox
//! means nobody in our account listens there, i.e. the credentials are not the system
//! account's: that is [`SysError::NoResponders`].
//!
//! The types mirror Go's `ServerStatsMsg` (`{"server":…,"statsz":…}`) and
//! `ServerAPIResponse` (`{"server":…,"data":…,"error":…}`) and are parsed leniently:
//! unknown fields are ignored and missing ones take their default, so newer or older
//! servers (and ours) can answer.

use std::time::{Duration, Instant};

use async_nats::{Client, StatusCode};
use bytes::Bytes;
use futures::StreamExt;
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// natscli's words for a request nobody in our account answers, plus where else to look.
pub const NO_SYSTEM_ACCOUNT: &str =
    "no results received, ensure the account used has system privileges and appropriate permissions";
pub const MONITOR_HINT: &str = "(or read a monitoring port instead: --monitor http://host:8222)";

/// How long to keep listening after a reply when the number of servers is not known.
const SETTLE: Duration = Duration::from_millis(300);

#[derive(Debug)]
pub enum SysError {
    /// A 503 status: no subscriber for the subject in our account.
    NoResponders,
    Nats(anyhow::Error),
}

impl From<anyhow::Error> for SysError {
    fn from(e: anyhow::Error) -> Self {
        SysError::Nats(e)
    }
}

/// One reply and how long after the request was sent it arrived.
pub struct Reply {
    pub data: Bytes,
    pub rtt: Duration,
}

/// When [`collect`] stops listening (it always stops at the timeout).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Until {
    /// After this many replies.
    Count(usize),
    /// When no reply arrived for 300ms after the last one (natscli's "adaptive timeout").
    Quiet,
    /// Only at the timeout, or when `on_reply` says so.
    Timeout,
}

impl Until {
    /// `Count(n)` for a given number of servers, `Quiet` for none.
    pub fn expecting(n: usize) -> Until {
        if n == 0 {
            Until::Quiet
        } else {
            Until::Count(n)
        }
    }
}

/// Sends `body` to `subject` with a fresh inbox and collects the replies (see module doc).
/// `on_reply` sees each reply as it arrives (`ping` prints as it goes) and returns true
/// to stop listening.
pub async fn collect(
    client: &Client,
    subject: &str,
    body: Bytes,
    until: Until,
    timeout: Duration,
    mut on_reply: impl FnMut(&Reply) -> bool,
) -> Result<Vec<Reply>, SysError> {
    let inbox = client.new_inbox();
    let mut sub = client
        .subscribe(inbox.clone())
        .await
        .map_err(|e| anyhow::anyhow!("could not subscribe to {inbox}: {e}"))?;
    let start = Instant::now();
    client
        .publish_with_reply(subject.to_string(), inbox, body)
        .await
        .map_err(|e| anyhow::anyhow!("could not publish to {subject}: {e}"))?;
    client
        .flush()
        .await
        .map_err(|e| anyhow::anyhow!("could not flush: {e}"))?;

    let deadline = tokio::time::Instant::now() + timeout;
    let mut replies = Vec::new();
    loop {
        let wait_until = if until == Until::Quiet && !replies.is_empty() {
            (tokio::time::Instant::now() + SETTLE).min(deadline)
        } else {
            deadline
        };
        let msg = match tokio::time::timeout_at(wait_until, sub.next()).await {
            Ok(Some(msg)) => msg,
            Ok(None) | Err(_) => break,
        };
        if msg.status == Some(StatusCode::NO_RESPONDERS) {
            return Err(SysError::NoResponders);
        }
        let reply = Reply {
            data: msg.payload,
            rtt: start.elapsed(),
        };
        let stop = on_reply(&reply);
        replies.push(reply);
        if stop || matches!(until, Until::Count(n) if replies.len() >= n) {
            break;
        }
    }
    let _ = sub.unsubscribe().await;
    Ok(replies)
}

/// Parses a reply, naming the subject on failure.
pub fn parse<T: DeserializeOwned>(subject: &str, data: &[u8]) -> anyhow::Result<T> {
    serde_json::from_slice(data)
        .map_err(|e| anyhow::anyhow!("could not decode response from {subject}: {e}"))
}

/// Go's `ServerInfo`: who answered.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct ServerInfo {
    pub name: String,
    pub host: String,
    pub id: String,
    pub cluster: String,
    pub domain: String,
    #[serde(rename = "ver")]
    pub version: String,
    pub seq: u64,
    pub jetstream: bool,
    pub time: String,
}

/// Go's `ServerStatsMsg`, the reply to `$SYS.REQ.SERVER.PING`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ServerStatsMsg {
    pub server: ServerInfo,
    #[serde(rename = "statsz")]
    pub stats: ServerStats,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ServerStats {
    pub start: String,
    pub mem: i64,
    pub cores: i64,
    pub cpu: f64,
    pub connections: i64,
    pub total_connections: u64,
    pub active_accounts: i64,
    pub subscriptions: u64,
    pub slow_consumers: i64,
    pub slow_consumer_stats: Option<SlowConsumerStats>,
    #[serde(deserialize_with = "null_as_default")]
    pub routes: Vec<serde_json::Value>,
    #[serde(deserialize_with = "null_as_default")]
    pub gateways: Vec<GatewayStat>,
    pub active_servers: usize,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SlowConsumerStats {
    pub clients: u64,
    pub routes: u64,
    pub gateways: u64,
    pub leafs: u64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct GatewayStat {
    pub name: String,
    #[serde(rename = "inbound_connections")]
    pub num_inbound: i64,
}

/// Go's `ServerAPIResponse`: the reply to `$SYS.REQ.SERVER.PING.VARZ`, `.CONNZ`, ….
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ApiResponse<T: Default> {
    pub server: ServerInfo,
    pub data: Option<T>,
    pub error: Option<ApiError>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ApiError {
    pub code: i64,
    pub description: String,
}

/// `null` where Go marshals a nil slice or pointer reads as the default.
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Go RFC 3339 timestamps (`2026-12-05T03:20:17.9766281Z`) as UTC instants.
pub fn parse_time(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// `later - earlier` for two Go timestamps, zero when either is missing.
pub fn time_between(earlier: &str, later: &str) -> Duration {
    match (parse_time(earlier), parse_time(later)) {
        (Some(a), Some(b)) => (b - a).to_std().unwrap_or_default(),
        _ => Duration::ZERO,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statsz_from_go_2_9_10() {
        let raw = br#"{"server":{"name":"n1","host":"127.0.0.1","id":"NBIX","cluster":"c1","ver":"2.9.10","seq":22,"jetstream":false,"time":"2026-12-05T03:21:35.822472882Z"},"statsz":{"start":"2026-12-05T03:20:17.9766281Z","mem":12185600,"cores":2,"cpu":0,"connections":1,"total_connections":1,"active_accounts":1,"subscriptions":47,"sent":{"msgs":0,"bytes":0},"received":{"msgs":0,"bytes":0},"slow_consumers":0,"routes":[{"rid":5,"name":"n2"}],"active_servers":2,"extra":{"x":1}}}"#;
        let m: ServerStatsMsg = parse("s", raw).expect("parse");
        assert_eq!(m.server.name, "n1");
        assert_eq!(m.server.version, "2.9.10");
        assert_eq!(m.stats.subscriptions, 47);
        assert_eq!(m.stats.routes.len(), 1);
        assert_eq!(m.stats.active_servers, 2);
        assert_eq!(time_between(&m.stats.start, &m.server.time).as_secs(), 77);
    }

    #[test]
    fn missing_and_null_fields_default() {
        let m: ServerStatsMsg = parse("s", br#"{"statsz":{"routes":null}}"#).expect("parse");
        assert!(m.stats.routes.is_empty());
        let r: ApiResponse<serde_json::Value> = parse(
            "s",
            br#"{"server":{"name":"x"},"error":{"code":500,"description":"boom"}}"#,
        )
        .expect("parse");
        assert!(r.data.is_none());
        assert_eq!(r.error.map(|e| e.description), Some("boom".into()));
    }
}
