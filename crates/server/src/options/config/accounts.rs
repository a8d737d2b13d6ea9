//! The `accounts {}` block, as nats-server 2.9.10's `parseAccounts` reads it: account
//! names (`accounts: [A, B]` or `accounts { A: {...}, B {...} }`) and the users of each
//! account, which join `Options::users` with `User::account` set.
//!
//! Implemented per account: `users` (user/password and nkey users, with permissions) and
//! `default_permissions` (the permissions of the account's users that have none).
//! `exports` and `imports` are read and wired in `config/imports.rs`.
//! Refused, never silently ignored, because ignoring them would change who may see what:
//! `jetstream`, `limits` and the account's own `nkey`. An account's
//! `mappings` are read as the top-level block is (`mappings.rs`).
//!
//! Invariant: a user name or nkey is unique across `authorization { users }` and every
//! account (Go's "Duplicate user %q detected" / "Duplicate nkey %q detected", reported at
//! the account's `users` key).

use super::cluster::users;
use super::imports::{self, Pending};
use super::permissions;
use super::value::{effective, go_quote, Diag};
use crate::options::{Options, Permissions};
use nats_conf::{Entry, Value};

/// nats-server's reserved account name (`isReservedAccount`).
const GLOBAL: &str = "$G";

/// The top-level `accounts`.
pub(super) fn parse(o: &mut Options, e: &Entry, d: &mut Diag) {
    match &e.item.value {
        Value::Array(items) => {
            for it in items {
                let Some(name) = d.string(&it.pos, &it.value) else {
                    continue;
                };
                if name == GLOBAL {
                    d.error(
                        &it.pos,
                        format!("{} is a Reserved Account", go_quote(&name)),
                    );
                    continue;
                }
                if o.accounts.contains(&name) {
                    d.error(&it.pos, format!("Duplicate Account Entry: {name}"));
                    continue;
                }
                o.accounts.push(name);
            }
        }
        Value::Map(m) => {
            let mut pending = Vec::new();
            for acc in effective(m) {
                pending.push(account(o, acc, d));
            }
            // Go wires exports and imports only when nothing failed so far.
            if d.report.errors.is_empty() {
                imports::wire(o, pending, &e.key_pos, d);
            }
        }
        _ => {
            let _ = d.map(&e.key_pos, &e.item.value);
        }
    }
}

fn account(o: &mut Options, acc: &Entry, d: &mut Diag) -> Pending {
    let mut pending = Pending::default();
    if acc.used_as_variable {
        return pending;
    }
    let Value::Map(m) = &acc.item.value else {
        d.error(&acc.key_pos, "Expected map entries for accounts");
        return pending;
    };
    let name = acc.key.clone();
    if name == GLOBAL {
        d.error(
            &acc.key_pos,
            format!("{} is a Reserved Account", go_quote(&name)),
        );
        return pending;
    }
    if !o.accounts.contains(&name) {
        o.accounts.push(name.clone());
    }
    let mut list = None;
    let mut users_pos = acc.key_pos.clone();
    let mut defaults: Option<Permissions> = None;
    for f in effective(m) {
        match f.key.to_ascii_lowercase().as_str() {
            "users" => {
                users_pos = f.key_pos.clone();
                list = users(f, d);
            }
            "default_permissions" => {
                if let Some(p) = permissions::user_permissions(f, d) {
                    defaults = Some(p);
                }
            }
            "exports" => imports::exports(&name, f, &mut pending, d),
            "imports" => imports::imports(&name, f, &mut pending, d),
            "mappings" | "maps" => {
                let mut list = Vec::new();
                super::mappings::parse_into(&mut list, &f.item.pos, &f.item.value, d);
                match o.account_mappings.iter_mut().find(|(a, _)| *a == name) {
                    Some(slot) => slot.1 = list,
                    None => o.account_mappings.push((name.clone(), list)),
                }
            }
            "jetstream" => match &f.item.value {
                Value::Bool(b) => o.jetstream.accounts.push((name.clone(), *b)),
                Value::String(s)
                    if matches!(s.to_ascii_lowercase().as_str(), "enabled" | "enable") =>
                {
                    o.jetstream.accounts.push((name.clone(), true))
                }
                Value::String(s)
                    if matches!(s.to_ascii_lowercase().as_str(), "disabled" | "disable") =>
                {
                    o.jetstream.accounts.push((name.clone(), false))
                }
                Value::String(s) => d.error(
                    &f.item.pos,
                    format!("Expected 'enabled' or 'disabled' for string value, got '{s}'"),
                ),
                Value::Map(m) => {
                    let limits = super::jetstream::account_limits(m, d);
                    o.jetstream.accounts.push((name.clone(), true));
                    o.jetstream.account_limits.push((name.clone(), limits));
                }
                _ => d.refuse(
                    f,
                    "this form of account JetStream settings is not implemented",
                ),
            },
            "limits" => d.refuse(f, "account limits are not implemented"),
            "nkey" => d.refuse(f, "account nkeys are not implemented"),
            _ => d.unknown(f),
        }
    }
    let Some(list) = list else { return pending };
    if list.is_empty() {
        return pending;
    }
    if !o.username.is_empty() {
        d.error(&users_pos, "Can not have a single user/pass and accounts");
        return pending;
    }
    if !o.authorization.is_empty() {
        d.error(&users_pos, "Can not have a token and accounts");
        return pending;
    }
    // nats-server adds the nkey users first.
    for mut u in list.nkeys {
        if name_taken(o, &u.nkey) {
            d.error(
                &users_pos,
                format!("Duplicate nkey {} detected", go_quote(&u.nkey)),
            );
            continue;
        }
        if u.permissions.is_none() {
            u.permissions = defaults.clone();
        }
        u.account = name.clone();
        o.nkeys.push(u);
    }
    for mut u in list.users {
        if name_taken(o, &u.username) {
            d.error(
                &users_pos,
                format!("Duplicate user {} detected", go_quote(&u.username)),
            );
            continue;
        }
        if u.permissions.is_none() {
            u.permissions = defaults.clone();
        }
        u.account = name.clone();
        o.users.push(u);
    }
    pending
}

/// Is `name` already a user name or an nkey (one name space, as nats-server's check)?
fn name_taken(o: &Options, name: &str) -> bool {
    o.users.iter().any(|x| x.username == name) || o.nkeys.iter().any(|x| x.nkey == name)
}
