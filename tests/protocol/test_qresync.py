"""QRESYNC (RFC 7162 §3.2): ENABLE QRESYNC, VANISHED instead of EXPUNGE, SELECT/EXAMINE
(QRESYNC (uidvalidity modseq [known-uids [seq-match]])) with VANISHED (EARLIER) and the
changed flags, UID FETCH (CHANGEDSINCE n VANISHED), [CLOSED], and the expunge history
across restarts (journal: exact; snapshot: the missing UIDs)."""

import os
import re
import signal

from harness import capabilities
from mailhelpers import (MailTestCase, expand_uidset, fetch_by_seq, fetches, highestmodseq,
                         select_info, texts, untagged_numbers)


def vanished(untagged, earlier):
    """The UIDs of '* VANISHED' (earlier False) or '* VANISHED (EARLIER)' responses."""
    out = []
    rx = re.compile(r"^\* VANISHED \(EARLIER\) (\S+)$" if earlier else r"^\* VANISHED (\d\S*)$")
    for t in texts(untagged):
        m = rx.match(t)
        if m:
            out.extend(expand_uidset(m.group(1)))
    return sorted(out)


class Qresync(MailTestCase):
    def setUp(self):
        super().setUp()
        self.c = self.session()
        self.fill(self.c, "INBOX", 10)
        self.ok(self.c, "e", "ENABLE QRESYNC")
        u = self.ok(self.c, "s", "SELECT INBOX")
        self.uv = select_info(u)["uidvalidity"]
        self.hms = highestmodseq(u)

    def expunge_uids(self, c, uids, tag="x"):
        self.ok(c, tag + "s", f"UID STORE {','.join(map(str, uids))} +FLAGS.SILENT (\\Deleted)")
        return self.ok(c, tag + "e", "EXPUNGE")

    def test_capability_and_enable(self):
        c = self.session()
        caps = capabilities(texts(self.ok(c, "c", "CAPABILITY"))[0])
        self.assertIn("QRESYNC", caps)
        self.assertEqual(texts(self.ok(c, "e", "ENABLE QRESYNC")), ["* ENABLED QRESYNC"])
        # RFC 7162 §3.2.3: QRESYNC implies CONDSTORE
        self.assertIsNotNone(highestmodseq(self.ok(c, "s", "SELECT INBOX")))
        self.assertEqual(texts(self.ok(c, "e2", "ENABLE QRESYNC CONDSTORE")), ["* ENABLED"])

    def test_qresync_select_needs_enable(self):
        c = self.session()
        self.status_of(c, "s", f"SELECT INBOX (QRESYNC ({self.uv} 1))", "BAD")

    def test_vanished_replaces_expunge(self):
        u = self.expunge_uids(self.c, [3, 5, 6])
        self.assertEqual(untagged_numbers(u, "EXPUNGE"), [], "no EXPUNGE once QRESYNC is on")
        self.assertEqual(vanished(u, False), [3, 5, 6])
        t = texts(u)
        self.assertFalse(any(x.startswith("* VANISHED (EARLIER)") for x in t))
        # RFC 7162 §3.1.10: EXPUNGE's OK tells the new HIGHESTMODSEQ
        other = self.session(select="INBOX")
        self.ok(other, "o", "UID STORE 8 +FLAGS.SILENT (\\Deleted)")
        self.ok(other, "p", "EXPUNGE")
        u = self.ok(self.c, "n", "NOOP")
        self.assertEqual(vanished(u, False), [8], "another session's expunge as VANISHED")
        # the count goes down by the VANISHED UIDs
        f = fetch_by_seq(self.ok(self.c, "f", "FETCH 1:* UID"))
        self.assertEqual(sorted(int(v["UID"]) for v in f.values()), [1, 2, 4, 7, 9, 10])

    def test_expunge_ok_has_highestmodseq(self):
        self.ok(self.c, "a", "UID STORE 2 +FLAGS.SILENT (\\Deleted)")
        self.c.send("b EXPUNGE\r\n")
        _, t = self.c.read_tagged("b")
        m = re.search(r"\[HIGHESTMODSEQ (\d+)\]", t)
        self.assertIsNotNone(m, t)
        self.assertGreater(int(m.group(1)), self.hms)

    def test_select_qresync_resyncs(self):
        """RFC 7162 §3.2.5.1: VANISHED (EARLIER) for the expunges since the client's
        modseq, then FETCH (UID FLAGS MODSEQ) for the messages changed since."""
        self.expunge_uids(self.c, [2, 3, 9])
        self.ok(self.c, "f", "UID STORE 4,7 +FLAGS.SILENT (\\Flagged)")
        u = self.ok(self.c, "a", "APPEND INBOX {5+}\r\nnew\r\n")
        self.ok(self.c, "u", "UNSELECT")
        u = self.ok(self.c, "q", f"SELECT INBOX (QRESYNC ({self.uv} {self.hms}))")
        self.assertEqual(vanished(u, True), [2, 3, 9])
        f = {int(v["UID"]): v for v in fetch_by_seq(u).values()}
        self.assertEqual(sorted(f), [4, 7, 11], "the changed and the new messages")
        for uid in (4, 7):
            self.assertIn("\\Flagged", f[uid]["FLAGS"])
            self.assertGreater(int(f[uid]["MODSEQ"][0]), self.hms)
        t = texts(u)
        iv = next(i for i, x in enumerate(t) if x.startswith("* VANISHED"))
        ifetch = next(i for i, x in enumerate(t) if " FETCH " in x)
        self.assertLess(iv, ifetch, "VANISHED comes before the FETCHes")
        # up to date: nothing to tell
        hms = highestmodseq(u)
        u = self.ok(self.c, "r", f"EXAMINE INBOX (QRESYNC ({self.uv} {hms}))")
        self.assertEqual(vanished(u, True), [])
        self.assertEqual(fetches(u), [])

    def test_known_uids_limit_vanished(self):
        self.expunge_uids(self.c, [2, 3, 9])
        u = self.ok(self.c, "q", f"SELECT INBOX (QRESYNC ({self.uv} {self.hms} 3:10))")
        self.assertEqual(vanished(u, True), [3, 9])
        u = self.ok(self.c, "r", f"SELECT INBOX (QRESYNC ({self.uv} {self.hms} 1:10 "
                    "(1:3 1:3)))")
        self.assertEqual(vanished(u, True), [2, 3, 9])

    def test_uidvalidity_mismatch_is_a_plain_select(self):
        self.expunge_uids(self.c, [2])
        u = self.ok(self.c, "q", f"SELECT INBOX (QRESYNC ({self.uv + 1} 1))")
        self.assertEqual(vanished(u, True), [])
        self.assertEqual(fetches(u), [])
        self.assertEqual(select_info(u)["exists"], 9)

    def test_closed_when_switching(self):
        u = self.ok(self.c, "q", "SELECT Trash")
        t = texts(u)
        self.assertTrue(t[0].startswith("* OK [CLOSED]"), t)
        self.ok(self.c, "u", "UNSELECT")
        u = self.ok(self.c, "r", "SELECT INBOX")
        self.assertFalse(any("[CLOSED]" in x for x in texts(u)), "nothing was selected")

    def test_param_errors(self):
        for tag, text in (("a", "SELECT INBOX (QRESYNC)"),
                          ("b", f"SELECT INBOX (QRESYNC ({self.uv}))"),
                          ("c", f"SELECT INBOX (QRESYNC ({self.uv} 0))"),
                          ("d", "SELECT INBOX (QRESYNC (0 5))"),
                          ("e", f"SELECT INBOX (QRESYNC ({self.uv} 5 x))"),
                          ("f", f"SELECT INBOX (QRESYNC ({self.uv} 5 1:5 (1:2 1:3)))"),
                          ("g", f"SELECT INBOX (QRESYNC ({self.uv} 5 1:5 (1:2)))"),
                          ("h", f"SELECT INBOX (QRESYNC ({self.uv} 5) QRESYNC ({self.uv} 5))"),
                          ("i", f"SELECT INBOX (QRESYNC {self.uv} 5)")):
            self.status_of(self.c, tag, text, "BAD")

    def test_uid_fetch_vanished(self):
        self.expunge_uids(self.c, [2, 3, 9])
        self.ok(self.c, "f", "UID STORE 5 +FLAGS.SILENT (\\Seen)")
        u = self.ok(self.c, "v", f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {self.hms} VANISHED)")
        self.assertEqual(vanished(u, True), [2, 3, 9])
        f = fetch_by_seq(u)
        self.assertEqual([int(v["UID"]) for v in f.values()], [5])
        u = self.ok(self.c, "w", f"UID FETCH 3:8 (FLAGS) (VANISHED CHANGEDSINCE {self.hms})")
        self.assertEqual(vanished(u, True), [3], "only the UIDs of the set")
        for tag, text in (("a", f"FETCH 1:* (FLAGS) (CHANGEDSINCE {self.hms} VANISHED)"),
                          ("b", "UID FETCH 1:* (FLAGS) (VANISHED)"),
                          ("c", f"UID FETCH 1:* FLAGS (CHANGEDSINCE 1 VANISHED VANISHED)")):
            self.status_of(self.c, tag, text, "BAD")
        c = self.session(select="INBOX")   # QRESYNC not enabled
        self.status_of(c, "d", "UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)", "BAD")

    def test_move_reports_vanished(self):
        u = self.ok(self.c, "m", "UID MOVE 4:5 Trash")
        self.assertEqual(vanished(u, False), [4, 5])
        self.assertEqual(untagged_numbers(u, "EXPUNGE"), [])

    def test_others_without_qresync_still_get_expunge(self):
        plain = self.session(select="INBOX")
        self.expunge_uids(self.c, [1])
        u = self.ok(plain, "n", "NOOP")
        self.assertEqual(untagged_numbers(u, "EXPUNGE"), [1])
        self.assertEqual(vanished(u, False), [])


