//! The route handshake: the peer's CONNECT (credentials, cluster name) and its first
//! INFO, which registers the route — refusing routes to ourselves and cluster-name
//! conflicts, resolving a second connection to an already-routed server, sending our whole
//! interest, announcing the peer to the others (gossip) and adding its client URLs.
//! Later INFOs on the same route gossip about a third server or put the peer in lame
//! duck mode.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use nats_proto::errors;
use nats_proto::info::{ConnectInfo, ServerInfo};

use super::conn::RouteState;
use crate::conn::CloseReason;
use crate::{debug, error, notice, trace};

impl RouteState {
    pub(super) fn process_connect(&mut self, json: &[u8]) -> Result<(), CloseReason> {
        let ci = match ConnectInfo::from_json(json) {
            Ok(c) => c,
            Err(e) => {
                // serde's message may quote the offending value (a password sent as a
                // number, say): log where the error is, not what was there.
                error!(
                    self.srv.log,
                    "{} - Error parsing route CONNECT: {}",
                    self.conn.prefix(),
                    crate::redact::json_error(&e)
                );
                return Err(CloseReason::ProtocolViolation);
            }
        };
        if !ci.lang.is_empty() {
            self.send_err(errors::ROUTE_PORT);
            return Err(CloseReason::WrongPort);
        }
        if let Some(gw) = &ci.gateway {
            let t = format!("Rejecting connection from gateway {gw:?} on the Route port");
            error!(self.srv.log, "{} - {}", self.conn.prefix(), t);
            self.send_err(&t);
            return Err(CloseReason::ProtocolViolation);
        }
        let opts = self.srv.opts();
        if !opts.cluster.username.is_empty() {
            let ok = ci.user == opts.cluster.username
                && match crate::auth::secret_matches_cached(&opts.cluster.password, &ci.pass) {
                    Some(ok) => ok,
                    None => {
                        // bcrypt: checked off the async workers, then `finish_deferred`.
                        self.deferred = Some(ci);
                        return Ok(());
                    }
                };
            if !ok {
                return Err(self.auth_failed(&ci));
            }
        }
        self.finish_connect(ci)
    }

    fn auth_failed(&self, ci: &ConnectInfo) -> CloseReason {
        error!(
            self.srv.log,
            "{} - authentication error - User {:?}",
            self.conn.prefix(),
            ci.user
        );
        self.send_err(errors::AUTH_VIOLATION);
        CloseReason::AuthenticationViolation
    }

    /// A CONNECT waiting for its bcrypt verification, as a job for the read loop.
    pub(super) fn take_deferred_connect(&mut self) -> Option<crate::readbuf::Deferred> {
        let ci = self.deferred.as_ref()?;
        let opts = self.srv.opts();
        let (user, pass) = (ci.user.clone(), ci.pass.clone());
        Some(crate::readbuf::Deferred::Check(Box::new(move || {
            let ok = crate::auth::route_authorized(&opts, &user, &pass);
            ok.then_some(crate::auth::OwnedAuthorized {
                user,
                permissions: None,
                nkey: false,
            })
        })))
    }

    pub(super) fn finish_deferred_connect(
        &mut self,
        outcome: Option<crate::auth::OwnedAuthorized>,
    ) -> Result<(), CloseReason> {
        let Some(ci) = self.deferred.take() else {
            return Ok(());
        };
        match outcome {
            Some(_) => self.finish_connect(ci),
            None => Err(self.auth_failed(&ci)),
        }
    }

    /// The rest of a CONNECT once its credentials are accepted.
    fn finish_connect(&mut self, ci: ConnectInfo) -> Result<(), CloseReason> {
        let opts = self.srv.opts();
        self.awaiting_auth = false;
        // Kept for a reload, which checks accepted routes against new cluster credentials.
        self.conn.meta.lock().auth = Some(Arc::new(crate::auth::Credentials {
            user: ci.user.clone(),
            pass: ci.pass.clone(),
            ..Default::default()
        }));
        self.check_cluster_name(&ci.cluster, ci.cluster_dynamic)?;
        self.conn
            .headers
            .store(!opts.no_header_support && ci.headers, Ordering::Relaxed);
        self.remote_id = ci.name;
        Ok(())
    }

