//! A lean raw-protocol publisher and subscriber for `nats bench --raw`.
//!
//! The point is to measure the server, not the client: the publisher pipelines
//! `PUB subject size\r\n<payload>\r\n` frames into a 128 KiB buffer and writes it whole;
//! the subscriber reads into a 256 KiB buffer and runs a small scanner over it that
//! allocates nothing per message — it finds each control line, takes the size from the
//! end of a `MSG` line and then skips the payload by counting bytes, even when the
//! payload spans reads (payload bytes are never copied). `PING` is answered with `PONG`;
//! `-ERR` ends the run with the server's text.
//!
//! This is deliberately not a general client: no TLS, no headers, no reconnects.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::stats::Sample;
use super::{Shared, SubOutcome, SubPlan, Window};
use std::sync::Arc;

const WRITE_CHUNK: usize = 128 * 1024;
const READ_BUF: usize = 256 * 1024;
/// Longest control line we accept; the Go server's default is 4 KiB.
const MAX_LINE: usize = 64 * 1024;
/// Compact before reading when less than this is free at the tail.
const MIN_SPARE: usize = 16 * 1024;

/// Where and how to connect.
#[derive(Clone, Debug)]
pub struct Target {
    pub host: String,
    pub port: u16,
    pub creds: Option<(String, String)>,
    pub name: String,
    pub timeout: Duration,
}

/// One control-line event from the scanner.
#[derive(Debug, PartialEq, Eq)]
pub enum Op {
    Msg {
        size: usize,
    },
    Ping,
    Pong,
    Err(String),
    /// `INFO`, `+OK` and anything else we do not act on.
    Other,
}

/// Buffer plus scanner state; survives frames split across reads.
pub struct Scanner {
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    /// Payload bytes (plus the trailing CRLF) still to skip.
    skip: usize,
}

impl Scanner {
    pub fn new() -> Self {
        Scanner {
            buf: vec![0; READ_BUF],
            pos: 0,
            len: 0,
            skip: 0,
        }
    }

    /// The free tail to read into; compacts a partial line to the front first.
    pub fn spare(&mut self) -> &mut [u8] {
        if self.pos == self.len {
            self.pos = 0;
            self.len = 0;
        } else if self.pos > 0 && self.buf.len() - self.len < MIN_SPARE {
            // Only a partial control line can remain here (payload is skipped, not
            // kept), and it is at most MAX_LINE long, so this copy is small.
            self.buf.copy_within(self.pos..self.len, 0);
            self.len -= self.pos;
            self.pos = 0;
        }
        &mut self.buf[self.len..]
    }

    pub fn filled(&mut self, n: usize) {
        self.len += n;
    }

    /// The next complete op, `Ok(None)` when more bytes are needed.
    pub fn next_op(&mut self) -> anyhow::Result<Option<Op>> {
        if self.skip > 0 {
            let take = self.skip.min(self.len - self.pos);
            self.pos += take;
            self.skip -= take;
            if self.skip > 0 {
                return Ok(None);
            }
        }
        let avail = &self.buf[self.pos..self.len];
        let Some(eol) = avail.windows(2).position(|w| w == b"\r\n") else {
            if avail.len() > MAX_LINE {
                bail!("protocol error: control line longer than {MAX_LINE} bytes");
            }
            return Ok(None);
        };
        let line = &avail[..eol];
        self.pos += eol + 2;
        let op = if line.starts_with(b"MSG ") {
            let size = parse_size(line).context("protocol error: bad MSG line")?;
            self.skip = size + 2;
            Op::Msg { size }
        } else if line == b"PING" {
            Op::Ping
        } else if line == b"PONG" {
            Op::Pong
        } else if line.starts_with(b"-ERR") {
            Op::Err(String::from_utf8_lossy(line).into_owned())
        } else {
            Op::Other
        };
        Ok(Some(op))
    }
}

/// The size is the last space-separated field of a `MSG subject sid [reply] size` line.
fn parse_size(line: &[u8]) -> Option<usize> {
    let start = line.iter().rposition(|&b| b == b' ')? + 1;
    let digits = &line[start..];
    if digits.is_empty() || digits.len() > 12 {
        return None;
    }
    digits.iter().try_fold(0usize, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + (b - b'0') as usize)
    })
}

/// A connection that has completed the handshake.
pub struct Conn {
    stream: TcpStream,
    scanner: Scanner,
    timeout: Duration,
}

/// Connects, reads INFO, sends CONNECT and PING, and waits for PONG.
pub async fn connect(t: &Target) -> anyhow::Result<Conn> {
    let (stream, scanner) = handshake(t).await?;
    Ok(Conn {
        stream,
        scanner,
        timeout: t.timeout,
    })
}

