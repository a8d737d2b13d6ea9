//! Client authentication: a single user/password, a token, or a list of users (with
//! passwords, or nkey users that sign the INFO's nonce, see [`crate::nkey`]), checked at
//! CONNECT as nats-server does, and which permissions the client gets (users of the list
//! only: their own, or `default_permissions`). A configured password or token that is a bcrypt hash
//! (`$2a$…`, `$2b$…`, `$2y$…`) is verified as one, as in Go's config files.
//!
//! As in nats-server, a CONNECT with an `nkey` is checked against the nkey users only
//! (when there are any), before anything else: its user, password or token are not
//! looked at, and the `no_auth_user` does not apply.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock};

use nats_proto::info::ConnectInfo;
use parking_lot::Mutex;

use crate::options::{NkeyUser, Options, Permissions, User};

/// Whether clients are told to authenticate (INFO's `auth_required`): credentials are
/// configured and there is no `no_auth_user` to fall back on.
pub fn auth_required(opts: &Options) -> bool {
    auth_configured(opts) && opts.no_auth_user.is_empty()
}

/// Whether credentials are configured at all. Even with a `no_auth_user`, nats-server
/// checks every CONNECT against them (wrong credentials are refused, not taken for the
/// fallback user) and expects a CONNECT within the auth timeout.
pub fn auth_configured(opts: &Options) -> bool {
    !opts.username.is_empty()
        || !opts.authorization.is_empty()
        || !opts.users.is_empty()
        || !opts.nkeys.is_empty()
        || opts.operator.enabled()
}

/// Who a client turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub struct Authorized<'o> {
    /// The user name (empty for token auth), or the public key of an nkey user.
    pub user: String,
    /// The permissions that apply: the user's own or the `default_permissions` (users of
    /// the `users` list only, as nats-server).
    pub permissions: Option<&'o Permissions>,
    /// An nkey user, whose signature of the nonce was verified.
    pub nkey: bool,
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
            nkey: false,
        }
    }

    /// The same for an nkey user (nats-server applies the top-level defaults to both).
    fn nkey_listed(opts: &'o Options, u: &'o NkeyUser) -> Authorized<'o> {
        Authorized {
            user: u.nkey.clone(),
            permissions: u.permissions.as_ref().or(if u.account.is_empty() {
                opts.default_permissions.as_ref()
            } else {
                None
            }),
            nkey: true,
        }
    }
}

/// The account a user authenticated as `user` (a name or an nkey: the configuration keeps
/// them distinct) belongs to: its `User::account`, or `$G` (single user, token, anonymous
/// clients, users of `authorization { users }`).
pub fn account_of<'o>(opts: &'o Options, user: &str) -> &'o str {
    let users = opts
        .users
        .iter()
        .filter(|u| u.username == user)
        .map(|u| u.account.as_str());
    let nkeys = opts
        .nkeys
        .iter()
        .filter(|u| u.nkey == user)
        .map(|u| u.account.as_str());
    users
        .chain(nkeys)
        .find(|a| !a.is_empty())
        .unwrap_or(crate::account::GLOBAL_ACCOUNT)
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
    standard_type_allowed(&u.allowed_connection_types)
}

fn standard_type_allowed(types: &[String]) -> bool {
    types.is_empty() || types.iter().any(|t| t == "STANDARD")
}

/// An authorized user detached from the options it came from (the result of a check that
/// ran on another thread).
#[derive(Debug, Clone, PartialEq)]
pub struct OwnedAuthorized {
    pub user: String,
    pub permissions: Option<Permissions>,
    pub nkey: bool,
}

impl Authorized<'_> {
    pub fn to_owned(&self) -> OwnedAuthorized {
        OwnedAuthorized {
            user: self.user.clone(),
            permissions: self.permissions.cloned(),
            nkey: self.nkey,
        }
    }
}

