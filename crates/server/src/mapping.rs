//! Subject mappings on the publish path: each account's [`Mappings`] (`$G`'s from the
//! top-level `mappings` block, the others' from their own) and each client reader's
//! [`Mapper`] over its account's, which caches results the way `Delivery` caches matches.
//!
//! As in nats-server 2.9.10, a client's PUB/HPUB subject is mapped once, at the server the
//! client is connected to, before permissions, matching and route forwarding; a message
//! that arrives over a route is never mapped again.
//!
//! Invariants:
//! * With no mappings configured, a client holds no `Mapper`: the publish path pays one
//!   `Option` check.
//! * A cached result is valid while `Server::mappings_gen` is unchanged; the reader
//!   compares it once per read batch (`Mapper::refresh`).
//! * Only deterministic results (one destination at 100%, not cluster scoped) are cached
//!   as subjects; weighted ones cache which mapping matched and roll per message.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use hashbrown::HashMap;
use nats_sublist::mapping::{MapDest, MappingError, Mappings, Selected};

use crate::account::Account;
use crate::options::Options;
use crate::server::Server;

/// At most this many subjects are cached per connection (cleared wholesale when full).
const CACHE_MAX: usize = 512;

/// Give every account its configured mappings (at start and on reload; validated when the
/// config was parsed, so a failure leaves that account without mappings). Returns whether
/// any account's changed; the caller bumps `Server::mappings_gen` then.
pub fn install(srv: &Server, opts: &Options) -> bool {
    let mut changed = false;
    for acc in srv.accounts.list() {
        let list = if acc.is_global() {
            Some(&opts.mappings)
        } else {
            opts.account_mappings
                .iter()
                .find(|(a, _)| **a == *acc.name)
                .map(|(_, l)| l)
        };
        let maps = list
            .map(|l| compile(l).unwrap_or_default())
            .unwrap_or_default();
        let mut slot = acc.mappings.write();
        if slot.is_empty() && maps.is_empty() {
            continue;
        }
        *slot = Arc::new(maps);
        changed = true;
    }
    changed
}

/// Compile the configured mappings (already validated when the config was parsed).
pub fn compile(list: &[(String, Vec<MapDest>)]) -> Result<Mappings, MappingError> {
    let mut m = Mappings::new();
    for (src, dests) in list {
        m.add_weighted(src, dests)?;
    }
    Ok(m)
}

#[derive(Clone)]
enum Cached {
    Unmapped,
    Fixed(Box<[u8]>),
    Pick(usize),
}

/// What a publish's subject becomes.
pub enum Mapped<'a> {
    Unchanged,
    To(&'a [u8]),
    /// The weights left this message without a destination.
    Dropped,
}

/// One client's view of the mappings, with its cache.
pub struct Mapper {
    maps: Arc<Mappings>,
    cache: HashMap<Box<[u8]>, Cached, foldhash::fast::RandomState>,
    out: Vec<u8>,
    rng: fastrand::Rng,
}

impl Mapper {
    /// The mapper for account `acc`'s current mappings (and the generation it reflects),
    /// or `None` when it has none.
    pub fn current(srv: &Server, acc: &Account) -> (Option<Mapper>, u64) {
        let gen = srv.mappings_gen.load(Ordering::Acquire);
        let maps = acc.mappings.read().clone();
        let mapper = (!maps.is_empty()).then(|| Mapper {
            maps,
            cache: HashMap::default(),
            out: Vec::new(),
            rng: fastrand::Rng::new(),
        });
        (mapper, gen)
    }

    /// Map `subject` (a client's publish). A cache hit allocates nothing.
    pub fn map(&mut self, srv: &Server, subject: &[u8]) -> Mapped<'_> {
        let cached = match self.cache.get(subject) {
            Some(Cached::Unmapped) => return Mapped::Unchanged,
            Some(Cached::Fixed(s)) => {
                self.out.clear();
                self.out.extend_from_slice(s);
                return Mapped::To(&self.out);
            }
            Some(Cached::Pick(i)) => Cached::Pick(*i),
            None => {
                let c = match self.maps.find(subject) {
                    None => Cached::Unmapped,
                    Some(i) if self.maps.is_cluster_scoped(i) => Cached::Pick(i),
                    Some(i) if self.maps.is_deterministic(i, "") => {
                        self.maps.select(i, "", 0, subject, &mut self.out);
                        Cached::Fixed(self.out.as_slice().into())
                    }
                    Some(i) => Cached::Pick(i),
                };
                if self.cache.len() >= CACHE_MAX {
                    self.cache.clear();
                }
                self.cache.insert(subject.into(), c.clone());
                c
            }
        };
        match cached {
            Cached::Unmapped => Mapped::Unchanged,
            Cached::Fixed(s) => {
                self.out.clear();
                self.out.extend_from_slice(&s);
                Mapped::To(&self.out)
            }
            Cached::Pick(i) => {
                let roll = self.rng.u8(0..100);
                let sel = if self.maps.is_cluster_scoped(i) {
                    let cluster = srv.cluster_name.read();
                    self.maps
                        .select(i, &cluster.name, roll, subject, &mut self.out)
                } else {
                    self.maps.select(i, "", roll, subject, &mut self.out)
                };
                match sel {
                    Selected::Mapped => Mapped::To(&self.out),
                    Selected::Dropped => Mapped::Dropped,
                }
            }
        }
    }
}