    /// nats-server's cluster-name negotiation: a dynamic name gives way to a configured
    /// one, or to a larger dynamic one; otherwise the connection is refused.
    fn check_cluster_name(&mut self, theirs: &str, their_dynamic: bool) -> Result<(), CloseReason> {
        if self.adopt_cluster_name(theirs, their_dynamic) {
            return Ok(());
        }
        let ours = self.srv.cluster_name();
        let t = errors::cluster_name_mismatch(theirs, &ours.name);
        error!(self.srv.log, "{} - {}", self.conn.prefix(), t);
        self.send_err(&t);
        Err(CloseReason::ClusterNameConflict)
    }

    /// True if the names agree, or ours is dynamic and gives way to theirs (then every
    /// other route is closed, as nats-server does).
    fn adopt_cluster_name(&mut self, theirs: &str, their_dynamic: bool) -> bool {
        let ours = self.srv.cluster_name();
        if theirs == ours.name {
            return true;
        }
        if ours.dynamic && (!their_dynamic || ours.name.as_str() < theirs) {
            {
                let mut cn = self.srv.cluster_name.write();
                cn.name = theirs.to_string();
                cn.dynamic = their_dynamic;
            }
            notice!(self.srv.log, "Cluster name updated to {}", theirs);
            let others: Vec<_> = self
                .srv
                .routes
                .read()
                .all()
                .into_iter()
                .filter(|r| !Arc::ptr_eq(r, &self.conn))
                .collect();
            for r in others {
                r.close(CloseReason::ClusterNameConflict);
            }
            return true;
        }
        false
    }

    pub(super) fn process_info(&mut self, json: &[u8]) -> Result<(), CloseReason> {
        let mut info = match ServerInfo::from_json(json) {
            Ok(i) => i,
            Err(e) => {
                error!(
                    self.srv.log,
                    "{} - Error parsing route INFO: {}",
                    self.conn.prefix(),
                    e
                );
                return Err(CloseReason::ProtocolViolation);
            }
        };
        if info.server_id == self.srv.id {
            // A route to ourselves (every node listed in `routes`, as the Helm chart does).
            self.conn.meta.lock().self_route = true;
            self.remote_id = info.server_id;
            debug!(
                self.srv.log,
                "{} - Detected route to self, ignoring",
                self.conn.prefix()
            );
            return Err(CloseReason::DuplicateRoute);
        }
        if !info.cluster.is_empty() && info.cluster != self.srv.cluster_name().name {
            // On INFO nats-server closes without a word; the refusal text is for CONNECT.
            if !self.adopt_cluster_name(&info.cluster, info.cluster_dynamic) {
                return Err(CloseReason::ClusterNameConflict);
            }
        }
        if self.got_info {
            if !self.remote_id.is_empty() && info.server_id != self.remote_id {
                self.srv.process_implicit_route(info);
            } else if info.ldm {
                let (urls, ws) = {
                    let mut m = self.conn.meta.lock();
                    (
                        std::mem::take(&mut m.connect_urls),
                        std::mem::take(&mut m.ws_connect_urls),
                    )
                };
                if self.urls_added && !self.srv.opts().cluster.no_advertise {
                    self.urls_added = false;
                    self.srv.update_peer_urls(&[], &urls);
                    self.srv.update_peer_ws_urls(&[], &ws);
                }
            }
            return Ok(());
        }
        let did_solicit = self.conn.meta.lock().did_solicit;
        if !did_solicit && !info.server_name.is_empty() && info.server_name == self.srv.name {
            error!(
                self.srv.log,
                "{} - Remote server has a duplicate name: {:?}",
                self.conn.prefix(),
                info.server_name
            );
            return Err(CloseReason::DuplicateServerName);
        }
        self.got_info = true;
        self.remote_id = info.server_id.clone();
        let opts = self.srv.opts();
        self.conn
            .headers
            .store(!opts.no_header_support && info.headers, Ordering::Relaxed);
        if info.ip.is_empty() {
            let ip = self.conn.addr.ip().to_string();
            info.ip = format!(
                "nats-route://{}/",
                crate::server::join_host_port(&ip, info.port)
            );
        }
        info.nonce.clear();
        {
            let mut m = self.conn.meta.lock();
            m.remote_id = info.server_id.clone();
            m.remote_name = info.server_name.clone();
            m.connect_urls = info.connect_urls.clone();
            m.ws_connect_urls = info.ws_connect_urls.clone();
            if m.route_url.is_none() {
                let hp = crate::server::join_host_port(&info.host, info.port);
                m.route_url = url::Url::parse(&format!("nats-route://{hp}/")).ok();
            }
            m.remote_info = Some(Box::new(info.clone()));
        }
        self.register(info)
    }

