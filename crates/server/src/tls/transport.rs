//! The transport under a connection: plain TCP or TLS over TCP, as one read half and one
//! write half.
//!
//! TLS is driven sans-I/O: one `rustls::Connection` behind a short `parking_lot` mutex,
//! shared by the two halves, and the same tokio TCP halves as plain connections. So the
//! rest of the connection code is unchanged:
//! * the writer (and a producer flushing inline at the end of its batch) offers the
//!   coalesced outbound buffer to [`WriteSide::try_write`]; for TLS that encrypts it into
//!   records (rustls takes up to its 64 KiB buffer limit per call, one record per 16 KiB:
//!   no allocation per message) and writes the records with one vectored non-blocking
//!   write. Ciphertext the socket did not take stays in rustls (the "backlog") and goes
//!   before any new plaintext ([`WriteSide::flush_backlog`]).
//! * the reader ([`ReadSide::read`]) decrypts into the read buffer's spare room.
//! * for plain TCP every method is the `OwnedReadHalf`/`OwnedWriteHalf` call it replaced,
//!   behind one enum match.
//!
//! Lock order: a connection's `out` lock is never held while this session lock is taken
//! (`Conn::write_some` releases it around the write), and nothing is awaited with it held.

use std::io::{self, Read, Write};
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::io::AsyncReadExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

use crate::conn::Conn;

/// One TLS session, shared by a connection's reader and writer.
pub type Session = Mutex<rustls::Connection>;

pub enum ReadSide {
    Tcp(OwnedReadHalf),
    Tls(OwnedReadHalf, Arc<Session>),
    /// Websocket framing over one of the other two (boxed: an idle connection's read
    /// future must not grow by the framing state).
    Ws(Box<crate::websocket::stream::WsRead>),
}

pub enum WriteSide {
    Tcp(OwnedWriteHalf),
    Tls(OwnedWriteHalf, Arc<Session>),
    Ws(Box<crate::websocket::stream::WsWrite>),
}

/// Split a connected stream (after its TLS handshake, if any) into the two halves.
pub fn split(stream: TcpStream, tls: Option<rustls::Connection>) -> (ReadSide, WriteSide) {
    let (r, w) = stream.into_split();
    match tls {
        None => (ReadSide::Tcp(r), WriteSide::Tcp(w)),
        Some(t) => {
            let s = Arc::new(Mutex::new(t));
            (ReadSide::Tls(r, s.clone()), WriteSide::Tls(w, s))
        }
    }
}

fn would_block() -> io::Error {
    io::ErrorKind::WouldBlock.into()
}

impl ReadSide {
    /// Read (decrypted) bytes into `buf`; `Ok(0)` at end of stream. `conn`'s writer is
    /// woken when TLS has something to send after a read (an alert, a key update).
    #[inline]
    pub async fn read(&mut self, buf: &mut [u8], conn: &Conn) -> io::Result<usize> {
        match self {
            ReadSide::Tcp(r) => r.read(buf).await,
            // Boxed so that the plain arms' future stays as small as it was.
            ReadSide::Ws(w) => Box::pin(w.read(buf, conn)).await,
            ReadSide::Tls(r, s) => {
                std::future::poll_fn(|cx| poll_read_tls(cx, r, s, buf, conn)).await
            }
        }
    }

    /// `read` for the transports under websocket framing (a websocket inside a websocket
    /// is not a thing: it reads nothing).
    pub async fn read_plain(&mut self, buf: &mut [u8], conn: &Conn) -> io::Result<usize> {
        match self {
            ReadSide::Tcp(r) => r.read(buf).await,
            ReadSide::Ws(_) => Ok(0),
            // A poll function rather than an `async fn`: its state is a few references,
            // so the TLS arm does not enlarge every connection's read future.
            ReadSide::Tls(r, s) => {
                std::future::poll_fn(|cx| poll_read_tls(cx, r, s, buf, conn)).await
            }
        }
    }
}

