//! The server: shared state, start-up, listeners and shutdown.
//!
//! [`Server::start`] binds every listener (port 0 / `-1` picks a free one), logs the same
//! start-up lines as nats-server, and returns a handle; tests start servers in-process
//! this way. [`Server::shutdown`] closes listeners and connections and waits for every
//! task.
//!
//! Lock order (outer first): `interest` → `routes` → `clients` → a connection's `subs`/
//! `meta` → a connection's `out`. The sublist's own lock is a leaf. No lock is held across
//! an `.await`.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use hashbrown::HashMap;
use nats_proto::info::ServerInfo;
use parking_lot::{Mutex, RwLock};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::account::{Account, Accounts};
use crate::conn::Conn;
use crate::logging::Logger;
use crate::options::{Options, NATS_VERSION, RS_VERSION};
use crate::route::RouteTable;
use crate::sub::SubRef;
use crate::{debug, notice, warn};

/// Server-wide counters (`/varz`). Producers add per read batch, not per message.
#[derive(Default)]
pub struct ServerStats {
    pub in_msgs: AtomicU64,
    pub in_bytes: AtomicU64,
    pub out_msgs: AtomicU64,
    pub out_bytes: AtomicU64,
    pub slow_consumers: AtomicU64,
    pub total_connections: AtomicU64,
}

/// Cluster name state: configured names are static; without one we generate a name and
/// adopt a peer's as nats-server does.
#[derive(Debug, Clone)]
pub struct ClusterName {
    pub name: String,
    pub dynamic: bool,
}

/// The client URLs we tell clients about: our own first, then every routed peer's
/// (reference counted, since two routes may briefly point at one server).
#[derive(Debug, Default)]
pub struct ConnectUrls {
    pub own: Vec<String>,
    pub peers: Vec<(String, u32)>,
    /// The websocket URLs (`host:port`) of this server and of the peers that have a
    /// websocket listener (route INFO's `ws_connect_urls`), for websocket clients.
    pub ws_own: Vec<String>,
    pub ws_peers: Vec<(String, u32)>,
    /// Bumped whenever the list changes.
    pub generation: u64,
}

impl ConnectUrls {
    pub fn ws_list(&self) -> Vec<String> {
        let mut v = self.ws_own.clone();
        for (u, _) in &self.ws_peers {
            if !v.contains(u) {
                v.push(u.clone());
            }
        }
        v
    }

    pub fn list(&self) -> Vec<String> {
        let mut v = self.own.clone();
        for (u, _) in &self.peers {
            if !v.contains(u) {
                v.push(u.clone());
            }
        }
        v
    }
}

/// A closed client as `/connz?state=closed` shows it: a plain snapshot taken at clean-up,
/// with the subscriptions it had. It holds no `Conn` (whose buffers, credentials and
/// subscriptions would live as long as the ring keeps it: 10,000 entries).
pub struct ClosedConn {
    pub cid: u64,
    pub addr: SocketAddr,
    pub start: SystemTime,
    pub stop: SystemTime,
    pub last_activity: SystemTime,
    pub reason: &'static str,
    pub rtt: Option<std::time::Duration>,
    pub name: Box<str>,
    pub lang: Box<str>,
    pub version: Box<str>,
    /// The user name, or an nkey user's key (Go's `getRawAuthUser`, as the advisories
    /// show it).
    pub user: Box<str>,
    /// `user` is an nkey: `/connz` remembers no user for it (Go keeps the CONNECT's user
    /// name there).
    pub nkey: bool,
    /// The client's account name (`$G` when it had none).
    pub account: Arc<str>,
    pub in_msgs: u64,
    pub in_bytes: u64,
    pub out_msgs: u64,
    pub out_bytes: u64,
    pub websocket: bool,
    pub subs: Box<[ClosedSub]>,
}

/// A subscription of a closed client, as it was when the client closed.
pub struct ClosedSub {
    pub subject: Box<str>,
    pub queue: Option<Box<str>>,
    pub sid: Box<str>,
    pub msgs: u64,
    pub max: u64,
}

