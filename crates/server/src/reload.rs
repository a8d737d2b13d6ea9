//! Configuration reload (SIGHUP, `--signal reload`): read the config file again, lay the
//! command-line flags over it, refuse changes that need a restart (listen addresses,
//! server name, …) and apply the rest — log levels, limits, authorization, routes — to
//! the running server (subject mappings, exports and imports too: readers pick up a new
//! set before their next batch). One `Reloaded: <option> = <value>` line per change, as
//! nats-server logs them.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use nats_proto::errors;

use crate::auth::{Credentials, Recheck};
use crate::conn::{CloseReason, Conn};
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
    // Certificates are read again on every reload (as nats-server, whose TLS config is
    // always "changed"): connected clients keep their sessions, new handshakes use the
    // new files.
    let tls = crate::tls::TlsState::from_options(&new)?;
    let changes = describe_changes(&old, &new);
    srv.set_opts(new.clone());
    *srv.tls.write() = tls;
    if new.tls.is_some() || old.tls.is_some() {
        let state = if new.tls.is_some() {
            "enabled"
        } else {
            "disabled"
        };
        notice!(srv.log, "Reloaded: tls = {}", state);
    }
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
    if old.accounts != new.accounts {
        apply_accounts(srv, &new);
    }
    if old.accounts != new.accounts || old.exports != new.exports || old.imports != new.imports {
        // As nats-server: new imports take effect, removed ones stop delivering, clients
        // stay connected (readers take their account's new service imports before their
        // next batch).
        crate::imports::wire(srv, &new);
        crate::debug!(srv.log, "Reloaded: exports and imports");
    }
    if (old.mappings != new.mappings || old.account_mappings != new.account_mappings)
        && crate::mapping::install(srv, &new)
    {
        // Client readers pick the new sets up before their next batch.
        srv.mappings_gen.fetch_add(1, Ordering::Release);
        notice!(srv.log, "Reloaded: mappings");
    }
    if auth_changed(&old, &new) {
        // As nats-server: every connected client and accepted route is checked against
        // the new authorization right away, idle or not. A client whose user is now in
        // another account (or gone with its account) is closed first.
        let clients: Vec<_> = srv.clients.lock().values().cloned().collect();
        for c in &clients {
            if moved_to_another_account(c, &new) {
                c.close(CloseReason::ClientClosed);
                continue;
            }
            recheck_client(srv, c, &new);
        }
        recheck_routes(srv, &new);
        // Only now: readers that see the new generation rebuild their own permissions
        // from what is left open.
        srv.auth_gen.fetch_add(1, Ordering::Release);
    }
    Ok(())
}

/// Register the accounts the new configuration adds and drop the ones it removes (their
/// clients are closed by the authorization check that follows, since their users went
/// with them).
fn apply_accounts(srv: &Server, new: &Options) {
    let sys = srv.sys.get().map(|s| s.account.clone());
    for acc in srv.accounts.sync(&new.accounts, sys.as_ref()) {
        notice!(
            srv.log,
            "Reloaded: deleting account [removed]: {:?}",
            &*acc.name
        );
    }
    crate::sys::serve_accounts(srv);
    notice!(srv.log, "Reloaded: accounts");
}

/// nats-server's `clientHasMovedToDifferentAccount`: a client that logged in as a user
/// (or nkey user) who is now in another account, or no longer exists.
fn moved_to_another_account(c: &Conn, opts: &Options) -> bool {
    let (user, nkey, current) = {
        let m = c.meta.lock();
        let Some(acc) = m.account.as_ref() else {
            return false;
        };
        let Some(auth) = m.auth.as_ref() else {
            return false;
        };
        if m.user.is_empty() {
            return false;
        }
        (m.user.clone(), !auth.nkey.is_empty(), acc.name.clone())
    };
    if nkey {
        return match opts.nkeys.iter().find(|u| u.nkey == user) {
            Some(_) => *current != *crate::auth::account_of(opts, &user),
            None => true,
        };
    }
    if !opts.users.iter().any(|u| u.username == user) {
        // Gone with the users list (`UserRemoved` in `recheck_client` closes it the same
        // way); the single-user and token logins are checked by `recheck_client`.
        return !opts.users.is_empty();
    }
    *current != *crate::auth::account_of(opts, &user)
}

