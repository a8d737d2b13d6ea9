//! The set of subscriptions held by one trie node (or one queue group of a node).
//!
//! Matching copies every member into a result, so members live in a flat `Vec` that is
//! appended with one `extend_from_slice`. Membership tests (insert de-duplication, remove)
//! scan that `Vec` while it is small; past [`INDEX_MIN`] members a hash index from member to
//! position is kept as well, so a subject with 100k subscribers does not turn inserts and
//! removes quadratic.
//!
//! Invariants: no duplicates; `Empty` is the only empty state (a `Many` is never empty);
//! when `index` is present it maps every member of `items` to its position and nothing
//! else.

use std::hash::Hash;

use hashbrown::HashMap;

use crate::Hasher;

/// Size from which a position index is maintained.
const INDEX_MIN: usize = 32;
/// Size below which the index is dropped again (hysteresis, so a set hovering around
/// `INDEX_MIN` does not rebuild the index on every change).
const INDEX_DROP: usize = INDEX_MIN / 2;

/// Most nodes hold a single subscription, so that case is stored inline: no allocation.
#[derive(Debug, Default)]
pub(crate) enum SubSet<T> {
    #[default]
    Empty,
    One(T),
    Many {
        items: Vec<T>,
        index: Option<Box<HashMap<T, usize, Hasher>>>,
    },
}

impl<T: Clone + Eq + Hash> SubSet<T> {
    #[inline]
    pub(crate) fn as_slice(&self) -> &[T] {
        match self {
            SubSet::Empty => &[],
            SubSet::One(item) => std::slice::from_ref(item),
            SubSet::Many { items, .. } => items,
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.as_slice().len()
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        matches!(self, SubSet::Empty)
    }

    /// Adds `item`; returns false (and changes nothing) if it was already there.
    pub(crate) fn insert(&mut self, item: T) -> bool {
        match self {
            SubSet::Empty => *self = SubSet::One(item),
            SubSet::One(first) => {
                if *first == item {
                    return false;
                }
                let first = first.clone();
                *self = SubSet::Many {
                    items: vec![first, item],
                    index: None,
                };
            }
            SubSet::Many { items, index } => {
                let found = match index {
                    Some(index) => index.contains_key(&item),
                    None => items.contains(&item),
                };
                if found {
                    return false;
                }
                if let Some(index) = index {
                    index.insert(item.clone(), items.len());
                }
                items.push(item);
                if index.is_none() && items.len() >= INDEX_MIN {
                    let built = items
                        .iter()
                        .enumerate()
                        .map(|(i, x)| (x.clone(), i))
                        .collect();
                    *index = Some(Box::new(built));
                }
            }
        }
        true
    }

    /// Removes `item`; returns whether it was there. Order of the rest is not kept.
    pub(crate) fn remove(&mut self, item: &T) -> bool {
        match self {
            SubSet::Empty => false,
            SubSet::One(only) => {
                let found = only == item;
                if found {
                    *self = SubSet::Empty;
                }
                found
            }
            SubSet::Many { items, index } => {
                let pos = match index {
                    Some(index) => index.get(item).copied(),
                    None => items.iter().position(|x| x == item),
                };
                let Some(pos) = pos else {
                    return false;
                };
                items.swap_remove(pos);
                if let Some(map) = index {
                    map.remove(item);
                    if items.len() < INDEX_DROP {
                        *index = None;
                    } else if let Some(moved) = items.get(pos) {
                        // The former last element now sits at `pos`.
                        map.insert(moved.clone(), pos);
                    }
                }
                if items.is_empty() {
                    *self = SubSet::Empty;
                }
                true
            }
        }
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
        if let SubSet::Many {
            index: Some(index), ..
        } = set
        {
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
        assert!(matches!(set, SubSet::Many { index: Some(_), .. }));
        for i in (0..100u32).step_by(3).chain((0..100).rev()) {
            let was = set.as_slice().contains(&i);
            assert_eq!(set.remove(&i), was);
            check(&set);
        }
        assert!(set.is_empty());
        assert!(matches!(set, SubSet::Empty));
    }
}
