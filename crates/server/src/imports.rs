//! Account exports and imports at run time, as nats-server 2.9.10 delivers them.
//!
//! **Stream imports.** For each stream import, the exporting account holds an internal
//! subscription on the exported subject (`from`). Its handler re-publishes the message in
//! the importing account under the import's subject (the `prefix` prepended, or `to`
//! through a subject transform), to that server's local subscribers only. Because the
//! subscription is an ordinary local one of the exporter, its interest reaches routes as
//! `RS+ <exporter> <from>` (what Go's shadow subscriptions announce), so a message
//! published in the exporter on another server is routed here and delivered to the
//! importers here: every server serves its own importers, and nothing crosses twice.
//!
//! **Service imports.** An importing account with service imports has
//! [`Account::service_imports`] set; the client reader checks it on every publish (one
//! atomic load when unset: the fast path of accounts without imports). A request on an
//! import's subject is re-published in the exporter on the export's subject, with the
//! reply rewritten to `_R_.<prefix>.<random>` and the `Nats-Request-Info` header Go adds
//! (`{"acc":"<importer>","rtt":<ns>}`). The exporter's [`Responses`] remember where that
//! reply leads (the requester's account and original reply). An internal subscription on
//! `_R_.<prefix>.>` in the exporter (announced to routes, so responders on other servers
//! route their answers here) takes the response and delivers it to the original reply in
//! the importer. A singleton mapping is removed after the first response; streamed and
//! chunked ones live until `response_threshold` passes without a response. The import is
//! processed where the requester is connected; a request that arrived over a route is
//! never imported again (Go's rule), and a response that arrived over a route goes to
//! local subscribers only (the one-hop rule).
//!
//! As in Go 2.9.10, a request through a service import counts as delivered even when the
//! exporter has no responder, so the requester gets no 503 (Go's import subscription
//! swallows it); a request on a subject without an import gets the 503 as before.
//!
//! Lock: `Responses::map` is a leaf, held for one map operation.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant, SystemTime};

use hashbrown::HashMap;
use nats_sublist::subject::subject_matches;
use nats_sublist::transform::{tokenize_wildcards, Transform};
use parking_lot::Mutex;

use crate::account::Account;
use crate::conn::Conn;
use crate::deliver::{Delivery, Msg};
use crate::latency::Track;
use crate::options::{Options, ResponseType, DEFAULT_SERVICE_EXPORT_RESPONSE_THRESHOLD};
use crate::server::Server;
use crate::sub::{Internal, SubRef, Subscription, Target};

/// How the importer's subject becomes the exporter's (or the reverse for streams).
enum Rewrite {
    /// Always this subject.
    Fixed(Box<[u8]>),
    /// The published subject as it is (wildcard import with `to` equal to `from`).
    Same,
    /// Through a subject transform.
    Transform(Transform),
}

impl Rewrite {
    fn new(from: &str, to: &str) -> Rewrite {
        let wild = from.split('.').any(|t| t == "*" || t == ">");
        if !wild {
            return Rewrite::Fixed(to.as_bytes().into());
        }
        if from == to {
            return Rewrite::Same;
        }
        // Validated when the options were parsed (same call).
        match Transform::new(from, &tokenize_wildcards(to)) {
            Ok(t) => Rewrite::Transform(t),
            Err(_) => Rewrite::Fixed(to.as_bytes().into()),
        }
    }

    fn apply(&self, subject: &[u8], out: &mut Vec<u8>) {
        out.clear();
        match self {
            Rewrite::Fixed(s) => out.extend_from_slice(s),
            Rewrite::Same => out.extend_from_slice(subject),
            Rewrite::Transform(t) => t.apply(subject, out),
        }
    }
}

/// One service import of an account.
pub struct ServiceImport {
    /// The importer's subject (a pattern when it has wildcards).
    from: Box<[u8]>,
    literal: bool,
    rewrite: Rewrite,
    exporter: Arc<Account>,
    response_type: ResponseType,
    threshold: Duration,
    /// The export's latency tracking: (sampling, results subject).
    latency: Option<(u8, Arc<str>)>,
    /// The import's `share`.
    share: bool,
}

/// The service imports of one account (set once at start).
pub struct ServiceImports {
    list: Vec<ServiceImport>,
}

