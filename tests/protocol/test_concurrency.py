"""Two and three sessions on one mailbox (RFC 3501 §5.2, §5.5, §7.4.1): new messages,
expunges and flag changes reach the other sessions at the right time, sequence numbers
stay valid until a session is told, \\Recent goes to exactly one session."""

import threading
import unittest

from mailhelpers import (MailTestCase, SeqTracker, append_many, command_raw, fetch_by_seq,
                         fetches, make_message, search_numbers, select_info, status_items,
                         texts, untagged_numbers)


class TwoSessions(MailTestCase):
    def test_append_seen_by_other_on_noop(self):
        a = self.session()
        b = self.session(select="INBOX")
        self.append_ok(a, "INBOX", make_message())
        untagged = self.ok(b, "n", "NOOP")
        self.assertEqual(untagged_numbers(untagged, "EXISTS"), [1])
        self.assertEqual(untagged_numbers(untagged, "RECENT"), [1])
        self.append_ok(a, "INBOX", make_message(), tag="a2")
        self.append_ok(a, "INBOX", make_message(), tag="a3")
        untagged = self.ok(b, "n2", "NOOP")
        self.assertEqual(untagged_numbers(untagged, "EXISTS")[-1], 3)
        f = fetch_by_seq(self.ok(b, "f", "FETCH 1:* UID"))
        self.assertEqual(sorted(f), [1, 2, 3])

    def test_append_seen_on_check_and_other_commands(self):
        a = self.session()
        b = self.session(select="INBOX")
        self.append_ok(a, "INBOX", make_message())
        untagged = self.ok(b, "k", "CHECK")
        self.assertEqual(untagged_numbers(untagged, "EXISTS"), [1])

    def test_other_mailbox_not_announced(self):
        a = self.session()
        b = self.session(select="Sent")
        self.append_ok(a, "INBOX", make_message())
        untagged = self.ok(b, "n", "NOOP")
        self.assertEqual(untagged_numbers(untagged, "EXISTS"), [])

    def test_examine_session_sees_new_messages(self):
        a = self.session()
        b = self.session()
        self.ok(b, "e", "EXAMINE INBOX")
        self.append_ok(a, "INBOX", make_message())
        untagged = self.ok(b, "n", "NOOP")
        self.assertEqual(untagged_numbers(untagged, "EXISTS"), [1])

    def test_expunge_delivered_only_at_the_right_time(self):
        a = self.session()
        self.fill(a, "INBOX", 4)
        self.ok(a, "s", "SELECT INBOX")
        b = self.session(select="INBOX")
        self.ok(a, "d", "STORE 2 +FLAGS.SILENT (\\Deleted)")
        untagged = self.ok(a, "x", "EXPUNGE")
        self.assertEqual(untagged_numbers(untagged, "EXPUNGE"), [2])
        # b: no EXPUNGE during FETCH, STORE, SEARCH; its sequence numbers stay valid
        untagged = self.ok(b, "f", "FETCH 1:4 (UID BODY.PEEK[TEXT])")
        self.assertEqual(untagged_numbers(untagged, "EXPUNGE"), [], "EXPUNGE during FETCH")
        f = fetch_by_seq(untagged)
        self.assertEqual(sorted(f), [1, 2, 3, 4])
        self.assertEqual(f[2]["BODY[TEXT]"], b"body 2\r\n",
                         "b can still fetch the message a expunged until b is told")
        self.assertEqual(f[3]["BODY[TEXT]"], b"body 3\r\n")
        untagged, t = command_raw(b, "st", "STORE 3 +FLAGS (\\Flagged)")
        self.assertTagged(t, "st", "OK")
        self.assertEqual(untagged_numbers(untagged, "EXPUNGE"), [], "EXPUNGE during STORE")
        for seq, items in fetches(untagged):
            self.assertEqual(seq, 3)
        untagged = self.ok(b, "q", "SEARCH ALL")
        self.assertEqual(untagged_numbers(untagged, "EXPUNGE"), [], "EXPUNGE during SEARCH")
        self.assertEqual(search_numbers(untagged), [1, 2, 3, 4])
        untagged = self.ok(b, "q2", "SEARCH FLAGGED")
        self.assertEqual(search_numbers(untagged), [3], "b's numbering is unchanged")
        # NOOP tells
        untagged = self.ok(b, "n", "NOOP")
        self.assertEqual(untagged_numbers(untagged, "EXPUNGE"), [2])
        f = fetch_by_seq(self.ok(b, "f2", "FETCH 1:* BODY.PEEK[TEXT]"))
        self.assertEqual([f[i]["BODY[TEXT]"] for i in (1, 2, 3)],
                         [b"body 1\r\n", b"body 3\r\n", b"body 4\r\n"])
        f = fetch_by_seq(self.ok(b, "f3", "FETCH 2 FLAGS"))
        self.assertIn("\\Flagged", f[2]["FLAGS"])

    def test_expunge_then_fetch_by_uid(self):
        a = self.session()
        self.fill(a, "INBOX", 3)
        self.ok(a, "s", "SELECT INBOX")
        b = self.session(select="INBOX")
        self.ok(a, "d", "STORE 1 +FLAGS.SILENT (\\Deleted)")
        self.ok(a, "x", "EXPUNGE")
        untagged, t = command_raw(b, "u", "UID FETCH 1:* UID")
        self.assertTagged(t, "u", "OK")
        # a UID command may report the EXPUNGE; if it does, numbering follows it
        tracker = SeqTracker(self, 3)
        tracker.feed(untagged)
        untagged = self.ok(b, "n", "NOOP")
        tracker.feed(untagged)
        self.assertEqual(tracker.count, 2)

    def test_expunge_of_several_reaches_other_session_consistently(self):
        a = self.session()
        self.fill(a, "INBOX", 8)
        self.ok(a, "s", "SELECT INBOX")
        b = self.session(select="INBOX")
        self.ok(a, "d", "STORE 2,3,5,8 +FLAGS.SILENT (\\Deleted)")
        self.ok(a, "x", "EXPUNGE")
        seqs = untagged_numbers(self.ok(b, "n", "NOOP"), "EXPUNGE")
        left = list(range(1, 9))
        for s in seqs:
            del left[s - 1]
        self.assertEqual(left, [1, 4, 6, 7])

    def test_new_messages_during_store_fetch_search(self):
        """Messages appended by a while b works: b may be told EXISTS during its STORE,
        FETCH or SEARCH, but nothing may name a message before its EXISTS (SEARCH
        results included), and 1:* covers exactly what b knows."""
        a = self.session()
        self.append_ok(a, "INBOX", make_message(), tag="a0")
        b = self.session(select="INBOX")
        tr = SeqTracker(self, 1)
        for i, cmd in enumerate(("STORE 1:* +FLAGS (\\Flagged)", "FETCH 1:* FLAGS",
                                 "SEARCH ALL", "SEARCH UNFLAGGED", "STORE 1:* -FLAGS ($x)")):
            known = tr.count
            self.append_ok(a, "INBOX", make_message(), tag=f"a{i + 1}")
            untagged = self.ok(b, f"c{i}", cmd)
            tr.feed(untagged)
            nums = search_numbers(untagged)
            if nums is not None:
                self.assertTrue(all(1 <= n <= tr.count for n in nums), (nums, tr.count))
                if cmd == "SEARCH ALL":
                    self.assertIn(nums, (list(range(1, known + 1)),
                                         list(range(1, tr.count + 1))))
        tr.feed(self.ok(b, "n", "NOOP"))
        self.assertEqual(tr.count, 6)

    def test_flag_changes_reach_other_session(self):
        a = self.session()
        self.fill(a, "INBOX", 2)
        self.ok(a, "s", "SELECT INBOX")
        b = self.session(select="INBOX")
        self.ok(a, "f", "STORE 1 +FLAGS (\\Flagged \\Answered)")
        f = fetch_by_seq(self.ok(b, "n", "NOOP"))
        self.assertEqual(sorted(f), [1])
        self.assertTrue({"\\Flagged", "\\Answered"} <= set(f[1]["FLAGS"]))
        # .SILENT only silences the storing session
        untagged = self.ok(a, "f2", "STORE 1 -FLAGS.SILENT (\\Flagged)")
        self.assertEqual(fetches(untagged), [])
        f = fetch_by_seq(self.ok(b, "n2", "NOOP"))
        self.assertIn(1, f)
        self.assertNotIn("\\Flagged", f[1]["FLAGS"])
        self.assertIn("\\Answered", f[1]["FLAGS"])
        # a flag change made and undone before b looks may or may not be reported, but
        # what b gets in the end is the current state
        self.ok(a, "f3", "STORE 2 +FLAGS.SILENT (\\Seen)")
        self.ok(a, "f4", "STORE 2 -FLAGS.SILENT (\\Seen)")
        self.ok(b, "n3", "NOOP")
        f = fetch_by_seq(self.ok(b, "g", "FETCH 2 FLAGS"))
        self.assertNotIn("\\Seen", f[2]["FLAGS"])

    def test_flag_change_by_other_seen_in_fetch_response(self):
        """A FETCH by b after a's STORE may carry the new flags; it must not carry the
        old ones afterwards."""
        a = self.session()
        self.fill(a, "INBOX", 1)
        self.ok(a, "s", "SELECT INBOX")
        b = self.session(select="INBOX")
        self.ok(a, "f", "STORE 1 +FLAGS.SILENT (\\Flagged)")
        merged = fetch_by_seq(self.ok(b, "g", "FETCH 1 FLAGS"))
        self.assertIn("\\Flagged", merged[1]["FLAGS"])

    def test_new_keyword_reaches_other_session(self):
        a = self.session()
        self.fill(a, "INBOX", 1)
        self.ok(a, "s", "SELECT INBOX")
        b = self.session(select="INBOX")
        self.ok(a, "f", "STORE 1 +FLAGS ($Important)")
        untagged = self.ok(b, "n", "NOOP")
        flags_lines = [t for t in texts(untagged) if t.startswith("* FLAGS ")]
        self.assertTrue(flags_lines and "$Important" in flags_lines[-1],
                        f"b must get * FLAGS with the new keyword: {untagged!r}")
        perm = [t for t in texts(untagged) if "[PERMANENTFLAGS" in t]
        if perm:
            self.assertIn("$Important", perm[-1])
            self.assertIn("\\*", perm[-1])
        f = fetch_by_seq(untagged)
        self.assertIn("$Important", f[1]["FLAGS"])

    def test_store_touching_expunged_message_succeeds(self):
        """RFC 2180 §4.2.1: a STORE over a message another session expunged stores
        the rest and answers OK (clients take NO for a failed command)."""
        a = self.session()
        self.fill(a, "INBOX", 3)
        self.ok(a, "s", "SELECT INBOX")
        b = self.session(select="INBOX")
        self.ok(a, "d", "STORE 2 +FLAGS.SILENT (\\Deleted)")
        self.ok(a, "x", "EXPUNGE")
        for tag, cmd in (("s1", "STORE 1:3 +FLAGS (\\Flagged)"),
                         ("s2", "STORE 2 FLAGS (\\Answered)")):
            untagged, t = command_raw(b, tag, cmd)
            self.assertTagged(t, tag, "OK")
            self.assertEqual(untagged_numbers(untagged, "EXPUNGE"), [], "EXPUNGE during STORE")
        # UID STORE may carry the EXPUNGE (RFC 3501 §7.4.1); 2 is not there any more
        uids = [v["UID"] for _, v in sorted(fetch_by_seq(self.ok(b, "u", "FETCH 1:3 UID")).items())]
        untagged, t = command_raw(b, "s3", f"UID STORE {uids[0]}:{uids[2]} +FLAGS.SILENT (\\Seen)")
        self.assertTagged(t, "s3", "OK")
        untagged += self.ok(b, "n", "NOOP")
        self.assertEqual(untagged_numbers(untagged, "EXPUNGE"), [2])
        f = fetch_by_seq(self.ok(b, "f", "FETCH 1:* (UID FLAGS)"))
        self.assertEqual(sorted(f), [1, 2])
        self.assertEqual([f[1]["UID"], f[2]["UID"]], [uids[0], uids[2]])
        for seq in (1, 2):
            self.assertIn("\\Flagged", f[seq]["FLAGS"])
            self.assertIn("\\Seen", f[seq]["FLAGS"])

    def test_keyword_announced_before_fetch_shows_it(self):
        """RFC 3501 §7.2.6: a keyword another session created is announced with
        * FLAGS before the first response of this session that carries it, also
        inside FETCH and STORE (not only at the next NOOP)."""
        for cmd in ("FETCH 1 FLAGS", "STORE 1 +FLAGS (\\Seen)", "FETCH 1 BODY[]"):
            with self.subTest(cmd=cmd):
                a = self.session()
                box = "kw%d" % abs(hash(cmd))
                self.ok(a, "c", f"CREATE {box}")
                self.fill(a, box, 1)
                self.ok(a, "s", f"SELECT {box}")
                b = self.session(select=box)
                self.ok(a, "f", "STORE 1 +FLAGS.SILENT ($Label3)")
                untagged = self.ok(b, "g", cmd)
                lines = texts(untagged)
                flags_at = [i for i, t in enumerate(lines) if t.startswith("* FLAGS ")]
                fetch_at = [i for i, t in enumerate(lines) if "$Label3" in t and " FETCH " in t]
                self.assertTrue(fetch_at, lines)
                self.assertTrue(flags_at and flags_at[0] < fetch_at[0] and
                                "$Label3" in lines[flags_at[0]], lines)
                # not announced twice
                untagged = self.ok(b, "n", "NOOP")
                self.assertFalse([t for t in texts(untagged) if t.startswith("* FLAGS ")],
                                 texts(untagged))

    def test_logout_sends_only_bye_and_ok(self):
        """RFC 3501 §6.1.3: LOGOUT answers BYE and OK; pending changes of other
        sessions are not reported any more (the client tears its view down)."""
        a = self.session()
        self.fill(a, "INBOX", 3)
        self.ok(a, "s", "SELECT INBOX")
        b = self.session(select="INBOX")
        self.ok(a, "d", "STORE 1 +FLAGS.SILENT (\\Deleted)")
        self.ok(a, "f", "STORE 2 +FLAGS.SILENT (\\Flagged)")
        self.ok(a, "x", "EXPUNGE")
        self.append_ok(a, "INBOX", make_message())
        untagged, t = command_raw(b, "z", "LOGOUT")
        self.assertTagged(t, "z", "OK")
        lines = texts(untagged)
        self.assertEqual(len(lines), 1, lines)
        self.assertTrue(lines[0].startswith("* BYE "), lines)

    def test_own_append_announced_and_other_session_too(self):
        a = self.session(select="INBOX")
        b = self.session(select="INBOX")
        m = make_message()
        a.send(f"ap APPEND INBOX {{{len(m)}+}}\r\n".encode() + m + b"\r\n")
        untagged, t = a.read_tagged("ap")
        self.assertTagged(t, "ap", "OK")
        self.assertEqual(untagged_numbers(untagged, "EXISTS"), [1])
        self.assertEqual(untagged_numbers(self.ok(b, "n", "NOOP"), "EXISTS"), [1])

    def test_concurrent_appends_unique_uids(self):
        a = self.session()
        b = self.session()
        ma = [make_message(subject=f"a{i}") for i in range(40)]
        mb = [make_message(subject=f"b{i}") for i in range(40)]
        results = {}

        def run(name, c, msgs):
            try:
                results[name] = append_many(c, "INBOX", msgs, tag=name, timeout=30)
            except Exception as e:   # reported below
                results[name] = e
        ts = [threading.Thread(target=run, args=("ta", a, ma)),
              threading.Thread(target=run, args=("tb", b, mb))]
        for t in ts:
            t.start()
        for t in ts:
            t.join(40)
        uids = []
        for name in ("ta", "tb"):
            self.assertIsInstance(results.get(name), list, results.get(name))
            for line in results[name]:
                self.assertIn(" OK ", line)
                uids.append(int(line.split("[APPENDUID ")[1].split("]")[0].split()[1]))
        self.assertEqual(len(set(uids)), 80)
        self.assertEqual(status_items(self.ok(a, "st", "STATUS INBOX (MESSAGES UIDNEXT)")),
                         [("MESSAGES", 80), ("UIDNEXT", max(uids) + 1)])

    def test_recent_in_exactly_one_session(self):
        a = self.session(select="INBOX")
        b = self.session(select="INBOX")
        c = self.session()
        self.append_ok(c, "INBOX", make_message())
        ua = self.ok(a, "n", "NOOP")
        ub = self.ok(b, "n", "NOOP")
        self.assertEqual(untagged_numbers(ua, "EXISTS"), [1])
        self.assertEqual(untagged_numbers(ub, "EXISTS"), [1])
        fa = fetch_by_seq(self.ok(a, "f", "FETCH 1 FLAGS"))[1]
        fb = fetch_by_seq(self.ok(b, "f", "FETCH 1 FLAGS"))[1]
        recent = ["\\Recent" in fa["FLAGS"], "\\Recent" in fb["FLAGS"]]
        self.assertEqual(recent.count(True), 1, f"a: {fa}, b: {fb}")
        ra = (untagged_numbers(ua, "RECENT") or [0])[-1]
        rb = (untagged_numbers(ub, "RECENT") or [0])[-1]
        self.assertEqual(sorted([ra, rb]), [0, 1])
        self.assertEqual(recent, [ra == 1, rb == 1])
        # a later session does not get it
        d = self.session()
        self.assertEqual(select_info(self.ok(d, "s", "SELECT INBOX"))["recent"], 0)
        # search agrees with the flags
        self.assertEqual(search_numbers(self.ok(a, "q", "SEARCH RECENT")),
                         [1] if recent[0] else [])
        self.assertEqual(search_numbers(self.ok(b, "q", "SEARCH RECENT")),
                         [1] if recent[1] else [])

    def test_status_sees_other_sessions_changes(self):
        a = self.session(select="INBOX")
        b = self.session()
        self.append_ok(b, "INBOX", make_message())
        self.assertEqual(status_items(self.ok(a, "st", "STATUS INBOX (MESSAGES)")),
                         [("MESSAGES", 1)])

    def test_copy_and_move_into_others_selected_mailbox(self):
        a = self.session()
        self.fill(a, "INBOX", 3)
        self.ok(a, "s", "SELECT INBOX")
        b = self.session(select="Archive")
        self.ok(a, "c", "COPY 1 Archive")
        self.ok(a, "m", "MOVE 2:3 Archive")
        tracker = SeqTracker(self, 0)
        untagged = self.ok(b, "n", "NOOP")
        tracker.feed(untagged)
        self.assertEqual(tracker.count, 3)
        f = fetch_by_seq(self.ok(b, "f", "FETCH 1:* BODY.PEEK[TEXT]"))
        self.assertEqual(sorted(v["BODY[TEXT]"] for v in f.values()),
                         [b"body 1\r\n", b"body 2\r\n", b"body 3\r\n"])


