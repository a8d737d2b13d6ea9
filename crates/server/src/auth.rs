//! Client authentication: a single user/password, a token, or a list of users, checked at
//! CONNECT as nats-server does. Passwords may be bcrypt hashes in Go's config files; those
//! are not supported yet and never match.

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
        return (c.auth_token == opts.authorization).then(String::new);
    }
    if !opts.username.is_empty() {
        return (user == opts.username && pass == opts.password).then(|| user.to_string());
    }
    opts.users
        .iter()
        .find(|u| u.username == user && u.password == pass)
        .map(|u| u.username.clone())
}
