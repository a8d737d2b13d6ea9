//! `/accountz` and `/accstatz`: the accounts (Go's `Accountz` and `AccountStatz`).
//!
//! `/accountz` lists the account names, or with `acc=` details one account (an unknown
//! name is a 400 `Account <name> does not exist`). `/accstatz` gives per-account
//! connection and delivery counters, of the accounts with local clients only unless
//! `unused=1`.
//!
//! Differences from nats-server 2.9.10, which come from what we do not have yet: an
//! account's detail has no `imports` (Go shows the three service imports every account
//! gets from the system account, and counts their subscriptions in `subscriptions`). Names are listed
//! in registration order (`$G` first); Go's order is its map's. `received` counts what
//! the account's clients published, `sent` what was delivered to them (payload bytes);
//! `slow_consumers` stays 0.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::SystemTime;

use serde::Serialize;

use super::format::GoTime;
use super::query::Query;
use super::subsz::SublistStats;
use super::{Endpoint, Out};
use crate::account::Account;
use crate::conn::ConnKind;
use crate::server::Server;

/// Go's `Accountz`.
#[derive(Serialize)]
struct Accountz {
    server_id: String,
    now: GoTime,
    #[serde(skip_serializing_if = "String::is_empty")]
    system_account: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    accounts: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_detail: Option<AccountInfo>,
}

/// Go's `AccountInfo`, without the fields that are always omitted for us (`mappings`, `exports`, `imports`, `jwt`, `issuer_key`, `name_tag`, `tags`,
/// `decoded_jwt`, `validation_result`, `responses`).
#[derive(Serialize)]
struct AccountInfo {
    account_name: String,
    update_time: GoTime,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    is_system: bool,
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

pub(super) fn handle_accountz<O: Out>(srv: &Server, q: &Query, out: &O) -> O::Doc {
    out.count(srv, Endpoint::Accountz);
    let now = GoTime(SystemTime::now());
    let name = q.get("acc");
    if name.is_empty() {
        return out.ok(&Accountz {
            server_id: srv.id.clone(),
            now,
            system_account: system_account(srv),
            accounts: srv
                .accounts
                .list()
                .iter()
                .map(|a| a.name.to_string())
                .collect(),
            account_detail: None,
        });
    }
    let Some(acc) = srv.accounts.lookup(name.as_bytes()) else {
        return out.bad(format!("Account {name} does not exist"));
    };
    let stats = acc.sl.stats();
    let detail = AccountInfo {
        account_name: acc.name.to_string(),
        update_time: GoTime(acc.created),
        is_system: srv.sys.get().is_some_and(|s| Arc::ptr_eq(&s.account, &acc)),
        expired: false,
        complete: true,
        jetstream_enabled: false,
        leafnode_connections: 0,
        client_connections: client_connections(srv, &acc),
        subscriptions: stats.num_subscriptions,
        sublist_stats: stats.into(),
    };
    out.ok(&Accountz {
        server_id: srv.id.clone(),
        now,
        system_account: system_account(srv),
        accounts: Vec::new(),
        account_detail: Some(detail),
    })
}

pub(super) fn handle_accstatz<O: Out>(srv: &Server, q: &Query, out: &O) -> O::Doc {
    out.count(srv, Endpoint::Accstatz);
    let unused = match q.bool("unused") {
        Ok(v) => v,
        Err(e) => return out.bad(e),
    };
    // Only system-account requests name accounts (`$SYS.REQ.ACCOUNT.<acc>.STATZ`, or the
    // ping's `accounts` list): Go's HTTP handler takes `unused` alone.
    let only: Vec<&str> = q.get("acc").split(',').filter(|a| !a.is_empty()).collect();
    let account_statz = srv
        .accounts
        .list()
        .iter()
        .filter(|acc| only.is_empty() || only.contains(&&*acc.name))
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
    out.ok(&AccountStatz {
        server_id: srv.id.clone(),
        now: GoTime(SystemTime::now()),
        account_statz,
    })
}

fn system_account(srv: &Server) -> String {
    srv.sys
        .get()
        .map(|s| s.account.name.to_string())
        .unwrap_or_default()
}
