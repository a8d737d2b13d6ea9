//! The `authorization {}` block (client users, their permissions and the default
//! permissions) and the `cluster {}` block (routes and route authorization), as
//! nats-server's `parseAuthorization`, `parseUsers` and `parseCluster` read them. The
//! permission forms themselves are in `permissions.rs`.
//!
//! Invariants: a block with problems still applies what it could read, except where
//! nats-server drops the whole list (users, routes) after an error in it; the security
//! checks (user+token, single user+users, duplicate users) reject the block entirely.

use super::known::{self, Support};
use super::permissions;
use super::value::{effective, go_display, go_quote, Diag};
use super::{listen, set};
use crate::options::{NkeyUser, Options, Permissions, User};
use nats_conf::{Entry, Item, Pos, Value};

/// The fields an `authorization {}` block can set.
#[derive(Default)]
struct Auth {
    user: String,
    pass: String,
    token: String,
    timeout: f64,
    /// `Some` as soon as a `users` key was read without error (even `users: []`).
    users: Option<UserList>,
    default_permissions: Option<Permissions>,
}

/// `timeout`: seconds as int or float; any other type means 1s, as in nats-server.
fn timeout(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        _ => 1.0,
    }
}

/// The top-level `authorization {}`.
pub(super) fn client_authorization(o: &mut Options, e: &Entry, d: &mut Diag) {
    let Some(m) = d.map(&e.key_pos, &e.item.value) else {
        return;
    };
    let mut a = Auth::default();
    for f in effective(m) {
        let (pos, v) = (&f.key_pos, &f.item.value);
        match f.key.to_ascii_lowercase().as_str() {
            "user" | "username" => set(&mut a.user, d.string(pos, v)),
            "pass" | "password" => set(&mut a.pass, d.string(pos, v)),
            "token" => set(&mut a.token, d.string(pos, v)),
            "timeout" => a.timeout = timeout(v),
            "users" => a.users = users(f, d),
            "default_permission" | "default_permissions" | "permissions" => {
                if let Some(p) = permissions::user_permissions(f, d) {
                    a.default_permissions = Some(p);
                }
            }
            other => match known::authorization(other) {
                Some(Support::Refuse(what)) => d.refuse(f, what),
                Some(Support::Ignore(what)) => d.unsupported(f, what),
                None => d.unknown(f),
            },
        }
    }
    o.username = a.user.clone();
    o.password = a.pass.clone();
    o.authorization = a.token.clone();
    o.auth_timeout = a.timeout;
    o.default_permissions = a.default_permissions.clone();
    let pos = &e.key_pos;
    if (!a.user.is_empty() || !a.pass.is_empty()) && !a.token.is_empty() {
        d.error(pos, "Cannot have a user/pass and token");
        return;
    }
    // Users of accounts parsed before this block are already in `o.users` and
    // `o.nkeys`; those of the global account (an earlier `authorization`, on reload) are
    // replaced.
    o.users.retain(|u| !u.account.is_empty());
    o.nkeys.retain(|u| !u.account.is_empty());
    let from_accounts = !o.users.is_empty() || !o.nkeys.is_empty();
    let Some(list) = a.users.or_else(|| from_accounts.then(UserList::default)) else {
        return;
    };
    if !a.user.is_empty() {
        d.error(pos, "Can not have a single user/pass and a users array");
        return;
    }
    if !a.token.is_empty() {
        d.error(pos, "Can not have a token and a users array");
        return;
    }
    // One name space for user names and nkeys, as nats-server's duplicate check.
    let mut seen: std::collections::HashSet<&str> = o
        .users
        .iter()
        .map(|u| u.username.as_str())
        .chain(o.nkeys.iter().map(|u| u.nkey.as_str()))
        .collect();
    for u in &list.users {
        if !seen.insert(u.username.as_str()) {
            d.error(
                pos,
                format!("Duplicate user {} detected", go_quote(&u.username)),
            );
            return;
        }
    }
    for u in &list.nkeys {
        if !seen.insert(u.nkey.as_str()) {
            d.error(
                pos,
                format!("Duplicate nkey {} detected", go_quote(&u.nkey)),
            );
            return;
        }
    }
    o.users.extend(list.users);
    o.nkeys.extend(list.nkeys);
}

/// The entries of a `users` list: user/password users and nkey users.
#[derive(Default)]
pub(super) struct UserList {
    pub users: Vec<User>,
    pub nkeys: Vec<NkeyUser>,
}

impl UserList {
    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.nkeys.is_empty()
    }
}

