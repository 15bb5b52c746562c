#!/usr/bin/env bash
# Instructions per command, counted by valgrind's callgrind (deterministic, so
# usable on this noisy machine where wall-clock numbers wobble).
#
#   perf/callgrind.sh SCENARIO|all [--count N] [--top N]
#
# For each scenario uimapd runs under `valgrind --tool=callgrind` three times
# with a fixed load from one connection (depth 1):
#   run 0: start and stop, no load                         -> Ir0
#   run 1: populate (if any), connect, login, setup, K1 ops -> Ir1
#   run 2: the same with K2 = K1 + N ops                   -> Ir2
# and prints Ir/op = (Ir2 - Ir1) / N  (the marginal cost of one command; for
# `login` one op is a whole connect+LOGIN+LOGOUT session) and the fixed cost
# of a connection (Ir1 - Ir0 - K1 * Ir/op, populate included when the scenario
# populates).  With --top, the most expensive functions of run 2.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ $# -ge 1 ] || { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
WHAT=$1
shift
N=500
K1=20
TOP=0
while [ $# -gt 0 ]; do
	case $1 in
	--count) N=$2; shift 2 ;;
	--top) TOP=$2; shift 2 ;;
	*) perf_die "unknown option $1" ;;
	esac
done
if [ "$WHAT" = all ]; then
	SCENARIOS=(noop login append fetch-small fetch-body search select-large)
else
	SCENARIOS=("$WHAT")
fi

perf_need_pkgs valgrind
perf_build
trap perf_cleanup EXIT
trap 'exit 130' INT TERM
perf_tmpdir
UIMAP_START_SECS=120

ir_total() { # callgrind out file -> total Ir
	awk '/^(summary|totals):/ { print $2; exit }' "$1"
}

# run uimapd under callgrind with COUNT ops of SCENARIO (COUNT = -1: no load)
cg_run() { # scenario count outfile
	local scen=$1 count=$2 out=$3
	rm -rf "$PERF_TMP/uimap-data"   # every run starts from an empty store
	UIMAP_WRAPPER="valgrind --tool=callgrind --callgrind-out-file=$out --dump-instr=no"
	perf_start_uimapd
	UIMAP_WRAPPER=""
	# Valgrind (3.19) does not hand the CPU to other threads while the loop
	# thread sleeps in io_uring_enter, so a LOGIN waiting for an auth worker
	# can stall.  A ticker connection sends an unauthenticated NOOP every 2 ms
	# to keep the loop thread waking up; its NOOPs are counted and their cost
	# (calibrated in run 0) is subtracted.
	python3 - "$UIMAP_PORT" "$out.ticks" <<'PYT' &
import socket, sys, time, signal
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(60)
s.recv(4096)
n = 0
def done(*_):
    open(sys.argv[2], "w").write(str(n))
    sys.exit(0)
signal.signal(signal.SIGTERM, done)
try:
    while True:
        s.sendall(b"t NOOP\r\n")
        buf = b""
        while b"t OK" not in buf:
            chunk = s.recv(4096)
            if not chunk:
                done()
            buf += chunk
        n += 1
        time.sleep(0.002)
except OSError:
    done()
PYT
	TICKER_PID=$!
	sleep 1
	if [ "$count" -ge 0 ]; then
		perf_populate "$UIMAP_PORT"
		local extra=()
		[ "$scen" = idle-hold ] && extra=(--round-timeout 30)
		timeout 600 "$BENCH" -q -p "$UIMAP_PORT" -s "$scen" -c 1 -d 1 -n "$count" --warmup 0 \
			--setup-timeout ${CG_SETUP_TIMEOUT:-120} "${ARGS_CG[@]}" "${extra[@]}" >"$PERF_TMP/bench-$scen-$count.json" ||
			{ echo "bench failed for $scen (count $count): $(cat "$PERF_TMP/bench-$scen-$count.json")" >&2
			  kill -TERM "$TICKER_PID" "$UIMAP_PID"; wait "$UIMAP_PID" 2>/dev/null || true; return 1; }
	fi
	[ "$count" -eq -2 ] && sleep 8   # the long calibration run
	kill -TERM "$TICKER_PID"; wait "$TICKER_PID" 2>/dev/null || true
	kill -TERM "$UIMAP_PID"
	timeout 120 tail --pid="$UIMAP_PID" -f /dev/null || kill -KILL "$UIMAP_PID"
	wait "$UIMAP_PID" 2>/dev/null || true
	[ -s "$out" ] || perf_die "callgrind wrote no profile ($out); see $PERF_TMP/uimapd.log"
}

