//! One route connection, from TCP connect to clean-up: the set-up (both sides send their
//! INFO at once; the dialling side sends CONNECT first), the read loop and the ops after
//! the handshake (interest, routed messages, PING/PONG), and the clean-up with its
//! re-dial. The handshake itself (CONNECT, the first INFO, registration) is in
//! `handshake.rs`.
//!
//! Only a registered route may change interest or deliver messages.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use nats_proto::info::RouteConnect;
use nats_proto::{errors, Kind, Op, ParseError, Parser, RoutedMsg};
use tokio::net::TcpStream;

use crate::account::Account;
use crate::conn::{CloseReason, Conn};
use crate::deliver::{Delivery, Msg};
use crate::guard::guarded;
use crate::readbuf::{OpHandler, ReadBuf};
use crate::server::Server;
use crate::sub::{SubRef, Subscription, Target};
use crate::{debug, error, notice, trace};

/// Accept a connection on the cluster port.
pub fn accept_route(srv: &Arc<Server>, stream: TcpStream, peer: SocketAddr) {
    let s = srv.clone();
    srv.tasks
        .spawn(async move { run(s, stream, peer, None).await });
}

/// We dialled `url` (explicitly configured or learned by gossip) and are connected.
pub fn solicited_route(
    srv: &Arc<Server>,
    stream: TcpStream,
    peer: SocketAddr,
    url: url::Url,
    explicit: bool,
) {
    let s = srv.clone();
    srv.tasks
        .spawn(async move { run(s, stream, peer, Some((url, explicit))).await });
}

pub(super) struct RouteState {
    pub(super) srv: Arc<Server>,
    pub(super) conn: Arc<Conn>,
    pub(super) parser: Parser,
    pub(super) delivery: Delivery,
    pub(super) got_info: bool,
    /// An accepted route under cluster authorization must send a valid CONNECT before
    /// anything else (nats-server's `expectConnect` plus auth timer).
    pub(super) awaiting_auth: bool,
    pub(super) registered: bool,
    /// We added the peer's client URLs to our set (and must remove them at close).
    pub(super) urls_added: bool,
    pub(super) remote_id: String,
    /// A CONNECT waiting for its bcrypt verification (see `OpHandler::take_deferred`).
    pub(super) deferred: Option<nats_proto::info::ConnectInfo>,
    /// The account of the last route op (see `RouteState::account`).
    pub(super) last_acc: Option<Arc<Account>>,
}

