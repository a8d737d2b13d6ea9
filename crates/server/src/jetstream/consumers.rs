//! Consumers on the server: each one is a [`nats_jetstream::consumer::Consumer`] state
//! machine behind a lock, an internal subscription on its ack subjects, and a task that
//! hands out messages — to the deliver subject (push) or to waiting pull requests —
//! whenever the stream stores a message, a request or an ack arrives, or a timer
//! (redelivery, request expiry, heartbeat, inactivity) is due.
//!
//! Lock order: consumer, then stream. A stream's capture path takes only the stream
//! lock and then wakes its consumers.
//!
//! Durable consumers of file streams keep `consumers/<name>.json` (config, creation
//! time, delivered/ack floor/pending) in the stream's directory, rewritten (atomically)
//! after changes; what a kill -9 loses is at most the last few acks, which come back
//! as redeliveries — JetStream's at-least-once, as in Go.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use nats_jetstream::advisory::Action;
use nats_jetstream::consumer::{AckKind, Consumer, ConsumerState, NextRequest, Outgoing, Status};
use nats_jetstream::{ApiError, ConsumerConfig, ReplayPolicy, Retention};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::flow::{self, Flow};
use super::pace::Pacer;
use super::{internal_sub, now_nanos, JsAccount, StreamHandle};
use crate::account::Account;
use crate::deliver::{Delivery, Msg};
use crate::server::Server;
use crate::sub::SubRef;
use crate::warn;

/// Messages one wake-up hands out before letting other tasks run.
const BATCH: usize = 1024;
/// How often an idle consumer's task looks at its timers anyway.
const IDLE_TICK: Duration = Duration::from_secs(1);
/// A durable's state is written at most this often (and at shutdown): a kill -9 may
/// redeliver what was acknowledged in the last interval, never lose a message.
const SAVE_EVERY: Duration = Duration::from_millis(100);
/// How soon a push consumer without subscribers looks for them again, at first and
/// at most.
const NO_INTEREST_MIN: Duration = Duration::from_millis(1);
const NO_INTEREST_MAX: Duration = Duration::from_millis(250);
/// nats-server 2.9.10's inactivity threshold for ephemeral consumers.
const EPHEMERAL_INACTIVE: i64 = 5_000_000_000;

pub struct ConsumerHandle {
    pub consumer: Mutex<Consumer>,
    pub wake: Notify,
    stream: Weak<StreamHandle>,
    account: Arc<Account>,
    ack_sub: Mutex<Option<SubRef>>,
    /// Flow control (push consumers with `flow_control`) and the subscription its
    /// answers come on. Locked after the consumer and the stream.
    flow: Mutex<Flow>,
    fc_sub: Mutex<Option<SubRef>>,
    /// `consumers/<name>.json` for a durable consumer of a file stream.
    file: Option<PathBuf>,
    ephemeral: bool,
    /// Last time a client showed interest (a pull request, or the deliver subject had
    /// subscribers), Unix ns.
    last_active: AtomicI64,
    stop: CancellationToken,
    /// Whether the task should save the state when it can.
    deleted: AtomicBool,
}

/// What `consumers/<name>.json` holds (and a snapshot's consumer records).
#[derive(Serialize, Deserialize)]
pub(crate) struct Saved {
    pub config: ConsumerConfig,
    pub created: i64,
    pub state: ConsumerState,
}

/// A message taken from the consumer with its ack subject and its size on the wire (Go's
/// count: subject, ack subject, headers, payload).
type Taken = (Outgoing, String, usize);

/// The consumer task's pacing (`replay_policy: original`, `rate_limit_bps`) and the
/// message it holds back until its time.
struct Pace {
    pacer: Pacer,
    held: Option<(Taken, i64)>,
}

impl Pace {
    fn start(srv: &Server, sh: &StreamHandle, ch: &ConsumerHandle) -> Pace {
        let c = ch.consumer.lock();
        let s = sh.stream.lock();
        let cfg = c.config();
        let replay =
            (cfg.replay_policy == ReplayPolicy::Original).then(|| s.store().state().last_seq);
        let pacer = Pacer::new(
            replay,
            cfg.rate_limit_bps,
            bucket_depth(srv, s.config().max_msg_size),
            now_nanos(),
        );
        Pace { pacer, held: None }
    }

