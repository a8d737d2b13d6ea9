//! Mirrors and sources on one server: a task per stream that copies from the streams it
//! names in its account, reading their stores directly.
//!
//! nats-server creates a push consumer (flow control, heartbeats) on each origin and
//! feeds what it delivers into the target; that is what a replicated or cross-domain
//! setup needs. On one server the origin's store is at hand, so the task tails it
//! instead: after each pass it waits for the origin's next message (the origin's
//! capture handler wakes its followers), or a second. The observable behaviour is Go's:
//! a mirror keeps the origin's sequences and times (what lies between is skipped); a
//! source appends with sequences of its own and a `Nats-Stream-Source: <name> <seq>`
//! header, from which it resumes after a restart; `lag`, `active` and `error` show in
//! STREAM.INFO. Differences (no consumer shows on the origin; `external` origins in
//! other accounts or domains are not reached) are in docs/COMPAT.md.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use nats_jetstream::config::StreamSource;
use nats_jetstream::{ApiError, SourceInfo};
use nats_store::StoredMsg;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::{now_nanos, JsAccount, StreamHandle};
use crate::server::Server;

/// Messages copied per origin before the task looks at the others (and yields).
const BATCH: usize = 512;
/// How long the task waits for news before it looks again anyway (an origin created
/// later, one deleted and created again).
const IDLE: Duration = Duration::from_secs(1);

/// One mirror or source of a stream, and how far it got.
pub struct Link {
    pub cfg: StreamSource,
    pub mirror: bool,
    iname: String,
    /// The origin sequence to read next (0: not started).
    next: u64,
    pub lag: u64,
    last_contact: Option<Instant>,
    pub error: Option<ApiError>,
    /// The origin we follow (to notice when it is deleted and created again).
    origin: Weak<StreamHandle>,
}

impl Link {
    fn new(cfg: StreamSource, mirror: bool) -> Link {
        Link {
            iname: cfg.index_name(),
            cfg,
            mirror,
            next: 0,
            lag: 0,
            last_contact: None,
            error: None,
            origin: Weak::new(),
        }
    }

    /// What STREAM.INFO shows (Go's `StreamSourceInfo`).
    pub fn info(&self) -> SourceInfo {
        SourceInfo {
            name: self.cfg.name.clone(),
            external: self.cfg.external.clone(),
            lag: self.lag,
            active: self
                .last_contact
                .map_or(-1, |t| t.elapsed().as_nanos() as i64),
            error: self.error.clone(),
        }
    }
}

/// The links a stream's config asks for.
pub fn links_for(cfg: &nats_jetstream::StreamConfig) -> Vec<Link> {
    let mut out: Vec<Link> = cfg
        .mirror
        .iter()
        .map(|m| Link::new(m.clone(), true))
        .collect();
    out.extend(cfg.sources.iter().map(|s| Link::new(s.clone(), false)));
    out
}

/// Start (or restart, after an update) the copying task of `h`, if it has links.
pub fn start(srv: &Arc<Server>, ja: &Arc<JsAccount>, h: &Arc<StreamHandle>) {
    stop(h);
    let links = links_for(h.stream.lock().config());
    if links.is_empty() {
        h.links.lock().clear();
        return;
    }
    *h.links.lock() = links;
    let cancel = CancellationToken::new();
    *h.link_task.lock() = Some(cancel.clone());
    let (srv2, ja, h) = (srv.clone(), Arc::downgrade(ja), Arc::downgrade(h));
    srv.tasks.spawn(async move {
        let news = Arc::new(Notify::new());
        loop {
            let (Some(ja), Some(h)) = (ja.upgrade(), h.upgrade()) else {
                return;
            };
            let busy = pass(&srv2, &ja, &h, &news);
            drop((ja, h));
            if busy {
                tokio::task::yield_now().await;
                if cancel.is_cancelled() {
                    return;
                }
                continue;
            }
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = srv2.shutdown.cancelled() => return,
                _ = news.notified() => {}
                _ = tokio::time::sleep(IDLE) => {}
            }
        }
    });
}

/// Stop the copying task (stream deleted or its links changed).
pub fn stop(h: &StreamHandle) {
    if let Some(c) = h.link_task.lock().take() {
        c.cancel();
    }
}

/// One round over the links: true when a batch was full (more may be waiting).
fn pass(srv: &Arc<Server>, ja: &Arc<JsAccount>, h: &Arc<StreamHandle>, news: &Arc<Notify>) -> bool {
    let n = h.links.lock().len();
    let mut busy = false;
    for i in 0..n {
        busy |= pump(srv, ja, h, news, i);
    }
    busy
}

