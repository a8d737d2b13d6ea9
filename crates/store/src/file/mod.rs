//! The file store: messages in append-only block files (`<dir>/blocks/<id>.blk`; not
//! `msgs/`, nats-server's own layout). In memory it keeps a summary per block and a
//! subject table, not an entry per message: where each message of a block is gets
//! loaded from the block when it is read (a few blocks at a time), so holding a million
//! messages costs about what holding one does. Opening reads the index snapshot written
//! at the last sync or close, and the records of whatever changed since. Format,
//! recovery and durability rules: `docs/STORE.md`.

mod block;
mod record;
mod snapshot;
mod subjects;

use std::cell::{Cell, Ref};
use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use bytes::Bytes;

use crate::index::Selector;
use crate::pending::PendingMemo;
use crate::{file_msg_size, Purge, Result, Store, StoreError, StoredMsg, StreamState};
use block::{Block, Cache, Slot};
use record::Kind;
use subjects::Subjects;

/// Block caches kept loaded besides the last block's.
const CACHED_BLOCKS: usize = 4;
const SNAPSHOT: &str = "index.snap";

#[derive(Clone, Debug)]
pub struct FileStoreConfig {
    pub dir: PathBuf,
    /// A block is closed for new messages once it reaches this size.
    pub block_size: u64,
    /// fsync after every write (nats-server's `sync_always`).
    pub sync_always: bool,
}

impl FileStoreConfig {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        FileStoreConfig {
            dir: dir.into(),
            block_size: 8 * 1024 * 1024,
            sync_always: false,
        }
    }
}

/// What opening found that was not intact.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Bytes cut from the end of the last block (a write torn by a crash).
    pub truncated: u64,
    /// Earlier blocks whose tail was unreadable: (block id, offset of the first bad
    /// record, bytes ignored).
    pub damaged: Vec<(u32, u64, u64)>,
}

pub struct FileStore {
    cfg: FileStoreConfig,
    msgs_dir: PathBuf,
    /// In sequence order (and id order).
    blocks: Vec<Block>,
    subjects: Subjects,
    /// The first live message (`last + 1` when there is none).
    first: u64,
    last: u64,
    last_ts: i64,
    msgs: u64,
    bytes: u64,
    buf: Vec<u8>,
    /// Ticks on every cache use, for eviction.
    clock: Cell<u64>,
    /// The first message's timestamp, once read.
    first_ts: Cell<Option<(u64, i64)>>,
    /// Set by [`FileStore::crash`]: drop without the final sync and snapshot.
    crashed: bool,
    /// Messages removed so far (a pending count carried forward is stale after one).
    removals: u64,
    /// The last pending count asked for, per filter (see `num_pending`).
    pending_memo: PendingMemo,
}

fn block_path(dir: &Path, id: u32) -> PathBuf {
    dir.join(format!("{id:012}.blk"))
}

fn open_block(path: &Path, create: bool) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(create)
        .truncate(false)
        .open(path)
}

fn read_block(b: &Block) -> std::io::Result<Vec<u8>> {
    let mut bytes = vec![0u8; b.size as usize];
    b.file.read_exact_at(&mut bytes, 0)?;
    Ok(bytes)
}

