# shellcheck shell=bash disable=SC2034 # sets globals (BENCH_JSON, CPU figures) that lib.sh reads
# The benchmark workloads shared by bench/compare.sh and bench/scaling.sh. Each w_*
# function starts fresh server(s), runs one `nats bench` (raw client, counts verified),
# stops the server(s) and records one or more result rows for KIND (ours|go) and
# ROUND; a failed run is recorded with record_fail and the caller goes on.
# Needs lib.sh sourced first.

RUNS_LOG=$WORK/runs.txt
: >"$RUNS_LOG"

# Other transports run the same workloads (bench/tls.sh): SERVER_ARGS go to every server
# (a config file), CLIENT_ARGS to every `nats` call after its server URL (--tlsca …).
SERVER_ARGS=()
CLIENT_ARGS=()

# Each record also goes to the per-run section of the report.
record_run() {
	record "$@"
	tail -n 1 "$RESULTS" | awk -F '\t' '{ printf "round %s %-4s %-22s %-8s %14s %-8s client %3s%% server %3s%% wall %ss\n", $6, $5, $1, $2, $7, $3, $8, $9, $10 }' >>"$RUNS_LOG"
}

# --- workloads: each takes KIND ROUND and records one or more metrics -------------

# 1. publish only, one publisher.
w_pub() {
	local name=$1 size=$2 msgs=$3 kind=$4 round=$5
	local ok=true
	start_server "$kind" "$name-$kind-$round"
	run_bench "$SRV_PID" -s "$SRV_URL" bench bench.pub --pub 1 --msgs "$msgs" --size "$size" \
		--raw || ok=false
	stop_server "$SRV_PID"
	$ok || { record_fail "$name" "$kind" "$round"; return 0; }
	record_run "$name" rate msgs/s higher "$kind" "$round" "$(jget .pub.msgs_per_sec)"
}

# 2-4. publish -> subscribers on the same server; the delivery rate is the merged
# rate of all subscribers (every subscriber's messages over their joint span).
w_sub() {
	local name=$1 size=$2 msgs=$3 subs=$4 queue=$5 kind=$6 round=$7
	local extra=() ok=true
	if [ -n "$queue" ]; then extra=(--queue "$queue"); fi
	start_server "$kind" "$name-$kind-$round" "${SERVER_ARGS[@]}"
	run_bench "$SRV_PID" -s "$SRV_URL" "${CLIENT_ARGS[@]}" bench bench.sub --pub 1 --sub "$subs" --msgs "$msgs" \
		--size "$size" --raw --seq "${extra[@]}" || ok=false
	stop_server "$SRV_PID"
	$ok || { record_fail "$name" "$kind" "$round"; return 0; }
	record_run "$name" delivered msgs/s higher "$kind" "$round" "$(jget .sub.msgs_per_sec)"
}

record_latency() {
	local name=$1 kind=$2 round=$3 q
	for q in p50 p90 p99 p999; do
		record_run "$name" "$q" us lower "$kind" "$round" "$(jget ".latency.${q}_us")"
	done
}

# 5. request/reply: sequential requests to one responder.
w_reqrep() {
	local kind=$1 round=$2 name=${3:-reqrep-${RR_SIZE}B} ok=true
	start_server "$kind" "rr-$kind-$round" "${SERVER_ARGS[@]}"
	run_bench "$SRV_PID" -s "$SRV_URL" "${CLIENT_ARGS[@]}" bench bench.rr --pub 1 --sub 1 \
		--request --reply --msgs "$RR_MSGS" --size "$RR_SIZE" --raw || ok=false
	stop_server "$SRV_PID"
	$ok || { record_fail "$name" "$kind" "$round"; return 0; }
	record_latency "$name" "$kind" "$round"
}

