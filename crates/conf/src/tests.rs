//! Value-level behaviour, restating the cases of nats-server's `conf/parse_test.go`, plus
//! positions, includes, variables and the errors we add where Go would misbehave.

use crate::{parse_file, parse_str, ConfError, Map, Value};
use std::path::Path;

fn parse(src: &str) -> Map {
    match parse_str(src, None) {
        Ok(m) => m,
        Err(e) => panic!("parse of {src:?} failed: {e}"),
    }
}

fn err(src: &str) -> String {
    match parse_str(src, None) {
        Ok(m) => panic!("expected an error for {src:?}, got {m:?}"),
        Err(e) => e.to_string(),
    }
}

fn val<'m>(m: &'m Map, key: &str) -> &'m Value {
    &m.get(key)
        .unwrap_or_else(|| panic!("no key {key}"))
        .item
        .value
}

fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

#[test]
fn simple_top_level_values() {
    let m = parse("foo='1'; bar=2.2; baz=true; boo=22");
    assert_eq!(val(&m, "foo"), &s("1"));
    assert_eq!(val(&m, "bar"), &Value::Float(2.2));
    assert_eq!(val(&m, "baz"), &Value::Bool(true));
    assert_eq!(val(&m, "boo"), &Value::Int(22));
    assert_eq!(m.entries.len(), 4);
}

#[test]
fn booleans() {
    for src in ["foo=true", "foo=TRUE", "foo=yes", "foo=on", "foo=On"] {
        assert_eq!(val(&parse(src), "foo"), &Value::Bool(true), "{src}");
    }
    for src in ["foo=false", "foo=no", "foo=OFF"] {
        assert_eq!(val(&parse(src), "foo"), &Value::Bool(false), "{src}");
    }
}

#[test]
fn variables_resolve_through_enclosing_maps() {
    let m = parse("\n  index = 22\n  foo = $index\n");
    assert_eq!(val(&m, "foo"), &Value::Int(22));
    assert!(m.get("index").unwrap().used_as_variable);
    assert!(!m.get("foo").unwrap().used_as_variable);

    let m =
        parse("\n  index = 22\n  nest {\n    index = 11\n    foo = $index\n  }\n  bar = $index\n");
    let Value::Map(nest) = val(&m, "nest") else {
        panic!()
    };
    assert_eq!(val(nest, "foo"), &Value::Int(11));
    assert_eq!(val(&m, "bar"), &Value::Int(22));
}

#[test]
fn missing_variable() {
    let e = err("foo=$index_that_is_not_set_anywhere");
    assert_eq!(
        e,
        "1:5: variable reference for 'index_that_is_not_set_anywhere' on line 1 can not be found"
    );
}

#[test]
fn environment_variables_are_parsed_as_values() {
    std::env::set_var("NATS_CONF_T_INT", "22");
    std::env::set_var("NATS_CONF_T_STR", "xyz");
    std::env::set_var("NATS_CONF_T_UNIT", "3Gyz");
    std::env::set_var("NATS_CONF_T_QUOTED", "'3xyz'");
    std::env::set_var("NATS_CONF_T_SIZE", "64MB");
    std::env::set_var("NATS_CONF_T_BAD", "3xyz = ");
    let m = parse("a = $NATS_CONF_T_INT\nb = $NATS_CONF_T_STR\nc = $NATS_CONF_T_UNIT\nd = $NATS_CONF_T_QUOTED\ne: $NATS_CONF_T_SIZE");
    assert_eq!(val(&m, "a"), &Value::Int(22));
    assert_eq!(val(&m, "b"), &s("xyz"));
    assert_eq!(val(&m, "c"), &s("3Gyz"));
    assert_eq!(val(&m, "d"), &s("3xyz"));
    assert_eq!(val(&m, "e"), &Value::Int(64 * 1024 * 1024));
    // The value takes the position of the reference (Go counts it from after the `$`).
    assert_eq!(
        (
            m.get("e").unwrap().item.pos.line,
            m.get("e").unwrap().item.pos.col
        ),
        (5, 5)
    );
    let e = err("x: $NATS_CONF_T_BAD");
    assert!(
        e.starts_with(
            "1:4: variable reference for 'NATS_CONF_T_BAD' on line 1 could not be parsed"
        ),
        "{e}"
    );
}

