//! Server options: one struct that the config file and the command line both fill, with
//! nats-server's defaults. Flags are applied after the config file, so they override it
//! (as in Go, where `MergeOptions` lays the flag values over the file's).
//!
//! * [`flags`]: a Go `flag`-package compatible command line parser (`-p 4222`, `--port=4222`,
//!   `-DV`, `-T=false`, `-p -1`), the usage text, and the top-level [`flags::configure`].
//! * [`config`]: maps a parsed config file ([`nats_conf::Map`]) onto [`Options`], with
//!   nats-server's keys, aliases, units and "unknown field" errors.

pub mod config;
pub mod flags;

use std::path::PathBuf;
use std::time::Duration;

/// The nats-server version whose behaviour and protocol we match. Clients gate features on
/// the `version` in INFO, so this is what INFO and `/varz` say.
/// Subject mappings as configured: each source with its weighted destinations.
pub type MappingList = Vec<(String, Vec<nats_sublist::mapping::MapDest>)>;

pub const NATS_VERSION: &str = "2.9.10";
/// Our own version, shown by `-v`, in the startup banner and in INFO's `rs_version`.
pub const RS_VERSION: &str = env!("CARGO_PKG_VERSION");

pub const DEFAULT_PORT: i32 = 4222;
pub const DEFAULT_HOST: &str = "0.0.0.0";
pub const DEFAULT_MAX_PAYLOAD: i64 = 1024 * 1024;
pub const DEFAULT_MAX_CONTROL_LINE: i64 = 4096;
pub const DEFAULT_MAX_PENDING: i64 = 64 * 1024 * 1024;
pub const DEFAULT_MAX_CONNECTIONS: i64 = 64 * 1024;
pub const DEFAULT_PING_INTERVAL: Duration = Duration::from_secs(120);
pub const DEFAULT_PING_MAX: i64 = 2;
pub const DEFAULT_WRITE_DEADLINE: Duration = Duration::from_secs(10);
pub const DEFAULT_AUTH_TIMEOUT: f64 = 2.0;
/// The longest timeout given in (float) seconds that we honour: one year. Larger values
/// (Go turns them into an overflowed, negative `time.Duration`, which times out at once)
/// are clamped to it, so that turning them into a `Duration` can never overflow.
pub const MAX_TIMEOUT_SECS: f64 = 365.0 * 24.0 * 3600.0;

/// A timeout configured in seconds as a `Duration`, never panicking: NaN, zero and
/// negative values become 1 ms (the shortest we use), huge ones `MAX_TIMEOUT_SECS`.
pub fn secs_to_duration(secs: f64) -> Duration {
    if secs.is_nan() {
        return Duration::from_millis(1);
    }
    Duration::from_secs_f64(secs.clamp(0.001, MAX_TIMEOUT_SECS))
}

/// Clamp a configured timeout in seconds to what `secs_to_duration` honours (keeping 0,
/// which means "the default").
pub fn clamp_timeout_secs(secs: f64) -> f64 {
    if secs.is_nan() {
        0.0
    } else {
        secs.min(MAX_TIMEOUT_SECS)
    }
}
pub const DEFAULT_LAME_DUCK_DURATION: Duration = Duration::from_secs(120);
pub const DEFAULT_LAME_DUCK_GRACE_PERIOD: Duration = Duration::from_secs(10);
pub const DEFAULT_ROUTE_CONNECT: Duration = Duration::from_secs(1);
pub const DEFAULT_CONNECT_ERROR_REPORTS: i64 = 3600;
pub const DEFAULT_RECONNECT_ERROR_REPORTS: i64 = 1;

