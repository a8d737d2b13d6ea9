//! A client's read loop: parse every complete op in the buffer, act on it, and only then
//! wake the connections that received messages (one doorbell per destination per batch).
//!
//! The read buffer starts small (idle connections are the common case and cost memory),
//! doubles up to 64 KiB while reads fill it, and shrinks back when traffic is light. A
//! frame split across reads simply waits in the buffer for its remaining bytes.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use nats_proto::info::ConnectInfo;
use nats_proto::{encode, errors, Kind, Op, ParseError, Parser, PubMsg};
use nats_sublist::subject::{is_valid_literal_subject, subject_matches};

use crate::account::Account;
use crate::conn::{CloseReason, Conn};
use crate::deliver::{Delivery, Msg};
use crate::logging::Logger;
use crate::mapping::{Mapped, Mapper};
use crate::options::Permissions;
use crate::permissions::ClientPerms;
use crate::readbuf::{OpHandler, ReadBuf};
use crate::server::Server;
use crate::sub::{SubRef, Subscription, Target};
use crate::{debug, error, trace};

mod jwt;

const MIN_BUF: usize = 512;
const MAX_BUF: usize = 64 * 1024;

/// A deferred CONNECT: the CONNECT, the authorization generation it is checked against,
/// and the account whose JWT is being fetched for it (none: a bcrypt check).
type Pending = (ConnectInfo, u64, Option<String>);

pub struct ClientState {
    srv: Arc<Server>,
    conn: Arc<Conn>,
    parser: Parser,
    delivery: Delivery,
    opts: ConnectInfo,
    got_connect: bool,
    first_pong_sent: bool,
    /// The connect-URL generation when we sent INFO (to resend INFO after the first PONG
    /// if the cluster changed meanwhile).
    urls_gen: u64,
    /// Credentials are configured: a CONNECT is checked against them (and expected within
    /// the auth timeout), even when a `no_auth_user` lets clients omit them.
    auth_configured: bool,
    /// The authenticated user's permissions; `None` when nothing is restricted, so the
    /// message path pays one branch.
    perms: Option<Box<ClientPerms>>,
    /// The user named in violation logs (nats-server's `getAuthUser`): the CONNECT's
    /// `nkey` (then `log_nkey`) or `user`, or the `no_auth_user` it fell back on.
    log_user: String,
    log_nkey: bool,
    /// The nonce of our INFO, when nkey users are configured: what an nkey client signs.
    nonce: Option<Box<str>>,
    /// The client proved to be an nkey user (recorded in its credentials for reloads).
    nkey_verified: bool,
    max_subs: usize,
    /// `Server::auth_gen` when this client's permissions were computed: a reload that
    /// changed authorization moves it, and the next batch rebuilds `perms`.
    auth_gen: u64,
    trace: bool,
    /// A CONNECT waiting for its bcrypt verification or for its account JWT to be fetched
    /// (see `OpHandler::take_deferred`).
    /// (Boxed: rare, and an idle connection's task should stay small.)
    deferred: Option<Box<Pending>>,
    /// Batch counters, added to the server's totals once per read.
    in_msgs: u64,
    in_bytes: u64,
    /// The global account's subject mappings with this client's cache; `None` when there
    /// are none. Rebuilt when `Server::mappings_gen` moves (checked once per batch).
    mapper: Option<Box<Mapper>>,
    mappings_gen: u64,
    /// The account's service imports (`None` without any), and the
    /// `ImportState::gen` they reflect (checked once per batch).
    imports: Option<Arc<crate::imports::ServiceImports>>,
    imports_gen: u64,
    /// Came through the websocket listener: authenticates against
    /// `Server::ws_auth_opts`.
    websocket: bool,
    /// The account this client publishes and subscribes in: `$G` until CONNECT names a
    /// user of another account.
    acc: Arc<Account>,
    /// Operator mode: the user JWT session (account connection count, expiry timer).
    jwt: Option<Box<jwt::JwtSession>>,
}

impl ClientState {
    pub fn new(
        srv: Arc<Server>,
        conn: Arc<Conn>,
        urls_gen: u64,
        nonce: Option<Box<str>>,
    ) -> ClientState {
        let o = srv.opts();
        // Like Go's, an accepted client counts in `$G` until its CONNECT says otherwise.
        bind_conn(&srv, srv.global());
        let (mapper, mappings_gen) = Mapper::current(&srv, srv.global());
        // The generation first: a reload that lands in between is seen at the next batch.
        let imports_gen = srv.imports.gen.load(Ordering::Acquire);
        let imports = srv.global().service_imports.read().clone();
        let mapper = mapper.map(Box::new);
        ClientState {
            mapper,
            mappings_gen,
            imports,
            imports_gen,
            parser: Parser::new(
                Kind::Client,
                o.max_control_line.max(0) as usize,
                o.max_payload.max(0) as usize,
            ),
            auth_configured: crate::auth::auth_configured(&o),
            perms: None,
            log_user: String::new(),
            log_nkey: false,
            nonce,
            nkey_verified: false,
            max_subs: o.max_subs.max(0) as usize,
            auth_gen: srv.auth_gen.load(Ordering::Acquire),
            trace: srv.log.trace_on(),
            acc: srv.global().clone(),
            jwt: None,
            deferred: None,
            srv,
            conn,
            delivery: Delivery::new(),
            opts: ConnectInfo::default(),
            got_connect: false,
            first_pong_sent: false,
            urls_gen,
            in_msgs: 0,
            in_bytes: 0,
            websocket: false,
        }
    }