#[test]
fn environment_cycles_are_errors() {
    std::env::set_var("NATS_CONF_T_CYC_A", "$NATS_CONF_T_CYC_B");
    std::env::set_var("NATS_CONF_T_CYC_B", "$NATS_CONF_T_CYC_A");
    std::env::set_var("NATS_CONF_T_SELF", "$NATS_CONF_T_SELF");
    assert!(err("x = $NATS_CONF_T_CYC_A").contains("cycle"));
    assert!(err("x = $NATS_CONF_T_SELF").contains("cycle"));
    // A chain without a cycle is fine.
    std::env::set_var("NATS_CONF_T_CHAIN1", "$NATS_CONF_T_CHAIN2");
    std::env::set_var("NATS_CONF_T_CHAIN2", "7");
    assert_eq!(val(&parse("x = $NATS_CONF_T_CHAIN1"), "x"), &Value::Int(7));
}

#[test]
fn bcrypt_hashes_are_not_variables() {
    let m = parse("password: $2a$11$ooo");
    assert_eq!(val(&m, "password"), &s("$2a$11$ooo"));
}

#[test]
fn size_units() {
    let m = parse(
        "k = 8k\nkb = 4kb\nki = 3ki\nkib = 4ki\nm = 1m\nmb = 2MB\nmi = 2Mi\nmib = 64MiB\ng = 2g\ngb = 22GB\ngi = 22Gi\ngib = 22GiB\ntb = 22TB\nti = 22Ti\ntib = 22TiB\npb = 22PB\npi = 22Pi\npib = 22PiB\ne = 1e\neb = 2EB\nneg = -1k\n",
    );
    let k: i64 = 1024;
    for (key, want) in [
        ("k", 8000),
        ("kb", 4 * k),
        ("ki", 3 * k),
        ("kib", 4 * k),
        ("m", 1_000_000),
        ("mb", 2 * k * k),
        ("mi", 2 * k * k),
        ("mib", 64 * k * k),
        ("g", 2_000_000_000),
        ("gb", 22 * k * k * k),
        ("gi", 22 * k * k * k),
        ("gib", 22 * k * k * k),
        ("tb", 22 * k.pow(4)),
        ("ti", 22 * k.pow(4)),
        ("tib", 22 * k.pow(4)),
        ("pb", 22 * k.pow(5)),
        ("pi", 22 * k.pow(5)),
        ("pib", 22 * k.pow(5)),
        ("e", 1_000_000_000_000_000_000),
        ("eb", 2 * k.pow(6)),
        ("neg", -1000),
    ] {
        assert_eq!(val(&m, key), &Value::Int(want), "{key}");
    }
}

#[test]
fn integers_out_of_range_are_errors() {
    assert_eq!(
        err("a = 99999999999999999999"),
        "1:4: integer '99999999999999999999' is out of the range"
    );
    assert_eq!(err("a = 9EB"), "1:4: integer '9EB' is out of the range");
    assert!(err("a = 1kbb").contains("'1kbb'"));
}

#[test]
fn nested_maps_and_arrays() {
    let m = parse("\nfoo  {\n  host {\n    ip   = '127.0.0.1'\n    port = 4242\n  }\n  servers = [ \"a.com\", \"b.com\", \"c.com\"]\n}\n");
    let Value::Map(foo) = val(&m, "foo") else {
        panic!()
    };
    let Value::Map(host) = val(foo, "host") else {
        panic!()
    };
    assert_eq!(val(host, "ip"), &s("127.0.0.1"));
    assert_eq!(val(host, "port"), &Value::Int(4242));
    let Value::Array(servers) = val(foo, "servers") else {
        panic!()
    };
    let names: Vec<_> = servers.iter().map(|i| i.value.clone()).collect();
    assert_eq!(names, vec![s("a.com"), s("b.com"), s("c.com")]);

    let m = parse("\n  array [\n    { abc: 123 }\n    { xyz: \"word\" }\n  ]\n");
    let Value::Array(a) = val(&m, "array") else {
        panic!()
    };
    assert_eq!(a.len(), 2);
    let Value::Map(first) = &a[0].value else {
        panic!()
    };
    assert_eq!(val(first, "abc"), &Value::Int(123));
}

