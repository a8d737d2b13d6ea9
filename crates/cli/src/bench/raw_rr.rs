//! The raw-protocol requester for `nats bench --raw --request`.
//!
//! A requester subscribes once to `_INBOX.<id>.*` and sends requests one after another
//! with the reply subject `_INBOX.<id>.<seq>`; a request is answered by the first `MSG`
//! on exactly that subject, so a late or duplicate reply to an earlier request can never
//! be taken for the current one. The round trip from just before the write to the
//! scanned reply is recorded in an hdrhistogram. Nothing is allocated per request: the
//! frame and the expected subject are rebuilt in reused buffers.

use std::io::Write as _;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context};
use hdrhistogram::Histogram;
use tokio::io::AsyncReadExt;

use super::raw::{self, Conn, Op, Scanner, Target};
use super::stats::{self, Sample};
use super::Shared;

/// A connected requester with its inbox subscription confirmed.
pub struct Requester {
    conn: Conn,
    inbox: String,
}

/// Connects and subscribes to a fresh inbox wildcard.
pub async fn connect(t: &Target) -> anyhow::Result<Requester> {
    let inbox = format!("_INBOX.{}", crate::template::unique_id());
    let sub = format!("SUB {inbox}.* 1\r\n");
    let conn = raw::connect_with(t, Scanner::new(), sub.as_bytes()).await?;
    Ok(Requester { conn, inbox })
}

impl Requester {
    /// Sends `count` requests of `size` bytes to `subject`, one at a time; fails on the
    /// first request that gets no reply within the connection's timeout.
    pub async fn run(
        self,
        subject: &str,
        count: u64,
        size: usize,
        shared: Arc<Shared>,
    ) -> anyhow::Result<(Sample, Histogram<u64>)> {
        let Requester { mut conn, inbox } = self;
        let mut hist = stats::new_histogram()?;
        let payload = vec![b'x'; size];
        let mut frame = Vec::with_capacity(subject.len() + inbox.len() + size + 64);
        let mut want = Vec::with_capacity(inbox.len() + 24);
        let mut wrong_size = 0u64;
        let start = Instant::now();
        for seq in 1..=count {
            want.clear();
            write!(want, "{inbox}.{seq}")?;
            frame.clear();
            frame.extend_from_slice(b"PUB ");
            frame.extend_from_slice(subject.as_bytes());
            frame.push(b' ');
            frame.extend_from_slice(&want);
            write!(frame, " {size}\r\n")?;
            frame.extend_from_slice(&payload);
            frame.extend_from_slice(b"\r\n");

            let t0 = Instant::now();
            raw::write_or_explain(&mut conn.stream, &mut conn.scanner, &frame).await?;
            let got = wait_reply(&mut conn, &want, seq).await?;
            let ns = t0.elapsed().as_nanos().min(u64::MAX as u128) as u64;
            hist.saturating_record(ns.max(1));
            if got != size {
                wrong_size += 1;
            }
            shared.add_published(1);
        }
        let end = Instant::now();
        if wrong_size > 0 {
            bail!("{wrong_size} replies had a payload size other than {size}");
        }
        Ok((Sample::new(count, size, start, end), hist))
    }
}

/// Reads until the reply on `want` arrives; returns its payload size.
async fn wait_reply(conn: &mut Conn, want: &[u8], seq: u64) -> anyhow::Result<usize> {
    let deadline = tokio::time::Instant::now() + conn.timeout;
    loop {
        while let Some(op) = conn.scanner.next_op()? {
            match op {
                Op::Msg { size, subject, .. } if conn.scanner.bytes(&subject) == want => {
                    return Ok(size);
                }
                // A stray reply to an earlier request (a second responder): ignored.
                Op::Msg { .. } | Op::Pong | Op::Other => {}
                Op::Ping => raw::send(&mut conn.stream, b"PONG\r\n").await?,
                Op::Err(e) => bail!("server error: {e}"),
            }
        }
        let read = tokio::time::timeout_at(deadline, conn.stream.read(conn.scanner.spare()))
            .await
            .with_context(|| format!("nats: timeout waiting for a reply to request {seq}"))?
            .context("reading from the server")?;
        if read == 0 {
            bail!("connection closed by the server");
        }
        conn.scanner.filled(read);
    }
}
