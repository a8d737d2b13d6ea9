//! Operator mode (JWT), as nats-server 2.9.10 runs it: the configuration trusts one or
//! more operators (their JWTs, or bare operator keys); accounts are account JWTs signed
//! by a trusted operator key, found through the account resolver; clients log in with a
//! user JWT signed by the account (or one of its signing keys) and prove they hold the
//! user's key by signing the nonce of our INFO (unless the JWT is a bearer token).
//!
//! [`OperatorMode`] is built once at start from [`crate::options::OperatorOptions`]. It
//! holds the resolver's store (`MEMORY`: the preloaded JWTs; `full`/`cache`: a directory,
//! [`dir`]), how it fetches accounts it lacks (`cache`, `full`, URL: [`fetch`]) and, per
//! account, the decoded claims plus the count of connected clients (the `conn` limit).
//! Accounts join the server's account registry ([`crate::account::Accounts`]) under their
//! public key the first time a user of theirs logs in, as Go registers them on lookup.
//!
//! Invariant: nothing here logs a JWT, a signature or a seed; refusals carry Go's debug
//! texts, which name keys only.

pub mod auth;
pub mod dir;
pub mod fetch;
pub mod template;
pub mod update;
pub mod wiring;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::{Mutex, RwLock};

use crate::jwt::{self, AccountClaims, OperatorClaims};
use crate::options::Options;

/// What operator mode knows: who is trusted, and the accounts.
pub struct OperatorMode {
    operators: Vec<OperatorClaims>,
    /// Keys allowed to sign account JWTs: each operator's own key (unless it asks for
    /// strict signing key usage) and its signing keys, or the `trusted` keys.
    trusted_keys: Vec<String>,
    accounts: RwLock<HashMap<String, Arc<JwtAccount>>>,
    /// The `full` or `cache` resolver's directory; `None` with `MEMORY` and URL.
    pub dir: Option<dir::DirStore>,
    /// How accounts the resolver does not hold are fetched (`cache`, URL).
    pub fetcher: Option<fetch::Fetcher>,
    /// The last failed fetch per account, until the lookup that follows takes it.
    fetch_errors: Mutex<HashMap<String, String>>,
    /// Accounts the resolver removed, with when: as nats-server's expired accounts, a
    /// login to one fails with `account expired`, at once within a second of the
    /// removal, else after fetching again (a fetched JWT brings the account back).
    expired: Mutex<HashMap<String, std::time::Instant>>,
    /// Accounts whose exports, imports and mappings are wired (at start: the preloaded
    /// ones; later: each account the first time a client logs in to it).
    wired: Mutex<std::collections::HashSet<String>>,
}

/// One account JWT and what the server keeps beside it.
pub struct JwtAccount {
    /// The account's public key (also its name in the registry).
    pub key: String,
    claims: RwLock<Arc<AccountClaims>>,
    /// Connected clients of this account (checked against `limits.conn`).
    conns: AtomicUsize,
    /// The token the claims came from (an update with the same token is a no-op).
    token: RwLock<String>,
    /// Moves when the claims are replaced: clients re-apply the account's limits.
    generation: AtomicU64,
    /// The JWT users logged in to this account, in login order (what an update of the
    /// claims re-checks: connection limit, revocations, bearer tokens, signing keys).
    clients: Mutex<Vec<ClientRef>>,
}

/// A logged-in JWT user, as an account update sees it.
pub struct ClientRef {
    pub cid: u64,
    pub conn: Weak<crate::conn::Conn>,
    pub user: String,
    pub issued_at: i64,
    pub bearer: bool,
    /// The account signing key that issued the user JWT (and its scope then), if any.
    pub signing_key: Option<(String, crate::jwt::claims::SigningKey)>,
}

impl std::fmt::Debug for JwtAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "JwtAccount({})", self.key)
    }
}

impl JwtAccount {
    pub fn claims(&self) -> Arc<AccountClaims> {
        self.claims.read().clone()
    }

    /// Count one more client unless `limits.conn` is reached (`-1`: no limit).
    pub fn try_add_conn(&self) -> bool {
        let max = self.claims().account.limits.conn;
        let mut cur = self.conns.load(Ordering::Acquire);
        loop {
            if max >= 0 && cur as i64 >= max {
                return false;
            }
            match self
                .conns
                .compare_exchange(cur, cur + 1, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return true,
                Err(now) => cur = now,
            }
        }
    }

    pub fn remove_conn(&self) {
        let _ = self
            .conns
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| c.checked_sub(1));
    }

    pub fn conns(&self) -> usize {
        self.conns.load(Ordering::Acquire)
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub fn add_client(&self, c: ClientRef) {
        self.clients.lock().push(c);
    }

    pub fn remove_client(&self, cid: u64) {
        self.clients.lock().retain(|c| c.cid != cid);
    }
}

