//! One block file as the store keeps it in memory: a summary that is always there (its
//! sequence range, live counts and bytes, deleted sequences, per-subject counts) and a
//! cache of where each message's record is, loaded from the file only while the block
//! is being read or written. The summary costs tens of bytes per block, not per
//! message; a cache costs 24 bytes per message of a loaded block.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashMap};
use std::fs::File;

use super::record::{self, Bad, Kind};
use super::subjects::{Span, Subjects};
use crate::file_msg_size;

/// Where a message's record is in its block, and what it counts for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Slot {
    pub off: u32,
    pub len: u32,
    pub subj: u32,
    pub size: u32,
    pub ts: i64,
}

impl Slot {
    pub const NONE: Slot = Slot {
        off: u32::MAX,
        len: 0,
        subj: 0,
        size: 0,
        ts: 0,
    };

    pub fn live(&self) -> bool {
        self.off != u32::MAX
    }
}

/// Slots of a block's live messages by `seq - base`.
#[derive(Debug, Default)]
pub(super) struct Cache {
    pub base: u64,
    pub slots: Vec<Slot>,
}

impl Cache {
    pub fn get(&self, seq: u64) -> Slot {
        if seq < self.base {
            return Slot::NONE;
        }
        self.slots
            .get((seq - self.base) as usize)
            .copied()
            .unwrap_or(Slot::NONE)
    }

    pub fn set(&mut self, seq: u64, slot: Slot) {
        if self.slots.is_empty() {
            self.base = seq;
        }
        if seq < self.base {
            return;
        }
        let at = (seq - self.base) as usize;
        if self.slots.len() <= at {
            self.slots.resize(at + 1, Slot::NONE);
        }
        self.slots[at] = slot;
    }

    /// The first live sequence in `from..=to` (with `subj`, if given).
    pub fn next_live(&self, from: u64, to: u64, subj: Option<u32>) -> Option<u64> {
        let from = from.max(self.base);
        (from..=to).find(|&s| {
            let x = self.get(s);
            x.live() && subj.is_none_or(|id| x.subj == id)
        })
    }

    /// The last live sequence in `from..=to` (with `subj`, if given).
    pub fn prev_live(&self, from: u64, to: u64, subj: Option<u32>) -> Option<u64> {
        let from = from.max(self.base);
        (from..=to).rev().find(|&s| {
            let x = self.get(s);
            x.live() && subj.is_none_or(|id| x.subj == id)
        })
    }
}

/// Live messages per subject in one block, kept small (a block of a stream with many
/// subjects holds tens of thousands): count, first and last as `u32` offsets from the
/// block's first message record. The block being written keeps a hash map; a full block
/// is sealed into a sorted slice (16 bytes a subject, no spare capacity), where a
/// subject whose last message goes leaves a zero count behind until the slice is rebuilt.
#[derive(Clone, Debug, Default)]
pub(super) struct Fss {
    base: u64,
    map: HashMap<u32, [u32; 3]>,
    sealed: Box<[(u32, [u32; 3])]>,
    /// Zero-count entries in `sealed`.
    holes: usize,
}

impl Fss {
    fn span(&self, v: &[u32; 3]) -> Span {
        Span {
            msgs: u64::from(v[0]),
            first: self.base + u64::from(v[1]),
            last: self.base + u64::from(v[2]),
        }
    }

    fn sealed_at(&self, sid: u32) -> Option<usize> {
        let i = self.sealed.binary_search_by_key(&sid, |e| e.0).ok()?;
        (self.sealed[i].1[0] > 0).then_some(i)
    }

    fn offsets(&self, s: Span) -> [u32; 3] {
        debug_assert!(s.first >= self.base && s.last >= s.first);
        [
            s.msgs as u32,
            (s.first - self.base) as u32,
            (s.last - self.base) as u32,
        ]
    }

    pub fn get(&self, sid: u32) -> Option<Span> {
        match self.sealed_at(sid) {
            Some(i) => Some(self.span(&self.sealed[i].1)),
            None => self.map.get(&sid).map(|v| self.span(v)),
        }
    }

    pub fn contains(&self, sid: u32) -> bool {
        self.sealed_at(sid).is_some() || self.map.contains_key(&sid)
    }

