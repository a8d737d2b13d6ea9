//! An account's subject mappings: an ordered list of source patterns, each with weighted
//! destinations (optionally scoped to a cluster), as nats-server 2.9.10's
//! `Account.AddWeightedMappings` / `selectMappedSubject` define them.
//!
//! Invariants (Go's):
//! * Weights are percentages; each is at most 100 and a destination set sums to at most 100.
//! * When a set does not sum to 100 and the source itself is not one of its destinations,
//!   the source is added with the remaining weight (so the rest of the traffic keeps its
//!   subject). When the source *is* listed explicitly, the remainder is dropped.
//! * Cluster-scoped destinations (`cluster: NAME`) replace the unscoped set on servers of
//!   that cluster; elsewhere the unscoped set applies (which is the identity when it is
//!   empty).
//! * The first mapping whose source matches a subject wins. Adding a source that already
//!   exists replaces it in place.
//!
//! Selection takes a roll in `0..100` from the caller, so this module has no randomness
//! of its own and can be tested deterministically.

use std::fmt;

use crate::transform::{
    is_valid_source, source_matches, tokenize_wildcards, validate_destination, Transform,
    TransformError,
};

/// A destination as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapDest {
    pub subject: String,
    /// Percent, 0–100.
    pub weight: u8,
    /// Only on servers of this cluster.
    pub cluster: Option<String>,
}

impl MapDest {
    pub fn new(subject: impl Into<String>, weight: u8) -> MapDest {
        MapDest {
            subject: subject.into(),
            weight,
            cluster: None,
        }
    }
}

/// Why a mapping was refused. `Display` is nats-server's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MappingError {
    BadSource,
    Duplicate(String),
    WeightOver100,
    TotalOver100,
    Transform(TransformError),
}

impl fmt::Display for MappingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MappingError::BadSource => f.write_str("invalid subject"),
            MappingError::Duplicate(s) => write!(f, "duplicate entry for {s:?}"),
            MappingError::WeightOver100 => f.write_str("individual weights need to be <= 100"),
            MappingError::TotalOver100 => f.write_str("total weight needs to be <= 100"),
            MappingError::Transform(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for MappingError {}

impl From<TransformError> for MappingError {
    fn from(e: TransformError) -> Self {
        MappingError::Transform(e)
    }
}

/// A destination with its cumulative weight (the set is sorted by weight).
#[derive(Debug, Clone)]
struct Weighted {
    tr: Transform,
    upto: u8,
}

#[derive(Debug, Clone)]
struct Mapping {
    src: String,
    wildcard: bool,
    dests: Vec<Weighted>,
    by_cluster: Vec<(String, Vec<Weighted>)>,
}

/// What happened to a subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selected {
    /// The new subject was written to the output buffer.
    Mapped,
    /// The roll fell in the part of the weights nobody has (the source was listed
    /// explicitly with less than 100%): the message goes nowhere.
    Dropped,
}

/// The mappings of one account.
#[derive(Debug, Clone, Default)]
pub struct Mappings {
    list: Vec<Mapping>,
}

