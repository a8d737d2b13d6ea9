//! The file store's subject table: each distinct subject interned once (a `u32` in the
//! blocks' summaries and caches), with its message count and first and last sequences
//! over the whole stream.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

use hashbrown::HashTable;

use nats_sublist::subject::subject_matches;

use crate::index::Selector;

/// How many live messages a subject has, and where the first and last are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Span {
    pub msgs: u64,
    pub first: u64,
    pub last: u64,
}

impl Span {
    /// Count a message at `seq` (appended: after every other of the subject).
    pub fn add(&mut self, seq: u64) {
        if self.msgs == 0 {
            self.first = seq;
        }
        self.msgs += 1;
        self.last = seq;
    }
}

/// Each name is held once (in `names`); the lookup table holds only ids and hashes by
/// the name an id stands for: a stream with 100,000 subjects keeps one copy of them.
#[derive(Default)]
pub(super) struct Subjects {
    ids: HashTable<u32>,
    hasher: RandomState,
    names: Vec<Option<Box<str>>>,
    pub per: Vec<Span>,
    free: Vec<u32>,
}

impl Subjects {
    pub fn id(&self, subject: &str) -> Option<u32> {
        let hash = self.hasher.hash_one(subject);
        self.ids
            .find(hash, |&id| self.name(id) == Some(subject))
            .copied()
    }

    fn name(&self, id: u32) -> Option<&str> {
        self.names.get(id as usize)?.as_deref()
    }

    fn index(&mut self, id: u32) {
        let Subjects {
            ids, hasher, names, ..
        } = self;
        let Some(name) = names[id as usize].as_deref() else {
            return;
        };
        let hash = hasher.hash_one(name);
        ids.insert_unique(hash, id, |&other| {
            hasher.hash_one(names[other as usize].as_deref().unwrap_or(""))
        });
    }

    /// Live subjects.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn intern(&mut self, subject: &str) -> u32 {
        if let Some(id) = self.id(subject) {
            return id;
        }
        let id = match self.free.pop() {
            Some(id) => {
                self.names[id as usize] = Some(subject.into());
                self.per[id as usize] = Span::default();
                id
            }
            None => {
                self.names.push(Some(subject.into()));
                self.per.push(Span::default());
                (self.names.len() - 1) as u32
            }
        };
        self.index(id);
        id
    }

    /// Put `subject` back under `id` (an index snapshot being loaded).
    pub fn restore(&mut self, id: u32, subject: &str) {
        let i = id as usize;
        if self.names.len() <= i {
            self.names.resize(i + 1, None);
            self.per.resize(i + 1, Span::default());
        }
        if self.names[i].is_some() {
            return;
        }
        self.names[i] = Some(subject.into());
        self.index(id);
    }

    /// After a snapshot was loaded: the ids without a name are free again.
    pub fn collect_free(&mut self) {
        self.free = (0..self.names.len() as u32)
            .filter(|&i| self.names[i as usize].is_none())
            .collect();
    }

    pub fn release(&mut self, id: u32) {
        if let Some(name) = self.name(id) {
            let hash = self.hasher.hash_one(name);
            if let Ok(entry) = self.ids.find_entry(hash, |&other| other == id) {
                entry.remove();
            }
            self.names[id as usize] = None;
            self.per[id as usize] = Span::default();
            self.free.push(id);
        }
    }

    /// Every live subject with its id.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &str)> {
        self.names
            .iter()
            .enumerate()
            .filter_map(|(i, n)| n.as_deref().map(|n| (i as u32, n)))
    }

    pub fn selector(&self, filter: Option<&str>) -> Selector {
        let Some(filter) = filter.filter(|f| !f.is_empty() && *f != ">") else {
            return Selector::All;
        };
        let wild = filter.split('.').any(|t| t == "*" || t == ">");
        if !wild {
            return match self.id(filter) {
                Some(id) => Selector::One(id),
                None => Selector::None,
            };
        }
        Selector::Many(
            self.names
                .iter()
                .map(|n| {
                    n.as_deref()
                        .is_some_and(|n| subject_matches(filter.as_bytes(), n.as_bytes()))
                })
                .collect(),
        )
    }

    /// Live messages `sel` selects (`total` for `All`).
    pub fn count(&self, sel: &Selector, total: u64) -> u64 {
        match sel {
            Selector::All => total,
            Selector::None => 0,
            Selector::One(id) => self.per.get(*id as usize).map_or(0, |p| p.msgs),
            Selector::Many(on) => on
                .iter()
                .enumerate()
                .filter(|(_, on)| **on)
                .map(|(i, _)| self.per.get(i).map_or(0, |p| p.msgs))
                .sum(),
        }
    }

    pub fn list(&self, filter: &str) -> Vec<(String, u64)> {
        let sel = self.selector(Some(filter));
        let mut out: Vec<(String, u64)> = self
            .iter()
            .filter(|(i, _)| sel.selects(*i) && self.per[*i as usize].msgs > 0)
            .map(|(i, n)| (n.to_string(), self.per[i as usize].msgs))
            .collect();
        out.sort();
        out
    }
}
