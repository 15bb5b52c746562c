"""A long SEARCH gives the loop back between slices: another connection's command
is answered while the SEARCH is still running (ordering, not timing, is asserted)."""

import socket
import time

from harness import UimapTestCase


class SearchSlices(UimapTestCase):
    HARD_TIMEOUT = 180

    def fill(self, c, n):
        batch = []
        for i in range(n):
            body = (b"From: user%d@example.com\r\nSubject: message %d\r\n\r\n" % (i % 100, i) +
                    b"Hello world %d " % i + b"lorem ipsum " * 20 + b"\r\n")
            batch.append(b"A%d APPEND INBOX {%d+}\r\n" % (i, len(body)) + body + b"\r\n")
            if len(batch) == 1000 or i == n - 1:
                c.send(b"".join(batch))
                _, t = c.read_tagged("A%d" % i, timeout=60)
                self.assertTrue(t.startswith("A%d OK" % i), t)
                batch = []

    def test_other_connection_served_during_long_search(self):
        srv = self.start_server()
        a = self.connect(srv, timeout=60)
        a.login()
        self.fill(a, 60000)
        _, t = a.command("S", "SELECT INBOX", timeout=60)
        self.assertTrue(t.startswith("S OK"), t)
        b = self.connect(srv, timeout=60)
        b.login()
        # several rounds: each time the NOOP sent after the SEARCH must be answered
        # before the SEARCH's own tagged reply is sent
        served_during = 0
        for r in range(3):
            a.send(b"Q%d SEARCH TEXT \"no such text anywhere\"\r\n" % r)
            time.sleep(0.005)
            b.send(b"N%d NOOP\r\n" % r)
            _, tn = b.read_tagged("N%d" % r, timeout=60)
            self.assertTrue(tn.startswith("N%d OK" % r), tn)
            # the SEARCH must still be running: its reply has not arrived yet
            a.sock.setblocking(False)
            try:
                pending = a.sock.recv(65536, socket.MSG_PEEK)
            except BlockingIOError:
                pending = b""
            finally:
                a.sock.setblocking(True)
                a.sock.settimeout(60)
            if b"Q%d OK" % r not in pending:
                served_during += 1
            untagged, tq = a.read_tagged("Q%d" % r, timeout=60)
            self.assertTrue(tq.startswith("Q%d OK" % r), tq)
            self.assertIn("* SEARCH", untagged)
        self.assertGreaterEqual(served_during, 2,
                                "NOOPs were only answered after the SEARCH finished")