    fn register(&mut self, info: ServerInfo) -> Result<(), CloseReason> {
        let srv = self.srv.clone();
        let id = info.server_id.clone();
        let mut replaced = None;
        let others;
        {
            // Every account's interest lock, in registry order (see LOCKS.md), then
            // `routes`: the snapshot below and the route's appearance in `by_cid` are
            // atomic with respect to every account's interest changes.
            let accounts = srv.accounts.list();
            let interest: Vec<_> = accounts.iter().map(|a| a.interest.lock()).collect();
            let mut routes = srv.routes.write();
            routes.dialing.remove(&id);
            if let Some(existing) = routes.by_id.get(&id).cloned() {
                let keep_new = !info.rs_version.is_empty()
                    && keep_new_connection(
                        &srv.id,
                        &id,
                        self.conn.meta.lock().did_solicit,
                        existing.meta.lock().did_solicit,
                    );
                if !keep_new {
                    drop(routes);
                    drop(interest);
                    debug!(
                        srv.log,
                        "{} - Detected duplicate remote route {:?}",
                        self.conn.prefix(),
                        id
                    );
                    let mine = self.conn.meta.lock().clone();
                    let mut em = existing.meta.lock();
                    if mine.did_solicit && !em.did_solicit {
                        em.did_solicit = true;
                        em.is_configured = mine.is_configured;
                        em.route_url = mine.route_url;
                    }
                    em.retry = true;
                    return Err(CloseReason::DuplicateRoute);
                }
                routes.by_cid.remove(&existing.cid);
                replaced = Some(existing);
            }
            routes.pending.remove(&self.conn.cid);
            routes.by_cid.insert(self.conn.cid, self.conn.clone());
            routes.by_id.insert(id.clone(), self.conn.clone());
            others = routes
                .by_cid
                .values()
                .filter(|r| !Arc::ptr_eq(r, &self.conn))
                .cloned()
                .collect::<Vec<_>>();
            self.registered = true;
            debug!(
                srv.log,
                "{} - Registering remote route {:?}",
                self.conn.prefix(),
                id
            );
            let n: usize = interest.iter().map(|i| i.len()).sum();
            let mut buf = Vec::with_capacity(n * 32);
            for (acc, i) in accounts.iter().zip(interest.iter()) {
                i.write_all(acc.name.as_bytes(), &mut buf);
            }
            if srv.log.trace_on() {
                for line in buf.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                    trace!(
                        srv.log,
                        "{} - ->> [{}]",
                        self.conn.prefix(),
                        String::from_utf8_lossy(&line[..line.len() - 1])
                    );
                }
            }
            self.conn.send(&buf);
        }
        debug!(
            srv.log,
            "{} - Sent local subscriptions to route",
            self.conn.prefix()
        );
        if let Some(old) = replaced {
            debug!(
                srv.log,
                "{} - Detected duplicate remote route {:?}",
                old.prefix(),
                id
            );
            old.close(CloseReason::DuplicateRoute);
        }
        srv.gossip_new_route(&self.conn, &info, &others);
        if !srv.opts().cluster.no_advertise
            && (!info.connect_urls.is_empty() || !info.ws_connect_urls.is_empty())
        {
            self.urls_added = true;
            srv.update_peer_urls(&info.connect_urls, &[]);
            srv.update_peer_ws_urls(&info.ws_connect_urls, &[]);
        }
        Ok(())
    }
}

/// Two connections to the same server (both ends dialled at once): keep the one dialled
/// by the server with the smaller id. Both ends compute the same answer, so they keep the
/// same TCP connection and nobody needs to re-dial. Used only between our own servers;
/// with a Go peer we follow its rule (the later connection loses).
pub fn keep_new_connection(
    our_id: &str,
    peer_id: &str,
    new_solicited: bool,
    old_solicited: bool,
) -> bool {
    if new_solicited == old_solicited {
        return false;
    }
    let winner_is_us = our_id < peer_id;
    // The new connection was dialled by us if we solicited it.
    new_solicited == winner_is_us
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tie_break_is_symmetric() {
        // A < B. Connection X dialled by A, Y dialled by B. Both must keep X.
        let (a, b) = ("NA", "NB");
        // On A: existing Y (accepted), new X (solicited) -> keep X.
        assert!(keep_new_connection(a, b, true, false));
        // On A: existing X, new Y -> keep X.
        assert!(!keep_new_connection(a, b, false, true));
        // On B: existing Y (solicited by B), new X (accepted) -> keep X.
        assert!(keep_new_connection(b, a, false, true));
        // On B: existing X (accepted), new Y (solicited) -> keep X.
        assert!(!keep_new_connection(b, a, true, false));
    }
}
