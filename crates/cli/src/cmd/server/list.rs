//! `nats server list` (`ls`): one row per server in natscli's "Server Overview" table.
//!
//! Sends `$SYS.REQ.SERVER.PING` and collects one `ServerStatsMsg` per server (see
//! [`super::sys::collect`] for when collecting stops), then prints natscli's table —
//! Name, Cluster, Host, Version, JS, Conns, Subs, Routes, GWs, Mem, CPU %, Cores, Slow,
//! Uptime, RTT — with its totals footer (cluster count, server count, an `X` under
//! Version/Routes/GWs when they disagree, JetStream count, connection, subscription,
//! memory and slow-consumer totals) and, when servers are clustered, the "Cluster
//! Overview" table. Names and hosts are compacted as natscli does (a dotted suffix shared
//! by all is dropped). Sorting follows natscli, including its defaults: rtt and name
//! ascending, counters descending; `-R` reverses.
//!
//! With `--monitor URL[,URL…]` the rows come from each URL's `/varz` instead, for users
//! without system-account credentials (gateways are then not counted).

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::{Args, ValueEnum};

use super::sys::{self, ServerStatsMsg, SysError};
use crate::opts::GlobalOpts;
use crate::out;
use crate::table::{Cell, Table};

#[derive(Args, Debug)]
pub struct ListArgs {
    /// How many servers to expect
    #[arg(value_name = "EXPECT")]
    pub expect_arg: Option<usize>,
    /// How many servers to expect (same as the positional argument)
    #[arg(long, value_name = "N")]
    pub expect: Option<usize>,
    /// Produce JSON output
    #[arg(short = 'j', long)]
    pub json: bool,
    /// Sort servers by a specific key
    #[arg(long, value_enum, default_value = "rtt")]
    pub sort: SortKey,
    /// Reverse sort servers
    #[arg(short = 'R', long)]
    pub reverse: bool,
    /// Compact server names (the default)
    #[arg(long, overrides_with = "no_compact")]
    pub compact: bool,
    /// Show full server names and hosts
    #[arg(long = "no-compact")]
    pub no_compact: bool,
    /// Monitoring URL(s), comma separated: read /varz instead of using the system account
    #[arg(long, env = "NATS_MONITOR_URL", value_name = "URL")]
    pub monitor: Option<String>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    Name,
    Cluster,
    #[value(alias = "conn")]
    Conns,
    #[value(alias = "sub")]
    Subs,
    #[value(alias = "route")]
    Routes,
    #[value(alias = "gws")]
    Gw,
    Mem,
    Cpu,
    Slow,
    Uptime,
    Rtt,
}

/// One server's reply with its round trip time.
pub struct Row {
    pub msg: ServerStatsMsg,
    pub raw: serde_json::Value,
    pub rtt: Duration,
}

