//! The INFO and CONNECT documents, with nats-server 2.9.10's JSON field names, order and
//! `omitempty` rules. Unknown fields from peers are ignored (serde's default), so newer Go
//! servers and clients can talk to us.
//!
//! Decoding follows Go's `json.Unmarshal` where clients rely on it: CONNECT is laid over
//! the defaults (verbose, pedantic, echo on), and a `null` leaves a field at its default.
//! Encoding should go through [`to_json`], which escapes strings the way Go's
//! `json.Marshal` does (`<`, `>`, `&`, U+2028/9 as `\u…`), so INFO is byte-identical.
//! Known difference: Go matches JSON keys case-insensitively (`"Verbose"` works there);
//! serde matches them exactly.

use serde::{Deserialize, Deserializer, Serialize};

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// `null` decodes to the type's default, as Go leaves the field untouched.
fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// For the CONNECT flags that default to true: `null` keeps them true.
fn null_true<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or(true))
}

/// Go only acts on a non-empty `gateway`; `""` and `null` mean "not a gateway".
fn non_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.filter(|s| !s.is_empty()))
}

/// Serialize like Go's `json.Marshal` (compact, HTML-safe escaping, `\u0008`/`\u000c`).
pub fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(256);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, GoFormatter);
    value.serialize(&mut ser)?;
    Ok(out)
}

/// serde_json's compact output plus the escapes Go adds.
struct GoFormatter;

impl serde_json::ser::Formatter for GoFormatter {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut rest = fragment;
        while let Some(pos) = rest.find(['<', '>', '&', '\u{2028}', '\u{2029}']) {
            let (plain, tail) = rest.split_at(pos);
            w.write_all(plain.as_bytes())?;
            let mut chars = tail.chars();
            let esc: &[u8] = match chars.next() {
                Some('<') => b"\\u003c",
                Some('>') => b"\\u003e",
                Some('&') => b"\\u0026",
                Some('\u{2028}') => b"\\u2028",
                _ => b"\\u2029",
            };
            w.write_all(esc)?;
            rest = chars.as_str();
        }
        w.write_all(rest.as_bytes())
    }

    fn write_char_escape<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        esc: serde_json::ser::CharEscape,
    ) -> std::io::Result<()> {
        use serde_json::ser::CharEscape;
        // Go 1.19 writes only \n \r \t as short escapes; \b and \f become \u00XX.
        let bytes: &[u8] = match esc {
            CharEscape::Quote => b"\\\"",
            CharEscape::ReverseSolidus => b"\\\\",
            CharEscape::Solidus => b"/",
            CharEscape::LineFeed => b"\\n",
            CharEscape::CarriageReturn => b"\\r",
            CharEscape::Tab => b"\\t",
            CharEscape::Backspace => b"\\u0008",
            CharEscape::FormFeed => b"\\u000c",
            CharEscape::AsciiControl(c) => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let hex = |n: u8| HEX.get(usize::from(n)).copied().unwrap_or(b'0');
                return w.write_all(&[b'\\', b'u', b'0', b'0', hex(c >> 4), hex(c & 0xf)]);
            }
        };
        w.write_all(bytes)
    }
}

/// INFO as sent to clients and to routes (Go's `server.Info`). Field order is the wire order.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ServerInfo {
    pub server_id: String,
    pub server_name: String,
    pub version: String,
    pub proto: i32,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub git_commit: String,
    pub go: String,
    pub host: String,
    pub port: u16,
    pub headers: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub auth_required: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub tls_required: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub tls_verify: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub tls_available: bool,
    pub max_payload: i64,
    #[serde(skip_serializing_if = "is_false")]
    pub jetstream: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub ip: String,
    #[serde(skip_serializing_if = "is_zero")]
    pub client_id: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_ip: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub nonce: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cluster: String,
    #[serde(skip_serializing_if = "is_false")]
    pub cluster_dynamic: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub domain: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub connect_urls: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ws_connect_urls: Vec<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub ldm: bool,
    /// Read from Go peers (leafnode-origin support); we never announce it.
    #[serde(skip_serializing_if = "is_false")]
    pub lnoc: bool,
    /// Our own implementation version (the `version` field carries the nats-server version
    /// whose behaviour we match, because clients gate features on it). Also tells a peer
    /// that we are one of ours, which enables the deterministic duplicate-route tie-break.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub rs_version: String,
}

