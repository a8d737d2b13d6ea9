//! Websocket framing as a layer over the connection transport (plain TCP or TLS): what
//! the read loop and the writer see is the NATS byte stream, as for any client.
//!
//! * [`WsRead`] reads raw bytes from the inner transport into a small buffer of its own,
//!   decodes frames ([`super::frame::Decoder`], unmasking in place) and copies payload
//!   into the read loop's buffer. Compressed messages are collected whole, then inflated.
//!   Pings are answered and a client's close is echoed through the control queue shared
//!   with the writer.
//! * [`WsWrite`] frames each chunk the writer offers (the coalesced outbound buffer: one
//!   frame per chunk, not per message) and writes header and payload with one vectored
//!   write over plain TCP. What the socket did not take stays in a backlog written before
//!   anything else, as TLS records do in `tls::transport`.
//!
//! Lock order: `WsWrite::out` may be held while taking the control queue lock and the
//! inner TLS session lock; the reader takes the control queue lock alone.

use std::io::{self, IoSlice};
use std::sync::Arc;

use parking_lot::Mutex;

use super::deflate::{Deflater, Inflater};
use super::frame::{self, Decoder, Frame, OpCode};
use crate::conn::{CloseReason, Conn};
use crate::tls::transport::{ReadSide, WriteSide};

/// Below this, a chunk is sent uncompressed (Go's `wsCompressThreshold`).
const COMPRESS_THRESHOLD: usize = 64;
const RAW_MIN: usize = 512;
/// The largest message a compressed frame may inflate to; a batch of NATS ops as large
/// as the biggest payload plus room for its control lines.
const INFLATE_SLACK: usize = 64 * 1024;

/// Control frames the reader wants sent (pongs, the echo of a close), and whether a
/// close frame has gone out (only one may).
#[derive(Default)]
pub struct Control {
    frames: Vec<u8>,
    close_sent: bool,
}

pub type Shared = Mutex<Control>;

pub struct WsRead {
    inner: ReadSide,
    raw: Vec<u8>,
    start: usize,
    end: usize,
    dec: Decoder,
    inflater: Option<Box<Inflater>>,
    /// A compressed message being collected, then its inflated bytes being handed out.
    zin: Vec<u8>,
    zout: Vec<u8>,
    zout_off: usize,
    inflate_limit: usize,
    shared: Arc<Shared>,
    eof: bool,
}

impl WsRead {
    pub fn new(
        inner: ReadSide,
        shared: Arc<Shared>,
        require_mask: bool,
        max_payload: usize,
    ) -> WsRead {
        WsRead {
            inner,
            raw: Vec::new(),
            start: 0,
            end: 0,
            dec: Decoder::new(require_mask),
            inflater: None,
            zin: Vec::new(),
            zout: Vec::new(),
            zout_off: 0,
            inflate_limit: max_payload.saturating_add(INFLATE_SLACK),
            shared,
            eof: false,
        }
    }

    /// Bytes the client sent up to the first frame (none from a well-behaved client).
    pub fn prime(&mut self, bytes: &[u8]) {
        self.raw.extend_from_slice(bytes);
        self.end = self.raw.len();
    }