impl Mappings {
    pub fn new() -> Mappings {
        Mappings::default()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// The configured sources, in order.
    pub fn sources(&self) -> impl Iterator<Item = &str> {
        self.list.iter().map(|m| m.src.as_str())
    }

    /// `AddMapping`: one destination at 100%.
    pub fn add(&mut self, src: &str, dest: &str) -> Result<(), MappingError> {
        self.add_weighted(src, &[MapDest::new(dest, 100)])
    }

    /// `AddWeightedMappings`.
    pub fn add_weighted(&mut self, src: &str, dests: &[MapDest]) -> Result<(), MappingError> {
        if !is_valid_source(src) {
            return Err(MappingError::BadSource);
        }
        let mut seen: Vec<&str> = Vec::new();
        let mut total: u32 = 0;
        let mut plain = Vec::new();
        let mut by_cluster: Vec<(String, Vec<Weighted>)> = Vec::new();
        for d in dests {
            if seen.contains(&d.subject.as_str()) {
                return Err(MappingError::Duplicate(d.subject.clone()));
            }
            seen.push(&d.subject);
            if d.weight > 100 {
                return Err(MappingError::WeightOver100);
            }
            total += u32::from(d.weight);
            if total > 100 {
                return Err(MappingError::TotalOver100);
            }
            validate_destination(&d.subject)?;
            let w = Weighted {
                tr: Transform::new(src, &d.subject)?,
                upto: d.weight,
            };
            match &d.cluster {
                None => plain.push(w),
                Some(c) => match by_cluster.iter_mut().find(|(n, _)| n == c) {
                    Some((_, v)) => v.push(w),
                    None => by_cluster.push((c.clone(), vec![w])),
                },
            }
        }
        let has_src = seen.contains(&src);
        let wildcard = src.split('.').any(|t| t == "*" || t == ">");
        let finish = |mut set: Vec<Weighted>| -> Result<Vec<Weighted>, MappingError> {
            let sum: u32 = set.iter().map(|w| u32::from(w.upto)).sum();
            if sum != 100 && !has_src {
                let identity = if wildcard {
                    tokenize_wildcards(src)
                } else {
                    src.to_string()
                };
                let upto = if set.is_empty() { 100 } else { 100 - sum as u8 };
                set.push(Weighted {
                    tr: Transform::new(src, &identity)?,
                    upto,
                });
            }
            set.sort_by_key(|w| w.upto);
            let mut acc = 0u8;
            for w in &mut set {
                w.upto += acc;
                acc = w.upto;
            }
            Ok(set)
        };
        let dests = finish(plain)?;
        let mut scoped = Vec::with_capacity(by_cluster.len());
        for (c, set) in by_cluster {
            scoped.push((c, finish(set)?));
        }
        let m = Mapping {
            src: src.to_string(),
            wildcard,
            dests,
            by_cluster: scoped,
        };
        match self.list.iter_mut().find(|e| e.src == src) {
            Some(e) => *e = m,
            None => self.list.push(m),
        }
        Ok(())
    }

    /// Remove the mapping for `src`; whether there was one.
    pub fn remove(&mut self, src: &str) -> bool {
        let before = self.list.len();
        self.list.retain(|m| m.src != src);
        self.list.len() != before
    }

    /// The index of the first mapping whose source matches `subject`.
    pub fn find(&self, subject: &[u8]) -> Option<usize> {
        self.list.iter().position(|m| {
            if m.wildcard {
                source_matches(&m.src, subject)
            } else {
                m.src.as_bytes() == subject
            }
        })
    }

    fn set(&self, idx: usize, cluster: &str) -> &[Weighted] {
        let m = &self.list[idx];
        if !m.by_cluster.is_empty() {
            if let Some((_, v)) = m.by_cluster.iter().find(|(c, _)| c == cluster) {
                return v;
            }
        }
        &m.dests
    }

    /// Does mapping `idx` always give the same subject for the same input on a server of
    /// `cluster` (one destination at 100%)? Such results can be cached.
    pub fn is_deterministic(&self, idx: usize, cluster: &str) -> bool {
        let s = self.set(idx, cluster);
        s.len() == 1 && s[0].upto == 100
    }

    /// Does mapping `idx` have cluster-scoped destinations (so the cluster name matters)?
    pub fn is_cluster_scoped(&self, idx: usize) -> bool {
        !self.list[idx].by_cluster.is_empty()
    }

    /// Apply mapping `idx` (from [`Mappings::find`]) to `subject`, on a server of
    /// `cluster`, with `roll` in `0..100` choosing among weighted destinations.
    pub fn select(
        &self,
        idx: usize,
        cluster: &str,
        roll: u8,
        subject: &[u8],
        out: &mut Vec<u8>,
    ) -> Selected {
        let set = self.set(idx, cluster);
        let chosen = if set.len() == 1 && set[0].upto == 100 {
            Some(&set[0])
        } else {
            set.iter().find(|w| roll < w.upto)
        };
        match chosen {
            Some(w) => {
                w.tr.apply(subject, out);
                Selected::Mapped
            }
            None => {
                out.clear();
                Selected::Dropped
            }
        }
    }
}
