#!/usr/bin/env bash
# TLS handshakes on worker threads (issue 17), every configuration in the same run:
# full-handshake sessions/s, server CPU and the loop thread's own CPU per session,
# for each --tls-workers value; a handshake storm (16 connections doing full
# handshakes as fast as they can) next to 4 connections doing NOOP (their p99/max);
# TLS 1.3 resumption (sessions/s). One uimapd at a time, configurations interleaved
# over the rounds (A B C A B C ...). A benchmark, not a test: it asserts nothing.
#
#   perf/tls-handshakes.sh [--cert ecdsa|rsa] [--workers "0 1 2"] [--rounds N]
#                          [--duration SECS] [--client-threads N]
#
#   --cert       ecdsa: the P-256 certificate of tests/protocol/tls (cert-a),
#                rsa: the RSA-2048 one (cert-b)
#   --workers    the tls-workers values to compare (default "0 1 2")
#
# Prints one line per run and a table of medians (with the per-round values), and
# writes them to perf/results/tls-handshakes-CERT-TIMESTAMP.txt. Environment:
# PERF_BUILD (the uimapd build dir), PERF_BENCH (the client; default: an
# accelerated build's uimap-bench when there is one, its client costs the least).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

usage() {
	sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
}

CERT=ecdsa
WORKERS="0 1 2"
ROUNDS=3
DURATION=4
CLIENT_THREADS=2
while [ $# -gt 0 ]; do
	case $1 in
	--cert) CERT=$2; shift 2 ;;
	--workers) WORKERS=$2; shift 2 ;;
	--rounds) ROUNDS=$2; shift 2 ;;
	--duration) DURATION=$2; shift 2 ;;
	--client-threads) CLIENT_THREADS=$2; shift 2 ;;
	-h|--help) usage ;;
	*) usage ;;
	esac
done
case $CERT in
ecdsa) CERT_FILE=$PERF_ROOT/tests/protocol/tls/cert-a.pem; KEY_FILE=$PERF_ROOT/tests/protocol/tls/key-a.pem ;;
rsa) CERT_FILE=$PERF_ROOT/tests/protocol/tls/cert-b.pem; KEY_FILE=$PERF_ROOT/tests/protocol/tls/key-b.pem ;;
*) usage ;;
esac
if [ -z "${PERF_BENCH:-}" ] && [ -x "$PERF_ROOT/build-accel/perf/uimap-bench" ]; then
	BENCH=$PERF_ROOT/build-accel/perf/uimap-bench
fi
[ -x "$UIMAPD" ] || perf_die "no uimapd at $UIMAPD (PERF_BUILD)"
[ -x "$BENCH" ] || perf_die "no uimap-bench at $BENCH (PERF_BENCH)"

PERF_TMP=$(mktemp -d /tmp/uimap-tlshs.XXXXXX)
trap 'perf_cleanup; rm -rf "$PERF_TMP"' EXIT
mkdir -p "$PERF_ROOT/perf/results"
OUT=$PERF_ROOT/perf/results/tls-handshakes-$CERT-$(date +%Y%m%d-%H%M%S).txt
PERF_TLS_CERT=$CERT_FILE
PERF_TLS_KEY=$KEY_FILE

