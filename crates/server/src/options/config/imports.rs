//! An account's `exports` and `imports`, as nats-server 2.9.10 reads them
//! (`parseAccountExports`, `parseAccountImports`, `parseExportStreamOrService`,
//! `parseImportStreamOrService`) and then wires them once every account is known
//! (the second half of `parseAccounts`: `AddStreamExport`, `AddServiceExport…`,
//! `AddStreamImport`/`AddMappedStreamImport`, `AddServiceImport`).
//!
//! Two passes, as in Go:
//! 1. Per account, each entry's shape: types, directives that do not belong (a response
//!    type on a stream), `prefix` with `to`, duplicate service import subjects. Errors
//!    point at the entry or key.
//! 2. Only when the whole file had no error so far: exports first (accounts named in
//!    `accounts` must exist), then imports (the exporter exists, its export grants the
//!    importer, subjects are valid, the prefix is literal, no cycle, the subject transform
//!    builds, no duplicate). Go reports every one of these at the `accounts` key, in the
//!    words `Error adding stream import "foo": stream import not authorized`.
//!
//! Go visits map keys in random order; we visit them in file order and report an
//! order-dependent conflict (stream and service in one entry, `prefix` and `to`) at the
//! later key. A service export's `latency` (a subject, or `{sampling, subject}`) is read
//! as Go's `parseServiceLatency` and checked as `TrackServiceExportWithSampling`.

use std::collections::HashSet;

use nats_conf::{Entry, Item, Pos, Value};
use nats_sublist::subject::{is_subset_match, is_valid_subject, subjects_collide};
use nats_sublist::transform::{tokenize_wildcards, Transform};

use super::units::parse_go_duration;
use super::value::{effective, go_quote, go_type, Diag};
use crate::options::{
    Export, Import, Options, ResponseType, ServiceExportOpts, ServiceLatency,
    DEFAULT_SERVICE_EXPORT_RESPONSE_THRESHOLD,
};

/// What pass 1 found in one account, for pass 2.
#[derive(Default)]
pub(super) struct Pending {
    exports: Vec<Export>,
    imports: Vec<RawImport>,
}

struct RawImport {
    account: String,
    from_account: String,
    subject: String,
    prefix: String,
    to: String,
    service: bool,
    share: bool,
}

/// `exports: [...]` of account `acc`.
pub(super) fn exports(acc: &str, e: &Entry, p: &mut Pending, d: &mut Diag) {
    let Value::Array(items) = &e.item.value else {
        d.error(
            &e.key_pos,
            format!("Exports should be an array, got {}", go_type(&e.item.value)),
        );
        return;
    };
    for it in items {
        if let Some(x) = export(acc, it, d) {
            p.exports.push(x);
        }
    }
}

