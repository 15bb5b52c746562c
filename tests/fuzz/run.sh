#!/bin/sh
# Build the libFuzzer harnesses (clang, ASan+UBSan, build-fuzz/) if needed and run each,
# one after another, on a copy of its seed corpus (plus its kept regressions, unless
# FUZZ_SKIP_REGRESSIONS=1).
#
#   tests/fuzz/run.sh [SECONDS] [HARNESS...]       each harness for SECONDS (default 25)
#   tests/fuzz/run.sh -runs=N [HARNESS...]         each harness for N executions
#   tests/fuzz/run.sh -ci [HARNESS...]             the CI run: a fixed seed and a fixed
#                                                  number of executions per harness (about
#                                                  25 s each here), so the same code gives the
#                                                  same verdict on every machine; campaigns
#                                                  that look for new crashes use SECONDS/-runs
#
# Harnesses: parser mime persist base64 mutf7 search engine proxyproto (default: all). Prints one line per
# harness ("fuzz-NAME: ok, E executions (R/s)" or "fuzz-NAME: CRASH ..."), then a total
# line. Exits non-zero when any harness crashed; a new crashing input is copied to
# tests/fuzz/regressions/NAME/ to be kept (add a Criterion case for it too).
# FUZZ_LOG_DIR=dir keeps each harness's libFuzzer log there; FUZZ_MAX_TIME=s also caps
# a -runs run in time; FUZZ_CORPUS_DIR=dir keeps the growing corpora in dir/NAME across
# runs (long campaigns) instead of a temporary copy. FUZZ_ARGS adds libFuzzer flags (long
# campaigns here use FUZZ_ARGS=-entropic=0: with large corpora the entropic scheduler's
# bookkeeping took 64% of fuzz-engine's CPU time, 1,200 against 5,800 executions/s).
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD_FUZZ:-$ROOT/build-fuzz}
ALL="parser mime persist base64 mutf7 search engine proxyproto"

SECONDS_TO_RUN=25
RUNS=
CI=
if [ $# -gt 0 ]; then
	case $1 in
	-runs=*) RUNS=${1#-runs=}; shift ;;
	-ci) CI=1; shift ;;
	[0-9]*) SECONDS_TO_RUN=$1; shift ;;
	esac
fi
HARNESSES=${*:-$ALL}

max_len() {
	case $1 in
	mime) echo 8192 ;;
	persist) echo 16384 ;;
	base64) echo 1024 ;;
	mutf7) echo 2100 ;;
	*) echo 4096 ;;
	esac
}

# -ci: executions per harness (about 25 s each on a 2-core CI machine under ASan+UBSan)
ci_runs() {
	case $1 in
	parser) echo 250000 ;;
	mime) echo 60000 ;;
	persist) echo 25000 ;;
	base64) echo 1000000 ;;
	mutf7) echo 500000 ;;
	search) echo 300000 ;;
	engine) echo 100000 ;;
	proxyproto) echo 2000000 ;;
	esac
}

for h in $HARNESSES; do
	case " $ALL " in
	*" $h "*) ;;
	*) echo "unknown harness '$h' (known: $ALL)" >&2; exit 2 ;;
	esac
done

if [ ! -f "$BUILD/build.ninja" ]; then
	CC=clang meson setup "$BUILD" "$ROOT" -Dfuzz=true -Dtests=false \
		-Db_sanitize=address,undefined -Db_lundef=false
fi
targets=
for h in $HARNESSES; do targets="$targets tests/fuzz/fuzz-$h"; done
# shellcheck disable=SC2086
ninja -C "$BUILD" $targets

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
failed=0
passed=0
for h in $HARNESSES; do
	corpus="$WORK/$h/corpus"
	[ -n "${FUZZ_CORPUS_DIR:-}" ] && corpus="$FUZZ_CORPUS_DIR/$h"
	mkdir -p "$corpus" "$WORK/$h/artifacts"
	cp "$ROOT"/tests/fuzz/corpus/"$h"/* "$corpus/" 2>/dev/null || true
	if [ "${FUZZ_SKIP_REGRESSIONS:-0}" != 1 ] && [ -d "$ROOT/tests/fuzz/regressions/$h" ]; then
		cp "$ROOT"/tests/fuzz/regressions/"$h"/* "$corpus/" 2>/dev/null || true
	fi
	if [ -n "$CI" ]; then
		# deterministic: seed 1, a fixed count; the time cap only guards a slow machine
		limit="-seed=${FUZZ_SEED:-1} -runs=$(ci_runs "$h") -max_total_time=${FUZZ_MAX_TIME:-90}"
	elif [ -n "$RUNS" ]; then
		limit="-runs=$RUNS -max_total_time=${FUZZ_MAX_TIME:-0}"
	else
		limit="-max_total_time=$SECONDS_TO_RUN"
	fi
	log="$WORK/$h/log"
	status=0
	# (no comment line may sit inside this command: it would end it before the
	# harness, and the harness would run without these options)
	# shellcheck disable=SC2086
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	"$BUILD/tests/fuzz/fuzz-$h" $limit -max_len="$(max_len "$h")" \
		-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 ${FUZZ_ARGS:-} \
		-artifact_prefix="$WORK/$h/artifacts/" "$corpus" >"$log" 2>&1 || status=$?
	if [ -n "${FUZZ_LOG_DIR:-}" ]; then
		mkdir -p "$FUZZ_LOG_DIR"
		cp "$log" "$FUZZ_LOG_DIR/fuzz-$h.log"
	fi
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	crashes=$(find "$WORK/$h/artifacts" -type f | wc -l)
	if [ "$status" -eq 0 ]; then
		echo "fuzz-$h: ok, ${execs:-?} executions (${rate:-?}/s)"
		passed=$((passed + 1))
		continue
	fi
	failed=$((failed + 1))
	tail -n 60 "$log"
	echo "fuzz-$h: CRASH (exit $status), ${execs:-?} executions (${rate:-?}/s), $crashes crash input(s)"
	mkdir -p "$ROOT/tests/fuzz/regressions/$h"
	for f in "$WORK/$h"/artifacts/*; do
		[ -f "$f" ] || continue
		known=
		for k in "$ROOT/tests/fuzz/regressions/$h"/*; do
			if [ -f "$k" ] && cmp -s "$f" "$k"; then known=$k; fi
		done
		if [ -n "$known" ]; then
			echo "  crash is the kept regression $h/$(basename "$known") (not fixed yet)"
		else
			cp "$f" "$ROOT/tests/fuzz/regressions/$h/"
			echo "  kept $h/$(basename "$f") in tests/fuzz/regressions/ (add a Criterion case too)"
		fi
	done
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
