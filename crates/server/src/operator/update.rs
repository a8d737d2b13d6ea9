//! Account JWT updates (nats-server 2.9.10's `updateAccountWithClaimJWT` and the client
//! half of `updateAccountClaimsWithRefresh`): a new account JWT replaces the stored one
//! and the account's connected clients are checked against it at once.
//!
//! - Past the new `conn` limit, the oldest clients are closed with `-ERR 'maximum account
//!   active connections exceeded'` (Go keeps the newest).
//! - A revoked user gets `-ERR 'User Authentication Revoked'`; a bearer token the account
//!   now disallows gets `-ERR 'Authorization Violation'`.
//! - A user whose signing key was removed, or whose scope changed, is closed without a
//!   word (as Go does).
//! - Subscription and payload limits are re-applied by each client's reader before its
//!   next batch ([`super::JwtAccount::generation`]).
//!
//! Exports, imports and mappings are wired at start and are not changed by an update; an
//! update that changes them is applied otherwise and says so in the log.

use std::sync::Arc;

use nats_proto::errors;

use super::{JwtAccount, OperatorMode};
use crate::conn::CloseReason;
use crate::jwt;
use crate::server::Server;

/// The outcome of an update, with Go's wording (`jwt updated`, `jwt update skipped`, …).
#[derive(Debug, PartialEq)]
pub enum Outcome {
    Updated,
    /// The account is not known here (nothing to update).
    Skipped,
    Failed {
        message: &'static str,
        error: String,
    },
}

impl OperatorMode {
    /// Apply `token`, published as an update of account `key` (`None`: the key is the
    /// JWT's subject, `$SYS.REQ.CLAIMS.UPDATE`). Returns the account the answer names.
    pub fn update(&self, srv: &Server, key: Option<&str>, token: &str) -> (String, Outcome) {
        let token = token.trim();
        if self.dir.as_ref().is_some_and(|d| d.is_cache()) {
            return self.save_cached(srv, key, token);
        }
        if self.dir.is_some() {
            return self.save(srv, key, token);
        }
        let key = match key {
            Some(k) => k.to_string(),
            None => match jwt::decode_account(token) {
                Ok(c) => c.data.subject,
                Err(e) => {
                    return (
                        "n/a".into(),
                        Outcome::Failed {
                            message: "jwt update resulted in error",
                            error: e.to_string(),
                        },
                    )
                }
            },
        };
        let out = self.update_memory(srv, &key, token);
        (key, out)
    }

    /// The `full` resolver: store the JWT in the directory (if newer), then apply it.
    fn save(&self, srv: &Server, key: Option<&str>, token: &str) -> (String, Outcome) {
        let fail = |acc: &str, message, error: String| {
            (acc.to_string(), Outcome::Failed { message, error })
        };
        let claims = match jwt::decode_account(token) {
            Ok(c) => c,
            Err(e) => return fail("n/a", "jwt update resulted in error", e.to_string()),
        };
        let key = key.unwrap_or(&claims.data.subject).to_string();
        if claims.data.subject != key {
            return fail(
                &key,
                "jwt update resulted in error",
                "subject does not match jwt content".into(),
            );
        }
        if let Some(op) = self.operators.first() {
            if claims.data.issuer == op.data.subject && op.operator.strict_signing_key_usage {
                return fail(
                    &key,
                    "jwt update resulted in error",
                    "operator requires issuer to be a signing key".into(),
                );
            }
        }
        let Some(dir) = &self.dir else {
            return (key, Outcome::Skipped);
        };
        match dir.save_if_newer(&key, token) {
            Err(e) => return fail(&key, "jwt update resulted in error", e),
            Ok(super::dir::Saved::Unchanged) => return (key, Outcome::Updated),
            Ok(super::dir::Saved::Written) => {}
        }
        let known = self.accounts.read().contains_key(&key);
        if known {
            // Go logs a failed apply (an untrusted signer, say) but answers "updated":
            // the JWT is stored either way.
            if let Outcome::Failed { message, error } = self.update_memory(srv, &key, token) {
                crate::error!(srv.log, "{} - {} - {}", message, key, error);
            }
        } else {
            self.store(&key, claims, token);
        }
        (key, Outcome::Updated)
    }

    /// The `cache` resolver (nats-server's `CacheDirAccResolver` update handlers): only
    /// an account this server holds is updated (its JWT stored, then applied); others
    /// are skipped. The answer's words say `cache` (`jwt updated cache`).
    fn save_cached(&self, srv: &Server, key: Option<&str>, token: &str) -> (String, Outcome) {
        let fail = |acc: &str, message, error: String| {
            (acc.to_string(), Outcome::Failed { message, error })
        };
        const ERR: &str = "jwt update cache resulted in error";
        let claims = match jwt::decode_account(token) {
            Ok(c) => c,
            Err(e) => return fail(key.unwrap_or("n/a"), ERR, e.to_string()),
        };
        let key = key.unwrap_or(&claims.data.subject).to_string();
        if claims.data.subject != key {
            return fail(&key, ERR, "subject does not match jwt content".into());
        }
        if let Some(op) = self.operators.first() {
            if claims.data.issuer == op.data.subject && op.operator.strict_signing_key_usage {
                return fail(
                    &key,
                    ERR,
                    "operator requires issuer to be a signing key".into(),
                );
            }
        }
        if !self.accounts.read().contains_key(&key) {
            return (key, Outcome::Skipped);
        }
        if let Err(e) = claims.data.check_times(jwt::now()) {
            return fail(&key, "jwt update cache validation failed", e.to_string());
        }
        let Some(dir) = &self.dir else {
            return (key, Outcome::Skipped);
        };
        match dir.save(&key, token) {
            Err(e) => return fail(&key, ERR, e),
            Ok(super::dir::Saved::Unchanged) => {}
            Ok(super::dir::Saved::Written) => {
                if let Outcome::Failed { error, .. } = self.update_memory(srv, &key, token) {
                    crate::error!(srv.log, "update resulted in error {}", error);
                }
            }
        }
        (key, Outcome::Updated)
    }