fn export(acc: &str, it: &Item, d: &mut Diag) -> Option<Export> {
    let Value::Map(m) = &it.value else {
        d.error(
            &it.pos,
            format!(
                "Export Items should be a map with type entry, got {}",
                go_type(&it.value)
            ),
        );
        return None;
    };
    let mut stream: Option<String> = None;
    let mut service: Option<String> = None;
    let mut accounts: Option<Vec<String>> = None;
    let mut rt: Option<(ResponseType, Pos)> = None;
    let mut rt_seen = false;
    let mut thresh: Option<(std::time::Duration, Pos)> = None;
    let mut thresh_seen = false;
    let mut tpos = 0u32;
    let mut latency: Option<(ServiceLatency, Pos)> = None;
    for f in effective(m) {
        let v = &f.item.value;
        match f.key.to_ascii_lowercase().as_str() {
            "stream" => {
                if service.is_some() {
                    d.error(
                        &f.key_pos,
                        format!(
                            "Detected stream {} but already saw a service",
                            quote_value(v)
                        ),
                    );
                    continue;
                }
                let Value::String(s) = v else {
                    d.error(
                        &f.key_pos,
                        format!("Expected stream name to be string, got {}", go_type(v)),
                    );
                    continue;
                };
                stream = Some(s.clone());
            }
            "service" => {
                if stream.is_some() {
                    d.error(
                        &f.key_pos,
                        format!(
                            "Detected service {} but already saw a stream",
                            quote_value(v)
                        ),
                    );
                    continue;
                }
                let Value::String(s) = v else {
                    d.error(
                        &f.key_pos,
                        format!("Expected service name to be string, got {}", go_type(v)),
                    );
                    continue;
                };
                service = Some(s.clone());
            }
            "response" | "response_type" => {
                if rt_seen {
                    d.error(&f.key_pos, "Duplicate response type definition");
                    continue;
                }
                rt_seen = true;
                let Value::String(s) = v else {
                    d.error(
                        &f.key_pos,
                        format!("Expected response type to be string, got {}", go_type(v)),
                    );
                    continue;
                };
                let t = match s.to_ascii_lowercase().as_str() {
                    "single" | "singleton" => ResponseType::Singleton,
                    "stream" => ResponseType::Stream,
                    "chunk" | "chunked" => ResponseType::Chunked,
                    _ => {
                        d.error(
                            &f.key_pos,
                            format!("Unknown response type: {}", go_quote(s)),
                        );
                        continue;
                    }
                };
                rt = Some((t, f.key_pos.clone()));
            }
            "threshold" | "response_threshold" | "response_max_time" | "response_time" => {
                if thresh_seen {
                    d.error(&f.key_pos, "Duplicate response threshold detected");
                    continue;
                }
                thresh_seen = true;
                let Value::String(s) = v else {
                    d.error(
                        &f.key_pos,
                        format!(
                            "Expected response threshold to be a parseable time duration, got {}",
                            go_type(v)
                        ),
                    );
                    continue;
                };
                match parse_go_duration(s) {
                    Ok(n) => {
                        // A negative threshold expires every response at once, as in Go.
                        let dur = std::time::Duration::from_nanos(n.max(0) as u64);
                        thresh = Some((dur, f.key_pos.clone()));
                    }
                    Err(_) => {
                        d.error(
                            &f.key_pos,
                            format!(
                                "Expected response threshold to be a parseable time duration, got {}",
                                go_quote(s)
                            ),
                        );
                        continue;
                    }
                }
            }
            "accounts" => {
                let Some(list) = d.array(&f.key_pos, v) else {
                    continue;
                };
                let mut names = Vec::new();
                for a in list {
                    if let Some(n) = d.string(&a.pos, &a.value) {
                        names.push(n);
                    }
                }
                // Go appends to a nil slice: an empty list stays nil, which is public.
                accounts = if names.is_empty() { None } else { Some(names) };
            }
            "latency" => {
                if let Some(l) = parse_latency(f, d) {
                    latency = Some((l, f.key_pos.clone()));
                }
            }
            "account_token_position" => {
                if let Some(n) = d.int(&f.key_pos, v) {
                    tpos = u32::try_from(n).unwrap_or(u32::MAX);
                }
            }
            _ => d.unknown(f),
        }
    }
    if stream.is_some() {
        if let Some((_, pos)) = &latency {
            d.error(pos, "Detected latency directive on non-service");
        }
        if let Some((_, pos)) = &rt {
            d.error(pos, "Detected response directive on non-service");
        } else if let Some((_, pos)) = &thresh {
            d.error(pos, "Detected response directive on non-service");
        }
    }
    let (subject, svc) = match (stream, service) {
        (Some(s), _) => (s, None),
        (None, Some(s)) => (
            s,
            Some(ServiceExportOpts {
                response_type: rt.map(|r| r.0).unwrap_or_default(),
                response_threshold: thresh
                    .map(|t| t.0)
                    .unwrap_or(DEFAULT_SERVICE_EXPORT_RESPONSE_THRESHOLD),
                latency: latency.map(|l| l.0),
            }),
        ),
        // Neither: Go ignores the entry.
        (None, None) => return None,
    };
    Some(Export {
        account: acc.to_string(),
        subject,
        accounts,
        token_position: tpos,
        service: svc,
    })
}