# 6. across a route: publisher on A, subscriber on B of a 3-node mesh.
w_route_pubsub() {
	local kind=$1 round=$2 ok=true
	start_mesh "$kind" "route-$kind-$round"
	run_bench "${MESH_PIDS[*]}" bench bench.route --pub-server "${MESH_URLS[0]}" \
		--sub-server "${MESH_URLS[1]}" --pub 1 --sub 1 --msgs "$ROUTE_MSGS" \
		--size "$GROUP_SIZE" --raw --seq || ok=false
	stop_mesh
	$ok || { record_fail "route-pubsub-${GROUP_SIZE}B" "$kind" "$round"; return 0; }
	record_run "route-pubsub-${GROUP_SIZE}B" delivered msgs/s higher "$kind" "$round" \
		"$(jget .sub.msgs_per_sec)"
}

w_route_reqrep() {
	local kind=$1 round=$2 ok=true
	start_mesh "$kind" "route-rr-$kind-$round"
	run_bench "${MESH_PIDS[*]}" bench bench.route.rr --pub-server "${MESH_URLS[0]}" \
		--sub-server "${MESH_URLS[1]}" --pub 1 --sub 1 --request --reply \
		--msgs "$ROUTE_RR_MSGS" --size "$RR_SIZE" --raw || ok=false
	stop_mesh
	$ok || { record_fail "route-reqrep-${RR_SIZE}B" "$kind" "$round"; return 0; }
	record_latency "route-reqrep-${RR_SIZE}B" "$kind" "$round"
}

# 6b. across accounts: a service import (requesters in B, responders in A, the request
# and its reply mapped through the import) and a stream import (publisher in A,
# subscribers in B). `_BENCH_SYNC.>` is imported too so that the bench's interest
# sync (publish on one side, receive on the other) crosses the accounts.
IMPORT_CONF=$WORK/import-accounts.conf
cat >"$IMPORT_CONF" <<'CONF'
accounts {
  A { users: [{user: a, password: a}]
      exports: [ {service: "bench.import.rr"}, {stream: "bench.import.fan"},
                 {stream: "_BENCH_SYNC.>"}, {service: "_BENCH_SYNC.>"} ] }
  B { users: [{user: b, password: b}]
      imports: [ {service: {account: A, subject: "bench.import.rr"}}
                 {stream: {account: A, subject: "bench.import.fan"}}
                 {service: {account: A, subject: "_BENCH_SYNC.>"}, to: "_BENCH_SYNC.>"}
                 {stream: {account: A, subject: "_BENCH_SYNC.>"}} ] }
}
CONF

# user_url USER URL: nats://USER:USER@host:port
user_url() { echo "${2/:\/\//://$1:$1@}"; }

w_import_reqrep() {
	local kind=$1 round=$2 ok=true
	start_server "$kind" "import-rr-$kind-$round" -c "$IMPORT_CONF"
	run_bench "$SRV_PID" bench bench.import.rr --pub-server "$(user_url b "$SRV_URL")" \
		--sub-server "$(user_url a "$SRV_URL")" --pub 1 --sub 1 --request --reply \
		--msgs "$RR_MSGS" --size "$RR_SIZE" --raw || ok=false
	stop_server "$SRV_PID"
	$ok || { record_fail "import-reqrep-${RR_SIZE}B" "$kind" "$round"; return 0; }
	record_latency "import-reqrep-${RR_SIZE}B" "$kind" "$round"
}

w_import_fanout() {
	local kind=$1 round=$2 ok=true name="import-fanout-1x$FANOUT_SUBS-${GROUP_SIZE}B"
	start_server "$kind" "import-fan-$kind-$round" -c "$IMPORT_CONF"
	run_bench "$SRV_PID" bench bench.import.fan --pub-server "$(user_url a "$SRV_URL")" \
		--sub-server "$(user_url b "$SRV_URL")" --pub 1 --sub "$FANOUT_SUBS" \
		--msgs "$FANOUT_MSGS" --size "$GROUP_SIZE" --raw --seq || ok=false
	stop_server "$SRV_PID"
	$ok || { record_fail "$name" "$kind" "$round"; return 0; }
	record_run "$name" delivered msgs/s higher "$kind" "$round" "$(jget .sub.msgs_per_sec)"
}

