//! `nats server report connections` and `nats server report accounts`, natscli's way.
//!
//! Both read every server's connz through the system account: first one
//! `$SYS.REQ.SERVER.PING` to learn how many servers to wait for (the first reply's
//! `active_servers`, unless a LIMIT is given), then `$SYS.REQ.SERVER.PING.CONNZ` with
//! subscriptions and usernames requested, 1024 connections a page, asking again with a
//! larger offset while any server has more (natscli steps by 1025 and so skips one
//! connection a page; we step by the page size). `connections` prints natscli's "Top N
//! Connections" table and the "Connections per server" table; `accounts` sums the same
//! data per account ("N Accounts Overview"), or, given an ACCOUNT, lists its connections.
//! Sorting is natscli's: ascending by default (`subs`), `-R` descending.

use std::collections::BTreeMap;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use serde::Deserialize;

use super::sys::{self, ApiResponse, ServerInfo, SysError, Until};
use crate::opts::GlobalOpts;
use crate::out;
use crate::table::{Cell, Table};

const PAGE: usize = 1024;

#[derive(Args, Debug)]
pub struct ReportArgs {
    #[command(subcommand)]
    pub command: ReportCommand,
}

#[derive(Subcommand, Debug)]
pub enum ReportCommand {
    /// Report on connections
    #[command(visible_alias = "conns", alias = "conn", alias = "connz")]
    Connections(ConnsArgs),
    /// Report on account activity
    #[command(alias = "acct")]
    Accounts(AccountsArgs),
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnSort {
    InBytes,
    OutBytes,
    InMsgs,
    OutMsgs,
    Uptime,
    Cid,
    Subs,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AcctSort {
    InBytes,
    OutBytes,
    InMsgs,
    OutMsgs,
    Conns,
    Subs,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Open,
    Closed,
    All,
}

#[derive(Args, Debug)]
pub struct ConnsArgs {
    /// Limit the responses to a certain amount of servers
    #[arg(value_name = "LIMIT")]
    pub limit: Option<usize>,
    /// Limit report to a specific account
    #[arg(long)]
    pub account: Option<String>,
    /// Sort by a specific property
    #[arg(long, value_enum, default_value = "subs")]
    pub sort: ConnSort,
    /// Limit results to the top results
    #[arg(long, default_value_t = 1000)]
    pub top: usize,
    /// Limits responses only to those connections with matching subscription interest
    #[arg(long)]
    pub subject: Option<String>,
    /// Limits responses only to those connections for a specific authentication username
    #[arg(long)]
    pub username: Option<String>,
    /// Limits responses to connections in a specific state
    #[arg(long, value_enum, default_value = "open")]
    pub state: State,
    /// Reverse sort connections
    #[arg(short = 'R', long)]
    pub reverse: bool,
    /// Produce JSON output
    #[arg(short = 'j', long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct AccountsArgs {
    /// Account to produce a report for
    #[arg(value_name = "ACCOUNT")]
    pub account: Option<String>,
    /// Limit the responses to a certain amount of servers
    #[arg(value_name = "LIMIT")]
    pub limit: Option<usize>,
    /// Sort by a specific property
    #[arg(long, value_enum, default_value = "subs")]
    pub sort: AcctSort,
    /// Limit results to the top results
    #[arg(long, default_value_t = 1000)]
    pub top: usize,
    /// Reverse sort
    #[arg(short = 'R', long)]
    pub reverse: bool,
    /// Produce JSON output
    #[arg(short = 'j', long)]
    pub json: bool,
}

/// The part of Go's `Connz` we use.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Connz {
    pub total: usize,
    pub offset: usize,
    pub limit: usize,
    #[serde(rename = "connections")]
    pub conns: Vec<ConnInfo>,
}

/// The part of Go's `ConnInfo` we use (everything else stays in `raw` for `--json`).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct ConnInfo {
    pub cid: u64,
    pub kind: String,
    pub ip: String,
    pub port: u16,
    pub start: String,
    pub uptime: String,
    pub in_msgs: i64,
    pub out_msgs: i64,
    pub in_bytes: i64,
    pub out_bytes: i64,
    #[serde(rename = "subscriptions")]
    pub num_subs: u64,
    pub name: String,
    pub mqtt_client: String,
    pub account: String,
    pub reason: String,
    #[serde(rename = "subscriptions_list")]
    pub subs: Vec<String>,
}

/// A connection and the server it is on.
#[derive(Clone)]
struct Conn {
    info: ConnInfo,
    raw: serde_json::Value,
    server: ServerInfo,
}

pub async fn run(global: &GlobalOpts, args: ReportArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        ReportCommand::Connections(a) => connections(global, a).await,
        ReportCommand::Accounts(a) => accounts(global, a).await,
    }
}