/// A service export's `latency` (Go's `parseServiceLatency`): a subject, or a map with
/// `sampling` (`50`, `"50%"`, `headers`; 100 by default) and `subject`.
fn parse_latency(f: &Entry, d: &mut Diag) -> Option<ServiceLatency> {
    let m = match &f.item.value {
        Value::String(s) => {
            return Some(ServiceLatency {
                sampling: 100,
                subject: s.clone(),
            })
        }
        Value::Map(m) => m,
        other => {
            d.error(
                &f.key_pos,
                format!(
                    "Expected latency entry to be a map/struct or string, got {}",
                    go_type(other)
                ),
            );
            return None;
        }
    };
    let mut sampling = 100u8;
    let mut subject = None;
    for g in effective(m) {
        let v = &g.item.value;
        match g.key.as_str() {
            "sampling" => {
                let n = match v {
                    Value::Int(n) => *n,
                    Value::String(s) if s.trim().eq_ignore_ascii_case("headers") => 0,
                    Value::String(s) => match s.strip_suffix('%').unwrap_or(s).parse::<i64>() {
                        Ok(n) => n,
                        Err(_) => {
                            d.error(
                                &g.key_pos,
                                format!(
                                    "Failed to parse latency sample: strconv.Atoi: parsing {}: invalid syntax",
                                    go_quote(s.strip_suffix('%').unwrap_or(s))
                                ),
                            );
                            return None;
                        }
                    },
                    other => {
                        d.error(
                            &g.key_pos,
                            format!(
                                "Expected latency sample to be a string or map/struct, got {}",
                                go_type(other)
                            ),
                        );
                        return None;
                    }
                };
                let headers = matches!(v, Value::String(_)) && n == 0;
                if !headers && !(1..=100).contains(&n) {
                    d.error(&g.key_pos, "bad sampling percentage, should be 1-100");
                    return None;
                }
                sampling = n as u8;
            }
            "subject" => {
                let Value::String(s) = v else {
                    // Go prints the type of its (empty) string variable here.
                    d.error(
                        &g.key_pos,
                        "Expected latency subject to be a string, got string",
                    );
                    return None;
                };
                subject = Some(s.clone());
            }
            _ => {}
        }
    }
    let Some(subject) = subject else {
        d.error(&f.key_pos, "Latency subject required, but missing");
        return None;
    };
    Some(ServiceLatency { sampling, subject })
}

/// `%q` of a value that may not be a string (Go prints `%!q(int64=1)` then; close enough
/// to show the value).
fn quote_value(v: &Value) -> String {
    match v {
        Value::String(s) => go_quote(s),
        other => format!(
            "%!q({}={})",
            go_type(other),
            super::value::go_display(other)
        ),
    }
}

/// `imports: [...]` of account `acc`.
pub(super) fn imports(acc: &str, e: &Entry, p: &mut Pending, d: &mut Diag) {
    let Value::Array(items) = &e.item.value else {
        d.error(
            &e.key_pos,
            format!("Imports should be an array, got {}", go_type(&e.item.value)),
        );
        return;
    };
    // Service import subjects (`to`) of this account: each may be used once.
    let mut svc_subjects: Vec<(String, String, String)> = Vec::new();
    for it in items {
        let Some(x) = import(acc, it, d) else {
            continue;
        };
        if x.service {
            if let Some((_, an, sub)) = svc_subjects.iter().find(|(to, _, _)| *to == x.to) {
                d.error(
                    &it.pos,
                    format!(
                        "Duplicate service import subject {}, previously used in import for account {}, subject {}",
                        go_quote(&x.to),
                        go_quote(an),
                        go_quote(sub)
                    ),
                );
                continue;
            }
            svc_subjects.push((x.to.clone(), x.from_account.clone(), x.subject.clone()));
        }
        p.imports.push(x);
    }
}

