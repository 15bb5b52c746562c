#!/usr/bin/env python3
"""Resynchronising a large mailbox after a few changes (issue 11): a mailbox of N messages,
a client that knew it at some HIGHESTMODSEQ, then CHANGES flag changes and CHANGES expunges
by another session. Reported, for each way a client can catch up (the median of --rounds
runs, each on a fresh connection): the time from sending the commands to the last tagged
reply and the bytes the server sent.

  full        SELECT, then UID FETCH 1:* (FLAGS)         (a client without CONDSTORE)
  changedsince SELECT (CONDSTORE), UID FETCH 1:* (FLAGS) (CHANGEDSINCE m) and UID SEARCH ALL
              (CONDSTORE alone says nothing about expunges: the UID list tells them)
  qresync     ENABLE QRESYNC, SELECT INBOX (QRESYNC (uidvalidity m))

A benchmark, not a test: loopback, one client at a time.

    perf/resync.py [--uimapd BIN] [-n 100000] [--changes 100] [--rounds 5]
"""
import argparse
import os
import random
import re
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imapclient import Conn, default_uimapd, start_uimapd  # noqa: E402


def login(port):
    c = Conn(port)
    c.cmd("L", "LOGIN u p")
    return c


def populate(port, n):
    c = login(port)
    body = b"From: a@example.org\r\nSubject: resync %d\r\n\r\nhello\r\n"
    batch = bytearray()
    for i in range(n):
        msg = body % i
        batch += b"A%d APPEND INBOX {%d+}\r\n%s\r\n" % (i, len(msg), msg)
        if len(batch) > 1 << 20 or i == n - 1:
            c.s.sendall(bytes(batch))
            batch.clear()
    done = 0
    while done < n:
        ln = c.line()
        if ln.startswith(b"A") and b" OK" in ln:
            done += 1
        elif ln.startswith(b"A"):
            raise RuntimeError(ln)
    c.close()


def run(port, way, uv, modseq):
    c = login(port)
    start_bytes = c.received
    t0 = time.perf_counter()
    if way == "full":
        c.cmd("S", "SELECT INBOX")
        lines = c.cmd("F", "UID FETCH 1:* (FLAGS)")
    elif way == "changedsince":
        c.cmd("S", "SELECT INBOX (CONDSTORE)")
        lines = c.cmd("F", f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {modseq})")
        lines += c.cmd("U", "UID SEARCH ALL")
    else:
        c.cmd("E", "ENABLE QRESYNC")
        lines = c.cmd("S", f"SELECT INBOX (QRESYNC ({uv} {modseq}))")
    dt = time.perf_counter() - t0
    sent = c.received - start_bytes
    c.close()
    return dt, sent, lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--uimapd", default=default_uimapd())
    ap.add_argument("-n", type=int, default=100000)
    ap.add_argument("--changes", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="uimap-resync.")
    srv, port = start_uimapd(a.uimapd, tmp, "--max-command-messages", "0")
    try:
        t0 = time.perf_counter()
        populate(port, a.n)
        print(f"populated {a.n} messages in {time.perf_counter() - t0:.1f} s", flush=True)
        c = login(port)
        c.cmd("E", "ENABLE QRESYNC")
        sel = b"\n".join(c.cmd("S", "SELECT INBOX"))
        uv = int(re.search(rb"UIDVALIDITY (\d+)", sel).group(1))
        modseq = int(re.search(rb"HIGHESTMODSEQ (\d+)", sel).group(1))
        rng = random.Random(1)
        uids = rng.sample(range(1, a.n + 1), 2 * a.changes)
        flagged, expunged = uids[:a.changes], uids[a.changes:]
        c.cmd("F", "UID STORE " + ",".join(map(str, flagged)) + " +FLAGS.SILENT (\\Flagged)")
        c.cmd("D", "UID STORE " + ",".join(map(str, expunged)) + " +FLAGS.SILENT (\\Deleted)")
        c.cmd("X", "EXPUNGE")
        c.close()
        print(f"then {a.changes} flag changes and {a.changes} expunges")
        results = {}
        for way in ("full", "changedsince", "qresync"):
            times, sizes = [], []
            for _ in range(a.rounds):
                dt, sent, lines = run(port, way, uv, modseq)
                times.append(dt)
                sizes.append(sent)
            if way == "qresync":
                v = [ln for ln in lines if ln.startswith(b"* VANISHED (EARLIER)")]
                f = [ln for ln in lines if b" FETCH " in ln]
                assert len(v) == 1 and len(f) == a.changes, (len(v), len(f))
            results[way] = (statistics.median(times), statistics.median(sizes))
        base_t, base_b = results["full"]
        print(f"{'way':<14}{'time ms':>10}{'bytes':>12}{'time vs full':>14}{'bytes vs full':>15}")
        for way, (t, b) in results.items():
            print(f"{way:<14}{t * 1000:>10.2f}{b:>12}{t / base_t:>14.4f}{b / base_b:>15.4f}")
    finally:
        srv.terminate()
        srv.wait(10)


if __name__ == "__main__":
    sys.exit(main())
