//! The websocket listener (`websocket {}`): browsers and web apps connect as clients.
//!
//! A websocket client is a client like any other once upgraded: same read loop, same
//! delivery, accounts, permissions and monitoring; only the transport differs (framing
//! over TCP or TLS, see [`stream`]). This module accepts the TCP connection, runs the
//! TLS handshake when the block has `tls {}`, answers the HTTP upgrade ([`upgrade`]), and
//! then hands the framed halves to `client::serve`.
//!
//! * [`frame`]: the sans-I/O RFC 6455 codec; [`deflate`]: `permessage-deflate`.
//! * [`auth`]: the options websocket clients authenticate against (the block's
//!   `authorization {}` and `no_auth_user` override the top-level ones, and users limited
//!   by `allowed_connection_types` must list `WEBSOCKET`).
//!
//! Invariants: the HTTP phase is bounded by `handshake_timeout` (when set) and by Go's
//! limit on a request head; nothing a peer sends can panic the task, and a refused
//! upgrade never creates a client (no cid, no `/connz` entry), as in Go.

pub mod auth;
pub mod deflate;
pub mod frame;
pub mod stream;
pub mod upgrade;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};

use crate::conn::{Conn, ConnKind};
use crate::server::Server;
use crate::tls::transport::{HalfIo, ReadSide, WriteSide};
use crate::{debug, error};

/// Bind the listener and log it as Go does; the port goes into `Addrs::websocket`.
pub async fn start(srv: &Arc<Server>) -> anyhow::Result<()> {
    let opts = srv.opts();
    let wo = &opts.websocket;
    let l = crate::server::bind(&wo.host, wo.port)
        .await
        .map_err(|e| anyhow::anyhow!("Unable to listen for websocket connections: {e}"))?;
    let addr = l.local_addr()?;
    srv.set_websocket_addr(addr);
    let tls = wo.tls.is_some();
    crate::notice!(
        srv.log,
        "Listening for websocket clients on {}://{}",
        if tls { "wss" } else { "ws" },
        crate::server::join_host_port(&wo.host, addr.port())
    );
    if !tls {
        crate::warn!(
            srv.log,
            "Websocket not configured with TLS. DO NOT USE IN PRODUCTION!"
        );
    }
    spawn_accept_loop(srv.clone(), l);
    Ok(())
}

