//! Ctrl-C (SIGINT) and SIGTERM, installed once at startup.
//!
//! `tokio::signal::ctrl_c()` only installs its handler when first polled, so a SIGINT
//! that lands between "Subscribing on …" being printed and the select loop starting
//! would kill the process with the default action (no clean exit 0). Registering both
//! signals synchronously before any command runs closes that window; commands then
//! await [`interrupted`].

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

use std::sync::OnceLock;

static INTERRUPTED: OnceLock<watch::Receiver<bool>> = OnceLock::new();

/// Installs the handlers; must run inside the runtime, before the command starts.
pub fn install() -> anyhow::Result<()> {
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    let (tx, rx) = watch::channel(false);
    let _ = INTERRUPTED.set(rx);
    tokio::spawn(async move {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        let _ = tx.send(true);
    });
    Ok(())
}

/// Resolves when the user pressed Ctrl-C or the process got SIGTERM.
pub async fn interrupted() {
    match INTERRUPTED.get() {
        Some(rx) => {
            let mut rx = rx.clone();
            // An error means the sender is gone, which only happens after a signal.
            let _ = rx.wait_for(|hit| *hit).await;
        }
        // Not installed (unit tests): never resolves, like a signal that never comes.
        None => std::future::pending().await,
    }
}
