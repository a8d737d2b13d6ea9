//! The command line: Go `flag` semantics, nats-server's flags, `configure`'s decisions,
//! and a comparison with the installed Go `nats-server` when there is one.

use super::parser::{self, parse_go_int, Id, Val, FLAGS};
use super::{configure_quiet, Command};
use crate::options::Options;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn args(s: &[&str]) -> Vec<String> {
    s.iter().map(|a| a.to_string()).collect()
}

fn run(a: &[&str]) -> Options {
    match configure_quiet(&args(a)) {
        Ok((Command::Run(o), _)) => *o,
        other => panic!("{a:?}: expected Run, got {other:?}"),
    }
}

fn fails(a: &[&str]) -> String {
    match configure_quiet(&args(a)) {
        Err(e) => e.0,
        other => panic!("{a:?}: expected an error, got {other:?}"),
    }
}

fn usage_error(a: &[&str]) -> Option<String> {
    match configure_quiet(&args(a)) {
        Ok((
            Command::Usage {
                error,
                code: 0,
                text,
            },
            _,
        )) => {
            assert!(text.contains("Usage: nats-server [options]"));
            error
        }
        other => panic!("{a:?}: expected usage, got {other:?}"),
    }
}

fn conf(text: &str) -> (tempfile::TempDir, String) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("test.conf");
    std::fs::write(&p, text).unwrap();
    (d, p.display().to_string())
}

#[test]
fn go_flag_syntax() {
    let p = parser::parse(&args(&[
        "-p",
        "-1",
        "--addr=127.0.0.1",
        "-T=false",
        "-DV",
        "--name",
        "x",
        "rest",
        "-D",
    ]))
    .unwrap();
    assert_eq!(p.last(Id::Port), Some(&Val::Int(-1)));
    assert_eq!(p.str(Id::Host), Some("127.0.0.1"));
    assert_eq!(p.last(Id::Logtime), Some(&Val::Bool(false)));
    assert!(p.bool(Id::DebugTrace));
    assert!(!p.given(Id::Debug), "-DV is its own flag, not -D plus -V");
    assert_eq!(p.str(Id::ServerName), Some("x"));
    assert_eq!(
        p.args,
        ["rest", "-D"],
        "parsing stops at the first non-flag"
    );
    // A boolean takes its value only with '='.
    let p = parser::parse(&args(&["-D", "false"])).unwrap();
    assert!(p.bool(Id::Debug));
    assert_eq!(p.args, ["false"]);
    let p = parser::parse(&args(&["--", "-D"])).unwrap();
    assert_eq!((p.given.len(), p.args.clone()), (0, vec!["-D".to_string()]));
    for multi in ["-VV", "-DVV", "-ms=1", "-sl=ldm", "-js", "-sd=/x"] {
        let p = parser::parse(&args(&[multi])).unwrap();
        assert_eq!(p.given.len(), 1, "{multi}");
        assert_eq!(
            p.given[0].name,
            multi.trim_start_matches('-').split('=').next().unwrap()
        );
    }
}

#[test]
fn go_flag_errors() {
    let e = |a: &[&str]| parser::parse(&args(a)).unwrap_err();
    assert_eq!(e(&["--bogus"]), "flag provided but not defined: -bogus");
    assert_eq!(
        e(&["-p", "abc"]),
        "invalid value \"abc\" for flag -p: parse error"
    );
    assert_eq!(
        e(&["-p=99999999999999999999"]),
        "invalid value \"99999999999999999999\" for flag -p: value out of range"
    );
    assert_eq!(
        e(&["-T=maybe"]),
        "invalid boolean value \"maybe\" for -T: parse error"
    );
    assert_eq!(e(&["-p"]), "flag needs an argument: -p");
    assert_eq!(e(&["---p"]), "bad flag syntax: ---p");
    assert_eq!(e(&["-=x"]), "bad flag syntax: -=x");
    // nats-server answers flag errors with the usage text, and exits 0.
    assert_eq!(
        usage_error(&["--bogus"]).as_deref(),
        Some("flag provided but not defined: -bogus")
    );
}