fn spawn_accept_loop(srv: Arc<Server>, l: TcpListener) {
    let s = srv.clone();
    srv.tasks.spawn(async move {
        loop {
            tokio::select! {
                _ = s.shutdown.cancelled() => break,
                _ = s.client_accept_stop.cancelled() => break,
                res = l.accept() => match res {
                    Ok((stream, peer)) => {
                        let peer = crate::server::unmap_addr(peer);
                        let s2 = s.clone();
                        s.tasks.spawn(async move { accept(s2, stream, peer).await });
                    }
                    Err(e) => {
                        error!(s.log, "Error accepting websocket connection: {}", e);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        }
        debug!(s.log, "Websocket accept loop exiting..");
    });
}

/// The TCP (or TLS) stream during the HTTP phase.
struct Pre {
    stream: TcpStream,
    tls: Option<rustls::Connection>,
}

impl Pre {
    async fn read(&mut self, buf: &mut Vec<u8>) -> std::io::Result<usize> {
        let mut tmp = [0u8; 16384];
        let Some(tls) = &mut self.tls else {
            self.stream.readable().await?;
            return match self.stream.try_read(&mut tmp) {
                Ok(n) => {
                    buf.extend_from_slice(&tmp[..n]);
                    Ok(n)
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    Err(std::io::ErrorKind::Interrupted.into())
                }
                Err(e) => Err(e),
            };
        };
        use std::io::Read;
        loop {
            match tls.reader().read(&mut tmp) {
                Ok(n) => {
                    buf.extend_from_slice(&tmp[..n]);
                    return Ok(n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(e),
            }
            self.stream.readable().await?;
            match tls.read_tls(&mut HalfIo(&self.stream)) {
                Ok(0) => return Ok(0),
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
            tls.process_new_packets()
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        }
    }

    /// Answer, then close as Go's HTTP server does after an error it closes on: our
    /// side first, then up to half a second of discarding what the client still sends,
    /// so that the answer is not lost to a reset.
    async fn refuse_and_close(&mut self, answer: &[u8]) {
        if self.write_all(answer).await.is_err() {
            return;
        }
        let _ = socket2::SockRef::from(&self.stream).shutdown(std::net::Shutdown::Write);
        let drain = async {
            let mut tmp = [0u8; 16384];
            loop {
                if self.stream.readable().await.is_err() {
                    return;
                }
                match self.stream.try_read(&mut tmp) {
                    Ok(0) => return,
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(_) => return,
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_millis(500), drain).await;
    }

    async fn write_all(&mut self, mut b: &[u8]) -> std::io::Result<()> {
        use std::io::Write;
        match &mut self.tls {
            None => crate::client::write_plain(&self.stream, b).await,
            Some(tls) => {
                while !b.is_empty() {
                    let n = tls.writer().write(b)?;
                    b = &b[n..];
                    while tls.wants_write() {
                        match tls.write_tls(&mut HalfIo(&self.stream)) {
                            Ok(_) => {}
                            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                                self.stream.writable().await?
                            }
                            Err(e) => return Err(e),
                        }
                    }
                }
                Ok(())
            }
        }
    }
}

async fn accept(srv: Arc<Server>, stream: TcpStream, peer: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let opts = srv.opts();
    let timeout = opts.websocket.handshake_timeout;
    let tls_cfg = srv.tls.read().websocket.clone();
    let tls_timeout = if timeout.is_zero() {
        tls_cfg.as_ref().map_or(Duration::ZERO, |t| t.timeout)
    } else {
        timeout
    };
    // Boxed: the HTTP phase's buffers must not stay in the connection task's future
    // for the client's whole life (an idle websocket client should be small).
    let phase = Box::pin(upgrade_phase(&srv, stream, peer, tls_cfg));
    let bounded = async {
        if tls_timeout.is_zero() {
            Some(phase.await)
        } else {
            tokio::time::timeout(tls_timeout, phase).await.ok()
        }
    };
    let res = tokio::select! {
        r = bounded => r,
        _ = srv.shutdown.cancelled() => None,
    };
    let Some(Some((pre, acc, leftover))) = res else {
        if res.is_none() {
            debug!(srv.log, "{peer} - websocket handshake error: timeout");
        }
        return;
    };
    let Pre { stream, tls } = pre;
    let tls_info = tls.as_ref().map(crate::tls::transport::TlsInfo::of);
    let cid = srv.next_cid();
    let conn = Arc::new(Conn::new(
        cid,
        ConnKind::Client,
        peer,
        opts.max_pending.max(0) as usize,
    ));
    // A proxy's `X-Forwarded-For` shows in the log prefix only, as in Go.
    if let Some(ip) = acc.forwarded_ip {
        let ip = match ip {
            std::net::IpAddr::V6(v6) => format!("[{v6}]"),
            v4 => v4.to_string(),
        };
        conn.set_prefix(format!("{ip}/{peer} - cid:{cid}"));
    }
    {
        let mut m = conn.meta.lock();
        m.websocket = true;
        m.ws_cookie_jwt = acc.cookie_jwt.map(String::into_boxed_str);
        m.tls = tls_info.map(Box::new);
    }
    let (r, w) = crate::tls::transport::split(stream, tls);
    let shared = Arc::new(stream::Shared::default());
    let mut wr = stream::WsRead::new(
        r,
        shared.clone(),
        !acc.no_masking,
        opts.max_payload.max(0) as usize,
    );
    wr.prime(&leftover);
    let ww = stream::WsWrite::new(w, shared, acc.compress);
    crate::client::serve(
        srv,
        conn,
        ReadSide::Ws(Box::new(wr)),
        WriteSide::Ws(Box::new(ww)),
        true,
    )
    .await;
}

/// TLS handshake (with `tls {}`), then HTTP requests until one upgrades. `None` when the
/// connection ended instead (logged as Go logs it).
async fn upgrade_phase(
    srv: &Arc<Server>,
    stream: TcpStream,
    peer: SocketAddr,
    tls_cfg: Option<Arc<crate::tls::Tls>>,
) -> Option<(Pre, upgrade::Accepted, Vec<u8>)> {
    let mut pre = Pre { stream, tls: None };
    if let Some(t) = &tls_cfg {
        let mut session = match rustls::ServerConnection::new(t.server.clone()) {
            Ok(s) => rustls::Connection::Server(s),
            Err(e) => {
                error!(srv.log, "{peer} - websocket TLS handshake error: {e}");
                return None;
            }
        };
        if let Err(e) = crate::tls::transport::handshake(&pre.stream, &mut session).await {
            // Go's HTTP server logs these through its error log.
            error!(
                srv.log,
                "websocket: http: TLS handshake error from {peer}: {e}"
            );
            return None;
        }
        let info = crate::tls::transport::TlsInfo::of(&session);
        if !crate::client::pinned_ok(t, &info) {
            error!(
                srv.log,
                "{peer} - websocket TLS handshake error: certificate not pinned"
            );
            return None;
        }
        pre.tls = Some(session);
    }
    let is_tls = pre.tls.is_some();
    let mut buf: Vec<u8> = Vec::new();
    loop {
        // Parse only when a read brought the end of a head (or the end of the request
        // line, to refuse garbage early): re-parsing a growing buffer on every read
        // would cost quadratic time for a large head.
        let mut scanned: usize = 0;
        let (req, used) = loop {
            let from = scanned.saturating_sub(3);
            let first_line = !buf[..scanned].contains(&b'\n') && buf[from..].contains(&b'\n');
            let parse = buf.len() > upgrade::MAX_HEAD
                || first_line
                || buf[from..].windows(4).any(|w| w == b"\r\n\r\n");
            scanned = buf.len();
            if parse {
                match upgrade::parse(&buf) {
                    upgrade::Parsed::Complete(r, n) => break (r, n),
                    upgrade::Parsed::Partial => {}
                    upgrade::Parsed::Malformed => {
                        pre.refuse_and_close(&upgrade::server_error_close(400, None))
                            .await;
                        return None;
                    }
                    upgrade::Parsed::TooLarge => {
                        pre.refuse_and_close(&upgrade::server_error_close(431, None))
                            .await;
                        return None;
                    }
                }
            }
            match pre.read(&mut buf).await {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return None,
            }
        };
        let opts = srv.opts();
        let policy = srv.ws_origin_policy();
        match upgrade::check(&req, &policy, opts.websocket.compression, is_tls) {
            Ok(mut acc) => {
                if !opts.websocket.jwt_cookie.is_empty() {
                    acc.cookie_jwt = upgrade::cookie(&req, &opts.websocket.jwt_cookie);
                }
                if buf.len() > used {
                    error!(
                        srv.log,
                        "{peer} - websocket handshake error: client sent data before handshake is complete"
                    );
                    return None;
                }
                if let Some(kind) = acc.other_kind {
                    error!(
                        srv.log,
                        "{peer} - websocket handshake error: {kind} connections are not supported by this server"
                    );
                    return None;
                }
                if pre.write_all(&upgrade::switching(&acc)).await.is_err() {
                    return None;
                }
                return Some((pre, acc, Vec::new()));
            }
            Err(rej) => {
                if rej.status != 0 {
                    error!(
                        srv.log,
                        "{peer} - websocket handshake error: {}", rej.reason
                    );
                }
                let answer = upgrade::refusal(&rej, req.http10, &upgrade::http_date());
                if pre.write_all(&answer).await.is_err() || rej.close || req.http10 {
                    return None;
                }
                buf.drain(..used);
            }
        }
    }
}
