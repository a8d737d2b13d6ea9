//! JetStream on one server: the wiring between the sans-IO stream state machines
//! (`nats-jetstream`, over `nats-store`) and the server.
//!
//! Each JetStream-enabled account gets internal subscriptions on `$JS.API.INFO`,
//! `$JS.API.STREAM.>` and `$JS.API.CONSUMER.>`; requests go through a bounded queue to
//! one task ([`run`]), which answers them through its own [`Delivery`]. Each stream
//! subscribes (internally) to its subjects: a publish is stored on the publisher's own
//! task, as nats-server stores a client's publish on the client's goroutine — ordering
//! per publisher and back-pressure come for free, and the work is one `pwrite` — and the
//! acknowledgement goes out through the publisher's [`Delivery`].
//!
//! Streams live in `<store_dir>/jetstream/<account>/streams/<name>/` (`stream.json`, the
//! config and creation time, and `blocks/`, the file store); memory streams are not
//! kept across restarts (as in nats-server). Directories written by nats-server
//! (`meta.inf`, `msgs/`) are left alone.
//!
//! Snapshots and restores (`$JS.API.STREAM.SNAPSHOT` / `RESTORE`) are in [`snapshot`].
//!
//! Not yet: clustering.

mod api;
mod archive;
pub mod consumers;
mod flow;
mod pace;
mod snapshot;
mod sourcing;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hashbrown::HashMap;
use nats_jetstream::{Storage, Stream, StreamConfig};
use nats_store::{FileStore, FileStoreConfig, MemStore, Store};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::account::Account;
use crate::deliver::{Delivery, Msg};
use crate::server::Server;
use crate::sub::{Internal, SubRef, Subscription, Target};
use crate::{debug, error, notice, warn};

/// How many API requests may wait for the JetStream task.
const QUEUE: usize = 4096;
/// nats-server's default `sync_interval`.
const DEFAULT_SYNC: Duration = Duration::from_secs(120);
/// How often age limits are applied between publishes.
const EXPIRE_EVERY: Duration = Duration::from_secs(1);

/// Where the API audit advisories go (in the requester's account).
const AUDIT: &str = "$JS.EVENT.ADVISORY.API";

/// One API request, queued for the task.
struct Job {
    account: Arc<JsAccount>,
    subject: Box<str>,
    reply: Option<Box<str>>,
    hdr_len: Option<usize>,
    data: Box<[u8]>,
    /// The requester as the API audit shows it, when someone listens for audits.
    client: Option<Box<crate::latency::ClientInfo>>,
}

/// A stream as the server holds it.
pub struct StreamHandle {
    pub stream: Mutex<Stream>,
    /// The internal subscriptions capturing its subjects (and its direct-get ones).
    subs: Mutex<Vec<SubRef>>,
    /// Its directory, for file streams.
    dir: Option<PathBuf>,
    /// Its consumers by name.
    pub consumers: Mutex<BTreeMap<String, Arc<consumers::ConsumerHandle>>>,
    /// Mirror and source tasks tailing this stream, woken on each stored message.
    followers: Mutex<Vec<std::sync::Weak<tokio::sync::Notify>>>,
    /// Its own mirror or sources, and how far each got (STREAM.INFO).
    links: Mutex<Vec<sourcing::Link>>,
    /// Stops the task that copies from them.
    link_task: Mutex<Option<tokio_util::sync::CancellationToken>>,
    /// A snapshot is being sent (one at a time, as in Go).
    snapshotting: AtomicBool,
}

/// Publish a JetStream advisory (or ack metric) in `acc`, where Go publishes them, when
/// anyone there listens.
pub(crate) fn advise(srv: &Server, acc: &Arc<Account>, (subject, body): (String, Vec<u8>)) {
    if !acc.has_interest(subject.as_bytes()) {
        return;
    }
    publish_once(srv, acc, &subject, None, &body);
}

/// One message from the server in `acc`, sent at once (not batched with a delivery in
/// progress).
pub(crate) fn publish_once(
    srv: &Server,
    acc: &Arc<Account>,
    subject: &str,
    reply: Option<&[u8]>,
    data: &[u8],
) {
    let mut d = Delivery::new();
    d.publish(
        srv,
        acc,
        None,
        true,
        Msg {
            subject: subject.as_bytes(),
            reply,
            hdr_len: None,
            data,
        },
    );
    d.flush(srv);
}

