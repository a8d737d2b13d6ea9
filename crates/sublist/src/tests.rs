//! Unit tests of the whole index through its public API (plus `shape()` to check pruning).
//! Every behaviour is checked with the cache on and off.

use std::sync::Arc;

use crate::cache::Removal;
use crate::{MatchResult, Stats, Sublist, SublistError};

fn both(f: impl Fn(Sublist<u32>)) {
    f(Sublist::new(true));
    f(Sublist::new(false));
}

fn sorted_psubs(r: &MatchResult<u32>) -> Vec<u32> {
    let mut v = r.psubs.clone();
    v.sort_unstable();
    v
}

/// Queue groups as (name, sorted members), sorted by name.
fn groups(r: &MatchResult<u32>) -> Vec<(String, Vec<u32>)> {
    let mut v: Vec<_> = r
        .qsubs
        .iter()
        .map(|g| {
            let mut m = g.members.clone();
            m.sort_unstable();
            (String::from_utf8(g.name.to_vec()).unwrap(), m)
        })
        .collect();
    v.sort();
    v
}

fn psubs_of(sl: &Sublist<u32>, subject: &str) -> Vec<u32> {
    sorted_psubs(&sl.match_subject(subject.as_bytes()))
}

fn ins(sl: &Sublist<u32>, subject: &str, item: u32) {
    sl.insert(subject.as_bytes(), None, item).unwrap();
}

fn insq(sl: &Sublist<u32>, subject: &str, queue: &str, item: u32) {
    sl.insert(subject.as_bytes(), Some(queue.as_bytes()), item)
        .unwrap();
}

#[test]
fn literal_subjects() {
    both(|sl| {
        ins(&sl, "foo", 1);
        ins(&sl, "foo.bar.baz", 2);
        assert_eq!(sl.count(), 2);
        assert_eq!(psubs_of(&sl, "foo"), [1]);
        assert_eq!(psubs_of(&sl, "foo.bar.baz"), [2]);
        assert!(psubs_of(&sl, "foo.bar").is_empty());
        // A longer subject does not match a shorter subscription and vice versa.
        assert!(psubs_of(&sl, "foo.bar.baz.qux").is_empty());
        assert!(psubs_of(&sl, "bar").is_empty());
    });
}

#[test]
fn partial_and_full_wildcards() {
    both(|sl| {
        ins(&sl, "a.b.c", 1);
        ins(&sl, "a.*.c", 2);
        ins(&sl, "a.b.*", 3);
        ins(&sl, "*.*.*", 4);
        ins(&sl, "a.>", 5);
        ins(&sl, ">", 6);
        ins(&sl, "a.*", 7);
        assert_eq!(psubs_of(&sl, "a.b.c"), [1, 2, 3, 4, 5, 6]);
        assert_eq!(psubs_of(&sl, "a.x.c"), [2, 4, 5, 6]);
        assert_eq!(psubs_of(&sl, "a.b"), [5, 6, 7]);
        assert_eq!(psubs_of(&sl, "a"), [6]);
        assert_eq!(psubs_of(&sl, "a.b.c.d"), [5, 6]);
        assert_eq!(psubs_of(&sl, "z.b.c"), [4, 6]);
    });
}

#[test]
fn wildcard_lookalikes_are_literal_tokens() {
    both(|sl| {
        ins(&sl, "foo.*-", 1);
        ins(&sl, "foo.>-", 2);
        ins(&sl, "foo*.bar", 3);
        assert_eq!(psubs_of(&sl, "foo.*-"), [1]);
        assert_eq!(psubs_of(&sl, "foo.>-"), [2]);
        assert_eq!(psubs_of(&sl, "foo*.bar"), [3]);
        assert!(psubs_of(&sl, "foo.bar").is_empty());
        assert!(psubs_of(&sl, "foo.x-").is_empty());
        sl.remove(b"foo.*-", None, &1).unwrap();
        assert!(psubs_of(&sl, "foo.*-").is_empty());
    });
}

