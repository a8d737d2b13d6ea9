//! The operator-mode half of a client's CONNECT: the user JWT is checked
//! ([`crate::operator::auth`]), the client joins its account (counted against the
//! account's `conn` limit), gets the JWT's permissions, subscription and payload limits,
//! and a timer that disconnects it when its JWT (or its account's) expires.
//!
//! Kept out of `reader.rs`'s op handler: none of it runs per message. The limits end up
//! where the plain path already looks (the parser's max payload, `max_subs`).

use std::sync::Arc;
use std::time::Duration;

use nats_proto::errors;
use nats_proto::info::ConnectInfo;

use super::ClientState;
use crate::conn::{CloseReason, Conn};
use crate::operator::{auth, JwtAccount, OperatorMode};
use crate::{debug, error};

/// What a client logged in with a user JWT keeps until it closes.
pub(super) struct JwtSession {
    pub account: Arc<JwtAccount>,
    /// The user's public key (Go's `c.pubKey`).
    pub key: String,
    cid: u64,
    /// The client's payload limit (Go's `c.mpay`, `-1`: none), told in the INFO that
    /// follows the first PONG when it is not the server's.
    pub mpay: i64,
    /// The user's own subscription and payload limits (or its scope's), and the
    /// account generation the effective limits were computed from.
    user_subs: i64,
    user_payload: i64,
    pub gen: u64,
    /// Disconnects the client when its JWT expires; aborted at clean-up.
    timer: Option<tokio::task::AbortHandle>,
}

impl Drop for JwtSession {
    fn drop(&mut self) {
        if let Some(t) = self.timer.take() {
            t.abort();
        }
        self.account.remove_conn();
        self.account.remove_client(self.cid);
    }
}

/// nats-server's `minLimit`: lower `v` to `limit` (`-1` on either side: no limit).
/// Returns whether `v` changed.
fn min_limit(v: &mut i64, limit: i64) -> bool {
    if limit < 0 || (*v >= 0 && *v <= limit) {
        return false;
    }
    *v = limit;
    true
}

impl ClientState {
    /// Authenticate a CONNECT in operator mode and finish it.
    #[cold]
    #[inline(never)]
    pub(super) fn process_jwt_connect(
        &mut self,
        mut ci: ConnectInfo,
        op: &OperatorMode,
        gen: u64,
        may_fetch: bool,
    ) -> Result<(), CloseReason> {
        // A websocket client without a JWT in its CONNECT uses its cookie's, as Go.
        if ci.jwt.is_empty() {
            if let Some(j) = self.conn.meta.lock().ws_cookie_jwt.take() {
                ci.jwt = j.into_string();
            }
        }
        // An account the resolver must fetch (`cache`, URL): the read loop waits for the
        // fetch, then this runs again (`may_fetch` false) and looks the account up.
        if may_fetch && op.fetcher.is_some() {
            if let Ok(uc) = crate::jwt::decode_user(&ci.jwt) {
                let key = if uc.user.issuer_account.is_empty() {
                    uc.data.issuer
                } else {
                    uc.user.issuer_account
                };
                if op.needs_fetch(&key) {
                    self.deferred = Some(Box::new((ci, gen, Some(key))));
                    return Ok(());
                }
            }
        }
        let now = crate::jwt::now();
        let user = match auth::authenticate(op, &ci, self.nonce_bytes(), self.conn.addr.ip(), now) {
            Ok(u) => u,
            Err(r) => {
                if r.error_level {
                    error!(self.srv.log, "{} - {}", self.conn.prefix(), r.text);
                } else {
                    debug!(self.srv.log, "{} - {}", self.conn.prefix(), r.text);
                }
                return Err(self.auth_failed(&ci));
            }
        };
        if !user.account.try_add_conn() {
            error!(
                self.srv.log,
                "{} - {}",
                self.conn.prefix(),
                errors::MAX_ACCOUNT_CONNECTIONS
            );
            self.send_err(errors::MAX_ACCOUNT_CONNECTIONS);
            return Err(CloseReason::MaxAccountConnectionsExceeded);
        }
        let ac = user.account.claims();
        let acc_gen = user.account.generation();
        let (subs, payload) = self.apply_jwt_limits(&user.account, user.subs, user.payload);
        let acc = op.register(&self.srv, &user.account.key);
        debug!(
            self.srv.log,
            "{} - Authenticated JWT: Client {:?} (claim-name: {:?}) signed with {:?} by Account {:?} (claim-name: {:?})",
            self.conn.prefix(),
            user.key,
            user.name,
            user.signing_key
                .as_ref()
                .map_or(&user.account.key, |(k, _)| k),
            user.account.key,
            ac.data.name
        );
        let timer = self.expiry_timer(user.expires_in, ac.data.expires, now);
        self.jwt = Some(Box::new(JwtSession {
            account: user.account.clone(),
            key: user.key.clone(),
            cid: self.conn.cid,
            mpay: payload,
            user_subs: user.subs,
            user_payload: user.payload,
            gen: acc_gen,
            timer,
        }));
        user.account.add_client(crate::operator::ClientRef {
            cid: self.conn.cid,
            conn: Arc::downgrade(&self.conn),
            user: user.key.clone(),
            issued_at: user.issued_at,
            bearer: user.bearer,
            signing_key: user.signing_key.clone(),
        });
        self.nkey_verified = false;
        self.set_account(&acc.name);
        self.conn.meta.lock().user = user.key;
        self.set_permissions(user.permissions.as_ref());
        // A zero subscription limit leaves the client nothing to do: nats-server says so
        // and closes it shortly after the CONNECT.
        if subs == 0 {
            self.subs_at_limit();
        }
        self.finish_jwt_connect(ci, gen)
    }

