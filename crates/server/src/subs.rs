//! Adding and removing subscriptions: the subject index, the owning connection's map, and
//! the interest that routes must hear about, kept in step.

use std::sync::Arc;

use nats_sublist::SublistError;

use crate::conn::{Conn, ConnKind};
use crate::server::Server;
use crate::sub::SubRef;

impl Server {
    /// Add a client's subscription. Propagates interest to routes (RS+) when clustered.
    pub fn add_local_sub(&self, sub: SubRef) -> Result<(), SublistError> {
        sub.account
            .sl
            .insert(&sub.subject, sub.queue.as_deref(), sub.clone())?;
        if self.is_clustered() {
            self.interest_changed(&sub.account, &sub.subject, sub.queue.as_deref(), 1);
        }
        Ok(())
    }

    /// Remove one subscription everywhere. `from_conn`: also drop it from its connection's
    /// map (not needed when the connection is being torn down wholesale).
    pub fn remove_sub(&self, sub: &SubRef, from_conn: bool) {
        if let (true, Some(conn)) = (from_conn, sub.target.conn()) {
            let mut subs = conn.subs.lock();
            let key: &[u8] = &sub.sid;
            if subs.get(key).is_some_and(|s| s == sub) {
                subs.remove(key);
            }
        }
        if sub
            .account
            .sl
            .remove(&sub.subject, sub.queue.as_deref(), sub)
            .is_ok()
            && !sub.target.is_route()
            && self.is_clustered()
        {
            self.interest_changed(&sub.account, &sub.subject, sub.queue.as_deref(), -1);
        }
    }

    /// A connection is gone: remove all of its subscriptions under one index lock.
    /// Returns the subjects (for the closed-connections ring).
    pub fn remove_conn_subs(&self, conn: &Arc<Conn>) -> Vec<SubRef> {
        let subs: Vec<SubRef> = conn.subs.lock().drain().map(|(_, s)| s).collect();
        if subs.is_empty() {
            return subs;
        }
        // Subscriptions are grouped by account (a client has one; a route many): one
        // batch removal per account.
        let mut rest: Vec<&SubRef> = subs.iter().collect();
        while let Some(first) = rest.first() {
            let acc = first.account.clone();
            let (mine, others): (Vec<&SubRef>, Vec<&SubRef>) = rest
                .into_iter()
                .partition(|s| Arc::ptr_eq(&s.account, &acc));
            acc.sl
                .remove_batch(mine.iter().map(|s| (&*s.subject, s.queue.as_deref(), *s)));
            if conn.kind == ConnKind::Client && self.is_clustered() {
                for s in &mine {
                    self.interest_changed(&acc, &s.subject, s.queue.as_deref(), -1);
                }
            }
            rest = others;
        }
        subs
    }
}