#[test]
fn published_wildcards_match_only_wildcard_subs() {
    both(|sl| {
        ins(&sl, "foo.bar", 1);
        ins(&sl, "foo.*", 2);
        ins(&sl, "foo.>", 3);
        ins(&sl, "*.*", 4);
        ins(&sl, ">", 5);
        ins(&sl, "*.bar", 6);
        assert_eq!(psubs_of(&sl, "foo.*"), [2, 3, 4, 5]);
        assert_eq!(psubs_of(&sl, "foo.>"), [2, 3, 4, 5]);
        assert_eq!(psubs_of(&sl, "*.bar"), [4, 5, 6]);
        assert_eq!(psubs_of(&sl, "*"), [5]);
        // Patching cached wildcard keys follows the same rule.
        ins(&sl, "foo.baz", 7);
        ins(&sl, "*.>", 8);
        assert_eq!(psubs_of(&sl, "foo.*"), [2, 3, 4, 5, 8]);
    });
}

#[test]
fn empty_tokens_match_nothing() {
    both(|sl| {
        ins(&sl, ">", 1);
        ins(&sl, "*.*", 2);
        for s in ["", ".", "foo.", ".foo", "foo..bar", ".."] {
            assert!(sl.match_subject(s.as_bytes()).is_empty(), "{s:?}");
        }
        assert_eq!(sl.cache_count(), 0, "invalid subjects are not cached");
    });
}

#[test]
fn invalid_subjects_are_rejected() {
    both(|sl| {
        for s in [
            "",
            ".",
            "foo.",
            ".foo",
            "foo..bar",
            "foo.>.bar",
            ">.>",
            ">.x",
        ] {
            assert_eq!(
                sl.insert(s.as_bytes(), None, 1),
                Err(SublistError::InvalidSubject)
            );
            assert_eq!(
                sl.remove(s.as_bytes(), None, &1),
                Err(SublistError::InvalidSubject)
            );
        }
        assert_eq!(sl.count(), 0);
        assert_eq!(sl.genid(), 0);
    });
}

#[test]
fn remove_and_not_found() {
    both(|sl| {
        ins(&sl, "a.b", 1);
        ins(&sl, "a.*", 2);
        assert_eq!(sl.remove(b"a.b", None, &3), Err(SublistError::NotFound));
        assert_eq!(
            sl.remove(b"a.b", Some(b"q"), &1),
            Err(SublistError::NotFound)
        );
        assert_eq!(sl.remove(b"a.c", None, &1), Err(SublistError::NotFound));
        assert_eq!(sl.remove(b"a.b.c", None, &1), Err(SublistError::NotFound));
        assert_eq!(sl.remove(b"a", None, &1), Err(SublistError::NotFound));
        assert_eq!(psubs_of(&sl, "a.b"), [1, 2]);
        sl.remove(b"a.b", None, &1).unwrap();
        assert_eq!(psubs_of(&sl, "a.b"), [2]);
        sl.remove(b"a.*", None, &2).unwrap();
        assert!(psubs_of(&sl, "a.b").is_empty());
        assert_eq!(sl.remove(b"a.*", None, &2), Err(SublistError::NotFound));
        assert_eq!(sl.count(), 0);
    });
}

#[test]
fn removal_prunes_the_trie() {
    both(|sl| {
        let subjects = [
            "a.b.c.d", "a.b", "a.*.c", "a.>", "*.>", ">", "x.y.z", "a.b.c.e",
        ];
        for (i, s) in subjects.iter().enumerate() {
            ins(&sl, s, i as u32);
            insq(&sl, s, "q", 100 + i as u32);
        }
        let (nodes, depth) = sl.shape();
        assert_eq!(depth, 4);
        assert!(nodes > 8);
        // Removing the deep one keeps its shared prefix alive for the others.
        sl.remove(b"a.b.c.d", None, &0).unwrap();
        sl.remove(b"a.b.c.d", Some(b"q"), &100).unwrap();
        assert_eq!(sl.shape().1, 4, "a.b.c.e still there");
        for (i, s) in subjects.iter().enumerate().skip(1) {
            sl.remove(s.as_bytes(), None, &(i as u32)).unwrap();
            sl.remove(s.as_bytes(), Some(b"q"), &(100 + i as u32))
                .unwrap();
            sl.shape(); // asserts no empty node or level is left behind
        }
        assert_eq!(sl.shape(), (0, 0));
        assert_eq!(sl.count(), 0);
    });
}

