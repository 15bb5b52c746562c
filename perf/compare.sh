#!/usr/bin/env bash
# Side-by-side comparison: uimapd vs the io_uring echo baseline vs a private
# Dovecot, same scenario, same data, interleaved rounds (A B C A B C ...).
#
#   perf/compare.sh SCENARIO [--rounds N] [--duration SECS] [--no-dovecot]
#                   [--no-echo] [-- EXTRA uimap-bench ARGS...]
#
# Prints a table of medians and ratios and writes the raw results and the
# summary to perf/results/compare-SCENARIO-TIMESTAMP.json (and latest-SCENARIO.json).
# Environment: UIMAP_EXTRA_ARGS (more uimapd options), PERF_BUILD (build dir).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

usage() {
	sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
}

[ $# -ge 1 ] || usage
SCENARIO=$1
shift
ROUNDS=3
DURATION=5
WANT_DOVECOT=1
WANT_ECHO=1
EXTRA=()
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) ROUNDS=$2; shift 2 ;;
	--duration) DURATION=$2; shift 2 ;;
	--no-dovecot) WANT_DOVECOT=0; shift ;;
	--no-echo) WANT_ECHO=0; shift ;;
	--) shift; EXTRA=("$@"); break ;;
	-h|--help) usage ;;
	*) EXTRA+=("$1"); shift ;;
	esac
done

perf_scenario_args "$SCENARIO"
[ "$SCENARIO_NO_ECHO" = 1 ] && WANT_ECHO=0
ARGS+=("${EXTRA[@]}")

[ "$WANT_DOVECOT" = 1 ] && perf_need_pkgs dovecot-imapd
perf_need_pkgs python3
perf_build
ulimit -n 200000 2>/dev/null || ulimit -n 65536 2>/dev/null || true

trap perf_cleanup EXIT
trap 'exit 130' INT TERM
perf_tmpdir
# Dovecot's IDLE uses one inotify instance per imap process; the default
# fs.inotify.max_user_instances (128) would leave most idlers polling every
# 30 s.  Raise it for the run (restored by perf_cleanup).
if [ "$WANT_DOVECOT" = 1 ] && [ "$SCENARIO" = idle-hold ]; then
	perf_raise_inotify 16384
fi

TARGETS=(uimap)
perf_start_uimapd
perf_log "uimapd pid $UIMAP_PID port $UIMAP_PORT"
if [ "$WANT_ECHO" = 1 ]; then
	perf_start_echo
	TARGETS+=(echo)
	perf_log "echo-server pid $ECHO_PID port $ECHO_PORT"
fi
if [ "$WANT_DOVECOT" = 1 ]; then
	perf_start_dovecot
	TARGETS+=(dovecot)
	perf_log "dovecot pid $DOVECOT_PID port $DOVECOT_PORT"
fi

port_of() { case $1 in uimap) echo "$UIMAP_PORT" ;; echo) echo "$ECHO_PORT" ;; dovecot) echo "$DOVECOT_PORT" ;; esac; }
pid_of() { case $1 in uimap) echo "$UIMAP_PID" ;; echo) echo "$ECHO_PID" ;; dovecot) echo "$DOVECOT_PID" ;; esac; }