impl FileStore {
    /// Opens (or creates) the store in `cfg.dir`, recovering from whatever a crash left.
    pub fn open(cfg: FileStoreConfig) -> Result<(FileStore, Recovery)> {
        // Not `msgs/`: that is where nats-server keeps its own blocks, which we must never
        // mistake for ours (and cut as a torn tail).
        let msgs_dir = cfg.dir.join("blocks");
        fs::create_dir_all(&msgs_dir)?;
        let mut ids: Vec<u32> = fs::read_dir(&msgs_dir)?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                name.strip_suffix(".blk")?.parse::<u32>().ok()
            })
            .collect();
        ids.sort_unstable();
        let mut store = FileStore {
            cfg,
            msgs_dir,
            blocks: Vec::new(),
            subjects: Subjects::default(),
            first: 1,
            last: 0,
            last_ts: 0,
            msgs: 0,
            bytes: 0,
            buf: Vec::new(),
            clock: Cell::new(0),
            first_ts: Cell::new(None),
            crashed: false,
            removals: 0,
            pending_memo: PendingMemo::default(),
        };
        let snap = fs::read(store.msgs_dir.join(SNAPSHOT))
            .ok()
            .and_then(|b| snapshot::decode(&b));
        let mut first_ts = None;
        let recovery = match snap {
            Some(snap) if store.load_snapshot(&snap, &ids)? => {
                if snap.blocks.iter().any(|b| b.msgs > 0) {
                    first_ts = Some((snap.first, snap.first_ts));
                }
                Recovery::default()
            }
            _ => {
                store.reset();
                store.scan_all(&ids)?
            }
        };
        store.refresh_first();
        // Known without reading the first block, unless the first message changed.
        if let Some((seq, ts)) = first_ts.filter(|(seq, _)| *seq == store.first) {
            store.first_ts.set(Some((seq, ts)));
        }
        store.drop_empty_blocks()?;
        Ok((store, recovery))
    }

    fn reset(&mut self) {
        self.blocks.clear();
        self.subjects = Subjects::default();
        self.first = 1;
        self.last = 0;
        self.last_ts = 0;
        self.msgs = 0;
        self.bytes = 0;
    }

    /// Read every block's records (no usable snapshot).
    fn scan_all(&mut self, ids: &[u32]) -> Result<Recovery> {
        let mut recovery = Recovery::default();
        let last_id = ids.last().copied();
        for &id in ids {
            let path = block_path(&self.msgs_dir, id);
            let file = open_block(&path, false)?;
            let bytes = fs::read(&path)?;
            let scan = block::scan(&bytes);
            if scan.good < bytes.len() {
                let lost = (bytes.len() - scan.good) as u64;
                if Some(id) == last_id {
                    file.set_len(scan.good as u64)?;
                    file.sync_all()?;
                    recovery.truncated = lost;
                } else {
                    recovery.damaged.push((id, scan.good as u64, lost));
                }
            }
            self.add_scanned(id, file, &bytes, &scan, Some(id) == last_id);
        }
        Ok(recovery)
    }

    /// Account for a block just scanned (appended after the blocks already known).
    fn add_scanned(&mut self, id: u32, file: File, bytes: &[u8], scan: &block::Scan, last: bool) {
        let (mut b, cache) = block::build(id, file, bytes, scan, &mut self.subjects);
        if !last {
            b.fss.seal();
        }
        for (sid, s) in b.fss.iter() {
            let p = &mut self.subjects.per[sid as usize];
            if p.msgs == 0 {
                p.first = s.first;
            }
            p.msgs += s.msgs;
            p.last = s.last;
        }
        self.msgs += b.msgs;
        self.bytes += b.bytes;
        self.last = self.last.max(scan.last_seq);
        if let Some(ts) = scan.last_ts {
            self.last_ts = ts;
        }
        if last {
            *b.cache.borrow_mut() = Some(Box::new(cache));
        }
        self.blocks.push(b);
    }

    /// Take the summaries from the snapshot where the block files still match it; false
    /// when they do not (then everything is read again).
    fn load_snapshot(&mut self, snap: &snapshot::Snapshot, ids: &[u32]) -> Result<bool> {
        let snap_ids: Vec<u32> = snap.blocks.iter().map(|b| b.id).collect();
        if snap_ids != ids {
            return Ok(false);
        }
        let n = snap.blocks.len();
        let mut sizes = Vec::with_capacity(n);
        for sb in &snap.blocks {
            sizes.push(fs::metadata(block_path(&self.msgs_dir, sb.id))?.len());
        }
        // Every block but the last unchanged; the last unchanged or grown.
        for (i, sb) in snap.blocks.iter().enumerate() {
            let ok = if i + 1 == n {
                sizes[i] >= sb.size
            } else {
                sizes[i] == sb.size
            };
            if !ok {
                return Ok(false);
            }
        }
        for (id, name) in &snap.subjects {
            self.subjects.restore(*id, name);
        }
        self.subjects.collect_free();
        self.last = snap.last;
        self.last_ts = snap.last_ts;
        let rescan_last = n > 0 && sizes[n - 1] != snap.blocks[n - 1].size;
        for (i, sb) in snap.blocks.iter().enumerate() {
            let file = open_block(&block_path(&self.msgs_dir, sb.id), false)?;
            if rescan_last && i + 1 == n {
                let bytes = fs::read(block_path(&self.msgs_dir, sb.id))?;
                let scan = block::scan(&bytes);
                // A compaction since the snapshot reaches into earlier blocks: read all.
                if scan.first_marker > snap.first || scan.good < bytes.len() {
                    return Ok(false);
                }
                self.add_scanned(sb.id, file, &bytes, &scan, true);
                continue;
            }
            let mut b = Block::new(sb.id, file);
            b.size = sb.size;
            b.min_seq = sb.min_seq;
            b.lo = sb.lo;
            b.hi = sb.hi;
            b.dense = sb.dense;
            b.msgs = sb.msgs;
            b.bytes = sb.bytes;
            b.first = sb.first;
            b.last = sb.last;
            b.dmap = sb.dmap.clone();
            b.fss = block::Fss::with_base(sb.lo);
            for (sid, s) in &sb.fss {
                // A snapshot that disagrees with its own block bounds is not trusted.
                let inside = sb.lo <= s.first && s.first <= s.last && s.last <= sb.hi;
                if !inside || s.last - sb.lo > block::MAX_SPAN || s.msgs > block::MAX_SPAN {
                    return Ok(false);
                }
                b.fss.set(*sid, *s);
            }
            if i + 1 < n {
                b.fss.seal();
            }
            for (sid, s) in b.fss.iter() {
                let Some(p) = self.subjects.per.get_mut(sid as usize) else {
                    return Ok(false);
                };
                if p.msgs == 0 {
                    p.first = s.first;
                }
                p.msgs += s.msgs;
                p.last = s.last;
            }
            self.msgs += b.msgs;
            self.bytes += b.bytes;
            self.blocks.push(b);
        }
        // Subjects the snapshot named that no block holds any more.
        let dead: Vec<u32> = self
            .subjects
            .iter()
            .filter(|(id, _)| self.subjects.per[*id as usize].msgs == 0)
            .map(|(id, _)| id)
            .collect();
        for id in dead {
            self.subjects.release(id);
        }
        Ok(true)
    }

    fn write_snapshot(&self) -> std::io::Result<()> {
        let blocks = self.blocks.iter().map(|b| snapshot::SnapBlock {
            id: b.id,
            size: b.size,
            min_seq: b.min_seq,
            lo: b.lo,
            hi: b.hi,
            dense: b.dense,
            msgs: b.msgs,
            bytes: b.bytes,
            first: b.first,
            last: b.last,
            dmap: b.dmap.clone(),
            fss: b.fss.iter().collect(),
        });
        let first_ts = self.first_ts().map_or(0, |(_, ts)| ts);
        let body = snapshot::encode(
            (self.first, first_ts),
            self.last,
            self.last_ts,
            self.subjects.iter(),
            blocks,
        );
        let tmp = self.msgs_dir.join(".index.snap.tmp");
        fs::write(&tmp, &body)?;
        fs::rename(&tmp, self.msgs_dir.join(SNAPSHOT))
    }

    /// Drop the store as a crash would: no final sync, no index snapshot (tests of the
    /// recovery paths).
    pub fn crash(mut self) {
        self.crashed = true;
    }

    fn tick(&self) -> u64 {
        let t = self.clock.get() + 1;
        self.clock.set(t);
        t
    }

    /// The block whose message records cover `seq`.
    fn block_of(&self, seq: u64) -> Option<usize> {
        let i = self.blocks.partition_point(|b| b.lo != 0 && b.hi < seq);
        let b = self.blocks.get(i)?;
        (b.lo != 0 && b.lo <= seq).then_some(i)
    }

    /// Block `i`'s cache, loaded from its file if needed.
    fn cache(&self, i: usize) -> Result<Ref<'_, Cache>> {
        self.ensure_cache(i)?;
        let b = &self.blocks[i];
        Ok(Ref::map(b.cache.borrow(), |c| {
            c.as_deref().expect("loaded")
        }))
    }

    fn ensure_cache(&self, i: usize) -> Result<()> {
        let b = &self.blocks[i];
        b.used.set(self.tick());
        if b.cache.borrow().is_some() {
            return Ok(());
        }
        let bytes = read_block(b)?;
        let c = block::load_cache(b, &bytes, &self.subjects);
        *b.cache.borrow_mut() = Some(Box::new(c));
        self.evict(i);
        Ok(())
    }

    /// Unload the least recently used caches beyond [`CACHED_BLOCKS`] (never `keep`'s,
    /// never the last block's, which takes every append).
    fn evict(&self, keep: usize) {
        let last = self.blocks.len().saturating_sub(1);
        loop {
            let loaded: Vec<usize> = (0..self.blocks.len())
                .filter(|&j| j != keep && j != last)
                .filter(|&j| self.blocks[j].cache.try_borrow().is_ok_and(|c| c.is_some()))
                .collect();
            if loaded.len() < CACHED_BLOCKS {
                return;
            }
            let Some(&oldest) = loaded.iter().min_by_key(|&&j| self.blocks[j].used.get()) else {
                return;
            };
            if let Ok(mut c) = self.blocks[oldest].cache.try_borrow_mut() {
                *c = None;
            } else {
                return;
            }
        }
    }

    /// The first live message, from the blocks' summaries.
    fn refresh_first(&mut self) {
        self.first = self
            .blocks
            .iter()
            .find(|b| b.msgs > 0)
            .map_or(self.last + 1, |b| b.first);
        self.first_ts.set(None);
    }

    /// The index of the block a record of `len` bytes goes to: the last one, or a new
    /// one when the last is full.
    fn block_for(&mut self, len: usize, seq: u64) -> Result<usize> {
        if let Some(b) = self.blocks.last() {
            // A block without message records (markers only) always takes the next
            // record: such blocks are only ever last, which keeps the blocks' message
            // ranges in order for the binary searches. A block spans at most
            // `MAX_SPAN` sequences (its per-subject offsets are 32-bit).
            let fits = b.size + len as u64 <= self.cfg.block_size
                && seq.saturating_sub(b.lo) <= block::MAX_SPAN;
            if b.lo == 0 || fits {
                return Ok(self.blocks.len() - 1);
            }
        }
        let id = self.blocks.last().map_or(1, |b| b.id + 1);
        let file = open_block(&block_path(&self.msgs_dir, id), true)?;
        let b = Block::new(id, file);
        *b.cache.borrow_mut() = Some(Box::default());
        // The full block is done with writes: its cache goes (a read loads it again),
        // so a stream being written holds one block's locations, not a few.
        if let Some(prev) = self.blocks.last_mut() {
            if let Ok(mut c) = prev.cache.try_borrow_mut() {
                *c = None;
            }
            prev.fss.seal();
        }
        self.blocks.push(b);
        Ok(self.blocks.len() - 1)
    }

    /// Appends the record in `self.buf` to block `i`, returning its offset.
    fn append(&mut self, i: usize, seq: u64) -> Result<u32> {
        let sync = self.cfg.sync_always;
        let b = &mut self.blocks[i];
        let off = b.size;
        if off + self.buf.len() as u64 > u64::from(u32::MAX) {
            return Err(StoreError::TooLarge(self.buf.len()));
        }
        b.file.write_all_at(&self.buf, off)?;
        if sync {
            b.file.sync_data()?;
        } else {
            b.dirty = true;
        }
        b.size += self.buf.len() as u64;
        b.min_seq = b.min_seq.min(seq);
        Ok(off as u32)
    }

    /// A delete, first or skip record. It carries the store's last timestamp, so the
    /// final record of the last block always tells recovery what `last_ts` was.
    fn write_marker(&mut self, i: usize, kind: Kind, seq: u64) -> Result<()> {
        self.buf.clear();
        record::encode(&mut self.buf, kind, seq, self.last_ts, b"", b"", b"");
        self.append(i, seq).map(|_| ())
    }

    fn read(&self, i: usize, seq: u64, slot: Slot) -> Result<StoredMsg> {
        let b = &self.blocks[i];
        let len = slot.len as usize;
        let mut bytes = vec![0u8; len];
        b.file.read_exact_at(&mut bytes, u64::from(slot.off))?;
        let rec = record::decode(&bytes).map_err(|e| {
            StoreError::Corrupt(format!(
                "message {seq} in block {} at {}: {e:?}",
                b.id, slot.off
            ))
        })?;
        if rec.seq != seq || rec.kind != Kind::Msg {
            return Err(StoreError::Corrupt(format!(
                "block {} at {} holds {:?} {} instead of message {seq}",
                b.id, slot.off, rec.kind, rec.seq
            )));
        }
        let (ts, subject) = (rec.ts, String::from_utf8_lossy(rec.subject).into_owned());
        let h = record::HEADER + rec.subject.len();
        let d = h + rec.hdr.len();
        let bytes = Bytes::from(bytes);
        Ok(StoredMsg {
            seq,
            ts,
            subject,
            hdr: bytes.slice(h..d),
            data: bytes.slice(d..len - record::CRC),
        })
    }

    /// The live message at `seq`: its block and slot.
    fn locate(&self, seq: u64) -> Result<Option<(usize, Slot)>> {
        let Some(i) = self.block_of(seq) else {
            return Ok(None);
        };
        let b = &self.blocks[i];
        if b.msgs == 0 || seq < b.first || seq > b.last || b.dmap.contains(&seq) {
            return Ok(None);
        }
        let slot = self.cache(i)?.get(seq);
        Ok(slot.live().then_some((i, slot)))
    }

    /// Forget the live message `seq` of block `i` (its record stays; the caller writes
    /// whatever marker recovery needs).
    fn unlink(&mut self, i: usize, seq: u64, slot: Slot) -> Result<()> {
        self.ensure_cache(i)?;
        let b = &mut self.blocks[i];
        let mut cache = b.cache.borrow_mut();
        let c = cache.as_deref_mut().expect("loaded");
        c.set(seq, Slot::NONE);
        self.removals += 1;
        b.msgs -= 1;
        b.bytes -= u64::from(slot.size);
        if b.msgs == 0 {
            b.dmap.clear();
        } else if seq == b.first {
            b.first = c.next_live(seq + 1, b.last, None).unwrap_or(b.last);
            b.dmap = b.dmap.split_off(&b.first);
        } else if seq == b.last {
            b.last = c.prev_live(b.first, seq - 1, None).unwrap_or(b.first);
            let _ = b.dmap.split_off(&b.last);
        } else {
            b.dmap.insert(seq);
        }
        let sid = slot.subj;
        if let Some(mut e) = b.fss.get(sid) {
            e.msgs -= 1;
            if e.msgs == 0 {
                b.fss.remove(sid);
            } else {
                if seq == e.first {
                    e.first = c.next_live(seq + 1, e.last, Some(sid)).unwrap_or(e.last);
                } else if seq == e.last {
                    e.last = c.prev_live(e.first, seq - 1, Some(sid)).unwrap_or(e.first);
                }
                b.fss.set(sid, e);
            }
        }
        drop(cache);
        self.msgs -= 1;
        self.bytes -= u64::from(slot.size);
        let p = self.subjects.per[sid as usize];
        if p.msgs <= 1 {
            self.subjects.release(sid);
        } else {
            let mut p = p;
            p.msgs -= 1;
            if seq == p.first {
                p.first = self.blocks[i..]
                    .iter()
                    .find_map(|b| b.fss.get(sid).map(|e| e.first))
                    .unwrap_or(p.last);
            } else if seq == p.last {
                p.last = self.blocks[..=i]
                    .iter()
                    .rev()
                    .find_map(|b| b.fss.get(sid).map(|e| e.last))
                    .unwrap_or(p.first);
            }
            self.subjects.per[sid as usize] = p;
        }
        if seq == self.first {
            self.refresh_first();
        }
        Ok(())
    }

    /// Removes the files of blocks with no message left (never the last block: it
    /// carries the last sequence across a restart).
    fn drop_empty_blocks(&mut self) -> Result<()> {
        let mut i = 0;
        while i + 1 < self.blocks.len() {
            if self.blocks[i].msgs == 0 {
                let b = self.blocks.remove(i);
                fs::remove_file(block_path(&self.msgs_dir, b.id))?;
            } else {
                i += 1;
            }
        }
        Ok(())
    }

    /// Live messages at or after `start` that `sel` selects (`start` after `first`).
    fn count_from(&self, start: u64, sel: &Selector) -> u64 {
        let from = self.blocks.partition_point(|b| b.lo != 0 && b.hi < start);
        let mut n = 0;
        for i in from..self.blocks.len() {
            let b = &self.blocks[i];
            n += match b.count_from(start, sel) {
                Some(k) => k,
                None => self.count_range(start.max(b.first), b.last, sel),
            };
        }
        n
    }

    /// Live messages in `a..=b` that `sel` selects, from the blocks' caches.
    fn count_range(&self, a: u64, b: u64, sel: &Selector) -> u64 {
        if a > b {
            return 0;
        }
        let from = self.blocks.partition_point(|x| x.lo != 0 && x.hi < a);
        let mut n = 0;
        for i in from..self.blocks.len() {
            let blk = &self.blocks[i];
            if blk.lo == 0 || blk.lo > b {
                break;
            }
            if blk.msgs == 0 || blk.last < a || blk.first > b || !blk.holds(sel) {
                continue;
            }
            let (lo, hi) = (a.max(blk.first), b.min(blk.last));
            if matches!(sel, Selector::All) && blk.dense {
                n += hi - lo + 1 - blk.dmap.range(lo..=hi).count() as u64;
                continue;
            }
            if let Ok(c) = self.cache(i) {
                n += (lo..=hi)
                    .filter(|&s| {
                        let x = c.get(s);
                        x.live() && sel.selects(x.subj)
                    })
                    .count() as u64;
            }
        }
        n
    }

    /// Live messages `sel` selects, in order.
    fn selected(&self, sel: &Selector) -> Result<Vec<u64>> {
        let mut out = Vec::new();
        for (i, b) in self.blocks.iter().enumerate() {
            if !b.holds(sel) {
                continue;
            }
            let c = self.cache(i)?;
            for seq in b.first..=b.last {
                let s = c.get(seq);
                if s.live() && sel.selects(s.subj) {
                    out.push(seq);
                }
            }
        }
        Ok(out)
    }

    /// The first live message at or after `start` that `sel` selects.
    fn next_selected(&self, start: u64, sel: &Selector) -> Result<Option<(usize, u64, Slot)>> {
        let from = self.blocks.partition_point(|b| b.lo != 0 && b.hi < start);
        for i in from..self.blocks.len() {
            let b = &self.blocks[i];
            if !b.holds(sel) || b.last < start {
                continue;
            }
            let c = self.cache(i)?;
            for seq in start.max(b.first)..=b.last {
                let s = c.get(seq);
                if s.live() && sel.selects(s.subj) {
                    return Ok(Some((i, seq, s)));
                }
            }
        }
        Ok(None)
    }
}

