//! The index snapshot (`<dir>/blocks/index.snap`): every block's summary and the subject
//! table, written at each sync and at close, so that opening a store reads one small
//! file instead of every record. It is trusted only for blocks whose file size it
//! matches (blocks are append-only: any change to one changes its size); the last block
//! may have grown since and is then read again. Layout (little-endian), ending with a
//! CRC-32 of everything before it:
//!
//! ```text
//! magic "NSIDX002" | first u64 | first_ts i64 | last u64 | last_ts i64
//! subjects u32 × (id u32, len u16, bytes)
//! blocks u32 × (id u32, size u64, min_seq u64, lo u64, hi u64, dense u8, msgs u64,
//!               bytes u64, first u64, last u64, dmap u32 × u64,
//!               fss u32 × (subject u32, msgs u64, first u64, last u64))
//! crc32 u32
//! ```

use std::collections::{BTreeSet, HashMap};

use super::subjects::Span;

const MAGIC: &[u8; 8] = b"NSIDX002";

pub(super) struct SnapBlock {
    pub id: u32,
    pub size: u64,
    pub min_seq: u64,
    pub lo: u64,
    pub hi: u64,
    pub dense: bool,
    pub msgs: u64,
    pub bytes: u64,
    pub first: u64,
    pub last: u64,
    pub dmap: BTreeSet<u64>,
    pub fss: HashMap<u32, Span>,
}

pub(super) struct Snapshot {
    pub first: u64,
    /// The first message's time (0 when there is none).
    pub first_ts: i64,
    pub last: u64,
    pub last_ts: i64,
    pub subjects: Vec<(u32, String)>,
    pub blocks: Vec<SnapBlock>,
}

struct W(Vec<u8>);

impl W {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
}

/// Encode what [`super::FileStore`] knows; the blocks come as snapshot records.
pub(super) fn encode<'a>(
    (first, first_ts): (u64, i64),
    last: u64,
    last_ts: i64,
    subjects: impl Iterator<Item = (u32, &'a str)>,
    blocks: impl Iterator<Item = SnapBlock>,
) -> Vec<u8> {
    let mut w = W(Vec::with_capacity(4096));
    w.0.extend_from_slice(MAGIC);
    w.u64(first);
    w.u64(first_ts as u64);
    w.u64(last);
    w.u64(last_ts as u64);
    let subjects: Vec<(u32, &str)> = subjects.collect();
    w.u32(subjects.len() as u32);
    for (id, name) in subjects {
        w.u32(id);
        w.u16(name.len() as u16);
        w.0.extend_from_slice(name.as_bytes());
    }
    let blocks: Vec<SnapBlock> = blocks.collect();
    w.u32(blocks.len() as u32);
    for b in blocks {
        w.u32(b.id);
        w.u64(b.size);
        w.u64(b.min_seq);
        w.u64(b.lo);
        w.u64(b.hi);
        w.u8(b.dense as u8);
        w.u64(b.msgs);
        w.u64(b.bytes);
        w.u64(b.first);
        w.u64(b.last);
        w.u32(b.dmap.len() as u32);
        for s in &b.dmap {
            w.u64(*s);
        }
        w.u32(b.fss.len() as u32);
        for (id, s) in &b.fss {
            w.u32(*id);
            w.u64(s.msgs);
            w.u64(s.first);
            w.u64(s.last);
        }
    }
    let crc = crc32fast::hash(&w.0);
    w.u32(crc);
    w.0
}

struct R<'a>(&'a [u8]);

impl R<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes(self.take(2)?.try_into().ok()?))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    /// A count of items each at least `min` bytes long, checked against what is left.
    fn count(&mut self, min: usize) -> Option<usize> {
        let n = self.u32()? as usize;
        (n.checked_mul(min)? <= self.0.len()).then_some(n)
    }
}

/// Decode a snapshot; `None` for anything not written whole by [`encode`].
pub(super) fn decode(bytes: &[u8]) -> Option<Snapshot> {
    if bytes.len() < MAGIC.len() + 4 {
        return None;
    }
    let (body, crc) = bytes.split_at(bytes.len() - 4);
    if crc32fast::hash(body) != u32::from_le_bytes(crc.try_into().ok()?) {
        return None;
    }
    let mut r = R(body);
    if r.take(MAGIC.len())? != MAGIC {
        return None;
    }
    let first = r.u64()?;
    let first_ts = r.u64()? as i64;
    let last = r.u64()?;
    let last_ts = r.u64()? as i64;
    let n = r.count(6)?;
    let mut subjects = Vec::with_capacity(n);
    for _ in 0..n {
        let id = r.u32()?;
        let len = r.u16()? as usize;
        let name = std::str::from_utf8(r.take(len)?).ok()?.to_string();
        subjects.push((id, name));
    }
    let n = r.count(77)?;
    let mut blocks = Vec::with_capacity(n);
    for _ in 0..n {
        let id = r.u32()?;
        let size = r.u64()?;
        let min_seq = r.u64()?;
        let lo = r.u64()?;
        let hi = r.u64()?;
        let dense = r.u8()? != 0;
        let msgs = r.u64()?;
        let bytes = r.u64()?;
        let first = r.u64()?;
        let last = r.u64()?;
        let nd = r.count(8)?;
        let mut dmap = BTreeSet::new();
        for _ in 0..nd {
            dmap.insert(r.u64()?);
        }
        let nf = r.count(28)?;
        let mut fss = HashMap::with_capacity(nf);
        for _ in 0..nf {
            let id = r.u32()?;
            let s = Span {
                msgs: r.u64()?,
                first: r.u64()?,
                last: r.u64()?,
            };
            fss.insert(id, s);
        }
        blocks.push(SnapBlock {
            id,
            size,
            min_seq,
            lo,
            hi,
            dense,
            msgs,
            bytes,
            first,
            last,
            dmap,
            fss,
        });
    }
    r.0.is_empty().then_some(Snapshot {
        first,
        first_ts,
        last,
        last_ts,
        subjects,
        blocks,
    })
}
