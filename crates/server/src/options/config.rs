//! Mapping a parsed config file onto [`Options`], key by key as nats-server 2.9.10's
//! `processConfigFileLine` does.
//!
//! Invariants:
//! * Keys match case-insensitively; a key written twice counts once (the last), as in Go's
//!   map. Entries are visited in file order, so problems are reported top to bottom (Go's
//!   order is random).
//! * Every problem is collected; nothing stops at the first error. Errors read
//!   `file:line:col: message` with nats-server's positions and wording.
//! * Unknown keys are errors (`unknown field "x"`) unless they were only used as `$VAR`s.
//!   Keys that nats-server (2.9.10 or later) accepts but this server does not implement go
//!   to [`ConfigReport::unsupported`] and never stop the server, so a configuration
//!   written for a fuller server still runs. The exception is a key whose meaning is a
//!   restriction we do not enforce (auth callout, operator mode, an account's own nkey, TLS):
//!   ignoring it would open access the operator meant to close, so it is an error.
//!   Permissions and allowed connection types are enforced (`config/permissions.rs`).
//! * [`apply_map`] ends with [`set_baseline`], so a `port: 0` in a file means 4222 (as
//!   nats-server's `setBaselineOptions`), while `-1` stays `-1` (random port).

mod accounts;
mod cluster;
mod imports;
mod jetstream;
mod known;
mod mappings;
mod operator;
mod permissions;
mod tls;
mod units;
mod value;
mod websocket;

