"""systemd Type=notify: with NOTIFY_SOCKET set, uimapd sends READY=1 once its listeners
are bound, RELOADING=1 then READY=1 around a SIGHUP, STOPPING=1 at SIGTERM; without it,
nothing. The unit file in dist/ asks for Type=notify, and `systemd-analyze verify` finds
nothing to say about it (an unknown key or a bad value would be reported)."""

import os
import shutil
import signal
import socket
import subprocess
import time
import unittest

from harness import REPO_ROOT, UIMAPD, UimapTestCase


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

    @unittest.skipUnless(shutil.which("systemd-analyze"), "systemd-analyze not installed")
    def test_systemd_analyze_verify(self):
        """The unit as installed, its ExecStart pointed at the built binary (the check wants
        an executable there) and the man page check off (it is installed by meson)."""
        with open(os.path.join(REPO_ROOT, "dist", "uimapd.service")) as f:
            unit = f.read().replace("/usr/sbin/uimapd", UIMAPD)
        path = os.path.join(self.tmpdir, "uimapd.service")
        with open(path, "w") as f:
            f.write(unit)
        p = subprocess.run(["systemd-analyze", "verify", "--man=no", path],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual((p.stdout + p.stderr).strip(), "", "systemd-analyze complained")
        # and it is not blind: a key systemd does not know is reported
        with open(path, "a") as f:
            f.write("NoSuchKey=1\n")
        p = subprocess.run(["systemd-analyze", "verify", "--man=no", path],
                           capture_output=True, text=True, timeout=60)
        self.assertIn("NoSuchKey", p.stdout + p.stderr)
