#!/usr/bin/env python3
"""A TCP proxy that injects protocol bugs into a server's responses, to show that
imapstress.py catches them (tests/protocol/test_stress.py runs it).

    python3 tests/stress/mutproxy.py --target-port 1430 --modes uid,flags,exists,body,expunge,garble
    -> prints "mutproxy listening on port N", proxies 127.0.0.1:N -> 127.0.0.1:1430

Modes and the rule of imapstress that each should trip:
  uid      "UID k" in a FETCH becomes "UID k+1"            uid-changed / uid-order / ...
  flags    \\Seen is dropped from FETCH FLAGS               flags-lost / store-result
  exists   "* n EXISTS" (n > 2) becomes "* n-2 EXISTS"      exists-shrink
  body     one byte of a BODY[] literal changes            content-mismatch
  expunge  "* 1 EXPUNGE" is inserted before a FETCH's OK   expunge-forbidden
  garble   an untagged line gets a stray ")"              parse
  modseq   "MODSEQ (n)" in a FETCH becomes "MODSEQ (n-1)"   modseq-decreased / modseq-flags
  vanished "* VANISHED uids" gets a UID nobody has           vanished
Stdlib only; runs until killed.
"""

import argparse
import asyncio
import random
import re


class Mutator:
    def __init__(self, modes, rng, rate):
        self.modes = set(modes)
        self.rng = rng
        self.rate = rate
        self.fetch_tags = set()          # tags of FETCH commands (sequence numbers) seen

    def hit(self, mode, scale=1.0):
        return mode in self.modes and self.rng.random() < self.rate * scale

    def client_line(self, line):
        m = re.match(rb"^(\S+) FETCH ", line, re.I)
        if m:
            self.fetch_tags.add(m.group(1))

    def mutate(self, raw):
        """raw: one response without CRLF, literals inline. Returns the bytes to send
        (CRLF-terminated, maybe several responses)."""
        pre = b""
        if raw.startswith(b"* ") and b" FETCH (" in raw[:20]:
            if self.hit("uid"):
                raw = re.sub(rb"\bUID ([0-9]+)", lambda m: b"UID %d" % (int(m.group(1)) + 1),
                             raw, count=1)
            if self.hit("flags", 3) and re.search(rb"FLAGS \([^)]*\\Seen", raw):
                raw = re.sub(rb"(FLAGS \([^)]*?) ?\\Seen ?", rb"\1 ", raw, count=1)
                raw = raw.replace(b"( ", b"(").replace(b" )", b")")
            if self.hit("modseq", 2):
                raw = re.sub(rb"MODSEQ \(([0-9]+)\)",
                             lambda m: b"MODSEQ (%d)" % max(1, int(m.group(1)) - 1), raw, count=1)
            if self.hit("body", 5):
                m = re.search(rb"BODY\[\] \{([0-9]+)\}\r\n", raw)
                if m and int(m.group(1)) > 10:
                    i = m.end() + 5
                    raw = raw[:i] + (b"X" if raw[i:i + 1] != b"X" else b"Y") + raw[i + 1:]
        elif raw.startswith(b"* VANISHED ") and not raw.startswith(b"* VANISHED (") and \
                self.hit("vanished", 10):
            raw += b",4000000000"
        elif raw.startswith(b"* STATUS ") and self.hit("notify", 5):
            # a mailbox-name event that never happened (no mailbox changes name)
            pre = b'* LIST () "/" Ghost\r\n'
        elif raw.startswith(b"* ") and raw.endswith(b" EXISTS") and self.hit("exists", 5):
            n = int(raw.split()[1])
            if n > 2:       # usually one more than the client knew: now one less
                raw = b"* %d EXISTS" % (n - 2)
        elif not raw.startswith(b"*") and not raw.startswith(b"+"):
            tag = raw.split(b" ", 1)[0]
            if tag in self.fetch_tags:
                self.fetch_tags.discard(tag)
                if raw.split(b" ")[1:2] == [b"OK"] and self.hit("expunge", 2):
                    pre = b"* 1 EXPUNGE\r\n"
        if raw.startswith(b"* ") and b"{" not in raw and self.hit("garble", 0.1):
            raw += b" )"
        return pre + raw + b"\r\n"


async def read_response(reader):
    parts = []
    while True:
        line = await reader.readline()
        if not line:
            return None
        parts.append(line)
        m = re.search(rb"\{([0-9]+)\}\r\n$", line)
        if not m:
            return b"".join(parts)[:-2]
        parts.append(await reader.readexactly(int(m.group(1))))


async def handle(creader, cwriter, args, mut):
    try:
        sreader, swriter = await asyncio.open_connection(args.target_host, args.target_port)
    except OSError:
        cwriter.close()
        return

    async def up():
        try:
            while True:
                line = await creader.readline()
                if not line:
                    break
                mut.client_line(line)
                swriter.write(line)
                await swriter.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        swriter.close()

    async def down():
        try:
            while True:
                raw = await read_response(sreader)
                if raw is None:
                    break
                cwriter.write(mut.mutate(raw))
                await cwriter.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        cwriter.close()

    await asyncio.gather(up(), down())


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target-host", default="127.0.0.1")
    ap.add_argument("--target-port", type=int, required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--modes", default="uid,flags,exists,body,expunge,garble")
    # also: modseq, vanished, notify (a LIST no mailbox change caused, before a STATUS)
    ap.add_argument("--rate", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    modes = args.modes.split(",")

    async def on_conn(r, w):
        await handle(r, w, args, Mutator(modes, rng, args.rate))

    srv = await asyncio.start_server(on_conn, "127.0.0.1", args.port)
    print(f"mutproxy listening on port {srv.sockets[0].getsockname()[1]}", flush=True)
    async with srv:
        await srv.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