/// The `jetstream` block (or `jetstream: enabled`) and the `-js`/`-sd` flags.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JetStreamOpts {
    pub enabled: bool,
    /// Where streams live (`<store_dir>/jetstream/…`); empty: the OS temp dir's `nats`.
    pub store_dir: String,
    /// `max_memory_store` / `max_mem`: bytes, -1 or 0 for the default (unlimited here).
    pub max_memory: i64,
    /// `max_file_store` / `max_file`.
    pub max_store: i64,
    pub domain: String,
    /// `sync_interval`: how often file streams are fsynced (2 minutes by default).
    pub sync_interval: Option<Duration>,
    /// Accounts whose block says `jetstream: enabled` or `disabled` (or gives limits,
    /// which enables). When none does, every account but the system account has
    /// JetStream (nats-server's rule).
    pub accounts: Vec<(String, bool)>,
    /// Accounts whose `jetstream {…}` block sets limits.
    pub account_limits: Vec<(String, AccountJsLimits)>,
}

/// An account's JetStream limits (`accounts { A: { jetstream: { max_mem: 1G, … } } }`),
/// Go's `JetStreamAccountLimits`; -1 is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountJsLimits {
    pub max_memory: i64,
    pub max_store: i64,
    pub max_streams: i64,
    pub max_consumers: i64,
    pub max_ack_pending: i64,
    pub memory_max_stream_bytes: i64,
    pub store_max_stream_bytes: i64,
    pub max_bytes_required: bool,
}

impl Default for AccountJsLimits {
    fn default() -> Self {
        AccountJsLimits {
            max_memory: -1,
            max_store: -1,
            max_streams: -1,
            max_consumers: -1,
            max_ack_pending: -1,
            memory_max_stream_bytes: -1,
            store_max_stream_bytes: -1,
            max_bytes_required: false,
        }
    }
}

/// Everything that configures a server. `Default` gives nats-server's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// The config file given with `-c`, if any (for `-t`, reload and `/varz`).
    pub config_file: Option<PathBuf>,
    /// `server_name` / `-n`. Empty means "use the server id".
    pub server_name: String,
    /// Client listener host (`host`/`net`/`listen`, `-a`).
    pub host: String,
    /// Client listener port; `-1` picks a random port (`0` in the config means default).
    pub port: i32,
    /// `client_advertise` / `--client_advertise`: `host[:port]` given to clients and peers.
    pub client_advertise: String,

    /// Monitoring (`http`, `http_port`/`monitor_port`, `-m`); port 0 = off, -1 = random.
    pub http_host: String,
    pub http_port: i32,
    pub https_port: i32,
    pub http_base_path: String,

    pub max_payload: i64,
    pub max_control_line: i64,
    pub max_pending: i64,
    pub max_connections: i64,
    /// Per connection; 0 = unlimited.
    pub max_subs: i64,
    pub ping_interval: Duration,
    pub ping_max: i64,
    pub write_deadline: Duration,
    pub no_header_support: bool,
    pub disable_sublist_cache: bool,
    pub max_traced_msg_len: i64,
    pub lame_duck_duration: Duration,
    pub lame_duck_grace_period: Duration,

    /// Single-user / token client authorization (`authorization {}`, `--user/--pass/--auth`).
    pub username: String,
    pub password: String,
    pub authorization: String,
    /// Users from `authorization { users: [...] }` (account `$G`) and from the `users` of
    /// each account in `accounts {}` (their `User::account` names it).
    pub users: Vec<User>,
    /// Nkey users (`{nkey: U…}` entries of the same `users` lists): clients prove who they
    /// are by signing the nonce of their INFO.
    pub nkeys: Vec<NkeyUser>,
    /// Account names from `accounts {}`, in file order (`$G` is implicit, never listed).
    pub accounts: Vec<String>,
    pub auth_timeout: f64,
    pub no_auth_user: String,
    /// `system_account` (alias `system`): the account the server's internal client lives
    /// in; `$SYS` (created) when empty.
    pub system_account: String,
    /// `no_system_account` (aliases `no_system`, `no_sys_acc`): no system account at all.
    pub no_system_account: bool,
    /// `jetstream` / `-js`, `store_dir` / `-sd`.
    pub jetstream: JetStreamOpts,
    /// `authorization { default_permissions }` (alias `permissions`): the permissions of
    /// every user of `users` that has none of its own. As in nats-server 2.9, they apply to
    /// users of the list only, not to the single user, the token or anonymous clients.
    pub default_permissions: Option<Permissions>,
    /// Operator mode (JWT): `operator`, `trusted`, `resolver`, `resolver_preload`,
    /// `resolver_tls`.
    pub operator: OperatorOptions,

    pub debug: bool,
    pub trace: bool,
    pub trace_verbose: bool,
    pub logtime: bool,
    pub log_file: Option<PathBuf>,
    pub log_size_limit: i64,
    pub syslog: bool,
    pub remote_syslog: String,
    pub pid_file: Option<PathBuf>,
    pub ports_file_dir: Option<PathBuf>,

    pub connect_error_reports: i64,
    pub reconnect_error_reports: i64,

    pub cluster: ClusterOpts,

    /// The top-level `tls {}` block or the `--tls*` flags: TLS on the client port.
    pub tls: Option<TlsOpts>,

    /// The top-level `mappings` block (subject mappings of the global account), in file
    /// order: source, then its destinations. Validated when parsed; compiled by the server
    /// into a `nats_sublist::mapping::Mappings`.
    pub mappings: MappingList,
    /// The `mappings` of each account in `accounts {}` (account name, its mappings).
    pub account_mappings: Vec<(String, MappingList)>,

    /// `exports` of the accounts in `accounts {}`, in file order, validated as
    /// nats-server 2.9.10 validates them when it wires imports at start.
    pub exports: Vec<Export>,
    /// `imports` of the accounts in `accounts {}`, in file order, validated likewise
    /// (the exporter exists and grants the importer, no cycles, subjects and transforms).
    pub imports: Vec<Import>,

    /// The `websocket {}` (alias `ws`) block; port 0 = no websocket listener.
    pub websocket: WebsocketOpts,
}

