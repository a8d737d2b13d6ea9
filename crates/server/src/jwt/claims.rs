//! The claim types of NATS JWTs (nats-io/jwt v2, as nats-server 2.9.10 reads them): the
//! standard fields every claim has ([`ClaimsData`]) and the `nats` object of operator,
//! account and user claims. Only the fields the server acts on are typed; the rest of a
//! claim is ignored, as Go's `encoding/json` ignores unknown fields.
//!
//! Numeric limits keep the library's convention: `-1` is "no limit", and a field that is
//! absent reads as `0`, which for a user's `subs`/`payload` really means zero (nats-server
//! applies it as such). Callers decide what zero means; these types only carry it.

use std::collections::HashMap;

use serde::{Deserialize, Deserializer};

/// The registered claims (`jti`, `iat`, `iss`, `sub`, `exp`, `nbf`, `name`, `aud`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct ClaimsData {
    #[serde(rename = "aud")]
    pub audience: String,
    /// Unix seconds; 0 = never.
    #[serde(rename = "exp")]
    pub expires: i64,
    #[serde(rename = "jti")]
    pub id: String,
    #[serde(rename = "iat")]
    pub issued_at: i64,
    #[serde(rename = "iss")]
    pub issuer: String,
    pub name: String,
    /// Unix seconds; 0 = no lower bound.
    #[serde(rename = "nbf")]
    pub not_before: i64,
    #[serde(rename = "sub")]
    pub subject: String,
}

/// `pub`/`sub` of a permission set.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct Permission {
    #[serde(deserialize_with = "null_vec")]
    pub allow: Vec<String>,
    #[serde(deserialize_with = "null_vec")]
    pub deny: Vec<String>,
}

impl Permission {
    pub fn is_empty(&self) -> bool {
        self.allow.is_empty() && self.deny.is_empty()
    }
}

/// `resp`: `max` messages within `ttl` (a Go `time.Duration`: nanoseconds).
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct ResponsePermission {
    pub max: i64,
    pub ttl: i64,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct Permissions {
    #[serde(rename = "pub")]
    pub publish: Permission,
    #[serde(rename = "sub")]
    pub subscribe: Permission,
    pub resp: Option<ResponsePermission>,
}

impl Permissions {
    pub fn is_empty(&self) -> bool {
        self.publish.is_empty() && self.subscribe.is_empty() && self.resp.is_none()
    }
}

/// What a user claim (or a scoped signing key's template) grants and limits.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct UserPermissionLimits {
    #[serde(flatten)]
    pub permissions: Permissions,
    // Limits: nats limits and the user limits (source networks, connect times).
    pub subs: i64,
    pub data: i64,
    pub payload: i64,
    #[serde(deserialize_with = "null_vec")]
    pub src: Vec<String>,
    #[serde(deserialize_with = "null_vec")]
    pub times: Vec<TimeRange>,
    #[serde(rename = "times_location")]
    pub locale: String,
    pub bearer_token: bool,
    #[serde(deserialize_with = "null_vec")]
    pub allowed_connection_types: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct TimeRange {
    pub start: String,
    pub end: String,
}

/// The `nats` object of a user claim.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct User {
    #[serde(flatten)]
    pub limits: UserPermissionLimits,
    /// Set when a signing key of that account issued the claim.
    pub issuer_account: String,
    #[serde(deserialize_with = "null_vec")]
    pub tags: Vec<String>,
}

/// A user claim.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserClaims {
    pub data: ClaimsData,
    pub user: User,
}

impl UserClaims {
    /// The library's `HasEmptyPermissions`: nothing granted or limited at all (what a
    /// scoped signing key requires of the users it signs).
    pub fn has_empty_permissions(&self) -> bool {
        self.user.limits == UserPermissionLimits::default()
    }
}

/// The `nats` object of an operator claim.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct Operator {
    #[serde(deserialize_with = "null_vec")]
    pub signing_keys: Vec<String>,
    pub account_server_url: String,
    #[serde(deserialize_with = "null_vec")]
    pub operator_service_urls: Vec<String>,
    pub system_account: String,
    pub assert_server_version: String,
    pub strict_signing_key_usage: bool,
    #[serde(deserialize_with = "null_vec")]
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct OperatorClaims {
    pub data: ClaimsData,
    pub operator: Operator,
}

impl OperatorClaims {
    /// The library's `DidSign`: did this operator (its identity or one of its signing
    /// keys) issue a claim with issuer `issuer` and subject `subject`?
    pub fn did_sign(&self, issuer: &str, subject: &str) -> bool {
        if issuer == self.data.subject {
            return !self.operator.strict_signing_key_usage || subject == self.data.subject;
        }
        self.operator.signing_keys.iter().any(|k| k == issuer)
    }
}

/// An account's `limits` (nats, account and JetStream limits in one object).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default)]
pub struct OperatorLimits {
    pub subs: i64,
    pub data: i64,
    pub payload: i64,
    pub imports: i64,
    pub exports: i64,
    #[serde(rename = "wildcards")]
    pub wildcard_exports: bool,
    pub disallow_bearer: bool,
    pub conn: i64,
    pub leaf: i64,
    pub mem_storage: i64,
    pub disk_storage: i64,
    #[serde(deserialize_with = "null_map")]
    pub tiered_limits: HashMap<String, serde_json::Value>,
}