/// The audit of one API request (Go's `sendJetStreamAPIAuditAdvisory`).
pub(crate) fn advise_api(
    srv: &Server,
    acc: &Arc<Account>,
    client: &crate::latency::ClientInfo,
    subject: &str,
    request: &[u8],
    response: &[u8],
) {
    let id = crate::ids::nuid();
    let domain = srv.js.get().map(|js| js.domain.clone()).unwrap_or_default();
    let cx = nats_jetstream::advisory::Context {
        stream: "",
        id: &id,
        now: now_nanos(),
        domain: &domain,
    };
    advise(
        srv,
        acc,
        cx.api_audit(
            &srv.name,
            client,
            subject,
            &String::from_utf8_lossy(request),
            &String::from_utf8_lossy(response),
        ),
    );
}

/// Publish what happened to stream `stream` of `acc` (`Action`) as an advisory.
pub(crate) fn advise_stream(
    srv: &Server,
    acc: &Arc<Account>,
    stream: &str,
    action: nats_jetstream::advisory::Action,
) {
    let id = crate::ids::nuid();
    let domain = srv.js.get().map(|js| js.domain.clone()).unwrap_or_default();
    let cx = nats_jetstream::advisory::Context {
        stream,
        id: &id,
        now: now_nanos(),
        domain: &domain,
    };
    advise(srv, acc, cx.stream_action(action));
}

/// Publish a consumer's action or events as advisories.
pub(crate) fn advise_consumer(
    srv: &Server,
    acc: &Arc<Account>,
    stream: &str,
    consumer: &str,
    action: Option<nats_jetstream::advisory::Action>,
    events: &[nats_jetstream::advisory::ConsumerEvent],
) {
    let domain = srv.js.get().map(|js| js.domain.clone()).unwrap_or_default();
    let now = now_nanos();
    let one = |f: &dyn Fn(&nats_jetstream::advisory::Context) -> (String, Vec<u8>)| {
        let id = crate::ids::nuid();
        let cx = nats_jetstream::advisory::Context {
            stream,
            id: &id,
            now,
            domain: &domain,
        };
        advise(srv, acc, f(&cx));
    };
    if let Some(a) = action {
        one(&|cx| cx.consumer_action(consumer, a));
    }
    for ev in events {
        one(&|cx| cx.consumer_event(consumer, *ev));
    }
}

/// Wake the mirror and source tasks that follow `h`.
fn wake_followers(h: &StreamHandle) {
    let f = h.followers.lock();
    for w in f.iter() {
        if let Some(n) = w.upgrade() {
            n.notify_one();
        }
    }
}

/// Publish a message a stream's `republish` produced, as its account publishes (other
/// streams may capture it).
fn republish(srv: &Server, acc: &Arc<Account>, rp: &nats_jetstream::Republished) {
    let Some(js) = srv.js.get() else { return };
    let mut body = Vec::with_capacity(rp.hdr.len() + rp.data.len());
    body.extend_from_slice(&rp.hdr);
    body.extend_from_slice(&rp.data);
    let mut d = js.delivery.lock();
    d.publish(
        srv,
        acc,
        None,
        true,
        Msg {
            subject: rp.subject.as_bytes(),
            reply: None,
            hdr_len: Some(rp.hdr.len()),
            data: &body,
        },
    );
    d.flush(srv);
}

/// An account with JetStream.
pub struct JsAccount {
    pub account: Arc<Account>,
    pub streams: Mutex<BTreeMap<String, Arc<StreamHandle>>>,
    api_subs: Mutex<Vec<SubRef>>,
    /// From the account's `jetstream { … }` block (all unlimited without one).
    pub limits: crate::options::AccountJsLimits,
}

impl JsAccount {
    /// Whether storing `size` more bytes would take the account past its limit for
    /// `storage` (Go's `wouldExceedLimits`, checked before each publish when a limit is
    /// set).
    fn over_limit(&self, js: &JetStream, storage: Storage, size: u64) -> bool {
        let limit = match storage {
            Storage::Memory => self.limits.max_memory,
            Storage::File => self.limits.max_store,
        };
        if limit < 0 {
            return false;
        }
        let (mem, file, _) = js.usage(self);
        let used = if storage == Storage::Memory {
            mem
        } else {
            file
        };
        (used + size) as i64 > limit
    }

