//! Go `flag`-compatible command line parsing for `nats-server`, and [`configure`], which
//! turns a command line into what `main` should do, as nats-server's `ConfigureOptions`.
//!
//! Order of work, as in nats-server: parse the flags; `-v`/`-h`/`--help_tls` and the
//! positional `version`/`help` answer at once; `-sl` becomes a [`Command::Signal`]; the
//! config file (`-c`) is applied to the defaults; `-t` stops there; then the flags given on
//! the command line are applied over the file (so they win, like Go's second `Parse`),
//! the baseline defaults are filled in and the result is validated.
//!
//! Flags we accept but do not implement: `-js/--jetstream`, `-sd/--store_dir` and
//! `--profile` print a warning and are ignored; the `--tls*` flags configure client TLS
//! as Go's `overrideTLS` does.
//! Warnings (ours and the config file's) are printed on stderr here, as nats-server does.

mod parser;
mod usage;

use super::config::{self, duration_nanos, go_duration_string, go_quote, split_host_port};
use super::{Options, NATS_VERSION, RS_VERSION};
use parser::{Id, Parsed, Val};
use std::path::PathBuf;

/// What `main` should do.
#[derive(Debug)]
pub enum Command {
    /// Run a server with these options (config file already applied, flags on top).
    Run(Box<Options>),
    /// `-t`: the config file is valid. `main` prints `message` on stderr and exits 0.
    CheckConfig { message: String },
    /// `-v`, `version`: print `message` on stdout and exit 0.
    Version { message: String },
    /// `-h`, `help`, or a flag error that Go answers with the usage text: print `text` on
    /// stderr (after `error`, if any) and exit with `code`. (nats-server itself prints the
    /// error on stderr and the usage on stdout, and exits 0 in both cases.)
    Usage {
        error: Option<String>,
        text: String,
        code: i32,
    },
    /// `-sl/--signal cmd[=pid|pidfile]`.
    Signal {
        command: String,
        target: Option<String>,
    },
}

/// A fatal configuration error: `main` prints `nats-server: <error>` and exits 1.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigureError(pub String);

/// Parse `args` (without the program name), load the config file if one is named, apply
/// the flags over it, and validate the result as nats-server does.
pub fn configure(args: &[String]) -> Result<Command, ConfigureError> {
    let (cmd, warnings) = configure_quiet(args)?;
    for w in warnings {
        eprintln!("{w}");
    }
    Ok(cmd)
}

/// [`configure`] without printing: the warnings are returned, one line each.
pub(crate) fn configure_quiet(args: &[String]) -> Result<(Command, Vec<String>), ConfigureError> {
    let fail = |m: String| Err(ConfigureError(m));
    let p = match parser::parse(args) {
        Ok(p) => p,
        Err(e) => {
            return Ok((
                Command::Usage {
                    error: Some(e),
                    text: usage::usage(),
                    code: 0,
                },
                vec![],
            ))
        }
    };
    if p.bool(Id::Version) {
        return Ok((version(), vec![]));
    }
    if p.bool(Id::Help) {
        return Ok((
            Command::Usage {
                error: None,
                text: usage::usage(),
                code: 0,
            },
            vec![],
        ));
    }
    if p.bool(Id::HelpTls) {
        return Ok((
            Command::Usage {
                error: None,
                text: usage::tls_help(),
                code: 0,
            },
            vec![],
        ));
    }
    if let Some(arg) = p.args.first() {
        return match arg.to_ascii_lowercase().as_str() {
            "version" => Ok((version(), vec![])),
            "help" => Ok((
                Command::Usage {
                    error: None,
                    text: usage::usage(),
                    code: 0,
                },
                vec![],
            )),
            _ => fail(format!("unrecognized command: {}", go_quote(arg))),
        };
    }
    if let Some(sig) = p.str(Id::Signal).filter(|s| !s.is_empty()) {
        let parts: Vec<&str> = sig.split('=').collect();
        if parts.len() > 2 {
            return fail(format!(
                "invalid signal parameters: [{}]",
                parts[2..].join(" ")
            ));
        }
        let target = parts.get(1).map(|t| t.to_string());
        return Ok((
            Command::Signal {
                command: parts[0].to_string(),
                target,
            },
            vec![],
        ));
    }

    let mut warnings = Vec::new();
    let mut opts = Options::default();
    let check = p.bool(Id::Check);
    match p.str(Id::Config).filter(|c| !c.is_empty()) {
        Some(file) => {
            let report =
                config::apply_file(&mut opts, &PathBuf::from(file)).map_err(ConfigureError)?;
            warnings.extend(report.unsupported.iter().cloned());
            if !report.errors.is_empty() || (check && !report.warnings.is_empty()) {
                return fail(report.render());
            }
            if check {
                let message = format!("nats-server: configuration file {file} is valid");
                return Ok((Command::CheckConfig { message }, warnings));
            }
            warnings.extend(report.warnings.iter().cloned());
        }
        None if check => {
            return fail(
                "must specify [-c, --config] option to check configuration file syntax".into(),
            )
        }
        None => {}
    }

    apply_flags(&mut opts, &p, &mut warnings)?;
    config::set_baseline(&mut opts);
    if opts.http_host.is_empty() {
        opts.http_host = opts.host.clone();
    }
    validate(&opts).map_err(ConfigureError)?;
    Ok((Command::Run(Box::new(opts)), warnings))
}

