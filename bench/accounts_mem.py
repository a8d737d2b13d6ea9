#!/usr/bin/env python3
"""Memory of many accounts: N accounts, one client per account holding S subscriptions,
on our nats-server and the Go nats-server, side by side (resident set size after the
clients are in, minus the idle server's).

Python 3.11 stdlib only. Bounded: N clients, each set up with one PING/PONG; every
process started here is killed by PID on exit.

    python3 bench/accounts_mem.py [--ours PATH] [--go PATH] [--accounts 1000] [--subs 10]
"""
import argparse
import atexit
import os
import socket
import subprocess
import tempfile
import time

PROCS = []


def kill_all():
    for p in PROCS:
        if p.poll() is None:
            p.kill()
            p.wait()


atexit.register(kill_all)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def start(binary, conf_path, port):
    p = subprocess.Popen(
        [binary, "-c", conf_path, "-a", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    PROCS.append(p)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return p
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"{binary} did not start")


def read_until(sock, needle, limit=5.0):
    buf = b""
    deadline = time.time() + limit
    while needle not in buf:
        if time.time() > deadline:
            raise SystemExit(f"timeout waiting for {needle!r}: {buf[-200:]!r}")
        chunk = sock.recv(65536)
        if not chunk:
            raise SystemExit("connection closed")
        buf += chunk
    return buf


def measure(binary, conf_path, n, subs):
    port = free_port()
    p = start(binary, conf_path, port)
    time.sleep(0.5)
    idle = rss_kib(p.pid)
    conns = []
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        read_until(s, b"\r\n")
        ops = [f'CONNECT {{"verbose":false,"user":"u{i}","pass":"p"}}\r\n']
        ops += [f"SUB acc.{i}.s{j}.> {j + 1}\r\n" for j in range(subs)]
        ops.append("PING\r\n")
        s.sendall("".join(ops).encode())
        read_until(s, b"PONG\r\n")
        conns.append(s)
    time.sleep(1.0)
    loaded = rss_kib(p.pid)
    for s in conns:
        s.close()
    p.kill()
    p.wait()
    return idle, loaded


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--ours", default=os.path.join(here, "..", "target", "release", "nats-server"))
    ap.add_argument("--go", default="/usr/sbin/nats-server")
    ap.add_argument("--accounts", type=int, default=1000)
    ap.add_argument("--subs", type=int, default=10)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        conf = os.path.join(d, "accounts.conf")
        with open(conf, "w") as f:
            f.write("accounts {\n")
            for i in range(a.accounts):
                f.write(f"  A{i}: {{ users: [{{user: u{i}, password: p}}] }}\n")
            f.write("}\n")
        rows = {}
        for name, binary in (("ours", a.ours), ("go", a.go)):
            rows[name] = measure(binary, conf, a.accounts, a.subs)
    print(f"{a.accounts} accounts x 1 client x {a.subs} subscriptions (RSS, KiB)")
    print(f"{'server':<6} {'idle':>10} {'loaded':>10} {'added':>10}")
    for name, (idle, loaded) in rows.items():
        print(f"{name:<6} {idle:>10} {loaded:>10} {loaded - idle:>10}")
    o, g = rows["ours"], rows["go"]
    print(f"ratio ours/go: loaded {o[1] / g[1]:.2f}x, added {(o[1] - o[0]) / max(1, g[1] - g[0]):.2f}x")


if __name__ == "__main__":
    main()