async fn run(
    srv: Arc<Server>,
    stream: TcpStream,
    peer: SocketAddr,
    solicit: Option<(url::Url, bool)>,
) {
    let _ = stream.set_nodelay(true);
    let opts = srv.opts();
    let cid = srv.next_cid();
    let conn = Arc::new(Conn::new_route(
        cid,
        peer,
        (opts.max_pending.max(0) as usize) / 2,
    ));
    {
        let mut m = conn.meta.lock();
        if let Some((url, explicit)) = &solicit {
            m.did_solicit = true;
            m.is_configured = *explicit;
            m.route_url = Some(url.clone());
        }
    }
    if srv.is_shutting_down() {
        return;
    }
    srv.routes.write().pending.insert(cid, conn.clone());
    let mut st = RouteState {
        srv: srv.clone(),
        conn: conn.clone(),
        parser: {
            let (mcl, mpay) = route_limits(&opts);
            Parser::new(Kind::Route, mcl, mpay)
        },
        delivery: Delivery::new(),
        got_info: false,
        awaiting_auth: solicit.is_none() && !opts.cluster.username.is_empty(),
        registered: false,
        urls_added: false,
        remote_id: String::new(),
        deferred: None,
        last_acc: None,
    };
    // Routes are TLS first: both sides handshake at once (boxed: it would otherwise
    // enlarge every route's task).
    let tls_cfg = srv.tls.read().route.clone();
    let session = match tls_cfg {
        None => None,
        Some(t) => {
            let url = solicit.as_ref().map(|(u, _)| u);
            match Box::pin(super::tls::handshake(&srv, &conn, &stream, &t, url)).await {
                Some(s) => Some(s),
                None => {
                    conn.close(CloseReason::TlsHandshakeError);
                    st.cleanup().await;
                    return;
                }
            }
        }
    };
    let tls_on = session.is_some();
    let (r, w) = crate::tls::transport::split(stream, session);

    let cn = srv.cluster_name();
    if let Some((url, _)) = &solicit {
        let connect = RouteConnect {
            echo: true,
            verbose: false,
            pedantic: false,
            user: url.username().to_string(),
            pass: url.password().map(percent_decode).unwrap_or_default(),
            tls_required: tls_on,
            headers: !opts.no_header_support,
            name: srv.id.clone(),
            cluster: cn.name.clone(),
            cluster_dynamic: cn.dynamic,
        };
        if let Ok(json) = nats_proto::info::to_json(&connect) {
            conn.send_with(|b| {
                b.extend_from_slice(b"CONNECT ");
                b.extend_from_slice(&json);
                b.extend_from_slice(b"\r\n");
            });
        }
        debug!(srv.log, "{} - Route connect msg sent", conn.prefix());
    }
    let mut info = srv.route_info();
    info.nonce = crate::ids::nonce();
    if let Ok(json) = nats_proto::info::to_json(&info) {
        conn.send_with(|b| nats_proto::encode::info_line(b, &json));
    }
    notice!(srv.log, "{} - Route connection created", conn.prefix());

    let writer = crate::client::spawn_writer(&srv, &conn, w);

    // A panic in the reader (or the writer) closes the route; clean-up still runs.
    let reason = guarded(
        &srv.log,
        &conn,
        "reader",
        CloseReason::ReadError,
        st.read_loop(r),
    )
    .await
    .unwrap_or(CloseReason::ReadError);
    conn.close(reason);
    let _ = writer.await;
    st.cleanup().await;
}

/// Caps on a route's control lines and payloads. nats-server has none; without them a
/// garbage peer could make the reader buffer without bound. They sit far above anything a
/// peer legitimately sends: a line four times the longest a client may send (subject,
/// reply and queue names around it), at least 1 MiB; a payload as large as a server's
/// `max_pending` lets a publisher send (nats-server refuses a `max_payload` above it), at
/// least 64 MiB.
pub fn route_limits(o: &crate::options::Options) -> (usize, usize) {
    let mcl = (o.max_control_line.max(0) as usize)
        .saturating_mul(4)
        .max(1 << 20);
    let mpay = (o.max_pending.max(o.max_payload).max(0) as usize).max(64 << 20);
    (mcl, mpay)
}

/// A URL's user or password as Go's `url.Userinfo` gives it: percent-decoded, with `+`
/// kept as `+` (this is not form data).
fn percent_decode(s: &str) -> String {
    crate::redact::url_decode(s)
}

impl RouteState {
    async fn read_loop(&mut self, r: crate::tls::transport::ReadSide) -> CloseReason {
        // Routes carry many connections' traffic: start and grow larger than clients.
        let auth = crate::options::secs_to_duration(self.srv.opts().cluster.auth_timeout);
        crate::readbuf::read_loop(self, r, ReadBuf::new(4096, 256 * 1024), auth).await
    }

    fn parse_error_impl(&self, e: &ParseError) -> CloseReason {
        error!(
            self.srv.log,
            "{} - Route parser ERROR, {}",
            self.conn.prefix(),
            e
        );
        if let Some(text) = e.err_text() {
            self.conn
                .send_with(|b| nats_proto::encode::err_line(b, text));
        }
        CloseReason::ParseError
    }

