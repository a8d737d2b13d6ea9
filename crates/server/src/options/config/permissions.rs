//! User permissions in the config file, as nats-server 2.9.10's `parseUserPermissions`,
//! `parseVariablePermissions`, `parseSubjectPermission`, `parseAllowResponses` and
//! `checkPermSubjectArray` read them; and `allowed_connection_types`
//! (`parseAllowedConnectionTypes`).
//!
//! Accepted forms:
//! ```text
//! permissions: {
//!   publish: "foo.>"                              # one subject: the allow list
//!   publish: ["foo.>", "bar"]                     # a list: the allow list
//!   publish: { allow: [...], deny: [...] }        # either may be one string
//!   subscribe: { allow: ["foo.*", "q.> workers"] } # "subject queue" scopes queue subs
//!   allow_responses: true                         # or { max: 5, expires: "1m" }
//! }
//! ```
//! Aliases: `pub`/`import` for `publish`, `sub`/`export` for `subscribe`,
//! `publish_allow_responses` for `allow_responses`, and in `allow_responses`
//! `max_msgs`/`max_messages`/`max_responses` for `max`, `expiration`/`ttl` for `expires`.
//!
//! Invariants: every problem is reported at the position nats-server reports it (the key
//! of the field, or the array element), with its wording; a subject that is not valid (nor
//! a valid subject followed by one queue name) is an error. nats-server omits the position
//! for a bad plain-string or plain-list `publish`/`subscribe` value; we give the key's.

use super::units;
use super::value::{effective, go_display, go_quote, go_type, Diag};
use crate::options::{Permissions, ResponsePermission, SubjectPermission};
use nats_conf::{Entry, Pos, Value};
use nats_sublist::subject::is_valid_subject;

/// `permissions: {...}` of a user, or `default_permissions` of `authorization`. `None`
/// when the value is not a map (reported); problems inside are reported and the rest is
/// kept, as nats-server does.
pub(super) fn user_permissions(e: &Entry, d: &mut Diag) -> Option<Permissions> {
    let Value::Map(m) = &e.item.value else {
        d.error(
            &e.key_pos,
            format!(
                "Expected permissions to be a map/struct, got {}",
                go_display(&e.item.value)
            ),
        );
        return None;
    };
    let mut p = Permissions::default();
    for f in effective(m) {
        match f.key.to_ascii_lowercase().as_str() {
            "pub" | "publish" | "import" => {
                if let Ok(sp) = variable_permissions(f, d) {
                    p.publish = sp;
                }
            }
            "sub" | "subscribe" | "export" => {
                if let Ok(sp) = variable_permissions(f, d) {
                    p.subscribe = sp;
                }
            }
            "publish_allow_responses" | "allow_responses" => match &f.item.value {
                Value::Bool(true) => p.response = Some(ResponsePermission::default()),
                Value::Bool(false) => {}
                Value::Map(rm) => p.response = allow_responses(rm, d),
                _ => d.error(
                    &f.key_pos,
                    "error parsing response permissions, expected a boolean or a map",
                ),
            },
            _ if f.used_as_variable => {}
            _ => d.error(
                &f.key_pos,
                format!("Unknown field {} parsing permissions", go_quote(&f.key)),
            ),
        }
    }
    Some(p)
}

/// `publish`/`subscribe`: a map with `allow`/`deny`, or (old style) a subject or a list of
/// subjects that is the allow list. `Ok(None)` for an empty map (no restriction, as in
/// nats-server); `Err` after reporting a problem.
fn variable_permissions(e: &Entry, d: &mut Diag) -> Result<Option<SubjectPermission>, ()> {
    let Value::Map(m) = &e.item.value else {
        let allow = perm_subjects(&e.key_pos, &e.item.value, d)?;
        return Ok(Some(SubjectPermission {
            allow,
            deny: Vec::new(),
        }));
    };
    if m.entries.is_empty() {
        return Ok(None);
    }
    let mut sp = SubjectPermission::default();
    for f in effective(m) {
        match f.key.to_ascii_lowercase().as_str() {
            "allow" => {
                if let Ok(list) = perm_subjects(&f.key_pos, &f.item.value, d) {
                    sp.allow = list;
                }
            }
            "deny" => {
                if let Ok(list) = perm_subjects(&f.key_pos, &f.item.value, d) {
                    sp.deny = list;
                }
            }
            _ if f.used_as_variable => {}
            _ => d.error(
                &f.key_pos,
                format!(
                    "Unknown field name {} parsing subject permissions, only 'allow' or 'deny' are permitted",
                    go_quote(&f.key)
                ),
            ),
        }
    }
    Ok(Some(sp))
}

