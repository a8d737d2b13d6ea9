//! The bounded match cache: subject as published → shared [`MatchResult`].
//!
//! Invariant: while the owning `Sublist`'s lock is not held for writing, every entry equals
//! (as a multiset) what a trie walk for its key would return now. Inserts and removes keep
//! it so by patching the affected entries in place of flushing the cache:
//! * a literal subscription subject can only appear in the entry keyed by that very
//!   subject (a cached key's `*`/`>` tokens are matched only by wildcard subscriptions), so
//!   it touches at most one entry;
//! * a wildcard subscription subject is checked against every key with
//!   [`subject_matches`] — at most [`CACHE_MAX`] keys.
//!
//! Results are immutable once shared: patching goes through [`Arc::make_mut`], which edits
//! in place only when the cache holds the sole reference and otherwise builds a new `Arc`,
//! so a caller holding an older result keeps a consistent snapshot.
//!
//! Size: when a store takes the cache past [`CACHE_MAX`] entries, random entries are
//! dropped (each kept with probability `CACHE_SWEEP / len`) until about [`CACHE_SWEEP`]
//! remain. Go does this on a background goroutine; here it is done inline under the write
//! lock the store already holds, costing one pass over ~1K entries per ~512 misses.

use std::hash::Hash;
use std::sync::Arc;

use hashbrown::HashMap;

use crate::subject::{has_wildcard, subject_matches};
use crate::{Hasher, MatchResult};

/// Most entries kept before a sweep.
pub(crate) const CACHE_MAX: usize = 1024;
/// Entries kept (on average) after a sweep.
pub(crate) const CACHE_SWEEP: usize = 512;
/// A batch removal with more wildcard subjects than this clears the cache instead of
/// scanning it once per wildcard.
const BATCH_SCAN_MAX: usize = 32;

/// One removed subscription: (subject, queue, item).
pub(crate) type Removal<'a, T> = (&'a [u8], Option<&'a [u8]>, &'a T);

pub(crate) struct Cache<T> {
    map: HashMap<Box<[u8]>, Arc<MatchResult<T>>, Hasher>,
}

impl<T> Cache<T> {
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

impl<T: Clone + Eq + Hash> Cache<T> {
    pub(crate) fn new() -> Self {
        Cache {
            map: HashMap::default(),
        }
    }

    #[inline]
    pub(crate) fn get(&self, subject: &[u8]) -> Option<&Arc<MatchResult<T>>> {
        self.map.get(subject)
    }

    pub(crate) fn results(&self) -> impl Iterator<Item = &Arc<MatchResult<T>>> {
        self.map.values()
    }

    /// Stores a freshly computed result, sweeping if the cache grew too large.
    pub(crate) fn store(&mut self, subject: &[u8], result: Arc<MatchResult<T>>) {
        self.map.entry_ref(subject).insert(result);
        if self.map.len() > CACHE_MAX {
            let len = self.map.len();
            self.map.retain(|_, _| fastrand::usize(..len) < CACHE_SWEEP);
        }
    }

    /// Patches the entries a newly inserted subscription matches.
    pub(crate) fn on_insert(&mut self, subject: &[u8], queue: Option<&[u8]>, item: &T) {
        if has_wildcard(subject) {
            for (key, result) in self.map.iter_mut() {
                if subject_matches(subject, key) {
                    Arc::make_mut(result).add_one(queue, item.clone());
                }
            }
        } else if let Some(result) = self.map.get_mut(subject) {
            Arc::make_mut(result).add_one(queue, item.clone());
        }
    }

    /// Patches the entries a removed subscription matched.
    pub(crate) fn on_remove(&mut self, subject: &[u8], queue: Option<&[u8]>, item: &T) {
        if has_wildcard(subject) {
            self.map.retain(|key, result| {
                !subject_matches(subject, key) || Arc::make_mut(result).remove_one(queue, item)
            });
        } else if let Some(result) = self.map.get_mut(subject) {
            if !Arc::make_mut(result).remove_one(queue, item) {
                // Cannot happen while the invariant holds; dropping the entry is always safe.
                self.map.remove(subject);
            }
        }
    }

    /// Patches for many removals at once; clears the cache when patching would mean
    /// scanning it for many wildcard subjects.
    pub(crate) fn on_remove_batch(&mut self, removed: &[Removal<'_, T>]) {
        let wildcards = removed.iter().filter(|(s, _, _)| has_wildcard(s)).count();
        if wildcards > BATCH_SCAN_MAX {
            self.map.clear();
            return;
        }
        for &(subject, queue, item) in removed {
            self.on_remove(subject, queue, item);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweep_keeps_about_half() {
        let mut cache = Cache::<u32>::new();
        let empty = Arc::new(MatchResult::new());
        for i in 0..=CACHE_MAX {
            cache.store(format!("s.{i}").as_bytes(), empty.clone());
        }
        // One sweep happened at CACHE_MAX + 1; expect ~512 (binomial, sd ~ 16).
        assert!(cache.len() > CACHE_SWEEP - 150 && cache.len() < CACHE_SWEEP + 150);
        for i in 0..10_000 {
            cache.store(format!("t.{i}").as_bytes(), empty.clone());
            assert!(cache.len() <= CACHE_MAX);
        }
    }

    #[test]
    fn patches_by_literal_and_wildcard() {
        let mut cache = Cache::<u32>::new();
        let empty = Arc::new(MatchResult::new());
        for key in ["foo.bar", "foo.baz", "foo.*", "bar"] {
            cache.store(key.as_bytes(), empty.clone());
        }
        let held = cache.get(b"foo.bar").cloned().unwrap();
        cache.on_insert(b"foo.bar", None, &1);
        cache.on_insert(b"foo.*", Some(b"q"), &2);
        cache.on_insert(b"foo.*", Some(b"q"), &3);
        assert!(
            held.is_empty(),
            "a result already handed out must not change"
        );
        assert_eq!(cache.get(b"foo.bar").unwrap().psubs, vec![1]);
        assert_eq!(cache.get(b"foo.bar").unwrap().qsubs[0].members, vec![2, 3]);
        assert_eq!(cache.get(b"foo.*").unwrap().qsubs[0].members, vec![2, 3]);
        assert!(cache.get(b"foo.*").unwrap().psubs.is_empty());
        assert!(cache.get(b"bar").unwrap().is_empty());
        cache.on_remove(b"foo.*", Some(b"q"), &2);
        assert_eq!(cache.get(b"foo.baz").unwrap().qsubs[0].members, vec![3]);
        // A remove the cache knows nothing of drops the entry rather than keep a stale one.
        cache.on_remove(b"foo.*", None, &9);
        assert!(cache.get(b"foo.baz").is_none());
        assert!(cache.get(b"foo.bar").is_none());
        assert!(cache.get(b"bar").is_some());
        let mut one = MatchResult::new();
        one.add_one(None, 1);
        cache.store(b"foo.bar", Arc::new(one));
        cache.on_remove_batch(&[(&b"foo.bar"[..], None, &1)]);
        assert!(cache.get(b"foo.bar").unwrap().is_empty());
    }
}
