//! A command line parser with the semantics of Go's `flag` package, and nats-server's
//! table of flags.
//!
//! Go's rules, which scripts and container images rely on:
//! * `-name` and `--name` are the same flag; multi-letter names (`-DV`, `-ms`, `-sl`) are
//!   flags of their own, never clusters of one-letter flags.
//! * A value is given as `-name=value` or `-name value` (so `-p -1` works); a boolean
//!   takes a value only with `=` (`-T=false`), so `-D false` leaves `false` as an argument.
//! * Parsing stops at the first argument that is not a flag (or after `--`); what remains
//!   are positional arguments.
//! * Integers are read like `strconv.ParseInt(s, 0, 64)`: `0x10`, `0o17`, `017`, `1_000`.
//!
//! Invariant: errors are Go's texts (`flag provided but not defined: -x`, `invalid value
//! "abc" for flag -p: parse error`, ...), which nats-server prints before its usage.

use crate::options::config::go_quote;

/// What a flag sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Id {
    Help,
    Version,
    HelpTls,
    Port,
    ServerName,
    Host,
    ClientAdvertise,
    Debug,
    Trace,
    TraceVerbose,
    DebugTrace,
    DebugTraceVerbose,
    Logtime,
    User,
    Pass,
    Auth,
    HttpPort,
    HttpsPort,
    Config,
    Check,
    Signal,
    Pid,
    PortsFileDir,
    Log,
    LogSizeLimit,
    Syslog,
    RemoteSyslog,
    Profile,
    Routes,
    Cluster,
    ClusterAdvertise,
    NoAdvertise,
    ConnectRetries,
    ClusterName,
    Tls,
    TlsVerify,
    TlsCert,
    TlsKey,
    TlsCaCert,
    MaxTracedMsgLen,
    JetStream,
    StoreDir,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Bool,
    Int,
    Str,
}

/// One flag name (aliases are separate rows with the same [`Id`]).
pub(crate) struct Def {
    pub name: &'static str,
    pub id: Id,
    pub kind: Kind,
}

const fn def(name: &'static str, id: Id, kind: Kind) -> Def {
    Def { name, id, kind }
}

/// Every flag nats-server 2.9.10 defines, by the name it is registered under.
pub(crate) const FLAGS: &[Def] = &[
    def("h", Id::Help, Kind::Bool),
    def("help", Id::Help, Kind::Bool),
    def("port", Id::Port, Kind::Int),
    def("p", Id::Port, Kind::Int),
    def("n", Id::ServerName, Kind::Str),
    def("name", Id::ServerName, Kind::Str),
    def("server_name", Id::ServerName, Kind::Str),
    def("addr", Id::Host, Kind::Str),
    def("a", Id::Host, Kind::Str),
    def("net", Id::Host, Kind::Str),
    def("client_advertise", Id::ClientAdvertise, Kind::Str),
    def("D", Id::Debug, Kind::Bool),
    def("debug", Id::Debug, Kind::Bool),
    def("V", Id::Trace, Kind::Bool),
    def("VV", Id::TraceVerbose, Kind::Bool),
    def("trace", Id::Trace, Kind::Bool),
    def("DV", Id::DebugTrace, Kind::Bool),
    def("DVV", Id::DebugTraceVerbose, Kind::Bool),
    def("T", Id::Logtime, Kind::Bool),
    def("logtime", Id::Logtime, Kind::Bool),
    def("user", Id::User, Kind::Str),
    def("pass", Id::Pass, Kind::Str),
    def("auth", Id::Auth, Kind::Str),
    def("m", Id::HttpPort, Kind::Int),
    def("http_port", Id::HttpPort, Kind::Int),
    def("ms", Id::HttpsPort, Kind::Int),
    def("https_port", Id::HttpsPort, Kind::Int),
    def("c", Id::Config, Kind::Str),
    def("config", Id::Config, Kind::Str),
    def("t", Id::Check, Kind::Bool),
    def("sl", Id::Signal, Kind::Str),
    def("signal", Id::Signal, Kind::Str),
    def("P", Id::Pid, Kind::Str),
    def("pid", Id::Pid, Kind::Str),
    def("ports_file_dir", Id::PortsFileDir, Kind::Str),
    def("l", Id::Log, Kind::Str),
    def("log", Id::Log, Kind::Str),
    def("log_size_limit", Id::LogSizeLimit, Kind::Int),
    def("s", Id::Syslog, Kind::Bool),
    def("syslog", Id::Syslog, Kind::Bool),
    def("r", Id::RemoteSyslog, Kind::Str),
    def("remote_syslog", Id::RemoteSyslog, Kind::Str),
    def("version", Id::Version, Kind::Bool),
    def("v", Id::Version, Kind::Bool),
    def("profile", Id::Profile, Kind::Int),
    def("routes", Id::Routes, Kind::Str),
    def("cluster", Id::Cluster, Kind::Str),
    def("cluster_listen", Id::Cluster, Kind::Str),
    def("cluster_advertise", Id::ClusterAdvertise, Kind::Str),
    def("no_advertise", Id::NoAdvertise, Kind::Bool),
    def("connect_retries", Id::ConnectRetries, Kind::Int),
    def("cluster_name", Id::ClusterName, Kind::Str),
    def("help_tls", Id::HelpTls, Kind::Bool),
    def("tls", Id::Tls, Kind::Bool),
    def("tlsverify", Id::TlsVerify, Kind::Bool),
    def("tlscert", Id::TlsCert, Kind::Str),
    def("tlskey", Id::TlsKey, Kind::Str),
    def("tlscacert", Id::TlsCaCert, Kind::Str),
    def("max_traced_msg_len", Id::MaxTracedMsgLen, Kind::Int),
    def("js", Id::JetStream, Kind::Bool),
    def("jetstream", Id::JetStream, Kind::Bool),
    def("sd", Id::StoreDir, Kind::Str),
    def("store_dir", Id::StoreDir, Kind::Str),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Val {
    Bool(bool),
    Int(i64),
    Str(String),
}

/// One flag as given on the command line.
#[derive(Debug, Clone)]
pub(crate) struct Given {
    /// The name as registered (without dashes), e.g. `DV` or `cluster_listen`.
    pub name: &'static str,
    pub id: Id,
    pub val: Val,
}

/// The flags in command-line order, then the positional arguments.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    pub given: Vec<Given>,
    pub args: Vec<String>,
}