impl Store for FileStore {
    fn store(&mut self, subject: &str, hdr: &[u8], data: &[u8], ts: i64) -> Result<u64> {
        let seq = self.last + 1;
        self.store_at(seq, subject, hdr, data, ts)?;
        Ok(seq)
    }

    fn store_at(
        &mut self,
        seq: u64,
        subject: &str,
        hdr: &[u8],
        data: &[u8],
        ts: i64,
    ) -> Result<()> {
        if seq <= self.last {
            return Err(StoreError::SequenceTooLow {
                seq,
                last: self.last,
            });
        }
        let len = record::encoded_len(subject.len(), hdr.len(), data.len());
        if subject.len() > record::MAX_SUBJECT || len > u32::MAX as usize / 2 {
            return Err(StoreError::TooLarge(len));
        }
        let i = self.block_for(len, seq)?;
        self.ensure_cache(i)?;
        self.buf.clear();
        record::encode(
            &mut self.buf,
            Kind::Msg,
            seq,
            ts,
            subject.as_bytes(),
            hdr,
            data,
        );
        let off = self.append(i, seq)?;
        let size = file_msg_size(subject.len(), hdr.len(), data.len()) as u32;
        let sid = self.subjects.intern(subject);
        let b = &mut self.blocks[i];
        // In a dense block the records after the last live message are deleted ones:
        // they move inside the live range now (a block with gaps counts from its cache).
        if b.msgs > 0 && b.dense {
            b.dmap.extend(b.last + 1..=b.hi);
        }
        if b.lo == 0 {
            b.lo = seq;
        } else if seq != b.hi + 1 {
            b.dense = false;
        }
        b.hi = seq;
        if let Some(c) = b.cache.borrow_mut().as_deref_mut() {
            c.set(
                seq,
                Slot {
                    off,
                    len: len as u32,
                    subj: sid,
                    size,
                    ts,
                },
            );
        }
        if b.msgs == 0 {
            b.first = seq;
            b.dmap.clear();
        }
        b.last = seq;
        b.msgs += 1;
        b.bytes += u64::from(size);
        b.fss.add(sid, seq);
        self.subjects.per[sid as usize].add(seq);
        if self.msgs == 0 {
            self.first = seq;
            self.first_ts.set(Some((seq, ts)));
        }
        self.msgs += 1;
        self.bytes += u64::from(size);
        self.last = seq;
        self.last_ts = ts;
        Ok(())
    }

