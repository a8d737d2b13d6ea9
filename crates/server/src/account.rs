//! Accounts: the unit of isolation. Every account owns its subject index (local client
//! subscriptions and the interest routes told us about) and the interest we tell routes
//! about (`RS+ <account> …`). Every connection points at one account (a client at the
//! account of the user it authenticated as, `$G` otherwise); a route carries many.
//!
//! [`Accounts`] is the registry on `Server`: `$G` always exists, the configured accounts
//! are added at start. Lookups take `&[u8]` (a route op's account field) and never
//! allocate. A reload adds and removes accounts ([`Accounts::sync`]); a reader may keep an
//! `Arc<Account>` for as long as it likes (a removed account's clients are closed by the
//! reload, and its index goes with the last of them).
//!
//! Service imports and the response mappings of service exports hang here
//! (`imports.rs`); later slices add limits and JetStream state.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use hashbrown::HashMap;
use nats_sublist::Sublist;
use parking_lot::{Mutex, RwLock};

use crate::route::Interest;
use crate::sub::SubRef;

/// The global account's name (nats-server's `globalAccountName`).
pub const GLOBAL_ACCOUNT: &str = "$G";

pub struct Account {
    pub name: Arc<str>,
    /// Local and remote subscriptions of this account.
    pub sl: Sublist<SubRef>,
    /// Local interest per (subject, queue): what routes have been told for this account.
    pub interest: Mutex<Interest>,
    /// Subject mappings applied to its clients' publishes (`$G`: the top-level
    /// `mappings`; others: the account's own). Replaced whole by a reload, which then
    /// bumps `Server::mappings_gen`.
    pub mappings: RwLock<Arc<nats_sublist::mapping::Mappings>>,
    /// When the account was registered (`/accountz`'s `update_time`).
    pub created: SystemTime,
    /// Messages and payload bytes delivered to this account's clients (`/accstatz`'s
    /// `sent`), added per delivery batch.
    pub out_msgs: AtomicU64,
    pub out_bytes: AtomicU64,
    /// Messages and payload bytes its clients published (`/accstatz`'s `received`),
    /// added per read batch.
    pub in_msgs: AtomicU64,
    pub in_bytes: AtomicU64,
    /// Local client connections bound to this account (Go's `numLocalConnections`): a
    /// client counts in `$G` from its acceptance until its CONNECT moves it elsewhere.
    /// Read by the `$SYS.ACCOUNT.<acc>.SERVER.CONNS` events.
    pub conns: AtomicI64,
    /// Service imports of this account (`None` without any). Replaced whole by a
    /// reload, which then bumps `ImportState::gen`; client readers keep their own
    /// `Arc` and check the generation once per batch, so the publish path of an account
    /// without imports pays one branch.
    pub service_imports: RwLock<Option<Arc<crate::imports::ServiceImports>>>,
    /// Response mappings of an account whose service exports are imported.
    pub responses: OnceLock<crate::imports::Responses>,
}

impl Account {
    /// Whether anyone (a client, an internal subscription or a route) listens on
    /// `subject` in this account.
    pub fn has_interest(&self, subject: &[u8]) -> bool {
        let r = self.sl.match_subject(subject);
        !r.psubs.is_empty() || !r.qsubs.is_empty()
    }

    pub fn new(name: &str, cache: bool) -> Account {
        Account {
            name: name.into(),
            sl: Sublist::new(cache),
            interest: Mutex::new(Interest::default()),
            mappings: RwLock::new(Arc::default()),
            created: SystemTime::now(),
            out_msgs: AtomicU64::new(0),
            out_bytes: AtomicU64::new(0),
            in_msgs: AtomicU64::new(0),
            in_bytes: AtomicU64::new(0),
            conns: AtomicI64::new(0),
            service_imports: RwLock::new(None),
            responses: OnceLock::new(),
        }
    }

    pub fn is_global(&self) -> bool {
        &*self.name == GLOBAL_ACCOUNT
    }

    /// Local client connections bound to this account now.
    pub fn num_conns(&self) -> usize {
        self.conns.load(Ordering::Relaxed).max(0) as usize
    }
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Account({})", self.name)
    }
}

/// Accounts by name, and in registration order.
type Registry = (HashMap<Box<[u8]>, Arc<Account>>, Vec<Arc<Account>>);

/// The account registry.
pub struct Accounts {
    global: Arc<Account>,
    cache: bool,
    /// By name, plus the registration order (which is also the order in which
    /// `RouteState::register` takes the accounts' `interest` locks).
    inner: RwLock<Registry>,
}

impl Accounts {
    pub fn new(names: &[String], cache: bool) -> Accounts {
        let global = Arc::new(Account::new(GLOBAL_ACCOUNT, cache));
        let a = Accounts {
            global: global.clone(),
            cache,
            inner: RwLock::new((HashMap::new(), Vec::new())),
        };
        {
            let mut inner = a.inner.write();
            inner
                .0
                .insert(GLOBAL_ACCOUNT.as_bytes().into(), global.clone());
            inner.1.push(global);
        }
        for n in names {
            a.get_or_create(n);
        }
        a
    }

    /// The global account `$G`.
    pub fn global(&self) -> &Arc<Account> {
        &self.global
    }

    /// The account named `name`, if registered. No allocation.
    pub fn lookup(&self, name: &[u8]) -> Option<Arc<Account>> {
        if name == GLOBAL_ACCOUNT.as_bytes() {
            return Some(self.global.clone());
        }
        self.inner.read().0.get(name).cloned()
    }

    /// The account named `name`, registered first if needed.
    pub fn get_or_create(&self, name: &str) -> Arc<Account> {
        if let Some(a) = self.lookup(name.as_bytes()) {
            return a;
        }
        let mut inner = self.inner.write();
        if let Some(a) = inner.0.get(name.as_bytes()) {
            return a.clone();
        }
        let a = Arc::new(Account::new(name, self.cache));
        inner.0.insert(name.as_bytes().into(), a.clone());
        inner.1.push(a.clone());
        a
    }

    /// Make the registry hold `$G`, `keep` and the accounts named in `names` (a reload):
    /// new names are registered, others removed. Returns the removed accounts.
    pub fn sync(&self, names: &[String], keep: Option<&Arc<Account>>) -> Vec<Arc<Account>> {
        for n in names {
            self.get_or_create(n);
        }
        let mut inner = self.inner.write();
        let wanted = |a: &Arc<Account>| {
            a.is_global()
                || keep.is_some_and(|k| Arc::ptr_eq(k, a))
                || names.iter().any(|n| **n == *a.name)
        };
        let (kept, removed): (Vec<_>, Vec<_>) = inner.1.drain(..).partition(|a| wanted(a));
        inner.1 = kept;
        for a in &removed {
            inner.0.remove(a.name.as_bytes());
        }
        removed
    }

    /// Every account, `$G` first, then in registration order.
    pub fn list(&self) -> Vec<Arc<Account>> {
        self.inner.read().1.clone()
    }
}
