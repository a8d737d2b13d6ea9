//! Enforcing a user's publish and subscribe permissions, as nats-server 2.9.10 does
//! (`setPermissions`, `pubAllowedFullCheck`, `canSubscribe`, `checkDenySub`, and the
//! reply tracking of `allow_responses` in `deliverMsg`).
//!
//! Two halves:
//! * [`ClientPerms`] belongs to one connection's read loop. It holds the allow and deny
//!   lists as subject indexes ([`Sublist`]s, matched the way nats-server matches them:
//!   wildcard tokens in the tested subject are taken literally, so `SUB foo.*` passes
//!   `allow: "foo.>"` but not `allow: "foo.bar"`) and a cache of publish decisions per
//!   subject (at most [`MAX_PERM_CACHE`] entries), so an allowed publish costs one hash
//!   lookup and no allocation.
//! * [`DeliveryPerms`] sits on the connection ([`crate::conn::Conn::perms`]) because
//!   *producers* need it when they deliver to this connection: the reply subjects it may
//!   answer (`allow_responses`) are recorded there, and the subscribe deny list filters
//!   messages that reach it through a wildcard subscription (`SUB foo.*` is allowed with
//!   `deny: "foo.bar"`, but `foo.bar` messages are then not delivered). Producers read
//!   one atomic ([`DeliveryPerms::flags`]) per delivery and take the lock only for what
//!   is switched on: the filter, or recording the reply subject of a message that has one.
//!
//! Rules (nats-server's, quirks included):
//! * Publish: allowed if the allow list (when present) matches and the deny list does not.
//!   With `allow_responses`, a denied publish is still allowed to a reply subject of a
//!   message delivered to this connection, at most `max` times and within `expires` of
//!   the delivery; such decisions are not cached.
//! * Subscribe: the allow list must match the subject with a plain entry; for a queue
//!   subscription, if queue entries (`"subject queue"`) match the subject, one of their
//!   queue names must match instead (wildcards in a queue name match a queue name as a
//!   subject). Then the deny list must not match with a plain entry; if queue entries of
//!   the deny list match the subject, the answer is decided by those alone.
//! * The delivery filter is switched on the first time an allowed subscription with a
//!   wildcard covers one of the deny entries, and stays on for the connection.

use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Instant;

use hashbrown::HashMap;
use nats_sublist::{QueueGroup, Sublist};
use parking_lot::Mutex;

use crate::options::{Permissions, ResponsePermission};

/// nats-server's `maxPermCacheSize`: publish decisions cached per connection.
pub const MAX_PERM_CACHE: usize = 128;
/// nats-server's `pruneSize`: entries dropped when a cache overflows.
const PRUNE_SIZE: usize = 32;
/// nats-server's `maxDenyPermCacheSize`: delivery-filter decisions cached per connection.
const MAX_DENY_CACHE: usize = 256;
/// nats-server's `replyPermLimit`: tracked reply subjects before expired ones are pruned.
const REPLY_PERM_LIMIT: usize = 4096;

type Hasher = foldhash::fast::RandomState;
/// A permission list as a subject index; the items are positions in the list.
type Index = Sublist<u32>;

/// Build an index of `"subject"` or `"subject queue"` entries. `split_queue` follows
/// nats-server: subscribe entries are split on whitespace, publish entries are not.
fn index(entries: &[String], split_queue: bool) -> Index {
    let sl = Sublist::new(false);
    for (i, e) in entries.iter().enumerate() {
        let (subject, queue) = if split_queue {
            let mut fields = e.split_whitespace();
            let subject = fields.next().unwrap_or_default();
            let queue = fields.next();
            if fields.next().is_some() {
                // The config rejects these; nats-server logs and skips them.
                continue;
            }
            (subject, queue)
        } else {
            (e.as_str(), None)
        };
        // Invalid entries were rejected by the config; a leftover matches nothing.
        let _ = sl.insert(subject.as_bytes(), queue.map(str::as_bytes), i as u32);
    }
    sl
}

