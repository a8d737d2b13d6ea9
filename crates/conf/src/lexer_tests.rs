//! Token-level cases taken from the behaviour pinned by nats-server's `conf/lex_test.go`
//! (kinds, texts, lines and columns), restated here.

use super::{Kind, Kind::*, Lexer};

/// Lexes `input` to the end (or the first error) and compares every token.
pub(super) fn check(input: &str, want: &[(Kind, &str, u32, u32)]) {
    check_bytes(input.as_bytes(), want)
}

pub(super) fn check_bytes(input: &[u8], want: &[(Kind, &str, u32, u32)]) {
    let mut lx = Lexer::new(input);
    let mut got = Vec::new();
    loop {
        let t = lx.next_token();
        if t.kind == Eof {
            break;
        }
        let stop = t.kind == Error;
        got.push((t.kind, t.text(), t.line, t.col));
        if stop {
            break;
        }
    }
    let want: Vec<(Kind, std::string::String, u32, u32)> = want
        .iter()
        .map(|(k, v, l, c)| (*k, v.to_string(), *l, *c))
        .collect();
    assert_eq!(
        got,
        want,
        "input: {:?}",
        std::string::String::from_utf8_lossy(input)
    );
}

#[test]
fn key_without_value() {
    check("foo", &[(Key, "foo", 1, 0)]);
}

#[test]
fn quoted_and_bare_string_values() {
    check(
        "foo = \"bar\"",
        &[(Key, "foo", 1, 0), (String, "bar", 1, 7)],
    );
    check("foo = 'bar'", &[(Key, "foo", 1, 0), (String, "bar", 1, 7)]);
    check("foo='bar'", &[(Key, "foo", 1, 0), (String, "bar", 1, 5)]);
    check(
        "foo='bar'\r\n",
        &[(Key, "foo", 1, 0), (String, "bar", 1, 5)],
    );
    check(
        "foo=\t'bar'\t",
        &[(Key, "foo", 1, 0), (String, "bar", 1, 6)],
    );
    // Single quotes take no escapes.
    check(
        "foo = 'bar\\r\\n  \\t'",
        &[(Key, "foo", 1, 0), (String, "bar\\r\\n  \\t", 1, 7)],
    );
    check("foo = bar", &[(Key, "foo", 1, 0), (String, "bar", 1, 6)]);
    check("foo = bar' ", &[(Key, "foo", 1, 0), (String, "bar", 1, 6)]);
    check("foo = \"\"", &[(Key, "foo", 1, 0), (String, "", 1, 7)]);
    check("foo = ''", &[(Key, "foo", 1, 0), (String, "", 1, 7)]);
}

#[test]
fn words_that_start_with_digits_are_strings() {
    for src in ["foo = 3xyz", "foo = 3xyz,", "foo = 3xyz;"] {
        check(src, &[(Key, "foo", 1, 0), (String, "3xyz", 1, 6)]);
    }
    check(
        "\n        foo = 3xyz\n        ",
        &[(Key, "foo", 2, 9), (String, "3xyz", 2, 15)],
    );
    check(
        "\n        map {\n          foo = 3xyz}\n        ",
        &[
            (Key, "map", 2, 9),
            (MapStart, "", 2, 14),
            (Key, "foo", 3, 11),
            (String, "3xyz", 3, 17),
            (MapEnd, "", 3, 22),
        ],
    );
    check(
        "\n        map {\n          foo = 3xyz,\n          bar = 4wqs\n        }\n        ",
        &[
            (Key, "map", 2, 9),
            (MapStart, "", 2, 14),
            (Key, "foo", 3, 11),
            (String, "3xyz", 3, 17),
            (Key, "bar", 4, 11),
            (String, "4wqs", 4, 17),
            (MapEnd, "", 5, 10),
        ],
    );
}

#[test]
fn hex_escapes() {
    check("foo = \\x65", &[(Key, "foo", 1, 0), (String, "e", 1, 9)]);
    let mut lx = Lexer::new(b"foo = \\xe9");
    lx.next_token();
    assert_eq!(lx.next_token().val, vec![0xe9]);
    check(
        "foo = \\x45\\x71",
        &[(Key, "foo", 1, 0), (String, "Eq", 1, 12)],
    );
    check(
        "foo = start\\x45\\x71",
        &[(Key, "foo", 1, 0), (String, "startEq", 1, 12)],
    );
    check(
        "foo = start\\x7Cend",
        &[(Key, "foo", 1, 0), (String, "start|end", 1, 9)],
    );
    check(
        "foo = \\x3c\\x3eend",
        &[(Key, "foo", 1, 0), (String, "<>end", 1, 12)],
    );
    check(
        "foo = \\x3cmiddle\\x3E",
        &[(Key, "foo", 1, 0), (String, "<middle>", 1, 12)],
    );
}