/// `users: [ {user, password} or {nkey}, ... ]`; `None` when the list had errors
/// (nats-server then keeps no users from it).
pub(super) fn users(e: &Entry, d: &mut Diag) -> Option<UserList> {
    let Value::Array(items) = &e.item.value else {
        d.error(
            &e.key_pos,
            format!(
                "Expected users field to be an array, got {}",
                go_display(&e.item.value)
            ),
        );
        return None;
    };
    let errors_before = d.report.errors.len();
    let mut out = UserList::default();
    for item in items {
        let Value::Map(um) = &item.value else {
            d.error(
                &item.pos,
                format!(
                    "Expected user entry to be a map/struct, got {}",
                    go_display(&item.value)
                ),
            );
            continue;
        };
        let mut user = User::default();
        let mut nkey = String::new();
        // nats-server reports entry-level problems at the last field it looked at.
        let mut last: &Pos = &item.pos;
        for f in effective(um) {
            let (pos, v) = (&f.key_pos, &f.item.value);
            last = pos;
            match f.key.to_ascii_lowercase().as_str() {
                // A non-string here makes nats-server's `parseUsers` panic: the error is
                // reported and the whole list dropped, with nothing more said about it.
                "nkey" => nkey = d.string(pos, v)?,
                "user" | "username" => user.username = d.string(pos, v)?,
                "pass" | "password" => user.password = d.string(pos, v)?,
                "permission" | "permissions" | "authorization" => {
                    if let Some(p) = permissions::user_permissions(f, d) {
                        user.permissions = Some(p);
                    }
                }
                "allowed_connection_types" | "connection_types" | "clients" => {
                    user.allowed_connection_types = permissions::allowed_connection_types(f, d);
                }
                other => match known::user(other) {
                    Some(Support::Refuse(what)) => d.refuse(f, what),
                    Some(Support::Ignore(what)) => d.unsupported(f, what),
                    None => d.unknown(f),
                },
            }
        }
        if nkey.is_empty() && user.username.is_empty() {
            d.error(last, "User entry requires a user");
            return None;
        }
        if !nkey.is_empty() {
            if !crate::nkey::is_valid_public_user_key(&nkey) {
                d.error(last, "Not a valid public nkey for a user");
                return None;
            }
            if !user.username.is_empty() || !user.password.is_empty() {
                d.error(last, "Nkey users do not take usernames or passwords");
                return None;
            }
            out.nkeys.push(NkeyUser {
                nkey,
                permissions: user.permissions,
                allowed_connection_types: user.allowed_connection_types,
                account: String::new(),
            });
            continue;
        }
        out.users.push(user);
    }
    (d.report.errors.len() == errors_before).then_some(out)
}

/// `cluster {}`.
pub(super) fn cluster(o: &mut Options, e: &Entry, d: &mut Diag) {
    let Value::Map(m) = &e.item.value else {
        d.error(
            &e.key_pos,
            format!(
                "Expected map to define cluster, got {}",
                super::go_type(&e.item.value)
            ),
        );
        return;
    };
    for f in effective(m) {
        let (pos, v) = (&f.key_pos, &f.item.value);
        match f.key.to_ascii_lowercase().as_str() {
            "name" => set(&mut o.cluster.name, d.string(pos, v)),
            "listen" => {
                if let Some((h, p)) = listen(d, pos, v) {
                    o.cluster.host = h;
                    o.cluster.port = p;
                }
            }
            "port" => set(&mut o.cluster.port, d.int32(pos, v)),
            "host" | "net" => set(&mut o.cluster.host, d.string(pos, v)),
            "authorization" => cluster_authorization(o, f, d),
            "routes" => {
                if let Some(items) = d.array(pos, v) {
                    set(&mut o.cluster.routes, routes(items, d));
                }
            }
            "cluster_advertise" | "advertise" => set(&mut o.cluster.advertise, d.string(pos, v)),
            "no_advertise" => set(&mut o.cluster.no_advertise, d.bool(pos, v)),
            "tls" => o.cluster.tls = super::tls::parse(f, d, false),
            "connect_retries" => set(&mut o.cluster.connect_retries, d.int(pos, v)),
            other => match known::cluster(other) {
                Some(Support::Ignore(what)) => d.unsupported(f, what),
                Some(Support::Refuse(what)) => d.refuse(f, what),
                None => d.unknown(f),
            },
        }
    }
}

/// `cluster { authorization { user, password, timeout } }`: one user, no token.
fn cluster_authorization(o: &mut Options, e: &Entry, d: &mut Diag) {
    let Some(m) = d.map(&e.key_pos, &e.item.value) else {
        return;
    };
    let mut a = Auth::default();
    let mut rejected = None;
    for f in effective(m) {
        let (pos, v) = (&f.key_pos, &f.item.value);
        match f.key.to_ascii_lowercase().as_str() {
            "user" | "username" => set(&mut a.user, d.string(pos, v)),
            "pass" | "password" => set(&mut a.pass, d.string(pos, v)),
            "token" => {
                set(&mut a.token, d.string(pos, v));
                rejected = rejected.or(Some("Cluster authorization does not support tokens"));
            }
            "timeout" => a.timeout = timeout(v),
            "users" => rejected = Some("Cluster authorization does not allow multiple users"),
            "default_permission" | "default_permissions" | "permissions" => {
                d.warn_field(
                    &e.key_pos,
                    &e.key,
                    "setting \"permissions\" within cluster authorization block is deprecated",
                );
                d.unsupported(f, "route permissions are not implemented");
            }
            _ => d.unknown(f),
        }
    }
    if let Some(msg) = rejected {
        d.error(&e.key_pos, msg);
        return;
    }
    o.cluster.username = a.user;
    o.cluster.password = a.pass;
    o.cluster.auth_timeout = a.timeout;
}

/// `routes: [ url, ... ]`; `None` when an entry could not be read (nats-server then keeps
/// none of them).
fn routes(items: &[Item], d: &mut Diag) -> Option<Vec<url::Url>> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut ok = true;
    for item in items {
        let Some(s) = d.string(&item.pos, &item.value) else {
            // nats-server stops reading the list at the first non-string.
            return None;
        };
        if !seen.insert(s.clone()) {
            d.warn_field(&item.pos, &s, "Duplicate route entry detected");
            continue;
        }
        match parse_route_url(&s) {
            Ok(u) => out.push(u),
            Err(msg) => {
                d.error(&item.pos, msg);
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

/// A route URL (`nats://`, `nats-route://`, `tls://`, with optional `user:pass@`).
pub(crate) fn parse_route_url(s: &str) -> Result<url::Url, String> {
    let t = s.trim();
    url::Url::parse(t).map_err(|_| format!("error parsing route url [{}]", go_quote(t)))
}
