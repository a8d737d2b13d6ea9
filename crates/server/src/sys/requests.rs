//! Answers to system-account requests: Go's `zReq`. The body may carry the endpoint's
//! options (Go's JSON names) and the event filter (`server_name`, `cluster`, `host`,
//! `tags`, `domain`: a server the filter does not match stays silent); the reply is
//! `{"server": ServerInfo, "data": document}` or `{"server": …, "error": {"code",
//! "description"}}`.

use serde_json::{Map, Value};

use std::sync::Arc;

use super::{events, Service, System};
use crate::account::Account;
use crate::server::Server;

/// The endpoints of `$SYS.REQ.SERVER.{PING,<id>}.<ENDPOINT>` we answer.
pub(super) const SERVER_ENDPOINTS: [&str; 7] = [
    "VARZ", "CONNZ", "ROUTEZ", "SUBSZ", "ACCOUNTZ", "HEALTHZ", "JSZ",
];

/// The endpoints of `$SYS.REQ.ACCOUNT.<acc>.<ENDPOINT>` we answer.
pub(super) const ACCOUNT_ENDPOINTS: [&str; 4] = ["CONNZ", "SUBSZ", "INFO", "STATZ"];

/// A request as the system task receives it.
pub(super) struct Request<'a> {
    pub service: Service,
    /// The account it was published in.
    pub account: &'a Arc<Account>,
    pub subject: &'a str,
    pub reply: Option<&'a str>,
    pub body: &'a [u8],
}

pub(super) fn answer(srv: &Server, sys: &System, req: Request<'_>) {
    let Request {
        service,
        account,
        subject,
        reply,
        body,
    } = req;
    match service {
        Service::RemoteStatsz => {
            // `$SYS.SERVER.<id>.STATSZ`: note that server (not ourselves).
            if let Some(id) = subject.split('.').nth(2).filter(|id| *id != srv.id) {
                sys.servers
                    .lock()
                    .insert(id.to_string(), std::time::Instant::now());
            }
            return;
        }
        Service::RemoteShutdown => {
            if let Some(id) = subject.split('.').nth(2) {
                sys.servers.lock().remove(id);
            }
            return;
        }
        Service::ClaimsUpdate => return super::claims::update(srv, sys, subject, reply, body),
        Service::ClaimsLookup => return super::claims::lookup(srv, sys, subject, reply),
        Service::ClaimsList => return super::claims::list(srv, sys, reply),
        Service::ClaimsDelete => return super::claims::delete(srv, sys, reply, body),
        _ => {}
    }
    let opts = match parse_options(body) {
        Ok(o) => o,
        Err(e) => {
            if let Some(reply) = reply {
                let doc = envelope(srv, sys, Err((400, e)));
                sys.publish(srv, reply, None, &doc);
            }
            return;
        }
    };
    if filtered_out(srv, &opts) {
        return;
    }
    if service == Service::Statsz {
        // No reply: broadcast on our STATSZ subject, as Go does.
        let own;
        let to = match reply {
            Some(r) => r,
            None => {
                own = format!("$SYS.SERVER.{}.STATSZ", srv.id);
                &own
            }
        };
        let doc = events::statsz_json(srv, sys, sys.next_seq());
        sys.publish(srv, to, None, &doc);
        return;
    }
    let Some(reply) = reply else { return };
    let own = Some(&*account.name);
    let result = match service {
        Service::OwnConnz => crate::monitor::sys_document(srv, "CONNZ", &opts, own),
        Service::OwnStatz => {
            crate::monitor::sys_document(srv, "STATZ", &opts, own).map(skip_unused(&opts))
        }
        Service::ServerZ(ep) => crate::monitor::sys_document(srv, ep, &opts, None),
        Service::AccountPingStatz => {
            crate::monitor::sys_document(srv, "STATZ", &opts, None).map(skip_unused(&opts))
        }
        Service::AccountZ(ep) => {
            // `$SYS.REQ.ACCOUNT.<acc>.<ENDPOINT>`
            let Some(acc) = subject.split('.').nth(3) else {
                return;
            };
            if ep == "STATZ" && acc == "PING" {
                return;
            }
            match ep {
                "INFO" => crate::monitor::sys_document(srv, "ACCOUNTZ", &opts, Some(acc))
                    .map(|r| r.and_then(account_detail)),
                "STATZ" => crate::monitor::sys_document(srv, "STATZ", &opts, Some(acc))
                    .map(skip_unused(&opts)),
                _ => crate::monitor::sys_document(srv, ep, &opts, Some(acc)),
            }
        }
        _ => None,
    };
    let Some(result) = result else { return };
    let result = match result {
        Ok(doc) if doc.is_empty() => return,
        Ok(doc) => Ok(doc),
        Err(e) => Err((500, e)),
    };
    let doc = envelope(srv, sys, result);
    if service == Service::OwnConnz || service == Service::OwnStatz {
        // The answer goes back in the requester's account.
        sys.publish_in(srv, account, reply, &doc);
    } else {
        sys.publish(srv, reply, None, &doc);
    }
}

