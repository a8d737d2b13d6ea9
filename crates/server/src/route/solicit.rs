//! Dialling routes. Explicit routes (from `--routes` / `cluster.routes`) are retried every
//! second for as long as they stay configured; implicit ones (learned by gossip) get one
//! attempt plus `connect_retries`. Host names are resolved again on every attempt and our
//! own cluster addresses are skipped, so an operator may list every node, this one
//! included (as the NATS Helm chart does).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;

use crate::server::{is_any, non_local_ips, Server};
use crate::{debug, error};

const ROUTE_CONNECT_DELAY: Duration = Duration::from_secs(1);
const ROUTE_DIAL_TIMEOUT: Duration = Duration::from_secs(1);

/// Addresses at which this server's cluster listener can be reached: dialling one of them
/// would be a route to ourselves.
pub fn own_route_addrs(host: &str, port: u16) -> Vec<SocketAddr> {
    let mut ips: Vec<std::net::IpAddr> = Vec::new();
    if is_any(host) {
        ips.extend(
            non_local_ips()
                .iter()
                .filter_map(|s| s.parse::<std::net::IpAddr>().ok()),
        );
        ips.push("127.0.0.1".parse().expect("literal"));
        ips.push("::1".parse().expect("literal"));
    } else if let Ok(ip) = host.parse() {
        ips.push(ip);
    } else if let Ok(addrs) = std::net::ToSocketAddrs::to_socket_addrs(&(host, port)) {
        ips.extend(addrs.map(|a| a.ip()));
    }
    ips.into_iter()
        .map(|ip| SocketAddr::new(ip, port))
        .collect()
}

/// Is this URL still among the configured routes (a reload may have removed it)?
pub fn route_still_valid(srv: &Server, url: &url::Url) -> bool {
    srv.opts().cluster.routes.iter().any(|r| urls_equal(r, url))
}

fn urls_equal(a: &url::Url, b: &url::Url) -> bool {
    a.host_str().map(str::to_ascii_lowercase) == b.host_str().map(str::to_ascii_lowercase)
        && a.port_or_known_default() == b.port_or_known_default()
}

/// `host:port` of a route URL as it appears in logs.
pub fn url_host_port(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or("");
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    }
}

/// Start dialling `url` after `delay`.
pub fn spawn_connect(
    srv: &Arc<Server>,
    url: url::Url,
    explicit: bool,
    first_connect: bool,
    delay: Duration,
) {
    let s = srv.clone();
    srv.tasks.spawn(async move {
        if !delay.is_zero() {
            tokio::select! {
                _ = s.shutdown.cancelled() => return,
                _ = tokio::time::sleep(delay) => {}
            }
        }
        connect_loop(s, url, explicit, first_connect).await;
    });
}

async fn resolve(srv: &Server, url: &url::Url) -> Result<Vec<SocketAddr>, String> {
    let host = url
        .host_str()
        .unwrap_or("")
        .trim_matches(|c| c == '[' || c == ']');
    let port = url.port().unwrap_or(4248);
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| format!("lookup {host}: {e}"))?
        .collect();
    let own = srv.self_route_addrs.read().clone();
    Ok(addrs.into_iter().filter(|a| !own.contains(a)).collect())
}

/// Dial a route learned by gossip (to server `id`); forget the dial if it fails. On
/// success the id stays in `dialing` until the route registers.
pub async fn dial_implicit(srv: &Arc<Server>, url: url::Url, id: String) {
    if !connect_loop(srv.clone(), url, false, true).await {
        srv.routes.write().dialing.remove(&id);
    }
}

/// Returns whether a connection was made (and handed to a route task).
async fn connect_loop(
    srv: Arc<Server>,
    url: url::Url,
    explicit: bool,
    first_connect: bool,
) -> bool {
    let mut attempts: i64 = 0;
    let hp = url_host_port(&url);
    loop {
        if srv.is_shutting_down() || (explicit && !route_still_valid(&srv, &url)) {
            return false;
        }
        let res = match resolve(&srv, &url).await {
            Ok(addrs) if addrs.is_empty() => {
                // Every address is our own: a route to ourselves. Nothing to do.
                debug!(
                    srv.log,
                    "Detected route to self, ignoring {:?}",
                    redacted(&url)
                );
                return false;
            }
            Ok(addrs) => {
                let addr = addrs[fastrand::usize(..addrs.len())];
                debug!(srv.log, "Trying to connect to route on {} ({})", hp, addr);
                match tokio::time::timeout(ROUTE_DIAL_TIMEOUT, TcpStream::connect(addr)).await {
                    Ok(Ok(stream)) => Ok((stream, addr)),
                    Ok(Err(e)) => Err(format!("dial tcp {addr}: {}", go_dial_error(&e))),
                    Err(_) => Err(format!("dial tcp {addr}: i/o timeout")),
                }
            }
            Err(e) => Err(e),
        };
        match res {
            Ok((stream, addr)) => {
                if explicit && !route_still_valid(&srv, &url) {
                    return false;
                }
                super::conn::solicited_route(&srv, stream, addr, url, explicit);
                return true;
            }
            Err(e) => {
                attempts += 1;
                let opts = srv.opts();
                let every = if first_connect {
                    opts.connect_error_reports
                } else {
                    opts.reconnect_error_reports
                };
                if attempts == 1 || (every > 0 && attempts % every == 0) {
                    error!(
                        srv.log,
                        "Error trying to connect to route (attempt {}): {}", attempts, e
                    );
                } else {
                    debug!(
                        srv.log,
                        "Error trying to connect to route (attempt {}): {}", attempts, e
                    );
                }
                if !explicit
                    && (opts.cluster.connect_retries <= 0
                        || attempts > opts.cluster.connect_retries)
                {
                    return false;
                }
                tokio::select! {
                    _ = srv.shutdown.cancelled() => return false,
                    _ = tokio::time::sleep(ROUTE_CONNECT_DELAY) => {}
                }
            }
        }
    }
}

/// Go words connection errors as `connect: connection refused`.
fn go_dial_error(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "connect: connection refused".into(),
        _ => e.to_string(),
    }
}

/// The URL with any password replaced, for logs.
pub fn redacted(url: &url::Url) -> String {
    crate::redact::url(url)
}