impl ServiceImports {
    /// The import a publish on `subject` goes through: an exact subject first, then the
    /// first pattern that matches.
    pub fn find(&self, subject: &[u8]) -> Option<&ServiceImport> {
        self.list
            .iter()
            .find(|i| i.literal && *i.from == *subject)
            .or_else(|| {
                self.list
                    .iter()
                    .find(|i| !i.literal && subject_matches(&i.from, subject))
            })
    }
}

/// Where a response reply (`_R_.<prefix>.<id>`) of an exporter leads.
struct Resp {
    dest: Arc<Account>,
    to: Box<[u8]>,
    response_type: ResponseType,
    threshold: Duration,
    /// Last request or response: a mapping expires `threshold` after it.
    ts: Instant,
    /// A sampled request (latency tracking) whose first response is still to come.
    track: Option<Box<Track>>,
}

/// An exporting account's response mappings (set once at start on accounts whose
/// services someone imports).
pub struct Responses {
    /// `_R_.xxxxxx.`
    prefix: Box<[u8]>,
    map: Mutex<HashMap<Box<[u8]>, Resp>>,
    rng: Mutex<fastrand::Rng>,
}

const DIGITS: &[u8; 62] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

fn base62(mut n: u64, out: &mut Vec<u8>) {
    for _ in 0..6 {
        out.push(DIGITS[(n % 62) as usize]);
        n /= 62;
    }
}

impl Responses {
    fn new() -> Responses {
        let mut prefix = b"_R_.".to_vec();
        base62(fastrand::u64(..), &mut prefix);
        prefix.push(b'.');
        Responses {
            prefix: prefix.into(),
            map: Mutex::new(HashMap::new()),
            rng: Mutex::new(fastrand::Rng::new()),
        }
    }

    /// Remember a new request's reply mapping; returns the reply to use in the exporter
    /// (ending in `.T` when the request is tracked, as Go's).
    fn add(
        &self,
        dest: &Arc<Account>,
        reply: &[u8],
        imp: &ServiceImport,
        track: Option<Box<Track>>,
    ) -> Box<[u8]> {
        let mut r = self.prefix.to_vec();
        base62(self.rng.lock().u64(..), &mut r);
        if track.is_some() {
            r.extend_from_slice(b".T");
        }
        let r: Box<[u8]> = r.into();
        self.map.lock().insert(
            r.clone(),
            Resp {
                dest: dest.clone(),
                to: reply.into(),
                response_type: imp.response_type,
                threshold: imp.threshold,
                ts: Instant::now(),
                track,
            },
        );
        r
    }

    fn remove(&self, reply: &[u8]) -> Option<Box<Track>> {
        self.map.lock().remove(reply).and_then(|r| r.track)
    }

    /// Drop mappings whose threshold passed; returns the tracked requests among them
    /// (never answered: Go's 504).
    fn sweep(&self, now: Instant) -> Vec<Track> {
        let mut timed_out = Vec::new();
        self.map.lock().retain(|_, r| {
            let keep = now.duration_since(r.ts) <= r.threshold;
            if !keep {
                timed_out.extend(r.track.take().map(|t| *t));
            }
            keep
        });
        timed_out
    }

    /// How many mappings are pending (tests, monitoring).
    pub fn pending(&self) -> usize {
        self.map.lock().len()
    }
}

/// The wiring a server holds between reloads (`Server::imports`).
#[derive(Default)]
pub struct ImportState {
    /// Bumped when any account's service imports changed; client readers compare it once
    /// per read batch and pick up their account's new list ([`Account::service_imports`]).
    pub gen: AtomicU64,
    /// The internal subscriptions that carry stream imports, with what they were made for.
    streams: Mutex<Vec<StreamSub>>,
    /// The response sweeper runs (started with the first service import).
    sweeper: AtomicBool,
}

/// One stream import's internal subscription in the exporter.
struct StreamSub {
    importer: Weak<Account>,
    exporter: Weak<Account>,
    /// (importer, exporter, subject in the exporter, subject in the importer)
    key: [String; 4],
    sub: SubRef,
}

