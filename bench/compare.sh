#!/usr/bin/env bash
# Compares our nats-server with the Go nats-server 2.9.10 on the same machine, in the
# same run, with the same load generator (`nats bench`, lean raw-protocol client).
#
#   bench/compare.sh                 # ROUNDS=3, writes bench/results/<date>-compare.txt
#   ROUNDS=5 PUB_MSGS_16=4000000 bench/compare.sh
#   ONLY="pub-16B reqrep" bench/compare.sh   # run a subset (workload name prefixes)
#
# Every workload runs on fresh servers, alternating ours and Go for ROUNDS rounds (ours
# first in odd rounds, Go first in even rounds, so drift hits both alike). Every bench
# run verifies its message counts (and, with --seq, that each message arrived exactly
# once); a failed run is reported loudly (in the log, the table and a FAILED section)
# and makes the script exit 1, but the other workloads still run. The table shows the median over the
# rounds, the min-max spread, the ratio ours/go and the direction that is better, plus
# the median CPU of the bench client and of the server(s) in % of one core.
#
# Message counts are environment variables (defaults: each run takes ~1.5-6 s, the
# whole script ~7 minutes on a 2-core machine with ROUNDS=3); see the list below.
# KEEP_WORK=1 keeps the server logs of every run.

BENCH_SH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$BENCH_SH_DIR/lib.sh"

ROUNDS=${ROUNDS:-3}
ONLY=${ONLY:-}
PUB_MSGS_16=${PUB_MSGS_16:-30000000}
PUB_MSGS_128=${PUB_MSGS_128:-20000000}
PUB_MSGS_1K=${PUB_MSGS_1K:-8000000}
PUB_MSGS_64K=${PUB_MSGS_64K:-100000}
PUBSUB_MSGS_16=${PUBSUB_MSGS_16:-20000000}
PUBSUB_MSGS_1K=${PUBSUB_MSGS_1K:-4000000}
FANOUT_MSGS=${FANOUT_MSGS:-2500000}
FANOUT_SUBS=${FANOUT_SUBS:-8}
QUEUE_MSGS=${QUEUE_MSGS:-8000000}
QUEUE_SUBS=${QUEUE_SUBS:-4}
GROUP_SIZE=${GROUP_SIZE:-128}
RR_MSGS=${RR_MSGS:-30000}
RR_SIZE=${RR_SIZE:-128}
ROUTE_MSGS=${ROUTE_MSGS:-5000000}
ROUTE_RR_MSGS=${ROUTE_RR_MSGS:-20000}
CONNS=${CONNS:-5000}
SUBS=${SUBS:-100000}
SUBS_MSGS=${SUBS_MSGS:-5000000}
OUT=${OUT:-$BENCH_DIR/results/$(date +%F)-compare.txt}

# shellcheck source-path=SCRIPTDIR source=workloads.sh
. "$BENCH_SH_DIR/workloads.sh"

wanted() {
	local w
	[ -z "$ONLY" ] && return 0
	for w in $ONLY; do
		case $1 in "$w"*) return 0 ;; esac
	done
	return 1
}

WORKLOADS=(
	"pub-16B|w_pub pub-16B 16 $PUB_MSGS_16"
	"pub-128B|w_pub pub-128B 128 $PUB_MSGS_128"
	"pub-1KiB|w_pub pub-1KiB 1024 $PUB_MSGS_1K"
	"pub-64KiB|w_pub pub-64KiB 65536 $PUB_MSGS_64K"
	"pubsub-16B|w_sub pubsub-16B 16 $PUBSUB_MSGS_16 1 ''"
	"pubsub-1KiB|w_sub pubsub-1KiB 1024 $PUBSUB_MSGS_1K 1 ''"
	"fanout|w_sub fanout-1x$FANOUT_SUBS-${GROUP_SIZE}B $GROUP_SIZE $FANOUT_MSGS $FANOUT_SUBS ''"
	"queue|w_sub queue-1x$QUEUE_SUBS-${GROUP_SIZE}B $GROUP_SIZE $QUEUE_MSGS $QUEUE_SUBS g"
	"reqrep|w_reqrep"
	"route-pubsub|w_route_pubsub"
	"route-reqrep|w_route_reqrep"
	"import-reqrep|w_import_reqrep"
	"import-fanout|w_import_fanout"
	"conns|w_conns"
	"subs|w_subs"
)

