//! The sequence index both stores share: one slot per sequence from the first message
//! to the last, each a message (interned subject, size, timestamp and where its bytes
//! are, `T`) or a gap; and per-subject counts with first and last sequences.
//!
//! Gaps stay in place until they reach the front, so a lookup by sequence is one
//! subtraction. Subjects are interned: a slot carries a `u32`, not a string.

use std::collections::{HashMap, VecDeque};

use nats_sublist::subject::subject_matches;

use crate::StreamState;

pub(crate) struct Slot<T> {
    pub subj: u32,
    pub size: u32,
    pub ts: i64,
    pub loc: T,
}

#[derive(Clone, Copy)]
struct PerSubject {
    msgs: u64,
    first: u64,
    last: u64,
}

/// Which subjects a filter selects, computed once over the distinct subjects.
pub(crate) enum Selector {
    All,
    None,
    One(u32),
    Many(Vec<bool>),
}

impl Selector {
    pub fn selects(&self, subj: u32) -> bool {
        match self {
            Selector::All => true,
            Selector::None => false,
            Selector::One(id) => *id == subj,
            Selector::Many(ids) => ids.get(subj as usize).copied().unwrap_or(false),
        }
    }
}

pub(crate) struct Index<T> {
    /// The sequence of `slots[0]`; `last + 1` when there are no slots.
    first: u64,
    slots: VecDeque<Option<Slot<T>>>,
    last: u64,
    last_ts: i64,
    msgs: u64,
    bytes: u64,
    ids: HashMap<Box<str>, u32>,
    names: Vec<Option<Box<str>>>,
    per: Vec<PerSubject>,
    free: Vec<u32>,
    /// Messages removed so far (a pending count carried forward is stale after one).
    removals: u64,
}

impl<T> Index<T> {
    pub fn new() -> Self {
        Index {
            first: 1,
            slots: VecDeque::new(),
            last: 0,
            last_ts: 0,
            msgs: 0,
            bytes: 0,
            ids: HashMap::new(),
            names: Vec::new(),
            per: Vec::new(),
            free: Vec::new(),
            removals: 0,
        }
    }

    pub fn last_seq(&self) -> u64 {
        self.last
    }

    pub fn first_seq(&self) -> u64 {
        self.first
    }

    pub fn removals(&self) -> u64 {
        self.removals
    }

    /// Adds a message at `seq` (> last; the caller checks). Sequences in between become
    /// gaps.
    pub fn insert(&mut self, seq: u64, subject: &str, size: u32, ts: i64, loc: T) {
        debug_assert!(seq > self.last);
        if self.slots.is_empty() {
            self.first = seq;
        } else {
            for _ in self.last + 1..seq {
                self.slots.push_back(None);
            }
        }
        let subj = self.intern(subject);
        let p = &mut self.per[subj as usize];
        if p.msgs == 0 {
            p.first = seq;
        }
        p.msgs += 1;
        p.last = seq;
        self.slots.push_back(Some(Slot {
            subj,
            size,
            ts,
            loc,
        }));
        self.last = seq;
        self.last_ts = ts;
        self.msgs += 1;
        self.bytes += u64::from(size);
    }

    /// Moves the last sequence to `seq` without a message.
    pub fn skip_to(&mut self, seq: u64) {
        if seq <= self.last {
            return;
        }
        if self.slots.is_empty() {
            self.first = seq + 1;
        } else {
            for _ in self.last + 1..=seq {
                self.slots.push_back(None);
            }
        }
        self.last = seq;
    }

    pub fn get(&self, seq: u64) -> Option<&Slot<T>> {
        if seq < self.first {
            return None;
        }
        self.slots.get((seq - self.first) as usize)?.as_ref()
    }

    pub fn subject(&self, subj: u32) -> &str {
        self.names
            .get(subj as usize)
            .and_then(|n| n.as_deref())
            .unwrap_or("")
    }

    /// Deletes the message at `seq`, returning its slot.
    pub fn remove(&mut self, seq: u64) -> Option<Slot<T>> {
        if seq < self.first {
            return None;
        }
        let at = (seq - self.first) as usize;
        let slot = self.slots.get_mut(at)?.take()?;
        self.removals += 1;
        self.forget(seq, &slot);
        self.trim_front();
        Some(slot)
    }

