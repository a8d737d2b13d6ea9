//! `/subsz` (alias `/subscriptionsz`): the subject index's counters and, with `subs=1`,
//! the local subscriptions (Go's `Subsz`).
//!
//! Without `subs`, or when the requested page is empty, the body is only the counters
//! (no `server_id`), which is what Go prints. The counters cover every subscription in
//! the index, route ones included; the list covers client subscriptions only. `test=`
//! keeps the subscriptions a message published to that literal subject would reach.
//! Like Go, `total` is the size of the returned page, not of the whole list.

use nats_sublist::subject::{is_valid_literal_subject, subject_matches};
use nats_sublist::Stats;
use serde::Serialize;

use super::format::GoTime;
use super::query::Query;
use super::{page, sid_order, Endpoint, Out, SubDetail};
use crate::account::Account;
use crate::server::Server;
use crate::sub::{SubRef, Target};
use std::sync::Arc;

/// Default page size (Go's `DefaultSubListSize`).
const DEFAULT_LIMIT: usize = 1024;

/// Go's `SublistStats`.
#[derive(Serialize, Default)]
pub(super) struct SublistStats {
    num_subscriptions: u32,
    num_cache: u32,
    num_inserts: u64,
    num_removes: u64,
    num_matches: u64,
    cache_hit_rate: f64,
    max_fanout: u32,
    avg_fanout: f64,
}

impl From<Stats> for SublistStats {
    fn from(s: Stats) -> Self {
        SublistStats {
            num_subscriptions: s.num_subscriptions,
            num_cache: s.num_cache,
            num_inserts: s.num_inserts,
            num_removes: s.num_removes,
            num_matches: s.num_matches,
            cache_hit_rate: s.cache_hit_rate,
            max_fanout: s.max_fanout,
            avg_fanout: s.avg_fanout,
        }
    }
}

impl SublistStats {
    /// Several accounts' counters as one, as Go's `SublistStats.add` (and `Subsz`,
    /// which averages the cache hit rate over the accounts).
    fn sum(all: impl Iterator<Item = Stats>) -> SublistStats {
        let mut t = SublistStats::default();
        let (mut n, mut fan_total, mut fan_count) = (0u32, 0f64, 0f64);
        for s in all {
            n += 1;
            t.num_subscriptions += s.num_subscriptions;
            t.num_cache += s.num_cache;
            t.num_inserts += s.num_inserts;
            t.num_removes += s.num_removes;
            t.num_matches += s.num_matches;
            t.cache_hit_rate += s.cache_hit_rate;
            t.max_fanout = t.max_fanout.max(s.max_fanout);
            fan_total += s.avg_fanout * f64::from(s.num_cache);
            fan_count += f64::from(s.num_cache);
        }
        if n > 1 {
            t.cache_hit_rate /= f64::from(n);
        }
        if fan_count > 0.0 {
            t.avg_fanout = fan_total / fan_count;
        }
        t
    }
}

#[derive(Serialize)]
struct Subsz {
    server_id: String,
    now: GoTime,
    #[serde(flatten)]
    stats: SublistStats,
    total: usize,
    offset: usize,
    limit: usize,
    subscriptions_list: Vec<SubDetail>,
}

pub(super) fn handle<O: Out>(srv: &Server, q: &Query, out: &O) -> O::Doc {
    // Go counts the hit before looking at the parameters.
    out.count(srv, Endpoint::Subsz);
    let parsed = (|| Ok::<_, String>((q.bool("subs")?, q.int("offset")?, q.int("limit")?)))();
    let (subs, offset, limit) = match parsed {
        Ok(v) => v,
        Err(e) => return out.bad(e),
    };
    let test = q.get("test");
    if !test.is_empty() && !is_valid_literal_subject(test.as_bytes()) {
        return out.bad(format!(
            "invalid test subject, must be valid publish subject: {test}"
        ));
    }
    let offset = usize::try_from(offset).unwrap_or(0);
    let limit = usize::try_from(limit)
        .ok()
        .filter(|&l| l > 0)
        .unwrap_or(DEFAULT_LIMIT);
    // Every account's index, or the one `acc` names (an unknown name matches nothing).
    let acc = q.get("acc");
    let accounts: Vec<Arc<Account>> = if acc.is_empty() {
        srv.accounts.list()
    } else {
        srv.accounts.lookup(acc.as_bytes()).into_iter().collect()
    };
    let stats = SublistStats::sum(accounts.iter().map(|a| a.sl.stats()));
    if !subs || accounts.is_empty() {
        return out.ok(&stats);
    }
    let list = subscriptions(&accounts, test);
    let range = page(list.len(), offset, limit);
    if range.is_empty() {
        return out.ok(&stats);
    }
    // Entries are built for the page only.
    let list: Vec<SubDetail> = list[range]
        .iter()
        .map(|s| SubDetail::new(s, &s.account.name))
        .collect();
    out.ok(&Subsz {
        server_id: srv.id.clone(),
        now: GoTime(std::time::SystemTime::now()),
        stats,
        total: list.len(),
        offset,
        limit,
        subscriptions_list: list,
    })
}

/// Client subscriptions (matching `test` if given), by cid then sid.
fn subscriptions(accounts: &[Arc<Account>], test: &str) -> Vec<SubRef> {
    let mut subs: Vec<_> = accounts
        .iter()
        .flat_map(|a| a.sl.all())
        .filter(|s| matches!(s.target, Target::Client(_)))
        .filter(|s| test.is_empty() || subject_matches(&s.subject, test.as_bytes()))
        .collect();
    let cid = |s: &SubRef| s.target.conn().map_or(0, |c| c.cid);
    subs.sort_by(|a, b| cid(a).cmp(&cid(b)).then_with(|| sid_order(&a.sid, &b.sid)));
    subs
}