pub async fn run(global: &GlobalOpts, args: ListArgs) -> anyhow::Result<ExitCode> {
    let expect = args.expect.or(args.expect_arg).unwrap_or(0);
    let mut rows = match &args.monitor {
        Some(list) => from_monitor(global, list).await?,
        None => from_system_account(global, expect).await?,
    };
    if rows.is_empty() {
        anyhow::bail!("{}", sys::NO_SYSTEM_ACCOUNT);
    }
    if args.json {
        let all: Vec<&serde_json::Value> = rows.iter().map(|r| &r.raw).collect();
        println!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(ExitCode::SUCCESS);
    }
    sort_rows(&mut rows, args.sort, args.reverse);
    let mut text = overview(&rows, !args.no_compact);
    let clusters = clusters(&rows);
    if !clusters.is_empty() {
        text.push('\n');
        text.push_str(&cluster_overview(clusters));
    }
    out::stdout(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

async fn from_system_account(global: &GlobalOpts, expect: usize) -> anyhow::Result<Vec<Row>> {
    let client = global.connect().await?;
    let subject = "$SYS.REQ.SERVER.PING";
    let replies = match sys::collect(
        &client,
        subject,
        Bytes::new(),
        sys::Until::expecting(expect),
        global.timeout,
        |_| false,
    )
    .await
    {
        Ok(r) => r,
        Err(SysError::NoResponders) => {
            anyhow::bail!("{} {}", sys::NO_SYSTEM_ACCOUNT, sys::MONITOR_HINT)
        }
        Err(SysError::Nats(e)) => return Err(e),
    };
    replies
        .iter()
        .map(|r| {
            Ok(Row {
                msg: sys::parse(subject, &r.data)?,
                raw: sys::parse(subject, &r.data)?,
                rtt: r.rtt,
            })
        })
        .collect()
}

/// Builds the same rows from `/varz` of every monitoring URL given.
async fn from_monitor(global: &GlobalOpts, list: &str) -> anyhow::Result<Vec<Row>> {
    let mut rows = Vec::new();
    for url in super::url_list(list) {
        let start = Instant::now();
        let v = super::info::fetch_varz(&url, global.timeout).await?;
        let rtt = start.elapsed();
        let s = |k: &str| v[k].as_str().unwrap_or("").to_string();
        let n = |k: &str| v[k].as_i64().unwrap_or(0);
        let mut msg = ServerStatsMsg::default();
        msg.server.name = s("server_name");
        msg.server.id = s("server_id");
        msg.server.host = s("host");
        msg.server.version = s("version");
        msg.server.cluster = v["cluster"]["name"].as_str().unwrap_or("").to_string();
        msg.server.time = s("now");
        msg.server.jetstream = v["jetstream"]["config"].is_object();
        msg.stats.start = s("start");
        msg.stats.mem = n("mem");
        msg.stats.cores = n("cores");
        msg.stats.cpu = v["cpu"].as_f64().unwrap_or(0.0);
        msg.stats.connections = n("connections");
        msg.stats.subscriptions = n("subscriptions").max(0) as u64;
        msg.stats.slow_consumers = n("slow_consumers");
        msg.stats.routes = vec![serde_json::Value::Null; n("routes").max(0) as usize];
        rows.push(Row { msg, raw: v, rtt });
    }
    Ok(rows)
}

/// natscli's order for each key with `-R` unset (it reverses by default internally, which
/// puts rtt and names ascending and counters descending); `-R` flips it.
fn sort_rows(rows: &mut [Row], key: SortKey, reverse: bool) {
    rows.sort_by(|a, b| {
        let (sa, sb) = (&a.msg.stats, &b.msg.stats);
        let by_name = || a.msg.server.name.cmp(&b.msg.server.name);
        let ord = match key {
            SortKey::Name => by_name(),
            SortKey::Conns => sb.connections.cmp(&sa.connections),
            SortKey::Subs => sb.subscriptions.cmp(&sa.subscriptions),
            SortKey::Routes => sb.routes.len().cmp(&sa.routes.len()).then_with(by_name),
            SortKey::Gw => sb.gateways.len().cmp(&sa.gateways.len()).then_with(by_name),
            SortKey::Mem => sb.mem.cmp(&sa.mem),
            SortKey::Cpu => sb.cpu.partial_cmp(&sa.cpu).unwrap_or(Ordering::Equal),
            SortKey::Slow => sb.slow_consumers.cmp(&sa.slow_consumers),
            SortKey::Uptime => sys::parse_time(&sa.start).cmp(&sys::parse_time(&sb.start)),
            SortKey::Cluster => a
                .msg
                .server
                .cluster
                .cmp(&b.msg.server.cluster)
                .then_with(|| b.msg.server.name.cmp(&a.msg.server.name)),
            SortKey::Rtt => a.rtt.cmp(&b.rtt),
        };
        if reverse {
            ord.reverse()
        } else {
            ord
        }
    });
}

/// natscli's `CompactStrings`: drops the dotted suffix (`.example.net`) every string
/// shares, never the first label. Labels are compared position by position from the
/// front, up to the shortest string's label count, exactly as natscli does.
pub fn compact_strings(source: &[String]) -> Vec<String> {
    let parts: Vec<Vec<&str>> = source.iter().map(|s| s.split('.').collect()).collect();
    let Some(shortest) = parts.iter().map(Vec::len).min() else {
        return Vec::new();
    };
    let mut remove = String::new();
    for i in (1..shortest).rev() {
        let label = parts[0][i];
        if parts.iter().all(|p| p[i] == label) {
            remove = format!(".{label}{remove}");
        } else {
            break;
        }
    }
    source
        .iter()
        .map(|s| s.strip_suffix(remove.as_str()).unwrap_or(s).to_string())
        .collect()
}

fn overview(rows: &[Row], compact: bool) -> String {
    let names: Vec<String> = rows.iter().map(|r| r.msg.server.name.clone()).collect();
    let hosts: Vec<String> = rows.iter().map(|r| r.msg.server.host.clone()).collect();
    let (names, hosts) = if compact {
        (compact_strings(&names), compact_strings(&hosts))
    } else {
        (names, hosts)
    };

    let mut t = Table::new("Server Overview");
    t.header(&[
        "Name", "Cluster", "Host", "Version", "JS", "Conns", "Subs", "Routes", "GWs", "Mem",
        "CPU %", "Cores", "Slow", "Uptime", "RTT",
    ]);
    let first = &rows[0].msg;
    let (mut conns, mut subs, mut mem, mut slow, mut js) = (0i64, 0u64, 0i64, 0i64, 0usize);
    let (mut versions_ok, mut gws_ok) = ("", "");
    for (i, row) in rows.iter().enumerate() {
        let (srv, st) = (&row.msg.server, &row.msg.stats);
        conns += st.connections;
        subs += st.subscriptions;
        mem += st.mem;
        slow += st.slow_consumers;
        let js_cell = if srv.jetstream {
            js += 1;
            if srv.domain.is_empty() {
                "yes".to_string()
            } else {
                srv.domain.clone()
            }
        } else {
            "no".to_string()
        };
        if srv.version != first.server.version {
            versions_ok = "X";
        }
        if st.gateways.len() != first.stats.gateways.len() {
            gws_ok = "X";
        }
        t.row(vec![
            names[i].clone().into(),
            srv.cluster.clone().into(),
            hosts[i].clone().into(),
            srv.version.clone().into(),
            js_cell.into(),
            out::comma(st.connections).into(),
            out::comma(st.subscriptions as i64).into(),
            Cell::num(st.routes.len()),
            Cell::num(st.gateways.len()),
            out::ibytes(st.mem.max(0) as u64).into(),
            format!("{:.0}", st.cpu).into(),
            Cell::num(st.cores),
            slow_cell(st).into(),
            out::humanize_duration(sys::time_between(&st.start, &srv.time)).into(),
            out::humanize_duration(round_ms(row.rtt)).into(),
        ]);
    }
    let clusters = clusters(rows);
    // Route counts must agree within each cluster (clusters may differ in size).
    let routes_ok = if clusters
        .values()
        .any(|c| c.route_sizes.iter().any(|&s| s != c.route_sizes[0]))
    {
        "X"
    } else {
        ""
    };
    t.footer(vec![
        "".into(),
        Cell::num(clusters.len()),
        Cell::num(rows.len()),
        versions_ok.into(),
        Cell::num(js),
        out::comma(conns).into(),
        out::comma(subs as i64).into(),
        routes_ok.into(),
        gws_ok.into(),
        out::ibytes(mem.max(0) as u64).into(),
        "".into(),
        "".into(),
        out::comma(slow).into(),
        "".into(),
        "".into(),
    ]);
    t.render()
}

/// `3` or, when routes, gateways or leafnodes were slow too, `3 (c: 1 r: 2)`.
fn slow_cell(st: &sys::ServerStats) -> String {
    let total = out::comma(st.slow_consumers);
    let Some(s) = &st.slow_consumer_stats else {
        return total;
    };
    let mut parts = Vec::new();
    for (tag, n) in [
        ("c", s.clients),
        ("r", s.routes),
        ("g", s.gateways),
        ("l", s.leafs),
    ] {
        if n > 0 {
            parts.push(format!("{tag}: {}", out::comma(n as i64)));
        }
    }
    if parts.len() == 1 && s.clients > 0 {
        parts.clear();
    }
    if parts.is_empty() {
        total
    } else {
        format!("{total} ({})", parts.join(" "))
    }
}

fn round_ms(d: Duration) -> Duration {
    let ms = (d.as_nanos() + 500_000) / 1_000_000;
    Duration::from_millis(ms as u64)
}

#[derive(Default)]
struct ClusterSummary {
    nodes: usize,
    gw_out: usize,
    gw_in: i64,
    conns: i64,
    route_sizes: Vec<usize>,
}

fn clusters(rows: &[Row]) -> BTreeMap<String, ClusterSummary> {
    let mut map: BTreeMap<String, ClusterSummary> = BTreeMap::new();
    for row in rows {
        let (srv, st) = (&row.msg.server, &row.msg.stats);
        if srv.cluster.is_empty() {
            continue;
        }
        let c = map.entry(srv.cluster.clone()).or_default();
        c.nodes += 1;
        c.conns += st.connections;
        c.gw_out += st.gateways.len();
        c.gw_in += st.gateways.iter().map(|g| g.num_inbound).sum::<i64>();
        c.route_sizes.push(st.routes.len());
    }
    map
}

fn cluster_overview(clusters: BTreeMap<String, ClusterSummary>) -> String {
    let mut list: Vec<(String, ClusterSummary)> = clusters.into_iter().collect();
    list.sort_by_key(|(_, c)| c.conns);
    let mut t = Table::new("Cluster Overview");
    t.header(&[
        "Cluster",
        "Node Count",
        "Outgoing Gateways",
        "Incoming Gateways",
        "Connections",
    ]);
    let (mut nodes, mut gw_out, mut gw_in, mut conns) = (0, 0, 0, 0);
    for (name, c) in &list {
        nodes += c.nodes;
        gw_out += c.gw_out;
        gw_in += c.gw_in;
        conns += c.conns;
        t.row(vec![
            name.into(),
            Cell::num(c.nodes),
            Cell::num(c.gw_out),
            Cell::num(c.gw_in),
            Cell::num(c.conns),
        ]);
    }
    t.footer(vec![
        "".into(),
        Cell::num(nodes),
        Cell::num(gw_out),
        Cell::num(gw_in),
        Cell::num(conns),
    ]);
    t.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn compacting_like_natscli() {
        assert_eq!(
            compact_strings(&strings(&["n1.example.net", "n2.example.net"])),
            strings(&["n1", "n2"])
        );
        assert_eq!(
            compact_strings(&strings(&["127.0.0.1", "127.0.0.1"])),
            strings(&["127", "127"])
        );
        assert_eq!(
            compact_strings(&strings(&["a", "b.x"])),
            strings(&["a", "b.x"])
        );
    }

    fn row(name: &str, conns: i64, rtt_ms: u64) -> Row {
        let mut msg = ServerStatsMsg::default();
        msg.server.name = name.into();
        msg.server.cluster = "c".into();
        msg.stats.connections = conns;
        Row {
            msg,
            raw: serde_json::Value::Null,
            rtt: Duration::from_millis(rtt_ms),
        }
    }

    #[test]
    fn default_orders_follow_natscli() {
        let mut rows = vec![row("b", 1, 3), row("a", 5, 2), row("c", 3, 1)];
        let names = |rows: &[Row]| -> Vec<String> {
            rows.iter().map(|r| r.msg.server.name.clone()).collect()
        };
        sort_rows(&mut rows, SortKey::Rtt, false);
        assert_eq!(names(&rows), ["c", "a", "b"]);
        sort_rows(&mut rows, SortKey::Conns, false);
        assert_eq!(names(&rows), ["a", "c", "b"]);
        sort_rows(&mut rows, SortKey::Name, true);
        assert_eq!(names(&rows), ["c", "b", "a"]);
    }
}