fn version() -> Command {
    Command::Version {
        message: format!("nats-server: v{NATS_VERSION} (nats-server.rs {RS_VERSION})"),
    }
}

fn opt_path(s: &str) -> Option<PathBuf> {
    (!s.is_empty()).then(|| PathBuf::from(s))
}

/// Lays the flags given on the command line over `o`, with nats-server's special cases.
fn apply_flags(
    o: &mut Options,
    p: &Parsed,
    warnings: &mut Vec<String>,
) -> Result<(), ConfigureError> {
    for g in &p.given {
        match (&g.val, g.id) {
            (Val::Int(n), id) => {
                let small = || {
                    i32::try_from(*n).map_err(|_| {
                        ConfigureError(format!(
                            "invalid value \"{n}\" for flag -{}: value out of range",
                            g.name
                        ))
                    })
                };
                match id {
                    Id::Port => o.port = small()?,
                    Id::HttpPort => o.http_port = small()?,
                    Id::HttpsPort => o.https_port = small()?,
                    Id::LogSizeLimit => o.log_size_limit = *n,
                    Id::ConnectRetries => o.cluster.connect_retries = *n,
                    Id::MaxTracedMsgLen => o.max_traced_msg_len = *n,
                    Id::Profile => {
                        warnings.push(unsupported(g.name, "profiling is not implemented"))
                    }
                    _ => {}
                }
            }
            (Val::Bool(b), id) => match id {
                Id::Debug => o.debug = *b,
                Id::Trace => o.trace = *b,
                Id::Logtime => o.logtime = *b,
                Id::Syslog => o.syslog = *b,
                Id::NoAdvertise => o.cluster.no_advertise = *b,
                Id::JetStream => o.jetstream.enabled = *b,
                _ => {}
            },
            (Val::Str(s), id) => match id {
                Id::ServerName => o.server_name = s.clone(),
                Id::Host => o.host = s.clone(),
                Id::ClientAdvertise => o.client_advertise = s.clone(),
                Id::User => o.username = s.clone(),
                Id::Pass => o.password = s.clone(),
                Id::Auth => o.authorization = s.clone(),
                Id::Pid => o.pid_file = opt_path(s),
                Id::PortsFileDir => o.ports_file_dir = opt_path(s),
                Id::Log => o.log_file = opt_path(s),
                Id::RemoteSyslog => o.remote_syslog = s.clone(),
                Id::ClusterAdvertise => o.cluster.advertise = s.clone(),
                Id::ClusterName => o.cluster.name = s.clone(),
                Id::StoreDir => o.jetstream.store_dir = s.clone(),
                _ => {}
            },
        }
    }
    // The combined logging flags are applied after the others, in the order Go visits
    // them (by name: DV, DVV, VV), so `-DV=false` can undo `-D`.
    if let Some(Val::Bool(b)) = p.last(Id::DebugTrace) {
        (o.trace, o.debug) = (*b, *b);
    }
    if let Some(Val::Bool(b)) = p.last(Id::DebugTraceVerbose) {
        (o.trace, o.debug, o.trace_verbose) = (*b, *b, *b);
    }
    if let Some(Val::Bool(b)) = p.last(Id::TraceVerbose) {
        (o.trace, o.trace_verbose) = (*b, *b);
    }
    if let Some(url) = p.str(Id::Cluster) {
        override_cluster(o, url)?;
    }
    let routes = p.str(Id::Routes).unwrap_or_default();
    if p.given(Id::Routes) {
        o.cluster.routes = routes_from_str(routes)?;
    }
    // Go visits the flags by name, so `-tls=false` (the first of them) turns TLS off and
    // makes the other `-tls*` flags moot; any other `-tls*` flag replaces the config
    // file's `tls {}` with one built from the flags (`overrideTLS`).
    let tls_flags = [
        Id::Tls,
        Id::TlsVerify,
        Id::TlsCert,
        Id::TlsKey,
        Id::TlsCaCert,
    ];
    if matches!(p.last(Id::Tls), Some(Val::Bool(false))) {
        o.tls = None;
    } else if tls_flags.iter().any(|id| p.given(*id)) {
        let cert = p.str(Id::TlsCert).unwrap_or_default();
        let key = p.str(Id::TlsKey).unwrap_or_default();
        if cert.is_empty() {
            return Err(ConfigureError(
                "TLS Server certificate must be present and valid".into(),
            ));
        }
        if key.is_empty() {
            return Err(ConfigureError(
                "TLS Server private key must be present and valid".into(),
            ));
        }
        let t = crate::options::TlsOpts {
            cert_file: cert.to_string(),
            key_file: key.to_string(),
            ca_file: p.str(Id::TlsCaCert).unwrap_or_default().to_string(),
            verify: p.bool(Id::TlsVerify),
            timeout: o.tls.as_ref().map_or(0.0, |t| t.timeout),
            ..Default::default()
        };
        crate::tls::build(&t, false).map_err(ConfigureError)?;
        o.tls = Some(t);
    }
    let cluster_flag = p.str(Id::Cluster).unwrap_or_default();
    if !routes.is_empty()
        && cluster_flag.is_empty()
        && o.cluster.host.is_empty()
        && o.cluster.port == 0
    {
        return Err(ConfigureError(
            "solicited routes require cluster capabilities, e.g. --cluster".into(),
        ));
    }
    Ok(())
}

