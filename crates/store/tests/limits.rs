//! Stream limits (discard old) enforced the same way over both stores.

use nats_store::{enforce, FileStore, FileStoreConfig, Limits, MemStore, Store};

fn stores(dir: &std::path::Path) -> Vec<Box<dyn Store>> {
    vec![
        Box::new(MemStore::new()),
        Box::new(FileStore::open(FileStoreConfig::new(dir)).unwrap().0),
    ]
}

fn put(s: &mut dyn Store, lim: &Limits, subject: &str, ts: i64) {
    s.store(subject, b"", b"0123456789", ts).unwrap();
    enforce(s, lim, Some(subject), ts).unwrap();
}

#[test]
fn max_msgs_and_per_subject_drop_the_oldest() {
    let dir = tempfile::tempdir().unwrap();
    for mut s in stores(dir.path()) {
        let lim = Limits {
            max_msgs: 5,
            max_msgs_per_subject: 2,
            ..Default::default()
        };
        for i in 0..10 {
            put(s.as_mut(), &lim, if i % 3 == 0 { "a" } else { "b" }, i);
        }
        // a at 1,4,7,10 and b at the others; b keeps 2 (9, 8), a keeps 2 (7, 10).
        let st = s.state();
        assert_eq!((st.msgs, st.last_seq), (4, 10));
        assert_eq!(s.subjects(">"), vec![("a".into(), 2), ("b".into(), 2)]);
        assert_eq!(s.subject_first("a"), Some((7, 2)));
        assert_eq!(s.subject_first("b"), Some((8, 2)));
    }
}

#[test]
fn max_bytes_and_max_age() {
    let dir = tempfile::tempdir().unwrap();
    for mut s in stores(dir.path()) {
        // What one message counts differs by storage (Go's memory and file formulas).
        let lim = Limits::default();
        put(s.as_mut(), &lim, "a", 0);
        let per = s.state().bytes as i64;
        let lim = Limits {
            max_bytes: per * 3,
            ..Default::default()
        };
        for i in 1..6 {
            put(s.as_mut(), &lim, "a", i);
        }
        assert_eq!((s.state().msgs, s.state().first_seq), (3, 4));
        let age = Limits {
            max_age: 100,
            ..Default::default()
        };
        s.store("a", b"", b"late", 1_000).unwrap();
        // At 104, what was stored at or before 4 is too old (seqs 4 and 5, times 3 and 4),
        // as nats-server expires `ts <= now - max_age`.
        assert_eq!(enforce(s.as_mut(), &age, None, 104).unwrap(), 2);
        assert_eq!(s.state().first_seq, 6);
    }
}