/// The `websocket {}` block (nats-server's `WebsocketOpts`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WebsocketOpts {
    pub host: String,
    /// 0 = off, -1 = a random port.
    pub port: i32,
    /// `advertise`: `host[:port]` given to websocket clients in `connect_urls`.
    pub advertise: String,
    /// `no_tls`: allow a plain-text (`ws://`) listener.
    pub no_tls: bool,
    pub tls: Option<TlsOpts>,
    pub same_origin: bool,
    pub allowed_origins: Vec<String>,
    /// Bounds the HTTP upgrade (and the TLS handshake with `tls {}`); zero = unbounded,
    /// as in Go.
    pub handshake_timeout: Duration,
    pub compression: bool,
    /// `authorization {}` inside the block: override the top-level credentials for
    /// websocket clients.
    pub username: String,
    pub password: String,
    pub token: String,
    pub auth_timeout: f64,
    /// Parsed for compatibility; it needs operator mode, which is refused.
    pub jwt_cookie: String,
    pub no_auth_user: String,
}

impl WebsocketOpts {
    /// nats-server's `authOverride`: credentials of the block replace the top-level ones.
    pub fn auth_override(&self) -> bool {
        !self.username.is_empty() || !self.token.is_empty() || !self.no_auth_user.is_empty()
    }
}

/// nats-server's default `response_threshold` of a service export
/// (`DEFAULT_SERVICE_EXPORT_RESPONSE_THRESHOLD`).
pub const DEFAULT_SERVICE_EXPORT_RESPONSE_THRESHOLD: Duration = Duration::from_secs(120);

/// How many responses a service export may send to one request (`response_type`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ResponseType {
    /// One response; the response mapping is removed after it (the default).
    #[default]
    Singleton,
    /// Any number of responses until `response_threshold` passes.
    Stream,
    /// As `Stream` (chunks of one large response).
    Chunked,
}

/// One entry of an account's `exports`.
#[derive(Debug, Clone, PartialEq)]
pub struct Export {
    /// The exporting account.
    pub account: String,
    pub subject: String,
    /// `accounts`: who may import. `None` (no list, or an empty one) is public.
    pub accounts: Option<Vec<String>>,
    /// `account_token_position`: 1-based token of the subject that must equal the
    /// importing account's name (0 = not used).
    pub token_position: u32,
    /// `Some` for a service export, `None` for a stream export.
    pub service: Option<ServiceExportOpts>,
}

