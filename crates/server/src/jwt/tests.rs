use super::claims::SigningKey;
use super::*;
use serde_json::json;

fn op() -> nkeys::KeyPair {
    nkeys::KeyPair::new_operator()
}

#[test]
fn operator_account_user_round_trip() {
    let o = op();
    let a = nkeys::KeyPair::new_account();
    let u = nkeys::KeyPair::new_user();
    let ojwt = encode(
        json!({"sub": o.public_key(), "name": "O", "nats": {"type": "operator",
            "system_account": a.public_key(), "signing_keys": []}}),
        &o,
        1000,
    )
    .unwrap();
    assert!(ojwt.starts_with(JWT_PREFIX));
    let oc = decode_operator(&ojwt).unwrap();
    assert_eq!(oc.data.subject, o.public_key());
    assert_eq!(oc.data.issuer, o.public_key());
    assert_eq!(oc.data.issued_at, 1000);
    assert_eq!(oc.operator.system_account, a.public_key());
    assert_eq!(oc.data.id.len(), 52);

    let ajwt = encode(
        json!({"sub": a.public_key(), "name": "A", "nats": {"type": "account",
            "limits": {"conn": 2, "subs": -1, "payload": 10},
            "revocations": {"UX": 5},
            "signing_keys": ["AKEY", {"kind": "user_scope", "key": "ASCOPED", "role": "r",
                "template": {"pub": {"allow": ["x"]}}}]}}),
        &o,
        1,
    )
    .unwrap();
    let ac = decode_account(&ajwt).unwrap();
    assert!(oc.did_sign(&ac.data.issuer, &ac.data.subject));
    assert_eq!(ac.account.limits.conn, 2);
    assert_eq!(ac.account.limits.payload, 10);
    assert_eq!(ac.account.signing_keys["AKEY"], SigningKey::Plain);
    match &ac.account.signing_keys["ASCOPED"] {
        SigningKey::Scoped { role, template } => {
            assert_eq!(role, "r");
            assert_eq!(template.permissions.publish.allow, vec!["x"]);
            // Unlimited unless the template says otherwise.
            assert_eq!((template.subs, template.payload), (-1, -1));
        }
        other => panic!("{other:?}"),
    }
    assert!(ac.is_revoked("UX", 5));
    assert!(!ac.is_revoked("UX", 6));
    assert!(!ac.is_revoked("UY", 1));

    let ujwt = encode(
        json!({"sub": u.public_key(), "nats": {"type": "user", "pub": {"allow": ["a.>"]},
            "sub": {"deny": ["b"]}, "resp": {"max": 1, "ttl": 1000000000}, "subs": -1,
            "payload": 5, "bearer_token": true, "allowed_connection_types": ["STANDARD"],
            "tags": ["t:1"]}}),
        &a,
        7,
    )
    .unwrap();
    let uc = decode_user(&ujwt).unwrap();
    assert_eq!(uc.data.issuer, a.public_key());
    let l = &uc.user.limits;
    assert_eq!(l.permissions.publish.allow, vec!["a.>"]);
    assert_eq!(l.permissions.subscribe.deny, vec!["b"]);
    assert_eq!(
        l.permissions.resp,
        Some(claims::ResponsePermission {
            max: 1,
            ttl: 1_000_000_000
        })
    );
    assert_eq!((l.subs, l.payload, l.data), (-1, 5, 0));
    assert!(l.bearer_token);
    assert_eq!(uc.user.tags, vec!["t:1"]);
    assert!(!uc.has_empty_permissions());
    assert!(matches!(decode(&ujwt), Ok(Claims::User(_))));
    assert_eq!(decode_account(&ujwt), Err(JwtError::Kind("account")));
}