    pub fn set_websocket(&mut self) {
        self.websocket = true;
        self.auth_configured = crate::auth::auth_configured(&self.auth_opts());
    }

    /// The options this client's credentials are checked against.
    fn auth_opts(&self) -> Arc<crate::options::Options> {
        if self.websocket {
            self.srv.ws_auth_opts()
        } else {
            self.srv.opts()
        }
    }

    pub async fn read_loop(&mut self, r: crate::tls::transport::ReadSide) -> CloseReason {
        let auth = crate::options::secs_to_duration(self.auth_opts().auth_timeout);
        crate::readbuf::read_loop(self, r, ReadBuf::new(MIN_BUF, MAX_BUF), auth).await
    }

    /// After a read batch: wake destinations and publish counters; return a destination
    /// that fell behind (nats-server's producer stall).
    fn end_batch(&mut self) -> Option<Arc<Conn>> {
        self.delivery.flush(&self.srv);
        if self.in_msgs > 0 {
            let st = &self.conn.in_stats;
            st.msgs.fetch_add(self.in_msgs, Ordering::Relaxed);
            st.bytes.fetch_add(self.in_bytes, Ordering::Relaxed);
            self.srv
                .stats
                .in_msgs
                .fetch_add(self.in_msgs, Ordering::Relaxed);
            self.srv
                .stats
                .in_bytes
                .fetch_add(self.in_bytes, Ordering::Relaxed);
            self.acc.in_msgs.fetch_add(self.in_msgs, Ordering::Relaxed);
            self.acc
                .in_bytes
                .fetch_add(self.in_bytes, Ordering::Relaxed);
            self.in_msgs = 0;
            self.in_bytes = 0;
        }
        self.delivery.stall.take()
    }

    fn parse_error_impl(&mut self, e: &ParseError, rest: &[u8]) -> CloseReason {
        match e {
            ParseError::UnknownOp { .. } => {
                let snippet = String::from_utf8_lossy(&rest[..rest.len().min(32)]).into_owned();
                error!(
                    self.srv.log,
                    "{} - Client parser ERROR, {}: proto='{}...'",
                    self.conn.prefix(),
                    e,
                    snippet
                );
            }
            ParseError::MaxPayload { size, max } => {
                error!(
                    self.srv.log,
                    "{} - maximum payload exceeded: {} vs {}",
                    self.conn.prefix(),
                    size,
                    max
                );
            }
            ParseError::MaxControlLine => {
                error!(self.srv.log, "{} - {}", self.conn.prefix(), e);
            }
            ParseError::BadArgs(msg) => {
                error!(self.srv.log, "{} - {}", self.conn.prefix(), msg);
            }
        }
        if let Some(text) = e.err_text() {
            self.send_err(text);
        }
        match e {
            ParseError::UnknownOp { .. } => CloseReason::ProtocolViolation,
            ParseError::MaxPayload { .. } => CloseReason::MaxPayloadExceeded,
            ParseError::MaxControlLine => CloseReason::MaxControlLineExceeded,
            ParseError::BadArgs(_) => CloseReason::ProtocolViolation,
        }
    }

    fn send_err(&self, text: &str) {
        self.conn.send_err(&self.srv.log, text);
    }

    fn send_ok(&self) {
        if self.trace {
            trace!(self.srv.log, "{} - ->> [+OK]", self.conn.prefix());
        }
        self.conn.send(b"+OK\r\n");
    }

    fn handle_op(&mut self, op: Op<'_>) -> Result<(), CloseReason> {
        if self.trace {
            self.trace_in(&op);
        }
        if self.auth_configured && !self.got_connect && !matches!(op, Op::Connect(_)) {
            // With a `no_auth_user`, a client may skip CONNECT (telnet demos): it is that
            // user from its first op on, as in nats-server.
            let gen = self.srv.auth_gen.load(Ordering::Acquire);
            let opts = self.auth_opts();
            let Some(user) = crate::auth::no_auth_user(&opts) else {
                self.send_err(errors::AUTH_VIOLATION);
                return Err(CloseReason::AuthenticationViolation);
            };
            self.got_connect = true;
            self.log_user = user.user.clone();
            self.set_account(crate::auth::account_of(&opts, &user.user));
            {
                let mut m = self.conn.meta.lock();
                m.user = user.user;
                m.auth = crate::auth::Credentials::no_auth(&opts).map(Arc::new);
            }
            self.set_permissions(user.permissions);
            self.auth_checked(gen);
        }
        match op {
            Op::Pub(m) => self.process_pub(m),
            Op::Sub {
                subject,
                queue,
                sid,
            } => self.process_sub(subject, queue, sid),
            Op::Unsub { sid, max } => self.process_unsub(sid, max),
            Op::Ping => self.process_ping(),
            Op::Pong => crate::ping::on_pong(&self.conn),
            Op::Connect(json) => self.process_connect(json)?,
            Op::Info(_) | Op::Ok => {}
            Op::Err(text) => {
                error!(
                    self.srv.log,
                    "{} - Client Error {}",
                    self.conn.prefix(),
                    String::from_utf8_lossy(text)
                );
                return Err(CloseReason::ParseError);
            }
            // The parser refuses route ops on client connections; nothing else reaches us.
            _ => return Err(CloseReason::ProtocolViolation),
        }
        Ok(())
    }

