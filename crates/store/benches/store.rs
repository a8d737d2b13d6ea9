//! Appending and reading messages: `cargo bench -p nats-store --bench store`.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use nats_store::{FileStore, FileStoreConfig, MemStore, Store};

fn append(c: &mut Criterion) {
    let mut g = c.benchmark_group("append");
    for size in [16usize, 1024] {
        let data = vec![b'x'; size];
        g.throughput(Throughput::Elements(1));
        g.bench_function(format!("memory/{size}B"), |b| {
            let mut s = MemStore::new();
            let mut ts = 0;
            b.iter(|| {
                ts += 1;
                s.store("orders.new", b"", &data, ts).unwrap()
            })
        });
        g.bench_function(format!("file/{size}B"), |b| {
            let dir = tempfile::tempdir().unwrap();
            let (mut s, _) = FileStore::open(FileStoreConfig::new(dir.path())).unwrap();
            let mut ts = 0;
            b.iter(|| {
                ts += 1;
                s.store("orders.new", b"", &data, ts).unwrap()
            })
        });
    }
    g.finish();
}

fn read(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = FileStore::open(FileStoreConfig::new(dir.path())).unwrap();
    for i in 0..100_000 {
        s.store(
            if i % 10 == 0 { "a.rare" } else { "a.common" },
            b"",
            &[b'x'; 128],
            i,
        )
        .unwrap();
    }
    let mut g = c.benchmark_group("read");
    g.bench_function("file/get", |b| {
        let mut seq = 0u64;
        b.iter(|| {
            seq = seq % 100_000 + 1;
            s.get(seq).unwrap()
        })
    });
    g.bench_function("file/next-filtered", |b| {
        let mut seq = 0u64;
        b.iter(|| {
            seq = (seq + 1) % 99_000;
            s.next(seq, Some("a.rare")).unwrap()
        })
    });
    g.bench_function("file/reopen-100k", |b| {
        b.iter_batched(
            || (),
            |_| FileStore::open(FileStoreConfig::new(dir.path())).unwrap(),
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, append, read);
criterion_main!(benches);
