//! Client authentication: a single user/password, a token, or a list of users, checked at
//! CONNECT as nats-server does, and which permissions the client gets (users of the list
//! only: their own, or `default_permissions`). A configured password or token that is a bcrypt hash
//! (`$2a$…`, `$2b$…`, `$2y$…`) is verified as one, as in Go's config files.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock};

use nats_proto::info::ConnectInfo;
use parking_lot::Mutex;

use crate::options::{Options, Permissions, User};

/// Whether clients are told to authenticate (INFO's `auth_required`): credentials are
/// configured and there is no `no_auth_user` to fall back on.
pub fn auth_required(opts: &Options) -> bool {
    auth_configured(opts) && opts.no_auth_user.is_empty()
}

/// Whether credentials are configured at all. Even with a `no_auth_user`, nats-server
/// checks every CONNECT against them (wrong credentials are refused, not taken for the
/// fallback user) and expects a CONNECT within the auth timeout.
pub fn auth_configured(opts: &Options) -> bool {
    !opts.username.is_empty() || !opts.authorization.is_empty() || !opts.users.is_empty()
}

/// Who a client turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub struct Authorized<'o> {
    /// The user name (empty for token auth).
    pub user: String,
    /// The permissions that apply: the user's own or the `default_permissions` (users of
    /// the `users` list only, as nats-server).
    pub permissions: Option<&'o Permissions>,
}

impl<'o> Authorized<'o> {
    pub(crate) fn listed(opts: &'o Options, u: &'o User) -> Authorized<'o> {
        Authorized {
            user: u.username.clone(),
            // Top-level `default_permissions` are those of `authorization { users }`
            // (account `$G`); account users got their account's defaults when parsed.
            permissions: u.permissions.as_ref().or(if u.account.is_empty() {
                opts.default_permissions.as_ref()
            } else {
                None
            }),
        }
    }
}

/// The account a user authenticated as `user` belongs to: its `User::account`, or `$G`
/// (single user, token, anonymous clients, users of `authorization { users }`).
pub fn account_of<'o>(opts: &'o Options, user: &str) -> &'o str {
    opts.users
        .iter()
        .find(|u| u.username == user && !u.account.is_empty())
        .map_or(crate::account::GLOBAL_ACCOUNT, |u| u.account.as_str())
}

/// The `no_auth_user`, when configured and present in `users`.
pub fn no_auth_user(opts: &Options) -> Option<Authorized<'_>> {
    if opts.no_auth_user.is_empty() {
        return None;
    }
    opts.users
        .iter()
        .find(|u| u.username == opts.no_auth_user && standard_allowed(u))
        .map(|u| Authorized::listed(opts, u))
}

/// This server only accepts standard client connections: a user limited to other
/// connection types (websocket, MQTT, leafnode) cannot log in here.
pub(crate) fn standard_allowed(u: &User) -> bool {
    u.allowed_connection_types.is_empty()
        || u.allowed_connection_types.iter().any(|t| t == "STANDARD")
}

/// An authorized user detached from the options it came from (the result of a check that
/// ran on another thread).
#[derive(Debug, Clone, PartialEq)]
pub struct OwnedAuthorized {
    pub user: String,
    pub permissions: Option<Permissions>,
}

impl Authorized<'_> {
    pub fn to_owned(&self) -> OwnedAuthorized {
        OwnedAuthorized {
            user: self.user.clone(),
            permissions: self.permissions.cloned(),
        }
    }
}

/// The outcome of [`check_cached`].
#[derive(Debug, PartialEq)]
pub enum Check<'o> {
    Done(Option<Authorized<'o>>),
    /// The answer needs a bcrypt verification: run [`check_off_runtime`].
    NeedsHash,
}

/// Check a CONNECT against the configured credentials. May run bcrypt (tens to hundreds
/// of milliseconds): never call it on an async worker; see [`check_cached`].
pub fn check<'o>(opts: &'o Options, c: &ConnectInfo) -> Option<Authorized<'o>> {
    match check_with(opts, c, true) {
        Check::Done(a) => a,
        Check::NeedsHash => None,
    }
}

/// Check a CONNECT without running bcrypt: plain secrets, tokens and bcrypt passwords
/// verified before (see [`secret_matches`]) answer at once; anything else says
/// [`Check::NeedsHash`].
pub fn check_cached<'o>(opts: &'o Options, c: &ConnectInfo) -> Check<'o> {
    check_with(opts, c, false)
}