#[test]
fn bad_hex_escapes() {
    let eol = "Expected two hexadecimal digits after '\\x', but hit end of line";
    check("foo = xyz\\x\n", &[(Key, "foo", 1, 0), (Error, eol, 2, 1)]);
    check("foo = xyz\\xF\n", &[(Key, "foo", 1, 0), (Error, eol, 2, 1)]);
    check(
        "foo = \"[\\x]\"",
        &[
            (Key, "foo", 1, 0),
            (
                Error,
                "Expected two hexadecimal digits after '\\x', but got ']\"'",
                1,
                12,
            ),
        ],
    );
    check(
        "foo = \"[\\xe]\"",
        &[
            (Key, "foo", 1, 0),
            (
                Error,
                "Expected two hexadecimal digits after '\\x', but got 'e]'",
                1,
                12,
            ),
        ],
    );
}

#[test]
fn escapes() {
    check(
        "\nfoo  = \\t\nbar  = \\r\nbaz  = \\n\nq    = \\\"\nbs   = \\\\\n",
        &[
            (Key, "foo", 2, 1),
            (String, "\t", 2, 9),
            (Key, "bar", 3, 1),
            (String, "\r", 3, 9),
            (Key, "baz", 4, 1),
            (String, "\n", 4, 9),
            (Key, "q", 5, 1),
            (String, "\"", 5, 9),
            (Key, "bs", 6, 1),
            (String, "\\", 6, 9),
        ],
    );
    check(
        "foo = \"\\\\end\"",
        &[(Key, "foo", 1, 0), (String, "\\end", 1, 8)],
    );
    check(
        "foo = \"start\\\\\"",
        &[(Key, "foo", 1, 0), (String, "start\\", 1, 8)],
    );
    check(
        "foo = \\y",
        &[
            (Key, "foo", 1, 0),
            (Error, "Invalid escape character 'y'. Only the following escape characters are allowed: \\xXX, \\t, \\n, \\r, \\\", \\\\.", 1, 8),
        ],
    );
    // An escaped backslash keeps `true` and `$var` from being a bool or a variable.
    check(
        "foo = \\\\true",
        &[(Key, "foo", 1, 0), (String, "\\true", 1, 7)],
    );
    check(
        "foo = \\\\$var",
        &[(Key, "foo", 1, 0), (String, "\\$var", 1, 7)],
    );
}

#[test]
fn integers_and_units() {
    check("foo = 123", &[(Key, "foo", 1, 0), (Integer, "123", 1, 6)]);
    check("foo=123", &[(Key, "foo", 1, 0), (Integer, "123", 1, 4)]);
    check("foo=123\r\n", &[(Key, "foo", 1, 0), (Integer, "123", 1, 4)]);
    check("foo = -123", &[(Key, "foo", 1, 0), (Integer, "-123", 1, 6)]);
    check(
        "foo=-123\r\n",
        &[(Key, "foo", 1, 0), (Integer, "-123", 1, 4)],
    );
    for v in ["1k", "1K", "1m", "1M", "1g", "1G", "1MB", "1Gb", "-1m"] {
        check(
            &format!("foo = {v}"),
            &[(Key, "foo", 1, 0), (Integer, v, 1, 6)],
        );
    }
    check(
        "foo = -1GB ",
        &[(Key, "foo", 1, 0), (Integer, "-1GB", 1, 6)],
    );
    check("foo = 1Ghz", &[(Key, "foo", 1, 0), (String, "1Ghz", 1, 6)]);
    check("foo = 2Pie", &[(Key, "foo", 1, 0), (String, "2Pie", 1, 6)]);
    check("foo = 3Mbs,", &[(Key, "foo", 1, 0), (String, "3Mbs", 1, 6)]);
    check(
        "foo = 4Gb, bar = 5Gø",
        &[
            (Key, "foo", 1, 0),
            (Integer, "4Gb", 1, 6),
            (Key, "bar", 1, 11),
            (String, "5Gø", 1, 17),
        ],
    );
}