    fn skip(&mut self, seq: u64) -> Result<()> {
        if seq <= self.last {
            return Ok(());
        }
        let i = self.block_for(record::HEADER + record::CRC, seq)?;
        self.write_marker(i, Kind::Skip, seq)?;
        self.last = seq;
        if self.msgs == 0 {
            self.first = seq + 1;
        }
        Ok(())
    }

    fn remove(&mut self, seq: u64, erase: bool) -> Result<bool> {
        let Some((i, slot)) = self.locate(seq)? else {
            return Ok(false);
        };
        if erase {
            let b = &self.blocks[i];
            let mut bytes = vec![0u8; slot.len as usize];
            b.file.read_exact_at(&mut bytes, u64::from(slot.off))?;
            if let Ok(rec) = record::decode(&bytes) {
                b.file
                    .write_all_at(&record::erased(&rec), u64::from(slot.off))?;
            }
        }
        self.write_marker(i, Kind::Delete, seq)?;
        self.unlink(i, seq, slot)?;
        if self.blocks[i].msgs == 0 && i + 1 < self.blocks.len() {
            let b = self.blocks.remove(i);
            fs::remove_file(block_path(&self.msgs_dir, b.id))?;
        }
        Ok(true)
    }

    fn purge(&mut self, req: &Purge) -> Result<u64> {
        let filtered = req
            .filter
            .as_deref()
            .is_some_and(|f| !f.is_empty() && f != ">");
        if !filtered {
            let mut cut = req.up_to.unwrap_or(self.last + 1);
            if let Some(keep) = req.keep.filter(|&k| k > 0) {
                if self.msgs <= keep {
                    return Ok(0);
                }
                let all = self.selected(&Selector::All)?;
                cut = all[(self.msgs - keep) as usize];
            }
            return self.compact(cut);
        }
        let sel = self.subjects.selector(req.filter.as_deref());
        let mut seqs = self.selected(&sel)?;
        if let Some(up_to) = req.up_to {
            seqs.retain(|&s| s < up_to);
        }
        if let Some(keep) = req.keep.filter(|&k| k > 0) {
            let n = seqs.len().saturating_sub(keep as usize);
            seqs.truncate(n);
        }
        let mut n = 0;
        for s in seqs {
            if self.remove(s, false)? {
                n += 1;
            }
        }
        Ok(n)
    }