    /// Combine the user's limits with the account's and the server's (Go's
    /// `applyAccountLimits`) and install them; returns the effective (subs, payload).
    fn apply_jwt_limits(&mut self, account: &JwtAccount, subs: i64, payload: i64) -> (i64, i64) {
        let opts = self.srv.opts();
        let ac = account.claims();
        let (mut subs, mut payload) = (subs, payload);
        min_limit(&mut subs, ac.account.limits.subs);
        min_limit(&mut payload, ac.account.limits.payload);
        let server_payload = if opts.max_payload == 0 {
            -1
        } else {
            opts.max_payload
        };
        let server_subs = if opts.max_subs == 0 {
            -1
        } else {
            opts.max_subs
        };
        let was_unlimited = payload < 0;
        if min_limit(&mut payload, server_payload) && !was_unlimited {
            error!(
                self.srv.log,
                "{} - Max Payload set to {} from server overrides account or user config",
                self.conn.prefix(),
                opts.max_payload
            );
        }
        let was_unlimited = subs < 0;
        if min_limit(&mut subs, server_subs) && !was_unlimited {
            error!(
                self.srv.log,
                "{} - Max Subscriptions set to {} from server overrides account or user config",
                self.conn.prefix(),
                opts.max_subs
            );
        }
        // Our parser reads 0 as "unlimited"; a JWT's 0 means no payload at all, the
        // closest we can enforce is one byte.
        let parser_payload = match payload {
            p if p < 0 => 0,
            0 => 1,
            p => p as usize,
        };
        self.parser
            .set_limits(opts.max_control_line.max(0) as usize, parser_payload);
        self.max_subs = subs.max(0) as usize;
        (subs, payload)
    }

    /// The account's JWT was replaced: take its new limits (once per batch, only for JWT
    /// users, only when the account's generation moved).
    pub(super) fn jwt_account_updated(&mut self) {
        let Some(j) = self.jwt.as_ref() else { return };
        let gen = j.account.generation();
        if gen == j.gen {
            return;
        }
        let (account, us, up) = (j.account.clone(), j.user_subs, j.user_payload);
        let (subs, payload) = self.apply_jwt_limits(&account, us, up);
        if let Some(j) = self.jwt.as_mut() {
            j.gen = gen;
            j.mpay = payload;
        }
        // Over the new limit already: Go says so and closes the client shortly after.
        if subs >= 0 && self.conn.subs.lock().len() >= subs as usize {
            self.subs_at_limit();
        }
    }

    fn subs_at_limit(&self) {
        let (conn, log) = (self.conn.clone(), self.srv.log.clone());
        tokio::spawn(async move {
            error!(log, "{} - {}", conn.prefix(), errors::MAX_SUBSCRIPTIONS);
            conn.send_err(&log, errors::MAX_SUBSCRIPTIONS);
            tokio::time::sleep(Duration::from_millis(20)).await;
            conn.close(CloseReason::MaxSubscriptionsExceeded);
        });
    }

    /// The rest of `finish_connect`, without recording reloadable credentials: a reload
    /// does not re-check JWT users (their JWT and account say what they may do).
    fn finish_jwt_connect(&mut self, ci: ConnectInfo, gen: u64) -> Result<(), CloseReason> {
        let headers = self.conn.headers.load(std::sync::atomic::Ordering::Relaxed);
        if !(0..=1).contains(&ci.protocol) {
            self.send_err(errors::INVALID_PROTOCOL);
            return Err(CloseReason::BadClientProtocolVersion);
        }
        if ci.no_responders && !headers {
            self.send_err(errors::NO_RESPONDERS_NEEDS_HEADERS);
            return Err(CloseReason::NoRespondersRequiresHeaders);
        }
        self.auth_checked(gen);
        let verbose = ci.verbose;
        self.opts = ci;
        if verbose {
            self.send_ok();
        }
        Ok(())
    }

    /// Close the client when the user JWT expires (`-ERR 'User Authentication
    /// Expired'`) or its account's does (`'Account Authentication Expired'`), whichever
    /// comes first.
    fn expiry_timer(
        &self,
        user: Option<Duration>,
        account_exp: i64,
        now: i64,
    ) -> Option<tokio::task::AbortHandle> {
        let account = (account_exp > 0)
            .then(|| Duration::from_secs(account_exp.saturating_sub(now).max(0) as u64));
        let (after, text) = match (user, account) {
            (None, None) => return None,
            (Some(u), Some(a)) if a < u => (a, errors::ACCOUNT_AUTH_EXPIRED),
            (None, Some(a)) => (a, errors::ACCOUNT_AUTH_EXPIRED),
            (Some(u), _) => (u, errors::USER_AUTH_EXPIRED),
        };
        let conn: Arc<Conn> = self.conn.clone();
        let log = self.srv.log.clone();
        Some(
            tokio::spawn(async move {
                tokio::time::sleep(after).await;
                if conn.is_closed() {
                    return;
                }
                debug!(log, "{} - {}", conn.prefix(), text);
                conn.send_err(&log, text);
                conn.close(CloseReason::AuthenticationExpired);
            })
            .abort_handle(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::min_limit;

    #[test]
    fn limits_combine_like_go() {
        let run = |v: i64, l: i64| {
            let mut v = v;
            let changed = min_limit(&mut v, l);
            (v, changed)
        };
        assert_eq!(run(-1, -1), (-1, false));
        assert_eq!(run(-1, 5), (5, true));
        assert_eq!(run(3, 5), (3, false));
        assert_eq!(run(7, 5), (5, true));
        assert_eq!(run(0, 5), (0, false));
        assert_eq!(run(0, -1), (0, false));
    }
}
