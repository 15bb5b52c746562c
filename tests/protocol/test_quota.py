"""QUOTA (RFC 9208) with QUOTA=RES-STORAGE and QUOTA=RES-MESSAGE, STATUS DELETED-STORAGE,
and APPENDLIMIT (RFC 7889): one quota root "" per user, its limits from the passwd-file
quota rules (or the configuration), usage counted live, OVERQUOTA refusals storing
nothing; SETQUOTA for administrators only (userdb_admin=yes; QUOTASET offered to them),
on their own root "" or another user's "user/NAME", kept across restarts (journal, kill -9,
and snapshot)."""

import os
import re
import signal

from harness import capabilities
from mailhelpers import MailTestCase, append, status_items, texts

USERS = {"alice": "{PLAIN}secret::::::userdb_quota_rule=*:storage=10K "
                  "userdb_quota_rule2=*:messages=4",
         "bob": "{PLAIN}secret::::::userdb_quota_rule=*:storage=none "
                "userdb_quota_rule2=*:messages=none"}


def quota(untagged, root=""):
    """{resource: (usage, limit)} of the '* QUOTA root (...)' response (root an atom
    or a quoted string)."""
    for t in texts(untagged):
        m = re.match(r'^\* QUOTA (?:' + re.escape(root) + '|"' + re.escape(root) +
                     r'") \((.*)\)$', t)
        if m:
            v = m.group(1).split()
            return {v[i]: (int(v[i + 1]), int(v[i + 2])) for i in range(0, len(v), 3)}
    return None


