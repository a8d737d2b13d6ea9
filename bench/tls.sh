#!/usr/bin/env bash
# TLS rows: our nats-server vs the Go nats-server 2.9.10 with client TLS on, same
# machine, same run, same load generator: the raw-protocol `nats bench --raw` client of
# bench/compare.sh, over rustls (INFO in plain text, then the handshake).
#
#   bench/tls.sh                       # ROUNDS=3, writes bench/results/<date>-tls.txt
#   ROUNDS=5 TLS_MSGS_16=4000000 bench/tls.sh
#
# Workloads (bench/workloads.sh, run with a TLS config and --tlsca; fresh servers per
# workload and round, order alternating as compare.sh):
#   tls-pubsub-16B / tls-pubsub-1KiB   one publisher -> one subscriber, every message
#                                      checked exactly once (--seq)
#   tls-fanout-1xN-128B                one publisher -> N subscribers
#   tls-reqrep-128B                    sequential request/reply latency (p50 … p99.9)
#   tls-conns-N                        N new TLS clients (handshake, CONNECT, SUB, PONG):
#                                      time to connect them all, handshakes per second,
#                                      and RSS growth per idle TLS connection
# Certificates (a CA and an ECDSA P-256 server certificate for 127.0.0.1) are made with
# openssl. Plain-TCP rows come from bench/compare.sh.

BENCH_SH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$BENCH_SH_DIR/lib.sh"

ROUNDS=${ROUNDS:-3}
TLS_MSGS_16=${TLS_MSGS_16:-4000000}
TLS_MSGS_1K=${TLS_MSGS_1K:-1000000}
FANOUT_MSGS=${FANOUT_MSGS:-1000000}
FANOUT_SUBS=${FANOUT_SUBS:-8}
GROUP_SIZE=${GROUP_SIZE:-128}
RR_MSGS=${RR_MSGS:-20000}
RR_SIZE=${RR_SIZE:-128}
TLS_CONNS=${TLS_CONNS:-1000}
OUT=${OUT:-$BENCH_DIR/results/$(date +%F)-tls.txt}

# shellcheck source-path=SCRIPTDIR source=workloads.sh
. "$BENCH_SH_DIR/workloads.sh"

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
	local conf=$WORK/tls.conf
	printf 'tls { cert_file: "%s", key_file: "%s", ca_file: "%s" }\n' \
		"$PKI/server.pem" "$PKI/server-key.pem" "$PKI/ca.pem" >"$conf"
	SERVER_ARGS=(-c "$conf")
	CLIENT_ARGS=(--tlsca "$PKI/ca.pem")
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
		for kind in "${kinds[@]}"; do w_sub tls-pubsub-16B 16 "$TLS_MSGS_16" 1 '' "$kind" "$round"; done
		for kind in "${kinds[@]}"; do w_sub tls-pubsub-1KiB 1024 "$TLS_MSGS_1K" 1 '' "$kind" "$round"; done
		for kind in "${kinds[@]}"; do
			w_sub "tls-fanout-1x$FANOUT_SUBS-${GROUP_SIZE}B" "$GROUP_SIZE" "$FANOUT_MSGS" \
				"$FANOUT_SUBS" '' "$kind" "$round"
		done
		for kind in "${kinds[@]}"; do w_reqrep "$kind" "$round" "tls-reqrep-${RR_SIZE}B"; done
		for kind in "${kinds[@]}"; do w_conns "$kind" "$round" "$TLS_CONNS" "tls-conns-$TLS_CONNS"; done
	done
	local elapsed=$(($(date +%s) - started))
	{
		echo "# nats-server over TLS: ours vs Go nats-server 2.9.10"
		echo
		machine_info
		echo "rounds:  $ROUNDS (fresh servers per workload and round; order alternates)"
		echo "runtime: ${elapsed}s"
		echo "Counts: TLS_MSGS_16=$TLS_MSGS_16 TLS_MSGS_1K=$TLS_MSGS_1K FANOUT_MSGS=$FANOUT_MSGS" \
			"RR_MSGS=$RR_MSGS TLS_CONNS=$TLS_CONNS"
		echo "Client: nats bench --raw over rustls (TLS 1.3, the server's choice of cipher;"
		echo "both choose TLS_AES_128_GCM_SHA256), ECDSA P-256 server certificate."
		echo
		awk -f "$BENCH_DIR/summarize.awk" "$RESULTS"
		echo
		echo "## Runs"
		cat "$RUNS_LOG"
		if [ -s "$FAILURES" ]; then
			echo
			echo "## FAILED runs"
			cat "$FAILURES"
		fi
	} | tee "$OUT"
	if [ -s "$FAILURES" ]; then exit 1; fi
}

main "$@"
