#!/usr/bin/env python3
"""Scale-out figures (issue 14): throughput and latency of uimap-bench's mixed and login
scenarios straight to uimapd and through a private Dovecot IMAP proxy (the configuration
of tests/protocol/test_scaleout.py and docs/scale-out.md) in the same run, against the
same uimapd; then what one instance holds per GiB: the RSS growth per message (populated
with --msg-size messages), per user (each logged in once, INBOX created) and per idle
logged-in, selected connection. A benchmark, not a test; needs root (Dovecot).

    perf/scaleout.py [--uimapd BIN] [--bench BIN] [--seconds S] [--conns N]
                     [--populate N] [--users N] [--idle N] [--json-out FILE]
"""
import argparse, json, os, re, shutil, signal, socket, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "protocol"))
from test_scaleout import DOVECOT_CONF  # noqa: E402  (the one proxy configuration)

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
LIMITS = ("--max-connections-per-ip", "0", "--max-unauth-connections-per-ip", "0",
          "--max-connections-per-user", "0", "--login-delay", "0")
GIB = 1 << 30


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, timeout=15):
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing listens on {port}")
            time.sleep(0.05)


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def wait_log(path, pattern, timeout=15, after=0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(path) as f:
            f.seek(after)
            m = re.search(pattern, f.read())
        if m:
            return m
        time.sleep(0.05)
    raise RuntimeError(f"{pattern!r} not logged in {path}")


def imap_login(port, user, password, select=True):
    """A logged-in (and selected) raw connection, kept open by the caller."""
    s = socket.create_connection(("127.0.0.1", port), 10)
    f = s.makefile("rb")
    f.readline()
    cmds = [f'a LOGIN {user} "{password}"'] + (["b SELECT INBOX"] if select else [])
    s.sendall("".join(c + "\r\n" for c in cmds).encode())
    for tag in ("a", "b")[:len(cmds)]:
        while True:
            line = f.readline()
            if not line:
                raise RuntimeError("connection closed during login")
            if line.startswith(tag.encode() + b" "):
                if b" OK" not in line:
                    raise RuntimeError(line.decode(errors="replace"))
                break
    return s, f


def bench(binary, port, scenario, seconds, conns, pid, label, extra=()):
    argv = [binary, "-s", scenario, "-p", str(port), "-u", "bench", "-w", "bench",
            "-c", str(conns), "-D", str(seconds), "--pid", str(pid), "--label", label,
            "-q", *extra]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 120)
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    if p.returncode != 0 or not lines:
        raise RuntimeError(f"uimap-bench {scenario} ({label}) failed: {p.stdout}{p.stderr}")
    return json.loads(lines[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    rel = os.path.join(REPO, "build-rel", "uimapd")
    ap.add_argument("--uimapd", default=rel if os.path.exists(rel)
                    else os.path.join(REPO, "build", "uimapd"))
    ap.add_argument("--bench")
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--conns", type=int, default=16)
    ap.add_argument("--populate", type=int, default=2000)
    ap.add_argument("--msg-size", type=int, default=2048)
    ap.add_argument("--users", type=int, default=1000)
    ap.add_argument("--idle", type=int, default=500)
    ap.add_argument("--json-out")
    a = ap.parse_args()
    bench_bin = a.bench or os.path.join(os.path.dirname(a.uimapd), "perf", "uimap-bench")
    if os.geteuid() != 0:
        sys.exit("perf/scaleout.py: the private Dovecot needs root")
    tmp = tempfile.mkdtemp(prefix="uimap-scaleout-")
    os.chmod(tmp, 0o755)
    procs = []
    ddir = os.path.join(tmp, "dovecot")
    try:
        users = [f"s{i}" for i in range(1, a.users + 1)]
        pw = os.path.join(tmp, "passwd")
        with open(pw, "w") as f:
            f.write("bench:{PLAIN}bench\n" + "".join(f"{u}:{{PLAIN}}pw\n" for u in users))
        log = os.path.join(tmp, "uimapd.log")
        root = ["--allow-root"] if os.geteuid() == 0 else []
        with open(log, "w") as lf:
            srv = subprocess.Popen([a.uimapd, "--listen", "127.0.0.1:0", "--passwd", pw,
                                    "--allow-plaintext-auth", "--data-dir",
                                    os.path.join(tmp, "data"), "--trusted-proxy",
                                    "127.0.0.0/8", *root, *LIMITS],
                                   stdin=subprocess.DEVNULL, stderr=lf)
        procs.append(srv)
        # the listening line is logged at info: find the port from the socket table
        port = None
        deadline = time.monotonic() + 10
        while port is None and time.monotonic() < deadline:
            out = subprocess.run(["ss", "-Hltnp"], capture_output=True, text=True).stdout
            for line in out.splitlines():
                if f"pid={srv.pid}," in line:
                    port = int(line.split()[3].rsplit(":", 1)[1])
            time.sleep(0.05)
        if port is None:
            raise RuntimeError("uimapd did not start: " + open(log).read())
        # the proxy
        for d in ("run", "state"):
            os.makedirs(os.path.join(ddir, d))
        os.chmod(ddir, 0o755)
        pport, hport = free_port(), free_port()
        with open(os.path.join(ddir, "proxy.passwd"), "w") as f:
            for u, p in [("bench", "bench")] + [(u, "pw") for u in users]:
                f.write(f"{u}:{{PLAIN}}{p}::::::proxy=y host=127.0.0.1 port={port}\n")
        os.chmod(os.path.join(ddir, "proxy.passwd"), 0o644)
        conf = os.path.join(ddir, "dovecot.conf")
        with open(conf, "w") as f:
            f.write(DOVECOT_CONF.format(dir=ddir, port=pport, haproxy_port=hport))
        subprocess.run([DOVECOT, "-c", conf], check=True, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL)
        wait_port(pport)

        r0 = rss_kb(srv.pid)
        subprocess.run([bench_bin, "-s", "populate", "-p", str(port), "-u", "bench", "-w",
                        "bench", "--populate", str(a.populate), "--msg-size",
                        str(a.msg_size), "-q"], check=True, capture_output=True, timeout=600)
        r1 = rss_kb(srv.pid)

        results = []
        for scen in ("mixed", "login"):
            for label, p in (("direct", port), ("proxy", pport)):
                extra = ("--sources", "-1") if scen == "login" else ()
                results.append(bench(bench_bin, p, scen, a.seconds, a.conns, srv.pid,
                                     label, extra))

        # memory: users (each logged in once: INBOX exists), then idle connections
        r2 = rss_kb(srv.pid)
        for u in users:
            s, _ = imap_login(port, u, "pw", select=False)
            s.sendall(b"z LOGOUT\r\n")
            s.close()
        time.sleep(0.5)
        r3 = rss_kb(srv.pid)
        idle = [imap_login(port, "bench", "bench") for _ in range(a.idle)]
        time.sleep(0.5)
        r4 = rss_kb(srv.pid)
        for s, _ in idle:
            s.close()
        size = os.path.getsize(log)
        srv.send_signal(signal.SIGUSR2)
        time.sleep(0.3)
        with open(log) as f:
            f.seek(size)
            st = f.read()
        m = re.search(r"\((\d+) per message\)", st)
        meta = int(m.group(1)) if m else None
    finally:
        pidf = os.path.join(ddir, "run", "master.pid")
        if os.path.exists(pidf):
            try:
                os.kill(int(open(pidf).read()), signal.SIGTERM)
            except (ProcessLookupError, ValueError):
                pass
        for p in procs:
            p.terminate()
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        time.sleep(0.5)
        shutil.rmtree(tmp, True)

    print(f"uimapd: {a.uimapd}; {a.conns} connections, {a.seconds:g} s per run; "
          f"{a.populate} messages of {a.msg_size} B in INBOX")
    print("| scenario | path | ops/s | p50 ms | p99 ms | uimapd CPU us/op | errors |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        prim = r["commands"].get(r["primary"], {})
        print(f"| {r['scenario']} | {r['label']} | {r['ops_per_s']:.0f} | "
              f"{prim.get('p50_us', 0) / 1000:.2f} | {prim.get('p99_us', 0) / 1000:.2f} | "
              f"{r.get('server_cpu_us_per_op', 0):.1f} | {r['conn_errors'] + r['failed_conns']} |")
    per_msg = (r1 - r0) * 1024 / a.populate
    per_user = (r3 - r2) * 1024 / a.users
    per_conn = (r4 - r3) * 1024 / a.idle
    print()
    print("| what | RSS growth | per GiB |")
    print("| --- | ---: | ---: |")
    print(f"| message of {a.msg_size} B (store metadata {meta} B) | {per_msg:.0f} B | "
          f"{GIB / per_msg:,.0f} |")
    print(f"| user (logged in once, INBOX) | {per_user:.0f} B | "
          f"{GIB / per_user if per_user > 0 else 0:,.0f} |")
    print(f"| idle connection (logged in, INBOX selected) | {per_conn:.0f} B | "
          f"{GIB / per_conn if per_conn > 0 else 0:,.0f} |")
    if a.json_out:
        with open(a.json_out, "w") as f:
            json.dump({"runs": results, "bytes_per_message": per_msg, "bytes_per_user": per_user,
                       "bytes_per_idle_conn": per_conn, "metadata_per_message": meta}, f)


if __name__ == "__main__":
    main()
