//! `$JS.API.STREAM.SNAPSHOT.<stream>` and `$JS.API.STREAM.RESTORE.<stream>` as
//! nats-server 2.9.10 speaks them on the wire.
//!
//! Snapshot: the API answers with the stream's config and state, then a task sends the
//! archive ([`super::archive`]) to the request's `deliver_subject` in chunks (128 KiB
//! unless `chunk_size` says otherwise), each with a reply subject
//! `$JS.SNAPSHOT.ACK.<stream>.<id>.<size>.<index>`; acknowledged bytes leave Go's 8 MiB
//! window (past it the sender waits up to 10 ms for an ack, as Go's), and an empty
//! message without a reply ends the transfer. The messages are read from the stream in
//! batches while it keeps taking publishes: the archive holds what the stream held up
//! to the last sequence when the snapshot was asked for.
//!
//! Restore: the API answers with `$JS.SNAPSHOT.RESTORE.<stream>.<id>`; every chunk sent
//! there (with a reply subject) is staged in a file and acknowledged with an empty
//! message; an empty chunk ends it and gets the `stream_create_response` with the new
//! stream's info (or the error). Five seconds without a chunk abandon the restore.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nats_jetstream::{ApiError, StateJson, Storage, Stream, StreamConfig};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, Notify};

use super::archive::{self, Record};
use super::consumers::{self, Saved};
use super::{internal_sub, JetStream, JsAccount, StreamHandle};
use crate::account::Account;
use crate::deliver::{Delivery, Msg};
use crate::server::Server;
use crate::{notice, warn};

/// Go's default chunk size and window of unacknowledged bytes.
const CHUNK: usize = 128 * 1024;
const WINDOW: i64 = 8 * 1024 * 1024;
/// A larger `chunk_size` is taken as this (Go takes any, even one that cannot be sent).
const MAX_CHUNK: usize = WINDOW as usize;
/// How long the sender waits for someone on the deliver subject, and for an ack when
/// past the window.
const INTEREST_WAIT: Duration = Duration::from_secs(2);
const ACK_WAIT: Duration = Duration::from_millis(10);
/// A restore with no chunk for this long is abandoned.
const RESTORE_IDLE: Duration = Duration::from_secs(5);
/// Messages read from the stream under one lock.
const BATCH_MSGS: usize = 1024;
const BATCH_BYTES: usize = 1 << 20;

/// What runs once the API answer is out.
pub(super) type After = Box<dyn FnOnce() + Send>;