    /// Go's stream-create checks against the account limits: stream count, required
    /// and per-stream max bytes, and what the streams' max bytes already reserve.
    pub fn check_new_stream(&self, cfg: &StreamConfig) -> Result<(), nats_jetstream::ApiError> {
        use nats_jetstream::ApiError;
        let l = &self.limits;
        let streams = self.streams.lock();
        if l.max_streams > 0 && streams.len() as i64 >= l.max_streams {
            return Err(ApiError::maximum_streams_reached());
        }
        if l.max_bytes_required && cfg.max_bytes <= 0 {
            return Err(ApiError::stream_max_bytes_required());
        }
        let (per_stream, total) = match cfg.storage {
            Storage::Memory => (l.memory_max_stream_bytes, l.max_memory),
            Storage::File => (l.store_max_stream_bytes, l.max_store),
        };
        if per_stream > 0 && cfg.max_bytes > per_stream {
            return Err(ApiError::stream_max_stream_bytes_exceeded());
        }
        if total >= 0 && cfg.max_bytes > 0 {
            let reserved: i64 = streams
                .values()
                .map(|h| h.stream.lock().config().clone())
                .filter(|c| c.storage == cfg.storage && c.max_bytes > 0)
                .map(|c| c.max_bytes)
                .sum();
            if reserved + cfg.max_bytes > total {
                return Err(match cfg.storage {
                    Storage::Memory => ApiError::memory_resources_exceeded(),
                    Storage::File => ApiError::storage_resources_exceeded(),
                });
            }
        }
        Ok(())
    }
}

pub struct JetStream {
    /// `<store_dir>/jetstream`.
    pub dir: PathBuf,
    pub accounts: Mutex<HashMap<String, Arc<JsAccount>>>,
    tx: mpsc::Sender<Job>,
    delivery: Mutex<Delivery>,
    pub api_total: AtomicU64,
    pub api_errors: AtomicU64,
    sync_interval: Duration,
    pub max_memory: i64,
    pub max_store: i64,
    pub domain: String,
}

/// What `stream.json` holds.
#[derive(Serialize, Deserialize)]
struct Meta {
    config: StreamConfig,
    created: i64,
}

pub fn now_nanos() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

/// What nats-server 2.9.10 logs when JetStream starts (before its limits).
const BANNER: &[&str] = &[
    "    _ ___ _____ ___ _____ ___ ___   _   __  __",
    " _ | | __|_   _/ __|_   _| _ \\ __| /_\\ |  \\/  |",
    "| || | _|  | | \\__ \\ | | |   / _| / _ \\| |\\/| |",
    " \\__/|___| |_| |___/ |_| |_|_\\___/_/ \\_\\_|  |_|",
    "",
    "         https://docs.nats.io/jetstream",
    "",
    "---------------- JETSTREAM ----------------",
];

/// Go's `friendlyBytes`: `17.66 GB`, `512.00 MB`, `100 B`.
pub fn friendly_bytes(bytes: i64) -> String {
    let f = bytes as f64;
    if f < 1024.0 {
        return format!("{f} B");
    }
    let exp = (f.ln() / 1024f64.ln()) as i32;
    let unit = ["K", "M", "G", "T", "P", "E"][(exp - 1).clamp(0, 5) as usize];
    format!("{:.2} {unit}B", f / 1024f64.powi(exp))
}

/// nats-server's default memory limit: 75% of the machine's memory.
fn default_max_memory() -> i64 {
    let total_kb = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<i64>().ok())
        })
        .unwrap_or(0);
    total_kb * 1024 / 4 * 3
}

/// nats-server's default storage limit: 75% of the space available where the store is.
fn default_max_store(dir: &Path) -> i64 {
    match rustix::fs::statvfs(dir) {
        Ok(st) => (st.f_bavail as i64).saturating_mul(st.f_frsize as i64) / 4 * 3,
        Err(_) => i64::MAX,
    }
}