fn no_responders() -> anyhow::Error {
    // natscli's words; unlike ls/info/ping, reports have no monitoring-port fallback.
    anyhow::anyhow!(
        "server request failed, ensure the account used has system privileges and appropriate permissions"
    )
}

/// Every server's connections matching `filter` (a partial `ConnzOptions`), all pages.
async fn gather(
    global: &GlobalOpts,
    limit: Option<usize>,
    mut filter: serde_json::Value,
) -> anyhow::Result<Vec<Conn>> {
    let client = global.connect().await?;
    let wait_for = match limit {
        Some(n) if n > 0 => n,
        _ => {
            let subject = "$SYS.REQ.SERVER.PING";
            let first = sys::collect(
                &client,
                subject,
                Default::default(),
                Until::Count(1),
                global.timeout,
                |_| false,
            )
            .await;
            match first {
                Ok(r) => match r.first() {
                    Some(reply) => {
                        sys::parse::<sys::ServerStatsMsg>(subject, &reply.data)?
                            .stats
                            .active_servers
                    }
                    None => anyhow::bail!("{}", sys::NO_SYSTEM_ACCOUNT),
                },
                Err(SysError::NoResponders) => return Err(no_responders()),
                Err(SysError::Nats(e)) => return Err(e),
            }
        }
    };
    let subject = "$SYS.REQ.SERVER.PING.CONNZ";
    let mut conns = Vec::new();
    let mut offset = 0;
    loop {
        filter["offset"] = offset.into();
        let replies = match sys::collect(
            &client,
            subject,
            filter.to_string().into(),
            Until::expecting(wait_for),
            global.timeout,
            |_| false,
        )
        .await
        {
            Ok(r) => r,
            Err(SysError::NoResponders) => return Err(no_responders()),
            Err(SysError::Nats(e)) => return Err(e),
        };
        let mut more = false;
        for reply in &replies {
            let resp: ApiResponse<Connz> = sys::parse(subject, &reply.data)?;
            let raw: ApiResponse<serde_json::Value> = sys::parse(subject, &reply.data)?;
            if let Some(err) = resp.error {
                anyhow::bail!("invalid response received: {}", err.description);
            }
            let data = resp.data.unwrap_or_default();
            if data.offset + data.limit.max(1) < data.total {
                more = true;
            }
            let raw_conns = raw
                .data
                .and_then(|d| d.get("connections").cloned())
                .and_then(|c| c.as_array().cloned())
                .unwrap_or_default();
            for (i, info) in data.conns.into_iter().enumerate() {
                conns.push(Conn {
                    info,
                    raw: raw_conns.get(i).cloned().unwrap_or_default(),
                    server: resp.server.clone(),
                });
            }
        }
        if replies.is_empty() && offset == 0 {
            anyhow::bail!("did not get results from any servers");
        }
        if !more {
            return Ok(conns);
        }
        offset += PAGE;
    }
}

fn connz_filter(
    account: Option<&str>,
    user: Option<&str>,
    subject: Option<&str>,
    state: State,
) -> serde_json::Value {
    let mut f = serde_json::json!({
        "subscriptions": true,
        "auth": true,
        "limit": PAGE,
        "state": match state { State::Open => 0, State::Closed => 1, State::All => 2 },
    });
    for (key, value) in [
        ("acc", account),
        ("user", user),
        ("filter_subject", subject),
    ] {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            f[key] = v.into();
        }
    }
    f
}