    fn trace_in(&self, op: &Op<'_>) {
        if !self.srv.log.trace_on() {
            return;
        }
        let p = self.conn.prefix();
        let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let line = match op {
            Op::Info(j) => format!("INFO {}", s(j)),
            Op::Connect(j) => format!("CONNECT {}", crate::redact::connect_json(&s(j))),
            Op::Ping => "PING".into(),
            Op::Pong => "PONG".into(),
            Op::Ok => "+OK".into(),
            Op::Err(t) => format!("-ERR {}", s(t)),
            Op::RouteSub {
                account,
                subject,
                queue,
            } => match queue {
                Some((q, w)) => format!("RS+ {} {} {} {}", s(account), s(subject), s(q), w),
                None => format!("RS+ {} {}", s(account), s(subject)),
            },
            Op::RouteUnsub {
                account,
                subject,
                queue,
            } => match queue {
                Some(q) => format!("RS- {} {} {}", s(account), s(subject), s(q)),
                None => format!("RS- {} {}", s(account), s(subject)),
            },
            Op::RouteMsg(m) => {
                let mut l = Vec::new();
                let qs: Vec<&[u8]> = m.queues().collect();
                nats_proto::encode::rmsg_line(
                    &mut l,
                    m.account,
                    m.subject,
                    m.reply,
                    &qs,
                    m.hdr_len,
                    m.data.len(),
                );
                s(&l[..l.len() - 2])
            }
            Op::Ignored { op, args } => format!("{} {}", op, s(args)),
            other => format!("{other:?}"),
        };
        trace!(self.srv.log, "{} - <<- [{}]", p, line);
    }

    fn handle_op(&mut self, op: Op<'_>) -> Result<(), CloseReason> {
        self.trace_in(&op);
        if self.awaiting_auth && !matches!(op, Op::Connect(_)) {
            error!(
                self.srv.log,
                "{} - Route attempted an operation before authenticating",
                self.conn.prefix()
            );
            self.send_err(errors::AUTH_VIOLATION);
            return Err(CloseReason::AuthenticationViolation);
        }
        match op {
            Op::Ping => {
                self.conn
                    .last_ping_in_ms
                    .store(self.conn.now_ms(), Ordering::Relaxed);
                trace!(self.srv.log, "{} - ->> [PONG]", self.conn.prefix());
                self.conn.send(b"PONG\r\n");
            }
            Op::Pong => crate::ping::on_pong(&self.conn),
            Op::Ok => {}
            Op::Err(text) => {
                error!(
                    self.srv.log,
                    "{} - Route Error {}",
                    self.conn.prefix(),
                    String::from_utf8_lossy(text)
                );
                return Err(CloseReason::ParseError);
            }
            Op::Connect(json) => self.process_connect(json)?,
            Op::Info(json) => self.process_info(json)?,
            Op::RouteSub {
                account,
                subject,
                queue,
            } => self.remote_sub(account, subject, queue),
            Op::RouteUnsub {
                account,
                subject,
                queue,
            } => self.remote_unsub(account, subject, queue),
            Op::RouteMsg(m) => self.routed_msg(&m),
            Op::Ignored { op, args } => {
                debug!(
                    self.srv.log,
                    "{} - Ignoring {} {}",
                    self.conn.prefix(),
                    op,
                    String::from_utf8_lossy(args)
                );
            }
            Op::Pub(_) | Op::Sub { .. } | Op::Unsub { .. } => {
                debug!(
                    self.srv.log,
                    "{} - Client protocol on a route",
                    self.conn.prefix()
                );
                return Err(CloseReason::ProtocolViolation);
            }
        }
        Ok(())
    }

    pub(super) fn send_err(&self, text: &str) {
        self.conn.send_err(&self.srv.log, text);
    }

    /// The account named by a route op, or `None` when we do not know it (logged as
    /// nats-server 2.9.10 logs it with a static resolver: an error for `RS+`, a debug line
    /// for `RS-` and `RMSG`). The last account is cached, so a stream of ops for one
    /// account compares bytes and takes no lock; nothing here allocates unless it logs.
    fn account(&mut self, name: &[u8], what: &str, subject: &[u8]) -> Option<Arc<Account>> {
        if let Some(a) = &self.last_acc {
            if a.name.as_bytes() == name {
                return Some(a.clone());
            }
        }
        if let Some(a) = self.srv.accounts.lookup(name) {
            self.last_acc = Some(a.clone());
            return Some(a);
        }
        // Operator mode: an account the resolver knows but no local client has used yet
        // (Go looks it up through the resolver too).
        if let Some(a) = crate::operator::route_account(&self.srv, name) {
            self.last_acc = Some(a.clone());
            return Some(a);
        }
        let (n, s) = (
            String::from_utf8_lossy(name),
            String::from_utf8_lossy(subject),
        );
        if what == "remote subject" {
            error!(
                self.srv.log,
                "{} - Unknown account {:?} for {} {:?}",
                self.conn.prefix(),
                n,
                what,
                s
            );
        } else {
            debug!(
                self.srv.log,
                "{} - Unknown account {:?} for {} {:?}",
                self.conn.prefix(),
                n,
                what,
                s
            );
        }
        None
    }

