//! Account exports and imports: the config checks side by side with the Go nats-server
//! 2.9.10 (`-t` on the same files must print the same errors at the same positions).

mod common;

/// Run `bin -c file -t`; (success, the error text with the file path taken out).
fn config_test(bin: &std::path::Path, text: &str) -> (bool, String) {
    let (dir, path) = common::config(text);
    let out = std::process::Command::new(bin)
        .args(["-c", &path, "-t"])
        .output()
        .expect("run -t");
    drop(dir);
    let all =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    (
        out.status.success(),
        all.replace(&path, "FILE").trim().to_string(),
    )
}

/// Configurations with exactly one problem whose report does not depend on Go's random
/// map order.
const BAD: &[&str] = &[
    // unknown exporter
    "A { exports: [ {stream: \"foo.>\"} ] }\n B { imports: [ {stream: {account: Z, subject: \"foo.>\"}} ] }",
    "A { exports: [ {service: foo} ] }\n B { imports: [ {service: {account: Z, subject: foo}} ] }",
    // private exports not granted to the importer
    "A { exports: [ {stream: \"foo.>\", accounts: [C]} ] }\n B { imports: [ {stream: {account: A, subject: \"foo.>\"}} ] }\n C {}",
    "A { exports: [ {service: \"svc.*\", accounts: [C]} ] }\n B { imports: [ {service: {account: A, subject: \"svc.x\"}} ] }\n C {}",
    "A { exports: [ {stream: \"foo.*\", account_token_position: 2} ] }\n B { imports: [ {stream: {account: A, subject: \"foo.C\"}} ] }\n C {}",
    // nothing exported
    "A { }\n B { imports: [ {stream: {account: A, subject: foo}} ] }",
    "A { }\n B { imports: [ {service: {account: A, subject: foo}} ] }",
    // unknown account in an export's list
    "A { exports: [ {service: foo, accounts: [Q]} ] }",
    "A { exports: [ {stream: foo, accounts: [Q]} ] }",
    // cycles
    "A { exports: [ {stream: foo} ], imports: [ {stream: {account: B, subject: foo}} ] }\n B { exports: [ {stream: foo} ], imports: [ {stream: {account: A, subject: foo}} ] }",
    "A { exports: [ {service: q} ], imports: [ {service: {account: B, subject: q}} ] }\n B { exports: [ {service: q} ], imports: [ {service: {account: A, subject: q}} ] }",
    // subjects and wildcards
    "A { exports: [ {stream: foo} ] }\n B { imports: [ {stream: {account: A, subject: foo}, prefix: \"p.*\"} ] }",
    "A { exports: [ {service: \">\"} ] }\n B { imports: [ {service: {account: A, subject: \"foo..bar\"}} ] }",
    "A { exports: [ {stream: \">\"} ] }\n B { imports: [ {stream: {account: A, subject: \"foo..bar\"}} ] }",
    "A { exports: [ {stream: \"foo.*.*\"} ] }\n B { imports: [ {stream: {account: A, subject: \"foo.*.*\"}, to: \"bar.*\"} ] }",
    "A { exports: [ {stream: \"foo.bar\", account_token_position: 2} ] }",
    // duplicates
    "A { exports: [ {stream: foo} ] }\n B { imports: [ {stream: {account: A, subject: foo}, prefix: x}, {stream: {account: A, subject: foo}, prefix: y} ] }",
    "A { exports: [ {service: foo}, {service: bar} ] }\n B { imports: [\n {service: {account: A, subject: foo}, to: q}\n {service: {account: A, subject: bar}, to: q} ] }",
    // shapes and types
    "A { exports: [ {service: foo, response_type: \"many\"} ] }",
    "A { exports: [ {stream: foo, response_type: stream} ] }",
    "A { exports: [ {service: foo, response_threshold: \"2x\"} ] }",
    "A { exports: [ {service: foo, response_threshold: 5} ] }",
    "A { exports: [ {stream: foo} ] }\n B { imports: [ {stream: {account: A}} ] }",
    "B { imports: [ \"foo\" ] }",
    "B { imports: \"foo\" }",
    "B { exports: \"foo\" }",
    "B { exports: [ 1 ] }",
    "B { imports: [ {stream: \"foo\"} ] }",
    "B { imports: [ {service: 1} ] }",
    "A { exports: [ {stream: foo, bogus: 1} ] }",
    "A { exports: [ {stream: foo} ] }\n B { imports: [ {stream: {account: A, subject: foo, what: 1}} ] }",
];

#[test]
fn config_errors_match_go() {
    let go = common::require_go_server();
    let ours = common::bin();
    let mut diffs = Vec::new();
    for body in BAD {
        let text = format!("accounts {{\n {body}\n}}\n");
        let g = config_test(&go, &text);
        let o = config_test(&ours, &text);
        assert!(!g.0, "Go accepted:\n{text}");
        if g != o {
            diffs.push(format!("{text}  go:   {}\n  ours: {}", g.1, o.1));
        }
    }
    assert!(
        diffs.is_empty(),
        "differences from Go:\n{}",
        diffs.join("\n")
    );
}

#[test]
fn valid_config_accepted_by_both() {
    let text = "accounts {\n A { users: [{user: a, password: a}]\n exports: [ {stream: \"foo.>\", accounts: [B]}, {service: \"svc.*\", response_type: stream, response_threshold: \"5s\"}, {stream: \"acc.*\", account_token_position: 2}, {service: \"one\", response: chunked} ] }\n B { users: [{user: b, password: b}]\n imports: [ {stream: {account: A, subject: \"foo.>\"}, prefix: \"a\"}, {service: {account: A, subject: \"svc.x\"}, to: \"x\"}, {stream: {account: A, subject: \"acc.B\"}}, {service: {account: A, subject: one}, share: true} ] }\n}\n";
    for bin in [common::require_go_server(), common::bin()] {
        let (ok, out) = config_test(&bin, text);
        assert!(ok, "{}: {out}", bin.display());
    }
}
