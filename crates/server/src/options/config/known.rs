//! Keys that nats-server accepts (2.9.10, and the releases after it up to 2.14) but this
//! server does not implement, and what we do about each.
//!
//! Invariant: a key lands in [`Support::Refuse`] only when ignoring it would grant access
//! the configuration withholds; everything else is [`Support::Ignore`] (reported, never
//! fatal).

pub(crate) enum Support {
    /// Reported and ignored; the text says what is missing.
    Ignore(&'static str),
    /// An error: running without it would weaken security.
    Refuse(&'static str),
}

use Support::{Ignore, Refuse};

/// Top-level keys (lower case).
pub(crate) fn top_level(key: &str) -> Option<Support> {
    Some(match key {
        "default_sentinel" => Ignore("operator mode (JWT) is not implemented"),
        "default_js_domain" => Ignore("JetStream domains across leaf nodes are not implemented"),
        "leaf" | "leafnodes" => Ignore("leaf nodes are not implemented"),
        "gateway" => Ignore("gateways are not implemented"),
        "mqtt" => Ignore("MQTT is not implemented"),
        // Ignoring it only refuses plain-text clients that Go would let in.
        "allow_non_tls" => Ignore("plain-text clients on a TLS port are not implemented"),
        "ocsp" | "ocsp_cache" => Ignore("OCSP stapling is not implemented"),
        "resolver_pinned_accounts" => Refuse("resolver pinned accounts are not implemented"),
        "server_tags" | "server_metadata" => Ignore("server tags are not implemented"),
        "prof_port" | "prof_block_rate" => Ignore("profiling is not implemented"),
        "max_sub_tokens" | "max_subscription_tokens" => {
            Ignore("subject token limits are not implemented")
        }
        "trace_headers" | "logtime_utc" | "logfile_max_num" | "log_max_num" => {
            Ignore("a newer nats-server logging option")
        }
        "write_timeout" | "max_closed_clients" | "no_fast_producer_stall" | "feature_flags" => {
            Ignore("a newer nats-server option")
        }
        "proxy_protocol" | "proxies" => Ignore("proxy support is not implemented"),
        _ => return None,
    })
}

/// Keys inside `cluster {}` (lower case).
pub(crate) fn cluster(key: &str) -> Option<Support> {
    Some(match key {
        "permissions" => Refuse("route permissions are not implemented"),
        "pool_size" | "accounts" | "compression" | "ping_interval" | "ping_max"
        | "connect_backoff" | "write_deadline" | "write_timeout" => {
            Ignore("a newer nats-server cluster option")
        }
        _ => return None,
    })
}

/// Keys inside the top-level `authorization {}` (lower case).
pub(crate) fn authorization(key: &str) -> Option<Support> {
    Some(match key {
        "auth_callout" | "auth_hook" => Refuse("auth callout is not implemented"),
        "proxy_required" => Refuse("proxy support is not implemented"),
        _ => return None,
    })
}

/// Keys of an entry of `authorization { users: [...] }` (lower case).
pub(crate) fn user(key: &str) -> Option<Support> {
    Some(match key {
        "proxy_required" => Refuse("proxy support is not implemented"),
        _ => return None,
    })
}
