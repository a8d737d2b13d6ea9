//! The permission rules, checked against the behaviour of nats-server 2.9.10 (each case
//! was also run against the Go binary; see `tests/permissions.rs` for the wire-level
//! differential test).

use super::*;
use crate::options::SubjectPermission;
use std::time::Duration;

fn list(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn sp(allow: &[&str], deny: &[&str]) -> Option<SubjectPermission> {
    Some(SubjectPermission {
        allow: list(allow),
        deny: list(deny),
    })
}

fn perms(publish: Option<SubjectPermission>, subscribe: Option<SubjectPermission>) -> ClientPerms {
    ClientPerms::new(&Permissions {
        publish,
        subscribe,
        response: None,
    })
    .expect("restricts something")
}

#[test]
fn subset_match_as_nats_server() {
    let cases = [
        ("foo.*", ">", true),
        ("foo.*", "*.*", true),
        ("foo.*", "foo.*", true),
        ("foo.*", "foo.bar", false),
        ("foo.>", ">", true),
        ("foo.>", "*.>", true),
        ("foo.>", "foo.>", true),
        ("foo.>", "foo.bar", false),
        ("foo..bar", "foo.*", false),
        ("foo.*", "foo..bar", false),
        ("foo.bar", "foo.*", true),
        ("foo.bar", "*", false),
        ("foo", "foo.>", false),
        ("foo.bar.baz", "foo.*", false),
        ("foo v1", "*", true),
    ];
    for (subject, test, want) in cases {
        assert_eq!(
            is_subset_match(subject.as_bytes(), test.as_bytes()),
            want,
            "{subject} subset of {test}"
        );
    }
    assert!(has_wildcard(b"foo.*") && has_wildcard(b">") && !has_wildcard(b"foo*.b>"));
}

#[test]
fn nothing_to_enforce_compiles_to_none() {
    assert!(ClientPerms::new(&Permissions::default()).is_none());
    let empty = Permissions {
        publish: sp(&[], &[]),
        subscribe: sp(&[], &[]),
        response: None,
    };
    assert!(ClientPerms::new(&empty).is_none());
}

#[test]
fn publish_allow_then_deny_with_wildcards_taken_literally() {
    let d = DeliveryPerms::default();
    let mut p = perms(sp(&["foo.>", "bar"], &["foo.secret"]), None);
    for (subject, want) in [
        ("foo.x", true),
        ("foo.x.y", true),
        ("bar", true),
        ("foo.secret", false),
        ("baz", false),
        ("foo", false),
        // A published wildcard is matched token by token: `foo.>` covers it.
        ("foo.*", true),
        ("foo..x", false),
    ] {
        assert_eq!(p.pub_allowed(subject.as_bytes(), &d), want, "{subject}");
        // The second answer comes from the cache and is the same.
        assert_eq!(p.pub_allowed(subject.as_bytes(), &d), want, "{subject}");
    }
    let mut deny_only = perms(sp(&[], &[">"]), None);
    assert!(!deny_only.pub_allowed(b"anything", &d));
    let mut sub_only = perms(None, sp(&["x"], &[]));
    assert!(sub_only.pub_allowed(b"anything", &d));
}

#[test]
fn publish_cache_is_bounded() {
    let d = DeliveryPerms::default();
    let mut p = perms(sp(&["ok.>"], &[]), None);
    for i in 0..1000 {
        let s = format!("ok.{i}");
        assert!(p.pub_allowed(s.as_bytes(), &d));
        assert!(p.pcache.len() <= MAX_PERM_CACHE);
    }
    assert!(!p.pub_allowed(b"no", &d));
}

#[test]
fn subscribe_allow_and_deny_with_wildcards() {
    let d = DeliveryPerms::default();
    let p = perms(None, sp(&["foo.>", "q.* v1"], &["foo.bar"]));
    for (subject, queue, want) in [
        ("foo.bar", None, false),
        ("foo.baz", None, true),
        ("foo.*", None, true),
        ("foo.>", None, true),
        (">", None, false),
        ("baz", None, false),
        ("foo.x", Some("g"), true),
        // Queue entries: only the named group may use them, and no plain subscription.
        ("q.x", Some("v1"), true),
        ("q.x", Some("v2"), false),
        ("q.x", None, false),
        // Invalid subjects are refused by the allow list before being validated.
        ("foo..bar", None, false),
    ] {
        assert_eq!(
            p.can_subscribe(subject.as_bytes(), queue.map(str::as_bytes), &d),
            want,
            "SUB {subject} {queue:?}"
        );
    }
    // An allow list entry does not cover a wider wildcard.
    let narrow = perms(None, sp(&["foo.bar"], &[]));
    assert!(!narrow.can_subscribe(b"foo.*", None, &d));
    let wide = perms(None, sp(&["foo.*"], &[]));
    assert!(wide.can_subscribe(b"foo.bar", None, &d));
    assert!(
        wide.can_subscribe(b"foo.>", None, &d),
        "a `*` entry matches a `>` token"
    );
}

#[test]
fn queue_names_with_wildcards_and_deny_queue_quirk() {
    let d = DeliveryPerms::default();
    let p = perms(None, sp(&["jobs v1.*"], &[]));
    assert!(p.can_subscribe(b"jobs", Some(b"v1.a"), &d));
    assert!(p.can_subscribe(b"jobs", Some(b"v1.*"), &d));
    assert!(!p.can_subscribe(b"jobs", Some(b"v2.a"), &d));
    // deny ["foo", "foo v1"]: plain `foo` is denied, but the queue entry decides queue
    // subscriptions, so `foo v2` is allowed (nats-server 2.9.10 does the same).
    let p = perms(None, sp(&[], &["foo", "foo v1"]));
    assert!(!p.can_subscribe(b"foo", None, &d));
    assert!(!p.can_subscribe(b"foo", Some(b"v1"), &d));
    assert!(p.can_subscribe(b"foo", Some(b"v2"), &d));
    assert!(p.can_subscribe(b"bar", Some(b"v1"), &d));
}

#[test]
fn wildcard_subscription_switches_on_the_delivery_filter() {
    let d = DeliveryPerms::default();
    let p = perms(None, sp(&[], &["foo.bar", "x.*"]));
    // A literal subscription, or a wildcard that covers no deny entry: no filter.
    assert!(p.can_subscribe(b"foo.baz", None, &d));
    assert!(p.can_subscribe(b"y.*", None, &d));
    assert!(!d.flags().filtering());
    assert!(!d.denies(b"foo.bar"));
    // `foo.*` covers `foo.bar`: allowed, and from now on `foo.bar` is not delivered.
    assert!(p.can_subscribe(b"foo.*", None, &d));
    assert!(d.flags().filtering() && !d.flags().tracking());
    assert!(d.denies(b"foo.bar"));
    assert!(d.denies(b"x.y"));
    assert!(!d.denies(b"foo.baz"));
    // Cached answers agree, and the cache stays bounded.
    assert!(d.denies(b"foo.bar"));
    for i in 0..1000 {
        assert!(!d.denies(format!("s.{i}").as_bytes()));
    }
    // A new CONNECT starts over.
    d.reset(None);
    assert_eq!(d.flags(), DeliveryFlags(0));
    assert!(!d.denies(b"foo.bar"));
}

fn responder(resp: ResponsePermission, deny: &[&str]) -> ClientPerms {
    ClientPerms::new(&Permissions {
        publish: (!deny.is_empty()).then(|| SubjectPermission {
            allow: Vec::new(),
            deny: list(deny),
        }),
        subscribe: sp(&["req"], &[]),
        response: Some(resp),
    })
    .expect("responses")
}

#[test]
fn responses_only_to_received_replies_within_max() {
    let resp = ResponsePermission {
        max_msgs: 2,
        expires: Some(Duration::from_secs(60)),
    };
    let d = DeliveryPerms::default();
    let mut p = responder(resp, &[]);
    d.reset(p.response());
    assert!(d.flags().tracking(), "reply tracking needs the producers");
    assert!(!d.flags().filtering());
    // `allow_responses` without a publish allow list allows nothing else.
    assert!(!p.pub_allowed(b"_INBOX.x", &d));
    d.track_reply(b"_INBOX.x");
    assert!(p.pub_allowed(b"_INBOX.x", &d));
    assert!(p.pub_allowed(b"_INBOX.x", &d));
    assert!(!p.pub_allowed(b"_INBOX.x", &d), "max 2");
    assert!(!p.pub_allowed(b"_INBOX.y", &d));
    // A new request on the same reply subject starts the count again.
    d.track_reply(b"_INBOX.x");
    assert!(p.pub_allowed(b"_INBOX.x", &d));
    // Responses win over the deny list too.
    let mut p = responder(ResponsePermission::default(), &["_INBOX.>"]);
    let d = DeliveryPerms::default();
    d.reset(p.response());
    d.track_reply(b"_INBOX.z");
    assert!(p.pub_allowed(b"_INBOX.z", &d));
    assert!(!p.pub_allowed(b"_INBOX.z", &d), "default max is 1");
}

#[test]
fn responses_expire_and_unlimited_responses_do_not() {
    let d = DeliveryPerms::default();
    let mut p = responder(
        ResponsePermission {
            max_msgs: 0,
            expires: Some(Duration::from_nanos(1)),
        },
        &[],
    );
    d.reset(p.response());
    d.track_reply(b"r.1");
    std::thread::sleep(Duration::from_millis(2));
    assert!(!p.pub_allowed(b"r.1", &d), "expired");

    let mut p = responder(
        ResponsePermission {
            max_msgs: -1,
            expires: None,
        },
        &[],
    );
    d.reset(p.response());
    d.track_reply(b"r.2");
    for _ in 0..100 {
        assert!(p.pub_allowed(b"r.2", &d));
    }
    // Past the tracking limit, used-up entries are pruned; live ones stay.
    for i in 0..(REPLY_PERM_LIMIT + 10) {
        d.track_reply(format!("r.x.{i}").as_bytes());
    }
    assert!(p.pub_allowed(b"r.2", &d));
}

#[test]
fn no_flags_without_responses() {
    let d = DeliveryPerms::default();
    let p = perms(sp(&["a"], &[]), sp(&["b"], &[]));
    d.reset(p.response());
    assert_eq!(d.flags(), DeliveryFlags(0));
    d.track_reply(b"x");
    assert!(d.state.lock().replies.is_empty());
}