    fn is_empty(&self) -> bool {
        self.map.is_empty() && self.sealed.len() == self.holes
    }

    /// Count a message appended at `seq` (`seq - base` must fit a `u32`: see
    /// [`MAX_SPAN`]). Only the block being written takes messages.
    pub fn add(&mut self, sid: u32, seq: u64) {
        if self.is_empty() {
            self.sealed = Box::default();
            self.holes = 0;
            self.base = seq;
        }
        if let Some(i) = self.sealed_at(sid) {
            // Not expected (sealed blocks are full), but a count must never be lost.
            let off = (seq - self.base) as u32;
            let v = &mut self.sealed[i].1;
            v[0] += 1;
            v[2] = off;
            return;
        }
        let off = (seq - self.base) as u32;
        let v = self.map.entry(sid).or_insert([0, off, off]);
        v[0] += 1;
        v[2] = off;
    }

    /// Replace a subject's span; `s.first` must not precede the base (the first
    /// message added, or the block's first record for [`Fss::with_base`]).
    pub fn set(&mut self, sid: u32, s: Span) {
        let v = self.offsets(s);
        match self.sealed_at(sid) {
            Some(i) => self.sealed[i].1 = v,
            None => {
                self.map.insert(sid, v);
            }
        }
    }

    pub fn remove(&mut self, sid: u32) {
        if let Some(i) = self.sealed_at(sid) {
            self.sealed[i].1[0] = 0;
            self.holes += 1;
            if self.holes * 2 > self.sealed.len() {
                self.seal();
            }
        } else {
            self.map.remove(&sid);
        }
    }

    /// Move everything into the compact sorted form (the block takes no more messages).
    pub fn seal(&mut self) {
        let mut all: Vec<(u32, [u32; 3])> = self
            .sealed
            .iter()
            .filter(|e| e.1[0] > 0)
            .copied()
            .chain(self.map.drain())
            .collect();
        all.sort_unstable_by_key(|e| e.0);
        self.sealed = all.into_boxed_slice();
        self.map = HashMap::new();
        self.holes = 0;
    }

    /// An empty table whose offsets count from `base` (the block's first record).
    pub fn with_base(base: u64) -> Fss {
        Fss {
            base,
            ..Fss::default()
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (u32, Span)> + '_ {
        let sealed = self
            .sealed
            .iter()
            .filter(|e| e.1[0] > 0)
            .map(|e| (e.0, &e.1));
        sealed
            .chain(self.map.iter().map(|(k, v)| (*k, v)))
            .map(|(id, v)| (id, self.span(v)))
    }

    pub fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        let sealed = self.sealed.iter().filter(|e| e.1[0] > 0).map(|e| e.0);
        sealed.chain(self.map.keys().copied())
    }
}

/// The widest range of sequences one block may hold (its per-subject offsets are `u32`).
pub(super) const MAX_SPAN: u64 = u32::MAX as u64;

pub(super) struct Block {
    pub id: u32,
    pub file: File,
    pub size: u64,
    /// The lowest sequence any record of this block carries (u64::MAX if none): where a
    /// compaction must leave its marker.
    pub min_seq: u64,
    /// The sequences of its message records, lowest and highest (0 when it has none).
    pub lo: u64,
    pub hi: u64,
    /// Every sequence in `lo..=hi` has a message record here (no skipped ones), so live
    /// messages can be counted from `dmap` alone.
    pub dense: bool,
    /// Live messages: how many, their bytes, the first and last (when `msgs > 0`).
    pub msgs: u64,
    pub bytes: u64,
    pub first: u64,
    pub last: u64,
    /// Deleted messages strictly between `first` and `last`.
    pub dmap: BTreeSet<u64>,
    /// Live messages per subject in this block.
    pub fss: Fss,
    pub dirty: bool,
    pub cache: RefCell<Option<Box<Cache>>>,
    /// When the cache was last used (the store's clock), for eviction.
    pub used: Cell<u64>,
}

impl Block {
    pub fn new(id: u32, file: File) -> Block {
        Block {
            id,
            file,
            size: 0,
            min_seq: u64::MAX,
            lo: 0,
            hi: 0,
            dense: true,
            msgs: 0,
            bytes: 0,
            first: 0,
            last: 0,
            dmap: BTreeSet::new(),
            fss: Fss::default(),
            dirty: false,
            cache: RefCell::new(None),
            used: Cell::new(0),
        }
    }