    fn remote_sub(&mut self, account: &[u8], subject: &[u8], queue: Option<(&[u8], u32)>) {
        if !self.registered {
            return;
        }
        let Some(acc) = self.account(account, "remote subject", subject) else {
            return;
        };
        let key = route_key(account, subject, queue.map(|q| q.0));
        let mut subs = self.conn.subs.lock();
        if let Some(existing) = subs.get(&*key) {
            if let Some((_, w)) = queue {
                existing.weight.store(w, Ordering::Relaxed);
            }
            return;
        }
        let sub = SubRef(Arc::new(Subscription::new(
            Target::Route(self.conn.clone()),
            acc.clone(),
            subject,
            queue.map(|q| q.0),
            &key,
            queue.map(|q| q.1).unwrap_or(1),
        )));
        match acc.sl.insert(subject, queue.map(|q| q.0), sub.clone()) {
            Ok(()) => {
                subs.insert(key, sub);
            }
            Err(_) => {
                drop(subs);
                self.send_err(errors::INVALID_SUBSCRIPTION);
            }
        }
    }

    fn remote_unsub(&mut self, account: &[u8], subject: &[u8], queue: Option<&[u8]>) {
        if !self.registered || self.account(account, "subject", subject).is_none() {
            return;
        }
        let key = route_key(account, subject, queue);
        let removed = self.conn.subs.lock().remove(&*key);
        if let Some(sub) = removed {
            let _ = sub
                .account
                .sl
                .remove(&sub.subject, sub.queue.as_deref(), &sub);
        }
    }

    fn routed_msg(&mut self, m: &RoutedMsg<'_>) {
        let st = &self.conn.in_stats;
        st.msgs.fetch_add(1, Ordering::Relaxed);
        st.bytes.fetch_add(m.data.len() as u64, Ordering::Relaxed);
        self.srv.stats.in_msgs.fetch_add(1, Ordering::Relaxed);
        self.srv
            .stats
            .in_bytes
            .fetch_add(m.data.len() as u64, Ordering::Relaxed);
        if !self.registered {
            return;
        }
        // The account, borrowed from the cache (no reference-count traffic per message).
        let cached = self
            .last_acc
            .as_ref()
            .is_some_and(|a| a.name.as_bytes() == m.account);
        if !cached
            && self
                .account(m.account, "routed message on subject:", m.subject)
                .is_none()
        {
            return;
        }
        let Some(acc) = &self.last_acc else {
            return;
        };
        let msg = Msg {
            subject: m.subject,
            reply: m.reply,
            hdr_len: m.hdr_len,
            data: m.data,
        };
        self.delivery.route_msg(&self.srv, acc, msg, m.queues);
    }

    /// After the connection closed: forget the route, its interest and its client URLs;
    /// re-dial if it was ours to dial.
    async fn cleanup(&mut self) {
        let srv = self.srv.clone();
        let reason = self
            .conn
            .close_reason()
            .unwrap_or(CloseReason::ClientClosed);
        notice!(
            srv.log,
            "{} - Router connection closed: {}",
            self.conn.prefix(),
            reason
        );
        {
            let mut routes = srv.routes.write();
            routes.pending.remove(&self.conn.cid);
            routes.by_cid.remove(&self.conn.cid);
            if routes
                .by_id
                .get(&self.remote_id)
                .is_some_and(|c| Arc::ptr_eq(c, &self.conn))
            {
                routes.by_id.remove(&self.remote_id);
            }
        }
        let mut rest: Vec<SubRef> = self.conn.subs.lock().drain().map(|(_, s)| s).collect();
        // One batch removal (and one debug line, as nats-server) per account.
        while let Some(first) = rest.first() {
            let acc = first.account.clone();
            let (mine, others): (Vec<SubRef>, Vec<SubRef>) = rest
                .into_iter()
                .partition(|s| Arc::ptr_eq(&s.account, &acc));
            debug!(
                srv.log,
                "{} - Removing {} subscriptions for account {:?}",
                self.conn.prefix(),
                mine.len(),
                &*acc.name
            );
            acc.sl
                .remove_batch(mine.iter().map(|s| (&*s.subject, s.queue.as_deref(), s)));
            rest = others;
        }
        if self.urls_added {
            let (urls, ws) = {
                let m = self.conn.meta.lock();
                (m.connect_urls.clone(), m.ws_connect_urls.clone())
            };
            srv.update_peer_urls(&[], &urls);
            srv.update_peer_ws_urls(&[], &ws);
        }
        self.conn.release_buffers();
        self.reconnect(reason);
    }

