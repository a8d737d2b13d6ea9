//! A config reload re-checks connected clients and accepted routes against the new
//! authorization, as nats-server 2.9.10 does. Each scenario runs against our server and,
//! where the Go binary is installed, against it too, and both must behave the same.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{bin, Raw, ServerProcess};

const T: Duration = Duration::from_secs(5);

/// Everything received up to and including `needle` (a regex), with the server's own
/// PINGs (the first-RTT ping arrives at a time of its own) taken out.
fn upto(r: &mut Raw, needle: &str) -> String {
    let caps = r.expect(&format!(r"(?s)^(.*?{needle})"));
    caps[1].replace("PING\r\n", "")
}

/// Start `binary` on `conf`, run `f` (which changes the file and sends SIGHUP through the
/// closure it is given), return what `f` observed.
fn run_both(conf: &str, f: impl Fn(&ServerProcess, &dyn Fn(&str)) -> Vec<String>) {
    let mut results = Vec::new();
    let bins = vec![("ours", bin()), ("go", testkit::require_go_server())];
    for (name, b) in bins {
        let (_d, path) = common::config(conf);
        let s = ServerProcess::start(Path::new(&b), &["-c", &path]);
        let reload = |text: &str| {
            std::fs::write(&path, text).unwrap();
            s.signal("HUP");
        };
        let out = f(&s, &reload);
        results.push((name, out, s.log()));
    }
    if results.len() == 2 {
        assert_eq!(
            results[0].1, results[1].1,
            "ours vs Go\nour log:\n{}\nGo log:\n{}",
            results[0].2, results[1].2
        );
    }
}