    /// Live messages at or after `start` that `sel` selects, from the summary when it
    /// can (the whole block, or a dense block with every subject); `None` when only the
    /// cache can tell.
    pub fn count_from(&self, start: u64, sel: &crate::index::Selector) -> Option<u64> {
        use crate::index::Selector;
        if self.msgs == 0 || start > self.last {
            return Some(0);
        }
        if start <= self.first {
            return Some(match sel {
                Selector::All => self.msgs,
                Selector::None => 0,
                Selector::One(id) => self.fss.get(*id).map_or(0, |s| s.msgs),
                Selector::Many(_) => self
                    .fss
                    .iter()
                    .filter(|(id, _)| sel.selects(*id))
                    .map(|(_, s)| s.msgs)
                    .sum(),
            });
        }
        match sel {
            Selector::All if self.dense => {
                Some(self.last - start + 1 - self.dmap.range(start..=self.last).count() as u64)
            }
            Selector::None => Some(0),
            Selector::One(id) if !self.fss.contains(*id) => Some(0),
            _ => None,
        }
    }

    /// Whether any live message here has a subject `sel` selects.
    pub fn holds(&self, sel: &crate::index::Selector) -> bool {
        use crate::index::Selector;
        self.msgs > 0
            && match sel {
                Selector::All => true,
                Selector::None => false,
                Selector::One(id) => self.fss.contains(*id),
                Selector::Many(_) => self.fss.ids().any(|id| sel.selects(id)),
            }
    }
}

/// What reading one block's records found.
#[derive(Default)]
pub(super) struct Scan {
    /// Message records: (seq, offset, length, subject, size, ts). Subjects are kept as
    /// byte ranges of the block until the liveness of each message is known.
    pub msgs: Vec<(u64, u32, u32, std::ops::Range<usize>, u32, i64)>,
    pub deleted: BTreeSet<u64>,
    /// The highest `first` marker: messages below it are gone.
    pub first_marker: u64,
    /// The highest sequence any record names (skips included).
    pub last_seq: u64,
    pub min_seq: u64,
    /// The timestamp the final record carries (the store's last message time).
    pub last_ts: Option<i64>,
    /// Bytes that decoded as records.
    pub good: usize,
}

/// Decode every record of a block's bytes (until the first bad one).
pub(super) fn scan(bytes: &[u8]) -> Scan {
    let mut s = Scan {
        min_seq: u64::MAX,
        ..Default::default()
    };
    let mut at = 0;
    while at < bytes.len() {
        let rec = match record::decode(&bytes[at..]) {
            Ok(r) => r,
            Err(Bad::Short) | Err(Bad::Invalid) => break,
        };
        s.min_seq = s.min_seq.min(rec.seq);
        match rec.kind {
            Kind::Msg => {
                let size = file_msg_size(rec.subject.len(), rec.hdr.len(), rec.data.len()) as u32;
                let subj = at + record::HEADER..at + record::HEADER + rec.subject.len();
                s.msgs
                    .push((rec.seq, at as u32, rec.len as u32, subj, size, rec.ts));
                s.last_seq = s.last_seq.max(rec.seq);
            }
            Kind::Delete => {
                s.deleted.insert(rec.seq);
            }
            Kind::First => {
                s.first_marker = s.first_marker.max(rec.seq);
                s.last_seq = s.last_seq.max(rec.seq.saturating_sub(1));
            }
            Kind::Skip => s.last_seq = s.last_seq.max(rec.seq),
        }
        s.last_ts = Some(rec.ts);
        at += rec.len;
    }
    s.good = at;
    s
}