#[test]
fn many_subscribers_on_one_subject() {
    both(|sl| {
        for i in 0..1000 {
            ins(&sl, "big", i);
            insq(&sl, "big", "q", i);
        }
        assert_eq!(sl.match_subject(b"big").psubs.len(), 1000);
        for i in (0..1000).step_by(2) {
            sl.remove(b"big", None, &i).unwrap();
            sl.remove(b"big", Some(b"q"), &i).unwrap();
        }
        let r = sl.match_subject(b"big");
        assert_eq!(sorted_psubs(&r), (1..1000).step_by(2).collect::<Vec<_>>());
        assert_eq!(groups(&r)[0].1, (1..1000).step_by(2).collect::<Vec<_>>());
        assert_eq!(sl.count(), 1000);
    });
}

#[test]
fn duplicate_insert_keeps_one() {
    both(|sl| {
        ins(&sl, "foo.*", 1);
        let gen = sl.genid();
        ins(&sl, "foo.*", 1);
        insq(&sl, "foo.*", "q", 1);
        insq(&sl, "foo.*", "q", 1);
        assert_eq!(
            sl.genid(),
            gen + 1,
            "only the queue insert changed anything"
        );
        assert_eq!(sl.count(), 2);
        let r = sl.match_subject(b"foo.bar");
        assert_eq!(r.psubs, [1]);
        assert_eq!(groups(&r), [("q".into(), vec![1])]);
        // Same item under a different subject is a different subscription.
        ins(&sl, "foo.bar", 1);
        assert_eq!(psubs_of(&sl, "foo.bar"), [1, 1]);
    });
}

#[test]
fn queue_groups() {
    both(|sl| {
        ins(&sl, "foo", 1);
        insq(&sl, "foo", "bar", 2);
        insq(&sl, "foo", "baz", 3);
        insq(&sl, "foo", "bar", 4);
        insq(&sl, "foo", "baz", 5);
        let r = sl.match_subject(b"foo");
        assert_eq!(r.psubs, [1]);
        assert_eq!(
            groups(&r),
            [("bar".into(), vec![2, 4]), ("baz".into(), vec![3, 5])]
        );
        sl.remove(b"foo", Some(b"bar"), &2).unwrap();
        sl.remove(b"foo", Some(b"bar"), &4).unwrap();
        let r = sl.match_subject(b"foo");
        assert_eq!(groups(&r), [("baz".into(), vec![3, 5])]);
        sl.remove(b"foo", None, &1).unwrap();
        let r = sl.match_subject(b"foo");
        assert!(r.psubs.is_empty());
        assert_eq!(r.qsubs.len(), 1);
    });
}

#[test]
fn queue_groups_merge_by_name_across_subjects() {
    both(|sl| {
        insq(&sl, "foo.*", "q", 1);
        insq(&sl, "foo.>", "q", 2);
        insq(&sl, "foo.bar", "q", 3);
        insq(&sl, "foo.bar", "other", 4);
        let r = sl.match_subject(b"foo.bar");
        assert_eq!(
            groups(&r),
            [("other".into(), vec![4]), ("q".into(), vec![1, 2, 3])]
        );
        assert_eq!(r.fanout(), 2);
    });
}