/// A user's permissions, compiled for one connection (read-loop side).
pub struct ClientPerms {
    pub_allow: Option<Index>,
    pub_deny: Option<Index>,
    sub_allow: Option<Index>,
    sub_deny: Option<Index>,
    /// The subscribe deny list as written (nats-server's `darray`), for the delivery
    /// filter.
    sub_deny_list: Vec<String>,
    resp: Option<ResponsePermission>,
    /// Publish decisions by subject.
    pcache: HashMap<Box<[u8]>, bool, Hasher>,
    /// The last subject found allowed (empty: none). Lists never change for a connection,
    /// so this stays true; a stream of messages to one subject skips even the hash.
    last_allowed: Vec<u8>,
}

impl ClientPerms {
    /// Compile `p`; `None` when it restricts nothing.
    pub fn new(p: &Permissions) -> Option<ClientPerms> {
        let (pub_allow, pub_deny) = match &p.publish {
            Some(sp) => (
                // With `allow_responses`, a missing allow list allows nothing.
                (!sp.allow.is_empty() || p.response.is_some()).then(|| index(&sp.allow, false)),
                (!sp.deny.is_empty()).then(|| index(&sp.deny, false)),
            ),
            None => (p.response.is_some().then(|| index(&[], false)), None),
        };
        let (sub_allow, sub_deny, sub_deny_list) = match &p.subscribe {
            Some(sp) => (
                (!sp.allow.is_empty()).then(|| index(&sp.allow, true)),
                (!sp.deny.is_empty()).then(|| index(&sp.deny, true)),
                sp.deny.clone(),
            ),
            None => (None, None, Vec::new()),
        };
        if pub_allow.is_none()
            && pub_deny.is_none()
            && sub_allow.is_none()
            && sub_deny.is_none()
            && p.response.is_none()
        {
            return None;
        }
        Some(ClientPerms {
            pub_allow,
            pub_deny,
            sub_allow,
            sub_deny,
            sub_deny_list,
            resp: p.response,
            pcache: HashMap::default(),
            last_allowed: Vec::new(),
        })
    }

    /// What producers need to know: the response permission (recorded on the
    /// connection at CONNECT).
    pub fn response(&self) -> Option<ResponsePermission> {
        self.resp
    }

    /// May this connection publish to `subject`? `delivery` is the connection's own
    /// [`DeliveryPerms`], where the reply subjects it may answer are kept.
    #[inline]
    pub fn pub_allowed(&mut self, subject: &[u8], delivery: &DeliveryPerms) -> bool {
        if self.pub_allow.is_none() && self.pub_deny.is_none() {
            return true;
        }
        if !self.last_allowed.is_empty() && self.last_allowed == subject {
            return true;
        }
        let allowed = match self.pcache.get(subject) {
            Some(&allowed) => allowed,
            None => return self.pub_allowed_slow(subject, delivery),
        };
        if allowed {
            self.last_allowed.clear();
            self.last_allowed.extend_from_slice(subject);
        }
        allowed
    }

    fn pub_allowed_slow(&mut self, subject: &[u8], delivery: &DeliveryPerms) -> bool {
        let mut allowed = match &self.pub_allow {
            Some(a) => !a.match_subject(subject).psubs.is_empty(),
            None => true,
        };
        if allowed {
            if let Some(d) = &self.pub_deny {
                allowed = d.match_subject(subject).psubs.is_empty();
            }
        }
        if !allowed {
            if let Some(resp) = &self.resp {
                // A response: allowed or not, this depends on time and counts, so it is
                // not cached.
                return delivery.take_response(subject, resp);
            }
        }
        if self.pcache.len() >= MAX_PERM_CACHE {
            prune(&mut self.pcache);
        }
        self.pcache.insert(subject.into(), allowed);
        allowed
    }

