//! A lean raw-protocol client for `nats bench --raw`: publisher, subscriber, responder
//! and the cross-server interest sync.
//!
//! The point is to measure the server, not the client: the publisher pipelines
//! `PUB subject size\r\n<payload>\r\n` frames into a 128 KiB buffer and writes it whole
//! (payloads of 1 KiB and more go out with `writev` from one shared payload instead);
//! the subscriber reads into a 256 KiB buffer and runs [`Scanner`] over it, which
//! allocates nothing per message. A responder answers every `MSG` that carries a reply
//! subject by appending a `PUB` to one outbound buffer that is written once per read
//! batch. `PING` is answered with `PONG`; `-ERR` ends the run with the server's text.
//! The request side lives in `raw_rr`.
//!
//! With a [`Target::tls`] setup the same loops run over rustls (INFO in plain text, then
//! the handshake, as NATS servers do), so TLS rows measure the server too.
//!
//! This is deliberately not a general client: no headers, no reconnects.

use std::io::IoSlice;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

pub use super::scan::{Op, Scanner};
use super::stats::Sample;
use super::{Shared, SubOutcome, SubPlan, Window};

const WRITE_CHUNK: usize = 128 * 1024;
/// Payloads at least this big are written with `writev` instead of being copied.
const VECTORED_MIN: usize = 1024;
/// Linux's limit on slices per `writev`.
const IOV_MAX: usize = 1024;

/// A byte stream to the server: TCP, or TLS over TCP. One vtable call per read or write
/// (each moves up to hundreds of KiB), nothing per message.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}
pub type Stream = Box<dyn Io>;

/// Writes `buf` and flushes: over TLS the last records may otherwise wait in rustls
/// until the next write (a no-op for TCP).
pub async fn send(stream: &mut Stream, buf: &[u8]) -> std::io::Result<()> {
    stream.write_all(buf).await?;
    stream.flush().await
}

/// TLS for the raw client: the rustls configuration and the name to verify.
#[derive(Clone)]
pub struct Tls {
    pub config: Arc<rustls::ClientConfig>,
    pub server_name: rustls::pki_types::ServerName<'static>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tls({:?})", self.server_name)
    }
}

/// Where and how to connect.
#[derive(Clone, Debug)]
pub struct Target {
    pub host: String,
    pub port: u16,
    pub creds: Option<(String, String)>,
    pub name: String,
    pub timeout: Duration,
    /// Local address to connect from (thousands of loopback connections spread over
    /// several 127.x addresses, so the kernel's ephemeral port search stays short).
    pub source: Option<std::net::IpAddr>,
    /// Upgrade to TLS after INFO (required when the server's INFO says `tls_required`).
    pub tls: Option<Tls>,
}

impl Target {
    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// A connection that has completed the handshake.
pub struct Conn {
    pub stream: Stream,
    pub scanner: Scanner,
    pub timeout: Duration,
}

impl Conn {
    /// Reads more bytes into the scanner, failing on EOF or after the timeout.
    pub async fn fill(&mut self) -> anyhow::Result<()> {
        fill(&mut self.stream, &mut self.scanner, self.timeout).await
    }