    fn trace_in(&self, op: &Op<'_>) {
        let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let p = self.conn.prefix();
        match op {
            Op::Pub(m) => {
                let mut l = String::new();
                l.push_str(if m.hdr_len.is_some() { "HPUB " } else { "PUB " });
                l.push_str(&s(m.subject));
                if let Some(r) = m.reply {
                    l.push(' ');
                    l.push_str(&s(r));
                }
                if let Some(h) = m.hdr_len {
                    l.push_str(&format!(" {h}"));
                }
                l.push_str(&format!(" {}", m.data.len()));
                trace!(self.srv.log, "{} - <<- [{}]", p, l);
                let max = self.auth_opts().max_traced_msg_len.max(0) as usize;
                let payload = if max > 0 && m.data.len() > max {
                    format!("{}...", s(&m.data[..max]))
                } else {
                    s(m.data)
                };
                trace!(self.srv.log, "{} - <<- MSG_PAYLOAD: [{:?}]", p, payload);
            }
            Op::Sub {
                subject,
                queue,
                sid,
            } => match queue {
                Some(q) => trace!(
                    self.srv.log,
                    "{} - <<- [SUB {} {} {}]",
                    p,
                    s(subject),
                    s(q),
                    s(sid)
                ),
                None => trace!(self.srv.log, "{} - <<- [SUB {} {}]", p, s(subject), s(sid)),
            },
            Op::Unsub { sid, max } => match max {
                Some(m) => trace!(self.srv.log, "{} - <<- [UNSUB {} {}]", p, s(sid), m),
                None => trace!(self.srv.log, "{} - <<- [UNSUB {}]", p, s(sid)),
            },
            Op::Ping => trace!(self.srv.log, "{} - <<- [PING]", p),
            Op::Pong => trace!(self.srv.log, "{} - <<- [PONG]", p),
            Op::Connect(j) => trace!(
                self.srv.log,
                "{} - <<- [CONNECT {}]",
                p,
                crate::redact::connect_json(&s(j))
            ),
            Op::Info(j) => trace!(self.srv.log, "{} - <<- [INFO {}]", p, s(j)),
            Op::Ok => trace!(self.srv.log, "{} - <<- [+OK]", p),
            Op::Err(t) => trace!(self.srv.log, "{} - <<- [-ERR {}]", p, s(t)),
            other => trace!(self.srv.log, "{} - <<- [{:?}]", p, other),
        }
    }

    fn process_connect(&mut self, json: &[u8]) -> Result<(), CloseReason> {
        // CONNECT overlays what came before (the protocol defaults on the first one).
        // Go's encoding/json matches field names case-insensitively (`"Verbose"` works
        // there), so fold the keys before serde sees them.
        let mut merged = match serde_json::from_slice::<serde_json::Value>(json) {
            Ok(serde_json::Value::Object(m)) => m
                .into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect::<serde_json::Map<_, _>>(),
            _ => {
                error!(
                    self.srv.log,
                    "{} - Error parsing CONNECT",
                    self.conn.prefix()
                );
                return Err(CloseReason::ProtocolViolation);
            }
        };
        if let Ok(serde_json::Value::Object(prev)) = serde_json::to_value(&self.opts) {
            for (k, v) in prev {
                merged.entry(k).or_insert(v);
            }
        }
        let ci: ConnectInfo = match serde_json::from_value(serde_json::Value::Object(merged)) {
            Ok(c) => c,
            Err(_) => {
                error!(
                    self.srv.log,
                    "{} - Error parsing CONNECT",
                    self.conn.prefix()
                );
                return Err(CloseReason::ProtocolViolation);
            }
        };
        self.got_connect = true;
        // Read before the options: a reload that lands after this sees our credentials
        // or moves the generation (see `auth_checked`).
        let gen = self.srv.auth_gen.load(Ordering::Acquire);
        let opts = self.auth_opts();
        let headers = !opts.no_header_support && ci.headers;
        self.conn.headers.store(headers, Ordering::Relaxed);
        self.conn.echo.store(ci.echo, Ordering::Relaxed);
        let tag = client_tag(&ci);
        if !tag.is_empty() {
            self.conn.set_prefix(format!(
                "{} - cid:{} - {:?}",
                self.conn.addr, self.conn.cid, tag
            ));
        }
        {
            let mut m = self.conn.meta.lock();
            m.name = ci.name.clone();
            m.lang = ci.lang.clone();
            m.version = ci.version.clone();
            // First RTT estimate, as nats-server's: from our INFO to the client's CONNECT.
            if m.rtt.is_none() {
                m.rtt = self.conn.start.elapsed().ok();
            }
        }
        // nats-server names the client by its nkey first.
        self.log_nkey = !ci.nkey.is_empty();
        self.log_user = if self.log_nkey {
            ci.nkey.clone()
        } else {
            ci.user.clone()
        };
        if let Some(op) = self.srv.operator.clone() {
            return self.process_jwt_connect(ci, &op, gen, true);
        }
        if opts.tls.as_ref().is_some_and(|t| t.map) && !opts.users.is_empty() {
            return self.process_tls_mapped(ci, &opts, gen);
        }
        if self.auth_configured || !ci.account.is_empty() || ci.new_account {
            // An nkey signature is one ed25519 verification: checked right here.
            let proof = crate::auth::Proof::Nonce(self.nonce_bytes());
            match crate::auth::check_cached(&opts, &ci, proof) {
                crate::auth::Check::Done(Some(user)) => {
                    self.authorized(user.user, user.permissions, user.nkey)
                }
                crate::auth::Check::Done(None) => return Err(self.auth_failed(&ci)),
                crate::auth::Check::NeedsHash => {
                    // bcrypt: verified off the async workers (see `readbuf::read_loop`);
                    // this connection reads nothing more until it is done.
                    self.deferred = Some(Box::new((ci, gen, None)));
                    return Ok(());
                }
            }
        }
        self.finish_connect(ci, &opts, gen)
    }

