//! `nats server info`: a natscli-like summary of one server.
//!
//! With `--monitor URL` the numbers come from `/varz` (identity, version, uptime,
//! connections, routes, message and byte counters, cluster name and URLs). Without it we
//! only have the INFO the server sent on connect, which is identity and limits.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use serde_json::Value;

use super::MonitorArgs;
use crate::opts::GlobalOpts;
use crate::out;

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

    /// Adds a row; empty values (e.g. no git commit in a distro build) are left out.
    fn row(&mut self, label: &str, value: impl ToString) {
        let value = value.to_string();
        if value.is_empty() {
            return;
        }
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
            }
        }
        s
    }
}

pub async fn run(global: &GlobalOpts, args: MonitorArgs) -> anyhow::Result<ExitCode> {
    let text = match &args.monitor {
        Some(list) => {
            let url = super::url_list(list)
                .into_iter()
                .next()
                .context("empty --monitor")?;
            from_varz(&fetch_varz(&url, global.timeout).await?)
        }
        None => from_info(&global.connect().await?.server_info()),
    };
    out::stdout(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

fn heading(name: &str, id: &str) -> String {
    if name == id || name.is_empty() {
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

fn from_varz(v: &Value) -> String {
    let s = |k: &str| v[k].as_str().unwrap_or("").to_string();
    let n = |k: &str| v[k].as_i64().unwrap_or(0);
    let b = |k: &str| v[k].as_bool().unwrap_or(false);
    let mut c = Columns::new(heading(&s("server_name"), &s("server_id")));
    c.section("Process Details");
    c.row("Version", s("version"));
    c.row("Git Commit", s("git_commit"));
    c.row("Go Version", s("go"));
    c.row("Start Time", s("start"));
    c.row("Uptime", s("uptime"));

    c.section("Connection Details");
    c.row("Auth Required", b("auth_required"));
    c.row("TLS Required", b("tls_required"));
    c.row("Host", format!("{}:{}", s("host"), n("port")));
    c.rows("Client URLs", &strings(&v["connect_urls"]));

    c.section("Limits");
    c.row("Maximum Connections", out::comma(n("max_connections")));
    c.row("Maximum Payload", out::human_bytes(n("max_payload") as f64));
    c.row("Maximum Control Line", n("max_control_line"));
    c.row("Maximum Pending", out::human_bytes(n("max_pending") as f64));

    c.section("Statistics");
    c.row(
        "CPU Cores",
        format!("{} {:.2}%", n("cores"), v["cpu"].as_f64().unwrap_or(0.0)),
    );
    c.row("Memory", out::human_bytes(n("mem") as f64));
    c.row("Connections", out::comma(n("connections")));
    c.row("Total Connections", out::comma(n("total_connections")));
    c.row("Routes", n("routes"));
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
            out::human_bytes(n("in_bytes") as f64),
            out::human_bytes(n("out_bytes") as f64)
        ),
    );
    c.row("Slow Consumers", n("slow_consumers"));

    let cluster = &v["cluster"];
    if cluster.is_object()
        && (cluster["name"].is_string() || cluster["port"].as_i64().unwrap_or(0) > 0)
    {
        c.section("Cluster");
        c.row("Name", cluster["name"].as_str().unwrap_or(""));
        c.row(
            "Host",
            format!(
                "{}:{}",
                cluster["addr"].as_str().unwrap_or(""),
                cluster["cluster_port"]
                    .as_i64()
                    .or(cluster["port"].as_i64())
                    .unwrap_or(0)
            ),
        );
        c.rows("URLs", &strings(&cluster["urls"]));
    }
    c.render()
}

fn from_info(info: &async_nats::ServerInfo) -> String {
    let mut c = Columns::new(heading(&info.server_name, &info.server_id));
    c.section("Server Details (from INFO; use --monitor for statistics)");
    c.row("Version", &info.version);
    c.row("Go Version", &info.go);
    c.row("Protocol", info.proto);
    c.row("Host", format!("{}:{}", info.host, info.port));
    c.row("Headers", info.headers);
    c.row("Auth Required", info.auth_required);
    c.row("TLS Required", info.tls_required);
    c.row("Maximum Payload", out::human_bytes(info.max_payload as f64));
    c.row("Client ID", info.client_id);
    c.row("Client IP", &info.client_ip);
    c.rows("Cluster URLs", &info.connect_urls);
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
        let text = from_varz(&v);
        assert!(
            text.starts_with("Server information for n1 (NABC)\n"),
            "{text}"
        );
        assert!(text.contains("Version: 2.9.10\n"), "{text}");
        assert!(text.contains("Messages: 1,234 in 5 out\n"), "{text}");
        assert!(text.contains("Routes: 2\n"), "{text}");
        assert!(text.contains("Name: c1\n"), "{text}");
        assert!(text.contains("URLs: 127.0.0.1:5248\n"), "{text}");
    }
}
