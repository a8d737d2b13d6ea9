#!/usr/bin/env bash
# How ours and the Go nats-server scale, on the same machine and load generator:
#   - fan-out throughput at 1, 4, 16, 64 subscribers (one publisher, one subject);
#   - resident memory per connection at 1k, 5k, 20k idle connections (one SUB each);
#   - publish rate into a subject index of 1k, 10k, 100k subscriptions.
#
#   bench/scaling.sh                      # SCALE_ROUNDS=1
#   SCALE_ROUNDS=3 SCALE_SUBS="1 8 64" bench/scaling.sh
#
# 20k connections need ~20k open files in the bench client and in the server. The
# script raises the soft limit to the hard one; when that is still too low the count
# is capped (and the table says "capped"). Prints a table like compare.sh and writes
# bench/results/<date>-scaling.txt plus the raw rows as CSV next to it.

BENCH_SH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$BENCH_SH_DIR/lib.sh"
# shellcheck source-path=SCRIPTDIR source=workloads.sh
. "$BENCH_SH_DIR/workloads.sh"

SCALE_ROUNDS=${SCALE_ROUNDS:-1}
SCALE_SUBS=${SCALE_SUBS:-1 4 16 64}
# Deliveries per fan-out run (the message count is this divided by the subscribers).
SCALE_DELIVERIES=${SCALE_DELIVERIES:-16000000}
SCALE_SIZE=${SCALE_SIZE:-128}
SCALE_CONNS=${SCALE_CONNS:-1000 5000 20000}
SCALE_INDEX=${SCALE_INDEX:-1000 10000 100000}
SCALE_INDEX_MSGS=${SCALE_INDEX_MSGS:-4000000}
OUT=${OUT:-$BENCH_DIR/results/$(date +%F)-scaling.txt}

main() {
	build
	ensure_go_server
	raise_nofile
	mkdir -p "$(dirname "$OUT")"
	# Each side needs one descriptor per connection plus its own few.
	local max_conns=$((NOFILE - 100)) notes=() started round kinds kind n count msgs
	started=$(date +%s)
	for ((round = 1; round <= SCALE_ROUNDS; round++)); do
		if ((round % 2)); then kinds=(ours go); else kinds=(go ours); fi
		for n in $SCALE_SUBS; do
			msgs=$((SCALE_DELIVERIES / n))
			for kind in "${kinds[@]}"; do
				w_sub "fanout-1x$n-${SCALE_SIZE}B" "$SCALE_SIZE" "$msgs" "$n" "" "$kind" "$round"
			done
		done
		for n in $SCALE_CONNS; do
			count=$n
			if ((count > max_conns)); then
				count=$max_conns
				if ((round == 1)); then
					notes+=("conns-$n: capped at $count connections (open-files limit $NOFILE, hard limit $(ulimit -Hn))")
				fi
			fi
			for kind in "${kinds[@]}"; do
				w_conns "$kind" "$round" "$count" "conns-$n$([ "$count" = "$n" ] || echo "-capped")"
			done
		done
		for n in $SCALE_INDEX; do
			for kind in "${kinds[@]}"; do
				w_subs "$kind" "$round" "$n" "$SCALE_INDEX_MSGS" "subs-$n"
			done
		done
	done
	local elapsed=$(($(date +%s) - started))
	{
		echo "# nats-server scaling: ours vs Go nats-server 2.9.10"
		echo
		machine_info
		echo "rounds:  $SCALE_ROUNDS; runtime ${elapsed}s"
		echo
		echo "fanout-1xN: one publisher, N raw subscribers on one subject, $SCALE_SIZE B payloads,"
		echo "  $SCALE_DELIVERIES deliveries per run; 'delivered' = all subscribers' messages per second."
		echo "conns-N: N idle connections with one SUB each; rss/conn = server VmRSS growth / N."
		echo "subs-N: N subscriptions (half literal, half wildcard) on one connection; 'subscribe' ="
		echo "  time until the PING after them is answered; pub-rate = $SCALE_INDEX_MSGS msgs to a"
		echo "  subject matching one literal and one wildcard subscription."
		local note
		for note in "${notes[@]}"; do echo "NOTE: $note"; done
		echo
		awk -f "$BENCH_DIR/summarize.awk" "$RESULTS"
		if [ -s "$FAILURES" ]; then
			echo
			echo "## FAILED runs (lost messages, errors): not in the medians"
			cat "$FAILURES"
		fi
		echo
		echo "## Every run"
		cat "$RUNS_LOG"
	} | tee "$OUT"
	{
		echo "workload,metric,unit,better,server,round,value,client_cpu_pct,server_cpu_pct,wall_s"
		tr '\t' ',' <"$RESULTS"
	} >"${OUT%.txt}.csv"
	log "report written to $OUT (raw rows: ${OUT%.txt}.csv)"
	if [ -s "$FAILURES" ]; then
		log "FAILED: $(wc -l <"$FAILURES") run(s) failed verification or errored; see the report"
		exit 1
	fi
}

main "$@"
