//! Client connections: accepting them, the INFO greeting, and the two tasks each one runs
//! (a reader that parses and delivers, a writer that drains the outbound buffer).

mod reader;
mod tls;

pub(crate) use tls::{pinned_ok, write_plain};

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use nats_proto::errors;
use tokio::net::{TcpListener, TcpStream};

use crate::conn::{self, CloseReason, Conn, ConnKind, WriterCfg, WriterEvent};
use crate::guard::guarded;
use crate::server::Server;
use crate::{debug, notice};

pub fn spawn_accept_loop(srv: Arc<Server>, l: TcpListener) {
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
                        s.tasks.spawn(async move { run(s2, stream, peer).await });
                    }
                    Err(e) => {
                        crate::error!(s.log, "Error accepting client connection: {}", e);
                        // Out of file descriptors and the like: back off a little.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        }
        debug!(s.log, "Client accept loop exiting..");
    });
}

async fn run(srv: Arc<Server>, stream: TcpStream, peer: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let opts = srv.opts();
    let cid = srv.next_cid();
    let conn = Arc::new(Conn::new(
        cid,
        ConnKind::Client,
        peer,
        opts.max_pending.max(0) as usize,
    ));
    srv.stats.total_connections.fetch_add(1, Ordering::Relaxed);
    debug!(srv.log, "{} - Client connection created", conn.prefix());

    let mut info = srv.client_info();
    info.client_id = cid;
    info.client_ip = peer.ip().to_string();
    // With nkey users, each client gets a nonce of its own to sign (not kept in the
    // server's INFO: the INFOs sent later carry none, as nats-server's).
    let nonce = crate::nkey::nonce_required(&opts).then(|| {
        info.nonce = crate::ids::nonce();
        Box::from(info.nonce.as_str())
    });
    let urls_gen = srv.urls.lock().generation;
    let tls_cfg = srv.tls.read().client.clone();
    let tls_on = tls_cfg.is_some();
    let (r, w) = match tls_cfg {
        None => {
            if let Ok(json) = nats_proto::info::to_json(&info) {
                conn.send_with(|b| nats_proto::encode::info_line(b, &json));
            }
            crate::tls::transport::split(stream, None)
        }
        // INFO in plain text, then the handshake (boxed: rare work, and a TLS session
        // held in this future would enlarge every connection's task).
        Some(t) => match Box::pin(tls::accept(&srv, &conn, stream, &info, &t, urls_gen)).await {
            Some(halves) => halves,
            None => return,
        },
    };
    finish(srv, conn, r, w, tls_on, urls_gen, nonce, false).await;
}

/// A websocket client after its upgrade: INFO (framed by the writer), then as any
/// client.
pub(crate) async fn serve(
    srv: Arc<Server>,
    conn: Arc<Conn>,
    r: crate::tls::transport::ReadSide,
    w: crate::tls::transport::WriteSide,
    websocket: bool,
) {
    let opts = srv.opts();
    let mut info = if websocket {
        srv.ws_client_info()
    } else {
        srv.client_info()
    };
    info.client_id = conn.cid;
    info.client_ip = conn.addr.ip().to_string();
    srv.stats.total_connections.fetch_add(1, Ordering::Relaxed);
    debug!(srv.log, "{} - Client connection created", conn.prefix());
    let nonce = crate::nkey::nonce_required(&opts).then(|| {
        info.nonce = crate::ids::nonce();
        Box::from(info.nonce.as_str())
    });
    let urls_gen = srv.urls.lock().generation;
    if let Ok(json) = nats_proto::info::to_json(&info) {
        conn.send_with(|b| nats_proto::encode::info_line(b, &json));
    }
    finish(srv, conn, r, w, false, urls_gen, nonce, websocket).await;
}

/// The two tasks of a client whose transport is ready. `registered`: `add_client` was
/// already called (TLS clients are registered before their handshake, as in Go).
#[allow(clippy::too_many_arguments)]
async fn finish(
    srv: Arc<Server>,
    conn: Arc<Conn>,
    r: crate::tls::transport::ReadSide,
    w: crate::tls::transport::WriteSide,
    registered: bool,
    urls_gen: u64,
    nonce: Option<Box<str>>,
    websocket: bool,
) {
    let writer = spawn_writer(&srv, &conn, w);

    // With TLS the client was registered before its handshake, as in nats-server.
    if !registered && (srv.is_shutting_down() || !srv.add_client(&conn)) {
        if !srv.is_shutting_down() {
            crate::error!(srv.log, "{} - maximum connections exceeded", conn.prefix());
            conn.send_err(&srv.log, errors::MAX_CONNECTIONS);
        }
        conn.close(CloseReason::MaxConnectionsExceeded);
        let _ = writer.await;
        return;
    }

    let mut st = reader::ClientState::new(srv.clone(), conn.clone(), urls_gen, nonce);
    if websocket {
        st.set_websocket();
    }
    // A panic in the reader (or the writer) closes the connection; clean-up still runs.
    let reason = guarded(
        &srv.log,
        &conn,
        "reader",
        CloseReason::ReadError,
        st.read_loop(r),
    )
    .await
    .unwrap_or(CloseReason::ReadError);
    conn.close(reason);
    let _ = writer.await;
    st.cleanup();
}