class Quota(MailTestCase):
    SERVER_ARGS = None

    def setUp(self):
        super().setUp()
        self.srv = self.start_server("--max-literal", "1M", users=USERS)
        self.c = self.session()

    def test_capabilities(self):
        caps = capabilities(texts(self.ok(self.c, "c", "CAPABILITY"))[0])
        for cap in ("QUOTA", "QUOTA=RES-STORAGE", "QUOTA=RES-MESSAGE", "APPENDLIMIT=1048576"):
            self.assertIn(cap, caps)
        self.assertNotIn("QUOTASET", caps)

    def test_getquotaroot_and_getquota(self):
        """RFC 9208 §4.3.2, §4.3.1: usage in KiB (rounded up) and messages, with limits."""
        self.append_ok(self.c, "INBOX", b"x" * 3000)
        self.append_ok(self.c, "Sent", b"y" * 100)
        u = self.ok(self.c, "a", "GETQUOTAROOT INBOX")
        self.assertIn('* QUOTAROOT INBOX ""', texts(u))
        self.assertEqual(quota(u), {"STORAGE": (4, 10), "MESSAGE": (2, 4)})
        self.assertEqual(quota(self.ok(self.c, "b", 'GETQUOTA ""')),
                         {"STORAGE": (4, 10), "MESSAGE": (2, 4)})
        # the same root for every mailbox of the user
        self.assertIn('* QUOTAROOT Sent ""', texts(self.ok(self.c, "c", "GETQUOTAROOT Sent")))

    def test_no_limits_means_no_resources(self):
        c = self.session(user="bob")
        self.assertEqual(quota(self.ok(c, "a", 'GETQUOTA ""')), {})

    def test_errors(self):
        _, t = self.status_of(self.c, "a", "GETQUOTA other", "NO")
        self.assertIn("[NONEXISTENT]", t)
        _, t = self.status_of(self.c, "b", "GETQUOTAROOT Nosuchbox", "NO")
        self.assertIn("[NONEXISTENT]", t)
        _, t = self.status_of(self.c, "c", 'SETQUOTA "" (STORAGE 100)', "NO")
        self.assertIn("[NOPERM]", t)
        for tag, text in (("d", "GETQUOTA"), ("e", "GETQUOTAROOT"), ("f", 'SETQUOTA ""')):
            self.status_of(self.c, tag, text, "BAD")
        c = self.connect(self.srv)
        self.status_of(c, "g", 'GETQUOTA ""', "BAD")   # not logged in

    def test_over_quota_stores_nothing(self):
        self.append_ok(self.c, "INBOX", b"x" * 6000)
        t = append(self.c, "INBOX", b"y" * 6000)
        self.assertIn("NO [OVERQUOTA]", t)
        for i in range(3):
            self.append_ok(self.c, "INBOX", b"small %d" % i)
        t = append(self.c, "INBOX", b"one too many")
        self.assertIn("NO [OVERQUOTA]", t, "the message limit")
        self.ok(self.c, "s", "SELECT INBOX")
        _, t = self.status_of(self.c, "cp", "COPY 1:* Trash", "NO")
        self.assertIn("[OVERQUOTA]", t)
        self.assertEqual(quota(self.ok(self.c, "q", 'GETQUOTA ""'))["MESSAGE"], (4, 4))
        self.assertEqual(status_items(self.ok(self.c, "t", "STATUS Trash (MESSAGES)")),
                         [("MESSAGES", 0)])
        # an expunge gives the space back
        self.ok(self.c, "d", "STORE 1 +FLAGS.SILENT (\\Deleted)")
        self.ok(self.c, "x", "EXPUNGE")
        self.assertEqual(quota(self.ok(self.c, "r", 'GETQUOTA ""')),
                         {"STORAGE": (1, 10), "MESSAGE": (3, 4)})

    def test_status_deleted_storage_and_appendlimit(self):
        self.append_ok(self.c, "INBOX", b"x" * 2500)
        self.append_ok(self.c, "INBOX", b"y" * 10)
        self.ok(self.c, "s", "SELECT INBOX")
        self.ok(self.c, "d", "STORE 1 +FLAGS.SILENT (\\Deleted)")
        st = status_items(self.ok(self.c, "t", "STATUS INBOX (DELETED DELETED-STORAGE "
                                  "APPENDLIMIT)"))
        self.assertEqual(st, [("DELETED", 1), ("DELETED-STORAGE", 3),
                              ("APPENDLIMIT", 1048576)])
        self.ok(self.c, "u", "STORE 1 -FLAGS.SILENT (\\Deleted)")
        st = dict(status_items(self.ok(self.c, "v", "STATUS INBOX (DELETED-STORAGE)")))
        self.assertEqual(st["DELETED-STORAGE"], 0)

    def test_appendlimit_is_the_literal_limit(self):
        t = append(self.c, "INBOX", b"z" * (1048576 + 1), sync=True)
        self.assertTrue(t.startswith("ap NO") or t.startswith("ap BAD"), t)


ADMIN_USERS = dict(USERS, root="{PLAIN}secret::::::userdb_admin=yes")


