//! Operator mode keys (nats-server 2.9.10's `operator`, `trusted`, `resolver`,
//! `resolver_preload`), read as `processConfigFileLine` reads them, and the checks of
//! `validateTrustedOperators` that depend on the file alone.
//!
//! Only the `MEMORY` resolver is implemented. The NATS-based `full`/`cache` directory
//! resolvers, the URL resolver (written as `URL(...)`, or implied by an operator JWT's
//! `account_server_url`) and pinned accounts are refused: running without them would
//! either trust accounts we cannot look up or lose updates the operator relies on.

use nats_conf::{Entry, Value};

use super::value::Diag;
use crate::jwt;
use crate::options::{Options, Resolver};

/// `operator` (and its aliases): a JWT, a file holding one (possibly decorated), or a
/// list of those.
pub(super) fn operators(o: &mut Options, e: &Entry, d: &mut Diag) {
    let pos = &e.key_pos;
    let items: Vec<String> = match &e.item.value {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => {
            let mut out = Vec::new();
            for i in a {
                if let Some(s) = d.string(&i.pos, &i.value) {
                    out.push(s);
                }
            }
            out
        }
        other => {
            d.error(
                pos,
                format!(
                    "error parsing operators: unsupported type {}",
                    super::go_type(other)
                ),
            );
            return;
        }
    };
    o.operator.trusted_operators.clear();
    for item in items {
        match read_operator_jwt(&item) {
            Ok((token, claims)) => {
                if o.system_account.is_empty() {
                    o.system_account = claims.operator.system_account.clone();
                }
                o.operator.trusted_operators.push(token);
            }
            Err(err) => d.error(pos, format!("error parsing operator JWT: {err}")),
        }
    }
}

/// nats-server's `readOperatorJWT`: a file first; text that starts like a JWT is taken
/// inline when no such file exists.
pub(crate) fn read_operator_jwt(item: &str) -> Result<(String, jwt::OperatorClaims), String> {
    let contents = match std::fs::read_to_string(item) {
        Ok(c) => c,
        Err(_) if item.starts_with(jwt::JWT_PREFIX) => item.to_string(),
        Err(e) => return Err(format!("open {item}: {}", io_text(&e))),
    };
    let token = jwt::parse_decorated(&contents);
    let claims = jwt::decode_operator(&token).map_err(|e| e.to_string())?;
    Ok((token, claims))
}

/// Go's wording of the common open errors.
fn io_text(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// `trusted` / `trusted_keys`: one operator public key or a list.
pub(super) fn trusted(o: &mut Options, e: &Entry, d: &mut Diag) {
    let pos = &e.key_pos;
    let keys: Vec<String> = match &e.item.value {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|i| match &i.value {
                Value::String(s) => Some(s.clone()),
                other => {
                    d.error(
                        &i.pos,
                        format!(
                            "error parsing trusted: unsupported type in array {}",
                            super::go_type(other)
                        ),
                    );
                    None
                }
            })
            .collect(),
        other => {
            d.error(
                pos,
                format!(
                    "error parsing trusted: unsupported type {}",
                    super::go_type(other)
                ),
            );
            return;
        }
    };
    for k in &keys {
        if !jwt::is_public_key(k, 'O') {
            d.error(
                pos,
                format!("trust key {k:?} required to be a valid public operator nkey"),
            );
        }
    }
    o.operator.trusted_keys = keys;
}

/// `resolver`: `MEMORY`/`MEM` is implemented; `URL(...)` and the directory resolvers
/// are refused.
pub(super) fn resolver(o: &mut Options, e: &Entry, d: &mut Diag) {
    match &e.item.value {
        Value::String(s) => {
            let up = s.trim().to_ascii_uppercase();
            if up.starts_with("MEM") {
                o.operator.resolver = Resolver::Memory;
            } else if up.starts_with("URL") {
                d.refuse(e, "the URL account resolver is not implemented");
            } else {
                // nats-server leaves the resolver unset (and then fails validation).
                o.operator.resolver = Resolver::None;
            }
        }
        Value::Map(m) => dir_resolver(o, e, m, d),
        other => d.error(
            &e.key_pos,
            format!(
                "error parsing resolver: unsupported type {}",
                super::go_type(other)
            ),
        ),
    }
}

