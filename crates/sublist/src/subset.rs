//! The set of subscriptions held by one trie node (or one queue group of a node).
//!
//! Matching copies every member into a result, so members live in a flat `Vec` that is
//! appended with one `extend_from_slice`. Membership tests (insert de-duplication, remove)
//! scan that `Vec` while it is small; past [`INDEX_MIN`] members a hash index from member to
//! position is kept as well, so a subject with 100k subscribers does not turn inserts and
//! removes quadratic.
//!
//! Invariants: `items` holds no duplicates; when `index` is present it maps every member of
//! `items` to its position and nothing else.

use std::hash::Hash;

use hashbrown::HashMap;

use crate::Hasher;

/// Size from which a position index is maintained.
const INDEX_MIN: usize = 32;
/// Size below which the index is dropped again (hysteresis, so a set hovering around
/// `INDEX_MIN` does not rebuild the index on every change).
const INDEX_DROP: usize = INDEX_MIN / 2;

#[derive(Debug)]
pub(crate) struct SubSet<T> {
    items: Vec<T>,
    index: Option<Box<HashMap<T, usize, Hasher>>>,
}

impl<T> Default for SubSet<T> {
    fn default() -> Self {
        SubSet {
            items: Vec::new(),
            index: None,
        }
    }
}

impl<T: Clone + Eq + Hash> SubSet<T> {
    #[inline]
    pub(crate) fn as_slice(&self) -> &[T] {
        &self.items
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    fn position(&self, item: &T) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(item).copied(),
            None => self.items.iter().position(|x| x == item),
        }
    }

    /// Adds `item`; returns false (and changes nothing) if it was already there.
    pub(crate) fn insert(&mut self, item: T) -> bool {
        if self.position(&item).is_some() {
            return false;
        }
        let pos = self.items.len();
        if let Some(index) = &mut self.index {
            index.insert(item.clone(), pos);
        }
        self.items.push(item);
        if self.index.is_none() && self.items.len() >= INDEX_MIN {
            let index = self
                .items
                .iter()
                .enumerate()
                .map(|(i, x)| (x.clone(), i))
                .collect();
            self.index = Some(Box::new(index));
        }
        true
    }

    /// Removes `item`; returns whether it was there. Order of the rest is not kept.
    pub(crate) fn remove(&mut self, item: &T) -> bool {
        let Some(pos) = self.position(item) else {
            return false;
        };
        self.items.swap_remove(pos);
        if let Some(index) = &mut self.index {
            index.remove(item);
            if self.items.len() < INDEX_DROP {
                self.index = None;
            } else if let Some(moved) = self.items.get(pos) {
                // The former last element now sits at `pos`.
                index.insert(moved.clone(), pos);
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(set: &SubSet<u32>) {
        let mut seen = std::collections::HashSet::new();
        for x in set.as_slice() {
            assert!(seen.insert(*x), "duplicate {x}");
        }
        if let Some(index) = &set.index {
            assert_eq!(index.len(), set.len());
            for (i, x) in set.as_slice().iter().enumerate() {
                assert_eq!(index[x], i);
            }
        }
    }

    #[test]
    fn grows_and_shrinks_through_the_index() {
        let mut set = SubSet::default();
        for i in 0..100u32 {
            assert!(set.insert(i));
            assert!(!set.insert(i));
            check(&set);
        }
        assert!(set.index.is_some());
        for i in (0..100u32).step_by(3).chain((0..100).rev()) {
            let was = set.as_slice().contains(&i);
            assert_eq!(set.remove(&i), was);
            check(&set);
        }
        assert!(set.is_empty());
        assert!(set.index.is_none());
    }
}
