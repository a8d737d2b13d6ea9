//! `nats server ls|ping|info|report` through the system account, against a real 3-node
//! cluster.
//!
//! The servers are processes started from config files with a `SYS` system account
//! (`sys`/`sys`) and an ordinary `APP` account (`app`/`app`), on ephemeral client,
//! monitoring and route ports. Node 1 listens for routes on a free port; nodes 2 and 3
//! route to it and gossip completes the mesh. The cluster is ready when every node's
//! `/routez` shows both peers with their subscriptions received and every server's
//! STATSZ counts all of them as active — observed, never slept for. Only the PIDs started here are killed.
//!
//! Every test runs twice, against the Go nats-server 2.9.10 and against ours ([`servers`]),
//! with the same assertions: our `nats` must work with both, and our server must answer
//! `$SYS` as Go does.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{run, Background};
use testkit::ServerProcess;

/// The servers these tests run against: Go's, and ours (the binary `cargo test
/// --workspace` builds beside this test, in the target directory).
fn servers() -> [PathBuf; 2] {
    let exe = std::env::current_exe().expect("test executable path");
    let ours = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|dir| dir.join("nats-server"))
        .expect("target directory");
    assert!(
        ours.exists(),
        "our nats-server binary is missing at {}: run the suite with `cargo test --workspace`",
        ours.display()
    );
    [testkit::require_go_server(), ours]
}

const ACCOUNTS: &str = r#"
accounts {
  SYS { users: [{user: sys, password: sys}] }
  APP { users: [{user: app, password: app}] }
}
system_account: SYS
"#;

struct Cluster {
    nodes: Vec<ServerProcess>,
    dir: PathBuf,
}