    fn reconnect(&self, reason: CloseReason) {
        let srv = &self.srv;
        if srv.is_shutting_down() || reason == CloseReason::ServerShutdown {
            return;
        }
        let m = self.conn.meta.lock().clone();
        if m.self_route {
            return;
        }
        if !(m.did_solicit || m.retry) {
            return;
        }
        let Some(url) = m.route_url.clone() else {
            return;
        };
        if !self.remote_id.is_empty() && srv.routes.read().by_id.contains_key(&self.remote_id) {
            debug!(
                srv.log,
                "Not attempting reconnect for solicited route, already connected to {:?}",
                self.remote_id
            );
            return;
        }
        debug!(
            srv.log,
            "Attempting reconnect for solicited route {:?}",
            super::solicit::redacted(&url)
        );
        let jitter = Duration::from_millis(fastrand::u64(..100));
        if m.is_configured {
            super::solicit::spawn_connect(srv, url, true, false, Duration::from_secs(1) + jitter);
        } else {
            super::solicit::spawn_connect(srv, url, false, false, jitter);
        }
    }
}

impl OpHandler for RouteState {
    fn conn(&self) -> &Arc<Conn> {
        &self.conn
    }

    fn log(&self) -> &crate::logging::Logger {
        &self.srv.log
    }

    fn parser(&mut self) -> &mut Parser {
        &mut self.parser
    }

    fn handle(&mut self, op: Op<'_>) -> Result<(), CloseReason> {
        self.handle_op(op)
    }

    fn parse_error(&mut self, e: &ParseError, _rest: &[u8]) -> CloseReason {
        self.parse_error_impl(e)
    }

    fn awaiting_auth(&self) -> bool {
        self.awaiting_auth
    }

    fn has_deferred(&self) -> bool {
        self.deferred.is_some()
    }

    fn take_deferred(&mut self) -> Option<crate::readbuf::Deferred> {
        self.take_deferred_connect()
    }

    fn finish_deferred(
        &mut self,
        outcome: Option<crate::auth::OwnedAuthorized>,
    ) -> Result<(), CloseReason> {
        self.finish_deferred_connect(outcome)
    }

    fn refuse_before_auth(&mut self) -> Option<CloseReason> {
        error!(
            self.srv.log,
            "{} - Route attempted an operation before authenticating",
            self.conn.prefix()
        );
        self.send_err(errors::AUTH_VIOLATION);
        Some(CloseReason::AuthenticationViolation)
    }

    /// A route reader never waits for a local consumer: the route carries everyone's
    /// traffic, and one subscriber that reads slowly must not throttle the others. A
    /// consumer that falls behind is cut at `max_pending`, as nats-server does (only
    /// client publishers stall on a slow destination).
    fn after_batch(&mut self) -> Option<Arc<Conn>> {
        self.delivery.flush(&self.srv);
        self.delivery.stall = None;
        None
    }
}

/// The key a remote subscription is known by on its route: `account subject [queue]`.
fn route_key(account: &[u8], subject: &[u8], queue: Option<&[u8]>) -> Box<[u8]> {
    let mut k =
        Vec::with_capacity(account.len() + subject.len() + 2 + queue.map_or(0, |q| q.len() + 1));
    k.extend_from_slice(account);
    k.push(b' ');
    k.extend_from_slice(subject);
    if let Some(q) = queue {
        k.push(b' ');
        k.extend_from_slice(q);
    }
    k.into()
}
