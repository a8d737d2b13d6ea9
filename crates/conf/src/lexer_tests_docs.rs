//! Token-level cases for whole documents: unterminated values, blocks, addresses, arrays
//! of maps, includes and JSON (restating nats-server's `conf/lex_test.go`).

use super::{check, check_bytes};
use crate::lexer::{Kind::*, Lexer};

#[test]
fn dangling_quotes_maps_and_blocks() {
    for q in ["\"", "'"] {
        check(
            &format!("\nlisten: {q}localhost:4242\n\nhttp: localhost:8222\n"),
            &[(Key, "listen", 2, 1), (Error, "Unexpected EOF.", 5, 1)],
        );
        check(
            &format!("\nfoo = {q}\nlisten: {q}\n\nhttp: localhost:8222\n\n{q}\n"),
            &[
                (Key, "foo", 2, 1),
                (String, "\nlisten: ", 3, 8),
                (Key, "http", 5, 1),
                (String, "localhost:8222", 5, 7),
                (Error, "Unexpected EOF.", 8, 1),
            ],
        );
    }
    check(
        "\nlisten = 4222\n\ncluster = {\n\n  foo = bar\n\n",
        &[
            (Key, "listen", 2, 1),
            (Integer, "4222", 2, 10),
            (Key, "cluster", 4, 1),
            (MapStart, "", 4, 12),
            (Key, "foo", 6, 3),
            (String, "bar", 6, 9),
            (Error, "Unexpected EOF processing map.", 8, 1),
        ],
    );
    check(
        "\nlisten = 4222\n\nquote = (\n\n  foo = bar\n\n",
        &[
            (Key, "listen", 2, 1),
            (Integer, "4222", 2, 10),
            (Key, "quote", 4, 1),
            (Error, "Unexpected EOF processing block.", 8, 1),
        ],
    );
}

#[test]
fn blocks() {
    let block = "\nnumbers (\n1234567890\n)\n";
    check(
        block,
        &[(Key, "numbers", 2, 1), (String, "\n1234567890\n", 4, 10)],
    );
    // A NUL byte in place of the last newline ends the block like end of input.
    let mut nul = block.as_bytes()[..block.len() - 1].to_vec();
    nul.push(0);
    check_bytes(
        &nul,
        &[(Key, "numbers", 2, 1), (String, "\n1234567890\n", 4, 10)],
    );
    check(
        "\nnumbers (\n  12(34)56\n  (\n    7890\n  )\n)\n",
        &[
            (Key, "numbers", 2, 1),
            (String, "\n  12(34)56\n  (\n    7890\n  )\n", 7, 10),
        ],
    );
}

#[test]
fn unquoted_addresses() {
    for (src, kind, val, col) in [
        ("listen: 127.0.0.1:4222", String, "127.0.0.1:4222", 8),
        ("listen: 127.0.0.1", String, "127.0.0.1", 8),
        ("listen: apcera.me:80", String, "apcera.me:80", 8),
        ("listen: nats.io:-1", String, "nats.io:-1", 8),
        ("listen: -1", Integer, "-1", 8),
        ("listen: :-1", String, ":-1", 8),
        ("listen = :80", String, ":80", 9),
    ] {
        check(src, &[(Key, "listen", 1, 0), (kind, val, 1, col)]);
    }
}

#[test]
fn array_of_maps() {
    check(
        "\nauthorization {\n    users = [\n      {user: alice, password: foo}\n      {user: bob,   password: bar}\n    ]\n    timeout: 0.5\n}\n",
        &[
            (Key, "authorization", 2, 1),
            (MapStart, "", 2, 16),
            (Key, "users", 3, 5),
            (ArrayStart, "", 3, 14),
            (MapStart, "", 4, 8),
            (Key, "user", 4, 8),
            (String, "alice", 4, 14),
            (Key, "password", 4, 21),
            (String, "foo", 4, 31),
            (MapEnd, "", 4, 35),
            (MapStart, "", 5, 8),
            (Key, "user", 5, 8),
            (String, "bob", 5, 14),
            (Key, "password", 5, 21),
            (String, "bar", 5, 31),
            (MapEnd, "", 5, 35),
            (ArrayEnd, "", 6, 6),
            (Key, "timeout", 7, 5),
            (Float, "0.5", 7, 14),
            (MapEnd, "", 8, 2),
        ],
    );
}

