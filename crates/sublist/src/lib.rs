//! The subject index ("sublist"): which subscriptions match a published subject.
//!
//! A token trie per level (literal children plus dedicated `*` and `>` children), plain and
//! queue subscriptions per node, and a bounded cache of match results for literal subjects
//! that inserts and removes patch rather than flush. A generation counter ([`Sublist::genid`])
//! lets a connection keep its own lock-free L1 cache and drop it wholesale on any change.
//!
//! The index is generic over the subscription handle `T` (the server stores an
//! `Arc`-backed handle whose equality is pointer identity), and knows nothing of
//! connections, routes or weights.
//!
//! STUB: the public API below is fixed; the implementation is to be written.

pub mod subject;

use std::hash::Hash;
use std::sync::Arc;

/// Errors from [`Sublist::insert`] / [`Sublist::remove`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SublistError {
    #[error("invalid subject")]
    InvalidSubject,
    #[error("subscription not found")]
    NotFound,
}

/// The members of one queue group that match a subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueGroup<T> {
    pub name: Box<[u8]>,
    pub members: Vec<T>,
}

/// Everything that matches one literal subject. Shared (`Arc`) between the cache and
/// callers, so treat it as immutable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchResult<T> {
    /// Plain subscriptions: each gets a copy.
    pub psubs: Vec<T>,
    /// Queue groups: one member of each gets a copy. Groups with the same name but
    /// different subscription subjects (e.g. `foo.*` and `foo.>`) are separate entries.
    pub qsubs: Vec<QueueGroup<T>>,
}

impl<T> MatchResult<T> {
    pub fn is_empty(&self) -> bool {
        self.psubs.is_empty() && self.qsubs.is_empty()
    }
}

/// Counters shown by `/subsz`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Stats {
    pub num_subscriptions: u32,
    pub num_cache: u32,
    pub num_inserts: u64,
    pub num_removes: u64,
    pub num_matches: u64,
    pub cache_hit_rate: f64,
    pub max_fanout: u32,
    pub avg_fanout: f64,
}

/// A thread-safe subject index.
pub struct Sublist<T> {
    _t: std::marker::PhantomData<T>,
}

impl<T: Clone + Eq + Hash + Send + Sync> Sublist<T> {
    /// `cache`: keep the bounded match cache (nats-server's `no_sublist_cache` turns it off).
    pub fn new(cache: bool) -> Self {
        let _ = cache;
        todo!()
    }

    /// Add `item` under `subject` (wildcards allowed), in queue group `queue` if given.
    /// Rejects empty tokens and tokens after `>`. Inserting an equal item twice under the
    /// same subject and queue keeps one.
    pub fn insert(&self, subject: &[u8], queue: Option<&[u8]>, item: T) -> Result<(), SublistError> {
        let _ = (subject, queue, item);
        todo!()
    }

    /// Remove `item` from `subject`/`queue`, pruning empty trie nodes.
    pub fn remove(&self, subject: &[u8], queue: Option<&[u8]>, item: &T) -> Result<(), SublistError> {
        let _ = (subject, queue, item);
        todo!()
    }

    /// Remove many at once under one lock (a closing connection's subscriptions).
    /// Returns how many were removed.
    pub fn remove_batch<'a, I>(&self, items: I) -> usize
    where
        I: IntoIterator<Item = (&'a [u8], Option<&'a [u8]>, &'a T)>,
        T: 'a,
    {
        let _ = items;
        todo!()
    }

    /// All subscriptions matching the literal `subject`. Served from the cache when
    /// possible.
    pub fn match_subject(&self, subject: &[u8]) -> Arc<MatchResult<T>> {
        let _ = subject;
        todo!()
    }

    /// Bumped on every insert and remove.
    pub fn genid(&self) -> u64 {
        todo!()
    }

    /// Number of subscriptions held.
    pub fn count(&self) -> u32 {
        todo!()
    }

    pub fn stats(&self) -> Stats {
        todo!()
    }

    /// Every subscription held, in no particular order (for monitoring).
    pub fn all(&self) -> Vec<T> {
        todo!()
    }
}