/// What only a service export has.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceExportOpts {
    pub response_type: ResponseType,
    /// How long the responder may take (and, for streamed and chunked responses, how long
    /// responses are let through): `response_threshold`, 2 minutes by default.
    pub response_threshold: Duration,
    /// `latency`: service latency tracking (Go's `serviceLatency`).
    pub latency: Option<ServiceLatency>,
}

/// A service export's `latency`: which requests are measured and where the
/// `io.nats.server.metric.v1.service_latency` results go (in the exporting account).
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceLatency {
    /// Percentage of requests sampled, 1–100; 0 = only requests whose tracing headers ask
    /// for it (`sampling: headers`).
    pub sampling: u8,
    pub subject: String,
}

/// One entry of an account's `imports`.
#[derive(Debug, Clone, PartialEq)]
pub struct Import {
    /// The importing account.
    pub account: String,
    /// The exporting account (`{account: X, ...}`).
    pub from_account: String,
    /// The subject in the exporting account (`{subject: s}`).
    pub subject: String,
    /// The subject in the importing account: for a stream, `prefix.subject` or `to` (or
    /// the subject itself); for a service, `to` or the subject.
    pub to: String,
    /// A service import (requests go to the exporter) rather than a stream import.
    pub service: bool,
    /// `share`: latency results carry the requester's details, not only its account and
    /// RTT.
    pub share: bool,
}

/// A configured client user.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct User {
    pub username: String,
    pub password: String,
    /// `permissions` (aliases `permission`, `authorization`). `None`: the
    /// `default_permissions`, if any, apply.
    pub permissions: Option<Permissions>,
    /// `allowed_connection_types` (aliases `connection_types`, `clients`), upper case.
    /// Empty means every type. This server only has standard (`STANDARD`) client
    /// connections, so a user whose list lacks it cannot log in.
    pub allowed_connection_types: Vec<String>,
    /// The account the user belongs to (empty: the global account `$G`).
    pub account: String,
}

/// A configured nkey user (nats-server's `NkeyUser`): a user's public nkey (`U…`, 56
/// characters) instead of a name and password. A user name and an nkey are never equal
/// (the configuration refuses duplicates across both), so one name space serves both.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NkeyUser {
    pub nkey: String,
    /// As [`User::permissions`].
    pub permissions: Option<Permissions>,
    /// As [`User::allowed_connection_types`].
    pub allowed_connection_types: Vec<String>,
    /// As [`User::account`].
    pub account: String,
}

/// What a user may publish and subscribe to (nats-server's `Permissions`). A missing part
/// restricts nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Permissions {
    /// `publish` (aliases `pub`, `import`).
    pub publish: Option<SubjectPermission>,
    /// `subscribe` (aliases `sub`, `export`). Entries may be `"subject queue"`, which
    /// concerns queue subscriptions in that group only.
    pub subscribe: Option<SubjectPermission>,
    /// `allow_responses` (alias `publish_allow_responses`): may publish to the reply
    /// subjects of messages it received, even where `publish` forbids it. When set, a
    /// `publish` without an `allow` list allows nothing else.
    pub response: Option<ResponsePermission>,
}

/// Allow and deny lists of subjects (wildcards allowed). An empty `allow` allows
/// everything; `deny` wins over `allow`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SubjectPermission {
    pub allow: Vec<String>,
    pub deny: Vec<String>,
}

/// `allow_responses: true` or `{ max: N, expires: "1m" }`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResponsePermission {
    /// Responses allowed per received reply subject; zero or less means no limit.
    pub max_msgs: i64,
    /// How long after the request a response is allowed; `None` means forever (a
    /// negative `expires` in the config).
    pub expires: Option<Duration>,
}

