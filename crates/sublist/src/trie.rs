//! The subscription trie: one [`Level`] per subject token.
//!
//! A level maps literal tokens to child nodes and has two dedicated slots for the `*` and
//! `>` children, so matching a token costs one hash lookup plus two pointer checks however
//! many wildcard subscriptions exist. A node holds the plain subscriptions and the queue
//! subscriptions (by group name) whose subject ends at it, and the next level.
//!
//! Invariants, kept by `insert` and `remove`:
//! * a `*` or `>` token is never stored as a literal child, so a published `*`/`>` token
//!   can only ever be matched by wildcard subscriptions (Go's behaviour);
//! * `>` nodes have no next level (nothing may follow `>`);
//! * no empty node hangs in the trie: every node has subscriptions or a non-empty next
//!   level, and `next` is `None` rather than an empty level;
//! * no empty queue group is kept in a node.
//!
//! Every walk (insert, remove, match, drop) is a loop with an explicit stack, never
//! recursion: subjects are client-controlled and `max_control_line` is configurable, so
//! the depth of the trie is too.

use std::hash::Hash;

use hashbrown::HashMap;

use crate::subject::{is_fwc, is_pwc, split_token, SEP};
use crate::subset::SubSet;
use crate::{Hasher, MatchResult, SublistError};

/// One token of a subscription subject, as the trie files it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Key<'a> {
    Lit(&'a [u8]),
    Pwc,
    Fwc,
}

/// Splits and validates a subscription subject: no empty tokens, nothing after `>`.
/// Whitespace is not checked here (as in Go): the protocol parser cannot produce it.
pub(crate) fn parse_keys(subject: &[u8]) -> Result<Vec<Key<'_>>, SublistError> {
    let mut keys = Vec::with_capacity(8);
    for token in subject.split(|&b| b == SEP) {
        if token.is_empty() || matches!(keys.last(), Some(Key::Fwc)) {
            return Err(SublistError::InvalidSubject);
        }
        keys.push(if is_pwc(token) {
            Key::Pwc
        } else if is_fwc(token) {
            Key::Fwc
        } else {
            Key::Lit(token)
        });
    }
    Ok(keys)
}

#[derive(Debug)]
pub(crate) struct Node<T> {
    psubs: SubSet<T>,
    qsubs: HashMap<Box<[u8]>, SubSet<T>, Hasher>,
    next: Option<Box<Level<T>>>,
}

impl<T> Default for Node<T> {
    fn default() -> Self {
        Node {
            psubs: SubSet::default(),
            qsubs: HashMap::default(),
            next: None,
        }
    }
}

impl<T: Clone + Eq + Hash> Node<T> {
    fn has_subs(&self) -> bool {
        !self.psubs.is_empty() || !self.qsubs.is_empty()
    }

    fn add(&mut self, queue: Option<&[u8]>, item: T) -> bool {
        match queue {
            None => self.psubs.insert(item),
            Some(name) => self.qsubs.entry_ref(name).or_default().insert(item),
        }
    }

    fn remove(&mut self, queue: Option<&[u8]>, item: &T) -> bool {
        match queue {
            None => self.psubs.remove(item),
            Some(name) => {
                let Some(group) = self.qsubs.get_mut(name) else {
                    return false;
                };
                let found = group.remove(item);
                if group.is_empty() {
                    self.qsubs.remove(name);
                }
                found
            }
        }
    }

    fn add_to(&self, out: &mut MatchResult<T>) {
        out.add_node(&self.psubs, &self.qsubs);
    }
}

#[derive(Debug)]
pub(crate) struct Level<T> {
    nodes: HashMap<Box<[u8]>, Node<T>, Hasher>,
    pwc: Option<Box<Node<T>>>,
    fwc: Option<Box<Node<T>>>,
}

impl<T> Default for Level<T> {
    fn default() -> Self {
        Level {
            nodes: HashMap::default(),
            pwc: None,
            fwc: None,
        }
    }
}

impl<T> Drop for Level<T> {
    /// Tears the subtree down with a heap stack: the derived drop would recurse once per
    /// level and overflow the thread stack on a very deep subject.
    fn drop(&mut self) {
        fn detach<T>(level: &mut Level<T>, stack: &mut Vec<Level<T>>) {
            let children = level.nodes.drain().map(|(_, n)| n);
            let wild = level
                .pwc
                .take()
                .into_iter()
                .chain(level.fwc.take())
                .map(|b| *b);
            stack.extend(
                children
                    .chain(wild)
                    .filter_map(|mut n| n.next.take().map(|l| *l)),
            );
        }
        let mut stack = Vec::new();
        detach(self, &mut stack);
        while let Some(mut level) = stack.pop() {
            // `level` is dropped at the end of this iteration with no children left.
            detach(&mut level, &mut stack);
        }
    }
}