    /// `verify_and_map`: the client certificate names the user (nats-server ignores
    /// the CONNECT's user, with a warning, and records the mapped one). Kept out of line:
    /// it must not grow the op handler that the publish path inlines.
    #[cold]
    #[inline(never)]
    fn process_tls_mapped(
        &mut self,
        mut ci: ConnectInfo,
        opts: &crate::options::Options,
        gen: u64,
    ) -> Result<(), CloseReason> {
        let cert = self
            .conn
            .meta
            .lock()
            .tls
            .as_ref()
            .and_then(|t| t.peer_cert.clone());
        let mapped = if ci.account.is_empty() && !ci.new_account {
            crate::tls::map_user(opts, cert.as_deref(), &ci.pass)
        } else {
            None
        };
        let Some(user) = mapped else {
            return Err(self.auth_failed(&ci));
        };
        if !ci.user.is_empty() {
            crate::warn!(
                self.srv.log,
                "User {:?} found in connect proto, but user required from cert",
                ci.user
            );
        }
        ci.user = user.user.clone();
        self.authorized(user.user, user.permissions, false);
        self.finish_connect(ci, opts, gen)
    }

    fn nonce_bytes(&self) -> &[u8] {
        self.nonce.as_deref().unwrap_or_default().as_bytes()
    }

    /// The user this client authenticated as: log name, `/connz` user (an nkey user's
    /// public key, as nats-server shows it), permissions.
    fn authorized(&mut self, user: String, permissions: Option<&Permissions>, nkey: bool) {
        if !user.is_empty() && !self.log_nkey {
            self.log_user = user.clone();
        }
        self.nkey_verified = nkey;
        self.set_account(crate::auth::account_of(&self.auth_opts(), &user));
        self.conn.meta.lock().user = user;
        self.set_permissions(permissions);
    }

    /// Log and answer a CONNECT whose credentials do not authenticate.
    fn auth_failed(&self, ci: &ConnectInfo) -> CloseReason {
        let opts = self.auth_opts();
        if self.srv.log.debug_on() {
            if let Some(why) = crate::auth::nkey_refusal(&opts, ci, self.nonce_bytes()) {
                debug!(self.srv.log, "{} - {}", self.conn.prefix(), why);
            }
        }
        if opts.operator.enabled() {
            // nats-server names nobody in operator mode.
            error!(
                self.srv.log,
                "{} - authentication error",
                self.conn.prefix()
            );
        } else if !opts.nkeys.is_empty() {
            // nats-server names the nkey (even an empty one) whenever nkey users exist.
            error!(
                self.srv.log,
                "{} - authentication error - Nkey {}",
                self.conn.prefix(),
                errors::go_quote(ci.nkey.as_bytes())
            );
        } else if !ci.user.is_empty() {
            error!(
                self.srv.log,
                "{} - authentication error - User {:?}",
                self.conn.prefix(),
                ci.user
            );
        } else {
            error!(
                self.srv.log,
                "{} - authentication error",
                self.conn.prefix()
            );
        }
        self.send_err(errors::AUTH_VIOLATION);
        CloseReason::AuthenticationViolation
    }