#[test]
fn floats_dates_bools_variables() {
    check("foo = 22.2", &[(Key, "foo", 1, 0), (Float, "22.2", 1, 6)]);
    check("foo=22.2\r\n", &[(Key, "foo", 1, 0), (Float, "22.2", 1, 4)]);
    check(
        "foo = .2",
        &[
            (Key, "foo", 1, 0),
            (Error, "Floats must start with a digit", 1, 7),
        ],
    );
    check("foo = true", &[(Key, "foo", 1, 0), (Bool, "true", 1, 6)]);
    check("foo=true\r\n", &[(Key, "foo", 1, 0), (Bool, "true", 1, 4)]);
    check(
        "foo = 2016-05-04T18:53:41Z",
        &[(Key, "foo", 1, 0), (Datetime, "2016-05-04T18:53:41Z", 1, 6)],
    );
    check("foo = $bar", &[(Key, "foo", 1, 0), (Variable, "bar", 1, 7)]);
    check("foo =$bar", &[(Key, "foo", 1, 0), (Variable, "bar", 1, 6)]);
    check("foo $bar", &[(Key, "foo", 1, 0), (Variable, "bar", 1, 5)]);
}

#[test]
fn bad_key_separator() {
    check(
        " :foo = 22",
        &[(Error, "Unexpected key separator ':'", 1, 1)],
    );
}

#[test]
fn comments() {
    check("# This is a comment", &[]);
    check("// This is a comment\r\n", &[]);
    check(
        "foo = 123 // This is a comment",
        &[(Key, "foo", 1, 0), (Integer, "123", 1, 6)],
    );
    check(
        "foo=123    # This is a comment",
        &[(Key, "foo", 1, 0), (Integer, "123", 1, 4)],
    );
}

#[test]
fn arrays() {
    check(
        "foo = [1, 2, 3, 'bar']",
        &[
            (Key, "foo", 1, 0),
            (ArrayStart, "", 1, 7),
            (Integer, "1", 1, 7),
            (Integer, "2", 1, 10),
            (Integer, "3", 1, 13),
            (String, "bar", 1, 17),
            (ArrayEnd, "", 1, 22),
        ],
    );
    check(
        "foo = [1,2,3,'bar']",
        &[
            (Key, "foo", 1, 0),
            (ArrayStart, "", 1, 7),
            (Integer, "1", 1, 7),
            (Integer, "2", 1, 9),
            (Integer, "3", 1, 11),
            (String, "bar", 1, 14),
            (ArrayEnd, "", 1, 19),
        ],
    );
    let multi = "\n# top level comment\nfoo = [\n 1, # One\n 2, // Two\n 3 # Three\n 'bar'     ,\n \"bar\"\n]\n";
    let want = [
        (Key, "foo", 3, 1),
        (ArrayStart, "", 3, 8),
        (Integer, "1", 4, 2),
        (Integer, "2", 5, 2),
        (Integer, "3", 6, 2),
        (String, "bar", 7, 3),
        (String, "bar", 8, 3),
        (ArrayEnd, "", 9, 2),
    ];
    check(multi, &want);
    check(
        "\n# top level comment\nfoo = [\n 1 // foo\n 2\n 3\n 'bar'\n \"bar\"\n]\n",
        &want,
    );
    check(
        "listen = [localhost:4222, localhost:4333]",
        &[
            (Key, "listen", 1, 0),
            (ArrayStart, "", 1, 10),
            (String, "localhost:4222", 1, 10),
            (String, "localhost:4333", 1, 26),
            (ArrayEnd, "", 1, 41),
        ],
    );
}

#[test]
fn a_number_right_before_a_closing_bracket_is_a_string_as_in_go() {
    check(
        "a = [1, 2]\n",
        &[(Key, "a", 1, 0), (ArrayStart, "", 1, 5), (Integer, "1", 1, 5), (String, "2]", 1, 8), (String, "", 2, 1), (Error,
            "Expected an array value terminator \",\" or an array terminator \"]\", but got '\0' instead.", 2, 1)],
    );
}