#[test]
fn cluster_sample() {
    let m = parse(
        "\ncluster {\n  port: 4244\n\n  authorization {\n    user: route_user\n    password: top_secret\n    timeout: 1\n  }\n\n  # comment\n  // comment\n\n  routes = [\n    nats-route://foo:bar@apcera.me:4245\n    nats-route://foo:bar@apcera.me:4246\n  ]\n}\n",
    );
    let Value::Map(c) = val(&m, "cluster") else {
        panic!()
    };
    assert_eq!(val(c, "port"), &Value::Int(4244));
    let Value::Map(a) = val(c, "authorization") else {
        panic!()
    };
    assert_eq!(val(a, "timeout"), &Value::Int(1));
    let Value::Array(r) = val(c, "routes") else {
        panic!()
    };
    assert_eq!(r[1].value, s("nats-route://foo:bar@apcera.me:4246"));
}

#[test]
fn multi_line_single_quoted_strings_and_datetimes() {
    let m = parse("\nfoo  {\n  expr = '(true == \"false\")'\n  text = 'This is a multi-line\ntext block.'\n}\n");
    let Value::Map(foo) = val(&m, "foo") else {
        panic!()
    };
    assert_eq!(val(foo, "expr"), &s("(true == \"false\")"));
    assert_eq!(val(foo, "text"), &s("This is a multi-line\ntext block."));

    let m = parse("\n  now = 2016-05-04T18:53:41Z\n  gmt = false\n\n");
    assert_eq!(
        val(&m, "now"),
        &Value::DateTime("2016-05-04T18:53:41Z".into())
    );
    assert!(err("now = 2016-13-04T18:53:41Z").contains("expected Zulu formatted DateTime"));
    assert!(err("now = 2015-02-29T18:53:41Z").contains("expected Zulu formatted DateTime"));
}

#[test]
fn key_and_value_positions() {
    let m = parse("port: 4222\n  cluster {\n    name: \"x\"\n  }\n");
    let port = m.get("port").unwrap();
    assert_eq!((port.key_pos.line, port.key_pos.col), (1, 0));
    assert_eq!((port.item.pos.line, port.item.pos.col), (1, 6));
    let cluster = m.get("cluster").unwrap();
    assert_eq!((cluster.key_pos.line, cluster.key_pos.col), (2, 3));
    let Value::Map(c) = &cluster.item.value else {
        panic!()
    };
    let name = c.get("NAME").unwrap();
    assert_eq!((name.key_pos.line, name.key_pos.col), (3, 5));
    assert_eq!(name.key_pos.to_string(), "3:5");
}

#[test]
fn syntax_errors_carry_positions() {
    assert_eq!(
        err("x: \"abc\n"),
        "2:1: Parse error on line 2: 'Unexpected EOF.'"
    );
    assert_eq!(
        err("x = {\n  y: 1\n"),
        "3:1: Parse error on line 3: 'Unexpected EOF processing map.'"
    );
    assert!(err("a = [1, 2\n")
        .starts_with("2:1: Parse error on line 2: 'Expected an array value terminator"));
    // Go ends silently here and drops the open map; we say so.
    assert!(err("a { b = '").contains("Unexpected EOF"));
}

#[test]
fn json_as_the_helm_chart_renders_it() {
    std::env::set_var("NATS_CONF_T_SERVER_NAME", "nats-0");
    let m = parse(
        "{\n  \"cluster\": {\n    \"name\": \"nats\",\n    \"no_advertise\": true,\n    \"port\": 6222,\n    \"routes\": [\n      \"nats://nats-0.nats-headless:6222\",\n      \"nats://nats-1.nats-headless:6222\"\n    ]\n  },\n  \"http_port\": 8222,\n  \"lame_duck_duration\": \"30s\",\n  \"pid_file\": \"/var/run/nats/nats.pid\",\n  \"port\": 4222,\n  \"server_name\": $NATS_CONF_T_SERVER_NAME\n}\n",
    );
    assert_eq!(val(&m, "server_name"), &s("nats-0"));
    assert_eq!(val(&m, "http_port"), &Value::Int(8222));
    let Value::Map(c) = val(&m, "cluster") else {
        panic!()
    };
    assert_eq!(val(c, "no_advertise"), &Value::Bool(true));
    assert!(m.get("}").is_none());
}

fn write(dir: &Path, name: &str, text: &str) {
    if let Some(p) = dir.join(name).parent() {
        std::fs::create_dir_all(p).unwrap();
    }
    std::fs::write(dir.join(name), text).unwrap();
}