impl<T: Clone + Eq + Hash> Level<T> {
    fn child(&self, key: Key<'_>) -> Option<&Node<T>> {
        match key {
            Key::Lit(t) => self.nodes.get(t),
            Key::Pwc => self.pwc.as_deref(),
            Key::Fwc => self.fwc.as_deref(),
        }
    }

    fn child_mut(&mut self, key: Key<'_>) -> Option<&mut Node<T>> {
        match key {
            Key::Lit(t) => self.nodes.get_mut(t),
            Key::Pwc => self.pwc.as_deref_mut(),
            Key::Fwc => self.fwc.as_deref_mut(),
        }
    }

    fn child_or_insert(&mut self, key: Key<'_>) -> &mut Node<T> {
        match key {
            Key::Lit(t) => self.nodes.entry_ref(t).or_default(),
            Key::Pwc => self.pwc.get_or_insert_with(Box::default),
            Key::Fwc => self.fwc.get_or_insert_with(Box::default),
        }
    }

    fn remove_child(&mut self, key: Key<'_>) {
        match key {
            Key::Lit(t) => {
                self.nodes.remove(t);
            }
            Key::Pwc => self.pwc = None,
            Key::Fwc => self.fwc = None,
        }
    }

    /// Number of children.
    fn len(&self) -> usize {
        self.nodes.len() + usize::from(self.pwc.is_some()) + usize::from(self.fwc.is_some())
    }

    /// Children, literal ones first.
    fn children(&self) -> impl Iterator<Item = &Node<T>> {
        self.nodes
            .values()
            .chain(self.pwc.as_deref())
            .chain(self.fwc.as_deref())
    }
}

#[derive(Debug)]
pub(crate) struct Trie<T> {
    root: Level<T>,
}

impl<T> Default for Trie<T> {
    fn default() -> Self {
        Trie {
            root: Level::default(),
        }
    }
}

