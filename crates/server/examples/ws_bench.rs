//! A lean websocket load generator for `bench/websocket.sh`: it measures the server, not
//! the client. Blocking sockets, one thread per connection, no per-message allocation.
//!
//! ```text
//! ws_bench pubsub HOST:PORT MSGS SIZE [deflate]   # one publisher, one subscriber
//! ws_bench idle HOST:PORT CONNS                   # open CONNS websocket clients, hold
//! ```
//!
//! `pubsub` prints `msgs_per_sec bytes_per_sec seconds`. The publisher packs PUBs into
//! masked binary frames of up to 64 KiB (compressed with `deflate`, as a browser would);
//! the subscriber unframes (and inflates) what arrives and counts `MSG`s by their sizes.
//! `idle` connects, waits for every PONG, prints `ready` and holds the connections
//! until stdin closes.

use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::time::Instant;

const FRAME: usize = 64 * 1024;

fn upgrade(addr: &str, deflate: bool) -> (TcpStream, Vec<u8>) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_nodelay(true).unwrap();
    let ext = if deflate {
        "Sec-WebSocket-Extensions: permessage-deflate\r\n"
    } else {
        ""
    };
    write!(
        s,
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{ext}\r\n"
    )
    .unwrap();
    let mut buf = Vec::new();
    let mut b = [0u8; 4096];
    loop {
        let n = s.read(&mut b).expect("read");
        assert!(n > 0, "closed during upgrade");
        buf.extend_from_slice(&b[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            assert!(buf.starts_with(b"HTTP/1.1 101"), "no upgrade");
            buf.drain(..p + 4);
            return (s, buf);
        }
    }
}

fn mask(buf: &mut [u8], key: [u8; 4]) {
    let k = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let mut chunks = buf.chunks_exact_mut(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        c.copy_from_slice(&(u64::from_ne_bytes(w) ^ k).to_ne_bytes());
    }
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= key[i & 3];
    }
}