/// Start JetStream if the options enable it: the store directory, every account that
/// has it, their streams recovered from disk, and the API task.
pub fn start(srv: &Arc<Server>) -> anyhow::Result<()> {
    let opts = srv.opts();
    let js_opts = &opts.jetstream;
    if !js_opts.enabled {
        return Ok(());
    }
    let root = if js_opts.store_dir.is_empty() {
        std::env::temp_dir().join("nats")
    } else {
        PathBuf::from(&js_opts.store_dir)
    };
    let dir = root.join("jetstream");
    std::fs::create_dir_all(&dir)
        .map_err(|e| anyhow::anyhow!("could not create storage directory - {e}"))?;
    let (tx, rx) = mpsc::channel(QUEUE);
    let js = Arc::new(JetStream {
        dir: dir.clone(),
        accounts: Mutex::new(HashMap::new()),
        tx,
        delivery: Mutex::new(Delivery::new()),
        api_total: AtomicU64::new(0),
        api_errors: AtomicU64::new(0),
        sync_interval: js_opts.sync_interval.unwrap_or(DEFAULT_SYNC),
        max_memory: if js_opts.max_memory > 0 {
            js_opts.max_memory
        } else {
            default_max_memory()
        },
        max_store: if js_opts.max_store > 0 {
            js_opts.max_store
        } else {
            default_max_store(&dir)
        },
        domain: js_opts.domain.clone(),
    });
    if srv.js.set(js.clone()).is_err() {
        return Ok(());
    }
    notice!(srv.log, "Starting JetStream");
    for line in BANNER {
        notice!(srv.log, "{}", line);
    }
    notice!(
        srv.log,
        "  Max Memory:      {}",
        friendly_bytes(js.max_memory)
    );
    notice!(
        srv.log,
        "  Max Storage:     {}",
        friendly_bytes(js.max_store)
    );
    notice!(srv.log, "  Store Directory: \"{}\"", dir.display());
    if !js_opts.domain.is_empty() {
        notice!(srv.log, "  Domain:          {}", js_opts.domain);
    }
    notice!(srv.log, "-------------------------------------------");
    let sys = srv.sys.get().map(|s| s.account.clone());
    let explicit = &js_opts.accounts;
    for acc in srv.accounts.list() {
        if sys.as_ref().is_some_and(|s| Arc::ptr_eq(s, &acc)) {
            continue;
        }
        let enabled = if explicit.is_empty() {
            true
        } else {
            explicit.iter().any(|(n, on)| **n == *acc.name && *on)
        };
        if enabled {
            enable_account(srv, &js, acc);
        }
    }
    srv.tasks.spawn(run(srv.clone(), js, rx));
    Ok(())
}

/// Give `acc` JetStream: its API subscriptions and its streams from disk.
fn enable_account(srv: &Arc<Server>, js: &Arc<JetStream>, acc: Arc<Account>) {
    let limits = srv
        .opts()
        .jetstream
        .account_limits
        .iter()
        .rev()
        .find(|(n, _)| **n == *acc.name)
        .map(|(_, l)| *l)
        .unwrap_or_default();
    let ja = Arc::new(JsAccount {
        account: acc.clone(),
        streams: Mutex::new(BTreeMap::new()),
        api_subs: Mutex::new(Vec::new()),
        limits,
    });
    js.accounts.lock().insert(acc.name.to_string(), ja.clone());
    let mut api_subjects: Vec<String> = ["$JS.API.INFO", "$JS.API.STREAM.>", "$JS.API.CONSUMER.>"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    // With a domain, `$JS.<domain>.API.…` reaches the same API (clients that name the
    // domain use it).
    if !js.domain.is_empty() {
        api_subjects.push(format!("$JS.{}.API.>", js.domain));
    }
    for subject in &api_subjects {
        let tx = js.tx.clone();
        let account = ja.clone();
        let handler = move |srv: &Server, d: &mut Delivery, _: &SubRef, m: Msg<'_>| {
            let acc = &account.account;
            let client = acc.has_interest(AUDIT.as_bytes()).then(|| {
                let conn = match d.publisher() {
                    Some(cid) if !d.from_route() => srv.clients.lock().get(&cid).cloned(),
                    _ => None,
                };
                Box::new(crate::latency::import_client_info(
                    srv,
                    conn.as_deref(),
                    &acc.name,
                ))
            });
            let job = Job {
                account: account.clone(),
                subject: String::from_utf8_lossy(m.subject).into(),
                reply: m.reply.map(|r| String::from_utf8_lossy(r).into()),
                hdr_len: m.hdr_len,
                data: m.data.into(),
                client,
            };
            if tx.try_send(job).is_err() {
                debug!(srv.log, "JetStream API queue full: dropped a request");
            }
        };
        if let Some(sub) = internal_sub(srv, &acc, subject, "jetstream", Box::new(handler)) {
            ja.api_subs.lock().push(sub);
        }
    }
    recover_streams(srv, js, &ja);
}

