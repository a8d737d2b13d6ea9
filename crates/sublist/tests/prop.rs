//! Property test: the index against a naive model.
//!
//! A pool of subscriptions (subjects over a tiny alphabet including `*` and `>`, random queue
//! names or none, ids that repeat across subjects) is inserted, removed one by one and in
//! batches, in random order, interleaved with matches of random subjects — so cached results
//! are patched many times between trie walks. After every step the index must agree with a
//! plain set of (subject, queue, id) and a token-by-token matcher written independently.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use nats_sublist::{MatchResult, Sublist, SublistError};
use proptest::prelude::*;
use proptest::sample::Index;

type Sub = (String, Option<String>, u32);

#[derive(Debug, Clone)]
enum Op {
    Insert(Index),
    Remove(Index),
    Batch(Vec<Index>),
    Match(String),
}

/// Naive matcher: `*` = one token, `>` = one or more trailing tokens, anything else equal.
/// Published tokens are compared literally, so `*`/`>` in `subject` only meet wildcards.
fn naive_matches(pattern: &str, subject: &str) -> bool {
    let p: Vec<&str> = pattern.split('.').collect();
    let s: Vec<&str> = subject.split('.').collect();
    for (i, pt) in p.iter().enumerate() {
        if *pt == ">" {
            return s.len() > i;
        }
        match s.get(i) {
            Some(st) if *pt == "*" || pt == st => {}
            _ => return false,
        }
    }
    p.len() == s.len()
}

/// What a match must contain, as multisets: plain ids, and group name -> member ids.
type Expected = (Vec<u32>, BTreeMap<String, Vec<u32>>);

fn expected(model: &BTreeSet<Sub>, subject: &str) -> Expected {
    let mut plain = Vec::new();
    let mut groups: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for (pattern, queue, id) in model {
        if naive_matches(pattern, subject) {
            match queue {
                None => plain.push(*id),
                Some(q) => groups.entry(q.clone()).or_default().push(*id),
            }
        }
    }
    plain.sort_unstable();
    groups.values_mut().for_each(|m| m.sort_unstable());
    (plain, groups)
}

fn actual(r: &MatchResult<u32>) -> Expected {
    let mut plain = r.psubs.clone();
    plain.sort_unstable();
    let mut groups = BTreeMap::new();
    for g in &r.qsubs {
        assert!(!g.members.is_empty(), "empty queue group in result");
        let mut m = g.members.clone();
        m.sort_unstable();
        let name = String::from_utf8(g.name.to_vec()).unwrap();
        assert!(groups.insert(name, m).is_none(), "queue group listed twice");
    }
    (plain, groups)
}

fn sub_subject() -> impl Strategy<Value = String> {
    let token = prop_oneof![4 => Just("a"), 3 => Just("b"), 2 => Just("c"), 3 => Just("*")];
    (
        prop::collection::vec(token, 1..=4),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(mut tokens, fwc, fwc2)| {
            if fwc && fwc2 {
                *tokens.last_mut().unwrap() = ">";
            }
            tokens.join(".")
        })
}

fn pub_subject() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        6 => Just("a"), 5 => Just("b"), 3 => Just("c"), 2 => Just("d"), 1 => Just("*"), 1 => Just(">")
    ];
    prop::collection::vec(token, 1..=5).prop_map(|t| t.join("."))
}

fn pool() -> impl Strategy<Value = Vec<Sub>> {
    let queue = prop::option::weighted(0.3, prop_oneof![Just("q1".to_string()), Just("q2".into())]);
    prop::collection::vec((sub_subject(), queue, 0u32..6), 1..30)
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    let op = prop_oneof![
        6 => any::<Index>().prop_map(Op::Insert),
        3 => any::<Index>().prop_map(Op::Remove),
        1 => prop::collection::vec(any::<Index>(), 0..6).prop_map(Op::Batch),
        6 => pub_subject().prop_map(Op::Match),
    ];
    prop::collection::vec(op, 1..200)
}

fn check_all(sl: &Sublist<u32>, model: &BTreeSet<Sub>) {
    assert_eq!(sl.count() as usize, model.len());
    let mut all = sl.all();
    all.sort_unstable();
    let mut want: Vec<u32> = model.iter().map(|s| s.2).collect();
    want.sort_unstable();
    assert_eq!(all, want);
}

