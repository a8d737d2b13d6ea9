//! The system account and the server's internal client.
//!
//! As in nats-server 2.9.10, a `$SYS` account exists unless `no_system_account` is set
//! (`system_account` names another). The server subscribes in it, through internal
//! subscriptions ([`crate::sub::Target::Internal`]), to the monitoring requests that
//! tools such as `nats server ls` send (`$SYS.REQ.SERVER.PING[.<ENDPOINT>]`,
//! `$SYS.REQ.SERVER.<id>.<ENDPOINT>`, `$SYS.REQ.ACCOUNT.<acc>.<ENDPOINT>`) and to the
//! other servers' events (`$SYS.SERVER.<id>.STATSZ`, `.SHUTDOWN`), and publishes its own:
//! STATSZ heartbeats, client CONNECT/DISCONNECT advisories of every account but `$G`, and
//! a SHUTDOWN event. Those subscriptions are ordinary interest in the system account, so
//! routes carry them and a request reaches every server of the cluster — ours and Go's.
//!
//! The publisher's task only copies a matching message into a bounded queue; one task
//! per server ([`run`]) answers requests and builds events, and publishes through its own
//! [`Delivery`]. A full queue drops the request (the requester sees a timeout), never
//! blocks a publisher.

mod claims;
mod events;
mod requests;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use hashbrown::HashMap;
use parking_lot::Mutex;
use tokio::sync::mpsc;

use crate::account::Account;
use crate::deliver::{Delivery, Msg};
use crate::server::{ClosedConn, Server};
use crate::sub::{Internal, SubRef, Subscription, Target};
use crate::{debug, error};

/// The system account's default name (nats-server's `DEFAULT_SYSTEM_ACCOUNT`).
pub const DEFAULT_SYSTEM_ACCOUNT: &str = "$SYS";

/// How many requests and events may wait for the system task.
const QUEUE: usize = 4096;
/// STATSZ heartbeats start this often and double up to [`HEARTBEAT`] (Go's schedule).
const FIRST_HEARTBEAT: Duration = Duration::from_millis(250);
const HEARTBEAT: Duration = Duration::from_secs(30);
/// An account with connections repeats its connections event this often (Go's
/// `eventsHBInterval`).
const ACC_CONNS_HEARTBEAT: Duration = Duration::from_secs(30);
/// A server not heard of for this long is forgotten (Go's `orphMax`).
const ORPHAN_AFTER: Duration = Duration::from_secs(150);

