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
        Value::Map(_) => d.refuse(
            e,
            "the NATS-based (full/cache directory) account resolver is not implemented",
        ),
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
/// then treats them the same. Only accounts signed by a trusted key count. An import is
/// kept only when the exporter's JWT is preloaded too and grants it (public export,
/// account token position, or a valid activation token that the export has not
/// revoked), as nats-server's `checkStreamImportAuthorized`/`checkServiceImportAuthorized`
/// decide; the others are dropped, which denies what they would have delivered.
pub(super) fn jwt_accounts(o: &mut Options) {
    use crate::options::{Export, Import, ResponseType, ServiceExportOpts};
    use nats_sublist::mapping::MapDest;
    let op = &o.operator;
    if !op.enabled() {
        return;
    }
    let mut trusted = op.trusted_keys.clone();
    for t in &op.trusted_operators {
        if let Ok(c) = jwt::decode_operator(t) {
            if !c.operator.strict_signing_key_usage {
                trusted.push(c.data.subject.clone());
            }
            trusted.extend(c.operator.signing_keys.iter().cloned());
        }
    }
    let accounts: Vec<(String, jwt::AccountClaims)> = op
        .preload
        .iter()
        .filter_map(|(k, t)| jwt::decode_account(t).ok().map(|c| (k.clone(), c)))
        .filter(|(k, c)| c.data.subject == *k && trusted.contains(&c.data.issuer))
        .collect();
    let (mut exports, mut imports, mut mappings) = (Vec::new(), Vec::new(), Vec::new());
    for (key, c) in &accounts {
        let a = &c.account;
        if !a.mappings.is_empty() {
            let mut list = Vec::new();
            for (src, dests) in &a.mappings {
                let dests: Vec<MapDest> = dests
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|d| {
                        Some(MapDest {
                            subject: d.get("subject")?.as_str()?.to_string(),
                            weight: match d.get("weight").and_then(|w| w.as_u64()) {
                                None | Some(0) => 100,
                                Some(w) => w.min(100) as u8,
                            },
                            cluster: d
                                .get("cluster")
                                .and_then(|c| c.as_str())
                                .filter(|c| !c.is_empty())
                                .map(str::to_string),
                        })
                    })
                    .collect();
                list.push((src.clone(), dests));
            }
            list.sort_by(|x, y| x.0.cmp(&y.0));
            mappings.push((key.clone(), list));
        }
        for e in &a.exports {
            let service = match e.kind.as_str() {
                "service" => Some(ServiceExportOpts {
                    response_type: match e.response_type.as_str() {
                        "Stream" => ResponseType::Stream,
                        "Chunked" => ResponseType::Chunked,
                        _ => ResponseType::Singleton,
                    },
                    response_threshold: if e.response_threshold > 0 {
                        std::time::Duration::from_nanos(e.response_threshold as u64)
                    } else {
                        crate::options::DEFAULT_SERVICE_EXPORT_RESPONSE_THRESHOLD
                    },
                }),
                "stream" => None,
                _ => continue,
            };
            exports.push(Export {
                account: key.clone(),
                subject: e.subject.clone(),
                // Token-required exports admit only importers with an activation,
                // checked below; an empty list says "nobody else".
                accounts: e.token_req.then(Vec::new),
                token_position: e.account_token_position,
                service,
            });
        }
    }
    for (key, c) in &accounts {
        for i in &c.account.imports {
            let Some((_, exp)) = accounts.iter().find(|(k, _)| *k == i.account) else {
                continue;
            };
            let service = match i.kind.as_str() {
                "service" => true,
                "stream" => false,
                _ => continue,
            };
            if !import_authorized(key, exp, i, service) {
                continue;
            }
            let (subject, to) = if service {
                if !i.local_subject.is_empty() {
                    (i.subject.clone(), i.local_subject.clone())
                } else if !i.to.is_empty() {
                    (i.to.clone(), i.subject.clone())
                } else {
                    (i.subject.clone(), i.subject.clone())
                }
            } else if !i.local_subject.is_empty() {
                (i.subject.clone(), i.local_subject.clone())
            } else if !i.to.is_empty() {
                // A stream import's `to` is a prefix.
                let p = i.to.trim_end_matches('.');
                (i.subject.clone(), format!("{p}.{}", i.subject))
            } else {
                (i.subject.clone(), i.subject.clone())
            };
            imports.push(Import {
                account: key.clone(),
                from_account: i.account.clone(),
                subject,
                to,
                service,
            });
        }
    }
    // Registered at start like configured accounts, so their mappings and imports are
    // in place before the first client arrives.
    for (key, _) in &accounts {
        if !o.accounts.contains(key) {
            o.accounts.push(key.clone());
        }
    }
    o.exports.extend(exports);
    o.imports.extend(imports);
    o.account_mappings.extend(mappings);
}

/// Does exporter `exp` let `importer` import `i`?
fn import_authorized(
    importer: &str,
    exp: &jwt::AccountClaims,
    i: &jwt::claims::Import,
    service: bool,
) -> bool {
    use nats_sublist::subject::is_subset_match;
    let kind = if service { "service" } else { "stream" };
    let subject = &i.subject;
    // The exact export first, else the first that covers the subject.
    let exports = || exp.account.exports.iter().filter(|e| e.kind == kind);
    let Some(e) = exports()
        .find(|e| e.subject == *subject)
        .or_else(|| exports().find(|e| is_subset_match(subject, &e.subject)))
    else {
        return false;
    };
    if e.account_token_position > 0 {
        let p = e.account_token_position as usize;
        let tokens: Vec<&str> = subject.split('.').collect();
        if tokens.len() < p || tokens[p - 1] != importer {
            return false;
        }
    }
    if !e.token_req {
        return true;
    }
    let Ok(act) = jwt::decode_activation(&i.token) else {
        return false;
    };
    let exporter = &exp.data.subject;
    let issuer_ok = act.data.issuer == *exporter
        || ((act.activation.issuer_account.is_empty()
            || act.activation.issuer_account == *exporter)
            && exp.account.signing_keys.contains_key(&act.data.issuer));
    let revoked = e
        .revocations
        .get(importer)
        .or_else(|| e.revocations.get("*"))
        .is_some_and(|t| *t >= act.data.issued_at);
    issuer_ok
        && act.data.subject == importer
        && act.data.check_times(jwt::now()).is_ok()
        && (act.activation.subject == *subject || is_subset_match(subject, &act.activation.subject))
        && !revoked
}
