#!/usr/bin/env bash
# Run every test layer: Criterion unit tests, wire-level protocol tests, the same
# under ASan+UBSan, and a bounded run of every fuzz harness. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
set +e
uimap_install $UIMAP_BUILD_PKGS $UIMAP_TEST_PKGS

# real clients from npm for the wire tests (tests/clients: imapflow, pinned by its lock
# file); without node the machine's Debian packages provide it
command -v npm >/dev/null 2>&1 || uimap_install nodejs npm
if [ ! -d tests/clients/node_modules/imapflow ] && command -v npm >/dev/null 2>&1; then
	echo "== installing the npm test clients (tests/clients)"
	(cd tests/clients && timeout 300 npm ci --no-audit --no-fund --silent) ||
		echo "npm ci failed: the imapflow tests will be skipped"
fi

# FUZZ_SECONDS: unset = the deterministic fuzz run; N = N random seconds per harness; 0 = none
passed=0
failed=0
skipped=0

add_counts() { # passed failed [skipped]
	passed=$((passed + $1)); failed=$((failed + $2)); skipped=$((skipped + ${3:-0}))
}

# Criterion prints "Synthesis: Tested: T | Passing: P | Failing: F | Crashing: C" per binary.
count_criterion() { # meson log file, meson exit status
	local log=$1 status=$2 p f
	p=$(grep -ao 'Passing: [0-9]*' "$log" | awk '{s+=$2} END {print s+0}')
	f=$(grep -aoE '(Failing|Crashing): [0-9]*' "$log" | awk '{s+=$2} END {print s+0}')
	# a binary that died before its synthesis still counts as a failure
	if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	# a layer that ran no test at all is a failure, not a silent success
	if [ $((p + f)) -eq 0 ]; then
		echo "no unit test ran (log: $log)"
		f=1
	fi
	add_counts "$p" "$f"
}

unit_layer() { # build dir, label, extra meson args...
	local dir=$1 label=$2; shift 2
	echo "== [$label] build"
	# the test layers own their build directories (scripts/run.sh's build/ is a
	# release build without tests); options are enforced even on a reused one
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" -Dbuildtype=debug -Dtests=true -Dwerror=true "$@" >/dev/null ||
			{ add_counts 0 1; return 1; }
	else
		meson configure "$dir" -Dbuildtype=debug -Dtests=true -Dwerror=true "$@" >/dev/null ||
			{ add_counts 0 1; return 1; }
	fi
	if ! ninja -C "$dir" >"$dir.ninja.log" 2>&1; then
		cat "$dir.ninja.log"; add_counts 0 1; return 1
	fi
	echo "== [$label] unit tests"
	meson test -C "$dir" --print-errorlogs --num-processes 2 >"$dir.test.log" 2>&1
	local st=$?
	grep -E '^ *[0-9]+/[0-9]+ ' "$dir.test.log" || true
	[ $st -ne 0 ] && tail -50 "$dir.test.log"
	count_criterion "$dir/meson-logs/testlog.txt" $st
}

protocol_layer() { # uimapd binary, label
	echo "== [$2] wire-level tests"
	local out
	out=$(UIMAPD="$1" EMBED_EXAMPLE="$(dirname "$1")/embed-example" timeout 900 python3 tests/protocol/run.py 2>&1)
	local st=$?
	echo "$out" | grep -vE '^$' | tail -n 400
	local line
	line=$(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -1)
	if [ -z "$line" ]; then add_counts 0 1; return; fi
	local p f s
	p=$(echo "$line" | awk '{print $1}')
	f=$(echo "$line" | awk '{print $3}')
	s=$(echo "$line" | grep -oE '[0-9]+ skipped' | awk '{print $1}')
	[ $st -ne 0 ] && [ "$f" -eq 0 ] && f=1
	[ $((p + f)) -eq 0 ] && f=1   # no test ran: a failure
	add_counts "$p" "$f" "${s:-0}"
}

echo "== [layers] include check"
if scripts/check-layers.sh; then add_counts 1 0; else add_counts 0 1; fi

unit_layer build-test "debug"
protocol_layer "$PWD/build-test/uimapd" "debug"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
unit_layer build-asan "asan+ubsan" -Db_sanitize=address,undefined -Db_lundef=false
protocol_layer "$PWD/build-asan/uimapd" "asan+ubsan"

if [ -x tests/fuzz/run.sh ] && [ "${FUZZ_SECONDS:-1}" -gt 0 ]; then
	# one test per harness: "fuzz-NAME: ok ..." or "fuzz-NAME: CRASH ...". By default a
	# fixed seed and execution count (the same verdict on every machine for the same
	# code); FUZZ_SECONDS=N runs a fresh random campaign of N s per harness instead.
	if [ -n "${FUZZ_SECONDS:-}" ]; then
		echo "== [fuzz] every harness for ${FUZZ_SECONDS}s"
		out=$(tests/fuzz/run.sh "$FUZZ_SECONDS" 2>&1)
	else
		echo "== [fuzz] every harness, fixed seed and execution count"
		out=$(tests/fuzz/run.sh -ci 2>&1)
	fi
	st=$?
	echo "$out" | tail -n 80
	p=$(echo "$out" | grep -cE '^fuzz-[a-z0-9]+: ok')
	f=$(echo "$out" | grep -cE '^fuzz-[a-z0-9]+: CRASH')
	[ $st -ne 0 ] && [ "$f" -eq 0 ] && f=1   # the build failed, or nothing ran
	[ $((p + f)) -eq 0 ] && f=1
	add_counts "$p" "$f"
fi

if [ -x perf/smoke.sh ]; then
	echo "== [perf] smoke run of the benchmark tools"
	out=$(PERF_BUILD="$PWD/build-test" timeout 300 perf/smoke.sh 2>&1)
	st=$?
	echo "$out" | tail -n 20
	line=$(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -1)
	if [ -z "$line" ]; then
		add_counts 0 1
	else
		p=$(echo "$line" | awk '{print $1}')
		f=$(echo "$line" | awk '{print $3}')
		[ $st -ne 0 ] && [ "$f" -eq 0 ] && f=1
		add_counts "$p" "$f"
	fi
fi

echo
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