/// What a system subscription is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Service {
    /// `$SYS.REQ.SERVER.PING` and `…PING.STATSZ`/`<id>.STATSZ`: our STATSZ.
    Statsz,
    /// `$SYS.REQ.SERVER.{PING,<id>}.<ENDPOINT>`: a monitoring document.
    ServerZ(&'static str),
    /// `$SYS.REQ.ACCOUNT.<acc>.<ENDPOINT>`: a monitoring document of one account.
    AccountZ(&'static str),
    /// `$SYS.REQ.ACCOUNT.PING.STATZ`: every account's STATZ.
    AccountPingStatz,
    /// Another server's STATSZ: it is alive.
    RemoteStatsz,
    /// Another server's SHUTDOWN: it is gone.
    RemoteShutdown,
    /// In every other account (Go's system service imports): `$SYS.REQ.SERVER.PING.CONNZ`
    /// and `$SYS.REQ.ACCOUNT.PING.CONNZ`, the requester's own account's connections.
    OwnConnz,
    /// `$SYS.REQ.ACCOUNT.PING.STATZ` in every other account: its own STATZ.
    OwnStatz,
    /// `$SYS.REQ.ACCOUNT.<acc>.CONNS`: that account's connections event, if it has local
    /// connections.
    AccountConns,
    /// Operator mode: `$SYS.ACCOUNT.<acc>.CLAIMS.UPDATE` and
    /// `$SYS.REQ.ACCOUNT.<acc>.CLAIMS.UPDATE`, a new account JWT (see `claims.rs`).
    ClaimsUpdate,
    /// The `full` resolver: `$SYS.REQ.ACCOUNT.<acc>.CLAIMS.LOOKUP`.
    ClaimsLookup,
    /// The `full` resolver: `$SYS.REQ.CLAIMS.LIST`.
    ClaimsList,
    /// The `full` resolver: `$SYS.REQ.CLAIMS.DELETE`.
    ClaimsDelete,
}

/// Work for the system task.
enum Job {
    Request {
        service: Service,
        /// The account the request was published in.
        account: Arc<Account>,
        subject: Box<str>,
        reply: Option<Box<str>>,
        /// Header block length, if the request had headers.
        hdr_len: Option<usize>,
        data: Box<[u8]>,
    },
    Connected(Box<events::ClientFacts>),
    /// An account's number of local connections changed (to this).
    AccountConns(Arc<Account>, usize),
    Disconnected(Arc<ClosedConn>),
}

/// The system account as the server holds it.
pub struct System {
    pub account: Arc<Account>,
    tx: mpsc::Sender<Job>,
    /// Sequence of the events and replies we send (`server.seq`).
    seq: AtomicU64,
    /// Other servers heard of through their STATSZ, by id, with when.
    servers: Mutex<HashMap<String, Instant>>,
    /// Publishing from code, for whoever holds the lock (the system task; shutdown).
    delivery: Mutex<Delivery>,
    /// The accounts that have their own-account services (see [`Service::OwnConnz`]).
    served: Mutex<Vec<Arc<Account>>>,
}

impl System {
    /// The number of servers we know of, ourselves included (STATSZ `active_servers`).
    pub fn active_servers(&self) -> usize {
        let now = Instant::now();
        let mut s = self.servers.lock();
        s.retain(|_, t| now.duration_since(*t) < ORPHAN_AFTER);
        1 + s.len()
    }

    fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Publish `body` in the system account.
    pub fn publish(&self, srv: &Server, subject: &str, reply: Option<&str>, body: &[u8]) {
        self.publish_to(srv, &self.account, subject, reply, body);
    }

    /// Publish `body` in another account (the answer to an account's own request).
    fn publish_in(&self, srv: &Server, account: &Arc<Account>, subject: &str, body: &[u8]) {
        self.publish_to(srv, account, subject, None, body);
    }

    fn publish_to(
        &self,
        srv: &Server,
        account: &Arc<Account>,
        subject: &str,
        reply: Option<&str>,
        body: &[u8],
    ) {
        let mut d = self.delivery.lock();
        d.publish(
            srv,
            account,
            None,
            true,
            Msg {
                subject: subject.as_bytes(),
                reply: reply.map(str::as_bytes),
                hdr_len: None,
                data: body,
            },
        );
        d.flush(srv);
    }

    /// A client of an account other than `$G` finished its CONNECT.
    pub fn client_connected(&self, facts: events::ClientFacts) {
        let _ = self.tx.try_send(Job::Connected(Box::new(facts)));
    }

    /// A client joined or left `acc`, which now has `conns` local connections (Go's
    /// `accConnsUpdate`; the count is taken at the change, as Go's). Only when someone
    /// (a client or a route) listens on one of the event's subjects is the system task
    /// woken: without listeners Go's publish goes nowhere either, and waking the task on
    /// every connect would cost the accepting reader for nothing.
    pub fn account_conns_changed(&self, acc: &Arc<Account>, conns: usize) {
        let subjects = acc_conns_subjects(&acc.name);
        let heard = subjects
            .each()
            .iter()
            .any(|s| self.account.has_interest(s.as_bytes()));
        if heard {
            let _ = self.tx.try_send(Job::AccountConns(acc.clone(), conns));
        }
    }

    /// Send `acc`'s connections event on `subjects`.
    fn send_account_conns(&self, srv: &Server, acc: &Account, conns: usize, subjects: &[&str]) {
        let (id, now) = (crate::ids::nuid(), SystemTime::now());
        for subject in subjects {
            let body = events::account_conns_json(srv, self.next_seq(), (&id, now), acc, conns);
            self.publish(srv, subject, None, &body);
        }
    }

    /// A client of an account other than `$G` is gone.
    pub fn client_disconnected(&self, closed: Arc<ClosedConn>) {
        let _ = self.tx.try_send(Job::Disconnected(closed));
    }

    /// Tell the cluster we are going (before the routes close).
    pub fn send_shutdown(&self, srv: &Server) {
        let subject = format!("$SYS.SERVER.{}.SHUTDOWN", srv.id);
        let body = events::server_info_json(srv, self.next_seq());
        self.publish(srv, &subject, None, &body);
    }
}

pub use events::ClientFacts;

/// Create the system account's internal client (unless `no_system_account`) and start
/// its task. Errors as nats-server reports them when `system_account` names no account.
pub fn start(srv: &Arc<Server>) -> anyhow::Result<()> {
    let opts = srv.opts();
    if opts.no_system_account {
        return Ok(());
    }
    let name = if opts.system_account.is_empty() {
        DEFAULT_SYSTEM_ACCOUNT
    } else {
        opts.system_account.as_str()
    };
    let mut bootstrap = None;
    let account = match srv.accounts.lookup(name.as_bytes()) {
        Some(a) => a,
        None if name == DEFAULT_SYSTEM_ACCOUNT => srv.accounts.get_or_create(name),
        // Operator mode: the system account is an account JWT the resolver must have.
        None => match srv.operator.as_ref().map(|o| o.lookup(name)) {
            Some(Ok(_)) => srv.accounts.get_or_create(name),
            // A resolver that fetches may get it later (from the cluster, which needs the
            // system account to ask): nats-server starts with an empty one and fetches
            // it every second until it has it.
            Some(Err(_)) if srv.operator.as_ref().is_some_and(|o| o.fetcher.is_some()) => {
                bootstrap = Some(name.to_string());
                srv.accounts.get_or_create(name)
            }
            Some(Err(e)) => anyhow::bail!("error resolving system account: {e}"),
            None => anyhow::bail!("error resolving system account: account missing"),
        },
    };
    let (tx, rx) = mpsc::channel(QUEUE);
    let sys = Arc::new(System {
        account,
        tx,
        seq: AtomicU64::new(0),
        servers: Mutex::new(HashMap::new()),
        delivery: Mutex::new(Delivery::new()),
        served: Mutex::new(Vec::new()),
    });
    if srv.sys.set(sys.clone()).is_err() {
        return Ok(());
    }
    let id = &srv.id;
    let mut subjects: Vec<(String, Service)> = vec![
        ("$SYS.REQ.SERVER.PING".into(), Service::Statsz),
        ("$SYS.REQ.SERVER.PING.STATSZ".into(), Service::Statsz),
        (format!("$SYS.REQ.SERVER.{id}.STATSZ"), Service::Statsz),
        ("$SYS.SERVER.*.STATSZ".into(), Service::RemoteStatsz),
        ("$SYS.SERVER.*.SHUTDOWN".into(), Service::RemoteShutdown),
        (
            "$SYS.REQ.ACCOUNT.PING.STATZ".into(),
            Service::AccountPingStatz,
        ),
        ("$SYS.REQ.ACCOUNT.*.CONNS".into(), Service::AccountConns),
    ];
    for ep in requests::SERVER_ENDPOINTS {
        subjects.push((format!("$SYS.REQ.SERVER.PING.{ep}"), Service::ServerZ(ep)));
        subjects.push((format!("$SYS.REQ.SERVER.{id}.{ep}"), Service::ServerZ(ep)));
    }
    for ep in requests::ACCOUNT_ENDPOINTS {
        subjects.push((format!("$SYS.REQ.ACCOUNT.*.{ep}"), Service::AccountZ(ep)));
    }
    if let Some(op) = &srv.operator {
        for s in [
            "$SYS.ACCOUNT.*.CLAIMS.UPDATE",
            "$SYS.REQ.ACCOUNT.*.CLAIMS.UPDATE",
        ] {
            subjects.push((s.into(), Service::ClaimsUpdate));
        }
        if let Some(dir) = &op.dir {
            subjects.push(("$SYS.REQ.CLAIMS.UPDATE".into(), Service::ClaimsUpdate));
            // A cache answers no lookups: it is not the source of truth.
            if !dir.is_cache() {
                subjects.push((
                    "$SYS.REQ.ACCOUNT.*.CLAIMS.LOOKUP".into(),
                    Service::ClaimsLookup,
                ));
            }
            subjects.push(("$SYS.REQ.CLAIMS.LIST".into(), Service::ClaimsList));
            subjects.push(("$SYS.REQ.CLAIMS.DELETE".into(), Service::ClaimsDelete));
            crate::notice!(
                srv.log,
                "Managing {} jwt in exclusive directory {}",
                if dir.is_cache() { "some" } else { "all" },
                dir.dir.display()
            );
        }
    }
    for (subject, service) in subjects {
        subscribe(srv, &sys, &sys.account, &subject, service);
    }
    serve_accounts(srv);
    srv.tasks.spawn(run(srv.clone(), sys, rx));
    if let Some(key) = bootstrap {
        crate::notice!(srv.log, "Using bootstrapping system account");
        srv.tasks.spawn(fetch_system_account(srv.clone(), key));
    }
    if srv
        .operator
        .as_ref()
        .is_some_and(|o| o.dir.as_ref().is_some_and(|d| d.is_cache()))
    {
        srv.tasks.spawn(sweep_cache(srv.clone()));
    }
    Ok(())
}

/// The bootstrapping system account: fetch its JWT every second until it comes.
async fn fetch_system_account(srv: Arc<Server>, key: String) {
    let Some(op) = srv.operator.clone() else {
        return;
    };
    loop {
        tokio::select! {
            _ = srv.shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
        // Quietly, as nats-server's direct resolver fetch.
        if op.fetch_quiet(&srv, &key).await.is_ok() {
            op.register(&srv, &key);
            return;
        }
    }
}

/// The `cache` resolver's expired entries leave its directory.
async fn sweep_cache(srv: Arc<Server>) {
    let Some(op) = srv.operator.clone() else {
        return;
    };
    let Some(dir) = op.dir.as_ref() else { return };
    loop {
        let every = dir.sweep();
        tokio::select! {
            _ = srv.shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

/// Send a request in the system account and wait for the first answer (nats-server's
/// `Server.fetch` plumbing): a private reply subject, subscribed for the time of the
/// request. Errors are Go's.
pub async fn request(
    srv: &Arc<Server>,
    subject: &str,
    timeout: Duration,
) -> Result<Vec<u8>, String> {
    let Some(sys) = srv.sys.get() else {
        return Err("eventing shut down".into());
    };
    let inbox = format!("$SYS._INBOX.{}.{}", inbox_hash(&srv.id), crate::ids::nuid());
    let (tx, rx) = tokio::sync::oneshot::channel::<Vec<u8>>();
    let slot = Mutex::new(Some(tx));
    let handler = Internal {
        name: "fetch",
        handler: Box::new(
            move |_: &Server, _: &mut Delivery, _: &SubRef, m: Msg<'_>| {
                if let Some(tx) = slot.lock().take() {
                    let _ = tx.send(m.data.to_vec());
                }
            },
        ),
    };
    let sub = SubRef(Arc::new(Subscription::new(
        Target::Internal(Arc::new(handler)),
        sys.account.clone(),
        inbox.as_bytes(),
        None,
        inbox.as_bytes(),
        1,
    )));
    srv.add_local_sub(sub.clone())
        .map_err(|e| format!("{e:?}"))?;
    sys.publish(srv, subject, Some(&inbox), b"");
    let out = tokio::select! {
        r = rx => r.map_err(|_| "fetching jwt failed due to shutdown".to_string()),
        _ = tokio::time::sleep(timeout) => Err("fetching jwt timed out".to_string()),
        _ = srv.shutdown.cancelled() => Err("fetching jwt failed due to shutdown".to_string()),
    };
    srv.remove_sub(&sub, false);
    out
}

/// A short, stable token naming this server in its reply subjects.
fn inbox_hash(id: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    id.hash(&mut h);
    format!("{:08x}", h.finish() as u32)
}

/// Give every account without them the services Go gives each account through its
/// system service imports (at start, and for accounts a reload adds): a client may ask
/// about its own account's connections and counters.
pub fn serve_accounts(srv: &Server) {
    let Some(sys) = srv.sys.get() else { return };
    for acc in srv.accounts.list() {
        if Arc::ptr_eq(&acc, &sys.account) {
            continue;
        }
        {
            let mut served = sys.served.lock();
            served.retain(|a| srv.accounts.lookup(a.name.as_bytes()).is_some());
            if served.iter().any(|a| Arc::ptr_eq(a, &acc)) {
                continue;
            }
            served.push(acc.clone());
        }
        for (subject, service) in [
            ("$SYS.REQ.SERVER.PING.CONNZ", Service::OwnConnz),
            ("$SYS.REQ.ACCOUNT.PING.CONNZ", Service::OwnConnz),
            ("$SYS.REQ.ACCOUNT.PING.STATZ", Service::OwnStatz),
        ] {
            subscribe(srv, sys, &acc, subject, service);
        }
    }
}

/// An internal subscription in `account` whose messages become [`Job`]s.
fn subscribe(srv: &Server, sys: &System, account: &Arc<Account>, subject: &str, service: Service) {
    let tx = sys.tx.clone();
    let handler = Internal {
        name: "system",
        handler: Box::new(
            move |srv: &Server, _: &mut Delivery, sub: &SubRef, m: Msg<'_>| {
                let job = Job::Request {
                    service,
                    account: sub.account.clone(),
                    subject: String::from_utf8_lossy(m.subject).into(),
                    reply: m.reply.map(|r| String::from_utf8_lossy(r).into()),
                    hdr_len: m.hdr_len,
                    data: m.data.into(),
                };
                if tx.try_send(job).is_err() {
                    debug!(srv.log, "System request queue full: dropped a request");
                }
            },
        ),
    };
    let sub = SubRef(Arc::new(Subscription::new(
        Target::Internal(Arc::new(handler)),
        account.clone(),
        subject.as_bytes(),
        None,
        subject.as_bytes(),
        1,
    )));
    if srv.add_local_sub(sub).is_err() {
        error!(
            srv.log,
            "Error setting up internal tracking for {}", subject
        );
    }
}

/// The system task: answers requests, sends events and heartbeats.
async fn run(srv: Arc<Server>, sys: Arc<System>, mut rx: mpsc::Receiver<Job>) {
    let mut next_beat = FIRST_HEARTBEAT;
    let beat = tokio::time::sleep(next_beat);
    tokio::pin!(beat);
    // Every account with connections repeats its connections event (Go: 30 s after its
    // last one; here on one 30 s beat for all).
    let mut acc_beat = tokio::time::interval_at(
        tokio::time::Instant::now() + ACC_CONNS_HEARTBEAT,
        ACC_CONNS_HEARTBEAT,
    );
    loop {
        tokio::select! {
            _ = srv.shutdown.cancelled() => return,
            job = rx.recv() => {
                let Some(job) = job else { return };
                handle(&srv, &sys, job);
            }
            _ = &mut beat => {
                let subject = format!("$SYS.SERVER.{}.STATSZ", srv.id);
                let body = events::statsz_json(&srv, &sys, sys.next_seq());
                sys.publish(&srv, &subject, None, &body);
                next_beat = (next_beat * 2).min(HEARTBEAT);
                beat.as_mut().reset(tokio::time::Instant::now() + next_beat);
            }
            _ = acc_beat.tick() => {
                for acc in srv.accounts.list() {
                    let conns = acc.num_conns();
                    if conns > 0 {
                        let subjects = acc_conns_subjects(&acc.name);
                        sys.send_account_conns(&srv, &acc, conns, &subjects.each());
                    }
                }
            }
        }
    }
}

/// The two subjects of an account's connections event: Go 2.9.10 sends both, the old
/// one first.
struct AccConnsSubjects(String, String);

impl AccConnsSubjects {
    fn each(&self) -> [&str; 2] {
        [&self.0, &self.1]
    }
}

fn acc_conns_subjects(name: &str) -> AccConnsSubjects {
    AccConnsSubjects(
        format!("$SYS.SERVER.ACCOUNT.{name}.CONNS"),
        format!("$SYS.ACCOUNT.{name}.SERVER.CONNS"),
    )
}

fn handle(srv: &Server, sys: &System, job: Job) {
    match job {
        Job::Request {
            service,
            account,
            subject,
            reply,
            hdr_len,
            data,
        } => {
            let body = data.get(hdr_len.unwrap_or(0)..).unwrap_or(&[]);
            if service == Service::AccountConns {
                requests::account_conns(srv, sys, &subject, reply.as_deref(), body);
                return;
            }
            let req = requests::Request {
                service,
                account: &account,
                subject: &subject,
                reply: reply.as_deref(),
                body,
            };
            requests::answer(srv, sys, req);
        }
        Job::AccountConns(acc, conns) => {
            let subjects = acc_conns_subjects(&acc.name);
            sys.send_account_conns(srv, &acc, conns, &subjects.each());
        }
        Job::Connected(facts) => {
            let subject = format!("$SYS.ACCOUNT.{}.CONNECT", facts.account);
            let body = events::connect_json(srv, sys.next_seq(), &facts);
            sys.publish(srv, &subject, None, &body);
        }
        Job::Disconnected(closed) => {
            let subject = format!("$SYS.ACCOUNT.{}.DISCONNECT", closed.account);
            let body = events::disconnect_json(srv, sys.next_seq(), &closed);
            sys.publish(srv, &subject, None, &body);
        }
    }
}