/// Copy what link `i` has not seen yet (up to a batch).
fn pump(
    srv: &Arc<Server>,
    ja: &Arc<JsAccount>,
    h: &Arc<StreamHandle>,
    news: &Arc<Notify>,
    i: usize,
) -> bool {
    let (cfg, mirror, iname, mut next, known) = {
        let links = h.links.lock();
        let Some(l) = links.get(i) else {
            return false;
        };
        (
            l.cfg.clone(),
            l.mirror,
            l.iname.clone(),
            l.next,
            l.origin.clone(),
        )
    };
    if cfg.external.is_some() {
        set_error(
            h,
            i,
            ApiError::invalid_config("external origins are not supported by this server yet"),
        );
        return false;
    }
    let origin = ja.streams.lock().get(&cfg.name).cloned();
    let Some(origin) = origin else {
        set_error(h, i, ApiError::stream_not_found());
        return false;
    };
    if !Weak::ptr_eq(&known, &Arc::downgrade(&origin)) {
        // A new origin (or the first): follow it, and work out where to start.
        let mut f = origin.followers.lock();
        f.retain(|w| w.strong_count() > 0);
        f.push(Arc::downgrade(news));
        drop(f);
        next = start_seq(h, &origin, &cfg, mirror, &iname);
    }
    let filter = (!cfg.filter_subject.is_empty()).then_some(cfg.filter_subject.as_str());
    let (batch, lag) = {
        let o = origin.stream.lock();
        let store = o.store();
        let mut batch: Vec<StoredMsg> = Vec::new();
        let mut seq = next;
        while batch.len() < BATCH {
            match store.next(seq, filter) {
                Ok(Some(m)) => {
                    seq = m.seq + 1;
                    batch.push(m);
                }
                _ => break,
            }
        }
        let lag = store.num_pending(seq, filter);
        (batch, lag)
    };
    let full = batch.len() == BATCH;
    let mut stored = false;
    let mut last = next.saturating_sub(1);
    let mut republished = Vec::new();
    {
        let mut s = h.stream.lock();
        let now = now_nanos();
        for m in &batch {
            if mirror {
                match s.store_mirrored(m, now) {
                    Ok(done) => stored |= done,
                    Err(e) => {
                        crate::warn!(
                            srv.log,
                            "Error processing inbound mirror message for '{}' > '{}': {}",
                            ja.account.name,
                            s.config().name,
                            e.description
                        );
                        break;
                    }
                }
            } else {
                let out = s.publish_sourced(&iname, m.seq, m, now);
                stored |= out.seq.is_some();
                republished.extend(out.republish);
            }
            last = m.seq;
        }
    }
    // Outside the stream's lock: what they publish may reach other streams.
    for rp in &republished {
        super::republish(srv, &ja.account, rp);
    }
    if stored {
        for c in h.consumers.lock().values() {
            c.wake.notify_one();
        }
        super::wake_followers(h);
    }
    let mut links = h.links.lock();
    if let Some(l) = links.get_mut(i) {
        l.next = last + 1;
        l.lag = lag;
        l.last_contact = Some(Instant::now());
        l.error = None;
        l.origin = Arc::downgrade(&origin);
    }
    full
}

/// Where a link starts reading its origin: after what the target already holds from
/// it, else at the configured start (sequence, time) or the beginning.
fn start_seq(
    h: &StreamHandle,
    origin: &StreamHandle,
    cfg: &StreamSource,
    mirror: bool,
    iname: &str,
) -> u64 {
    let held = {
        let s = h.stream.lock();
        if mirror {
            let st = s.state();
            (st.last_seq > 0).then_some(st.last_seq)
        } else {
            s.last_sourced(iname)
        }
    };
    if let Some(seq) = held {
        return seq + 1;
    }
    if cfg.opt_start_seq > 0 {
        return cfg.opt_start_seq;
    }
    if let Some(t) = cfg.opt_start_time {
        let o = origin.stream.lock();
        let store = o.store();
        let mut seq = store.state().first_seq.max(1);
        return loop {
            match store.next(seq, None) {
                Ok(Some(m)) if m.ts < t.0 => seq = m.seq + 1,
                Ok(Some(m)) => break m.seq,
                _ => break store.state().last_seq + 1,
            }
        };
    }
    1
}

fn set_error(h: &StreamHandle, i: usize, e: ApiError) {
    if let Some(l) = h.links.lock().get_mut(i) {
        l.error = Some(e);
        l.origin = Weak::new();
    }
}
