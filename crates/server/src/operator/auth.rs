//! A CONNECT in operator mode: the user JWT, its account, the signed nonce, and what the
//! user may do (nats-server 2.9.10's JWT branch of `processClientOrLeafAuthentication`,
//! and `buildInternalNkeyUser`).
//!
//! The checks run in Go's order, and a refusal carries Go's debug text (or, for the two
//! that Go logs as errors, the error text), so that a log reads the same.

use std::sync::Arc;
use std::time::Duration;

use nats_proto::info::ConnectInfo;

use super::template::{self, TemplateInput};
use super::{JwtAccount, OperatorMode};
use crate::jwt::{self, claims, UserClaims};
use crate::options::{Permissions, ResponsePermission, SubjectPermission};

/// A user JWT that passed every check.
#[derive(Debug)]
pub struct JwtUser {
    /// The user's public key.
    pub key: String,
    pub account: Arc<JwtAccount>,
    /// The permissions that apply: the user's own (or its scope's), else the account's
    /// `default_permissions`.
    pub permissions: Option<Permissions>,
    /// The user's own limits (`-1`: none), before the account's are laid over them.
    pub subs: i64,
    pub payload: i64,
    /// When the login ends: the JWT's `exp` (unix seconds), or the end of the current
    /// connect-time window, whichever is first.
    pub expires_in: Option<Duration>,
    /// Set when one of the account's signing keys issued the JWT: the key, and what the
    /// account said of it then.
    pub signing_key: Option<(String, claims::SigningKey)>,
    pub bearer: bool,
    pub name: String,
    pub issued_at: i64,
}

/// Why a CONNECT was refused: the text, and whether nats-server logs it as an error
/// (otherwise debug).
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub text: String,
    pub error_level: bool,
}

fn debug(text: impl Into<String>) -> Refusal {
    Refusal {
        text: text.into(),
        error_level: false,
    }
}

/// The connection types nats-server 2.9.10 knows.
const KNOWN_TYPES: &[&str] = &[
    "STANDARD",
    "WEBSOCKET",
    "LEAFNODE",
    "LEAFNODE_WS",
    "MQTT",
    "MQTT_WS",
];

/// Check a CONNECT against operator mode. `nonce` is the one our INFO carried, `host`
/// the client's IP, `now` unix seconds.
pub fn authenticate(
    op: &OperatorMode,
    ci: &ConnectInfo,
    nonce: &[u8],
    host: std::net::IpAddr,
    now: i64,
) -> Result<JwtUser, Refusal> {
    if ci.jwt.is_empty() {
        return Err(debug("Authentication requires a user JWT"));
    }
    let mut uc =
        jwt::decode_user(&ci.jwt).map_err(|e| debug(format!("User JWT not valid: {e}")))?;
    if let Err(e) = uc.data.check_times(now) {
        return Err(debug(format!("User JWT no longer valid: {e}")));
    }
    let types = &uc.user.limits.allowed_connection_types;
    if !types.is_empty() {
        let known: Vec<&String> = types
            .iter()
            .filter(|t| KNOWN_TYPES.contains(&t.as_str()))
            .collect();
        if known.is_empty() {
            return Err(debug("Connection type not allowed"));
        }
        if !known.iter().any(|t| *t == "STANDARD") {
            return Err(debug("Connection type not allowed"));
        }
    }
    let issuer = if uc.user.issuer_account.is_empty() {
        uc.data.issuer.clone()
    } else {
        uc.user.issuer_account.clone()
    };
    let account = op
        .lookup(&issuer)
        .map_err(|e| debug(format!("Account JWT lookup error: {e}")))?;
    let ac = account.claims();
    if !op.is_trusted_issuer(&ac.data.issuer) {
        return Err(debug("Account JWT not signed by trusted operator"));
    }
    // The account's own key signs users unless the account was issued by a signing key
    // of an operator that asks for strict signing key usage (Go's `strictSigningKeyUsage`
    // map, keyed by those signing keys): then only the account's signing keys do.
    let strict = op.operators().iter().any(|o| {
        o.operator.strict_signing_key_usage
            && o.operator.signing_keys.iter().any(|k| *k == ac.data.issuer)
    });
    let signer = &uc.data.issuer;
    let scope = if *signer == ac.data.subject && !strict {
        None
    } else {
        match ac.account.signing_keys.get(signer) {
            None => return Err(debug("User JWT issuer is not known")),
            Some(claims::SigningKey::Plain) => None,
            Some(claims::SigningKey::Scoped { template, .. }) => Some(template.clone()),
        }
    };
    if let Some(t) = scope {
        if !uc.has_empty_permissions() {
            return Err(debug(
                "User JWT is not valid: scoped users require no permissions or limits set",
            ));
        }
        uc.user.limits = apply_template(&t, &uc, &ac)
            .map_err(|_| debug("User JWT generated invalid permissions"))?;
    }
    // An account is expired from its `exp` second on (Go's `checkExpiration`), one
    // second earlier than the library's claim validation says.
    if ac.data.expires > 0 && now >= ac.data.expires {
        return Err(debug("Account JWT has expired"));
    }
    let limits = &uc.user.limits;
    if limits.bearer_token && ac.account.limits.disallow_bearer {
        return Err(debug("Account does not allow bearer token"));
    }
    if !limits.bearer_token {
        if let Err(e) = crate::nkey::verify(&uc.data.subject, &ci.sig, nonce) {
            return Err(debug(e.to_string()));
        }
    }
    if ac.is_revoked(&uc.data.subject, uc.data.issued_at) {
        return Err(debug("User authentication revoked"));
    }
    if !src_allowed(&limits.src, host) {
        return Err(Refusal {
            text: format!("Bad src Ip {host}"),
            error_level: true,
        });
    }
    let window = match connect_window(limits, now) {
        Some(w) => w,
        None => {
            return Err(Refusal {
                text: "Outside connect times".into(),
                error_level: true,
            })
        }
    };
    let permissions = permissions_from_jwt(&limits.permissions)
        .or_else(|| permissions_from_jwt(&ac.account.default_permissions));
    let expires_in = expiry(uc.data.expires, window, now);
    Ok(JwtUser {
        key: uc.data.subject.clone(),
        permissions,
        subs: limits.subs,
        payload: limits.payload,
        expires_in,
        signing_key: ac
            .account
            .signing_keys
            .get(&uc.data.issuer)
            .filter(|_| !uc.user.issuer_account.is_empty())
            .map(|s| (uc.data.issuer.clone(), s.clone())),
        bearer: limits.bearer_token,
        name: uc.data.name.clone(),
        issued_at: uc.data.issued_at,
        account,
    })
}