    fn compact(&mut self, seq: u64) -> Result<u64> {
        if seq <= 1 {
            return Ok(0);
        }
        if seq > self.last + 1 {
            self.last = seq - 1;
        }
        let mut gone = 0;
        // Whole blocks below `seq` go with their files (never the last block).
        let mut touched: HashSet<u32> = HashSet::new();
        while self.blocks.len() > 1 && self.blocks[0].lo != 0 && self.blocks[0].hi < seq {
            let b = self.blocks.remove(0);
            self.removals += 1;
            gone += b.msgs;
            self.msgs -= b.msgs;
            self.bytes -= b.bytes;
            for (sid, e) in b.fss.iter() {
                let p = &mut self.subjects.per[sid as usize];
                p.msgs -= e.msgs;
                touched.insert(sid);
            }
            fs::remove_file(block_path(&self.msgs_dir, b.id))?;
        }
        for sid in touched {
            if self.subjects.per[sid as usize].msgs == 0 {
                self.subjects.release(sid);
            } else {
                let first = self
                    .blocks
                    .iter()
                    .find_map(|b| b.fss.get(sid).map(|e| e.first));
                if let Some(f) = first {
                    self.subjects.per[sid as usize].first = f;
                }
            }
        }
        self.refresh_first();
        // Then what is left below it, one message at a time.
        while self.msgs > 0 && self.first < seq {
            let first = self.first;
            let Some((i, slot)) = self.locate(first)? else {
                break;
            };
            self.unlink(i, first, slot)?;
            gone += 1;
        }
        if self.msgs == 0 {
            self.first = self.last + 1;
            self.first_ts.set(None);
        }
        self.drop_empty_blocks()?;
        // The marker goes into every block that still holds records below `seq` (they
        // live and die with it) and into the last block (which also carries `seq - 1`
        // as the last sequence when everything went).
        let last = self.blocks.len().checked_sub(1);
        let mut targets: Vec<usize> = (0..self.blocks.len())
            .filter(|&i| self.blocks[i].min_seq < seq || Some(i) == last)
            .collect();
        if targets.is_empty() {
            targets.push(self.block_for(record::HEADER + record::CRC, seq)?);
        }
        for i in targets {
            self.write_marker(i, Kind::First, seq)?;
        }
        Ok(gone)
    }

