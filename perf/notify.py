#!/usr/bin/env python3
"""What NOTIFY costs the sessions that change mail (issue 11): one client APPENDs N small
messages to a mailbox while K other sessions of the same user watch it, either with
NOTIFY SET (PERSONAL (MessageNew MessageExpunge)) (unsolicited STATUS, nothing
selected) or selected on it in IDLE (the IDLE fan-out, for comparison); another process
reads every watcher (so the client side does not share the appender's interpreter). Reports the APPEND rate against K = 0 in the same run, and what the
watchers received. A benchmark, not a test.

    perf/notify.py [--uimapd BIN] [-n N] [--watchers 0,100,1000]
"""
import argparse, multiprocessing, os, selectors, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imapclient import Conn, default_uimapd, start_uimapd  # noqa: E402


def watch(port, mode, k, ready, stop, out):
    """K watcher sessions in this process: count what they receive until stop."""
    conns = []
    for i in range(k):
        c = Conn(port)
        c.cmd("l", "LOGIN u p")
        if mode == "notify":
            c.cmd("n", "NOTIFY SET (PERSONAL (MessageNew MessageExpunge))")
        else:
            c.cmd("s", "SELECT Other")
            c.s.sendall(b"i IDLE\r\n")
            c.line()
        conns.append(c)
    sel = selectors.DefaultSelector()
    for c in conns:
        c.s.setblocking(False)
        sel.register(c.s, selectors.EVENT_READ)
    ready.set()
    got = 0
    while not stop.is_set():
        for key, _ in sel.select(0.05):
            try:
                d = key.fileobj.recv(1 << 16)
            except BlockingIOError:
                continue
            got += d.count(b"* STATUS " if mode == "notify" else b" EXISTS\r\n")
    out.put(got)
    for c in conns:
        c.close()


def run(port, mode, k, n):
    ready, stop, out = multiprocessing.Event(), multiprocessing.Event(), multiprocessing.Queue()
    p = multiprocessing.Process(target=watch, args=(port, mode, k, ready, stop, out))
    p.start()
    ready.wait(300)
    a = Conn(port)
    a.cmd("l", "LOGIN u p")
    msg = b"Subject: x\r\n\r\nhello\r\n"
    t0 = time.monotonic()
    for i in range(n):
        a.s.sendall(b"a APPEND Other {%d+}\r\n%s\r\n" % (len(msg), msg))
        while not a.line().startswith(b"a "):
            pass
    dt = time.monotonic() - t0
    time.sleep(1.0)
    stop.set()
    got = out.get(timeout=60)
    p.join(60)
    a.close()
    return n / dt, got


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--uimapd", default=default_uimapd())
    ap.add_argument("-n", type=int, default=2000)
    ap.add_argument("--watchers", default="0,10,100,1000")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="uimap-notify.")
    srv, port = start_uimapd(a.uimapd, tmp, "--max-unauth-connections-per-ip", "0")
    try:
        c = Conn(port)
        c.cmd("l", "LOGIN u p")
        c.cmd("c", "CREATE Other")
        c.close()
        base = None
        print(f"{'watchers':>8} {'mode':>6} {'APPEND/s':>9} {'vs K=0':>7} {'received':>9}")
        for k in [int(x) for x in a.watchers.split(",")]:
            for mode in (["notify"] if k == 0 else ["notify", "idle"]):
                rate, got = run(port, mode, k, a.n)
                base = base or rate
                print(f"{k:>8} {mode:>6} {rate:>9.0f} {rate / base:>7.2f} {got:>9}")
                sys.stdout.flush()
    finally:
        srv.terminate()
        srv.wait(10)


if __name__ == "__main__":
    main()