impl ClosedConn {
    fn snapshot(conn: &Conn, subs: &[SubRef]) -> ClosedConn {
        use std::sync::atomic::Ordering::Relaxed;
        let text = |b: &[u8]| -> Box<str> { String::from_utf8_lossy(b).into() };
        let m = conn.meta.lock();
        let (out_msgs, out_bytes) = {
            let out = conn.out.lock();
            (out.msgs, out.bytes)
        };
        ClosedConn {
            cid: conn.cid,
            addr: conn.addr,
            start: conn.start,
            stop: m.stop.unwrap_or(conn.start),
            last_activity: conn.start
                + std::time::Duration::from_millis(conn.last_activity_ms.load(Relaxed)),
            reason: m.close_reason.map_or("", |r| r.as_str()),
            rtt: m.rtt,
            name: m.name.as_str().into(),
            lang: m.lang.as_str().into(),
            version: m.version.as_str().into(),
            user: m.user.as_str().into(),
            nkey: m.auth.as_ref().is_some_and(|a| !a.nkey.is_empty()),
            account: m
                .account
                .as_ref()
                .map_or_else(|| crate::account::GLOBAL_ACCOUNT.into(), |a| a.name.clone()),
            in_msgs: conn.in_stats.msgs.load(Relaxed),
            in_bytes: conn.in_stats.bytes.load(Relaxed),
            out_msgs,
            out_bytes,
            websocket: m.websocket,
            subs: subs
                .iter()
                .map(|s| ClosedSub {
                    subject: text(&s.subject),
                    queue: s.queue.as_deref().map(text),
                    sid: text(&s.sid),
                    msgs: s.delivered.load(Relaxed),
                    max: s.max.load(Relaxed),
                })
                .collect(),
        }
    }
}

/// Bound addresses, known once the listeners are up.
#[derive(Debug, Default, Clone)]
pub struct Addrs {
    pub client: Option<SocketAddr>,
    pub cluster: Option<SocketAddr>,
    pub http: Option<SocketAddr>,
    pub websocket: Option<SocketAddr>,
}

pub const CLOSED_RING_SIZE: usize = 10_000;

pub struct Server {
    pub id: String,
    pub name: String,
    opts: RwLock<Arc<Options>>,
    pub log: Arc<Logger>,
    /// The account registry: `$G` and the configured accounts, each with its own
    /// subject index and route interest (see `account.rs`).
    pub accounts: Accounts,
    pub stats: ServerStats,
    /// Bumped by a reload that changed authorization, after every connected client was
    /// checked again; each client's reader compares it once per read batch and rebuilds
    /// its own publish/subscribe permissions when it moved.
    pub auth_gen: AtomicU64,
    /// Bumped by a reload that changed any account's subject mappings
    /// (`Account::mappings`); client readers compare it once per read batch (see
    /// `mapping::Mapper`).
    pub mappings_gen: AtomicU64,
    /// Exports and imports as wired (`imports::wire`, at start and on reload).
    pub imports: crate::imports::ImportState,
    /// The rustls configurations of the `tls {}` and `cluster { tls {} }` blocks; a
    /// reload replaces them (new handshakes use the new certificates).
    pub tls: RwLock<crate::tls::TlsState>,
    /// The system account and its internal client (`sys.rs`); unset with
    /// `no_system_account`.
    pub sys: std::sync::OnceLock<Arc<crate::sys::System>>,
    /// JetStream (`jetstream.rs`), when enabled.
    pub js: std::sync::OnceLock<Arc<crate::jetstream::JetStream>>,
    /// Operator mode (JWT): trusted operators and the account resolver; `None` when off.
    pub operator: Option<Arc<crate::operator::OperatorMode>>,
    cid: AtomicU64,
    pub clients: Mutex<HashMap<u64, Arc<Conn>>>,
    pub routes: RwLock<RouteTable>,
    pub cluster_name: RwLock<ClusterName>,
    pub urls: Mutex<ConnectUrls>,
    pub closed: Mutex<VecDeque<Arc<ClosedConn>>>,
    pub start: SystemTime,
    pub addrs: RwLock<Addrs>,
    pub shutdown: CancellationToken,
    /// Stops the client accept loop (lame duck mode closes the client port first).
    pub client_accept_stop: CancellationToken,
    /// In lame duck mode: no new clients, existing ones are being moved away.
    pub ldm: std::sync::atomic::AtomicBool,
    pub tasks: TaskTracker,
    /// Our addresses on the cluster port, to skip when a route URL points at ourselves.
    pub self_route_addrs: RwLock<Vec<SocketAddr>>,
    pub http_req_stats: Mutex<std::collections::BTreeMap<String, u64>>,
    pub config_load_time: RwLock<SystemTime>,
    ports_file: Mutex<Option<PathBuf>>,
    /// What websocket clients are checked against, derived from the options (and made
    /// again when a reload replaces them).
    ws_cache: Mutex<Option<WsCache>>,
}