    fn get(&self, seq: u64) -> Result<Option<StoredMsg>> {
        match self.locate(seq)? {
            Some((i, slot)) => self.read(i, seq, slot).map(Some),
            None => Ok(None),
        }
    }

    fn next(&self, start: u64, filter: Option<&str>) -> Result<Option<StoredMsg>> {
        let sel = self.subjects.selector(filter);
        let start = match sel {
            Selector::None => return Ok(None),
            Selector::One(id) => {
                let p = self.subjects.per[id as usize];
                if start > p.last {
                    return Ok(None);
                }
                start.max(p.first)
            }
            _ => start.max(self.first),
        };
        match self.next_selected(start, &sel)? {
            Some((i, seq, slot)) => self.read(i, seq, slot).map(Some),
            None => Ok(None),
        }
    }

    fn last_by_subject(&self, filter: &str) -> Result<Option<StoredMsg>> {
        let sel = self.subjects.selector(Some(filter));
        let seq = match &sel {
            Selector::None => None,
            Selector::One(id) => Some(self.subjects.per[*id as usize].last),
            Selector::All => self
                .blocks
                .iter()
                .rev()
                .find(|b| b.msgs > 0)
                .map(|b| b.last),
            Selector::Many(on) => on
                .iter()
                .enumerate()
                .filter(|(i, on)| **on && self.subjects.per[*i].msgs > 0)
                .map(|(i, _)| self.subjects.per[i].last)
                .max(),
        };
        match seq {
            Some(seq) => self.get(seq),
            None => Ok(None),
        }
    }

