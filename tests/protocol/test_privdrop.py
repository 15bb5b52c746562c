"""--user / --group / --chroot (the seed's Net::Server user, group, chroot): after
binding (a port a user could not bind), uimapd runs as the user with only that group, for
good; logins, the data directory, the passwd-file reload and the pid file keep working.
Needs root (CI runs as root); skipped otherwise."""

import os
import shutil
import signal
import unittest

from harness import UimapTestCase, free_port, run_uimapd

ROOT = os.geteuid() == 0


def ids(pid):
    """(real uid, effective uid, saved uid), (real gid, ...), supplementary groups."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.split()
    return ([int(x) for x in out["Uid"][:3]], [int(x) for x in out["Gid"][:3]],
            [int(x) for x in out.get("Groups", [])])


@unittest.skipUnless(ROOT, "needs root")
class PrivDrop(UimapTestCase):
    def setUp(self):
        super().setUp()
        os.chmod(self.tmpdir, 0o755)
        self.nobody = 65534

    def test_drop_to_nobody(self):
        data = os.path.join(self.tmpdir, "data")
        os.mkdir(data)
        os.chown(data, self.nobody, self.nobody)
        pid_path = os.path.join(self.tmpdir, "uimapd.pid")
        srv = self.start_server("--user", "nobody", "--group", "nogroup", "--data-dir", data,
                                "--pid-file", pid_path)
        self.assertTrue(srv.wait_log(r"running as uid 65534 gid 65534"))
        uids, gids, groups = ids(srv.pid)
        self.assertEqual(uids, [self.nobody] * 3, "real, effective and saved uid")
        self.assertEqual(gids, [self.nobody] * 3)
        self.assertEqual(groups, [self.nobody], "no supplementary group of root's left")
        c = self.connect(srv)
        _, t = c.command("L", "LOGIN alice secret")
        self.assertTagged(t, "L", "OK")
        c.send("a APPEND INBOX {5+}\r\nhello\r\n")
        _, t = c.read_tagged("a")
        self.assertTagged(t, "a", "OK")
        journals = [f for f in os.listdir(data) if f.startswith("journal")]
        self.assertTrue(journals)
        # the passwd-file (readable by nobody) reloads
        os.chmod(self.passwd_file({"alice": "{PLAIN}secret", "bob": "{PLAIN}pw"}), 0o644)
        srv.signal(signal.SIGHUP)
        self.assertTrue(srv.wait_log(r"passwd file reloaded"))
        d = self.connect(srv)
        _, t = d.command("L", "LOGIN bob pw")
        self.assertTagged(t, "L", "OK")
        srv.signal(signal.SIGTERM)
        self.assertEqual(srv.wait(15), 0)
        # nobody may not remove a file in root's directory: it is emptied instead
        self.assertFalse(os.path.exists(pid_path) and open(pid_path).read().strip())

    def test_chroot(self):
        jail = os.path.join(self.tmpdir, "jail")
        os.makedirs(os.path.join(jail, "data"))
        os.chown(os.path.join(jail, "data"), self.nobody, self.nobody)
        # LeakSanitizer (the ASan layer) reads /proc at exit, which the jail lacks
        env = dict(os.environ)
        env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
        srv = self.start_server("--chroot", jail, "--user", "nobody",
                                "--data-dir", os.path.join(jail, "data"), env=env)
        self.assertTrue(srv.wait_log(r"running as uid 65534 gid 65534 in "))
        self.assertEqual(os.readlink(f"/proc/{srv.pid}/root"), jail)
        c = self.connect(srv)
        _, t = c.command("L", "LOGIN alice secret")
        self.assertTagged(t, "L", "OK")
        c.send("a APPEND INBOX {5+}\r\nhello\r\n")
        _, t = c.read_tagged("a")
        self.assertTagged(t, "a", "OK")

    def test_errors(self):
        for args, text in ((["--user", "no-such-user-xyz"], "unknown user"),
                           (["--user", "nobody", "--group", "no-such-group-xyz"],
                            "unknown group"),
                           (["--chroot", "/no/such/dir"], "chroot /no/such/dir")):
            p = run_uimapd(["--listen", "127.0.0.1:0"] + args)
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn(text, p.stderr)

    def test_refuses_root_unless_asked(self):
        import subprocess
        from harness import UIMAPD
        # without --user or --allow-root: refused before binding anything
        port = free_port()
        p = subprocess.run([UIMAPD, "--listen", f"127.0.0.1:{port}"], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("refusing to serve as root", p.stderr)
        self.assertIn("--user", p.stderr)
        # the config file can ask too; serving as root is then logged as a warning
        conf = self.write_file("root.conf", "allow-root = yes\n")
        srv = self.start_process([UIMAPD, "--config", conf, "--listen", "127.0.0.1:0",
                                  "--passwd", self.passwd_file(), "--allow-plaintext-auth",
                                  "--login-delay", "0"])
        self.assertTrue(srv.wait_log(r"WARN serving as root"))
        self.connect(srv).login()
        # with --user it starts without the flag and without the warning
        srv2 = self.start_process([UIMAPD, "--listen", "127.0.0.1:0", "--user", "nobody",
                                   "--passwd", self.passwd_file()])
        self.assertTrue(srv2.wait_log(r"running as uid 65534"))
        self.assertFalse(any("serving as root" in l for l in srv2.lines()))