    /// The rest of a CONNECT once its credentials are accepted (against `opts`, of
    /// authorization generation `gen`).
    fn finish_connect(
        &mut self,
        ci: ConnectInfo,
        opts: &crate::options::Options,
        gen: u64,
    ) -> Result<(), CloseReason> {
        let headers = self.conn.headers.load(Ordering::Relaxed);
        if !(0..=1).contains(&ci.protocol) {
            self.send_err(errors::INVALID_PROTOCOL);
            return Err(CloseReason::BadClientProtocolVersion);
        }
        if ci.no_responders && !headers {
            self.send_err(errors::NO_RESPONDERS_NEEDS_HEADERS);
            return Err(CloseReason::NoRespondersRequiresHeaders);
        }
        let creds = crate::auth::Credentials::of_client(opts, &ci, self.nkey_verified);
        self.conn.meta.lock().auth = Some(creds.shared());
        self.auth_checked(gen);
        let verbose = ci.verbose;
        self.opts = ci;
        if verbose {
            self.send_ok();
        }
        Ok(())
    }

    /// Credentials were just accepted against the options of generation `gen`. If a
    /// reload changed authorization since, it may have checked the connection before its
    /// credentials were recorded: check again now (the next batch then rebuilds `perms`).
    fn auth_checked(&mut self, gen: u64) {
        self.auth_gen = gen;
        // Go's CONNECT advisory, for every account but `$G`.
        if let (false, Some(sys)) = (self.acc.is_global(), self.srv.sys.get()) {
            if let Some(facts) = crate::sys::ClientFacts::of(&self.conn) {
                sys.client_connected(facts);
            }
        }
        if self.srv.auth_gen.load(Ordering::Acquire) != gen {
            crate::reload::recheck_client(&self.srv, &self.conn, &self.auth_opts());
        }
    }

    /// A reload changed authorization (and has already closed this connection if its
    /// credentials no longer pass, and dropped the subscriptions now denied): rebuild the
    /// publish and subscribe permissions this reader checks.
    fn reload_permissions(&mut self, gen: u64) {
        self.auth_gen = gen;
        if !self.got_connect || self.conn.is_closed() {
            return;
        }
        let Some(creds) = self.conn.meta.lock().auth.clone() else {
            return;
        };
        let opts = self.auth_opts();
        if let crate::auth::Recheck::Keep(p) = crate::auth::recheck(&opts, &creds) {
            // The delivery side was reset by the reload; only the reader's half changes.
            self.perms = p.and_then(ClientPerms::new).map(Box::new);
        } else {
            crate::reload::recheck_client(&self.srv, &self.conn, &opts);
        }
    }

    /// Put this client in account `name` (an unknown name, which validated options never
    /// produce, falls back to `$G`), with that account's subject mappings.
    fn set_account(&mut self, name: &str) {
        let acc = self
            .srv
            .accounts
            .lookup(name.as_bytes())
            .unwrap_or_else(|| self.srv.global().clone());
        if !Arc::ptr_eq(&acc, &self.acc) {
            unbind_conn(&self.srv, &self.acc);
            bind_conn(&self.srv, &acc);
        }
        self.conn.meta.lock().account = Some(acc.clone());
        self.acc = acc;
        self.refresh_mapper();
        self.refresh_imports();
    }

    fn refresh_mapper(&mut self) {
        let (mapper, gen) = Mapper::current(&self.srv, &self.acc);
        (self.mapper, self.mappings_gen) = (mapper.map(Box::new), gen);
    }

    /// Take the account's current service imports (at CONNECT, and when a reload moved
    /// `ImportState::gen`).
    fn refresh_imports(&mut self) {
        self.imports_gen = self.srv.imports.gen.load(Ordering::Acquire);
        self.imports = self.acc.service_imports.read().clone();
    }

    /// Install the permissions of the user this client authenticated as (`None`: no
    /// restrictions), replacing those of an earlier CONNECT.
    fn set_permissions(&mut self, p: Option<&Permissions>) {
        self.perms = p.and_then(ClientPerms::new).map(Box::new);
        let resp = self.perms.as_ref().and_then(|p| p.response());
        self.conn.perms.reset(resp);
    }

    /// `User "name"` (`Nkey "U…"`) for violation logs, `User "N/A"` when the client gave
    /// none.
    fn auth_user(&self) -> String {
        if self.log_nkey {
            format!("Nkey {}", errors::go_quote(self.log_user.as_bytes()))
        } else if let (true, Some(j)) = (self.log_user.is_empty(), &self.jwt) {
            format!("JWT User {}", errors::go_quote(j.key.as_bytes()))
        } else if self.log_user.is_empty() {
            "User \"N/A\"".to_string()
        } else {
            format!("User {}", errors::go_quote(self.log_user.as_bytes()))
        }
    }

    /// `-ERR 'Permissions Violation for Publish to "<subject>"'`; the connection stays.
    fn pub_violation(&self, subject: &[u8]) {
        self.send_err(&errors::pub_violation(&String::from_utf8_lossy(subject)));
        error!(
            self.srv.log,
            "{} - Publish Violation - {}, Subject {}",
            self.conn.prefix(),
            self.auth_user(),
            errors::go_quote(subject)
        );
    }