#[test]
fn cache_sees_inserts_and_removes() {
    let sl = Sublist::new(true);
    ins(&sl, "foo.bar", 1);
    let before = sl.match_subject(b"foo.bar");
    assert_eq!(sl.cache_count(), 1);
    // Literal, wildcard and queue inserts all show up in the next (cached) match.
    ins(&sl, "foo.bar", 2);
    ins(&sl, "foo.*", 3);
    ins(&sl, ">", 4);
    insq(&sl, "*.bar", "q", 5);
    ins(&sl, "foo.baz", 6); // must not leak into foo.bar
    ins(&sl, "foo", 7);
    let after = sl.match_subject(b"foo.bar");
    assert_eq!(sorted_psubs(&after), [1, 2, 3, 4]);
    assert_eq!(groups(&after), [("q".into(), vec![5])]);
    assert_eq!(
        sorted_psubs(&before),
        [1],
        "an Arc already handed out never changes"
    );
    assert_eq!(
        sl.cache_count(),
        1,
        "inserts patch, they do not add entries"
    );
    sl.remove(b"foo.*", None, &3).unwrap();
    sl.remove(b"foo.bar", None, &1).unwrap();
    sl.remove(b"*.bar", Some(b"q"), &5).unwrap();
    let r = sl.match_subject(b"foo.bar");
    assert_eq!(sorted_psubs(&r), [2, 4]);
    assert!(r.qsubs.is_empty());
    assert_eq!(sorted_psubs(&after), [1, 2, 3, 4]);
    let s = sl.stats();
    assert_eq!(s.num_matches, 3);
    assert!((s.cache_hit_rate - 2.0 / 3.0).abs() < 1e-9);
}

#[test]
fn cached_empty_result_is_patched() {
    let sl = Sublist::new(true);
    assert!(sl.match_subject(b"nobody.home").is_empty());
    assert_eq!(sl.cache_count(), 1);
    ins(&sl, "nobody.*", 1);
    assert_eq!(psubs_of(&sl, "nobody.home"), [1]);
    sl.remove(b"nobody.*", None, &1).unwrap();
    assert!(sl.match_subject(b"nobody.home").is_empty());
    assert_eq!(sl.stats().cache_hit_rate, 2.0 / 3.0);
}

#[test]
fn a_miss_racing_a_change_is_not_cached() {
    for change in 0..3 {
        let sl = Sublist::new(true);
        ins(&sl, "a.b", 1);
        // The walk happens here, the store after the change (as if another thread's insert
        // or remove had slipped in between the read and the write lock).
        let finish = sl.split_match(b"a.b");
        match change {
            0 => ins(&sl, "a.*", 2),
            1 => sl.remove(b"a.b", None, &1).unwrap(),
            _ => insq(&sl, ">", "q", 3),
        }
        let stale = finish();
        assert_eq!(
            sl.cache_count(),
            0,
            "change {change}: stale walk must not be stored"
        );
        let fresh = sl.match_subject(b"a.b");
        assert_ne!(*stale, *fresh);
        assert_eq!(sl.cache_count(), 1);
        assert_eq!(*sl.match_subject(b"a.b"), *fresh);
    }
}

#[test]
fn cache_stays_bounded() {
    let sl = Sublist::new(true);
    ins(&sl, ">", 1);
    for i in 0..5000 {
        assert_eq!(psubs_of(&sl, &format!("s.{i}")), [1]);
        assert!(sl.cache_count() <= 1024);
    }
    assert!(sl.cache_count() >= 300);
    let none = Sublist::<u32>::new(false);
    ins(&none, ">", 1);
    assert_eq!(psubs_of(&none, "a"), [1]);
    assert_eq!(none.cache_count(), 0);
}