/// Go's `isEmptyRequest`: no body, `{}`, or a JSON object without fields.
pub(super) fn is_empty_request(body: &[u8]) -> bool {
    if body.is_empty() || body == b"{}" {
        return true;
    }
    matches!(
        serde_json::from_slice::<serde_json::Value>(body),
        Ok(serde_json::Value::Object(m)) if m.is_empty()
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SnapshotReq {
    deliver_subject: String,
    no_consumers: bool,
    chunk_size: i64,
    /// Go checks its message checksums first; ours are checked as they are read.
    #[allow(dead_code)]
    jsck: bool,
}

/// The snapshot answer's body.
#[derive(Serialize)]
pub(super) struct SnapshotOut {
    config: StreamConfig,
    state: StateJson,
}

/// The archive of one snapshot, produced a batch at a time.
struct Producer {
    h: Arc<StreamHandle>,
    w: archive::Writer,
    next: u64,
    last_seq: u64,
    last_ts: i64,
    done: bool,
}

impl Producer {
    fn batch(&mut self) {
        if self.next > self.last_seq {
            self.w.end(self.last_seq, self.last_ts);
            self.done = true;
            return;
        }
        let s = self.h.stream.lock();
        let store = s.store();
        let (mut n, mut bytes) = (0, 0);
        while n < BATCH_MSGS && bytes < BATCH_BYTES {
            match store.next(self.next, None) {
                Ok(Some(m)) if m.seq <= self.last_seq => {
                    self.next = m.seq + 1;
                    n += 1;
                    bytes += m.subject.len() + m.hdr.len() + m.data.len();
                    self.w.msg(m.seq, m.ts, &m.subject, &m.hdr, &m.data);
                }
                Ok(_) => {
                    self.next = self.last_seq + 1;
                    break;
                }
                Err(_) => {
                    // Left without its END: a restore of it is refused as truncated.
                    self.done = true;
                    break;
                }
            }
        }
    }

    /// The next chunk of at most `n` bytes; empty when the archive is all sent.
    fn take(&mut self, n: usize) -> Vec<u8> {
        while self.w.ready() < n && !self.done {
            self.batch();
        }
        self.w.take(n)
    }
}

/// Check a SNAPSHOT request and take the stream's state; the answer, and what sends
/// the chunks once it is out.
pub(super) fn snapshot(
    srv: &Arc<Server>,
    ja: &Arc<JsAccount>,
    h: Arc<StreamHandle>,
    body: &[u8],
) -> Result<(SnapshotOut, After), ApiError> {
    let req: SnapshotReq = nats_jetstream::from_go_json::<Option<SnapshotReq>>(body)
        .map_err(|_| ApiError::invalid_json())?
        .unwrap_or_default();
    if !nats_sublist::subject::is_valid_subject(req.deliver_subject.as_bytes()) {
        return Err(ApiError::snapshot_deliver_subject_invalid());
    }
    let (config, state, last_seq, last_ts) = {
        let s = h.stream.lock();
        if s.config().storage == Storage::Memory {
            // nats-server's memory store has no snapshots.
            return Err(ApiError::stream_snapshot("no impl"));
        }
        let st = s.state();
        (s.config().clone(), s.state_json(), st.last_seq, st.last_ts)
    };
    if h.snapshotting.swap(true, Ordering::AcqRel) {
        return Err(ApiError::stream_snapshot("snapshot in progress"));
    }
    let mut w = archive::Writer::new();
    #[derive(Serialize)]
    struct Meta<'a> {
        config: &'a StreamConfig,
        created: i64,
    }
    let created = h.stream.lock().created();
    w.meta(
        &serde_json::to_vec(&Meta {
            config: &config,
            created,
        })
        .unwrap_or_default(),
    );
    if !req.no_consumers {
        let all: Vec<_> = h.consumers.lock().values().cloned().collect();
        for ch in all {
            if let Some(saved) = consumers::saved(&ch) {
                if let Ok(json) = serde_json::to_vec(&saved) {
                    w.consumer(&json);
                }
            }
        }
    }
    let producer = Producer {
        h: h.clone(),
        w,
        next: 1,
        last_seq,
        last_ts,
        done: false,
    };
    let chunk = match usize::try_from(req.chunk_size) {
        Ok(0) | Err(_) => CHUNK,
        Ok(n) => n.min(MAX_CHUNK),
    };
    notice!(
        srv.log,
        "Starting snapshot for stream '{} > {}'",
        ja.account.name,
        config.name
    );
    let (srv, acc, deliver) = (srv.clone(), ja.account.clone(), req.deliver_subject);
    let bytes = state.bytes;
    let after: After = Box::new(move || {
        let task = send(srv.clone(), acc, producer, deliver, chunk, bytes);
        srv.tasks.spawn(task);
    });
    Ok((SnapshotOut { config, state }, after))
}

/// Send the archive to `deliver` in chunks, paced by the acks, then the empty EOF.
async fn send(
    srv: Arc<Server>,
    acc: Arc<Account>,
    mut p: Producer,
    deliver: String,
    chunk: usize,
    bytes: u64,
) {
    let start = Instant::now();
    let name = p.h.stream.lock().config().name.clone();
    let deadline = start + INTEREST_WAIT;
    while !acc.has_interest(deliver.as_bytes()) && Instant::now() < deadline {
        tokio::time::sleep(ACK_WAIT).await;
    }
    let out = Arc::new(AtomicI64::new(0));
    let acked = Arc::new(Notify::new());
    let ack_base = format!("$JS.SNAPSHOT.ACK.{name}.{}", crate::ids::nuid());
    let handler = {
        let (out, acked) = (out.clone(), acked.clone());
        move |_: &Server, _: &mut Delivery, _: &crate::sub::SubRef, m: Msg<'_>| {
            // `…ACK.<stream>.<id>.<size>.<index>`: the size is the sixth token.
            let size = std::str::from_utf8(m.subject)
                .ok()
                .and_then(|s| s.split('.').nth(5))
                .and_then(|t| t.parse::<i64>().ok())
                .unwrap_or(0);
            if out.fetch_sub(size, Ordering::AcqRel) - size < WINDOW {
                acked.notify_one();
            }
        }
    };
    let sub = internal_sub(
        &srv,
        &acc,
        &format!("{ack_base}.>"),
        "jetstream snapshot ack",
        Box::new(handler),
    );
    let mut index = 1u64;
    loop {
        if srv.shutdown.is_cancelled() {
            break;
        }
        let data = p.take(chunk);
        if data.is_empty() {
            break;
        }
        if out.load(Ordering::Acquire) > WINDOW {
            tokio::select! {
                _ = acked.notified() => {}
                _ = tokio::time::sleep(ACK_WAIT) => {}
            }
            if !acc.has_interest(deliver.as_bytes()) {
                break;
            }
        }
        let reply = format!("{ack_base}.{}.{index}", data.len());
        super::publish_once(&srv, &acc, &deliver, Some(reply.as_bytes()), &data);
        out.fetch_add(data.len() as i64, Ordering::AcqRel);
        index += 1;
        tokio::task::yield_now().await;
    }
    // Go writes its empty reply as an empty field (`MSG <subject> <sid>  0`).
    super::publish_once(&srv, &acc, &deliver, Some(b""), b"");
    if let Some(s) = sub {
        srv.remove_sub(&s, false);
    }
    p.h.snapshotting.store(false, Ordering::Release);
    notice!(
        srv.log,
        "Completed snapshot of {} for stream '{} > {}' in {:?}",
        super::friendly_bytes(bytes as i64),
        acc.name,
        name,
        start.elapsed()
    );
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RestoreReq {
    config: Option<serde_json::Value>,
    #[allow(dead_code)]
    state: Option<serde_json::Value>,
}

/// The restore answer's body (Go sends `deliver_subject` even with an error).
#[derive(Serialize)]
pub(super) struct RestoreOut {
    pub deliver_subject: String,
}

/// Check a RESTORE request, stage its chunks; the answer, and the task that takes the
/// chunks.
pub(super) fn restore(
    srv: &Arc<Server>,
    js: &Arc<JetStream>,
    ja: &Arc<JsAccount>,
    name: &str,
    body: &[u8],
    check: impl FnOnce(StreamConfig) -> Result<StreamConfig, ApiError>,
    exists: impl Fn(&str) -> bool,
) -> Result<(RestoreOut, After), ApiError> {
    if is_empty_request(body) {
        return Err(ApiError::bad_request());
    }
    let req: RestoreReq = nats_jetstream::from_go_json::<Option<RestoreReq>>(body)
        .map_err(|_| ApiError::invalid_json())?
        .unwrap_or_default();
    let mut cfg = req.config.unwrap_or(serde_json::json!({}));
    if !cfg.is_object() {
        return Err(ApiError::invalid_json());
    }
    let unnamed = cfg
        .get("name")
        .is_none_or(|n| n.as_str().is_some_and(str::is_empty));
    if unnamed {
        cfg["name"] = serde_json::Value::String(name.to_string());
    }
    let cfg: StreamConfig = nats_jetstream::from_go_json(cfg.to_string().as_bytes())
        .map_err(|_| ApiError::invalid_json())?;
    // The name becomes a directory: never a path (Go does not check it here).
    if cfg.name.contains(['/', '\\']) {
        return Err(ApiError::name_contains_path_separators());
    }
    let cfg = check(cfg)?;
    ja.check_new_stream(&cfg)?;
    if exists(name) {
        return Err(ApiError::stream_name_exist_restore_failed());
    }
    let staging = js.dir.join("__snapshots__");
    if std::fs::create_dir_all(&staging).is_err() {
        return Err(ApiError {
            code: 503,
            err_code: 0,
            description: "JetStream unable to create temp storage for restore".into(),
        });
    }
    let path = staging.join(format!("js-restore-{}", crate::ids::nuid()));
    let file = std::fs::File::create(&path).map_err(|_| ApiError::temp_storage_failed())?;
    let deliver = format!("$JS.SNAPSHOT.RESTORE.{}.{}", cfg.name, crate::ids::nuid());
    let (tx, rx) = mpsc::unbounded_channel::<(Vec<u8>, Option<String>)>();
    let handler = move |_: &Server, _: &mut Delivery, _: &crate::sub::SubRef, m: Msg<'_>| {
        let reply = m.reply.map(|r| String::from_utf8_lossy(r).into_owned());
        let _ = tx.send((m.data.to_vec(), reply));
    };
    let Some(sub) = internal_sub(
        srv,
        &ja.account,
        &deliver,
        "jetstream restore",
        Box::new(handler),
    ) else {
        let _ = std::fs::remove_file(&path);
        return Err(ApiError {
            code: 500,
            err_code: 10042,
            description: format!(
                "JetStream unable to subscribe to restore snapshot {deliver}: subscription failed"
            ),
        });
    };
    notice!(
        srv.log,
        "Starting restore for stream '{} > {}'",
        ja.account.name,
        cfg.name
    );
    let (srv, js, ja) = (srv.clone(), js.clone(), ja.clone());
    let after: After = Box::new(move || {
        let task = receive(srv.clone(), js, ja, cfg, sub, rx, path, file);
        srv.tasks.spawn(task);
    });
    Ok((
        RestoreOut {
            deliver_subject: deliver,
        },
        after,
    ))
}