    /// The next message that may go at `now`: the one held back once its time has come,
    /// else a fresh one from `take` unless it must wait (then it is held).
    fn next(&mut self, now: i64, take: impl FnOnce() -> Option<Taken>) -> Option<Taken> {
        if let Some((_, at)) = &self.held {
            if *at > now {
                return None;
            }
            return self.held.take().map(|(t, _)| t);
        }
        let t = take()?;
        if self.pacer.active() {
            let at = self.pacer.admit(t.0.msg.seq, t.0.msg.ts, t.2, now);
            if at > now {
                self.held = Some((t, at));
                return None;
            }
        }
        Some(t)
    }
}

/// The rate limiter's bucket: as deep as the largest message the stream takes.
fn bucket_depth(srv: &Server, max_msg_size: i64) -> u64 {
    if max_msg_size > 0 {
        max_msg_size as u64
    } else {
        srv.opts().max_payload.max(1) as u64
    }
}

fn wire_size(o: &Outgoing, ack: &str, headers_only: bool) -> usize {
    let data = if headers_only { 0 } else { o.msg.data.len() };
    o.msg.subject.len() + ack.len() + o.msg.hdr.len() + data
}

impl ConsumerHandle {
    /// Whether a push consumer's deliver subject has subscribers.
    pub fn bound(&self) -> bool {
        let subject = self.consumer.lock().config().deliver_subject.clone();
        !subject.is_empty() && has_interest(&self.account, &subject)
    }
}

/// `$JS.API.CONSUMER.CREATE…` / `DURABLE.CREATE…`'s body.
#[derive(Deserialize)]
pub struct CreateReq {
    #[serde(default)]
    pub stream_name: String,
    pub config: ConsumerConfig,
}

/// A random ephemeral consumer name (8 characters, as Go's).
fn ephemeral_name() -> String {
    let id = crate::ids::nuid();
    id[id.len() - 8..].to_string()
}

fn check_name(name: &str) -> Result<(), ApiError> {
    if name.contains(['/', '\\']) {
        return Err(ApiError::consumer_name_contains_path_separators());
    }
    if name.contains(['.', '*', '>']) {
        return Err(ApiError::consumer_bad_durable_name());
    }
    Ok(())
}

