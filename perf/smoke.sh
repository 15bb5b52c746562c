#!/usr/bin/env bash
# Smoke test of the perf tools (< 30 s): builds uimap-bench and echo-server,
# starts uimapd (with a generated certificate: implicit-TLS listener and
# STARTTLS) and the echo baseline on free loopback ports and runs the noop and
# login scenarios (2 s each) against both, a short idle-hold against uimapd,
# noop/login over TLS and login over STARTTLS (1 s each), and checks that a
# TLS client on a plaintext port fails cleanly, and runs resync.py on a small mailbox.
# Exits non-zero when a run
# fails or completes no operation.  Ends with "N passed, N failed".
set -uo pipefail
. "$(dirname "$0")/lib.sh"
set -e
perf_build
trap perf_cleanup EXIT
trap 'exit 130' INT TERM
perf_tmpdir
perf_make_cert
perf_start_uimapd
perf_start_echo
set +e

passed=0
failed=0
check() { # name port pid scenario args...
	local name=$1 port=$2 pid=$3 scen=$4
	shift 4
	local out=$PERF_TMP/smoke-$name-$scen.txt
	timeout 20 "$BENCH" -p "$port" -s "$scen" --pid "$pid" --label "$name" "$@" >"$out" 2>&1
	local rc=$?
	local json
	json=$(grep '^{' "$out" | tail -1)
	if [ $rc -eq 0 ] && echo "$json" | grep -q '"status":"ok"' &&
	   ! echo "$json" | grep -q '"ops":0,'; then
		passed=$((passed + 1))
		echo "PASS $scen -> $name: $(grep '^throughput' "$out")"
	else
		failed=$((failed + 1))
		echo "FAIL $scen -> $name (exit $rc)"
		sed 's/^/    /' "$out"
	fi
}

check uimap "$UIMAP_PORT" "$UIMAP_PID" noop -D 2 -c 8 -d 2
check echo "$ECHO_PORT" "$ECHO_PID" noop -D 2 -c 8 -d 2
check uimap "$UIMAP_PORT" "$UIMAP_PID" login -D 2 -c 8
check echo "$ECHO_PORT" "$ECHO_PID" login -D 2 -c 8
check uimap "$UIMAP_PORT" "$UIMAP_PID" idle-hold -D 2 -c 20 --round-timeout 2

check uimap-tls "$UIMAP_TLS_PORT" "$UIMAP_PID" noop -D 1 -c 4 -d 2 --tls
check uimap-tls "$UIMAP_TLS_PORT" "$UIMAP_PID" login -D 1 -c 4 --tls
check uimap-starttls "$UIMAP_PORT" "$UIMAP_PID" login -D 1 -c 4 --starttls

# a TLS client on a plaintext port: a clean error (exit 1), no hang, no crash
timeout 20 "$BENCH" -p "$ECHO_PORT" -s noop -D 1 -c 1 --tls >"$PERF_TMP/smoke-tls-fail.txt" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -q "TLS handshake failed" "$PERF_TMP/smoke-tls-fail.txt"; then
	passed=$((passed + 1)); echo "PASS --tls against a plaintext port fails cleanly"
else
	failed=$((failed + 1)); echo "FAIL --tls against a plaintext port (exit $rc)"
	sed 's/^/    /' "$PERF_TMP/smoke-tls-fail.txt"
fi

# the resync benchmark on a small mailbox (it checks the QRESYNC answer itself)
if timeout 60 python3 "$(dirname "$0")/resync.py" --uimapd "$UIMAPD" -n 2000 --changes 20 \
	--rounds 1 >"$PERF_TMP/smoke-resync.txt" 2>&1 && grep -q '^qresync ' "$PERF_TMP/smoke-resync.txt"; then
	passed=$((passed + 1)); echo "PASS resync.py: $(grep '^qresync ' "$PERF_TMP/smoke-resync.txt")"
else
	failed=$((failed + 1)); echo "FAIL resync.py"
	sed 's/^/    /' "$PERF_TMP/smoke-resync.txt"
fi

if ! kill -0 "$UIMAP_PID" 2>/dev/null; then
	failed=$((failed + 1))
	echo "FAIL uimapd died during the smoke test"
	tail -20 "$PERF_TMP/uimapd.log"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
