//! The TLS handshake of a route, as nats-server 2.9.10's `createRoute`: at once on
//! connect, before any INFO; the dialling side is the TLS client (verifying the peer
//! against `ca_file`, with the route URL's host as the name, or for an IP the first
//! host name among the configured routes), the accepting side the TLS server requiring
//! a client certificate (mutual TLS is forced on routes). Failures are logged as
//! `TLS route handshake error: …` and close the route, which a dialling side retries.

use std::sync::Arc;

use rustls::pki_types::ServerName;
use tokio::net::TcpStream;

use crate::conn::Conn;
use crate::server::Server;
use crate::tls::transport::{handshake as run_handshake, TlsInfo};
use crate::tls::Tls;
use crate::{debug, error};

/// The name a dialled route's certificate must carry (Go's `tlsConfig.ServerName`).
fn server_name(srv: &Server, url: &url::Url) -> Option<ServerName<'static>> {
    let host = url
        .host_str()?
        .trim_start_matches('[')
        .trim_end_matches(']');
    let is_ip = host.parse::<std::net::IpAddr>().is_ok();
    let host = if is_ip {
        // nats-server's `routeTLSName`: for gossiped IP URLs, the first host name of
        // the configured routes.
        srv.opts()
            .cluster
            .routes
            .iter()
            .filter_map(|u| u.host_str().map(str::to_string))
            .find(|h| h.parse::<std::net::IpAddr>().is_err() && !h.starts_with('['))
            .unwrap_or_else(|| host.to_string())
    } else {
        host.to_string()
    };
    ServerName::try_from(host).ok()
}

pub(super) async fn handshake(
    srv: &Arc<Server>,
    conn: &Arc<Conn>,
    stream: &TcpStream,
    t: &Tls,
    url: Option<&url::Url>,
) -> Option<rustls::Connection> {
    let p = conn.prefix();
    let session = match url {
        Some(u) => {
            debug!(srv.log, "{} - Starting TLS route client handshake", p);
            server_name(srv, u)
                .ok_or_else(|| "invalid server name".to_string())
                .and_then(|n| {
                    rustls::ClientConnection::new(t.client.clone(), n).map_err(|e| e.to_string())
                })
                .map(rustls::Connection::Client)
        }
        None => {
            debug!(srv.log, "{} - Starting TLS route server handshake", p);
            rustls::ServerConnection::new(t.server.clone())
                .map(rustls::Connection::Server)
                .map_err(|e| e.to_string())
        }
    };
    let mut session = match session {
        Ok(s) => s,
        Err(e) => {
            error!(srv.log, "{} - TLS route handshake error: {}", p, e);
            return None;
        }
    };
    let res = tokio::select! {
        r = tokio::time::timeout(t.timeout, run_handshake(stream, &mut session)) => r,
        _ = conn.cancelled() => return None,
    };
    match res {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            error!(srv.log, "{} - TLS route handshake error: {}", p, e);
            return None;
        }
        Err(_) => {
            error!(srv.log, "{} - TLS handshake timeout", p);
            return None;
        }
    }
    let info = TlsInfo::of(&session);
    if !crate::client::pinned_ok(t, &info) {
        error!(
            srv.log,
            "{} - TLS route handshake error: certificate not pinned", p
        );
        return None;
    }
    debug!(srv.log, "{} - TLS handshake complete", p);
    debug!(
        srv.log,
        "{} - TLS version {}, cipher suite {}", p, info.version, info.cipher
    );
    conn.meta.lock().tls = Some(Box::new(info));
    Some(session)
}