/// CONNECT as received from clients and routes (Go's `ClientOpts` plus the route fields).
/// Defaults are the protocol's: verbose, pedantic and echo are on unless the peer says no.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ConnectInfo {
    #[serde(deserialize_with = "null_true")]
    pub echo: bool,
    #[serde(deserialize_with = "null_true")]
    pub verbose: bool,
    #[serde(deserialize_with = "null_true")]
    pub pedantic: bool,
    #[serde(deserialize_with = "null_default")]
    pub tls_required: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    #[serde(deserialize_with = "null_default")]
    pub nkey: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    #[serde(deserialize_with = "null_default")]
    pub jwt: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    #[serde(deserialize_with = "null_default")]
    pub sig: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    #[serde(deserialize_with = "null_default")]
    pub auth_token: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    #[serde(deserialize_with = "null_default")]
    pub user: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    #[serde(deserialize_with = "null_default")]
    pub pass: String,
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    #[serde(deserialize_with = "null_default")]
    pub lang: String,
    #[serde(deserialize_with = "null_default")]
    pub version: String,
    #[serde(deserialize_with = "null_default")]
    pub protocol: i64,
    #[serde(skip_serializing_if = "String::is_empty")]
    #[serde(deserialize_with = "null_default")]
    pub account: String,
    #[serde(skip_serializing_if = "is_false")]
    #[serde(deserialize_with = "null_default")]
    pub new_account: bool,
    #[serde(skip_serializing_if = "is_false")]
    #[serde(deserialize_with = "null_default")]
    pub headers: bool,
    #[serde(skip_serializing_if = "is_false")]
    #[serde(deserialize_with = "null_default")]
    pub no_responders: bool,
    /// Route CONNECT only: the cluster name of the dialling server.
    #[serde(skip_serializing_if = "String::is_empty")]
    #[serde(deserialize_with = "null_default")]
    pub cluster: String,
    #[serde(skip_serializing_if = "is_false")]
    #[serde(deserialize_with = "null_default")]
    pub cluster_dynamic: bool,
    #[serde(skip_serializing_if = "is_false")]
    #[serde(deserialize_with = "null_default")]
    pub lnoc: bool,
    /// Present only on gateway connections; a route rejects it. `""` decodes as `None`,
    /// because Go only looks at a non-empty value.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(deserialize_with = "non_empty")]
    pub gateway: Option<String>,
}

impl Default for ConnectInfo {
    fn default() -> Self {
        ConnectInfo {
            echo: true,
            verbose: true,
            pedantic: true,
            tls_required: false,
            nkey: String::new(),
            jwt: String::new(),
            sig: String::new(),
            auth_token: String::new(),
            user: String::new(),
            pass: String::new(),
            name: String::new(),
            lang: String::new(),
            version: String::new(),
            protocol: 0,
            account: String::new(),
            new_account: false,
            headers: false,
            no_responders: false,
            cluster: String::new(),
            cluster_dynamic: false,
            lnoc: false,
            gateway: None,
        }
    }
}

impl ConnectInfo {
    /// Decode a CONNECT argument as Go's `json.Unmarshal` into `ClientOpts` would: only an
    /// object (or `null`, which leaves the defaults) is accepted; serde alone would also
    /// take an array positionally.
    pub fn from_json(json: &[u8]) -> Result<ConnectInfo, serde_json::Error> {
        from_json_object(json)
    }
}

impl ServerInfo {
    /// Decode an INFO argument; same object-only rule as [`ConnectInfo::from_json`].
    pub fn from_json(json: &[u8]) -> Result<ServerInfo, serde_json::Error> {
        from_json_object(json)
    }
}