#[test]
fn includes_are_relative_to_the_including_file() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "main.conf",
        "listen: 127.0.0.1:4222\nauthorization {\n  include \"./includes/passwords.conf\"\n  CAROL_PASS: foo\n  users = [\n   {user: alice, password: $ALICE_PASS}\n   {user: carol, password: $CAROL_PASS}\n  ]\n  timeout: 0.5\n}\ninclude sub/more.conf;\n",
    );
    write(
        d.path(),
        "includes/passwords.conf",
        "# passwords\nALICE_PASS: $2a$10$UHR6GhotWhpLsKtVP0/i6.Nh9\nBOB_PASS: x\n",
    );
    write(
        d.path(),
        "sub/more.conf",
        "port: 4333\ninclude ../includes/extra.conf\n",
    );
    write(d.path(), "includes/extra.conf", "debug: true\n");
    let main = d.path().join("main.conf");
    let m = parse_file(&main).unwrap();
    assert_eq!(val(&m, "port"), &Value::Int(4333));
    assert_eq!(val(&m, "debug"), &Value::Bool(true));
    let Value::Map(auth) = val(&m, "authorization") else {
        panic!()
    };
    let alice = auth.get("ALICE_PASS").unwrap();
    assert!(alice.used_as_variable);
    assert!(!auth.get("BOB_PASS").unwrap().used_as_variable);
    assert!(auth.get("CAROL_PASS").unwrap().used_as_variable);
    // Keys from an included file keep that file's positions.
    assert_eq!((alice.key_pos.line, alice.key_pos.col), (2, 1));
    assert!(alice
        .key_pos
        .file
        .as_ref()
        .unwrap()
        .ends_with("includes/passwords.conf"));
    let carol = auth.get("CAROL_PASS").unwrap();
    assert_eq!((carol.key_pos.line, carol.key_pos.col), (4, 3));
    assert_eq!(
        carol.key_pos.file.as_deref().map(|p| p.as_path()),
        Some(main.as_path())
    );
    let Value::Array(users) = val(auth, "users") else {
        panic!()
    };
    let Value::Map(u0) = &users[0].value else {
        panic!()
    };
    assert_eq!(val(u0, "password"), &s("$2a$10$UHR6GhotWhpLsKtVP0/i6.Nh9"));
}

#[test]
fn include_errors() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "a.conf", "include b.conf\n");
    write(d.path(), "b.conf", "include a.conf\n");
    write(d.path(), "self.conf", "x: 1\ninclude 'self.conf'\n");
    write(d.path(), "missing.conf", "include nope.conf\n");
    write(d.path(), "bad.conf", "include broken.conf\n");
    write(d.path(), "broken.conf", "\nx = {\n");
    for f in ["a.conf", "self.conf"] {
        let e = parse_file(&d.path().join(f)).unwrap_err().to_string();
        assert!(e.contains("includes itself"), "{e}");
    }
    let e = parse_file(&d.path().join("missing.conf"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("missing.conf:1:8: error parsing include file 'nope.conf', open "),
        "{e}"
    );
    assert!(e.ends_with("nope.conf: no such file or directory"), "{e}");
    let e = parse_file(&d.path().join("bad.conf"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("broken.conf:3:1: Parse error on line 3: 'Unexpected EOF processing map.'"),
        "{e}"
    );
    let e = parse_file(&d.path().join("absent.conf")).unwrap_err();
    assert!(
        matches!(&e, ConfError::Io { msg } if msg.ends_with("absent.conf: no such file or directory")),
        "{e}"
    );
}

#[test]
fn file_positions_name_the_file() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "x.conf", "a: 1\n  b: 2\n");
    let p = d.path().join("x.conf");
    let m = parse_file(&p).unwrap();
    assert_eq!(
        m.get("b").unwrap().key_pos.to_string(),
        format!("{}:2:3", p.display())
    );
}

#[test]
fn digest_is_sha256_hex() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "x.conf", "abc");
    assert_eq!(
        crate::digest_file(&d.path().join("x.conf")).unwrap(),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn deep_nesting_is_bounded() {
    let deep = format!("a = {}", "[".repeat(100_000));
    assert!(err(&deep).contains("nested deeper"));
}

#[test]
fn later_duplicates_win_on_lookup() {
    let m = parse("port: 1\nPORT: 2\n");
    assert_eq!(val(&m, "port"), &Value::Int(2));
    assert_eq!(m.entries.len(), 2);
}