/// nats-server's `setExpiration`: the JWT's expiry, or the end of the connect-time
/// window when that comes first. `window` is `Some(d)` when times restrict the login.
fn expiry(exp: i64, window: Option<Duration>, now: i64) -> Option<Duration> {
    if exp == 0 {
        return window;
    }
    let at = Duration::from_secs(exp.saturating_sub(now).max(0) as u64);
    match window {
        Some(w) if w < at => Some(w),
        _ => Some(at),
    }
}

/// The scope's template with the user's and account's values filled in.
fn apply_template(
    t: &claims::UserPermissionLimits,
    uc: &UserClaims,
    ac: &jwt::AccountClaims,
) -> Result<claims::UserPermissionLimits, template::InvalidSubject> {
    let inp = TemplateInput {
        user_name: &uc.data.name,
        user_key: &uc.data.subject,
        user_tags: &uc.user.tags,
        account_name: &ac.data.name,
        account_key: &uc.user.issuer_account,
        account_tags: &ac.account.tags,
    };
    let mut out = t.clone();
    let p = &mut out.permissions;
    let sub_had_allow = !p.subscribe.allow.is_empty();
    let pub_had_allow = !p.publish.allow.is_empty();
    p.subscribe.allow = template::apply(&p.subscribe.allow, &inp, false)?;
    p.subscribe.deny = template::apply(&p.subscribe.deny, &inp, true)?;
    p.publish.allow = template::apply(&p.publish.allow, &inp, false)?;
    p.publish.deny = template::apply(&p.publish.deny, &inp, true)?;
    // An allow list that lost every subject must not turn into "allow everything".
    for (had, perm) in [
        (sub_had_allow, &mut p.subscribe),
        (pub_had_allow, &mut p.publish),
    ] {
        if had && perm.allow.is_empty() && !perm.deny.iter().any(|d| d == ">") {
            perm.deny.push(">".into());
        }
    }
    Ok(out)
}

/// nats-server's `buildPermissionsFromJwt` (with `validateResponsePermissions`).
pub fn permissions_from_jwt(p: &claims::Permissions) -> Option<Permissions> {
    let conv = |q: &claims::Permission| {
        (!q.is_empty()).then(|| SubjectPermission {
            allow: q.allow.clone(),
            deny: q.deny.clone(),
        })
    };
    let out = Permissions {
        publish: conv(&p.publish),
        subscribe: conv(&p.subscribe),
        response: p.resp.map(|r| ResponsePermission {
            max_msgs: if r.max == 0 {
                crate::options::DEFAULT_ALLOW_RESPONSE_MAX_MSGS
            } else {
                r.max
            },
            expires: match r.ttl {
                0 => Some(crate::options::DEFAULT_ALLOW_RESPONSE_EXPIRATION),
                t if t < 0 => None,
                t => Some(Duration::from_nanos(t as u64)),
            },
        }),
    };
    (out != Permissions::default()).then_some(out)
}

