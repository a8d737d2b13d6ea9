//! Global flags shared by every command and the one place that opens a NATS connection.
//!
//! Flag names and environment variables are natscli's (`-s/--server` with `NATS_URL`,
//! `--user`/`--password` with `NATS_USER`/`NATS_PASSWORD`, `--timeout` with
//! `NATS_TIMEOUT`, `--connection-name`, `--nkey` with `NATS_NKEY`: a file holding a user
//! seed, which signs the server's nonce; `--creds` with `NATS_CREDS`: a `.creds` file
//! holding a user JWT and its seed, for servers in operator mode). Durations use Go's syntax (`2s`, `500ms`,
//! `1m30s`) because that is what natscli users type. Credentials embedded in a server URL
//! (`nats://user:pass@host:4222`) are honoured here, since async-nats ignores them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use async_nats::{Client, ConnectErrorKind, ConnectOptions, Event, ServerAddr};
use clap::Args;

use crate::out;

/// Flags accepted before or after any subcommand (`nats sub -s URL hello` as in the guide).
#[derive(Args, Debug, Clone)]
pub struct GlobalOpts {
    /// NATS server urls, comma separated
    #[arg(
        short = 's',
        long = "server",
        env = "NATS_URL",
        global = true,
        default_value = "nats://127.0.0.1:4222",
        value_name = "URL"
    )]
    pub server: String,

    /// Username or token
    #[arg(long, env = "NATS_USER", global = true, value_name = "USER")]
    pub user: Option<String>,

    /// Password
    #[arg(
        long,
        env = "NATS_PASSWORD",
        global = true,
        hide_env_values = true,
        value_name = "PASSWORD"
    )]
    pub password: Option<String>,

    /// Time to wait on responses from NATS (Go duration: 5s, 500ms)
    #[arg(long, env = "NATS_TIMEOUT", global = true, default_value = "5s",
          value_parser = parse_duration, value_name = "DURATION")]
    pub timeout: Duration,

    /// Custom connection name
    #[arg(long = "connection-name", global = true, value_name = "NAME")]
    pub connection_name: Option<String>,

    /// TLS CA certificate to verify the server with (implies TLS)
    #[arg(long = "tlsca", env = "NATS_CA", global = true, value_name = "FILE")]
    pub tls_ca: Option<std::path::PathBuf>,

    /// TLS client certificate
    #[arg(
        long = "tlscert",
        env = "NATS_CERT",
        global = true,
        value_name = "FILE"
    )]
    pub tls_cert: Option<std::path::PathBuf>,

    /// TLS client key
    #[arg(long = "tlskey", env = "NATS_KEY", global = true, value_name = "FILE")]
    pub tls_key: Option<std::path::PathBuf>,
    /// User NKEY (a file holding the user's seed)
    #[arg(long, env = "NATS_NKEY", global = true, value_name = "LOCATION")]
    pub nkey: Option<std::path::PathBuf>,
    /// User credentials (a `.creds` file: user JWT and seed)
    #[arg(long, env = "NATS_CREDS", global = true, value_name = "FILE")]
    pub creds: Option<std::path::PathBuf>,
}

