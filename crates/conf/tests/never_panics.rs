//! Whatever the bytes, parsing returns (a map or an error) instead of panicking or hanging.

use proptest::prelude::*;

/// Fragments of the config language, so random inputs reach deep states.
const PIECES: &[&str] = &[
    "a",
    "port",
    " ",
    "\t",
    "\n",
    "\r\n",
    ":",
    "=",
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    ",",
    ";",
    "\"",
    "'",
    "\\",
    "\\x4",
    "\\x41",
    "#",
    "//",
    "/",
    "$",
    "$a",
    "$2a$",
    "1",
    "-",
    "2k",
    "3MB",
    "1.5",
    "1.2.3.4:5",
    "2016-05-04T18:53:41Z",
    "2016-",
    "true",
    "include",
    "include x",
    ".",
    "\0",
    "ø",
    "é",
    "\u{2028}",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,200}") {
        let _ = nats_conf::parse_str(&s, None);
    }

    #[test]
    fn arbitrary_fragments_never_panic(parts in proptest::collection::vec(0..PIECES.len(), 0..60)) {
        let s: String = parts.iter().map(|i| PIECES[*i]).collect();
        let _ = nats_conf::parse_str(&s, None);
    }

    #[test]
    fn arbitrary_bytes_in_a_file_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.conf");
        std::fs::write(&path, &bytes).unwrap();
        let _ = nats_conf::parse_file(&path);
    }
}
