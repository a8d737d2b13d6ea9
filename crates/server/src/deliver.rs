//! Message delivery: from one publish (a client's PUB/HPUB, or a route's RMSG) to the
//! outbound buffers of every connection that should see it.
//!
//! One [`Delivery`] lives in each connection's read loop and is reused for every message:
//! its scratch vectors, its per-connection match cache (L1, valid while the sublist's
//! generation is unchanged) and its set of connections to wake ("pcd") allocate only while
//! they grow. After a whole read batch the reader calls [`Delivery::flush`], which rings
//! each destination's doorbell once.
//!
//! Routing rules (nats-server 2.9): a client's message goes to every matching local plain
//! subscription, to one member of each matching queue group (chosen at random, remote
//! members weighted by their member count), and once to each route with interest (queue
//! groups whose chosen member is remote are named in that route's RMSG). A message from a
//! route goes to local subscribers only — plain ones, and one local member of each queue
//! group the RMSG names — never to another route (the one-hop rule).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use hashbrown::{HashMap, HashSet};
use nats_proto::encode;
use nats_sublist::MatchResult;

use crate::account::Account;
use crate::conn::{CloseReason, Conn, Queued};
use crate::server::Server;
use crate::sub::{SubRef, Target};
use crate::trace;

const L1_MAX: usize = 512;
/// How deep internal handlers may publish from inside a delivery (an import whose target
/// imports again): Go's service imports stop cycles the same way.
const MAX_INTERNAL_DEPTH: u8 = 8;
/// Producers stalled on a slow consumer wait at most this long per read batch.
pub const MAX_STALL: std::time::Duration = std::time::Duration::from_secs(1);

/// A route that gets one copy of the current message, with the queue groups (indexes into
/// the match result) it was chosen for.
struct RouteTarget {
    conn: Arc<Conn>,
    queues: Vec<usize>,
}

/// A message being delivered.
#[derive(Clone, Copy)]
pub struct Msg<'a> {
    pub subject: &'a [u8],
    pub reply: Option<&'a [u8]>,
    pub hdr_len: Option<usize>,
    /// Header block (if any) and payload.
    pub data: &'a [u8],
}

#[derive(Default)]
pub struct Delivery {
    pcd: Vec<Arc<Conn>>,
    pcd_set: HashSet<usize, foldhash::fast::RandomState>,
    /// A destination over half its pending limit: the producer pauses after the batch.
    pub stall: Option<Arc<Conn>>,
    rng: fastrand::Rng,
    l1: HashMap<Box<[u8]>, Arc<MatchResult<SubRef>>, foldhash::fast::RandomState>,
    l1_gen: u64,
    /// The account whose sublist `l1` caches (the generation is per sublist): a client's
    /// never changes; a route's changes when consecutive messages are of other accounts.
    l1_acc: Option<Arc<Account>>,
    /// The last subject matched and its result: streams of messages to one subject (the
    /// common case) skip even the hash lookup. Valid under the same generation as `l1`.
    last_subject: Vec<u8>,
    last_result: Option<Arc<MatchResult<SubRef>>>,
    rts: Vec<RouteTarget>,
    nrts: usize,
    /// Subscriptions that reached their auto-unsubscribe limit during this message.
    expired: Vec<SubRef>,
    /// Internal subscriptions that matched the current message: their handlers run once
    /// sockets and routes have it, so that a handler may publish through this delivery.
    internal: Vec<SubRef>,
    depth: u8,
    /// This delivery serves a route's reader (set by the first `route_msg`): internal
    /// handlers then forward to local subscribers only (the one-hop rule).
    from_route: bool,
    /// While an internal handler runs: the cid of the client that published the message
    /// (`None` for a route or the server itself).
    publisher: Option<u64>,
    /// Messages and bytes delivered in this batch (added to the server totals at flush).
    out_msgs: u64,
    out_bytes: u64,
    /// Messages and bytes delivered to clients of one account since its counters were
    /// last published (at flush, or when a delivery goes to another account).
    acc_out: Option<(Arc<Account>, u64, u64)>,
    /// While `publish_as` runs: the subject local subscribers see in `MSG` instead of the
    /// one the message is routed by (JetStream delivers a stored message to a consumer's
    /// deliver subject or a pull request's inbox under its original subject).
    wire: Vec<u8>,
    wire_on: bool,
}

