//! A subscription as the subject index holds it: who to deliver to and how.
//!
//! Every subscription names its [`Target`]: a client socket, a route, or code inside the
//! server. Client subscriptions carry the client's sid; route ones stand for the interest
//! of a whole server (the sid is the route key `account subject [queue]`, and queue
//! subscriptions carry the remote member count as their weight); internal ones carry the
//! handler that receives the message (the system account's services today, imports and
//! JetStream next).

use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use crate::account::Account;
use crate::conn::Conn;
use crate::deliver::{Delivery, Msg};
use crate::server::Server;

/// Where a subscription's messages go.
#[derive(Clone)]
pub enum Target {
    /// A client connection's socket (MSG/HMSG with the subscription's sid).
    Client(Arc<Conn>),
    /// A route: one RMSG per message however many of its subscriptions match.
    Route(Arc<Conn>),
    /// Code inside the server.
    Internal(Arc<Internal>),
}

impl Target {
    /// The connection behind a client or route target.
    #[inline]
    pub fn conn(&self) -> Option<&Arc<Conn>> {
        match self {
            Target::Client(c) | Target::Route(c) => Some(c),
            Target::Internal(_) => None,
        }
    }

    #[inline]
    pub fn is_route(&self) -> bool {
        matches!(self, Target::Route(_))
    }
}

/// The callback of an internal subscription. It runs on the publisher's task after the
/// message went to every socket and route, with that task's [`Delivery`] so that it may
/// publish in turn (an import re-publishing into another account). Handlers must be
/// cheap: anything heavier than a copy into a bounded queue belongs on their own task.
pub type InternalFn = dyn Fn(&Server, &mut Delivery, &SubRef, Msg<'_>) + Send + Sync;

/// An internal subscriber.
pub struct Internal {
    /// What it is (`/subsz` and traces name it).
    pub name: &'static str,
    pub handler: Box<InternalFn>,
}

pub struct Subscription {
    pub target: Target,
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
        target: Target,
        account: Arc<Account>,
        subject: &[u8],
        queue: Option<&[u8]>,
        sid: &[u8],
        weight: u32,
    ) -> Subscription {
        Subscription {
            target,
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
