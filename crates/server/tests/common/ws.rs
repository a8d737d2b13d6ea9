//! A minimal websocket client over a raw TCP socket: exact bytes for the upgrade, masked
//! frames out, server frames in (inflated when compressed). Enough to compare our server
//! with Go's on the wire.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

pub const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

pub fn upgrade_request(extra: &str) -> String {
    format!(
        "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

/// A client frame, masked with a fixed key.
pub fn frame(op: u8, fin: bool, payload: &[u8]) -> Vec<u8> {
    frame_with(op, fin, false, true, payload)
}

pub fn frame_with(op: u8, fin: bool, rsv1: bool, mask: bool, payload: &[u8]) -> Vec<u8> {
    let key = [0x11u8, 0x22, 0x33, 0x44];
    let mut out = vec![op | if fin { 0x80 } else { 0 } | if rsv1 { 0x40 } else { 0 }];
    let m = if mask { 0x80 } else { 0 };
    let len = payload.len();
    if len <= 125 {
        out.push(m | len as u8);
    } else if len < 65536 {
        out.push(m | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(m | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    if mask {
        out.extend_from_slice(&key);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i & 3]));
    } else {
        out.extend_from_slice(payload);
    }
    out
}

/// Raw-deflate `data` as permessage-deflate wants it (sync flush, tail removed).
pub fn deflate(data: &[u8]) -> Vec<u8> {
    let mut c = flate2::Compress::new(flate2::Compression::fast(), false);
    let mut out = Vec::with_capacity(data.len() + 64);
    c.compress_vec(data, &mut out, flate2::FlushCompress::Sync)
        .unwrap();
    assert!(out.ends_with(&[0, 0, 0xff, 0xff]));
    out.truncate(out.len() - 4);
    out
}

fn inflate(data: &[u8]) -> Vec<u8> {
    let mut input = data.to_vec();
    input.extend_from_slice(&[0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff]);
    let mut d = flate2::read::DeflateDecoder::new(&input[..]);
    let mut out = Vec::new();
    d.read_to_end(&mut out).unwrap();
    out
}

/// A server frame as received.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub op: u8,
    pub fin: bool,
    pub compressed: bool,
    /// Inflated when compressed.
    pub payload: Vec<u8>,
}

pub struct Ws {
    pub s: TcpStream,
    buf: Vec<u8>,
    pub response: String,
}

impl Ws {
    /// Connect and upgrade; panics unless the answer is 101.
    pub fn connect(addr: &str, extra_headers: &str) -> Ws {
        let (ws, status) = Ws::try_connect(addr, extra_headers);
        assert!(status.starts_with("HTTP/1.1 101"), "{status}");
        ws
    }

    pub fn try_connect(addr: &str, extra_headers: &str) -> (Ws, String) {
        let mut s = TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        s.write_all(upgrade_request(extra_headers).as_bytes())
            .unwrap();
        let mut ws = Ws {
            s,
            buf: Vec::new(),
            response: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(p) = ws.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                ws.response = String::from_utf8_lossy(&ws.buf[..p + 4]).into_owned();
                ws.buf.drain(..p + 4);
                break;
            }
            assert!(Instant::now() < deadline, "no upgrade response");
            if !ws.fill() {
                break;
            }
        }
        let status = ws.response.lines().next().unwrap_or("").to_string();
        (ws, status)
    }

    /// Read more; false at EOF.
    fn fill(&mut self) -> bool {
        let mut b = [0u8; 65536];
        match self.s.read(&mut b) {
            Ok(0) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&b[..n]);
                true
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                true
            }
            Err(_) => false,
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).unwrap();
    }

    /// Send NATS protocol bytes in one masked binary frame.
    pub fn send_nats(&mut self, text: &str) {
        self.send(&frame(2, true, text.as_bytes()));
    }

    fn parse_one(&mut self) -> Option<Frame> {
        let b = &self.buf;
        if b.len() < 2 {
            return None;
        }
        let (b0, b1) = (b[0], b[1]);
        let (len, hdr) = match b1 & 0x7f {
            126 if b.len() >= 4 => (u16::from_be_bytes([b[2], b[3]]) as usize, 4),
            127 if b.len() >= 10 => {
                let mut l = [0u8; 8];
                l.copy_from_slice(&b[2..10]);
                (u64::from_be_bytes(l) as usize, 10)
            }
            126 | 127 => return None,
            n => (n as usize, 2),
        };
        assert_eq!(b1 & 0x80, 0, "server frames are never masked");
        if b.len() < hdr + len {
            return None;
        }
        let compressed = b0 & 0x40 != 0;
        let raw = b[hdr..hdr + len].to_vec();
        self.buf.drain(..hdr + len);
        Some(Frame {
            op: b0 & 0x0f,
            fin: b0 & 0x80 != 0,
            compressed,
            payload: if compressed { inflate(&raw) } else { raw },
        })
    }

    /// The next frame within `timeout`; `None` at EOF or timeout.
    pub fn next_frame(&mut self, timeout: Duration) -> Option<Frame> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(f) = self.parse_one() {
                return Some(f);
            }
            if Instant::now() >= deadline || !self.fill() {
                return None;
            }
        }
    }

    /// Everything until EOF or `quiet` without data: frames, and whether EOF came.
    pub fn frames_until_quiet(&mut self, quiet: Duration) -> (Vec<Frame>, bool) {
        let mut out = Vec::new();
        let mut last = Instant::now();
        loop {
            while let Some(f) = self.parse_one() {
                out.push(f);
                last = Instant::now();
            }
            let before = self.buf.len();
            if !self.fill() {
                return (out, true);
            }
            if self.buf.len() > before {
                last = Instant::now();
            } else if last.elapsed() >= quiet {
                return (out, false);
            }
        }
    }

    /// NATS bytes from binary frames until `needle` shows up (within 5 s).
    pub fn expect_nats(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut text = String::new();
        while Instant::now() < deadline {
            if let Some(f) = self.next_frame(Duration::from_millis(200)) {
                text.push_str(&String::from_utf8_lossy(&f.payload));
                if text.contains(needle) {
                    return text;
                }
            }
        }
        panic!("{needle:?} not received; got {text:?}");
    }
}
