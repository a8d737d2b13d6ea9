//! Subject and token rules shared by the index and the server.
//!
//! A subject is a byte string of tokens separated by `.`. `*` and `>` are wildcards only
//! when they make up a whole token (`foo*` and `foo>` are ordinary literal tokens). None of
//! these functions allocate: they walk the bytes once, which matters because
//! [`subject_matches`] runs for every cached subject when a wildcard subscription changes.
//!
//! Subjects are not required to be UTF-8; only the ASCII bytes `.`, `*`, `>` and the
//! whitespace set (space, TAB, CR, LF, FF) have meaning.

/// Token separator.
pub(crate) const SEP: u8 = b'.';

/// Is `token` the single-token wildcard `*`?
#[inline]
pub(crate) fn is_pwc(token: &[u8]) -> bool {
    token == b"*"
}

/// Is `token` the trailing wildcard `>`?
#[inline]
pub(crate) fn is_fwc(token: &[u8]) -> bool {
    token == b">"
}

/// The whitespace bytes the Go server refuses inside subjects.
#[inline]
fn is_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0x0c)
}

/// Splits off the first token: `(token, rest)` where `rest` is `None` after the last token.
#[inline]
pub(crate) fn split_token(subject: &[u8]) -> (&[u8], Option<&[u8]>) {
    match subject.iter().position(|&b| b == SEP) {
        Some(i) => (&subject[..i], Some(&subject[i + 1..])),
        None => (subject, None),
    }
}

/// Does `subject` consist of one or more non-empty tokens? (No leading, trailing or
/// doubled dots, and not empty.) This is the only structural rule the trie needs.
#[inline]
pub(crate) fn has_no_empty_tokens(subject: &[u8]) -> bool {
    !subject.is_empty()
        && subject[0] != SEP
        && subject[subject.len() - 1] != SEP
        && !subject.windows(2).any(|w| w == b"..")
}

/// Does `subject` contain a whole-token `*` or `>`? Assumes nothing about validity.
pub(crate) fn has_wildcard(subject: &[u8]) -> bool {
    subject.split(|&b| b == SEP).any(|t| is_pwc(t) || is_fwc(t))
}

/// A subscription subject: non-empty tokens separated by `.`, `*` and `>` only as whole
/// tokens, `>` only last, no whitespace (space, TAB, CR, LF, FF).
pub fn is_valid_subject(subject: &[u8]) -> bool {
    if subject.is_empty() {
        return false;
    }
    let mut after_fwc = false;
    for token in subject.split(|&b| b == SEP) {
        if token.is_empty() || after_fwc || token.iter().any(|&b| is_whitespace(b)) {
            return false;
        }
        after_fwc = is_fwc(token);
    }
    true
}

/// A publish subject: valid and without wildcard tokens.
pub fn is_valid_literal_subject(subject: &[u8]) -> bool {
    is_valid_subject(subject) && !has_wildcard(subject)
}

/// Does the literal `subject` match the (possibly wildcard) `pattern`?
///
/// `*` in `pattern` matches exactly one token and `>` one or more trailing tokens; other
/// tokens must be equal. Tokens of `subject` are always taken literally, so a `*` or `>` in
/// `subject` is matched only by a wildcard in `pattern` — the same rule the index applies
/// when a client publishes to a subject containing wildcards (`foo.*` published reaches
/// `foo.*`, `foo.>` and `*.*` subscribers, not `foo.bar`). Either side having an empty token
/// (or being empty) never matches.
pub fn subject_matches(pattern: &[u8], subject: &[u8]) -> bool {
    let mut pat = Some(pattern);
    let mut sub = Some(subject);
    loop {
        match (pat, sub) {
            (None, None) => return true,
            (Some(p), Some(s)) => {
                let (pt, prest) = split_token(p);
                let (st, srest) = split_token(s);
                if pt.is_empty() || st.is_empty() {
                    return false;
                }
                if is_fwc(pt) {
                    // `>` must be last in a valid pattern; the rest of the subject only needs
                    // to be well formed, as it is swallowed whole.
                    return prest.is_none() && srest.is_none_or(has_no_empty_tokens);
                }
                if !is_pwc(pt) && pt != st {
                    return false;
                }
                pat = prest;
                sub = srest;
            }
            // Different token counts.
            _ => return false,
        }
    }
}

/// Go's `subjectIsSubsetMatch(subject, test)`: is every subject `subject` can stand for
/// also matched by `test`? Both may hold wildcards: `foo.*` is a subset of `>`, `*.*` and
/// `foo.*`, but not of `foo.bar`; a `>` in `subject` is covered only by a `>` in `test`.
pub fn is_subset_match(subject: &str, test: &str) -> bool {
    let tokens: Vec<&str> = subject.split('.').collect();
    let test: Vec<&str> = test.split('.').collect();
    for (i, t2) in test.iter().enumerate() {
        let Some(t1) = tokens.get(i) else {
            return false;
        };
        if t2.is_empty() {
            return false;
        }
        if *t2 == ">" {
            return true;
        }
        if t1.is_empty() || *t1 == ">" {
            return false;
        }
        if *t1 == "*" {
            if *t2 != "*" {
                return false;
            }
            continue;
        }
        if *t2 != "*" && t1 != t2 {
            return false;
        }
    }
    tokens.len() == test.len()
}