impl Delivery {
    pub fn new() -> Delivery {
        Delivery::default()
    }

    #[inline]
    fn matches(&mut self, acc: &Arc<Account>, subject: &[u8]) -> Arc<MatchResult<SubRef>> {
        let gen = acc.sl.genid();
        let same_acc = self.l1_acc.as_ref().is_some_and(|a| Arc::ptr_eq(a, acc));
        if !same_acc {
            self.l1.clear();
            self.last_result = None;
            self.l1_gen = gen;
            self.l1_acc = Some(acc.clone());
        } else if gen != self.l1_gen {
            self.l1.clear();
            self.last_result = None;
            self.l1_gen = gen;
        } else if let Some(r) = &self.last_result {
            if self.last_subject == subject {
                return r.clone();
            }
        }
        let r = match self.l1.get(subject) {
            Some(r) => r.clone(),
            None => {
                let r = acc.sl.match_subject(subject);
                if self.l1.len() >= L1_MAX {
                    self.l1.clear();
                }
                self.l1.insert(subject.into(), r.clone());
                r
            }
        };
        self.last_subject.clear();
        self.last_subject.extend_from_slice(subject);
        self.last_result = Some(r.clone());
        r
    }

    /// Deliver a message published in account `acc` by a local client (`from`; `echo`
    /// false keeps the client's own subscriptions out) or by code inside the server
    /// (`from` None). Returns whether anyone (a local subscriber, an internal one or a
    /// route) got it; no-responders depends on that.
    pub fn publish(
        &mut self,
        srv: &Server,
        acc: &Arc<Account>,
        from: Option<&Arc<Conn>>,
        echo: bool,
        m: Msg<'_>,
    ) -> bool {
        let r = self.matches(acc, m.subject);
        if r.is_empty() {
            return false;
        }
        let mut delivered = false;
        self.nrts = 0;
        for sub in &r.psubs {
            match &sub.target {
                Target::Route(c) => self.add_route_target(c, None),
                Target::Client(c) => {
                    if !echo && from.is_some_and(|f| Arc::ptr_eq(c, f)) {
                        continue;
                    }
                    delivered |= self.deliver_local(srv, sub, c, m);
                }
                Target::Internal(_) => delivered |= self.take_internal(sub),
            }
        }
        for (gi, group) in r.qsubs.iter().enumerate() {
            delivered |= self.pick_queue_member(srv, group.members.as_slice(), gi, m);
        }
        if self.nrts > 0 {
            delivered = true;
            self.send_to_routes(srv, acc.name.as_bytes(), &r, m);
        }
        self.expire(srv);
        self.wire_on = false;
        self.run_internal(srv, m, from.map(|c| c.cid));
        delivered
    }

    /// Publish `m` (routed by its subject) from inside the server, but show local
    /// subscribers `wire_subject` in the `MSG` line. Over a route it keeps its routing
    /// subject, which the other server needs to deliver it.
    pub fn publish_as(
        &mut self,
        srv: &Server,
        acc: &Arc<Account>,
        wire_subject: &[u8],
        m: Msg<'_>,
    ) -> bool {
        self.wire.clear();
        self.wire.extend_from_slice(wire_subject);
        self.wire_on = true;
        let delivered = self.publish(srv, acc, None, true, m);
        self.wire_on = false;
        delivered
    }

    /// Deliver a message that arrived over a route for account `acc`: local subscribers
    /// only.
    pub fn route_msg(&mut self, srv: &Server, acc: &Arc<Account>, m: Msg<'_>, queues: &[u8]) {
        self.from_route = true;
        let r = self.matches(acc, m.subject);
        if r.is_empty() {
            return;
        }
        for sub in &r.psubs {
            match &sub.target {
                Target::Client(c) => {
                    self.deliver_local(srv, sub, c, m);
                }
                Target::Internal(_) => {
                    self.take_internal(sub);
                }
                Target::Route(_) => {}
            }
        }
        if !queues.is_empty() && !r.qsubs.is_empty() {
            for group in &r.qsubs {
                let named = queues
                    .split(|b| *b == b' ' || *b == b'\t')
                    .any(|q| q == &*group.name);
                if !named {
                    continue;
                }
                let members = group.members.as_slice();
                let n = members.len();
                let start = if n > 1 { self.rng.usize(..n) } else { 0 };
                for i in 0..n {
                    let sub = &members[(start + i) % n];
                    let took = match &sub.target {
                        Target::Client(c) => self.deliver_local(srv, sub, c, m),
                        Target::Internal(_) => self.take_internal(sub),
                        Target::Route(_) => false,
                    };
                    if took {
                        break;
                    }
                }
            }
        }
        self.expire(srv);
        self.run_internal(srv, m, None);
    }

