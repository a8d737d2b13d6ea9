//! Subject and token rules shared by the index and the server.
//!
//! STUB: signatures fixed; bodies to be written.

/// A subscription subject: non-empty tokens separated by `.`, `*` and `>` only as whole
/// tokens, `>` only last, no whitespace (space, TAB, CR, LF, FF).
pub fn is_valid_subject(subject: &[u8]) -> bool {
    let _ = subject;
    todo!()
}

/// A publish subject: valid and without wildcard tokens.
pub fn is_valid_literal_subject(subject: &[u8]) -> bool {
    let _ = subject;
    todo!()
}

/// Does the literal `subject` match the (possibly wildcard) `pattern`?
pub fn subject_matches(pattern: &[u8], subject: &[u8]) -> bool {
    let _ = (pattern, subject);
    todo!()
}
