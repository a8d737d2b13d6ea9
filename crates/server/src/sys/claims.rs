//! Operator mode's claim requests in the system account (nats-server 2.9.10's
//! `accountClaimUpdate` and `respondToUpdate`): an account JWT published on
//! `$SYS.ACCOUNT.<acc>.CLAIMS.UPDATE` or `$SYS.REQ.ACCOUNT.<acc>.CLAIMS.UPDATE` replaces
//! the account's claims ([`crate::operator::OperatorMode::update`]); a request gets
//! `{"server": …, "data": {"account", "code": 200, "message"}}` or
//! `{"server": …, "error": {"account", "code": 500, "description"}}`.

use super::{events, System};
use crate::operator::update::Outcome;
use crate::server::Server;
use crate::{debug, error};

pub(super) fn update(srv: &Server, sys: &System, subject: &str, reply: Option<&str>, body: &[u8]) {
    let Some(op) = srv.operator.as_ref() else {
        return;
    };
    let toks: Vec<&str> = subject.split('.').collect();
    let key = match toks.len() {
        // $SYS.REQ.ACCOUNT.<acc>.CLAIMS.UPDATE
        6 => toks[3],
        // $SYS.ACCOUNT.<acc>.CLAIMS.UPDATE
        5 => toks[2],
        _ => {
            debug!(
                srv.log,
                "Received account claims update on bad subject {:?}", subject
            );
            return;
        }
    };
    let token = String::from_utf8_lossy(body);
    let outcome = op.update(srv, key, &token);
    let result = match outcome {
        Outcome::Updated => Ok("jwt updated"),
        Outcome::Skipped => Ok("jwt update skipped"),
        Outcome::Failed { message, error } => Err((message, error)),
    };
    match &result {
        Ok(m) => debug!(srv.log, "{} - {}", m, key),
        Err((m, e)) => error!(srv.log, "{} - {} - {}", m, key, e),
    }
    let Some(reply) = reply else { return };
    let inner = match result {
        Ok(message) => {
            serde_json::json!({"data": {"account": key, "code": 200, "message": message}})
        }
        Err((message, e)) => serde_json::json!({"error": {"account": key, "code": 500,
            "description": format!("{message} - {e}")}}),
    };
    // Go marshals a map: keys in order, so `data`/`error` come before `server`.
    let server = events::server_info_json(srv, sys.next_seq());
    let mut out = Vec::with_capacity(server.len() + 128);
    out.push(b'{');
    if let serde_json::Value::Object(m) = inner {
        for (k, v) in m {
            out.extend_from_slice(format!("\"{k}\":").as_bytes());
            out.extend_from_slice(&crate::monitor::to_json_compact(&v));
            out.push(b',');
        }
    }
    out.extend_from_slice(b"\"server\":");
    out.extend_from_slice(&server);
    out.push(b'}');
    sys.publish(srv, reply, None, &out);
}
