#!/usr/bin/env python3
"""Snapshot stall and restart time (issue 15: "snapshots must not stall the loop; restart
fast"). A benchmark, not a test: uimapd is filled with --gb GB of ~50 KB messages over
IMAP (pipelined MULTIAPPEND on several connections), then --clients NOOP clients measure
round trips for --duration s without a snapshot and again while a SIGUSR1 snapshot runs
(--reps times), and the server is restarted on the same data directory to time exec ->
first answered LOGIN: with the page cache as the snapshots left it, warm (every file read
first) and cold (caches dropped; when root).

    perf/snapshot.py [--uimapd BIN] [--gb 1] [--clients 4] [--duration 6] [--reps 1] [--interval-ms 0]
                     [--data-dir DIR] [--keep] [--json] [--json-out FILE]
                     [--tmp-root DIR] [--timeout S]

--data-dir reuses a populated directory (no populate; it is never deleted); otherwise
a fresh one under --tmp-root (default /work/tmp-snapbench, else the system temp dir)
is removed at the end unless --keep. Reported: NOOP p50/p99/p99.9/max per window, the
server's own "paused the loop N us", the snapshot's duration and size, RSS, restart
time to the first LOGIN, the server's load line and load GB/s.
"""
import argparse
import json
import multiprocessing as mp
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imapclient import Conn, default_uimapd  # noqa: E402

MSG_BYTES = 50 * 1024
PAUSE_RE = re.compile(r"paused the loop (\d+) us|loop paused (\d+) us")
SNAP_DONE_RE = re.compile(r"snapshot of (\d+) bytes written")
# the loop's own time on a background snapshot (uimapd without fork)
SLICES_RE = re.compile(r"in (\d+) slices \(longest (\d+) us, (\d+) us of CPU\) and (\d+) us "
                       r"ending it")
SNAP_FAIL_RE = re.compile(r"snapshot (\(.*\) )?failed|persist: .*snapshot.*(failed|error)")
LOAD_RE = re.compile(r"persist: .* in [0-9.]+ s")
LISTEN_RE = re.compile(r"listening on \S+ port (\d+)")
# SIGUSR2: the loop's longest turn (its own work between two waits) since the last one
LOOP_RE = re.compile(r"stats: loop: \d+ turn\(s\), the longest (\d+) us")


def die(msg):
    print("snapshot.py: " + msg, file=sys.stderr)
    sys.exit(2)


class Deadline(Exception):
    pass


# ---------------------------------------------------------------- the server

