#!/usr/bin/env bash
# Websocket clients: our nats-server beside the Go nats-server 2.9.10, in the same run,
# with the same lean load generator (crates/server/examples/ws_bench.rs: blocking
# sockets, PUBs packed into masked 64 KiB frames, compressed like a browser would with
# deflate, and a subscriber that unframes/inflates and counts MSGs by size).
#
#   bench/websocket.sh                      # ROUNDS=3, writes results/<date>-websocket.txt
#   ROUNDS=5 WS_MSGS_16=4000000 bench/websocket.sh
#
# Workloads: pub->sub 16 B and 1 KiB, each without and with permessage-deflate; memory
# per idle websocket connection (RSS after IDLE_CONNS connections minus RSS before,
# divided by IDLE_CONNS). Servers alternate (ours first in odd rounds); each run starts
# a fresh server. Only processes this script started are signalled.

BENCH_SH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$BENCH_SH_DIR/lib.sh"

ROUNDS=${ROUNDS:-3}
WS_MSGS_16=${WS_MSGS_16:-6000000}
WS_MSGS_1K=${WS_MSGS_1K:-1500000}
IDLE_CONNS=${IDLE_CONNS:-2000}
OUT=${OUT:-$BENCH_DIR/results/$(date +%F)-websocket.txt}
WS_BENCH=$ROOT/target/release/examples/ws_bench

log "building release binaries"
(cd "$ROOT" && cargo build --release -p nats-server --bin nats-server --example ws_bench) >&2
ensure_go_server
raise_nofile

CONF=$WORK/ws.conf
cat >"$CONF" <<CONF_EOF
websocket { host: 127.0.0.1, port: -1, no_tls: true, compression: true }
CONF_EOF

ws_addr() { jq -r '.websocket[0]' "$WORK/$1"/nats-server_"$2".ports | sed 's#^ws://##'; }

TSV=$WORK/ws.tsv
: >"$TSV"

one_pubsub() { # kind round name msgs size [deflate]
	local kind=$1 round=$2 name=$3 msgs=$4 size=$5 mode=${6:-}
	start_server "$kind" "$name-$kind-$round" -c "$CONF"
	local addr out
	addr=$(ws_addr "$name-$kind-$round" "$SRV_PID")
	out=$("$WS_BENCH" pubsub "$addr" "$msgs" "$size" $mode) || die "$kind $name failed"
	stop_server "$SRV_PID"
	printf '%s\t%s\t%s\t%s\n' "$name" "$kind" "$round" "${out%% *}" >>"$TSV"
	log "$name $kind round $round: ${out%% *} msgs/s"
}

one_idle() { # kind round
	local kind=$1 round=$2
	start_server "$kind" "idle-$kind-$round" -c "$CONF"
	local addr before after fifo
	addr=$(ws_addr "idle-$kind-$round" "$SRV_PID")
	sleep 0.5
	before=$(rss_kb "$SRV_PID")
	fifo=$WORK/idle-$kind-$round.in
	mkfifo "$fifo"
	"$WS_BENCH" idle "$addr" "$IDLE_CONNS" <"$fifo" >"$fifo.out" &
	local cpid=$!
	STARTED_PIDS+=("$cpid")
	exec 7>"$fifo"
	for ((i = 0; i < 6000; i++)); do
		grep -q ready "$fifo.out" 2>/dev/null && break
		sleep 0.01
	done
	grep -q ready "$fifo.out" || die "idle clients not ready ($kind)"
	sleep 1
	after=$(rss_kb "$SRV_PID")
	exec 7>&-
	wait "$cpid" 2>/dev/null || true
	forget_pid "$cpid"
	stop_server "$SRV_PID"
	local per=$(((after - before) * 1024 / IDLE_CONNS))
	printf '%s\t%s\t%s\t%s\n' "idle-mem-B/conn" "$kind" "$round" "$per" >>"$TSV"
	log "idle $kind round $round: $per bytes/conn"
}

for ((r = 1; r <= ROUNDS; r++)); do
	if ((r % 2)); then order=(ours go); else order=(go ours); fi
	for k in "${order[@]}"; do
		one_pubsub "$k" "$r" ws-pubsub-16B "$WS_MSGS_16" 16
		one_pubsub "$k" "$r" ws-pubsub-16B-deflate "$WS_MSGS_16" 16 deflate
		one_pubsub "$k" "$r" ws-pubsub-1KiB "$WS_MSGS_1K" 1024
		one_pubsub "$k" "$r" ws-pubsub-1KiB-deflate "$WS_MSGS_1K" 1024 deflate
		one_idle "$k" "$r"
	done
done

{
	echo "# bench/websocket.sh, $(date -u '+%F %T UTC'), commit $(cd "$ROOT" && git rev-parse --short HEAD)"
	echo "# command: ROUNDS=$ROUNDS WS_MSGS_16=$WS_MSGS_16 WS_MSGS_1K=$WS_MSGS_1K IDLE_CONNS=$IDLE_CONNS bench/websocket.sh"
	echo "# machine: $(nproc) cores, $(awk '/MemTotal/ {print $2/1024/1024 " GiB"}' /proc/meminfo), $(uname -r)"
	echo "# medians over $ROUNDS rounds (min-max); msgs/s higher is better, bytes/conn lower is better"
	printf '%-26s %22s %22s %8s\n' workload ours go ours/go
	awk -F'\t' '
		{ v[$1 SUBSEP $2] = v[$1 SUBSEP $2] " " $4; names[$1] = 1 }
		function med(s,   a, n, i, j, t) {
			n = split(s, a, " ")
			for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
			lo = a[1]; hi = a[n]
			return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
		}
		END {
			for (w in names) {
				mo = med(v[w SUBSEP "ours"]); olo = lo; ohi = hi
				mg = med(v[w SUBSEP "go"]); glo = lo; ghi = hi
				printf "%-26s %10.0f (%.0f-%.0f) %10.0f (%.0f-%.0f) %7.2fx\n", w, mo, olo, ohi, mg, glo, ghi, (mg > 0 ? mo / mg : 0)
			}
		}' "$TSV" | sort
	echo
	echo "# every run (workload, server, round, value)"
	cat "$TSV"
} | tee "$OUT"
