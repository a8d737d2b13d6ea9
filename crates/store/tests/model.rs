//! Both stores against a naive model (a sorted map), under random operations; the file
//! store also reopened at random points, which must lose nothing.

use std::collections::BTreeMap;

use nats_store::{FileStore, FileStoreConfig, MemStore, Purge, Store, StreamState};
use proptest::prelude::*;

const SUBJECTS: [&str; 5] = ["a", "a.b", "a.c", "b.x", "b.y.z"];
const FILTERS: [&str; 6] = ["a", "a.*", "b.>", ">", "*.x", "zzz"];

#[derive(Clone, Debug)]
enum Op {
    Store {
        subj: usize,
        len: usize,
        hdr: bool,
    },
    StoreAt {
        gap: u64,
        subj: usize,
    },
    Skip {
        gap: u64,
    },
    Remove {
        back: u64,
        erase: bool,
    },
    Purge {
        filter: Option<usize>,
        up_to: Option<u64>,
        keep: Option<u64>,
    },
    Compact {
        back: u64,
    },
    Reopen,
    /// Sync (which writes the index snapshot), then go on.
    Flush,
    /// Reopen after a crash: no final sync, no fresh snapshot (an older one may be
    /// there, for blocks that have changed since).
    CrashReopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0..SUBJECTS.len(), 0usize..300, any::<bool>()).prop_map(|(subj, len, hdr)| Op::Store { subj, len, hdr }),
        1 => (1u64..4, 0..SUBJECTS.len()).prop_map(|(gap, subj)| Op::StoreAt { gap, subj }),
        1 => (0u64..4).prop_map(|gap| Op::Skip { gap }),
        4 => (0u64..30, any::<bool>()).prop_map(|(back, erase)| Op::Remove { back, erase }),
        1 => (proptest::option::of(0..FILTERS.len()), proptest::option::of(0u64..40), proptest::option::of(0u64..5))
            .prop_map(|(filter, up_to, keep)| Op::Purge { filter, up_to, keep }),
        1 => (0u64..20).prop_map(|back| Op::Compact { back }),
        2 => Just(Op::Reopen),
        1 => Just(Op::Flush),
        2 => Just(Op::CrashReopen),
    ]
}

#[derive(Clone, Debug)]
struct M {
    subject: String,
    hdr: Vec<u8>,
    data: Vec<u8>,
    ts: i64,
}

#[derive(Default)]
struct Model {
    msgs: BTreeMap<u64, M>,
    last: u64,
    last_ts: i64,
}

fn matches(filter: &str, subject: &str) -> bool {
    let f: Vec<&str> = filter.split('.').collect();
    let s: Vec<&str> = subject.split('.').collect();
    for (i, t) in f.iter().enumerate() {
        if *t == ">" {
            return s.len() > i;
        }
        if i >= s.len() || (*t != "*" && *t != s[i]) {
            return false;
        }
    }
    f.len() == s.len()
}

impl Model {
    fn put(&mut self, seq: u64, m: M) {
        self.last_ts = m.ts;
        self.last = seq;
        self.msgs.insert(seq, m);
    }

    fn compact(&mut self, seq: u64) -> u64 {
        if seq <= 1 {
            return 0;
        }
        if seq > self.last + 1 {
            self.last = seq - 1;
        }
        let keep = self.msgs.split_off(&seq);
        let n = self.msgs.len() as u64;
        self.msgs = keep;
        n
    }

    fn purge(&mut self, req: &Purge) -> u64 {
        let filtered = req.filter.as_deref().is_some_and(|f| f != ">");
        if !filtered {
            let mut cut = req.up_to.unwrap_or(self.last + 1);
            if let Some(keep) = req.keep.filter(|&k| k > 0) {
                if self.msgs.len() as u64 <= keep {
                    return 0;
                }
                let n = self.msgs.len() - keep as usize;
                cut = *self.msgs.keys().nth(n).unwrap();
            }
            return self.compact(cut);
        }
        let f = req.filter.clone().unwrap();
        let mut seqs: Vec<u64> = self
            .msgs
            .iter()
            .filter(|(s, m)| matches(&f, &m.subject) && req.up_to.is_none_or(|u| **s < u))
            .map(|(s, _)| *s)
            .collect();
        if let Some(keep) = req.keep.filter(|&k| k > 0) {
            let n = seqs.len().saturating_sub(keep as usize);
            seqs.truncate(n);
        }
        for s in &seqs {
            self.msgs.remove(s);
        }
        seqs.len() as u64
    }

    fn state(&self) -> StreamState {
        let first = self.msgs.keys().next().copied().unwrap_or(self.last + 1);
        let mut subjects: Vec<&str> = self.msgs.values().map(|m| m.subject.as_str()).collect();
        subjects.sort();
        subjects.dedup();
        StreamState {
            msgs: self.msgs.len() as u64,
            bytes: self
                .msgs
                .values()
                .map(|m| (m.subject.len() + m.hdr.len() + m.data.len() + 16) as u64)
                .sum(),
            first_seq: first,
            first_ts: self.msgs.values().next().map_or(0, |m| m.ts),
            last_seq: self.last,
            last_ts: self.last_ts,
            num_deleted: if self.msgs.is_empty() {
                0
            } else {
                self.last - first + 1 - self.msgs.len() as u64
            },
            num_subjects: subjects.len() as u64,
        }
    }
}