/// Operator mode: who is trusted to sign accounts, and where account JWTs come from.
/// Empty (`trusted_operators` and `trusted_keys` both) means operator mode is off.
#[derive(Clone, Default, PartialEq)]
pub struct OperatorOptions {
    /// The operator JWTs of `operator` (read from their files, or given inline).
    pub trusted_operators: Vec<String>,
    /// `trusted`: operator public keys trusted without an operator JWT.
    pub trusted_keys: Vec<String>,
    pub resolver: Resolver,
    /// `resolver_preload`: account public key → account JWT, in file order.
    pub preload: Vec<(String, String)>,
    /// `resolver_tls`: the URL resolver's HTTPS client (own CA, client certificate).
    pub resolver_tls: Option<TlsOpts>,
}

impl OperatorOptions {
    /// Operator mode is on: every client must present a user JWT.
    pub fn enabled(&self) -> bool {
        !self.trusted_operators.is_empty() || !self.trusted_keys.is_empty()
    }
}

/// JWTs stay out of debug output (see `redact`).
impl std::fmt::Debug for OperatorOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OperatorOptions")
            .field("trusted_operators", &self.trusted_operators.len())
            .field("trusted_keys", &self.trusted_keys)
            .field("resolver", &self.resolver)
            .field("preload", &self.preload.len())
            .field("resolver_tls", &self.resolver_tls)
            .finish()
    }
}

/// `resolver`: where the server finds account JWTs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Resolver {
    #[default]
    None,
    /// `MEMORY` (or `MEM`): the preloaded JWTs only.
    Memory,
    /// `{ type: full, dir: … }`: nats-server's NATS-based resolver that keeps every
    /// account JWT in a directory and takes updates over the system account.
    Full {
        dir: std::path::PathBuf,
        /// `allow_delete`: `$SYS.REQ.CLAIMS.DELETE` may remove accounts.
        allow_delete: bool,
        /// `limit`: at most this many JWTs (0: no limit).
        limit: i64,
        /// `interval`: how often servers compare their stores (cluster sync; accepted).
        interval: Duration,
        /// `timeout`: how long a lookup of an account the directory lacks waits for
        /// the cluster's answer (default 1.9 s).
        timeout: Duration,
    },
    /// `{ type: cache, dir: … }`: nats-server's caching NATS-based resolver. It keeps at
    /// most `limit` JWTs in the directory (least recently used ones go first), each for
    /// `ttl` after its last use, and asks the cluster
    /// (`$SYS.REQ.ACCOUNT.<key>.CLAIMS.LOOKUP`) for accounts it does not hold.
    Cache {
        dir: std::path::PathBuf,
        /// `limit` (nats-server's default when absent or not positive: 1000).
        limit: i64,
        /// `ttl`; zero: an entry lives until its JWT expires.
        ttl: Duration,
        /// `timeout`: how long a lookup waits for an answer (default 1.9 s).
        timeout: Duration,
    },
    /// `URL("http://…/")`, or an operator JWT's `account_server_url` (plus `/accounts/`):
    /// account JWTs are fetched with an HTTP GET of the base URL plus the account key.
    /// Always ends with `/`.
    Url(String),
}

/// nats-server's `DEFAULT_ACCOUNT_FETCH_TIMEOUT`.
pub const DEFAULT_ACCOUNT_FETCH_TIMEOUT: Duration = Duration::from_millis(1900);

/// nats-server's `DEFAULT_ALLOW_RESPONSE_MAX_MSGS`.
pub const DEFAULT_ALLOW_RESPONSE_MAX_MSGS: i64 = 1;
/// nats-server's `DEFAULT_ALLOW_RESPONSE_EXPIRATION`.
pub const DEFAULT_ALLOW_RESPONSE_EXPIRATION: Duration = Duration::from_secs(120);

impl Default for ResponsePermission {
    fn default() -> Self {
        ResponsePermission {
            max_msgs: DEFAULT_ALLOW_RESPONSE_MAX_MSGS,
            expires: Some(DEFAULT_ALLOW_RESPONSE_EXPIRATION),
        }
    }
}

