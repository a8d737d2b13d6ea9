//! `nats server info [SERVER]`: natscli's report on one server, from its varz.
//!
//! The varz comes through the system account: `$SYS.REQ.SERVER.<ID>.VARZ` when the
//! argument is a server ID (56 upper-case characters), otherwise
//! `$SYS.REQ.SERVER.PING.VARZ` with `{"server_name": NAME, "exact": true}` as the filter
//! (no name: every server answers and the first reply wins, as in natscli). With
//! `--monitor URL` it is the `/varz` of that monitoring port instead. Either way the
//! report is natscli's: Process Details, Connection Details, JetStream (when enabled),
//! Limits, Statistics, then Cluster and Super Cluster when the server has routes or
//! gateways. Times print in local time as `2006-01-02 15:04:05`, sizes as `12 MiB`.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use serde_json::Value;

use super::sys::{self, ApiResponse, SysError};
use crate::opts::GlobalOpts;
use crate::out;

#[derive(Args, Debug)]
pub struct InfoArgs {
    /// Server ID or Name to inspect
    // Not named `server`: that id belongs to the global `-s/--server`.
    #[arg(id = "target", value_name = "SERVER")]
    pub target: Option<String>,
    /// Monitoring URL (e.g. http://127.0.0.1:8222): read its /varz instead
    #[arg(long, env = "NATS_MONITOR_URL", value_name = "URL")]
    pub monitor: Option<String>,
}

/// GETs and parses `/varz`.
pub async fn fetch_varz(url: &str, timeout: Duration) -> anyhow::Result<Value> {
    let body = crate::http::get(url, "/varz", timeout).await?;
    serde_json::from_slice(&body).context("parsing /varz JSON")
}

/// Label/value rows grouped in sections, printed with right-aligned labels like
/// natscli's column renderer.
struct Columns {
    heading: String,
    sections: Vec<(String, Vec<(String, String)>)>,
}

impl Columns {
    fn new(heading: String) -> Self {
        Columns {
            heading,
            sections: Vec::new(),
        }
    }

    fn section(&mut self, title: &str) {
        self.sections.push((title.to_string(), Vec::new()));
    }

    /// Adds a row (empty values too: natscli prints `Git Commit: ` for a distro build).
    fn row(&mut self, label: &str, value: impl ToString) {
        let value = value.to_string();
        if let Some((_, rows)) = self.sections.last_mut() {
            rows.push((label.to_string(), value));
        }
    }

    fn rows(&mut self, label: &str, values: &[String]) {
        for (i, v) in values.iter().enumerate() {
            self.row(if i == 0 { label } else { "" }, v);
        }
    }

    fn render(&self) -> String {
        let width = self
            .sections
            .iter()
            .flat_map(|(_, rows)| rows.iter().map(|(l, _)| l.chars().count()))
            .max()
            .unwrap_or(0)
            + 2;
        let mut s = format!("{}\n", self.heading);
        for (title, rows) in &self.sections {
            s.push_str(&format!("\n{title}:\n\n"));
            for (label, value) in rows {
                let sep = if label.is_empty() { "  " } else { ": " };
                s.push_str(&format!("{label:>width$}{sep}{value}\n"));
                // natscli does not trim; an empty value leaves "Label: ".
            }
        }
        s
    }
}