class ThreeSessions(MailTestCase):
    def test_three_sessions(self):
        a = self.session(select="INBOX")
        b = self.session(select="INBOX")
        c = self.session(select="INBOX")
        tb, tc = SeqTracker(self, 0), SeqTracker(self, 0)
        for i in range(3):
            self.append_ok(a, "INBOX", make_message(subject=f"m{i}"), tag=f"a{i}")
        self.ok(a, "n", "NOOP")
        ub, uc = self.ok(b, "n", "NOOP"), self.ok(c, "n", "NOOP")
        tb.feed(ub)
        tc.feed(uc)
        self.assertEqual((tb.count, tc.count), (3, 3))
        # b flags, a and c see it
        self.ok(b, "f", "STORE 2 +FLAGS ($Shared)")
        for x, tag in ((a, "n1"), (c, "n1")):
            f = fetch_by_seq(self.ok(x, tag, "NOOP"))
            self.assertIn("$Shared", f[2]["FLAGS"])
        # c expunges 1; a is told on NOOP, b after a FETCH and a SEARCH that must not
        self.ok(c, "d", "STORE 1 +FLAGS.SILENT (\\Deleted)")
        self.assertEqual(untagged_numbers(self.ok(c, "x", "EXPUNGE"), "EXPUNGE"), [1])
        self.assertEqual(untagged_numbers(self.ok(a, "n2", "NOOP"), "EXPUNGE"), [1])
        ub = self.ok(b, "f2", "FETCH 1:3 FLAGS")
        self.assertEqual(untagged_numbers(ub, "EXPUNGE"), [])
        ub = self.ok(b, "q", "SEARCH KEYWORD $Shared")
        self.assertEqual(search_numbers(ub), [2])
        ub = self.ok(b, "n2", "NOOP")
        self.assertEqual(untagged_numbers(ub, "EXPUNGE"), [1])
        self.assertEqual(search_numbers(self.ok(b, "q2", "SEARCH KEYWORD $Shared")), [1])
        # the \Recent of the three messages went to exactly one session each
        counts = 0
        for x in (a, b, c):
            f = fetch_by_seq(self.ok(x, "r", "FETCH 1:* FLAGS"))
            counts += sum("\\Recent" in v["FLAGS"] for v in f.values())
        self.assertEqual(counts, 2)

    def test_many_sessions_told(self):
        writer = self.session()
        readers = [self.session(select="INBOX") for _ in range(8)]
        append_many(writer, "INBOX", [make_message(subject=str(i)) for i in range(5)])
        for i, r in enumerate(readers):
            self.assertEqual(untagged_numbers(self.ok(r, f"n{i}", "NOOP"), "EXISTS")[-1], 5)


if __name__ == "__main__":
    unittest.main()
