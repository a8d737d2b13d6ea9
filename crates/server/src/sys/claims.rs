//! Operator mode's claim requests in the system account (nats-server 2.9.10's
//! `accountClaimUpdate`, the `DirAccResolver` handlers and `respondToUpdate`):
//!
//! - `$SYS.ACCOUNT.<acc>.CLAIMS.UPDATE`, `$SYS.REQ.ACCOUNT.<acc>.CLAIMS.UPDATE` and (with
//!   the `full` resolver) `$SYS.REQ.CLAIMS.UPDATE`: a new account JWT
//!   ([`crate::operator::OperatorMode::update`]); the answer is `{"data": {"account",
//!   "code": 200, "message"}, "server": …}` or `{"error": {"account", "code": 500,
//!   "description"}, "server": …}`.
//! - `full` resolver only: `$SYS.REQ.ACCOUNT.<acc>.CLAIMS.LOOKUP` (the stored JWT, as is);
//! - `full` and `cache` resolvers: `$SYS.REQ.CLAIMS.LIST` (`{"data": [keys], "server": …}`)
//!   and `$SYS.REQ.CLAIMS.DELETE` (a generic JWT self-signed by an operator key,
//!   `nats.accounts` listing the accounts; `full` only with `allow_delete`).
//! - The `cache` resolver updates only accounts it holds, and says so:
//!   `jwt updated cache` / `jwt update cache skipped`.

use serde_json::{json, Value};

use super::{events, System};
use crate::operator::update::Outcome;
use crate::server::Server;
use crate::{debug, error};

/// Go marshals a map: keys in order, so `data`/`error` come before `server`.
fn respond(srv: &Server, sys: &System, reply: &str, key: &str, inner: Value) {
    let server = events::server_info_json(srv, sys.next_seq());
    let mut out = Vec::with_capacity(server.len() + 128);
    out.push(b'{');
    out.extend_from_slice(format!("\"{key}\":").as_bytes());
    out.extend_from_slice(&crate::monitor::to_json_compact(&inner));
    out.extend_from_slice(b",\"server\":");
    out.extend_from_slice(&server);
    out.push(b'}');
    sys.publish(srv, reply, None, &out);
}

/// nats-server's `respondToUpdate`: log, then answer (when asked).
fn respond_to_update(
    srv: &Server,
    sys: &System,
    reply: Option<&str>,
    account: &str,
    result: Result<String, (String, String)>,
) {
    match &result {
        Ok(m) if account.is_empty() => debug!(srv.log, "{}", m),
        Ok(m) => debug!(srv.log, "{} - {}", m, account),
        Err((m, e)) if account.is_empty() => error!(srv.log, "{} - {}", m, e),
        Err((m, e)) => error!(srv.log, "{} - {} - {}", m, account, e),
    }
    let Some(reply) = reply else { return };
    let mut m = serde_json::Map::new();
    if !account.is_empty() {
        m.insert("account".into(), account.into());
    }
    match result {
        Ok(message) => {
            m.insert("code".into(), 200.into());
            m.insert("message".into(), message.into());
            respond(srv, sys, reply, "data", Value::Object(m));
        }
        Err((message, e)) => {
            m.insert("code".into(), 500.into());
            m.insert("description".into(), format!("{message} - {e}").into());
            respond(srv, sys, reply, "error", Value::Object(m));
        }
    }
}

pub(super) fn update(srv: &Server, sys: &System, subject: &str, reply: Option<&str>, body: &[u8]) {
    let Some(op) = srv.operator.as_ref() else {
        return;
    };
    let toks: Vec<&str> = subject.split('.').collect();
    let key = match toks.as_slice() {
        ["$SYS", "REQ", "CLAIMS", "UPDATE"] => None,
        ["$SYS", "REQ", "ACCOUNT", acc, "CLAIMS", "UPDATE"] => Some(*acc),
        ["$SYS", "ACCOUNT", acc, "CLAIMS", "UPDATE"] => Some(*acc),
        _ => {
            debug!(
                srv.log,
                "Received account claims update on bad subject {:?}", subject
            );
            return;
        }
    };
    let token = String::from_utf8_lossy(body);
    let (account, outcome) = op.update(srv, key, &token);
    let cache = op.dir.as_ref().is_some_and(|d| d.is_cache());
    let result = match outcome {
        Outcome::Updated if cache => Ok("jwt updated cache".to_string()),
        Outcome::Skipped if cache => Ok("jwt update cache skipped".to_string()),
        Outcome::Updated => Ok("jwt updated".to_string()),
        Outcome::Skipped => Ok("jwt update skipped".to_string()),
        Outcome::Failed { message, error } => Err((message.to_string(), error)),
    };
    respond_to_update(srv, sys, reply, &account, result);
}

