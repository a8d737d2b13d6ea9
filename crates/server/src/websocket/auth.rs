//! The options websocket clients authenticate against, derived from the server's: as
//! nats-server's `processClientOrLeafAuthentication` for `WS` clients, the block's
//! `authorization {}` credentials and `no_auth_user` replace the top-level ones when any
//! of them is set (`authOverride`), its `timeout` replaces `auth_timeout`, and a user
//! limited by `allowed_connection_types` needs `WEBSOCKET` in the list.
//!
//! The derived copy is what `auth.rs` checks, unchanged: its rule "a restricted user
//! needs `STANDARD`" becomes "needs `WEBSOCKET`" by rewriting each user's list.

use crate::options::Options;

/// A list that `auth::standard_type_allowed` refuses.
const NOT_WEBSOCKET: &str = "NOT_WEBSOCKET";

pub fn derive(o: &Options) -> Options {
    let mut d = o.clone();
    let wo = &o.websocket;
    if wo.auth_override() {
        d.username = wo.username.clone();
        d.password = wo.password.clone();
        d.authorization = wo.token.clone();
        d.no_auth_user = wo.no_auth_user.clone();
    }
    if wo.auth_timeout > 0.0 {
        d.auth_timeout = wo.auth_timeout;
    }
    let map = |types: &mut Vec<String>| {
        if types.is_empty() {
            return;
        }
        let ok = types.iter().any(|t| t == "WEBSOCKET");
        *types = vec![if ok { "STANDARD" } else { NOT_WEBSOCKET }.to_string()];
    };
    for u in &mut d.users {
        map(&mut u.allowed_connection_types);
    }
    for u in &mut d.nkeys {
        map(&mut u.allowed_connection_types);
    }
    d
}

/// INFO's `auth_required` for websocket clients: Go's, or the override's.
pub fn auth_required(derived: &Options) -> bool {
    crate::auth::auth_required(derived) || derived.websocket.auth_override()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::User;

    #[test]
    fn connection_types_and_override() {
        let o = Options {
            users: vec![
                User {
                    username: "std".into(),
                    allowed_connection_types: vec!["STANDARD".into()],
                    ..Default::default()
                },
                User {
                    username: "web".into(),
                    allowed_connection_types: vec!["WEBSOCKET".into()],
                    ..Default::default()
                },
                User {
                    username: "any".into(),
                    ..Default::default()
                },
            ],
            websocket: crate::options::WebsocketOpts {
                no_auth_user: "web".into(),
                auth_timeout: 5.0,
                ..Default::default()
            },
            ..Default::default()
        };
        let d = derive(&o);
        assert_eq!(d.no_auth_user, "web");
        assert_eq!(d.auth_timeout, 5.0);
        assert!(!crate::auth::standard_allowed(&d.users[0]));
        assert!(crate::auth::standard_allowed(&d.users[1]));
        assert!(crate::auth::standard_allowed(&d.users[2]));
        assert!(auth_required(&d));
    }
}