fn import(acc: &str, it: &Item, d: &mut Diag) -> Option<RawImport> {
    let Value::Map(m) = &it.value else {
        d.error(
            &it.pos,
            format!(
                "Import Items should be a map with type entry, got {}",
                go_type(&it.value)
            ),
        );
        return None;
    };
    let mut kind: Option<(bool, String, String)> = None;
    let mut prefix: Option<(String, Pos)> = None;
    let mut share = false;
    let mut to: Option<(String, Pos)> = None;
    for f in effective(m) {
        let v = &f.item.value;
        match f.key.to_ascii_lowercase().as_str() {
            k @ ("stream" | "service") => {
                let service = k == "service";
                if let Some((was_service, _, _)) = &kind {
                    let msg = if *was_service {
                        "Detected stream but already saw a service"
                    } else {
                        "Detected service but already saw a stream"
                    };
                    d.error(&f.key_pos, msg);
                    continue;
                }
                let Value::Map(am) = v else {
                    let what = if service { "Service" } else { "Stream" };
                    d.error(
                        &f.key_pos,
                        format!("{what} entry should be an account map, got {}", go_type(v)),
                    );
                    continue;
                };
                let (mut an, mut sub) = (String::new(), String::new());
                for g in effective(am) {
                    match g.key.to_ascii_lowercase().as_str() {
                        "account" => {
                            if let Some(s) = d.string(&g.key_pos, &g.item.value) {
                                an = s;
                            }
                        }
                        "subject" => {
                            if let Some(s) = d.string(&g.key_pos, &g.item.value) {
                                sub = s;
                            }
                        }
                        _ => d.unknown(g),
                    }
                }
                if an.is_empty() || sub.is_empty() {
                    d.error(&f.key_pos, "Expect an account name and a subject");
                    continue;
                }
                kind = Some((service, an, sub));
            }
            "prefix" => {
                if let Some(s) = d.string(&f.key_pos, v) {
                    prefix = Some((s, f.key_pos.clone()));
                }
            }
            "to" => {
                if let Some(s) = d.string(&f.key_pos, v) {
                    to = Some((s, f.key_pos.clone()));
                }
            }
            "share" => {
                // The requester's details go into the exporter's latency results.
                share = d.bool(&f.key_pos, v).unwrap_or(false);
            }
            _ => d.unknown(f),
        }
    }
    let (service, from_account, subject) = kind?;
    let prefix_s = prefix.map(|p| p.0).unwrap_or_default();
    let mut to_s = to.as_ref().map(|t| t.0.clone()).unwrap_or_default();
    if !service && !prefix_s.is_empty() {
        if let Some((_, pos)) = &to {
            if !to_s.is_empty() {
                d.error(
                    pos,
                    "Stream import can not have a 'prefix' and a 'to' property",
                );
                return None;
            }
        }
    }
    if service && to_s.is_empty() {
        to_s = subject.clone();
    }
    Some(RawImport {
        account: acc.to_string(),
        from_account,
        subject,
        prefix: if service { String::new() } else { prefix_s },
        to: to_s,
        service,
        share,
    })
}

// ---- pass 2: wiring, as `parseAccounts` does after every account is known ----

/// An export's authorization (Go's `exportAuth`); `None` on a stream export is public.
#[derive(Clone)]
struct Auth {
    approved: Vec<String>,
    tpos: u32,
}

#[derive(Default)]
struct Acc {
    name: String,
    /// Stream exports: subject and authorization (`None`: public).
    streams: Vec<(String, Option<Auth>)>,
    /// Service exports: subject and authorization (an empty one is public).
    services: Vec<(String, Auth)>,
    /// Stream imports: (exporter index, from, to).
    istreams: Vec<(usize, String, String)>,
    /// Service imports: (exporter index, from = local subject, to = exporter's subject).
    iservices: Vec<(usize, String, String)>,
}