/// Wire the configured exports and imports onto the accounts: at start (before any
/// listener is up) and on every reload, which may add, change or remove them. Stream
/// imports that did not change keep their subscription (no message is lost or doubled
/// across a reload); the others are unsubscribed or subscribed. Each account's service
/// imports are replaced whole and readers pick them up before their next batch.
pub fn wire(srv: &Arc<Server>, opts: &Options) {
    wire_streams(srv, opts);
    let mut services: HashMap<String, Vec<ServiceImport>> = HashMap::new();
    for imp in opts.imports.iter().filter(|i| i.service) {
        let importer = srv.accounts.get_or_create(&imp.account);
        let exporter = srv.accounts.get_or_create(&imp.from_account);
        // The export that grants it (exact subject, else the first pattern covering it).
        let export = opts
            .exports
            .iter()
            .filter(|e| e.account == imp.from_account && e.service.is_some())
            .find(|e| e.subject == imp.subject)
            .or_else(|| {
                opts.exports.iter().find(|e| {
                    e.account == imp.from_account
                        && e.service.is_some()
                        && nats_sublist::subject::is_subset_match(&imp.subject, &e.subject)
                })
            })
            .and_then(|e| e.service.clone());
        let latency = export
            .as_ref()
            .and_then(|s| s.latency.as_ref())
            .map(|l| (l.sampling, Arc::from(l.subject.as_str())));
        let (rt, threshold) = export
            .map(|s| (s.response_type, s.response_threshold))
            .unwrap_or((
                ResponseType::Singleton,
                DEFAULT_SERVICE_EXPORT_RESPONSE_THRESHOLD,
            ));
        if exporter.responses.set(Responses::new()).is_ok() {
            add_response_sub(srv, &exporter);
        }
        // Service: requests on `to` (the importer's subject) go to `subject`.
        services
            .entry(importer.name.to_string())
            .or_default()
            .push(ServiceImport {
                from: imp.to.as_bytes().into(),
                literal: !imp.to.split('.').any(|t| t == "*" || t == ">"),
                rewrite: Rewrite::new(&imp.to, &imp.subject),
                exporter,
                response_type: rt,
                threshold,
                latency,
                share: imp.share,
            });
    }
    let any = !services.is_empty();
    for acc in srv.accounts.list() {
        let list = services.remove(&*acc.name);
        let mut cur = acc.service_imports.write();
        if cur.is_none() && list.is_none() {
            continue;
        }
        *cur = list.map(|list| Arc::new(ServiceImports { list }));
    }
    srv.imports.gen.fetch_add(1, Ordering::Release);
    if any && !srv.imports.sweeper.swap(true, Ordering::AcqRel) {
        spawn_sweeper(srv);
    }
}

/// Make the stream imports' internal subscriptions match `opts`.
fn wire_streams(srv: &Server, opts: &Options) {
    let wanted: Vec<[String; 4]> = opts
        .imports
        .iter()
        .filter(|i| !i.service)
        .map(|i| {
            [
                i.account.clone(),
                i.from_account.clone(),
                i.subject.clone(),
                i.to.clone(),
            ]
        })
        .collect();
    let registered = |w: &Weak<Account>, name: &str| {
        w.upgrade().is_some_and(|a| {
            srv.accounts
                .lookup(name.as_bytes())
                .is_some_and(|r| Arc::ptr_eq(&a, &r))
        })
    };
    let mut streams = srv.imports.streams.lock();
    let mut gone = Vec::new();
    streams.retain(|s| {
        let keep = wanted.contains(&s.key)
            && registered(&s.importer, &s.key[0])
            && registered(&s.exporter, &s.key[1]);
        if !keep {
            gone.push(s.sub.clone());
        }
        keep
    });
    for key in wanted {
        if streams.iter().any(|s| s.key == key) {
            continue;
        }
        let importer = srv.accounts.get_or_create(&key[0]);
        let exporter = srv.accounts.get_or_create(&key[1]);
        if let Some(sub) = add_stream_import(srv, &importer, &exporter, &key[2], &key[3]) {
            streams.push(StreamSub {
                importer: Arc::downgrade(&importer),
                exporter: Arc::downgrade(&exporter),
                key,
                sub,
            });
        }
    }
    drop(streams);
    for sub in gone {
        srv.remove_sub(&sub, false);
    }
}

fn internal_sub(
    srv: &Server,
    acc: &Arc<Account>,
    subject: &str,
    name: &'static str,
    f: Box<crate::sub::InternalFn>,
) -> Option<SubRef> {
    let sub = SubRef(Arc::new(Subscription::new(
        Target::Internal(Arc::new(Internal { name, handler: f })),
        acc.clone(),
        subject.as_bytes(),
        None,
        name.as_bytes(),
        1,
    )));
    // Subjects were validated with the options.
    srv.add_local_sub(sub.clone()).ok().map(|_| sub)
}

