//! `/healthz`: 200 `{"status":"ok"}` when the server accepts connections, 503
//! `{"status":"error","error":"…"}` otherwise — what Kubernetes probes and load balancers
//! poll.
//!
//! "Accepts connections" is Go's `readyForConnections`: the client listener is up, and the
//! cluster listener too when a cluster port is configured. It does not ask whether routes
//! are connected. A server that is shutting down has closed its listeners, so it is
//! unhealthy. The JetStream flags (`js-enabled-only`, `js-server-only`, the deprecated
//! `js-enabled`) are decoded like Go (a bad value is a 400) and otherwise ignored, as Go
//! ignores them when JetStream is off. Unlike the other endpoints, the body is compact.

use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;

use super::format::to_json_compact;
use super::query::Query;
use super::{bad_request, count, json_response, Endpoint};
use crate::server::Server;
use crate::warn;

#[derive(Serialize, Debug, PartialEq)]
pub(super) struct HealthStatus {
    status: &'static str,
    #[serde(skip_serializing_if = "String::is_empty")]
    error: String,
}

pub(super) fn handle(srv: &Server, q: &Query) -> Response {
    count(srv, Endpoint::Healthz);
    for flag in ["js-enabled", "js-enabled-only", "js-server-only"] {
        match q.bool(flag) {
            Ok(true) if flag == "js-enabled" => warn!(
                srv.log,
                "Healthcheck: js-enabled deprecated, use js-enabled-only instead"
            ),
            Ok(_) => {}
            Err(e) => return bad_request(e),
        }
    }
    let hs = healthz(srv);
    let status = if hs.error.is_empty() {
        StatusCode::OK
    } else {
        warn!(srv.log, "Healthcheck failed: {:?}", hs.error);
        StatusCode::SERVICE_UNAVAILABLE
    };
    json_response(q, status, to_json_compact(&hs))
}

pub(super) fn healthz(srv: &Server) -> HealthStatus {
    let addrs = srv.addrs.read().clone();
    let down = srv.is_shutting_down();
    // Lame duck mode closes the client listener, so nats-server's check fails then too.
    let ldm = srv.ldm.load(std::sync::atomic::Ordering::Acquire);
    let mut failed = Vec::new();
    if down || ldm || addrs.client.is_none() {
        failed.push("server");
    }
    if srv.is_clustered() && (down || addrs.cluster.is_none()) {
        failed.push("route");
    }
    if failed.is_empty() {
        return HealthStatus {
            status: "ok",
            error: String::new(),
        };
    }
    HealthStatus {
        status: "error",
        error: format!(
            "failed to be ready for connections after 1ms: {}",
            failed.join(", ")
        ),
    }
}
