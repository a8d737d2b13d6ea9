#!/usr/bin/env bash
# Round-trip latency through ours and Go nats-server 2.9.10, plain and TLS, with a client
# that never sleeps (crates/cli/examples/rtt_spin.rs): on a VM where waking a parked
# thread costs tens of microseconds, a sleeping client measures its own wake-up and hides
# both servers. ROUNDS alternating rounds, COUNT round trips each; prints one line a run.
#
#   bench/rtt_spin.sh            # ROUNDS=3 COUNT=20000
set -euo pipefail
ROUNDS=${ROUNDS:-3}
COUNT=${COUNT:-20000}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GO_BIN=${GO_BIN:-/usr/sbin/nats-server}
OURS_BIN=${OURS_BIN:-$ROOT/target/release/nats-server}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cargo build --release -q -p nats-server -p nats-cli --example rtt_spin --manifest-path "$ROOT/Cargo.toml"
SPIN=$ROOT/target/release/examples/rtt_spin
(
	cd "$WORK"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca-key.pem \
		-out ca.pem -days 2 -subj "/CN=bench CA" 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server-key.pem \
		-out server.csr -subj "/CN=localhost" 2>/dev/null
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >server.ext
	openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
		-out server.pem -days 2 -extfile server.ext 2>/dev/null
)
printf 'tls { cert_file: "%s", key_file: "%s" }\n' "$WORK/server.pem" "$WORK/server-key.pem" >"$WORK/tls.conf"

# Start $1 with the rest of the arguments on a free port; sets PID and PORT.
start() {
	local bin=$1
	shift
	rm -f "$WORK/ports"/*
	mkdir -p "$WORK/ports"
	"$bin" -p -1 --ports_file_dir "$WORK/ports" "$@" >"$WORK/server.log" 2>&1 &
	PID=$!
	for _ in $(seq 100); do
		if compgen -G "$WORK/ports/*.ports" >/dev/null; then break; fi
		sleep 0.05
	done
	# The client URL (nats:// or tls://): its port.
	PORT=$(grep -o '"[a-z]*://[^"]*' "$WORK"/ports/*.ports | head -1 | sed 's/.*://')
}

echo "# rtt_spin: $COUNT round trips per run, $(date -u +%FT%TZ), $(git -C "$ROOT" rev-parse --short HEAD)"
for ((r = 1; r <= ROUNDS; r++)); do
	if ((r % 2)); then kinds=(ours go); else kinds=(go ours); fi
	for kind in "${kinds[@]}"; do
		bin=$OURS_BIN
		[[ $kind == go ]] && bin=$GO_BIN
		for mode in plain tls; do
			if [[ $mode == tls ]]; then start "$bin" -c "$WORK/tls.conf"; ca=$WORK/ca.pem; else start "$bin"; ca=-; fi
			printf 'round %s %-4s %-5s ' "$r" "$kind" "$mode"
			"$SPIN" "127.0.0.1:$PORT" "$ca" "$COUNT"
			kill "$PID"
			wait "$PID" 2>/dev/null || true
		done
	done
done