    /// Reads until PONG, answering PINGs; `-ERR` becomes the error.
    pub async fn wait_pong(&mut self) -> anyhow::Result<()> {
        wait_pong(&mut self.stream, &mut self.scanner, self.timeout).await
    }
}

/// Connects, reads INFO, sends CONNECT and PING, and waits for PONG.
pub async fn connect(t: &Target) -> anyhow::Result<Conn> {
    connect_with(t, Scanner::new(), b"").await
}

/// Like [`connect`], with a caller-sized scanner and protocol lines (`SUB …\r\n`) sent
/// between CONNECT and the PING, so they are confirmed by the same PONG.
pub async fn connect_with(t: &Target, mut scanner: Scanner, extra: &[u8]) -> anyhow::Result<Conn> {
    let addr = t.addr();
    let tcp = tokio::time::timeout(t.timeout, open(&addr, t.source))
        .await
        .with_context(|| format!("connecting to {addr}: timed out"))?
        .with_context(|| format!("connecting to {addr}"))?;
    tcp.set_nodelay(true).context("setting TCP_NODELAY")?;
    let mut stream: Stream = Box::new(tcp);
    let info = loop {
        if let Some(line) = scanner.next_line() {
            break line;
        }
        fill(&mut stream, &mut scanner, t.timeout).await?;
    };
    let info_json = info
        .strip_prefix("INFO ")
        .context("server did not start with INFO")?;
    let info: serde_json::Value = serde_json::from_str(info_json).context("parsing INFO")?;
    let tls_required = info.get("tls_required").and_then(|v| v.as_bool()) == Some(true);
    if let Some(tls) = &t.tls {
        stream = upgrade(stream, &mut scanner, tls, t.timeout).await?;
    } else if tls_required {
        bail!("the server requires TLS: use a tls:// URL or --tlsca");
    }
    let mut connect = serde_json::json!({
        "verbose": false, "pedantic": false, "tls_required": t.tls.is_some(), "name": t.name,
        "lang": "rust-raw", "version": env!("CARGO_PKG_VERSION"), "protocol": 1,
        "echo": true, "headers": false, "no_responders": false,
    });
    if let Some((user, pass)) = &t.creds {
        connect["user"] = user.clone().into();
        connect["pass"] = pass.clone().into();
    }
    let mut hello = format!("CONNECT {connect}\r\n").into_bytes();
    hello.extend_from_slice(extra);
    hello.extend_from_slice(b"PING\r\n");
    send(&mut stream, &hello).await?;
    wait_pong(&mut stream, &mut scanner, t.timeout).await?;
    Ok(Conn {
        stream,
        scanner,
        timeout: t.timeout,
    })
}

/// The TLS handshake on a connection whose INFO was read in plain text.
async fn upgrade(
    stream: Stream,
    scanner: &mut Scanner,
    tls: &Tls,
    timeout: Duration,
) -> anyhow::Result<Stream> {
    if scanner.has_unread() {
        bail!("the server sent bytes after INFO before the TLS handshake");
    }
    let connector = tokio_rustls::TlsConnector::from(tls.config.clone());
    let tls_stream =
        tokio::time::timeout(timeout, connector.connect(tls.server_name.clone(), stream))
            .await
            .context("TLS handshake: timed out")?
            .context("TLS handshake")?;
    Ok(Box::new(tls_stream))
}

async fn open(addr: &str, source: Option<std::net::IpAddr>) -> std::io::Result<TcpStream> {
    let Some(ip) = source else {
        return TcpStream::connect(addr).await;
    };
    let to = tokio::net::lookup_host(addr)
        .await?
        .find(|a| a.is_ipv4() == ip.is_ipv4())
        .ok_or_else(|| std::io::Error::other(format!("no address of {addr} matches {ip}")))?;
    let socket = if ip.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.bind(std::net::SocketAddr::new(ip, 0))?;
    socket.connect(to).await
}

pub async fn fill(
    stream: &mut Stream,
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
pub async fn wait_pong(
    stream: &mut Stream,
    scanner: &mut Scanner,
    timeout: Duration,
) -> anyhow::Result<()> {
    loop {
        while let Some(op) = scanner.next_op()? {
            match op {
                Op::Pong => return Ok(()),
                Op::Ping => send(stream, b"PONG\r\n").await?,
                Op::Err(e) => bail!("server error: {e}"),
                Op::Msg { .. } | Op::Other => {}
            }
        }
        fill(stream, scanner, timeout).await?;
    }
}

/// Pipelines `count` PUBs, cycling through `subjects`, then PING/PONG so the sample
/// ends when the server has processed every message.
pub async fn publisher(
    conn: Conn,
    subjects: Vec<String>,
    count: u64,
    size: usize,
    shared: Arc<Shared>,
) -> anyhow::Result<Sample> {
    publisher_numbered(conn, subjects, count, size, None, shared).await
}

/// [`publisher`], and with `first_seq` every payload starts with its sequence number
/// (`first_seq`, `first_seq + 1`, … as 8 little-endian bytes; needs `size >= 8`).
pub async fn publisher_numbered(
    conn: Conn,
    subjects: Vec<String>,
    count: u64,
    size: usize,
    first_seq: Option<u64>,
    shared: Arc<Shared>,
) -> anyhow::Result<Sample> {
    if first_seq.is_some() && size < 8 {
        bail!("numbered messages need a payload of at least 8 bytes");
    }
    let Conn {
        mut stream,
        mut scanner,
        timeout,
    } = conn;
    let payload = vec![b'x'; size];
    // Each frame with the offset of its payload.
    let frames: Vec<(Vec<u8>, usize)> = subjects
        .iter()
        .map(|s| {
            let mut f = format!("PUB {s} {size}\r\n").into_bytes();
            let at = f.len();
            f.extend_from_slice(&payload);
            f.extend_from_slice(b"\r\n");
            (f, at)
        })
        .collect();
    if frames.is_empty() {
        bail!("no subject to publish to");
    }
    if size >= VECTORED_MIN {
        let headers: Vec<&[u8]> = frames.iter().map(|(f, at)| &f[..*at]).collect();
        let start = Instant::now();
        let body = &payload[if first_seq.is_some() { 8 } else { 0 }..];
        let batches = Batches {
            headers: &headers,
            body,
            count,
            first_seq,
        };
        batches.send(&mut stream, &mut scanner, &shared).await?;
        write_or_explain(&mut stream, &mut scanner, b"PING\r\n").await?;
        wait_pong(
            &mut stream,
            &mut scanner,
            timeout.max(Duration::from_secs(30)),
        )
        .await?;
        return Ok(Sample::new(count, size, start, Instant::now()));
    }
    let longest = frames.iter().map(|f| f.0.len()).max().unwrap_or(0);
    let mut buf = Vec::with_capacity(WRITE_CHUNK + longest + 8);
    let start = Instant::now();
    let mut pending = 0u64;
    let mut next = 0;
    for i in 0..count {
        let (frame, at) = &frames[next];
        let base = buf.len();
        buf.extend_from_slice(frame);
        if let Some(first) = first_seq {
            let seq = (first + i).to_le_bytes();
            buf[base + at..base + at + 8].copy_from_slice(&seq);
        }
        next += 1;
        if next == frames.len() {
            next = 0;
        }
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

/// Large payloads are not copied into a buffer: each message is a few `IoSlice`s
/// (header, sequence number, the shared payload, CRLF) and up to [`IOV_MAX`] of them
/// go out in one `writev`, so the kernel's copy is the only one.
struct Batches<'a> {
    headers: &'a [&'a [u8]],
    /// The payload after the sequence number (or all of it without one).
    body: &'a [u8],
    count: u64,
    first_seq: Option<u64>,
}

impl Batches<'_> {
    async fn send(
        &self,
        stream: &mut Stream,
        scanner: &mut Scanner,
        shared: &Shared,
    ) -> anyhow::Result<()> {
        let per_msg = if self.first_seq.is_some() { 4 } else { 3 };
        let batch = IOV_MAX / per_msg;
        let mut seqs = vec![[0u8; 8]; batch];
        let (mut sent, mut next) = (0u64, 0usize);
        while sent < self.count {
            let n = (self.count - sent).min(batch as u64) as usize;
            if let Some(first) = self.first_seq {
                for (j, seq) in seqs[..n].iter_mut().enumerate() {
                    *seq = (first + sent + j as u64).to_le_bytes();
                }
            }
            let mut slices = Vec::with_capacity(n * per_msg);
            for seq in &seqs[..n] {
                slices.push(IoSlice::new(self.headers[next]));
                next = (next + 1) % self.headers.len();
                if self.first_seq.is_some() {
                    slices.push(IoSlice::new(seq));
                }
                slices.push(IoSlice::new(self.body));
                slices.push(IoSlice::new(b"\r\n"));
            }
            if let Err(err) = write_all_vectored(stream, &mut slices).await {
                return Err(explain(err, stream, scanner).await);
            }
            sent += n as u64;
            shared.add_published(n as u64);
        }
        Ok(())
    }
}

async fn write_all_vectored(
    stream: &mut Stream,
    mut slices: &mut [IoSlice<'_>],
) -> std::io::Result<()> {
    while !slices.is_empty() {
        let n = stream.write_vectored(slices).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        IoSlice::advance_slices(&mut slices, n);
    }
    stream.flush().await
}

/// A failed write usually means the server sent `-ERR` and closed; show that text.
pub async fn write_or_explain(
    stream: &mut Stream,
    scanner: &mut Scanner,
    buf: &[u8],
) -> anyhow::Result<()> {
    match send(stream, buf).await {
        Ok(()) => Ok(()),
        Err(err) => Err(explain(err, stream, scanner).await),
    }
}

/// The server's `-ERR` text if it sent one before the write failed, else the I/O error.
async fn explain(err: std::io::Error, stream: &mut Stream, scanner: &mut Scanner) -> anyhow::Error {
    match find_err(stream, scanner).await {
        Some(e) => anyhow::anyhow!("server error: {e}"),
        None => anyhow::Error::new(err).context("writing to the server"),
    }
}

async fn find_err(stream: &mut Stream, scanner: &mut Scanner) -> Option<String> {
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
/// the plan is met or the coordinator says stop. With `reply`, every message that
/// carries a reply subject is answered with a payload of the planned size.
pub async fn subscriber(
    t: Target,
    plan: SubPlan,
    shared: Arc<Shared>,
    reply: bool,
    ready: tokio::sync::oneshot::Sender<()>,
) -> anyhow::Result<SubOutcome> {
    let sub = match &plan.queue {
        Some(q) => format!("SUB {} {q} 1\r\n", plan.subject),
        None => format!("SUB {} 1\r\n", plan.subject),
    };
    let conn = connect_with(&t, Scanner::new(), sub.as_bytes()).await?;
    let _ = ready.send(());
    serve(conn, plan, shared, reply).await
}

/// The subscriber's loop on a connection whose subscriptions are already confirmed:
/// counts (and with `reply` answers) `MSG`s until the plan is met or `stop` flips.
pub async fn serve(
    conn: Conn,
    plan: SubPlan,
    shared: Arc<Shared>,
    reply: bool,
) -> anyhow::Result<SubOutcome> {
    let Conn {
        mut stream,
        mut scanner,
        ..
    } = conn;
    let mut stop = shared.stop.clone();
    let mut window = Window::new();
    let (mut n, mut wrong_size) = (0u64, 0u64);
    // Everything after the reply subject in an answer: ` size\r\n<payload>\r\n`.
    let mut answer_tail = format!(" {}\r\n", plan.size).into_bytes();
    answer_tail.resize(answer_tail.len() + plan.size, b'x');
    answer_tail.extend_from_slice(b"\r\n");
    let mut out: Vec<u8> = Vec::new();
    'outer: loop {
        let mut batch = 0u64;
        while let Some(op) = scanner.next_op()? {
            match op {
                Op::Msg {
                    size,
                    reply: to,
                    head,
                    ..
                } => {
                    batch += 1;
                    if size != plan.size {
                        wrong_size += 1;
                    }
                    if let Some(seq) = &plan.seq {
                        seq.saw(scanner.bytes(&head));
                    }
                    if let (true, Some(to)) = (reply, to) {
                        out.extend_from_slice(b"PUB ");
                        out.extend_from_slice(scanner.bytes(&to));
                        out.extend_from_slice(&answer_tail);
                    }
                }
                Op::Ping => out.extend_from_slice(b"PONG\r\n"),
                Op::Err(e) => bail!("server error: {e}"),
                Op::Pong | Op::Other => {}
            }
            if plan.done(n + batch) {
                break;
            }
        }
        if !out.is_empty() {
            write_or_explain(&mut stream, &mut scanner, &out).await?;
            out.clear();
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

/// Makes sure interest registered on `to` before this call is known on `from`: across
/// a route, a SUB is confirmed by its own server long before the other servers hear of
/// it. We subscribe to a fresh subject on `to` (after every benchmark subscription, so
/// on the route its RS+ follows theirs) and publish to it on `from` until one arrives.
/// This also waits out a route that is still connecting.
pub async fn sync_interest(from: &Target, to: &Target, within: Duration) -> anyhow::Result<()> {
    let subject = format!("_BENCH_SYNC.{}", crate::template::unique_id());
    let mut rx = connect_with(
        to,
        Scanner::new(),
        format!("SUB {subject} 1\r\n").as_bytes(),
    )
    .await
    .context("interest sync")?;
    let mut tx = connect(from).await.context("interest sync")?;
    let probe = format!("PUB {subject} 0\r\n\r\nPING\r\n");
    let deadline = Instant::now() + within;
    loop {
        send(&mut tx.stream, probe.as_bytes()).await?;
        tx.wait_pong().await?;
        let got = tokio::time::timeout(Duration::from_millis(20), async {
            loop {
                while let Some(op) = rx.scanner.next_op()? {
                    match op {
                        Op::Msg { .. } => return anyhow::Ok(()),
                        Op::Ping => send(&mut rx.stream, b"PONG\r\n").await?,
                        Op::Err(e) => bail!("server error: {e}"),
                        _ => {}
                    }
                }
                rx.fill().await?;
            }
        })
        .await;
        match got {
            Ok(res) => return res,
            Err(_) if Instant::now() < deadline => continue,
            Err(_) => bail!(
                "interest on {} did not reach {} within {:?} (is the route up?)",
                to.addr(),
                from.addr(),
                within
            ),
        }
    }
}