pub async fn run(global: &GlobalOpts, args: InfoArgs) -> anyhow::Result<ExitCode> {
    let varz = match &args.monitor {
        Some(list) => {
            let url = super::url_list(list)
                .into_iter()
                .next()
                .context("empty --monitor")?;
            fetch_varz(&url, global.timeout).await?
        }
        None => varz_from_system_account(global, args.target.as_deref().unwrap_or("")).await?,
    };
    out::stdout(report(&varz).as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// A server ID as the server makes them: 56 characters, upper case.
fn is_server_id(s: &str) -> bool {
    s.len() == 56 && s.to_uppercase() == s
}

/// The subject and filter body natscli sends for `server info [SERVER]`.
pub fn varz_request(server: &str) -> (String, String) {
    if is_server_id(server) {
        return (format!("$SYS.REQ.SERVER.{server}.VARZ"), "{}".into());
    }
    let body = if server.is_empty() {
        serde_json::json!({"exact": true})
    } else {
        serde_json::json!({"server_name": server, "exact": true})
    };
    ("$SYS.REQ.SERVER.PING.VARZ".into(), body.to_string())
}

async fn varz_from_system_account(global: &GlobalOpts, server: &str) -> anyhow::Result<Value> {
    let client = global.connect().await?;
    let (subject, body) = varz_request(server);
    let replies = match sys::collect(
        &client,
        &subject,
        body.into(),
        sys::Until::Count(1),
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
    let Some(reply) = replies.first() else {
        anyhow::bail!("{}", sys::NO_SYSTEM_ACCOUNT);
    };
    let resp: ApiResponse<Value> = sys::parse(&subject, &reply.data)?;
    if let Some(err) = resp.error {
        anyhow::bail!(
            "invalid response received: {} (code {})",
            err.description,
            err.code
        );
    }
    resp.data
        .with_context(|| format!("no data received in response from {}", resp.server.name))
}

fn heading(name: &str, id: &str) -> String {
    if name == id {
        format!("Server information for {id}")
    } else {
        format!("Server information for {name} ({id})")
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// A Go timestamp as natscli prints `time.Time`: local, `2006-01-02 15:04:05`.
fn local_time(v: &Value) -> String {
    match v.as_str().and_then(sys::parse_time) {
        Some(t) => t
            .with_timezone(&chrono::Local)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string(),
        None => "0001-01-01 00:00:00".into(),
    }
}

fn num(v: &Value) -> i64 {
    v.as_i64()
        .or_else(|| v.as_f64().map(|f| f as i64))
        .unwrap_or(0)
}

fn ibytes(v: &Value) -> String {
    out::ibytes(num(v).max(0) as u64)
}

/// natscli's server report from a varz document (from `$SYS` or `/varz`, same shape).
pub fn report(v: &Value) -> String {
    let s = |k: &str| v[k].as_str().unwrap_or("").to_string();
    let n = |k: &str| num(&v[k]);
    let b = |k: &str| v[k].as_bool().unwrap_or(false);
    let mut c = Columns::new(heading(&s("server_name"), &s("server_id")));
    c.section("Process Details");
    c.row("Version", s("version"));
    c.row("Git Commit", s("git_commit"));
    c.row("Go Version", s("go"));
    c.row("Start Time", local_time(&v["start"]));
    c.row(
        "Configuration Load Time",
        local_time(&v["config_load_time"]),
    );
    if !s("config_digest").is_empty() {
        c.row("Configuration Digest", s("config_digest"));
    }
    c.row("Uptime", s("uptime"));

    c.section("Connection Details");
    c.row("Auth Required", b("auth_required"));
    c.row("TLS Required", b("tls_required"));
    if s("ip").is_empty() {
        c.row("Host", format!("{}:{}", s("host"), n("port")));
    } else {
        c.row("Host", format!("{}:{} ({})", s("host"), n("port"), s("ip")));
    }
    c.rows("Client URLs", &strings(&v["connect_urls"]));
    c.rows("WebSocket URLs", &strings(&v["ws_connect_urls"]));

    let js = &v["jetstream"];
    if !js["config"]["store_dir"].as_str().unwrap_or("").is_empty() {
        let (cfg, stats) = (&js["config"], &js["stats"]);
        c.section("JetStream");
        c.row("Domain", cfg["domain"].as_str().unwrap_or(""));
        c.row("Storage Directory", cfg["store_dir"].as_str().unwrap_or(""));
        c.row("Active Accounts", out::comma(num(&stats["accounts"])));
        c.row("Memory In Use", ibytes(&stats["memory"]));
        c.row("File In Use", ibytes(&stats["storage"]));
        c.row("API Requests", out::comma(num(&stats["api"]["total"])));
        c.row("API Errors", out::comma(num(&stats["api"]["errors"])));
        c.row("Maximum Memory Storage", ibytes(&cfg["max_memory"]));
        c.row("Maximum File Storage", ibytes(&cfg["max_storage"]));
        if let Some(tag) = cfg["unique_tag"].as_str().filter(|t| !t.is_empty()) {
            c.row("Unique Tag", tag);
        }
    }

    c.section("Limits");
    c.row("Maximum Connections", out::comma(n("max_connections")));
    c.row("Maximum Subscriptions", out::comma(n("max_subscriptions")));
    c.row("Maximum Payload", ibytes(&v["max_payload"]));
    let tls_timeout = v["tls_timeout"].as_f64().unwrap_or(0.0).max(0.0);
    c.row(
        "TLS Timeout",
        out::humanize_duration(Duration::from_secs_f64(tls_timeout.trunc())),
    );
    let deadline_ms = (n("write_deadline").max(0) as u64 + 500_000) / 1_000_000;
    c.row(
        "Write Deadline",
        out::humanize_duration(Duration::from_millis(deadline_ms)),
    );

    c.section("Statistics");
    c.row(
        "CPU Cores",
        format!("{} {:.2}%", n("cores"), v["cpu"].as_f64().unwrap_or(0.0)),
    );
    if n("gomaxprocs") > 0 {
        c.row("GOMAXPROCS", n("gomaxprocs"));
    }
    c.row("Memory", ibytes(&v["mem"]));
    if n("gomemlimit") > 0 {
        c.row("GOMEMLIMIT", out::comma(n("gomemlimit")));
    }
    c.row("Connections", out::comma(n("connections")));
    c.row("Subscriptions", out::comma(n("subscriptions")));
    c.row(
        "Messages",
        format!(
            "{} in {} out",
            out::comma(n("in_msgs")),
            out::comma(n("out_msgs"))
        ),
    );
    c.row(
        "Bytes",
        format!(
            "{} in {} out",
            ibytes(&v["in_bytes"]),
            ibytes(&v["out_bytes"])
        ),
    );
    c.row("Slow Consumers", out::comma(n("slow_consumers")));

    let cluster = &v["cluster"];
    let urls = strings(&cluster["urls"]);
    if !urls.is_empty() {
        c.section("Cluster");
        c.row("Name", cluster["name"].as_str().unwrap_or(""));
        let tags = strings(&v["tags"]);
        if !tags.is_empty() {
            c.row("Tags", tags.join(", "));
        }
        c.row(
            "Host",
            format!(
                "{}:{}",
                cluster["addr"].as_str().unwrap_or(""),
                num(&cluster["cluster_port"])
            ),
        );
        c.rows("URLs", &urls);
    }

    let gw = &v["gateway"];
    let mut gateways: Vec<String> = gw["gateways"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|g| g["name"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    if !gateways.is_empty() {
        gateways.sort();
        c.section("Super Cluster");
        c.row("Name", gw["name"].as_str().unwrap_or(""));
        c.row(
            "Host",
            format!("{}:{}", gw["host"].as_str().unwrap_or(""), num(&gw["port"])),
        );
        c.rows("Clusters", &gateways);
    }
    c.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varz_summary() {
        let v: Value = serde_json::json!({
            "server_id": "NABC", "server_name": "n1", "version": "2.9.10", "uptime": "1m",
            "host": "127.0.0.1", "port": 4222, "connections": 3, "routes": 2,
            "in_msgs": 1234, "out_msgs": 5, "cluster": {"name": "c1", "addr": "127.0.0.1",
            "cluster_port": 4248, "urls": ["127.0.0.1:5248"]}
        });
        let text = report(&v);
        assert!(
            text.starts_with("Server information for n1 (NABC)\n"),
            "{text}"
        );
        assert!(text.contains("Version: 2.9.10\n"), "{text}");
        assert!(text.contains("Messages: 1,234 in 5 out\n"), "{text}");
        assert!(text.contains("Name: c1\n"), "{text}");
        assert!(text.contains("Maximum Payload: 0 B\n"), "{text}");
        assert!(text.contains("\nLimits:\n\n"), "{text}");
        assert!(text.contains("URLs: 127.0.0.1:5248\n"), "{text}");
    }

    #[test]
    fn ids_go_direct_names_filter() {
        let id = "NBIX6SHZXUNEFXKRQGT7ND72PPBXZP43S5UQE5MAM7JBSNDP6VBN77IO";
        assert_eq!(
            varz_request(id),
            (format!("$SYS.REQ.SERVER.{id}.VARZ"), "{}".to_string())
        );
        let (subj, body) = varz_request("n1");
        assert_eq!(subj, "$SYS.REQ.SERVER.PING.VARZ");
        let v: Value = serde_json::from_str(&body).expect("json");
        assert_eq!(v, serde_json::json!({"server_name": "n1", "exact": true}));
        assert_eq!(varz_request("").1, r#"{"exact":true}"#);
    }
}
