#!/usr/bin/env bash
# Fairness under one huge command: NOOP latency of other clients while one client
# runs COPY 1:* of a mailbox of N messages (default 1,000,000) over and over, against
# the same NOOP run with nothing else going on (same server, same run).
#
#   perf/big-command.sh [--messages N] [--duration SECS] [--conns N]
#                       [--also LABEL=UIMAPD]...
#
#   --also L=P   the same measurement on another uimapd binary (e.g. a build from
#                before the slicing: before=/tmp/uimapd-old)
#
# Prints, per binary: NOOP p50/p99/max alone and during the COPYs, the COPYs done and
# their mean time. The per-user limits are switched off for the run (they would stop
# the 1M-message mailbox): --max-mailbox-messages 0 --quota-messages 0 --quota-storage 0.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

MESSAGES=1000000
DURATION=10
CONNS=8
TARGETS=()
while [ $# -gt 0 ]; do
	case $1 in
	--messages) MESSAGES=$2; shift 2 ;;
	--duration) DURATION=$2; shift 2 ;;
	--conns) CONNS=$2; shift 2 ;;
	--also) TARGETS+=("$2"); shift 2 ;;
	-h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
	*) perf_die "unknown option $1" ;;
	esac
done

trap perf_cleanup EXIT
perf_build
perf_tmpdir
TARGETS=("uimap=$UIMAPD" "${TARGETS[@]}")

# grow (doubling COPY), then COPY 1:* to a fresh mailbox until told to stop
cat >"$PERF_TMP/copier.py" <<'EOF'
import os, re, socket, sys, time

port, n, mode, stop = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(600)
buf = b""

def cmd(tag, text, data=b""):
    global buf
    s.sendall(f"{tag} {text}\r\n".encode() + data)
    rx = re.compile(rb"(?:^|\n)" + tag.encode() + rb" (OK|NO|BAD)([^\n]*)\n")
    while True:
        m = rx.search(buf)
        if m:
            buf = buf[m.end():]
            if m.group(1) != b"OK":
                sys.exit(f"{text}: {m.group(0)!r}")
            return
        buf += s.recv(1 << 20)

while b"\n" not in buf:
    buf += s.recv(4096)
buf = b""
cmd("l", "LOGIN bench bench")
if mode == "grow":
    msg = b"From: a@example.org\r\nSubject: big\r\n\r\nbody\r\n"
    cmd("c", "CREATE big")
    cmd("a", "APPEND big {%d+}" % len(msg), msg + b"\r\n")
    cmd("s", "SELECT big")
    have = 1
    while have < n:
        take = min(have, n - have)
        cmd("g", f"COPY 1:{take} big")
        have += take
    sys.exit(0)
cmd("s", "EXAMINE big")
done, spent, i = 0, 0.0, 0
import os
while not os.path.exists(stop):
    i += 1
    cmd("c", f"CREATE dst{i}")
    t = time.monotonic()
    cmd("k", f"COPY 1:* dst{i}")
    spent += time.monotonic() - t
    done += 1
    if os.environ.get("COPIER_DELETE", "1") == "1":
        cmd("d", f"DELETE dst{i}")
print(f"{done} {spent / max(done, 1):.3f}")
EOF

noop() { # port label -> "p50 p99 max" in microseconds
	"$BENCH" -p "$1" -u "$PERF_USER" -w "$PERF_PASS" -s noop -c "$CONNS" -D "$DURATION" \
		--warmup 0.5 --json-out "$PERF_TMP/$2.json" >/dev/null
	python3 - "$PERF_TMP/$2.json" <<'EOF'
import json, sys
r = json.loads(open(sys.argv[1]).read().splitlines()[-1])
lat = r.get("latency") or r
def find(o):
    if isinstance(o, dict):
        if "p99_us" in o:
            return o
        for v in o.values():
            f = find(v)
            if f:
                return f
    if isinstance(o, list):
        for v in o:
            f = find(v)
            if f:
                return f
l = find(r)
print(f"{l['p50_us']:.0f} {l['p99_us']:.0f} {l['max_us']:.0f} {l.get('count', 0)}")
EOF
}

printf '%-8s %-22s %-22s %s\n' target "NOOP alone p50/p99/max" "during COPY p50/p99/max" "COPYs (mean s)"
for t in "${TARGETS[@]}"; do
	label=${t%%=*}
	UIMAP_BIN=${t#*=}
	export UIMAP_BIN UIMAP_NAME=$label
	limits=()
	[[ $("$UIMAP_BIN" --help 2>/dev/null || true) == *--max-mailbox-messages* ]] &&
		limits=(--max-mailbox-messages 0 --quota-messages 0 --quota-storage 0)
	perf_start_uimapd "${limits[@]}"
	perf_log "$label: growing a mailbox to $MESSAGES messages"
	timeout 900 python3 "$PERF_TMP/copier.py" "$UIMAP_PORT" "$MESSAGES" grow x ||
		perf_die "$label: growing failed"
	alone=$(noop "$UIMAP_PORT" "$label-alone")
	rm -f "$PERF_TMP/stop"
	python3 "$PERF_TMP/copier.py" "$UIMAP_PORT" "$MESSAGES" copy "$PERF_TMP/stop" \
		>"$PERF_TMP/$label-copies" &
	copier=$!
	sleep 0.5
	during=$(noop "$UIMAP_PORT" "$label-during")
	touch "$PERF_TMP/stop"
	wait "$copier" || perf_die "$label: the copier failed"
	read -r a50 a99 amax _ <<<"$alone"
	read -r d50 d99 dmax _ <<<"$during"
	printf '%-8s %-22s %-22s %s\n' "$label" "$a50/$a99/$amax us" "$d50/$d99/$dmax us" \
		"$(cat "$PERF_TMP/$label-copies")"
	perf_stop_pid "$UIMAP_PID"
done