perf_log "run 0: start/stop without load (short and long, to calibrate the ticker)"
cg_run noop -1 "$PERF_TMP/cg-idle.out"
cg_run noop -2 "$PERF_TMP/cg-idle2.out"
IR0=$(ir_total "$PERF_TMP/cg-idle.out")
T0=$(cat "$PERF_TMP/cg-idle.out.ticks")
IR0L=$(ir_total "$PERF_TMP/cg-idle2.out")
T0L=$(cat "$PERF_TMP/cg-idle2.out.ticks")
TICK_IR=$(python3 -c "print(round(($IR0L - $IR0) / max($T0L - $T0, 1)))")
perf_log "ticker NOOP: $TICK_IR Ir each ($T0 / $T0L ticks)"

printf '\n%-13s %14s %16s %s\n' scenario "Ir/op" "Ir fixed/conn" "notes"
RESULTS=()
for scen in "${SCENARIOS[@]}"; do
	perf_scenario_args "$scen"
	# under valgrind a login waits for the auth thread to be scheduled: fewer
	k1=$K1 n=$N
	[ "$scen" = login ] && k1=5 n=$(( (N + 9) / 10 ))
	# one connection, scenario options only (mailbox, message size)
	ARGS_CG=()
	for ((i = 0; i < ${#ARGS[@]}; i++)); do
		case ${ARGS[$i]} in
		-c|--round-timeout|--idle-gap) i=$((i + 1)) ;;
		*) ARGS_CG+=("${ARGS[$i]}") ;;
		esac
	done
	[ "$scen" = select-large ] && POP=(-m large --populate 2000 --msg-size 512)
	perf_log "$scen: runs with $k1 and $((k1 + n)) ops"
	if ! cg_run "$scen" "$k1" "$PERF_TMP/cg-$scen-1.out" ||
	   ! cg_run "$scen" "$((k1 + n))" "$PERF_TMP/cg-$scen-2.out"; then
		printf '%-13s %14s %16s %s\n' "$scen" - - "failed"
		continue
	fi
	IR1=$(ir_total "$PERF_TMP/cg-$scen-1.out")
	IR2=$(ir_total "$PERF_TMP/cg-$scen-2.out")
	note=""
	if grep -q '"status":"unsupported"' "$PERF_TMP/bench-$scen-$((k1 + n)).json" 2>/dev/null; then
		note="unsupported by server"
	fi
	unsup=$(grep -o '"unsupported":\[[^]]*\]' "$PERF_TMP/bench-$scen-$((k1 + n)).json" | sed 's/"unsupported"://')
	[ "$unsup" != "[]" ] && note="$note BAD: $unsup"
	T1=$(cat "$PERF_TMP/cg-$scen-1.out.ticks")
	T2=$(cat "$PERF_TMP/cg-$scen-2.out.ticks")
	read -r per fixed < <(python3 -c "
c=$TICK_IR
ir0,ir1,ir2,k1,n=$IR0-$T0*c,$IR1-$T1*c,$IR2-$T2*c,$k1,$n
per=(ir2-ir1)/n
print(f'{per:.0f} {ir1-ir0-k1*per:.0f}')")
	printf '%-13s %14s %16s %s\n' "$scen" "$per" "$fixed" "$note"
	RESULTS+=("{\"scenario\":\"$scen\",\"ir_per_op\":$per,\"ir_fixed\":$fixed,\"ops\":$n}")
	if [ "$TOP" -gt 0 ] && command -v callgrind_annotate >/dev/null; then
		callgrind_annotate --threshold=99 "$PERF_TMP/cg-$scen-2.out" 2>/dev/null |
			grep -E '^ *[0-9,]+ ' | head -n "$TOP" | sed 's/^/    /'
	fi
done
mkdir -p "$PERF_ROOT/perf/results"
OUT=$PERF_ROOT/perf/results/callgrind-$(date -u +%Y%m%dT%H%M%SZ).json
(IFS=,; echo "{\"ir_idle\":$IR0,\"k1\":$K1,\"n\":$N,\"scenarios\":[${RESULTS[*]}]}") >"$OUT"
echo "results: $OUT"