    /// Count a delivery to an internal subscription (auto-unsubscribe applies as to a
    /// client's) and remember it for [`Self::run_internal`]. False if it is used up.
    fn take_internal(&mut self, sub: &SubRef) -> bool {
        if !self.count_delivery(sub) {
            return false;
        }
        self.internal.push(sub.clone());
        true
    }

    /// Run the handlers of the internal subscriptions the current message matched.
    /// `from` is the publishing client's cid, which a handler reads as
    /// [`Self::publisher`].
    fn run_internal(&mut self, srv: &Server, m: Msg<'_>, from: Option<u64>) {
        if self.internal.is_empty() {
            return;
        }
        let mut subs = std::mem::take(&mut self.internal);
        if self.depth < MAX_INTERNAL_DEPTH {
            self.depth += 1;
            for sub in &subs {
                if let Target::Internal(h) = &sub.target {
                    // Set before each handler: an earlier one's own publish changed it.
                    self.publisher = from;
                    (h.handler)(srv, self, sub, m);
                }
            }
            self.depth -= 1;
            // A handler's own publish may have run internal handlers of its own: they
            // are done, and the cleared vector keeps its capacity for the next message.
            self.expire(srv);
        }
        subs.clear();
        if self.internal.is_empty() {
            self.internal = subs;
        }
    }

    /// Auto-unsubscribe accounting for one delivery. False if the subscription had
    /// already reached its limit.
    #[inline]
    fn count_delivery(&mut self, sub: &SubRef) -> bool {
        let max = sub.max.load(Ordering::Relaxed);
        if max > 0 {
            let n = sub.delivered.fetch_add(1, Ordering::Relaxed) + 1;
            if n > max {
                return false;
            }
            if n == max {
                self.expired.push(sub.clone());
            }
        } else {
            sub.delivered.fetch_add(1, Ordering::Relaxed);
        }
        true
    }

    /// Does this delivery serve a route's reader? (Internal handlers that publish again
    /// must then reach local subscribers only.)
    pub fn from_route(&self) -> bool {
        self.from_route
    }

    /// In an internal handler: the cid of the client whose publish it is handling.
    pub fn publisher(&self) -> Option<u64> {
        self.publisher
    }

    /// Deliver a message produced inside the server (an import) in account `acc` to
    /// local subscribers only: plain client and internal subscriptions, and one local
    /// member of each queue group. Routes never get it: the servers they lead to do the
    /// same work for their own subscribers. Returns whether anyone got it.
    pub fn publish_local(&mut self, srv: &Server, acc: &Arc<Account>, m: Msg<'_>) -> bool {
        let r = self.matches(acc, m.subject);
        if r.is_empty() {
            return false;
        }
        let mut delivered = false;
        for sub in &r.psubs {
            match &sub.target {
                Target::Client(c) => delivered |= self.deliver_local(srv, sub, c, m),
                Target::Internal(_) => delivered |= self.take_internal(sub),
                Target::Route(_) => {}
            }
        }
        for group in &r.qsubs {
            let members = group.members.as_slice();
            let n = members.len();
            let start = if n > 1 { self.rng.usize(..n) } else { 0 };
            for i in 0..n {
                let sub = &members[(start + i) % n];
                let took = match &sub.target {
                    Target::Client(c) => self.deliver_local(srv, sub, c, m),
                    Target::Internal(_) => self.take_internal(sub),
                    Target::Route(_) => false,
                };
                if took {
                    delivered = true;
                    break;
                }
            }
        }
        self.expire(srv);
        self.run_internal(srv, m, None);
        delivered
    }