    /// `-ERR 'Permissions Violation for Subscription to "<subject>"[ using queue "<q>"]'`;
    /// the subscription is not created, the connection stays.
    fn sub_violation(&self, subject: &[u8], queue: Option<&[u8]>, sid: &[u8]) {
        let s = String::from_utf8_lossy(subject);
        let user = self.auth_user();
        let p = self.conn.prefix();
        let sid = String::from_utf8_lossy(sid);
        match queue {
            Some(q) => {
                self.send_err(&errors::sub_queue_violation(
                    &s,
                    &String::from_utf8_lossy(q),
                ));
                error!(
                    self.srv.log,
                    "{} - Subscription Violation - {}, Subject {}, Queue: {}, SID {}",
                    p,
                    user,
                    errors::go_quote(subject),
                    errors::go_quote(q),
                    sid
                );
            }
            None => {
                self.send_err(&errors::sub_violation(&s));
                error!(
                    self.srv.log,
                    "{} - Subscription Violation - {}, Subject {}, SID {}",
                    p,
                    user,
                    errors::go_quote(subject),
                    sid
                );
            }
        }
    }

    fn process_ping(&mut self) {
        if self.trace {
            trace!(self.srv.log, "{} - ->> [PONG]", self.conn.prefix());
        }
        self.conn.send(b"PONG\r\n");
        self.conn
            .last_ping_in_ms
            .store(self.conn.now_ms(), Ordering::Relaxed);
        if !self.got_connect || self.first_pong_sent {
            return;
        }
        self.first_pong_sent = true;
        if self.opts.protocol >= 1 {
            // From now on this client hears about cluster changes. If one happened since
            // our INFO, send the current picture now.
            self.conn.async_info.store(true, Ordering::Relaxed);
            // A JWT user whose payload limit is not the server's learns its own here.
            let mpay = self
                .jwt
                .as_ref()
                .map(|j| j.mpay)
                .filter(|m| *m != self.srv.opts().max_payload);
            if self.srv.urls.lock().generation != self.urls_gen || mpay.is_some() {
                let mut info = self.srv.client_info();
                info.client_id = self.conn.cid;
                info.client_ip = self.conn.addr.ip().to_string();
                if let Some(m) = mpay {
                    info.max_payload = m;
                }
                if let Ok(json) = nats_proto::info::to_json(&info) {
                    self.conn.send_with(|b| encode::info_line(b, &json));
                }
            }
        }
    }

    fn process_pub(&mut self, m: PubMsg<'_>) {
        if m.hdr_len.is_some() && !self.conn.headers.load(Ordering::Relaxed) {
            // nats-server drops a client that sends HPUB without announcing headers.
            self.conn.close(CloseReason::ProtocolViolation);
            return;
        }
        self.in_msgs += 1;
        self.in_bytes += m.data.len() as u64;
        if self.opts.pedantic && !is_valid_literal_subject(m.subject) {
            self.send_err(errors::INVALID_PUB_SUBJECT);
        }
        // Mappings apply after the pedantic check and before everything else, as in
        // nats-server (permissions see the mapped subject).
        let Some(mut mapper) = self.mapper.take() else {
            return self.process_mapped_pub(m);
        };
        match mapper.map(&self.srv, m.subject) {
            Mapped::Unchanged => self.process_mapped_pub(m),
            Mapped::To(subject) => {
                if self.trace {
                    trace!(
                        self.srv.log,
                        "{} - <<- [MAPPING {} -> {}]",
                        self.conn.prefix(),
                        String::from_utf8_lossy(m.subject),
                        String::from_utf8_lossy(subject)
                    );
                }
                self.process_mapped_pub(PubMsg { subject, ..m })
            }
            Mapped::Dropped => {}
        }
        self.mapper = Some(mapper);
    }

    /// The rest of a publish, on the (possibly mapped) subject.
    fn process_mapped_pub(&mut self, m: PubMsg<'_>) {
        if m.subject.starts_with(b"_GR_.") && m.subject.len() > 5 {
            self.pub_violation(m.subject);
            return;
        }
        if let Some(perms) = &mut self.perms {
            if !perms.pub_allowed(m.subject, &self.conn.perms) {
                self.pub_violation(m.subject);
                return;
            }
        }
        if let Some(reply) = m.reply {
            if is_reserved_reply(reply) {
                let t = errors::pub_reply_violation(&String::from_utf8_lossy(reply));
                self.send_err(&t);
                error!(
                    self.srv.log,
                    "{} - Publish Violation - {}, Reply {}",
                    self.conn.prefix(),
                    self.auth_user(),
                    errors::go_quote(reply)
                );
                return;
            }
        }
        if self.opts.verbose {
            self.send_ok();
        }
        let msg = Msg {
            subject: m.subject,
            reply: m.reply,
            hdr_len: m.hdr_len,
            data: m.data,
        };
        let mut delivered =
            self.delivery
                .publish(&self.srv, &self.acc, Some(&self.conn), self.opts.echo, msg);
        // Service imports: one branch for accounts without any.
        if let Some(imports) = &self.imports {
            if let Some(imp) = imports.find(m.subject) {
                crate::imports::process_service_import(
                    &self.srv,
                    &mut self.delivery,
                    &self.conn,
                    &self.acc,
                    imp,
                    msg,
                );
                delivered = true;
            }
        }
        if !delivered {
            if let Some(reply) = m.reply {
                if self.opts.no_responders {
                    self.no_responders(reply);
                }
            }
        }
    }

