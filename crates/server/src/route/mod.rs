//! Clustering: routes between servers, as nats-server 2.9.10 speaks them.
//!
//! * [`RouteTable`]: registered routes by connection id and by remote server id.
//! * [`Interest`]: how many local subscriptions exist per (subject, queue), so that a
//!   route hears `RS+` on the first and `RS-` on the last, and queue groups carry their
//!   member count as weight.
//! * `conn`: one route connection — handshake (CONNECT/INFO), registration, duplicate
//!   resolution, interest and messages.
//! * `solicit`: dialling explicit and gossiped routes, with retries.
//! * `gossip`: telling peers about each other so a full mesh forms from one seed.

mod conn;
mod gossip;
mod handshake;
mod solicit;
mod tls;

use std::sync::Arc;

use hashbrown::HashMap;
use nats_proto::encode;

use crate::account::Account;
use crate::conn::Conn;
use crate::server::{join_host_port, Server};
use crate::{notice, trace, warn};

pub use conn::accept_route;
pub use solicit::{redacted, route_still_valid, spawn_connect};

/// Registered routes, plus the ones still in their handshake (so shutdown finds them).
#[derive(Default)]
pub struct RouteTable {
    pub by_cid: HashMap<u64, Arc<Conn>>,
    pub by_id: HashMap<String, Arc<Conn>>,
    pub pending: HashMap<u64, Arc<Conn>>,
    /// Server ids we are dialling because of gossip (so we do not dial twice).
    pub dialing: hashbrown::HashSet<String>,
}

impl RouteTable {
    pub fn all(&self) -> Vec<Arc<Conn>> {
        self.by_cid
            .values()
            .chain(self.pending.values())
            .cloned()
            .collect()
    }

    pub fn registered(&self) -> Vec<Arc<Conn>> {
        self.by_cid.values().cloned().collect()
    }
}

/// A subscription subject and its queue group, if any.
type InterestKey = (Box<[u8]>, Option<Box<[u8]>>);

/// Local interest per (subject, queue) of one account (`Account::interest`).
#[derive(Default)]
pub struct Interest {
    counts: HashMap<InterestKey, u32>,
}

impl Interest {
    /// All current interest of `account` as `RS+` lines (sent to a route when it
    /// registers).
    pub fn write_all(&self, account: &[u8], out: &mut Vec<u8>) {
        for ((subject, queue), n) in &self.counts {
            let q = queue.as_deref().map(|q| (q, *n));
            encode::rs_plus(out, account, subject, q);
        }
    }

    pub fn len(&self) -> usize {
        self.counts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }
}

impl Server {
    /// Local interest in `subject`/`queue` went up or down by one: tell every route if
    /// that changes what it must know (first/last plain sub; any queue weight change).
    pub fn interest_changed(
        &self,
        acc: &Account,
        subject: &[u8],
        queue: Option<&[u8]>,
        delta: i32,
    ) {
        let account = acc.name.as_bytes();
        let mut interest = acc.interest.lock();
        let key = (Box::<[u8]>::from(subject), queue.map(Box::<[u8]>::from));
        let n = interest.counts.get(&key).copied().unwrap_or(0);
        let new = if delta > 0 {
            n + 1
        } else if n == 0 {
            return;
        } else {
            n - 1
        };
        if new == 0 {
            interest.counts.remove(&key);
        } else {
            interest.counts.insert(key, new);
        }
        let mut line = Vec::with_capacity(subject.len() + 32);
        match queue {
            None if n == 0 && new == 1 => encode::rs_plus(&mut line, account, subject, None),
            None if new == 0 => encode::rs_minus(&mut line, account, subject, None),
            None => return,
            Some(q) if new == 0 => encode::rs_minus(&mut line, account, subject, Some(q)),
            Some(q) => encode::rs_plus(&mut line, account, subject, Some((q, new))),
        }
        let routes = self.routes.read();
        for r in routes.by_cid.values() {
            trace!(
                self.log,
                "{} - ->> [{}]",
                r.prefix(),
                String::from_utf8_lossy(&line[..line.len() - 2])
            );
            r.send(&line);
        }
    }
}

/// Bind the cluster listener, log as nats-server does, accept routes and dial the
/// configured ones.
pub async fn start_routing(srv: &Arc<Server>) -> anyhow::Result<()> {
    let opts = srv.opts();
    let cn = srv.cluster_name();
    notice!(srv.log, "Cluster name is {}", cn.name);
    if cn.dynamic {
        warn!(
            srv.log,
            "Cluster name was dynamically generated, consider setting one"
        );
    }
    let host = if opts.cluster.host.is_empty() {
        "0.0.0.0".to_string()
    } else {
        opts.cluster.host.clone()
    };
    let l = crate::server::bind(&host, opts.cluster.port)
        .await
        .map_err(|e| {
            // Go's words: `Error listening on router port: %d - %v`.
            anyhow::anyhow!(
                "Error listening on router port: {} - {}",
                opts.cluster.port,
                e
            )
        })?;
    let addr = l.local_addr()?;
    if opts.cluster.tls.as_ref().is_some_and(|t| t.insecure) {
        warn!(
            srv.log,
            "TLS certificate chain and hostname of solicited routes will not be verified. DO NOT USE IN PRODUCTION!"
        );
    }
    srv.addrs.write().cluster = Some(addr);
    *srv.self_route_addrs.write() = solicit::own_route_addrs(&host, addr.port());
    notice!(
        srv.log,
        "Listening for route connections on {}",
        join_host_port(&host, addr.port())
    );
    let s = srv.clone();
    srv.tasks.spawn(async move {
        loop {
            tokio::select! {
                _ = s.shutdown.cancelled() => break,
                res = l.accept() => match res {
                    Ok((stream, peer)) => accept_route(&s, stream, crate::server::unmap_addr(peer)),
                    Err(e) => {
                        crate::error!(s.log, "Error accepting route connection: {}", e);
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                }
            }
        }
        crate::debug!(s.log, "Route accept loop exiting..");
    });
    for url in opts.cluster.routes.iter() {
        solicit::spawn_connect(srv, url.clone(), true, true, std::time::Duration::ZERO);
    }
    Ok(())
}
