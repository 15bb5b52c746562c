"""--pid-file (the seed's Net::Server pid_file): written once the listeners are bound,
removed at exit, a second instance with the same file refused (the first keeps
serving), a stale file from a crash taken over."""

import os
import signal

from harness import UimapTestCase, run_uimapd, uimapd_argv


class PidFile(UimapTestCase):
    def read(self, path):
        with open(path) as f:
            return f.read()

    def test_written_refused_removed(self):
        path = os.path.join(self.tmpdir, "uimapd.pid")
        srv = self.start_server("--pid-file", path)
        self.assertEqual(self.read(path), f"{srv.pid}\n")
        # a second instance (another port) is refused and leaves the file alone
        p = run_uimapd(uimapd_argv(listen="127.0.0.1:0", passwd=self.passwd_file(),
                                   extra=("--pid-file", path))[1:])
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("another uimapd serves", p.stderr)
        self.assertIn(str(srv.pid), p.stderr)
        self.assertEqual(self.read(path), f"{srv.pid}\n")
        c = self.connect(srv)   # the first still serves
        _, t = c.command("n", "NOOP")
        self.assertTagged(t, "n", "OK")
        srv.signal(signal.SIGTERM)
        self.assertEqual(srv.wait(15), 0)
        self.assertFalse(os.path.exists(path), "the pid file is removed at exit")

    def test_stale_file_is_taken_over(self):
        path = os.path.join(self.tmpdir, "uimapd.pid")
        with open(path, "w") as f:
            f.write("999999\n")         # left by a crash: nobody holds it
        srv = self.start_server("--pid-file", path)
        self.assertEqual(self.read(path), f"{srv.pid}\n")

    def test_kill9_leaves_a_file_the_next_start_takes(self):
        path = os.path.join(self.tmpdir, "uimapd.pid")
        srv = self.start_server("--pid-file", path, check_exit=False)
        os.kill(srv.pid, signal.SIGKILL)
        srv.wait(10)
        srv2 = self.start_server("--pid-file", path)
        self.assertEqual(self.read(path), f"{srv2.pid}\n")

    def test_no_file_when_bind_fails(self):
        path = os.path.join(self.tmpdir, "uimapd.pid")
        srv = self.start_server()
        p = run_uimapd(uimapd_argv(listen=f"127.0.0.1:{srv.port}", passwd=self.passwd_file(),
                                   extra=("--pid-file", path))[1:])
        self.assertNotEqual(p.returncode, 0)
        self.assertFalse(os.path.exists(path))

    def test_unwritable_place_is_a_clear_error(self):
        p = run_uimapd(["--listen", "127.0.0.1:0", "--pid-file", "/nonexistent/dir/x.pid"])
        self.assertEqual(p.returncode, 1)
        self.assertIn("/nonexistent/dir/x.pid", p.stderr)