fn run(cache: bool, pool: &[Sub], ops: &[Op]) {
    let sl = Sublist::new(cache);
    let mut model = BTreeSet::new();
    // Results handed out earlier, with what they held then: they must never change.
    let mut handed_out: Vec<(Arc<MatchResult<u32>>, MatchResult<u32>)> = Vec::new();
    let q = |s: &Sub| s.1.as_ref().map(|q| q.as_bytes().to_vec());
    for op in ops {
        match op {
            Op::Insert(i) => {
                let s = i.get(pool);
                let before = sl.genid();
                sl.insert(s.0.as_bytes(), q(s).as_deref(), s.2).unwrap();
                let new = model.insert(s.clone());
                assert_eq!(sl.genid() != before, new, "genid moves exactly on change");
            }
            Op::Remove(i) => {
                let s = i.get(pool);
                let res = sl.remove(s.0.as_bytes(), q(s).as_deref(), &s.2);
                if model.remove(s) {
                    assert_eq!(res, Ok(()));
                } else {
                    assert_eq!(res, Err(SublistError::NotFound));
                }
            }
            Op::Batch(idx) => {
                let subs: Vec<&Sub> = idx.iter().map(|i| i.get(pool)).collect();
                let queues: Vec<Option<Vec<u8>>> = subs.iter().map(|s| q(s)).collect();
                let items = subs
                    .iter()
                    .zip(&queues)
                    .map(|(s, q)| (s.0.as_bytes(), q.as_deref(), &s.2));
                let n = sl.remove_batch(items);
                let want = subs.iter().filter(|s| model.remove(s)).count();
                assert_eq!(n, want);
            }
            Op::Match(subject) => {
                let r = sl.match_subject(subject.as_bytes());
                assert_eq!(actual(&r), expected(&model, subject), "match {subject}");
                if handed_out.len() < 8 {
                    handed_out.push((r.clone(), (*r).clone()));
                }
            }
        }
    }
    check_all(&sl, &model);
    for (arc, snapshot) in &handed_out {
        assert_eq!(
            **arc, *snapshot,
            "a shared result changed after it was handed out"
        );
    }
    // A final sweep over every publish subject of the alphabet up to 3 tokens: any cache
    // entry patched into a wrong state would show here.
    let alphabet = ["a", "b", "c", "d", "*"];
    let mut subjects: Vec<String> = alphabet.iter().map(|t| t.to_string()).collect();
    for _ in 0..2 {
        let longer: Vec<String> = subjects
            .iter()
            .flat_map(|s| alphabet.iter().map(move |t| format!("{s}.{t}")))
            .collect();
        subjects.extend(longer.into_iter().filter(|s| s.len() <= 5));
    }
    for subject in subjects.iter().chain(subjects.iter()) {
        let r = sl.match_subject(subject.as_bytes());
        assert_eq!(
            actual(&r),
            expected(&model, subject),
            "final match {subject}"
        );
    }
    // Removing everything left leaves nothing behind.
    let rest: Vec<Sub> = model.iter().cloned().collect();
    let queues: Vec<Option<Vec<u8>>> = rest.iter().map(q).collect();
    let n = sl.remove_batch(
        rest.iter()
            .zip(&queues)
            .map(|(s, q)| (s.0.as_bytes(), q.as_deref(), &s.2)),
    );
    assert_eq!(n, rest.len());
    assert_eq!(sl.count(), 0);
    assert!(sl.all().is_empty());
    assert!(sl.match_subject(b"a.b").is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn index_agrees_with_naive_matcher(pool in pool(), ops in ops()) {
        run(true, &pool, &ops);
        run(false, &pool, &ops);
    }

    #[test]
    fn subject_matches_agrees_with_naive(pattern in sub_subject(), subject in pub_subject()) {
        prop_assert_eq!(
            nats_sublist::subject::subject_matches(pattern.as_bytes(), subject.as_bytes()),
            naive_matches(&pattern, &subject)
        );
    }
}

#[test]
fn naive_matcher_sanity() {
    assert!(naive_matches("a.*", "a.b"));
    assert!(naive_matches("a.>", "a.b.c"));
    assert!(!naive_matches("a.>", "a"));
    assert!(naive_matches("a.*", "a.*"));
    assert!(!naive_matches("a.b", "a.*"));
    assert!(!naive_matches("a", "a.b"));
}
