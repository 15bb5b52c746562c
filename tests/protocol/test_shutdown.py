"""SIGTERM / SIGINT: BYE to every client, exit 0 within seconds, port free at once."""

import signal
import socket
import subprocess
import threading
import time
import unittest

from harness import UimapTestCase, sha512_crypt


class Shutdown(UimapTestCase):
    HARD_TIMEOUT = 90

    def stop_with(self, srv, sig=signal.SIGTERM, within=5.0):
        t0 = time.monotonic()
        srv.signal(sig)
        try:
            rc = srv.wait(timeout=within + 5)
        except subprocess.TimeoutExpired:
            self.fail(f"server still running {within + 5}s after {sig.name}; stderr:\n"
                      + srv.stderr()[-2000:])
        elapsed = time.monotonic() - t0
        self.assertEqual(rc, 0, srv.stderr()[-2000:])
        self.assertLess(elapsed, within, f"exit took {elapsed:.2f}s")
        return elapsed

    def test_sigterm_with_clients(self):
        srv = self.start_server()
        port = srv.port
        logged_in = self.connect(srv)
        logged_in.login()
        mid_literal = self.connect(srv)
        mid_literal.send("b LOGIN {5}\r\n")
        self.assertTrue(mid_literal.readline().startswith("+"))
        mid_literal.send("al")
        fresh = self.connect(srv)
        time.sleep(0.1)

        self.stop_with(srv, signal.SIGTERM)
        for name, c in (("logged in", logged_in), ("mid-literal", mid_literal),
                        ("not logged in", fresh)):
            lines = self.assertClosed(c, timeout=2)
            self.assertTrue([l for l in lines if l.startswith("* BYE")],
                            f"{name} client got no BYE: {lines}")
        self.assertIsNotNone(srv.wait_log(r"shutting down"), srv.stderr())
        self.assertIsNotNone(srv.wait_log(r"stopped"), srv.stderr())

        # the port can be bound again at once (as any server would: SO_REUSEADDR)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            s.listen(1)
        finally:
            s.close()
        # and uimapd itself can restart on that exact port
        srv2 = self.start_server(listen=f"127.0.0.1:{port}")
        self.assertEqual(srv2.port, port)
        c = self.connect(srv2)
        c.login()

    def test_sigint(self):
        srv = self.start_server()
        c = self.connect(srv)
        c.login()
        self.stop_with(srv, signal.SIGINT)
        lines = self.assertClosed(c, timeout=2)
        self.assertTrue(lines and lines[0].startswith("* BYE"), lines)

    def test_sigterm_idle_server(self):
        srv = self.start_server()
        self.stop_with(srv, within=3)

    def test_listener_closed_at_once(self):
        srv = self.start_server()
        c = self.connect(srv)
        c.login()
        port = srv.port
        srv.signal(signal.SIGTERM)
        srv.wait(timeout=10)
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()

    def test_sigterm_during_login_delay(self):
        srv = self.start_server("--login-delay-max", "5000", login_delay=5000)
        c = self.connect(srv)
        c.send("a LOGIN alice wrong\r\n")
        time.sleep(0.2)
        self.stop_with(srv, within=5)
        lines = self.assertClosed(c, timeout=2)
        self.assertTrue([l for l in lines if l.startswith("* BYE")], lines)

    def test_sigterm_during_password_hashing(self):
        h = sha512_crypt("slowpass", rounds=3000000)
        if h is None:
            self.skipTest("cannot make a $6$ hash with rounds")
        srv = self.start_server(users={"slow": h})
        clients = [self.connect(srv) for _ in range(3)]
        for i, c in enumerate(clients):
            c.send(f"a{i} LOGIN slow slowpass\r\n")
        time.sleep(0.2)
        # the hashes under way finish; the process must still exit in good time
        self.stop_with(srv, within=8)
        for c in clients:
            lines = self.assertClosed(c, timeout=2)
            self.assertTrue([l for l in lines if l.startswith("* BYE")], lines)

    def test_sigterm_with_client_not_reading(self):
        # a client that never reads: its output cannot be flushed; the server gives up
        # on it after a bounded time instead of waiting forever
        srv = self.start_server("--unauth-commands", "0")
        c = self.connect(srv)
        stop = threading.Event()

        def flood():
            data = b"a CAPABILITY\r\n" * 2000
            try:
                while not stop.is_set():
                    c.sock.settimeout(0.5)
                    c.sock.send(data)
            except OSError:
                pass

        t = threading.Thread(target=flood, daemon=True)
        t.start()
        time.sleep(1.0)     # output and input queues fill up
        other = self.connect(srv)
        _, tagged = other.command("b", "NOOP")
        self.assertTagged(tagged, "b", "OK")
        try:
            self.stop_with(srv, within=12)
        finally:
            stop.set()
            t.join(5)

    def test_other_signals_ignored(self):
        srv = self.start_server()
        c = self.connect(srv)
        c.login()
        for sig in (signal.SIGHUP, signal.SIGUSR1, signal.SIGPIPE):
            srv.signal(sig)
            time.sleep(0.1)
            self.assertTrue(srv.alive(), f"server died of {sig.name}")
            _, tagged = c.command("n", "NOOP")
            self.assertTagged(tagged, "n", "OK")

    def test_connection_during_shutdown_refused_or_bye(self):
        srv = self.start_server("--login-delay-max", "3000", login_delay=3000)
        c = self.connect(srv)
        c.send("a LOGIN alice wrong\r\n")
        time.sleep(0.1)
        port = srv.port
        srv.signal(signal.SIGTERM)
        time.sleep(0.2)
        try:
            late = socket.create_connection(("127.0.0.1", port), timeout=2)
        except OSError:
            late = None
        if late is not None:
            late.settimeout(3)
            data = b""
            try:
                while True:
                    chunk = late.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            except (socket.timeout, ConnectionResetError):
                pass
            late.close()
            self.assertFalse(data.startswith(b"* OK"), data)
        self.assertEqual(srv.wait(timeout=10), 0)


if __name__ == "__main__":
    unittest.main()
