"""uimapctl (issue 13): password hashes (yescrypt by default, {CRYPT}) and passwd-file
users — add (with extra fields such as a quota rule), del, list — edited by a rename, so
a reader never sees half a file; uimapd logs the users in and rereads the file on SIGHUP."""

import os
import signal
import subprocess

from harness import UIMAPD, UimapTestCase, uimapd_argv

CTL = os.path.join(os.path.dirname(UIMAPD), "uimapctl")


def ctl(*args, stdin=""):
    return subprocess.run([CTL] + list(args), input=stdin, capture_output=True, text=True,
                          timeout=60)


class Uimapctl(UimapTestCase):
    def test_passwd_prints_a_crypt_hash(self):
        p = ctl("passwd", stdin="secret\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout.startswith("{CRYPT}$y$"), p.stdout)
        p = ctl("passwd", "--scheme", "sha512", stdin="secret\n")
        self.assertTrue(p.stdout.startswith("{CRYPT}$6$"), p.stdout)
        self.assertNotEqual(ctl("passwd", "--scheme", "md4", stdin="x\n").returncode, 0)
        self.assertNotEqual(ctl("passwd", stdin="").returncode, 0, "no password")

    def test_users_and_the_server(self):
        path = os.path.join(self.tmpdir, "users")
        p = ctl("user", "add", path, "bob", "--field", "userdb_quota_rule=*:messages=1",
                stdin="bobpw\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(ctl("user", "add", path, "carol", stdin="carolpw\n").returncode, 0)
        self.assertEqual(ctl("user", "list", path).stdout.split(), ["bob", "carol"])
        p = ctl("user", "add", path, "bob", stdin="again\n")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("exists already", p.stderr)
        for bad in ("a:b", "", "with space"):
            self.assertNotEqual(ctl("user", "add", path, bad, stdin="x\n").returncode, 0)

        srv = self.start_process(uimapd_argv(passwd=path))
        c = self.connect(srv)
        _, t = c.command("L", "LOGIN bob bobpw")
        self.assertTagged(t, "L", "OK")
        c.send("a1 APPEND INBOX {2+}\r\nhi\r\n")
        self.assertTagged(c.read_tagged("a1")[1], "a1", "OK")
        c.send("a2 APPEND INBOX {2+}\r\nho\r\n")
        self.assertTagged(c.read_tagged("a2")[1], "a2", "NO", "[OVERQUOTA]")

        self.assertEqual(ctl("user", "del", path, "carol").returncode, 0)
        self.assertEqual(ctl("user", "list", path).stdout.split(), ["bob"])
        self.assertNotEqual(ctl("user", "del", path, "carol").returncode, 0)
        srv.signal(signal.SIGHUP)
        self.assertTrue(srv.wait_log(r"passwd file reloaded"))
        d = self.connect(srv)
        _, t = d.command("L", "LOGIN carol carolpw")
        self.assertTagged(t, "L", "NO")