#[test]
fn tampering_and_wrong_issuers_are_refused() {
    let o = op();
    let a = nkeys::KeyPair::new_account();
    let u = nkeys::KeyPair::new_user();
    let good = encode(
        json!({"sub": u.public_key(), "nats": {"type": "user"}}),
        &a,
        1,
    )
    .unwrap();
    assert!(decode_user(&good).is_ok());
    // Another payload under the same signature.
    let parts: Vec<&str> = good.split('.').collect();
    let other = encode(
        json!({"sub": u.public_key(), "nats": {"type": "user", "bearer_token": true}}),
        &a,
        1,
    )
    .unwrap();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        other.split('.').nth(1).unwrap(),
        parts[2]
    );
    assert_eq!(decode(&forged), Err(JwtError::Signature(2)));
    assert_eq!(decode("a.b"), Err(JwtError::Chunks));
    assert_eq!(decode("a.b.c.d"), Err(JwtError::Chunks));
    assert_eq!(decode("!!.b.c"), Err(JwtError::Base64));
    assert_eq!(decode(""), Err(JwtError::Chunks));
    // A user signed by an operator key: verified, but the wrong kind of issuer.
    let by_op = encode(
        json!({"sub": u.public_key(), "nats": {"type": "user"}}),
        &o,
        1,
    )
    .unwrap();
    assert_eq!(decode(&by_op), Err(JwtError::Prefix));
    // An operator signed by an account.
    let op_by_acc = encode(
        json!({"sub": o.public_key(), "nats": {"type": "operator"}}),
        &a,
        1,
    )
    .unwrap();
    assert_eq!(decode(&op_by_acc), Err(JwtError::Prefix));
    // Newer versions are refused before anything else.
    let mut v3 = json!({"sub": "x", "nats": {"type": "user"}});
    v3["nats"]["version"] = 3.into();
    let h = RAW_URL.encode(br#"{"typ":"JWT","alg":"ed25519-nkey"}"#);
    let p = RAW_URL.encode(serde_json::to_vec(&v3).unwrap());
    assert_eq!(decode(&format!("{h}.{p}.AAAA")), Err(JwtError::Version));
    // Headers.
    let bad_alg = RAW_URL.encode(br#"{"typ":"JWT","alg":"HS256"}"#);
    assert_eq!(
        decode(&format!("{bad_alg}.{p}.AAAA")),
        Err(JwtError::Algorithm("HS256".into()))
    );
    let bad_typ = RAW_URL.encode(br#"{"typ":"XYZ","alg":"ed25519-nkey"}"#);
    assert!(matches!(
        decode(&format!("{bad_typ}.{p}.AAAA")),
        Err(JwtError::Type(_))
    ));
}

#[test]
fn garbage_never_panics() {
    for s in [
        "..",
        "eyJ..",
        "eyJ.eyJ.eyJ",
        "e30.e30.e30",
        "e30.bnVsbA.AAAA",
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.e30.AAAA",
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.eyJuYXRzIjpudWxsfQ.AAAA",
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.eyJuYXRzIjoxfQ.AAAA",
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.eyJ0eXBlIjoiYyJ9.AAAA",
    ] {
        assert!(decode(s).is_err(), "{s}");
    }
}

#[test]
fn times() {
    let d = ClaimsData {
        expires: 100,
        not_before: 50,
        ..ClaimsData::default()
    };
    assert_eq!(d.check_times(49), Err(TimeError::NotYetValid));
    assert_eq!(d.check_times(50), Ok(()));
    assert_eq!(d.check_times(100), Ok(()));
    assert_eq!(d.check_times(101), Err(TimeError::Expired));
    assert_eq!(ClaimsData::default().check_times(i64::MAX), Ok(()));
}

#[test]
fn decorated_files() {
    let creds = "-----BEGIN NATS USER JWT-----\neyJabc.def.ghi\n------END NATS USER JWT------\n\n\
        ************************* IMPORTANT *************************\n\
        -----BEGIN USER NKEY SEED-----\nSUAXYZ\n------END USER NKEY SEED------\n";
    assert_eq!(parse_decorated(creds), "eyJabc.def.ghi");
    assert_eq!(parse_decorated("  eyJa.b.c\n"), "eyJa.b.c");
}

#[test]
fn key_kinds() {
    assert!(is_public_key(&op().public_key(), 'O'));
    assert!(!is_public_key(&op().public_key(), 'A'));
    assert!(is_public_key(
        &nkeys::KeyPair::new_account().public_key(),
        'A'
    ));
    assert!(!is_public_key("ABC", 'A'));
}

/// A v1 user JWT (nats.py's test fixture foo-user.creds, issued in 2019): no limits in it,
/// which the library migrates to unlimited subscriptions, data and payload — not zero.
#[test]
fn v1_user_claims_are_unlimited_where_silent() {
    let token = "eyJ0eXAiOiJqd3QiLCJhbGciOiJlZDI1NTE5In0.eyJqdGkiOiJXTURGT1dHV1JGWkRGRFVSM0dPUkdESEtUTTdDUlZBVDQ1RkRFMllNRUY1N0VOQ0JBVFFRIiwiaWF0IjoxNTUzODQwOTQ0LCJpc3MiOiJBRDdTRUFOUzZCQ0JGNkZISUI3U1EzVUdKVlBXNTNCWE9BTFA3NVlYSkJCWFFMN0VBRkI2TkpOQSIsIm5hbWUiOiJmb28tdXNlciIsInN1YiI6IlVDSzVON042Nk9CT0lORlhBWUMyQUNKUVlGU09ENFZZTlU2QVBFSlRBVkZaQjJTVkhMS0dFVzdMIiwidHlwZSI6InVzZXIiLCJuYXRzIjp7InB1YiI6e30sInN1YiI6e319fQ.Vri09BN561m37GvuSWoGN9L9TSkwQbjC_jIv1BCJcoxZqNc_Pa7WbR12b3SAS4_Ip2D9-2HCwyYib1JUEIO8Bg";
    let u = decode_user(token).unwrap();
    assert_eq!(u.data.name, "foo-user");
    let l = &u.user.limits;
    assert_eq!((l.subs, l.data, l.payload), (-1, -1, -1));
}