class SetQuota(MailTestCase):
    """RFC 9208 §4.2 for administrators (Dovecot's userdb field admin=yes)."""
    SERVER_ARGS = None

    def start(self):
        self.data = os.path.join(self.tmpdir, "data")
        os.makedirs(self.data, exist_ok=True)
        self.srv = self.start_server("--data-dir", self.data, users=ADMIN_USERS,
                                     check_exit=False)
        return self.session(user="root")

    def test_admin_sets_own_and_others(self):
        admin = self.start()
        caps = capabilities(texts(self.ok(admin, "c", "CAPABILITY"))[0])
        self.assertIn("QUOTASET", caps)
        alice = self.session()
        self.assertNotIn("QUOTASET", capabilities(texts(self.ok(alice, "c", "CAPABILITY"))[0]))
        # the admin's own root; the untagged QUOTA answers with the new limits
        u = self.ok(admin, "a", 'SETQUOTA "" (STORAGE 20 MESSAGE 3)')
        self.assertEqual(quota(u), {"STORAGE": (0, 20), "MESSAGE": (0, 3)})
        # alice's root: her live session is held to it at once (her passwd-file rule
        # said 10K / 4 messages)
        self.append_ok(alice, "INBOX", b"x" * 100)
        u = self.ok(admin, "b", 'SETQUOTA "user/alice" (MESSAGE 2)')
        self.assertEqual(quota(u, 'user/alice'), {"MESSAGE": (1, 2)})
        self.append_ok(alice, "INBOX", b"y" * 100)
        t = append(alice, "INBOX", b"z" * 100)
        self.assertIn("NO [OVERQUOTA]", t)
        self.assertEqual(quota(self.ok(alice, "q", 'GETQUOTA ""')), {"MESSAGE": (2, 2)})
        self.assertEqual(quota(self.ok(admin, "g", 'GETQUOTA "user/alice"'),
                               'user/alice'), {"MESSAGE": (2, 2)})
        # a user who never logged in
        u = self.ok(admin, "n", 'SETQUOTA "user/bob" (STORAGE 1)')
        self.assertEqual(quota(u, 'user/bob'), {"STORAGE": (0, 1)})
        bob = self.session(user="bob")
        self.assertIn("NO [OVERQUOTA]", append(bob, "INBOX", b"b" * 2000))
        # () removes the limits: nothing in force
        self.assertEqual(quota(self.ok(admin, "r", 'SETQUOTA "user/bob" ()'),
                               'user/bob'), {})
        self.append_ok(bob, "INBOX", b"b" * 2000)

    def test_refused_and_errors(self):
        admin = self.start()
        alice = self.session()
        _, t = self.status_of(alice, "a", 'SETQUOTA "" (STORAGE 100)', "NO")
        self.assertIn("[NOPERM]", t)
        _, t = self.status_of(alice, "b", 'GETQUOTA "user/root"', "NO")
        self.assertIn("[NONEXISTENT]", t)
        for tag, text in (("c", 'SETQUOTA "" (STORAGE)'), ("d", 'SETQUOTA "" (STORAGE x)'),
                          ("e", 'SETQUOTA "" STORAGE 1'),
                          ("f", 'SETQUOTA "" (STORAGE 1 STORAGE 2)')):
            self.status_of(admin, tag, text, "BAD")
        _, t = self.status_of(admin, "g", 'SETQUOTA "" (FILES 10)', "NO")
        self.assertIn("STORAGE and MESSAGE", t)
        self.status_of(admin, "h", 'SETQUOTA "" (MESSAGE 0)', "NO")
        _, t = self.status_of(admin, "i", 'SETQUOTA "elsewhere" (MESSAGE 1)', "NO")
        self.assertIn("[NONEXISTENT]", t)

    def test_kept_across_restarts(self):
        admin = self.start()
        self.ok(admin, "a", 'SETQUOTA "user/alice" (STORAGE 7 MESSAGE 5)')
        # kill -9: only the journal has it
        os.kill(self.srv.pid, signal.SIGKILL)
        self.srv.wait(10)
        self.srv = self.start_server("--data-dir", self.data, users=ADMIN_USERS)
        alice = self.session()
        self.assertEqual(quota(self.ok(alice, "q", 'GETQUOTA ""')),
                         {"STORAGE": (0, 7), "MESSAGE": (0, 5)})
        # a snapshot, then a clean restart: the snapshot has it
        admin = self.session(user="root")
        self.ok(admin, "b", 'SETQUOTA "user/alice" (MESSAGE 6)')
        self.srv.signal(signal.SIGUSR1)
        self.assertTrue(self.srv.wait_log(r"snapshot .*(written|done|saved)", timeout=20))
        self.srv.stop()   # and SIGTERM writes a final snapshot too
        self.srv = self.start_server("--data-dir", self.data, users=ADMIN_USERS)
        alice = self.session()
        self.assertEqual(quota(self.ok(alice, "q", 'GETQUOTA ""')), {"MESSAGE": (0, 6)})
        self.assertTrue(self.srv.wait_log(r"loaded \d+ user.*journal 0 record"), "from the snapshot")