/// What a CONNECT's `sig` is checked against.
#[derive(Debug, Clone, Copy)]
pub enum Proof<'a> {
    /// The nonce of the INFO the client got (empty when it got none).
    Nonce(&'a [u8]),
    /// The signature was verified when the client connected; a reload only asks whether
    /// its key is still configured.
    Verified,
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
pub fn check<'o>(opts: &'o Options, c: &ConnectInfo, proof: Proof<'_>) -> Option<Authorized<'o>> {
    match check_with(opts, c, proof, true) {
        Check::Done(a) => a,
        Check::NeedsHash => None,
    }
}

/// Check a CONNECT without running bcrypt: plain secrets, tokens, nkey signatures and
/// bcrypt passwords verified before (see [`secret_matches`]) answer at once; anything
/// else says [`Check::NeedsHash`].
pub fn check_cached<'o>(opts: &'o Options, c: &ConnectInfo, proof: Proof<'_>) -> Check<'o> {
    check_with(opts, c, proof, false)
}

/// Does this CONNECT go to the nkey users (nats-server: there are some, and it names an
/// `nkey`)?
fn nkey_path(opts: &Options, c: &ConnectInfo) -> bool {
    !opts.nkeys.is_empty() && !c.nkey.is_empty()
}

/// The nkey user a CONNECT proves to be. `Err(None)`: no such user here (unknown key, or
/// limited to other connection types); `Err(Some(_))`: the signature does not prove it.
fn check_nkey<'o>(
    opts: &'o Options,
    c: &ConnectInfo,
    proof: Proof<'_>,
) -> Result<Authorized<'o>, Option<crate::nkey::SigError>> {
    let u = opts
        .nkeys
        .iter()
        .find(|u| u.nkey == c.nkey && standard_type_allowed(&u.allowed_connection_types))
        .ok_or(None)?;
    if let Proof::Nonce(nonce) = proof {
        crate::nkey::verify(&c.nkey, &c.sig, nonce).map_err(Some)?;
    }
    Ok(Authorized::nkey_listed(opts, u))
}

/// Why an nkey CONNECT was refused, for the debug log (nats-server's "Signature not
/// verified" and the like); `None` when it was not refused for its signature.
pub fn nkey_refusal(
    opts: &Options,
    c: &ConnectInfo,
    nonce: &[u8],
) -> Option<crate::nkey::SigError> {
    if !nkey_path(opts, c) {
        return None;
    }
    check_nkey(opts, c, Proof::Nonce(nonce)).err().flatten()
}

/// How many bcrypt verifications may run at once: they take whole cores, and a burst of
/// wrong passwords must not take every core from the message path.
static HASHERS: LazyLock<tokio::sync::Semaphore> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    tokio::sync::Semaphore::new((cores / 2).max(1))
});