/// Go's `checkAuth`. `tokens` is empty on a direct (exact subject) match, as in Go.
fn check_auth(auth: Option<&Auth>, importer: &str, tokens: &[&str]) -> bool {
    let Some(a) = auth else { return true };
    if a.approved.is_empty() && a.tpos == 0 {
        return true;
    }
    if a.tpos > 0 {
        let p = a.tpos as usize;
        return p <= tokens.len() && tokens[p - 1] == importer;
    }
    a.approved.iter().any(|n| n == importer)
}

fn stream_authorized(exp: &Acc, importer: &str, subject: &str) -> bool {
    if exp.streams.is_empty() || !is_valid_subject(subject.as_bytes()) {
        return false;
    }
    if let Some((_, auth)) = exp.streams.iter().rev().find(|(s, _)| s == subject) {
        return check_auth(auth.as_ref(), importer, &[]);
    }
    let tokens: Vec<&str> = subject.split('.').collect();
    for (s, auth) in &exp.streams {
        if is_subset_match(subject, s) {
            return check_auth(auth.as_ref(), importer, &tokens);
        }
    }
    false
}

fn service_authorized(exp: &Acc, importer: &str, subject: &str) -> bool {
    if exp.services.is_empty() {
        return false;
    }
    if let Some((_, auth)) = exp.services.iter().rev().find(|(s, _)| s == subject) {
        return check_auth(Some(auth), importer, &[]);
    }
    let tokens: Vec<&str> = subject.split('.').collect();
    for (s, auth) in &exp.services {
        if is_subset_match(subject, s) {
            return check_auth(Some(auth), importer, &tokens);
        }
    }
    false
}

const MAX_CYCLE_DEPTH: usize = 1024;

/// Go's `checkStreamImportsForCycles`.
fn stream_cycles(
    accs: &[Acc],
    a: usize,
    mut to: String,
    visited: &mut HashSet<usize>,
) -> Result<(), &'static str> {
    if visited.len() >= MAX_CYCLE_DEPTH {
        return Err("search cycle depth exhausted");
    }
    let acc = &accs[a];
    if !acc.streams.iter().any(|(s, _)| is_subset_match(&to, s)) {
        return Ok(());
    }
    for (src, _, sto) in &acc.istreams {
        if subjects_collide(&to, sto) {
            if visited.contains(src) {
                return Err("import forms a cycle");
            }
            visited.insert(a);
            if is_subset_match(sto, &to) {
                to = sto.clone();
            }
            stream_cycles(accs, *src, to.clone(), visited)?;
        }
    }
    Ok(())
}

/// Go's `checkServiceImportsForCycles`.
fn service_cycles(
    accs: &[Acc],
    a: usize,
    mut from: String,
    visited: &mut HashSet<usize>,
) -> Result<(), &'static str> {
    if visited.len() >= MAX_CYCLE_DEPTH {
        return Err("search cycle depth exhausted");
    }
    for (src, sfrom, sto) in &accs[a].iservices {
        if subjects_collide(&from, sto) {
            if visited.contains(src) {
                return Err("import forms a cycle");
            }
            visited.insert(a);
            if is_subset_match(sfrom, &from) {
                from = sfrom.clone();
            }
            service_cycles(accs, *src, from.clone(), visited)?;
        }
    }
    Ok(())
}