/// An answer to a restore chunk, as Go's internal account messages go out: with an
/// empty reply field (`MSG <subject> <sid>  <size>`).
fn publish(srv: &Server, acc: &Arc<Account>, subject: &str, data: &[u8]) {
    super::publish_once(srv, acc, subject, Some(b""), data);
}

/// Go's (lenient) server-wide check: file storage in use past its maximum plus what
/// this restore staged.
fn would_exceed(js: &JetStream, staged: u64) -> bool {
    let used: u64 = super::all_streams(js)
        .iter()
        .filter(|h| h.dir.is_some())
        .map(|h| h.stream.lock().state().bytes)
        .sum();
    used as i128 > js.max_store as i128 + staged as i128
}

#[allow(clippy::too_many_arguments)]
async fn receive(
    srv: Arc<Server>,
    js: Arc<JetStream>,
    ja: Arc<JsAccount>,
    cfg: StreamConfig,
    sub: crate::sub::SubRef,
    mut rx: mpsc::UnboundedReceiver<(Vec<u8>, Option<String>)>,
    path: PathBuf,
    mut file: std::fs::File,
) {
    let start = Instant::now();
    let acc = ja.account.clone();
    let name = cfg.name.clone();
    let mut total = 0u64;
    // The EOF's reply and the outcome, or nothing to answer.
    let finished: Option<(String, Result<Arc<StreamHandle>, ApiError>)> = loop {
        let next = tokio::select! {
            _ = srv.shutdown.cancelled() => None,
            n = tokio::time::timeout(RESTORE_IDLE, rx.recv()) => n.ok().flatten(),
        };
        let Some((data, reply)) = next else {
            warn!(
                srv.log,
                "Restore for stream '{} > {}' is stalled", acc.name, name
            );
            break None;
        };
        let Some(reply) = reply else {
            warn!(
                srv.log,
                "Restore for stream '{} > {}' requires reply subject for each chunk",
                acc.name,
                name
            );
            break None;
        };
        if data.is_empty() {
            // The end: restore from the staged file (disk work, off the runtime).
            let _ = file.flush();
            let (srv2, js2, ja2, cfg2, path2) = (
                srv.clone(),
                js.clone(),
                ja.clone(),
                cfg.clone(),
                path.clone(),
            );
            let done = tokio::task::spawn_blocking(move || build(&srv2, &js2, &ja2, cfg2, &path2))
                .await
                .unwrap_or_else(|_| Err(ApiError::stream_restore("internal error")));
            break Some((reply, done));
        }
        total += data.len() as u64;
        if would_exceed(&js, total) {
            break Some((reply, Err(ApiError::insufficient_resources())));
        }
        if let Err(e) = file.write_all(&data) {
            publish(&srv, &acc, &reply, b"-ERR 'storage failure during restore'");
            break Some((reply, Err(ApiError::stream_restore(&e.to_string()))));
        }
        publish(&srv, &acc, &reply, b"");
    };
    srv.remove_sub(&sub, false);
    drop(file);
    let _ = std::fs::remove_file(&path);
    let Some((reply, outcome)) = finished else {
        return;
    };
    let kind = "io.nats.jetstream.api.v1.stream_create_response";
    let answer = match outcome {
        Ok(h) => {
            notice!(
                srv.log,
                "Completed restore of {} for stream '{} > {}' in {:?}",
                super::friendly_bytes(total as i64),
                acc.name,
                name,
                start.elapsed()
            );
            let s = h.stream.lock();
            #[derive(Serialize)]
            struct Created<'a> {
                #[serde(rename = "type")]
                kind: &'a str,
                config: &'a StreamConfig,
                created: nats_jetstream::time::GoTime,
                state: StateJson,
            }
            crate::monitor::format::to_json_compact(&Created {
                kind,
                config: s.config(),
                created: nats_jetstream::time::GoTime(s.created()),
                state: s.state_json(),
            })
        }
        Err(e) => {
            warn!(
                srv.log,
                "Restore failed for {} for stream '{} > {}' in {:?}: {}",
                super::friendly_bytes(total as i64),
                acc.name,
                name,
                start.elapsed(),
                e.description
            );
            #[derive(Serialize)]
            struct Failed<'a> {
                #[serde(rename = "type")]
                kind: &'a str,
                error: ApiError,
            }
            crate::monitor::format::to_json_compact(&Failed { kind, error: e })
        }
    };
    publish(&srv, &acc, &reply, &answer);
}