class Server:
    """uimapd with its stderr drained by a thread into (monotonic time, line) pairs."""

    def __init__(self, binary, tmp, data, port=0):
        pw = os.path.join(tmp, "passwd")
        with open(pw, "w") as f:
            f.write("u:{PLAIN}p\n")
        root = ["--allow-root"] if os.geteuid() == 0 else []
        self.argv = [binary, "--listen", f"127.0.0.1:{port}", "--passwd", pw,
                     "--allow-plaintext-auth", *root, "--data-dir", data,
                     "--snapshot-interval", "0", "--snapshot-changes", "0",
                     "--journal-fsync", "periodic", "--quota-storage", "0",
                     "--quota-messages", "0", "--max-mailbox-messages", "0",
                     "--login-delay", "0", "--auth-idle", "0"]
        self.lines = []
        self.cond = threading.Condition()
        self.t_exec = time.monotonic()
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True, errors="replace")
        threading.Thread(target=self._drain, daemon=True).start()
        self.port = port

    def _drain(self):
        for line in self.proc.stderr:
            with self.cond:
                self.lines.append((time.monotonic(), line.rstrip("\n")))
                self.cond.notify_all()
        with self.cond:
            self.lines.append((time.monotonic(), None))
            self.cond.notify_all()

    def wait_log(self, rx, timeout, start=0):
        """The first (time, match, index) of a line from index start matching rx."""
        deadline = time.monotonic() + timeout
        i = start
        with self.cond:
            while True:
                while i < len(self.lines):
                    t, line = self.lines[i]
                    if line is None:
                        raise RuntimeError("uimapd exited:\n" + self.tail())
                    m = rx.search(line)
                    if m:
                        return t, m, i
                    i += 1
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Deadline(f"no log line matching {rx.pattern!r} within {timeout} s")
                self.cond.wait(left)

    def mark(self):
        with self.cond:
            return len(self.lines)

    def tail(self, n=20):
        with self.cond:
            return "\n".join(l for _, l in self.lines[-n:] if l is not None)

    def wait_listening(self, timeout):
        _, m, _ = self.wait_log(LISTEN_RE, timeout)
        self.port = int(m.group(1))
        return self.port

    def status(self, field):
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith(field + ":"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        return None

    def stop(self, timeout=60):
        """SIGTERM; the seconds until it exited (SIGKILL after timeout: None)."""
        if self.proc.poll() is not None:
            return 0.0
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
            return time.monotonic() - t0
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(30)
            return None


# ---------------------------------------------------------------- populate

def populate_worker(port, first, count, body, deadline, batch, out):
    try:
        c = Conn(port)
        c.cmd("l", "LOGIN u p")
        i = 0
        while i < count:
            if time.monotonic() > deadline:
                raise Deadline("populate did not finish in time")
            k = min(batch, count - i)
            parts = []
            for j in range(first + i, first + i + k):
                msg = (b"Message-ID: <%d@snapbench>\r\nSubject: m%d\r\n" % (j, j)) + body
                parts.append(b"{%d+}\r\n" % len(msg) + msg)
            c.s.sendall(b"p APPEND INBOX " + b" ".join(parts) + b"\r\n")
            t = b"p "
            while True:
                ln = c.line()
                if ln.startswith(t):
                    if not ln.startswith(b"p OK"):
                        raise RuntimeError(f"APPEND: {ln[:200]!r}")
                    break
            i += k
        c.cmd("z", "LOGOUT")
        out.append(None)
    except Exception as e:  # noqa: BLE001 (reported by the caller)
        out.append(e)


def populate(srv, gb, conns, deadline):
    n = max(1, int(gb * (1 << 30) / MSG_BYTES))
    rnd = os.urandom(MSG_BYTES * 3 // 4)
    import base64
    b64 = base64.encodebytes(rnd)               # 76-column lines, LF
    body = (b"From: bench <b@example.org>\r\nTo: u@example.org\r\n"
            b"Content-Type: text/plain\r\n\r\n" + b64.replace(b"\n", b"\r\n"))
    body = body[:MSG_BYTES - 64]
    body = body[:body.rfind(b"\r\n") + 2]
    per = (n + conns - 1) // conns
    out, threads = [], []
    t0 = time.monotonic()
    for w in range(conns):
        first = w * per
        cnt = max(0, min(per, n - first))
        th = threading.Thread(target=populate_worker,
                              args=(srv.port, first, cnt, body, deadline, 32, out),
                              daemon=True)
        th.start()
        threads.append(th)
    for th in threads:
        th.join(max(1.0, deadline - time.monotonic()))
        if th.is_alive():
            raise Deadline("populate did not finish in time")
    for e in out:
        if e is not None:
            raise e
    return n, time.monotonic() - t0


# ---------------------------------------------------------------- NOOP clients

def noop_client(port, go, stop, q, interval=0.0):
    """NOOP round trips between go and stop, back to back or one every interval s (a
    late one is sent at once, never skipped): (start time, s) pairs."""
    try:
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        f = s.makefile("rb")
        f.readline()
        s.sendall(b"l LOGIN u p\r\n")
        while not f.readline().startswith(b"l "):
            pass
        go.wait(30)
        samples = []
        now = time.monotonic
        due = now()
        while not stop.is_set():
            if interval > 0:
                due += interval
                wait = due - now()
                if wait > 0:
                    time.sleep(wait)
            t0 = now()
            s.sendall(b"n NOOP\r\n")
            while True:
                ln = f.readline()
                if not ln:
                    raise EOFError("connection closed")
                if ln.startswith(b"n "):
                    break
            samples.append((t0, now() - t0))
        s.close()
        q.put(("ok", samples))
    except Exception as e:  # noqa: BLE001
        q.put(("error", repr(e)))


def pct(sorted_us, p):
    if not sorted_us:
        return None
    i = min(len(sorted_us) - 1, int(p / 100.0 * len(sorted_us)))
    return sorted_us[i]


def summary(samples):
    us = sorted(int(d * 1e6) for _, d in samples)
    return {"n": len(us), "p50_us": pct(us, 50), "p99_us": pct(us, 99),
            "p99.9_us": pct(us, 99.9), "max_us": us[-1] if us else None}


def longest_turn(srv):
    """SIGUSR2: the loop's longest turn since the last SIGUSR2 (None: the binary has no
    such line)."""
    mark = srv.mark()
    os.kill(srv.proc.pid, signal.SIGUSR2)
    try:
        _, m, _ = srv.wait_log(LOOP_RE, 5, mark)
    except Deadline:
        return None
    return int(m.group(1))


def noop_window(srv, clients, duration, snapshot, timeout, interval=0.0):
    """One window; with snapshot, SIGUSR1 ~1 s in and the window runs until it is done."""
    ctx = mp.get_context("fork")
    go, stop, q = ctx.Event(), ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=noop_client, args=(srv.port, go, stop, q, interval),
                         daemon=True)
             for _ in range(clients)]
    for p in procs:
        p.start()
    time.sleep(0.5)     # connect and log in
    longest_turn(srv)   # resets the server's longest loop turn
    mark = srv.mark()
    t0 = time.monotonic()
    go.set()
    snap = None
    try:
        if snapshot:
            time.sleep(1.0)
            t_sig = time.monotonic()
            os.kill(srv.proc.pid, signal.SIGUSR1)
            _, pm, _ = srv.wait_log(PAUSE_RE, 30, mark)
            t_done, dm, _ = srv.wait_log(SNAP_DONE_RE, timeout, mark)
            snap = {"pause_us": int(pm.group(1) or pm.group(2)),
                    "duration_s": round(t_done - t_sig, 3),
                    "bytes": int(dm.group(1))}
            sm = None
            for _, line in srv.lines[mark:]:
                sm = SLICES_RE.search(line or "") or sm
            if sm:
                snap.update(slices=int(sm.group(1)), longest_slice_us=int(sm.group(2)),
                            longest_slice_cpu_us=int(sm.group(3)), end_us=int(sm.group(4)))
        left = t0 + duration - time.monotonic()
        if left > 0:
            time.sleep(left)
    finally:
        stop.set()
        turn_us = longest_turn(srv)
        results = []
        for _ in procs:
            try:
                results.append(q.get(timeout=60))
            except Exception:  # noqa: BLE001
                results.append(("error", "no result"))
        for p in procs:
            p.join(10)
            if p.is_alive():
                p.kill()
    samples = []
    for kind, val in results:
        if kind != "ok":
            raise RuntimeError("NOOP client: " + val)
        samples += val
    out = summary(samples)
    out["seconds"] = round(time.monotonic() - t0, 2)
    out["longest_loop_turn_us"] = turn_us
    if snap:
        out["snapshot"] = snap
        # the round trips that overlapped the snapshot (from the signal to its end)
        out["during"] = summary([s for s in samples
                                 if s[0] + s[1] >= t_sig and s[0] <= t_done])
    return out