use super::{
    Options, DEFAULT_AUTH_TIMEOUT, DEFAULT_CONNECT_ERROR_REPORTS, DEFAULT_HOST,
    DEFAULT_LAME_DUCK_DURATION, DEFAULT_LAME_DUCK_GRACE_PERIOD, DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_CONTROL_LINE, DEFAULT_MAX_PAYLOAD, DEFAULT_MAX_PENDING, DEFAULT_PING_INTERVAL,
    DEFAULT_PING_MAX, DEFAULT_PORT, DEFAULT_RECONNECT_ERROR_REPORTS, DEFAULT_WRITE_DEADLINE,
};
use nats_conf::{Entry, Pos, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;
use value::{effective, go_type, Diag};

pub(crate) use cluster::parse_route_url;
pub(crate) use units::{duration_nanos, go_duration_string, split_host_port};
pub(crate) use value::go_quote;

/// Problems found in a config file. nats-server reports all of them, one per line, each as
/// `file:line:col: message`; warnings (keys that newer Go servers added) do not stop it.
#[derive(Debug, Default)]
pub struct ConfigReport {
    /// Fatal problems.
    pub errors: Vec<String>,
    /// nats-server's own warnings (e.g. a duration given as a bare number of seconds).
    /// Not fatal when starting; fatal under `-t`, as in nats-server.
    pub warnings: Vec<String>,
    /// Keys valid for nats-server that this server ignores. Never fatal, not even under
    /// `-t`: a configuration written for a fuller server should still run here.
    pub unsupported: Vec<String>,
}

impl ConfigReport {
    /// nats-server's rendering of a failed configuration: warnings first, then errors,
    /// each on its own line.
    pub fn render(&self) -> String {
        self.warnings
            .iter()
            .chain(&self.errors)
            .map(|l| format!("{l}\n"))
            .collect()
    }
}

/// Read `path` and apply it to `opts`.
pub fn apply_file(opts: &mut Options, path: &Path) -> Result<ConfigReport, String> {
    let map = nats_conf::parse_file(path).map_err(|e| e.to_string())?;
    opts.config_file = Some(path.to_path_buf());
    Ok(apply_map(opts, &map))
}

/// Apply an already parsed config to `opts` (used by tests and by reload).
pub fn apply_map(opts: &mut Options, map: &nats_conf::Map) -> ConfigReport {
    let mut report = ConfigReport::default();
    let mut d = Diag {
        report: &mut report,
    };
    // Unset until a block says otherwise: the baseline then picks Go's default, which
    // depends on TLS (`getDefaultAuthTimeout`).
    opts.auth_timeout = 0.0;
    opts.cluster.auth_timeout = 0.0;
    let mut resolver_given = false;
    for e in effective(map) {
        resolver_given |= matches!(
            e.key.to_ascii_lowercase().as_str(),
            "resolver" | "account_resolver" | "accounts_resolver"
        );
        top_level(opts, e, &mut d);
    }
    operator::finish(opts, resolver_given, &mut d);
    operator::jwt_accounts(opts);
    set_baseline(opts);
    report
}

/// nats-server's `setBaselineOptions`, for what a zero means "default": port 0 is 4222,
/// a zero limit or interval is the default one, a cluster listener without a host binds
/// all interfaces. (`http_host` is left empty, meaning "the client host"; `configure`
/// fills it in at the end, once the flags are known.)
pub fn set_baseline(o: &mut Options) {
    if o.host.is_empty() {
        o.host = DEFAULT_HOST.to_string();
    }
    if o.port == 0 {
        o.port = DEFAULT_PORT;
    }
    if o.max_connections == 0 {
        o.max_connections = DEFAULT_MAX_CONNECTIONS;
    }
    if o.ping_interval.is_zero() {
        o.ping_interval = DEFAULT_PING_INTERVAL;
    }
    if o.ping_max == 0 {
        o.ping_max = DEFAULT_PING_MAX;
    }
    for t in [&mut o.tls, &mut o.cluster.tls].into_iter().flatten() {
        t.timeout = super::clamp_timeout_secs(t.timeout);
        if t.timeout <= 0.0 {
            t.timeout = crate::tls::DEFAULT_TLS_TIMEOUT;
        }
    }
    // With TLS, the default auth timeout leaves room for the handshake (Go's
    // `getDefaultAuthTimeout`: the TLS timeout plus one second).
    o.auth_timeout = super::clamp_timeout_secs(o.auth_timeout);
    if o.auth_timeout == 0.0 {
        o.auth_timeout = o
            .tls
            .as_ref()
            .map_or(DEFAULT_AUTH_TIMEOUT, |t| t.timeout + 1.0);
    }
    if o.cluster.port != 0 && o.cluster.host.is_empty() {
        o.cluster.host = DEFAULT_HOST.to_string();
    }
    o.cluster.auth_timeout = super::clamp_timeout_secs(o.cluster.auth_timeout);
    if o.cluster.auth_timeout == 0.0 {
        o.cluster.auth_timeout = o
            .cluster
            .tls
            .as_ref()
            .map_or(DEFAULT_AUTH_TIMEOUT, |t| t.timeout + 1.0);
    }
    if o.max_control_line == 0 {
        o.max_control_line = DEFAULT_MAX_CONTROL_LINE;
    }
    if o.max_payload == 0 {
        o.max_payload = DEFAULT_MAX_PAYLOAD;
    }
    if o.max_pending == 0 {
        o.max_pending = DEFAULT_MAX_PENDING;
    }
    if o.write_deadline.is_zero() {
        o.write_deadline = DEFAULT_WRITE_DEADLINE;
    }
    if o.lame_duck_duration.is_zero() {
        o.lame_duck_duration = DEFAULT_LAME_DUCK_DURATION;
    }
    if o.lame_duck_grace_period.is_zero() {
        o.lame_duck_grace_period = DEFAULT_LAME_DUCK_GRACE_PERIOD;
    }
    if o.connect_error_reports == 0 {
        o.connect_error_reports = DEFAULT_CONNECT_ERROR_REPORTS;
    }
    if o.reconnect_error_reports == 0 {
        o.reconnect_error_reports = DEFAULT_RECONNECT_ERROR_REPORTS;
    }
    if o.websocket.port != 0 && o.websocket.host.is_empty() {
        o.websocket.host = DEFAULT_HOST.to_string();
    }
}

fn path(s: String) -> Option<PathBuf> {
    (!s.is_empty()).then(|| PathBuf::from(s))
}

fn top_level(o: &mut Options, e: &Entry, d: &mut Diag) {
    let (pos, v) = (&e.key_pos, &e.item.value);
    let key = e.key.to_ascii_lowercase();
    match key.as_str() {
        "listen" => {
            if let Some((h, p)) = listen(d, pos, v) {
                o.host = h;
                o.port = p;
            }
        }
        "client_advertise" => set(&mut o.client_advertise, d.string(pos, v)),
        "port" => set(&mut o.port, d.int32(pos, v)),
        "server_name" => set(&mut o.server_name, d.string(pos, v)),
        "host" | "net" => set(&mut o.host, d.string(pos, v)),
        "debug" => set(&mut o.debug, d.bool(pos, v)),
        "trace" => set(&mut o.trace, d.bool(pos, v)),
        "trace_verbose" => {
            if let Some(b) = d.bool(pos, v) {
                o.trace_verbose = b;
                o.trace = b;
            }
        }
        "logtime" => set(&mut o.logtime, d.bool(pos, v)),
        "disable_sublist_cache" | "no_sublist_cache" => {
            set(&mut o.disable_sublist_cache, d.bool(pos, v))
        }
        "authorization" => cluster::client_authorization(o, e, d),
        "mappings" | "maps" => mappings::parse(o, &e.item.pos, v, d),
        "http" | "https" => {
            if let Some((h, p)) = listen(d, pos, v) {
                o.http_host = h;
                if key == "http" {
                    o.http_port = p;
                } else {
                    o.https_port = p;
                }
            }
        }
        "http_port" | "monitor_port" => set(&mut o.http_port, d.int32(pos, v)),
        "https_port" => set(&mut o.https_port, d.int32(pos, v)),
        "http_base_path" => set(&mut o.http_base_path, d.string(pos, v)),
        "cluster" => cluster::cluster(o, e, d),
        "logfile" | "log_file" => set(&mut o.log_file, d.string(pos, v).map(path)),
        "logfile_size_limit" | "log_size_limit" => set(&mut o.log_size_limit, d.int(pos, v)),
        "syslog" => set(&mut o.syslog, d.bool(pos, v)),
        "remote_syslog" => set(&mut o.remote_syslog, d.string(pos, v)),
        "pidfile" | "pid_file" => set(&mut o.pid_file, d.string(pos, v).map(path)),
        "ports_file_dir" => set(&mut o.ports_file_dir, d.string(pos, v).map(path)),
        "max_control_line" | "max_payload" => {
            if let Some(n) = d.int(pos, v) {
                if n > i64::from(i32::MAX) {
                    d.error(pos, format!("{} value is too big", e.key));
                } else if key == "max_payload" {
                    o.max_payload = n;
                } else {
                    o.max_control_line = n;
                }
            }
        }
        "max_pending" => set(&mut o.max_pending, d.int(pos, v)),
        "max_connections" | "max_conn" => set(&mut o.max_connections, d.int(pos, v)),
        "max_traced_msg_len" => set(&mut o.max_traced_msg_len, d.int(pos, v)),
        "max_subscriptions" | "max_subs" => set(&mut o.max_subs, d.int(pos, v)),
        "ping_interval" => set(&mut o.ping_interval, duration(d, "ping_interval", pos, v)),
        "ping_max" => set(&mut o.ping_max, d.int(pos, v)),
        "write_deadline" => set(&mut o.write_deadline, duration(d, "write_deadline", pos, v)),
        "lame_duck_duration" => {
            let Some(dur) = strict_duration(d, "lame_duck_duration", pos, v) else {
                return;
            };
            if dur < 30 * 1_000_000_000 {
                let shown = go_duration_string(dur);
                d.error(
                    pos,
                    format!("invalid lame_duck_duration of {shown}, minimum is 30 seconds"),
                );
                return;
            }
            set(&mut o.lame_duck_duration, units::to_duration(dur));
        }
        "lame_duck_grace_period" => {
            let Some(dur) = strict_duration(d, "lame_duck_grace_period", pos, v) else {
                return;
            };
            match units::to_duration(dur) {
                Some(g) => o.lame_duck_grace_period = g,
                None => d.error(pos, "invalid lame_duck_grace_period, needs to be positive"),
            }
        }
        "no_auth_user" => set(&mut o.no_auth_user, d.string(pos, v)),
        "system_account" | "system" => set(&mut o.system_account, d.string(pos, v)),
        "no_system_account" | "no_system" | "no_sys_acc" => {
            set(&mut o.no_system_account, d.bool(pos, v))
        }
        "no_header_support" => set(&mut o.no_header_support, d.bool(pos, v)),
        "connect_error_reports" => set(&mut o.connect_error_reports, d.int(pos, v)),
        "reconnect_error_reports" => set(&mut o.reconnect_error_reports, d.int(pos, v)),
        "accounts" => accounts::parse(o, e, d),
        "jetstream" => jetstream::parse(o, e, d),
        "store_dir" | "storedir" => set(&mut o.jetstream.store_dir, d.string(pos, v)),
        "operator" | "operators" | "roots" | "root" | "root_operators" | "root_operator" => {
            operator::operators(o, e, d)
        }
        "trusted" | "trusted_keys" => operator::trusted(o, e, d),
        "resolver" | "account_resolver" | "accounts_resolver" => operator::resolver(o, e, d),
        "resolver_preload" => operator::preload(o, e, d),
        "resolver_tls" => o.operator.resolver_tls = tls::parse_resolver(e, d),
        "tls" => o.tls = tls::parse(e, d, true),
        "websocket" | "ws" => websocket::parse(o, e, d),
        other => match known::top_level(other) {
            Some(known::Support::Ignore(what)) => d.unsupported(e, what),
            Some(known::Support::Refuse(what)) => d.refuse(e, what),
            None => d.unknown(e),
        },
    }
}

/// Stores a value that was read successfully (problems were already reported).
fn set<T>(slot: &mut T, v: Option<T>) {
    if let Some(v) = v {
        *slot = v;
    }
}

/// `listen`/`http`/`https`: a port number or `host:port`.
pub(crate) fn listen(d: &mut Diag, pos: &Pos, v: &Value) -> Option<(String, i32)> {
    match v {
        Value::Int(p) => match i32::try_from(*p) {
            Ok(p) => Some((String::new(), p)),
            Err(_) => {
                d.error(pos, format!("could not parse port \"{p}\""));
                None
            }
        },
        Value::String(s) => {
            let Ok((host, port)) = split_host_port(s) else {
                d.error(
                    pos,
                    format!("could not parse address string {}", value::go_quote(s)),
                );
                return None;
            };
            match units::atoi(&port) {
                Some(p) => Some((host, p)),
                None => {
                    d.error(
                        pos,
                        format!("could not parse port {}", value::go_quote(&port)),
                    );
                    None
                }
            }
        }
        other => {
            d.error(
                pos,
                format!("expected port or host:port, got {}", go_type(other)),
            );
            None
        }
    }
}

/// `ping_interval`, `write_deadline`: a Go duration string, or (deprecated) a number of
/// seconds, which nats-server accepts with a warning.
pub(crate) fn duration(d: &mut Diag, field: &str, pos: &Pos, v: &Value) -> Option<Duration> {
    let nanos = match v {
        Value::String(s) => match units::parse_go_duration(s) {
            Ok(n) => n,
            Err(err) => {
                d.error(pos, format!("error parsing {field}: {err}"));
                return None;
            }
        },
        other => {
            d.warn_field(
                pos,
                field,
                &format!("{field} should be converted to a duration"),
            );
            d.int(pos, other)?.saturating_mul(1_000_000_000)
        }
    };
    match units::to_duration(nanos) {
        Some(dur) => Some(dur),
        None => {
            d.error(
                pos,
                format!("invalid {field}: {} is negative", go_duration_string(nanos)),
            );
            None
        }
    }
}

/// `lame_duck_*`: only duration strings are accepted.
fn strict_duration(d: &mut Diag, field: &str, pos: &Pos, v: &Value) -> Option<i64> {
    let s = d.string(pos, v)?;
    match units::parse_go_duration(&s) {
        Ok(n) => Some(n),
        Err(err) => {
            d.error(pos, format!("error parsing {field}: {err}"));
            None
        }
    }
}

#[cfg(test)]
#[path = "config/tests.rs"]
mod tests;
