//! Client authentication: a single user/password, a token, or a list of users, checked at
//! CONNECT as nats-server does. A configured password or token that is a bcrypt hash
//! (`$2a$…`, `$2b$…`, `$2y$…`) is verified as one, as in Go's config files.

use nats_proto::info::ConnectInfo;

use crate::options::Options;

pub fn auth_required(opts: &Options) -> bool {
    (!opts.username.is_empty() || !opts.authorization.is_empty() || !opts.users.is_empty())
        && opts.no_auth_user.is_empty()
}

/// Check a CONNECT against the configured credentials. Returns the user name on success.
pub fn check(opts: &Options, c: &ConnectInfo) -> Option<String> {
    if !c.account.is_empty() || c.new_account {
        return None;
    }
    let user = c.user.as_str();
    let pass = c.pass.as_str();
    if user.is_empty() && c.auth_token.is_empty() && !opts.no_auth_user.is_empty() {
        if let Some(u) = opts.users.iter().find(|u| u.username == opts.no_auth_user) {
            return Some(u.username.clone());
        }
    }
    if !opts.authorization.is_empty() {
        return secret_matches(&opts.authorization, &c.auth_token).then(String::new);
    }
    if !opts.username.is_empty() {
        return (user == opts.username && secret_matches(&opts.password, pass))
            .then(|| user.to_string());
    }
    opts.users
        .iter()
        .find(|u| u.username == user && secret_matches(&u.password, pass))
        .map(|u| u.username.clone())
}

/// Does `given` match the configured secret (plain text, or a bcrypt hash of it)?
pub fn secret_matches(configured: &str, given: &str) -> bool {
    if is_bcrypt(configured) {
        return bcrypt::verify(given, configured).unwrap_or(false);
    }
    // Not a timing-sensitive comparison: as nats-server, plain secrets are compared
    // directly; use bcrypt hashes in the config when that matters.
    configured == given
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
    }
}