fn internal_sub(
    srv: &Server,
    acc: &Arc<Account>,
    subject: &str,
    name: &'static str,
    handler: Box<crate::sub::InternalFn>,
) -> Option<SubRef> {
    let sub = SubRef(Arc::new(Subscription::new(
        Target::Internal(Arc::new(Internal { name, handler })),
        acc.clone(),
        subject.as_bytes(),
        None,
        subject.as_bytes(),
        1,
    )));
    match srv.add_local_sub(sub.clone()) {
        Ok(()) => Some(sub),
        Err(_) => {
            error!(
                srv.log,
                "Error setting up internal subscription on {}", subject
            );
            None
        }
    }
}

fn account_dir(js: &JetStream, acc: &Account) -> PathBuf {
    js.dir.join(&*acc.name).join("streams")
}

/// File streams of `ja` from disk.
fn recover_streams(srv: &Arc<Server>, js: &JetStream, ja: &Arc<JsAccount>) {
    let dir = account_dir(js, &ja.account);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let meta_path = path.join("stream.json");
        if !meta_path.exists() {
            if path.join("meta.inf").exists() {
                warn!(
                    srv.log,
                    "Stream directory {:?} was written by nats-server; this server does not read it",
                    path.display().to_string()
                );
            }
            continue;
        }
        let meta: Meta = match std::fs::read(&meta_path)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
        {
            Ok(m) => m,
            Err(err) => {
                warn!(
                    srv.log,
                    "  Error unmarshalling stream metafile {:?}: {}",
                    meta_path.display().to_string(),
                    err
                );
                continue;
            }
        };
        let name = meta.config.name.clone();
        notice!(
            srv.log,
            "  Starting restore for stream '{} > {}'",
            ja.account.name,
            name
        );
        match FileStore::open(FileStoreConfig::new(&path)) {
            Ok((store, rec)) => {
                if rec.truncated > 0 {
                    warn!(
                        srv.log,
                        "  Stream '{} > {}': cut {} bytes of a torn write at the tail",
                        ja.account.name,
                        name,
                        rec.truncated
                    );
                }
                for (block, at, lost) in &rec.damaged {
                    error!(
                        srv.log,
                        "  Stream '{} > {}': block {} damaged at {}, {} bytes unreadable",
                        ja.account.name,
                        name,
                        block,
                        at,
                        lost
                    );
                }
                let stream = Stream::new(meta.config, Box::new(store), meta.created);
                let st = stream.state();
                let h = install(srv, ja, stream, Some(path.clone()));
                notice!(
                    srv.log,
                    "  Restored {} messages for stream '{} > {}'",
                    st.msgs,
                    ja.account.name,
                    name
                );
                consumers::recover(srv, ja, &h, &path);
            }
            Err(err) => error!(srv.log, "  Error recreating stream {:?}: {}", name, err),
        }
    }
}

/// Create a stream's store (and directory), returning it ready for [`install`].
fn create_store(
    js: &JetStream,
    ja: &JsAccount,
    cfg: &StreamConfig,
    created: i64,
) -> Result<(Box<dyn Store>, Option<PathBuf>), String> {
    if cfg.storage == Storage::Memory {
        return Ok((Box::new(MemStore::new()), None));
    }
    let dir = account_dir(js, &ja.account).join(&cfg.name);
    // A new stream starts empty, whatever an earlier one of the name left behind.
    if dir.exists() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    write_meta(&dir, cfg, created)?;
    let (store, _) = FileStore::open(FileStoreConfig::new(&dir)).map_err(|e| e.to_string())?;
    Ok((Box::new(store), Some(dir)))
}