impl<T: Clone + Eq + Hash> Trie<T> {
    /// Adds a subscription; false if the same one was already there. `keys` is non-empty.
    pub(crate) fn insert(&mut self, keys: &[Key<'_>], queue: Option<&[u8]>, item: T) -> bool {
        let mut level = &mut self.root;
        let last = keys.len() - 1;
        for (i, &key) in keys.iter().enumerate() {
            let node = level.child_or_insert(key);
            if i == last {
                return node.add(queue, item);
            }
            level = node.next.get_or_insert_with(Box::default);
        }
        false
    }

    fn node_mut(&mut self, keys: &[Key<'_>]) -> Option<&mut Node<T>> {
        let (&last, path) = keys.split_last()?;
        let mut level = &mut self.root;
        for &key in path {
            level = level.child_mut(key)?.next.as_deref_mut()?;
        }
        level.child_mut(last)
    }

    /// Removes a subscription and prunes the nodes this leaves empty; false if absent.
    pub(crate) fn remove(&mut self, keys: &[Key<'_>], queue: Option<&[u8]>, item: &T) -> bool {
        let found = self
            .node_mut(keys)
            .is_some_and(|node| node.remove(queue, item));
        if found {
            self.prune(keys);
        }
        found
    }

    /// Restores the "no empty node" invariant along `keys` after a removal from its last
    /// node: finds the highest node whose whole subtree has become an empty chain, then cuts
    /// it off its level (and drops that level too if it is left empty).
    fn prune(&mut self, keys: &[Key<'_>]) {
        let mut path: Vec<&Node<T>> = Vec::with_capacity(keys.len());
        let mut level = Some(&self.root);
        for &key in keys {
            let Some(node) = level.and_then(|l| l.child(key)) else {
                return;
            };
            path.push(node);
            level = node.next.as_deref();
        }
        let Some(leaf) = path.last() else {
            return;
        };
        if leaf.has_subs() || leaf.next.is_some() {
            return;
        }
        // path[cut] is the node to detach; walk up while the parent would become empty.
        let mut cut = path.len() - 1;
        while cut > 0 {
            let parent = path[cut - 1];
            if parent.has_subs() || parent.next.as_ref().is_some_and(|l| l.len() > 1) {
                break;
            }
            cut -= 1;
        }
        if cut == 0 {
            self.root.remove_child(keys[0]);
            return;
        }
        if let Some(parent) = self.node_mut(&keys[..cut]) {
            if let Some(level) = parent.next.as_deref_mut() {
                level.remove_child(keys[cut]);
                if level.len() == 0 {
                    parent.next = None;
                }
            }
        }
    }

    /// Appends everything matching `subject` (which has no empty tokens) to `out`.
    ///
    /// At each level: a `>` child matches the rest of the subject whatever it is; a `*`
    /// child matches this token, so its subtree is walked with the rest (deferred on a
    /// stack); the literal child for this token continues the walk. Published `*`/`>`
    /// tokens find no literal child, so they reach wildcard subscriptions only.
    pub(crate) fn match_into(&self, subject: &[u8], out: &mut MatchResult<T>) {
        let mut pending: Vec<(&Level<T>, &[u8])> = Vec::new();
        let mut walk = Some((&self.root, subject));
        while let Some((mut level, mut subj)) = walk {
            loop {
                let (token, rest) = split_token(subj);
                if let Some(fwc) = &level.fwc {
                    fwc.add_to(out);
                }
                if let Some(pwc) = &level.pwc {
                    match (rest, &pwc.next) {
                        (None, _) => pwc.add_to(out),
                        (Some(rest), Some(next)) => pending.push((next, rest)),
                        (Some(_), None) => {}
                    }
                }
                let Some(node) = level.nodes.get(token) else {
                    break;
                };
                match (rest, &node.next) {
                    (None, _) => {
                        node.add_to(out);
                        break;
                    }
                    (Some(rest), Some(next)) => {
                        level = next;
                        subj = rest;
                    }
                    (Some(_), None) => break,
                }
            }
            walk = pending.pop();
        }
    }

    /// Calls `f` for every subscription held.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&T)) {
        let mut stack = vec![&self.root];
        while let Some(level) = stack.pop() {
            for node in level.children() {
                node.psubs.as_slice().iter().for_each(&mut f);
                for group in node.qsubs.values() {
                    group.as_slice().iter().for_each(&mut f);
                }
                stack.extend(node.next.as_deref());
            }
        }
    }

    /// (nodes, deepest level) — for tests of pruning.
    #[cfg(test)]
    pub(crate) fn shape(&self) -> (usize, usize) {
        let (mut nodes, mut depth) = (0, 0);
        let mut stack = vec![(&self.root, 0)];
        while let Some((level, d)) = stack.pop() {
            if level.len() > 0 {
                depth = depth.max(d + 1);
            }
            for node in level.children() {
                nodes += 1;
                assert!(
                    node.has_subs() || node.next.is_some(),
                    "empty node left in trie"
                );
                assert!(
                    node.qsubs.values().all(|g| !g.is_empty()),
                    "empty queue group"
                );
                if let Some(next) = &node.next {
                    assert!(next.len() > 0, "empty level left in trie");
                    stack.push((next, d + 1));
                }
            }
        }
        (nodes, depth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_keys_validates() {
        assert_eq!(
            parse_keys(b"foo.*.>").unwrap(),
            vec![Key::Lit(b"foo"), Key::Pwc, Key::Fwc]
        );
        assert_eq!(
            parse_keys(b"foo>.*x").unwrap(),
            vec![Key::Lit(b"foo>"), Key::Lit(b"*x")]
        );
        for bad in [
            &b""[..],
            b".",
            b"foo.",
            b".foo",
            b"a..b",
            b">.a",
            b"a.>.b",
            b">.>",
        ] {
            assert_eq!(
                parse_keys(bad),
                Err(SublistError::InvalidSubject),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn deep_subjects_do_not_recurse() {
        let depth = 200_000;
        let subject = vec!["a"; depth].join(".").into_bytes();
        let wild = vec!["*"; depth].join(".").into_bytes();
        let mut trie = Trie::default();
        assert!(trie.insert(&parse_keys(&subject).unwrap(), None, 1u32));
        assert!(trie.insert(&parse_keys(&wild).unwrap(), None, 2u32));
        let mut out = MatchResult::new();
        trie.match_into(&subject, &mut out);
        out.psubs.sort();
        assert_eq!(out.psubs, vec![1, 2]);
        assert!(trie.remove(&parse_keys(&subject).unwrap(), None, &1));
        assert_eq!(trie.shape().1, depth);
        // Dropping the remaining deep chain must not overflow the stack either.
        drop(trie);
    }
}