# ---------------------------------------------------------------- restart

def dir_bytes(d):
    total = 0
    for root, _, files in os.walk(d):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(root, f))
            except OSError:
                pass
    return total


def first_login(port, deadline):
    """Connect (retrying every 2 ms) and LOGIN; the time the tagged OK arrived."""
    while True:
        try:
            c = Conn(port)
            c.cmd("l", "LOGIN u p")
            t = time.monotonic()
            c.close()
            return t
        except (ConnectionRefusedError, ConnectionResetError, EOFError):
            if time.monotonic() > deadline:
                raise Deadline("no LOGIN answered in time")
            time.sleep(0.002)


def cached_fraction(data):
    """The share of the data directory's bytes in the page cache (fincore), or None."""
    try:
        out = subprocess.run(["fincore", "-b", "-n", "-o", "RES,SIZE"] +
                             [os.path.join(data, n) for n in os.listdir(data)],
                             capture_output=True, text=True, timeout=60).stdout
        res = size = 0
        for line in out.splitlines():
            r, z = line.split()
            res, size = res + int(r), size + int(z)
        return round(res / size, 3) if size else None
    except (OSError, ValueError, subprocess.SubprocessError):
        return None


def read_all(data):
    """Read every file of the data directory once: its pages end up in the page cache."""
    for n in os.listdir(data):
        with open(os.path.join(data, n), "rb", buffering=0) as f:
            while f.read(8 << 20):
                pass