impl GlobalOpts {
    /// The server list, parsed and checked, in the order given.
    pub fn server_addrs(&self) -> anyhow::Result<Vec<ServerAddr>> {
        let mut addrs = Vec::new();
        for raw in self
            .server
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let addr: ServerAddr = raw
                .parse()
                .map_err(|err| anyhow::anyhow!("invalid server URL {raw:?}: {err}"))?;
            addrs.push(addr);
        }
        if addrs.is_empty() {
            bail!("no server URL given");
        }
        Ok(addrs)
    }

    /// `--user`/`--password` win; otherwise the first URL that carries credentials.
    pub fn credentials(&self) -> anyhow::Result<Option<(String, String)>> {
        if let Some(user) = &self.user {
            return Ok(Some((
                user.clone(),
                self.password.clone().unwrap_or_default(),
            )));
        }
        for addr in self.server_addrs()? {
            if let Some(user) = addr.username() {
                let pass = addr.password().unwrap_or("");
                return Ok(Some((percent_decode(user), percent_decode(pass))));
            }
        }
        Ok(None)
    }

    /// The server list as a human reads it, without passwords, for error messages.
    pub fn display_servers(&self) -> String {
        match self.server_addrs() {
            Ok(addrs) => addrs
                .iter()
                .map(|a| format!("{}://{}:{}", a.scheme(), a.host(), a.port()))
                .collect::<Vec<_>>()
                .join(", "),
            Err(_) => self.server.clone(),
        }
    }

    /// Connection options every command starts from.
    pub fn connect_options(&self) -> anyhow::Result<ConnectOptions> {
        let name = self
            .connection_name
            .clone()
            .unwrap_or_else(|| format!("NATS CLI Version {}", env!("CARGO_PKG_VERSION")));
        let mut opts = ConnectOptions::new()
            .name(name)
            .connection_timeout(self.timeout)
            .request_timeout(Some(self.timeout));
        if let Some((user, pass)) = self.credentials()? {
            opts = opts.user_and_password(user, pass);
        }
        if let Some(ca) = &self.tls_ca {
            opts = opts.require_tls(true).add_root_certificates(ca.clone());
        }
        match (&self.tls_cert, &self.tls_key) {
            (Some(c), Some(k)) => opts = opts.add_client_certificate(c.clone(), k.clone()),
            (None, None) => {}
            _ => bail!("--tlscert and --tlskey go together"),
        }
        if let Some(path) = &self.nkey {
            opts = opts.nkey(read_user_seed(path)?);
        }
        if let Some(path) = &self.creds {
            // Read here (not by async-nats later) so a bad file fails before connecting;
            // the error names the file, never its contents.
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("could not read credentials file {}", path.display()))?;
            opts = opts.credentials(&text).map_err(|_| {
                anyhow::anyhow!("nats: invalid credentials file {}", path.display())
            })?;
        }
        Ok(opts)
    }

    /// Connects with the default options.
    pub async fn connect(&self) -> anyhow::Result<Client> {
        self.connect_with(self.connect_options()?).await
    }

    /// Connects and logs disconnects and reconnects the way natscli does, for the
    /// long-running commands (`sub`, `reply`).
    pub async fn connect_logging_events(&self) -> anyhow::Result<Client> {
        // async-nats reports the first connect as `Connected` too; only a connect that
        // follows a disconnect is a reconnect worth logging.
        let lost = Arc::new(AtomicBool::new(false));
        let opts = self.connect_options()?.event_callback(move |event| {
            let lost = Arc::clone(&lost);
            async move {
                match event {
                    Event::Disconnected => {
                        lost.store(true, Ordering::Relaxed);
                        out::log("Disconnected, will attempt reconnect");
                    }
                    Event::Connected if lost.swap(false, Ordering::Relaxed) => {
                        out::log("Reconnected")
                    }
                    Event::SlowConsumer(sid) => out::log(&format!(
                        "Slow consumer: messages dropped on subscription {sid}"
                    )),
                    Event::ServerError(err) => out::log(&format!("Async error received: {err}")),
                    _ => {}
                }
            }
        });
        self.connect_with(opts).await
    }

    /// Connects with caller-built options, turning failures into one readable line.
    pub async fn connect_with(&self, opts: ConnectOptions) -> anyhow::Result<Client> {
        let addrs = self.server_addrs()?;
        // async-nats applies `connection_timeout` per TCP attempt but not to the whole
        // handshake; bound everything so a silent peer cannot hang us.
        let budget = self.timeout.saturating_mul(addrs.len() as u32 + 1);
        match tokio::time::timeout(budget, opts.connect(addrs)).await {
            Ok(Ok(client)) => Ok(client),
            Ok(Err(err)) => Err(anyhow::anyhow!(
                "could not connect to {}: {}",
                self.display_servers(),
                describe_connect_error(&err)
            )),
            Err(_) => bail!("could not connect to {}: timed out", self.display_servers()),
        }
    }
}

/// async-nats says "IO error"; people want to read "connection refused".
fn describe_connect_error(err: &async_nats::ConnectError) -> String {
    use std::error::Error as _;
    let source = err.source().map(|s| s.to_string());
    match (err.kind(), source) {
        (ConnectErrorKind::AuthorizationViolation, _) => "authorization violation".to_string(),
        (ConnectErrorKind::TimedOut, _) => "timed out".to_string(),
        (ConnectErrorKind::Io, Some(src)) => strip_os_error(&src),
        (kind, Some(src)) => format!("{kind}: {}", strip_os_error(&src)),
        (kind, None) => kind.to_string(),
    }
}

/// "Connection refused (os error 111)" → "connection refused".
fn strip_os_error(s: &str) -> String {
    let trimmed = match s.find(" (os error") {
        Some(i) => &s[..i],
        None => s,
    };
    let mut chars = trimmed.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut outb = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                outb.push(v);
                i += 3;
                continue;
            }
        }
        outb.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&outb).into_owned()
}