    /// Choose one member of a queue group for a client's message: a random slot over the
    /// members, remote ones counted as many times as their weight. A local member that
    /// cannot take the message (closed, auto-unsubscribed) passes it to the next.
    fn pick_queue_member(
        &mut self,
        srv: &Server,
        members: &[SubRef],
        gi: usize,
        m: Msg<'_>,
    ) -> bool {
        let n = members.len();
        if n == 0 {
            return false;
        }
        let start = if n == 1 {
            0
        } else {
            let weight = |s: &SubRef| {
                if s.target.is_route() {
                    s.weight() as u64
                } else {
                    1
                }
            };
            let total: u64 = members.iter().map(weight).sum();
            let mut x = self.rng.u64(..total);
            let mut idx = 0;
            for (i, s) in members.iter().enumerate() {
                let w = weight(s);
                if x < w {
                    idx = i;
                    break;
                }
                x -= w;
            }
            idx
        };
        for i in 0..n {
            let sub = &members[(start + i) % n];
            let took = match &sub.target {
                Target::Route(c) => {
                    if c.is_closed() {
                        continue;
                    }
                    self.add_route_target(c, Some(gi));
                    true
                }
                Target::Client(c) => self.deliver_local(srv, sub, c, m),
                Target::Internal(_) => self.take_internal(sub),
            };
            if took {
                return true;
            }
        }
        false
    }

    fn add_route_target(&mut self, conn: &Arc<Conn>, queue: Option<usize>) {
        let found = self.rts[..self.nrts]
            .iter_mut()
            .find(|t| Arc::ptr_eq(&t.conn, conn));
        let t = match found {
            Some(t) => t,
            None => {
                if self.nrts < self.rts.len() {
                    let t = &mut self.rts[self.nrts];
                    t.conn = conn.clone();
                    t.queues.clear();
                } else {
                    self.rts.push(RouteTarget {
                        conn: conn.clone(),
                        queues: Vec::new(),
                    });
                }
                self.nrts += 1;
                &mut self.rts[self.nrts - 1]
            }
        };
        if let Some(q) = queue {
            t.queues.push(q);
        }
    }

    fn send_to_routes(
        &mut self,
        srv: &Server,
        account: &[u8],
        r: &MatchResult<SubRef>,
        m: Msg<'_>,
    ) {
        for ti in 0..self.nrts {
            let conn = self.rts[ti].conn.clone();
            let mut qbuf: [&[u8]; 16] = [&[]; 16];
            let mut qvec: Vec<&[u8]> = Vec::new();
            let qidx = &self.rts[ti].queues;
            let queues: &[&[u8]] = if qidx.len() <= qbuf.len() {
                for (slot, &gi) in qbuf.iter_mut().zip(qidx.iter()) {
                    *slot = &r.qsubs[gi].name;
                }
                &qbuf[..qidx.len()]
            } else {
                qvec.extend(qidx.iter().map(|&gi| &*r.qsubs[gi].name));
                &qvec
            };
            let (hdr, body) = split_for(&conn, m);
            let total = body.len();
            if srv.log.trace_on() {
                let mut line = Vec::new();
                encode::rmsg_line(&mut line, account, m.subject, m.reply, queues, hdr, total);
                trace!(
                    srv.log,
                    "{} - ->> [{}]",
                    conn.prefix(),
                    String::from_utf8_lossy(&line[..line.len() - 2])
                );
            }
            let q = conn.queue_msg(total, |b| {
                encode::rmsg_line(b, account, m.subject, m.reply, queues, hdr, total);
                b.extend_from_slice(body);
                b.extend_from_slice(b"\r\n");
            });
            if q == Queued::Stall && self.stall.is_none() {
                self.stall = Some(conn.clone());
            }
            if q != Queued::Closed {
                self.out_msgs += 1;
                self.out_bytes += total as u64;
                self.remember(&conn);
            }
        }
        self.nrts = 0;
    }