#[test]
fn includes() {
    check("include \"users.conf\"", &[(Include, "users.conf", 1, 9)]);
    check("include 'users.conf'", &[(Include, "users.conf", 1, 9)]);
    check("include users.conf", &[(Include, "users.conf", 1, 8)]);
    check(
        "foo { include users.conf }",
        &[
            (Key, "foo", 1, 0),
            (MapStart, "", 1, 5),
            (Include, "users.conf", 1, 14),
            (MapEnd, "", 1, 26),
        ],
    );
    check(
        "foo {include users.conf}",
        &[
            (Key, "foo", 1, 0),
            (MapStart, "", 1, 5),
            (Include, "users.conf", 1, 13),
            (MapEnd, "", 1, 24),
        ],
    );
    check(
        "foo { include 'users.conf' }",
        &[
            (Key, "foo", 1, 0),
            (MapStart, "", 1, 5),
            (Include, "users.conf", 1, 15),
            (MapEnd, "", 1, 28),
        ],
    );
    check(
        "foo { include \"users.conf\"}",
        &[
            (Key, "foo", 1, 0),
            (MapStart, "", 1, 5),
            (Include, "users.conf", 1, 15),
            (MapEnd, "", 1, 27),
        ],
    );
    // `include` is a keyword only before whitespace.
    check(
        "include: 5",
        &[(Key, "include", 1, 0), (Integer, "5", 1, 9)],
    );
    check(
        "include [a]",
        &[(
            Error,
            "Expected include value but found start of an array",
            1,
            9,
        )],
    );
}

#[test]
fn json() {
    let pretty = "\n                        {\n                          \"http_port\": 8227,\n                          \"port\": 4227,\n                          \"write_deadline\": \"1h\",\n                          \"cluster\": {\n                            \"port\": 6222,\n                            \"routes\": [\n                              \"nats://127.0.0.1:4222\",\n                              \"nats://127.0.0.1:4223\",\n                              \"nats://127.0.0.1:4224\"\n                            ]\n                          }\n                        }\n                        ";
    check(
        pretty,
        &[
            (Key, "http_port", 3, 28),
            (Integer, "8227", 3, 40),
            (Key, "port", 4, 28),
            (Integer, "4227", 4, 35),
            (Key, "write_deadline", 5, 28),
            (String, "1h", 5, 46),
            (Key, "cluster", 6, 28),
            (MapStart, "", 6, 39),
            (Key, "port", 7, 30),
            (Integer, "6222", 7, 37),
            (Key, "routes", 8, 30),
            (ArrayStart, "", 8, 40),
            (String, "nats://127.0.0.1:4222", 9, 32),
            (String, "nats://127.0.0.1:4223", 10, 32),
            (String, "nats://127.0.0.1:4224", 11, 32),
            (ArrayEnd, "", 12, 30),
            (MapEnd, "", 13, 28),
            // Go reads a closing top-level brace on its own line as a key without a value,
            // which the parser then drops.
            (Key, "}", 14, 25),
        ],
    );
    check(
        "{\"http_port\": 8224,\"port\": 4224}\n                        ",
        &[
            (Key, "http_port", 1, 2),
            (Integer, "8224", 1, 14),
            (Key, "port", 1, 20),
            (Integer, "4224", 1, 27),
        ],
    );
    check(
        "{\"http_port\": 8227,\"port\": 4227,\"write_deadline\": \"1h\",\"cluster\": {\"port\": 6222,\"routes\": [\"nats://127.0.0.1:4222\",\"nats://127.0.0.1:4223\",\"nats://127.0.0.1:4224\"]}}\n",
        &[
            (Key, "http_port", 1, 2),
            (Integer, "8227", 1, 14),
            (Key, "port", 1, 20),
            (Integer, "4227", 1, 27),
            (Key, "write_deadline", 1, 33),
            (String, "1h", 1, 51),
            (Key, "cluster", 1, 56),
            (MapStart, "", 1, 67),
            (Key, "port", 1, 68),
            (Integer, "6222", 1, 75),
            (Key, "routes", 1, 81),
            (ArrayStart, "", 1, 91),
            (String, "nats://127.0.0.1:4222", 1, 92),
            (String, "nats://127.0.0.1:4223", 1, 116),
            (String, "nats://127.0.0.1:4224", 1, 140),
            (ArrayEnd, "", 1, 163),
            (MapEnd, "", 1, 164),
        ],
    );
}

#[test]
fn garbage_terminates_with_an_error() {
    for src in ["A@@Føøøø?˛ø:{øøøø˙˙", "include \"9/\u{fffd}"] {
        let mut lx = Lexer::new(src.as_bytes());
        let mut n = 0;
        loop {
            let t = lx.next_token();
            n += 1;
            assert!(n < 1000);
            if t.kind == Error {
                assert!(t.text().contains("Unexpected EOF"), "{}", t.text());
                break;
            }
            assert_ne!(t.kind, Eof, "expected an error for {src:?}");
        }
    }
}