impl OperatorMode {
    /// Build operator mode from validated options; `None` when it is off. Errors are
    /// nats-server's startup errors (`preload account error for …`).
    pub fn from_options(opts: &Options) -> Result<Option<OperatorMode>, String> {
        let o = &opts.operator;
        if !o.enabled() {
            return Ok(None);
        }
        let mut operators = Vec::new();
        for t in &o.trusted_operators {
            operators.push(jwt::decode_operator(t).map_err(|e| e.to_string())?);
        }
        let trusted_keys = trusted_keys(o);
        use crate::options::Resolver;
        let (dir, fetcher) = match &o.resolver {
            // Both directory resolvers ask the cluster for accounts they lack.
            Resolver::Full {
                dir,
                allow_delete,
                limit,
                timeout,
                ..
            } => (
                Some(dir::DirStore::open(dir, *allow_delete, *limit)?),
                Some(fetch::Fetcher::Nats { timeout: *timeout }),
            ),
            Resolver::Cache {
                dir,
                limit,
                ttl,
                timeout,
            } => (
                Some(dir::DirStore::open_cache(dir, *limit, *ttl)?),
                Some(fetch::Fetcher::Nats { timeout: *timeout }),
            ),
            Resolver::Url(url) => (
                None,
                Some(fetch::Fetcher::Url(fetch::UrlResolver::new(
                    url,
                    o.resolver_tls.as_ref(),
                )?)),
            ),
            _ => (None, None),
        };
        if matches!(o.resolver, Resolver::Url(_)) && !o.preload.is_empty() {
            return Err(
                "resolver preloads only available for writeable resolver types MEM/DIR/CACHE_DIR"
                    .into(),
            );
        }
        let mode = OperatorMode {
            operators,
            trusted_keys,
            accounts: RwLock::new(HashMap::new()),
            dir,
            fetcher,
            fetch_errors: Mutex::new(HashMap::new()),
            expired: Mutex::new(HashMap::new()),
            wired: Mutex::new(o.preload.iter().map(|(k, _)| k.clone()).collect()),
        };
        for (key, token) in &o.preload {
            let claims = jwt::decode_account(token)
                .map_err(|e| format!("preload account error for {key:?}: {e}"))?;
            if let Some(d) = &mode.dir {
                d.save_if_newer(key, token)?;
            }
            mode.store(key, claims, token);
        }
        // The `full` resolver holds every account of its directory from the start; a
        // cache only what it is asked for (it reads its directory on a miss).
        if let Some(d) = mode.dir.as_ref().filter(|d| !d.is_cache()) {
            for key in d.list() {
                if let Some(c) = d
                    .load(&key)
                    .and_then(|t| jwt::decode_account(&t).ok().map(|c| (c, t)))
                {
                    mode.store(&key, c.0, &c.1);
                }
            }
        }
        Ok(Some(mode))
    }

    /// The operators' claims (for `/varz`'s `trusted_operators_claim`).
    pub fn operators(&self) -> &[OperatorClaims] {
        &self.operators
    }

    /// nats-server's `isTrustedIssuer`.
    pub fn is_trusted_issuer(&self, issuer: &str) -> bool {
        self.trusted_keys.iter().any(|k| k == issuer)
    }

    /// Store (or replace) the claims of account `key`.
    fn store(&self, key: &str, claims: AccountClaims, token: &str) -> Arc<JwtAccount> {
        let claims = Arc::new(claims);
        self.expired.lock().remove(key);
        let mut map = self.accounts.write();
        if let Some(a) = map.get(key) {
            *a.claims.write() = claims;
            *a.token.write() = token.to_string();
            a.generation.fetch_add(1, Ordering::AcqRel);
            return a.clone();
        }
        let a = Arc::new(JwtAccount {
            key: key.to_string(),
            claims: RwLock::new(claims),
            conns: AtomicUsize::new(0),
            token: RwLock::new(token.to_string()),
            generation: AtomicU64::new(0),
            clients: Mutex::new(Vec::new()),
        });
        map.insert(key.to_string(), a.clone());
        a
    }