impl Parsed {
    /// The last value given for `id`, if any.
    pub fn last(&self, id: Id) -> Option<&Val> {
        self.given.iter().rev().find(|g| g.id == id).map(|g| &g.val)
    }

    pub fn bool(&self, id: Id) -> bool {
        matches!(self.last(id), Some(Val::Bool(true)))
    }

    pub fn str(&self, id: Id) -> Option<&str> {
        match self.last(id) {
            Some(Val::Str(s)) => Some(s),
            _ => None,
        }
    }

    pub fn given(&self, id: Id) -> bool {
        self.last(id).is_some()
    }
}

/// Go's `strconv.ParseBool`.
fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Go's `strconv.ParseInt(s, 0, 64)`; the error is the text Go's `flag` shows.
pub(crate) fn parse_go_int(s: &str) -> Result<i64, &'static str> {
    const SYNTAX: &str = "parse error";
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits, prefixed) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d, true)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d, true)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d, true)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..], true)
    } else {
        (10, lower.as_str(), false)
    };
    // Underscores are allowed only after a base prefix, and only between digits.
    if digits.contains('_') && (!prefixed || digits.contains("__") || digits.ends_with('_')) {
        return Err(SYNTAX);
    }
    let clean: String = digits.chars().filter(|c| *c != '_').collect();
    if clean.is_empty() || !clean.chars().all(|c| c.is_digit(radix)) {
        return Err(SYNTAX);
    }
    let mag = u128::from_str_radix(&clean, radix).map_err(|_| "value out of range")?;
    let v = if neg { -(mag as i128) } else { mag as i128 };
    i64::try_from(v).map_err(|_| "value out of range")
}

/// Parses `args` (without the program name) as Go's `FlagSet.Parse` would.
pub(crate) fn parse(args: &[String]) -> Result<Parsed, String> {
    let mut out = Parsed::default();
    let mut i = 0;
    while i < args.len() {
        let s = &args[i];
        if s.len() < 2 || !s.starts_with('-') {
            break;
        }
        let mut dashes = 1;
        if s.as_bytes()[1] == b'-' {
            dashes = 2;
            if s.len() == 2 {
                i += 1;
                break;
            }
        }
        let spec = &s[dashes..];
        if spec.starts_with('-') || spec.starts_with('=') {
            return Err(format!("bad flag syntax: {s}"));
        }
        i += 1;
        let (name, inline) = match spec.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (spec, None),
        };
        let Some(def) = FLAGS.iter().find(|d| d.name == name) else {
            return Err(format!("flag provided but not defined: -{name}"));
        };
        let val = match def.kind {
            Kind::Bool => match inline {
                None => Val::Bool(true),
                Some(v) => match parse_bool(&v) {
                    Some(b) => Val::Bool(b),
                    None => {
                        return Err(format!(
                            "invalid boolean value {} for -{name}: parse error",
                            go_quote(&v)
                        ))
                    }
                },
            },
            kind => {
                let v = match inline {
                    Some(v) => v,
                    None if i < args.len() => {
                        i += 1;
                        args[i - 1].clone()
                    }
                    None => return Err(format!("flag needs an argument: -{name}")),
                };
                if kind == Kind::Int {
                    match parse_go_int(&v) {
                        Ok(n) => Val::Int(n),
                        Err(why) => {
                            return Err(format!(
                                "invalid value {} for flag -{name}: {why}",
                                go_quote(&v)
                            ))
                        }
                    }
                } else {
                    Val::Str(v)
                }
            }
        };
        out.given.push(Given {
            name: def.name,
            id: def.id,
            val,
        });
    }
    out.args = args[i.min(args.len())..].to_vec();
    Ok(out)
}
