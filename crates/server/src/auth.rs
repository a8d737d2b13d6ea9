//! Client authentication: a single user/password, a token, or a list of users, checked at
//! CONNECT as nats-server does, and which permissions the client gets (users of the list
//! only: their own, or `default_permissions`). A configured password or token that is a bcrypt hash
//! (`$2a$…`, `$2b$…`, `$2y$…`) is verified as one, as in Go's config files.

use nats_proto::info::ConnectInfo;

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
    fn listed(opts: &'o Options, u: &'o User) -> Authorized<'o> {
        Authorized {
            user: u.username.clone(),
            permissions: u.permissions.as_ref().or(opts.default_permissions.as_ref()),
        }
    }
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
fn standard_allowed(u: &User) -> bool {
    u.allowed_connection_types.is_empty()
        || u.allowed_connection_types.iter().any(|t| t == "STANDARD")
}

/// Check a CONNECT against the configured credentials.
pub fn check<'o>(opts: &'o Options, c: &ConnectInfo) -> Option<Authorized<'o>> {
    if !c.account.is_empty() || c.new_account {
        return None;
    }
    let user = c.user.as_str();
    let pass = c.pass.as_str();
    if user.is_empty() && pass.is_empty() && c.auth_token.is_empty() {
        if let Some(a) = no_auth_user(opts) {
            return Some(a);
        }
    }
    if !opts.authorization.is_empty() {
        return secret_matches(&opts.authorization, &c.auth_token).then(|| Authorized {
            user: String::new(),
            permissions: None,
        });
    }
    if !opts.username.is_empty() {
        return (user == opts.username && secret_matches(&opts.password, pass)).then(|| {
            Authorized {
                user: user.to_string(),
                permissions: None,
            }
        });
    }
    opts.users
        .iter()
        .find(|u| u.username == user && standard_allowed(u) && secret_matches(&u.password, pass))
        .map(|u| Authorized::listed(opts, u))
}

/// Does `given` match the configured secret (plain text, or a bcrypt hash of it)?
pub fn secret_matches(configured: &str, given: &str) -> bool {
    if is_bcrypt(configured) {
        return bcrypt::verify(given, configured).unwrap_or(false);
    }
    ct_eq(configured.as_bytes(), given.as_bytes())
}

/// Constant-time equality for secrets: the time taken does not depend on where the
/// first difference is (only on the lengths, which may differ early).
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
