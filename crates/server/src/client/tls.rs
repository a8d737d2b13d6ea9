//! The TLS start of a client connection, as nats-server 2.9.10's `createClient` does it:
//! INFO in plain text (with `tls_required`, and `tls_verify` when client certificates are
//! required), the client registered (`max_connections`), then the server-side handshake
//! within the block's `timeout`, then the `pinned_certs` check. A client that fails any
//! step is logged (`TLS handshake error: …` or `TLS handshake timeout`), closed as `TLS
//! Handshake Failure` and cleaned up like any other; the server carries on.

use std::sync::Arc;

use nats_proto::errors;
use nats_proto::info::ServerInfo;
use tokio::net::TcpStream;

use super::reader::ClientState;
use crate::conn::{CloseReason, Conn};
use crate::server::Server;
use crate::tls::transport::{handshake, ReadSide, TlsInfo, WriteSide};
use crate::tls::Tls;
use crate::{debug, error};

/// Write bytes before the connection has its writer (the plain-text INFO or `-ERR`).
pub(crate) async fn write_plain(stream: &TcpStream, mut b: &[u8]) -> std::io::Result<()> {
    while !b.is_empty() {
        stream.writable().await?;
        match stream.try_write(b) {
            Ok(n) => b = &b[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Returns the connection's two halves over the established session, or `None` when the
/// connection was closed (and, if it had been registered, cleaned up).
pub(super) async fn accept(
    srv: &Arc<Server>,
    conn: &Arc<Conn>,
    stream: TcpStream,
    info: &ServerInfo,
    t: &Tls,
    urls_gen: u64,
) -> Option<(ReadSide, WriteSide)> {
    let session = accept_session(srv, conn, &stream, info, t, urls_gen).await?;
    Some(crate::tls::transport::split(stream, Some(session)))
}

async fn accept_session(
    srv: &Arc<Server>,
    conn: &Arc<Conn>,
    stream: &TcpStream,
    info: &ServerInfo,
    t: &Tls,
    urls_gen: u64,
) -> Option<rustls::Connection> {
    let deadline = tokio::time::Instant::now() + t.timeout;
    let mut line = Vec::new();
    if let Ok(json) = nats_proto::info::to_json(info) {
        nats_proto::encode::info_line(&mut line, &json);
    }
    if !matches!(
        tokio::time::timeout_at(deadline, write_plain(stream, &line)).await,
        Ok(Ok(()))
    ) {
        conn.close(CloseReason::WriteError);
        return None;
    }
    if srv.is_shutting_down() || !srv.add_client(conn) {
        if !srv.is_shutting_down() {
            error!(srv.log, "{} - maximum connections exceeded", conn.prefix());
            let mut err = Vec::new();
            nats_proto::encode::err_line(&mut err, errors::MAX_CONNECTIONS);
            let _ = tokio::time::timeout_at(deadline, write_plain(stream, &err)).await;
        }
        conn.close(CloseReason::MaxConnectionsExceeded);
        return None;
    }
    let fail = |srv: &Arc<Server>| {
        conn.close(CloseReason::TlsHandshakeError);
        ClientState::new(srv.clone(), conn.clone(), urls_gen, None).cleanup();
    };
    let mut session = match rustls::ServerConnection::new(t.server.clone()) {
        Ok(s) => rustls::Connection::Server(s),
        Err(e) => {
            error!(srv.log, "{} - TLS handshake error: {}", conn.prefix(), e);
            fail(srv);
            return None;
        }
    };
    debug!(
        srv.log,
        "{} - Starting TLS client connection handshake",
        conn.prefix()
    );
    let res = tokio::select! {
        r = tokio::time::timeout_at(deadline, handshake(stream, &mut session)) => r,
        _ = conn.cancelled() => Ok(Err("connection closed".to_string())),
    };
    match res {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            if !conn.is_closed() {
                error!(srv.log, "{} - TLS handshake error: {}", conn.prefix(), e);
            }
            fail(srv);
            return None;
        }
        Err(_) => {
            error!(srv.log, "{} - TLS handshake timeout", conn.prefix());
            fail(srv);
            return None;
        }
    }
    let info = TlsInfo::of(&session);
    if !pinned_ok(t, &info) {
        error!(
            srv.log,
            "{} - TLS handshake error: certificate not pinned",
            conn.prefix()
        );
        fail(srv);
        return None;
    }
    debug!(srv.log, "{} - TLS handshake complete", conn.prefix());
    debug!(
        srv.log,
        "{} - TLS version {}, cipher suite {}",
        conn.prefix(),
        info.version,
        info.cipher
    );
    conn.meta.lock().tls = Some(Box::new(info));
    Some(session)
}

/// nats-server's `matchesPinnedCert`: with `pinned_certs`, the peer's certificate key must
/// be listed (a peer without a certificate fails).
pub(crate) fn pinned_ok(t: &Tls, info: &TlsInfo) -> bool {
    if t.pinned.is_empty() {
        return true;
    }
    info.peer_cert
        .as_deref()
        .and_then(crate::tls::x509::spki_sha256_hex)
        .is_some_and(|k| t.pinned.contains(&k))
}