async fn handshake(t: &Target) -> anyhow::Result<(TcpStream, Scanner)> {
    let addr = format!("{}:{}", t.host, t.port);
    let mut stream = tokio::time::timeout(t.timeout, TcpStream::connect(&addr))
        .await
        .with_context(|| format!("connecting to {addr}: timed out"))?
        .with_context(|| format!("connecting to {addr}"))?;
    stream.set_nodelay(true).context("setting TCP_NODELAY")?;
    let mut scanner = Scanner::new();
    let info = read_line(&mut stream, &mut scanner, t.timeout).await?;
    let info_json = info
        .strip_prefix("INFO ")
        .context("server did not start with INFO")?;
    let info: serde_json::Value = serde_json::from_str(info_json).context("parsing INFO")?;
    if info.get("tls_required").and_then(|v| v.as_bool()) == Some(true) {
        bail!("--raw does not support TLS servers");
    }
    let mut connect = serde_json::json!({
        "verbose": false, "pedantic": false, "tls_required": false, "name": t.name,
        "lang": "rust-raw", "version": env!("CARGO_PKG_VERSION"), "protocol": 1,
        "echo": true, "headers": false, "no_responders": false,
    });
    if let Some((user, pass)) = &t.creds {
        connect["user"] = user.clone().into();
        connect["pass"] = pass.clone().into();
    }
    stream
        .write_all(format!("CONNECT {connect}\r\nPING\r\n").as_bytes())
        .await?;
    wait_pong(&mut stream, &mut scanner, t.timeout).await?;
    Ok((stream, scanner))
}

async fn read_line(
    stream: &mut TcpStream,
    scanner: &mut Scanner,
    timeout: Duration,
) -> anyhow::Result<String> {
    loop {
        let avail = &scanner.buf[scanner.pos..scanner.len];
        if let Some(eol) = avail.windows(2).position(|w| w == b"\r\n") {
            let line = String::from_utf8_lossy(&avail[..eol]).into_owned();
            scanner.pos += eol + 2;
            return Ok(line);
        }
        fill(stream, scanner, timeout).await?;
    }
}

async fn fill(
    stream: &mut TcpStream,
    scanner: &mut Scanner,
    timeout: Duration,
) -> anyhow::Result<()> {
    let n = tokio::time::timeout(timeout, stream.read(scanner.spare()))
        .await
        .context("timed out waiting for the server")??;
    if n == 0 {
        bail!("connection closed by the server");
    }
    scanner.filled(n);
    Ok(())
}

/// Reads until PONG, answering PINGs; `-ERR` becomes the error.
async fn wait_pong(
    stream: &mut TcpStream,
    scanner: &mut Scanner,
    timeout: Duration,
) -> anyhow::Result<()> {
    loop {
        while let Some(op) = scanner.next_op()? {
            match op {
                Op::Pong => return Ok(()),
                Op::Ping => stream.write_all(b"PONG\r\n").await?,
                Op::Err(e) => bail!("server error: {e}"),
                Op::Msg { .. } | Op::Other => {}
            }
        }
        fill(stream, scanner, timeout).await?;
    }
}

/// Pipelines `count` PUBs, then PING/PONG so the sample ends when the server has
/// processed every message.
pub async fn publisher(
    conn: Conn,
    subject: String,
    count: u64,
    size: usize,
    shared: Arc<Shared>,
) -> anyhow::Result<Sample> {
    let Conn {
        mut stream,
        mut scanner,
        timeout,
    } = conn;
    let header = format!("PUB {subject} {size}\r\n").into_bytes();
    let frame = header.len() + size + 2;
    let payload = vec![b'x'; size];
    let mut buf = Vec::with_capacity(WRITE_CHUNK + frame);
    let start = Instant::now();
    let mut pending = 0u64;
    for _ in 0..count {
        buf.extend_from_slice(&header);
        buf.extend_from_slice(&payload);
        buf.extend_from_slice(b"\r\n");
        pending += 1;
        if buf.len() >= WRITE_CHUNK {
            write_or_explain(&mut stream, &mut scanner, &buf).await?;
            buf.clear();
            shared.add_published(pending);
            pending = 0;
        }
    }
    buf.extend_from_slice(b"PING\r\n");
    write_or_explain(&mut stream, &mut scanner, &buf).await?;
    shared.add_published(pending);
    wait_pong(
        &mut stream,
        &mut scanner,
        timeout.max(Duration::from_secs(30)),
    )
    .await?;
    Ok(Sample::new(count, size, start, Instant::now()))
}

/// A failed write usually means the server sent `-ERR` and closed; show that text.
async fn write_or_explain(
    stream: &mut TcpStream,
    scanner: &mut Scanner,
    buf: &[u8],
) -> anyhow::Result<()> {
    match stream.write_all(buf).await {
        Ok(()) => Ok(()),
        Err(err) => match find_err(stream, scanner).await {
            Some(e) => bail!("server error: {e}"),
            None => Err(err).context("writing to the server"),
        },
    }
}