fn poll_read_tls(
    cx: &mut std::task::Context<'_>,
    r: &OwnedReadHalf,
    s: &Session,
    buf: &mut [u8],
    conn: &Conn,
) -> std::task::Poll<io::Result<usize>> {
    use std::task::Poll;
    loop {
        match s.lock().reader().read(buf) {
            Ok(n) => return Poll::Ready(Ok(n)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            // The peer closed without close_notify: an end of stream like any other.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Poll::Ready(Ok(0)),
            Err(e) => return Poll::Ready(Err(e)),
        }
        match r.as_ref().poll_read_ready(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Ready(Ok(())) => {}
        }
        let wants_write = {
            let mut tls = s.lock();
            match tls.read_tls(&mut HalfIo(r)) {
                Ok(0) => {
                    let _ = tls.process_new_packets();
                    return Poll::Ready(Ok(tls.reader().read(buf).unwrap_or(0)));
                }
                Ok(_) => {}
                // Readiness was stale and is now cleared: poll again.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
            match tls.process_new_packets() {
                Ok(st) => st.tls_bytes_to_write() > 0,
                Err(e) => return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, e))),
            }
        };
        if wants_write {
            conn.wake();
        }
    }
}

impl WriteSide {
    pub fn tcp(&self) -> &OwnedWriteHalf {
        match self {
            WriteSide::Tcp(w) | WriteSide::Tls(w, _) => w,
            WriteSide::Ws(w) => w.inner().tcp(),
        }
    }

    /// Offer `chunk` without blocking: how much of it was taken (written to the socket,
    /// or for TLS encrypted into records), or `WouldBlock`.
    #[inline]
    pub fn try_write(&self, chunk: &[u8]) -> io::Result<usize> {
        match self {
            WriteSide::Tcp(w) => w.try_write(chunk),
            WriteSide::Tls(w, s) => {
                let mut tls = s.lock();
                if !flush(&mut tls, w)? {
                    return Err(would_block());
                }
                let n = tls.writer().write(chunk)?;
                flush(&mut tls, w)?;
                if n == 0 && !chunk.is_empty() {
                    return Err(would_block());
                }
                Ok(n)
            }
            WriteSide::Ws(w) => w.try_write(chunk),
        }
    }

    /// Write TLS records still held in rustls (and websocket frames not yet written);
    /// true when none are left (always for TCP).
    #[inline]
    pub fn flush_backlog(&self) -> io::Result<bool> {
        match self {
            WriteSide::Tcp(_) => Ok(true),
            WriteSide::Tls(w, s) => flush(&mut s.lock(), w),
            WriteSide::Ws(w) => w.flush_backlog(),
        }
    }

    pub async fn writable(&self) -> io::Result<()> {
        self.tcp().writable().await
    }

    /// Before the write side closes: a websocket close frame (waiting up to `wait` for
    /// the socket to take it), then a TLS close_notify, best effort.
    pub async fn close_notify(
        &self,
        reason: Option<crate::conn::CloseReason>,
        wait: std::time::Duration,
    ) {
        match self {
            WriteSide::Tcp(_) => {}
            WriteSide::Tls(w, s) => {
                let mut tls = s.lock();
                tls.send_close_notify();
                let _ = flush(&mut tls, w);
            }
            WriteSide::Ws(ws) => {
                ws.queue_close(reason);
                let flushed = async {
                    while let Ok(false) = ws.flush_backlog() {
                        if self.writable().await.is_err() {
                            break;
                        }
                    }
                };
                let _ = tokio::time::timeout(wait, flushed).await;
                if let WriteSide::Tls(w, s) = ws.inner() {
                    let mut tls = s.lock();
                    tls.send_close_notify();
                    let _ = flush(&mut tls, w);
                }
            }
        }
    }
}

/// Write what rustls holds until it is empty (true) or the socket would block (false).
fn flush(tls: &mut rustls::Connection, w: &OwnedWriteHalf) -> io::Result<bool> {
    while tls.wants_write() {
        match tls.write_tls(&mut HalfIo(w)) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// Non-blocking `Read`/`Write` over a tokio TCP half (readiness is cleared on
/// `WouldBlock`, so the next `readable()`/`writable()` waits).
pub(crate) struct HalfIo<'a, T>(pub &'a T);

impl Read for HalfIo<'_, OwnedReadHalf> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.try_read(buf)
    }
}

