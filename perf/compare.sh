#!/usr/bin/env bash
# Side-by-side comparison: uimapd vs the io_uring echo baseline vs a private
# Dovecot, same scenario, same data, interleaved rounds (A B C A B C ...).
#
#   perf/compare.sh SCENARIO [--rounds N] [--duration SECS] [--no-dovecot]
#                   [--no-echo] [--tls | --starttls] [--also LABEL=UIMAPD]...
#                   [--fresh] [--prime 'BENCH ARGS'] [-- EXTRA uimap-bench ARGS...]
#
#   --tls        implicit TLS: uimapd --tls-listen, Dovecot imaps (ssl = required),
#                one generated self-signed P-256 certificate; no echo baseline
#   --starttls   STARTTLS on the plain ports instead
#   --also L=P   one more uimapd binary P as target L (e.g. accel=build-accel/uimapd)
#   --fresh      every run on a freshly started, freshly populated server, one
#                server at a time (memory per connection for every round)
#   --prime ARGS before each measured run (with --fresh) run uimap-bench ARGS
#                against the target, e.g. '-s login -n 200 -c 4'
#
# Prints a table of medians and ratios and writes the raw results and the
# summary to perf/results/compare-SCENARIO[-tls]-TIMESTAMP.json (and latest-...).
# Environment: UIMAP_EXTRA_ARGS (more uimapd options), PERF_BUILD (build dir),
# PERF_BENCH (the uimap-bench binary), SIZE/POPULATE (fetch-body), IDLERS.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

usage() {
	sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
}

[ $# -ge 1 ] || usage
SCENARIO=$1
shift
ROUNDS=3
DURATION=5
WANT_DOVECOT=1
WANT_ECHO=1
TLS_MODE=""
FRESH=0
PRIME=""
ALSO=()
EXTRA=()
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) ROUNDS=$2; shift 2 ;;
	--duration) DURATION=$2; shift 2 ;;
	--no-dovecot) WANT_DOVECOT=0; shift ;;
	--no-echo) WANT_ECHO=0; shift ;;
	--tls) TLS_MODE=tls; shift ;;
	--starttls) TLS_MODE=starttls; shift ;;
	--also) ALSO+=("$2"); shift 2 ;;
	--fresh) FRESH=1; shift ;;
	--prime) PRIME=$2; shift 2 ;;
	--) shift; EXTRA=("$@"); break ;;
	-h|--help) usage ;;
	*) EXTRA+=("$1"); shift ;;
	esac
done

perf_scenario_args "$SCENARIO"
[ "$SCENARIO_NO_ECHO" = 1 ] && WANT_ECHO=0
# the echo baseline speaks no TLS: skipped in TLS mode
[ -n "$TLS_MODE" ] && WANT_ECHO=0
ARGS+=("${EXTRA[@]}")
BENCH_TLS=()
[ -n "$TLS_MODE" ] && BENCH_TLS=("--$TLS_MODE")

[ "$WANT_DOVECOT" = 1 ] && perf_need_pkgs dovecot-imapd
perf_need_pkgs python3
perf_build
perf_build_bin "$BENCH"
declare -A T_BIN=()
EXTRA_TARGETS=()
for a in "${ALSO[@]}"; do
	label=${a%%=*}
	bin=${a#*=}
	[ "$label" != "$a" ] && [ -n "$label" ] && [ -n "$bin" ] || perf_die "--also LABEL=PATH, not $a"
	case $label in uimap|echo|dovecot) perf_die "--also: label $label is taken" ;; esac
	perf_build_bin "$bin"
	T_BIN[$label]=$(realpath "$bin")
	EXTRA_TARGETS+=("$label")
done
ulimit -n 200000 2>/dev/null || ulimit -n 65536 2>/dev/null || true

trap perf_cleanup EXIT
trap 'exit 130' INT TERM
perf_tmpdir
[ -n "$TLS_MODE" ] && perf_make_cert
# Dovecot's IDLE uses one inotify instance per imap process; the default
# fs.inotify.max_user_instances (128) would leave most idlers polling every
# 30 s.  Raise it for the run (restored by perf_cleanup).
if [ "$WANT_DOVECOT" = 1 ] && [ "$SCENARIO" = idle-hold ]; then
	perf_raise_inotify 16384