    /// The NATS bytes of the next frames into `buf`; `Ok(0)` at the end of the stream
    /// (or after the client's close frame). A framing error is `InvalidData`.
    pub async fn read(&mut self, buf: &mut [u8], conn: &Conn) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let n = self.decode(buf, conn)?;
            if n > 0 {
                return Ok(n);
            }
            if self.eof {
                return Ok(0);
            }
            // Need more raw bytes: keep the undecoded tail, read as much as the caller
            // could take (so the buffer grows and shrinks with the read loop's).
            if self.start > 0 {
                self.raw.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            let want = (self.end + buf.len().max(RAW_MIN)).max(self.end + 16);
            if self.raw.len() < want {
                self.raw.resize(want, 0);
            } else if self.end == 0 && self.raw.len() > 4 * want {
                // Shrink after a burst, so an idle connection holds little.
                self.raw = vec![0; want];
            }
            let got = self
                .inner
                .read_plain(&mut self.raw[self.end..], conn)
                .await?;
            if got == 0 {
                return Ok(0);
            }
            self.end += got;
        }
    }

    fn decode(&mut self, buf: &mut [u8], conn: &Conn) -> io::Result<usize> {
        let mut n = 0;
        loop {
            if self.zout_off < self.zout.len() {
                let k = (self.zout.len() - self.zout_off).min(buf.len() - n);
                buf[n..n + k].copy_from_slice(&self.zout[self.zout_off..self.zout_off + k]);
                n += k;
                self.zout_off += k;
                if self.zout_off == self.zout.len() {
                    self.zout.clear();
                    self.zout_off = 0;
                    if self.zout.capacity() > 64 * 1024 {
                        self.zout = Vec::new();
                    }
                }
            }
            if n == buf.len() || self.eof || self.start == self.end {
                return Ok(n);
            }
            let next = match self.dec.next(&mut self.raw[self.start..self.end]) {
                Ok(next) => next,
                Err(e) => {
                    // Go answers a framing error with a 1002 close frame carrying its
                    // words, then drops the connection as a read error (which sends no
                    // close frame of its own).
                    let mut c = self.shared.lock();
                    if !c.close_sent {
                        c.close_sent = true;
                        let body = frame::close_payload(frame::status::PROTOCOL_ERROR, &e.0);
                        frame::control_frame(&mut c.frames, OpCode::Close, &body);
                    }
                    drop(c);
                    conn.wake();
                    return Err(io::Error::new(io::ErrorKind::InvalidData, e.0));
                }
            };
            let Some((used, f)) = next else {
                return Ok(n);
            };
            match f {
                Frame::Data {
                    payload,
                    compressed: false,
                    ..
                } => {
                    // The decoder hands out at most what we give it; give it no more than
                    // fits in `buf` by copying what fits and keeping the rest raw.
                    let room = buf.len() - n;
                    if payload.len() <= room {
                        buf[n..n + payload.len()].copy_from_slice(payload);
                        n += payload.len();
                        self.start += used;
                    } else {
                        // Too much for `buf`: hand out what fits now and keep the rest
                        // (already unmasked) as inflated-style output for the next call.
                        buf[n..].copy_from_slice(&payload[..room]);
                        self.zout.extend_from_slice(&payload[room..]);
                        n = buf.len();
                        self.start += used;
                    }
                }
                Frame::Data {
                    payload,
                    compressed: true,
                    message_done,
                } => {
                    if self.zin.len() + payload.len() > self.inflate_limit {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            "compressed message too large",
                        ));
                    }
                    self.zin.extend_from_slice(payload);
                    self.start += used;
                    if message_done {
                        let inf = self.inflater.get_or_insert_with(Default::default);
                        let res = inf.inflate(&self.zin, &mut self.zout, self.inflate_limit);
                        self.zin.clear();
                        if self.zin.capacity() > 64 * 1024 {
                            self.zin = Vec::new();
                        }
                        res.map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                    }
                }
                Frame::Ping(p) => {
                    let mut c = self.shared.lock();
                    frame::control_frame(&mut c.frames, OpCode::Pong, p);
                    drop(c);
                    self.start += used;
                    conn.wake();
                }
                Frame::Pong => self.start += used,
                Frame::Close(p) => {
                    let reply = frame::close_reply(p);
                    let mut c = self.shared.lock();
                    if !c.close_sent {
                        c.close_sent = true;
                        frame::control_frame(&mut c.frames, OpCode::Close, &reply);
                    }
                    drop(c);
                    self.start += used;
                    self.eof = true;
                    conn.wake();
                }
            }
            if self.start == self.end {
                self.start = 0;
                self.end = 0;
            }
        }
    }
}

struct Out {
    backlog: Vec<u8>,
    off: usize,
    deflater: Option<Box<Deflater>>,
}

pub struct WsWrite {
    inner: WriteSide,
    out: Mutex<Out>,
    shared: Arc<Shared>,
    compress: bool,
}

fn would_block() -> io::Error {
    io::ErrorKind::WouldBlock.into()
}

impl WsWrite {
    pub fn new(inner: WriteSide, shared: Arc<Shared>, compress: bool) -> WsWrite {
        WsWrite {
            inner,
            out: Mutex::new(Out {
                backlog: Vec::new(),
                off: 0,
                deflater: None,
            }),
            shared,
            compress,
        }
    }

    pub fn inner(&self) -> &WriteSide {
        &self.inner
    }