# 7. many idle connections, one subscription each: server RSS per connection and the
# time to connect them all.
w_conns() {
	local kind=$1 round=$2 count=${3:-$CONNS} name=${4:-conns-$CONNS}
	start_server "$kind" "conns-$kind-$round-$count" "${SERVER_ARGS[@]}"
	local pid=$SRV_PID out=$WORK/conns.out err=$WORK/conns.err i base rss c0 c1 t0 t1 rc=0
	sleep 0.5
	base=$(rss_kb "$pid")
	c0=$(cpu_ticks "$pid")
	t0=$(now_ns)
	: >"$out"
	"$NATS" -s "$SRV_URL" "${CLIENT_ARGS[@]}" bench conns --count "$count" --source-ips 16 --json \
		>"$out" 2>"$err" &
	local cpid=$!
	STARTED_PIDS+=("$cpid")
	for ((i = 0; i < 12000; i++)); do
		[ -s "$out" ] && break
		alive "$cpid" || break
		sleep 0.01
	done
	if [ ! -s "$out" ]; then
		kill -TERM "$cpid" 2>/dev/null || true
		wait "$cpid" || true
		forget_pid "$cpid"
		stop_server "$pid"
		BENCH_ERROR="nats bench conns --count $count did not connect: $(tail -n 2 "$err" | tr '\n' ' ')"
		record_fail "$name" "$kind" "$round"
		return 0
	fi
	t1=$(now_ns)
	c1=$(cpu_ticks "$pid")
	# Let allocator and GC settle before reading RSS.
	sleep 1
	rss=$(rss_kb "$pid")
	kill -TERM "$cpid"
	wait "$cpid" || rc=$?
	forget_pid "$cpid"
	stop_server "$pid"
	if [ "$rc" -ne 0 ]; then
		BENCH_ERROR="nats bench conns (exit $rc): $(tail -n 2 "$err" | tr '\n' ' ')"
		record_fail "$name" "$kind" "$round"
		return 0
	fi
	BENCH_JSON=$(tail -n 1 "$out")
	BENCH_WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
	SERVER_CPU_PCT=$(awk -v c="$((c1 - c0))" -v hz="$CLK_TCK" -v w="$BENCH_WALL" \
		'BEGIN { printf "%.0f", 100 * c / hz / (w > 0 ? w : 1) }')
	CLIENT_CPU_PCT=$(jget '.client_cpu_pct')
	record_run "$name" rss/conn KiB lower "$kind" "$round" \
		"$(awk -v a="$base" -v b="$rss" -v n="$count" 'BEGIN { printf "%.2f", (b - a) / n }')"
	record_run "$name" connect s lower "$kind" "$round" "$(jget .connect_secs)"
	record_run "$name" conns/s "conn/s" higher "$kind" "$round" "$(jget .conns_per_sec)"
}

# 8. a large subject index: subscribe time (PING answered), then publish rate to a
# subject that matches one literal and one wildcard subscription.
w_subs() {
	local kind=$1 round=$2 count=${3:-$SUBS} msgs=${4:-$SUBS_MSGS} name=${5:-subs-$SUBS}
	local ok=true
	start_server "$kind" "subs-$kind-$round-$count"
	run_bench "$SRV_PID" -s "$SRV_URL" bench subs --count "$count" --msgs "$msgs" || ok=false
	stop_server "$SRV_PID"
	$ok || { record_fail "$name" "$kind" "$round"; return 0; }
	record_run "$name" subscribe s lower "$kind" "$round" "$(jget .subscribe_secs)"
	record_run "$name" pub-rate msgs/s higher "$kind" "$round" "$(jget .pub.msgs_per_sec)"
}