impl Cluster {
    /// `n` servers named `n1`…`nN` in cluster `c1`, fully meshed.
    fn start(bin: &Path, n: usize) -> Cluster {
        let dir = std::env::temp_dir().join(format!(
            "nats-cli-system-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let mut nodes: Vec<ServerProcess> = Vec::new();
        for i in 1..=n {
            let routes = match nodes.first().and_then(|n| n.cluster_port) {
                Some(port) => format!("routes: [nats-route://127.0.0.1:{port}]"),
                None => String::new(),
            };
            let conf = dir.join(format!("n{i}.conf"));
            std::fs::write(
                &conf,
                format!(
                    "server_name: n{i}\n{ACCOUNTS}\ncluster {{\n  name: c1\n  listen: \"127.0.0.1:-1\"\n  {routes}\n}}\n"
                ),
            )
            .expect("write config");
            let conf = conf.display().to_string();
            nodes.push(ServerProcess::start(bin, &["-c", &conf, "-m", "-1"]));
        }
        let cluster = Cluster { nodes, dir };
        cluster.wait_meshed();
        cluster
    }

    /// Every node has a route to every other and has received its subscriptions.
    fn wait_meshed(&self) {
        let peers = self.nodes.len() - 1;
        for node in &self.nodes {
            let ready = testkit::wait_for(Duration::from_secs(15), || {
                let Ok((200, body)) = node.http_get("/routez") else {
                    return false;
                };
                let Ok(v) = serde_json::from_str::<serde_json::Value>(&body) else {
                    return false;
                };
                let routes = v["routes"].as_array().cloned().unwrap_or_default();
                routes.len() == peers
                    && routes
                        .iter()
                        .all(|r| r["subscriptions"].as_u64().unwrap_or(0) > 0)
            });
            assert!(ready, "cluster did not mesh; log:\n{}", node.log());
        }
        // Routes up is not enough: a server counts its peers (`active_servers`, which
        // `server ping` trusts) only once their system events reached it.
        let n = self.nodes.len();
        let addr = format!("127.0.0.1:{}", self.nodes[0].client_port);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let settled = rt.block_on(async {
            let client =
                async_nats::ConnectOptions::with_user_and_password("sys".into(), "sys".into())
                    .connect(addr.as_str())
                    .await
                    .expect("connect as sys");
            let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
            while tokio::time::Instant::now() < deadline {
                if all_count_each_other(&client, n).await {
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            false
        });
        assert!(settled, "servers did not learn about each other");
    }

    fn url(&self, user: &str) -> String {
        format!(
            "nats://{user}:{user}@127.0.0.1:{}",
            self.nodes[0].client_port
        )
    }

    fn monitors(&self) -> String {
        self.nodes
            .iter()
            .map(|n| format!("http://127.0.0.1:{}", n.http_port.expect("monitor port")))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// A node's server ID, from its `/varz`.
    fn id(&self, i: usize) -> String {
        let (_, body) = self.nodes[i].http_get("/varz").expect("varz");
        let v: serde_json::Value = serde_json::from_str(&body).expect("varz json");
        v["server_id"].as_str().expect("server_id").to_string()
    }
}

/// One `$SYS.REQ.SERVER.PING` round: `n` replies, each reporting `n` active servers.
async fn all_count_each_other(client: &async_nats::Client, n: usize) -> bool {
    use futures::StreamExt;
    let inbox = client.new_inbox();
    let Ok(mut sub) = client.subscribe(inbox.clone()).await else {
        return false;
    };
    if client
        .publish_with_reply("$SYS.REQ.SERVER.PING", inbox, "".into())
        .await
        .is_err()
    {
        return false;
    }
    for _ in 0..n {
        let Ok(Some(msg)) = tokio::time::timeout(Duration::from_secs(1), sub.next()).await else {
            return false;
        };
        let v: serde_json::Value = serde_json::from_slice(&msg.payload).unwrap_or_default();
        if v["statsz"]["active_servers"].as_u64() != Some(n as u64) {
            return false;
        }
    }
    true
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.nodes.clear();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Table body lines (between `│`), split into trimmed cells.
fn table_rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter(|l| l.starts_with('│') && l.matches('│').count() > 2)
        .map(|l| {
            l.trim_matches('│')
                .split('│')
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

#[test]
fn ls_lists_every_server_with_totals() {
    for bin in servers() {
        ls_lists_every_server_with_totals_on(&bin);
    }
}

fn ls_lists_every_server_with_totals_on(bin: &Path) {
    let c = Cluster::start(bin, 3);
    let url = c.url("sys");
    let d = run(&["--server", &url, "server", "ls", "--expect", "3"]);
    assert!(d.status.success(), "{}{}", d.stdout, d.stderr);
    assert!(d.stdout.starts_with("╭"), "{}", d.stdout);
    assert!(d.stdout.contains("│ Server Overview │") || d.stdout.contains(" Server Overview "));
    let rows = table_rows(&d.stdout);
    let header = &rows[0];
    assert_eq!(
        header,
        &[
            "Name", "Cluster", "Host", "Version", "JS", "Conns", "Subs", "Routes", "GWs", "Mem",
            "CPU %", "Cores", "Slow", "Uptime", "RTT"
        ]
    );
    let servers: Vec<&Vec<String>> = rows[1..4].iter().collect();
    let mut names: Vec<&str> = servers.iter().map(|r| r[0].as_str()).collect();
    names.sort();
    assert_eq!(names, ["n1", "n2", "n3"], "{}", d.stdout);
    for r in &servers {
        assert_eq!(r[1], "c1", "cluster: {r:?}");
        assert_eq!(r[3], "2.9.10", "version: {r:?}");
        assert_eq!(r[4], "no", "JetStream: {r:?}");
        assert_eq!(r[7], "2", "routes: {r:?}");
        assert_eq!(r[8], "0", "gateways: {r:?}");
    }
    // Only our own connection exists, on n1.
    let conns: i64 = servers
        .iter()
        .map(|r| r[5].parse::<i64>().unwrap_or(-1))
        .sum();
    assert_eq!(conns, 1, "{}", d.stdout);
    // Footer: 1 cluster, 3 servers, versions and routes agree (no X), 1 connection.
    let footer = &rows[4];
    let cell = |i: usize| footer[i].as_str();
    assert_eq!(
        [
            cell(0),
            cell(1),
            cell(2),
            cell(3),
            cell(4),
            cell(5),
            cell(7),
            cell(8),
            cell(12)
        ],
        ["", "1", "3", "", "0", "1", "", "", "0"],
        "{}",
        d.stdout
    );
    let subs: u64 = servers
        .iter()
        .map(|r| r[6].replace(',', "").parse::<u64>().unwrap_or(0))
        .sum();
    assert_eq!(footer[6].replace(',', "").parse::<u64>().ok(), Some(subs));
    // The cluster table follows.
    assert!(d.stdout.contains("Cluster Overview"), "{}", d.stdout);
    let cluster_row = rows
        .iter()
        .find(|r| r.len() == 5 && r[0] == "c1")
        .unwrap_or_else(|| panic!("no c1 row:\n{}", d.stdout));
    assert_eq!(cluster_row[1], "3");
}

#[test]
fn ls_sorts_collects_without_expect_and_prints_json() {
    for bin in servers() {
        ls_sorts_collects_without_expect_and_prints_json_on(&bin);
    }
}

fn ls_sorts_collects_without_expect_and_prints_json_on(bin: &Path) {
    let c = Cluster::start(bin, 3);
    let url = c.url("sys");
    // natscli's positional count and --sort name (ascending by default, -R reverses).
    let d = run(&["-s", &url, "server", "list", "3", "--sort", "name"]);
    assert!(d.status.success(), "{}", d.stderr);
    let names: Vec<String> = table_rows(&d.stdout)[1..4]
        .iter()
        .map(|r| r[0].clone())
        .collect();
    assert_eq!(names, ["n1", "n2", "n3"]);
    let d = run(&["-s", &url, "server", "ls", "3", "--sort", "name", "-R"]);
    let names: Vec<String> = table_rows(&d.stdout)[1..4]
        .iter()
        .map(|r| r[0].clone())
        .collect();
    assert_eq!(names, ["n3", "n2", "n1"]);

    // No count: collect until the replies stop coming.
    let d = run(&["-s", &url, "server", "ls"]);
    assert!(d.status.success(), "{}", d.stderr);
    for n in ["n1", "n2", "n3"] {
        assert!(
            d.stdout.contains(&format!("│ {n} ")),
            "{n} missing:\n{}",
            d.stdout
        );
    }

    let d = run(&["-s", &url, "server", "ls", "--expect", "3", "--json"]);
    assert!(d.status.success(), "{}", d.stderr);
    let v: serde_json::Value = serde_json::from_str(&d.stdout).expect("json");
    let arr = v.as_array().expect("array");
    assert_eq!(arr.len(), 3);
    assert!(arr
        .iter()
        .all(|m| m["statsz"]["routes"].as_array().map(Vec::len) == Some(2)));
}

#[test]
fn ping_prints_one_line_per_server() {
    for bin in servers() {
        ping_prints_one_line_per_server_on(&bin);
    }
}

fn ping_prints_one_line_per_server_on(bin: &Path) {
    let c = Cluster::start(bin, 3);
    let url = c.url("sys");
    // The count comes from the first reply's active_servers.
    let d = run(&["-s", &url, "server", "ping"]);
    assert!(d.status.success(), "{}{}", d.stdout, d.stderr);
    let lines: Vec<&str> = d.stdout.lines().filter(|l| l.contains(" rtt=")).collect();
    assert_eq!(lines.len(), 3, "{}", d.stdout);
    let mut names: Vec<&str> = lines
        .iter()
        .map(|l| l.split_whitespace().next().unwrap_or(""))
        .collect();
    names.sort();
    assert_eq!(names, ["n1", "n2", "n3"]);
    assert!(
        lines.iter().all(|l| l.find(" rtt=") == Some(60)),
        "{}",
        d.stdout
    );
    assert!(
        d.stdout
            .contains("\n---- ping statistics ----\n3 replies max: "),
        "{}",
        d.stdout
    );
    assert!(!d.stdout.contains("Missing"), "{}", d.stdout);

    let d = run(&["-s", &url, "server", "ping", "4", "--id", "--timeout", "1s"]);
    assert!(d.status.success(), "{}", d.stderr);
    let id = c.id(1);
    assert!(d.stdout.contains(&format!("{id} n2 ")), "{}", d.stdout);
    assert!(
        d.stdout.ends_with("\nMissing 1 server(s)\n"),
        "{}",
        d.stdout
    );
}

#[test]
fn info_by_name_and_by_id() {
    for bin in servers() {
        info_by_name_and_by_id_on(&bin);
    }
}

fn info_by_name_and_by_id_on(bin: &Path) {
    let c = Cluster::start(bin, 3);
    let url = c.url("sys");
    let id = c.id(1);
    for target in ["n2", id.as_str()] {
        let d = run(&["-s", &url, "server", "info", target]);
        assert!(d.status.success(), "{target}: {}", d.stderr);
        let text = &d.stdout;
        assert!(
            text.starts_with(&format!(
                "Server information for n2 ({id})\n\nProcess Details:\n\n"
            )),
            "{text}"
        );
        for needle in [
            "\n                  Version: 2.9.10\n",
            "\nConnection Details:\n\n",
            "            Auth Required: true\n",
            "\nLimits:\n\n",
            "      Maximum Connections: 65,536\n",
            "          Maximum Payload: 1.0 MiB\n",
            "\nStatistics:\n\n",
            "\nCluster:\n\n",
            "                     Name: c1\n",
        ] {
            assert!(
                text.contains(needle),
                "{target}: missing {needle:?}:\n{text}"
            );
        }
        let port = c.nodes[1].client_port;
        assert!(
            text.contains(&format!("Host: 127.0.0.1:{port}\n")),
            "{text}"
        );
    }
    let d = run(&["-s", &url, "server", "info", "nosuch", "--timeout", "1s"]);
    assert_eq!(d.status.code(), Some(1));
    assert!(d.stderr.contains("no results received"), "{}", d.stderr);
}

#[test]
fn ordinary_account_gets_natscli_errors_and_a_hint() {
    for bin in servers() {
        ordinary_account_gets_natscli_errors_and_a_hint_on(&bin);
    }
}

fn ordinary_account_gets_natscli_errors_and_a_hint_on(bin: &Path) {
    let c = Cluster::start(bin, 1);
    let url = c.url("app");
    for (args, text) in [
        (vec!["server", "ls"], "no results received, ensure the account used has system privileges and appropriate permissions"),
        (vec!["server", "info"], "no results received, ensure the account used has system privileges and appropriate permissions"),
        (vec!["server", "ping"], "503 status from $SYS.REQ.SERVER.PING, ensure a system account is used with appropriate permissions"),
    ] {
        let mut all = vec!["-s", url.as_str()];
        all.extend(args.iter().copied());
        let d = run(&all);
        assert_eq!(d.status.code(), Some(1), "{args:?}: {}", d.stdout);
        assert!(d.stderr.starts_with(&format!("nats: error: {text}")), "{args:?}: {}", d.stderr);
        assert!(d.stderr.contains("--monitor"), "{args:?}: {}", d.stderr);
    }
}

#[test]
fn monitor_urls_still_work_without_the_system_account() {
    for bin in servers() {
        monitor_urls_still_work_without_the_system_account_on(&bin);
    }
}

fn monitor_urls_still_work_without_the_system_account_on(bin: &Path) {
    let c = Cluster::start(bin, 3);
    let url = c.url("app");
    let monitors = c.monitors();
    let d = run(&["-s", &url, "server", "ls", "--monitor", &monitors]);
    assert!(d.status.success(), "{}", d.stderr);
    let rows = table_rows(&d.stdout);
    let mut names: Vec<&str> = rows[1..4].iter().map(|r| r[0].as_str()).collect();
    names.sort();
    assert_eq!(names, ["n1", "n2", "n3"], "{}", d.stdout);
    let d = run(&["-s", &url, "server", "ping", "--monitor", &monitors]);
    assert!(d.status.success(), "{}", d.stderr);
    assert!(d.stdout.contains("3 replies max: "), "{}", d.stdout);
    let first = monitors.split(',').next().unwrap_or_default();
    let d = run(&["-s", &url, "server", "info", "--monitor", first]);
    assert!(d.status.success(), "{}", d.stderr);
    assert!(
        d.stdout.starts_with("Server information for n1 ("),
        "{}",
        d.stdout
    );
}

#[test]
fn report_connections_and_accounts() {
    for bin in servers() {
        report_connections_and_accounts_on(&bin);
    }
}

fn report_connections_and_accounts_on(bin: &Path) {
    let c = Cluster::start(bin, 3);
    let sys_url = c.url("sys");
    // One APP client on n2, holding one subscription.
    let app_url = format!("nats://app:app@127.0.0.1:{}", c.nodes[1].client_port);
    let sub = Background::spawn(&["-s", &app_url, "sub", "report.test"]);
    sub.wait_log("Subscribing on report.test");

    let d = run(&["-s", &sys_url, "server", "report", "connections", "3"]);
    assert!(d.status.success(), "{}{}", d.stdout, d.stderr);
    assert!(
        d.stdout.contains(" Top 2 Connections out of 2 by subs "),
        "{}",
        d.stdout
    );
    let rows = table_rows(&d.stdout);
    let app = rows
        .iter()
        .find(|r| r.len() == 12 && r[5] == "APP")
        .unwrap_or_else(|| panic!("no APP row:\n{}", d.stdout));
    assert_eq!(
        (app[2].as_str(), app[3].as_str(), app[11].as_str()),
        ("n2", "c1", "1")
    );
    let sys = rows
        .iter()
        .find(|r| r.len() == 12 && r[5] == "SYS")
        .unwrap_or_else(|| panic!("no SYS row:\n{}", d.stdout));
    assert_eq!(sys[2], "n1");
    assert!(
        rows.iter()
            .any(|r| r.get(1).map(String::as_str) == Some("Totals for 2 connections")),
        "{}",
        d.stdout
    );
    let per_server: Vec<&Vec<String>> = rows.iter().filter(|r| r.len() == 3).collect();
    assert_eq!(per_server.len(), 3, "{}", d.stdout); // header, n1, n2
    assert!(
        per_server.iter().any(|r| r[0] == "n2" && r[2] == "1"),
        "{}",
        d.stdout
    );

    // Without a LIMIT the server count comes from active_servers.
    let d = run(&["-s", &sys_url, "server", "report", "accounts"]);
    assert!(d.status.success(), "{}{}", d.stdout, d.stderr);
    assert!(d.stdout.contains(" 2 Accounts Overview "), "{}", d.stdout);
    let rows = table_rows(&d.stdout);
    for account in ["APP", "SYS"] {
        let row = rows
            .iter()
            .find(|r| r[0] == account)
            .unwrap_or_else(|| panic!("no {account} row:\n{}", d.stdout));
        assert_eq!(row[1], "1", "{account} connections:\n{}", d.stdout);
    }

    let d = run(&["-s", &sys_url, "server", "report", "accounts", "APP"]);
    assert!(d.status.success(), "{}", d.stderr);
    assert!(
        d.stdout.contains(" Top 1 Connections out of 1 by subs "),
        "{}",
        d.stdout
    );

    let d = run(&["-s", &app_url, "server", "report", "connections"]);
    assert_eq!(d.status.code(), Some(1));
    assert!(
        d.stderr.starts_with(
            "nats: error: server request failed, ensure the account used has system privileges"
        ),
        "{}",
        d.stderr
    );
    drop(sub);
}
