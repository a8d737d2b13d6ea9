//! `/jsz` (Go's `JSInfo`) and the `jetstream` block of `/varz`: JetStream's limits,
//! usage and API counters; with `accounts`, `streams`, `consumers` and `config` the
//! per-account, per-stream and per-consumer details, as nats-server 2.9.10 shows them
//! on a single server.

use std::sync::atomic::Ordering::Relaxed;
use std::time::SystemTime;

use nats_jetstream::consumer::ConsumerInfo;
use nats_jetstream::time::GoTime as JsTime;
use nats_jetstream::{StateJson, StreamConfig};
use serde::Serialize;

use super::format::GoTime;
use super::query::Query;
use super::{Endpoint, Out};
use crate::jetstream::{now_nanos, JetStream, JsAccount};
use crate::server::Server;

#[derive(Serialize)]
pub(super) struct JsConfig {
    max_memory: i64,
    max_storage: i64,
    #[serde(skip_serializing_if = "String::is_empty")]
    store_dir: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    domain: String,
}

#[derive(Serialize, Default)]
struct Api {
    total: u64,
    errors: u64,
}

#[derive(Serialize, Default)]
pub(super) struct JsStats {
    memory: u64,
    storage: u64,
    reserved_memory: u64,
    reserved_storage: u64,
    accounts: usize,
    ha_assets: usize,
    api: Api,
}

/// `/varz`'s `jetstream`: `{}` when JetStream is off.
#[derive(Serialize)]
#[serde(untagged)]
pub(super) enum JsVarz {
    Off {},
    On { config: JsConfig, stats: JsStats },
}

pub(super) fn varz_block(srv: &Server) -> JsVarz {
    match srv.js.get() {
        None => JsVarz::Off {},
        Some(js) => JsVarz::On {
            config: config(js),
            stats: stats(js),
        },
    }
}

fn config(js: &JetStream) -> JsConfig {
    JsConfig {
        max_memory: js.max_memory,
        max_storage: js.max_store,
        store_dir: js.dir.display().to_string(),
        domain: js.domain.clone(),
    }
}

fn stats(js: &JetStream) -> JsStats {
    let accounts: Vec<_> = js.accounts.lock().values().cloned().collect();
    let (mut memory, mut storage) = (0, 0);
    for ja in &accounts {
        let (m, s, _) = js.usage(ja);
        memory += m;
        storage += s;
    }
    JsStats {
        memory,
        storage,
        reserved_memory: 0,
        reserved_storage: 0,
        accounts: accounts.len(),
        ha_assets: 0,
        api: Api {
            total: js.api_total.load(Relaxed),
            errors: js.api_errors.load(Relaxed),
        },
    }
}

#[derive(Serialize)]
struct Jsz {
    server_id: String,
    now: GoTime,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    disabled: bool,
    config: JsConfig,
    #[serde(flatten)]
    stats: JsStats,
    streams: usize,
    consumers: usize,
    messages: u64,
    bytes: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    account_details: Vec<AccountDetail>,
}

#[derive(Serialize)]
struct AccountDetail {
    name: String,
    id: String,
    #[serde(flatten)]
    stats: JsStats,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    stream_detail: Vec<StreamDetail>,
}

#[derive(Serialize)]
struct Leader {
    leader: String,
}

#[derive(Serialize)]
struct StreamDetail {
    name: String,
    created: JsTime,
    cluster: Leader,
    #[serde(skip_serializing_if = "Option::is_none")]
    config: Option<StreamConfig>,
    state: StateJson,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    consumer_detail: Vec<ConsumerInfo>,
}

pub(super) fn handle<O: Out>(srv: &Server, q: &Query, out: &O) -> O::Doc {
    out.count(srv, Endpoint::Jsz);
    let flag = |k: &str| q.bool(k).unwrap_or(false);
    let consumers = flag("consumers");
    let streams = consumers || flag("streams");
    let accounts = streams || flag("accounts");
    let with_config = flag("config");
    let only = Some(q.get("acc").to_string()).filter(|a| !a.is_empty());
    let now = GoTime(SystemTime::now());
    let Some(js) = srv.js.get() else {
        return out.ok(&Jsz {
            server_id: srv.id.clone(),
            now,
            disabled: true,
            config: JsConfig {
                max_memory: 0,
                max_storage: 0,
                store_dir: String::new(),
                domain: String::new(),
            },
            stats: JsStats::default(),
            streams: 0,
            consumers: 0,
            messages: 0,
            bytes: 0,
            account_details: Vec::new(),
        });
    };
    let mut all: Vec<std::sync::Arc<JsAccount>> = js.accounts.lock().values().cloned().collect();
    all.sort_by(|a, b| a.account.name.cmp(&b.account.name));
    let (mut n_streams, mut n_consumers, mut messages, mut bytes) = (0, 0, 0, 0);
    for ja in &all {
        for h in ja.streams.lock().values() {
            let st = h.stream.lock().state();
            n_streams += 1;
            messages += st.msgs;
            bytes += st.bytes;
            n_consumers += h.consumers.lock().len();
        }
    }
    let mut account_details = Vec::new();
    if accounts {
        let named = only
            .as_deref()
            .filter(|n| all.iter().any(|a| *a.account.name == **n));
        for ja in all
            .iter()
            .filter(|a| named.is_none_or(|n| *a.account.name == *n))
        {
            account_details.push(account_detail(srv, js, ja, streams, consumers, with_config));
        }
    }
    out.ok(&Jsz {
        server_id: srv.id.clone(),
        now,
        disabled: false,
        config: config(js),
        stats: stats(js),
        streams: n_streams,
        consumers: n_consumers,
        messages,
        bytes,
        account_details,
    })
}

fn account_detail(
    srv: &Server,
    js: &JetStream,
    ja: &JsAccount,
    streams: bool,
    consumers: bool,
    with_config: bool,
) -> AccountDetail {
    let (memory, storage, _) = js.usage(ja);
    let mut stream_detail = Vec::new();
    if streams {
        let now = now_nanos();
        for h in ja.streams.lock().values() {
            let (name, created, config, state) = {
                let s = h.stream.lock();
                (
                    s.config().name.clone(),
                    s.created(),
                    with_config.then(|| s.config().clone()),
                    s.state_json(),
                )
            };
            let mut consumer_detail = Vec::new();
            if consumers {
                for ch in h.consumers.lock().values() {
                    let mut info: ConsumerInfo = {
                        let c = ch.consumer.lock();
                        let s = h.stream.lock();
                        c.info(s.store(), now)
                    };
                    if !with_config {
                        info.config = None;
                    }
                    consumer_detail.push(info);
                }
            }
            stream_detail.push(StreamDetail {
                name,
                created: JsTime(created),
                cluster: Leader {
                    leader: srv.name.clone(),
                },
                config,
                state,
                consumer_detail,
            });
        }
    }
    AccountDetail {
        name: ja.account.name.to_string(),
        id: ja.account.name.to_string(),
        stats: JsStats {
            memory,
            storage,
            // Go shows its "no limit" (-1) as an unsigned number here.
            reserved_memory: u64::MAX,
            reserved_storage: u64::MAX,
            accounts: 0,
            ha_assets: 0,
            api: Api {
                total: js.api_total.load(Relaxed),
                errors: js.api_errors.load(Relaxed),
            },
        },
        stream_detail,
    }
}