/// `$SYS.REQ.ACCOUNT.<acc>.CLAIMS.LOOKUP`: the stored JWT, nothing when there is none.
pub(super) fn lookup(srv: &Server, sys: &System, subject: &str, reply: Option<&str>) {
    let (Some(op), Some(reply)) = (srv.operator.as_ref(), reply) else {
        return;
    };
    let Some(dir) = op.dir.as_ref().filter(|d| !d.is_cache()) else {
        return;
    };
    let toks: Vec<&str> = subject.split('.').collect();
    let ["$SYS", "REQ", "ACCOUNT", acc, "CLAIMS", "LOOKUP"] = toks.as_slice() else {
        return;
    };
    match dir.load(acc) {
        Some(token) => sys.publish(srv, reply, None, token.as_bytes()),
        None => error!(srv.log, "Merging resulted in error: no matching JWT found"),
    }
}

/// `$SYS.REQ.CLAIMS.LIST`: every stored account key.
pub(super) fn list(srv: &Server, sys: &System, reply: Option<&str>) {
    let (Some(op), Some(reply)) = (srv.operator.as_ref(), reply) else {
        return;
    };
    let Some(dir) = op.dir.as_ref() else { return };
    let keys = dir.list();
    debug!(
        srv.log,
        "list request responded with {} account ids",
        keys.len()
    );
    respond(srv, sys, reply, "data", json!(keys));
}

/// `$SYS.REQ.CLAIMS.DELETE`.
pub(super) fn delete(srv: &Server, sys: &System, reply: Option<&str>, body: &[u8]) {
    let Some(op) = srv.operator.as_ref() else {
        return;
    };
    let Some(dir) = op.dir.as_ref() else { return };
    let sys_key = sys.account.name.to_string();
    let token = String::from_utf8_lossy(body);
    let mut subject = String::new();
    let checked = (|| -> Result<Vec<String>, String> {
        let claims = crate::jwt::decode(token.trim()).map_err(|e| e.to_string())?;
        let data = claims.data().clone();
        subject = data.subject.clone();
        if !dir.allow_delete {
            return Err("delete must be enabled in server config".into());
        }
        if data.subject != data.issuer {
            return Err("not self signed".into());
        }
        if !op.is_operator_key(&data.issuer) {
            return Err("not trusted".into());
        }
        let crate::jwt::Claims::Other { nats, .. } = claims else {
            return Err("malformed request".into());
        };
        let list = nats
            .get("accounts")
            .and_then(Value::as_array)
            .ok_or("malformed request")?;
        let mut keys = Vec::new();
        for k in list {
            let k = k.as_str().unwrap_or_default();
            if !crate::jwt::is_public_key(k, 'A') {
                return Err("malformed request".into());
            }
            if k == sys_key {
                return Err("not allowed to delete system account".into());
            }
            keys.push(k.to_string());
        }
        Ok(keys)
    })();
    let keys = match checked {
        Ok(k) => k,
        Err(e) => {
            let msg = format!("delete accounts request by {subject} failed");
            return respond_to_update(srv, sys, reply, "", Err((msg, e)));
        }
    };
    let mut errs = Vec::new();
    let mut passed = 0;
    for k in &keys {
        match dir.delete(k) {
            Ok(()) => {
                passed += 1;
                op.removed(srv, k);
            }
            Err(e) => errs.push(e),
        }
    }
    let result = if errs.is_empty() {
        Ok(format!("deleted {passed} accounts"))
    } else {
        Err((
            format!("deleted {passed} accounts, failed for {}", errs.len()),
            errs.join("\n"),
        ))
    };
    respond_to_update(srv, sys, reply, "", result);
}