    /// Take `chunk` as one binary frame: written now as far as the socket allows, the
    /// rest kept. `WouldBlock` when earlier frames are still waiting.
    pub fn try_write(&self, chunk: &[u8]) -> io::Result<usize> {
        let mut o = self.out.lock();
        if !self.drain(&mut o)? {
            return Err(would_block());
        }
        if chunk.is_empty() {
            return Ok(0);
        }
        let mut h = [0u8; 10];
        if self.compress && chunk.len() > COMPRESS_THRESHOLD {
            let o = &mut *o;
            let mut z = std::mem::take(&mut o.backlog);
            z.clear();
            // Room for the header in front, filled in once the length is known.
            z.extend_from_slice(&[0u8; 10]);
            o.deflater
                .get_or_insert_with(Default::default)
                .deflate(chunk, &mut z)
                .map_err(io::Error::other)?;
            let n = frame::header(&mut h, OpCode::Binary, true, true, z.len() - 10);
            z[10 - n..10].copy_from_slice(&h[..n]);
            o.backlog = z;
            o.off = 10 - n;
        } else {
            let n = frame::header(&mut h, OpCode::Binary, true, false, chunk.len());
            let mut sent = 0;
            if let WriteSide::Tcp(w) = &self.inner {
                // The common case: header and payload in one syscall, no copy.
                match w.try_write_vectored(&[IoSlice::new(&h[..n]), IoSlice::new(chunk)]) {
                    Ok(k) => sent = k,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
            }
            if sent == n + chunk.len() {
                return Ok(chunk.len());
            }
            o.backlog.clear();
            o.off = 0;
            if sent < n {
                o.backlog.extend_from_slice(&h[sent..n]);
                o.backlog.extend_from_slice(chunk);
            } else {
                o.backlog.extend_from_slice(&chunk[sent - n..]);
            }
        }
        self.drain(&mut o)?;
        Ok(chunk.len())
    }

    /// Write queued control frames and the backlog; true when nothing is left (here or
    /// in the inner TLS session).
    pub fn flush_backlog(&self) -> io::Result<bool> {
        let mut o = self.out.lock();
        self.drain(&mut o)
    }

    fn drain(&self, o: &mut Out) -> io::Result<bool> {
        {
            let mut c = self.shared.lock();
            if !c.frames.is_empty() {
                if o.off == o.backlog.len() {
                    o.backlog.clear();
                    o.off = 0;
                }
                o.backlog.append(&mut c.frames);
            }
        }
        while o.off < o.backlog.len() {
            match self.inner.try_write(&o.backlog[o.off..]) {
                Ok(0) => return Ok(false),
                Ok(k) => o.off += k,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) => return Err(e),
            }
        }
        o.backlog.clear();
        o.off = 0;
        if o.backlog.capacity() > 64 * 1024 {
            o.backlog = Vec::new();
        }
        self.inner.flush_backlog()
    }

    /// Queue the close frame for `reason`, as nats-server does when it closes a client
    /// (none after I/O errors and slow consumers, and only one per connection).
    pub fn queue_close(&self, reason: Option<CloseReason>) {
        let Some(status) = reason.and_then(close_status) else {
            return;
        };
        let mut c = self.shared.lock();
        if c.close_sent {
            return;
        }
        c.close_sent = true;
        let body = frame::close_payload(status, reason.map_or("", |r| r.as_str()));
        frame::control_frame(&mut c.frames, OpCode::Close, &body);
    }
}

/// Go's `wsEnqueueCloseMessage` mapping; `None` where Go sends no close frame at all
/// (it skips the final flush after I/O errors, slow consumers and TLS failures).
fn close_status(r: CloseReason) -> Option<u16> {
    use frame::status::*;
    use CloseReason as R;
    Some(match r {
        R::ReadError
        | R::WriteError
        | R::SlowConsumerPendingBytes
        | R::SlowConsumerWriteDeadline
        | R::TlsHandshakeError => return None,
        R::ClientClosed => NORMAL,
        R::AuthenticationTimeout
        | R::AuthenticationViolation
        | R::MaxConnectionsExceeded
        | R::MaxControlLineExceeded
        | R::MaxSubscriptionsExceeded => POLICY_VIOLATION,
        R::ParseError | R::ProtocolViolation | R::BadClientProtocolVersion => PROTOCOL_ERROR,
        R::MaxPayloadExceeded => TOO_BIG,
        R::ServerShutdown => GOING_AWAY,
        R::StaleConnection => ABNORMAL,
        _ => INTERNAL_ERROR,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_statuses_as_go() {
        assert_eq!(close_status(CloseReason::ClientClosed), Some(1000));
        assert_eq!(
            close_status(CloseReason::AuthenticationViolation),
            Some(1008)
        );
        assert_eq!(close_status(CloseReason::ProtocolViolation), Some(1002));
        assert_eq!(close_status(CloseReason::MaxPayloadExceeded), Some(1009));
        assert_eq!(close_status(CloseReason::ServerShutdown), Some(1001));
        assert_eq!(close_status(CloseReason::StaleConnection), Some(1006));
        assert_eq!(close_status(CloseReason::ReadError), None);
    }
}
