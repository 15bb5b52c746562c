"""COMPRESS=DEFLATE (RFC 4978): raw deflate both ways after the tagged OK, over plain TCP
and under TLS, with Python's zlib as the client (wbits=-15): FETCH (1 MiB byte for byte),
APPEND literals, pipelining, IDLE pushes through the sync flush, COMPRESSIONACTIVE, BAD
for unknown mechanisms, garbage and a decompression bomb."""

import os
import re
import socket
import time
import zlib

from harness import Client, ConnectionClosed, DEFAULT_TIMEOUT, UimapTestCase, capabilities
from test_tls import TLSTestCase, make_big_message

LITERAL_RE = re.compile(r"\{(\d+)\}$")


class ZClient(Client):
    """A Client whose bytes, from now on, are raw deflate both ways. Every send is
    sync-flushed; received bytes are inflated into self.buf."""

    def start_compress(self, leftover=b""):
        self.zout = zlib.compressobj(6, zlib.DEFLATED, -15)
        self.zin = zlib.decompressobj(-15)
        self.raw_in = 0
        self.buf = self.zin.decompress(leftover) if leftover else b""

    def deflate(self, data):
        if isinstance(data, str):
            data = data.encode()
        return self.zout.compress(data) + self.zout.flush(zlib.Z_SYNC_FLUSH)

    def send(self, data):
        self.sock.sendall(self.deflate(data))

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"timed out; got so far: {self.received[-5:]!r}")
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(262144)
        except socket.timeout:
            raise TimeoutError(f"timed out; got so far: {self.received[-5:]!r}") from None
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.eof = True
            raise ConnectionClosed(f"closed; last lines: {self.received[-5:]!r}")
        self.raw_in += len(chunk)
        self.buf += self.zin.decompress(chunk)

    def read_exact(self, n, timeout=DEFAULT_TIMEOUT):
        deadline = time.monotonic() + timeout
        while len(self.buf) < n:
            self._fill(deadline)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def fetch_bodies(self, tag, timeout=DEFAULT_TIMEOUT):
        """{seq: literal bytes} of the FETCH responses up to tag's tagged line."""
        bodies = {}
        while True:
            line = self.readline(timeout)
            if line.startswith(tag + " "):
                return bodies, line
            m = LITERAL_RE.search(line)
            if m and line.startswith("* "):
                bodies[int(line.split()[1])] = self.read_exact(int(m.group(1)), timeout)
                self.readline(timeout)   # the ")" closing the FETCH


def compress(testcase, c, tag="Z"):
    """COMPRESS DEFLATE on a logged-in client: the OK is the last uncompressed line."""
    _, tagged = c.command(tag, "COMPRESS DEFLATE")
    testcase.assertTagged(tagged, tag, "OK")
    c.__class__ = ZClient if type(c) is Client else type("Z" + type(c).__name__,
                                                          (ZClient, type(c)), {})
    c.start_compress(c.buf)
    return c


class CompressMixin:
    def append(self, c, tag, msg, mailbox="INBOX"):
        c.send(f"{tag} APPEND {mailbox} {{{len(msg)}}}\r\n")
        line = c.readline()
        self.assertTrue(line.startswith("+"), line)
        c.send(msg + b"\r\n")
        _, tagged = c.read_tagged(tag)
        self.assertTagged(tagged, tag, "OK")

    def roundtrip(self, c, big=1 << 20):
        """APPEND three messages (one of big bytes) through c, FETCH them back."""
        msgs = [b"Subject: small\r\n\r\nhello\r\n", make_big_message(1, big),
                make_big_message(2, 70000)]
        for i, m in enumerate(msgs):
            self.append(c, f"A{i}", m)
        _, tagged = c.command("S", "SELECT INBOX")
        self.assertTagged(tagged, "S", "OK")
        c.send("F FETCH 1:3 BODY.PEEK[]\r\n")
        bodies, tagged = c.fetch_bodies("F", timeout=30)
        self.assertTagged(tagged, "F", "OK")
        self.assertEqual(sorted(bodies), [1, 2, 3])
        for i, m in enumerate(msgs):
            self.assertEqual(bodies[i + 1], m, f"message {i + 1} differs")


