//! The file store: messages in append-only block files (`<dir>/blocks/<id>.blk`; not `msgs/`, nats-server's own layout), the
//! sequence index in memory, rebuilt from the blocks on open. Format, recovery and
//! durability rules: `docs/STORE.md`.

mod record;

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use bytes::Bytes;

use crate::index::Index;
use crate::{file_msg_size, Purge, Result, Store, StoreError, StoredMsg, StreamState};
use record::{Bad, Kind};

/// Where a message's record is: block id and offset in that block.
#[derive(Clone, Copy, Debug)]
struct Loc {
    block: u32,
    off: u32,
    /// The record's length.
    len: u32,
}

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

struct Block {
    file: File,
    size: u64,
    /// Messages of this block still in the index.
    live: u64,
    /// The lowest sequence any record of this block carries (u64::MAX if none).
    min_seq: u64,
    dirty: bool,
}

pub struct FileStore {
    cfg: FileStoreConfig,
    msgs_dir: PathBuf,
    index: Index<Loc>,
    blocks: BTreeMap<u32, Block>,
    buf: Vec<u8>,
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

/// Records gathered from the blocks before the index is built.
#[derive(Default)]
struct Scan {
    /// (seq, ts, subject id in `names`, size, location): subjects interned, so a
    /// million messages on a few subjects do not cost a million strings.
    msgs: Vec<(u64, i64, u32, u32, Loc)>,
    names: Vec<Box<str>>,
    ids: std::collections::HashMap<Box<str>, u32>,
    deleted: BTreeSet<u64>,
    first: u64,
    last: u64,
    last_ts: i64,
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
        let mut recovery = Recovery::default();
        let mut blocks = BTreeMap::new();
        let mut scan = Scan::default();
        let last_id = ids.last().copied();
        for id in ids {
            let path = block_path(&msgs_dir, id);
            let file = open_block(&path, false)?;
            let bytes = fs::read(&path)?;
            let (good, min_seq) = scan_block(id, &bytes, &mut scan);
            if good < bytes.len() {
                let lost = (bytes.len() - good) as u64;
                if Some(id) == last_id {
                    file.set_len(good as u64)?;
                    file.sync_all()?;
                    recovery.truncated = lost;
                } else {
                    recovery.damaged.push((id, good as u64, lost));
                }
            }
            blocks.insert(
                id,
                Block {
                    file,
                    size: good as u64,
                    live: 0,
                    min_seq,
                    dirty: false,
                },
            );
        }
        let mut index = Index::new();
        for &(seq, ts, subj, size, loc) in &scan.msgs {
            if seq < scan.first || scan.deleted.contains(&seq) || seq <= index.last_seq() {
                continue;
            }
            index.insert(seq, &scan.names[subj as usize], size, ts, loc);
            if let Some(b) = blocks.get_mut(&loc.block) {
                b.live += 1;
            }
        }
        index.skip_to(scan.last.max(scan.first.saturating_sub(1)));
        if scan.first > 0 {
            index.set_first(scan.first);
        }
        index.set_last_ts(scan.last_ts);
        let mut store = FileStore {
            cfg,
            msgs_dir,
            index,
            blocks,
            buf: Vec::new(),
        };
        store.drop_empty_blocks()?;
        Ok((store, recovery))
    }

    fn last_block_id(&self) -> Option<u32> {
        self.blocks.keys().next_back().copied()
    }

    /// The block a record of `len` bytes goes to: the last one, or a new one when the
    /// last is full.
    fn block_for(&mut self, len: usize) -> Result<u32> {
        if let Some(id) = self.last_block_id() {
            let b = &self.blocks[&id];
            if b.size == 0 || b.size + len as u64 <= self.cfg.block_size {
                return Ok(id);
            }
        }
        let id = self.last_block_id().map_or(1, |id| id + 1);
        let file = open_block(&block_path(&self.msgs_dir, id), true)?;
        self.blocks.insert(
            id,
            Block {
                file,
                size: 0,
                live: 0,
                min_seq: u64::MAX,
                dirty: false,
            },
        );
        Ok(id)
    }