    /// Nobody got a request: answer on the requester's own inbox subscription with a 503
    /// status, as nats-server 2.9 does.
    fn no_responders(&self, reply: &[u8]) {
        let sid = {
            let subs = self.conn.subs.lock();
            subs.values()
                .find(|s| s.queue.is_none() && subject_matches(&s.subject, reply))
                .map(|s| s.sid.clone())
        };
        let Some(sid) = sid else { return };
        const STATUS: &[u8] = b"NATS/1.0 503\r\n\r\n";
        self.conn.send_with(|b| {
            encode::msg_line(b, reply, &sid, None, Some(STATUS.len()), STATUS.len());
            b.extend_from_slice(STATUS);
            b.extend_from_slice(b"\r\n");
        });
    }

    fn process_sub(&mut self, subject: &[u8], queue: Option<&[u8]>, sid: &[u8]) {
        // Permissions first (before the subject is validated, as nats-server), then the
        // reserved `_sys_` queue group.
        let allowed = self
            .perms
            .as_ref()
            .is_none_or(|p| p.can_subscribe(subject, queue, &self.conn.perms));
        if !allowed || queue == Some(b"_sys_".as_slice()) {
            self.sub_violation(subject, queue, sid);
            return;
        }
        {
            let subs = self.conn.subs.lock();
            if subs.contains_key(sid) {
                // Duplicate sid: the first subscription stays, as in nats-server.
                drop(subs);
                if self.opts.verbose {
                    self.send_ok();
                }
                return;
            }
            if self.max_subs > 0 && subs.len() >= self.max_subs {
                drop(subs);
                error!(
                    self.srv.log,
                    "{} - {}",
                    self.conn.prefix(),
                    errors::MAX_SUBSCRIPTIONS
                );
                self.send_err(errors::MAX_SUBSCRIPTIONS);
                return;
            }
        }
        let sub = SubRef(Arc::new(Subscription::new(
            Target::Client(self.conn.clone()),
            self.acc.clone(),
            subject,
            queue,
            sid,
            1,
        )));
        self.conn.subs.lock().insert(sid.into(), sub.clone());
        if self.srv.add_local_sub(sub).is_err() {
            self.conn.subs.lock().remove(sid);
            self.send_err(errors::INVALID_SUBJECT);
            return;
        }
        if self.opts.verbose {
            self.send_ok();
        }
    }

    fn process_unsub(&mut self, sid: &[u8], max: Option<u64>) {
        let sub = self.conn.subs.lock().get(sid).cloned();
        if let Some(sub) = sub {
            let delivered = sub.delivered.load(Ordering::Relaxed);
            match max {
                Some(m) if m > 0 && m > delivered => sub.max.store(m, Ordering::Relaxed),
                _ => {
                    if self.trace {
                        trace!(
                            self.srv.log,
                            "{} - <-> [DELSUB {}]",
                            self.conn.prefix(),
                            String::from_utf8_lossy(sid)
                        );
                    }
                    self.srv.remove_sub(&sub, true);
                }
            }
        }
        if self.opts.verbose {
            self.send_ok();
        }
    }

    /// After the connection closed: drop its subscriptions, unregister, keep a record.
    pub fn cleanup(&mut self) {
        let srv = &self.srv;
        let reason = self
            .conn
            .close_reason()
            .unwrap_or(CloseReason::ClientClosed);
        if reason == CloseReason::SlowConsumerPendingBytes {
            // Whoever found it over the limit (a producer, or our own PONG) only closed it.
            srv.stats.slow_consumers.fetch_add(1, Ordering::Relaxed);
            crate::notice!(
                srv.log,
                "{} - Slow Consumer Detected: MaxPending of {} Exceeded",
                self.conn.prefix(),
                self.conn.max_pending()
            );
        }
        debug!(
            srv.log,
            "{} - Client connection closed: {}",
            self.conn.prefix(),
            reason
        );
        let subs = srv.remove_conn_subs(&self.conn);
        srv.clients.lock().remove(&self.conn.cid);
        unbind_conn(srv, &self.acc);
        let closed = srv.remember_closed(&self.conn, &subs);
        drop(subs);
        // Go's DISCONNECT advisory, for every account but `$G`.
        if self.got_connect && !self.acc.is_global() {
            if let Some(sys) = srv.sys.get() {
                sys.client_disconnected(closed);
            }
        }
        // Stale match results elsewhere may hold this Conn a while longer: keep nothing
        // large in it.
        self.conn.release_buffers();
        self.conn.meta.lock().auth = None;
        // Gives the account's connection slot back and stops the expiry timer.
        self.jwt = None;
    }
}

/// A client joined `acc`: count it and send Go's account connections event (Go's
/// `addClient`, which reports every account, `$G` included).
fn bind_conn(srv: &Server, acc: &Arc<Account>) {
    let n = acc.conns.fetch_add(1, Ordering::Relaxed) + 1;
    if let Some(sys) = srv.sys.get() {
        sys.account_conns_changed(acc, n.max(0) as usize);
    }
}