class Compress(CompressMixin, UimapTestCase):
    def login_compress(self, srv):
        c = self.connect(srv)
        c.login()
        return compress(self, c)

    def test_capability_after_login(self):
        srv = self.start_server()
        c = self.connect(srv)
        c.login()
        untagged, _ = c.command("C", "CAPABILITY")
        self.assertIn("COMPRESS=DEFLATE", capabilities(untagged[0]))

    def test_fetch_append_1mib(self):
        srv = self.start_server()
        c = self.login_compress(srv)
        self.roundtrip(c)
        # the 1 MiB base64 body compresses: the wire carried less than it decoded to
        self.assertLess(c.raw_in, 1 << 20)
        _, tagged = c.command("N", "NOOP")
        self.assertTagged(tagged, "N", "OK")

    def test_before_login_is_refused(self):
        srv = self.start_server()
        c = self.connect(srv)
        _, tagged = c.command("Z", "COMPRESS DEFLATE")
        self.assertTagged(tagged, "Z", "BAD")
        c.login()   # still plaintext

    def test_unknown_mechanism_and_arguments(self):
        srv = self.start_server()
        c = self.connect(srv)
        c.login()
        for tag, args in (("a", "FOO"), ("b", ""), ("c", "DEFLATE DEFLATE")):
            _, tagged = c.command(tag, f"COMPRESS {args}".strip())
            self.assertTagged(tagged, tag, "BAD")
        _, tagged = c.command("N", "NOOP")   # still uncompressed
        self.assertTagged(tagged, "N", "OK")

    def test_second_compress_is_compressionactive(self):
        srv = self.start_server()
        c = self.login_compress(srv)
        _, tagged = c.command("Z2", "COMPRESS DEFLATE")
        self.assertTagged(tagged, "Z2", "NO", "[COMPRESSIONACTIVE]")
        _, tagged = c.command("N", "NOOP")
        self.assertTagged(tagged, "N", "OK")

    def test_pipelined_after_compress(self):
        """Commands compressed and sent in the same write as the COMPRESS line (the
        client should wait for the OK, but the server must take them as compressed)."""
        srv = self.start_server()
        c = self.connect(srv)
        c.login()
        zout = zlib.compressobj(6, zlib.DEFLATED, -15)
        tail = zout.compress(b"p1 NOOP\r\np2 SELECT INBOX\r\np3 NOOP\r\n")
        tail += zout.flush(zlib.Z_SYNC_FLUSH)
        c.sock.sendall(b"Z COMPRESS DEFLATE\r\n" + tail)
        _, tagged = c.read_tagged("Z")
        self.assertTagged(tagged, "Z", "OK")
        c.__class__ = ZClient
        c.start_compress(c.buf)
        c.zout = zout
        for tag in ("p1", "p2", "p3"):
            _, tagged = c.read_tagged(tag)
            self.assertTagged(tagged, tag, "OK")
        # pipelined compressed commands, one write
        c.send("q1 NOOP\r\nq2 STATUS INBOX (MESSAGES)\r\nq3 NOOP\r\n")
        for tag in ("q1", "q2", "q3"):
            _, tagged = c.read_tagged(tag)
            self.assertTagged(tagged, tag, "OK")

    def test_bytewise_compressed_input(self):
        srv = self.start_server()
        c = self.login_compress(srv)
        data = c.deflate("b1 LIST \"\" *\r\n")
        for i in range(len(data)):
            c.sock.sendall(data[i:i + 1])
        _, tagged = c.read_tagged("b1")
        self.assertTagged(tagged, "b1", "OK")

    def test_idle_push_is_flushed(self):
        srv = self.start_server()
        c = self.login_compress(srv)
        _, tagged = c.command("S", "SELECT INBOX")
        self.assertTagged(tagged, "S", "OK")
        c.send("I IDLE\r\n")
        self.assertTrue(c.readline().startswith("+"))
        other = self.connect(srv)
        other.login()
        t0 = time.monotonic()
        msg = b"Subject: x\r\n\r\ny\r\n"
        other.send(f"A APPEND INBOX {{{len(msg)}+}}\r\n".encode() + msg + b"\r\n")
        _, tagged = other.read_tagged("A")
        self.assertTagged(tagged, "A", "OK")
        line = c.readline(timeout=3)
        self.assertEqual(line, "* 1 EXISTS")
        self.assertLess(time.monotonic() - t0, 2.0)
        c.send("DONE\r\n")
        _, tagged = c.read_tagged("I")
        self.assertTagged(tagged, "I", "OK")

    def test_garbage_is_disconnected(self):
        srv = self.start_server()
        c = self.login_compress(srv)
        c.sock.sendall(b"\xff" * 64 + os.urandom(256))
        try:
            c.read_until_eof(timeout=5)
        except (ConnectionClosed, zlib.error):
            pass
        self.assertTrue(c.eof or True)
        srv.wait_log(r"COMPRESS: invalid compressed input", timeout=5)
        # the server goes on serving others
        d = self.login_compress(srv)
        _, tagged = d.command("N", "NOOP")
        self.assertTagged(tagged, "N", "OK")

    def test_stream_end_then_more_is_disconnected(self):
        srv = self.start_server()
        c = self.login_compress(srv)
        c.sock.sendall(c.zout.compress(b"x NOOP\r\n") + c.zout.flush(zlib.Z_FINISH) +
                       b"more")
        try:
            c.read_until_eof(timeout=5)
        except (ConnectionClosed, zlib.error):
            pass
        d = self.login_compress(srv)
        _, tagged = d.command("N", "NOOP")
        self.assertTagged(tagged, "N", "OK")

    def test_decompression_bomb(self):
        """100 MB of zeros (about 100 KB compressed) on one line: the line limit
        refuses it (BAD once the line ends) and the server's memory does not grow
        with it; the connection goes on."""
        srv = self.start_server()
        c = self.login_compress(srv)
        rss0 = srv.rss_kb()
        zout = c.zout
        chunk = bytes(1 << 20)
        wire = 0
        for _ in range(100):
            data = zout.compress(chunk)
            wire += len(data)
            c.sock.sendall(data)
        c.send("\r\nN NOOP\r\n")
        untagged, tagged = c.read_tagged("N", timeout=30)
        self.assertTagged(tagged, "N", "OK")
        self.assertTrue(any("BAD" in line and "too long" in line for line in untagged),
                        untagged)
        self.assertLess(wire, 200000)
        rss1 = srv.rss_kb()
        self.assertLess(rss1 - rss0, 8 * 1024, f"RSS grew {rss0} -> {rss1} KiB")

    def test_big_literal_paused_input(self):
        """An APPEND of 3 MiB compressing to a few KiB: inflating it must pause with
        the session's input (bounded steps) and resume without losing bytes."""
        srv = self.start_server()
        c = self.login_compress(srv)
        body = b"Subject: zeros\r\n\r\n" + (b"a" * 78 + b"\r\n") * (3 * 1024 * 1024 // 80)
        c.send(f"A APPEND INBOX {{{len(body)}+}}\r\n".encode() + body + b"\r\nN NOOP\r\n")
        _, tagged = c.read_tagged("A", timeout=30)
        self.assertTagged(tagged, "A", "OK")
        _, tagged = c.read_tagged("N")
        self.assertTagged(tagged, "N", "OK")
        _, tagged = c.command("S", "SELECT INBOX")
        c.send("F FETCH 1 BODY.PEEK[]\r\n")
        bodies, tagged = c.fetch_bodies("F", timeout=30)
        self.assertEqual(bodies[1], body)

    def test_logout_bye_is_compressed(self):
        srv = self.start_server()
        c = self.login_compress(srv)
        c.send("L LOGOUT\r\n")
        lines = self.assertClosed(c)
        self.assertTrue(any(line.startswith("* BYE") for line in lines), lines)
        self.assertTrue(any(line.startswith("L OK") for line in lines), lines)


class CompressTLS(CompressMixin, TLSTestCase):
    def test_implicit_tls_then_compress(self):
        srv = self.start_tls_server()
        c = self.tls_connect(srv)
        c.login()
        compress(self, c)
        self.roundtrip(c)
        c.send("L LOGOUT\r\n")
        lines = self.assertClosed(c)
        self.assertTrue(any(line.startswith("L OK") for line in lines), lines)

    def test_starttls_then_compress(self):
        from test_tls import starttls
        srv = self.start_tls_server()
        c = self.plain_connect(srv)
        starttls(self, c)
        c.login()
        compress(self, c)
        self.roundtrip(c, big=300000)
