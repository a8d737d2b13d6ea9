#!/usr/bin/env python3
"""Abuse / hardening harness: runs each attack against our nats-server and the Go
nats-server (fresh server processes per attack) and prints both figures side by side.

Python 3.11 stdlib only. Every loop is bounded in count and time; every process this
script starts is killed (by PID) on exit, exception or Ctrl-C.

    python3 bench/abuse.py [--ours PATH] [--go PATH] [--only NAME] [--quick] [--json PATH]
"""
import argparse
import atexit
import json
import os
import random
import re
import select
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import warnings

HOST = "127.0.0.1"
QUICK = False
_PROCS = []  # every Popen we started


def budget(full, quick):
    return quick if QUICK else full


# ---------------------------------------------------------------- process handling

def _cleanup():
    for p in list(_PROCS):
        if p.poll() is None:
            try:
                p.kill()  # Popen.kill: SIGKILL to this PID only
                p.wait(timeout=5)
            except Exception:
                pass


atexit.register(_cleanup)


def _on_term(signum, frame):
    raise SystemExit(128 + signum)


signal.signal(signal.SIGTERM, _on_term)


def read_status(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    k, v = line.split(":", 1)
                    out[k] = int(v.split()[0])  # kB
    except OSError:
        pass
    return out


class Server:
    """A server process on random ports (read back from the ports file)."""

    def __init__(self, binary, args=(), conf=None, name="srv"):
        self.dir = tempfile.mkdtemp(prefix="abuse-")
        self.log_path = os.path.join(self.dir, "server.log")
        self.conf_path = os.path.join(self.dir, "server.conf")
        self.binary = binary
        argv = [binary, "-a", HOST, "-p", "-1", "--ports_file_dir", self.dir]
        if conf is not None:
            with open(self.conf_path, "w") as f:
                f.write(conf)
            argv += ["-c", self.conf_path]
        argv += list(args)
        self.argv = argv
        self.logf = open(self.log_path, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=subprocess.STDOUT)
        _PROCS.append(self.proc)
        self.pid = self.proc.pid
        self.port = self.cluster_port = self.http_port = None
        self._wait_ports()
        self.peak_kb = 0
        self.over_cap = False
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._sample, daemon=True)
        self._t.start()
        self.baseline_kb = self.rss_kb()
        self.peak_kb = max(self.peak_kb, self.baseline_kb)

    def peak_now(self):
        """Peak RSS so far: samples plus the kernel's high-water mark."""
        self.peak_kb = max(self.peak_kb, read_status(self.pid).get("VmHWM", 0))
        return self.peak_kb

    def _wait_ports(self):
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log()[-2000:]}")
            for fn in os.listdir(self.dir):
                if fn.endswith(".ports"):
                    try:
                        doc = json.load(open(os.path.join(self.dir, fn)))
                    except ValueError:
                        continue

                    def port(key):
                        v = doc.get(key) or []
                        return int(v[0].rsplit(":", 1)[1].strip("/")) if v else None
                    self.port = port("nats")
                    self.cluster_port = port("cluster")
                    self.http_port = port("monitoring")
                    if self.port:
                        time.sleep(0.1)
                        return
            time.sleep(0.02)
        raise RuntimeError(f"no ports file; log: {self.log()[-2000:]}")

    def _sample(self):
        while not self._stop.is_set():
            st = read_status(self.pid)
            if "VmRSS" in st:
                self.peak_kb = max(self.peak_kb, st["VmRSS"], st.get("VmHWM", 0))
                if st["VmRSS"] > RSS_CAP_KB and not self.over_cap:
                    # protect the shared machine: kill our own server (by PID)
                    self.over_cap = True
                    self.proc.kill()
            self._stop.wait(0.05)

    def rss_kb(self):
        return read_status(self.pid).get("VmRSS", 0)

    def alive(self):
        return self.proc.poll() is None

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def write_conf(self, conf):
        with open(self.conf_path, "w") as f:
            f.write(conf)

    def signal(self, sig):
        if self.alive():
            os.kill(self.pid, sig)

    def stop(self):
        """Kill; return facts about the run (crash, panics)."""
        st = read_status(self.pid)
        if "VmHWM" in st:
            self.peak_kb = max(self.peak_kb, st["VmHWM"])
        crashed = self.proc.poll()
        self._stop.set()
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self.logf.close()
        log = self.log()
        facts = {"exited_during_attack": crashed is not None and not self.over_cap,
                 "over_cap": self.over_cap,
                 "exit_code": crashed,
                 "panicked": "panicked" in log}
        if facts["panicked"] or crashed is not None:
            keep = os.path.join(RESULTS_LOGDIR, f"{os.path.basename(self.binary)}-{self.pid}.log")
            try:
                shutil.copy(self.log_path, keep)
                facts["log"] = keep
            except OSError:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)
        return facts


RESULTS_LOGDIR = tempfile.gettempdir()
RSS_CAP_KB = 3 * 1024 * 1024  # a server above 3 GiB RSS is killed (reported as such)


# ---------------------------------------------------------------- client helpers

TCP_STATES = {1: "ESTABLISHED", 7: "CLOSE", 8: "CLOSE_WAIT"}


def tcp_state(sock):
    """Kernel TCP state of our end: 1 = ESTABLISHED, 8 = CLOSE_WAIT (peer sent FIN),
    7 = CLOSE (peer sent RST). Lets us see a server-side close without reading."""
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)
        return info[0]
    except OSError:
        return 7


