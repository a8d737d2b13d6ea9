//! What `verify_and_map` and `pinned_certs` read from a peer certificate, with a minimal
//! DER reader (the certificate was already verified by rustls; malformed input gives
//! `None`, never a panic), and the subject strings nats-server 2.9.10 matches user names
//! against (`checkClientTLSCertSubject`): e-mail and DNS and URI subject alternative
//! names, Go's `pkix.RDNSequence.String()` of the subject (with and without the domain
//! components), and an LDAP DN comparison that ignores RDN order (`ldap.DN.RDNsMatch`).

/// The parts of a certificate we use.
#[derive(Debug, Default)]
pub struct Cert<'a> {
    /// The whole SubjectPublicKeyInfo (for `pinned_certs`).
    pub spki: &'a [u8],
    /// The subject's RDNs in certificate order: each a list of (OID bytes, string value).
    pub subject: Vec<Vec<(&'a [u8], Option<String>)>>,
    pub emails: Vec<String>,
    pub dns: Vec<String>,
    pub uris: Vec<String>,
}

/// One DER element: (tag, contents, rest).
fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, b) = b.split_first()?;
    let (&l0, mut b) = b.split_first()?;
    let len = if l0 < 0x80 {
        l0 as usize
    } else {
        let n = (l0 & 0x7f) as usize;
        if n == 0 || n > 4 || b.len() < n {
            return None;
        }
        let mut len = 0usize;
        for &x in &b[..n] {
            len = (len << 8) | x as usize;
        }
        b = &b[n..];
        len
    };
    if b.len() < len {
        return None;
    }
    Some((tag, &b[..len], &b[len..]))
}

/// An element: tag, contents, the whole element with its header, what follows.
type Element<'a> = (u8, &'a [u8], &'a [u8], &'a [u8]);

/// The element with its header (for hashing the SPKI).
fn tlv_full(b: &[u8]) -> Option<Element<'_>> {
    let (tag, body, rest) = tlv(b)?;
    let full = &b[..b.len() - rest.len()];
    Some((tag, body, full, rest))
}

/// A string attribute value as Go's asn1 decodes it into `interface{}`.
fn string_value(tag: u8, body: &[u8]) -> Option<String> {
    match tag {
        // UTF8String, PrintableString, IA5String, NumericString
        0x0c | 0x13 | 0x16 | 0x12 => String::from_utf8(body.to_vec()).ok(),
        // T61String: Go reads it as Latin-1.
        0x14 => Some(body.iter().map(|&c| c as char).collect()),
        // BMPString: UTF-16BE.
        0x1e if body.len().is_multiple_of(2) => {
            let units: Vec<u16> = body
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        _ => None,
    }
}

pub fn parse(der: &[u8]) -> Option<Cert<'_>> {
    let (_, cert, _) = tlv(der)?;
    let (_, tbs, _) = tlv(cert)?;
    let mut rest = tbs;
    let mut next = || -> Option<(u8, &[u8], &[u8])> {
        let (tag, body, full, r) = tlv_full(rest)?;
        rest = r;
        Some((tag, body, full))
    };
    let mut e = next()?;
    if e.0 == 0xa0 {
        e = next()?; // version
    }
    let _serial = e;
    let _sig = next()?;
    let _issuer = next()?;
    let _validity = next()?;
    let (_, subject, _) = next()?;
    let (_, _, spki) = next()?;
    let mut out = Cert {
        spki,
        ..Default::default()
    };
    let mut s = subject;
    while let Some((_, set, r)) = tlv(s) {
        s = r;
        let mut rdn = Vec::new();
        let mut a = set;
        while let Some((_, atv, r2)) = tlv(a) {
            a = r2;
            let (_, oid, vrest) = tlv(atv)?;
            let (vtag, vbody, _) = tlv(vrest)?;
            rdn.push((oid, string_value(vtag, vbody)));
        }
        out.subject.push(rdn);
    }
    while let Some((tag, body, _)) = next() {
        if tag != 0xa3 {
            continue;
        }
        let (_, mut exts, _) = tlv(body)?;
        while let Some((_, ext, r)) = tlv(exts) {
            exts = r;
            let (_, oid, mut er) = tlv(ext)?;
            if oid != [0x55, 0x1d, 0x11] {
                continue;
            }
            let (mut t, mut v, r2) = tlv(er)?;
            if t == 0x01 {
                er = r2;
                (t, v, _) = tlv(er)?;
            }
            if t != 0x04 {
                continue;
            }
            let (_, mut names, _) = tlv(v)?;
            while let Some((nt, nv, r3)) = tlv(names) {
                names = r3;
                let text = String::from_utf8_lossy(nv).into_owned();
                match nt {
                    0x81 => out.emails.push(text),
                    0x82 => out.dns.push(text),
                    0x86 => out.uris.push(text),
                    _ => {}
                }
            }
        }
    }
    Some(out)
}