/// [`check`] on the blocking pool, at most [`HASHERS`] at a time, for a client that got
/// `nonce` in its INFO.
pub async fn check_off_runtime(
    opts: Arc<Options>,
    c: ConnectInfo,
    nonce: String,
) -> Option<OwnedAuthorized> {
    off_runtime(Box::new(move || {
        check(&opts, &c, Proof::Nonce(nonce.as_bytes())).map(|a| a.to_owned())
    }))
    .await
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

fn check_with<'o>(opts: &'o Options, c: &ConnectInfo, proof: Proof<'_>, hash: bool) -> Check<'o> {
    let done = Check::Done;
    if !c.account.is_empty() || c.new_account {
        return done(None);
    }
    if nkey_path(opts, c) {
        return done(check_nkey(opts, c, proof).ok());
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
            nkey: false,
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
            nkey: false,
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
    /// The public key of the nkey user the client proved to be (its signature of the
    /// nonce was verified; a reload only checks that the key is still configured).
    /// Empty for every other client.
    pub nkey: String,
}

/// Never print the secrets (a stray `{:?}` of a connection's metadata must not leak them).
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("nkey", &self.nkey)
            .field("no_auth_fallback", &self.no_auth_fallback)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// What a client that passed [`check`] with `c` is recorded as (`nkey`: as the nkey
    /// user whose signature was verified, see [`Authorized::nkey`]).
    pub fn of_client(opts: &Options, c: &ConnectInfo, nkey: bool) -> Credentials {
        if nkey {
            return Credentials {
                nkey: c.nkey.clone(),
                ..Credentials::default()
            };
        }
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
            nkey: String::new(),
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
            nkey: String::new(),
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
    if !c.nkey.is_empty() {
        // As nats-server: a client whose nkey is no longer configured (or no nkey at
        // all is) is closed quietly, as one that moved to another account.
        return match opts.nkeys.iter().find(|u| u.nkey == c.nkey) {
            None => Recheck::UserRemoved,
            Some(u) if !standard_type_allowed(&u.allowed_connection_types) => Recheck::Failed,
            Some(u) => Recheck::Keep(Authorized::nkey_listed(opts, u).permissions),
        };
    }
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
    match check(opts, &ci, Proof::Verified) {
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

    const NO: Proof<'static> = Proof::Nonce(b"");

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
            check_cached(&opts, &connect("u", "cached"), NO),
            Check::NeedsHash
        );
        assert_eq!(
            check_cached(&opts, &connect("x", "cached"), NO),
            Check::Done(None)
        );
        assert!(check(&opts, &connect("u", "wrong"), NO).is_none());
        assert_eq!(
            check_cached(&opts, &connect("u", "wrong"), NO),
            Check::NeedsHash
        );
        assert!(check(&opts, &connect("u", "cached"), NO).is_some());
        assert!(matches!(
            check_cached(&opts, &connect("u", "cached"), NO),
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
        let ok = check_off_runtime(opts.clone(), connect("a", "p"), String::new()).await;
        assert_eq!(ok.map(|a| a.user), Some("a".to_string()));
        assert!(check_off_runtime(opts, connect("a", "q"), String::new())
            .await
            .is_none());
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
    fn nkey_users_sign_the_nonce() {
        let kp = nkeys::KeyPair::new_user();
        let pk = kp.public_key();
        let own = Permissions {
            publish: Some(crate::options::SubjectPermission {
                allow: vec!["own".into()],
                deny: Vec::new(),
            }),
            ..Permissions::default()
        };
        let opts = Options {
            users: vec![user("a", None, &[])],
            nkeys: vec![NkeyUser {
                nkey: pk.clone(),
                permissions: Some(own.clone()),
                ..NkeyUser::default()
            }],
            no_auth_user: "a".into(),
            ..Options::default()
        };
        assert!(auth_configured(&opts));
        let nonce = crate::ids::nonce();
        let sig = |kp: &nkeys::KeyPair, n: &str| {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(kp.sign(n.as_bytes()).unwrap())
        };
        let ci = |nkey: &str, sig: String| ConnectInfo {
            nkey: nkey.into(),
            sig,
            ..ConnectInfo::default()
        };
        let proof = Proof::Nonce(nonce.as_bytes());
        let good = ci(&pk, sig(&kp, &nonce));
        let a = check(&opts, &good, proof).unwrap();
        assert_eq!(
            (a.user.as_str(), a.permissions, a.nkey),
            (pk.as_str(), Some(&own), true)
        );
        assert!(matches!(
            check_cached(&opts, &good, proof),
            Check::Done(Some(_))
        ));
        // Another key's signature, another nonce's, none: refused, and the
        // `no_auth_user` is no fallback for a client that names an nkey.
        let other = nkeys::KeyPair::new_user();
        for bad in [
            ci(&pk, sig(&other, &nonce)),
            ci(&pk, sig(&kp, "other nonce")),
            ci(&pk, String::new()),
            ci(&other.public_key(), sig(&other, &nonce)),
        ] {
            assert_eq!(check(&opts, &bad, proof), None);
        }
        assert_eq!(
            nkey_refusal(&opts, &ci(&pk, String::new()), nonce.as_bytes()),
            Some(crate::nkey::SigError::Missing)
        );
        assert_eq!(nkey_refusal(&opts, &good, nonce.as_bytes()), None);
        // A password user still logs in beside the nkey user.
        assert!(check(&opts, &connect("a", "a"), proof).is_some());
        // Recorded as the key; a reload checks the key is still there.
        let creds = Credentials::of_client(&opts, &good, true);
        assert_eq!(
            (creds.nkey.as_str(), creds.user.as_str()),
            (pk.as_str(), "")
        );
        assert_eq!(recheck(&opts, &creds), Recheck::Keep(Some(&own)));
        let gone = Options {
            nkeys: Vec::new(),
            ..opts.clone()
        };
        assert_eq!(recheck(&gone, &creds), Recheck::UserRemoved);
        let websocket_only = Options {
            nkeys: vec![NkeyUser {
                nkey: pk.clone(),
                allowed_connection_types: vec!["WEBSOCKET".into()],
                ..NkeyUser::default()
            }],
            ..opts.clone()
        };
        assert_eq!(recheck(&websocket_only, &creds), Recheck::Failed);
        assert_eq!(check(&websocket_only, &good, proof), None);
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
        let a = check(&opts, &connect("a", "a"), NO).unwrap();
        assert_eq!((a.user.as_str(), a.permissions), ("a", Some(&own)));
        let b = check(&opts, &connect("b", "b"), NO).unwrap();
        assert_eq!(b.permissions, Some(&defaults));
        assert_eq!(check(&opts, &connect("", ""), NO), no_auth_user(&opts));
        assert_eq!(no_auth_user(&opts).unwrap().user, "b");
        assert_eq!(
            check(&opts, &connect("a", "x"), NO),
            None,
            "no fallback on bad credentials"
        );
        assert_eq!(
            check(&opts, &connect("w", "w"), NO),
            None,
            "websocket-only user"
        );
        assert!(check(&opts, &connect("s", "s"), NO).is_some());
        // A single user and a token get no permissions, defaults or not.
        let single = Options {
            username: "u".into(),
            password: "p".into(),
            default_permissions: Some(defaults),
            ..Options::default()
        };
        assert_eq!(
            check(&single, &connect("u", "p"), NO).unwrap().permissions,
            None
        );
    }
}