# CPU of the server's loop thread (its main thread: user+system, and user alone) and
# of all its threads, in clock ticks
cpu_of() { # pid -> "loop loop_user total"
	local pid=$1 tid loop=0 loopu=0 total=0 f ut st
	for f in /proc/"$pid"/task/*/stat; do
		tid=${f#/proc/"$pid"/task/}; tid=${tid%/stat}
		# fields 14, 15: utime, stime (after the ")" that ends the comm)
		read -r ut st < <(sed 's/.*) //' "$f" | awk '{print $12, $13}')
		total=$((total + ut + st))
		[ "$tid" = "$pid" ] && { loop=$((ut + st)); loopu=$ut; }
	done
	echo "$loop $loopu $total"
}
per_op() { # ticks ops -> µs
	python3 -c "print(round($1/$HZ*1e6/max(1,$2)))"
}
HZ=$(getconf CLK_TCK)

json() { # file python-expression over j
	python3 -c "import json,sys; j=json.loads(open(sys.argv[1]).read().splitlines()[-1]); print($2)" "$1"
}

bench() { # json-out args...
	local out=$1; shift
	"$BENCH" -q -p "$UIMAP_TLS_PORT" -u "$PERF_USER" -w "$PERF_PASS" -D "$DURATION" \
		-t "$CLIENT_THREADS" --json-out "$out" "$@" >/dev/null
}

echo "uimapd: $UIMAPD ($("$UIMAPD" --version 2>/dev/null | head -1))" | tee "$OUT"
echo "client: $BENCH, $CLIENT_THREADS threads; cert: $CERT ($CERT_FILE); $ROUNDS rounds of ${DURATION}s" | tee -a "$OUT"
echo "loop/session: the loop thread's CPU per session, user+system (user alone), and the same for a" | tee -a "$OUT"
echo "plaintext login session on the same server (the part that is not the handshake)" | tee -a "$OUT"
printf '%-8s %5s %10s %11s %20s %16s %18s %11s\n' workers round sessions/s "CPU/session" "TLS loop/session" \
	"plain loop/sess" "storm NOOP p99/max" "resumed/s" | tee -a "$OUT"

declare -A R
for round in $(seq "$ROUNDS"); do
	for w in $WORKERS; do
		perf_start_uimapd --tls-workers "$w"
		pid=$UIMAP_PID
		# full handshakes: 16 connections, login scenario (connect, handshake,
		# greeting, LOGIN, LOGOUT, close)
		read -r l0 u0 t0 < <(cpu_of "$pid")
		bench "$PERF_TMP/full.json" -s login --tls -c 16 --warmup 0
		read -r l1 u1 t1 < <(cpu_of "$pid")
		ops=$(json "$PERF_TMP/full.json" 'j["ops"]')
		rate=$(json "$PERF_TMP/full.json" 'round(j["ops_per_s"])')
		cpu=$(per_op $((t1 - t0)) "$ops")
		loop=$(per_op $((l1 - l0)) "$ops")
		loopu=$(per_op $((u1 - u0)) "$ops")
		# the same sessions in plaintext: what the loop spends on the rest
		read -r l0 u0 t0 < <(cpu_of "$pid")
		"$BENCH" -q -p "$UIMAP_PORT" -u "$PERF_USER" -w "$PERF_PASS" -D "$DURATION" \
			-t "$CLIENT_THREADS" -s login -c 16 --warmup 0 --json-out "$PERF_TMP/plain.json" >/dev/null
		read -r l1 u1 t1 < <(cpu_of "$pid")
		pops=$(json "$PERF_TMP/plain.json" 'j["ops"]')
		ploop=$(per_op $((l1 - l0)) "$pops")
		ploopu=$(per_op $((u1 - u0)) "$pops")
		# the storm: the same 16 full-handshake connections, 4 NOOP connections
		# (plaintext port) next to them
		bench "$PERF_TMP/storm.json" -s login --tls -c 16 --warmup 0 &
		spid=$!
		"$BENCH" -q -p "$UIMAP_PORT" -u "$PERF_USER" -w "$PERF_PASS" -D "$DURATION" \
			-s noop -c 4 --json-out "$PERF_TMP/noop.json" >/dev/null
		wait "$spid"
		p99=$(json "$PERF_TMP/noop.json" 'round(j["commands"]["NOOP"]["p99_us"])')
		max=$(json "$PERF_TMP/noop.json" 'round(j["commands"]["NOOP"]["max_us"])')
		# TLS 1.3 resumption (tickets)
		bench "$PERF_TMP/res.json" -s login --tls --tls-resume -c 16
		res=$(json "$PERF_TMP/res.json" 'round(j["ops_per_s"])')
		resfrac=$(json "$PERF_TMP/res.json" \
			'"%d%%" % round(100*j["tls"]["resumed_measured"]/max(1,j["tls"]["resumed_measured"]+j["tls"]["full_measured"]))')
		perf_stop_pid "$pid"
		printf '%-8s %5s %10s %8s µs %12s µs %12s µs %11s/%s µs %11s\n' "$w" "$round" "$rate" "$cpu" \
			"$loop ($loopu)" "$ploop ($ploopu)" "$p99" "$max" "$res ($resfrac)" | tee -a "$OUT"
		R[$w,rate]+="$rate "; R[$w,cpu]+="$cpu "; R[$w,loop]+="$loop "; R[$w,loopu]+="$loopu "
		R[$w,ploop]+="$ploop "
		R[$w,p99]+="$p99 "; R[$w,max]+="$max "; R[$w,res]+="$res "
	done
done

med() { python3 -c "import statistics,sys; v=[float(x) for x in sys.argv[1:]]; print(round(statistics.median(v)))" $1; }
echo | tee -a "$OUT"
echo "medians (per-round values):" | tee -a "$OUT"
first=""
for w in $WORKERS; do
	m=$(med "${R[$w,rate]}")
	[ -z "$first" ] && [ "$w" != 0 ] && first=$m
	printf 'workers %s: %s sessions/s (%s), CPU/session %s µs, loop/session %s µs (%s; user %s), plaintext loop/session %s µs (%s), storm NOOP p99 %s µs (%s) max %s µs (%s), resumed %s/s (%s)\n' \
		"$w" "$m" "${R[$w,rate]% }" "$(med "${R[$w,cpu]}")" "$(med "${R[$w,loop]}")" "${R[$w,loop]% }" \
		"${R[$w,loopu]% }" "$(med "${R[$w,ploop]}")" "${R[$w,ploop]% }" \
		"$(med "${R[$w,p99]}")" "${R[$w,p99]% }" "$(med "${R[$w,max]}")" "${R[$w,max]% }" \
		"$(med "${R[$w,res]}")" "${R[$w,res]% }" | tee -a "$OUT"
done
echo "results: $OUT"