/// An account STATZ with no account in it is not sent unless `include_unused` (Go's
/// `errSkipZreq`): an empty document means "stay silent".
fn skip_unused(
    opts: &Map<String, Value>,
) -> impl Fn(Result<Vec<u8>, String>) -> Result<Vec<u8>, String> + '_ {
    move |r| {
        let doc = r?;
        if opts.get("include_unused").and_then(Value::as_bool) == Some(true) {
            return Ok(doc);
        }
        let v: Value = serde_json::from_slice(&doc).map_err(|e| e.to_string())?;
        let empty = v
            .get("account_statz")
            .and_then(Value::as_array)
            .is_none_or(|a| a.is_empty());
        Ok(if empty { Vec::new() } else { doc })
    }
}

/// `$SYS.REQ.ACCOUNT.<acc>.INFO` answers the account's detail alone.
fn account_detail(doc: Vec<u8>) -> Result<Vec<u8>, String> {
    let v: Value = serde_json::from_slice(&doc).map_err(|e| e.to_string())?;
    match v.get("account_detail") {
        Some(d) => Ok(crate::monitor::to_json_compact(d)),
        None => Err("account not found".into()),
    }
}

fn parse_options(body: &[u8]) -> Result<Map<String, Value>, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err("json: cannot unmarshal into Go value of type options".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// Go's `filterRequest`: true if the request names servers and we are not one of them.
fn filtered_out(srv: &Server, opts: &Map<String, Value>) -> bool {
    let field = |k: &str| opts.get(k).and_then(Value::as_str).unwrap_or("");
    let name = field("server_name");
    if !name.is_empty() && !srv.name.contains(name) {
        return true;
    }
    let host = field("host");
    if !host.is_empty() && !srv.opts().host.contains(host) {
        return true;
    }
    let cluster = field("cluster");
    if !cluster.is_empty() && !srv.cluster_name().name.contains(cluster) {
        return true;
    }
    // We have no server tags and no JetStream domain: a filter on either excludes us.
    let tags = opts.get("tags").and_then(Value::as_array);
    if tags.is_some_and(|t| !t.is_empty()) || !field("domain").is_empty() {
        return true;
    }
    false
}

/// Go's `ServerAPIResponse`.
fn envelope(srv: &Server, sys: &System, result: Result<Vec<u8>, (u16, String)>) -> Vec<u8> {
    let server = events::server_info_json(srv, sys.next_seq());
    let mut out = Vec::with_capacity(server.len() + 64);
    out.extend_from_slice(b"{\"server\":");
    out.extend_from_slice(&server);
    match result {
        Ok(data) => {
            out.extend_from_slice(b",\"data\":");
            out.extend_from_slice(&data);
        }
        Err((code, description)) => {
            let err = serde_json::json!({ "code": code, "description": description });
            out.extend_from_slice(b",\"error\":");
            out.extend_from_slice(&crate::monitor::to_json_compact(&err));
        }
    }
    out.push(b'}');
    out
}

/// `$SYS.REQ.ACCOUNT.<acc>.CONNS` (Go's `connsRequest`): when the account is ours and
/// has local connections, its connections event goes to the reply subject. The body may
/// be Go's `{"acc": …}`, which must name the subject's account.
pub(super) fn account_conns(
    srv: &Server,
    sys: &System,
    subject: &str,
    reply: Option<&str>,
    body: &[u8],
) -> Option<()> {
    let tokens: Vec<&str> = subject.split('.').collect();
    let [_, _, _, name, _] = tokens[..] else {
        return None;
    };
    if !body.is_empty() {
        #[derive(serde::Deserialize)]
        struct Req {
            #[serde(default)]
            acc: Option<String>,
        }
        match serde_json::from_slice::<Req>(body) {
            Ok(r) if r.acc.as_deref().is_none_or(|a| a == name) => {}
            Ok(_) => {
                crate::error!(srv.log, "Error unmarshalled account does not match subject");
                return None;
            }
            Err(e) => {
                crate::error!(
                    srv.log,
                    "Error unmarshalling account connections request message: {}",
                    e
                );
                return None;
            }
        }
    }
    let acc = srv.accounts.lookup(name.as_bytes())?;
    let conns = acc.num_conns();
    if conns == 0 {
        return None;
    }
    let reply = reply?;
    sys.send_account_conns(srv, &acc, conns, &[reply]);
    Some(())
}