/// `stream.json`, replaced atomically (write, sync, rename).
fn write_meta(dir: &Path, cfg: &StreamConfig, created: i64) -> Result<(), String> {
    let meta = Meta {
        config: cfg.clone(),
        created,
    };
    let body = serde_json::to_vec(&meta).map_err(|e| e.to_string())?;
    let tmp = dir.join("stream.json.tmp");
    std::fs::write(&tmp, &body).map_err(|e| e.to_string())?;
    if let Ok(f) = std::fs::File::open(&tmp) {
        let _ = f.sync_all();
    }
    std::fs::rename(&tmp, dir.join("stream.json")).map_err(|e| e.to_string())
}

/// Put a stream in its account and subscribe to its subjects.
fn install(
    srv: &Arc<Server>,
    ja: &Arc<JsAccount>,
    stream: Stream,
    dir: Option<PathBuf>,
) -> Arc<StreamHandle> {
    let handle = Arc::new(StreamHandle {
        stream: Mutex::new(stream),
        subs: Mutex::new(Vec::new()),
        dir,
        consumers: Mutex::new(BTreeMap::new()),
        followers: Mutex::new(Vec::new()),
        links: Mutex::new(Vec::new()),
        link_task: Mutex::new(None),
        snapshotting: AtomicBool::new(false),
    });
    subscribe_stream(srv, ja, &handle);
    let name = handle.stream.lock().config().name.clone();
    ja.streams.lock().insert(name, handle.clone());
    sourcing::start(srv, ja, &handle);
    handle
}

/// The capture subscriptions of a stream (one per subject), and its direct-get ones.
fn subscribe_stream(srv: &Server, ja: &Arc<JsAccount>, handle: &Arc<StreamHandle>) {
    let cfg = handle.stream.lock().config().clone();
    let mut subs = Vec::new();
    let limited = match cfg.storage {
        Storage::Memory => ja.limits.max_memory >= 0,
        Storage::File => ja.limits.max_store >= 0,
    };
    for subject in &cfg.subjects {
        let weak = Arc::downgrade(handle);
        let wja = Arc::downgrade(ja);
        let storage = cfg.storage;
        let handler = move |srv: &Server, d: &mut Delivery, sub: &SubRef, m: Msg<'_>| {
            let Some(h) = weak.upgrade() else { return };
            let split = m.hdr_len.unwrap_or(0).min(m.data.len());
            let (hdr, data) = m.data.split_at(split);
            let subject = String::from_utf8_lossy(m.subject);
            // Only accounts with a storage limit pay for adding up their usage.
            let over = limited
                && match (wja.upgrade(), srv.js.get()) {
                    (Some(ja), Some(js)) => {
                        let size = match storage {
                            Storage::Memory => {
                                nats_store::mem_msg_size(subject.len(), hdr.len(), data.len())
                            }
                            Storage::File => {
                                nats_store::file_msg_size(subject.len(), hdr.len(), data.len())
                            }
                        };
                        ja.over_limit(js, storage, size)
                    }
                    _ => false,
                };
            let out = {
                let mut s = h.stream.lock();
                if over {
                    s.refuse(nats_jetstream::ApiError::account_resources_exceeded())
                } else {
                    s.publish(&subject, hdr, data, now_nanos(), m.reply.is_some())
                }
            };
            if out.seq.is_some() {
                for c in h.consumers.lock().values() {
                    c.wake.notify_one();
                }
                wake_followers(&h);
            }
            if let Some(rp) = &out.republish {
                // As the stream's account publishes it: other streams may capture it.
                let mut body = Vec::with_capacity(rp.hdr.len() + rp.data.len());
                body.extend_from_slice(&rp.hdr);
                body.extend_from_slice(&rp.data);
                d.publish(
                    srv,
                    &sub.account,
                    None,
                    true,
                    Msg {
                        subject: rp.subject.as_bytes(),
                        reply: None,
                        hdr_len: Some(rp.hdr.len()),
                        data: &body,
                    },
                );
            }
            if let (Some(reply), Some(ack)) = (m.reply, out.ack) {
                d.publish(
                    srv,
                    &sub.account,
                    None,
                    true,
                    Msg {
                        subject: reply,
                        reply: None,
                        hdr_len: None,
                        data: &ack,
                    },
                );
            }
        };
        if let Some(s) = internal_sub(
            srv,
            &ja.account,
            subject,
            "jetstream stream",
            Box::new(handler),
        ) {
            subs.push(s);
        }
    }
    if cfg.allow_direct {
        for subject in [
            format!("$JS.API.DIRECT.GET.{}", cfg.name),
            format!("$JS.API.DIRECT.GET.{}.>", cfg.name),
        ] {
            let weak = Arc::downgrade(handle);
            let handler = move |srv: &Server, d: &mut Delivery, sub: &SubRef, m: Msg<'_>| {
                let Some(h) = weak.upgrade() else { return };
                api::direct_get(srv, d, &sub.account, &h, m);
            };
            if let Some(s) = internal_sub(
                srv,
                &ja.account,
                &subject,
                "jetstream direct",
                Box::new(handler),
            ) {
                subs.push(s);
            }
        }
    }
    *handle.subs.lock() = subs;
}