/// How many bcrypt verifications may run at once: they take whole cores, and a burst of
/// wrong passwords must not take every core from the message path.
static HASHERS: LazyLock<tokio::sync::Semaphore> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    tokio::sync::Semaphore::new((cores / 2).max(1))
});

/// [`check`] on the blocking pool, at most [`HASHERS`] at a time.
pub async fn check_off_runtime(opts: Arc<Options>, c: ConnectInfo) -> Option<OwnedAuthorized> {
    off_runtime(Box::new(move || check(&opts, &c).map(|a| a.to_owned()))).await
}

/// Run a credential check that may hash on the blocking pool, at most [`HASHERS`] at a
/// time.
pub async fn off_runtime(
    job: Box<dyn FnOnce() -> Option<OwnedAuthorized> + Send>,
) -> Option<OwnedAuthorized> {
    let _permit = HASHERS.acquire().await.ok()?;
    tokio::task::spawn_blocking(job).await.ok().flatten()
}

/// [`secret_matches`] without hashing: `None` when the answer needs bcrypt.
pub fn secret_matches_cached(configured: &str, given: &str) -> Option<bool> {
    match secret_verdict(configured, given, false) {
        Verdict::Yes => Some(true),
        Verdict::No => Some(false),
        Verdict::NeedsHash => None,
    }
}

fn check_with<'o>(opts: &'o Options, c: &ConnectInfo, hash: bool) -> Check<'o> {
    let done = Check::Done;
    if !c.account.is_empty() || c.new_account {
        return done(None);
    }
    let user = c.user.as_str();
    let pass = c.pass.as_str();
    if user.is_empty() && pass.is_empty() && c.auth_token.is_empty() {
        if let Some(a) = no_auth_user(opts) {
            return done(Some(a));
        }
    }
    let verdict = |configured: &str, given: &str, then: Authorized<'o>| match secret_verdict(
        configured, given, hash,
    ) {
        Verdict::Yes => done(Some(then)),
        Verdict::No => done(None),
        Verdict::NeedsHash => Check::NeedsHash,
    };
    if !opts.authorization.is_empty() {
        let token = Authorized {
            user: String::new(),
            permissions: None,
        };
        return verdict(&opts.authorization, &c.auth_token, token);
    }
    if !opts.username.is_empty() {
        if user != opts.username {
            return done(None);
        }
        let single = Authorized {
            user: user.to_string(),
            permissions: None,
        };
        return verdict(&opts.password, pass, single);
    }
    match opts
        .users
        .iter()
        .find(|u| u.username == user && standard_allowed(u))
    {
        Some(u) => verdict(&u.password, pass, Authorized::listed(opts, u)),
        None => done(None),
    }
}

/// The credentials a connection authenticated with, kept on the connection
/// (`ConnMeta::auth`) so that a config reload can check them again, as nats-server
/// re-checks every client (and every accepted route) on reload.
#[derive(Clone, Default, PartialEq)]
pub struct Credentials {
    pub user: String,
    pub pass: String,
    pub token: String,
    /// The client gave no credentials and was let in as the `no_auth_user`; `user` and
    /// `pass` are then that user's configured ones (nats-server copies them into the
    /// client's CONNECT options, and checks those on reload).
    pub no_auth_fallback: bool,
}

/// Never print the secrets (a stray `{:?}` of a connection's metadata must not leak them).
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("no_auth_fallback", &self.no_auth_fallback)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// What a client that passed [`check`] with `c` is recorded as.
    pub fn of_client(opts: &Options, c: &ConnectInfo) -> Credentials {
        if c.user.is_empty() && c.pass.is_empty() && c.auth_token.is_empty() {
            if let Some(u) = no_auth_user_entry(opts) {
                return Credentials::fallback(u);
            }
        }
        Credentials {
            user: c.user.clone(),
            pass: c.pass.clone(),
            token: c.auth_token.clone(),
            no_auth_fallback: false,
        }
    }

    /// Behind an `Arc`; the common "no credentials at all" case shares one allocation
    /// (memory per idle connection is a target).
    pub fn shared(self) -> Arc<Credentials> {
        static NONE: LazyLock<Arc<Credentials>> = LazyLock::new(Default::default);
        if self == Credentials::default() {
            NONE.clone()
        } else {
            Arc::new(self)
        }
    }

    /// A client that sent no CONNECT and was let in as the `no_auth_user`.
    pub fn no_auth(opts: &Options) -> Option<Credentials> {
        no_auth_user_entry(opts).map(Credentials::fallback)
    }

    fn fallback(u: &User) -> Credentials {
        Credentials {
            user: u.username.clone(),
            pass: u.password.clone(),
            token: String::new(),
            no_auth_fallback: true,
        }
    }
}

