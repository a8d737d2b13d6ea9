# shellcheck shell=bash
# Shared helpers for bench/compare.sh and bench/scaling.sh: building, starting and
# stopping servers on random ports (read back from the .ports file), reading a
# process's CPU time and resident memory from /proc, running `nats bench --json` and
# recording one result row per measurement.
#
# Only processes this script started are ever signalled (their PIDs are tracked in
# STARTED_PIDS); nothing is killed by name.

set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
OURS_BIN=${OURS_BIN:-$ROOT/target/release/nats-server}
GO_BIN=${GO_BIN:-/usr/sbin/nats-server}
NATS=${NATS:-$ROOT/target/release/nats}
CLK_TCK=$(getconf CLK_TCK)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/nats-bench.XXXXXX")
STARTED_PIDS=()
# Results, one tab-separated row per measurement:
# workload metric unit better server round value client_cpu_pct server_cpu_pct wall_s
RESULTS=$WORK/results.tsv
: >"$RESULTS"

cleanup() {
	local pid
	for pid in "${STARTED_PIDS[@]}"; do
		kill -KILL "$pid" 2>/dev/null || true
	done
	if [ -n "${KEEP_WORK:-}" ]; then
		echo "kept server logs and raw output in $WORK" >&2
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
	printf 'FAILED: %s\n' "$*" >&2
	exit 1
}

# Raises the soft open-files limit to the hard one (children inherit it).
raise_nofile() {
	local hard
	hard=$(ulimit -Hn)
	if [ "$hard" = unlimited ]; then hard=1048576; fi
	ulimit -Sn "$hard" 2>/dev/null || true
	# shellcheck disable=SC2034 # read by the scripts that source this file
	NOFILE=$(ulimit -Sn)
}

build() {
	log "building release binaries"
	(cd "$ROOT" && cargo build --release -p nats-server -p nats-cli) >&2
	[ -x "$OURS_BIN" ] || die "missing $OURS_BIN after the build"
	[ -x "$NATS" ] || die "missing $NATS after the build"
}

ensure_go_server() {
	if [ -x "$GO_BIN" ]; then return; fi
	log "installing the Go nats-server from apt"
	local sudo=()
	if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
	"${sudo[@]}" apt-get update >&2
	"${sudo[@]}" apt-get install -y nats-server >&2
	[ -x "$GO_BIN" ] || die "apt did not install $GO_BIN"
}

server_bin() {
	case $1 in
	ours) echo "$OURS_BIN" ;;
	go) echo "$GO_BIN" ;;
	*) die "unknown server kind $1" ;;
	esac
}