def restart(args, tmp, data, port, cold, preread=False):
    if preread:
        read_all(data)
    cached = cached_fraction(data)
    if cold:
        subprocess.run(["sync"], check=False)
        try:
            with open("/proc/sys/vm/drop_caches", "w") as f:
                f.write("3\n")
        except OSError as e:
            return {"skipped": f"cannot drop caches: {e}"}
    srv = Server(args.uimapd, tmp, data, port)
    try:
        t_login = first_login(port, time.monotonic() + args.timeout)
        _, m, _ = srv.wait_log(LOAD_RE, 10)
        secs = [float(x) for x in re.findall(r"in ([0-9.]+) s", m.group(0))]
        load_s = sum(secs)
        size = dir_bytes(data)
        return {"to_first_login_s": round(t_login - srv.t_exec, 3),
                "cached_before": cached if not cold else 0.0,
                "load_line": m.group(0), "load_s": load_s, "data_dir_bytes": size,
                "load_gb_per_s": round(size / 1e9 / load_s, 2) if load_s > 0 else None,
                "rss_bytes": srv.status("VmRSS")}, srv
    except BaseException:
        srv.stop()
        raise


# ---------------------------------------------------------------- main

def check_memory(gb):
    avail = None
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                avail = int(line.split()[1]) * 1024
    # the store's RSS plus page cache for the files: 1.5x, and 12 GB for an 8 GB run
    need = max(2.0, gb * 1.5, 12.0 if gb >= 8 else 0.0) * (1 << 30)
    if avail is not None and avail < need:
        die(f"{gb} GB needs about {need / (1 << 30):.0f} GB of available memory "
            f"(RSS plus page cache); only {avail / (1 << 30):.1f} GB available")


def other_big_uimapd(limit_bytes):
    """Pids of other uimapd processes whose RSS is above limit_bytes."""
    big = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip() != "uimapd":
                    continue
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:") and int(line.split()[1]) * 1024 > limit_bytes:
                        big.append(int(pid))
        except OSError:
            pass
    return big


def wait_for_big_uimapd(gb, wait_s):
    if gb < 4:
        return
    deadline = time.monotonic() + wait_s
    while True:
        big = other_big_uimapd(2 << 30)
        if not big:
            return
        if time.monotonic() > deadline:
            die(f"another large uimapd is running (pids {big}); not starting a {gb} GB run")
        print(f"waiting for the large uimapd {big} to end", file=sys.stderr)
        time.sleep(10)


def fmt_us(v):
    return "-" if v is None else (f"{v / 1000:.1f} ms" if v >= 1000 else f"{v} us")