/// Start a connection's writer task (clients and routes), under the panic guard.
pub fn spawn_writer(
    srv: &Arc<Server>,
    conn: &Arc<Conn>,
    w: crate::tls::transport::WriteSide,
) -> tokio::task::JoinHandle<()> {
    let opts = srv.opts();
    let cfg = WriterCfg {
        write_deadline: opts.write_deadline,
        ping_interval: opts.ping_interval,
        first_ping: crate::ping::first_ping(conn.kind, opts.ping_interval),
    };
    let (srv, conn) = (srv.clone(), conn.clone());
    srv.tasks.clone().spawn(async move {
        // The writer's future goes straight into `guarded` (no local binding, which the
        // task would keep as well).
        let events = srv.clone();
        guarded(
            &srv.log,
            &conn,
            "writer",
            CloseReason::WriteError,
            conn::write_loop(conn.clone(), w, cfg, move |ev, c| {
                on_writer_event(&events, ev, c)
            }),
        )
        .await;
    })
}

/// What a connection's writer reports (clients and routes alike): ping timer, write
/// errors, and writes that outlive `write_deadline` (a slow consumer).
pub fn on_writer_event(srv: &Arc<Server>, ev: WriterEvent, c: &Arc<Conn>) {
    #[cfg(test)]
    if matches!(ev, WriterEvent::PingTimer)
        && tests::PANIC_ON_PING_PORT.load(Ordering::Relaxed) == c.addr.port()
    {
        panic!("test panic in the writer");
    }
    match ev {
        WriterEvent::PingTimer => crate::ping::on_ping_timer(srv, c),
        WriterEvent::WriteError => {
            c.close(CloseReason::WriteError);
        }
        WriterEvent::WriteDeadline(n) => {
            if c.close(CloseReason::SlowConsumerWriteDeadline) {
                srv.stats.slow_consumers.fetch_add(1, Ordering::Relaxed);
                notice!(
                    srv.log,
                    "{} - Slow Consumer Detected: WriteDeadline of {} exceeded with 1 chunks of {} total bytes.",
                    c.prefix(),
                    crate::monitor::go_duration(srv.opts().write_deadline),
                    n
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logging::Logger;
    use std::sync::atomic::AtomicU16;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// The ping timer of the connection from this client port panics (tests only).
    pub(super) static PANIC_ON_PING_PORT: AtomicU16 = AtomicU16::new(0);

    /// A panic in a connection task still runs its clean-up: the client leaves
    /// `Server::clients`, its subscriptions leave the sublist, and the panic is logged.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_connection_is_cleaned_up() {
        let opts = crate::options::Options {
            host: "127.0.0.1".into(),
            port: -1,
            ping_interval: Duration::from_millis(100),
            // Only the client's subscriptions in `$G`: no system services.
            no_system_account: true,
            ..Default::default()
        };
        let (log, lines) = Logger::memory(false, false);
        let srv = Server::start(opts, log).await.unwrap();
        let mut c = TcpStream::connect(srv.client_addr().unwrap())
            .await
            .unwrap();
        c.write_all(b"CONNECT {\"verbose\":false}\r\nSUB foo 1\r\nSUB bar 2\r\nPING\r\n")
            .await
            .unwrap();
        let mut got = Vec::new();
        while !got.windows(6).any(|w| w == b"PONG\r\n") {
            let mut b = [0u8; 1024];
            let n = c.read(&mut b).await.unwrap();
            assert!(n > 0);
            got.extend_from_slice(&b[..n]);
        }
        assert_eq!(srv.global().sl.count(), 2);
        assert_eq!(srv.clients.lock().len(), 1);
        PANIC_ON_PING_PORT.store(c.local_addr().unwrap().port(), Ordering::Relaxed);
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while (srv.global().sl.count() != 0 || !srv.clients.lock().is_empty())
            && std::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        PANIC_ON_PING_PORT.store(0, Ordering::Relaxed);
        assert_eq!(srv.global().sl.count(), 0, "subscriptions left behind");
        assert!(srv.clients.lock().is_empty(), "client left registered");
        assert!(lines
            .lock()
            .iter()
            .any(|l| l.contains("Panic in writer: test panic in the writer")));
        srv.shutdown().await;
    }
}
/// Memory per idle connection is a target (README, bench `conns-5000`): the connection's
/// task must stay small. A guard against futures that grow by accident (an argument kept
/// twice by an `async fn` wrapper, a large rarely-used field inline).
#[cfg(test)]
mod task_size {
    #[tokio::test]
    async fn an_idle_client_task_stays_small() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let a = l.local_addr().unwrap();
        let s = tokio::net::TcpStream::connect(a).await.unwrap();
        let opts = crate::options::Options {
            host: "127.0.0.1".into(),
            port: -1,
            ..Default::default()
        };
        let (log, _) = crate::logging::Logger::memory(false, false);
        let srv = crate::server::Server::start(opts, log).await.unwrap();
        let f = super::run(srv.clone(), s, a);
        // 1,896 bytes before the hardening work (debug build), 2,240 with the websocket
        // transport arm in the read future, 2,304 with the reader's service-import cache
        // next to it; the bound leaves room for a few fields, not for a second copy of
        // the reader.
        assert!(
            std::mem::size_of_val(&f) <= 2_400,
            "{}",
            std::mem::size_of_val(&f)
        );
        drop(f);
        srv.shutdown().await;
    }
}
