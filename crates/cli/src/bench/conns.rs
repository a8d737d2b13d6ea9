//! Many idle connections for `nats bench conns`: the cost of a connection on the server.
//!
//! Each connection does the whole handshake in one write (`CONNECT`, one `SUB`, `PING`)
//! and counts as connected when its `PONG` arrives, so "time to connect all" includes
//! the server registering the subscription. At most `parallel` handshakes are in
//! flight. Connections then sit idle, answering the server's PINGs, while something
//! outside (the benchmark script) reads the server's memory; when told to stop, every
//! connection must still answer a final PING, so a server that silently dropped
//! clients fails the run. Scanners start at 1 KiB so 20,000 connections cost the client
//! little memory.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures::{StreamExt, TryStreamExt};
use tokio::io::AsyncReadExt;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::raw::{self, Conn, Op, Scanner, Target};

/// Connection `i`'s local address when spreading over `sources` loopback addresses
/// 127.0.0.2, 127.0.0.3, …; `None` (let the kernel choose) for 0.
fn source_for(sources: u8, i: usize) -> Option<std::net::IpAddr> {
    if sources == 0 {
        return None;
    }
    let last = 2 + (i % usize::from(sources)) as u8;
    Some(std::net::IpAddr::V4(std::net::Ipv4Addr::new(
        127, 0, 0, last,
    )))
}

/// Open-file headroom the process needs beyond one descriptor per connection.
const FD_HEADROOM: u64 = 32;

/// Opens `count` connections, each subscribed to `<prefix>.<i>`; returns them once all
/// have answered their first PONG.
pub async fn connect_all(
    target: &Target,
    prefix: &str,
    count: usize,
    parallel: usize,
    sources: u8,
) -> anyhow::Result<Vec<Conn>> {
    check_fd_limit(count as u64)?;
    futures::stream::iter(0..count)
        .map(|i| {
            let sub = format!("SUB {prefix}.{i} 1\r\n");
            let mut target = target.clone();
            target.source = source_for(sources, i);
            async move {
                raw::connect_with(&target, Scanner::with_capacity(1024), sub.as_bytes())
                    .await
                    .with_context(|| format!("connection {} of {count}", i + 1))
            }
        })
        .buffer_unordered(parallel.max(1))
        .try_collect()
        .await
}

/// Holds every connection until `until` resolves — or until the first connection
/// fails, which ends the hold at once — then checks each survivor with a last PING.
/// Returns how many connections failed and the first failure.
pub async fn hold(
    conns: Vec<Conn>,
    until: impl std::future::Future<Output = ()>,
) -> (usize, Option<String>) {
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut set = JoinSet::new();
    for conn in conns {
        set.spawn(hold_one(conn, stop_rx.clone()));
    }
    let (mut failed, mut first) = (0, None);
    tokio::pin!(until);
    loop {
        tokio::select! {
            _ = &mut until => break,
            res = set.join_next() => match res {
                None => break,
                Some(res) => {
                    if let Some(err) = failure(res) {
                        failed += 1;
                        first.get_or_insert(err);
                        break;
                    }
                }
            },
        }
    }
    let _ = stop_tx.send(true);
    while let Some(res) = set.join_next().await {
        if let Some(err) = failure(res) {
            failed += 1;
            first.get_or_insert(err);
        }
    }
    (failed, first)
}

fn failure(res: Result<anyhow::Result<()>, tokio::task::JoinError>) -> Option<String> {
    match res {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(format!("{e:#}")),
        Err(e) => Some(format!("task failed: {e}")),
    }
}

async fn hold_one(mut conn: Conn, mut stop: watch::Receiver<bool>) -> anyhow::Result<()> {
    loop {
        if *stop.borrow_and_update() {
            break;
        }
        tokio::select! {
            biased;
            changed = stop.changed() => if changed.is_err() { break },
            read = conn.stream.read(conn.scanner.spare()) => {
                let n = read.context("reading from the server")?;
                if n == 0 {
                    bail!("connection closed by the server while idle");
                }
                conn.scanner.filled(n);
                while let Some(op) = conn.scanner.next_op()? {
                    match op {
                        Op::Ping => raw::send(&mut conn.stream, b"PONG\r\n").await?,
                        Op::Err(e) => bail!("server error while idle: {e}"),
                        _ => {}
                    }
                }
            }
        }
    }
    raw::send(&mut conn.stream, b"PING\r\n").await?;
    conn.timeout = conn.timeout.max(Duration::from_secs(10));
    conn.wait_pong().await.context("final PING")
}

/// The soft open-files limit from `/proc/self/limits` (no libc needed).
pub fn open_files_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    parse_open_files(&text)
}

fn parse_open_files(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line["Max open files".len()..].split_whitespace().next()?;
    if soft == "unlimited" {
        return Some(u64::MAX);
    }
    soft.parse().ok()
}

fn check_fd_limit(count: u64) -> anyhow::Result<()> {
    if let Some(limit) = open_files_limit() {
        if count + FD_HEADROOM > limit {
            bail!(
                "{count} connections need about {} open files but the limit is {limit}; \
                 raise it with `ulimit -n` or lower --count",
                count + FD_HEADROOM
            );
        }
    }
    Ok(())
}

/// Connect-phase numbers for the report.
pub struct ConnectReport {
    pub count: usize,
    pub elapsed: Duration,
}

impl ConnectReport {
    pub fn per_sec(&self) -> f64 {
        self.count as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

impl std::fmt::Display for ConnectReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Connected {} clients with one subscription each in {} ({} conns/sec)",
            crate::out::comma(self.count as i64),
            crate::out::go_duration(self.elapsed),
            crate::out::comma(self.per_sec() as i64)
        )
    }
}

/// Times [`connect_all`].
pub async fn timed_connect_all(
    target: &Target,
    prefix: &str,
    count: usize,
    parallel: usize,
    sources: u8,
) -> anyhow::Result<(Vec<Conn>, ConnectReport)> {
    let start = Instant::now();
    let conns = connect_all(target, prefix, count, parallel, sources).await?;
    let report = ConnectReport {
        count,
        elapsed: start.elapsed(),
    };
    Ok((conns, report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_files_from_proc_limits() {
        let text = "Limit                     Soft Limit           Hard Limit           Units     \n\
                    Max cpu time              unlimited            unlimited            seconds   \n\
                    Max open files            20000                20000                files     \n";
        assert_eq!(parse_open_files(text), Some(20000));
        let unlimited =
            "Max open files            unlimited            unlimited            files\n";
        assert_eq!(parse_open_files(unlimited), Some(u64::MAX));
        assert_eq!(parse_open_files("nothing here"), None);
        assert!(open_files_limit().is_some());
    }

    #[test]
    fn sources_cycle_over_loopback_addresses() {
        assert_eq!(source_for(0, 5), None);
        let ip = |i| source_for(3, i).map(|a| a.to_string());
        assert_eq!(ip(0).as_deref(), Some("127.0.0.2"));
        assert_eq!(ip(2).as_deref(), Some("127.0.0.4"));
        assert_eq!(ip(3).as_deref(), Some("127.0.0.2"));
        assert_eq!(
            source_for(250, 249).map(|a| a.to_string()).as_deref(),
            Some("127.0.0.251")
        );
    }

    #[test]
    fn report_line() {
        let r = ConnectReport {
            count: 5000,
            elapsed: Duration::from_millis(1250),
        };
        assert_eq!(
            r.to_string(),
            "Connected 5,000 clients with one subscription each in 1.25s (4,000 conns/sec)"
        );
    }
}
