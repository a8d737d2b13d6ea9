#!/usr/bin/env bash
# TLS rows: our nats-server vs the Go nats-server 2.9.10 with client TLS on, same
# machine, same run, same load generator (`nats bench` over async-nats/rustls: the raw
# client speaks no TLS).
#
#   bench/tls.sh                       # ROUNDS=3, writes bench/results/<date>-tls.txt
#   ROUNDS=5 TLS_MSGS_16=4000000 bench/tls.sh
#
# Workloads (fresh servers per workload and round, order alternating as compare.sh):
#   tls-pubsub-16B / tls-pubsub-1KiB  one publisher -> one subscriber over TLS, counts
#                                     verified (--seq needs the raw client)
#   tls-idle                          memory per idle TLS connection: RSS growth after
#                                     TLS_CONNS clients hand-shook, sent CONNECT and got
#                                     their PONG, divided by TLS_CONNS
# Counts stay at or under the bench client's subscription buffer (1M messages), which
# async-nats fills (and then drops from) when the server delivers faster than it reads.
# Certificates (a CA and a server certificate for 127.0.0.1) are made with openssl.
# Plain-TCP rows come from bench/compare.sh.

BENCH_SH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$BENCH_SH_DIR/lib.sh"

ROUNDS=${ROUNDS:-3}
TLS_MSGS_16=${TLS_MSGS_16:-1000000}
TLS_MSGS_1K=${TLS_MSGS_1K:-1000000}
TLS_CONNS=${TLS_CONNS:-1000}
OUT=${OUT:-$BENCH_DIR/results/$(date +%F)-tls.txt}
RUNS_LOG=$WORK/runs.log
: >"$RUNS_LOG"

make_pki() {
	PKI=$WORK/pki
	mkdir -p "$PKI"
	(
		cd "$PKI"
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca-key.pem \
			-out ca.pem -days 2 -subj "/CN=bench CA" 2>/dev/null
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server-key.pem \
			-out server.csr -subj "/CN=localhost" 2>/dev/null
		printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >server.ext
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
			-out server.pem -days 2 -extfile server.ext 2>/dev/null
	)
	CONF=$WORK/tls.conf
	printf 'tls { cert_file: "%s", key_file: "%s", ca_file: "%s" }\n' \
		"$PKI/server.pem" "$PKI/server-key.pem" "$PKI/ca.pem" >"$CONF"
}

tls_url() { echo "tls://127.0.0.1:${SRV_URL##*:}"; }

record_run() {
	record "$@"
	printf '%s\n' "$(tail -n 1 "$RESULTS")" >>"$RUNS_LOG"
}

w_tls_sub() {
	local name=$1 size=$2 msgs=$3 kind=$4 round=$5 ok=true
	start_server "$kind" "$name-$kind-$round" -c "$CONF"
	run_bench "$SRV_PID" -s "$(tls_url)" --tlsca "$PKI/ca.pem" bench bench.sub --pub 1 --sub 1 \
		--msgs "$msgs" --size "$size" || ok=false
	stop_server "$SRV_PID"
	$ok || { record_fail "$name" "$kind" "$round"; return 0; }
	record_run "$name" delivered msgs/s higher "$kind" "$round" "$(jget .sub.msgs_per_sec)"
}

w_tls_idle() {
	local kind=$1 round=$2 before after port
	start_server "$kind" "tls-idle-$kind-$round" -c "$CONF"
	port=${SRV_URL##*:}
	sleep 0.5
	before=$(rss_kb "$SRV_PID")
	local fifo=$WORK/idle.fifo
	rm -f "$fifo"
	mkfifo "$fifo"
	python3 - "$port" "$TLS_CONNS" "$PKI/ca.pem" >"$fifo" <<'EOF' &
import socket, ssl, sys, time
port, n, ca = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
conns = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    buf = b""
    while not buf.endswith(b"\r\n"):
        buf += s.recv(4096)
    t = ctx.wrap_socket(s, server_hostname="127.0.0.1")
    t.sendall(b'CONNECT {"verbose":false}\r\nSUB idle.x 1\r\nPING\r\n')
    got = b""
    while b"PONG" not in got:
        got += t.recv(4096)
    conns.append(t)
print("ready", flush=True)
time.sleep(3600)  # hold the connections until the script stops us
EOF
	local cpid=$!
	STARTED_PIDS+=("$cpid")
	local line=""
	read -r line <"$fifo" || true
	if [ "$line" != ready ]; then
		kill -TERM "$cpid" 2>/dev/null || true
		BENCH_ERROR="idle TLS clients did not connect"
		stop_server "$SRV_PID"
		record_fail tls-idle "$kind" "$round"
		return 0
	fi
	sleep 1
	after=$(rss_kb "$SRV_PID")
	kill -TERM "$cpid" 2>/dev/null || true
	wait "$cpid" 2>/dev/null || true
	forget_pid "$cpid"
	stop_server "$SRV_PID"
	CLIENT_CPU_PCT=0 SERVER_CPU_PCT=0 BENCH_WALL=0
	record_run "tls-idle-$TLS_CONNS" per_conn KiB lower "$kind" "$round" \
		"$(awk -v a="$after" -v b="$before" -v n="$TLS_CONNS" 'BEGIN { printf "%.1f", (a - b) / n }')"
}

main() {
	build
	ensure_go_server
	raise_nofile
	make_pki
	mkdir -p "$(dirname "$OUT")"
	local started round kinds kind
	started=$(date +%s)
	for ((round = 1; round <= ROUNDS; round++)); do
		if ((round % 2)); then kinds=(ours go); else kinds=(go ours); fi
		for kind in "${kinds[@]}"; do w_tls_sub tls-pubsub-16B 16 "$TLS_MSGS_16" "$kind" "$round"; done
		for kind in "${kinds[@]}"; do w_tls_sub tls-pubsub-1KiB 1024 "$TLS_MSGS_1K" "$kind" "$round"; done
		for kind in "${kinds[@]}"; do w_tls_idle "$kind" "$round"; done
	done
	local elapsed=$(($(date +%s) - started))
	{
		echo "# nats-server over TLS: ours vs Go nats-server 2.9.10"
		echo
		machine_info
		echo "rounds:  $ROUNDS (fresh servers per workload and round; order alternates)"
		echo "runtime: ${elapsed}s"
		echo "Counts: TLS_MSGS_16=$TLS_MSGS_16 TLS_MSGS_1K=$TLS_MSGS_1K TLS_CONNS=$TLS_CONNS"
		echo "Client: nats bench over async-nats (rustls), one publisher and one subscriber"
		echo "connection, message counts verified (--seq needs the raw client); TLS 1.3 with the server's choice of"
		echo "cipher (both: TLS_AES_128_GCM_SHA256); ECDSA P-256 certificate."
		echo
		awk -f "$BENCH_DIR/summarize.awk" "$RESULTS"
		if [ -s "$FAILURES" ]; then
			echo
			echo "## FAILED runs"
			cat "$FAILURES"
		fi
	} | tee "$OUT"
	if [ -s "$FAILURES" ]; then exit 1; fi
}

main "$@"
