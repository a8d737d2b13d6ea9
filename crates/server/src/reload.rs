//! Configuration reload (SIGHUP, `--signal reload`): read the config file again, lay the
//! command-line flags over it, refuse changes that need a restart (listen addresses,
//! server name, …) and apply the rest — log levels, limits, authorization, routes — to
//! the running server. One `Reloaded: <option> = <value>` line per change, as
//! nats-server logs them.

use std::sync::Arc;

use crate::conn::CloseReason;
use crate::options::flags::{configure_quiet, Command};
use crate::options::Options;
use crate::route::route_still_valid;
use crate::server::Server;
use crate::{error, notice, warn};

/// Reload from `args` (the original command line). Logs the outcome either way.
pub fn reload(srv: &Arc<Server>, args: &[String]) {
    match try_reload(srv, args) {
        Ok(()) => notice!(srv.log, "Reloaded server configuration"),
        Err(e) => error!(srv.log, "Failed to reload server configuration: {}", e),
    }
}

fn try_reload(srv: &Arc<Server>, args: &[String]) -> Result<(), String> {
    let old = srv.opts();
    if old.config_file.is_none() {
        return Err("can only reload config when a file is provided using -c or --config".into());
    }
    let (cmd, warnings) = configure_quiet(args).map_err(|e| e.to_string())?;
    for w in warnings {
        warn!(srv.log, "{}", w);
    }
    let Command::Run(new) = cmd else {
        return Err("unexpected command line".into());
    };
    let new = *new;
    check_fixed(&old, &new)?;
    let changes = describe_changes(&old, &new);
    srv.set_opts(new.clone());
    *srv.config_load_time.write() = std::time::SystemTime::now();
    srv.log.set_levels(new.logtime, new.debug, new.trace);
    apply_routes(srv, &old, &new);
    if old.max_connections != new.max_connections && new.max_connections > 0 {
        // Over the new limit: the newest clients go, as in nats-server.
        let mut clients: Vec<_> = srv.clients.lock().values().cloned().collect();
        clients.sort_by_key(|c| c.cid);
        let excess = clients.len().saturating_sub(new.max_connections as usize);
        for c in clients.iter().rev().take(excess) {
            c.close(CloseReason::MaxConnectionsExceeded);
        }
    }
    for (name, value) in changes {
        notice!(srv.log, "Reloaded: {} = {}", name, value);
    }
    Ok(())
}

/// Options nats-server cannot change without a restart.
fn check_fixed(old: &Options, new: &Options) -> Result<(), String> {
    let fixed: [(&str, String, String); 8] = [
        ("host", old.host.clone(), new.host.clone()),
        ("port", old.port.to_string(), new.port.to_string()),
        (
            "server_name",
            old.server_name.clone(),
            new.server_name.clone(),
        ),
        (
            "http_port",
            old.http_port.to_string(),
            new.http_port.to_string(),
        ),
        ("http_host", old.http_host.clone(), new.http_host.clone()),
        (
            "max_pending",
            old.max_pending.to_string(),
            new.max_pending.to_string(),
        ),
        (
            "cluster host",
            old.cluster.host.clone(),
            new.cluster.host.clone(),
        ),
        (
            "cluster port",
            old.cluster.port.to_string(),
            new.cluster.port.to_string(),
        ),
    ];
    for (name, o, n) in fixed {
        if o != n {
            return Err(format!(
                "config reload not supported for {name}: old={o}, new={n}"
            ));
        }
    }
    Ok(())
}

fn describe_changes(old: &Options, new: &Options) -> Vec<(&'static str, String)> {
    let mut v = Vec::new();
    macro_rules! cmp {
        ($field:ident) => {
            if old.$field != new.$field {
                v.push((stringify!($field), format!("{:?}", new.$field)));
            }
        };
    }
    cmp!(debug);
    cmp!(trace);
    cmp!(logtime);
    cmp!(max_payload);
    cmp!(max_control_line);
    cmp!(max_connections);
    cmp!(ping_interval);
    cmp!(ping_max);
    cmp!(write_deadline);
    cmp!(client_advertise);
    cmp!(max_traced_msg_len);
    if old.username != new.username
        || old.password != new.password
        || old.authorization != new.authorization
        || old.users != new.users
    {
        v.push(("authorization", "<redacted>".into()));
    }
    if old.cluster.routes != new.cluster.routes {
        let routes: Vec<String> = new
            .cluster
            .routes
            .iter()
            .map(crate::route::redacted)
            .collect();
        v.push(("cluster routes", format!("{routes:?}")));
    }
    if old.cluster.no_advertise != new.cluster.no_advertise {
        v.push(("cluster no_advertise", new.cluster.no_advertise.to_string()));
    }
    v
}

/// Dial routes added to the config; close (and stop retrying) the ones removed.
fn apply_routes(srv: &Arc<Server>, old: &Options, new: &Options) {
    for url in &new.cluster.routes {
        if !old.cluster.routes.contains(url) {
            notice!(srv.log, "Added route {}", crate::route::redacted(url));
            crate::route::spawn_connect(srv, url.clone(), true, true, std::time::Duration::ZERO);
        }
    }
    for url in &old.cluster.routes {
        if new.cluster.routes.contains(url) {
            continue;
        }
        notice!(srv.log, "Removed route {}", crate::route::redacted(url));
        let routes = srv.routes.read().all();
        for r in routes {
            let m = r.meta.lock().clone();
            let configured_here = m.is_configured
                && m.route_url
                    .as_ref()
                    .is_some_and(|u| !route_still_valid(srv, u));
            if configured_here {
                r.close(CloseReason::RouteRemoved);
            }
        }
    }
}