struct WsCache {
    base: Arc<Options>,
    auth: Arc<Options>,
    policy: Arc<crate::websocket::upgrade::OriginPolicy>,
}

impl Server {
    /// The global account `$G`.
    pub fn global(&self) -> &Arc<Account> {
        self.accounts.global()
    }
}

impl Server {
    pub fn opts(&self) -> Arc<Options> {
        self.opts.read().clone()
    }

    pub fn set_opts(&self, o: Options) {
        *self.opts.write() = Arc::new(o);
    }

    pub fn next_cid(&self) -> u64 {
        self.cid.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub fn is_clustered(&self) -> bool {
        self.opts().cluster.port != 0
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutdown.is_cancelled()
    }

    pub fn cluster_name(&self) -> ClusterName {
        self.cluster_name.read().clone()
    }

    pub fn client_addr(&self) -> Option<SocketAddr> {
        self.addrs.read().client
    }

    pub fn websocket_addr(&self) -> Option<SocketAddr> {
        self.addrs.read().websocket
    }

    pub fn set_websocket_addr(&self, a: SocketAddr) {
        self.addrs.write().websocket = Some(a);
        let opts = self.opts();
        self.urls.lock().ws_own = own_ws_urls(&opts, a.port());
    }

    fn ws_cache<T>(&self, f: impl FnOnce(&WsCache) -> T) -> T {
        let base = self.opts();
        let mut c = self.ws_cache.lock();
        if !c.as_ref().is_some_and(|c| Arc::ptr_eq(&c.base, &base)) {
            *c = Some(WsCache {
                auth: Arc::new(crate::websocket::auth::derive(&base)),
                policy: Arc::new(crate::websocket::upgrade::OriginPolicy::new(
                    base.websocket.same_origin,
                    &base.websocket.allowed_origins,
                )),
                base,
            });
        }
        f(c.as_ref().expect("just set"))
    }

    /// The options websocket clients authenticate against (`websocket::auth`).
    pub fn ws_auth_opts(&self) -> Arc<Options> {
        self.ws_cache(|c| c.auth.clone())
    }

    pub fn ws_origin_policy(&self) -> Arc<crate::websocket::upgrade::OriginPolicy> {
        self.ws_cache(|c| c.policy.clone())
    }

    /// The INFO a websocket client gets: as a client's, with the websocket
    /// authorization override and the websocket URLs as `connect_urls`.
    pub fn ws_client_info(&self) -> ServerInfo {
        let mut info = self.client_info();
        let derived = self.ws_auth_opts();
        info.auth_required = crate::websocket::auth::auth_required(&derived);
        let opts = self.opts();
        info.connect_urls = {
            let u = self.urls.lock();
            if !self.is_clustered() || opts.cluster.no_advertise || u.ws_peers.is_empty() {
                Vec::new()
            } else {
                u.ws_list()
            }
        };
        info
    }

    /// The INFO a newly accepted client gets (without its client_id/client_ip).
    pub fn client_info(&self) -> ServerInfo {
        let opts = self.opts();
        let addrs = self.addrs.read().clone();
        let (host, port) = match advertise_host_port(&opts.client_advertise) {
            Some(hp) => hp,
            None => (
                opts.host.clone(),
                addrs.client.map(|a| a.port()).unwrap_or(0),
            ),
        };
        let cluster = if self.is_clustered() {
            self.cluster_name().name
        } else {
            String::new()
        };
        // As nats-server: no `connect_urls` until there is a peer to tell about.
        let connect_urls = if self.is_clustered() && !opts.cluster.no_advertise {
            let u = self.urls.lock();
            if u.peers.is_empty() {
                Vec::new()
            } else {
                u.list()
            }
        } else {
            Vec::new()
        };
        ServerInfo {
            server_id: self.id.clone(),
            server_name: self.name.clone(),
            version: NATS_VERSION.to_string(),
            proto: 1,
            go: go_version(),
            host,
            port,
            headers: !opts.no_header_support,
            auth_required: crate::auth::auth_required(&opts),
            tls_required: opts.tls.is_some(),
            tls_verify: opts.tls.as_ref().is_some_and(|t| t.verify),
            max_payload: opts.max_payload,
            cluster,
            connect_urls,
            rs_version: RS_VERSION.to_string(),
            ..Default::default()
        }
    }

    /// Start a server: bind listeners, log the start-up lines, spawn the accept loops and
    /// route solicitation. Returns once every listener is up.
    pub async fn start(opts: Options, log: Logger) -> anyhow::Result<Arc<Server>> {
        let id = crate::ids::new_server_id();
        let name = if opts.server_name.is_empty() {
            id.clone()
        } else {
            opts.server_name.clone()
        };
        let cluster_name = if opts.cluster.name.is_empty() {
            ClusterName {
                name: crate::ids::nuid(),
                dynamic: true,
            }
        } else {
            ClusterName {
                name: opts.cluster.name.clone(),
                dynamic: false,
            }
        };
        let operator = crate::operator::OperatorMode::from_options(&opts)
            .map_err(|e| anyhow::anyhow!(e))?
            .map(Arc::new);
        // nats-server checks that a URL resolver's server answers (`200` on the base
        // URL) before it starts, operator mode or not.
        if let crate::options::Resolver::Url(base) = &opts.operator.resolver {
            crate::operator::fetch::UrlResolver::new(base, opts.operator.resolver_tls.as_ref())
                .map_err(|e| anyhow::anyhow!(e))?
                .check()
                .await
                .map_err(|e| anyhow::anyhow!(e))?;
        }
        let srv = Arc::new(Server {
            operator,
            id: id.clone(),
            name: name.clone(),
            accounts: Accounts::new(&opts.accounts, !opts.disable_sublist_cache),
            opts: RwLock::new(Arc::new(opts.clone())),
            log: Arc::new(log),
            stats: ServerStats::default(),
            auth_gen: AtomicU64::new(0),
            mappings_gen: AtomicU64::new(0),
            imports: Default::default(),
            tls: RwLock::new(
                crate::tls::TlsState::from_options(&opts).map_err(|e| anyhow::anyhow!(e))?,
            ),
            sys: std::sync::OnceLock::new(),
            js: std::sync::OnceLock::new(),
            cid: AtomicU64::new(0),
            clients: Mutex::new(HashMap::new()),
            routes: RwLock::new(RouteTable::default()),
            cluster_name: RwLock::new(cluster_name.clone()),
            urls: Mutex::new(ConnectUrls::default()),
            closed: Mutex::new(VecDeque::new()),
            start: SystemTime::now(),
            addrs: RwLock::new(Addrs::default()),
            shutdown: CancellationToken::new(),
            client_accept_stop: CancellationToken::new(),
            ldm: std::sync::atomic::AtomicBool::new(false),
            tasks: TaskTracker::new(),
            self_route_addrs: RwLock::new(Vec::new()),
            http_req_stats: Mutex::new(Default::default()),
            config_load_time: RwLock::new(SystemTime::now()),
            ports_file: Mutex::new(None),
            ws_cache: Mutex::new(None),
        });
        crate::mapping::install(&srv, &opts);
        crate::imports::wire(&srv, &opts);
        let log = &srv.log;
        notice!(log, "Starting nats-server");
        notice!(log, "  Version:  {}", NATS_VERSION);
        notice!(log, "  Server:   nats-server.rs {}", RS_VERSION);
        notice!(log, "  Git:      [not set]");
        debug!(log, "  Go build: {}", go_version());
        if opts.cluster.port != 0 {
            notice!(log, "  Cluster:  {}", cluster_name.name);
        }
        notice!(log, "  Name:     {}", name);
        notice!(log, "  ID:       {}", id);
        if let Some(cf) = &opts.config_file {
            notice!(log, "Using configuration file: {}", cf.display());
        }
        if let Some(op) = &srv.operator {
            crate::operator::log_startup(&srv, op, &opts);
        }
        if opts.syslog || !opts.remote_syslog.is_empty() {
            warn_unimplemented(log, "Logging to syslog");
        }
        if opts.http_port != 0 && opts.https_port != 0 {
            anyhow::bail!(
                "can't specify both HTTP ({}) and HTTPs ({}) ports",
                opts.http_port,
                opts.https_port
            );
        }
        if opts.https_port != 0 && opts.tls.is_none() {
            anyhow::bail!("TLS cert and key required for HTTPS");
        }

        // The directory resolvers need an operator (nats-server's `getOperatorKeys`).
        if !opts.operator.enabled()
            && matches!(
                opts.operator.resolver,
                crate::options::Resolver::Full { .. } | crate::options::Resolver::Cache { .. }
            )
        {
            crate::fatal!(log, "Could not start resolver: no operator key found");
            anyhow::bail!("Could not start resolver: no operator key found");
        }
        // A URL resolver fetches the system account before the system client needs it.
        if let Some(op) = &srv.operator {
            let sys_key = &opts.system_account;
            if matches!(op.fetcher, Some(crate::operator::fetch::Fetcher::Url(_)))
                && op.needs_fetch(sys_key)
            {
                let _ = op.fetch(&srv, sys_key).await;
            }
        }
        crate::sys::start(&srv)?;
        crate::jetstream::start(&srv)?;

        let https = opts.https_port != 0;
        if opts.http_port != 0 || https {
            let port = if https {
                opts.https_port
            } else {
                opts.http_port
            };
            let host = if opts.http_host.is_empty() {
                opts.host.clone()
            } else {
                opts.http_host.clone()
            };
            let l = bind(&host, port).await.map_err(|e| {
                anyhow::anyhow!("Can't start monitoring: can't listen to the monitor port: {e}")
            })?;
            let addr = l.local_addr()?;
            notice!(
                log,
                "Starting {} monitor on {}",
                if https { "https" } else { "http" },
                join_host_port(&host, addr.port())
            );
            srv.addrs.write().http = Some(addr);
            crate::monitor::spawn(srv.clone(), l, https);
        }

        if opts.websocket.port != 0 {
            crate::websocket::start(&srv).await?;
        }

        let l = bind(&opts.host, opts.port).await.map_err(|e| {
            anyhow::anyhow!(
                "Error listening on port: {}, {:?}",
                join_host_port_i32(&opts.host, opts.port),
                e.to_string()
            )
        })?;
        let caddr = l.local_addr()?;
        srv.addrs.write().client = Some(caddr);
        notice!(
            log,
            "Listening for client connections on {}",
            join_host_port(&opts.host, caddr.port())
        );
        if opts.tls.is_some() {
            notice!(log, "TLS required for client connections");
        }
        // The line the clustering guide shows (nats-server 2.1): kept so that users
        // following it find what they are told to look for.
        notice!(log, "Server id is {}", id);
        srv.urls.lock().own = own_client_urls(&opts, caddr.port());
        crate::client::spawn_accept_loop(srv.clone(), l);
        notice!(log, "Server is ready");

        if opts.cluster.port != 0 {
            crate::route::start_routing(&srv).await?;
        }
        srv.write_ports_file();
        Ok(srv)
    }

    /// Graceful shutdown: stop accepting, close every connection, wait for the tasks.
    pub async fn shutdown(self: &Arc<Self>) {
        if self.shutdown.is_cancelled() {
            self.tasks.wait().await;
            return;
        }
        notice!(self.log, "Initiating Shutdown...");
        if let Some(sys) = self.sys.get() {
            sys.send_shutdown(self);
        }
        self.shutdown.cancel();
        let clients: Vec<_> = self.clients.lock().values().cloned().collect();
        for c in clients {
            c.close(crate::conn::CloseReason::ServerShutdown);
        }
        let routes = self.routes.read().all();
        for r in routes {
            r.close(crate::conn::CloseReason::ServerShutdown);
        }
        self.tasks.close();
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), self.tasks.wait()).await;
        if let Some(p) = self.ports_file.lock().take() {
            let _ = std::fs::remove_file(p);
        }
        notice!(self.log, "Server Exiting..");
    }

    /// `--ports_file_dir`: `<dir>/<exe>_<pid>.ports` with the bound URLs, for harnesses
    /// that start us with `-p -1`.
    fn write_ports_file(&self) {
        let opts = self.opts();
        let Some(dir) = &opts.ports_file_dir else {
            return;
        };
        let exe = std::env::current_exe()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "nats-server".to_string());
        let path = dir.join(format!("{}_{}.ports", exe, std::process::id()));
        let addrs = self.addrs.read().clone();
        let host_urls = |scheme: &str, a: Option<SocketAddr>, host: &str| -> Vec<String> {
            let Some(a) = a else { return Vec::new() };
            let hosts = if is_any(host) {
                let ips = non_local_ips();
                if ips.is_empty() {
                    vec!["127.0.0.1".to_string()]
                } else {
                    ips
                }
            } else {
                vec![host.to_string()]
            };
            hosts
                .iter()
                .map(|h| format!("{scheme}://{}", join_host_port(h, a.port())))
                .collect()
        };
        let mut doc = serde_json::Map::new();
        doc.insert(
            "nats".into(),
            host_urls(
                if opts.tls.is_some() { "tls" } else { "nats" },
                addrs.client,
                &opts.host,
            )
            .into(),
        );
        if addrs.http.is_some() {
            let h = if opts.http_host.is_empty() {
                &opts.host
            } else {
                &opts.http_host
            };
            let scheme = if opts.https_port != 0 {
                "https"
            } else {
                "http"
            };
            doc.insert("monitoring".into(), host_urls(scheme, addrs.http, h).into());
        }
        if addrs.cluster.is_some() {
            doc.insert(
                "cluster".into(),
                host_urls("nats", addrs.cluster, &opts.cluster.host).into(),
            );
        }
        if addrs.websocket.is_some() {
            let scheme = if opts.websocket.tls.is_some() {
                "wss"
            } else {
                "ws"
            };
            doc.insert(
                "websocket".into(),
                host_urls(scheme, addrs.websocket, &opts.websocket.host).into(),
            );
        }
        match std::fs::write(&path, serde_json::Value::Object(doc).to_string()) {
            Ok(()) => *self.ports_file.lock() = Some(path),
            Err(e) => crate::error!(
                self.log,
                "Error writing ports file ({}): {}",
                path.display(),
                e
            ),
        }
    }

    /// Register a client; `false` if `max_connections` is reached.
    pub fn add_client(&self, c: &Arc<Conn>) -> bool {
        let max = self.opts().max_connections;
        let mut clients = self.clients.lock();
        if max > 0 && clients.len() as i64 >= max {
            return false;
        }
        clients.insert(c.cid, c.clone());
        true
    }

    /// Keep a closed client for `/connz?state=closed` (bounded ring).
    pub fn remember_closed(&self, conn: &Conn, subs: &[SubRef]) -> Arc<ClosedConn> {
        let snap = Arc::new(ClosedConn::snapshot(conn, subs));
        let mut ring = self.closed.lock();
        if ring.len() >= CLOSED_RING_SIZE {
            ring.pop_front();
        }
        ring.push_back(snap.clone());
        snap
    }

    /// Add or remove peers' client URLs and tell protocol-1 clients (async INFO).
    pub fn update_peer_urls(&self, add: &[String], remove: &[String]) {
        self.update_peers(add, remove, |u| &mut u.peers);
    }

    /// The same for the peers' websocket URLs (websocket clients' `connect_urls`).
    pub fn update_peer_ws_urls(&self, add: &[String], remove: &[String]) {
        if add.is_empty() && remove.is_empty() {
            return;
        }
        self.update_peers(add, remove, |u| &mut u.ws_peers);
    }

    /// Count `add` in and `remove` out of one of the peer URL lists (a URL stays while
    /// any route names it); when the list changed, a new generation and an async INFO.
    fn update_peers(
        &self,
        add: &[String],
        remove: &[String],
        list: impl Fn(&mut ConnectUrls) -> &mut Vec<(String, u32)>,
    ) {
        let changed = {
            let mut u = self.urls.lock();
            let peers = list(&mut u);
            let mut changed = false;
            for url in add {
                if let Some(e) = peers.iter_mut().find(|(x, _)| x == url) {
                    e.1 += 1;
                } else {
                    peers.push((url.clone(), 1));
                    changed = true;
                }
            }
            for url in remove {
                if let Some(i) = peers.iter().position(|(x, _)| x == url) {
                    peers[i].1 -= 1;
                    if peers[i].1 == 0 {
                        peers.remove(i);
                        changed = true;
                    }
                }
            }
            if changed {
                u.generation += 1;
            }
            changed
        };
        if changed {
            self.send_async_info_to_clients();
        }
    }

    pub fn send_async_info_to_clients(&self) {
        if self.is_shutting_down() {
            return;
        }
        let info = self.client_info();
        let mut ws_info = None;
        let clients: Vec<_> = self
            .clients
            .lock()
            .values()
            .filter(|c| c.async_info.load(Ordering::Relaxed))
            .cloned()
            .collect();
        for c in clients {
            let mut i = if c.meta.lock().websocket {
                ws_info.get_or_insert_with(|| self.ws_client_info()).clone()
            } else {
                info.clone()
            };
            i.client_id = c.cid;
            i.client_ip = c.addr.ip().to_string();
            if let Ok(json) = nats_proto::info::to_json(&i) {
                c.send_with(|b| nats_proto::encode::info_line(b, &json));
            }
        }
    }
}

