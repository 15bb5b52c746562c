"""CONDSTORE (RFC 7162 §3.1): MODSEQ per message, HIGHESTMODSEQ in SELECT/EXAMINE and
STATUS, FETCH MODSEQ and (CHANGEDSINCE), STORE (UNCHANGEDSINCE) with [MODIFIED], SEARCH
MODSEQ, the enabling commands, MODSEQ in every flag FETCH once enabled, and modseqs that
never go back across a kill -9. STATUS SIZE (RFC 8438) and DELETED ride along."""

import os
import re
import signal

from harness import capabilities
from mailhelpers import (MailTestCase, command_raw, fetch_by_seq, fetches, highestmodseq,
                         resp_code, search_numbers, status_items, texts)

MODSEQ_MAX = (1 << 63) - 1


def modseq_of(items):
    v = items.get("MODSEQ")
    assert isinstance(v, list) and len(v) == 1, f"MODSEQ is not '(n)': {v!r}"
    return int(v[0])


def search_modseq(untagged):
    for t in texts(untagged):
        if t.startswith("* SEARCH"):
            m = re.search(r"\(MODSEQ (\d+)\)$", t)
            return int(m.group(1)) if m else None
    return None


class Condstore(MailTestCase):
    def setUp(self):
        super().setUp()
        self.c = self.session()
        self.fill(self.c, "INBOX", 5)

    def modseqs(self, c=None):
        f = fetch_by_seq(self.ok(c or self.c, "ms", "FETCH 1:* (MODSEQ)"))
        return {seq: modseq_of(items) for seq, items in f.items()}

    def test_capability(self):
        caps = capabilities(texts(self.ok(self.c, "c", "CAPABILITY"))[0])
        self.assertIn("CONDSTORE", caps)
        self.assertIn("STATUS=SIZE", caps)

    def test_enable(self):
        u = texts(self.ok(self.c, "e", "ENABLE CONDSTORE"))
        self.assertEqual(u, ["* ENABLED CONDSTORE"])
        # RFC 5161 §3.1: ENABLED names what this command enabled; unknown names ignored
        u = texts(self.ok(self.c, "e2", "ENABLE condstore X-UNKNOWN"))
        self.assertEqual(u, ["* ENABLED"])
        u = self.ok(self.c, "s", "SELECT INBOX")
        self.assertIsNotNone(highestmodseq(u), "SELECT after ENABLE CONDSTORE has HIGHESTMODSEQ")

    def test_select_without_condstore_has_no_highestmodseq(self):
        u = self.ok(self.c, "s", "SELECT INBOX")
        self.assertIsNone(highestmodseq(u))
        f = fetch_by_seq(self.ok(self.c, "f", "FETCH 1 FLAGS"))
        self.assertNotIn("MODSEQ", f[1])

    def test_select_condstore(self):
        u = self.ok(self.c, "s", "SELECT INBOX (CONDSTORE)")
        hms = highestmodseq(u)
        self.assertIsNotNone(hms)
        ms = self.modseqs()
        self.assertEqual(len(ms), 5)
        self.assertTrue(all(0 < v <= hms for v in ms.values()), (ms, hms))
        self.assertEqual(max(ms.values()), hms, "HIGHESTMODSEQ is the largest MODSEQ")
        # the appends got ascending modseqs
        self.assertEqual([ms[i] for i in range(1, 6)], sorted(ms.values()))
        u = self.ok(self.c, "x", "EXAMINE INBOX (CONDSTORE)")
        self.assertEqual(highestmodseq(u), hms)

    def test_select_parameter_errors(self):
        _, t = self.status_of(self.c, "a", "SELECT INBOX (X-UNKNOWN)", "BAD")
        _, t = self.status_of(self.c, "b", "SELECT INBOX CONDSTORE", "BAD")
        _, t = self.status_of(self.c, "c", "SELECT Nonexistent (CONDSTORE)", "NO")
        self.ok(self.c, "d", "SELECT INBOX ()")

    def test_fetch_modseq_enables_and_reports_highestmodseq(self):
        self.ok(self.c, "s", "SELECT INBOX")
        u = self.ok(self.c, "f", "FETCH 1 (FLAGS MODSEQ)")
        hms = highestmodseq(u)
        self.assertIsNotNone(hms, "the first enabling command while selected tells "
                             "HIGHESTMODSEQ (RFC 7162 §3.1)")
        # enabled: another enabling command does not repeat it
        u = self.ok(self.c, "g", "FETCH 2 (MODSEQ)")
        self.assertIsNone(highestmodseq(u))

    def test_store_bumps_modseq_and_highestmodseq(self):
        self.ok(self.c, "s", "SELECT INBOX (CONDSTORE)")
        before = self.modseqs()
        u = self.ok(self.c, "st", "STORE 2 +FLAGS (\\Flagged)")
        f = fetch_by_seq(u)
        self.assertEqual(set(f[2]) >= {"UID", "FLAGS", "MODSEQ"}, True, f)
        new = modseq_of(f[2])
        self.assertGreater(new, max(before.values()))
        after = self.modseqs()
        self.assertEqual(after[2], new)
        self.assertEqual({k: v for k, v in after.items() if k != 2},
                         {k: v for k, v in before.items() if k != 2})
        st = dict(status_items(self.ok(self.c, "t", "STATUS INBOX (HIGHESTMODSEQ)")))
        self.assertEqual(st["HIGHESTMODSEQ"], new)
        # a STORE that changes nothing keeps the modseq
        f = fetch_by_seq(self.ok(self.c, "st2", "STORE 2 +FLAGS (\\Flagged)"))
        self.assertEqual(modseq_of(f[2]), new)

    def test_fetch_changedsince(self):
        self.ok(self.c, "s", "SELECT INBOX")
        ms = self.modseqs()
        base = max(ms.values())
        self.ok(self.c, "a", "STORE 2,4 +FLAGS.SILENT (\\Seen)")
        u = self.ok(self.c, "f", f"FETCH 1:* (FLAGS) (CHANGEDSINCE {base})")
        f = fetch_by_seq(u)
        self.assertEqual(sorted(f), [2, 4], "only messages changed since")
        for seq in (2, 4):
            self.assertGreater(modseq_of(f[seq]), base, "CHANGEDSINCE implies MODSEQ")
            self.assertIn("\\Seen", f[seq]["FLAGS"])
        u = self.ok(self.c, "g", f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {base})")
        f = fetch_by_seq(u)
        self.assertEqual(sorted(f), [2, 4])
        self.assertTrue(all("UID" in v and "MODSEQ" in v for v in f.values()))
        top = max(modseq_of(v) for v in f.values())
        u = self.ok(self.c, "h", f"FETCH 1:* (FLAGS) (CHANGEDSINCE {top})")
        self.assertEqual(fetches(u), [])

    def test_fetch_modifier_errors(self):
        self.ok(self.c, "s", "SELECT INBOX")
        for tag, text in (("a", "FETCH 1 FLAGS (CHANGEDSINCE 0)"),
                          ("b", "FETCH 1 FLAGS (CHANGEDSINCE)"),
                          ("c", "FETCH 1 FLAGS (CHANGEDSINCE x1)"),
                          ("d", f"FETCH 1 FLAGS (CHANGEDSINCE {MODSEQ_MAX + 1})"),
                          ("e", "FETCH 1 FLAGS (X-UNKNOWN 1)"),
                          ("f", "FETCH 1 FLAGS ()")):
            _, t = self.status_of(self.c, tag, text, "BAD")
        self.ok(self.c, "g", f"FETCH 1 FLAGS (CHANGEDSINCE {MODSEQ_MAX})")

    def test_store_unchangedsince(self):
        """RFC 7162 §3.1.3: messages changed after UNCHANGEDSINCE are not stored and are
        listed in [MODIFIED]; the rest are stored and told with UID and MODSEQ."""
        self.ok(self.c, "s", "SELECT INBOX (CONDSTORE)")
        ms = self.modseqs()
        base = max(ms.values())
        other = self.session(select="INBOX")
        self.ok(other, "o", "STORE 3 +FLAGS (\\Answered)")   # message 3 changes meanwhile
        u, t = self.status_of(self.c, "c", f"STORE 1:5 (UNCHANGEDSINCE {base}) +FLAGS "
                              "(\\Deleted)", "OK")
        self.assertEqual(resp_code(t, "MODIFIED"), "3", t)
        f = fetch_by_seq(u)
        for seq in (1, 2, 4, 5):
            self.assertIn("\\Deleted", f[seq]["FLAGS"])
            self.assertIn("UID", f[seq])
            self.assertGreater(modseq_of(f[seq]), base)
        if 3 in f:   # the other session's change may be told here: without \Deleted
            self.assertNotIn("\\Deleted", f[3]["FLAGS"])
        f = fetch_by_seq(self.ok(self.c, "g", "FETCH 3 FLAGS"))
        self.assertNotIn("\\Deleted", f[3]["FLAGS"])
        self.assertIn("\\Answered", f[3]["FLAGS"])

    def test_uid_store_unchangedsince_lists_uids(self):
        self.ok(self.c, "s", "SELECT INBOX")
        self.ok(self.c, "x", "STORE 1 +FLAGS (\\Deleted)")
        self.ok(self.c, "y", "EXPUNGE")       # UIDs 2..5 now at seqs 1..4
        ms = self.modseqs()
        self.ok(self.c, "z", "STORE 2,3 +FLAGS (\\Flagged)")  # UIDs 3, 4 change
        u, t = self.status_of(self.c, "c", f"UID STORE 2:5 (UNCHANGEDSINCE {max(ms.values())})"
                              " FLAGS.SILENT (\\Seen)", "OK")
        self.assertEqual(resp_code(t, "MODIFIED"), "3:4", t)
        f = fetch_by_seq(u)
        # .SILENT with CONDSTORE: the changed messages are still told (UID and MODSEQ)
        self.assertEqual(sorted(f), [1, 4])
        for v in f.values():
            self.assertIn("MODSEQ", v)
            self.assertIn("UID", v)
            self.assertNotIn("FLAGS", v)

    def test_store_unchangedsince_zero_fails_all(self):
        self.ok(self.c, "s", "SELECT INBOX")
        before = self.modseqs()
        u, t = self.status_of(self.c, "c", "STORE 2:4 (UNCHANGEDSINCE 0) +FLAGS (\\Seen)", "OK")
        self.assertEqual(resp_code(t, "MODIFIED"), "2:4")
        self.assertEqual(fetches(u), [])
        self.assertEqual(self.modseqs(), before)

    def test_store_modifier_errors(self):
        self.ok(self.c, "s", "SELECT INBOX")
        for tag, text in (("a", "STORE 1 (UNCHANGEDSINCE) +FLAGS (\\Seen)"),
                          ("b", "STORE 1 (UNCHANGEDSINCE -1) +FLAGS (\\Seen)"),
                          ("c", "STORE 1 (X-UNKNOWN 5) +FLAGS (\\Seen)"),
                          ("d", f"STORE 1 (UNCHANGEDSINCE {MODSEQ_MAX + 1}) +FLAGS (\\Seen)"),
                          ("e", "STORE 1 (UNCHANGEDSINCE 5)")):
            self.status_of(self.c, tag, text, "BAD")
        self.ok(self.c, "x", "EXAMINE INBOX")
        _, t = self.status_of(self.c, "f", "STORE 1 (UNCHANGEDSINCE 5) +FLAGS (\\Seen)", "NO")
        self.assertIn("[READ-ONLY]", t)

    def test_search_modseq(self):
        self.ok(self.c, "s", "SELECT INBOX")
        ms = self.modseqs()
        base = max(ms.values())
        self.ok(self.c, "a", "STORE 2,5 +FLAGS (\\Flagged)")
        after = self.modseqs()
        u = self.ok(self.c, "q", f"SEARCH MODSEQ {base + 1}")
        self.assertEqual(search_numbers([t.split(" (MODSEQ")[0] for t in texts(u)]), [2, 5])
        self.assertEqual(search_modseq(u), max(after[2], after[5]))
        u = self.ok(self.c, "r", f'UID SEARCH MODSEQ "/flags/\\\\draft" all {base + 1}')
        self.assertIsNotNone(search_modseq(u))
        u = self.ok(self.c, "t", "SEARCH MODSEQ 0 FLAGGED")
        self.assertEqual(search_modseq(u), max(after[2], after[5]))
        u = self.ok(self.c, "v", f"SEARCH MODSEQ {max(after.values()) + 1}")
        self.assertEqual(texts(u), ["* SEARCH"], "no match: no (MODSEQ n)")
        u = self.ok(self.c, "w", "SEARCH FLAGGED")
        self.assertIsNone(search_modseq(u), "(MODSEQ n) only when MODSEQ was searched")
        for tag, text in (("b1", "SEARCH MODSEQ"), ("b2", "SEARCH MODSEQ x"),
                          ("b3", 'SEARCH MODSEQ "/flags/\\\\draft" bogus 5'),
                          ("b4", 'SEARCH MODSEQ "/other" all 5'),
                          ("b5", f"SEARCH MODSEQ {MODSEQ_MAX + 1}")):
            self.status_of(self.c, tag, text, "BAD")

    def test_others_changes_carry_modseq(self):
        a = self.session(select="INBOX")
        self.ok(a, "e", "ENABLE CONDSTORE")
        plain = self.session(select="INBOX")
        writer = self.session(select="INBOX")
        self.ok(writer, "w", "STORE 1 +FLAGS (\\Flagged)")
        f = fetch_by_seq(self.ok(a, "n", "NOOP"))
        self.assertIn("MODSEQ", f[1])
        self.assertIn("UID", f[1])
        f = fetch_by_seq(self.ok(plain, "n", "NOOP"))
        self.assertIn("FLAGS", f[1])
        self.assertNotIn("MODSEQ", f[1], "no MODSEQ unless CONDSTORE is enabled")

    def test_implicit_seen_carries_uid_and_modseq(self):
        self.ok(self.c, "e", "ENABLE CONDSTORE")
        self.ok(self.c, "s", "SELECT INBOX")
        before = self.modseqs()
        f = fetch_by_seq(self.ok(self.c, "f", "FETCH 3 BODY[TEXT]"))
        self.assertIn("\\Seen", f[3]["FLAGS"])
        self.assertIn("UID", f[3])
        self.assertGreater(modseq_of(f[3]), before[3])

    def test_status_items(self):
        self.ok(self.c, "s", "SELECT INBOX")
        self.ok(self.c, "d", "STORE 1:2 +FLAGS (\\Deleted)")
        size = sum(int(v["RFC822.SIZE"]) for v in
                   fetch_by_seq(self.ok(self.c, "z", "FETCH 1:* RFC822.SIZE")).values())
        hms = max(self.modseqs().values())
        st = status_items(self.ok(self.c, "t", "STATUS INBOX (MESSAGES SIZE DELETED "
                                  "HIGHESTMODSEQ)"))
        self.assertEqual(st, [("MESSAGES", 5), ("SIZE", size), ("DELETED", 2),
                              ("HIGHESTMODSEQ", hms)])