fi

TARGETS=(uimap "${EXTRA_TARGETS[@]}")
[ "$WANT_ECHO" = 1 ] && TARGETS+=(echo)
[ "$WANT_DOVECOT" = 1 ] && TARGETS+=(dovecot)
declare -A T_PORT=() T_PID=()

# start target $1: T_PORT is the port the bench uses (the TLS one with --tls)
start_target() {
	local t=$1
	case $t in
	echo)
		perf_start_echo
		T_PORT[$t]=$ECHO_PORT T_PID[$t]=$ECHO_PID ;;
	dovecot)
		[ "$FRESH" = 1 ] && rm -rf "$PERF_TMP/dovecot"
		perf_start_dovecot
		T_PID[$t]=$DOVECOT_PID
		T_PORT[$t]=$DOVECOT_PORT
		[ "$TLS_MODE" = tls ] && T_PORT[$t]=$DOVECOT_TLS_PORT ;;
	*)
		local bin=$UIMAPD
		[ "$t" != uimap ] && bin=${T_BIN[$t]}
		[ "$FRESH" = 1 ] && rm -rf "$PERF_TMP/$t-data"
		UIMAP_NAME=$t UIMAP_BIN=$bin perf_start_uimapd
		T_PID[$t]=$UIMAP_PID
		T_PORT[$t]=$UIMAP_PORT
		[ "$TLS_MODE" = tls ] && T_PORT[$t]=$UIMAP_TLS_PORT ;;
	esac
	perf_log "$t pid ${T_PID[$t]} port ${T_PORT[$t]}${TLS_MODE:+ ($TLS_MODE)}"
}

stop_target() {
	perf_stop_pid "${T_PID[$1]}"
}

