"""SIGHUP reloads the passwd-file (issue 13): new users, changed passwords and quota
rules apply to the next logins; removed users cannot log in; sessions already logged in
go on; a file that cannot be read or parsed leaves the old one in use (logged)."""

import signal

from harness import UimapTestCase


class PasswdReload(UimapTestCase):
    def login(self, srv, user, password, tag="L"):
        c = self.connect(srv)
        _, t = c.command(tag, f"LOGIN {user} {password}")
        return c, t

    def test_reload(self):
        srv = self.start_server(users={"alice": "{PLAIN}one"})
        old, t = self.login(srv, "alice", "one")
        self.assertTagged(t, "L", "OK")
        # alice's password changes, bob arrives with a quota rule, and a comment
        self.passwd_file({"alice": "{PLAIN}two",
                          "bob": "{PLAIN}pw::::::userdb_quota_rule=*:messages=1"})
        srv.signal(signal.SIGHUP)
        self.assertTrue(srv.wait_log(r"passwd file reloaded"))
        _, t = self.login(srv, "alice", "one")
        self.assertTagged(t, "L", "NO")
        _, t = self.login(srv, "alice", "two")
        self.assertTagged(t, "L", "OK")
        bob, t = self.login(srv, "bob", "pw")
        self.assertTagged(t, "L", "OK")
        bob.send("a1 APPEND INBOX {2+}\r\nhi\r\n")
        _, t = bob.read_tagged("a1")
        self.assertTagged(t, "a1", "OK")
        bob.send("a2 APPEND INBOX {2+}\r\nho\r\n")
        _, t = bob.read_tagged("a2")
        self.assertTagged(t, "a2", "NO", "[OVERQUOTA]")
        # the session from before the reload goes on
        _, t = old.command("n", "NOOP")
        self.assertTagged(t, "n", "OK")

    def test_broken_file_keeps_the_old_one(self):
        srv = self.start_server(users={"alice": "{PLAIN}one"})
        self.write_file("passwd", "this line is not a passwd entry\n")
        srv.signal(signal.SIGHUP)
        self.assertTrue(srv.wait_log(r"passwd file reload failed, keeping the old one"))
        _, t = self.login(srv, "alice", "one")
        self.assertTagged(t, "L", "OK")
