//! Lame duck mode (SIGUSR2, `--signal ldm`): stop taking clients, tell peers and clients
//! to go elsewhere, wait the grace period, then close clients one by one spread over the
//! rest of `lame_duck_duration`, and shut down. This is how a rolling restart moves
//! clients without a reconnect storm.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::conn::CloseReason;
use crate::notice;
use crate::server::Server;

/// Run lame duck mode to its end (the server is shut down when this returns).
pub async fn run(srv: Arc<Server>) {
    if srv.is_shutting_down() || srv.ldm.swap(true, Ordering::AcqRel) {
        return;
    }
    notice!(
        srv.log,
        "Entering lame duck mode, stop accepting new clients"
    );
    srv.client_accept_stop.cancel();
    let opts = srv.opts();
    let clients: Vec<_> = srv.clients.lock().values().cloned().collect();
    if clients.is_empty() {
        srv.shutdown().await;
        return;
    }
    // Peers drop our client URLs; our clients learn the others' (and the `ldm` flag).
    let mut rinfo = srv.route_info();
    rinfo.ldm = true;
    if let Ok(json) = nats_proto::info::to_json(&rinfo) {
        for r in srv.routes.read().registered() {
            r.send_with(|b| nats_proto::encode::info_line(b, &json));
        }
    }
    let mut cinfo = srv.client_info();
    cinfo.ldm = true;
    cinfo.connect_urls = if opts.cluster.no_advertise {
        Vec::new()
    } else {
        srv.urls
            .lock()
            .peers
            .iter()
            .map(|(u, _)| u.clone())
            .collect()
    };
    let mut wsinfo = srv.ws_client_info();
    wsinfo.ldm = true;
    wsinfo.connect_urls = if opts.cluster.no_advertise {
        Vec::new()
    } else {
        srv.urls
            .lock()
            .ws_peers
            .iter()
            .map(|(u, _)| u.clone())
            .collect()
    };
    for c in &clients {
        if c.async_info.load(Ordering::Relaxed) {
            let mut i = if c.meta.lock().websocket {
                wsinfo.clone()
            } else {
                cinfo.clone()
            };
            i.client_id = c.cid;
            i.client_ip = c.addr.ip().to_string();
            if let Ok(json) = nats_proto::info::to_json(&i) {
                c.send_with(|b| nats_proto::encode::info_line(b, &json));
            }
        }
    }
    let grace = opts.lame_duck_grace_period;
    tokio::select! {
        _ = srv.shutdown.cancelled() => return,
        _ = tokio::time::sleep(grace) => {}
    }
    notice!(srv.log, "Closing existing clients");
    let dur = opts
        .lame_duck_duration
        .saturating_sub(grace)
        .max(Duration::from_secs(1));
    let interval = (dur / clients.len() as u32).min(Duration::from_secs(1));
    for (i, c) in clients.iter().enumerate() {
        c.close(CloseReason::ServerShutdown);
        if i + 1 == clients.len() {
            break;
        }
        let half = interval / 2;
        let wait = half + Duration::from_nanos(fastrand::u64(..=half.as_nanos().max(1) as u64));
        tokio::select! {
            _ = srv.shutdown.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
    }
    srv.shutdown().await;
}