fn check(store: &dyn Store, model: &Model, file: bool) -> Result<(), TestCaseError> {
    let mut want = model.state();
    if file {
        want.bytes = model
            .msgs
            .values()
            .map(|m| nats_store::file_msg_size(m.subject.len(), m.hdr.len(), m.data.len()))
            .sum();
    }
    prop_assert_eq!(store.state(), want);
    for seq in 0..=model.last + 1 {
        let got = store.get(seq).unwrap();
        match model.msgs.get(&seq) {
            None => prop_assert!(got.is_none(), "seq {} should be gone", seq),
            Some(m) => {
                let g = got.expect("message present");
                prop_assert_eq!(&g.subject, &m.subject);
                prop_assert_eq!(&g.hdr[..], &m.hdr[..]);
                prop_assert_eq!(&g.data[..], &m.data[..]);
                prop_assert_eq!(g.ts, m.ts);
            }
        }
    }
    for f in FILTERS {
        let want: Vec<u64> = model
            .msgs
            .iter()
            .filter(|(_, m)| matches(f, &m.subject))
            .map(|(s, _)| *s)
            .collect();
        let next = store.next(0, Some(f)).unwrap().map(|m| m.seq);
        prop_assert_eq!(next, want.first().copied(), "next {}", f);
        let last = store.last_by_subject(f).unwrap().map(|m| m.seq);
        prop_assert_eq!(last, want.last().copied(), "last {}", f);
        // Several starts in increasing order, as a consumer asks (the file store carries
        // its last answer forward).
        let mid = model.last / 2;
        for start in [mid, mid + 1, mid + 3, model.last, model.last + 1] {
            prop_assert_eq!(
                store.num_pending(start, Some(f)),
                want.iter().filter(|&&s| s >= start).count() as u64,
                "num_pending({}, {})",
                start,
                f
            );
        }
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        for m in model.msgs.values().filter(|m| matches(f, &m.subject)) {
            *counts.entry(m.subject.clone()).or_default() += 1;
        }
        prop_assert_eq!(store.subjects(f), counts.into_iter().collect::<Vec<_>>());
    }
    Ok(())
}

enum Either {
    Mem(MemStore),
    File(FileStore),
}

impl std::ops::Deref for Either {
    type Target = dyn Store;
    fn deref(&self) -> &(dyn Store + 'static) {
        match self {
            Either::Mem(s) => s,
            Either::File(s) => s,
        }
    }
}

impl std::ops::DerefMut for Either {
    fn deref_mut(&mut self) -> &mut (dyn Store + 'static) {
        match self {
            Either::Mem(s) => s,
            Either::File(s) => s,
        }
    }
}

fn run(ops: &[Op], file: bool) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let cfg = || {
        let mut c = FileStoreConfig::new(dir.path());
        c.block_size = 2048; // many blocks, so block removal and markers are exercised
        c
    };
    let mut store = if file {
        Either::File(FileStore::open(cfg()).unwrap().0)
    } else {
        Either::Mem(MemStore::new())
    };
    let mut model = Model::default();
    let mut ts = 1_000i64;
    for op in ops {
        ts += 7;
        match op {
            Op::Store { subj, len, hdr } => {
                let hdr = if *hdr {
                    b"NATS/1.0\r\nk: v\r\n\r\n".to_vec()
                } else {
                    Vec::new()
                };
                let data: Vec<u8> = (0..*len)
                    .map(|i| (i * 31 + model.last as usize) as u8)
                    .collect();
                let seq = store.store(SUBJECTS[*subj], &hdr, &data, ts).unwrap();
                prop_assert_eq!(seq, model.last + 1);
                model.put(
                    seq,
                    M {
                        subject: SUBJECTS[*subj].into(),
                        hdr,
                        data,
                        ts,
                    },
                );
            }
            Op::StoreAt { gap, subj } => {
                let seq = model.last + gap;
                store.store_at(seq, SUBJECTS[*subj], b"", b"x", ts).unwrap();
                prop_assert!(store.store_at(seq, "a", b"", b"", ts).is_err());
                model.put(
                    seq,
                    M {
                        subject: SUBJECTS[*subj].into(),
                        hdr: vec![],
                        data: b"x".to_vec(),
                        ts,
                    },
                );
            }
            Op::Skip { gap } => {
                let seq = model.last + gap;
                store.skip(seq).unwrap();
                model.last = model.last.max(seq);
            }
            Op::Remove { back, erase } => {
                let seq = model.last.saturating_sub(*back);
                let had = model.msgs.remove(&seq).is_some();
                prop_assert_eq!(store.remove(seq, *erase).unwrap(), had);
            }
            Op::Purge {
                filter,
                up_to,
                keep,
            } => {
                let req = Purge {
                    filter: filter.map(|f| FILTERS[f].to_string()),
                    up_to: *up_to,
                    keep: if up_to.is_some() { None } else { *keep },
                };
                prop_assert_eq!(store.purge(&req).unwrap(), model.purge(&req));
            }
            Op::Compact { back } => {
                let seq = (model.last + 2).saturating_sub(*back);
                prop_assert_eq!(store.compact(seq).unwrap(), model.compact(seq));
            }
            Op::Reopen => {
                if file {
                    drop(store);
                    let (s, rec) = FileStore::open(cfg()).unwrap();
                    prop_assert_eq!(rec, Default::default());
                    store = Either::File(s);
                }
            }
            Op::Flush => store.flush().unwrap(),
            Op::CrashReopen => {
                if let Either::File(s) = store {
                    s.crash();
                    let (s, rec) = FileStore::open(cfg()).unwrap();
                    prop_assert_eq!(rec, Default::default());
                    store = Either::File(s);
                }
            }
        }
        check(&*store, &model, file)?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(std::env::var("MODEL_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64)))]

    #[test]
    fn memory_store_matches_the_model(ops in proptest::collection::vec(op(), 1..80)) {
        run(&ops, false)?;
    }

    #[test]
    fn file_store_matches_the_model_across_reopens(ops in proptest::collection::vec(op(), 1..80)) {
        run(&ops, true)?;
    }
}
