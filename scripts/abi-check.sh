#!/usr/bin/env bash
# Compare the ABI libuimap exports (the types and functions of include/uimap/*.h) with
# the baseline kept in the tree (tests/abi/libuimap.abi), with abigail-tools (Debian).
#
#   scripts/abi-check.sh [LIB]            # compare LIB (default build-test/libuimap.so)
#   scripts/abi-check.sh --update [LIB]   # rewrite the baseline from LIB, after review
#
# Exit 0 when the ABI is the baseline's; 1 when it changed (abidiff's report is printed:
# review it, then --update in the same commit as the change); 2 when a tool failed.
# Types private to the library (struct uimap_server's insides, ...) are filtered out:
# only what an embedder compiles against counts. Build LIB with debug info (-g).
set -uo pipefail
cd "$(dirname "$0")/.."
BASELINE=tests/abi/libuimap.abi
update=0
if [ "${1:-}" = "--update" ]; then update=1; shift; fi
LIB=${1:-build-test/libuimap.so}
for t in abidw abidiff; do
	command -v $t >/dev/null 2>&1 || { echo "abi-check: $t not found (apt-get install abigail-tools)" >&2; exit 2; }
done
[ -f "$LIB" ] || { echo "abi-check: no library at $LIB" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! abidw --headers-dir include/uimap --drop-private-types --no-corpus-path --no-show-locs \
	--no-comp-dir-path --out-file "$tmp/current.abi" "$LIB"; then
	echo "abi-check: abidw failed on $LIB" >&2
	exit 2
fi
if [ $update -eq 1 ]; then
	mkdir -p "$(dirname "$BASELINE")"
	cp "$tmp/current.abi" "$BASELINE"
	echo "abi-check: baseline $BASELINE written from $LIB"
	exit 0
fi
[ -f "$BASELINE" ] || { echo "abi-check: no baseline $BASELINE (run with --update)" >&2; exit 2; }
abidiff "$BASELINE" "$tmp/current.abi" >"$tmp/report" 2>&1
st=$?
# abidiff's status is a bit mask: 1 error, 2 usage, 4 ABI change, 8 incompatible change
if [ $((st & 3)) -ne 0 ]; then
	cat "$tmp/report"; echo "abi-check: abidiff failed (status $st)" >&2
	exit 2
fi
if [ $st -ne 0 ]; then
	cat "$tmp/report"
	if [ $((st & 8)) -ne 0 ]; then
		echo "abi-check: INCOMPATIBLE change of the exported ABI (see above)"
	else
		echo "abi-check: the exported ABI changed (see above); if intended: $0 --update"
	fi
	exit 1
fi
echo "abi-check: $LIB exports the baseline's ABI"
exit 0
