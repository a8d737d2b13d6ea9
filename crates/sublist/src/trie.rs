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

/// Checks a subscription subject: no empty tokens, nothing after `>`. Whitespace is not
/// checked here (as in Go): the protocol parser cannot produce it.
pub(crate) fn validate(subject: &[u8]) -> Result<(), SublistError> {
    let mut after_fwc = false;
    for token in subject.split(|&b| b == SEP) {
        if token.is_empty() || after_fwc {
            return Err(SublistError::InvalidSubject);
        }
        after_fwc = is_fwc(token);
    }
    Ok(())
}

/// The keys of a subject that passed [`validate`]. An iterator rather than a `Vec`, so
/// insert and remove allocate nothing for the path.
pub(crate) fn keys(subject: &[u8]) -> impl Iterator<Item = Key<'_>> + Clone {
    subject.split(|&b| b == SEP).map(|token| {
        if is_pwc(token) {
            Key::Pwc
        } else if is_fwc(token) {
            Key::Fwc
        } else {
            Key::Lit(token)
        }
    })
}

type Groups<T> = HashMap<Box<[u8]>, SubSet<T>, Hasher>;

#[derive(Debug)]
pub(crate) struct Node<T> {
    psubs: SubSet<T>,
    /// Queue groups by name; boxed and optional because most nodes have none, and a small
    /// node keeps the literal-children maps (which move nodes when they grow) cheap.
    qsubs: Option<Box<Groups<T>>>,
    next: Option<Box<Level<T>>>,
}

impl<T> Default for Node<T> {
    fn default() -> Self {
        Node {
            psubs: SubSet::default(),
            qsubs: None,
            next: None,
        }
    }
}

impl<T: Clone + Eq + Hash> Node<T> {
    fn has_subs(&self) -> bool {
        !self.psubs.is_empty() || self.qsubs.is_some()
    }

    fn add(&mut self, queue: Option<&[u8]>, item: T) -> bool {
        match queue {
            None => self.psubs.insert(item),
            Some(name) => {
                let groups = self.qsubs.get_or_insert_with(Box::default);
                groups.entry_ref(name).or_default().insert(item)
            }
        }
    }

    fn remove(&mut self, queue: Option<&[u8]>, item: &T) -> bool {
        match queue {
            None => self.psubs.remove(item),
            Some(name) => {
                let Some(groups) = self.qsubs.as_deref_mut() else {
                    return false;
                };
                let Some(group) = groups.get_mut(name) else {
                    return false;
                };
                let found = group.remove(item);
                if group.is_empty() {
                    groups.remove(name);
                    if groups.is_empty() {
                        self.qsubs = None;
                    }
                }
                found
            }
        }
    }

    fn groups(&self) -> impl Iterator<Item = (&Box<[u8]>, &SubSet<T>)> {
        self.qsubs.iter().flat_map(|g| g.iter())
    }

    fn add_to(&self, out: &mut MatchResult<T>) {
        out.add_node(&self.psubs, self.groups());
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
    /// Adds a subscription; false if the same one was already there. `subject` has passed
    /// [`validate`].
    pub(crate) fn insert(&mut self, subject: &[u8], queue: Option<&[u8]>, item: T) -> bool {
        let mut keys = keys(subject).peekable();
        let mut level = &mut self.root;
        while let Some(key) = keys.next() {
            let node = level.child_or_insert(key);
            if keys.peek().is_none() {
                return node.add(queue, item);
            }
            level = node.next.get_or_insert_with(Box::default);
        }
        false
    }

    /// The node at the end of the first `depth` keys (`depth` >= 1).
    fn node_mut<'k>(
        &mut self,
        mut keys: impl Iterator<Item = Key<'k>>,
        depth: usize,
    ) -> Option<&mut Node<T>> {
        let mut node = self.root.child_mut(keys.next()?)?;
        for key in keys.take(depth - 1) {
            node = node.next.as_deref_mut()?.child_mut(key)?;
        }
        Some(node)
    }

    /// Removes a subscription and prunes the nodes this leaves empty; false if absent.
    /// `subject` has passed [`validate`].
    pub(crate) fn remove(&mut self, subject: &[u8], queue: Option<&[u8]>, item: &T) -> bool {
        let depth = keys(subject).count();
        let found = self
            .node_mut(keys(subject), depth)
            .is_some_and(|node| node.remove(queue, item));
        if found {
            self.prune(subject, depth);
        }
        found
    }