fn auth_changed(old: &Options, new: &Options) -> bool {
    old.accounts != new.accounts
        || old.username != new.username
        || old.password != new.password
        || old.authorization != new.authorization
        || old.users != new.users
        || old.nkeys != new.nkeys
        || old.no_auth_user != new.no_auth_user
        || old.default_permissions != new.default_permissions
        || old.cluster.username != new.cluster.username
        || old.cluster.password != new.cluster.password
}

/// Check one client against `opts` (reloaded): close it if its credentials no longer
/// authenticate (or its user was removed), otherwise install its new permissions on the
/// connection and drop the subscriptions they now deny, each with nats-server's
/// `-ERR 'Permissions Violation for Subscription to "<subject>" (sid "<sid>")'`.
/// A client whose CONNECT was not accepted yet is left to its reader. The client's own
/// publish permissions are rebuilt by its reader (see `Server::auth_gen`).
pub(crate) fn recheck_client(srv: &Server, c: &Arc<Conn>, opts: &Options) {
    if c.is_closed() {
        return;
    }
    let (creds, websocket) = {
        let m = c.meta.lock();
        (m.auth.clone(), m.websocket)
    };
    let Some(creds) = creds else {
        return;
    };
    // Websocket clients are checked against the options they logged in with.
    let ws_opts;
    let opts = if websocket {
        ws_opts = crate::websocket::auth::derive(opts);
        &ws_opts
    } else {
        opts
    };
    match crate::auth::recheck(opts, &creds) {
        Recheck::UserRemoved => {
            c.close(CloseReason::ClientClosed);
        }
        Recheck::Failed => {
            if !opts.nkeys.is_empty() {
                // nats-server's `authViolation` names the nkey whenever nkey users exist.
                error!(
                    srv.log,
                    "{} - authentication error - Nkey {}",
                    c.prefix(),
                    errors::go_quote(creds.nkey.as_bytes())
                );
            } else if opts.users.is_empty() {
                error!(srv.log, "{} - authentication error", c.prefix());
            } else {
                error!(
                    srv.log,
                    "{} - authentication error - User {}",
                    c.prefix(),
                    errors::go_quote(creds.user.as_bytes())
                );
            }
            c.send_err(&srv.log, errors::AUTH_VIOLATION);
            c.close(CloseReason::AuthenticationViolation);
        }
        Recheck::Keep(p) => recheck_subs(srv, c, &creds, p),
    }
}

fn recheck_subs(
    srv: &Server,
    c: &Arc<Conn>,
    creds: &Credentials,
    p: Option<&crate::options::Permissions>,
) {
    let perms = p.and_then(crate::permissions::ClientPerms::new);
    // The delivery side (reply tracking, subscribe deny filter) starts afresh; checking
    // the subscriptions below switches the filter back on where one needs it.
    c.perms.reset(perms.as_ref().and_then(|p| p.response()));
    let Some(perms) = perms else {
        return;
    };
    let mut subs: Vec<_> = c.subs.lock().values().cloned().collect();
    subs.sort_by(|a, b| a.sid.cmp(&b.sid));
    let user = if !creds.nkey.is_empty() {
        format!("Nkey {}", errors::go_quote(creds.nkey.as_bytes()))
    } else if creds.user.is_empty() {
        "User \"N/A\"".to_string()
    } else {
        format!("User {}", errors::go_quote(creds.user.as_bytes()))
    };
    for sub in subs {
        // nats-server keeps a queue subscription that is allowed either as a plain one or
        // with its queue name.
        let allowed = perms.can_subscribe(&sub.subject, None, &c.perms)
            || sub
                .queue
                .as_deref()
                .is_some_and(|q| perms.can_subscribe(&sub.subject, Some(q), &c.perms));
        if allowed {
            continue;
        }
        srv.remove_sub(&sub, true);
        let subject = errors::go_quote(&sub.subject);
        let sid = errors::go_quote(&sub.sid);
        c.send_err(
            &srv.log,
            &format!("Permissions Violation for Subscription to {subject} (sid {sid})"),
        );
        notice!(
            srv.log,
            "Removed sub {} (sid {}) for {} - not authorized",
            subject,
            sid,
            user
        );
    }
}