fn add_stream_import(
    srv: &Server,
    importer: &Arc<Account>,
    exporter: &Arc<Account>,
    from: &str,
    to: &str,
) -> Option<SubRef> {
    let dest: Weak<Account> = Arc::downgrade(importer);
    let rewrite = Rewrite::new(from, to);
    internal_sub(
        srv,
        exporter,
        from,
        "stream import",
        Box::new(move |srv, d, _sub, m| {
            let Some(dest) = dest.upgrade() else { return };
            let mut subject = Vec::with_capacity(m.subject.len() + 16);
            rewrite.apply(m.subject, &mut subject);
            d.publish_local(
                srv,
                &dest,
                Msg {
                    subject: &subject,
                    ..m
                },
            );
        }),
    )
}

fn add_response_sub(srv: &Server, exporter: &Arc<Account>) {
    let Some(resp) = exporter.responses.get() else {
        return;
    };
    let mut subject = String::from_utf8_lossy(&resp.prefix).into_owned();
    subject.push('>');
    internal_sub(
        srv,
        exporter,
        &subject,
        "service response",
        Box::new(on_response),
    );
}

/// A response reached `_R_.<prefix>.>` of an exporter: deliver it to the requester.
fn on_response(srv: &Server, d: &mut Delivery, sub: &SubRef, m: Msg<'_>) {
    let Some(resp) = sub.account.responses.get() else {
        return;
    };
    let now = Instant::now();
    let (dest, to, remove_after, track) = {
        let mut map = resp.map.lock();
        let Some(r) = map.get_mut(m.subject) else {
            return;
        };
        if now.duration_since(r.ts) > r.threshold {
            map.remove(m.subject);
            return;
        }
        // Go removes a singleton's mapping after its response, and any mapping after an
        // empty message (the end of a chunked or streamed response).
        let done = r.response_type == ResponseType::Singleton || m.data.is_empty();
        r.ts = now;
        let out = (r.dest.clone(), r.to.clone(), done, r.track.take());
        if done {
            map.remove(m.subject);
        }
        out
    };
    if let Some(t) = track {
        // The first response of a sampled request: Go's `sendTrackingLatency`.
        let responder = match d.publisher() {
            Some(cid) if !d.from_route() => srv.clients.lock().get(&cid).cloned(),
            _ => None,
        };
        let outcome = crate::latency::Outcome::Answered(responder.as_deref());
        send_metric(srv, d, &sub.account, &t, outcome);
    }
    let msg = Msg {
        subject: &to,
        reply: None,
        ..m
    };
    let delivered = if d.from_route() {
        d.publish_local(srv, &dest, msg)
    } else {
        d.publish(srv, &dest, None, true, msg)
    };
    if !delivered && !remove_after {
        resp.remove(m.subject);
    }
}

/// A client of `importer` published `m` on the subject of service import `imp`: send the
/// request to the exporter with a mapped reply.
pub fn process_service_import(
    srv: &Server,
    d: &mut Delivery,
    requester: &Arc<Conn>,
    importer: &Arc<Account>,
    imp: &ServiceImport,
    m: Msg<'_>,
) {
    let mut subject = Vec::with_capacity(m.subject.len() + 16);
    imp.rewrite.apply(m.subject, &mut subject);
    let responses = imp.exporter.responses.get();
    // Latency tracking: only for imports of a tracked export.
    let track = imp.latency.as_ref().and_then(|(sampling, lsubj)| {
        let hdr = m.hdr_len.and_then(|h| m.data.get(..h)).unwrap_or(&[]);
        let header = crate::latency::should_sample(*sampling, hdr)?;
        Some(Box::new(Track {
            requester: requester.clone(),
            share: imp.share,
            subject: lsubj.clone(),
            ts: Instant::now(),
            wall: SystemTime::now(),
            header,
        }))
    });
    let nrr = match (m.reply, responses) {
        (Some(reply), Some(r)) => Some(r.add(importer, reply, imp, track)),
        _ => {
            if let Some(t) = track {
                let outcome = crate::latency::Outcome::BadRequest;
                send_metric(srv, d, &imp.exporter, &t, outcome);
            }
            None
        }
    };
    let rtt = requester
        .meta
        .lock()
        .rtt
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let (hdr_len, data) = with_request_info(m, &importer.name, rtt);
    let delivered = d.publish(
        srv,
        &imp.exporter,
        None,
        true,
        Msg {
            subject: &subject,
            reply: nrr.as_deref(),
            hdr_len: Some(hdr_len),
            data: &data,
        },
    );
    if let (false, Some(n), Some(r)) = (delivered, &nrr, responses) {
        if let Some(t) = r.remove(n) {
            let outcome = crate::latency::Outcome::Unavailable;
            send_metric(srv, d, &imp.exporter, &t, outcome);
        }
    }
}

