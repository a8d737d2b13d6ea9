//! Building and patching [`MatchResult`]s.
//!
//! Queue groups in a result are keyed by name alone: members of group `q` subscribed on
//! `foo.*` and on `foo.>` land in one [`QueueGroup`] for `foo.bar`, so exactly one of them
//! gets the message. This is what nats-server 2.9.10 does (its `addNodeToResults` merges by
//! queue name, and a two-connection test against the Go binary delivers 100 messages, not
//! 200, for 100 publishes).
//!
//! A result counts each (subject, queue, item) subscription once: an item subscribed on two
//! matching subjects appears twice. Patching relies on that: adding a subscription appends
//! one occurrence and removing one takes exactly one occurrence away, so a patched result
//! equals a fresh trie walk as a multiset.

use std::hash::Hash;

use crate::subset::SubSet;
use crate::{MatchResult, QueueGroup};

impl<T: Clone + Eq + Hash> MatchResult<T> {
    pub(crate) fn new() -> Self {
        MatchResult {
            psubs: Vec::new(),
            qsubs: Vec::new(),
        }
    }

    /// Position of the group called `name`. A linear scan: results rarely hold more than a
    /// handful of groups, and a `Vec` keeps delivery iteration cheap.
    fn group_mut(&mut self, name: &[u8]) -> Option<&mut QueueGroup<T>> {
        self.qsubs.iter_mut().find(|g| &*g.name == name)
    }

    /// Appends the members of one trie node.
    pub(crate) fn add_node<'a, I>(&mut self, psubs: &SubSet<T>, qsubs: I)
    where
        I: IntoIterator<Item = (&'a Box<[u8]>, &'a SubSet<T>)>,
        T: 'a,
    {
        self.psubs.extend_from_slice(psubs.as_slice());
        for (name, members) in qsubs {
            if members.is_empty() {
                continue;
            }
            match self.group_mut(name) {
                Some(group) => group.members.extend_from_slice(members.as_slice()),
                None => self.qsubs.push(QueueGroup {
                    name: name.clone(),
                    members: members.as_slice().to_vec(),
                }),
            }
        }
    }

    /// Adds one subscription (cache patching on insert).
    pub(crate) fn add_one(&mut self, queue: Option<&[u8]>, item: T) {
        match queue {
            None => self.psubs.push(item),
            Some(name) => match self.group_mut(name) {
                Some(group) => group.members.push(item),
                None => self.qsubs.push(QueueGroup {
                    name: name.into(),
                    members: vec![item],
                }),
            },
        }
    }

    /// Removes one occurrence of a subscription (cache patching on remove). Returns false
    /// if it was not there, which would mean the cached result had gone stale.
    pub(crate) fn remove_one(&mut self, queue: Option<&[u8]>, item: &T) -> bool {
        match queue {
            None => match self.psubs.iter().position(|x| x == item) {
                Some(pos) => {
                    self.psubs.swap_remove(pos);
                    true
                }
                None => false,
            },
            Some(name) => {
                let Some(gpos) = self.qsubs.iter().position(|g| &*g.name == name) else {
                    return false;
                };
                let members = &mut self.qsubs[gpos].members;
                let Some(pos) = members.iter().position(|x| x == item) else {
                    return false;
                };
                members.swap_remove(pos);
                if members.is_empty() {
                    // Keep group order stable for the others; groups are few.
                    self.qsubs.remove(gpos);
                }
                true
            }
        }
    }

    /// Fan-out as `/subsz` counts it: each plain subscription and each queue group is one.
    pub(crate) fn fanout(&self) -> usize {
        self.psubs.len() + self.qsubs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_and_remove_one() {
        let mut r = MatchResult::<u32>::new();
        r.add_one(None, 1);
        r.add_one(Some(b"q"), 2);
        r.add_one(Some(b"q"), 3);
        r.add_one(Some(b"w"), 4);
        assert_eq!(r.psubs, vec![1]);
        assert_eq!(r.qsubs.len(), 2);
        assert_eq!(r.fanout(), 3);
        assert!(r.remove_one(Some(b"q"), &2));
        assert!(!r.remove_one(Some(b"q"), &2));
        assert!(!r.remove_one(Some(b"x"), &3));
        assert!(r.remove_one(Some(b"q"), &3));
        assert_eq!(r.qsubs.len(), 1);
        assert_eq!(&*r.qsubs[0].name, b"w");
        assert!(r.remove_one(None, &1));
        assert!(!r.remove_one(None, &1));
        assert!(r.remove_one(Some(b"w"), &4));
        assert!(r.is_empty());
    }
}