# the same data for every server (echo has no mailboxes)
populate_target() {
	local t=$1
	[ "$t" = echo ] && return 0
	[ ${#POP[@]} -gt 0 ] || return 0
	perf_log "populating $t: ${POP[*]}"
	timeout 600 "$BENCH" -p "${T_PORT[$t]}" "${BENCH_TLS[@]}" -s populate "${POP[@]}" >&2 ||
		perf_die "populating $t failed"
}

prime_target() {
	[ -n "$PRIME" ] || return 0
	perf_log "priming $1: $PRIME"
	# shellcheck disable=SC2086 # PRIME is a list of bench arguments
	timeout 300 "$BENCH" -q -p "${T_PORT[$1]}" "${BENCH_TLS[@]}" $PRIME >/dev/null ||
		perf_log "priming $1 failed (ignored)"
}

if [ "$FRESH" = 0 ]; then
	for t in "${TARGETS[@]}"; do start_target "$t"; done
	for t in "${TARGETS[@]}"; do populate_target "$t"; done
fi

BENCH_TIMEOUT=$(python3 -c "print(int(float('$DURATION') * 4 + 90))")
for r in $(seq "$ROUNDS"); do
	for t in "${TARGETS[@]}"; do
		if [ "$FRESH" = 1 ]; then
			start_target "$t"
			populate_target "$t"
			prime_target "$t"
		fi
		out=$PERF_TMP/$t-$r.json
		perf_log "round $r/$ROUNDS: $SCENARIO -> $t"
		set +e
		timeout "$BENCH_TIMEOUT" "$BENCH" -p "${T_PORT[$t]}" "${BENCH_TLS[@]}" -s "$SCENARIO" -D "$DURATION" \
			--pid "${T_PID[$t]}" --label "$t" --json-out "$out" "${ARGS[@]}" \
			>"$PERF_TMP/$t-$r.txt" 2>&1
		rc=$?
		set -e
		grep -v '^{' "$PERF_TMP/$t-$r.txt" | sed 's/^/    /' >&2 || true
		if [ ! -s "$out" ]; then
			echo "{\"label\":\"$t\",\"status\":\"error\",\"exit\":$rc}" >"$out"
		fi
		[ "$FRESH" = 1 ] && stop_target "$t"
		sleep 0.5
	done
done

mkdir -p "$PERF_ROOT/perf/results"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
NAME=$SCENARIO${TLS_MODE:+-$TLS_MODE}
RESULT=$PERF_ROOT/perf/results/compare-$NAME-$STAMP.json
python3 - "$SCENARIO" "$ROUNDS" "$DURATION" "$PERF_TMP" "$RESULT" "${ARGS[*]}" "$TLS_MODE" "$FRESH" \
	"$NAME" "${TARGETS[@]}" <<'PY'
import json, statistics, sys, os, platform
scen, rounds, duration, tmp, result, args, tls_mode, fresh, name = sys.argv[1:10]
targets = sys.argv[10:]
fresh = fresh == "1"
rounds = int(rounds)
runs = {t: [] for t in targets}
for t in targets:
    for r in range(1, rounds + 1):
        try:
            with open(os.path.join(tmp, f"{t}-{r}.json")) as f:
                runs[t].append(json.loads(f.readline()))
        except Exception as e:
            runs[t].append({"status": "error", "error": str(e)})

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None

summary = {}
for t in targets:
    ok = [j for j in runs[t] if j.get("status") == "ok"]
    st = "ok" if ok else (runs[t][0].get("status", "error") if runs[t] else "error")
    if not ok:
        summary[t] = {"status": st}
        continue
    prim = ok[0]["primary"]
    cmd = lambda j, k: j.get("commands", {}).get(prim, {}).get(k)
    mem = lambda j, k: j.get("mem_kb", {}).get(k)
    s = {
        "status": "ok", "runs_ok": len(ok), "primary": prim,
        "ops_per_s": med([j["ops_per_s"] for j in ok]),
        "p50_us": med([cmd(j, "p50_us") for j in ok]),
        "p99_us": med([cmd(j, "p99_us") for j in ok]),
        "p999_us": med([cmd(j, "p999_us") for j in ok]),
        "max_us": med([cmd(j, "max_us") for j in ok]),
        "setup_pss_kb": med([mem(j, "setup_pss") for j in ok]),
        "after_pss_kb": med([mem(j, "after_pss") for j in ok]),
        "before_pss_kb": med([mem(j, "before_pss") for j in ok]),
        "procs": med([mem(j, "procs") for j in ok]),
        "errors": sum(j.get("conn_errors", 0) for j in ok),
        "unsupported": sorted({u for j in ok for u in j.get("unsupported", [])}),
        "failing": sorted({k for j in ok for k, c in j.get("commands", {}).items()
                           if c.get("errors") and not c.get("count")}),
        "rx_MBps": med([j.get("rx_MBps") for j in ok]),
        "server_cpu_us_per_op": med([j.get("server_cpu_us_per_op") for j in ok]),
    }
    tls = [j["tls"] for j in ok if j.get("tls")]
    if tls:
        s["tls"] = {"version": tls[0].get("version"), "cipher": tls[0].get("cipher"),
                    "group": tls[0].get("group"),
                    "full_measured": sum(x.get("full_measured", 0) for x in tls),
                    "resumed_measured": sum(x.get("resumed_measured", 0) for x in tls),
                    "handshakes_failed": sum(x.get("handshakes_failed", 0) for x in tls)}
    if scen == "idle-hold":
        # without --fresh only the first round starts from a server that never
        # held the idlers; with --fresh every round does (median)
        per = lambda j, a, b: (mem(j, a) - mem(j, b)) / j["conns"]
        # the memory is read once every idler is set up: a run that completed no
        # round in --duration (Dovecot right after starting 500 processes) counts too
        held = [j for j in runs[t] if mem(j, "procs") and j.get("failed_conns", 1) == 0]
        use = held if fresh else held[:1]
        s["pss_per_idler_kb"] = med([per(j, "setup_pss", "before_pss") for j in use])
        s["rss_per_idler_kb"] = med([per(j, "setup_rss", "before_rss") for j in use])
        s["per_idler_rounds"] = [round(per(j, "setup_pss", "before_pss"), 1) for j in use]
        s["rounds_timed_out"] = sum(j.get("rounds_timed_out", 0) for j in ok)
    summary[t] = s

def ratio(a, b, k):
    x, y = summary.get(a, {}).get(k), summary.get(b, {}).get(k)
    return round(x / y, 3) if x and y else None

ratios = {}
for base in ("echo", "dovecot"):
    if base in summary:
        ratios[f"uimap/{base}"] = {k: ratio("uimap", base, k)
                                   for k in ("ops_per_s", "p50_us", "p99_us", "after_pss_kb",
                                             "server_cpu_us_per_op")}
for t in targets:
    if t not in ("uimap", "echo", "dovecot"):  # --also targets against uimap
        ratios[f"{t}/uimap"] = {k: ratio(t, "uimap", k)
                                for k in ("ops_per_s", "p50_us", "p99_us", "after_pss_kb",
                                          "server_cpu_us_per_op")}

def fus(v):
    if v is None: return "-"
    return f"{v:.0f}us" if v < 10000 else f"{v/1000:.1f}ms" if v < 10_000_000 else f"{v/1e6:.2f}s"

def fmib(v):
    return "-" if v is None else f"{v/1024:.1f}"

unit = {"login": "sessions/s", "idle-hold": "rounds/s"}.get(scen, "ops/s")
mbps = scen in ("fetch-body", "mixed")
tag = f", {tls_mode.upper()}" if tls_mode else ""
print(f"\n## {scen}{tag}: {rounds} rounds x {duration} s{', fresh servers' if fresh else ''}, "
      f"medians (bench args: {args})")
prim = next((s["primary"] for s in summary.values() if s.get("primary")), "?")
mcol = " MB/s |" if mbps else ""
hdr = (f"| target  | {unit:>10} |{mcol} server CPU us/op | {prim} p50 | {prim} p99 | p99.9 |"
       " server PSS MiB (setup/after) | status |")
print(hdr)
print("|---------|-----------:|" + ("-----:|" if mbps else "") + "-----:|------:|------:|------:|------:|--------|")
for t in targets:
    s = summary[t]
    if s["status"] != "ok":
        st = "unsupported by server" if s["status"] == "unsupported" else s["status"]
        print(f"| {t:7} | - |{' - |' if mbps else ''} - | - | - | - | - | {st} |")
        continue
    extra = ""
    if s.get("unsupported"):
        extra = " (BAD: " + ",".join(s["unsupported"]) + ")"
    if s.get("failing"):
        extra += " (always NO: " + ",".join(s["failing"]) + ")"
    if scen == "idle-hold":
        extra += (f" PSS {s['pss_per_idler_kb']:.1f} / RSS {s['rss_per_idler_kb']:.1f} KiB per idler,"
                  f" {s['rounds_timed_out']} timeouts")
    mb = f" {s['rx_MBps']:.1f} |" if mbps and s.get("rx_MBps") is not None else (" - |" if mbps else "")
    cpu = s.get("server_cpu_us_per_op")
    cpu = "-" if cpu is None else f"{cpu:.1f}"
    print(f"| {t:7} | {s['ops_per_s']:10.1f} |{mb} {cpu} | {fus(s['p50_us'])} | {fus(s['p99_us'])} | "
          f"{fus(s['p999_us'])} | {fmib(s['setup_pss_kb'])}/{fmib(s['after_pss_kb'])} | ok{extra} |")
for t in targets:
    x = summary[t].get("tls")
    if x:
        print(f"{t}: {x['version']} {x['cipher']} {x['group'] or ''}; measured handshakes: "
              f"{x['full_measured']} full, {x['resumed_measured']} resumed, {x['handshakes_failed']} failed")
for rname, rr in ratios.items():
    def f(v): return "-" if v is None else f"{v:.3g}x"
    print(f"{rname}: throughput {f(rr['ops_per_s'])}, p50 latency {f(rr['p50_us'])}, "
          f"p99 latency {f(rr['p99_us'])}, memory {f(rr['after_pss_kb'])}, "
          f"server CPU per op {f(rr['server_cpu_us_per_op'])}")

doc = {"scenario": scen, "tls": tls_mode or None, "fresh": fresh, "rounds": rounds,
       "duration_s": float(duration), "bench_args": args,
       "host": {"cpus": os.cpu_count(), "kernel": platform.release()},
       "summary": summary, "ratios": ratios, "runs": runs}
with open(result, "w") as f:
    json.dump(doc, f, indent=1)
latest = os.path.join(os.path.dirname(result), f"latest-{name}.json")
with open(latest, "w") as f:
    json.dump(doc, f, indent=1)
print(f"\nresults: {result}")
PY
