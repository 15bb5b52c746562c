#!/usr/bin/env python3
"""Fold `perf script` call stacks into "root;caller;...;leaf COUNT" lines.

    perf script -i perf.data | perf/stackcollapse.py [--pid] [--period] > out.folded

Input: perf script's default output, one block per sample:

    uimapd  3678 [000] 12345.678901:     1001001 cpu-clock:
            55d4c3 session_run+0x12 (/work/main/build/uimapd)
            55d001 main+0x80 (/work/main/build/uimapd)

    (blank line)

Frames are listed leaf first; the folded line is root first, prefixed with the
command name.  Offsets (+0x..) are dropped; unknown symbols become the basename
of their DSO in brackets.  Each sample counts 1, or its period with --period.
"""
import argparse
import os
import re
import sys
from collections import Counter

HEADER = re.compile(r"^(\S.*?)\s+(\d+)(?:/(\d+))?\s+(?:\[\d+\]\s+)?[\d.]+:\s*(?:(\d+)\s+)?(\S+?):?\s")
FRAME = re.compile(r"^\s+([0-9a-fA-F]+)\s+(.*?)(?:\s+\((.*)\))?\s*$")


def frame_name(sym, dso):
    sym = sym.strip()
    if sym.startswith("[unknown]") or not sym:
        base = os.path.basename(dso) if dso else "unknown"
        return f"[{base}]"
    sym = re.sub(r"\+0x[0-9a-fA-F]+$", "", sym)
    return sym.replace(";", ":")


def fold(lines, with_pid=False, use_period=False):
    counts = Counter()
    comm = None
    weight = 1
    frames = []

    def flush():
        if comm is not None:
            stack = [comm] + list(reversed(frames))
            counts[";".join(stack)] += weight

    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            flush()
            comm, frames = None, []
            continue
        if line.startswith("#"):
            continue
        if not line[0].isspace():
            flush()
            frames = []
            m = HEADER.match(line + " ")
            if m:
                comm = m.group(1).strip().replace(" ", "_").replace(";", ":")
                if with_pid:
                    comm += f"-{m.group(2)}"
                weight = int(m.group(4)) if (use_period and m.group(4)) else 1
            else:
                comm = line.split()[0]
                weight = 1
            continue
        m = FRAME.match(line)
        if m and comm is not None:
            frames.append(frame_name(m.group(2), m.group(3)))
    flush()
    return counts


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input", nargs="?", help="perf script output (default: stdin)")
    ap.add_argument("--pid", action="store_true", help="keep pids in the root frame")
    ap.add_argument("--period", action="store_true", help="weight samples by their period")
    a = ap.parse_args()
    src = open(a.input, errors="replace") if a.input else sys.stdin
    counts = fold(src, a.pid, a.period)
    for stack, n in sorted(counts.items()):
        print(f"{stack} {n}")


if __name__ == "__main__":
    main()