/// `resolver_preload`: a map of account public key to account JWT.
pub(super) fn preload(o: &mut Options, e: &Entry, d: &mut Diag) {
    let Value::Map(m) = &e.item.value else {
        d.error(
            &e.key_pos,
            "preload should be a map of account_public_key:account_jwt",
        );
        return;
    };
    o.operator.preload.clear();
    for pe in super::value::effective(m) {
        let Value::String(token) = &pe.item.value else {
            d.error(&pe.item.pos, "preload map value should be a string JWT");
            continue;
        };
        if jwt::decode_account(token).is_err() {
            d.error(&pe.item.pos, "invalid account JWT");
            continue;
        }
        o.operator.preload.push((pe.key.clone(), token.clone()));
    }
}

/// After the whole file: what nats-server derives from a single operator, and the
/// checks of `validateTrustedOperators` that concern the file.
pub(super) fn finish(o: &mut Options, resolver_given: bool, d: &mut Diag) {
    let op = &o.operator;
    if !op.enabled() {
        return;
    }
    let mut fail = |msg: String| d.report.errors.push(msg);
    if op.trusted_operators.len() == 1 && !resolver_given {
        // nats-server builds a URL resolver from the operator's `account_server_url`.
        if let Ok(c) = jwt::decode_operator(&op.trusted_operators[0]) {
            if !c.operator.account_server_url.is_empty() {
                fail(
                    "the operator JWT's account_server_url implies the URL account resolver, \
                     which is not implemented (set `resolver: MEMORY`); refusing to run"
                        .into(),
                );
                return;
            }
        }
    }
    if op.resolver == Resolver::None {
        fail("operators require an account resolver to be configured".into());
        return;
    }
    if !o.accounts.is_empty() {
        fail("operators do not allow Accounts to be configured directly".into());
    }
    if !o.users.is_empty() || !o.nkeys.is_empty() {
        fail("operators do not allow users to be configured directly".into());
    }
    if !op.trusted_operators.is_empty() && !op.trusted_keys.is_empty() {
        fail("conflicting options for 'TrustedKeys' and 'TrustedOperators'".into());
    }
    if matches!(op.resolver, Resolver::Full { .. })
        && o.system_account.is_empty()
        && !op.trusted_operators.is_empty()
    {
        fail(
            "using nats based account resolver - the system account needs to be specified in configuration or the operator jwt"
                .into(),
        );
    }
    let claims: Vec<_> = op
        .trusted_operators
        .iter()
        .filter_map(|t| jwt::decode_operator(t).ok())
        .collect();
    if !o.system_account.is_empty() {
        let any = claims.iter().any(|c| !c.operator.system_account.is_empty());
        let same = claims
            .iter()
            .any(|c| c.operator.system_account == o.system_account);
        if any && !same {
            fail("system_account in config and operator JWT must be identical".into());
        }
    }
    for c in &claims {
        if let Err(msg) = check_version(c) {
            fail(msg);
        }
        for k in &c.operator.signing_keys {
            if !jwt::is_public_key(k, 'O') {
                fail(format!(
                    "trusted Keys {k:?} are required to be a valid public operator nkey"
                ));
            }
        }
    }
}

/// `assert_server_version` against ours (2.9.10).
fn check_version(c: &jwt::OperatorClaims) -> Result<(), String> {
    let v = &c.operator.assert_server_version;
    if v.is_empty() {
        return Ok(());
    }
    let parts: Vec<_> = v.split('.').map(|p| p.parse::<u32>()).collect();
    let [Ok(ma), Ok(mi), Ok(up)] = parts.as_slice() else {
        return Err(format!(
            "operator {} expects version {v} got error instead: asserted server version must be of the form <major>.<minor>.<update>",
            c.data.subject
        ));
    };
    let ours = (2, 9, 10);
    if (*ma, *mi, *up) > ours {
        return Err(format!(
            "operator {} expected version {v} > server version 2.9.10",
            c.data.subject
        ));
    }
    Ok(())
}