class CondstorePersist(MailTestCase):
    SERVER_ARGS = None

    def test_modseqs_survive_kill9(self):
        """HIGHESTMODSEQ never goes back, also after kill -9: the modseqs are in the
        journal (clients' caches rely on it)."""
        data_dir = os.path.join(self.tmpdir, "data")
        srv = self.start_server("--data-dir", data_dir, "--journal-fsync", "always",
                                check_exit=False)
        c = self.session(srv=srv)
        self.fill(c, "INBOX", 4)
        self.ok(c, "s", "SELECT INBOX (CONDSTORE)")
        self.ok(c, "a", "STORE 1:4 +FLAGS (\\Seen)")
        self.ok(c, "b", "STORE 4 +FLAGS (\\Deleted)")
        self.ok(c, "x", "EXPUNGE")     # the message with the highest modseq is gone
        f = fetch_by_seq(self.ok(c, "m", "FETCH 1:* (UID MODSEQ)"))
        before = {int(v["UID"]): modseq_of(v) for v in f.values()}
        hms = dict(status_items(self.ok(c, "t", "STATUS INBOX (HIGHESTMODSEQ)")))["HIGHESTMODSEQ"]
        self.assertGreater(hms, max(before.values()), "the expunge took a modseq too")
        os.kill(srv.pid, signal.SIGKILL)
        srv.wait(10)
        srv2 = self.start_server("--data-dir", data_dir)
        c2 = self.session(srv=srv2)
        u = self.ok(c2, "s", "SELECT INBOX (CONDSTORE)")
        self.assertGreaterEqual(highestmodseq(u), hms, "HIGHESTMODSEQ went back")
        f = fetch_by_seq(self.ok(c2, "m", "FETCH 1:* (UID MODSEQ)"))
        self.assertEqual({int(v["UID"]): modseq_of(v) for v in f.values()}, before)
        f = fetch_by_seq(self.ok(c2, "st", "STORE 1 -FLAGS (\\Seen)"))
        self.assertGreater(modseq_of(f[1]), hms, "new changes go above the old HIGHESTMODSEQ")