/// The `cluster {}` block and the cluster flags.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterOpts {
    /// `name` / `--cluster_name`; empty means a dynamic name is generated.
    pub name: String,
    pub host: String,
    /// 0 = no cluster listener; -1 = random port.
    pub port: i32,
    /// `advertise` / `cluster_advertise` / `--cluster_advertise`.
    pub advertise: String,
    pub no_advertise: bool,
    pub connect_retries: i64,
    /// Explicit routes (`routes`, `--routes`), as written by the user.
    pub routes: Vec<url::Url>,
    /// `authorization { user, password, timeout }` inside `cluster {}`, or the userinfo of
    /// the `--cluster` URL.
    pub username: String,
    pub password: String,
    pub auth_timeout: f64,
    /// `cluster { tls {} }`: routes dial and accept with mutual TLS.
    pub tls: Option<TlsOpts>,
}

/// A `tls {}` block (nats-server's `TLSConfigOpts`). Certificates are read when the
/// server builds its rustls configurations (at start and on every reload), not here.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TlsOpts {
    pub cert_file: String,
    pub key_file: String,
    pub ca_file: String,
    /// Require and verify client certificates (`verify`, implied by `verify_and_map`).
    pub verify: bool,
    /// `verify_and_map`: the client certificate names the user.
    pub map: bool,
    /// `insecure`: do not verify the certificates of routes we dial.
    pub insecure: bool,
    /// Handshake timeout in seconds (`timeout`; 0 = the default, 2 s).
    pub timeout: f64,
    /// `cipher_suites` (Go names, checked when parsed); empty = the defaults.
    pub ciphers: Vec<String>,
    /// `curve_preferences` (Go names); empty = the defaults.
    pub curves: Vec<String>,
    /// `pinned_certs`: lower-case hex SHA-256 of accepted peers' SubjectPublicKeyInfo.
    pub pinned_certs: Vec<String>,
}

impl Default for ClusterOpts {
    fn default() -> Self {
        ClusterOpts {
            name: String::new(),
            host: String::new(),
            port: 0,
            advertise: String::new(),
            no_advertise: false,
            connect_retries: 0,
            routes: Vec::new(),
            username: String::new(),
            password: String::new(),
            auth_timeout: DEFAULT_AUTH_TIMEOUT,
            tls: None,
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            config_file: None,
            server_name: String::new(),
            host: DEFAULT_HOST.to_string(),
            port: DEFAULT_PORT,
            client_advertise: String::new(),
            http_host: String::new(),
            http_port: 0,
            https_port: 0,
            http_base_path: String::new(),
            max_payload: DEFAULT_MAX_PAYLOAD,
            max_control_line: DEFAULT_MAX_CONTROL_LINE,
            max_pending: DEFAULT_MAX_PENDING,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_subs: 0,
            ping_interval: DEFAULT_PING_INTERVAL,
            ping_max: DEFAULT_PING_MAX,
            write_deadline: DEFAULT_WRITE_DEADLINE,
            no_header_support: false,
            disable_sublist_cache: false,
            max_traced_msg_len: 0,
            lame_duck_duration: DEFAULT_LAME_DUCK_DURATION,
            lame_duck_grace_period: DEFAULT_LAME_DUCK_GRACE_PERIOD,
            username: String::new(),
            password: String::new(),
            authorization: String::new(),
            users: Vec::new(),
            nkeys: Vec::new(),
            accounts: Vec::new(),
            auth_timeout: DEFAULT_AUTH_TIMEOUT,
            no_auth_user: String::new(),
            system_account: String::new(),
            no_system_account: false,
            jetstream: JetStreamOpts::default(),
            default_permissions: None,
            operator: OperatorOptions::default(),
            debug: false,
            trace: false,
            trace_verbose: false,
            logtime: true,
            log_file: None,
            log_size_limit: 0,
            syslog: false,
            remote_syslog: String::new(),
            pid_file: None,
            ports_file_dir: None,
            connect_error_reports: DEFAULT_CONNECT_ERROR_REPORTS,
            reconnect_error_reports: DEFAULT_RECONNECT_ERROR_REPORTS,
            cluster: ClusterOpts::default(),
            tls: None,
            mappings: Vec::new(),
            account_mappings: Vec::new(),
            exports: Vec::new(),
            imports: Vec::new(),
            websocket: WebsocketOpts::default(),
        }
    }
}