fn no_auth_user_entry(opts: &Options) -> Option<&User> {
    if opts.no_auth_user.is_empty() {
        return None;
    }
    opts.users
        .iter()
        .find(|u| u.username == opts.no_auth_user && standard_allowed(u))
}

/// What a reload makes of a connected client's [`Credentials`].
#[derive(Debug, PartialEq)]
pub enum Recheck<'o> {
    /// Still authorized, with these permissions from now on.
    Keep(Option<&'o Permissions>),
    /// Its user is no longer in the `users` list: nats-server closes it quietly (as a
    /// client that moved to another account: no `-ERR`, reason "Client Closed").
    UserRemoved,
    /// Its credentials no longer authenticate: `-ERR 'Authorization Violation'` and close.
    Failed,
}

/// Check a connected client's credentials against reloaded options.
pub fn recheck<'o>(opts: &'o Options, c: &Credentials) -> Recheck<'o> {
    if !c.user.is_empty()
        && !opts.users.is_empty()
        && !opts.users.iter().any(|u| u.username == c.user)
    {
        return Recheck::UserRemoved;
    }
    if !auth_configured(opts) {
        return Recheck::Keep(None);
    }
    if c.no_auth_fallback {
        // The configured password as it was when the client came in, compared as text
        // (it may be a bcrypt hash): a changed password of the `no_auth_user` drops it.
        return match opts.users.iter().find(|u| u.username == c.user) {
            Some(u) if standard_allowed(u) && u.password == c.pass => {
                Recheck::Keep(Authorized::listed(opts, u).permissions)
            }
            _ => Recheck::Failed,
        };
    }
    let ci = ConnectInfo {
        user: c.user.clone(),
        pass: c.pass.clone(),
        auth_token: c.token.clone(),
        ..ConnectInfo::default()
    };
    match check(opts, &ci) {
        Some(a) => Recheck::Keep(a.permissions),
        None => Recheck::Failed,
    }
}

/// Does an accepted route's CONNECT satisfy the cluster authorization (none configured:
/// any does)?
pub fn route_authorized(opts: &Options, user: &str, pass: &str) -> bool {
    opts.cluster.username.is_empty()
        || (user == opts.cluster.username && secret_matches(&opts.cluster.password, pass))
}

enum Verdict {
    Yes,
    No,
    NeedsHash,
}

/// Does `given` match the configured secret (plain text, or a bcrypt hash of it)? May run
/// bcrypt; see [`check_cached`].
pub fn secret_matches(configured: &str, given: &str) -> bool {
    matches!(secret_verdict(configured, given, true), Verdict::Yes)
}

fn secret_verdict(configured: &str, given: &str, hash: bool) -> Verdict {
    if !is_bcrypt(configured) {
        return if ct_eq(configured.as_bytes(), given.as_bytes()) {
            Verdict::Yes
        } else {
            Verdict::No
        };
    }
    let key = verified_key(configured, given);
    if VERIFIED.lock().contains(&key) {
        return Verdict::Yes;
    }
    if !hash {
        return Verdict::NeedsHash;
    }
    if !bcrypt::verify(given, configured).unwrap_or(false) {
        return Verdict::No;
    }
    let mut v = VERIFIED.lock();
    if v.len() >= VERIFIED_MAX {
        v.clear();
    }
    v.insert(key);
    Verdict::Yes
}

/// Successful bcrypt verifications, so that a client that reconnects (or a fleet of them
/// sharing one user) pays for the hash once. Keyed by a SHA-256 of hash and password:
/// the password itself is never kept. Only successes are cached; every wrong password
/// costs a full verification, limited by [`HASHERS`].
static VERIFIED: LazyLock<Mutex<HashSet<[u8; 32]>>> = LazyLock::new(Default::default);
const VERIFIED_MAX: usize = 4096;

fn verified_key(configured: &str, given: &str) -> [u8; 32] {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update((configured.len() as u64).to_be_bytes());
    h.update(configured.as_bytes());
    h.update(given.as_bytes());
    h.finalize().into()
}

/// Compare secrets in time that depends on their lengths only, not on where they differ.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

