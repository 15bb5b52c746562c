"""QUOTA (RFC 9208) with QUOTA=RES-STORAGE and QUOTA=RES-MESSAGE, STATUS DELETED-STORAGE,
and APPENDLIMIT (RFC 7889): one quota root "" per user, its limits from the passwd-file
quota rules (or the configuration), usage counted live, OVERQUOTA refusals storing
nothing, SETQUOTA refused (no QUOTASET)."""

import re

from harness import capabilities
from mailhelpers import MailTestCase, append, status_items, texts

USERS = {"alice": "{PLAIN}secret::::::userdb_quota_rule=*:storage=10K "
                  "userdb_quota_rule2=*:messages=4",
         "bob": "{PLAIN}secret::::::userdb_quota_rule=*:storage=none "
                "userdb_quota_rule2=*:messages=none"}


def quota(untagged):
    """{resource: (usage, limit)} of the '* QUOTA "" (...)' response."""
    for t in texts(untagged):
        m = re.match(r'^\* QUOTA "" \((.*)\)$', t)
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
