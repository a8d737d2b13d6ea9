//! Sublist benchmarks: `cargo bench -p nats-sublist` (criterion; numbers per element).
//!
//! The handle type is an `Arc` compared by pointer, like the server's subscription handle.
//! Results are recorded in `crates/sublist/BENCH.md`.

use std::hash::{Hash, Hasher};
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use nats_sublist::Sublist;

#[derive(Clone)]
struct Handle(Arc<u64>);

impl PartialEq for Handle {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}
impl Eq for Handle {}
impl Hash for Handle {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_usize(Arc::as_ptr(&self.0) as usize);
    }
}

struct Sub {
    subject: Vec<u8>,
    queue: Option<&'static [u8]>,
    handle: Handle,
}

fn sub(subject: String, queue: Option<&'static [u8]>, id: u64) -> Sub {
    Sub {
        subject: subject.into_bytes(),
        queue,
        handle: Handle(Arc::new(id)),
    }
}

/// `n` literal subscriptions spread over a realistic three-level namespace.
fn literal_subs(n: u64) -> Vec<Sub> {
    (0..n)
        .map(|i| sub(format!("svc.{}.{}", i % 100, i), None, i))
        .collect()
}

/// `n` subscriptions: 70% literal, 20% `*`, 10% `>` queue subscriptions.
fn mixed_subs(n: u64) -> Vec<Sub> {
    (0..n)
        .map(|i| match i % 10 {
            0..=6 => sub(format!("svc.{}.{}", i % 100, i), None, i),
            7 | 8 => sub(format!("svc.{}.*.{}", i % 100, i % 7), None, i),
            _ => sub(format!("svc.{}.>", i % 100), Some(b"workers"), i),
        })
        .collect()
}

fn build(subs: &[Sub], cache: bool) -> Sublist<Handle> {
    let sl = Sublist::new(cache);
    for s in subs {
        sl.insert(&s.subject, s.queue, s.handle.clone()).unwrap();
    }
    sl
}

fn insert(c: &mut Criterion) {
    let mut g = c.benchmark_group("insert");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Elements(100_000));
    let literal = literal_subs(100_000);
    g.bench_function("100k_literal", |b| {
        b.iter_with_large_drop(|| build(black_box(&literal), true))
    });
    let mixed = mixed_subs(100_000);
    g.bench_function("100k_mixed_wildcard", |b| {
        b.iter_with_large_drop(|| build(black_box(&mixed), true))
    });
    g.finish();
}

/// Publish subjects hitting the 10k index: each matches a few literal, `*` and `>` subs.
fn publish_subjects() -> Vec<Vec<u8>> {
    (0..512u64)
        .map(|k| format!("svc.{}.{}", k % 100, k).into_bytes())
        .collect()
}

fn matching(c: &mut Criterion) {
    let mut g = c.benchmark_group("match_10k_subs");
    g.throughput(Throughput::Elements(1));
    let subs = mixed_subs(10_000);
    let subjects = publish_subjects();

    let cached = build(&subs, true);
    for s in &subjects {
        cached.match_subject(s);
    }
    let mut i = 0;
    g.bench_function("cache_hit", |b| {
        b.iter(|| {
            i = (i + 1) & 511;
            black_box(cached.match_subject(&subjects[i]))
        })
    });
    let st = cached.stats();
    // (Skipped when a filter left the bench out: then only the warm-up misses happened.)
    if st.num_matches > 10_000 {
        assert!(
            st.cache_hit_rate > 0.99,
            "cache_hit missed the cache: {st:?}"
        );
    }

    let uncached = build(&subs, false);
    g.bench_function("cache_miss_no_cache", |b| {
        b.iter(|| {
            i = (i + 1) & 511;
            black_box(uncached.match_subject(&subjects[i]))
        })
    });

    // Misses with the cache on: every subject is new, so each one walks the trie, takes the
    // write lock to store, and every ~512 stores pays a sweep.
    let mut n = 0u64;
    g.bench_function("cache_miss_with_cache", |b| {
        b.iter(|| {
            n += 1;
            let subject = format!("svc.{}.{}", n % 100, n);
            black_box(cached.match_subject(subject.as_bytes()))
        })
    });
    g.finish();
}

fn remove(c: &mut Criterion) {
    let mut g = c.benchmark_group("remove");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Elements(100_000));
    let literal = literal_subs(100_000);
    g.bench_function("100k_literal_one_by_one", |b| {
        b.iter_batched(
            || build(&literal, true),
            |sl| {
                for s in &literal {
                    sl.remove(&s.subject, s.queue, &s.handle).unwrap();
                }
                sl
            },
            BatchSize::PerIteration,
        )
    });
    let mixed = mixed_subs(100_000);
    g.bench_function("100k_mixed_batch", |b| {
        b.iter_batched(
            || build(&mixed, true),
            |sl| {
                let n = sl.remove_batch(mixed.iter().map(|s| (&s.subject[..], s.queue, &s.handle)));
                assert_eq!(n, mixed.len());
                sl
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, insert, matching, remove);
criterion_main!(benches);