impl Write for HalfIo<'_, OwnedWriteHalf> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.try_write(buf)
    }
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.0.try_write_vectored(bufs)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for HalfIo<'_, TcpStream> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.try_read(buf)
    }
}

impl Write for HalfIo<'_, TcpStream> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.try_write(buf)
    }
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.0.try_write_vectored(bufs)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Run a TLS handshake (server or client side) to completion on `stream`. The caller
/// bounds it with the block's `timeout`. Errors are texts for the log line
/// (`TLS handshake error: <text>`); a fatal alert is sent to the peer first.
pub async fn handshake(stream: &TcpStream, tls: &mut rustls::Connection) -> Result<(), String> {
    loop {
        while tls.wants_write() {
            match tls.write_tls(&mut HalfIo(stream)) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    stream.writable().await.map_err(|e| e.to_string())?
                }
                Err(e) => return Err(e.to_string()),
            }
        }
        if !tls.is_handshaking() {
            return Ok(());
        }
        match tls.read_tls(&mut HalfIo(stream)) {
            Ok(0) => return Err("EOF".into()),
            Ok(_) => {
                if let Err(e) = tls.process_new_packets() {
                    // Tell the peer why (the alert rustls queued), without waiting; but
                    // not a peer that does not speak TLS at all (Go sends it nothing).
                    let garbage = matches!(e, rustls::Error::InvalidMessage(_));
                    while !garbage && tls.wants_write() {
                        if tls.write_tls(&mut HalfIo(stream)).is_err() {
                            break;
                        }
                    }
                    return Err(go_error_text(
                        &e,
                        matches!(tls, rustls::Connection::Server(_)),
                    ));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                stream.readable().await.map_err(|e| e.to_string())?
            }
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// rustls errors in the words Go's crypto/tls uses for the common cases, so that logs
/// read the same; rustls's own text otherwise.
fn go_error_text(e: &rustls::Error, server: bool) -> String {
    let verify = if server {
        "tls: failed to verify client certificate"
    } else {
        "tls: failed to verify certificate"
    };
    use rustls::{AlertDescription as A, CertificateError as CE, Error as E};
    match e {
        E::InvalidMessage(_) => "tls: first record does not look like a TLS handshake".into(),
        E::NoCertificatesPresented => "tls: client didn't provide a certificate".into(),
        E::AlertReceived(A::BadCertificate) => "remote error: tls: bad certificate".into(),
        E::AlertReceived(A::UnknownCA) => "remote error: tls: unknown certificate authority".into(),
        E::AlertReceived(a) => format!("remote error: tls: {}", format!("{a:?}").to_lowercase()),
        E::InvalidCertificate(CE::UnknownIssuer) => {
            format!("{verify}: x509: certificate signed by unknown authority")
        }
        E::InvalidCertificate(CE::Expired) | E::InvalidCertificate(CE::ExpiredContext { .. }) => {
            format!("{verify}: x509: certificate has expired or is not yet valid")
        }
        E::InvalidCertificate(CE::NotValidForName)
        | E::InvalidCertificate(CE::NotValidForNameContext { .. }) => {
            format!("{verify}: x509: certificate is not valid for the requested name")
        }
        other => other.to_string(),
    }
}

/// What `/connz` and the logs show about a TLS connection.
#[derive(Debug, Clone, Default)]
pub struct TlsInfo {
    pub version: &'static str,
    pub cipher: &'static str,
    /// The peer's leaf certificate (DER), if it sent one.
    pub peer_cert: Option<Arc<[u8]>>,
}

impl TlsInfo {
    pub fn of(tls: &rustls::Connection) -> TlsInfo {
        TlsInfo {
            version: super::version_name(tls.protocol_version()),
            cipher: super::cipher_name(tls.negotiated_cipher_suite()),
            peer_cert: tls
                .peer_certificates()
                .and_then(|c| c.first())
                .map(|c| Arc::from(c.as_ref())),
        }
    }
}