/// Append one masked client frame holding `payload` (compressed when `z` is given).
fn frame(out: &mut Vec<u8>, payload: &[u8], z: Option<&mut flate2::Compress>) {
    let mut tmp;
    let (data, rsv1) = match z {
        Some(c) => {
            tmp = Vec::with_capacity(payload.len() / 2 + 64);
            c.compress_vec(payload, &mut tmp, flate2::FlushCompress::Sync)
                .unwrap();
            tmp.truncate(tmp.len() - 4);
            c.reset();
            (&mut tmp[..], 0x40)
        }
        None => {
            tmp = payload.to_vec();
            (&mut tmp[..], 0)
        }
    };
    out.push(0x82 | rsv1);
    let len = data.len();
    if len <= 125 {
        out.push(0x80 | len as u8);
    } else if len < 65536 {
        out.push(0x80 | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    let key = [0x5a, 0x17, 0xc3, 0x01];
    out.extend_from_slice(&key);
    mask(data, key);
    out.extend_from_slice(data);
}

/// Server frames in, NATS bytes out.
struct Unframer {
    raw: Vec<u8>,
    inflate: flate2::Decompress,
}

impl Unframer {
    /// Move every complete frame's payload from `raw` to `out`.
    fn drain(&mut self, out: &mut Vec<u8>) {
        let mut off = 0;
        loop {
            let b = &self.raw[off..];
            if b.len() < 2 {
                break;
            }
            let (len, hdr) = match b[1] & 0x7f {
                126 if b.len() >= 4 => (u16::from_be_bytes([b[2], b[3]]) as usize, 4),
                127 if b.len() >= 10 => (
                    u64::from_be_bytes(b[2..10].try_into().unwrap()) as usize,
                    10,
                ),
                126 | 127 => break,
                n => (n as usize, 2),
            };
            if b.len() < hdr + len {
                break;
            }
            let p = &b[hdr..hdr + len];
            if b[0] & 0x40 != 0 {
                let mut input = p.to_vec();
                input.extend_from_slice(&[0, 0, 0xff, 0xff, 1, 0, 0, 0xff, 0xff]);
                let mut src = &input[..];
                loop {
                    out.reserve(64 * 1024);
                    let before = self.inflate.total_in();
                    let st = self
                        .inflate
                        .decompress_vec(src, out, flate2::FlushDecompress::None)
                        .unwrap();
                    src = &src[(self.inflate.total_in() - before) as usize..];
                    if st == flate2::Status::StreamEnd {
                        break;
                    }
                }
                self.inflate.reset(false);
            } else if b[0] & 0x0f == 2 {
                out.extend_from_slice(p);
            }
            off += hdr + len;
        }
        self.raw.drain(..off);
    }
}

/// Counts MSGs in the NATS stream; keeps a partial op for the next call.
fn count_msgs(buf: &mut Vec<u8>) -> (u64, bool) {
    let mut n = 0;
    let mut off = 0;
    let mut pong = false;
    loop {
        let b = &buf[off..];
        let Some(eol) = b.windows(2).position(|w| w == b"\r\n") else {
            break;
        };
        let line = &b[..eol];
        if line.starts_with(b"MSG ") {
            let size: usize = std::str::from_utf8(line.rsplit(|&c| c == b' ').next().unwrap())
                .unwrap()
                .parse()
                .unwrap();
            if b.len() < eol + 2 + size + 2 {
                break;
            }
            off += eol + 2 + size + 2;
            n += 1;
        } else {
            pong |= line == b"PONG";
            off += eol + 2;
        }
    }
    buf.drain(..off);
    (n, pong)
}

fn nats_conn(addr: &str, deflate: bool, ops: &str) -> (TcpStream, Unframer, Vec<u8>) {
    let (mut s, rest) = upgrade(addr, deflate);
    let mut u = Unframer {
        raw: rest,
        inflate: flate2::Decompress::new(false),
    };
    let mut out = Vec::new();
    frame(
        &mut out,
        format!("CONNECT {{\"verbose\":false,\"pedantic\":false}}\r\n{ops}PING\r\n").as_bytes(),
        None,
    );
    s.write_all(&out).unwrap();
    let mut nats = Vec::new();
    let mut b = vec![0u8; 65536];
    loop {
        u.drain(&mut nats);
        if nats.windows(6).any(|w| w == b"PONG\r\n") {
            let p = nats.windows(6).position(|w| w == b"PONG\r\n").unwrap();
            nats.drain(..p + 6);
            return (s, u, nats);
        }
        let n = s.read(&mut b).unwrap();
        assert!(n > 0, "closed before PONG");
        u.raw.extend_from_slice(&b[..n]);
    }
}

fn pubsub(addr: &str, msgs: u64, size: usize, deflate: bool) {
    let (mut sub, mut u, mut nats) = nats_conn(addr, deflate, "SUB bench 1\r\n");
    let (mut pubc, _, _) = nats_conn(addr, deflate, "");
    let start = Instant::now();
    let publisher = std::thread::spawn(move || {
        let payload = vec![b'x'; size];
        let mut line = Vec::with_capacity(FRAME + size + 64);
        let mut z = deflate.then(|| flate2::Compress::new(flate2::Compression::fast(), false));
        let mut out = Vec::with_capacity(FRAME * 2);
        let mut sent = 0;
        while sent < msgs {
            line.clear();
            while sent < msgs && line.len() + size + 32 <= FRAME {
                line.extend_from_slice(b"PUB bench ");
                line.extend_from_slice(size.to_string().as_bytes());
                line.extend_from_slice(b"\r\n");
                line.extend_from_slice(&payload);
                line.extend_from_slice(b"\r\n");
                sent += 1;
            }
            out.clear();
            frame(&mut out, &line, z.as_mut());
            pubc.write_all(&out).unwrap();
        }
        pubc
    });
    let mut got = 0u64;
    let mut b = vec![0u8; 256 * 1024];
    while got < msgs {
        let n = sub.read(&mut b).unwrap();
        assert!(n > 0, "subscriber closed after {got} messages");
        u.raw.extend_from_slice(&b[..n]);
        u.drain(&mut nats);
        got += count_msgs(&mut nats).0;
    }
    let secs = start.elapsed().as_secs_f64();
    let _pubc = publisher.join().unwrap();
    println!(
        "{:.0} {:.0} {:.3}",
        msgs as f64 / secs,
        (msgs as f64 * size as f64) / secs,
        secs
    );
}

fn idle(addr: &str, conns: usize) {
    let mut held = Vec::with_capacity(conns);
    for _ in 0..conns {
        held.push(nats_conn(addr, false, "").0);
    }
    println!("ready");
    std::io::stdout().flush().unwrap();
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    match a.get(1).map(String::as_str) {
        Some("pubsub") => pubsub(
            &a[2],
            a[3].parse().unwrap(),
            a[4].parse().unwrap(),
            a.get(5).is_some_and(|s| s == "deflate"),
        ),
        Some("idle") => idle(&a[2], a[3].parse().unwrap()),
        _ => {
            eprintln!("usage: ws_bench pubsub HOST:PORT MSGS SIZE [deflate] | idle HOST:PORT CONNS")
        }
    }
}