run_workload() {
	local spec=$1 kind=$2 round=$3 cmd
	cmd=${spec#*|}
	# Word-split the command; '' stands for an empty argument.
	local -a argv
	read -ra argv <<<"$cmd"
	local i
	for i in "${!argv[@]}"; do
		if [ "${argv[$i]}" = "''" ]; then argv[i]=""; fi
	done
	"${argv[@]}" "$kind" "$round"
}

main() {
	build
	ensure_go_server
	raise_nofile
	if [ "$NOFILE" -lt $((CONNS + 64)) ]; then
		log "open-files limit $NOFILE is below $((CONNS + 64)); lowering CONNS"
		CONNS=$((NOFILE - 64))
	fi
	mkdir -p "$(dirname "$OUT")"
	local started round spec kinds kind
	started=$(date +%s)
	for ((round = 1; round <= ROUNDS; round++)); do
		if ((round % 2)); then kinds=(ours go); else kinds=(go ours); fi
		for spec in "${WORKLOADS[@]}"; do
			wanted "${spec%%|*}" || continue
			for kind in "${kinds[@]}"; do
				run_workload "$spec" "$kind" "$round"
			done
		done
	done
	local elapsed=$(($(date +%s) - started))
	{
		echo "# nats-server comparison: ours vs Go nats-server 2.9.10"
		echo
		machine_info
		echo "rounds:  $ROUNDS (fresh servers per workload and round; order alternates)"
		echo "runtime: ${elapsed}s"
		echo
		echo "Counts: PUB_MSGS_16=$PUB_MSGS_16 PUB_MSGS_128=$PUB_MSGS_128 PUB_MSGS_1K=$PUB_MSGS_1K" \
			"PUB_MSGS_64K=$PUB_MSGS_64K PUBSUB_MSGS_16=$PUBSUB_MSGS_16 PUBSUB_MSGS_1K=$PUBSUB_MSGS_1K" \
			"FANOUT_MSGS=$FANOUT_MSGS QUEUE_MSGS=$QUEUE_MSGS RR_MSGS=$RR_MSGS ROUTE_MSGS=$ROUTE_MSGS" \
			"ROUTE_RR_MSGS=$ROUTE_RR_MSGS CONNS=$CONNS SUBS=$SUBS SUBS_MSGS=$SUBS_MSGS"
		echo
		echo "Medians over the rounds; [min-max] is the spread. ours/go is the ratio of the"
		echo "medians: for 'better=higher' rows (throughput) >1 means ours is faster; for"
		echo "'better=lower' rows (latency, memory, time) <1 means ours is better."
		echo "client%/server% = median CPU of the bench client / the server(s) in % of one"
		echo "core over the run (3-node mesh rows: all three servers summed). All runs"
		echo "verified their counts; sub workloads also checked every message exactly once (--seq)."
		echo
		awk -f "$BENCH_DIR/summarize.awk" "$RESULTS"
		if [ -s "$FAILURES" ]; then
			echo
			echo "## FAILED runs (lost messages, errors): these rounds are not in the medians"
			cat "$FAILURES"
		fi
		echo
		echo "## Every run"
		cat "$RUNS_LOG"
	} | tee "$OUT"
	cp "$RESULTS" "${OUT%.txt}.tsv"
	log "report written to $OUT (raw rows: ${OUT%.txt}.tsv)"
	if [ -s "$FAILURES" ]; then
		log "FAILED: $(wc -l <"$FAILURES") run(s) failed verification or errored; see the report"
		exit 1
	fi
}

main "$@"