# start_server KIND NAME [nats-server flags...]
# Starts a server on random client, monitoring (and, with --cluster …:-1, route)
# ports; sets SRV_PID, SRV_URL, SRV_MON and SRV_CLUSTER.
start_server() {
	local kind=$1 name=$2
	shift 2
	local dir=$WORK/$name
	mkdir -p "$dir"
	rm -f "$dir"/*.ports
	"$(server_bin "$kind")" -a 127.0.0.1 -p -1 -m -1 --ports_file_dir "$dir" "$@" \
		>"$dir/server.log" 2>&1 &
	local pid=$!
	STARTED_PIDS+=("$pid")
	local ports=$dir/nats-server_$pid.ports want_cluster=false arg i
	for arg in "$@"; do
		if [ "$arg" = --cluster ]; then want_cluster=true; fi
	done
	for ((i = 0; i < 1000; i++)); do
		if [ -s "$ports" ] && jq -e '.nats[0] and .monitoring[0]' "$ports" >/dev/null 2>&1; then
			if ! $want_cluster || jq -e '.cluster[0]' "$ports" >/dev/null 2>&1; then
				break
			fi
		fi
		if ! alive "$pid"; then
			cat "$dir/server.log" >&2
			die "$kind server $name exited during startup"
		fi
		sleep 0.01
	done
	[ -s "$ports" ] || die "$kind server $name wrote no ports file"
	SRV_PID=$pid
	SRV_URL=$(jq -r '.nats[0]' "$ports")
	SRV_MON=$(jq -r '.monitoring[0]' "$ports")
	SRV_CLUSTER=$(jq -r '.cluster[0] // empty' "$ports")
}

# alive PID: the process exists and is not a zombie (kill -0 succeeds on zombies).
alive() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ]
}

# stop_server PID: SIGTERM, then SIGKILL after 5 s; only PIDs we started.
stop_server() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 500; i++)); do
		alive "$pid" || break
		sleep 0.01
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	forget_pid "$pid"
}

# forget_pid PID: once reaped, a PID may be reused; never signal it again.
forget_pid() {
	local p keep=()
	for p in "${STARTED_PIDS[@]}"; do
		if [ "$p" != "$1" ]; then keep+=("$p"); fi
	done
	STARTED_PIDS=("${keep[@]}")
}

# start_mesh KIND PREFIX: three routed servers (A seeds, B and C route to A; gossip
# completes the full mesh). Sets MESH_PIDS and MESH_URLS; waits until every server
# reports two routes on /routez.
start_mesh() {
	local kind=$1 prefix=$2 seed i
	MESH_PIDS=()
	MESH_URLS=()
	local mons=()
	start_server "$kind" "$prefix-a" --cluster nats://127.0.0.1:-1 --cluster_name bench
	seed=$SRV_CLUSTER
	MESH_PIDS+=("$SRV_PID")
	MESH_URLS+=("$SRV_URL")
	mons+=("$SRV_MON")
	for i in b c; do
		start_server "$kind" "$prefix-$i" --cluster nats://127.0.0.1:-1 --cluster_name bench \
			--routes "$seed"
		MESH_PIDS+=("$SRV_PID")
		MESH_URLS+=("$SRV_URL")
		mons+=("$SRV_MON")
	done
	local mon n ok
	for ((i = 0; i < 1000; i++)); do
		ok=true
		for mon in "${mons[@]}"; do
			n=$(curl -fsS "$mon/routez" 2>/dev/null | jq -r '.num_routes // 0' 2>/dev/null || echo 0)
			if [ "${n:-0}" -lt 2 ]; then ok=false; fi
		done
		if $ok; then return; fi
		sleep 0.02
	done
	die "$kind mesh did not form (routes missing after 20 s)"
}

stop_mesh() {
	local pid
	for pid in "${MESH_PIDS[@]}"; do stop_server "$pid"; done
	MESH_PIDS=()
}

# cpu_ticks PID: utime + stime in clock ticks, from /proc/PID/stat.
cpu_ticks() {
	local stat fields
	stat=$(<"/proc/$1/stat")
	# The command name may contain spaces; the fields we want follow the last ')'.
	read -ra fields <<<"${stat##*) }"
	# fields[0] is field 3 (state), so utime (14) is [11] and stime (15) is [12].
	echo $((fields[11] + fields[12]))
}

# cpu_of PID...: summed ticks of several processes.
cpu_of() {
	local total=0 pid
	for pid in "$@"; do total=$((total + $(cpu_ticks "$pid"))); done
	echo "$total"
}

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

now_ns() { date +%s%N; }

# run_bench "PID [PID...]" ARGS...: runs `nats ARGS --json` and measures the servers'
# CPU over the run. Sets BENCH_JSON (the result line), BENCH_WALL (seconds),
# SERVER_CPU_PCT (server CPU as % of one core over the run) and CLIENT_CPU_PCT.
# A failed run (exit code, unverified counts) returns 1 with the reason in
# BENCH_ERROR; callers record it with record_fail, which makes the script exit 1.
run_bench() {
	local pids=$1
	shift
	local out=$WORK/bench.out err=$WORK/bench.err t0 t1 c0 c1 rc=0
	# shellcheck disable=SC2086 # pids is a space-separated list on purpose
	c0=$(cpu_of $pids)
	t0=$(now_ns)
	"$NATS" "$@" --json >"$out" 2>"$err" || rc=$?
	t1=$(now_ns)
	# shellcheck disable=SC2086
	c1=$(cpu_of $pids)
	BENCH_JSON=$(tail -n 1 "$out")
	if [ "$rc" -ne 0 ] || ! jq -e '.verified != false' <<<"$BENCH_JSON" >/dev/null 2>&1; then
		BENCH_ERROR="nats $* (exit $rc): $(grep -v ' Starting ' "$err" | tail -n 3 | tr '\n' ' ')"
		return 1
	fi
	BENCH_WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
	SERVER_CPU_PCT=$(awk -v c="$((c1 - c0))" -v hz="$CLK_TCK" -v w="$BENCH_WALL" \
		'BEGIN { printf "%.0f", 100 * c / hz / (w > 0 ? w : 1) }')
	CLIENT_CPU_PCT=$(jq -r --arg w "$BENCH_WALL" \
		'((.client_cpu_secs // 0) * 100 / ($w | tonumber)) | round' <<<"$BENCH_JSON")
}

# jget FILTER: a field of the last bench result.
jget() { jq -r "$1" <<<"$BENCH_JSON"; }

# record WORKLOAD METRIC UNIT BETTER SERVER ROUND VALUE: one result row (using the
# CPU figures of the last run) and a progress line on stderr.
record() {
	local w=$1 m=$2 unit=$3 better=$4 srv=$5 round=$6 value=$7
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$w" "$m" "$unit" "$better" "$srv" \
		"$round" "$value" "${CLIENT_CPU_PCT:-0}" "${SERVER_CPU_PCT:-0}" "${BENCH_WALL:-0}" \
		>>"$RESULTS"
	log "$(printf 'round %s %-4s %-22s %-10s %14s %-8s client %3s%% server %3s%% of a core, %ss' \
		"$round" "$srv" "$w" "$m" "$value" "$unit" "${CLIENT_CPU_PCT:-0}" \
		"${SERVER_CPU_PCT:-0}" "${BENCH_WALL:-0}")"
}

# record_fail WORKLOAD SERVER ROUND: a failed run; shown in the report and the table,
# and the script exits 1 at the end.
FAILURES=$WORK/failures.txt
: >"$FAILURES"
record_fail() {
	printf '%s\t-\t-\t-\t%s\t%s\tFAIL\t0\t0\t0\n' "$1" "$2" "$3" >>"$RESULTS"
	printf 'round %s %s %s: %s\n' "$3" "$2" "$1" "${BENCH_ERROR:-failed}" | tee -a "$FAILURES" >&2
}

machine_info() {
	local commit dirty=""
	commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
	if [ -n "$(git -C "$ROOT" status --porcelain -- crates 2>/dev/null)" ]; then
		dirty=" (working tree has uncommitted changes under crates/)"
	fi
	echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "commit:  $commit$dirty"
	echo "cpu:     $(nproc) x $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
	echo "kernel:  $(uname -sr)"
	echo "memory:  $(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "ours:    $OURS_BIN"
	echo "go:      $GO_BIN ($("$GO_BIN" --version 2>&1 | head -n 1))"
	echo "nofile:  $(ulimit -Sn) soft / $(ulimit -Hn) hard"
}
