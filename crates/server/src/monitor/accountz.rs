//! `/accountz` and `/accstatz`: the accounts (Go's `Accountz` and `AccountStatz`).
//!
//! `/accountz` lists the account names, or with `acc=` details one account (an unknown
//! name is a 400 `Account <name> does not exist`). `/accstatz` gives per-account
//! connection and delivery counters, of the accounts with local clients only unless
//! `unused=1`.
//!
//! Differences from nats-server 2.9.10, which come from what we do not have yet: there is
//! no system account, so `system_account` and the `$SYS` entries are absent and an
//! account's detail has no `imports` (Go shows the three service imports every account
//! gets from `$SYS`, and counts their subscriptions in `subscriptions`). Names are listed
//! in registration order (`$G` first); Go's order is its map's. `received` counts what
//! the account's clients published, `sent` what was delivered to them (payload bytes);
//! `slow_consumers` stays 0.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::SystemTime;

use axum::response::Response;
use serde::Serialize;

use super::format::GoTime;
use super::query::Query;
use super::subsz::SublistStats;
use super::{bad_request, count, pretty, Endpoint};
use crate::account::Account;
use crate::conn::ConnKind;
use crate::server::Server;

/// Go's `Accountz`.
#[derive(Serialize)]
struct Accountz {
    server_id: String,
    now: GoTime,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    accounts: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_detail: Option<AccountInfo>,
}

/// Go's `AccountInfo`, without the fields that are always omitted for us (`is_system`,
/// `mappings`, `exports`, `imports`, `jwt`, `issuer_key`, `name_tag`, `tags`,
/// `decoded_jwt`, `validation_result`, `responses`).
#[derive(Serialize)]
struct AccountInfo {
    account_name: String,
    update_time: GoTime,
    expired: bool,
    complete: bool,
    jetstream_enabled: bool,
    leafnode_connections: usize,
    client_connections: usize,
    subscriptions: u32,
    sublist_stats: SublistStats,
}

/// Go's `AccountStatz`.
#[derive(Serialize)]
struct AccountStatz {
    server_id: String,
    now: GoTime,
    account_statz: Vec<AccountStat>,
}

/// Go's `DataStats`.
#[derive(Serialize)]
struct DataStats {
    msgs: u64,
    bytes: u64,
}

/// Go's `AccountStat`.
#[derive(Serialize)]
struct AccountStat {
    acc: String,
    conns: usize,
    leafnodes: usize,
    total_conns: usize,
    sent: DataStats,
    received: DataStats,
    slow_consumers: u64,
}

/// Local client connections of `acc` (those that have sent CONNECT).
fn client_connections(srv: &Server, acc: &Arc<Account>) -> usize {
    srv.clients
        .lock()
        .values()
        .filter(|c| c.kind == ConnKind::Client)
        .filter(|c| {
            c.meta
                .lock()
                .account
                .as_ref()
                .is_some_and(|a| Arc::ptr_eq(a, acc))
        })
        .count()
}

pub(super) fn handle_accountz(srv: &Server, q: &Query) -> Response {
    count(srv, Endpoint::Accountz);
    let now = GoTime(SystemTime::now());
    let name = q.get("acc");
    if name.is_empty() {
        return pretty(
            q,
            &Accountz {
                server_id: srv.id.clone(),
                now,
                accounts: srv
                    .accounts
                    .list()
                    .iter()
                    .map(|a| a.name.to_string())
                    .collect(),
                account_detail: None,
            },
        );
    }
    let Some(acc) = srv.accounts.lookup(name.as_bytes()) else {
        return bad_request(format!("Account {name} does not exist"));
    };
    let stats = acc.sl.stats();
    let detail = AccountInfo {
        account_name: acc.name.to_string(),
        update_time: GoTime(acc.created),
        expired: false,
        complete: true,
        jetstream_enabled: false,
        leafnode_connections: 0,
        client_connections: client_connections(srv, &acc),
        subscriptions: stats.num_subscriptions,
        sublist_stats: stats.into(),
    };
    pretty(
        q,
        &Accountz {
            server_id: srv.id.clone(),
            now,
            accounts: Vec::new(),
            account_detail: Some(detail),
        },
    )
}

pub(super) fn handle_accstatz(srv: &Server, q: &Query) -> Response {
    count(srv, Endpoint::Accstatz);
    let unused = match q.bool("unused") {
        Ok(v) => v,
        Err(e) => return bad_request(e),
    };
    let account_statz = srv
        .accounts
        .list()
        .iter()
        .filter_map(|acc| {
            let conns = client_connections(srv, acc);
            (unused || conns > 0).then(|| AccountStat {
                acc: acc.name.to_string(),
                conns,
                leafnodes: 0,
                total_conns: conns,
                sent: DataStats {
                    msgs: acc.out_msgs.load(Relaxed),
                    bytes: acc.out_bytes.load(Relaxed),
                },
                received: DataStats {
                    msgs: acc.in_msgs.load(Relaxed),
                    bytes: acc.in_bytes.load(Relaxed),
                },
                slow_consumers: 0,
            })
        })
        .collect();
    pretty(
        q,
        &AccountStatz {
            server_id: srv.id.clone(),
            now: GoTime(SystemTime::now()),
            account_statz,
        },
    )
}
