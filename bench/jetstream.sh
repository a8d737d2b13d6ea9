#!/usr/bin/env bash
# JetStream on one server: ours vs Go nats-server 2.9.10 in the same run, with the same
# client (`nats bench js`, async-nats; every ack is checked).
#
#   bench/jetstream.sh                    # ROUNDS=3 → bench/results/<date>-jetstream.txt
#   ROUNDS=1 JS_MSGS=100000 BIG=200000 bench/jetstream.sh   # a quick look
#
# Workloads (fresh servers with a fresh store directory for each run; the order of the
# two servers alternates between rounds):
#   js-pub-{file,mem}-{16B,1KiB}  acknowledged publishes, 256 in flight (msgs/s)
#   js-pull-file-16B               durable pull consumer, explicit acks (msgs/s)
#   js-push-file-16B               durable push consumer, explicit acks (msgs/s)
#   kv-put-128B / kv-get-128B      key-value puts and gets, 256 in flight, 1,000 keys
#   js-hold-{file,mem}-BIG         resident memory holding BIG messages of 128 B (MiB)
#   js-restart-file-BIG            SIGTERM, start again on the same directory: time
#                                  until STREAM.INFO answers with all BIG messages (ms),
#                                  polled every ms over one connection (restart_wait.py)

BENCH_SH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$BENCH_SH_DIR/lib.sh"

ROUNDS=${ROUNDS:-3}
JS_MSGS=${JS_MSGS:-500000}
JS_MSGS_1K=${JS_MSGS_1K:-200000}
KV_OPS=${KV_OPS:-200000}
BIG=${BIG:-1000000}
OUT=${OUT:-$BENCH_DIR/results/$(date +%F)-jetstream.txt}
RUNS_LOG=$WORK/runs.txt
: >"$RUNS_LOG"

# js_run KIND ROUND NAME ARGS...: one `nats bench js` run on a fresh server.
js_run() {
	local kind=$1 round=$2 name=$3
	shift 3
	local sd=$WORK/store-$kind-$round-$name
	rm -rf "$sd"
	start_server "$kind" "$name-$kind-$round" -js -sd "$sd"
	local pid=$SRV_PID
	if run_bench "$pid" -s "$SRV_URL" bench js "$@"; then
		record "$name" rate msgs/s higher "$kind" "$round" "$(jget '.msgs_per_sec | floor')"
		printf '%s %s round %s: %s\n' "$kind" "$name" "$round" "$BENCH_JSON" >>"$RUNS_LOG"
	else
		record_fail "$name" "$kind" "$round"
	fi
	stop_server "$pid"
	rm -rf "$sd"
}

# js_hold KIND ROUND STORAGE: RSS holding BIG messages; for file streams also the
# restart time.
js_hold() {
	local kind=$1 round=$2 storage=$3
	local sd=$WORK/store-$kind-$round-hold
	rm -rf "$sd"
	start_server "$kind" "hold-$storage-$kind-$round" -js -sd "$sd"
	local pid=$SRV_PID
	if ! run_bench "$pid" -s "$SRV_URL" bench js --mode pub --storage "$storage" \
		--msgs "$BIG" --size 128 --window 512 --keep; then
		record_fail "js-hold-$storage-$BIG" "$kind" "$round"
		stop_server "$pid"
		return 0
	fi
	sleep 1
	CLIENT_CPU_PCT=0 SERVER_CPU_PCT=0 BENCH_WALL=0
	record "js-hold-$storage-$BIG" rss MiB lower "$kind" "$round" \
		"$(awk -v k="$(rss_kb "$pid")" 'BEGIN { printf "%.1f", k / 1024 }')"
	if [ "$storage" = file ]; then
		stop_server "$pid"
		# Started and polled by one small client (one connection, a poll per
		# millisecond), so the time is the server's, not the measuring tools'.
		local ms
		if ms=$(python3 "$BENCH_SH_DIR/restart_wait.py" "$(server_bin "$kind")" "$sd" "$BIG" \
			"$WORK/restart-$kind-$round"); then
			CLIENT_CPU_PCT=0 SERVER_CPU_PCT=0 BENCH_WALL=0
			record "js-restart-file-$BIG" time ms lower "$kind" "$round" "$ms"
		else
			BENCH_ERROR="restart: ${ms:-no answer}"
			record_fail "js-restart-file-$BIG" "$kind" "$round"
		fi
		rm -rf "$sd"
		return 0
	fi
	stop_server "$pid"
	rm -rf "$sd"
}

main() {
	build
	ensure_go_server
	command -v jq >/dev/null || die "jq is needed"
	mkdir -p "$(dirname "$OUT")"
	local started round kinds kind st
	started=$(date +%s)
	for ((round = 1; round <= ROUNDS; round++)); do
		if ((round % 2)); then kinds=(ours go); else kinds=(go ours); fi
		for st in file memory; do
			local short=${st/memory/mem}
			for kind in "${kinds[@]}"; do
				js_run "$kind" "$round" "js-pub-$short-16B" --mode pub --storage "$st" --msgs "$JS_MSGS" --size 16
			done
			for kind in "${kinds[@]}"; do
				js_run "$kind" "$round" "js-pub-$short-1KiB" --mode pub --storage "$st" --msgs "$JS_MSGS_1K" --size 1KiB
			done
		done
		for kind in "${kinds[@]}"; do
			js_run "$kind" "$round" js-pull-file-16B --mode pull --msgs "$JS_MSGS" --size 16
		done
		for kind in "${kinds[@]}"; do
			js_run "$kind" "$round" js-push-file-16B --mode push --msgs "$JS_MSGS" --size 16
		done
		for kind in "${kinds[@]}"; do
			js_run "$kind" "$round" kv-put-128B --mode kvput --msgs "$KV_OPS" --size 128
		done
		for kind in "${kinds[@]}"; do
			js_run "$kind" "$round" kv-get-128B --mode kvget --msgs "$KV_OPS" --size 128
		done
		for st in file memory; do
			for kind in "${kinds[@]}"; do js_hold "$kind" "$round" "$st"; done
		done
	done
	local elapsed=$(($(date +%s) - started))
	{
		echo "# JetStream on one server: ours vs Go nats-server 2.9.10"
		echo
		machine_info
		echo "rounds:  $ROUNDS (fresh servers and store directories per run; order alternates)"
		echo "runtime: ${elapsed}s"
		echo "Counts: JS_MSGS=$JS_MSGS JS_MSGS_1K=$JS_MSGS_1K KV_OPS=$KV_OPS BIG=$BIG"
		echo "Client: nats bench js (async-nats 0.42), 256 publishes or key-value operations in"
		echo "flight, pull batches of 500; every publish acknowledgement is checked."
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