    /// Removes every message below `seq`, returning them in order.
    pub fn compact(&mut self, seq: u64) -> Vec<(u64, Slot<T>)> {
        let mut gone = Vec::new();
        while self.first < seq && !self.slots.is_empty() {
            let s = self.first;
            let slot = self.slots.pop_front().flatten();
            // `first` moves before `forget`, which looks slots up by sequence.
            self.first += 1;
            if let Some(slot) = slot {
                self.removals += 1;
                self.forget(s, &slot);
                gone.push((s, slot));
            }
        }
        if self.slots.is_empty() {
            self.first = self.first.max(self.last + 1);
        }
        self.trim_front();
        gone
    }

    fn trim_front(&mut self) {
        while let Some(None) = self.slots.front() {
            self.slots.pop_front();
            self.first += 1;
        }
        if self.slots.is_empty() {
            self.first = self.last + 1;
        }
    }

    /// Accounting for a message leaving: totals, and its subject's first/last.
    fn forget(&mut self, seq: u64, slot: &Slot<T>) {
        self.msgs -= 1;
        self.bytes -= u64::from(slot.size);
        let subj = slot.subj;
        let p = self.per[subj as usize];
        if p.msgs == 1 {
            self.release(subj);
            return;
        }
        let mut p = p;
        p.msgs -= 1;
        if seq == p.first {
            p.first = self.scan(seq + 1..=p.last, subj).unwrap_or(p.last);
        } else if seq == p.last {
            p.last = self.scan_back(p.first..=seq - 1, subj).unwrap_or(p.first);
        }
        self.per[subj as usize] = p;
    }

    fn scan(&self, range: std::ops::RangeInclusive<u64>, subj: u32) -> Option<u64> {
        range
            .into_iter()
            .find(|&s| self.get(s).is_some_and(|x| x.subj == subj))
    }

    fn scan_back(&self, range: std::ops::RangeInclusive<u64>, subj: u32) -> Option<u64> {
        range
            .rev()
            .find(|&s| self.get(s).is_some_and(|x| x.subj == subj))
    }

    fn intern(&mut self, subject: &str) -> u32 {
        if let Some(&id) = self.ids.get(subject) {
            return id;
        }
        let id = match self.free.pop() {
            Some(id) => {
                self.names[id as usize] = Some(subject.into());
                id
            }
            None => {
                self.names.push(Some(subject.into()));
                self.per.push(PerSubject {
                    msgs: 0,
                    first: 0,
                    last: 0,
                });
                (self.names.len() - 1) as u32
            }
        };
        self.per[id as usize] = PerSubject {
            msgs: 0,
            first: 0,
            last: 0,
        };
        self.ids.insert(subject.into(), id);
        id
    }

    fn release(&mut self, subj: u32) {
        if let Some(name) = self.names[subj as usize].take() {
            self.ids.remove(&name);
        }
        self.per[subj as usize].msgs = 0;
        self.free.push(subj);
    }

    pub fn selector(&self, filter: Option<&str>) -> Selector {
        let Some(filter) = filter.filter(|f| !f.is_empty() && *f != ">") else {
            return Selector::All;
        };
        let wild = filter.split('.').any(|t| t == "*" || t == ">");
        if !wild {
            return match self.ids.get(filter) {
                Some(&id) => Selector::One(id),
                None => Selector::None,
            };
        }
        let ids = self
            .names
            .iter()
            .map(|n| {
                n.as_deref()
                    .is_some_and(|n| subject_matches(filter.as_bytes(), n.as_bytes()))
            })
            .collect();
        Selector::Many(ids)
    }

    /// The first message at or after `start` that `sel` selects.
    pub fn next(&self, start: u64, sel: &Selector) -> Option<(u64, &Slot<T>)> {
        if let Selector::One(id) = sel {
            let p = &self.per[*id as usize];
            if start > p.last {
                return None;
            }
            let from = start.max(p.first);
            return self
                .scan(from..=p.last, *id)
                .and_then(|s| self.get(s).map(|x| (s, x)));
        }
        if matches!(sel, Selector::None) {
            return None;
        }
        let from = start.max(self.first);
        (from..=self.last).find_map(|s| self.get(s).filter(|x| sel.selects(x.subj)).map(|x| (s, x)))
    }