/// Create (or return, or update) a consumer on `sh`. `subject_name`/`subject_filter`
/// are what the request subject named; `durable_api` is the DURABLE.CREATE form.
pub fn create(
    srv: &Arc<Server>,
    ja: &Arc<JsAccount>,
    sh: &Arc<StreamHandle>,
    req: CreateReq,
    subject_name: Option<&str>,
    subject_filter: Option<&str>,
    durable_api: bool,
) -> Result<Arc<ConsumerHandle>, ApiError> {
    let mut cfg = req.config;
    if durable_api {
        let name = subject_name.unwrap_or_default();
        if cfg.durable_name.is_empty() {
            return Err(ApiError::consumer_durable_name_not_in_subject());
        }
        if cfg.durable_name != name {
            return Err(ApiError::consumer_durable_name_not_match_subject());
        }
    } else if let Some(name) = subject_name {
        if !cfg.durable_name.is_empty() && cfg.durable_name != name {
            return Err(ApiError::consumer_durable_name_not_match_subject());
        }
        if !cfg.name.is_empty() && cfg.name != name {
            return Err(ApiError::consumer_durable_name_not_match_subject());
        }
        if let Some(f) = subject_filter {
            if cfg.filter_subject != f {
                return Err(ApiError::consumer_create_filter_subject_mismatch());
            }
        }
        if cfg.name.is_empty() {
            cfg.name = name.to_string();
        }
    } else if !cfg.durable_name.is_empty() {
        return Err(ApiError::consumer_ephemeral_with_durable_name());
    }
    let stream_cfg = sh.stream.lock().config().clone();
    let cfg = cfg.normalized(&stream_cfg)?;
    let durable = !cfg.durable_name.is_empty();
    let name = if durable {
        cfg.durable_name.clone()
    } else if !cfg.name.is_empty() {
        cfg.name.clone()
    } else {
        ephemeral_name()
    };
    check_name(&name)?;
    if let Some(existing) = sh.consumers.lock().get(&name).cloned() {
        let mut c = existing.consumer.lock();
        if *c.config() == cfg || (!durable && cfg.name.is_empty()) {
            drop(c);
            return Ok(existing);
        }
        // Go lets a durable change its limits and timers, not what it delivers.
        let old = c.config();
        let same_shape = old.deliver_policy == cfg.deliver_policy
            && old.ack_policy == cfg.ack_policy
            && old.filter_subject == cfg.filter_subject
            && old.opt_start_seq == cfg.opt_start_seq
            && old.replay_policy == cfg.replay_policy
            && old.deliver_subject.is_empty() == cfg.deliver_subject.is_empty();
        if !same_shape {
            return Err(ApiError::consumer_name_exists());
        }
        c.set_config(cfg);
        drop(c);
        existing.wake.notify_one();
        return Ok(existing);
    }
    if stream_cfg.retention == Retention::Workqueue {
        // (Explicit acks and deliver-all are checked by `normalized`.)
        // Go: a second consumer must be filtered, and its filter unique.
        let others: Vec<String> = sh
            .consumers
            .lock()
            .values()
            .map(|o| o.consumer.lock().config().filter_subject.clone())
            .collect();
        if !others.is_empty() && !cfg.direct {
            if cfg.filter_subject.is_empty() {
                return Err(ApiError::consumer_wq_multiple_unfiltered());
            }
            if others
                .iter()
                .any(|f| f.is_empty() || subjects_collide(f, &cfg.filter_subject))
            {
                return Err(ApiError::consumer_wq_not_unique());
            }
        }
    }
    // The stream's own limit, and the account's (per stream, as Go counts it).
    let n = sh.consumers.lock().len() as i64;
    if (stream_cfg.max_consumers > 0 && n >= stream_cfg.max_consumers)
        || (ja.limits.max_consumers > 0 && n >= ja.limits.max_consumers)
    {
        return Err(ApiError::maximum_consumers_limit());
    }
    let created = now_nanos();
    let consumer = {
        let s = sh.stream.lock();
        Consumer::new(&stream_cfg.name, &name, cfg, created, s.store())
    };
    let file = (durable && sh.dir.is_some())
        .then(|| {
            sh.dir
                .as_ref()
                .map(|d| d.join("consumers").join(format!("{name}.json")))
        })
        .flatten();
    if let Some(dir) = file.as_ref().and_then(|f| f.parent()) {
        let _ = std::fs::create_dir_all(dir);
    }
    let ch = start(srv, ja, sh, consumer, file, !durable);
    save(&ch);
    let (stream, name) = {
        let c = ch.consumer.lock();
        (c.stream_name().to_string(), c.name().to_string())
    };
    super::advise_consumer(srv, &ja.account, &stream, &name, Some(Action::Create), &[]);
    Ok(ch)
}

fn subjects_collide(a: &str, b: &str) -> bool {
    use nats_jetstream::consumer::nats_subject_matches as m;
    m(a, b) || m(b, a)
}

/// Put a consumer in its stream: its ack subscription and its task.
fn start(
    srv: &Arc<Server>,
    ja: &Arc<JsAccount>,
    sh: &Arc<StreamHandle>,
    consumer: Consumer,
    file: Option<PathBuf>,
    ephemeral: bool,
) -> Arc<ConsumerHandle> {
    let name = consumer.name().to_string();
    let stream_name = consumer.stream_name().to_string();
    let flow_on = !consumer.config().is_pull() && consumer.config().flow_control;
    let ch = Arc::new(ConsumerHandle {
        consumer: Mutex::new(consumer),
        wake: Notify::new(),
        stream: Arc::downgrade(sh),
        account: ja.account.clone(),
        ack_sub: Mutex::new(None),
        flow: Mutex::new(Flow::new(flow_on)),
        fc_sub: Mutex::new(None),
        file,
        ephemeral,
        last_active: AtomicI64::new(now_nanos()),
        stop: CancellationToken::new(),
        deleted: AtomicBool::new(false),
    });
    let weak = Arc::downgrade(&ch);
    let handler = move |srv: &Server, d: &mut Delivery, sub: &SubRef, m: Msg<'_>| {
        let Some(ch) = weak.upgrade() else { return };
        on_ack(srv, d, &sub.account, &ch, m);
    };
    let ack_subject = format!("$JS.ACK.{stream_name}.{name}.>");
    *ch.ack_sub.lock() = internal_sub(
        srv,
        &ja.account,
        &ack_subject,
        "jetstream ack",
        Box::new(handler),
    );
    if flow_on {
        let weak = Arc::downgrade(&ch);
        let handler = move |_: &Server, _: &mut Delivery, _: &SubRef, m: Msg<'_>| {
            let Some(ch) = weak.upgrade() else { return };
            let subject = String::from_utf8_lossy(m.subject);
            if ch.flow.lock().answered(&subject) {
                ch.wake.notify_one();
            }
        };
        *ch.fc_sub.lock() = internal_sub(
            srv,
            &ja.account,
            &format!("$JS.FC.{stream_name}.{name}.*"),
            "jetstream flow control",
            Box::new(handler),
        );
    }
    let n = {
        let mut map = sh.consumers.lock();
        map.insert(name, ch.clone());
        map.len()
    };
    sh.stream.lock().set_consumers(n);
    srv.tasks.spawn(run(srv.clone(), sh.clone(), ch.clone()));
    ch
}

