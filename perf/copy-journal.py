#!/usr/bin/env python3
"""Journal bytes written by COPY and MOVE (issue 15): N messages of SIZE bytes are
appended, then COPY 1:* and MOVE 1:* run; the data directory's journal growth is
reported per command. A benchmark, not a test.

    perf/copy-journal.py [--uimapd BIN] [-n N] [--size BYTES] [--label NAME]
"""
import argparse, os, re, shutil, socket, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imapclient import start_uimapd  # noqa: E402

def journal_bytes(d):
    return sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d)
               if f.startswith("journal."))

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--uimapd", default=os.path.join(os.path.dirname(__file__), "..", "build", "uimapd"))
    ap.add_argument("-n", type=int, default=10000)
    ap.add_argument("--size", type=int, default=2048)
    ap.add_argument("--label", default="uimap")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="uimap-copyj.")
    data = os.path.join(tmp, "data")
    srv, port = start_uimapd(a.uimapd, tmp, "--data-dir", data, "--snapshot-changes", "0",
                             "--snapshot-interval", "0")
    try:
        s = socket.create_connection(("127.0.0.1", port))
        f = s.makefile("rb")
        f.readline()
        def cmd(tag, text):
            s.sendall(text)
            while True:
                l = f.readline()
                if not l:
                    sys.exit("connection closed")
                if l.startswith(tag.encode() + b" "):
                    if not l.startswith(tag.encode() + b" OK"):
                        sys.exit(l.decode())
                    return
        cmd("a", b"a LOGIN u p\r\n")
        cmd("c", b"c CREATE Copies\r\n")
        cmd("d", b"d CREATE Moved\r\n")
        body = b"Subject: x\r\n\r\n" + (b"y" * 76 + b"\r\n") * (a.size // 78)
        batch = 500
        for i in range(0, a.n, batch):
            k = min(batch, a.n - i)
            msgs = b"".join(b"{%d+}\r\n" % len(body) + body + b" " for _ in range(k))
            cmd("p", b"p APPEND INBOX " + msgs[:-1] + b"\r\n")
        cmd("s", b"s SELECT INBOX\r\n")
        j0 = journal_bytes(data)
        cmd("x", b"x COPY 1:* Copies\r\n")
        j1 = journal_bytes(data)
        cmd("y", b"y MOVE 1:* Moved\r\n")
        j2 = journal_bytes(data)
        cmd("z", b"z LOGOUT\r\n")
        print("%s: %d messages of %d bytes: APPEND journal %d bytes; COPY 1:* +%d bytes "
              "(%.1f per message); MOVE 1:* +%d bytes (%.1f per message)"
              % (a.label, a.n, len(body), j0, j1 - j0, (j1 - j0) / a.n, j2 - j1, (j2 - j1) / a.n))
    finally:
        srv.terminate()
        srv.wait(30)
        shutil.rmtree(tmp)

main()