fn is_bcrypt(s: &str) -> bool {
    ["$2a$", "$2b$", "$2x$", "$2y$"]
        .iter()
        .any(|p| s.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bcrypt_secrets_are_verified_not_compared() {
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        assert!(secret_matches(&hash, "s3cret"));
        assert!(
            !secret_matches(&hash, &hash),
            "the hash itself is not the password"
        );
        assert!(!secret_matches(&hash, "nope"));
        assert!(secret_matches("plain", "plain"));
        assert!(!secret_matches("plain", "plaiN"));
        assert!(!secret_matches("plain", "plain2"));
        assert!(!secret_matches("", "x"));
        assert!(secret_matches("", ""));
    }

    #[test]
    fn successful_bcrypt_checks_are_cached_failures_are_not() {
        let hash = bcrypt::hash("cached", 4).unwrap();
        let opts = Options {
            username: "u".into(),
            password: hash,
            ..Options::default()
        };
        assert_eq!(
            check_cached(&opts, &connect("u", "cached")),
            Check::NeedsHash
        );
        assert_eq!(
            check_cached(&opts, &connect("x", "cached")),
            Check::Done(None)
        );
        assert!(check(&opts, &connect("u", "wrong")).is_none());
        assert_eq!(
            check_cached(&opts, &connect("u", "wrong")),
            Check::NeedsHash
        );
        assert!(check(&opts, &connect("u", "cached")).is_some());
        assert!(matches!(
            check_cached(&opts, &connect("u", "cached")),
            Check::Done(Some(_))
        ));
    }

    #[tokio::test]
    async fn off_runtime_check_answers_like_check() {
        let hash = bcrypt::hash("p", 4).unwrap();
        let opts = Arc::new(Options {
            users: vec![User {
                password: hash,
                ..user("a", None, &[])
            }],
            ..Options::default()
        });
        let ok = check_off_runtime(opts.clone(), connect("a", "p")).await;
        assert_eq!(ok.map(|a| a.user), Some("a".to_string()));
        assert!(check_off_runtime(opts, connect("a", "q")).await.is_none());
    }

    fn connect(user: &str, pass: &str) -> ConnectInfo {
        ConnectInfo {
            user: user.into(),
            pass: pass.into(),
            ..ConnectInfo::default()
        }
    }

    fn user(name: &str, permissions: Option<Permissions>, types: &[&str]) -> User {
        User {
            username: name.into(),
            password: name.into(),
            permissions,
            allowed_connection_types: types.iter().map(|t| t.to_string()).collect(),
            account: String::new(),
        }
    }

    #[test]
    fn listed_users_get_their_permissions_or_the_defaults() {
        let own = Permissions {
            publish: Some(crate::options::SubjectPermission {
                allow: vec!["own".into()],
                deny: Vec::new(),
            }),
            ..Permissions::default()
        };
        let defaults = Permissions {
            response: Some(crate::options::ResponsePermission::default()),
            ..Permissions::default()
        };
        let opts = Options {
            users: vec![
                user("a", Some(own.clone()), &[]),
                user("b", None, &[]),
                user("w", None, &["WEBSOCKET"]),
                user("s", None, &["MQTT", "STANDARD"]),
            ],
            default_permissions: Some(defaults.clone()),
            no_auth_user: "b".into(),
            ..Options::default()
        };
        assert!(auth_configured(&opts) && !auth_required(&opts));
        let a = check(&opts, &connect("a", "a")).unwrap();
        assert_eq!((a.user.as_str(), a.permissions), ("a", Some(&own)));
        let b = check(&opts, &connect("b", "b")).unwrap();
        assert_eq!(b.permissions, Some(&defaults));
        assert_eq!(check(&opts, &connect("", "")), no_auth_user(&opts));
        assert_eq!(no_auth_user(&opts).unwrap().user, "b");
        assert_eq!(
            check(&opts, &connect("a", "x")),
            None,
            "no fallback on bad credentials"
        );
        assert_eq!(
            check(&opts, &connect("w", "w")),
            None,
            "websocket-only user"
        );
        assert!(check(&opts, &connect("s", "s")).is_some());
        // A single user and a token get no permissions, defaults or not.
        let single = Options {
            username: "u".into(),
            password: "p".into(),
            default_permissions: Some(defaults),
            ..Options::default()
        };
        assert_eq!(
            check(&single, &connect("u", "p")).unwrap().permissions,
            None
        );
    }
}