    /// Replace the claims of an account we hold (the `MEMORY` resolver's updates).
    fn update_memory(&self, srv: &Server, key: &str, token: &str) -> Outcome {
        let fail = |message, error: String| Outcome::Failed { message, error };
        if token.is_empty() {
            return fail("jwt update error", "request body is empty".into());
        }
        let claims = match jwt::decode_account(token) {
            Ok(c) => c,
            Err(e) => return fail("jwt update resulted in error", e.to_string()),
        };
        if claims.data.subject != key {
            return fail(
                "jwt update resulted in error",
                "subject does not match jwt content".into(),
            );
        }
        let Some(acc) = self.accounts.read().get(key).cloned() else {
            return Outcome::Skipped;
        };
        if *acc.token.read() == token {
            crate::debug!(
                srv.log,
                "Requested account update for [{}], same claims detected",
                key
            );
            return Outcome::Updated;
        }
        if !self.is_trusted_issuer(&claims.data.issuer) {
            return fail(
                "jwt update resulted in error",
                "account validation failed".into(),
            );
        }
        let old = acc.claims();
        let wiring_changed = old.account.imports != claims.account.imports
            || old.account.exports != claims.account.exports
            || old.account.mappings != claims.account.mappings;
        crate::debug!(
            srv.log,
            "Updating account claims: {}/{}",
            key,
            claims.data.name
        );
        let acc = self.store(key, claims, token);
        if wiring_changed {
            crate::error!(
                srv.log,
                "Account [{}] JWT update changes its exports, imports or mappings: those are applied at start only (restart to apply them)",
                key
            );
        }
        apply_to_clients(srv, &acc);
        Outcome::Updated
    }
}

impl OperatorMode {
    /// An operator key (identity unless strict, or signing key): what may sign requests
    /// such as `$SYS.REQ.CLAIMS.DELETE`.
    pub fn is_operator_key(&self, key: &str) -> bool {
        self.operators.first().is_some_and(|op| {
            (key == op.data.subject && !op.operator.strict_signing_key_usage)
                || op.operator.signing_keys.iter().any(|k| k == key)
        })
    }

    /// Account `key` was deleted from the resolver: forget it, and disconnect its clients
    /// as nats-server's `removeCb` does (the account expires).
    pub fn removed(&self, srv: &Server, key: &str) {
        crate::debug!(srv.log, "Disable account {} due to remove", key);
        let Some(acc) = self.accounts.write().remove(key) else {
            return;
        };
        {
            let mut expired = self.expired.lock();
            if expired.len() > 4096 {
                expired.clear();
            }
            expired.insert(key.to_string(), std::time::Instant::now());
        }
        let clients: Vec<_> = acc
            .clients
            .lock()
            .iter()
            .filter_map(|c| c.conn.upgrade())
            .collect();
        for conn in clients {
            crate::debug!(
                srv.log,
                "{} - {}",
                conn.prefix(),
                errors::ACCOUNT_AUTH_EXPIRED
            );
            conn.send_err(&srv.log, errors::ACCOUNT_AUTH_EXPIRED);
            conn.close(CloseReason::AuthenticationExpired);
        }
    }
}

/// Check the account's connected clients against its new claims.
fn apply_to_clients(srv: &Server, acc: &Arc<JwtAccount>) {
    let new = acc.claims();
    let clients: Vec<_> = {
        let list = acc.clients.lock();
        list.iter()
            .filter_map(|c| {
                c.conn.upgrade().map(|conn| {
                    (
                        conn,
                        c.user.clone(),
                        c.issued_at,
                        c.bearer,
                        c.signing_key.clone(),
                    )
                })
            })
            .collect()
    };
    let max = new.account.limits.conn;
    let over = if max >= 0 {
        clients.len().saturating_sub(max as usize)
    } else {
        0
    };
    for (i, (conn, user, iat, bearer, sk)) in clients.iter().enumerate() {
        if conn.is_closed() {
            continue;
        }
        // Oldest first in the list: the first `over` go.
        if i < over {
            crate::error!(
                srv.log,
                "{} - {}",
                conn.prefix(),
                errors::MAX_ACCOUNT_CONNECTIONS
            );
            conn.send_err(&srv.log, errors::MAX_ACCOUNT_CONNECTIONS);
            conn.close(CloseReason::MaxAccountConnectionsExceeded);
            continue;
        }
        if *bearer && new.account.limits.disallow_bearer {
            crate::debug!(srv.log, "{} - Bearer User JWT not allowed", conn.prefix());
            crate::error!(srv.log, "{} - authentication error", conn.prefix());
            conn.send_err(&srv.log, errors::AUTH_VIOLATION);
            conn.close(CloseReason::AuthenticationViolation);
            continue;
        }
        if new.is_revoked(user, *iat) {
            crate::debug!(srv.log, "{} - {}", conn.prefix(), errors::USER_AUTH_REVOKED);
            conn.send_err(&srv.log, errors::USER_AUTH_REVOKED);
            conn.close(CloseReason::Revocation);
            continue;
        }
        if let Some((key, scope)) = sk {
            if new.account.signing_keys.get(key) != Some(scope) {
                conn.close(CloseReason::AuthenticationViolation);
            }
        }
    }
}