fn unsupported(flag: &str, why: &str) -> String {
    format!("nats-server: flag -{flag} is accepted for compatibility but ignored ({why})")
}

/// `--cluster nats://[user:pass@]host:port`: sets the cluster listener and its credentials
/// (clearing the config file's credentials when the URL has none, as nats-server does);
/// an empty value turns clustering off. Port `-1` means a random port.
fn override_cluster(o: &mut Options, listen: &str) -> Result<(), ConfigureError> {
    if listen.is_empty() {
        o.cluster.port = 0;
        return Ok(());
    }
    // `:-1` is not a valid URL port; parse with 0 and put -1 back.
    let random = listen.ends_with(":-1");
    let text = if random {
        format!("{}:0", &listen[..listen.len() - 3])
    } else {
        listen.to_string()
    };
    let u = url::Url::parse(&text)
        .map_err(|e| ConfigureError(format!("parse {}: {e}", go_quote(&text))))?;
    let host = u.host_str().unwrap_or("");
    let hostport = match u.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    };
    let (h, port) = split_host_port(&hostport).map_err(ConfigureError)?;
    o.cluster.host = h.trim_start_matches('[').trim_end_matches(']').to_string();
    o.cluster.port = if random {
        -1
    } else {
        port.parse()
            .map_err(|_| ConfigureError(format!("expected integer, got {}", go_quote(&port))))?
    };
    if !u.username().is_empty() || u.password().is_some() {
        let Some(pass) = u.password() else {
            return Err(ConfigureError("expected cluster password to be set".into()));
        };
        o.cluster.password = percent_decode(pass);
        o.cluster.username = percent_decode(u.username());
    } else {
        o.cluster.username.clear();
        o.cluster.password.clear();
    }
    Ok(())
}

