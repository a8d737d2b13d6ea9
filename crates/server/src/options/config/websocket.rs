//! The `websocket {}` block (alias `ws`), as nats-server 2.9.10's `parseWebsocket` and
//! `parseSimpleAuth` read it. The checks that need the whole configuration (TLS required
//! unless `no_tls`, `no_auth_user` present, credentials beside users) are in
//! `options::flags::validate`, as Go's `validateWebsocketOptions` runs after parsing.
//!
//! Invariant: the block's own credentials sit only inside `authorization {}`; a
//! `username` written directly in the block is an unknown field, as in Go.

use super::value::{effective, go_type, Diag};
use super::{listen, set, tls, units};
use crate::options::Options;
use nats_conf::{Entry, Value};

pub(super) fn parse(o: &mut Options, e: &Entry, d: &mut Diag) {
    let Value::Map(m) = &e.item.value else {
        d.error(
            &e.key_pos,
            format!(
                "Expected websocket to be a map, got {}",
                go_type(&e.item.value)
            ),
        );
        return;
    };
    let ws = &mut o.websocket;
    for f in effective(m) {
        let (pos, v) = (&f.key_pos, &f.item.value);
        match f.key.to_ascii_lowercase().as_str() {
            "listen" => {
                if let Some((h, p)) = listen(d, pos, v) {
                    ws.host = h;
                    ws.port = p;
                }
            }
            "port" => set(&mut ws.port, d.int32(pos, v)),
            "host" | "net" => set(&mut ws.host, d.string(pos, v)),
            "advertise" => set(&mut ws.advertise, d.string(pos, v)),
            "no_tls" => set(&mut ws.no_tls, d.bool(pos, v)),
            "tls" => {
                if let Some(t) = tls::parse(f, d, true) {
                    ws.tls = Some(t);
                }
            }
            "same_origin" => set(&mut ws.same_origin, d.bool(pos, v)),
            "allowed_origins" | "allowed_origin" | "allow_origins" | "allow_origin" | "origins"
            | "origin" => ws.allowed_origins = origins(d, f),
            "handshake_timeout" => {
                ws.handshake_timeout = match v {
                    Value::Int(secs) => std::time::Duration::from_secs((*secs).max(0) as u64),
                    Value::String(s) => match units::parse_go_duration(s) {
                        Ok(n) => units::to_duration(n).unwrap_or_default(),
                        Err(err) => {
                            d.error(pos, err);
                            continue;
                        }
                    },
                    other => {
                        d.error(
                            pos,
                            format!(
                                "error parsing handshake timeout: unsupported type {}",
                                go_type(other)
                            ),
                        );
                        std::time::Duration::ZERO
                    }
                }
            }
            "compress" | "compression" => set(&mut ws.compression, d.bool(pos, v)),
            "authorization" | "authentication" => {
                let Some(am) = d.map(pos, v) else { continue };
                for a in effective(am) {
                    let (apos, av) = (&a.key_pos, &a.item.value);
                    match a.key.to_ascii_lowercase().as_str() {
                        "user" | "username" => set(&mut ws.username, d.string(apos, av)),
                        "pass" | "password" => set(&mut ws.password, d.string(apos, av)),
                        "token" => set(&mut ws.token, d.string(apos, av)),
                        "timeout" => {
                            ws.auth_timeout = match av {
                                Value::Int(i) => *i as f64,
                                Value::Float(x) => *x,
                                _ => 1.0,
                            }
                        }
                        _ => d.unknown(a),
                    }
                }
            }
            "jwt_cookie" => set(&mut ws.jwt_cookie, d.string(pos, v)),
            "no_auth_user" => set(&mut ws.no_auth_user, d.string(pos, v)),
            _ => d.unknown(f),
        }
    }
}

/// `allowed_origins`: one string or an array of strings (Go's `parseStringArray`).
fn origins(d: &mut Diag, f: &Entry) -> Vec<String> {
    match &f.item.value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for it in items {
                match &it.value {
                    Value::String(s) => out.push(s.clone()),
                    other => d.error(
                        &it.pos,
                        format!(
                            "error parsing allowed origins: unsupported type in array {}",
                            go_type(other)
                        ),
                    ),
                }
            }
            out
        }
        _ => Vec::new(),
    }
}