#[test]
fn genid_moves_on_every_change() {
    both(|sl| {
        assert_eq!(sl.genid(), 0);
        ins(&sl, "a", 1);
        assert_eq!(sl.genid(), 1);
        sl.match_subject(b"a");
        assert_eq!(sl.genid(), 1, "matching is not a change");
        let _ = sl.remove(b"a", None, &9);
        assert_eq!(sl.genid(), 1, "a failed remove is not a change");
        sl.remove(b"a", None, &1).unwrap();
        assert_eq!(sl.genid(), 2);
        ins(&sl, "a", 1);
        ins(&sl, "b", 2);
        let items: [Removal<'_, u32>; 2] = [(b"a", None, &1), (b"b", None, &2)];
        assert_eq!(sl.remove_batch(items), 2);
        assert_eq!(sl.genid(), 5, "a batch is one change");
        assert_eq!(sl.remove_batch(items), 0);
        assert_eq!(sl.genid(), 5);
    });
}

#[test]
fn remove_batch_skips_bad_entries_and_keeps_cache_right() {
    both(|sl| {
        ins(&sl, "a.b", 1);
        ins(&sl, "a.*", 2);
        insq(&sl, "a.>", "q", 3);
        ins(&sl, "a.b", 4);
        assert_eq!(psubs_of(&sl, "a.b"), [1, 2, 4]);
        let items: Vec<Removal<'_, u32>> = vec![
            (b"a.b", None, &1),
            (b"a..b", None, &4), // invalid: skipped
            (b"a.*", None, &9),  // not there: skipped
            (b"a.*", None, &2),
            (b"a.>", Some(b"q"), &3),
        ];
        assert_eq!(sl.remove_batch(items), 3);
        assert_eq!(sl.count(), 1);
        let r = sl.match_subject(b"a.b");
        assert_eq!(r.psubs, [4]);
        assert!(r.qsubs.is_empty());
        assert_eq!(sl.stats().num_removes, 3);
    });
}

#[test]
fn remove_batch_with_many_wildcards_clears_cache() {
    let sl = Sublist::new(true);
    let subjects: Vec<String> = (0..100).map(|i| format!("w.{i}.*")).collect();
    for (i, s) in subjects.iter().enumerate() {
        ins(&sl, s, i as u32);
    }
    ins(&sl, "w.>", 1000);
    assert_eq!(psubs_of(&sl, "w.5.x"), [5, 1000]);
    let ids: Vec<u32> = (0..100).collect();
    let n = sl.remove_batch(
        subjects
            .iter()
            .zip(&ids)
            .map(|(s, i)| (s.as_bytes(), None, i)),
    );
    assert_eq!(n, 100);
    assert_eq!(psubs_of(&sl, "w.5.x"), [1000]);
}

#[test]
fn stats_fill_every_field() {
    let sl = Sublist::new(true);
    assert_eq!(sl.stats(), Stats::default());
    ins(&sl, "a", 1);
    ins(&sl, "a", 2);
    insq(&sl, "a", "q", 3);
    insq(&sl, "a", "q", 4);
    ins(&sl, "b", 5);
    sl.remove(b"b", None, &5).unwrap();
    sl.match_subject(b"a"); // fanout 3: two plain + one group
    sl.match_subject(b"a");
    sl.match_subject(b"b"); // fanout 0
    sl.match_subject(b"b");
    let s = sl.stats();
    assert_eq!(s.num_subscriptions, 4);
    assert_eq!(s.num_cache, 2);
    assert_eq!(s.num_inserts, 5);
    assert_eq!(s.num_removes, 1);
    assert_eq!(s.num_matches, 4);
    assert_eq!(s.cache_hit_rate, 0.5);
    assert_eq!(s.max_fanout, 3);
    assert_eq!(s.avg_fanout, 1.5);

    let nc = Sublist::new(false);
    ins(&nc, "a", 1);
    nc.match_subject(b"a");
    let s = nc.stats();
    assert_eq!(
        (s.num_cache, s.num_matches, s.cache_hit_rate, s.max_fanout),
        (0, 1, 0.0, 0)
    );
}