    /// Queue the message to a client subscriber (`conn` is its target). False if it
    /// could not take it.
    fn deliver_local(&mut self, srv: &Server, sub: &SubRef, conn: &Arc<Conn>, m: Msg<'_>) -> bool {
        // Permissions of the destination (see `permissions::DeliveryPerms`): its subscribe
        // deny list may filter the message, and a reply subject may become answerable.
        let perms = conn.perms.flags();
        if perms.filtering() && conn.perms.denies(m.subject) {
            return false;
        }
        if !self.count_delivery(sub) {
            return false;
        }
        let (hdr, body) = split_for(conn, m);
        let total = body.len();
        let subject: &[u8] = if self.wire_on { &self.wire } else { m.subject };
        if srv.log.trace_on() {
            let mut line = Vec::new();
            encode::msg_line(&mut line, subject, &sub.sid, m.reply, hdr, total);
            trace!(
                srv.log,
                "{} - ->> [{}]",
                conn.prefix(),
                String::from_utf8_lossy(&line[..line.len() - 2])
            );
        }
        let q = conn.queue_msg(total, |b| {
            encode::msg_line(b, subject, &sub.sid, m.reply, hdr, total);
            b.extend_from_slice(body);
            b.extend_from_slice(b"\r\n");
        });
        match q {
            Queued::Ok => {}
            Queued::Stall => {
                if self.stall.is_none() {
                    self.stall = Some(conn.clone());
                }
            }
            Queued::Closed => return false,
            Queued::SlowConsumer => {
                conn.close(CloseReason::SlowConsumerPendingBytes);
                return false;
            }
        }
        if let (true, Some(reply)) = (perms.tracking(), m.reply) {
            conn.perms.track_reply(reply);
        }
        self.out_msgs += 1;
        self.out_bytes += total as u64;
        match &mut self.acc_out {
            Some((a, n, b)) if Arc::ptr_eq(a, &sub.account) => {
                *n += 1;
                *b += total as u64;
            }
            _ => {
                self.publish_acc_out();
                self.acc_out = Some((sub.account.clone(), 1, total as u64));
            }
        }
        self.remember(conn);
        true
    }

    /// Add the pending per-account delivery counters to their account.
    fn publish_acc_out(&mut self) {
        if let Some((a, n, b)) = self.acc_out.take() {
            a.out_msgs.fetch_add(n, Ordering::Relaxed);
            a.out_bytes.fetch_add(b, Ordering::Relaxed);
        }
    }

    #[inline]
    fn remember(&mut self, conn: &Arc<Conn>) {
        if let Some(last) = self.pcd.last() {
            if Arc::ptr_eq(last, conn) {
                return;
            }
        }
        if self.pcd_set.insert(Arc::as_ptr(conn) as usize) {
            self.pcd.push(conn.clone());
        }
    }

    fn expire(&mut self, srv: &Server) {
        if self.expired.is_empty() {
            return;
        }
        for sub in std::mem::take(&mut self.expired) {
            srv.remove_sub(&sub, true);
        }
    }

    /// End of a read batch: flush every destination once (inline when its socket takes
    /// it, else by waking its writer) and publish the counters.
    pub fn flush(&mut self, srv: &Server) {
        for c in self.pcd.drain(..) {
            c.flush_inline();
        }
        self.pcd_set.clear();
        self.publish_acc_out();
        if self.out_msgs > 0 {
            srv.stats
                .out_msgs
                .fetch_add(self.out_msgs, Ordering::Relaxed);
            srv.stats
                .out_bytes
                .fetch_add(self.out_bytes, Ordering::Relaxed);
            self.out_msgs = 0;
            self.out_bytes = 0;
        }
    }

    /// Forget cached matches (after this connection changed subscriptions itself the
    /// generation check would catch it anyway; this frees memory on idle).
    pub fn clear_cache(&mut self) {
        self.l1.clear();
        self.last_result = None;
    }
}

/// What to write for a destination: `(hdr_len, bytes)`. Headers go only to peers that
/// announced header support; others get the payload alone as a plain MSG.
#[inline]
fn split_for<'a>(conn: &Conn, m: Msg<'a>) -> (Option<usize>, &'a [u8]) {
    match m.hdr_len {
        Some(h) if conn.headers.load(Ordering::Relaxed) => (Some(h), m.data),
        Some(h) => (None, m.data.get(h..).unwrap_or(&[])),
        None => (None, m.data),
    }
}