/// The `go` field of INFO: which toolchain built us.
pub fn go_version() -> String {
    option_env!("NATS_RS_RUSTC").unwrap_or("rust").to_string()
}

pub fn is_any(host: &str) -> bool {
    host.is_empty() || host == "0.0.0.0" || host == "::" || host == "[::]"
}

/// `host:port`, bracketing IPv6 literals.
/// A configured port as Go's `net.Listen` takes it: `-1` (random) is 0; anything else
/// outside 0..=65535 is refused with Go's text instead of being truncated to 16 bits.
pub fn valid_port(port: i32) -> std::io::Result<u16> {
    match port {
        -1 => Ok(0),
        p => u16::try_from(p).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("listen tcp: address {p}: invalid port"),
            )
        }),
    }
}

/// `host:port` for a configured (possibly invalid) port, for error messages.
fn join_host_port_i32(host: &str, port: i32) -> String {
    let p = if port == -1 { 0 } else { port };
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{p}")
    } else {
        format!("{host}:{p}")
    }
}

pub fn join_host_port(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Split `host[:port]` of an advertise option.
pub fn advertise_host_port(adv: &str) -> Option<(String, u16)> {
    if adv.is_empty() {
        return None;
    }
    if let Ok(sa) = adv.parse::<SocketAddr>() {
        return Some((sa.ip().to_string(), sa.port()));
    }
    match adv.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') || h.starts_with('[') => {
            let port = p.parse().ok()?;
            Some((h.trim_matches(|c| c == '[' || c == ']').to_string(), port))
        }
        _ => Some((adv.to_string(), 0)),
    }
}