# the same data for every server (echo has no mailboxes)
if [ ${#POP[@]} -gt 0 ]; then
	for t in "${TARGETS[@]}"; do
		[ "$t" = echo ] && continue
		perf_log "populating $t: ${POP[*]}"
		timeout 600 "$BENCH" -p "$(port_of "$t")" -s populate "${POP[@]}" >&2 ||
			perf_die "populating $t failed"
	done
fi

BENCH_TIMEOUT=$(python3 -c "print(int(float('$DURATION') * 4 + 90))")
for r in $(seq "$ROUNDS"); do
	for t in "${TARGETS[@]}"; do
		out=$PERF_TMP/$t-$r.json
		perf_log "round $r/$ROUNDS: $SCENARIO -> $t"
		set +e
		timeout "$BENCH_TIMEOUT" "$BENCH" -p "$(port_of "$t")" -s "$SCENARIO" -D "$DURATION" \
			--pid "$(pid_of "$t")" --label "$t" --json-out "$out" "${ARGS[@]}" \
			>"$PERF_TMP/$t-$r.txt" 2>&1
		rc=$?
		set -e
		grep -v '^{' "$PERF_TMP/$t-$r.txt" | sed 's/^/    /' >&2 || true
		if [ ! -s "$out" ]; then
			echo "{\"label\":\"$t\",\"status\":\"error\",\"exit\":$rc}" >"$out"
		fi
		sleep 0.5
	done
done

mkdir -p "$PERF_ROOT/perf/results"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RESULT=$PERF_ROOT/perf/results/compare-$SCENARIO-$STAMP.json
python3 - "$SCENARIO" "$ROUNDS" "$DURATION" "$PERF_TMP" "$RESULT" "${ARGS[*]}" "${TARGETS[@]}" <<'PY'
import json, statistics, sys, os, platform
scen, rounds, duration, tmp, result, args = sys.argv[1:7]
targets = sys.argv[7:]
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
    }
    if scen == "idle-hold":
        # only the first round starts from a server that never held the idlers
        j = ok[0]
        s["pss_per_idler_kb"] = (mem(j, "setup_pss") - mem(j, "before_pss")) / j["conns"]
        s["rounds_timed_out"] = sum(j.get("rounds_timed_out", 0) for j in ok)
    summary[t] = s

def ratio(a, b, k):
    x, y = summary.get(a, {}).get(k), summary.get(b, {}).get(k)
    return round(x / y, 3) if x and y else None

ratios = {}
for base in ("echo", "dovecot"):
    if base in summary:
        ratios[f"uimap/{base}"] = {k: ratio("uimap", base, k)
                                   for k in ("ops_per_s", "p50_us", "p99_us", "after_pss_kb")}

def fus(v):
    if v is None: return "-"
    return f"{v:.0f}us" if v < 10000 else f"{v/1000:.1f}ms" if v < 10_000_000 else f"{v/1e6:.2f}s"

def fmib(v):
    return "-" if v is None else f"{v/1024:.1f}"

unit = {"login": "sessions/s", "idle-hold": "rounds/s"}.get(scen, "ops/s")
print(f"\n## {scen}: {rounds} rounds x {duration} s, medians (bench args: {args})")
prim = next((s["primary"] for s in summary.values() if s.get("primary")), "?")
hdr = f"| target  | {unit:>10} | {prim} p50 | {prim} p99 | p99.9 | server PSS MiB (setup/after) | status |"
print(hdr)
print("|---------|-----------:|------:|------:|------:|------:|--------|")
for t in targets:
    s = summary[t]
    if s["status"] != "ok":
        st = "unsupported by server" if s["status"] == "unsupported" else s["status"]
        print(f"| {t:7} | - | - | - | - | - | {st} |")
        continue
    extra = ""
    if s.get("unsupported"):
        extra = " (BAD: " + ",".join(s["unsupported"]) + ")"
    if s.get("failing"):
        extra += " (always NO: " + ",".join(s["failing"]) + ")"
    if scen == "idle-hold":
        extra += f" {s['pss_per_idler_kb']:.1f} KiB/idler, {s['rounds_timed_out']} timeouts"
    print(f"| {t:7} | {s['ops_per_s']:10.1f} | {fus(s['p50_us'])} | {fus(s['p99_us'])} | "
          f"{fus(s['p999_us'])} | {fmib(s['setup_pss_kb'])}/{fmib(s['after_pss_kb'])} | ok{extra} |")
for name, rr in ratios.items():
    def f(v): return "-" if v is None else f"{v:.3g}x"
    print(f"{name}: throughput {f(rr['ops_per_s'])}, p50 latency {f(rr['p50_us'])}, "
          f"p99 latency {f(rr['p99_us'])}, memory {f(rr['after_pss_kb'])}")

doc = {"scenario": scen, "rounds": rounds, "duration_s": float(duration), "bench_args": args,
       "host": {"cpus": os.cpu_count(), "kernel": platform.release()},
       "summary": summary, "ratios": ratios, "runs": runs}
with open(result, "w") as f:
    json.dump(doc, f, indent=1)
latest = os.path.join(os.path.dirname(result), f"latest-{scen}.json")
with open(latest, "w") as f:
    json.dump(doc, f, indent=1)
print(f"\nresults: {result}")
PY