def report(res):
    p = print
    p(f"uimapd {res['uimapd']}; {res['messages']} messages, data dir "
      f"{res['data_dir_bytes'] / 1e9:.2f} GB" +
      (f"; populated in {res['populate_s']:.1f} s" if res.get("populate_s") else ""))
    p(f"RSS after populate/load: {res['rss_bytes'] / (1 << 20):.0f} MiB "
      f"(peak {res['rss_peak_bytes'] / (1 << 20):.0f} MiB)")
    p(f"{'window':<16} {'NOOPs':>8} {'p50':>9} {'p99':>9} {'p99.9':>9} {'max':>9} "
      f"{'turn':>9}  snapshot")
    p("(turn: the server loop's longest turn of the window, its own work between waits)")
    for w in res["windows"]:
        s = w.get("snapshot")
        extra = (f"paused the loop {s['pause_us']} us; {s['duration_s']:.2f} s; "
                 f"{s['bytes'] / 1e9:.2f} GB") if s else ""
        if s and "longest_slice_us" in s:
            extra += (f"; {s['slices']} slices, longest {s['longest_slice_us']} us "
                      f"({s['longest_slice_cpu_us']} us CPU), end {s['end_us']} us")
        p(f"{w['name']:<16} {w['n']:>8} {fmt_us(w['p50_us']):>9} {fmt_us(w['p99_us']):>9} "
          f"{fmt_us(w['p99.9_us']):>9} {fmt_us(w['max_us']):>9} "
          f"{fmt_us(w.get('longest_loop_turn_us')):>9}  {extra}")
        d = w.get("during")
        if d:
            p(f"{'  while writing':<16} {d['n']:>8} {fmt_us(d['p50_us']):>9} "
              f"{fmt_us(d['p99_us']):>9} {fmt_us(d['p99.9_us']):>9} {fmt_us(d['max_us']):>9}")
    p(f"SIGTERM -> exit: {res['stop_s']} s")
    for name in ("as left", "warm", "cold"):
        r = res["restart"].get(name)
        if r is None:
            continue
        if "skipped" in r:
            p(f"restart ({name}): skipped: {r['skipped']}")
            continue
        cached = r.get("cached_before")
        p(f"restart ({name}): exec -> first LOGIN {r['to_first_login_s']:.2f} s; load "
          f"{r['load_s']:.2f} s = {r['load_gb_per_s']} GB/s; RSS "
          f"{r['rss_bytes'] / (1 << 20):.0f} MiB; files in the page cache before: "
          f"{'?' if cached is None else f'{cached:.0%}'}")
        p(f"  {r['load_line']}")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--uimapd", default=default_uimapd())
    ap.add_argument("--gb", type=float, default=1.0)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--duration", type=float, default=6.0)
    ap.add_argument("--reps", type=int, default=1, help="snapshot windows (default 1)")
    ap.add_argument("--interval-ms", type=float, default=0.0,
                    help="each NOOP client sends one every this many ms (default 0: back "
                         "to back, which keeps the CPUs busy with the clients too)")
    ap.add_argument("--populate-conns", type=int, default=4)
    ap.add_argument("--data-dir")
    ap.add_argument("--tmp-root", default="/work/tmp-snapbench")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--json-out", metavar="FILE", help="also write the JSON there")
    ap.add_argument("--timeout", type=float, default=600.0,
                    help="bound for each step (populate, snapshot, load)")
    ap.add_argument("--wait-other", type=float, default=300.0,
                    help="seconds to wait for another large uimapd to end")
    args = ap.parse_args()
    args.uimapd = os.path.abspath(args.uimapd)
    if not os.access(args.uimapd, os.X_OK):
        die(f"no uimapd binary at {args.uimapd}")

    reuse = args.data_dir is not None
    if not reuse:
        check_memory(args.gb)
    wait_for_big_uimapd(args.gb, args.wait_other)
    root = args.tmp_root
    try:
        os.makedirs(root, exist_ok=True)
    except OSError:
        root = None
    tmp = tempfile.mkdtemp(prefix="uimap-snap.", dir=root)
    data = os.path.abspath(args.data_dir) if reuse else os.path.join(tmp, "data")
    if not reuse:
        os.mkdir(data)
    res = {"uimapd": args.uimapd, "gb": args.gb, "clients": args.clients,
           "duration_s": args.duration, "data_dir": data, "windows": [], "restart": {}}
    srv = None
    try:
        srv = Server(args.uimapd, tmp, data)
        srv.wait_listening(args.timeout)
        if not reuse:
            n, secs = populate(srv, args.gb, args.populate_conns,
                               time.monotonic() + args.timeout)
            res["populate_s"] = round(secs, 1)
        c = Conn(srv.port)
        c.cmd("l", "LOGIN u p")
        m = [l for l in c.cmd("s", "STATUS INBOX (MESSAGES)") if b"MESSAGES" in l]
        res["messages"] = int(re.search(rb"MESSAGES (\d+)", m[0]).group(1)) if m else None
        c.cmd("z", "LOGOUT")
        res["rss_bytes"] = srv.status("VmRSS")
        res["rss_peak_bytes"] = srv.status("VmHWM")
        res["windows"].append(dict(name="no snapshot", **noop_window(
            srv, args.clients, args.duration, False, args.timeout,
            args.interval_ms / 1000)))
        for i in range(args.reps):
            res["windows"].append(dict(name=f"snapshot {i + 1}", **noop_window(
                srv, args.clients, args.duration, True, args.timeout,
                args.interval_ms / 1000)))
        res["data_dir_bytes"] = dir_bytes(data)
        port = srv.port
        stop_s = srv.stop(args.timeout)
        res["stop_s"] = None if stop_s is None else round(stop_s, 3)
        srv = None
        # "as left": the page cache as the snapshots left it (the writer drops what it
        # wrote when memory is short); "warm": every file read first; "cold": dropped
        for name, cold, preread in (("as left", False, False), ("warm", False, True),
                                    ("cold", True, False)):
            if cold and os.geteuid() != 0:
                res["restart"][name] = {"skipped": "not root (cannot drop caches)"}
                continue
            r = restart(args, tmp, data, port, cold, preread)
            if isinstance(r, tuple):
                r, srv = r
                srv.stop(args.timeout)
                srv = None
            res["restart"][name] = r
    finally:
        if srv is not None:
            srv.stop(30)
        if not reuse and not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        elif not reuse:
            print(f"kept {data}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(res, f, indent=1)
    if args.json:
        print(json.dumps(res, indent=1))
    else:
        report(res)


if __name__ == "__main__":
    main()
