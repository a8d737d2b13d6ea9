//! The route INFO we send, and gossip: telling peers about each other so that a full mesh
//! forms from a single seed.
//!
//! When a route to a new server N registers and we already have other routes, N's INFO
//! (with `ip` set to where N can be dialled) goes to every other peer, which then dials N
//! (nats-server does exactly this). We go one step further when N is one of ours: N also
//! receives the INFOs of our other peers that are ours, so both ends of each missing link
//! learn of it, and only the end with the smaller server id dials at once — the other waits
//! and dials only if the link has not appeared. That keeps a mesh that starts all at once
//! from dialling every link twice (the "Duplicate Route" storms of large Go clusters).

use std::sync::Arc;
use std::time::Duration;

use nats_proto::info::ServerInfo;

use crate::conn::Conn;
use crate::debug;
use crate::options::{NATS_VERSION, RS_VERSION};
use crate::server::{advertise_host_port, go_version, Server};

/// How long the server with the larger id waits for its peer to dial before dialling
/// itself.
const DEFER_DIAL: Duration = Duration::from_millis(1500);

impl Server {
    /// Our route INFO (without a nonce).
    pub fn route_info(&self) -> ServerInfo {
        let opts = self.opts();
        let cn = self.cluster_name();
        let caddr = self.addrs.read().cluster;
        let (host, port, ip) = match advertise_host_port(&opts.cluster.advertise) {
            Some((h, p)) => {
                let p = if p == 0 {
                    caddr.map(|a| a.port()).unwrap_or(0)
                } else {
                    p
                };
                let hp = crate::server::join_host_port(&h, p);
                (h, p, format!("nats-route://{hp}/"))
            }
            None => (
                if opts.cluster.host.is_empty() {
                    "0.0.0.0".to_string()
                } else {
                    opts.cluster.host.clone()
                },
                caddr.map(|a| a.port()).unwrap_or(0),
                String::new(),
            ),
        };
        ServerInfo {
            server_id: self.id.clone(),
            server_name: self.name.clone(),
            version: NATS_VERSION.to_string(),
            proto: 2,
            go: go_version(),
            host,
            port,
            headers: !opts.no_header_support,
            auth_required: !opts.cluster.username.is_empty(),
            tls_required: opts.cluster.tls.is_some(),
            tls_verify: opts.cluster.tls.is_some(),
            max_payload: opts.max_payload,
            ip,
            cluster: cn.name,
            cluster_dynamic: cn.dynamic,
            connect_urls: if opts.cluster.no_advertise {
                Vec::new()
            } else {
                self.urls.lock().own.clone()
            },
            ws_connect_urls: if opts.cluster.no_advertise {
                Vec::new()
            } else {
                self.urls.lock().ws_own.clone()
            },
            rs_version: RS_VERSION.to_string(),
            ..Default::default()
        }
    }

    /// A route to `newcomer` registered: tell the other peers about it, and (if it is one
    /// of ours) tell it about the peers of ours.
    pub(super) fn gossip_new_route(
        &self,
        newcomer: &Arc<Conn>,
        info: &ServerInfo,
        others: &[Arc<Conn>],
    ) {
        if others.is_empty() {
            return;
        }
        if let Ok(json) = nats_proto::info::to_json(info) {
            for r in others {
                r.send_with(|b| write_gossip(b, &json));
            }
        }
        if info.rs_version.is_empty() {
            return;
        }
        for r in others {
            let ri = r.meta.lock().remote_info.clone();
            if let Some(ri) = ri {
                if ri.rs_version.is_empty() || ri.server_id == info.server_id {
                    continue;
                }
                if let Ok(json) = nats_proto::info::to_json(&*ri) {
                    newcomer.send_with(|b| write_gossip(b, &json));
                }
            }
        }
    }

    /// An established route told us about another server: dial it unless we already have
    /// (or are already dialling) a route to it, or it is one of our configured routes.
    pub(super) fn process_implicit_route(self: &Arc<Self>, info: ServerInfo) {
        if info.server_id == self.id {
            return;
        }
        {
            let mut routes = self.routes.write();
            if routes.by_id.contains_key(&info.server_id)
                || routes.dialing.contains(&info.server_id)
            {
                return;
            }
            let hp = crate::server::join_host_port(&info.host, info.port).to_ascii_lowercase();
            let configured = self
                .opts()
                .cluster
                .routes
                .iter()
                .any(|u| super::solicit::url_host_port(u).to_ascii_lowercase() == hp);
            if configured {
                return;
            }
            routes.dialing.insert(info.server_id.clone());
        }
        let Ok(mut url) = url::Url::parse(&info.ip) else {
            crate::error!(self.log, "Error parsing URL from INFO: {:?}", info.ip);
            self.routes.write().dialing.remove(&info.server_id);
            return;
        };
        if info.auth_required {
            let o = self.opts();
            let _ = url.set_username(&o.cluster.username);
            let _ = url.set_password(Some(&o.cluster.password));
        }
        // Tie-break between two of ours: the smaller id dials now, the other later and
        // only if still needed. Go peers dial on gossip regardless, so we dial them now.
        let defer = !info.rs_version.is_empty() && self.id > info.server_id;
        let jitter = Duration::from_millis(fastrand::u64(..50));
        let delay = if defer { DEFER_DIAL + jitter } else { jitter };
        debug!(
            self.log,
            "Gossip: route to {:?} at {} in {:?}",
            info.server_id,
            super::solicit::redacted(&url),
            delay
        );
        let s = self.clone();
        let id = info.server_id.clone();
        self.tasks.spawn(async move {
            tokio::select! {
                _ = s.shutdown.cancelled() => return,
                _ = tokio::time::sleep(delay) => {}
            }
            let connected = s.routes.read().by_id.contains_key(&id);
            if connected {
                s.routes.write().dialing.remove(&id);
                return;
            }
            super::solicit::dial_implicit(&s, url, id).await;
        });
    }
}

/// `INFO <json>\r\n`: gossip INFOs are forwarded without the space before CRLF, as Go does.
fn write_gossip(b: &mut Vec<u8>, json: &[u8]) {
    b.extend_from_slice(b"INFO ");
    b.extend_from_slice(json);
    b.extend_from_slice(b"\r\n");
}
