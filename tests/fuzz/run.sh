#!/bin/sh
# Build the libFuzzer harness (clang, ASan+UBSan) if needed and fuzz the parser for
# SECONDS on a copy of the seed corpus (plus the kept regressions, unless
# FUZZ_SKIP_REGRESSIONS=1). Exits non-zero when a crash is found; a new crashing input
# is copied to tests/fuzz/regressions/ to be kept as a regression (add a Criterion case).
set -eu

SECONDS_TO_RUN=${1:-60}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD_FUZZ:-$ROOT/build-fuzz}

if [ ! -f "$BUILD/build.ninja" ]; then
	CC=clang meson setup "$BUILD" "$ROOT" -Dfuzz=true -Dtests=false \
		-Db_sanitize=address,undefined -Db_lundef=false
fi
ninja -C "$BUILD" tests/fuzz/fuzz-parser

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/corpus" "$WORK/artifacts"
cp "$ROOT"/tests/fuzz/corpus/parser/* "$WORK/corpus/"
if [ "${FUZZ_SKIP_REGRESSIONS:-0}" != 1 ] && ls "$ROOT"/tests/fuzz/regressions/* >/dev/null 2>&1; then
	for f in "$ROOT"/tests/fuzz/regressions/*; do
		[ "$(basename "$f")" = README ] || cp "$f" "$WORK/corpus/"
	done
fi

status=0
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
"$BUILD/tests/fuzz/fuzz-parser" -max_total_time="$SECONDS_TO_RUN" -max_len=4096 \
	-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	-artifact_prefix="$WORK/artifacts/" "$WORK/corpus" >"$WORK/log" 2>&1 || status=$?

grep -E '^(Done [0-9]+ runs|stat::number_of_executed_units|stat::average_exec_per_sec)' "$WORK/log" || true
if [ "$status" -ne 0 ]; then
	tail -n 60 "$WORK/log"
	mkdir -p "$ROOT/tests/fuzz/regressions"
	for f in "$WORK"/artifacts/*; do
		[ -f "$f" ] || continue
		known=
		for k in "$ROOT"/tests/fuzz/regressions/*; do
			if cmp -s "$f" "$k"; then known=$k; fi
		done
		if [ -n "$known" ]; then
			echo "crash is the kept regression $(basename "$known") (not fixed yet)"
		else
			cp "$f" "$ROOT/tests/fuzz/regressions/"
			echo "kept $(basename "$f") in tests/fuzz/regressions/ (add a Criterion case too)"
		fi
	done
	exit "$status"
fi