fn unsubscribe_stream(srv: &Server, handle: &StreamHandle) {
    for s in handle.subs.lock().drain(..) {
        srv.remove_sub(&s, false);
    }
}

/// The JetStream task: API requests, periodic syncs and age limits.
async fn run(srv: Arc<Server>, js: Arc<JetStream>, mut rx: mpsc::Receiver<Job>) {
    let mut sync = tokio::time::interval(js.sync_interval);
    sync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut expire = tokio::time::interval(EXPIRE_EVERY);
    expire.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = srv.shutdown.cancelled() => {
                flush_all(&srv, &js);
                return;
            }
            job = rx.recv() => {
                let Some(job) = job else { return };
                api::handle(&srv, &js, job);
            }
            _ = sync.tick() => flush_all(&srv, &js),
            _ = expire.tick() => {
                let now = now_nanos();
                for h in all_streams(&js) {
                    let mut s = h.stream.lock();
                    if s.config().max_age > 0 {
                        s.expire(now);
                    }
                }
            }
        }
    }
}

fn all_streams(js: &JetStream) -> Vec<Arc<StreamHandle>> {
    let accounts: Vec<Arc<JsAccount>> = js.accounts.lock().values().cloned().collect();
    accounts
        .iter()
        .flat_map(|a| a.streams.lock().values().cloned().collect::<Vec<_>>())
        .collect()
}

/// fsync every file stream (every `sync_interval`, and at shutdown).
fn flush_all(srv: &Server, js: &JetStream) {
    for h in all_streams(js) {
        if h.dir.is_some() {
            if let Err(e) = h.stream.lock().store_mut().flush() {
                error!(srv.log, "JetStream failed to sync a stream: {}", e);
            }
        }
    }
}

impl JetStream {
    fn publish(
        &self,
        srv: &Server,
        acc: &Arc<Account>,
        subject: &str,
        hdr: Option<usize>,
        body: &[u8],
    ) {
        let mut d = self.delivery.lock();
        d.publish(
            srv,
            acc,
            None,
            true,
            Msg {
                subject: subject.as_bytes(),
                reply: None,
                hdr_len: hdr,
                data: body,
            },
        );
        d.flush(srv);
    }

    /// Streams and bytes used, for `$JS.API.INFO` and `/jsz`: (memory, storage, streams).
    pub fn usage(&self, ja: &JsAccount) -> (u64, u64, usize) {
        let streams = ja.streams.lock();
        let (mut mem, mut file) = (0, 0);
        for h in streams.values() {
            let s = h.stream.lock();
            let bytes = s.state().bytes;
            match s.config().storage {
                Storage::Memory => mem += bytes,
                Storage::File => file += bytes,
            }
        }
        (mem, file, streams.len())
    }
}

pub(crate) fn count_api(js: &JetStream, error: bool) {
    js.api_total.fetch_add(1, Ordering::Relaxed);
    if error {
        js.api_errors.fetch_add(1, Ordering::Relaxed);
    }
}