/// The exports, imports and mappings of the preloaded account JWTs, as the `accounts {}`
/// block would give them: the rest of the server (wiring at start, reload, `/accountz`)
/// then treats them the same (see [`crate::operator::wiring`]). Only accounts signed by a
/// trusted key count; they are registered at start like configured accounts.
pub(super) fn jwt_accounts(o: &mut Options) {
    let op = &o.operator;
    if !op.enabled() {
        return;
    }
    let trusted = crate::operator::trusted_keys(op);
    let accounts: Vec<(String, jwt::AccountClaims)> = op
        .preload
        .iter()
        .filter_map(|(k, t)| jwt::decode_account(t).ok().map(|c| (k.clone(), c)))
        .filter(|(k, c)| c.data.subject == *k && trusted.contains(&c.data.issuer))
        .collect();
    let w = crate::operator::wiring::of(&accounts, None);
    for (key, _) in &accounts {
        if !o.accounts.contains(key) {
            o.accounts.push(key.clone());
        }
    }
    o.exports.extend(w.exports);
    o.imports.extend(w.imports);
    o.account_mappings.extend(w.mappings);
}

/// `resolver: { type: full|cache, dir, allow_delete, limit, ttl, interval, timeout }`.
fn dir_resolver(o: &mut Options, e: &Entry, m: &nats_conf::Map, d: &mut Diag) {
    let pos = &e.key_pos;
    let (mut dir, mut kind, mut del, mut limit) = (String::new(), String::new(), false, 0);
    let (mut ttl, mut interval) = (None, std::time::Duration::ZERO);
    for f in super::value::effective(m) {
        let (p, v) = (&f.item.pos, &f.item.value);
        match f.key.to_ascii_lowercase().as_str() {
            "dir" => dir = d.string(p, v).unwrap_or_default(),
            "type" => kind = d.string(p, v).unwrap_or_default(),
            "allow_delete" => del = d.bool(p, v).unwrap_or_default(),
            "limit" => limit = d.int(p, v).unwrap_or_default(),
            "ttl" => ttl = go_duration(d, p, v),
            "interval" => interval = go_duration(d, p, v).unwrap_or_default(),
            "timeout" => {
                go_duration(d, p, v);
            }
            _ => {}
        }
    }
    if dir.is_empty() {
        d.error(pos, "dir has no value and needs to point to a directory");
        return;
    }
    if let Ok(md) = std::fs::metadata(&dir) {
        use std::os::unix::fs::PermissionsExt;
        if !md.is_dir() || md.permissions().mode() & 0o200 == 0 {
            d.error(pos, "dir needs to point to an accessible directory");
            return;
        }
    }
    match kind.to_ascii_uppercase().as_str() {
        "FULL" => {
            if ttl.is_some_and(|t| !t.is_zero()) {
                d.error(pos, "FULL does not accept ttl");
                return;
            }
            o.operator.resolver = Resolver::Full {
                dir: dir.into(),
                allow_delete: del,
                limit,
                interval,
            };
        }
        "CACHE" => d.refuse(
            e,
            "the `cache` account resolver is not implemented (use `type: full`)",
        ),
        _ => d.error(
            pos,
            "error parsing account resolver, should be MEM or  URL(\"url\") or a map containing dir and type state=[FULL|CACHE])",
        ),
    }
}

/// A Go duration string (`"2m"`, `"1h30m"`).
fn go_duration(d: &mut Diag, pos: &nats_conf::Pos, v: &Value) -> Option<std::time::Duration> {
    let s = d.string(pos, v)?;
    match super::units::parse_go_duration(&s) {
        Ok(n) => Some(std::time::Duration::from_nanos(n.max(0) as u64)),
        Err(e) => {
            d.error(pos, e);
            None
        }
    }
}
