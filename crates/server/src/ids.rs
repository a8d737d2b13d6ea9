//! Identifiers: server ids shaped like nats-server's (a 56-character nkey public key
//! starting with `N`), NUIDs (dynamic cluster names) and nonces.
//!
//! The server id only has to look and validate like an nkey for clients and tools that
//! parse it (base32 of prefix byte + 32 key bytes + CRC16); we never sign with it, so the
//! 32 bytes are random rather than an ed25519 public key.

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/// nkeys' prefix byte for server keys ('N' after base32 encoding).
const PREFIX_SERVER: u8 = 13 << 3;

fn crc16(data: &[u8]) -> u16 {
    // CRC-16/XMODEM, as nkeys uses.
    let mut crc: u16 = 0;
    for &b in data {
        crc ^= (b as u16) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

fn base32_nopad(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(5) * 8);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &b in data {
        acc = (acc << 8) | b as u32;
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(BASE32[((acc >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(BASE32[((acc << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// A fresh server id: 56 base32 characters starting with `N`.
pub fn new_server_id() -> String {
    let mut raw = Vec::with_capacity(35);
    raw.push(PREFIX_SERVER);
    raw.extend_from_slice(&os_random(32));
    let crc = crc16(&raw);
    raw.extend_from_slice(&crc.to_le_bytes());
    base32_nopad(&raw)
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A 22-character NUID-style identifier (dynamic cluster names).
pub fn nuid() -> String {
    (0..22)
        .map(|_| BASE62[fastrand::usize(..62)] as char)
        .collect()
}

/// `n` bytes from the operating system's CSPRNG.
///
/// Nonces are what a peer signs to prove who it is, so they must not be predictable:
/// `fastrand` (a fast, non-cryptographic generator) is not used for them.
pub fn os_random(n: usize) -> Vec<u8> {
    let mut b = vec![0u8; n];
    // The OS generator failing (never seen on Linux) is fatal for this connection:
    // better than handing out a guessable nonce.
    getrandom::fill(&mut b).expect("the operating system's random number generator failed");
    b
}

/// A 15-character base64url nonce (11 random bytes from the OS CSPRNG), as route INFOs
/// carry.
pub fn nonce() -> String {
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bytes = os_random(11);
    let mut out = String::with_capacity(15);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |acc, b| (acc << 8) | *b as u32) << (8 * (3 - chunk.len()));
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_id_has_nkey_shape() {
        let id = new_server_id();
        assert_eq!(id.len(), 56);
        assert!(id.starts_with('N'));
        assert!(id.bytes().all(|b| BASE32.contains(&b)));
        assert_ne!(id, new_server_id());
    }

    #[test]
    fn nuid_and_nonce_lengths() {
        assert_eq!(nuid().len(), 22);
        assert_eq!(nonce().len(), 15);
    }

    #[test]
    fn nonces_do_not_come_from_the_seedable_fast_generator() {
        // With fastrand's thread-local generator reseeded to the same value, a nonce
        // drawn from it would repeat; one from the OS CSPRNG does not.
        fastrand::seed(7);
        let a = nonce();
        fastrand::seed(7);
        let b = nonce();
        assert_ne!(a, b);
    }

    #[test]
    fn crc16_known_value() {
        // CRC-16/XMODEM check value.
        assert_eq!(crc16(b"123456789"), 0x31C3);
    }
}