#[test]
fn all_lists_every_subscription() {
    both(|sl| {
        ins(&sl, "a", 1);
        ins(&sl, "a.b", 2);
        insq(&sl, "a.*", "q", 3);
        insq(&sl, "a.*", "r", 4);
        ins(&sl, ">", 5);
        ins(&sl, "a.>", 2);
        let mut all = sl.all();
        all.sort_unstable();
        assert_eq!(all, [1, 2, 2, 3, 4, 5]);
    });
}

#[test]
fn non_utf8_subjects() {
    both(|sl| {
        sl.insert(b"\xff.\xfe", None, 1).unwrap();
        sl.insert(b"\xff.*", Some(b"\x80"), 2).unwrap();
        let r = sl.match_subject(b"\xff.\xfe");
        assert_eq!(r.psubs, [1]);
        assert_eq!(&*r.qsubs[0].name, b"\x80");
    });
}

#[test]
fn hundred_thousand_subscriptions() {
    both(|sl| {
        for i in 0..100_000u32 {
            let subject = match i % 4 {
                0 => format!("bench.{}.{}", i % 97, i),
                1 => format!("bench.{}.*", i % 1000),
                2 => format!("other.{i}.>"),
                _ => format!("q.{}", i % 50),
            };
            if i % 8 == 3 {
                insq(&sl, &subject, "workers", i);
            } else {
                ins(&sl, &subject, i);
            }
        }
        assert_eq!(sl.count(), 100_000);
        assert_eq!(sl.all().len(), 100_000);
        let r = sl.match_subject(b"bench.1.1000");
        assert_eq!(
            r.psubs.len(),
            100,
            "bench.1.* subscribed by i = 1, 1001, .., 99001"
        );
        let r = sl.match_subject(b"q.3");
        assert_eq!(
            r.psubs.len() + r.qsubs[0].members.len(),
            1000,
            "i = 3 mod 100"
        );
    });
}

#[test]
fn concurrent_matches_see_a_consistent_index() {
    // Writers churn subscriptions while readers match; a miss computed before a change must
    // never be stored in the cache after it, so at the end every (cached) answer is exact.
    let sl = Arc::new(Sublist::new(true));
    ins(&sl, "stable.>", 0);
    let subjects = ["stable.x", "stable.y", "stable.x.z"];
    std::thread::scope(|s| {
        for t in 0..2u32 {
            let sl = &sl;
            s.spawn(move || {
                for i in 0..20_000u32 {
                    let id = 1 + t * 1_000_000 + i;
                    let subject = ["stable.*", "stable.x", "stable.*.z", "*.>"][(i % 4) as usize];
                    sl.insert(subject.as_bytes(), None, id).unwrap();
                    sl.remove(subject.as_bytes(), None, &id).unwrap();
                }
            });
        }
        for r in 0..2 {
            let sl = &sl;
            s.spawn(move || {
                for i in 0..40_000 {
                    let m = sl.match_subject(subjects[(i + r) % 3].as_bytes());
                    assert!(m.psubs.contains(&0));
                    assert!(
                        m.psubs.len() <= 3,
                        "one stable sub + at most one per writer"
                    );
                }
            });
        }
    });
    for subject in subjects {
        assert_eq!(psubs_of(&sl, subject), [0], "{subject}");
    }
    assert_eq!(sl.count(), 1);
}

#[test]
fn match_order_is_go_order() {
    // nats-server delivers in this order: `*.*` (found through the first level's `*`
    // subtree), then `foo.>`, then `foo.*`.
    let sl = Sublist::<u32>::new(false);
    sl.insert(b"foo.*", None, 1).unwrap();
    sl.insert(b"foo.>", None, 2).unwrap();
    sl.insert(b"*.*", None, 3).unwrap();
    sl.insert(b"foo.bar", None, 4).unwrap();
    sl.insert(b">", None, 5).unwrap();
    assert_eq!(sl.match_subject(b"foo.bar").psubs, vec![5, 3, 2, 4, 1]);
}
