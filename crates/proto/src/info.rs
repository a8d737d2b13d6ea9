//! The INFO and CONNECT documents, with nats-server 2.9.10's JSON field names, order and
//! `omitempty` rules. Unknown fields from peers are ignored (serde's default), so newer Go
//! servers and clients can talk to us.

use serde::{Deserialize, Serialize};

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// INFO as sent to clients and to routes (Go's `server.Info`). Field order is the wire order.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ServerInfo {
    pub server_id: String,
    pub server_name: String,
    pub version: String,
    pub proto: i32,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub git_commit: String,
    pub go: String,
    pub host: String,
    pub port: u16,
    pub headers: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub auth_required: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub tls_required: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub tls_verify: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub tls_available: bool,
    pub max_payload: i64,
    #[serde(skip_serializing_if = "is_false")]
    pub jetstream: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub ip: String,
    #[serde(skip_serializing_if = "is_zero")]
    pub client_id: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_ip: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub nonce: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cluster: String,
    #[serde(skip_serializing_if = "is_false")]
    pub cluster_dynamic: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub domain: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub connect_urls: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ws_connect_urls: Vec<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub ldm: bool,
    /// Read from Go peers (leafnode-origin support); we never announce it.
    #[serde(skip_serializing_if = "is_false")]
    pub lnoc: bool,
    /// Our own implementation version (the `version` field carries the nats-server version
    /// whose behaviour we match, because clients gate features on it). Also tells a peer
    /// that we are one of ours, which enables the deterministic duplicate-route tie-break.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub rs_version: String,
}

/// CONNECT as received from clients and routes (Go's `ClientOpts` plus the route fields).
/// Defaults are the protocol's: verbose, pedantic and echo are on unless the peer says no.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ConnectInfo {
    pub echo: bool,
    pub verbose: bool,
    pub pedantic: bool,
    pub tls_required: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub nkey: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub jwt: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub sig: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub auth_token: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub user: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub pass: String,
    pub name: String,
    pub lang: String,
    pub version: String,
    pub protocol: i64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub account: String,
    #[serde(skip_serializing_if = "is_false")]
    pub new_account: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub headers: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub no_responders: bool,
    /// Route CONNECT only: the cluster name of the dialling server.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cluster: String,
    #[serde(skip_serializing_if = "is_false")]
    pub cluster_dynamic: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub lnoc: bool,
    /// Present only on gateway connections; a route rejects it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
}

impl Default for ConnectInfo {
    fn default() -> Self {
        ConnectInfo {
            echo: true,
            verbose: true,
            pedantic: true,
            tls_required: false,
            nkey: String::new(),
            jwt: String::new(),
            sig: String::new(),
            auth_token: String::new(),
            user: String::new(),
            pass: String::new(),
            name: String::new(),
            lang: String::new(),
            version: String::new(),
            protocol: 0,
            account: String::new(),
            new_account: false,
            headers: false,
            no_responders: false,
            cluster: String::new(),
            cluster_dynamic: false,
            lnoc: false,
            gateway: None,
        }
    }
}

/// The CONNECT a server sends when it dials a route (Go's `connectInfo`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RouteConnect {
    pub echo: bool,
    pub verbose: bool,
    pub pedantic: bool,
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub user: String,
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub pass: String,
    pub tls_required: bool,
    pub headers: bool,
    /// Our server id.
    pub name: String,
    pub cluster: String,
    #[serde(skip_serializing_if = "is_false", default)]
    pub cluster_dynamic: bool,
}
