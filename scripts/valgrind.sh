#!/bin/sh
# The wire-level suite with every uimapd it starts under valgrind memcheck (a debug
# build without sanitizers): memory errors and definite/indirect leaks are what this
# run is for. Timing-bound tests may fail under valgrind's slowdown; those are listed
# apart from the memcheck verdict.
#
#   scripts/valgrind.sh [test modules or -k PATTERN ...]    (default: the whole suite)
#
# Needs valgrind (apt-get install valgrind). Keeps one log per server process in a temp
# directory; prints "valgrind: N server processes, N with memcheck errors" and exits
# non-zero when any process had one.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD_VALGRIND:-$ROOT/build-valgrind}
command -v valgrind >/dev/null || { echo "valgrind not installed" >&2; exit 2; }
if [ ! -f "$BUILD/build.ninja" ]; then
	meson setup "$BUILD" "$ROOT" --buildtype=debug -Dtests=false >/dev/null
fi
ninja -C "$BUILD" uimapd uimapctl >/dev/null

LOGS=$(mktemp -d /tmp/uimap-valgrind.XXXXXX)
cat >"$LOGS/uimapd" <<EOF
#!/bin/sh
exec valgrind --quiet --error-exitcode=99 --leak-check=full \\
	--show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \\
	--child-silent-after-fork=yes --num-callers=30 --log-file="$LOGS/vg.%p.log" "$BUILD/uimapd" \\
	--auth-workers 0 "\$@"
EOF
chmod +x "$LOGS/uimapd"

# valgrind slows the server 20-50x: the suite's deadlines are scaled. Passwords are
# checked on the loop (--auth-workers 0, before the test's own options): under
# valgrind the workers' completions never reached the ring (every LOGIN hung).
set +e
UIMAP_TEST_TIMEOUT=${UIMAP_TEST_TIMEOUT:-30} UIMAP_TEST_TIME_SCALE=${UIMAP_TEST_TIME_SCALE:-5} \
	UIMAPD=$LOGS/uimapd UIMAPCTL="$BUILD/uimapctl" python3 "$ROOT/tests/protocol/run.py" "$@" \
	>"$LOGS/suite.log" 2>&1
suite=$?
set -e
tail -n 1 "$LOGS/suite.log" | sed 's/^/suite under valgrind: /'

total=$(find "$LOGS" -name 'vg.*.log' | wc -l)
bad=0
for f in "$LOGS"/vg.*.log; do
	# "==PID==" lines are memcheck's findings; "--PID--" lines are valgrind's own
	# notes (e.g. pidfd_open, syscall 434, unknown to valgrind 3.19: the snapshot
	# child cannot be watched there, so snapshot tests fail under it)
	grep -q '^==[0-9]*==' "$f" || continue
	bad=$((bad + 1))
	echo "== $f"
	head -n 40 "$f"
done
echo "valgrind: $total server processes, $bad with memcheck errors (logs in $LOGS)"
[ "$bad" -eq 0 ] || exit 1
[ "$suite" -eq 0 ] || echo "(suite failures under valgrind are listed in $LOGS/suite.log)"
exit 0
