//! Parser and encoder throughput on the message path.
//!
//! `cargo bench -p nats-proto --bench parse`
//!
//! * `parse/pub16`: a buffer of `PUB foo.bar 16\r\n<16 bytes>\r\n` parsed op by op.
//! * `parse/pub16_reads_4k`: the same stream arriving in 4 KiB reads, so one op in ~35
//!   straddles a read boundary and takes the resume path.
//! * `parse/hpub`, `parse/rmsg`, `parse/rmsg_queues`: headers and route forms.
//! * `encode/msg_line`, `encode/rmsg_line`: writing delivery lines into a reused buffer.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use nats_proto::{encode, Kind, Op, Parser};

const N: usize = 10_000;

fn stream(one: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(one.len() * N);
    for _ in 0..N {
        v.extend_from_slice(one);
    }
    v
}

fn hpub(hdr: &[u8], payload: &[u8]) -> Vec<u8> {
    let total = hdr.len() + payload.len();
    let mut v = format!("HPUB foo.bar _INBOX.abc {} {total}\r\n", hdr.len()).into_bytes();
    v.extend_from_slice(hdr);
    v.extend_from_slice(payload);
    v.extend_from_slice(b"\r\n");
    v
}

/// Parse every op in `buf`; returns the payload bytes seen so the work is not optimised out.
fn parse_all(p: &mut Parser, buf: &[u8]) -> usize {
    let mut pos = 0;
    let mut seen = 0;
    while let Ok(Some((op, used))) = p.parse(&buf[pos..]) {
        seen += match op {
            Op::Pub(m) => m.data.len(),
            Op::RouteMsg(m) => m.data.len(),
            _ => 0,
        };
        pos += used;
    }
    assert_eq!(pos, buf.len());
    seen
}

/// Like a read loop: the stream arrives in `chunk`-byte reads; unconsumed bytes are kept.
fn parse_in_reads(p: &mut Parser, buf: &[u8], chunk: usize) -> usize {
    let mut pos = 0;
    let mut avail = 0;
    let mut seen = 0;
    while avail < buf.len() {
        avail = (avail + chunk).min(buf.len());
        while let Ok(Some((op, used))) = p.parse(&buf[pos..avail]) {
            if let Op::Pub(m) = op {
                seen += m.data.len();
            }
            pos += used;
        }
    }
    assert_eq!(pos, buf.len());
    seen
}

fn bench_parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse");
    let cases: [(&str, Kind, Vec<u8>); 4] = [
        (
            "pub16",
            Kind::Client,
            stream(b"PUB foo.bar 16\r\n0123456789abcdef\r\n"),
        ),
        (
            "hpub",
            Kind::Client,
            stream(&hpub(b"NATS/1.0\r\nX-Id: 1\r\n\r\n", b"0123456789abcdef")),
        ),
        (
            "rmsg",
            Kind::Route,
            stream(b"RMSG $G foo.bar 16\r\n0123456789abcdef\r\n"),
        ),
        (
            "rmsg_queues",
            Kind::Route,
            stream(b"RMSG $G work + _INBOX.aB3 workers other 16\r\n0123456789abcdef\r\n"),
        ),
    ];
    for (name, kind, buf) in &cases {
        g.throughput(Throughput::Bytes(buf.len() as u64));
        g.bench_function(format!("{name}/bytes"), |b| {
            let mut p = Parser::new(*kind, 4096, 1 << 20);
            b.iter(|| parse_all(&mut p, black_box(buf)))
        });
        g.throughput(Throughput::Elements(N as u64));
        g.bench_function(format!("{name}/ops"), |b| {
            let mut p = Parser::new(*kind, 4096, 1 << 20);
            b.iter(|| parse_all(&mut p, black_box(buf)))
        });
    }
    let buf = &cases[0].2;
    g.throughput(Throughput::Bytes(buf.len() as u64));
    g.bench_function("pub16_reads_4k/bytes", |b| {
        let mut p = Parser::new(Kind::Client, 4096, 1 << 20);
        b.iter(|| parse_in_reads(&mut p, black_box(buf), 4096))
    });
    g.finish();
}

fn bench_encode(c: &mut Criterion) {
    let mut g = c.benchmark_group("encode");
    g.throughput(Throughput::Elements(N as u64));
    let mut out = Vec::with_capacity(64 * N);
    g.bench_function("msg_line", |b| {
        b.iter(|| {
            out.clear();
            for i in 0..N {
                encode::msg_line(
                    &mut out,
                    black_box(b"foo.bar"),
                    black_box(b"12"),
                    None,
                    None,
                    black_box(i & 0xffff),
                );
            }
            out.len()
        })
    });
    g.bench_function("msg_line_reply_hdr", |b| {
        b.iter(|| {
            out.clear();
            for i in 0..N {
                encode::msg_line(
                    &mut out,
                    black_box(b"foo.bar"),
                    black_box(b"12"),
                    Some(black_box(b"_INBOX.abcdef.1")),
                    Some(22),
                    black_box(i & 0xffff),
                );
            }
            out.len()
        })
    });
    g.bench_function("rmsg_line_queues", |b| {
        let queues: [&[u8]; 2] = [b"workers", b"other"];
        b.iter(|| {
            out.clear();
            for i in 0..N {
                encode::rmsg_line(
                    &mut out,
                    b"$G",
                    black_box(b"work"),
                    Some(b"_INBOX.aB3"),
                    &queues,
                    None,
                    black_box(i & 0xffff),
                );
            }
            out.len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench_parse, bench_encode);
criterion_main!(benches);