/// `--routes url1,url2`.
fn routes_from_str(s: &str) -> Result<Vec<url::Url>, ConfigureError> {
    if s.is_empty() {
        return Ok(Vec::new());
    }
    s.split(',')
        .map(|r| config::parse_route_url(r).map_err(ConfigureError))
        .collect()
}

fn percent_decode(s: &str) -> String {
    crate::redact::url_decode(s)
}

/// nats-server's `validateOptions` checks that concern the options we implement.
fn validate(o: &Options) -> Result<(), String> {
    if !o.lame_duck_duration.is_zero() && o.lame_duck_grace_period >= o.lame_duck_duration {
        return Err(format!(
            "lame duck grace period ({}) should be strictly lower than lame duck duration ({})",
            go_duration_string(duration_nanos(o.lame_duck_grace_period)),
            go_duration_string(duration_nanos(o.lame_duck_duration))
        ));
    }
    if o.max_payload > o.max_pending {
        return Err(format!(
            "max_payload ({}) cannot be higher than max_pending ({})",
            o.max_payload, o.max_pending
        ));
    }
    if !o.no_auth_user.is_empty() {
        if o.users.is_empty() {
            return Err(format!(
                "no_auth_user: \"{}\" present, but users are not defined",
                o.no_auth_user
            ));
        }
        if !o.users.iter().any(|u| u.username == o.no_auth_user) {
            return Err(format!(
                "no_auth_user: \"{}\" not present as user in authorization block or account configuration",
                o.no_auth_user
            ));
        }
    }
    validate_websocket(o)
}

/// nats-server's `validateWebsocketOptions` (run last, as there).
fn validate_websocket(o: &Options) -> Result<(), String> {
    let wo = &o.websocket;
    if wo.port == 0 {
        return Ok(());
    }
    if wo.tls.is_none() && !wo.no_tls {
        return Err("websocket requires TLS configuration".into());
    }
    for ao in &wo.allowed_origins {
        if let Err(e) = url::Url::parse(ao) {
            // Go's `url.Parse` accepts far more than a URL with a scheme (a bare host is
            // a path to it); only what it also rejects is refused.
            if !matches!(e, url::ParseError::RelativeUrlWithoutBase) {
                return Err(format!("unable to parse allowed origin: {e}"));
            }
        }
    }
    if !wo.no_auth_user.is_empty() {
        if o.users.is_empty() {
            return Err(format!(
                "no_auth_user: \"{}\" present, but users are not defined",
                wo.no_auth_user
            ));
        }
        if !o.users.iter().any(|u| u.username == wo.no_auth_user) {
            return Err(format!(
                "no_auth_user: \"{}\" not present as user in authorization block or account configuration",
                wo.no_auth_user
            ));
        }
    }
    if !o.users.is_empty() || !o.nkeys.is_empty() {
        if !wo.username.is_empty() {
            return Err(
                "websocket authentication username not compatible with presence of users/nkeys"
                    .into(),
            );
        }
        if !wo.token.is_empty() {
            return Err(
                "websocket authentication token not compatible with presence of users/nkeys".into(),
            );
        }
    }
    if !wo.jwt_cookie.is_empty() && !o.operator.enabled() {
        return Err(format!(
            "trusted operators or trusted keys configuration is required for JWT authentication via cookie \"{}\"",
            wo.jwt_cookie
        ));
    }
    Ok(())
}

#[cfg(test)]
#[path = "flags/tests.rs"]
mod tests;