/// Close accepted routes whose CONNECT no longer satisfies the cluster authorization
/// (`-ERR 'Authorization Violation'`, as nats-server). Routes we dialled are left alone:
/// the other side checks the credentials we sent.
fn recheck_routes(srv: &Server, opts: &Options) {
    let routes = srv.routes.read().all();
    for r in routes {
        if r.is_closed() {
            continue;
        }
        let creds = {
            let m = r.meta.lock();
            if m.did_solicit {
                continue;
            }
            m.auth.clone()
        };
        let Some(creds) = creds else {
            // Its CONNECT has not arrived yet; it will be checked against `opts`.
            continue;
        };
        if crate::auth::route_authorized(opts, &creds.user, &creds.pass) {
            continue;
        }
        if opts.users.is_empty() {
            error!(srv.log, "{} - authentication error", r.prefix());
        } else {
            error!(
                srv.log,
                "{} - authentication error - User {}",
                r.prefix(),
                errors::go_quote(creds.user.as_bytes())
            );
        }
        // Not ours to re-dial, even if it survived a duplicate resolution.
        r.meta.lock().retry = false;
        r.send_err(&srv.log, errors::AUTH_VIOLATION);
        r.close(CloseReason::AuthenticationViolation);
    }
}

/// Options nats-server cannot change without a restart.
fn check_fixed(old: &Options, new: &Options) -> Result<(), String> {
    // As nats-server: no websocket option may change (certificate files are read again
    // like any other's; the TLS settings that are not files count).
    let ws = |o: &Options| {
        let mut w = o.websocket.clone();
        if let Some(t) = &mut w.tls {
            t.cert_file.clear();
            t.key_file.clear();
            t.ca_file.clear();
        }
        w
    };
    if ws(old) != ws(new) {
        return Err(format!(
            "config reload not supported for Websocket: old={:?}, new={:?}",
            ws(old),
            ws(new)
        ));
    }
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
    // nats-server refuses any change of `no_auth_user`, except dropping it together with
    // its user.
    if old.no_auth_user != new.no_auth_user {
        let dropped_with_user = !old.no_auth_user.is_empty()
            && new.no_auth_user.is_empty()
            && !new.users.iter().any(|u| u.username == old.no_auth_user);
        if !dropped_with_user {
            return Err(format!(
                "config reload not supported for NoAuthUser: old={}, new={}",
                old.no_auth_user, new.no_auth_user
            ));
        }
    }
    // Operator mode is read once at start: its account JWTs are not re-read (nats-server
    // applies new preloads to connected clients; we refuse rather than keep stale
    // accounts silently).
    if old.operator != new.operator {
        return Err(
            "config reload not supported for operator mode options (operator, trusted, resolver, resolver_preload, resolver_tls)"
                .into(),
        );
    }
    // Accounts may come and go (see `apply_accounts`); the system account stays.
    if old.system_account != new.system_account {
        return Err(format!(
            "config reload not supported for SystemAccount: old={}, new={}",
            old.system_account, new.system_account
        ));
    }
    if old.no_system_account != new.no_system_account {
        return Err(format!(
            "config reload not supported for NoSystemAccount: old={}, new={}",
            old.no_system_account, new.no_system_account
        ));
    }
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
        || old.nkeys != new.nkeys
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