/// The user seed in an nkey file, as nats.go's `NkeyOptionFromSeed` finds it: the seed
/// alone, or the first line that is one (decorated files, `.creds`). Errors never quote
/// the file's content: it is a secret.
pub fn read_user_seed(path: &std::path::Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("could not read nkey file {}", path.display()))?;
    let seed = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with('S') && nkeys::KeyPair::from_seed(l).is_ok())
        .with_context(|| format!("nats: no nkey seed found in {}", path.display()))?;
    let user = nkeys::KeyPair::from_seed(seed)
        .is_ok_and(|kp| kp.key_pair_type() == nkeys::KeyPairType::User);
    if !user {
        bail!("nats: Not a valid nkey user seed");
    }
    Ok(seed.to_string())
}

/// Parses a Go duration: a sequence of decimal numbers with units `ns`, `us`/`µs`, `ms`,
/// `s`, `m`, `h` (e.g. `1m30s`, `1.5s`, `500ms`). A bare number is taken as seconds,
/// which Go rejects but is what people mean.
pub fn parse_duration(input: &str) -> Result<Duration, String> {
    let s = input.trim();
    if s.is_empty() {
        return Err("empty duration".into());
    }
    if let Ok(secs) = s.parse::<f64>() {
        return secs_to_duration(secs).ok_or_else(|| format!("invalid duration {input:?}"));
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return Err(format!("invalid duration {input:?}"));
        }
        let value: f64 = rest[..num_len]
            .parse()
            .map_err(|_| format!("invalid duration {input:?}"))?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "" => return Err(format!("missing unit in duration {input:?}")),
            unit => return Err(format!("unknown unit {unit:?} in duration {input:?}")),
        };
        total += value * scale;
        rest = &rest[unit_len..];
    }
    secs_to_duration(total).ok_or_else(|| format!("invalid duration {input:?}"))
}

fn secs_to_duration(secs: f64) -> Option<Duration> {
    if secs.is_finite() && (0.0..1e12).contains(&secs) {
        Some(Duration::from_secs_f64(secs))
    } else {
        None
    }
}

/// Parses `K:V` strings from `-H` into pairs, trimming both sides like natscli.
pub fn split_header(raw: &str) -> anyhow::Result<(String, String)> {
    let (k, v) = raw
        .split_once(':')
        .with_context(|| format!("invalid header {raw:?}"))?;
    let k = k.trim();
    if k.is_empty() {
        bail!("invalid header {raw:?}");
    }
    Ok((k.to_string(), v.trim().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("250us"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("ms").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn headers_split_on_first_colon() {
        assert_eq!(
            split_header("a: b:c").ok(),
            Some(("a".into(), "b:c".into()))
        );
        assert!(split_header("novalue").is_err());
        assert!(split_header(":x").is_err());
    }

    #[test]
    fn url_credentials() {
        let g = GlobalOpts {
            server: "nats://127.0.0.1:1,nats://a%40b:p%3Ass@127.0.0.1:2".into(),
            user: None,
            password: None,
            timeout: Duration::from_secs(1),
            connection_name: None,
            tls_ca: None,
            tls_cert: None,
            tls_key: None,
            nkey: None,
            creds: None,
        };
        assert_eq!(
            g.credentials().ok().flatten(),
            Some(("a@b".into(), "p:ss".into()))
        );
        assert_eq!(
            g.display_servers(),
            "nats://127.0.0.1:1, nats://127.0.0.1:2"
        );
    }

    #[test]
    fn nkey_files() {
        let dir = std::env::temp_dir().join(format!("nats-cli-nkey-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let user = nkeys::KeyPair::new_user();
        let seed = user.seed().unwrap();
        let plain = dir.join("user.nk");
        std::fs::write(&plain, format!("{seed}\n")).unwrap();
        assert_eq!(read_user_seed(&plain).unwrap(), seed);
        let decorated = dir.join("decorated.nk");
        std::fs::write(
            &decorated,
            format!("-----BEGIN USER NKEY SEED-----\n{seed}\n------END USER NKEY SEED------\n"),
        )
        .unwrap();
        assert_eq!(read_user_seed(&decorated).unwrap(), seed);
        let account = dir.join("account.nk");
        let aseed = nkeys::KeyPair::new_account().seed().unwrap();
        std::fs::write(&account, &aseed).unwrap();
        let e = read_user_seed(&account).unwrap_err().to_string();
        assert_eq!(e, "nats: Not a valid nkey user seed");
        assert!(!e.contains(&aseed));
        let junk = dir.join("junk.nk");
        std::fs::write(&junk, "SUNOTASEED\n").unwrap();
        let e = format!("{:#}", read_user_seed(&junk).unwrap_err());
        assert!(
            e.contains("no nkey seed found") && !e.contains("SUNOTASEED"),
            "{e}"
        );
        assert!(read_user_seed(&dir.join("missing.nk")).is_err());
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn os_error_suffix_is_dropped() {
        assert_eq!(
            strip_os_error("Connection refused (os error 111)"),
            "connection refused"
        );
    }
}