#[test]
fn go_integers() {
    assert_eq!(parse_go_int("4222"), Ok(4222));
    assert_eq!(parse_go_int("-1"), Ok(-1));
    assert_eq!(parse_go_int("+7"), Ok(7));
    assert_eq!(parse_go_int("0x10"), Ok(16));
    assert_eq!(parse_go_int("0o17"), Ok(15));
    assert_eq!(parse_go_int("017"), Ok(15));
    assert_eq!(parse_go_int("0b101"), Ok(5));
    assert_eq!(parse_go_int("0x_1_0"), Ok(16));
    assert_eq!(parse_go_int("1_000"), Err("parse error"));
    assert_eq!(parse_go_int("08"), Err("parse error"));
    assert_eq!(parse_go_int(""), Err("parse error"));
    assert_eq!(parse_go_int("0"), Ok(0));
}

#[test]
fn version_help_and_positionals() {
    let v = "nats-server: v2.9.10 (nats-server.rs ".to_string() + crate::options::RS_VERSION + ")";
    for a in [
        &["-v"][..],
        &["--version"],
        &["version"],
        &["-p", "1", "VERSION"],
    ] {
        match configure_quiet(&args(a)) {
            Ok((Command::Version { message }, _)) => assert_eq!(message, v),
            other => panic!("{a:?}: {other:?}"),
        }
    }
    for a in [&["-h"][..], &["--help"], &["help"]] {
        assert_eq!(usage_error(a), None);
    }
    assert_eq!(fails(&["foo"]), "unrecognized command: \"foo\"");
    match configure_quiet(&args(&["--help_tls"])) {
        Ok((
            Command::Usage {
                error: None,
                code: 0,
                text,
            },
            _,
        )) => assert!(text.contains("tls {")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn signals() {
    match configure_quiet(&args(&["-sl=ldm=/var/run/nats/nats.pid"])) {
        Ok((Command::Signal { command, target }, _)) => {
            assert_eq!(
                (command.as_str(), target.as_deref()),
                ("ldm", Some("/var/run/nats/nats.pid"))
            )
        }
        other => panic!("{other:?}"),
    }
    match configure_quiet(&args(&["--signal", "reload"])) {
        Ok((
            Command::Signal {
                command,
                target: None,
            },
            _,
        )) => assert_eq!(command, "reload"),
        other => panic!("{other:?}"),
    }
    assert_eq!(fails(&["-sl=ldm=1=2"]), "invalid signal parameters: [2]");
}

#[test]
fn check_config() {
    let (_d, good) = conf("port: 4333\n");
    match configure_quiet(&args(&["-t", "-c", &good])) {
        Ok((Command::CheckConfig { message }, _)) => {
            assert_eq!(
                message,
                format!("nats-server: configuration file {good} is valid")
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        fails(&["-t"]),
        "must specify [-c, --config] option to check configuration file syntax"
    );
    let (_d2, bad) = conf("port: 4333\nfoo: 1\ncluster {\n  bar = 2\n}\nping_interval: 5\n");
    assert_eq!(
        fails(&["-t", "-c", &bad]),
        format!(
            "{bad}:6:1: invalid use of field \"ping_interval\": ping_interval should be converted to a duration\n\
             {bad}:2:1: unknown field \"foo\"\n{bad}:4:3: unknown field \"bar\"\n"
        )
    );
    // Warnings alone fail -t (as in nats-server) but not a normal start.
    let (_d3, warn) = conf("ping_interval: 5\n");
    assert!(fails(&["-t", "-c", &warn]).contains("should be converted to a duration"));
    match configure_quiet(&args(&["-c", &warn])) {
        Ok((Command::Run(o), w)) => {
            assert_eq!(o.ping_interval, Duration::from_secs(5));
            assert_eq!(w.len(), 1);
        }
        other => panic!("{other:?}"),
    }
    // Keys of fuller servers are reported but pass -t.
    let (_d4, newer) = conf("jetstream {}\ncluster { port: 6222, pool_size: 3 }\n");
    match configure_quiet(&args(&["-t", "-c", &newer])) {
        Ok((Command::CheckConfig { .. }, w)) => assert_eq!(w.len(), 1, "{w:?}"),
        other => panic!("{other:?}"),
    }
    let missing = fails(&["-c", "/nonexistent/x.conf"]);
    assert_eq!(
        missing,
        "open /nonexistent/x.conf: no such file or directory"
    );
    let (_d5, syntax) = conf("x = {\n");
    assert!(fails(&["-c", &syntax])
        .ends_with(":2:1: Parse error on line 2: 'Unexpected EOF processing map.'"));
}

#[test]
fn flags_override_the_config_file() {
    let (_d, f) = conf(
        "port: 4333\nhost: 10.0.0.1\nserver_name: file\ndebug: true\nlogtime: false\nhttp_port: 8222\n\
         authorization { user: fu, password: fp }\ncluster { name: fc, port: 6222, authorization { user: ru, password: rp } }\n",
    );
    let o = run(&["-c", &f]);
    assert_eq!(
        (
            o.port,
            o.host.as_str(),
            o.server_name.as_str(),
            o.debug,
            o.logtime
        ),
        (4333, "10.0.0.1", "file", true, false)
    );
    assert_eq!(
        o.http_host, "10.0.0.1",
        "the monitor binds the client host by default"
    );
    assert_eq!(o.config_file, Some(PathBuf::from(&f)));
    let o = run(&[
        "-p",
        "-1",
        "-c",
        &f,
        "-a",
        "127.0.0.1",
        "--server_name=flag",
        "-D=false",
        "-m",
        "9000",
        "--user",
        "cu",
    ]);
    assert_eq!(
        (o.port, o.host.as_str(), o.server_name.as_str(), o.debug),
        (-1, "127.0.0.1", "flag", false)
    );
    assert!(!o.logtime, "a flag not given leaves the file's value");
    assert_eq!(
        (o.http_port, o.username.as_str(), o.password.as_str()),
        (9000, "cu", "fp")
    );
    assert_eq!(o.cluster.name, "fc");
    let o = run(&[
        "-c",
        &f,
        "--cluster_name",
        "x",
        "--cluster",
        "nats://0.0.0.0:7222",
    ]);
    assert_eq!((o.cluster.name.as_str(), o.cluster.port), ("x", 7222));
    assert_eq!(
        o.cluster.username, "",
        "--cluster without userinfo clears the file's route credentials, as Go does"
    );
}

#[test]
fn server_flags() {
    let o = run(&[
        "--net",
        "127.0.0.2",
        "--port",
        "0",
        "-n",
        "a",
        "-P",
        "/tmp/p.pid",
        "--ports_file_dir",
        "/tmp",
        "-l",
        "/tmp/l.log",
        "--client_advertise",
        "ext:1",
        "--log_size_limit",
        "1000",
        "--max_traced_msg_len",
        "10",
        "-T=false",
        "-s",
        "-r",
        "udp://h:514",
        "--auth",
        "tok",
        "-ms",
        "8443",
    ]);
    assert_eq!(
        (o.host.as_str(), o.port, o.server_name.as_str()),
        ("127.0.0.2", 4222, "a")
    );
    assert_eq!(o.pid_file, Some(PathBuf::from("/tmp/p.pid")));
    assert_eq!(o.ports_file_dir, Some(PathBuf::from("/tmp")));
    assert_eq!(o.log_file, Some(PathBuf::from("/tmp/l.log")));
    assert_eq!(
        (
            o.client_advertise.as_str(),
            o.log_size_limit,
            o.max_traced_msg_len
        ),
        ("ext:1", 1000, 10)
    );
    assert!(!o.logtime && o.syslog);
    assert_eq!(
        (
            o.remote_syslog.as_str(),
            o.authorization.as_str(),
            o.https_port
        ),
        ("udp://h:514", "tok", 8443)
    );
    assert_eq!(run(&["--addr", "h1"]).host, "h1");
    assert_eq!(run(&["-a", "h2"]).host, "h2");
    assert_eq!(run(&["--name", "n2"]).server_name, "n2");
    assert_eq!(run(&["--pid", "x"]).pid_file, Some(PathBuf::from("x")));
    assert_eq!(run(&["--log", "y"]).log_file, Some(PathBuf::from("y")));
    assert_eq!(run(&["--http_port=1"]).http_port, 1);
    let o = run(&["--user", "u", "--pass", "p"]);
    assert_eq!((o.username.as_str(), o.password.as_str()), ("u", "p"));
    let d = Options::default();
    let o = run(&[]);
    assert_eq!(
        (o.port, o.host.as_str(), o.http_host.as_str(), o.logtime),
        (4222, "0.0.0.0", "0.0.0.0", true)
    );
    assert_eq!(o.max_payload, d.max_payload);
}

#[test]
fn logging_flags() {
    let flags = |a: &[&str]| {
        let o = run(a);
        (o.debug, o.trace, o.trace_verbose)
    };
    assert_eq!(flags(&["-D"]), (true, false, false));
    assert_eq!(flags(&["--debug"]), (true, false, false));
    assert_eq!(flags(&["-V"]), (false, true, false));
    assert_eq!(flags(&["--trace"]), (false, true, false));
    assert_eq!(flags(&["-DV"]), (true, true, false));
    assert_eq!(flags(&["-VV"]), (false, true, true));
    assert_eq!(flags(&["-DVV"]), (true, true, true));
    assert_eq!(flags(&["-D", "-DV=false"]), (false, false, false));
    assert_eq!(
        flags(&["-DV", "-V=false"]),
        (true, true, false),
        "-DV is applied after -V, as Go visits it"
    );
}

#[test]
fn cluster_flags() {
    let o = run(&[
        "--cluster",
        "nats://ruser:T0p%21@127.0.0.1:6222",
        "--routes",
        "nats://a:6222, nats-route://u:p@b:6222",
    ]);
    assert_eq!(
        (o.cluster.host.as_str(), o.cluster.port),
        ("127.0.0.1", 6222)
    );
    assert_eq!(
        (o.cluster.username.as_str(), o.cluster.password.as_str()),
        ("ruser", "T0p!")
    );
    let urls: Vec<String> = o.cluster.routes.iter().map(|u| u.to_string()).collect();
    assert_eq!(urls, ["nats://a:6222", "nats-route://u:p@b:6222"]);
    let o = run(&[
        "--cluster_listen=nats://0.0.0.0:-1",
        "--cluster_advertise",
        "x:1",
        "--no_advertise",
        "--connect_retries",
        "3",
    ]);
    assert_eq!((o.cluster.host.as_str(), o.cluster.port), ("0.0.0.0", -1));
    assert_eq!(
        (
            o.cluster.advertise.as_str(),
            o.cluster.no_advertise,
            o.cluster.connect_retries
        ),
        ("x:1", true, 3)
    );
    let o = run(&["--cluster", "nats://[::1]:6222"]);
    assert_eq!(o.cluster.host, "::1");
    assert_eq!(
        fails(&["--routes", "nats://x:1"]),
        "solicited routes require cluster capabilities, e.g. --cluster"
    );
    assert_eq!(
        fails(&["--cluster", "nats://u@h:1"]),
        "expected cluster password to be set"
    );
    assert_eq!(
        fails(&["--cluster", "nats://h"]),
        "address h: missing port in address"
    );
    // Routes on the command line with a cluster from the file are fine.
    let (_d, f) = conf("cluster { port: 6222, routes: [nats://old:1] }");
    let o = run(&["-c", &f, "--routes", "nats://new:2"]);
    assert_eq!(o.cluster.routes.len(), 1);
    assert_eq!(o.cluster.routes[0].host_str(), Some("new"));
    assert_eq!(
        run(&["-c", &f, "--cluster", ""]).cluster.port,
        0,
        "an empty --cluster turns clustering off"
    );
}

#[test]
fn unsupported_flags() {
    match configure_quiet(&args(&["-js", "-sd", "/data", "--profile", "6060"])) {
        Ok((Command::Run(o), w)) => {
            assert_eq!(w.len(), 1, "{w:?}");
            assert_eq!(
                (o.jetstream.enabled, o.jetstream.store_dir.as_str()),
                (true, "/data")
            );
        }
        other => panic!("{other:?}"),
    }
    // The TLS flags are Go's: a certificate and key are required, files are read.
    assert_eq!(
        fails(&["--tlsverify"]),
        "TLS Server certificate must be present and valid"
    );
    assert_eq!(
        fails(&["--tls", "--tlscert", "c"]),
        "TLS Server private key must be present and valid"
    );
    assert!(fails(&["--tls", "--tlscert", "c", "--tlskey", "k"])
        .contains("error parsing X509 certificate/key pair: open c: no such file"));
    assert!(run(&["--tls=false", "--tlscert", "c"]).tls.is_none());
}

#[test]
fn validation() {
    let (_d, f) = conf("max_payload: 2MB\nmax_pending: 1MB\n");
    assert_eq!(
        fails(&["-c", &f]),
        "max_payload (2097152) cannot be higher than max_pending (1048576)"
    );
    let (_d, f) = conf("lame_duck_duration: \"30s\"\nlame_duck_grace_period: \"1m\"\n");
    assert_eq!(
        fails(&["-c", &f]),
        "lame duck grace period (1m0s) should be strictly lower than lame duck duration (30s)"
    );
    let (_d, f) = conf("no_auth_user: bob\n");
    assert_eq!(
        fails(&["-c", &f]),
        "no_auth_user: \"bob\" present, but users are not defined"
    );
    let (_d, f) = conf("no_auth_user: bob\nauthorization { users: [{user: a, password: b}] }\n");
    assert_eq!(
        fails(&["-c", &f]),
        "no_auth_user: \"bob\" not present as user in authorization block or account configuration"
    );
}

/// Flag names as a usage text lists them (`-a, --addr, --net <host>` gives a, addr, net).
fn listed_flags(usage: &str) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    for line in usage.lines() {
        // The flag column ends where two spaces follow a non-space (start of the description).
        let col = line.trim_start();
        if !col.starts_with('-') {
            continue;
        }
        let end = col.find("  ").unwrap_or(col.len());
        for tok in col[..end].split([',', ' ']) {
            if let Some(name) = tok.strip_prefix("--").or_else(|| tok.strip_prefix('-')) {
                if !name.is_empty() && !name.starts_with('<') {
                    out.insert(name.to_string());
                }
            }
        }
        // "-n, --name" continues on the next line with "--server_name".
    }
    out
}

#[test]
fn usage_lists_exactly_the_flags_we_accept() {
    let listed = listed_flags(&super::usage::usage());
    let defined: std::collections::BTreeSet<String> =
        FLAGS.iter().map(|d| d.name.to_string()).collect();
    assert_eq!(listed, defined);
}

const GO_SERVER: &str = "/usr/sbin/nats-server";

/// Compares our flags with the installed Go nats-server 2.9.10: the same names in `-h`,
/// and each of our flags is one Go defines. Without the binary this test says so and
/// checks nothing (it is not a pass of the comparison).
#[test]
fn flags_match_the_go_binary() {
    if !Path::new(GO_SERVER).exists() {
        eprintln!("NOTE: {GO_SERVER} not installed; Go flag comparison NOT performed");
        return;
    }
    let out = std::process::Command::new(GO_SERVER)
        .arg("-h")
        .output()
        .unwrap();
    let go_usage = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        go_usage.contains("Usage: nats-server"),
        "unexpected -h output: {go_usage}"
    );
    let go = listed_flags(&go_usage);
    let ours = listed_flags(&super::usage::usage());
    assert_eq!(ours, go, "our -h lists different flags than {GO_SERVER} -h");
    // And Go really accepts each of them (an undefined flag is reported before anything
    // else; -t without -c then stops it before it could start).
    for d in FLAGS {
        let arg = format!("-{}=1", d.name);
        let out = std::process::Command::new(GO_SERVER)
            .args([arg.as_str(), "-t"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !err.contains("flag provided but not defined"),
            "Go rejects {arg}: {err}"
        );
    }
    // Same texts for flag errors.
    for (a, ours) in [
        (&["--bogus"][..], "flag provided but not defined: -bogus"),
        (
            &["-p", "abc"],
            "invalid value \"abc\" for flag -p: parse error",
        ),
    ] {
        let out = std::process::Command::new(GO_SERVER)
            .args(a)
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stderr).trim_end(), ours);
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(usage_error(a).as_deref(), Some(ours));
    }
}