class QresyncPersist(MailTestCase):
    SERVER_ARGS = None

    def resync(self, srv, uv, modseq):
        c = self.session(srv=srv)
        self.ok(c, "e", "ENABLE QRESYNC")
        u = self.ok(c, "q", f"SELECT INBOX (QRESYNC ({uv} {modseq}))")
        live = sorted(int(v["UID"]) for v in
                      fetch_by_seq(self.ok(c, "f", "UID FETCH 1:* (UID)")).values())
        return vanished(u, True), live

    def test_history_survives_restart(self):
        """After kill -9 (journal replay) the expunge history is exact; after a snapshot
        the UIDs it lacks stand for it: a superset, never a live message."""
        data_dir = os.path.join(self.tmpdir, "data")
        srv = self.start_server("--data-dir", data_dir, "--journal-fsync", "always",
                                check_exit=False)
        c = self.session(srv=srv)
        self.fill(c, "INBOX", 12)
        self.ok(c, "e", "ENABLE QRESYNC")
        u = self.ok(c, "s", "SELECT INBOX")
        uv = select_info(u)["uidvalidity"]
        self.ok(c, "a", "UID STORE 2,4 +FLAGS.SILENT (\\Deleted)")
        self.ok(c, "b", "EXPUNGE")
        mid = highestmodseq(self.ok(c, "n", "SELECT INBOX"))
        self.ok(c, "c", "UID STORE 6,7 +FLAGS.SILENT (\\Deleted)")
        self.ok(c, "d", "EXPUNGE")
        os.kill(srv.pid, signal.SIGKILL)
        srv.wait(10)

        srv2 = self.start_server("--data-dir", data_dir, check_exit=False)
        gone, live = self.resync(srv2, uv, mid)
        self.assertEqual(gone, [6, 7], "journal replay: exactly what went after mid")
        self.assertEqual(live, [1, 3, 5] + list(range(8, 13)))
        srv2.signal(signal.SIGUSR1)      # snapshot
        srv2.wait_log(r"snapshot", timeout=20)
        srv2.signal(signal.SIGTERM)
        srv2.wait(15)

        srv3 = self.start_server("--data-dir", data_dir)
        gone, live = self.resync(srv3, uv, mid)
        self.assertTrue({6, 7} <= set(gone), gone)
        self.assertFalse(set(gone) & set(live), "a live message reported as vanished")
        gone_all, _ = self.resync(srv3, uv, 1)
        self.assertEqual(gone_all, [2, 4, 6, 7])