    /// May this connection subscribe to `subject` (in `queue`)? May switch on the
    /// connection's delivery filter (see the module doc).
    pub fn can_subscribe(
        &self,
        subject: &[u8],
        queue: Option<&[u8]>,
        delivery: &DeliveryPerms,
    ) -> bool {
        let mut allowed = true;
        if let Some(a) = &self.sub_allow {
            let r = a.match_subject(subject);
            allowed = !r.psubs.is_empty();
            if let Some(q) = queue {
                if !r.qsubs.is_empty() {
                    allowed = queue_matches(q, &r.qsubs);
                }
            }
        }
        if allowed {
            if let Some(d) = &self.sub_deny {
                let r = d.match_subject(subject);
                allowed = r.psubs.is_empty();
                if let Some(q) = queue {
                    if !r.qsubs.is_empty() {
                        allowed = !queue_matches(q, &r.qsubs);
                    }
                }
                if allowed
                    && has_wildcard(subject)
                    && !delivery.filter_loaded()
                    && self
                        .sub_deny_list
                        .iter()
                        .any(|deny| is_subset_match(deny.as_bytes(), subject))
                {
                    delivery.load_filter(&self.sub_deny_list);
                }
            }
        }
        allowed
    }
}

/// Drop about [`PRUNE_SIZE`] entries (whichever come first in the map's random order).
fn prune<V>(cache: &mut HashMap<Box<[u8]>, V, Hasher>) {
    let mut seen = 0;
    cache.retain(|_, _| {
        seen += 1;
        seen > PRUNE_SIZE
    });
}

/// nats-server's `queueMatches`: does `queue` match one of the groups' names (literally,
/// or as a subject against a name with wildcards)?
fn queue_matches(queue: &[u8], groups: &[QueueGroup<u32>]) -> bool {
    groups.is_empty()
        || groups.iter().any(|g| {
            &*g.name == queue || (has_wildcard(&g.name) && is_subset_match(queue, &g.name))
        })
}

/// Does `subject` have a whole-token `*` or `>`? (nats-server's `subjectHasWildcard`.)
pub fn has_wildcard(subject: &[u8]) -> bool {
    subject
        .split(|&b| b == b'.')
        .any(|t| t == b"*" || t == b">")
}

/// nats-server's `subjectIsSubsetMatch(subject, test)`: is everything `subject` can match
/// also matched by `test`? Both may hold wildcards: `foo.*` is a subset of `>`, `*.*` and
/// `foo.*`, but not of `foo.bar`.
pub fn is_subset_match(subject: &[u8], test: &[u8]) -> bool {
    let mut tokens = subject.split(|&b| b == b'.');
    for t2 in test.split(|&b| b == b'.') {
        let Some(t1) = tokens.next() else {
            return false;
        };
        if t2.is_empty() {
            return false;
        }
        if t2 == b">" {
            return true;
        }
        if t1.is_empty() || t1 == b">" {
            return false;
        }
        if t1 == b"*" {
            if t2 != b"*" {
                return false;
            }
            continue;
        }
        if t2 != b"*" && t1 != t2 {
            return false;
        }
    }
    // As many tokens as `test`.
    tokens.next().is_none()
}

/// A reply subject this connection received and may answer.
struct Reply {
    at: Instant,
    sent: i64,
}

/// The delivery filter: the subscribe deny list, and decisions cached by subject.
struct MsgDeny {
    index: Index,
    cache: HashMap<Box<[u8]>, bool, Hasher>,
}

#[derive(Default)]
struct DeliveryState {
    resp: Option<ResponsePermission>,
    replies: HashMap<Box<[u8]>, Reply, Hasher>,
    filter: Option<MsgDeny>,
}

/// What producers must do for a destination, read in one atomic load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryFlags(u8);

const FILTER: u8 = 1;
const TRACK: u8 = 2;

impl DeliveryFlags {
    /// Ask [`DeliveryPerms::denies`] before delivering.
    #[inline]
    pub fn filtering(self) -> bool {
        self.0 & FILTER != 0
    }

    /// Call [`DeliveryPerms::track_reply`] for a delivered message with a reply subject.
    #[inline]
    pub fn tracking(self) -> bool {
        self.0 & TRACK != 0
    }
}