async fn find_err(stream: &mut TcpStream, scanner: &mut Scanner) -> Option<String> {
    let look = async {
        loop {
            fill(stream, scanner, Duration::from_secs(1)).await.ok()?;
            while let Ok(Some(op)) = scanner.next_op() {
                if let Op::Err(e) = op {
                    return Some(e);
                }
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(1), look)
        .await
        .ok()
        .flatten()
}

/// Subscribes, confirms with PING/PONG, signals ready, then counts `MSG` frames until
/// the plan is met or the coordinator says stop.
pub async fn subscriber(
    t: Target,
    plan: SubPlan,
    shared: Arc<Shared>,
    ready: tokio::sync::oneshot::Sender<()>,
) -> anyhow::Result<SubOutcome> {
    let (mut stream, mut scanner) = handshake(&t).await?;
    let sub = match &plan.queue {
        Some(q) => format!("SUB {} {q} 1\r\nPING\r\n", plan.subject),
        None => format!("SUB {} 1\r\nPING\r\n", plan.subject),
    };
    stream.write_all(sub.as_bytes()).await?;
    wait_pong(&mut stream, &mut scanner, t.timeout).await?;
    let _ = ready.send(());

    let mut stop = shared.stop.clone();
    let mut window = Window::new();
    let (mut n, mut wrong_size) = (0u64, 0u64);
    'outer: loop {
        let mut batch = 0u64;
        while let Some(op) = scanner.next_op()? {
            match op {
                Op::Msg { size } => {
                    batch += 1;
                    if size != plan.size {
                        wrong_size += 1;
                    }
                }
                Op::Ping => stream.write_all(b"PONG\r\n").await?,
                Op::Err(e) => bail!("server error: {e}"),
                Op::Pong | Op::Other => {}
            }
            if plan.done(n + batch) {
                break;
            }
        }
        if batch > 0 {
            n += batch;
            window.saw(Instant::now());
            shared.add_received(batch);
        }
        if plan.done(n) || *stop.borrow() {
            break;
        }
        tokio::select! {
            biased;
            _ = stop.changed() => break 'outer,
            read = stream.read(scanner.spare()) => {
                let got = read.context("reading from the server")?;
                if got == 0 {
                    bail!("connection closed by the server");
                }
                scanner.filled(got);
            }
        }
    }
    Ok(SubOutcome {
        sample: window.sample(n, plan.size),
        wrong_size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(s: &mut Scanner, bytes: &[u8]) {
        let spare = s.spare();
        spare[..bytes.len()].copy_from_slice(bytes);
        s.filled(bytes.len());
    }

    fn drain(s: &mut Scanner) -> Vec<Op> {
        let mut ops = Vec::new();
        while let Ok(Some(op)) = s.next_op() {
            ops.push(op);
        }
        ops
    }

    #[test]
    fn scans_msgs_with_and_without_reply() {
        let mut s = Scanner::new();
        feed(
            &mut s,
            b"MSG a 1 3\r\nabc\r\nMSG a 1 _INBOX.x 2\r\nhi\r\nPING\r\n+OK\r\n",
        );
        assert_eq!(
            drain(&mut s),
            vec![
                Op::Msg { size: 3 },
                Op::Msg { size: 2 },
                Op::Ping,
                Op::Other
            ]
        );
    }

    #[test]
    fn every_split_point_gives_the_same_ops() {
        let stream: &[u8] =
            b"INFO {}\r\nMSG foo 1 5\r\nhello\r\nMSG foo 1 0\r\n\r\nPONG\r\n-ERR 'x'\r\n";
        let mut whole = Scanner::new();
        feed(&mut whole, stream);
        let expected = drain(&mut whole);
        assert_eq!(expected.len(), 5);
        for cut in 0..stream.len() {
            let mut s = Scanner::new();
            feed(&mut s, &stream[..cut]);
            let mut ops = drain(&mut s);
            feed(&mut s, &stream[cut..]);
            ops.extend(drain(&mut s));
            assert_eq!(ops, expected, "cut at {cut}");
        }
    }

    #[test]
    fn payload_larger_than_buffer_is_skipped() {
        let mut s = Scanner::new();
        let size = READ_BUF * 2;
        feed(&mut s, format!("MSG big 1 {size}\r\n").as_bytes());
        assert_eq!(s.next_op().ok().flatten(), Some(Op::Msg { size }));
        let mut left = size + 2;
        while left > 0 {
            let chunk = left.min(READ_BUF / 2);
            feed(&mut s, &vec![b'x'; chunk]);
            assert_eq!(s.next_op().ok().flatten(), None);
            left -= chunk;
        }
        feed(&mut s, b"PING\r\n");
        assert_eq!(s.next_op().ok().flatten(), Some(Op::Ping));
    }

    #[test]
    fn bad_size_is_an_error() {
        let mut s = Scanner::new();
        feed(&mut s, b"MSG a 1 x\r\n");
        assert!(s.next_op().is_err());
    }
}