/// nats-server's `validateSrc`: no list, or the client's address in one of its CIDRs
/// (a malformed CIDR refuses, as the JWT would be invalid).
fn src_allowed(src: &[String], host: std::net::IpAddr) -> bool {
    if src.is_empty() {
        return true;
    }
    // Go accepts a comma-separated list within one entry too (`CIDRList`).
    src.iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .any(|cidr| cidr_contains(cidr, host).unwrap_or(false))
}

fn cidr_contains(cidr: &str, ip: std::net::IpAddr) -> Option<bool> {
    use std::net::IpAddr;
    let (addr, bits) = cidr.split_once('/')?;
    let net: IpAddr = addr.parse().ok()?;
    let bits: u32 = bits.parse().ok()?;
    let ip = match (net, ip) {
        (IpAddr::V4(_), IpAddr::V6(v6)) => v6.to_ipv4_mapped().map(IpAddr::V4)?,
        _ => ip,
    };
    Some(match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) if bits <= 32 => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(n) & mask == u32::from(i) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(i)) if bits <= 128 => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(n) & mask == u128::from(i) & mask
        }
        _ => return None,
    })
}

/// nats-server's `validateTimes`: `Some(None)` when no times restrict the login,
/// `Some(Some(d))` inside a window that ends in `d`, `None` outside every window. Times
/// are read in UTC; a `times_location` other than UTC refuses (we carry no time zone
/// database), which can only deny a login Go would allow.
fn connect_window(l: &claims::UserPermissionLimits, now: i64) -> Option<Option<Duration>> {
    if l.times.is_empty() {
        return Some(None);
    }
    if !l.locale.is_empty() && l.locale != "UTC" {
        return None;
    }
    let day = now.rem_euclid(86_400);
    let parse = |s: &str| -> Option<i64> {
        let mut it = s.split(':').map(|p| p.parse::<i64>().ok());
        let (h, m, s) = (it.next()??, it.next()??, it.next()??);
        Some(h * 3600 + m * 60 + s)
    };
    for r in &l.times {
        let (Some(start), Some(end)) = (parse(&r.start), parse(&r.end)) else {
            return None;
        };
        // A window that wraps past midnight ends the next day.
        let end = if start > end { end + 86_400 } else { end };
        for offset in [0, -86_400] {
            let (s, e) = (start + offset, end + offset);
            if s < day && day < e {
                return Some(Some(Duration::from_secs((e - day) as u64)));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs() {
        let ip = |s: &str| s.parse().unwrap();
        assert!(src_allowed(&[], ip("1.2.3.4")));
        assert!(src_allowed(&["127.0.0.0/8".into()], ip("127.0.0.1")));
        assert!(!src_allowed(&["10.0.0.0/8".into()], ip("127.0.0.1")));
        assert!(src_allowed(
            &["10.0.0.0/8, 127.0.0.1/32".into()],
            ip("127.0.0.1")
        ));
        assert!(src_allowed(&["::1/128".into()], ip("::1")));
        assert!(!src_allowed(&["bogus".into()], ip("::1")));
    }

    #[test]
    fn windows() {
        let l = |start: &str, end: &str| claims::UserPermissionLimits {
            times: vec![claims::TimeRange {
                start: start.into(),
                end: end.into(),
            }],
            ..Default::default()
        };
        let noon = 12 * 3600;
        assert_eq!(
            connect_window(&l("11:00:00", "13:00:00"), noon),
            Some(Some(Duration::from_secs(3600)))
        );
        assert_eq!(connect_window(&l("13:00:00", "14:00:00"), noon), None);
        // Wrapping past midnight.
        assert_eq!(
            connect_window(&l("23:00:00", "01:00:00"), 3600 / 2),
            Some(Some(Duration::from_secs(1800)))
        );
        assert_eq!(
            connect_window(&claims::UserPermissionLimits::default(), noon),
            Some(None)
        );
    }

    #[test]
    fn permissions() {
        assert_eq!(permissions_from_jwt(&claims::Permissions::default()), None);
        let p = permissions_from_jwt(&claims::Permissions {
            resp: Some(claims::ResponsePermission { max: 0, ttl: 0 }),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(p.response.unwrap().max_msgs, 1);
        assert_eq!(p.publish, None);
    }
}
