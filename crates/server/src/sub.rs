//! A subscription as the subject index holds it: who to deliver to and how.
//!
//! Local subscriptions belong to a client connection and carry its sid; remote ones belong
//! to a route and stand for the interest of a whole server (the sid is the route key
//! `account subject [queue]`, and queue subscriptions carry the remote member count as
//! their weight).

use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use crate::account::Account;
use crate::conn::Conn;

pub struct Subscription {
    pub conn: Arc<Conn>,
    /// The account whose subject index holds this subscription.
    pub account: Arc<Account>,
    pub subject: Box<[u8]>,
    pub queue: Option<Box<[u8]>>,
    pub sid: Box<[u8]>,
    /// Auto-unsubscribe after this many deliveries (0 = no limit).
    pub max: AtomicU64,
    pub delivered: AtomicU64,
    /// Route queue subscriptions: how many members the remote server has.
    pub weight: AtomicU32,
}

impl Subscription {
    pub fn new(
        conn: Arc<Conn>,
        account: Arc<Account>,
        subject: &[u8],
        queue: Option<&[u8]>,
        sid: &[u8],
        weight: u32,
    ) -> Subscription {
        Subscription {
            conn,
            account,
            subject: subject.into(),
            queue: queue.map(Into::into),
            sid: sid.into(),
            max: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            weight: AtomicU32::new(weight),
        }
    }

    pub fn weight(&self) -> u32 {
        self.weight.load(Ordering::Relaxed).max(1)
    }
}

/// A shared handle whose identity is the allocation: two handles are equal only if they
/// are the same subscription.
#[derive(Clone)]
pub struct SubRef(pub Arc<Subscription>);

impl PartialEq for SubRef {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for SubRef {}

impl Hash for SubRef {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (Arc::as_ptr(&self.0) as usize).hash(state);
    }
}

impl std::ops::Deref for SubRef {
    type Target = Subscription;
    fn deref(&self) -> &Subscription {
        &self.0
    }
}