def peer_closed(sock):
    return tcp_state(sock) != 1


def dial(port, timeout=5.0):
    s = socket.create_connection((HOST, port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_line(sock, buf, deadline):
    """Read one CRLF line; returns (line or None, rest)."""
    while b"\r\n" not in buf:
        rem = deadline - time.time()
        if rem <= 0:
            return None, buf
        sock.settimeout(rem)
        try:
            d = sock.recv(65536)
        except (socket.timeout, OSError):
            return None, buf
        if not d:
            return None, buf
        buf += d
    line, rest = buf.split(b"\r\n", 1)
    return line, rest


class Client:
    """Minimal NATS client on a blocking socket, used by bystanders and attackers."""

    def __init__(self, port, connect=None, timeout=5.0):
        self.s = dial(port, timeout)
        self.buf = b""
        self.info, self.buf = read_line(self.s, self.buf, time.time() + timeout)
        if connect is not None:
            c = {"verbose": False, "pedantic": False, "lang": "abuse", "version": "0",
                 "protocol": 1}
            c.update(connect)
            self.send(b"CONNECT " + json.dumps(c).encode() + b"\r\n")

    def send(self, data):
        self.s.settimeout(10)
        self.s.sendall(data)

    def ping(self, timeout=5.0):
        """PING and wait for PONG; returns RTT seconds or None. Skips other lines."""
        t0 = time.time()
        try:
            self.send(b"PING\r\n")
        except OSError:
            return None
        deadline = t0 + timeout
        while True:
            line, self.buf = read_line(self.s, self.buf, deadline)
            if line is None:
                return None
            if line == b"PONG":
                return time.time() - t0
            if line.startswith(b"MSG "):  # skip payload
                n = int(line.split()[-1])
                while len(self.buf) < n + 2 and time.time() < deadline:
                    try:
                        self.s.settimeout(max(0.01, deadline - time.time()))
                        d = self.s.recv(65536)
                    except OSError:
                        return None
                    if not d:
                        return None
                    self.buf += d
                self.buf = self.buf[n + 2:]
            if line.startswith(b"-ERR"):
                self.last_err = line.decode(errors="replace")

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def drain(sock, seconds, seen=None):
    """Read for up to `seconds`; returns (first -ERR line, closed, time to close, bytes)."""
    t0 = time.time()
    deadline = t0 + seconds
    data = b""
    first_err = None
    closed_at = None
    total = 0
    while time.time() < deadline:
        sock.settimeout(max(0.01, min(0.2, deadline - time.time())))
        try:
            d = sock.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            closed_at = time.time()
            break
        if not d:
            closed_at = time.time()
            break
        total += len(d)
        if seen is not None and b"PONG\r\n" in d:
            seen.append("PONG")
        if first_err is None:
            data += d
            m = re.search(rb"-ERR[^\r\n]*", data)
            if m:
                first_err = m.group(0).decode(errors="replace")
            data = data[-4096:]
    return first_err, closed_at is not None, (closed_at - t0) if closed_at else None, total


def bystander_check(port, connect=None):
    try:
        c = Client(port, connect=connect or {}, timeout=3)
        rtt = c.ping(3)
        c.close()
        return "ok %.1fms" % (rtt * 1000) if rtt is not None else "NO PONG"
    except OSError as e:
        return f"FAILED ({e.__class__.__name__})"


def mb(kb):
    return round(kb / 1024.0, 1)


def fmt_close(closed, secs):
    return f"closed {secs:.2f}s" if closed else "not closed"


def pct(vals, p):
    if not vals:
        return None
    vals = sorted(vals)
    return vals[min(len(vals) - 1, int(round(p / 100.0 * (len(vals) - 1))))]


def interrupt_safe_close(socks):
    for s in socks:
        try:
            s.close()
        except OSError:
            pass


# ---------------------------------------------------------------- attacks
# Each attack takes the server binary and returns {metric: value}. Servers are stopped
# in `finally`; stop() facts are merged under "server:*" metrics.

def finish(out, *servers):
    for i, s in enumerate(servers):
        f = s.stop()
        tag = "" if len(servers) == 1 else f"[{i}]"
        if f["panicked"]:
            out[f"PANICKED{tag}"] = f.get("log", True)
        if f["over_cap"]:
            out[f"KILLED: RSS over {RSS_CAP_KB >> 20} GiB cap{tag}"] = "yes"
        if f["exited_during_attack"]:
            out[f"CRASHED{tag}"] = f"exit {f['exit_code']}"
    return out


# 1. reload -------------------------------------------------------------------------

def conf_userpass(pw):
    return f'authorization {{ user: "u", password: "{pw}" }}\n'


def a_reload(binary):
    out = {}
    srv = Server(binary, conf=conf_userpass("oldpass"))
    try:
        c = Client(srv.port, {"user": "u", "pass": "oldpass"})
        c.send(b"SUB reload.t 1\r\n")
        out["rtt before reload"] = "ok" if c.ping() is not None else "FAILED"
        srv.write_conf(conf_userpass("newpass"))
        t0 = time.time()
        srv.signal(signal.SIGHUP)
        # watch the old session for a bounded time
        closed = None
        deadline = t0 + budget(5, 3)
        while time.time() < deadline:
            if peer_closed(c.s):
                closed = time.time() - t0
                break
            time.sleep(0.05)
        out["old session closed"] = fmt_close(closed is not None, closed or 0)
        if closed is not None:
            err, _, _, _ = drain(c.s, 0.5)
            out["old session -ERR"] = err or "-"
        # does it still publish and receive?
        got = "no"
        try:
            c.send(b"PUB reload.t 5\r\nhello\r\nPING\r\n")
            dl = time.time() + 2
            while time.time() < dl:
                line, c.buf = read_line(c.s, c.buf, dl)
                if line is None:
                    break
                if line.startswith(b"-ERR") and "old session -ERR" not in out:
                    out["old session -ERR"] = line.decode(errors="replace")
                if line.startswith(b"MSG reload.t"):
                    got = "yes"
                    break
        except OSError:
            pass
        out["old session still pub+recv"] = got
        c.close()
        out["new pass works"] = bystander_check(srv.port, {"user": "u", "pass": "newpass"})
        bad = Client(srv.port, {"user": "u", "pass": "oldpass"})
        err, cl, _, _ = drain(bad.s, 2)
        out["old pass, new conn"] = err or ("closed" if cl else "accepted")
        bad.close()
    finally:
        finish(out, srv)
    return out


# 2. pre-auth memory ------------------------------------------------------------------

def flood_partial(port, n, header, total_bytes, seconds, chunk=65536, connect=None, srv=None):
    """Open n connections; each sends `header` then up to `total_bytes` of payload in
    chunks spread over `seconds`, never CONNECT (unless given). Returns stats."""
    socks = []
    t0 = time.time()
    try:
        for _ in range(n):
            try:
                s = socket.create_connection((HOST, port), timeout=2)
            except OSError:
                break
            s.setblocking(False)
            socks.append(s)
        sent = [0] * len(socks)
        closed_at = [None] * len(socks)
        errs = {}
        pending = [(connect or b"") + header for _ in socks]
        rounds = max(1, total_bytes // chunk)
        payload = b"x" * chunk
        per_round = seconds / rounds
        for r in range(rounds + 1):
            rt = time.time()
            for i, s in enumerate(socks):
                if closed_at[i] is not None:
                    continue
                if not pending[i] and sent[i] < total_bytes + len(header):
                    pending[i] = payload[: min(chunk, total_bytes - (sent[i] - len(header)))] if r else b""
                try:
                    if pending[i]:
                        k = s.send(pending[i])
                        sent[i] += k
                        pending[i] = pending[i][k:]
                except BlockingIOError:
                    pass
                except OSError:
                    closed_at[i] = time.time() - t0
                    continue
                try:
                    d = s.recv(4096)
                    if not d:
                        closed_at[i] = time.time() - t0
                    else:
                        m = re.search(rb"-ERR[^\r\n]*", d)
                        if m:
                            e = m.group(0).decode(errors="replace")
                            errs[e] = errs.get(e, 0) + 1
                except BlockingIOError:
                    pass
                except OSError:
                    closed_at[i] = time.time() - t0
                if closed_at[i] is None and peer_closed(s):
                    closed_at[i] = time.time() - t0
            if time.time() - t0 > seconds + 3 or (srv is not None and srv.over_cap):
                break
            time.sleep(max(0, per_round - (time.time() - rt)))
        time.sleep(0.5)
        for i, s in enumerate(socks):
            if closed_at[i] is None and peer_closed(s):
                closed_at[i] = time.time() - t0
        cl = [x for x in closed_at if x is not None]
        if srv is not None and srv.over_cap:
            return {"opened": len(socks), "closed": "server killed at RSS cap", "errs": errs,
                    "bytes sent total": sum(sent), "max close s": None}
        return {"opened": len(socks), "closed": len(cl),
                "max close s": max(cl) if cl else None,
                "bytes sent total": sum(sent), "errs": errs}
    finally:
        interrupt_safe_close(socks)


def a_preauth(binary):
    out = {}
    n = budget(48, 32)
    secs = budget(6, 3)
    per = budget(512 << 10, 256 << 10)
    rmsg = b"RMSG $G foo 999999999\r\n"
    for label, cl_auth in (("route noauth", ""),
                           ("route auth", 'authorization { user: a, password: b }')):
        conf = f"cluster {{ host: {HOST}, port: -1 \n {cl_auth} }}\n"
        srv = Server(binary, conf=conf)
        try:
            st = flood_partial(srv.cluster_port, n, rmsg, per, secs, srv=srv)
            out[f"{label}: {n}x RMSG 999999999 + {per >> 10}KiB peak RSS MB"] = mb(srv.peak_now())
            out[f"{label}: closed"] = (f"{st['closed']}/{st['opened']}" if isinstance(
                st["closed"], int) else st["closed"]) + (
                f" (last {st['max close s']:.1f}s)" if st["max close s"] else "")
            out[f"{label}: -ERR"] = ", ".join(f"{k} x{v}" for k, v in st["errs"].items()) or "-"
            out[f"{label}: MB accepted"] = round(st["bytes sent total"] / 1e6, 1)
        finally:
            finish(out, srv)
    n2 = budget(300, 60)
    srv = Server(binary, conf=conf_userpass("pw"))
    try:
        st = flood_partial(srv.port, n2, b"PUB foo 1048576\r\n", budget(1000000, 256 << 10), secs,
                           srv=srv)
        out[f"client auth: {n2}x PUB foo 1048576 no CONNECT peak RSS MB"] = mb(srv.peak_now())
        out["client auth: closed"] = (f"{st['closed']}/{st['opened']}" if isinstance(
            st["closed"], int) else st["closed"]) + (
            f" (last {st['max close s']:.1f}s)" if st["max close s"] else "")
        out["client auth: -ERR"] = ", ".join(f"{k} x{v}" for k, v in st["errs"].items()) or "-"
        out["client auth: MB accepted"] = round(st["bytes sent total"] / 1e6, 1)
        out["client auth: bystander"] = bystander_check(srv.port, {"user": "u", "pass": "pw"})
    finally:
        finish(out, srv)
    return out


# 3. slow subscriber on a route -------------------------------------------------------

def a_slowsub(binary):
    out = {}
    a = Server(binary, args=["--cluster", f"nats://{HOST}:-1"])
    b = None
    stop = threading.Event()
    try:
        b = Server(binary, args=["--cluster", f"nats://{HOST}:-1",
                                 "--routes", f"nats://{HOST}:{a.cluster_port}"])
        fast = Client(b.port, {})
        fast.send(b"SUB foo 1\r\n")
        slow = Client(b.port, {})
        slow.send(b"SUB > 1\r\n")
        fast.ping(); slow.ping()
        pub = Client(a.port, {})
        # wait for the route + interest to propagate
        ok = False
        dl = time.time() + 8
        while time.time() < dl and not ok:
            pub.send(b"PUB foo 5\r\nprobe\r\n")
            pub.ping()
            fast.s.settimeout(0.2)
            try:
                d = fast.s.recv(65536)
                ok = b"MSG foo" in d
            except socket.timeout:
                pass
        if not ok:
            out["route up"] = "NO (route/interest did not propagate in 8s)"
            return out
        secs = budget(6, 3)
        res = {"fast": 0, "slow": 0, "slow_closed": None, "slow_err": None, "pub": 0}

        def read_fast():
            fast.s.settimeout(0.2)
            while not stop.is_set():
                try:
                    d = fast.s.recv(1 << 20)
                except socket.timeout:
                    continue
                except OSError:
                    break
                if not d:
                    break
                res["fast"] += len(d)

        def read_slow():
            slow.s.settimeout(0.2)
            t0 = time.time()
            while not stop.is_set():
                if peer_closed(slow.s):  # FIN/RST arrived behind unread data
                    res["slow_closed"] = time.time() - t0
                    break
                try:
                    d = slow.s.recv(20000)  # 20 KB every 100 ms = 200 KB/s
                except socket.timeout:
                    continue
                except OSError:
                    res["slow_closed"] = time.time() - t0
                    break
                if not d:
                    res["slow_closed"] = time.time() - t0
                    break
                if res["slow_err"] is None and b"-ERR" in d:
                    m = re.search(rb"-ERR[^\r\n]*", d)
                    res["slow_err"] = m.group(0).decode(errors="replace") if m else "-ERR"
                res["slow"] += len(d)
                time.sleep(0.1)

        ths = [threading.Thread(target=read_fast, daemon=True),
               threading.Thread(target=read_slow, daemon=True)]
        for t in ths:
            t.start()
        msg = b"PUB foo 1024\r\n" + b"m" * 1024 + b"\r\n"
        chunk = msg * 64
        t0 = time.time()
        pub.s.settimeout(1)
        while time.time() - t0 < secs:
            try:
                pub.s.sendall(chunk)
                res["pub"] += len(chunk)
            except socket.timeout:
                continue
            except OSError:
                break
        time.sleep(1.0)
        stop.set()
        for t in ths:
            t.join(2)
        late = ""
        if res["slow_closed"] is None:
            # the server's FIN/RST queues behind MBs of kernel-buffered data we read at
            # 200 KB/s: drain fast for a moment to see whether the server had cut it
            err, cl, _, n = drain(slow.s, 2)
            res["slow"] += n
            if cl:
                late = "cut (EOF after draining the backlog)"
            if err and not res["slow_err"]:
                res["slow_err"] = err
        out["publisher MB sent (A)"] = round(res["pub"] / 1e6, 1)
        out["fast sub MB received (B)"] = round(res["fast"] / 1e6, 1)
        out["fast/pub ratio"] = round(res["fast"] / max(1, res["pub"]), 2)
        out["slow sub"] = (f"cut {res['slow_closed']:.1f}s" if res["slow_closed"] is not None
                           else (late or "not cut")) + (f" {res['slow_err']}" if res["slow_err"] else "")
        out["slow sub MB received"] = round(res["slow"] / 1e6, 1)
        out["peak RSS MB A / B"] = f"{mb(a.peak_now())} / {mb(b.peak_now())}"
        out["'slow consumer' log lines A / B"] = "%d / %d" % tuple(
            sum(1 for l in x.log().splitlines() if "slow consumer" in l.lower()) for x in (a, b))
        out["bystander on B"] = bystander_check(b.port)
        for c in (fast, slow, pub):
            c.close()
    finally:
        stop.set()
        finish(out, *([a, b] if b else [a]))
    return out


# 4. PING flood -----------------------------------------------------------------------

def a_pingflood(binary):
    out = {}
    srv = Server(binary)
    try:
        c = Client(srv.port, {})
        c.ping()
        c.s.setblocking(False)
        chunk = b"PING\r\n" * 10000
        sent = 0
        t0 = time.time()
        closed = None
        secs = budget(12, 5)
        pending = chunk
        while time.time() - t0 < secs:
            try:
                k = c.s.send(pending)
                sent += k
                pending = pending[k:] or chunk
            except BlockingIOError:
                if peer_closed(c.s):
                    closed = time.time() - t0
                    break
                select.select([], [c.s], [], 0.05)
            except OSError:
                closed = time.time() - t0
                break
        if closed is None and peer_closed(c.s):
            closed = time.time() - t0
        out["PINGs accepted (M)"] = round(sent / 6 / 1e6, 2)
        out["peak RSS MB"] = mb(srv.peak_now())
        out["attacker"] = fmt_close(closed is not None, closed or 0)
        out["server log on close"] = next((l.rsplit(" - ", 1)[-1][:60] for l in srv.log().splitlines()
                                           if "slow consumer" in l.lower() or "deadline" in l.lower()), "-")
        out["bystander"] = bystander_check(srv.port)
        c.close()
    finally:
        finish(out, srv)
    return out


# 5. bcrypt ---------------------------------------------------------------------------

BCRYPT_FALLBACK = ("s3cret", "$2a$12$rHRJIU3K7lU68iPWCDFtpeiMGBfV9IRWqLsZ978Ser.V0suA1/fp.")


def bcrypt12():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import crypt
        h = crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=4096))
        if h and h.startswith("$2"):
            return "s3cret", "$2a$" + h[4:]
    except Exception:
        pass
    return BCRYPT_FALLBACK


def a_bcrypt(binary):
    out = {}
    pw, h = bcrypt12()
    srv = Server(binary, conf=f'authorization {{ users: [ {{ user: "u", password: "{h}" }} ] }}\n')
    stop = threading.Event()
    try:
        by = Client(srv.port, {"user": "u", "pass": pw}, timeout=10)
        if by.ping(10) is None:
            out["bystander auth"] = "FAILED"
            return out
        base = [by.ping() for _ in range(20)]
        base = [x for x in base if x is not None]
        attempts = [0]
        rejected = [0]

        def attacker():
            while not stop.is_set():
                try:
                    c = Client(srv.port, {"user": "u", "pass": "wrong"}, timeout=3)
                    c.send(b"PING\r\n")
                    err, cl, _, _ = drain(c.s, 3)
                    attempts[0] += 1
                    if err or cl:
                        rejected[0] += 1
                    c.close()
                except OSError:
                    time.sleep(0.05)

        ths = [threading.Thread(target=attacker, daemon=True) for _ in range(8)]
        for t in ths:
            t.start()
        rtts = []
        fails = 0
        t0 = time.time()
        secs = budget(10, 4)
        while time.time() - t0 < secs:
            r = by.ping(5)
            if r is None:
                fails += 1
            else:
                rtts.append(r)
            time.sleep(0.02)
        stop.set()
        for t in ths:
            t.join(5)
        out["bad CONNECTs in %ds" % secs] = attempts[0]
        out["baseline PING median ms"] = round(statistics.median(base) * 1000, 2) if base else None
        out["bystander PING median ms"] = round(statistics.median(rtts) * 1000, 2) if rtts else None
        out["bystander PING p99 ms"] = round(pct(rtts, 99) * 1000, 2) if rtts else None
        out["bystander PINGs ok/failed"] = f"{len(rtts)}/{fails}"
        out["peak RSS MB"] = mb(srv.peak_now())
        by.close()
    finally:
        stop.set()
        finish(out, srv)
    return out


# 6. secrets in the log ---------------------------------------------------------------

def a_secrets(binary):
    out = {}
    secrets = {"route password": "RouteSecret7731", "client \"Pass\"": "CapPassSecret4412",
               "client \"pass\"": "LowPassSecret5523", "client auth_token": "TokSecret9934",
               "client \"Auth_Token\"": "CapTokSecret1145"}
    lowpass = secrets['client "pass"']
    conf_a = (f'authorization {{ user: "u", password: "{lowpass}" }}\n'
              f'cluster {{ host: {HOST}, port: -1, authorization {{ user: "ru", '
              f'password: "{secrets["route password"]}" }} }}\n')
    a = Server(binary, args=["-V"], conf=conf_a)
    b = None
    try:
        b = Server(binary, args=["-V", "--cluster", f"nats://{HOST}:-1", "--routes",
                                 f"nats://ru:{secrets['route password']}@{HOST}:{a.cluster_port}"])
        for conn in ({"user": "u", "Pass": secrets['client "Pass"']},
                     {"user": "u", "pass": secrets['client "pass"']},
                     {"auth_token": secrets["client auth_token"]},
                     {"Auth_Token": secrets['client "Auth_Token"']}):
            try:
                c = Client(a.port, conn)
                c.ping(2)
                c.close()
            except OSError:
                pass
        # let the route connect and trace
        dl = time.time() + 4
        while time.time() < dl and "RouteSecret" not in a.log() + b.log() and \
                not re.search(r"(?i)route connection created|Route connection created", a.log()):
            time.sleep(0.1)
        time.sleep(1)
        log = a.log() + "\n" + b.log()
        route_up = bool(re.search(r"(?i)route connection created", log))
        out["route established"] = "yes" if route_up else "no"
        for k, v in secrets.items():
            n = log.count(v)
            out[f"{k} in -V log"] = f"FOUND x{n}" if n else "not found"
    finally:
        finish(out, *([a, b] if b else [a]))
    return out


# 7. dead and idle connections --------------------------------------------------------

def a_dead(binary):
    out = {}
    srv = Server(binary)
    try:
        pub = Client(srv.port, {})
        pub.ping()
        total = budget(400, 100)
        batch = 50
        payload = b"d" * 65536
        t0 = time.time()
        done = 0
        while done < total and time.time() - t0 < budget(12, 6):
            socks = []
            for i in range(batch):
                c = Client(srv.port, {})
                c.send(f"SUB dead.{done + i} 1\r\nPING\r\n".encode())
                socks.append(c)
            for c in socks:
                line, c.buf = read_line(c.s, c.buf, time.time() + 3)  # PONG: sub registered
            msgs = b"".join(f"PUB dead.{done + i} 65536\r\n".encode() + payload + b"\r\n"
                            for i in range(batch)) 
            for _ in range(8):  # 8 x 64 KiB = 512 KiB per subscriber
                pub.send(msgs)
            pub.ping(5)
            for c in socks:
                c.close()
            done += batch
        out["dead conns (500KB unread each)"] = done
        out["peak RSS MB"] = mb(srv.peak_now())
        time.sleep(2)
        out["RSS MB 2s after all gone"] = mb(srv.rss_kb())
        out["baseline RSS MB"] = mb(srv.baseline_kb)
        out["bystander"] = bystander_check(srv.port)
        pub.close()
    finally:
        finish(out, srv)
    return out


def a_idle(binary):
    out = {}
    srv = Server(binary, conf="max_payload: 2MB\n")
    conns = []
    try:
        n = budget(300, 60)
        big = b"PUB idle.x 1048576\r\n" + b"i" * 1048576 + b"\r\nPING\r\n"
        t0 = time.time()
        for _ in range(n):
            if time.time() - t0 > 10:
                break
            c = Client(srv.port, {})
            c.send(big)
            conns.append(c)
        ok = sum(1 for c in conns if c.ping(5) is not None)
        out["idle conns that published 1MB"] = f"{ok}/{len(conns)}"
        out["peak RSS MB"] = mb(srv.peak_now())
        time.sleep(budget(3, 1.5))
        out["RSS MB idle after 3s"] = mb(srv.rss_kb())
        out["baseline RSS MB"] = mb(srv.baseline_kb)
    finally:
        for c in conns:
            c.close()
        finish(out, srv)
    return out


# 8. monitoring -----------------------------------------------------------------------

def a_monitor(binary):
    out = {}
    srv = Server(binary, args=["-m", "-1"])
    socks = []
    try:
        # (a) a connection that never sends headers
        s = dial(srv.http_port)
        err, cl, secs, _ = drain(s, budget(12, 5))
        out["silent HTTP conn"] = fmt_close(cl, secs or 0) + f" (budget {budget(12, 5)}s)"
        s.close()
        # (b) 2000 concurrent idle connections
        n = budget(2000, 500)
        fails = 0
        for _ in range(n):
            try:
                x = socket.create_connection((HOST, srv.http_port), timeout=2)
                socks.append(x)
            except OSError:
                fails += 1
        time.sleep(1.5)
        closed = sum(1 for x in socks if peer_closed(x))
        out[f"{n} idle HTTP conns: connect failures / closed after 1.5s"] = f"{fails} / {closed}"
        out[f"{n} idle HTTP conns: peak RSS MB"] = mb(srv.peak_now())
        t0 = time.time()
        hdrs, status = http_get(srv.http_port, "/varz", 5)
        out[f"GET /varz while {n} idle held"] = (f"{status} in {time.time() - t0:.2f}s"
                                                 if status else "FAILED/timeout")
        interrupt_safe_close(socks)
        socks = []
        time.sleep(0.5)
        hdrs, status = http_get(srv.http_port, "/varz", 5)
        acao = [v for k, v in hdrs if k.lower() == "access-control-allow-origin"]
        out["/varz Access-Control-Allow-Origin"] = acao[0] if acao else "absent"
        out["/varz headers"] = ", ".join(sorted(k for k, _ in hdrs))
    finally:
        interrupt_safe_close(socks)
        finish(out, srv)
    return out


def http_get(port, path, timeout):
    try:
        s = dial(port, timeout)
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        dl = time.time() + timeout
        while b"\r\n\r\n" not in data and time.time() < dl:
            s.settimeout(max(0.01, dl - time.time()))
            d = s.recv(65536)
            if not d:
                break
            data += d
        s.close()
        head = data.split(b"\r\n\r\n", 1)[0].decode(errors="replace").split("\r\n")
        status = head[0].split()[1] if head and len(head[0].split()) > 1 else None
        hdrs = [tuple(x.split(":", 1)) for x in head[1:] if ":" in x]
        return [(k.strip(), v.strip()) for k, v in hdrs], status
    except OSError:
        return [], None


# 9. beyond ---------------------------------------------------------------------------

def probe(srv, payload, connect=True, port=None, secs=4, then_ping=True, chunk=None,
          bystander_connect=None):
    """Send `payload` on one fresh connection; report first -ERR, closed?, RSS, bystander."""
    out = {}
    s = dial(port or srv.port)
    t0 = time.time()
    try:
        if connect:
            s.sendall(b'CONNECT {"verbose":false,"pedantic":false,"headers":true,"protocol":1}\r\n')
        try:
            s.settimeout(10)
            if chunk:
                for i in range(0, len(payload), chunk):
                    s.sendall(payload[i:i + chunk])
            else:
                s.sendall(payload)
            send_err = None
        except OSError as e:
            send_err = e.__class__.__name__
        # read a little before PINGing, so a closing server's -ERR is not lost to an RST
        err, cl, csecs, nbytes = drain(s, 0.3)
        if not cl and not send_err:
            if then_ping:
                try:
                    s.sendall(b"PING\r\n")
                except OSError as e:
                    send_err = e.__class__.__name__
            seen = []
            err2, cl, csecs, nbytes = drain(s, secs, seen)
            err = err or err2
            if then_ping:
                out["attacker got PONG"] = "yes" if seen else "no"
        out["-ERR"] = err or "-"
        out["closed"] = (f"yes {time.time() - t0:.2f}s" if cl else "no") + (
            f" (send: {send_err})" if send_err else "")
    finally:
        s.close()
    out["peak RSS MB"] = mb(srv.peak_now())
    out["bystander"] = bystander_check(srv.port, bystander_connect)
    return out


def sub_attacks():
    def tokens(n):
        return b".".join([b"a"] * n)

    t10k = tokens(10000)
    s64k = b"s" * 65536
    rnd = random.Random(42)
    garbage = bytes(rnd.getrandbits(8) for _ in range(65536))
    return [
        # name, conf, kind, payload, connect, extra
        ("pub 10k tokens", "max_control_line: 100000\n", "client",
         b"PUB " + t10k + b" 2\r\nhi\r\n", True),
        ("sub 10k tokens + pub", "max_control_line: 100000\n", "client",
         b"SUB " + t10k + b" 1\r\nPUB " + t10k + b" 2\r\nhi\r\n", True),
        ("sub 10k tokens (default mcl)", "", "client", b"SUB " + t10k + b" 1\r\n", True),
        ("200 subs 64KiB subjects + pub", "max_control_line: 200000\n", "client",
         b"".join(b"SUB " + s64k[:-4] + b"%04d" % i + b" %d\r\n" % i for i in range(200))
         + b"PUB " + s64k[:-4] + b"0007 2\r\nhi\r\n", True),
        ("HPUB hdr 100 > total 10", "", "client", b"HPUB foo 100 10\r\n0123456789\r\n", True),
        ("HPUB hdr 2^32 > total", "", "client", b"HPUB foo 4294967306 10\r\n0123456789\r\n", True),
        ("PUB size 99999999999999999999999", "", "client",
         b"PUB foo 99999999999999999999999\r\n", True),
        ("HPUB sizes overflow", "", "client",
         b"HPUB foo 99999999999999999999999 99999999999999999999999\r\n", True),
        ("PUB size -1", "", "client", b"PUB foo -1\r\n", True),
        ("half-open route: nothing", "", "route", b"", False),
        ("half-open route: INFO no CONNECT", "", "route",
         b'INFO {"server_id":"FAKE","name":"fake","version":"2.9.10","go":"go1.19",'
         b'"host":"127.0.0.1","port":1,"headers":true,"cluster":"x"}\r\n', False),
        ("route: 64KiB random bytes", "", "route", garbage, False),
        ("route: RS+ before CONNECT", "", "route", b"RS+ $G foo\r\n", False),
        ("route: 1MiB control line no CRLF", "", "route", b"R" * (1 << 20), False),
        ("route auth: RS+ before CONNECT", "cluster_auth", "route", b"RS+ $G foo\r\n", False),
    ]


def a_beyond(binary, only_sub=None):
    out = {}
    for name, conf, kind, payload, connect in sub_attacks():
        if only_sub and only_sub not in name:
            continue
        args = []
        if kind == "route":
            extra = "authorization { user: a, password: b }" if conf == "cluster_auth" else ""
            conf = f"cluster {{ host: {HOST}, port: -1 \n {extra} }}\n"
        srv = Server(binary, conf=conf or None)
        try:
            r = probe(srv, payload, connect=connect,
                      port=srv.cluster_port if kind == "route" else None,
                      secs=budget(5, 3) if kind == "route" else 3,
                      then_ping=kind == "client", chunk=65536)
            for k, v in r.items():
                out[f"{name}: {k}"] = v
        except OSError as e:
            out[f"{name}: error"] = f"{e.__class__.__name__}: {e}"
        finally:
            sub = {}
            finish(sub, srv)
            for k, v in sub.items():
                out[f"{name}: {k}"] = v
    if not only_sub or "1M subs" in only_sub:
        out.update(b_million_subs(binary))
    if not only_sub or "3000" in only_sub:
        out.update(b_noconnect(binary))
    return out


def b_million_subs(binary):
    out = {}
    n = budget(1000000, 200000)
    srv = Server(binary)
    try:
        c = Client(srv.port, {})
        c.ping()
        data = b"".join(b"SUB s.%d %d\r\n" % (i, i) for i in range(n))
        t0 = time.time()
        try:
            c.s.settimeout(15)
            c.s.sendall(data)
            rtt = c.ping(15)
            out[f"{n} subs: time to PONG"] = f"{time.time() - t0:.2f}s" if rtt else "NO PONG"
        except OSError as e:
            out[f"{n} subs: time to PONG"] = f"send failed {e.__class__.__name__}"
        out[f"{n} subs: peak RSS MB"] = mb(srv.peak_now())
        out[f"{n} subs: -ERR"] = getattr(c, "last_err", "-")
        out[f"{n} subs: bystander"] = bystander_check(srv.port)
        c.close()
    finally:
        finish(out, srv)
    return out


def b_noconnect(binary):
    out = {}
    n = budget(3000, 600)
    srv = Server(binary, conf=conf_userpass("pw"))
    socks = []
    try:
        t0 = time.time()
        fails = 0
        for _ in range(n):
            try:
                socks.append(socket.create_connection((HOST, srv.port), timeout=2))
            except OSError:
                fails += 1
            if time.time() - t0 > 8:
                break
        opened = time.time() - t0
        out[f"{n} no-CONNECT conns (auth on): opened / failed"] = f"{len(socks)} in {opened:.1f}s / {fails}"
        last = None
        dl = time.time() + budget(8, 5)
        while time.time() < dl:
            c = sum(1 for s in socks if peer_closed(s))
            if c == len(socks):
                last = time.time() - t0
                break
            time.sleep(0.25)
        closed = sum(1 for s in socks if peer_closed(s))
        out[f"{n} no-CONNECT: closed by auth timeout"] = f"{closed}/{len(socks)}" + (
            f" all by {last:.1f}s" if last else "")
        out[f"{n} no-CONNECT: peak RSS MB"] = mb(srv.peak_now())
        out[f"{n} no-CONNECT: bystander"] = bystander_check(srv.port, {"user": "u", "pass": "pw"})
    finally:
        interrupt_safe_close(socks)
        finish(out, srv)
    return out


# ---------------------------------------------------------------- driver

ATTACKS = [
    ("reload", a_reload),
    ("preauth", a_preauth),
    ("slowsub", a_slowsub),
    ("pingflood", a_pingflood),
    ("bcrypt", a_bcrypt),
    ("secrets", a_secrets),
    ("dead", a_dead),
    ("idle", a_idle),
    ("monitor", a_monitor),
    ("beyond", a_beyond),
]


def main():
    global QUICK, RESULTS_LOGDIR
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--ours", default="target/release/nats-server")
    ap.add_argument("--go", default="/usr/sbin/nats-server")
    ap.add_argument("--only", help="attack name: " + ", ".join(n for n, _ in ATTACKS)
                    + " (beyond:SUBSTR runs matching sub-attacks)")
    ap.add_argument("--quick", action="store_true", help="short budgets / smaller counts")
    ap.add_argument("--json", help="write raw results here")
    ap.add_argument("--logdir", default=tempfile.gettempdir(),
                    help="where server logs of crashed/panicked runs are kept")
    a = ap.parse_args()
    QUICK = a.quick
    RESULTS_LOGDIR = a.logdir
    os.makedirs(RESULTS_LOGDIR, exist_ok=True)
    bins = {"ours": os.path.abspath(a.ours), "go": a.go}
    for k, v in bins.items():
        if not os.access(v, os.X_OK):
            sys.exit(f"{k} binary not executable: {v}")
    only, only_sub = a.only, None
    if only and ":" in only:
        only, only_sub = only.split(":", 1)
    todo = [(n, f) for n, f in ATTACKS if not only or n == only]
    if not todo:
        sys.exit(f"unknown attack {only}")
    raw = {}
    rows = []
    t_all = time.time()
    for name, fn in todo:
        raw[name] = {}
        for who in ("ours", "go"):
            t0 = time.time()
            print(f"# {name} vs {who} ...", file=sys.stderr, flush=True)
            try:
                res = fn(bins[who], only_sub) if name == "beyond" else fn(bins[who])
            except (KeyboardInterrupt, SystemExit):
                raise
            except Exception as e:  # one attack failing must not stop the others
                res = {"harness error": f"{e.__class__.__name__}: {e}"}
            res["(attack wall s)"] = round(time.time() - t0, 1)
            raw[name][who] = res
        keys = list(dict.fromkeys(list(raw[name]["ours"]) + list(raw[name]["go"])))
        for k in keys:
            rows.append((name, k, raw[name]["ours"].get(k, "-"), raw[name]["go"].get(k, "-")))
    w = [max(len(str(r[i])) for r in rows + [("attack", "metric", "ours", "go")]) for i in range(4)]
    w = [min(x, 70) for x in w]
    hdr = ("attack", "metric", "ours", "go")
    print(" | ".join(str(h).ljust(w[i]) for i, h in enumerate(hdr)))
    print("-+-".join("-" * x for x in w))
    last = None
    for r in rows:
        cells = list(r)
        if cells[0] == last:
            cells[0] = ""
        else:
            last = cells[0]
        print(" | ".join(str(c).ljust(w[i]) for i, c in enumerate(cells)))
    print()
    print(f"note: ours={bins['ours']} go={bins['go']}; quick={QUICK}; total {time.time() - t_all:.0f}s. "
          "RSS = max of VmRSS sampled every 50 ms and VmHWM (fresh server per attack). "
          "'closed' = the server closed the attacker's connection within the attack's budget. "
          "PANICKED/CRASHED rows appear only when the server log contains 'panicked' or the "
          "process exited during the attack.")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"ours": bins["ours"], "go": bins["go"], "quick": QUICK,
                       "results": raw}, f, indent=1, default=str)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        _cleanup()
        sys.exit(130)
    finally:
        _cleanup()
