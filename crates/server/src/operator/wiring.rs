//! Account JWT exports, imports and mappings in the shape of the configured ones
//! ([`crate::options::Export`], [`crate::options::Import`], mapping lists), so that
//! `imports::wire` and `mapping` serve them unchanged.
//!
//! An import is kept only when the exporter's JWT is known too and grants it (public
//! export, account token position, or a valid activation token that the export has not
//! revoked), as nats-server's `checkStreamImportAuthorized` /
//! `checkServiceImportAuthorized` decide; the others are dropped, which denies what they
//! would have delivered.

use crate::jwt;
use crate::options::{Export, Import, MappingList, ResponseType, ServiceExportOpts};
use nats_sublist::mapping::MapDest;

/// What the accounts declare.
#[derive(Default)]
pub struct Wiring {
    pub exports: Vec<Export>,
    pub imports: Vec<Import>,
    pub mappings: Vec<(String, MappingList)>,
}

/// The wiring of `accounts` (key and claims); with `only`, just that account's imports
/// and mappings (and every export, which the imports are checked against).
pub fn of(accounts: &[(String, jwt::AccountClaims)], only: Option<&str>) -> Wiring {
    let (mut exports, mut imports, mut mappings) = (Vec::new(), Vec::new(), Vec::new());
    for (key, c) in accounts {
        let a = &c.account;
        if !a.mappings.is_empty() && only.is_none_or(|k| k == key) {
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
                    latency: e.latency.as_ref().and_then(jwt_latency),
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
    for (key, c) in accounts {
        if only.is_some_and(|k| k != key) {
            continue;
        }
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
                share: i.share,
            });
        }
    }
    Wiring {
        exports,
        imports,
        mappings,
    }
}

/// A JWT export's `latency` (`{"sampling": 1-100 or "headers", "results": subject}`);
/// `None` when it names no results subject.
fn jwt_latency(v: &serde_json::Value) -> Option<crate::options::ServiceLatency> {
    let subject = v.get("results")?.as_str().filter(|s| !s.is_empty())?;
    let sampling = match v.get("sampling") {
        Some(serde_json::Value::String(s)) if s.eq_ignore_ascii_case("headers") => 0,
        // jwt's SamplingRate: 0 is "headers" too.
        Some(n) => n.as_u64().unwrap_or(100).min(100) as u8,
        None => 100,
    };
    Some(crate::options::ServiceLatency {
        sampling,
        subject: subject.to_string(),
    })
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