    fn state(&self) -> StreamState {
        let first_ts = self.first_ts().map_or(0, |(_, ts)| ts);
        StreamState {
            msgs: self.msgs,
            bytes: self.bytes,
            first_seq: self.first,
            first_ts,
            last_seq: self.last,
            last_ts: self.last_ts,
            num_deleted: if self.msgs == 0 {
                0
            } else {
                self.last - self.first + 1 - self.msgs
            },
            num_subjects: self.subjects.len() as u64,
        }
    }

    fn subjects(&self, filter: &str) -> Vec<(String, u64)> {
        self.subjects.list(filter)
    }

    fn num_pending(&self, start: u64, filter: Option<&str>) -> u64 {
        let sel = self.subjects.selector(filter);
        if start > self.last || matches!(sel, Selector::None) {
            return 0;
        }
        if start <= self.first {
            return self.subjects.count(&sel, self.msgs);
        }
        self.pending_memo.count(
            filter.unwrap_or(""),
            (start, self.last, self.removals),
            |a, b| self.count_range(a, b, &sel),
            || self.count_from(start, &sel),
        )
    }

    fn first_ts(&self) -> Option<(u64, i64)> {
        if self.msgs == 0 {
            return None;
        }
        if let Some((seq, ts)) = self.first_ts.get() {
            if seq == self.first {
                return Some((seq, ts));
            }
        }
        let (_, slot) = self.locate(self.first).ok()??;
        self.first_ts.set(Some((self.first, slot.ts)));
        Some((self.first, slot.ts))
    }

    fn subject_first(&self, subject: &str) -> Option<(u64, u64)> {
        let id = self.subjects.id(subject)?;
        let p = self.subjects.per[id as usize];
        (p.msgs > 0).then_some((p.first, p.msgs))
    }

    fn flush(&mut self) -> Result<()> {
        for b in self.blocks.iter_mut().filter(|b| b.dirty) {
            b.file.sync_data()?;
            b.dirty = false;
        }
        // New or removed block files are directory entries: sync the directory too.
        File::open(&self.msgs_dir)?.sync_all()?;
        self.write_snapshot()?;
        Ok(())
    }
}

impl Drop for FileStore {
    fn drop(&mut self) {
        if !self.crashed {
            let _ = Store::flush(self);
        }
    }
}