    /// The newest message `sel` selects.
    pub fn last_selected(&self, sel: &Selector) -> Option<(u64, &Slot<T>)> {
        let seq = match sel {
            Selector::None => return None,
            Selector::One(id) => Some(self.per[*id as usize].last),
            Selector::All => {
                let back = self.slots.iter().rev().position(|s| s.is_some())?;
                Some(self.last - back as u64)
            }
            Selector::Many(ids) => ids
                .iter()
                .enumerate()
                .filter(|(i, &on)| on && self.per[*i].msgs > 0)
                .map(|(i, _)| self.per[i].last)
                .max(),
        }?;
        self.get(seq).map(|x| (seq, x))
    }

    /// Every message `sel` selects, in sequence order.
    pub fn selected(&self, sel: &Selector) -> Vec<u64> {
        let from = self.first;
        (from..=self.last)
            .filter(|&s| self.get(s).is_some_and(|x| sel.selects(x.subj)))
            .collect()
    }

    /// The selected messages in `a..=b` (0 when `a > b`).
    pub fn count_range(&self, a: u64, b: u64, sel: &Selector) -> u64 {
        let (a, b) = (a.max(self.first), b.min(self.last));
        if a > b {
            return 0;
        }
        (a..=b)
            .filter(|&s| self.get(s).is_some_and(|x| sel.selects(x.subj)))
            .count() as u64
    }

    pub fn count_from(&self, start: u64, sel: &Selector) -> u64 {
        let from = start.max(self.first);
        if from > self.last {
            return 0;
        }
        // How many selected messages there are in all: known without a scan.
        let total = match sel {
            Selector::None => return 0,
            Selector::All => self.msgs,
            Selector::One(id) => self.per[*id as usize].msgs,
            Selector::Many(ids) => ids
                .iter()
                .enumerate()
                .filter(|(_, on)| **on)
                .map(|(i, _)| self.per.get(i).map_or(0, |p| p.msgs))
                .sum(),
        };
        if from == self.first {
            return total;
        }
        if matches!(sel, Selector::All) && self.msgs == self.last - self.first + 1 {
            // No gaps: plain arithmetic (a consumer asks this for every delivery).
            return self.last - from + 1;
        }
        // Otherwise count whichever side of `from` is shorter.
        let count = |range: std::ops::RangeInclusive<u64>| {
            range
                .filter(|&s| self.get(s).is_some_and(|x| sel.selects(x.subj)))
                .count() as u64
        };
        if from - self.first < self.last - from {
            total - count(self.first..=from - 1)
        } else {
            count(from..=self.last)
        }
    }

    pub fn subjects(&self, filter: &str) -> Vec<(String, u64)> {
        let sel = self.selector(Some(filter));
        let mut out: Vec<(String, u64)> = self
            .names
            .iter()
            .enumerate()
            .filter(|(i, n)| n.is_some() && sel.selects(*i as u32) && self.per[*i].msgs > 0)
            .map(|(i, n)| (n.as_deref().unwrap_or("").to_string(), self.per[i].msgs))
            .collect();
        out.sort();
        out
    }

    pub fn subject_first(&self, subject: &str) -> Option<(u64, u64)> {
        let id = *self.ids.get(subject)?;
        let p = &self.per[id as usize];
        (p.msgs > 0).then_some((p.first, p.msgs))
    }

    pub fn first_ts(&self) -> Option<(u64, i64)> {
        self.slots.front()?.as_ref().map(|s| (self.first, s.ts))
    }

    pub fn state(&self) -> StreamState {
        let first_ts = self.first_ts().map(|(_, ts)| ts).unwrap_or(0);
        StreamState {
            msgs: self.msgs,
            bytes: self.bytes,
            first_seq: self.first,
            first_ts,
            last_seq: self.last,
            last_ts: self.last_ts,
            num_deleted: self.slots.len() as u64 - self.msgs,
            num_subjects: self.ids.len() as u64,
        }
    }
}
