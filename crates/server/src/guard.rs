//! Panics in connection tasks.
//!
//! A bug (or an input nobody foresaw) that panics inside a connection's reader or writer
//! must not skip that connection's clean-up: its subscriptions would stay in the sublist,
//! it would stay in `Server::clients` or the route table, and routes would keep its
//! interest. `guarded` runs one of those futures, catches a panic, logs it and closes
//! the connection, so that the caller's clean-up still runs after it.

use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;

use crate::conn::{CloseReason, Conn};
use crate::logging::Logger;

/// Run `f`; on a panic, log it, close `conn` with `reason` and return `None`.
///
/// A plain function returning a combinator, not an `async fn`: an `async fn` would keep
/// `f` twice in its state (the argument and the future polled), and a reader's future is
/// the largest part of an idle connection's memory.
pub fn guarded<'a, F: Future + 'a>(
    log: &'a Logger,
    conn: &'a Conn,
    what: &'a str,
    reason: CloseReason,
    f: F,
) -> impl Future<Output = Option<F::Output>> + 'a {
    AssertUnwindSafe(f).catch_unwind().map(move |r| match r {
        Ok(v) => Some(v),
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            crate::error!(log, "{} - Panic in {}: {}", conn.prefix(), what, msg);
            conn.close(reason);
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conn::ConnKind;

    #[tokio::test]
    async fn a_panic_closes_the_connection_and_returns() {
        let (log, lines) = Logger::memory(false, false);
        let conn = Conn::new(1, ConnKind::Client, "127.0.0.1:1".parse().unwrap(), 1024);
        let r = guarded(&log, &conn, "reader", CloseReason::ReadError, async {
            if conn.cid == 1 {
                panic!("boom");
            }
            5
        })
        .await;
        assert_eq!(r, None);
        assert!(conn.is_closed());
        assert!(lines
            .lock()
            .iter()
            .any(|l| l.contains("Panic in reader: boom")));
        let ok = guarded(&log, &conn, "reader", CloseReason::ReadError, async { 5 }).await;
        assert_eq!(ok, Some(5));
    }
}
