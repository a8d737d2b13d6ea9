#!/usr/bin/env python3
"""Time a JetStream restart: start a server on an existing store directory and measure
until $JS.API.STREAM.INFO.BENCH reports every message, polling every millisecond over one
connection (a process per poll would add tens of milliseconds to both servers alike).

    restart_wait.py SERVER_BIN STORE_DIR MESSAGES WORK_DIR   -> prints milliseconds

The server gets -p -1 and a ports file in WORK_DIR; it is stopped (SIGTERM) at the end.
Exits non-zero if the stream does not show MESSAGES within 60 s.
"""
import glob
import json
import os
import signal
import socket
import subprocess
import sys
import time


def main():
    binary, store, want, work = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    os.makedirs(work, exist_ok=True)
    for f in glob.glob(os.path.join(work, "*.ports")):
        os.remove(f)
    log = open(os.path.join(work, "server.log"), "wb")
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [binary, "-a", "127.0.0.1", "-p", "-1", "-js", "-sd", store, "--ports_file_dir", work],
        stdout=log,
        stderr=log,
    )
    deadline = t0 + 60
    try:
        port = None
        while port is None:
            if time.monotonic() > deadline or proc.poll() is not None:
                sys.exit("server did not start")
            for f in glob.glob(os.path.join(work, "*.ports")):
                try:
                    with open(f) as fh:
                        port = int(json.load(fh)["nats"][0].rsplit(":", 1)[1])
                except (ValueError, KeyError, IndexError, OSError):
                    pass
            if port is None:
                time.sleep(0.0005)
        sock = None
        while sock is None:
            try:
                sock = socket.create_connection(("127.0.0.1", port))
            except OSError:
                if time.monotonic() > deadline:
                    sys.exit("no connection")
                time.sleep(0.0005)
        f = sock.makefile("rb")
        f.readline()  # INFO
        sock.sendall(b'CONNECT {"verbose":false}\r\nSUB _R 1\r\n')
        while True:
            sock.sendall(b"PUB $JS.API.STREAM.INFO.BENCH _R 0\r\n\r\n")
            line = f.readline()
            while not line.startswith(b"MSG"):
                if line.startswith(b"PING"):
                    sock.sendall(b"PONG\r\n")
                line = f.readline()
            body = f.read(int(line.split()[-1]) + 2)
            state = json.loads(body).get("state") or {}
            if state.get("messages") == want:
                break
            if time.monotonic() > deadline:
                sys.exit(f"stream shows {state.get('messages')}, wanted {want}")
            time.sleep(0.001)
        print(f"{(time.monotonic() - t0) * 1000:.1f}")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    main()