#[test]
fn maps() {
    check(
        "foo = {ip='127.0.0.1', port = 4242}",
        &[
            (Key, "foo", 1, 0),
            (MapStart, "", 1, 7),
            (Key, "ip", 1, 7),
            (String, "127.0.0.1", 1, 11),
            (Key, "port", 1, 23),
            (Integer, "4242", 1, 30),
            (MapEnd, "", 1, 35),
        ],
    );
    check(
        "\nfoo = {\n  ip = '127.0.0.1' # the IP\n  port= 4242 // the port\n}\n",
        &[
            (Key, "foo", 2, 1),
            (MapStart, "", 2, 8),
            (Key, "ip", 3, 3),
            (String, "127.0.0.1", 3, 9),
            (Key, "port", 4, 3),
            (Integer, "4242", 4, 9),
            (MapEnd, "", 5, 2),
        ],
    );
    check(
        "\nfoo  {\n  host  {\n    ip = '127.0.0.1'\n    port= 4242\n  }\n}\n",
        &[
            (Key, "foo", 2, 1),
            (MapStart, "", 2, 7),
            (Key, "host", 3, 3),
            (MapStart, "", 3, 10),
            (Key, "ip", 4, 5),
            (String, "127.0.0.1", 4, 11),
            (Key, "port", 5, 5),
            (Integer, "4242", 5, 11),
            (MapEnd, "", 6, 4),
            (MapEnd, "", 7, 2),
        ],
    );
    for q in ["'", "\""] {
        check(
            &format!("foo = {{{q}bar{q} = 4242}}"),
            &[
                (Key, "foo", 1, 0),
                (MapStart, "", 1, 7),
                (Key, "bar", 1, 8),
                (Integer, "4242", 1, 15),
                (MapEnd, "", 1, 20),
            ],
        );
        check(
            &format!("foo = {{{q}bar-1.2.3{q} = {{ port:4242 }}}}"),
            &[
                (Key, "foo", 1, 0),
                (MapStart, "", 1, 7),
                (Key, "bar-1.2.3", 1, 8),
                (MapStart, "", 1, 22),
                (Key, "port", 1, 23),
                (Integer, "4242", 1, 28),
                (MapEnd, "", 1, 34),
                (MapEnd, "", 1, 35),
            ],
        );
    }
}

#[test]
fn quoted_keys_and_separators() {
    check("'foo' : 123", &[(Key, "foo", 1, 1), (Integer, "123", 1, 8)]);
    check(
        "\"foo\" : 123",
        &[(Key, "foo", 1, 1), (Integer, "123", 1, 8)],
    );
    check(
        "' foo' : 123",
        &[(Key, " foo", 1, 1), (Integer, "123", 1, 9)],
    );
    check("foo : 123", &[(Key, "foo", 1, 0), (Integer, "123", 1, 6)]);
    check("foo:123", &[(Key, "foo", 1, 0), (Integer, "123", 1, 4)]);
    check("foo: 123", &[(Key, "foo", 1, 0), (Integer, "123", 1, 5)]);
    check(
        "foo:  123\r\n",
        &[(Key, "foo", 1, 0), (Integer, "123", 1, 6)],
    );
    check("foo 123", &[(Key, "foo", 1, 0), (Integer, "123", 1, 4)]);
    check("foo\t123", &[(Key, "foo", 1, 0), (Integer, "123", 1, 4)]);
    check(
        "foo\t\t123\r\n",
        &[(Key, "foo", 1, 0), (Integer, "123", 1, 5)],
    );
}

#[test]
fn semicolons_and_bare_words() {
    check(
        "\nfoo = 123;\nbar = 'baz';\nbaz = 'boo'\nmap {\n id = 1;\n}\n",
        &[
            (Key, "foo", 2, 1),
            (Integer, "123", 2, 7),
            (Key, "bar", 3, 1),
            (String, "baz", 3, 8),
            (Key, "baz", 4, 1),
            (String, "boo", 4, 8),
            (Key, "map", 5, 1),
            (MapStart, "", 5, 6),
            (Key, "id", 6, 2),
            (Integer, "1", 6, 7),
            (MapEnd, "", 7, 2),
        ],
    );
    check(
        "foo='1'; bar=2.2; baz=true;",
        &[
            (Key, "foo", 1, 0),
            (String, "1", 1, 5),
            (Key, "bar", 1, 9),
            (Float, "2.2", 1, 13),
            (Key, "baz", 1, 18),
            (Bool, "true", 1, 22),
        ],
    );
    check(
        "\nfoo = 123\nbar = baz\nbaz=boo\nmap {\n id:one\n id2 : onetwo\n}\nt true\nf false\ntstr \"true\"\ntkey = two\nfkey = five # This should be a string\n",
        &[
            (Key, "foo", 2, 1),
            (Integer, "123", 2, 7),
            (Key, "bar", 3, 1),
            (String, "baz", 3, 7),
            (Key, "baz", 4, 1),
            (String, "boo", 4, 5),
            (Key, "map", 5, 1),
            (MapStart, "", 5, 6),
            (Key, "id", 6, 2),
            (String, "one", 6, 5),
            (Key, "id2", 7, 2),
            (String, "onetwo", 7, 8),
            (MapEnd, "", 8, 2),
            (Key, "t", 9, 1),
            (Bool, "true", 9, 3),
            (Key, "f", 10, 1),
            (Bool, "false", 10, 3),
            (Key, "tstr", 11, 1),
            (String, "true", 11, 7),
            (Key, "tkey", 12, 1),
            (String, "two", 12, 8),
            (Key, "fkey", 13, 1),
            (String, "five", 13, 8),
        ],
    );
}

#[path = "lexer_tests_docs.rs"]
mod docs;