/// Pass 2. `pos`: the `accounts` key, where Go reports all of these.
pub(super) fn wire(o: &mut Options, pending: Vec<Pending>, pos: &Pos, d: &mut Diag) {
    let mut accs: Vec<Acc> = o
        .accounts
        .iter()
        .map(|n| Acc {
            name: n.clone(),
            ..Acc::default()
        })
        .collect();
    let idx = |accs: &[Acc], n: &str| accs.iter().position(|a| a.name == n);
    let (mut exports, mut raw_imports) = (Vec::new(), Vec::new());
    for p in pending {
        exports.extend(p.exports);
        raw_imports.extend(p.imports);
    }
    // Stream exports, then service exports (Go's order).
    let mut wired_exports = Vec::new();
    for service in [false, true] {
        for x in exports.iter().filter(|x| x.service.is_some() == service) {
            let what = if service { "service" } else { "stream" };
            let mut approved = Vec::new();
            for n in x.accounts.iter().flatten() {
                if idx(&accs, n).is_none() {
                    d.error(
                        pos,
                        format!("{} account not defined for {what} export", go_quote(n)),
                    );
                    continue;
                }
                approved.push(n.clone());
            }
            if x.token_position > 0 {
                let tokens: Vec<&str> = x.subject.split('.').collect();
                let p = x.token_position as usize;
                if tokens.len() < p || tokens[p - 1] != "*" {
                    d.error(
                        pos,
                        format!(
                            "Error adding {what} export {}: sublist: invalid subject",
                            go_quote(&x.subject)
                        ),
                    );
                    continue;
                }
            }
            let Some(ai) = idx(&accs, &x.account) else {
                continue;
            };
            let auth = Auth {
                approved: approved.clone(),
                tpos: x.token_position,
            };
            if service {
                accs[ai].services.push((x.subject.clone(), auth));
            } else {
                let public = approved.is_empty() && x.token_position == 0;
                accs[ai]
                    .streams
                    .push((x.subject.clone(), (!public).then_some(auth)));
            }
            let mut x = x.clone();
            x.accounts = (!approved.is_empty()).then_some(approved);
            wired_exports.push(x);
        }
    }
    check_latency(o, &wired_exports, pos, d);
    let mut wired_imports = Vec::new();
    // Stream imports.
    for x in raw_imports.iter().filter(|x| !x.service) {
        let Some(ei) = idx(&accs, &x.from_account) else {
            d.error(
                pos,
                format!(
                    "{} account not defined for stream import",
                    go_quote(&x.from_account)
                ),
            );
            continue;
        };
        let Some(ii) = idx(&accs, &x.account) else {
            continue;
        };
        let fail = |d: &mut Diag, why: &str| {
            d.error(
                pos,
                format!("Error adding stream import {}: {why}", go_quote(&x.subject)),
            )
        };
        if !stream_authorized(&accs[ei], &x.account, &x.subject) {
            fail(d, "stream import not authorized");
            continue;
        }
        let mut to = x.to.clone();
        if !x.prefix.is_empty() {
            if !is_literal(&x.prefix) {
                fail(d, "stream import prefix can not contain wildcard tokens");
                continue;
            }
            let mut p = x.prefix.clone();
            if !p.ends_with('.') {
                p.push('.');
            }
            to = format!("{p}{}", x.subject);
        }
        if to.is_empty() {
            to = x.subject.clone();
        }
        let mut visited = HashSet::from([ii]);
        if let Err(e) = stream_cycles(&accs, ei, to.clone(), &mut visited) {
            fail(d, e);
            continue;
        }
        if !is_literal(&x.subject) && to != x.subject {
            if let Err(e) = Transform::new(&x.subject, &tokenize_wildcards(&to)) {
                fail(
                    d,
                    &format!(
                        "failed to create mapping transform for stream import subject {} to {}: {e}",
                        go_quote(&x.subject),
                        go_quote(&to)
                    ),
                );
                continue;
            }
        }
        if accs[ii]
            .istreams
            .iter()
            .any(|(e, from, _)| *e == ei && *from == x.subject)
        {
            fail(d, "stream import already exists");
            continue;
        }
        // Go keeps the untokenized subject for its own checks and the transform built
        // from the subject as written (`$2.$1` must keep its order).
        let checked = if !is_literal(&x.subject) && to != x.subject {
            untokenize(&to)
        } else {
            to.clone()
        };
        accs[ii].istreams.push((ei, x.subject.clone(), checked));
        wired_imports.push(Import {
            account: x.account.clone(),
            from_account: x.from_account.clone(),
            subject: x.subject.clone(),
            to,
            service: false,
            share: false,
        });
    }
    // Service imports: `from` is the importer's subject (`to` in the file), `to` the
    // exporter's (`subject` in the file).
    for x in raw_imports.iter().filter(|x| x.service) {
        let Some(ei) = idx(&accs, &x.from_account) else {
            d.error(
                pos,
                format!(
                    "{} account not defined for service import",
                    go_quote(&x.from_account)
                ),
            );
            continue;
        };
        let Some(ii) = idx(&accs, &x.account) else {
            continue;
        };
        let fail = |d: &mut Diag, why: &str| {
            d.error(
                pos,
                format!(
                    "Error adding service import {}: {why}",
                    go_quote(&x.subject)
                ),
            )
        };
        let (from, to) = (x.to.clone(), x.subject.clone());
        if !is_valid_subject(from.as_bytes()) || !is_valid_subject(to.as_bytes()) {
            fail(d, "sublist: invalid subject");
            continue;
        }
        if !service_authorized(&accs[ei], &x.account, &to) {
            fail(d, "service import not authorized");
            continue;
        }
        let mut visited = HashSet::from([ii]);
        if let Err(e) = service_cycles(&accs, ei, from.clone(), &mut visited) {
            fail(d, e);
            continue;
        }
        if let Some((e, _, dto)) = accs[ii].iservices.iter().find(|(_, f, _)| *f == from) {
            let why = format!(
                "duplicate service import subject {}, previously used in import for account {}, subject {}",
                go_quote(&from),
                go_quote(&accs[*e].name),
                go_quote(dto)
            );
            fail(d, &why);
            continue;
        }
        if !is_literal(&to) && to != from {
            let uto = untokenize(&to);
            if let Err(e) = Transform::new(&uto, &tokenize_wildcards(&from)) {
                fail(
                    d,
                    &format!(
                        "failed to create mapping transform for service import subject {} to {}: {e}",
                        go_quote(&from),
                        go_quote(&uto)
                    ),
                );
                continue;
            }
        }
        accs[ii].iservices.push((ei, from.clone(), to.clone()));
        wired_imports.push(Import {
            account: x.account.clone(),
            from_account: x.from_account.clone(),
            subject: to,
            to: from,
            service: true,
            share: x.share,
        });
    }
    o.exports = wired_exports;
    o.imports = wired_imports;
}