/// Global unicast addresses of this machine (what nats-server advertises when listening on
/// 0.0.0.0): no loopback, no link-local.
pub fn non_local_ips() -> Vec<String> {
    let mut v4 = Vec::new();
    let mut v6 = Vec::new();
    if let Ok(ifs) = if_addrs::get_if_addrs() {
        for i in ifs {
            let ip = i.ip();
            if ip.is_loopback() || ip.is_unspecified() || ip.is_multicast() {
                continue;
            }
            match ip {
                std::net::IpAddr::V4(a) if !a.is_link_local() => v4.push(a.to_string()),
                std::net::IpAddr::V6(a) if (a.segments()[0] & 0xffc0) != 0xfe80 => {
                    v6.push(a.to_string())
                }
                _ => {}
            }
        }
    }
    v4.extend(v6);
    v4
}

/// This server's client URLs for `connect_urls`.
pub fn own_client_urls(opts: &Options, port: u16) -> Vec<String> {
    if let Some((h, p)) = advertise_host_port(&opts.client_advertise) {
        let p = if p == 0 { port } else { p };
        return vec![join_host_port(&h, p)];
    }
    if is_any(&opts.host) {
        let ips = non_local_ips();
        if !ips.is_empty() {
            return ips.iter().map(|ip| join_host_port(ip, port)).collect();
        }
        return vec![join_host_port("127.0.0.1", port)];
    }
    vec![join_host_port(&opts.host, port)]
}

