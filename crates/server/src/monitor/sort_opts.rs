//! `/connz?sort=`: the orders nats-server 2.9.10 offers (its `monitor_sort_opts.go`).
//!
//! `cid` and `start` are ascending; `reason` is ascending by its text; the others are
//! descending, except `uptime`, which Go sorts ascending (youngest first). `idle` orders by
//! the time between connecting and the last activity, descending — Go's comparator, kept
//! so that scripts see the same order.

use std::cmp::Ordering;
use std::time::SystemTime;

use super::connz::SortKey;
use super::format::since;

/// `sort=` values (Go's `SortOpt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SortOpt {
    Cid,
    Start,
    Subs,
    Pending,
    MsgsTo,
    MsgsFrom,
    BytesTo,
    BytesFrom,
    Last,
    Idle,
    Uptime,
    Stop,
    Reason,
}

impl SortOpt {
    pub(super) fn parse(s: &str) -> Option<SortOpt> {
        Some(match s {
            "" | "cid" => SortOpt::Cid,
            "start" => SortOpt::Start,
            "subs" => SortOpt::Subs,
            "pending" => SortOpt::Pending,
            "msgs_to" => SortOpt::MsgsTo,
            "msgs_from" => SortOpt::MsgsFrom,
            "bytes_to" => SortOpt::BytesTo,
            "bytes_from" => SortOpt::BytesFrom,
            "last" => SortOpt::Last,
            "idle" => SortOpt::Idle,
            "uptime" => SortOpt::Uptime,
            "stop" => SortOpt::Stop,
            "reason" => SortOpt::Reason,
            _ => return None,
        })
    }
}

/// Sort as Go does. Ties keep cid order (Go's sort is not stable, so any order is
/// faithful; this one is reproducible).
pub(super) fn sort_keys(v: &mut [SortKey], sort: SortOpt, now: SystemTime) {
    v.sort_by_key(|c| c.cid);
    let desc = |f: fn(&SortKey, &SortKey) -> Ordering| move |a: &SortKey, b: &SortKey| f(b, a);
    let life = |c: &SortKey| since(c.stop.unwrap_or(now), c.start);
    match sort {
        SortOpt::Cid | SortOpt::Start => {}
        SortOpt::Subs => v.sort_by(desc(|a, b| a.subscriptions.cmp(&b.subscriptions))),
        SortOpt::Pending => v.sort_by(desc(|a, b| a.pending_bytes.cmp(&b.pending_bytes))),
        SortOpt::MsgsTo => v.sort_by(desc(|a, b| a.out_msgs.cmp(&b.out_msgs))),
        SortOpt::MsgsFrom => v.sort_by(desc(|a, b| a.in_msgs.cmp(&b.in_msgs))),
        SortOpt::BytesTo => v.sort_by(desc(|a, b| a.out_bytes.cmp(&b.out_bytes))),
        SortOpt::BytesFrom => v.sort_by(desc(|a, b| a.in_bytes.cmp(&b.in_bytes))),
        SortOpt::Last => v.sort_by(desc(|a, b| a.last_activity.cmp(&b.last_activity))),
        SortOpt::Idle => v.sort_by(desc(|a, b| {
            since(a.last_activity, a.start).cmp(&since(b.last_activity, b.start))
        })),
        SortOpt::Uptime => v.sort_by_key(life),
        SortOpt::Stop => v.sort_by(desc(|a, b| a.stop.cmp(&b.stop))),
        SortOpt::Reason => v.sort_by(|a, b| a.reason.cmp(b.reason)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::connz::Src;
    use std::time::Duration;

    fn info(cid: u64, start_s: u64, last_s: u64, subs: u32, out_msgs: u64) -> SortKey {
        let t = |s| SystemTime::UNIX_EPOCH + Duration::from_secs(s);
        SortKey {
            src: Src::Open(cid as usize),
            cid,
            start: t(start_s),
            last_activity: t(last_s),
            stop: None,
            reason: "",
            subscriptions: subs,
            pending_bytes: 0,
            in_msgs: 0,
            out_msgs,
            in_bytes: 0,
            out_bytes: 0,
        }
    }

    fn order(sort: &str, v: &[SortKey]) -> Vec<u64> {
        let mut v = v.to_vec();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        sort_keys(&mut v, SortOpt::parse(sort).unwrap(), now);
        v.iter().map(|c| c.cid).collect()
    }

    #[test]
    fn sort_options_parse() {
        for s in [
            "",
            "cid",
            "start",
            "subs",
            "pending",
            "msgs_to",
            "msgs_from",
            "bytes_to",
            "bytes_from",
            "last",
            "idle",
            "uptime",
            "stop",
            "reason",
        ] {
            assert!(SortOpt::parse(s).is_some(), "{s}");
        }
        assert_eq!(SortOpt::parse("CID"), None);
        assert_eq!(SortOpt::parse("foo"), None);
    }

    #[test]
    fn sorts_like_go() {
        // cid, start, last activity, subs, out msgs
        let v = [
            info(3, 30, 35, 1, 5),
            info(1, 10, 100, 2, 5),
            info(2, 20, 21, 3, 9),
        ];
        assert_eq!(order("", &v), [1, 2, 3]);
        assert_eq!(order("start", &v), [1, 2, 3]);
        assert_eq!(order("subs", &v), [2, 1, 3]);
        // Ties keep cid order.
        assert_eq!(order("msgs_to", &v), [2, 1, 3]);
        assert_eq!(order("last", &v), [1, 3, 2]);
        // Go 2.9.10: by last-start, descending (90, 5, 1).
        assert_eq!(order("idle", &v), [1, 3, 2]);
        // Go 2.9.10: ascending uptime, youngest first.
        assert_eq!(order("uptime", &v), [3, 2, 1]);
    }
}