async fn connections(global: &GlobalOpts, a: ConnsArgs) -> anyhow::Result<ExitCode> {
    let filter = connz_filter(
        a.account.as_deref(),
        a.username.as_deref(),
        a.subject.as_deref(),
        a.state,
    );
    let mut conns = gather(global, a.limit, filter).await?;
    if a.json {
        print_conns_json(&conns)?;
        return Ok(ExitCode::SUCCESS);
    }
    let show_reason = a.state != State::Open;
    let text = render_connections(&mut conns, a.sort, a.reverse, a.top, show_reason);
    out::stdout(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

fn print_conns_json(conns: &[Conn]) -> anyhow::Result<()> {
    let all: Vec<serde_json::Value> = conns
        .iter()
        .map(|c| {
            let mut v = c.raw.clone();
            if let Some(obj) = v.as_object_mut() {
                obj.insert(
                    "server".into(),
                    serde_json::json!({"name": c.server.name, "id": c.server.id,
                        "cluster": c.server.cluster, "host": c.server.host}),
                );
            }
            v
        })
        .collect();
    println!("{}", serde_json::to_string_pretty(&all)?);
    Ok(())
}

fn sort_name(s: ConnSort) -> &'static str {
    match s {
        ConnSort::InBytes => "in-bytes",
        ConnSort::OutBytes => "out-bytes",
        ConnSort::InMsgs => "in-msgs",
        ConnSort::OutMsgs => "out-msgs",
        ConnSort::Uptime => "uptime",
        ConnSort::Cid => "cid",
        ConnSort::Subs => "subs",
    }
}

fn render_connections(
    conns: &mut [Conn],
    sort: ConnSort,
    reverse: bool,
    top: usize,
    show_reason: bool,
) -> String {
    conns.sort_by(|a, b| {
        let (a, b) = (&a.info, &b.info);
        let ord = match sort {
            ConnSort::InBytes => a.in_bytes.cmp(&b.in_bytes),
            ConnSort::OutBytes => a.out_bytes.cmp(&b.out_bytes),
            ConnSort::InMsgs => a.in_msgs.cmp(&b.in_msgs),
            ConnSort::OutMsgs => a.out_msgs.cmp(&b.out_msgs),
            // Newest first: natscli sorts on "started after".
            ConnSort::Uptime => sys::parse_time(&b.start).cmp(&sys::parse_time(&a.start)),
            ConnSort::Cid => a.cid.cmp(&b.cid),
            ConnSort::Subs => a.subs.len().cmp(&b.subs.len()),
        };
        if reverse {
            ord.reverse()
        } else {
            ord
        }
    });
    let total = conns.len();
    let limit = if top > 0 && top <= total { top } else { total };
    let mut t = Table::new(format!(
        "Top {limit} Connections out of {} by {}",
        out::comma(total as i64),
        sort_name(sort)
    ));
    let mut header = vec![
        "CID",
        "Name",
        "Server",
        "Cluster",
        "IP",
        "Account",
        "Uptime",
        "In Msgs",
        "Out Msgs",
        "In Bytes",
        "Out Bytes",
        "Subs",
    ];
    if show_reason {
        header.push("Reason");
    }
    t.header(&header);
    let (mut in_msgs, mut out_msgs, mut in_bytes, mut out_bytes, mut subs) = (0, 0, 0, 0, 0u64);
    // Per server: cluster and connection count, in order of first appearance.
    let mut servers: Vec<(String, String, usize)> = Vec::new();
    for (i, c) in conns.iter().enumerate() {
        let info = &c.info;
        let mut name = if info.name.is_empty() {
            info.mqtt_client.clone()
        } else {
            info.name.clone()
        };
        if name.len() > 40 {
            let cut = (0..=40)
                .rev()
                .find(|&i| name.is_char_boundary(i))
                .unwrap_or(0);
            name = format!("{} ..", &name[..cut]);
        }
        in_msgs += info.in_msgs;
        out_msgs += info.out_msgs;
        in_bytes += info.in_bytes;
        out_bytes += info.out_bytes;
        subs += info.num_subs;
        match servers.iter_mut().find(|s| s.0 == c.server.name) {
            Some(s) => s.2 += 1,
            None => servers.push((c.server.name.clone(), c.server.cluster.clone(), 1)),
        }
        let account = if info.account.len() > 46 {
            format!("{} ..", info.account.get(..12).unwrap_or(&info.account))
        } else {
            info.account.clone()
        };
        let cid = match info.kind.chars().next() {
            Some(k) if info.kind != "Client" => format!("{k}{}", info.cid),
            _ => info.cid.to_string(),
        };
        if i < limit {
            let mut row: Vec<Cell> = vec![
                cid.into(),
                name.into(),
                (&c.server.name).into(),
                (&c.server.cluster).into(),
                format!("{}:{}", info.ip, info.port).into(),
                account.into(),
                (&info.uptime).into(),
                out::comma(info.in_msgs).into(),
                out::comma(info.out_msgs).into(),
                out::ibytes(info.in_bytes.max(0) as u64).into(),
                out::ibytes(info.out_bytes.max(0) as u64).into(),
                out::comma(info.subs.len() as i64).into(),
            ];
            if show_reason {
                row.push((&info.reason).into());
            }
            t.row(row);
        }
    }
    if total > 1 {
        let mut footer: Vec<Cell> = vec![
            "".into(),
            format!("Totals for {} connections", out::comma(total as i64)).into(),
            "".into(),
            "".into(),
            "".into(),
            "".into(),
            "".into(),
            out::comma(in_msgs).into(),
            out::comma(out_msgs).into(),
            out::ibytes(in_bytes.max(0) as u64).into(),
            out::ibytes(out_bytes.max(0) as u64).into(),
            out::comma(subs as i64).into(),
        ];
        if show_reason {
            footer.push("".into());
        }
        t.footer(footer);
    }
    let mut text = t.render();
    if !servers.is_empty() {
        text.push('\n');
        servers.sort_by_key(|s| s.2);
        let mut t = Table::new("Connections per server");
        t.header(&["Server", "Cluster", "Connections"]);
        for (name, cluster, n) in servers {
            t.row(vec![name.into(), cluster.into(), Cell::num(n)]);
        }
        text.push_str(&t.render());
    }
    text
}

#[derive(Default)]
struct AccountSummary {
    conns: i64,
    in_msgs: i64,
    out_msgs: i64,
    in_bytes: i64,
    out_bytes: i64,
    subs: i64,
}

async fn accounts(global: &GlobalOpts, a: AccountsArgs) -> anyhow::Result<ExitCode> {
    let filter = connz_filter(None, None, None, State::Open);
    let mut conns = gather(global, a.limit, filter).await?;
    if let Some(account) = a.account.as_deref() {
        conns.retain(|c| c.info.account == account);
        if conns.is_empty() {
            anyhow::bail!("did not receive any results for account {account}");
        }
        if a.json {
            print_conns_json(&conns)?;
        } else {
            let text = render_connections(&mut conns, ConnSort::Subs, a.reverse, 1000, false);
            out::stdout(text.as_bytes())?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut map: BTreeMap<String, AccountSummary> = BTreeMap::new();
    for c in &conns {
        let s = map.entry(c.info.account.clone()).or_default();
        s.conns += 1;
        s.in_msgs += c.info.in_msgs;
        s.out_msgs += c.info.out_msgs;
        s.in_bytes += c.info.in_bytes;
        s.out_bytes += c.info.out_bytes;
        s.subs += c.info.subs.len() as i64;
    }
    let mut list: Vec<(String, AccountSummary)> = map.into_iter().collect();
    list.sort_by(|(_, x), (_, y)| {
        let ord = match a.sort {
            AcctSort::InBytes => x.in_bytes.cmp(&y.in_bytes),
            AcctSort::OutBytes => x.out_bytes.cmp(&y.out_bytes),
            AcctSort::InMsgs => x.in_msgs.cmp(&y.in_msgs),
            AcctSort::OutMsgs => x.out_msgs.cmp(&y.out_msgs),
            AcctSort::Conns => x.conns.cmp(&y.conns),
            AcctSort::Subs => x.subs.cmp(&y.subs),
        };
        if a.reverse {
            ord.reverse()
        } else {
            ord
        }
    });
    // natscli keeps the last `top` (the largest) unless reversed.
    if a.top > 0 && a.top < list.len() {
        if a.reverse {
            list.truncate(a.top);
        } else {
            list.drain(..list.len() - a.top);
        }
    }
    if a.json {
        let all: Vec<serde_json::Value> = list
            .iter()
            .map(|(name, s)| {
                serde_json::json!({"account": name, "connections": s.conns,
                    "in_msgs": s.in_msgs, "out_msgs": s.out_msgs, "in_bytes": s.in_bytes,
                    "out_bytes": s.out_bytes, "subscriptions": s.subs})
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = Table::new(format!("{} Accounts Overview", list.len()));
    t.header(&[
        "Account",
        "Connections",
        "In Msgs",
        "Out Msgs",
        "In Bytes",
        "Out Bytes",
        "Subs",
    ]);
    for (name, s) in &list {
        t.row(vec![
            name.into(),
            out::comma(s.conns).into(),
            out::comma(s.in_msgs).into(),
            out::comma(s.out_msgs).into(),
            out::ibytes(s.in_bytes.max(0) as u64).into(),
            out::ibytes(s.out_bytes.max(0) as u64).into(),
            out::comma(s.subs).into(),
        ]);
    }
    out::stdout(t.render().as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connz_request_body() {
        let f = connz_filter(Some("APP"), None, Some("foo.>"), State::All);
        assert_eq!(
            f,
            serde_json::json!({"subscriptions": true, "auth": true, "limit": 1024,
                "state": 2, "acc": "APP", "filter_subject": "foo.>"})
        );
    }

    #[test]
    fn connections_table() {
        let conn = |cid: u64, subs: usize, server: &str| Conn {
            info: ConnInfo {
                cid,
                kind: "Client".into(),
                ip: "127.0.0.1".into(),
                port: 5000,
                account: "APP".into(),
                in_msgs: 1000,
                subs: vec!["x".into(); subs],
                num_subs: subs as u64,
                ..Default::default()
            },
            raw: serde_json::Value::Null,
            server: ServerInfo {
                name: server.into(),
                cluster: "c1".into(),
                ..Default::default()
            },
        };
        let mut conns = vec![conn(7, 2, "n1"), conn(9, 1, "n2")];
        let text = render_connections(&mut conns, ConnSort::Subs, false, 1000, false);
        assert!(
            text.contains(" Top 2 Connections out of 2 by subs "),
            "{text}"
        );
        let first = text.lines().find(|l| l.starts_with("│ 9 ")).is_some();
        assert!(first, "{text}");
        assert!(text.contains("│ Totals for 2 connections │"), "{text}");
        assert!(text.contains("│ 2,000   │"), "{text}");
        assert!(text.contains("Connections per server"), "{text}");
    }
}