/// What a snapshot's META record holds.
#[derive(Deserialize)]
struct SnapMeta {
    config: StreamConfig,
    created: i64,
}

/// Make the stream from the staged archive: messages at their sequences, the gaps
/// kept, then its durable consumers.
fn build(
    srv: &Arc<Server>,
    js: &JetStream,
    ja: &Arc<JsAccount>,
    cfg: StreamConfig,
    path: &std::path::Path,
) -> Result<Arc<StreamHandle>, ApiError> {
    let fail = |e: std::io::Error| ApiError::stream_restore(&e.to_string());
    let f = std::fs::File::open(path).map_err(fail)?;
    let mut r =
        archive::Reader::new(archive::Deframer::new(std::io::BufReader::new(f))).map_err(fail)?;
    let meta = match r.next_record().map_err(fail)? {
        Some(Record::Meta(json)) => serde_json::from_slice::<SnapMeta>(&json)
            .map_err(|e| ApiError::stream_restore(&format!("bad stream metadata: {e}")))?,
        _ => return Err(ApiError::stream_restore("snapshot has no stream metadata")),
    };
    if meta.config.name != cfg.name {
        return Err(ApiError::stream_restore("stream names do not match"));
    }
    if ja.streams.lock().contains_key(&cfg.name) {
        return Err(ApiError::stream_name_exist_restore_failed());
    }
    if super::api::overlaps(ja, &cfg) {
        return Err(ApiError::subject_overlap());
    }
    ja.check_new_stream(&cfg)?;
    let (mut store, dir) = super::create_store(js, ja, &cfg, meta.created)
        .map_err(|e| ApiError::stream_restore(&e))?;
    let mut saved: Vec<Saved> = Vec::new();
    let filled = (|| -> Result<(), String> {
        loop {
            match r.next_record().map_err(|e| e.to_string())? {
                None => return Err("snapshot is truncated".into()),
                Some(Record::Meta(_)) => return Err("unexpected stream metadata".into()),
                Some(Record::Consumer(json)) => saved.push(
                    serde_json::from_slice(&json)
                        .map_err(|e| format!("bad consumer in snapshot: {e}"))?,
                ),
                Some(Record::Msg {
                    seq,
                    ts,
                    subject,
                    hdr,
                    data,
                }) => store
                    .store_at(seq, &subject, &hdr, &data, ts)
                    .map_err(|e| e.to_string())?,
                Some(Record::End { last_seq, last_ts }) => {
                    // Deleted messages at the end leave their sequence and time: so
                    // does a stand-in stored there and removed.
                    if last_seq > store.state().last_seq {
                        store
                            .store_at(last_seq, "_", b"", b"", last_ts)
                            .and_then(|_| store.remove(last_seq, true))
                            .map_err(|e| e.to_string())?;
                    }
                    store.flush().map_err(|e| e.to_string())?;
                    return Ok(());
                }
            }
        }
    })();
    if let Err(why) = filled {
        drop(store);
        if let Some(d) = &dir {
            let _ = std::fs::remove_dir_all(d);
        }
        return Err(ApiError::stream_restore(&why));
    }
    // Someone may have made the stream meanwhile.
    if ja.streams.lock().contains_key(&cfg.name) {
        drop(store);
        if let Some(d) = &dir {
            let _ = std::fs::remove_dir_all(d);
        }
        return Err(ApiError::stream_name_exist_restore_failed());
    }
    let h = super::install(srv, ja, Stream::new(cfg, store, meta.created), dir);
    for s in saved {
        if let Err(why) = consumers::restore_saved(srv, ja, &h, s) {
            warn!(srv.log, "Restore of a consumer failed: {}", why);
        }
    }
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::is_empty_request;

    #[test]
    fn empty_requests_as_go_sees_them() {
        assert!(is_empty_request(b""));
        assert!(is_empty_request(b"{}"));
        assert!(is_empty_request(b" { } "));
        assert!(!is_empty_request(b"null"));
        assert!(!is_empty_request(b" "));
        assert!(!is_empty_request(b"nope"));
        assert!(!is_empty_request(br#"{"a":1}"#));
    }
}
