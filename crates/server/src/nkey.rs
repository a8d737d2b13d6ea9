//! Nkey users, as nats-server 2.9.10 has them (`nkey.go`, the nkey part of `auth.go`):
//! when the configuration has nkey users, every client INFO carries a fresh `nonce`
//! (11 bytes from the OS CSPRNG, base64url without padding: 15 characters, see
//! [`crate::ids::nonce`]); a client proves it holds the seed of its public key by sending
//! `nkey` and `sig`, the ed25519 signature of the nonce's text, in CONNECT.
//!
//! Verification is one ed25519 check (tens of microseconds): it runs inline on the
//! reader, unlike bcrypt. The `sig` is never logged (see [`crate::redact`]); a reload
//! does not verify it again but looks up the verified public key, kept in
//! `auth::Credentials::nkey` (the signature of one nonce by one key does not change).

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;

/// nkeys' prefix byte of user public keys (`U` once encoded).
const PREFIX_USER: u8 = 20 << 3;

/// Whether new clients get a nonce in their INFO (Go's `nonceRequired`): there are nkey
/// users, or operator mode is on (user JWTs sign it).
pub fn nonce_required(opts: &crate::options::Options) -> bool {
    !opts.nkeys.is_empty() || opts.operator.enabled()
}

/// Go's `nkeys.IsValidPublicUserKey`: 56 base32 characters with a valid CRC whose prefix
/// says "user".
pub fn is_valid_public_user_key(key: &str) -> bool {
    matches!(nkeys::from_public_key(key), Ok((PREFIX_USER, _)))
}

/// Why a signature was refused, with Go's debug text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigError {
    Missing,
    NotBase64,
    NotVerified,
}

impl std::fmt::Display for SigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SigError::Missing => "Signature missing",
            SigError::NotBase64 => "Signature not valid base64",
            SigError::NotVerified => "Signature not verified",
        })
    }
}

/// Base64 as Go's `RawURLEncoding` decodes it: no padding, trailing bits ignored.
const RAW_URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(true),
);

/// Go's `StdEncoding` (padded), the fallback nats-server accepts for `sig`.
const STD: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical)
        .with_decode_allow_trailing_bits(true),
);

/// Check `sig` (base64url without padding, or standard base64) as the ed25519 signature
/// of `nonce` by the public key `nkey`.
pub fn verify(nkey: &str, sig: &str, nonce: &[u8]) -> Result<(), SigError> {
    if sig.is_empty() {
        return Err(SigError::Missing);
    }
    let raw = RAW_URL
        .decode(sig)
        .or_else(|_| STD.decode(sig))
        .map_err(|_| SigError::NotBase64)?;
    // A key that is not a point of the curve cannot have signed anything: Go finds
    // out at `Verify`, the nkeys crate when reading the key; both say "not verified".
    let key = nkeys::KeyPair::from_public_key(nkey).map_err(|_| SigError::NotVerified)?;
    key.verify(nonce, &raw).map_err(|_| SigError::NotVerified)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_keys_only() {
        let u = nkeys::KeyPair::new_user();
        assert!(is_valid_public_user_key(&u.public_key()));
        assert!(!is_valid_public_user_key(
            &nkeys::KeyPair::new_account().public_key()
        ));
        assert!(!is_valid_public_user_key("UABC"));
        assert!(!is_valid_public_user_key(&u.seed().unwrap()));
        // One character changed: the CRC no longer matches.
        let mut k = u.public_key().into_bytes();
        k[10] = if k[10] == b'A' { b'B' } else { b'A' };
        assert!(!is_valid_public_user_key(&String::from_utf8(k).unwrap()));
    }

    #[test]
    fn signatures_of_the_nonce() {
        let kp = nkeys::KeyPair::new_user();
        let pk = kp.public_key();
        let nonce = crate::ids::nonce();
        let sig = kp.sign(nonce.as_bytes()).unwrap();
        let url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&sig);
        let std = base64::engine::general_purpose::STANDARD.encode(&sig);
        assert_eq!(verify(&pk, &url, nonce.as_bytes()), Ok(()));
        assert_eq!(verify(&pk, &std, nonce.as_bytes()), Ok(()));
        assert_eq!(verify(&pk, "", nonce.as_bytes()), Err(SigError::Missing));
        assert_eq!(
            verify(&pk, "not base64!", nonce.as_bytes()),
            Err(SigError::NotBase64)
        );
        assert_eq!(
            verify(&pk, &url, b"another nonce"),
            Err(SigError::NotVerified)
        );
        let other = nkeys::KeyPair::new_user().public_key();
        assert_eq!(
            verify(&other, &url, nonce.as_bytes()),
            Err(SigError::NotVerified)
        );
        // Too short to be a signature.
        assert_eq!(
            verify(&pk, "AAAA", nonce.as_bytes()),
            Err(SigError::NotVerified)
        );
    }
}
