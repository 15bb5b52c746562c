"""--max-connections-per-user (the seed's concurrent_user_connections): the session
beyond the limit is refused at LOGIN with NO [LIMIT] and stays usable; a session that
ends frees its place; other users are not affected."""

import time

from harness import UimapTestCase

USERS = {"alice": "{PLAIN}secret", "bob": "{PLAIN}secret"}


class PerUserLimit(UimapTestCase):
    def login(self, c, user, tag="L"):
        _, t = c.command(tag, f"LOGIN {user} secret")
        return t

    def test_limit_at_login(self):
        srv = self.start_server("--max-connections-per-user", "2", users=USERS)
        a1, a2, a3 = self.connect(srv), self.connect(srv), self.connect(srv)
        self.assertTagged(self.login(a1, "alice"), "L", "OK")
        self.assertTagged(self.login(a2, "alice"), "L", "OK")
        t = self.login(a3, "alice")
        self.assertTagged(t, "L", "NO")
        self.assertIn("[LIMIT]", t)
        self.assertTrue(srv.wait_log(r"login refused: user=alice has 2 sessions"))
        # the refused session is still there: another user may log in on it
        self.assertTagged(self.login(a3, "bob", "M"), "M", "OK")
        # a session that logs out frees its place
        _, t = a1.command("O", "LOGOUT")
        self.assertTagged(t, "O", "OK")
        a4 = self.connect(srv)
        self.assertTagged(self.login(a4, "alice"), "L", "OK")
        # and one that is dropped too
        a2.close()
        deadline = time.monotonic() + 10     # until the server has seen the close
        while True:
            a5 = self.connect(srv)
            t = self.login(a5, "alice", "P")
            if " OK " in t or time.monotonic() > deadline:
                break
            a5.close()
            time.sleep(0.05)
        self.assertTagged(t, "P", "OK")

    def test_failed_logins_do_not_count(self):
        srv = self.start_server("--max-connections-per-user", "1", users=USERS)
        c = self.connect(srv)
        _, t = c.command("x", "LOGIN alice wrong")
        self.assertTagged(t, "x", "NO")
        d = self.connect(srv)
        self.assertTagged(self.login(d, "alice"), "L", "OK")

    def test_no_limit_by_default(self):
        srv = self.start_server(users=USERS)
        clients = [self.connect(srv) for _ in range(12)]
        for c in clients:
            self.assertTagged(self.login(c, "alice"), "L", "OK")
