#!/usr/bin/env bash
# JetStream with many subjects and many consumers: ours vs Go nats-server 2.9.10 in the
# same run (what JetStream users complain about most, beside memory and restart time).
#
#   bench/js_scale.sh                     # ROUNDS=3 → bench/results/<date>-js-scale.txt
#   ROUNDS=1 SUBJ_MSGS=200000 bench/js_scale.sh   # a quick look
#
# Workloads (fresh servers and store directories each run; order alternates by round):
#   js-pub-100k-subjects     acked publishes of SUBJ_MSGS × 128 B over SUBJECTS subjects
#                            into a file stream (msgs/s)
#   js-hold-100k-subjects    resident memory holding them afterwards (MiB)
#   js-restart-100k-subjects SIGTERM, start again: time until STREAM.INFO answers (ms)
#   js-1k-consumers-create   CONSUMERS durable pull consumers, each filtered on its own
#                            subject, created one after the other (s)
#   js-1k-consumers-rss      resident memory with them (MiB)
#   js-1k-consumers-drain    all of them drained with explicit acks (msgs/s)
BENCH_SH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$BENCH_SH_DIR/lib.sh"

ROUNDS=${ROUNDS:-3}
SUBJ_MSGS=${SUBJ_MSGS:-1000000}
SUBJECTS=${SUBJECTS:-100000}
CONS_MSGS=${CONS_MSGS:-200000}
CONSUMERS=${CONSUMERS:-1000}
OUT=${OUT:-$BENCH_DIR/results/$(date +%F)-js-scale.txt}
RUNS_LOG=$WORK/runs.txt
: >"$RUNS_LOG"

subjects_run() {
	local kind=$1 round=$2
	local sd=$WORK/store-$kind-$round-subjects
	rm -rf "$sd"
	start_server "$kind" "subjects-$kind-$round" -js -sd "$sd"
	local pid=$SRV_PID
	if ! run_bench "$pid" -s "$SRV_URL" bench js --mode pub --storage file \
		--msgs "$SUBJ_MSGS" --subjects "$SUBJECTS" --size 128 --window 512 --keep; then
		record_fail js-pub-100k-subjects "$kind" "$round"
		stop_server "$pid"
		return 0
	fi
	record js-pub-100k-subjects rate msgs/s higher "$kind" "$round" "$(jget '.msgs_per_sec | floor')"
	printf '%s subjects round %s: %s\n' "$kind" "$round" "$BENCH_JSON" >>"$RUNS_LOG"
	sleep 1
	CLIENT_CPU_PCT=0 SERVER_CPU_PCT=0 BENCH_WALL=0
	record js-hold-100k-subjects rss MiB lower "$kind" "$round" \
		"$(awk -v k="$(rss_kb "$pid")" 'BEGIN { printf "%.1f", k / 1024 }')"
	stop_server "$pid"
	local ms
	if ms=$(python3 "$BENCH_SH_DIR/restart_wait.py" "$(server_bin "$kind")" "$sd" "$SUBJ_MSGS" \
		"$WORK/restart-$kind-$round"); then
		record js-restart-100k-subjects time ms lower "$kind" "$round" "$ms"
	else
		BENCH_ERROR="restart: ${ms:-no answer}"
		record_fail js-restart-100k-subjects "$kind" "$round"
	fi
	rm -rf "$sd"
}

consumers_run() {
	local kind=$1 round=$2
	local sd=$WORK/store-$kind-$round-consumers
	rm -rf "$sd"
	start_server "$kind" "consumers-$kind-$round" -js -sd "$sd"
	local pid=$SRV_PID
	if ! run_bench "$pid" -s "$SRV_URL" bench js --mode consumers --storage file \
		--msgs "$CONS_MSGS" --subjects "$CONSUMERS" --consumers "$CONSUMERS" --size 128 \
		--batch 100 --keep; then
		record_fail js-1k-consumers-drain "$kind" "$round"
		stop_server "$pid"
		return 0
	fi
	record js-1k-consumers-drain rate msgs/s higher "$kind" "$round" "$(jget '.msgs_per_sec | floor')"
	printf '%s consumers round %s: %s\n' "$kind" "$round" "$BENCH_JSON" >>"$RUNS_LOG"
	record js-1k-consumers-create time s lower "$kind" "$round" "$(jget '.create_secs * 1000 | floor / 1000')"
	CLIENT_CPU_PCT=0 SERVER_CPU_PCT=0 BENCH_WALL=0
	record js-1k-consumers-rss rss MiB lower "$kind" "$round" \
		"$(awk -v k="$(rss_kb "$pid")" 'BEGIN { printf "%.1f", k / 1024 }')"
	stop_server "$pid"
	rm -rf "$sd"
}

main() {
	build
	ensure_go_server
	command -v jq >/dev/null || die "jq is needed"
	mkdir -p "$(dirname "$OUT")"
	local started round kinds kind
	started=$(date +%s)
	for ((round = 1; round <= ROUNDS; round++)); do
		if ((round % 2)); then kinds=(ours go); else kinds=(go ours); fi
		for kind in "${kinds[@]}"; do subjects_run "$kind" "$round"; done
		for kind in "${kinds[@]}"; do consumers_run "$kind" "$round"; done
	done
	local elapsed=$(($(date +%s) - started))
	{
		echo "# JetStream with many subjects and many consumers: ours vs Go nats-server 2.9.10"
		echo
		machine_info
		echo "rounds:  $ROUNDS (fresh servers and store directories per run; order alternates)"
		echo "runtime: ${elapsed}s"
		echo "Counts: SUBJ_MSGS=$SUBJ_MSGS SUBJECTS=$SUBJECTS CONS_MSGS=$CONS_MSGS CONSUMERS=$CONSUMERS"
		echo "Client: nats bench js (async-nats 0.42); publishes 512 in flight, every ack checked;"
		echo "consumers drained one after the other in fetches of 100, each message acked and"
		echo "checked to be on the consumer's own subject."
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