/// The part of a connection's permissions that producers consult when they deliver to
/// it (see the module doc). Empty and switched off for connections without permissions.
#[derive(Default)]
pub struct DeliveryPerms {
    /// `FILTER` and `TRACK` bits.
    flags: AtomicU8,
    /// Taken only when a flag asks for it. Nothing is taken while it is held except the
    /// filter's own sublist lock.
    state: Mutex<DeliveryState>,
}

impl DeliveryPerms {
    /// What deliveries to this connection need (one atomic load).
    #[inline]
    pub fn flags(&self) -> DeliveryFlags {
        DeliveryFlags(self.flags.load(Ordering::Acquire))
    }

    /// At CONNECT: forget the previous user's state and track replies when `resp` is set.
    pub fn reset(&self, resp: Option<ResponsePermission>) {
        let mut st = self.state.lock();
        *st = DeliveryState {
            resp,
            ..DeliveryState::default()
        };
        let flags = if resp.is_some() { TRACK } else { 0 };
        self.flags.store(flags, Ordering::Release);
    }

    fn filter_loaded(&self) -> bool {
        self.flags().filtering()
    }

    /// Switch on the delivery filter with the subscribe deny list.
    fn load_filter(&self, deny: &[String]) {
        let index = Sublist::new(false);
        for (i, subject) in deny.iter().enumerate() {
            // Entries with a queue name (or otherwise not insertable) can never match a
            // published subject: nats-server inserts them as literal subjects.
            let _ = index.insert(subject.as_bytes(), None, i as u32);
        }
        let mut st = self.state.lock();
        st.filter = Some(MsgDeny {
            index,
            cache: HashMap::default(),
        });
        self.flags.fetch_or(FILTER, Ordering::Release);
    }

    /// Producer side, before delivering a message on `subject`: true if the delivery
    /// filter drops it.
    pub fn denies(&self, subject: &[u8]) -> bool {
        let mut st = self.state.lock();
        let Some(f) = &mut st.filter else {
            return false;
        };
        if let Some(&denied) = f.cache.get(subject) {
            return denied;
        }
        let denied = !f.index.match_subject(subject).psubs.is_empty();
        if f.cache.len() >= MAX_DENY_CACHE {
            prune(&mut f.cache);
        }
        f.cache.insert(subject.into(), denied);
        denied
    }

    /// Producer side, after a message with `reply` was queued to this connection: it may
    /// now answer on `reply` (the count and the clock start again).
    pub fn track_reply(&self, reply: &[u8]) {
        let mut st = self.state.lock();
        let Some(resp) = st.resp else {
            return;
        };
        let now = Instant::now();
        match st.replies.get_mut(reply) {
            Some(r) => *r = Reply { at: now, sent: 0 },
            None => {
                st.replies.insert(reply.into(), Reply { at: now, sent: 0 });
            }
        }
        if st.replies.len() > REPLY_PERM_LIMIT {
            st.replies.retain(|_, r| !spent(&resp, r, now));
        }
    }

    /// Reader side: a publish to `subject` that the lists deny; allowed if it answers a
    /// tracked reply subject within the limits (and counted).
    fn take_response(&self, subject: &[u8], resp: &ResponsePermission) -> bool {
        let mut st = self.state.lock();
        let Some(r) = st.replies.get_mut(subject) else {
            return false;
        };
        r.sent += 1;
        let over = resp.max_msgs > 0 && r.sent > resp.max_msgs;
        let expired = resp.expires.is_some_and(|ttl| r.at.elapsed() > ttl);
        if over || expired {
            st.replies.remove(subject);
            return false;
        }
        true
    }
}

/// nats-server's `pruneReplyPerms` test: used up or expired.
fn spent(resp: &ResponsePermission, r: &Reply, now: Instant) -> bool {
    (resp.max_msgs > 0 && r.sent >= resp.max_msgs)
        || resp
            .expires
            .is_some_and(|ttl| now.saturating_duration_since(r.at) > ttl)
}

#[cfg(test)]
#[path = "permissions/tests.rs"]
mod tests;