impl Default for OperatorLimits {
    /// Absent `limits` read as zeros, as in Go (where zero conn means "none allowed"
    /// only once the library's defaults were not applied; see the module doc).
    fn default() -> Self {
        OperatorLimits {
            subs: 0,
            data: 0,
            payload: 0,
            imports: 0,
            exports: 0,
            wildcard_exports: false,
            disallow_bearer: false,
            conn: 0,
            leaf: 0,
            mem_storage: 0,
            disk_storage: 0,
            tiered_limits: HashMap::new(),
        }
    }
}

impl OperatorLimits {
    /// JetStream is enabled for the account (nats-server refuses to run it without
    /// JetStream; we have none).
    pub fn jetstream_enabled(&self) -> bool {
        self.mem_storage != 0 || self.disk_storage != 0 || !self.tiered_limits.is_empty()
    }
}

/// One export of an account claim.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct Export {
    pub name: String,
    pub subject: String,
    /// `"stream"` or `"service"`.
    #[serde(rename = "type")]
    pub kind: String,
    pub token_req: bool,
    #[serde(deserialize_with = "null_map")]
    pub revocations: HashMap<String, i64>,
    /// `"Singleton"`, `"Stream"` or `"Chunked"` (service exports).
    pub response_type: String,
    /// Go duration (ns).
    pub response_threshold: i64,
    pub account_token_position: u32,
    pub advertise: bool,
    pub latency: Option<serde_json::Value>,
}

/// One import of an account claim.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct Import {
    pub name: String,
    pub subject: String,
    /// The exporting account's public key.
    pub account: String,
    /// An activation token (a JWT) for a private export.
    pub token: String,
    /// Deprecated name of `local_subject` for stream imports.
    pub to: String,
    pub local_subject: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub share: bool,
}

/// One signing key of an account: a plain key, or a key with a user scope (the users it
/// signs get the scope's `template`, whatever their own claim says).
#[derive(Debug, Clone, PartialEq)]
pub enum SigningKey {
    Plain,
    Scoped {
        role: String,
        template: Box<UserPermissionLimits>,
    },
}

/// The `nats` object of an account claim.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct Account {
    #[serde(deserialize_with = "null_vec")]
    pub imports: Vec<Import>,
    #[serde(deserialize_with = "null_vec")]
    pub exports: Vec<Export>,
    pub limits: OperatorLimits,
    #[serde(deserialize_with = "signing_keys")]
    pub signing_keys: HashMap<String, SigningKey>,
    /// User public key (or `*`) → unix seconds: users whose JWT was issued at or before
    /// that time are revoked.
    #[serde(deserialize_with = "null_map")]
    pub revocations: HashMap<String, i64>,
    pub default_permissions: Permissions,
    #[serde(deserialize_with = "null_map")]
    pub mappings: HashMap<String, serde_json::Value>,
    #[serde(deserialize_with = "null_vec")]
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccountClaims {
    pub data: ClaimsData,
    pub account: Account,
}

impl AccountClaims {
    /// nats-server's `isRevoked`: is a user JWT with this subject issued at `issued_at`
    /// revoked (by key, or by `*` for everyone)?
    pub fn is_revoked(&self, user: &str, issued_at: i64) -> bool {
        let r = &self.account.revocations;
        let at = |k: &str| r.get(k).is_some_and(|t| *t >= issued_at);
        at(user) || at("*")
    }
}

/// `null` reads as empty, as Go leaves a nil slice.
fn null_vec<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

fn null_map<'de, D, T>(d: D) -> Result<HashMap<String, T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<HashMap<String, T>>::deserialize(d)?.unwrap_or_default())
}

/// `signing_keys`: an array of keys, each a string or a scope object
/// `{kind: "user_scope", key, role, template}`.
fn signing_keys<'de, D>(d: D) -> Result<HashMap<String, SigningKey>, D::Error>
where
    D: Deserializer<'de>,
{
    use serde::de::Error;
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Entry {
        Key(String),
        Scope(Scope),
    }
    #[derive(Deserialize)]
    struct Scope {
        kind: String,
        key: String,
        #[serde(default)]
        role: String,
        #[serde(default)]
        template: Option<serde_json::Value>,
    }
    let mut out = HashMap::new();
    for e in Option::<Vec<Entry>>::deserialize(d)?.unwrap_or_default() {
        match e {
            Entry::Key(k) => {
                out.insert(k, SigningKey::Plain);
            }
            Entry::Scope(s) if s.kind == "user_scope" => {
                // The library starts a scope's template with unlimited nats limits
                // before reading it: an absent `subs` is -1 here, not 0.
                let mut t = serde_json::json!({"subs": -1, "data": -1, "payload": -1});
                if let (Some(o), Some(serde_json::Value::Object(given))) =
                    (t.as_object_mut(), s.template)
                {
                    o.extend(given);
                }
                let template = UserPermissionLimits::deserialize(t).map_err(D::Error::custom)?;
                out.insert(
                    s.key,
                    SigningKey::Scoped {
                        role: s.role,
                        template: Box::new(template),
                    },
                );
            }
            Entry::Scope(s) => {
                return Err(D::Error::custom(format!(
                    "unknown signing key scope {:?}",
                    s.kind
                )))
            }
        }
    }
    Ok(out)
}

/// An activation token: the exporter (`iss`, or a signing key of `issuer_account`)
/// lets the account in `sub` import `subject` of a private export.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActivationClaims {
    pub data: ClaimsData,
    pub activation: Activation,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct Activation {
    pub subject: String,
    /// `"stream"` or `"service"`.
    pub kind: String,
    pub issuer_account: String,
}