/// A subject or a list of subjects, each valid (`checkPermSubjectArray`).
fn perm_subjects(pos: &Pos, v: &Value, d: &mut Diag) -> Result<Vec<String>, ()> {
    let subjects = match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                let Value::String(s) = &item.value else {
                    d.error(
                        &item.pos,
                        "Subject in permissions array cannot be cast to string",
                    );
                    return Err(());
                };
                out.push(s.clone());
            }
            out
        }
        other => {
            d.error(
                pos,
                format!(
                    "Expected subject permissions to be a subject, or array of subjects, got {}",
                    go_type(other)
                ),
            );
            return Err(());
        }
    };
    if let Some(bad) = first_invalid(&subjects) {
        d.error(
            pos,
            format!("subject {} is not a valid subject", go_quote(bad)),
        );
        return Err(());
    }
    Ok(subjects)
}

/// The first entry that is neither a valid subject nor `"<valid subject> <queue>"`, as
/// nats-server quotes it (the subject part alone when there are exactly two fields).
fn first_invalid(subjects: &[String]) -> Option<&str> {
    for s in subjects {
        if is_valid_subject(s.as_bytes()) {
            continue;
        }
        let fields: Vec<&str> = s.split_whitespace().collect();
        if fields.len() != 2 {
            return Some(s);
        }
        if !is_valid_subject(fields[0].as_bytes()) {
            return Some(fields[0]);
        }
    }
    None
}

/// `allow_responses: { max, expires }`. `None` after a problem that makes nats-server drop
/// the whole setting (a bad `max` or `expires`).
fn allow_responses(m: &nats_conf::Map, d: &mut Diag) -> Option<ResponsePermission> {
    let mut rp = ResponsePermission::default();
    for f in effective(m) {
        let (pos, v) = (&f.key_pos, &f.item.value);
        match f.key.to_ascii_lowercase().as_str() {
            "max" | "max_msgs" | "max_messages" | "max_responses" => {
                // Negative means no limit; zero keeps the default.
                let n = d.int(pos, v)?;
                if n != 0 {
                    rp.max_msgs = n;
                }
            }
            "expires" | "expiration" | "ttl" => {
                let Value::String(s) = v else {
                    d.error(pos, "error parsing expires, not a duration string");
                    return None;
                };
                match units::parse_go_duration(s) {
                    // Negative means forever; zero keeps the default.
                    Ok(n) if n < 0 => rp.expires = None,
                    Ok(0) => {}
                    Ok(n) => rp.expires = units::to_duration(n),
                    Err(err) => {
                        d.error(pos, format!("error parsing expires: {err}"));
                        return None;
                    }
                }
            }
            _ if f.used_as_variable => {}
            _ => d.error(
                pos,
                format!("Unknown field {} parsing permissions", go_quote(&f.key)),
            ),
        }
    }
    Some(rp)
}

/// The connection types nats-server 2.9.10 knows (`jwt.ConnectionType*`).
const CONNECTION_TYPES: [&str; 6] = [
    "STANDARD",
    "WEBSOCKET",
    "LEAFNODE",
    "LEAFNODE_WS",
    "MQTT",
    "MQTT_WS",
];

/// `allowed_connection_types`: a string or a list of strings, each a known type (any
/// case). Returns the valid ones, upper case.
pub(super) fn allowed_connection_types(e: &Entry, d: &mut Diag) -> Vec<String> {
    let field = "allowed connection types";
    let strings: Vec<String> = match &e.item.value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(|item| match &item.value {
                Value::String(s) => Some(s.clone()),
                other => {
                    d.error(
                        &item.pos,
                        format!(
                            "error parsing {field}: unsupported type in array {}",
                            go_type(other)
                        ),
                    );
                    None
                }
            })
            .collect(),
        other => {
            d.error(
                &e.key_pos,
                format!("error parsing {field}: unsupported type {}", go_type(other)),
            );
            return Vec::new();
        }
    };
    let mut valid = Vec::new();
    let mut unknown = Vec::new();
    for s in strings {
        let up = s.to_uppercase();
        if CONNECTION_TYPES.contains(&up.as_str()) {
            if !valid.contains(&up) {
                valid.push(up);
            }
        } else {
            unknown.push(go_quote(&up));
        }
    }
    if !unknown.is_empty() {
        d.error(
            &e.key_pos,
            format!("invalid connection types [{}]", unknown.join(" ")),
        );
    }
    valid
}
