//! Operator mode keys (nats-server 2.9.10's `operator`, `trusted`, `resolver`,
//! `resolver_preload`), read as `processConfigFileLine` reads them, and the checks of
//! `validateTrustedOperators` that depend on the file alone.
//!
//! Resolvers: `MEMORY`, the NATS-based `full` and `cache` directory resolvers, and the URL
//! resolver (written as `URL(...)`, or implied by a single operator JWT's
//! `account_server_url` when no `resolver` is given); `resolver_tls` (its HTTPS client) is
//! read in `tls.rs`. Pinned accounts are refused: running without them would let in
//! accounts the operator meant to keep out.

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

/// `resolver`: `MEMORY`/`MEM`, `URL(...)`, or a directory resolver map. nats-server
/// matches the string forms with unanchored, case-insensitive patterns (`MEM` anywhere
/// wins; then `URL`, optionally followed by `("…")`); anything else is an error.
pub(super) fn resolver(o: &mut Options, e: &Entry, d: &mut Diag) {
    o.operator.resolver = Resolver::None;
    match &e.item.value {
        Value::String(s) => {
            let low = s.to_ascii_lowercase();
            if low.contains("mem") {
                o.operator.resolver = Resolver::Memory;
            } else if let Some(url) = url_resolver_arg(s) {
                o.operator.resolver = Resolver::Url(url_base(&url));
            } else {
                d.error(&e.key_pos, RESOLVER_SYNTAX);
            }
        }
        Value::Map(m) => dir_resolver(o, e, m, d),
        other => d.error(
            &e.key_pos,
            format!(
                "error parsing operator resolver, wrong type {}",
                super::go_type(other)
            ),
        ),
    }
}

const RESOLVER_SYNTAX: &str = "error parsing account resolver, should be MEM or  URL(\"url\") or a map containing dir and type state=[FULL|CACHE])";

/// nats-server's `(?i)(?:URL){1}(?:\({1}\s*"?([^\s"]*)"?\s*\){1})?\s*`: `None` without
/// `URL`; the text between the parentheses, or empty when they do not follow.
fn url_resolver_arg(s: &str) -> Option<String> {
    let at = s.to_ascii_lowercase().find("url")?;
    let rest = &s[at + 3..];
    let Some(inner) = rest.strip_prefix('(') else {
        return Some(String::new());
    };
    let inner = inner.trim_start();
    let inner = inner.strip_prefix('"').unwrap_or(inner);
    let run = inner
        .find(|c: char| c.is_whitespace() || c == '"')
        .unwrap_or(inner.len());
    // The greedy run gives back characters until a closing `"? \s* )` follows.
    for end in (0..=run).rev() {
        if !inner.is_char_boundary(end) {
            continue;
        }
        let after = &inner[end..];
        let after = after.strip_prefix('"').unwrap_or(after).trim_start();
        if after.starts_with(')') {
            return Some(inner[..end].to_string());
        }
    }
    Some(String::new())
}

/// nats-server's `NewURLAccResolver`: the base URL ends with `/`.
pub(crate) fn url_base(url: &str) -> String {
    let url = url.trim();
    if url.ends_with('/') {
        url.to_string()
    } else {
        format!("{url}/")
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
    if !o.operator.enabled() {
        return;
    }
    let op = &o.operator;
    if op.trusted_operators.len() == 1 && !resolver_given {
        // nats-server builds a URL resolver from the operator's `account_server_url`
        // (nsc appends `/accounts` when it pushes); an empty one parses too, as `/`.
        if let Ok(c) = jwt::decode_operator(&op.trusted_operators[0]) {
            let base = c.operator.account_server_url.trim().to_string();
            o.operator.resolver = Resolver::Url(url_base(&format!("{base}/accounts")));
        }
    }
    let op = &o.operator;
    let mut fail = |msg: String| d.report.errors.push(msg);
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
    if matches!(op.resolver, Resolver::Full { .. } | Resolver::Cache { .. })
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

/// `resolver: { type: full|cache, dir, allow_delete, limit, ttl, interval, timeout }`, read
/// as nats-server reads it: the keys by their exact names; a value of the wrong type stops
/// the block with Go's conversion error; the first bad duration stops it too (reported at
/// the `resolver` key); then the checks of the type chosen, all reported.
fn dir_resolver(o: &mut Options, e: &Entry, m: &nats_conf::Map, d: &mut Diag) {
    let pos = &e.key_pos;
    let field = |name: &str| {
        super::value::effective(m)
            .into_iter()
            .find(|f| f.key == name)
            // nats-server's conversion panic names the field's key position.
            .map(|f| (&f.key_pos, &f.item.value))
    };
    let before = d.report.errors.len();
    let dir = field("dir")
        .and_then(|(p, v)| d.string(p, v))
        .unwrap_or_default();
    let kind = field("type")
        .and_then(|(p, v)| d.string(p, v))
        .unwrap_or_default();
    let del = field("allow_delete")
        .and_then(|(p, v)| d.bool(p, v))
        .unwrap_or_default();
    let limit = field("limit")
        .and_then(|(p, v)| d.int(p, v))
        .unwrap_or_default();
    if d.report.errors.len() > before {
        return;
    }
    let mut durations = [None::<i64>; 3];
    for (i, name) in ["ttl", "interval", "timeout"].into_iter().enumerate() {
        let Some((p, v)) = field(name) else { continue };
        let Some(text) = d.string(p, v) else { return };
        match super::units::parse_go_duration(&text) {
            Ok(n) => durations[i] = Some(n),
            Err(err) => {
                d.error(pos, err);
                return;
            }
        }
    }
    let [ttl, interval, timeout] = durations;
    let nonneg = |n: Option<i64>| std::time::Duration::from_nanos(n.unwrap_or(0).max(0) as u64);
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
    let timeout_check = |d: &mut Diag| match timeout {
        Some(t) if t <= 0 => {
            d.error(
                pos,
                format!(
                    "Fetch timeout {} is too smal",
                    super::units::go_duration_string(t)
                ),
            );
            None
        }
        Some(t) => Some(std::time::Duration::from_nanos(t as u64)),
        None => Some(crate::options::DEFAULT_ACCOUNT_FETCH_TIMEOUT),
    };
    match kind.to_ascii_uppercase().as_str() {
        "FULL" => {
            if ttl.is_some_and(|t| t != 0) {
                d.error(pos, "FULL does not accept ttl");
            }
            let Some(timeout) = timeout_check(d) else {
                return;
            };
            o.operator.resolver = Resolver::Full {
                dir: dir.into(),
                allow_delete: del,
                limit,
                interval: nonneg(interval),
                timeout,
            };
        }
        "CACHE" => {
            if interval.is_some_and(|t| t != 0) {
                d.error(pos, "CACHE does not accept sync");
            }
            if del {
                d.error(pos, "CACHE does not accept allow_delete");
            }
            let Some(timeout) = timeout_check(d) else {
                return;
            };
            o.operator.resolver = Resolver::Cache {
                dir: dir.into(),
                limit: if limit <= 0 { 1000 } else { limit },
                ttl: nonneg(ttl),
                timeout,
            };
        }
        _ => d.error(pos, RESOLVER_SYNTAX),
    }
}
