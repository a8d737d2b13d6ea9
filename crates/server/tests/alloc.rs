//! The message path allocates nothing per message: parsing a PUB, matching it, writing
//! MSG/RMSG frames into the destinations' outbound buffers and waking them. Counted with
//! dhat's global allocator over thousands of messages after a warm-up (buffers and caches
//! grow on first use and are then reused).

use std::net::SocketAddr;
use std::sync::Arc;

use nats_proto::{Kind, Op, Parser};
use nats_server::conn::{Conn, ConnKind};
use nats_server::deliver::{Delivery, Msg};
use nats_server::logging::{Logger, Sink};
use nats_server::options::Options;
use nats_server::sub::{SubRef, Subscription, Target};
use nats_server::Server;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

fn conn(cid: u64, kind: ConnKind) -> Arc<Conn> {
    let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
    let c = Arc::new(Conn::new(cid, kind, addr, 64 << 20));
    c.headers.store(true, std::sync::atomic::Ordering::Relaxed);
    c
}

fn sub(srv: &Server, c: &Arc<Conn>, subject: &str, queue: Option<&str>, sid: &str) {
    let s = SubRef(Arc::new(Subscription::new(
        Target::Client(c.clone()),
        srv.global().clone(),
        subject.as_bytes(),
        queue.map(str::as_bytes),
        sid.as_bytes(),
        1,
    )));
    match c.kind {
        ConnKind::Client => srv.add_local_sub(s).unwrap(),
        ConnKind::Route => srv
            .global()
            .sl
            .insert(subject.as_bytes(), queue.map(str::as_bytes), s)
            .unwrap(),
    }
}

/// Parse `input` and deliver every message, as a client's read loop does per batch.
fn run_batch(
    srv: &Server,
    from: &Arc<Conn>,
    parser: &mut Parser,
    d: &mut Delivery,
    input: &[u8],
) -> usize {
    let mut pos = 0;
    let mut n = 0;
    while let Ok(Some((op, used))) = parser.parse(&input[pos..]) {
        pos += used;
        if let Op::Pub(m) = op {
            let msg = Msg {
                subject: m.subject,
                reply: m.reply,
                hdr_len: m.hdr_len,
                data: m.data,
            };
            d.publish(srv, srv.global(), Some(from), true, msg);
            n += 1;
        }
    }
    d.flush(srv);
    n
}

fn drain(conns: &[&Arc<Conn>]) {
    for c in conns {
        let mut out = c.out.lock();
        out.buf.clear();
        out.pending = 0;
    }
}

#[test]
fn publish_path_allocates_nothing_per_message() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let opts = Options {
        host: "127.0.0.1".into(),
        port: -1,
        ..Options::default()
    };
    let srv = rt
        .block_on(Server::start(
            opts,
            Logger::new(Sink::Discard, true, false, false),
        ))
        .unwrap();
    let publisher = conn(1001, ConnKind::Client);
    let a = conn(1002, ConnKind::Client);
    let b = conn(1003, ConnKind::Client);
    let route = conn(1004, ConnKind::Route);
    sub(&srv, &a, "orders.new", None, "1");
    sub(&srv, &b, "orders.*", None, "7");
    sub(&srv, &a, "orders.>", Some("workers"), "2");
    sub(&srv, &b, "orders.>", Some("workers"), "8");
    sub(&srv, &route, "orders.new", None, "$G orders.new");
    let mut parser = Parser::new(Kind::Client, 4096, 1 << 20);
    let mut d = Delivery::new();
    let mut input = Vec::new();
    for i in 0..200 {
        input.extend_from_slice(b"PUB orders.new _INBOX.r 16\r\n0123456789abcdef\r\n");
        input.extend_from_slice(b"HPUB orders.new 12 28\r\nNATS/1.0\r\n\r\n0123456789abcdef\r\n");
        if i % 2 == 0 {
            input.extend_from_slice(b"PUB orders.old 4\r\nabcd\r\n");
        }
    }
    // Warm-up: outbound buffers, caches and scratch vectors reach their working size.
    for _ in 0..3 {
        run_batch(&srv, &publisher, &mut parser, &mut d, &input);
        drain(&[&a, &b, &route]);
    }
    let before = dhat::HeapStats::get();
    let mut msgs = 0;
    for _ in 0..50 {
        msgs += run_batch(&srv, &publisher, &mut parser, &mut d, &input);
        drain(&[&a, &b, &route]);
    }
    let after = dhat::HeapStats::get();
    assert!(msgs >= 50 * 500);
    assert_eq!(
        after.total_blocks - before.total_blocks,
        0,
        "allocations on the message path over {msgs} messages"
    );
    rt.block_on(srv.shutdown());
}
