#!/usr/bin/env python3
"""SORT and THREAD on a large mailbox (issue 12): N messages with subjects from a few
thousand topics (with Re:/Fwd: prefixes), senders from a few hundred, dates spread over a
year and References chains, appended to uimapd and, with --dovecot, to a private Dovecot
(Debian's dovecot-imapd) in the same run. Reported per command: the first run (which
builds each server's sort data) and the median of --rounds later runs, in ms, and the
ratio Dovecot / uimapd. A benchmark, not a test: loopback, one client.

    perf/sort.py [--uimapd BIN] [-n 100000] [--rounds 5] [--dovecot]
"""
import argparse
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imapclient import Conn, default_uimapd, start_uimapd  # noqa: E402

COMMANDS = ["SORT (SUBJECT) UTF-8 ALL", "SORT (DATE) UTF-8 ALL",
            "SORT (REVERSE ARRIVAL) UTF-8 ALL", "THREAD REFERENCES UTF-8 ALL"]


def messages(n, seed=1):
    rng = random.Random(seed)
    topics = [f"topic {i} about {rng.choice(['lunch', 'release', 'budget', 'party'])}"
              for i in range(max(10, n // 25))]
    last_in_topic = {}
    start = 1672531200   # 1 Jan 2023
    for i in range(n):
        t = rng.randrange(len(topics))
        prev = last_in_topic.get(t)
        subj = topics[t] if prev is None else rng.choice(["Re: ", "RE: ", "Fwd: ", "Re: Re: "]) + topics[t]
        when = time.strftime("%a, %d %b %Y %H:%M:%S +0000",
                             time.gmtime(start + rng.randrange(365 * 86400)))
        head = [f"From: Person {rng.randrange(500)} <p{rng.randrange(500)}@example.org>",
                f"To: list@example.org", f"Subject: {subj}", f"Date: {when}",
                f"Message-ID: <m{i}@example.org>"]
        if prev is not None:
            head.append(f"References: <m{prev}@example.org>")
        last_in_topic[t] = i
        yield ("\r\n".join(head) + "\r\n\r\nbody\r\n").encode()


def populate(port, user, password, n):
    c = Conn(port)
    c.cmd("L", f"LOGIN {user} {password}")
    batch = bytearray()
    sent = done = 0
    for i, msg in enumerate(messages(n)):
        batch += b"A%d APPEND INBOX {%d+}\r\n%s\r\n" % (i, len(msg), msg)
        sent += 1
        if len(batch) > 1 << 20 or i == n - 1:
            c.s.sendall(bytes(batch))
            batch.clear()
            while done < sent - 2000 or (i == n - 1 and done < sent):
                ln = c.line()
                if ln.startswith(b"A"):
                    if b" OK" not in ln:
                        raise RuntimeError(ln)
                    done += 1
    return c


def measure(c, rounds):
    c.cmd("S", "SELECT INBOX")
    out = {}
    for text in COMMANDS:
        t0 = time.perf_counter()
        c.cmd("F", text)
        first = time.perf_counter() - t0
        times = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            c.cmd("T", text)
            times.append(time.perf_counter() - t0)
        out[text] = (first, statistics.median(times))
    return out


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def start_dovecot(tmp):
    port = free_port()
    d = os.path.join(tmp, "dovecot")
    for sub in ("run", "state", "mail", "home"):
        os.makedirs(os.path.join(d, sub))
    os.chmod(tmp, 0o755)
    os.chmod(d, 0o755)
    nobody = 65534
    for sub in ("mail", "home"):
        os.chown(os.path.join(d, sub), nobody, nobody)
    with open(os.path.join(d, "passwd"), "w") as f:
        f.write("u:{PLAIN}p\n")
    os.chmod(os.path.join(d, "passwd"), 0o644)
    conf = os.path.join(d, "dovecot.conf")
    with open(conf, "w") as f:
        f.write(f"""base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
first_valid_uid = 1
mail_location = maildir:{d}/mail/%u
mail_fsync = never
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {d}/passwd
}}
userdb {{
  driver = static
  args = uid={nobody} gid={nobody} home={d}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
}}
""")
    subprocess.run(["dovecot", "-c", conf], check=True)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            return port, conf
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("dovecot did not start")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--uimapd", default=default_uimapd())
    ap.add_argument("-n", type=int, default=100000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--dovecot", action="store_true")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="uimap-sort.")
    srv, port = start_uimapd(a.uimapd, tmp, "--max-command-messages", "0")
    dove_conf = None
    try:
        results = {}
        t0 = time.perf_counter()
        c = populate(port, "u", "p", a.n)
        print(f"uimapd: {a.n} messages appended in {time.perf_counter() - t0:.1f} s",
              flush=True)
        results["uimapd"] = measure(c, a.rounds)
        if a.dovecot:
            dport, dove_conf = start_dovecot(tmp)
            t0 = time.perf_counter()
            c = populate(dport, "u", "p", a.n)
            print(f"dovecot: {a.n} messages appended in {time.perf_counter() - t0:.1f} s",
                  flush=True)
            results["dovecot"] = measure(c, a.rounds)
        print(f"{'command':<32}{'uimapd first':>13}{'uimapd':>9}"
              + (f"{'dovecot first':>14}{'dovecot':>9}{'ratio':>7}" if a.dovecot else ""))
        for text in COMMANDS:
            uf, um = results["uimapd"][text]
            row = f"{text:<32}{uf * 1000:>12.1f}ms{um * 1000:>7.1f}ms"
            if a.dovecot:
                df, dm = results["dovecot"][text]
                row += f"{df * 1000:>12.1f}ms{dm * 1000:>7.1f}ms{dm / um:>7.1f}"
            print(row)
    finally:
        srv.terminate()
        srv.wait(10)
        if dove_conf is not None:
            subprocess.run(["doveadm", "-c", dove_conf, "stop"], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
