"""systemd Type=notify: with NOTIFY_SOCKET set, uimapd sends READY=1 once its listeners
are bound, RELOADING=1 then READY=1 around a SIGHUP, STOPPING=1 at SIGTERM; without it,
nothing. The unit file in dist/ asks for Type=notify."""

import os
import signal
import socket
import time

from harness import REPO_ROOT, UimapTestCase


class Notify(UimapTestCase):
    def test_notify_sequence(self):
        path = os.path.join(self.tmpdir, "notify.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        self.addCleanup(sock.close)
        sock.settimeout(10)
        srv = self.start_server(env=dict(os.environ, NOTIFY_SOCKET=path))
        ready = sock.recv(4096).decode()
        self.assertIn("READY=1", ready)
        c = self.connect(srv)           # it serves by then
        _, t = c.command("n", "NOOP")
        self.assertTagged(t, "n", "OK")
        srv.signal(signal.SIGHUP)
        self.assertEqual(sock.recv(4096).decode(), "RELOADING=1")
        self.assertEqual(sock.recv(4096).decode(), "READY=1")
        srv.signal(signal.SIGTERM)
        self.assertEqual(sock.recv(4096).decode(), "STOPPING=1")
        self.assertEqual(srv.wait(15), 0)

    def test_unit_file(self):
        with open(os.path.join(REPO_ROOT, "dist", "uimapd.service")) as f:
            unit = f.read()
        self.assertIn("Type=notify", unit)
        self.assertIn("ExecReload=/bin/kill -HUP $MAINPID", unit)
