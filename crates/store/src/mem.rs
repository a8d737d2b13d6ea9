//! The memory store: the shared index with each message held in its slot.

use bytes::Bytes;

use crate::index::Index;
use crate::pending::PendingMemo;
use crate::{mem_msg_size, Purge, Result, Store, StoreError, StoredMsg, StreamState};

/// A message's bytes, kept in its index slot.
struct Held {
    hdr: Bytes,
    data: Bytes,
}

pub struct MemStore {
    index: Index<Held>,
    /// The last pending count asked for, per filter (see `num_pending`).
    pending: PendingMemo,
}

impl Default for MemStore {
    fn default() -> Self {
        MemStore::new()
    }
}

impl MemStore {
    pub fn new() -> Self {
        MemStore {
            index: Index::new(),
            pending: PendingMemo::default(),
        }
    }

    fn ix(&self) -> &Index<Held> {
        &self.index
    }

    fn ix_mut(&mut self) -> &mut Index<Held> {
        &mut self.index
    }

    fn msg(&self, seq: u64) -> Option<StoredMsg> {
        let ix = self.ix();
        let slot = ix.get(seq)?;
        Some(StoredMsg {
            seq,
            ts: slot.ts,
            subject: ix.subject(slot.subj).to_string(),
            hdr: slot.loc.hdr.clone(),
            data: slot.loc.data.clone(),
        })
    }
}

impl Store for MemStore {
    fn store(&mut self, subject: &str, hdr: &[u8], data: &[u8], ts: i64) -> Result<u64> {
        let seq = self.ix().last_seq() + 1;
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
        let last = self.ix().last_seq();
        if seq <= last {
            return Err(StoreError::SequenceTooLow { seq, last });
        }
        let size = mem_msg_size(subject.len(), hdr.len(), data.len());
        let size = u32::try_from(size).map_err(|_| StoreError::TooLarge(size as usize))?;
        let held = Held {
            hdr: Bytes::copy_from_slice(hdr),
            data: Bytes::copy_from_slice(data),
        };
        self.ix_mut().insert(seq, subject, size, ts, held);
        Ok(())
    }

    fn skip(&mut self, seq: u64) -> Result<()> {
        self.ix_mut().skip_to(seq);
        Ok(())
    }

    fn remove(&mut self, seq: u64, _erase: bool) -> Result<bool> {
        // Erasing memory is dropping it: the bytes go with the slot.
        Ok(self.ix_mut().remove(seq).is_some())
    }

    fn purge(&mut self, req: &Purge) -> Result<u64> {
        let ix = self.ix();
        let filtered = req
            .filter
            .as_deref()
            .is_some_and(|f| !f.is_empty() && f != ">");
        if !filtered {
            let st = ix.state();
            let mut cut = req.up_to.unwrap_or(st.last_seq + 1);
            if let Some(keep) = req.keep.filter(|&k| k > 0) {
                if st.msgs <= keep {
                    return Ok(0);
                }
                let all = ix.selected(&ix.selector(None));
                cut = all[(st.msgs - keep) as usize];
            }
            return self.compact(cut);
        }
        let mut seqs = ix.selected(&ix.selector(req.filter.as_deref()));
        if let Some(up_to) = req.up_to {
            seqs.retain(|&s| s < up_to);
        }
        if let Some(keep) = req.keep.filter(|&k| k > 0) {
            let n = seqs.len().saturating_sub(keep as usize);
            seqs.truncate(n);
        }
        let ix = self.ix_mut();
        Ok(seqs.into_iter().filter(|&s| ix.remove(s).is_some()).count() as u64)
    }

    fn compact(&mut self, seq: u64) -> Result<u64> {
        if seq <= 1 {
            return Ok(0);
        }
        let ix = self.ix_mut();
        if seq > ix.last_seq() + 1 {
            ix.skip_to(seq - 1);
        }
        Ok(ix.compact(seq).len() as u64)
    }

    fn get(&self, seq: u64) -> Result<Option<StoredMsg>> {
        Ok(self.msg(seq))
    }

    fn next(&self, start: u64, filter: Option<&str>) -> Result<Option<StoredMsg>> {
        let ix = self.ix();
        let sel = ix.selector(filter);
        Ok(ix.next(start, &sel).and_then(|(seq, _)| self.msg(seq)))
    }

    fn last_by_subject(&self, filter: &str) -> Result<Option<StoredMsg>> {
        let ix = self.ix();
        let sel = ix.selector(Some(filter));
        Ok(ix.last_selected(&sel).and_then(|(seq, _)| self.msg(seq)))
    }

    fn state(&self) -> StreamState {
        self.ix().state()
    }

    fn subjects(&self, filter: &str) -> Vec<(String, u64)> {
        self.ix().subjects(filter)
    }

    fn num_pending(&self, start: u64, filter: Option<&str>) -> u64 {
        let ix = self.ix();
        let sel = ix.selector(filter);
        if start <= ix.first_seq() {
            return ix.count_from(start, &sel);
        }
        self.pending.count(
            filter.unwrap_or(""),
            (start, ix.last_seq(), ix.removals()),
            |a, b| ix.count_range(a, b, &sel),
            || ix.count_from(start, &sel),
        )
    }

    fn first_ts(&self) -> Option<(u64, i64)> {
        self.ix().first_ts()
    }

    fn subject_first(&self, subject: &str) -> Option<(u64, u64)> {
        self.ix().subject_first(subject)
    }

    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
}