    /// Appends the record in `self.buf` to block `id`, returning its offset.
    fn append(&mut self, id: u32, seq: u64) -> Result<u32> {
        let sync = self.cfg.sync_always;
        let b = self
            .blocks
            .get_mut(&id)
            .ok_or_else(|| StoreError::Corrupt(format!("block {id} is missing")))?;
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
    fn write_marker(&mut self, id: u32, kind: Kind, seq: u64) -> Result<()> {
        self.buf.clear();
        let ts = self.index.last_ts();
        record::encode(&mut self.buf, kind, seq, ts, b"", b"", b"");
        self.append(id, seq).map(|_| ())
    }

    fn read(&self, seq: u64, loc: Loc) -> Result<StoredMsg> {
        let b = self
            .blocks
            .get(&loc.block)
            .ok_or_else(|| StoreError::Corrupt(format!("block {} is missing", loc.block)))?;
        let len = loc.len as usize;
        let mut bytes = vec![0u8; len];
        b.file.read_exact_at(&mut bytes, u64::from(loc.off))?;
        let rec = record::decode(&bytes).map_err(|e| {
            StoreError::Corrupt(format!(
                "message {seq} in block {} at {}: {e:?}",
                loc.block, loc.off
            ))
        })?;
        if rec.seq != seq || rec.kind != Kind::Msg {
            return Err(StoreError::Corrupt(format!(
                "block {} at {} holds {:?} {} instead of message {seq}",
                loc.block, loc.off, rec.kind, rec.seq
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

    /// Removes the files of blocks with no message left (never the last block: it
    /// carries the last sequence across a restart).
    fn drop_empty_blocks(&mut self) -> Result<()> {
        let last = self.last_block_id();
        let empty: Vec<u32> = self
            .blocks
            .iter()
            .filter(|(id, b)| b.live == 0 && Some(**id) != last)
            .map(|(id, _)| *id)
            .collect();
        for id in empty {
            self.blocks.remove(&id);
            fs::remove_file(block_path(&self.msgs_dir, id))?;
        }
        Ok(())
    }

    fn forget_loc(&mut self, loc: Loc) {
        if let Some(b) = self.blocks.get_mut(&loc.block) {
            b.live = b.live.saturating_sub(1);
        }
    }

    /// [`Self::drop_empty_blocks`] for one block.
    fn drop_if_empty(&mut self, id: u32) -> Result<()> {
        let empty = self.blocks.get(&id).is_some_and(|b| b.live == 0);
        if empty && Some(id) != self.last_block_id() {
            self.blocks.remove(&id);
            fs::remove_file(block_path(&self.msgs_dir, id))?;
        }
        Ok(())
    }
}

/// Reads one block's records into `scan`; returns how many bytes were intact and the
/// lowest sequence seen.
fn scan_block(id: u32, bytes: &[u8], scan: &mut Scan) -> (usize, u64) {
    let mut at = 0;
    let mut min_seq = u64::MAX;
    while at < bytes.len() {
        let rec = match record::decode(&bytes[at..]) {
            Ok(r) => r,
            Err(Bad::Short) | Err(Bad::Invalid) => break,
        };
        min_seq = min_seq.min(rec.seq);
        match rec.kind {
            Kind::Msg => {
                let size = file_msg_size(rec.subject.len(), rec.hdr.len(), rec.data.len()) as u32;
                let subject = String::from_utf8_lossy(rec.subject);
                let subj = match scan.ids.get(&*subject) {
                    Some(&id) => id,
                    None => {
                        let id = scan.names.len() as u32;
                        scan.names.push(subject.as_ref().into());
                        scan.ids.insert(subject.as_ref().into(), id);
                        id
                    }
                };
                scan.msgs.push((
                    rec.seq,
                    rec.ts,
                    subj,
                    size,
                    Loc {
                        block: id,
                        off: at as u32,
                        len: rec.len as u32,
                    },
                ));
                scan.last = scan.last.max(rec.seq);
            }
            Kind::Delete => {
                scan.deleted.insert(rec.seq);
            }
            Kind::First => scan.first = scan.first.max(rec.seq),
            Kind::Skip => scan.last = scan.last.max(rec.seq),
        }
        // Blocks are read in order: the final record read carries the last timestamp.
        scan.last_ts = rec.ts;
        at += rec.len;
    }
    (at, min_seq)
}

impl Store for FileStore {
    fn store(&mut self, subject: &str, hdr: &[u8], data: &[u8], ts: i64) -> Result<u64> {
        let seq = self.index.last_seq() + 1;
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
        let last = self.index.last_seq();
        if seq <= last {
            return Err(StoreError::SequenceTooLow { seq, last });
        }
        let len = record::encoded_len(subject.len(), hdr.len(), data.len());
        if subject.len() > record::MAX_SUBJECT || len > u32::MAX as usize / 2 {
            return Err(StoreError::TooLarge(len));
        }
        let id = self.block_for(len)?;
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
        let off = self.append(id, seq)?;
        let size = file_msg_size(subject.len(), hdr.len(), data.len()) as u32;
        let loc = Loc {
            block: id,
            off,
            len: len as u32,
        };
        self.index.insert(seq, subject, size, ts, loc);
        if let Some(b) = self.blocks.get_mut(&id) {
            b.live += 1;
        }
        Ok(())
    }

    fn skip(&mut self, seq: u64) -> Result<()> {
        if seq <= self.index.last_seq() {
            return Ok(());
        }
        let id = self.block_for(record::HEADER + record::CRC)?;
        self.write_marker(id, Kind::Skip, seq)?;
        self.index.skip_to(seq);
        Ok(())
    }

    fn remove(&mut self, seq: u64, erase: bool) -> Result<bool> {
        let Some(slot) = self.index.get(seq) else {
            return Ok(false);
        };
        let loc = slot.loc;
        if erase {
            let b = &self.blocks[&loc.block];
            let mut bytes = vec![0u8; loc.len as usize];
            b.file.read_exact_at(&mut bytes, u64::from(loc.off))?;
            if let Ok(rec) = record::decode(&bytes) {
                b.file
                    .write_all_at(&record::erased(&rec), u64::from(loc.off))?;
            }
        }
        self.write_marker(loc.block, Kind::Delete, seq)?;
        self.index.remove(seq);
        self.forget_loc(loc);
        self.drop_if_empty(loc.block)?;
        Ok(true)
    }

    fn purge(&mut self, req: &Purge) -> Result<u64> {
        let filtered = req
            .filter
            .as_deref()
            .is_some_and(|f| !f.is_empty() && f != ">");
        if !filtered {
            let st = self.index.state();
            let mut cut = req.up_to.unwrap_or(st.last_seq + 1);
            if let Some(keep) = req.keep.filter(|&k| k > 0) {
                if st.msgs <= keep {
                    return Ok(0);
                }
                let all = self.index.selected(&self.index.selector(None));
                cut = all[(st.msgs - keep) as usize];
            }
            return self.compact(cut);
        }
        let sel = self.index.selector(req.filter.as_deref());
        let mut seqs = self.index.selected(&sel);
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
        if seq > self.index.last_seq() + 1 {
            self.index.skip_to(seq - 1);
        }
        let gone = self.index.compact(seq);
        for (_, slot) in &gone {
            self.forget_loc(slot.loc);
        }
        self.drop_empty_blocks()?;
        // The marker goes into every block that still holds records below `seq` (they
        // live and die with it) and into the last block (which also carries `seq - 1`
        // as the last sequence when everything went).
        let last = self.last_block_id();
        let targets: Vec<u32> = self
            .blocks
            .iter()
            .filter(|(id, b)| b.min_seq < seq || Some(**id) == last)
            .map(|(id, _)| *id)
            .collect();
        let targets = if targets.is_empty() {
            vec![self.block_for(record::HEADER + record::CRC)?]
        } else {
            targets
        };
        for id in targets {
            self.write_marker(id, Kind::First, seq)?;
        }
        Ok(gone.len() as u64)
    }

    fn get(&self, seq: u64) -> Result<Option<StoredMsg>> {
        match self.index.get(seq) {
            Some(slot) => self.read(seq, slot.loc).map(Some),
            None => Ok(None),
        }
    }

    fn next(&self, start: u64, filter: Option<&str>) -> Result<Option<StoredMsg>> {
        let sel = self.index.selector(filter);
        match self.index.next(start, &sel) {
            Some((seq, slot)) => self.read(seq, slot.loc).map(Some),
            None => Ok(None),
        }
    }

    fn last_by_subject(&self, filter: &str) -> Result<Option<StoredMsg>> {
        let sel = self.index.selector(Some(filter));
        match self.index.last_selected(&sel) {
            Some((seq, slot)) => self.read(seq, slot.loc).map(Some),
            None => Ok(None),
        }
    }

    fn state(&self) -> StreamState {
        self.index.state()
    }

    fn subjects(&self, filter: &str) -> Vec<(String, u64)> {
        self.index.subjects(filter)
    }

    fn num_pending(&self, start: u64, filter: Option<&str>) -> u64 {
        self.index.count_from(start, &self.index.selector(filter))
    }

    fn first_ts(&self) -> Option<(u64, i64)> {
        self.index.first_ts()
    }

    fn subject_first(&self, subject: &str) -> Option<(u64, u64)> {
        self.index.subject_first(subject)
    }

    fn flush(&mut self) -> Result<()> {
        for b in self.blocks.values_mut().filter(|b| b.dirty) {
            b.file.sync_data()?;
            b.dirty = false;
        }
        // New or removed block files are directory entries: sync the directory too.
        File::open(&self.msgs_dir)?.sync_all()?;
        Ok(())
    }
}

impl Drop for FileStore {
    fn drop(&mut self) {
        let _ = Store::flush(self);
    }
}