/// Build a block's summary (and its cache) from what a scan found: a message is live
/// unless deleted in this block or below a `first` marker of this block (a compaction
/// leaves one in every block it cut into).
pub(super) fn build(
    id: u32,
    file: File,
    bytes: &[u8],
    scan: &Scan,
    subjects: &mut Subjects,
) -> (Block, Cache) {
    let mut b = Block::new(id, file);
    b.size = scan.good as u64;
    b.min_seq = scan.min_seq;
    let mut cache = Cache::default();
    let mut prev: Option<u64> = None;
    for (seq, off, len, subj, size, ts) in &scan.msgs {
        let seq = *seq;
        if let Some(p) = prev {
            if seq != p + 1 {
                b.dense = false;
            }
        }
        // A sequence stored twice (never written so; a damaged block) keeps the first.
        if prev.is_some_and(|p| seq <= p) {
            continue;
        }
        prev = Some(seq);
        if b.lo == 0 {
            b.lo = seq;
        }
        b.hi = seq;
        if seq < scan.first_marker || scan.deleted.contains(&seq) {
            continue;
        }
        let name = String::from_utf8_lossy(&bytes[subj.clone()]);
        let sid = subjects.intern(&name);
        cache.set(
            seq,
            Slot {
                off: *off,
                len: *len,
                subj: sid,
                size: *size,
                ts: *ts,
            },
        );
        if b.msgs == 0 {
            b.first = seq;
        }
        b.last = seq;
        b.msgs += 1;
        b.bytes += u64::from(*size);
        b.fss.add(sid, seq);
    }
    if b.msgs > 0 {
        // A delete record is written into the block of the message it deletes.
        if b.first + 1 < b.last {
            b.dmap = scan.deleted.range(b.first + 1..b.last).copied().collect();
        }
    }
    if cache.slots.is_empty() {
        cache.base = b.lo;
    }
    (b, cache)
}

/// Load a block's cache from its bytes: the live messages are those of the summary's
/// range that no delete record or `first` marker of the block has removed.
pub(super) fn load_cache(b: &Block, bytes: &[u8], subjects: &Subjects) -> Cache {
    let mut cache = Cache {
        base: b.lo,
        slots: Vec::new(),
    };
    if b.msgs == 0 {
        return cache;
    }
    let sc = scan(bytes);
    for (seq, off, len, subj, size, ts) in &sc.msgs {
        let seq = *seq;
        if seq < b.first
            || seq > b.last
            || seq < sc.first_marker
            || sc.deleted.contains(&seq)
            || cache.get(seq).live()
        {
            continue;
        }
        let name = String::from_utf8_lossy(&bytes[subj.clone()]);
        if let Some(sid) = subjects.id(&name) {
            cache.set(
                seq,
                Slot {
                    off: *off,
                    len: *len,
                    subj: sid,
                    size: *size,
                    ts: *ts,
                },
            );
        }
    }
    cache
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Clone, Debug)]
    enum Op {
        Add(u32),
        Seal,
        Remove(u32),
        Shrink(u32),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u32..40).prop_map(Op::Add),
            1 => Just(Op::Seal),
            2 => (0u32..40).prop_map(Op::Remove),
            2 => (0u32..40).prop_map(Op::Shrink),
        ]
    }

    proptest! {
        /// The compact table answers as a plain map of spans would, sealed or not.
        #[test]
        fn fss_matches_a_map(ops in proptest::collection::vec(op(), 1..200)) {
            let mut fss = Fss::with_base(100);
            let mut model: HashMap<u32, Span> = HashMap::new();
            let mut seq = 100;
            for op in ops {
                match op {
                    Op::Add(sid) => {
                        fss.add(sid, seq);
                        model.entry(sid).or_default().add(seq);
                        seq += 3;
                    }
                    Op::Seal => fss.seal(),
                    Op::Remove(sid) => {
                        fss.remove(sid);
                        model.remove(&sid);
                    }
                    Op::Shrink(sid) => {
                        if let Some(s) = model.get_mut(&sid) {
                            if s.msgs > 1 {
                                s.msgs -= 1;
                                s.first += 1;
                                fss.set(sid, *s);
                            }
                        }
                    }
                }
                for sid in 0..40 {
                    prop_assert_eq!(fss.get(sid), model.get(&sid).copied());
                    prop_assert_eq!(fss.contains(sid), model.contains_key(&sid));
                }
                let mut ids: Vec<u32> = fss.ids().collect();
                ids.sort_unstable();
                let mut want: Vec<u32> = model.keys().copied().collect();
                want.sort_unstable();
                prop_assert_eq!(&ids, &want);
                prop_assert_eq!(fss.iter().count(), want.len());
            }
        }
    }
}