    /// Restores the "no empty node" invariant along `subject` after a removal from its last
    /// node: finds the highest node whose whole subtree has become an empty chain, then cuts
    /// it off its level (and drops that level too if it is left empty).
    fn prune(&mut self, subject: &[u8], depth: usize) {
        // One read-only pass: `cut` is the depth of the node to detach. Any node above the
        // leaf that still holds subscriptions or has other children stops the cut below it.
        let mut cut = 0;
        let mut level = Some(&self.root);
        for (i, key) in keys(subject).enumerate() {
            let Some(node) = level.and_then(|l| l.child(key)) else {
                return;
            };
            if i + 1 == depth {
                if node.has_subs() || node.next.is_some() {
                    return;
                }
            } else if node.has_subs() || node.next.as_ref().is_some_and(|l| l.len() > 1) {
                cut = i + 1;
            }
            level = node.next.as_deref();
        }
        let Some(cut_key) = keys(subject).nth(cut) else {
            return;
        };
        if cut == 0 {
            self.root.remove_child(cut_key);
            return;
        }
        if let Some(parent) = self.node_mut(keys(subject), cut) {
            if let Some(level) = parent.next.as_deref_mut() {
                level.remove_child(cut_key);
                if level.len() == 0 {
                    parent.next = None;
                }
            }
        }
    }

    /// Appends everything matching `subject` (which has no empty tokens) to `out`.
    ///
    /// At each level: a `>` child matches the rest of the subject whatever it is; a `*`
    /// child matches this token, so its subtree is walked with the rest; the literal child
    /// for this token continues the walk. Published `*`/`>` tokens find no literal child,
    /// so they reach wildcard subscriptions only.
    ///
    /// The order of the result is nats-server's (its recursive `matchLevel`): at each
    /// level the `>` subscriptions, then the whole `*` subtree, then the rest of the
    /// literal path; at the last token the literal node before the `*` node. Clients see
    /// that order as the order of their MSGs, so differential tests against the Go server
    /// compare byte for byte. The walk keeps its own stack (deep subjects must not
    /// overflow the thread's): the literal continuation is pushed before the `*` subtree
    /// so the subtree is finished first.
    pub(crate) fn match_into(&self, subject: &[u8], out: &mut MatchResult<T>) {
        let mut pending: Vec<(&Level<T>, &[u8])> = Vec::new();
        let mut walk = Some((&self.root, subject));
        while let Some((level, subj)) = walk {
            let (token, rest) = split_token(subj);
            if let Some(fwc) = &level.fwc {
                fwc.add_to(out);
            }
            let node = level.nodes.get(token);
            match rest {
                None => {
                    if let Some(node) = node {
                        node.add_to(out);
                    }
                    if let Some(pwc) = &level.pwc {
                        pwc.add_to(out);
                    }
                    walk = pending.pop();
                }
                Some(rest) => {
                    let literal = node.and_then(|n| n.next.as_deref());
                    let wild = level.pwc.as_ref().and_then(|p| p.next.as_deref());
                    match (wild, literal) {
                        (Some(w), Some(l)) => {
                            pending.push((l, rest));
                            walk = Some((w, rest));
                        }
                        (Some(w), None) => walk = Some((w, rest)),
                        (None, Some(l)) => walk = Some((l, rest)),
                        (None, None) => walk = pending.pop(),
                    }
                }
            }
        }
    }

    /// Calls `f` for every subscription held.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&T)) {
        let mut stack = vec![&self.root];
        while let Some(level) = stack.pop() {
            for node in level.children() {
                node.psubs.as_slice().iter().for_each(&mut f);
                for (_, group) in node.groups() {
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
                let groups_ok = node.qsubs.as_ref().is_none_or(|g| !g.is_empty());
                assert!(groups_ok, "empty group map");
                assert!(
                    node.groups().all(|(_, g)| !g.is_empty()),
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
    fn validate_and_keys() {
        let k: Vec<_> = keys(b"foo.*.>").collect();
        assert_eq!(k, vec![Key::Lit(b"foo"), Key::Pwc, Key::Fwc]);
        let k: Vec<_> = keys(b"foo>.*x").collect();
        assert_eq!(k, vec![Key::Lit(b"foo>"), Key::Lit(b"*x")]);
        assert_eq!(validate(b"foo>.*x.>"), Ok(()));
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
            assert_eq!(validate(bad), Err(SublistError::InvalidSubject), "{bad:?}");
        }
    }

    #[test]
    fn deep_subjects_do_not_recurse() {
        let depth = 200_000;
        let subject = vec!["a"; depth].join(".").into_bytes();
        let wild = vec!["*"; depth].join(".").into_bytes();
        let mut trie = Trie::default();
        assert!(trie.insert(&subject, None, 1u32));
        assert!(trie.insert(&wild, None, 2u32));
        let mut out = MatchResult::new();
        trie.match_into(&subject, &mut out);
        out.psubs.sort();
        assert_eq!(out.psubs, vec![1, 2]);
        assert!(trie.remove(&subject, None, &1));
        assert_eq!(trie.shape().1, depth);
        // Dropping the remaining deep chain must not overflow the stack either.
        drop(trie);
    }
}