/// Go's `subjectIsLiteral`: no whole-token `*` or `>`.
/// Go's checks when a service export's latency tracking is added
/// (`TrackServiceExportWithSampling`): events must be on, the results subject must be a
/// valid publish subject that is not one of the account's exported services, and the
/// service must answer with a single response.
fn check_latency(o: &Options, exports: &[Export], pos: &Pos, d: &mut Diag) {
    for x in exports {
        let Some(svc) = &x.service else { continue };
        let Some(l) = &svc.latency else { continue };
        if o.no_system_account {
            d.error(
                pos,
                format!(
                    "Error adding service latency sampling for {}: system account not setup",
                    go_quote(&x.subject)
                ),
            );
            continue;
        }
        let loops = exports.iter().any(|e| {
            e.account == x.account
                && e.service.is_some()
                && (e.subject == l.subject || is_subset_match(&l.subject, &e.subject))
        });
        let why = if !nats_sublist::subject::is_valid_literal_subject(l.subject.as_bytes()) || loops
        {
            "invalid publish subject"
        } else if svc.response_type != ResponseType::Singleton {
            "bad service response type"
        } else {
            continue;
        };
        d.error(
            pos,
            format!(
                "Error adding service latency sampling for {} on subject {}: {why}",
                go_quote(&x.subject),
                go_quote(&l.subject)
            ),
        );
    }
}

fn is_literal(s: &str) -> bool {
    !s.split('.').any(|t| t == "*" || t == ">")
}

/// Go's `transformUntokenize`: `$N` tokens back to `*`.
fn untokenize(s: &str) -> String {
    s.split('.')
        .map(|t| {
            let b = t.as_bytes();
            if b.len() > 1 && b[0] == b'$' && (b'1'..=b'9').contains(&b[1]) {
                "*"
            } else {
                t
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}