    /// nats-server's `LookupAccount` through the resolver, with the checks it makes when
    /// it registers an account: the JWT is about this key, and a trusted key signed it.
    pub fn lookup(&self, key: &str) -> Result<Arc<JwtAccount>, String> {
        if !jwt::is_public_key(key, 'A') {
            return Err("will only fetch valid account keys".into());
        }
        let found = self.accounts.read().get(key).cloned();
        let a = match found {
            Some(a) => a,
            // The directory may hold it (written by another process, or before we
            // started): read it on a miss, as Go's `DirAccResolver.Fetch` does.
            None => {
                let token = self.dir.as_ref().and_then(|d| d.load(key)).ok_or_else(|| {
                    let fetch_error = self.take_fetch_error(key);
                    if self.expired.lock().contains_key(key) {
                        return "account expired".to_string();
                    }
                    fetch_error.unwrap_or_else(|| "account not found".to_string())
                })?;
                let c = jwt::decode_account(&token).map_err(|e| e.to_string())?;
                self.store(key, c, &token)
            }
        };
        let c = a.claims();
        // Go's `verifyAccountClaims`: an account no trusted key signed is not found
        // (so a system account signed by an untrusted key stops the start).
        if !self.is_trusted_issuer(&c.data.issuer) || c.data.subject != key {
            return Err("account validation failed".into());
        }
        Ok(a)
    }

    /// Every stored account key.
    pub fn account_keys(&self) -> Vec<String> {
        self.accounts.read().keys().cloned().collect()
    }

    /// The registry's account for `key`, registered (with its exports, imports and
    /// mappings wired, and the system services every account gets) the first time.
    pub fn register(&self, srv: &Arc<crate::Server>, key: &str) -> Arc<crate::account::Account> {
        let acc = srv.accounts.get_or_create(key);
        if !self.wired.lock().insert(key.to_string()) {
            return acc;
        }
        let all: Vec<(String, AccountClaims)> = self
            .accounts
            .read()
            .iter()
            .map(|(k, a)| (k.clone(), (*a.claims()).clone()))
            .filter(|(_, c)| self.is_trusted_issuer(&c.data.issuer))
            .collect();
        let w = wiring::of(&all, Some(key));
        if !w.imports.is_empty() {
            let o = Options {
                exports: w.exports,
                imports: w.imports,
                ..Options::default()
            };
            crate::imports::wire(srv, &o);
        }
        if let Some((_, list)) = w.mappings.into_iter().next() {
            if let Ok(m) = crate::mapping::compile(&list) {
                *acc.mappings.write() = Arc::new(m);
                srv.mappings_gen.fetch_add(1, Ordering::AcqRel);
            }
        }
        crate::sys::serve_accounts(srv);
        acc
    }
}

/// Keys allowed to sign account JWTs: the `trusted` keys, and each operator's own key
/// (unless it asks for strict signing key usage) and signing keys.
pub fn trusted_keys(o: &crate::options::OperatorOptions) -> Vec<String> {
    let mut keys = o.trusted_keys.clone();
    for t in &o.trusted_operators {
        if let Ok(c) = jwt::decode_operator(t) {
            if !c.operator.strict_signing_key_usage {
                keys.push(c.data.subject.clone());
            }
            keys.extend(c.operator.signing_keys.iter().cloned());
        }
    }
    keys
}

/// nats-server's start-up lines for operator mode.
pub fn log_startup(srv: &crate::Server, op: &OperatorMode, opts: &Options) {
    let log = &srv.log;
    let when = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0)
            .map(|d| d.format("%Y-%m-%d %H:%M:%S +0000 UTC").to_string())
            .unwrap_or_default()
    };
    if !op.operators.is_empty() {
        crate::notice!(log, "Trusted Operators");
    }
    for c in &op.operators {
        crate::notice!(log, "  System  : {:?}", c.data.audience);
        crate::notice!(log, "  Operator: {:?}", c.data.name);
        crate::notice!(log, "  Issued  : {}", when(c.data.issued_at));
        if c.data.expires == 0 {
            crate::notice!(log, "  Expires : Never");
        } else {
            crate::notice!(log, "  Expires : {}", when(c.data.expires));
        }
    }
    if !op.operators.is_empty() && opts.system_account.is_empty() {
        crate::warn!(log, "Trusted Operators should utilize a System Account");
    }
}

/// The account a route op names, registered from the resolver when operator mode knows
/// it (its first mention may come from a peer, before any local client used it).
pub fn route_account(
    srv: &Arc<crate::Server>,
    name: &[u8],
) -> Option<Arc<crate::account::Account>> {
    let op = srv.operator.as_ref()?;
    let name = std::str::from_utf8(name).ok()?;
    let acc = match op.lookup(name) {
        Ok(a) => a,
        // A resolver that fetches does not fetch for a route (a slow fetch would hold up
        // the route): as nats-server, the account is registered empty to keep the
        // peer's interest, and gets its claims when a client of it logs in here.
        Err(_) if op.fetcher.is_some() && jwt::is_public_key(name, 'A') => {
            return Some(srv.accounts.get_or_create(name));
        }
        Err(_) => return None,
    };
    if !op.is_trusted_issuer(&acc.claims().data.issuer) {
        return None;
    }
    Some(op.register(srv, name))
}