const CN: &[u8] = &[0x55, 0x04, 0x03];
const DC: &[u8] = &[0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19];

/// Go's and go-ldap's short names for attribute types.
fn type_name(oid: &[u8]) -> Option<&'static str> {
    Some(match oid {
        [0x55, 0x04, 0x03] => "CN",
        [0x55, 0x04, 0x05] => "SERIALNUMBER",
        [0x55, 0x04, 0x06] => "C",
        [0x55, 0x04, 0x07] => "L",
        [0x55, 0x04, 0x08] => "ST",
        [0x55, 0x04, 0x09] => "STREET",
        [0x55, 0x04, 0x0a] => "O",
        [0x55, 0x04, 0x0b] => "OU",
        [0x55, 0x04, 0x11] => "POSTALCODE",
        _ => return None,
    })
}

fn escape(v: &str) -> String {
    let n = v.chars().count();
    let mut out = String::with_capacity(v.len());
    for (k, c) in v.chars().enumerate() {
        let esc = match c {
            ',' | '+' | '"' | '\\' | '<' | '>' | ';' => true,
            ' ' => k == 0 || k == n - 1,
            '#' => k == 0,
            _ => false,
        };
        if esc {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl Cert<'_> {
    /// Go's `cert.Subject.ToRDNSequence().String()`: the subject rebuilt from the
    /// attributes Go's `pkix.Name` keeps (C, ST, L, STREET, POSTALCODE, O, OU, the last
    /// CN, SERIALNUMBER; one RDN per type), printed last to first.
    pub fn go_subject(&self) -> String {
        let values = |oid: &[u8]| -> Vec<&str> {
            self.subject
                .iter()
                .flatten()
                .filter(|(o, _)| *o == oid)
                .filter_map(|(_, v)| v.as_deref())
                .collect()
        };
        let mut rdns: Vec<String> = Vec::new();
        for oid in [
            &[0x55, 0x04, 0x06][..],
            &[0x55, 0x04, 0x08],
            &[0x55, 0x04, 0x07],
            &[0x55, 0x04, 0x09],
            &[0x55, 0x04, 0x11],
            &[0x55, 0x04, 0x0a],
            &[0x55, 0x04, 0x0b],
        ] {
            let v = values(oid);
            if !v.is_empty() {
                let name = type_name(oid).unwrap_or_default();
                rdns.push(
                    v.iter()
                        .map(|x| format!("{name}={}", escape(x)))
                        .collect::<Vec<_>>()
                        .join("+"),
                );
            }
        }
        if let Some(cn) = values(CN).last() {
            rdns.push(format!("CN={}", escape(cn)));
        }
        if let Some(sn) = values(&[0x55, 0x04, 0x05]).last() {
            rdns.push(format!("SERIALNUMBER={}", escape(sn)));
        }
        rdns.reverse();
        rdns.join(",")
    }

    /// nats-server's `getTLSAuthDCs`: `DC=a,DC=b` in certificate order.
    pub fn dcs(&self) -> String {
        self.subject
            .iter()
            .flatten()
            .filter(|(o, _)| *o == DC)
            .filter_map(|(_, v)| v.as_ref().map(|v| format!("DC={v}")))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// go-ldap's `FromRawCertSubject`: RDNs last to first, attributes of an RDN last to
    /// first; `None` when an attribute is of a type it does not know or not a string.
    pub fn ldap_dn(&self) -> Option<Dn> {
        let mut rdns = Vec::new();
        for rdn in self.subject.iter().rev() {
            if rdn.is_empty() {
                continue;
            }
            let mut attrs = Vec::new();
            for (oid, v) in rdn.iter().rev() {
                let t = if *oid == DC { "DC" } else { type_name(oid)? };
                attrs.push((t.to_string(), v.clone()?));
            }
            rdns.push(attrs);
        }
        Some(Dn(rdns))
    }
}

/// An LDAP distinguished name: RDNs of (type, value) attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct Dn(pub Vec<Vec<(String, String)>>);

impl Dn {
    /// go-ldap's `ParseDN` (RFC 4514 escapes, `\XX` hex, no BER values).
    pub fn parse(s: &str) -> Option<Dn> {
        let b = s.as_bytes();
        let mut rdns = Vec::new();
        let mut rdn = Vec::new();
        let mut buf: Vec<u8> = Vec::new();
        let mut typ: Option<String> = None;
        let mut trailing = 0usize;
        let mut i = 0;
        let take = |buf: &mut Vec<u8>, trailing: &mut usize| -> String {
            let end = buf.len() - *trailing;
            let s = String::from_utf8_lossy(&buf[..end]).into_owned();
            buf.clear();
            *trailing = 0;
            s
        };
        while i < b.len() {
            let c = b[i];
            match c {
                b'\\' => {
                    trailing = 0;
                    let n = *b.get(i + 1)?;
                    if b" \"#+,;<=>\\".contains(&n) {
                        buf.push(n);
                        i += 2;
                        continue;
                    }
                    let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                    buf.push(u8::from_str_radix(hex, 16).ok()?);
                    i += 3;
                    continue;
                }
                b'=' => {
                    typ = Some(take(&mut buf, &mut trailing));
                    if b.get(i + 1) == Some(&b'#') {
                        return None;
                    }
                }
                b',' | b'+' => {
                    let t = typ.take().filter(|t| !t.is_empty())?;
                    rdn.push((t, take(&mut buf, &mut trailing)));
                    if c == b',' {
                        rdns.push(std::mem::take(&mut rdn));
                    }
                }
                b' ' if buf.is_empty() => {}
                _ => {
                    if c == b' ' {
                        trailing += 1;
                    } else {
                        trailing = 0;
                    }
                    buf.push(c);
                }
            }
            i += 1;
        }
        if !buf.is_empty() {
            let t = typ.take().filter(|t| !t.is_empty())?;
            rdn.push((t, take(&mut buf, &mut trailing)));
            rdns.push(rdn);
        }
        Some(Dn(rdns))
    }

    fn rdn_eq(a: &[(String, String)], b: &[(String, String)]) -> bool {
        let has = |x: &[(String, String)], y: &[(String, String)]| {
            y.iter().all(|(t, v)| {
                x.iter()
                    .any(|(t2, v2)| t2.eq_ignore_ascii_case(t) && v2 == v)
            })
        };
        a.len() == b.len() && has(a, b) && has(b, a)
    }

    /// go-ldap's `Equal` (same order) or `RDNsMatch` (any order).
    pub fn matches(&self, other: &Dn) -> bool {
        self.0.len() == other.0.len()
            && self
                .0
                .iter()
                .all(|r| other.0.iter().any(|o| Dn::rdn_eq(r, o)))
    }
}

/// Hex SHA-256 of the SubjectPublicKeyInfo: the key `pinned_certs` lists.
pub fn spki_sha256_hex(der: &[u8]) -> Option<String> {
    use sha2::Digest;
    let c = parse(der)?;
    let h = sha2::Sha256::digest(c.spki);
    Some(h.iter().map(|b| format!("{b:02x}")).collect())
}

/// The name a certificate maps to (nats-server's `checkClientTLSCertSubject`): the first
/// candidate, in Go's order, that `found` accepts. `found(name, dn, is_dns)` gets each
/// e-mail, DNS and URI SAN, then (with `name` empty) the subject as an LDAP DN, then the
/// RDN string with the domain components, then without.
pub fn map_subject<T>(
    der: &[u8],
    mut found: impl FnMut(&str, Option<&Dn>, bool) -> Option<T>,
) -> Option<T> {
    let c = parse(der)?;
    let subject = c.go_subject();
    if c.emails.is_empty() && subject.is_empty() && c.uris.is_empty() {
        return None;
    }
    for e in &c.emails {
        if let Some(t) = found(e, None, false) {
            return Some(t);
        }
    }
    for d in &c.dns {
        if let Some(t) = found(d, None, true) {
            return Some(t);
        }
    }
    for u in &c.uris {
        if let Some(t) = found(u, None, false) {
            return Some(t);
        }
    }
    if let Some(dn) = c.ldap_dn() {
        if let Some(t) = found("", Some(&dn), false) {
            return Some(t);
        }
    }
    let dcs = c.dcs();
    if !dcs.is_empty() {
        if let Some(t) = found(&format!("{subject},{dcs}"), None, false) {
            return Some(t);
        }
    }
    found(&subject, None, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldap_dn_parse_and_match_in_any_order() {
        let a = Dn::parse("CN=app, OU=NATS.io,O=Synadia\\, Inc").unwrap();
        assert_eq!(
            a.0,
            vec![
                vec![("CN".into(), "app".into())],
                vec![("OU".into(), "NATS.io".into())],
                vec![("O".into(), "Synadia, Inc".into())]
            ]
        );
        let b = Dn::parse("o=Synadia\\2C Inc,CN=app,OU=NATS.io").unwrap();
        assert!(a.matches(&b));
        assert!(!a.matches(&Dn::parse("CN=app,OU=NATS.io").unwrap()));
        assert!(Dn::parse("CN=#04").is_none());
    }

    #[test]
    fn go_escaping() {
        assert_eq!(escape(" a,b "), "\\ a\\,b\\ ");
        assert_eq!(escape("#x#"), "\\#x#");
    }

    #[test]
    fn garbage_is_none() {
        assert!(parse(b"").is_none());
        assert!(parse(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_none());
        assert!(parse(&[0x30, 0x03, 0x30, 0x01, 0x02]).is_none());
    }
}
