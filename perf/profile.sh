#!/usr/bin/env bash
# CPU profile of uimapd under a scenario's load, as a flame graph SVG.
#
#   perf/profile.sh SCENARIO [--duration SECS] [--freq HZ] [--dwarf] [-- EXTRA bench ARGS]
#
# Builds a frame-pointer build in perf/build-fp (gitignored) unless --dwarf
# (then build/ with DWARF unwinding, slower and heavier), runs the load, samples
# uimapd with `perf record -g -e cpu-clock` (no hardware counters needed), folds
# the stacks with perf/stackcollapse.py and draws perf/results/flame-SCENARIO.svg
# with perf/flamegraph.py.  Prints the top functions by self time.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ $# -ge 1 ] || { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
SCENARIO=$1
shift
DURATION=10
FREQ=999
DWARF=0
EXTRA=()
while [ $# -gt 0 ]; do
	case $1 in
	--duration) DURATION=$2; shift 2 ;;
	--freq) FREQ=$2; shift 2 ;;
	--dwarf) DWARF=1; shift ;;
	--) shift; EXTRA=("$@"); break ;;
	*) EXTRA+=("$1"); shift ;;
	esac
done

perf_need_pkgs linux-perf python3
command -v perf >/dev/null || perf_die "perf not found (apt-get install linux-perf)"
if [ "$DWARF" = 0 ]; then
	PERF_BUILD=$PERF_ROOT/perf/build-fp
	BENCH=$PERF_BUILD/perf/uimap-bench
	ECHO_SERVER=$PERF_BUILD/perf/echo-server
	UIMAPD=$PERF_BUILD/uimapd
	if [ ! -f "$PERF_BUILD/build.ninja" ]; then
		perf_log "configuring a frame-pointer build in $PERF_BUILD"
		(cd "$PERF_ROOT" && meson setup "$PERF_BUILD" --buildtype=debugoptimized -Dtests=false \
			-Dc_args="-fno-omit-frame-pointer -mno-omit-leaf-frame-pointer" >/dev/null) ||
			perf_die "meson setup failed"
	fi
	CALLGRAPH=(-g)
else
	CALLGRAPH=(--call-graph dwarf,16384)
fi
perf_build
perf_scenario_args "$SCENARIO"
ARGS+=("${EXTRA[@]}")
ulimit -n 200000 2>/dev/null || true

trap perf_cleanup EXIT
trap 'exit 130' INT TERM
perf_tmpdir
perf_start_uimapd
perf_populate "$UIMAP_PORT"

mkdir -p "$PERF_ROOT/perf/results"
SVG=$PERF_ROOT/perf/results/flame-$SCENARIO.svg
perf_log "load: $SCENARIO for $DURATION s (${ARGS[*]}), sampling uimapd pid $UIMAP_PID at $FREQ Hz"
timeout $((DURATION + 120)) "$BENCH" -p "$UIMAP_PORT" -s "$SCENARIO" -D "$((DURATION + 2))" --warmup 0.5 \
	--pid "$UIMAP_PID" "${ARGS[@]}" >"$PERF_TMP/bench.txt" 2>&1 &
BENCH_PID=$!
PERF_PIDS+=("$BENCH_PID")
sleep 1
timeout $((DURATION + 60)) perf record "${CALLGRAPH[@]}" -e cpu-clock -F "$FREQ" -p "$UIMAP_PID" \
	-o "$PERF_TMP/perf.data" -- sleep "$DURATION" 2>"$PERF_TMP/perf-record.log" ||
	{ cat "$PERF_TMP/perf-record.log" >&2; perf_die "perf record failed"; }
wait "$BENCH_PID" || true
grep -v '^{' "$PERF_TMP/bench.txt" >&2 || true

perf_log "folding stacks"
timeout 600 perf script -i "$PERF_TMP/perf.data" 2>/dev/null >"$PERF_TMP/perf.script"
python3 "$PERF_ROOT/perf/stackcollapse.py" "$PERF_TMP/perf.script" >"$PERF_TMP/out.folded"
cp "$PERF_TMP/out.folded" "$PERF_ROOT/perf/results/flame-$SCENARIO.folded"
python3 "$PERF_ROOT/perf/flamegraph.py" --title "uimapd: $SCENARIO (cpu-clock, $DURATION s)" \
	"$PERF_TMP/out.folded" >"$SVG"

echo "top functions by self time (leaf frames):"
awk '{ n = $NF; $NF = ""; sub(/ $/, ""); k = split($0, f, ";"); self[f[k]] += n; tot += n }
     END { for (s in self) printf "%6.2f%%  %s\n", 100 * self[s] / tot, s }' \
	"$PERF_TMP/out.folded" | sort -rn | head -20
echo "flame graph: $SVG"