/// Remove a consumer: its subscription, its task, its file. Waiting pull requests get
/// Go's 409 Consumer Deleted.
pub fn delete(srv: &Server, sh: &StreamHandle, name: &str) -> bool {
    let Some(ch) = sh.consumers.lock().remove(name) else {
        return false;
    };
    let n = sh.consumers.lock().len();
    sh.stream.lock().set_consumers(n);
    stop(srv, &ch, true);
    advise_deleted(srv, &ch);
    true
}

/// The consumer-deleted advisory.
pub fn advise_deleted(srv: &Server, ch: &ConsumerHandle) {
    let (stream, name) = {
        let c = ch.consumer.lock();
        (c.stream_name().to_string(), c.name().to_string())
    };
    super::advise_consumer(srv, &ch.account, &stream, &name, Some(Action::Delete), &[]);
}

/// Publish what the consumer reported since last asked (max deliveries, naks,
/// terminations, sampled acks).
fn advise_events(srv: &Server, ch: &ConsumerHandle) {
    let (stream, name, events) = {
        let mut c = ch.consumer.lock();
        let events = c.take_events();
        if events.is_empty() {
            return;
        }
        (c.stream_name().to_string(), c.name().to_string(), events)
    };
    super::advise_consumer(srv, &ch.account, &stream, &name, None, &events);
}

/// Stop a consumer's task and subscription; `forget` also removes its file.
pub fn stop(srv: &Server, ch: &ConsumerHandle, forget: bool) {
    ch.deleted.store(forget, Ordering::Relaxed);
    for sub in [&ch.ack_sub, &ch.fc_sub] {
        if let Some(s) = sub.lock().take() {
            srv.remove_sub(&s, false);
        }
    }
    let statuses = ch.consumer.lock().drain_requests();
    let mut d = Delivery::new();
    send_statuses(srv, &mut d, &ch.account, statuses);
    d.flush(srv);
    ch.stop.cancel();
    if forget {
        if let Some(f) = &ch.file {
            let _ = std::fs::remove_file(f);
        }
    }
}

/// Durable consumers of a file stream, from `<dir>/consumers/`.
pub fn recover(srv: &Arc<Server>, ja: &Arc<JsAccount>, sh: &Arc<StreamHandle>, dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir.join("consumers")) else {
        return;
    };
    let stream_name = sh.stream.lock().config().name.clone();
    let entries: Vec<_> = entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .collect();
    if entries.is_empty() {
        return;
    }
    crate::notice!(
        srv.log,
        "  Recovering {} consumers for stream - '{} > {}'",
        entries.len(),
        ja.account.name,
        stream_name
    );
    for e in entries {
        let path = e.path();
        let saved: Saved = match std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
        {
            Ok(s) => s,
            Err(err) => {
                warn!(
                    srv.log,
                    "  Error reading consumer state {:?}: {}",
                    path.display().to_string(),
                    err
                );
                continue;
            }
        };
        start_saved(srv, ja, sh, &stream_name, saved, Some(path));
    }
}

