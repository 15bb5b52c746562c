#!/usr/bin/env python3
"""What COMPRESS=DEFLATE (RFC 4978) costs (issue 12): FETCH of 1 MiB messages with and
without COMPRESS in the same run (MiB/s of message bytes seen by one client, and the
server's CPU per MiB from /proc), and the memory of a compressed idle connection (the
server's RSS over N connections that enabled COMPRESS against N that did not). A
benchmark, not a test.

    perf/compress.py [--uimapd BIN] [-n FETCHES] [--conns N]
"""
import argparse, base64, os, random, sys, tempfile, threading, time, zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imapclient import Conn, default_uimapd, start_uimapd  # noqa: E402

MIB = 1 << 20
LIMITS = ("--max-connections-per-ip", "0", "--max-unauth-connections-per-ip", "0",
          "--max-connections-per-user", "0")


class ZSock:
    """A socket seen through raw deflate: sends deflated (sync-flushed), reads inflated."""

    def __init__(self, sock):
        self.sock = sock
        self.zin = zlib.decompressobj(-15)
        self.zout = zlib.compressobj(6, zlib.DEFLATED, -15)
        self.wire = 0

    def sendall(self, data):
        self.sock.sendall(self.zout.compress(data) + self.zout.flush(zlib.Z_SYNC_FLUSH))

    def recv(self, n):
        while True:
            d = self.sock.recv(n)
            if not d:
                return d
            self.wire += len(d)
            out = self.zin.decompress(d)
            if out:
                return out

    def close(self):
        self.sock.close()


def compress(c):
    c.cmd("z", "COMPRESS DEFLATE")
    assert c.pos == len(c.buf), "bytes after the COMPRESS OK"
    c.s = ZSock(c.s)


def message(kind, i):
    rnd = random.Random(i)
    head = f"From: a@example.org\r\nSubject: {kind} {i}\r\n\r\n".encode()
    if kind == "attachment":   # base64 of random bytes: what a binary attachment is
        b64 = base64.b64encode(rnd.randbytes(MIB))
        body = b"\r\n".join(b64[k:k + 76] for k in range(0, len(b64), 76))
    else:                       # text: lines of words
        words = [w.encode() for w in ("the server sends mail to a client over imap and "
                 "compression makes text smaller when the link is slow").split()]
        lines, size = [], 0
        while size < MIB:
            ln = b" ".join(rnd.choice(words) for _ in range(12)) + b"\r\n"
            lines.append(ln)
            size += len(ln)
        body = b"".join(lines)
    return head + body[:MIB - len(head)]


def literal_read(c, n):
    while len(c.buf) - c.pos < n:
        d = c.s.recv(1 << 20)
        if not d:
            raise EOFError
        c.buf = c.buf[c.pos:] + d
        c.pos = 0
    out = c.buf[c.pos:c.pos + n]
    c.pos += n
    return out


def fetch_run(c, n, count):
    """n FETCH BODY.PEEK[] of messages 1..count: (seconds, message bytes)."""
    total = 0
    t0 = time.perf_counter()
    for k in range(n):
        c.s.sendall(f"f{k} FETCH {k % count + 1} BODY.PEEK[]\r\n".encode())
        while True:
            ln = c.line()
            if ln.startswith(b"* ") and ln.endswith(b"}"):
                size = int(ln[ln.rindex(b"{") + 1:-1])
                total += len(literal_read(c, size))
            elif ln.startswith(f"f{k} ".encode()):
                break
    return time.perf_counter() - t0, total


def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])


def start(binary, tmp):
    """uimapd without connection limits; its log is drained (a full stderr pipe would
    stop it)."""
    srv, port = start_uimapd(binary, tmp, *LIMITS)
    threading.Thread(target=lambda: srv.stderr.read(), daemon=True).start()
    return srv, port


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--uimapd", default=default_uimapd())
    ap.add_argument("-n", type=int, default=200, help="FETCHes per run (200)")
    ap.add_argument("--conns", type=int, default=1000, help="idle connections (1000)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        srv, port = start(args.uimapd, tmp)
        try:
            setup = Conn(port)
            setup.cmd("l", "LOGIN u p")
            for kind in ("attachment", "text"):
                setup.cmd("c", f"CREATE {kind}")
                for i in range(4):
                    m = message(kind, i)
                    setup.s.sendall(f"a APPEND {kind} {{{len(m)}+}}\r\n".encode() + m + b"\r\n")
                    setup.cmd("n", "NOOP")
            print(f"FETCH BODY.PEEK[] of 1 MiB messages, {args.n} per run, one client")
            for kind in ("attachment", "text"):
                for mode in ("plain", "compress", "plain", "compress"):
                    c = Conn(port)
                    c.cmd("l", "LOGIN u p")
                    if mode == "compress":
                        compress(c)
                    c.cmd("s", f"EXAMINE {kind}")
                    cpu0 = cpu_s(srv.pid)
                    secs, nbytes = fetch_run(c, args.n, 4)
                    cpu = cpu_s(srv.pid) - cpu0
                    wire = c.s.wire if mode == "compress" else nbytes
                    per_core = (nbytes / MIB) / cpu if cpu else float("inf")
                    print(f"  {kind:10} {mode:8}: {nbytes / MIB / secs:7.1f} MiB/s at the client, "
                          f"server CPU {cpu * 1000 / (nbytes / MIB):6.2f} ms/MiB "
                          f"({per_core:7.1f} MiB/s per core), "
                          f"wire {wire / nbytes * 100:5.1f}% of the bytes", flush=True)
                    c.close()
        finally:
            srv.terminate()
            srv.wait(10)
        # memory: N logged-in idle connections on a fresh server, that enabled COMPRESS
        # or not, after one command each way (inflate's window is allocated on use)
        for mode in ("plain", "compress"):
            srv, port = start(args.uimapd, tmp)
            try:
                warm = Conn(port)
                warm.cmd("l", "LOGIN u p")
                time.sleep(0.3)
                before = rss_kib(srv.pid)
                conns = []
                for i in range(args.conns):
                    c = Conn(port)
                    c.cmd("l", "LOGIN u p")
                    if mode == "compress":
                        compress(c)
                    c.cmd("n", "NOOP")
                    conns.append(c)
                time.sleep(0.3)
                after = rss_kib(srv.pid)
                print(f"  {args.conns} idle {mode:8} connections: server RSS +{after - before} KiB, "
                      f"{(after - before) / args.conns:.1f} KiB per connection", flush=True)
                for c in conns:
                    c.close()
            finally:
                srv.terminate()
                srv.wait(10)


if __name__ == "__main__":
    main()