#[test]
fn reload_rechecks_users_and_permissions() {
    let before = "authorization { users = [
        {user: a, password: pa, permissions: {publish: \">\", subscribe: \">\"}},
        {user: b, password: pb},
        {user: c, password: pc},
        {user: d, password: pd},
        {user: e, password: pe},
        {user: f, password: pf}
    ] }\n";
    let after = "authorization { users = [
        {user: a, password: pa, permissions: {publish: {deny: foo}, subscribe: {deny: bar}}},
        {user: b, password: changed},
        {user: d, password: pd},
        {user: e, password: pe, permissions: {subscribe: {deny: \"q.>\"}}},
        {user: f, password: pf, permissions: {subscribe: {deny: bar}}}
    ] }\n";
    run_both(before, |s, reload| {
        let login = |u: &str| {
            Raw::handshake(
                &s.addr(),
                &format!("{{\"verbose\":false,\"user\":\"{u}\",\"pass\":\"p{u}\"}}"),
            )
        };
        let mut a = login("a");
        let mut b = login("b");
        let mut c = login("c");
        let mut d = login("d");
        let mut e = login("e");
        let mut f = login("f");
        a.send("SUB bar 1\r\nSUB baz 2\r\nPING\r\n");
        a.expect("PONG\r\n");
        e.send("SUB q.x grp 3\r\nSUB r.x 4\r\nPING\r\n");
        e.expect("PONG\r\n");
        f.send("SUB > 9\r\nPING\r\n");
        f.expect("PONG\r\n");
        reload(after);
        assert!(
            s.wait_log("Reloaded server configuration", T),
            "{}",
            s.log()
        );
        let mut out = Vec::new();
        // Changed password: told and closed, at once (it is idle).
        out.push(upto(&mut b, "Violation'\r\n"));
        assert!(b.closed_within(T), "b closed");
        // Removed user: closed without a word.
        assert!(c.closed_within(T), "c closed");
        out.push(c.buffered().replace("PING\r\n", ""));
        // Newly denied subscriptions are removed, each with an -ERR.
        out.push(upto(&mut a, "\\(sid \"1\"\\)'\r\n"));
        out.push(upto(&mut e, "\\(sid \"3\"\\)'\r\n"));
        // Nothing reaches the removed subscriptions, nor the wildcard one through the
        // new deny; the rest still flows.
        d.send("PUB bar 1\r\n1\r\nPUB q.x 1\r\n2\r\nPUB r.x 1\r\n3\r\nPUB baz 1\r\n4\r\nPING\r\n");
        d.expect("PONG\r\n");
        for r in [&mut a, &mut e, &mut f] {
            r.send("PING\r\n");
            out.push(upto(r, "PONG\r\n"));
        }
        // The new publish permission applies to the existing session.
        a.send("PUB foo 1\r\nx\r\nPUB baz 1\r\ny\r\nPING\r\n");
        out.push(upto(&mut a, "PONG\r\n"));
        // Unaffected clients stay.
        d.send("PING\r\n");
        out.push(upto(&mut d, "PONG\r\n"));
        assert!(
            s.wait_log("authentication error - User \"b\"", T),
            "{}",
            s.log()
        );
        assert!(s.wait_log(
            "Removed sub \"bar\" (sid \"1\") for User \"a\" - not authorized",
            T
        ));
        assert!(s.wait_log(
            "Removed sub \"q.x\" (sid \"3\") for User \"e\" - not authorized",
            T
        ));
        assert_eq!(
            out,
            [
                "-ERR 'Authorization Violation'\r\n",
                "",
                "-ERR 'Permissions Violation for Subscription to \"bar\" (sid \"1\")'\r\n",
                "-ERR 'Permissions Violation for Subscription to \"q.x\" (sid \"3\")'\r\n",
                "MSG baz 2 1\r\n4\r\nPONG\r\n",
                "MSG r.x 4 1\r\n3\r\nPONG\r\n",
                "MSG q.x 9 1\r\n2\r\nMSG r.x 9 1\r\n3\r\nMSG baz 9 1\r\n4\r\nPONG\r\n",
                "-ERR 'Permissions Violation for Publish to \"foo\"'\r\nMSG baz 2 1\r\ny\r\nPONG\r\n",
                "PONG\r\n",
            ],
            "{}",
            s.log()
        );
        out
    });
}

#[test]
fn reload_token_change_closes_client() {
    run_both("authorization { token: t1 }\n", |s, reload| {
        let mut keep = Raw::handshake(&s.addr(), "{\"verbose\":false,\"auth_token\":\"t1\"}");
        reload("authorization { token: t1 }\nmax_payload: 2000\n");
        assert!(s.wait_log("Reloaded server configuration", T));
        keep.send("PING\r\n");
        let mut out = vec![upto(&mut keep, "PONG\r\n")];
        reload("authorization { token: t2 }\n");
        out.push(upto(&mut keep, "Violation'\r\n"));
        assert!(keep.closed_within(T));
        assert!(s.wait_log("- authentication error", T), "{}", s.log());
        assert_eq!(out, ["PONG\r\n", "-ERR 'Authorization Violation'\r\n"]);
        out
    });
}

#[test]
fn reload_adding_auth_closes_anonymous_clients() {
    run_both("max_payload: 1000\n", |s, reload| {
        let mut anon = Raw::handshake(&s.addr(), "{\"verbose\":false}");
        let mut ok = Raw::handshake(
            &s.addr(),
            "{\"verbose\":false,\"user\":\"a\",\"pass\":\"pa\"}",
        );
        reload("authorization { users = [{user: a, password: pa}] }\n");
        let mut out = vec![upto(&mut anon, "Violation'\r\n")];
        assert!(anon.closed_within(T));
        ok.send("PING\r\n");
        out.push(upto(&mut ok, "PONG\r\n"));
        assert!(
            s.wait_log("authentication error - User \"\"", T),
            "{}",
            s.log()
        );
        assert_eq!(out, ["-ERR 'Authorization Violation'\r\n", "PONG\r\n"]);
        out
    });
}

#[test]
fn reload_refuses_no_auth_user_change_and_keeps_the_fallback_session() {
    let users = "authorization { users = [{user: a, password: pa}, {user: b, password: pb, permissions: {publish: {deny: foo}}}] }\n";
    run_both(&format!("{users}no_auth_user: a\n"), |s, reload| {
        let mut anon = Raw::handshake(&s.addr(), "{\"verbose\":false}");
        reload(&format!("{users}no_auth_user: b\n"));
        assert!(
            s.wait_log(
                "config reload not supported for NoAuthUser: old=a, new=b",
                T
            ),
            "{}",
            s.log()
        );
        anon.send("PUB foo 1\r\nx\r\nPING\r\n");
        let mut out = vec![upto(&mut anon, "PONG\r\n")];
        // Changing the fallback user's password drops its sessions, as nats-server
        // re-checks them with that user's credentials.
        reload(&format!(
            "{}no_auth_user: a\n",
            users.replace("password: pa", "password: pa2")
        ));
        out.push(upto(&mut anon, "Violation'\r\n"));
        assert!(anon.closed_within(T));
        assert!(
            s.wait_log("authentication error - User \"a\"", T),
            "{}",
            s.log()
        );
        assert_eq!(out, ["PONG\r\n", "-ERR 'Authorization Violation'\r\n"]);
        out
    });
}

#[test]
fn reload_closes_accepted_route_with_old_credentials() {
    let conf = |pw: &str| {
        format!(
            "cluster {{ name: rl, listen: \"127.0.0.1:-1\", authorization {{ user: ruser, password: {pw} }} }}\n"
        )
    };
    run_both(&conf("rpass"), |s, reload| {
        let port = s.cluster_port.unwrap();
        let fixed = |pw: &str| conf(pw);
        reload(&fixed("rpass"));
        assert!(
            s.wait_log("Reloaded server configuration", T),
            "{}",
            s.log()
        );
        let mut r = Raw::connect(&format!("127.0.0.1:{port}"));
        r.expect(r"^INFO .*\r\n");
        r.send("CONNECT {\"echo\":true,\"verbose\":false,\"pedantic\":false,\"user\":\"ruser\",\"pass\":\"rpass\",\"tls_required\":false,\"headers\":true,\"name\":\"NFAKEROUTE\",\"cluster\":\"rl\"}\r\n");
        r.send("INFO {\"server_id\":\"NFAKEROUTE\",\"server_name\":\"fake\",\"version\":\"2.9.10\",\"proto\":2,\"host\":\"127.0.0.1\",\"port\":1,\"headers\":true,\"max_payload\":1048576,\"cluster\":\"rl\"}\r\nPING\r\n");
        r.expect("PONG\r\n");
        reload(&fixed("other"));
        r.expect("-ERR 'Authorization Violation'\r\n");
        assert!(r.closed_within(T));
        assert!(
            s.wait_log("Router connection closed: Authentication Failure", T),
            "{}",
            s.log()
        );
        vec!["closed".to_string()]
    });
}

/// Accounts added, removed and users moved between accounts on SIGHUP: a client whose
/// user moved (or went with its account) is closed without a word; the others keep their
/// subscriptions; a new account works at once and stays apart from the rest.
#[test]
fn reload_adds_and_removes_accounts_and_moves_users() {
    let before = "accounts {
        A: { users: [ {user: a, password: pa}, {user: c, password: pc} ] }
        B: { users: [ {user: b, password: pb} ] }
    }\n";
    let after = "accounts {
        A: { users: [ {user: a, password: pa} ] }
        C: { users: [ {user: c, password: pc}, {user: n, password: pn} ] }
    }\n";
    run_both(before, |s, reload| {
        let login = |u: &str| {
            Raw::handshake(
                &s.addr(),
                &format!("{{\"verbose\":false,\"user\":\"{u}\",\"pass\":\"p{u}\"}}"),
            )
        };
        let mut a = login("a");
        let mut b = login("b");
        let mut c = login("c");
        a.send("SUB foo 1\r\nPING\r\n");
        a.expect("PONG\r\n");
        reload(after);
        assert!(
            s.wait_log("Reloaded server configuration", T),
            "{}",
            s.log()
        );
        let mut out = Vec::new();
        // b's account is gone with it, c moved to C: both closed, told nothing.
        for r in [&mut b, &mut c] {
            assert!(r.closed_within(T), "closed");
            out.push(r.buffered().replace("PING\r\n", ""));
        }
        // The new account works, and only sees its own traffic.
        let mut n = login("n");
        n.send("SUB foo 1\r\nPING\r\n");
        n.expect("PONG\r\n");
        let mut c2 = login("c");
        c2.send("PUB foo 2\r\nin\r\nPING\r\n");
        c2.expect("PONG\r\n");
        out.push(upto(&mut n, "\r\nin\r\n"));
        // A keeps its subscription and sees nothing from C.
        a.send("PUB foo 1\r\na\r\nPING\r\n");
        out.push(upto(&mut a, "PONG\r\n"));
        assert_eq!(
            out,
            [
                "",
                "",
                "MSG foo 1 2\r\nin\r\n",
                "MSG foo 1 1\r\na\r\nPONG\r\n"
            ]
        );
        out
    });
}