/// Go's `getConnectURLs` for the websocket listener (`advertise`, or the listen host, or
/// every non-loopback address for a wildcard host).
pub fn own_ws_urls(opts: &Options, port: u16) -> Vec<String> {
    let wo = &opts.websocket;
    if let Some((h, p)) = advertise_host_port(&wo.advertise) {
        let p = if p == 0 { port } else { p };
        return vec![join_host_port(&h, p)];
    }
    if is_any(&wo.host) {
        let ips = non_local_ips();
        if !ips.is_empty() {
            return ips.iter().map(|ip| join_host_port(ip, port)).collect();
        }
        return vec![join_host_port("127.0.0.1", port)];
    }
    vec![join_host_port(&wo.host, port)]
}

/// Bind a TCP listener on `host:port` (`-1` or 0 = any free port).
pub async fn bind(host: &str, port: i32) -> std::io::Result<TcpListener> {
    let port = valid_port(port)?;
    let host = host.trim_matches(|c| c == '[' || c == ']');
    if host.is_empty() || host == "0.0.0.0" || host == "::" {
        // Go listens on every address, IPv4 and IPv6, for the wildcard host: a dual-stack
        // socket where the system has IPv6, plain IPv4 otherwise.
        if let Ok(l) = bind_dual_stack(port) {
            return Ok(l);
        }
    }
    let host = if host.is_empty() { "0.0.0.0" } else { host };
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port)).await?.collect();
    let mut last = None;
    for a in addrs {
        let sock = if a.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        sock.set_reuseaddr(true)?;
        if let Err(e) = sock.bind(a) {
            last = Some(e);
            continue;
        }
        // As Go does: the kernel's own cap (somaxconn) decides; a short backlog makes a
        // burst of connects wait for SYN retransmits.
        match sock.listen(listen_backlog()) {
            Ok(l) => return Ok(l),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no address to bind")))
}

/// An IPv4 peer on a dual-stack listener shows up as `::ffff:a.b.c.d`; logs, INFO's
/// `client_ip` and `/connz` want `a.b.c.d`, as Go reports it.
pub fn unmap_addr(a: SocketAddr) -> SocketAddr {
    match a {
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(v4.into(), v6.port()),
            None => a,
        },
        v4 => v4,
    }
}

fn bind_dual_stack(port: u16) -> std::io::Result<TcpListener> {
    let sock = socket2::Socket::new(socket2::Domain::IPV6, socket2::Type::STREAM, None)?;
    sock.set_only_v6(false)?;
    sock.set_reuse_address(true)?;
    sock.set_nonblocking(true)?;
    let addr = SocketAddr::new(std::net::Ipv6Addr::UNSPECIFIED.into(), port);
    sock.bind(&addr.into())?;
    sock.listen(listen_backlog() as i32)?;
    TcpListener::from_std(sock.into())
}

/// The backlog for listeners: `net.core.somaxconn`, as Go's net package uses.
fn listen_backlog() -> u32 {
    std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(4096)
}

/// Log the common parts of a warning about options we accept but do not implement.
pub fn warn_unimplemented(log: &Logger, what: &str) {
    warn!(
        log,
        "{} is not supported by this server and is ignored", what
    );
}