/// Go's `SubjectsCollide`: could one literal subject match both `a` and `b`?
pub fn subjects_collide(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let t1: Vec<&str> = a.split('.').collect();
    let t2: Vec<&str> = b.split('.').collect();
    let (p1, f1) = (t1.contains(&"*"), t1.contains(&">"));
    let (p2, f2) = (t2.contains(&"*"), t2.contains(&">"));
    let (l1, l2) = (!(p1 || f1), !(p2 || f2));
    if l1 && l2 {
        return false;
    }
    if l1 {
        return is_subset_match(a, b);
    }
    if l2 {
        return is_subset_match(b, a);
    }
    if !f1 && !f2 && t1.len() != t2.len() {
        return false;
    }
    if (t1.len() < t2.len() && !f1) || (t2.len() < t1.len() && !f2) {
        return false;
    }
    t1.iter().zip(t2.iter()).all(|(x, y)| {
        let (Some(&c1), Some(&c2)) = (x.as_bytes().first(), y.as_bytes().first()) else {
            return false;
        };
        matches!(c1, b'*' | b'>') || matches!(c2, b'*' | b'>') || x == y
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn subset_and_collide_as_go() {
        assert!(is_subset_match("foo.*", ">"));
        assert!(is_subset_match("foo.*", "*.*"));
        assert!(is_subset_match("foo.*", "foo.*"));
        assert!(!is_subset_match("foo.*", "foo.bar"));
        assert!(!is_subset_match("foo.>", "foo.*"));
        assert!(is_subset_match("foo.bar", "foo.*"));
        assert!(!is_subset_match("foo", "foo.*"));
        assert!(subjects_collide("foo.*", "*.bar"));
        assert!(subjects_collide("foo.>", "foo.a.b"));
        assert!(!subjects_collide("foo.*", "foo.a.b"));
        assert!(!subjects_collide("foo", "bar"));
        assert!(subjects_collide("a.>", "*.b.*"));
        assert!(!subjects_collide("a.*", "*.b.*"));
    }

    use super::*;

    #[test]
    fn valid_subjects() {
        for s in [
            "foo",
            "foo.bar",
            "*",
            ">",
            "foo.*",
            "foo.>",
            "*.*.>",
            "foo*",
            "foo>",
            "foo.bar>",
            "*foo.bar",
            "foo.>bar",
            "\u{e9}t\u{e9}.x",
        ] {
            assert!(is_valid_subject(s.as_bytes()), "{s:?} should be valid");
        }
        for s in [
            "",
            ".",
            "..",
            ".foo",
            "foo.",
            "foo..bar",
            "foo.>.bar",
            ">.foo",
            ">.>",
            "foo bar",
            "foo\tbar",
            "foo.\r",
            "\n",
            "a.\x0c.b",
            " ",
        ] {
            assert!(!is_valid_subject(s.as_bytes()), "{s:?} should be invalid");
        }
        // Not UTF-8 but otherwise fine.
        assert!(is_valid_subject(b"foo.\xff\xfe"));
    }

    #[test]
    fn valid_literal_subjects() {
        for s in ["foo", "foo.bar", "foo*.bar", "foo.bar>", "*foo", "a.b.c.d"] {
            assert!(
                is_valid_literal_subject(s.as_bytes()),
                "{s:?} should be literal"
            );
        }
        for s in [
            "", "*", ">", "foo.*", "foo.>", "*.bar", "foo..bar", "foo.", "a b",
        ] {
            assert!(
                !is_valid_literal_subject(s.as_bytes()),
                "{s:?} should not be literal"
            );
        }
    }

    #[test]
    fn matching() {
        let yes = [
            ("foo", "foo"),
            ("*", "foo"),
            (">", "foo"),
            (">", "foo.bar.baz"),
            ("foo.*", "foo.bar"),
            ("foo.>", "foo.bar"),
            ("foo.>", "foo.bar.baz"),
            ("*.bar", "foo.bar"),
            ("*.*", "foo.bar"),
            ("foo.*.baz", "foo.bar.baz"),
            // Wildcard tokens in the subject are matched only by wildcards.
            ("foo.*", "foo.*"),
            ("foo.>", "foo.*"),
            ("*.*", "foo.*"),
            ("foo.*", "foo.>"),
            ("foo*", "foo*"),
        ];
        for (p, s) in yes {
            assert!(
                subject_matches(p.as_bytes(), s.as_bytes()),
                "{p} should match {s}"
            );
        }
        let no = [
            ("foo", "bar"),
            ("foo", "foo.bar"),
            ("foo.bar", "foo"),
            ("*", "foo.bar"),
            ("foo.*", "foo"),
            ("foo.*", "foo.bar.baz"),
            ("foo.>", "foo"),
            ("foo.bar", "foo.*"),
            ("foo.bar", "foo.>"),
            ("foo*", "foox"),
            ("foo.*", "foo."),
            ("foo.>", "foo..bar"),
            ("*", ""),
            ("", ""),
            ("foo..bar", "foo..bar"),
        ];
        for (p, s) in no {
            assert!(
                !subject_matches(p.as_bytes(), s.as_bytes()),
                "{p} should not match {s}"
            );
        }
    }

    #[test]
    fn helpers() {
        assert_eq!(split_token(b"a.b.c"), (&b"a"[..], Some(&b"b.c"[..])));
        assert_eq!(split_token(b"abc"), (&b"abc"[..], None));
        assert!(has_no_empty_tokens(b"a.b"));
        assert!(!has_no_empty_tokens(b"a..b"));
        assert!(!has_no_empty_tokens(b""));
        assert!(has_wildcard(b"a.*"));
        assert!(has_wildcard(b">"));
        assert!(!has_wildcard(b"a*.b>"));
    }
}
