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


class Watchdog(UimapTestCase):
    def notify_socket(self):
        path = os.path.join(self.tmpdir, "notify.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        self.addCleanup(sock.close)
        return sock, path

    def test_pings_from_the_loop(self):
        sock, path = self.notify_socket()
        sock.settimeout(10)
        # WATCHDOG_USEC 200 ms: a ping every 100 ms
        srv = self.start_server(env=dict(os.environ, NOTIFY_SOCKET=path,
                                         WATCHDOG_USEC="200000"))
        self.assertTrue(srv.wait_log(r"systemd watchdog: a ping every 100 ms"))
        pings = 0
        while pings < 4:
            if sock.recv(4096).decode() == "WATCHDOG=1":
                pings += 1
        # a loop that does not turn does not ping: stopped, nothing arrives
        srv.signal(signal.SIGSTOP)
        try:
            time.sleep(0.15)    # a ping already in the socket's queue
            sock.settimeout(0)
            while True:
                try:
                    sock.recv(4096)
                except BlockingIOError:
                    break
            sock.settimeout(0.5)
            with self.assertRaises(socket.timeout):
                sock.recv(4096)
        finally:
            srv.signal(signal.SIGCONT)
        sock.settimeout(10)
        self.assertEqual(sock.recv(4096).decode(), "WATCHDOG=1")

    def test_not_for_another_process(self):
        sock, path = self.notify_socket()
        sock.settimeout(10)
        # WATCHDOG_PID names another process: the watchdog is not ours
        srv = self.start_server(env=dict(os.environ, NOTIFY_SOCKET=path,
                                         WATCHDOG_USEC="100000", WATCHDOG_PID="1"))
        self.assertIn("READY=1", sock.recv(4096).decode())
        sock.settimeout(0.5)
        with self.assertRaises(socket.timeout):
            sock.recv(4096)
        self.assertFalse(any("watchdog" in l for l in srv.lines()))


@unittest.skipUnless(shutil.which("systemd-socket-activate"), "systemd-socket-activate missing")
class SocketActivation(UimapTestCase):
    def test_sockets_from_systemd(self):
        import ssl
        from harness import Client, ROOT_OPTS, free_port
        tls_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tls")
        plain, tls = free_port(), free_port()
        argv = ["systemd-socket-activate", "-l", f"127.0.0.1:{plain}", "-l",
                f"127.0.0.1:{tls}", "--fdname=imap:imaps", UIMAPD] + ROOT_OPTS + [
                "--passwd", self.passwd_file(), "--login-delay", "0",
                "--cert", os.path.join(tls_dir, "cert-a.pem"),
                "--key", os.path.join(tls_dir, "key-a.pem"),
                "--listen", "127.0.0.1:1"]      # replaced by systemd's sockets
        srv = self.start_process(argv, wait_listening=False)
        deadline = time.monotonic() + 10
        while True:     # systemd-socket-activate binds, then execs on the first client
            try:
                c = Client(plain)
                break
            except OSError:
                self.assertTrue(srv.alive(), srv.stderr())
                self.assertLess(time.monotonic(), deadline, "no listener")
                time.sleep(0.05)
        self.addCleanup(c.close)
        greeting = c.readline()
        self.assertTrue(greeting.startswith("* OK"), greeting)
        self.assertIn("STARTTLS", greeting)
        self.assertIn("LOGINDISABLED", greeting)     # plain socket: no plaintext login
        self.assertTrue(srv.wait_log(rf"listening on 127\.0\.0\.1:{plain} \(systemd\) port"))
        self.assertTrue(srv.wait_log(rf"listening on 127\.0\.0\.1:{tls} \(systemd, tls\) port"))
        self.assertFalse(any("127.0.0.1:1 " in l for l in srv.lines()))
        ctx = ssl._create_unverified_context()
        with ctx.wrap_socket(socket.create_connection(("127.0.0.1", tls), timeout=5)) as t:
            t.settimeout(5)
            self.assertTrue(t.recv(4096).startswith(b"* OK"))
            t.sendall(b"L LOGIN alice secret\r\n")
            buf = b""
            while b"L OK" not in buf and b"L NO" not in buf:
                chunk = t.recv(4096)
                self.assertTrue(chunk, buf)
                buf += chunk
            self.assertIn(b"L OK", buf)

    def test_tls_socket_without_certificate_refused(self):
        from harness import ROOT_OPTS, free_port
        import subprocess as sp
        port = free_port()
        p = sp.Popen(["systemd-socket-activate", "-l", f"127.0.0.1:{port}", "--fdname=imaps",
                      UIMAPD] + ROOT_OPTS, stdin=sp.DEVNULL, stdout=sp.DEVNULL, stderr=sp.PIPE,
                     text=True)
        self.addCleanup(p.kill)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=5).close()
                break
            except OSError:
                # gone before anyone connected: it could not bind (say why)
                self.assertIsNone(p.poll(), p.stderr.read() if p.poll() is not None else "")
                self.assertLess(time.monotonic(), deadline, "no listener")
                time.sleep(0.05)
        _, err = p.communicate(timeout=10)
        self.assertEqual(p.returncode, 1, err)
        self.assertIn("TLS socket was passed without --cert", err)

    @unittest.skipUnless(shutil.which("systemd-analyze"), "systemd-analyze not installed")
    def test_socket_units_verify(self):
        with open(os.path.join(REPO_ROOT, "dist", "uimapd.service")) as f:
            unit = f.read().replace("/usr/sbin/uimapd", UIMAPD)
        with open(os.path.join(self.tmpdir, "uimapd.service"), "w") as f:
            f.write(unit)
        paths = []
        for name in ("uimapd.socket", "uimapd-tls.socket"):
            shutil.copy(os.path.join(REPO_ROOT, "dist", name), self.tmpdir)
            paths.append(os.path.join(self.tmpdir, name))
        p = subprocess.run(["systemd-analyze", "verify", "--man=no"] + paths,
                           capture_output=True, text=True, timeout=60, cwd=self.tmpdir)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual((p.stdout + p.stderr).strip(), "", "systemd-analyze complained")


class Hardening(UimapTestCase):
    @unittest.skipUnless(shutil.which("systemd-analyze"), "systemd-analyze not installed")
    def test_exposure_score(self):
        """systemd's own audit of the unit (offline: no running systemd needed): the
        hardening keeps the exposure at or below 5.0 ("OK"; an unhardened service is
        9.6, the unit before hardening 8.9)."""
        with open(os.path.join(REPO_ROOT, "dist", "uimapd.service")) as f:
            unit = f.read().replace("/usr/sbin/uimapd", UIMAPD)
        path = os.path.join(self.tmpdir, "uimapd.service")
        with open(path, "w") as f:
            f.write(unit)
        p = subprocess.run(["systemd-analyze", "security", "--offline=yes", path],
                           capture_output=True, text=True, timeout=60)
        import re
        m = re.search(r"Overall exposure level for uimapd\.service: (\d+\.\d)", p.stdout)
        self.assertIsNotNone(m, p.stdout[-500:] + p.stderr)
        self.assertLessEqual(float(m.group(1)), 5.0, p.stdout)
        for key in ("ProtectSystem=strict", "NoNewPrivileges=yes", "CapabilityBoundingSet="):
            self.assertIn(key, unit)