/// A client left `acc` (Go's `removeClient`: no event for `$G`).
fn unbind_conn(srv: &Server, acc: &Arc<Account>) {
    let n = acc.conns.fetch_sub(1, Ordering::Relaxed) - 1;
    if let (false, Some(sys)) = (acc.is_global(), srv.sys.get()) {
        sys.account_conns_changed(acc, n.max(0) as usize);
    }
}

impl OpHandler for ClientState {
    fn conn(&self) -> &Arc<Conn> {
        &self.conn
    }

    fn log(&self) -> &Logger {
        &self.srv.log
    }

    fn parser(&mut self) -> &mut Parser {
        &mut self.parser
    }

    fn handle(&mut self, op: Op<'_>) -> Result<(), CloseReason> {
        self.handle_op(op)
    }

    fn parse_error(&mut self, e: &ParseError, rest: &[u8]) -> CloseReason {
        self.parse_error_impl(e, rest)
    }

    fn awaiting_auth(&self) -> bool {
        self.auth_configured && !self.got_connect
    }

    fn has_deferred(&self) -> bool {
        self.deferred.is_some()
    }

    fn take_deferred(&mut self) -> Option<crate::readbuf::Deferred> {
        let job = self.deferred.as_ref()?;
        if let Some(key) = &job.2 {
            // The CONNECT's account JWT is being fetched (operator mode).
            let (srv, key) = (self.srv.clone(), key.clone());
            let op = srv.operator.clone()?;
            return Some(crate::readbuf::Deferred::Fetch(Box::pin(async move {
                let _ = op.fetch(&srv, &key).await;
            })));
        }
        let ci = job.0.clone();
        let opts = self.auth_opts();
        let nonce = self.nonce.clone();
        Some(crate::readbuf::Deferred::Check(Box::new(move || {
            let proof = crate::auth::Proof::Nonce(nonce.as_deref().unwrap_or_default().as_bytes());
            crate::auth::check(&opts, &ci, proof).map(|a| a.to_owned())
        })))
    }

    fn finish_deferred(
        &mut self,
        outcome: Option<crate::auth::OwnedAuthorized>,
    ) -> Result<(), CloseReason> {
        let Some(job) = self.deferred.take() else {
            return Ok(());
        };
        let (ci, gen, fetched) = *job;
        if fetched.is_some() {
            let Some(op) = self.srv.operator.clone() else {
                return Err(self.auth_failed(&ci));
            };
            return self.process_jwt_connect(ci, &op, gen, false);
        }
        match outcome {
            Some(user) => {
                self.authorized(user.user, user.permissions.as_ref(), user.nkey);
                self.finish_connect(ci, &self.auth_opts(), gen)
            }
            None => Err(self.auth_failed(&ci)),
        }
    }

    fn refuse_before_auth(&mut self) -> Option<CloseReason> {
        let opts = self.auth_opts();
        if crate::auth::no_auth_user(&opts).is_some() {
            return None;
        }
        if opts.operator.enabled() {
            error!(
                self.srv.log,
                "{} - authentication error",
                self.conn.prefix()
            );
            self.send_err(errors::AUTH_VIOLATION);
            return Some(CloseReason::AuthenticationViolation);
        }
        // As nats-server's `authViolation`: the nkey when nkey users exist.
        let who = if opts.nkeys.is_empty() {
            "User"
        } else {
            "Nkey"
        };
        error!(
            self.srv.log,
            "{} - authentication error - {} \"\"",
            self.conn.prefix(),
            who
        );
        self.send_err(errors::AUTH_VIOLATION);
        Some(CloseReason::AuthenticationViolation)
    }

    fn before_batch(&mut self) {
        self.trace = self.srv.log.trace_on();
        if self.srv.mappings_gen.load(Ordering::Acquire) != self.mappings_gen {
            self.refresh_mapper();
        }
        if self.srv.imports.gen.load(Ordering::Acquire) != self.imports_gen {
            self.refresh_imports();
        }
        let gen = self.srv.auth_gen.load(Ordering::Acquire);
        if gen != self.auth_gen {
            self.reload_permissions(gen);
        }
        if self.jwt.is_some() {
            self.jwt_account_updated();
        }
    }

    fn after_batch(&mut self) -> Option<Arc<Conn>> {
        self.end_batch()
    }
}

/// `"v1.2.3:go:name"`, the tag nats-server appends to a client's log prefix.
fn client_tag(ci: &ConnectInfo) -> String {
    let mut parts = Vec::new();
    if !ci.version.is_empty() {
        parts.push(format!("v{}", ci.version));
    }
    if !ci.lang.is_empty() {
        parts.push(ci.lang.clone());
    }
    if !ci.name.is_empty() {
        parts.push(ci.name.clone());
    }
    parts.join(":")
}

fn is_reserved_reply(reply: &[u8]) -> bool {
    (reply.len() > 4 && reply.starts_with(b"_R_."))
        || (reply.len() > 8 && reply.starts_with(b"$JS.ACK."))
        || (reply.len() > 5 && reply.starts_with(b"_GR_."))
}