/// Publish a latency metric on the tracked export's subject in the exporting account.
fn send_metric(
    srv: &Server,
    d: &mut Delivery,
    exporter: &Arc<Account>,
    t: &Track,
    outcome: crate::latency::Outcome<'_>,
) {
    let body = crate::latency::metric_json(srv, t, outcome);
    d.publish(
        srv,
        exporter,
        None,
        true,
        Msg {
            subject: t.subject.as_bytes(),
            reply: None,
            hdr_len: None,
            data: &body,
        },
    );
}

/// The message with Go's `Nats-Request-Info` header set (replacing one the requester
/// sent): `(header length, header + payload)`.
fn with_request_info(m: Msg<'_>, account: &str, rtt: u64) -> (usize, Vec<u8>) {
    const KEY: &[u8] = b"Nats-Request-Info:";
    let (old_hdr, payload) = match m.hdr_len {
        Some(h) if h <= m.data.len() => (&m.data[..h], &m.data[h..]),
        _ => (&[][..], m.data),
    };
    let mut out = Vec::with_capacity(old_hdr.len() + payload.len() + 64);
    if old_hdr.len() > 4 {
        // Keep every line of the old header but ours, without the blank line.
        let body = &old_hdr[..old_hdr.len() - 2];
        for line in body.split_inclusive(|b| *b == b'\n') {
            if !line.starts_with(KEY) {
                out.extend_from_slice(line);
            }
        }
    } else {
        out.extend_from_slice(b"NATS/1.0\r\n");
    }
    out.extend_from_slice(KEY);
    out.extend_from_slice(b" {\"acc\":");
    out.extend_from_slice(
        serde_json::to_string(account)
            .unwrap_or_else(|_| "\"\"".into())
            .as_bytes(),
    );
    if rtt > 0 {
        out.extend_from_slice(b",\"rtt\":");
        out.extend_from_slice(rtt.to_string().as_bytes());
    }
    out.extend_from_slice(b"}\r\n\r\n");
    let h = out.len();
    out.extend_from_slice(payload);
    (h, out)
}

/// Expire response mappings every second, as Go's response threshold timers do.
fn spawn_sweeper(srv: &Arc<Server>) {
    let every = Duration::from_secs(1);
    let weak = Arc::downgrade(srv);
    let stop = srv.shutdown.clone();
    srv.tasks.spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            let Some(srv) = weak.upgrade() else { return };
            let now = Instant::now();
            let mut d = Delivery::new();
            for acc in srv.accounts.list() {
                if let Some(r) = acc.responses.get() {
                    for t in r.sweep(now) {
                        let outcome = crate::latency::Outcome::Timeout;
                        send_metric(&srv, &mut d, &acc, &t, outcome);
                    }
                }
            }
            d.flush(&srv);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(hdr: Option<usize>, data: &[u8]) -> Msg<'_> {
        Msg {
            subject: b"s",
            reply: None,
            hdr_len: hdr,
            data,
        }
    }

    #[test]
    fn request_info_header_added_or_replaced() {
        let (h, d) = with_request_info(msg(None, b"hi"), "B", 0);
        assert_eq!(
            &d[..],
            b"NATS/1.0\r\nNats-Request-Info: {\"acc\":\"B\"}\r\n\r\nhi"
        );
        assert_eq!(h, d.len() - 2);
        let old = b"NATS/1.0\r\nX: 1\r\nNats-Request-Info: {\"acc\":\"EVIL\"}\r\n\r\nhi";
        let (h, d) = with_request_info(msg(Some(old.len() - 2), old), "B", 42);
        assert_eq!(
            &d[..],
            b"NATS/1.0\r\nX: 1\r\nNats-Request-Info: {\"acc\":\"B\",\"rtt\":42}\r\n\r\nhi"
        );
        assert_eq!(h, d.len() - 2);
    }

    #[test]
    fn replies_have_gos_shape() {
        let r = Responses::new();
        assert_eq!(r.prefix.len(), 11);
        assert!(r.prefix.starts_with(b"_R_.") && r.prefix.ends_with(b"."));
    }
}