/// A durable consumer's config and state as a snapshot keeps them (None for an
/// ephemeral one, which a snapshot leaves out).
pub(crate) fn saved(ch: &ConsumerHandle) -> Option<Saved> {
    if ch.ephemeral {
        return None;
    }
    let c = ch.consumer.lock();
    Some(Saved {
        config: c.config().clone(),
        created: c.created(),
        state: c.state().clone(),
    })
}

/// Put a durable consumer from a snapshot into its restored stream (kept in the
/// stream's directory for a file stream). What was pending is due again.
pub(crate) fn restore_saved(
    srv: &Arc<Server>,
    ja: &Arc<JsAccount>,
    sh: &Arc<StreamHandle>,
    saved: Saved,
) -> Result<(), String> {
    let name = saved.config.durable_name.clone();
    if name.is_empty() || check_name(&name).is_err() {
        return Err(format!("bad consumer name {name:?}"));
    }
    if sh.consumers.lock().contains_key(&name) {
        return Err(format!("consumer {name:?} twice"));
    }
    let stream_name = sh.stream.lock().config().name.clone();
    let file = sh
        .dir
        .as_ref()
        .map(|d| d.join("consumers").join(format!("{name}.json")));
    if let Some(dir) = file.as_ref().and_then(|f| f.parent()) {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    let ch = start_saved(srv, ja, sh, &stream_name, saved, file);
    save(&ch);
    Ok(())
}

/// Start a durable consumer from its saved config and state (its file, or a snapshot).
fn start_saved(
    srv: &Arc<Server>,
    ja: &Arc<JsAccount>,
    sh: &Arc<StreamHandle>,
    stream_name: &str,
    saved: Saved,
    file: Option<PathBuf>,
) -> Arc<ConsumerHandle> {
    let name = saved.config.durable_name.clone();
    let c = Consumer::restore(
        stream_name,
        &name,
        saved.config,
        saved.created,
        saved.state,
        now_nanos(),
    );
    start(srv, ja, sh, c, file, false)
}

/// Write a durable consumer's file (write, rename).
fn save(ch: &ConsumerHandle) {
    let Some(path) = &ch.file else { return };
    // A stopped consumer's stream may be gone, directory and all: never write there.
    if ch.stop.is_cancelled() {
        return;
    }
    let body = {
        let c = ch.consumer.lock();
        serde_json::to_vec(&Saved {
            config: c.config().clone(),
            created: c.created(),
            state: c.state().clone(),
        })
    };
    let Ok(body) = body else { return };
    let tmp = path.with_extension("json.tmp");
    if std::fs::write(&tmp, &body).is_ok() {
        let _ = std::fs::rename(&tmp, path);
    }
}

/// A pull request (`$JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>`): queued, or
/// answered at once with a status.
pub fn next_request(
    srv: &Server,
    sh: &StreamHandle,
    ch: &ConsumerHandle,
    reply: &str,
    body: &[u8],
) {
    let body = body.trim_ascii();
    let req = if body.is_empty() {
        NextRequest {
            batch: 1,
            ..Default::default()
        }
    } else if let Ok(n) = std::str::from_utf8(body).unwrap_or("").parse::<i64>() {
        NextRequest {
            batch: n,
            ..Default::default()
        }
    } else {
        match nats_jetstream::from_go_json::<NextRequest>(body) {
            Ok(r) => r,
            Err(_) => {
                let mut d = Delivery::new();
                let st = Status {
                    reply: reply.to_string(),
                    hdr: nats_jetstream::consumer::status_hdr(400, "Bad Request"),
                };
                send_statuses(srv, &mut d, &ch.account, vec![st]);
                d.flush(srv);
                return;
            }
        }
    };
    let now = now_nanos();
    ch.last_active.store(now, Ordering::Relaxed);
    let status = {
        let mut c = ch.consumer.lock();
        let s = sh.stream.lock();
        c.add_request(reply, req, s.store(), now)
    };
    if let Some(st) = status {
        let mut d = Delivery::new();
        send_statuses(srv, &mut d, &ch.account, vec![st]);
        d.flush(srv);
    }
    ch.wake.notify_one();
}

/// An ack: `$JS.ACK.<stream>.<consumer>.<dc>.<sseq>.<cseq>.<ts>.<pending>` with an ack
/// body. A reply subject (an "ack sync") gets an empty message once it is applied.
fn on_ack(srv: &Server, d: &mut Delivery, acc: &Arc<Account>, ch: &ConsumerHandle, m: Msg<'_>) {
    // `$JS.ACK.<stream>.<consumer>.<dc>.<sseq>.<cseq>…`: tokens 4, 5 and 6.
    let mut tokens = m.subject.split(|&b| b == b'.').skip(4);
    let mut num = || {
        std::str::from_utf8(tokens.next()?)
            .ok()?
            .parse::<u64>()
            .ok()
    };
    let (Some(dc), Some(sseq), Some(cseq)) = (num(), num(), num()) else {
        return;
    };
    let body = &m.data[m.hdr_len.unwrap_or(0).min(m.data.len())..];
    let Some(kind) = AckKind::parse(body) else {
        return;
    };
    let now = now_nanos();
    // The task has work only when this ack frees room under max_ack_pending or asks
    // for a redelivery; waking it for every ack would cost a pass per ack.
    let (done, wake) = {
        let mut c = ch.consumer.lock();
        let was_full = !c.below_max_ack_pending();
        let done = c.ack_with(sseq, cseq, dc, kind, now);
        (
            done,
            was_full || matches!(kind, AckKind::Nak(_)) || c.has_redeliveries(),
        )
    };
    advise_events(srv, ch);
    if !done.is_empty() {
        if let Some(sh) = ch.stream.upgrade() {
            retire(&sh, &done);
        }
    }
    if let Some(reply) = m.reply {
        d.publish(
            srv,
            acc,
            None,
            true,
            Msg {
                subject: reply,
                reply: None,
                hdr_len: None,
                data: b"",
            },
        );
    }
    // +NXT asks for more on the same subject: a pull request for the reply.
    if body.trim_ascii().starts_with(b"+NXT") {
        if let (Some(reply), Some(sh)) = (m.reply, ch.stream.upgrade()) {
            let rest = body.trim_ascii()[4..].trim_ascii();
            next_request(srv, &sh, ch, &String::from_utf8_lossy(reply), rest);
        }
    }
    if wake {
        ch.wake.notify_one();
    }
}

/// Acknowledged messages leave a work-queue stream, and an interest stream once no
/// consumer needs them.
fn retire(sh: &StreamHandle, seqs: &[u64]) {
    let retention = sh.stream.lock().config().retention;
    match retention {
        Retention::Limits => {}
        Retention::Workqueue => {
            let mut s = sh.stream.lock();
            for seq in seqs {
                let _ = s.store_mut().remove(*seq, false);
            }
        }
        Retention::Interest => {
            let consumers: Vec<Arc<ConsumerHandle>> =
                sh.consumers.lock().values().cloned().collect();
            for seq in seqs {
                let subject = match sh.stream.lock().store().get(*seq) {
                    Ok(Some(m)) => m.subject,
                    _ => continue,
                };
                if !consumers
                    .iter()
                    .any(|c| c.consumer.lock().needs(*seq, &subject))
                {
                    let _ = sh.stream.lock().store_mut().remove(*seq, false);
                }
            }
        }
    }
}

fn send_statuses(srv: &Server, d: &mut Delivery, acc: &Arc<Account>, statuses: Vec<Status>) {
    for st in statuses {
        let hdr = st.hdr.as_bytes();
        d.publish(
            srv,
            acc,
            None,
            true,
            Msg {
                subject: st.reply.as_bytes(),
                reply: None,
                hdr_len: Some(hdr.len()),
                data: hdr,
            },
        );
    }
}

/// The consumer's task.
async fn run(srv: Arc<Server>, sh: Arc<StreamHandle>, ch: Arc<ConsumerHandle>) {
    let mut d = Delivery::new();
    let mut last_push = now_nanos();
    let mut unsaved = false;
    let mut last_save = std::time::Instant::now();
    // A push consumer without subscribers looks again soon, then less often: nothing
    // wakes it when a subscription appears.
    let mut no_interest_wait = NO_INTEREST_MIN;
    let mut pace = Pace::start(&srv, &sh, &ch);
    loop {
        let (due, more, no_interest) = pump(&srv, &sh, &ch, &mut d, &mut last_push, &mut pace);
        d.flush(&srv);
        advise_events(&srv, &ch);
        // A subscriber falling behind (over half its pending limit) pauses this consumer,
        // as a publishing client would be paused, instead of being cut as a slow consumer.
        if let Some(slow) = d.stall.take() {
            slow.wait_drained(crate::deliver::MAX_STALL).await;
        }
        unsaved |= ch.consumer.lock().take_dirty();
        if unsaved && last_save.elapsed() >= SAVE_EVERY && !ch.stop.is_cancelled() {
            save(&ch);
            unsaved = false;
            last_save = std::time::Instant::now();
        }
        if ch.ephemeral && inactive(&srv, &ch) {
            let name = ch.consumer.lock().name().to_string();
            delete(&srv, &sh, &name);
            return;
        }
        if more {
            tokio::task::yield_now().await;
            continue;
        }
        let mut wait = due
            .map(|t| Duration::from_nanos((t - now_nanos()).max(0) as u64))
            .unwrap_or(IDLE_TICK)
            .min(IDLE_TICK);
        if no_interest {
            wait = wait.min(no_interest_wait);
            no_interest_wait = (no_interest_wait * 2).min(NO_INTEREST_MAX);
        } else {
            no_interest_wait = NO_INTEREST_MIN;
        }
        if unsaved {
            wait = wait.min(SAVE_EVERY.saturating_sub(last_save.elapsed()));
        }
        tokio::select! {
            _ = ch.wake.notified() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = ch.stop.cancelled() => return,
            _ = srv.shutdown.cancelled() => {
                if !ch.deleted.load(Ordering::Relaxed) {
                    save(&ch);
                }
                return;
            }
        }
    }
}

/// Whether an ephemeral consumer has gone unused past its threshold.
fn inactive(srv: &Server, ch: &ConsumerHandle) -> bool {
    let c = ch.consumer.lock();
    let cfg = c.config();
    let threshold = if cfg.inactive_threshold > 0 {
        cfg.inactive_threshold
    } else {
        EPHEMERAL_INACTIVE
    };
    let now = now_nanos();
    let active = if cfg.is_pull() {
        c.waiting() > 0
    } else {
        has_interest(&ch.account, &cfg.deliver_subject)
    };
    drop(c);
    if active {
        ch.last_active.store(now, Ordering::Relaxed);
        return false;
    }
    let _ = srv;
    now - ch.last_active.load(Ordering::Relaxed) > threshold
}

fn has_interest(acc: &Account, subject: &str) -> bool {
    acc.has_interest(subject.as_bytes())
}

/// Hand out what can go out now. Returns the next time something is due, and whether
/// it stopped at its batch limit with more to send.
fn pump(
    srv: &Server,
    sh: &StreamHandle,
    ch: &ConsumerHandle,
    d: &mut Delivery,
    last_push: &mut i64,
    pace: &mut Pace,
) -> (Option<i64>, bool, bool) {
    let now = now_nanos();
    let mut no_interest = false;
    // Each message with its ack subject, and a flow control request to send after it.
    let mut out: Vec<(Outgoing, String, Option<String>)> = Vec::new();
    let mut statuses: Vec<Status> = Vec::new();
    let (due, deliver_subject, headers_only, heartbeat) = {
        let mut c = ch.consumer.lock();
        let s = sh.stream.lock();
        let store = s.store();
        let due = c.tick(now);
        c.expire_requests(now, &mut statuses);
        statuses.extend(c.heartbeats(now));
        let cfg = c.config().clone();
        if cfg.rate_limit_bps > 0 || pace.pacer.active() {
            let depth = bucket_depth(srv, s.config().max_msg_size);
            pace.pacer.set_rate(cfg.rate_limit_bps, depth, now);
        }
        if cfg.is_pull() {
            if c.waiting() > 0 {
                c.retain_requests(|reply| has_interest(&ch.account, reply));
            }
            while out.len() < BATCH {
                let next = pace.next(now, || {
                    let o = c.next_pull(store, now, &mut statuses)?;
                    let ack = o.ack_subject(c.stream_name(), c.name());
                    let size = wire_size(&o, &ack, cfg.headers_only);
                    Some((o, ack, size))
                });
                let Some((o, ack, _)) = next else { break };
                out.push((o, ack, None));
            }
            c.end_no_wait(store, &mut statuses);
        } else if has_interest(&ch.account, &cfg.deliver_subject) {
            ch.last_active.store(now, Ordering::Relaxed);
            let mut flow = ch.flow.lock();
            while out.len() < BATCH && !flow.blocked() {
                let next = pace.next(now, || {
                    let o = c.next_push(store, now)?;
                    let ack = o.ack_subject(c.stream_name(), c.name());
                    let size = wire_size(&o, &ack, cfg.headers_only);
                    Some((o, ack, size))
                });
                let Some((o, ack, size)) = next else { break };
                // Flow control counts the deliver subject where the pacing (as Go's)
                // counts the message's own subject.
                let size = size - o.msg.subject.len() + cfg.deliver_subject.len();
                let fc = flow.sent(size, || flow::reply_subject(c.stream_name(), c.name()));
                out.push((o, ack, fc));
            }
        } else {
            no_interest = true;
        }
        let st = c.state().delivered;
        let hb = (!cfg.is_pull() && cfg.idle_heartbeat > 0).then_some((
            cfg.idle_heartbeat,
            st.consumer,
            st.stream,
        ));
        (due, cfg.deliver_subject, cfg.headers_only, hb)
    };
    let more = out.len() >= BATCH;
    if !out.is_empty() {
        *last_push = now;
    }
    for (o, ack, fc) in &out {
        let to = o.to.as_deref().unwrap_or(&deliver_subject);
        let buf: Vec<u8>;
        let (hdr_len, data): (Option<usize>, &[u8]) = if headers_only {
            // The headers and the payload's size instead of the payload.
            let mut h = if o.msg.hdr.is_empty() {
                b"NATS/1.0\r\n".to_vec()
            } else {
                o.msg.hdr[..o.msg.hdr.len() - 2].to_vec()
            };
            h.extend_from_slice(format!("Nats-Msg-Size: {}\r\n\r\n", o.msg.data.len()).as_bytes());
            buf = h;
            (Some(buf.len()), &buf[..])
        } else if o.msg.hdr.is_empty() {
            (None, &o.msg.data[..])
        } else {
            let mut h = Vec::with_capacity(o.msg.hdr.len() + o.msg.data.len());
            h.extend_from_slice(&o.msg.hdr);
            h.extend_from_slice(&o.msg.data);
            buf = h;
            (Some(o.msg.hdr.len()), &buf[..])
        };
        d.publish_as(
            srv,
            &ch.account,
            o.msg.subject.as_bytes(),
            Msg {
                subject: to.as_bytes(),
                reply: Some(ack.as_bytes()),
                hdr_len,
                data,
            },
        );
        if let Some(reply) = fc {
            let hdr = b"NATS/1.0 100 FlowControl Request\r\n\r\n";
            d.publish(
                srv,
                &ch.account,
                None,
                true,
                Msg {
                    subject: deliver_subject.as_bytes(),
                    reply: Some(reply.as_bytes()),
                    hdr_len: Some(hdr.len()),
                    data: hdr,
                },
            );
        }
    }
    send_statuses(srv, d, &ch.account, statuses);
    let mut due = match &pace.held {
        Some((_, at)) => Some(due.map_or(*at, |t| t.min(*at))),
        None => due,
    };
    if let Some((every, cseq, sseq)) = heartbeat {
        if now - *last_push >= every {
            *last_push = now;
            let mut hdr = nats_jetstream::consumer::idle_heartbeat_hdr(cseq, sseq);
            if let Some(reply) = ch.flow.lock().stalled_on() {
                hdr.truncate(hdr.len() - 2);
                hdr.push_str(&format!("Nats-Consumer-Stalled: {reply}\r\n\r\n"));
            }
            d.publish(
                srv,
                &ch.account,
                None,
                true,
                Msg {
                    subject: deliver_subject.as_bytes(),
                    reply: None,
                    hdr_len: Some(hdr.len()),
                    data: hdr.as_bytes(),
                },
            );
        }
        let next = *last_push + every;
        due = Some(due.map_or(next, |t| t.min(next)));
    }
    (due, more, no_interest)
}
