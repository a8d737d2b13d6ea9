//! Client behaviour through the official Rust client (async-nats), the way users meet it.

mod common;

use std::time::Duration;

use futures::StreamExt;

async fn connect(url: &str) -> async_nats::Client {
    async_nats::connect(url).await.expect("connect")
}

async fn next(sub: &mut async_nats::Subscriber) -> async_nats::Message {
    tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .expect("message within 5s")
        .expect("subscription open")
}

#[tokio::test]
async fn publish_subscribe_and_wildcards() {
    let s = common::start(&[]);
    let c = connect(&s.url()).await;
    let mut exact = c.subscribe("orders.new").await.unwrap();
    let mut star = c.subscribe("orders.*").await.unwrap();
    let mut gt = c.subscribe("orders.>").await.unwrap();
    let mut other = c.subscribe("other.>").await.unwrap();
    c.flush().await.unwrap();
    c.publish("orders.new", "a".into()).await.unwrap();
    c.publish("orders.eu.new", "b".into()).await.unwrap();
    c.flush().await.unwrap();
    assert_eq!(next(&mut exact).await.payload, "a");
    assert_eq!(next(&mut star).await.payload, "a");
    assert_eq!(next(&mut gt).await.payload, "a");
    assert_eq!(next(&mut gt).await.payload, "b");
    c.publish("other.x", "c".into()).await.unwrap();
    assert_eq!(next(&mut other).await.payload, "c");
    // `orders.*` must not have seen the two-token message.
    assert!(
        tokio::time::timeout(Duration::from_millis(100), star.next())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn queue_groups_exactly_once() {
    let s = common::start(&[]);
    let c = connect(&s.url()).await;
    let mut subs = Vec::new();
    for _ in 0..3 {
        subs.push(c.queue_subscribe("jobs", "workers".into()).await.unwrap());
    }
    let mut plain = c.subscribe("jobs").await.unwrap();
    c.flush().await.unwrap();
    let n = 300;
    for i in 0..n {
        c.publish("jobs", format!("{i}").into()).await.unwrap();
    }
    c.flush().await.unwrap();
    let mut total = 0;
    let mut counts = Vec::new();
    for sub in subs.iter_mut() {
        let mut k = 0;
        while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(300), sub.next()).await {
            k += 1;
        }
        counts.push(k);
        total += k;
    }
    assert_eq!(total, n, "each message to exactly one member: {counts:?}");
    assert!(counts.iter().all(|&k| k > 0), "{counts:?}");
    for _ in 0..n {
        next(&mut plain).await;
    }
}

#[tokio::test]
async fn request_reply() {
    let s = common::start(&[]);
    let c = connect(&s.url()).await;
    let mut svc = c.subscribe("svc.echo").await.unwrap();
    let responder = c.clone();
    tokio::spawn(async move {
        while let Some(m) = svc.next().await {
            if let Some(reply) = m.reply {
                responder.publish(reply, m.payload).await.unwrap();
            }
        }
    });
    c.flush().await.unwrap();
    let resp = tokio::time::timeout(Duration::from_secs(5), c.request("svc.echo", "ping".into()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(resp.payload, "ping");
}

#[tokio::test]
async fn no_responders() {
    let s = common::start(&[]);
    let c = connect(&s.url()).await;
    let err = c.request("nobody.home", "x".into()).await.unwrap_err();
    assert_eq!(
        err.kind(),
        async_nats::RequestErrorKind::NoResponders,
        "{err:?}"
    );
}

#[tokio::test]
async fn headers_round_trip() {
    let s = common::start(&[]);
    let c = connect(&s.url()).await;
    let mut sub = c.subscribe("h").await.unwrap();
    c.flush().await.unwrap();
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("X-Trace", "abc");
    headers.append("X-Multi", "1");
    headers.append("X-Multi", "2");
    c.publish_with_headers("h", headers, "body".into())
        .await
        .unwrap();
    let m = next(&mut sub).await;
    let h = m.headers.expect("headers");
    assert_eq!(h.get("X-Trace").unwrap().as_str(), "abc");
    assert_eq!(h.get_all("X-Multi").count(), 2);
    assert_eq!(m.payload, "body");
}

#[tokio::test]
async fn auto_unsubscribe() {
    let s = common::start(&[]);
    let c = connect(&s.url()).await;
    let mut sub = c.subscribe("limited").await.unwrap();
    sub.unsubscribe_after(3).await.unwrap();
    c.flush().await.unwrap();
    for i in 0..10 {
        c.publish("limited", format!("{i}").into()).await.unwrap();
    }
    c.flush().await.unwrap();
    let mut got = Vec::new();
    while let Ok(Some(m)) = tokio::time::timeout(Duration::from_secs(2), sub.next()).await {
        got.push(m.payload);
    }
    assert_eq!(got, vec!["0", "1", "2"]);
}

#[tokio::test]
async fn many_messages_in_order_across_connections() {
    // The publisher is a raw connection: under load async-nats itself can lose the first
    // messages of a fresh publisher (seen against the Go server too), which is not what
    // this test is about.
    let s = common::start(&[]);
    let c = connect(&s.url()).await;
    let mut sub = c.subscribe("seq").await.unwrap();
    c.flush().await.unwrap();
    let n = 20_000u32;
    let addr = s.addr();
    tokio::task::spawn_blocking(move || {
        let mut p = common::Raw::handshake(&addr, r#"{"verbose":false}"#);
        let mut buf = Vec::new();
        for i in 0..n {
            buf.extend_from_slice(b"PUB seq 4\r\n");
            buf.extend_from_slice(&i.to_be_bytes());
            buf.extend_from_slice(b"\r\n");
        }
        p.send(&buf);
        p.send("PING\r\n");
        p.expect("PONG\r\n");
    })
    .await
    .unwrap();
    for i in 0..n {
        let m = next(&mut sub).await;
        assert_eq!(&m.payload[..], &i.to_be_bytes());
    }
}

#[tokio::test]
async fn large_payload() {
    let s = common::start(&[]);
    let c = connect(&s.url()).await;
    let mut sub = c.subscribe("big").await.unwrap();
    c.flush().await.unwrap();
    let body: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    c.publish("big", body.clone().into()).await.unwrap();
    c.flush().await.unwrap();
    let m = next(&mut sub).await;
    assert_eq!(m.payload.len(), body.len());
    assert!(m.payload == body);
}