fn from_json_object<T>(json: &[u8]) -> Result<T, serde_json::Error>
where
    T: Default + for<'de> Deserialize<'de>,
{
    let v: Option<serde_json::Map<String, serde_json::Value>> = serde_json::from_slice(json)?;
    match v {
        None => Ok(T::default()),
        Some(map) => serde_json::from_value(serde_json::Value::Object(map)),
    }
}

/// The CONNECT a server sends when it dials a route (Go's `connectInfo`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct RouteConnect {
    pub echo: bool,
    pub verbose: bool,
    pub pedantic: bool,
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub user: String,
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub pass: String,
    pub tls_required: bool,
    pub headers: bool,
    /// Our server id.
    pub name: String,
    pub cluster: String,
    #[serde(skip_serializing_if = "is_false", default)]
    pub cluster_dynamic: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// INFO lines captured from nats-server 2.9.10 (client port, then cluster port).
    const GO_CLIENT_INFO: &str = r#"{"server_id":"NA7VXX4R6I7YMRFY5AV3PIAKARZERHWOJXSYJTFL74SJJZ25UHSAXSWZ","server_name":"NA7VXX4R6I7YMRFY5AV3PIAKARZERHWOJXSYJTFL74SJJZ25UHSAXSWZ","version":"2.9.10","proto":1,"go":"go1.19.8","host":"127.0.0.1","port":14223,"headers":true,"max_payload":1048576,"client_id":32,"client_ip":"127.0.0.1","cluster":"demo"}"#;
    const GO_ROUTE_INFO: &str = r#"{"server_id":"NA7VXX4R6I7YMRFY5AV3PIAKARZERHWOJXSYJTFL74SJJZ25UHSAXSWZ","server_name":"NA7VXX4R6I7YMRFY5AV3PIAKARZERHWOJXSYJTFL74SJJZ25UHSAXSWZ","version":"2.9.10","proto":2,"go":"go1.19.8","host":"127.0.0.1","port":16222,"headers":true,"max_payload":1048576,"nonce":"pb3M4zN2dxatB6Q","cluster":"demo","connect_urls":["127.0.0.1:14223"],"lnoc":true}"#;

    fn json<T: Serialize>(v: &T) -> String {
        String::from_utf8(to_json(v).unwrap()).unwrap()
    }

    #[test]
    fn go_info_round_trips_byte_for_byte() {
        for line in [GO_CLIENT_INFO, GO_ROUTE_INFO] {
            let info: ServerInfo = serde_json::from_str(line).unwrap();
            assert_eq!(json(&info), line);
        }
    }

    #[test]
    fn minimal_info_keeps_go_always_present_fields() {
        let info = ServerInfo {
            server_id: "N1".into(),
            server_name: "n1".into(),
            version: "2.9.10".into(),
            proto: 1,
            go: "go1.19.8".into(),
            host: "0.0.0.0".into(),
            port: 4222,
            max_payload: 1 << 20,
            ..ServerInfo::default()
        };
        assert_eq!(
            json(&info),
            r#"{"server_id":"N1","server_name":"n1","version":"2.9.10","proto":1,"go":"go1.19.8","host":"0.0.0.0","port":4222,"headers":false,"max_payload":1048576}"#
        );
    }

    #[test]
    fn strings_escape_like_go() {
        let info = ServerInfo {
            server_name: "a<b&c>d€\u{2028}\u{8}\u{c}\u{1}\"\\/".into(),
            ..ServerInfo::default()
        };
        let out = json(&info);
        assert!(
            out.contains(r#""server_name":"a\u003cb\u0026c\u003ed€\u2028\u0008\u000c\u0001\"\\/""#),
            "{out}"
        );
        let back: ServerInfo = serde_json::from_str(&out).unwrap();
        assert_eq!(back.server_name, info.server_name);
    }

    #[test]
    fn connect_overlays_defaults() {
        let c: ConnectInfo = serde_json::from_str("{}").unwrap();
        assert!(c.verbose && c.pedantic && c.echo);
        assert!(!c.headers && !c.no_responders && c.protocol == 0);

        let c: ConnectInfo = serde_json::from_str(r#"{"verbose":false}"#).unwrap();
        assert!(!c.verbose && c.pedantic && c.echo);

        let c: ConnectInfo = serde_json::from_str(
            r#"{"verbose":null,"name":null,"user":"u","pass":"p","lang":"go","version":"1.2","protocol":1,"headers":true,"no_responders":true,"unknown_field":[1,2]}"#,
        )
        .unwrap();
        assert!(c.verbose);
        assert_eq!((c.user.as_str(), c.pass.as_str()), ("u", "p"));
        assert_eq!((c.lang.as_str(), c.protocol), ("go", 1));
        assert!(c.headers && c.no_responders);
        assert!(c.name.is_empty());
    }

    #[test]
    fn connect_rejects_wrong_types_like_go() {
        assert!(serde_json::from_str::<ConnectInfo>(r#"{"verbose":"no"}"#).is_err());
        assert!(serde_json::from_str::<ConnectInfo>(r#"{"protocol":"1"}"#).is_err());
        assert!(ConnectInfo::from_json(b"").is_err());
        assert!(ConnectInfo::from_json(b"[]").is_err());
        assert!(ConnectInfo::from_json(b"[true]").is_err());
        assert!(ConnectInfo::from_json(b"{} x").is_err());
        assert!(ServerInfo::from_json(b"[]").is_err());
        // Go: unmarshalling `null` into a struct is a no-op, not an error.
        assert_eq!(
            ConnectInfo::from_json(b" null ").unwrap(),
            ConnectInfo::default()
        );
        assert!(!ConnectInfo::from_json(br#" {"echo":false} "#).unwrap().echo);
    }

    #[test]
    fn route_connect_from_go_parses() {
        // What 2.9.10 sends when it dials a route.
        let go = r#"{"echo":true,"verbose":false,"pedantic":false,"tls_required":false,"headers":true,"name":"NB","cluster":"demo","lnoc":true}"#;
        let c: ConnectInfo = serde_json::from_str(go).unwrap();
        assert!(c.echo && !c.verbose && !c.pedantic && c.headers && c.lnoc);
        assert_eq!((c.name.as_str(), c.cluster.as_str()), ("NB", "demo"));
        assert!(c.gateway.is_none() && c.lang.is_empty());

        let gw: ConnectInfo = serde_json::from_str(r#"{"gateway":""}"#).unwrap();
        assert!(gw.gateway.is_none());
        let gw: ConnectInfo = serde_json::from_str(r#"{"gateway":"B"}"#).unwrap();
        assert_eq!(gw.gateway.as_deref(), Some("B"));

        let rc: RouteConnect = serde_json::from_str(go).unwrap();
        assert_eq!(rc.name, "NB");
    }

    #[test]
    fn route_connect_matches_go_shape() {
        let rc = RouteConnect {
            echo: true,
            headers: true,
            name: "NB".into(),
            cluster: "demo".into(),
            ..RouteConnect::default()
        };
        assert_eq!(
            json(&rc),
            r#"{"echo":true,"verbose":false,"pedantic":false,"tls_required":false,"headers":true,"name":"NB","cluster":"demo"}"#
        );
        let rc = RouteConnect {
            user: "u".into(),
            pass: "p".into(),
            cluster_dynamic: true,
            ..rc
        };
        assert_eq!(
            json(&rc),
            r#"{"echo":true,"verbose":false,"pedantic":false,"user":"u","pass":"p","tls_required":false,"headers":true,"name":"NB","cluster":"demo","cluster_dynamic":true}"#
        );
    }

    #[test]
    fn client_connect_serializes_like_go_client_opts() {
        let c = ConnectInfo {
            verbose: false,
            pedantic: false,
            lang: "rust".into(),
            version: "0.1".into(),
            protocol: 1,
            headers: true,
            ..ConnectInfo::default()
        };
        assert_eq!(
            json(&c),
            r#"{"echo":true,"verbose":false,"pedantic":false,"tls_required":false,"name":"","lang":"rust","version":"0.1","protocol":1,"headers":true}"#
        );
    }
}
