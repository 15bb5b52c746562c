"""STORE / UID STORE (RFC 3501 §6.4.6), COPY / UID COPY (§6.4.7, RFC 4315 COPYUID),
MOVE / UID MOVE (RFC 6851) and UID EXPUNGE (RFC 4315)."""

import unittest

from mailhelpers import (MailTestCase, command_raw, expand_uidset, fetch_by_seq, fetches,
                         resp_code, search_numbers, select_info, status_items,
                         texts, untagged_numbers)


class Store(MailTestCase):
    def setUp(self):
        super().setUp()
        self.c = self.session()
        self.fill(self.c, "INBOX", 4)
        self.ok(self.c, "s", "SELECT INBOX")

    def flags(self, seq, c=None):
        f = fetch_by_seq(self.ok(c or self.c, "g", f"FETCH {seq} FLAGS"))
        return {k: set(v["FLAGS"]) - {"\\Recent"} for k, v in f.items()}

    def test_store_replace_add_remove(self):
        f = fetch_by_seq(self.ok(self.c, "a", "STORE 1 FLAGS (\\Seen \\Flagged)"))
        self.assertEqual(set(f[1]["FLAGS"]) - {"\\Recent"}, {"\\Seen", "\\Flagged"})
        f = fetch_by_seq(self.ok(self.c, "b", "STORE 1 +FLAGS (\\Answered)"))
        self.assertEqual(set(f[1]["FLAGS"]) - {"\\Recent"},
                         {"\\Seen", "\\Flagged", "\\Answered"})
        f = fetch_by_seq(self.ok(self.c, "c", "STORE 1 -FLAGS (\\Seen \\Flagged)"))
        self.assertEqual(set(f[1]["FLAGS"]) - {"\\Recent"}, {"\\Answered"})
        f = fetch_by_seq(self.ok(self.c, "d", "STORE 1 FLAGS ()"))
        self.assertEqual(set(f[1]["FLAGS"]) - {"\\Recent"}, set())
        self.assertEqual(self.flags(1), {1: set()})

    def test_store_keeps_recent(self):
        self.ok(self.c, "a", "STORE 1 FLAGS (\\Seen)")
        f = fetch_by_seq(self.ok(self.c, "g", "FETCH 1 FLAGS"))
        self.assertIn("\\Recent", f[1]["FLAGS"], "STORE FLAGS must not remove \\Recent")

    def test_store_all_system_flags(self):
        allf = "\\Seen \\Answered \\Flagged \\Deleted \\Draft"
        self.ok(self.c, "a", f"STORE 2 FLAGS ({allf})")
        self.assertEqual(self.flags(2), {2: set(allf.split())})

    def test_store_unparenthesised_flags(self):
        self.ok(self.c, "a", "STORE 1 +FLAGS \\Seen")
        self.ok(self.c, "b", "STORE 1 +FLAGS \\Flagged $Kw")
        self.assertEqual(self.flags(1), {1: {"\\Seen", "\\Flagged", "$Kw"}})

    def test_store_silent(self):
        for i, op in enumerate(("FLAGS.SILENT", "+FLAGS.SILENT", "-FLAGS.SILENT")):
            untagged = self.ok(self.c, f"s{i}", f"STORE 1:2 {op} (\\Flagged)")
            self.assertEqual(fetches(untagged), [], op)
        self.ok(self.c, "a", "STORE 3 +FLAGS.SILENT (\\Deleted $Silent)")
        self.assertEqual(self.flags(3), {3: {"\\Deleted", "$Silent"}})

    def test_store_range_reports_each(self):
        f = fetch_by_seq(self.ok(self.c, "a", "STORE 1:* +FLAGS (\\Seen)"))
        self.assertEqual(sorted(f), [1, 2, 3, 4])
        f = fetch_by_seq(self.ok(self.c, "b", "STORE 2,4 -FLAGS (\\Seen)"))
        self.assertEqual(sorted(f), [2, 4])

    def test_store_keyword_appears_in_flags_and_permanentflags(self):
        untagged = self.ok(self.c, "a", "STORE 1 +FLAGS ($Project)")
        flags_lines = [t for t in texts(untagged) if t.startswith("* FLAGS ")]
        self.assertTrue(flags_lines and "$Project" in flags_lines[-1], untagged)
        other = self.session()
        info = select_info(self.ok(other, "s", "SELECT INBOX"))
        self.assertIn("$Project", info["flags"])
        self.assertIn("$Project", info["permanentflags"])
        self.assertIn("\\*", info["permanentflags"])
        self.assertIn("$Project", self.flags(1, other)[1])

    def test_keyword_case_insensitive(self):
        self.ok(self.c, "a", "STORE 1 +FLAGS ($Label)")
        self.ok(self.c, "b", "STORE 1 -FLAGS ($LABEL)")
        self.assertEqual(self.flags(1), {1: set()})

    def test_many_keywords(self):
        kws = [f"kw{i}" for i in range(40)]
        self.ok(self.c, "a", f"STORE 1 +FLAGS ({' '.join(kws)})")
        self.assertEqual(self.flags(1), {1: set(kws)})
        self.ok(self.c, "b", f"STORE 2 FLAGS ({' '.join(kws[::2])})")
        self.assertEqual(self.flags(2), {2: set(kws[::2])})

    def test_keyword_limit_fails_cleanly(self):
        """A STORE that cannot be done (NO, e.g. [LIMIT]) changes nothing: no keyword is
        left registered in the mailbox, and new keywords can still be created. If the
        mailbox cannot take more keywords, PERMANENTFLAGS must stop offering \\* (RFC 3501
        §7.1: \\* means new keywords can be created)."""
        kws = [f"k{i}" for i in range(300)]
        untagged, t = command_raw(self.c, "a", f"STORE 1 +FLAGS ({' '.join(kws)})")
        if t.startswith("a OK"):
            self.assertEqual(self.flags(1), {1: set(kws)})
            return
        self.assertTagged(t, "a", "NO")
        self.assertEqual(self.flags(1), {1: set()}, "the failed STORE stored something")
        info = select_info(self.ok(self.c, "s2", "SELECT INBOX"))
        leaked = [k for k in info["flags"] if k in kws]
        self.assertEqual(leaked, [], "the failed STORE left keywords in * FLAGS")
        untagged, t = command_raw(self.c, "b", "STORE 1 +FLAGS ($AfterFailure)")
        self.assertTagged(t, "b", "OK")

    def test_permanentflags_without_star_when_keywords_exhausted(self):
        """Create keywords one by one until the server refuses: from then on \\* must not
        be offered in PERMANENTFLAGS."""
        refused = False
        for i in range(300):
            _, t = command_raw(self.c, f"k{i}", f"STORE {1 + i % 4} +FLAGS.SILENT (kw{i})")
            if not t.startswith(f"k{i} OK"):
                self.assertTagged(t, f"k{i}", "NO")
                refused = True
                break
        if not refused:
            return
        info = select_info(self.ok(self.c, "s2", "SELECT INBOX"))
        self.assertNotIn("\\*", info["permanentflags"],
                         "keywords are exhausted but PERMANENTFLAGS still offers \\*")

    def test_uid_store(self):
        self.ok(self.c, "d", "STORE 1 +FLAGS.SILENT (\\Deleted)")
        self.ok(self.c, "x", "EXPUNGE")
        f = fetch_by_seq(self.ok(self.c, "u", "UID STORE 3:4 +FLAGS (\\Flagged)"))
        self.assertEqual({s: v["UID"] for s, v in f.items()}, {2: "3", 3: "4"})
        for v in f.values():
            self.assertIn("\\Flagged", v["FLAGS"])
        untagged = self.ok(self.c, "u2", "UID STORE 2 +FLAGS.SILENT (\\Seen)")
        self.assertEqual(fetches(untagged), [])
        self.assertIn("\\Seen", self.flags(1)[1])
        # nonexistent UIDs: nothing, no error
        self.assertEqual(fetches(self.ok(self.c, "u3", "UID STORE 99 +FLAGS (\\Seen)")), [])

    def test_store_errors(self):
        cases = ["STORE 1 +FLAGS (\\Recent)", "STORE 1 +FLAGS (\\Bogus)",
                 "STORE 1 XFLAGS (\\Seen)", "STORE 1 +FLAGS", "STORE 1", "STORE",
                 "STORE 9 +FLAGS (\\Seen)", "STORE 0 +FLAGS (\\Seen)",
                 "STORE 1 +FLAGS ((\\Seen))", "STORE 1 FLAGS.LOUD (\\Seen)"]
        for i, cmd in enumerate(cases):
            untagged, t = command_raw(self.c, f"e{i}", cmd)
            self.assertTagged(t, f"e{i}", "BAD")
            self.assertEqual(fetches(untagged), [], cmd)

    def test_store_read_only_no(self):
        self.ok(self.c, "e", "EXAMINE INBOX")
        _, t = command_raw(self.c, "s", "STORE 1 +FLAGS (\\Seen)")
        self.assertTagged(t, "s", "NO")
        _, t = command_raw(self.c, "u", "UID STORE 1 +FLAGS (\\Seen)")
        self.assertTagged(t, "u", "NO")
        self.assertEqual(self.flags(1), {1: set()})

    def test_store_seen_changes_unseen_count(self):
        self.ok(self.c, "a", "STORE 1:3 +FLAGS.SILENT (\\Seen)")
        self.assertEqual(status_items(self.ok(self.c, "st", "STATUS INBOX (UNSEEN)")),
                         [("UNSEEN", 1)])

    def test_store_imaplib(self):
        m = self.imap()
        m.select("INBOX")
        typ, data = m.store("1:2", "+FLAGS", "(\\Flagged)")
        self.assertEqual(typ, "OK")
        self.assertEqual(len(data), 2)
        typ, data = m.uid("STORE", "3", "+FLAGS.SILENT", "(\\Seen)")
        self.assertEqual(typ, "OK")


class Copy(MailTestCase):
    def setUp(self):
        super().setUp()
        self.c = self.session()
        self.msgs = self.fill(self.c, "INBOX", 5)
        self.ok(self.c, "s", "SELECT INBOX")
        self.ok(self.c, "f", "STORE 2 +FLAGS.SILENT (\\Answered $Kw)")
        self.ok(self.c, "f2", "STORE 1 +FLAGS.SILENT (\\Seen)")

    def copyuid(self, tagged):
        code = resp_code(tagged, "COPYUID")
        self.assertIsNotNone(code, tagged)
        v, src, dst = code.split()
        return int(v), src, dst

    def test_copy_copyuid(self):
        _, t = command_raw(self.c, "c", "COPY 1:3 Trash")
        self.assertTagged(t, "c", "OK")
        v, src, dst = self.copyuid(t)
        self.assertEqual(expand_uidset(src), [1, 2, 3])
        self.assertEqual(len(expand_uidset(dst)), 3)
        info = select_info(self.ok(self.c, "s2", "EXAMINE Trash"))
        self.assertEqual(info["uidvalidity"], v)
        self.assertEqual(info["exists"], 3)

    def test_copyuid_compressed_ranges(self):
        _, t = command_raw(self.c, "c", "COPY 1:3,5 Archive")
        v, src, dst = self.copyuid(t)
        self.assertEqual(src, "1:3,5")
        self.assertEqual(dst, "1:4")

    def test_copyuid_pairs_in_order(self):
        # put something in Junk first so destination UIDs differ from source UIDs
        self.ok(self.c, "c0", "COPY 4 Junk")
        _, t = command_raw(self.c, "c", "COPY 5,2,1 Junk")
        _, src, dst = self.copyuid(t)
        src, dst = expand_uidset(src), expand_uidset(dst)
        self.assertEqual(sorted(src), [1, 2, 5])
        pairs = dict(zip(src, dst))
        self.ok(self.c, "e", "EXAMINE Junk")
        f = fetch_by_seq(self.ok(self.c, "g", "UID FETCH 1:* (UID BODY.PEEK[TEXT])"))
        by_uid = {int(v["UID"]): v["BODY[TEXT]"] for v in f.values()}
        for s, d in pairs.items():
            self.assertEqual(by_uid[d], f"body {s}\r\n".encode(), (s, d))

    def test_copy_keeps_flags_and_internaldate(self):
        self.ok(self.c, "c", "COPY 1:2 Archive")
        src = fetch_by_seq(self.ok(self.c, "g", "FETCH 1:2 (FLAGS INTERNALDATE BODY.PEEK[])"))
        self.ok(self.c, "s2", "SELECT Archive")
        dst = fetch_by_seq(self.ok(self.c, "g2", "FETCH 1:2 (FLAGS INTERNALDATE BODY.PEEK[])"))
        for i in (1, 2):
            self.assertEqual(set(dst[i]["FLAGS"]) - {"\\Recent"},
                             set(src[i]["FLAGS"]) - {"\\Recent"})
            self.assertEqual(dst[i]["INTERNALDATE"], src[i]["INTERNALDATE"])
            self.assertEqual(dst[i]["BODY[]"], src[i]["BODY[]"])
            self.assertIn("\\Recent", dst[i]["FLAGS"], "a copy is a new message: \\Recent")

    def test_copy_trycreate(self):
        untagged, t = command_raw(self.c, "c", "COPY 1 NoSuchBox")
        self.assertTagged(t, "c", "NO", "[TRYCREATE]")
        self.assertNotIn("NoSuchBox", [l.split()[-1] for l in texts(
            self.ok(self.c, "l", 'LIST "" *'))])

    def test_copy_errors(self):
        for i, cmd in enumerate(("COPY 9 Trash", "COPY 0 Trash", "COPY 1", "COPY",
                                 "COPY x Trash")):
            _, t = command_raw(self.c, f"e{i}", cmd)
            self.assertTagged(t, f"e{i}", "BAD")
        self.assertEqual(status_items(self.ok(self.c, "st", "STATUS Trash (MESSAGES)")),
                         [("MESSAGES", 0)])

    def test_copy_from_read_only_allowed(self):
        self.ok(self.c, "e", "EXAMINE INBOX")
        _, t = command_raw(self.c, "c", "COPY 1 Trash")
        self.assertTagged(t, "c", "OK", "[COPYUID ")

    def test_copy_to_noselect_no(self):
        self.ok(self.c, "cr", "CREATE ns/child")
        self.ok(self.c, "d", "DELETE ns")
        _, t = command_raw(self.c, "c", "COPY 1 ns")
        self.assertTagged(t, "c", "NO")

    def test_uid_copy(self):
        self.ok(self.c, "d", "STORE 1 +FLAGS.SILENT (\\Deleted)")
        self.ok(self.c, "x", "EXPUNGE")
        _, t = command_raw(self.c, "u", "UID COPY 2:4 Trash")
        self.assertTagged(t, "u", "OK")
        _, src, dst = self.copyuid(t)
        self.assertEqual(src, "2:4")
        # nonexistent UIDs only: OK, no COPYUID required, nothing copied
        _, t = command_raw(self.c, "u2", "UID COPY 100:200 Trash")
        self.assertTagged(t, "u2", "OK")
        self.assertEqual(status_items(self.ok(self.c, "st", "STATUS Trash (MESSAGES)")),
                         [("MESSAGES", 3)])

    def test_copy_into_same_mailbox(self):
        untagged, t = command_raw(self.c, "c", "COPY 1 INBOX")
        self.assertTagged(t, "c", "OK")
        _, src, dst = self.copyuid(t)
        self.assertEqual(dst, "6")
        self.assertIn(6, untagged_numbers(untagged, "EXISTS"))

    def test_copy_does_not_touch_source(self):
        self.ok(self.c, "c", "COPY 1:5 Trash")
        untagged = self.ok(self.c, "n", "NOOP")
        self.assertEqual(untagged_numbers(untagged, "EXPUNGE"), [])
        self.assertEqual(len(fetches(self.ok(self.c, "g", "FETCH 1:* UID"))), 5)

    def test_copy_imaplib(self):
        m = self.imap()
        m.select("INBOX")
        typ, data = m.copy("1:2", "Trash")
        self.assertEqual(typ, "OK")
        self.assertIn(b"[COPYUID ", data[0])


class Move(MailTestCase):
    def setUp(self):
        super().setUp()
        self.c = self.session()
        self.fill(self.c, "INBOX", 5)
        self.ok(self.c, "s", "SELECT INBOX")

    def test_move(self):
        untagged, t = command_raw(self.c, "m", "MOVE 2:3 Trash")
        self.assertTagged(t, "m", "OK")
        lines = texts(untagged)
        cu = [l for l in lines if l.startswith("* OK [COPYUID ")]
        self.assertEqual(len(cu), 1, lines)
        self.assertLess(lines.index(cu[0]),
                        min(i for i, l in enumerate(lines) if l.endswith(" EXPUNGE")),
                        "COPYUID comes before the EXPUNGEs (RFC 6851 §4.3)")
        v, src, dst = resp_code(cu[0], "COPYUID").split()
        self.assertEqual(src, "2:3")
        seqs = untagged_numbers(untagged, "EXPUNGE")
        left = list(range(1, 6))
        for s in seqs:
            del left[s - 1]
        self.assertEqual(left, [1, 4, 5])
        f = fetch_by_seq(self.ok(self.c, "g", "FETCH 1:* BODY.PEEK[TEXT]"))
        self.assertEqual([f[i]["BODY[TEXT]"] for i in (1, 2, 3)],
                         [b"body 1\r\n", b"body 4\r\n", b"body 5\r\n"])
        self.ok(self.c, "e", "EXAMINE Trash")
        f = fetch_by_seq(self.ok(self.c, "g2", "FETCH 1:* (UID BODY.PEEK[TEXT])"))
        self.assertEqual(sorted(v["BODY[TEXT]"] for v in f.values()),
                         [b"body 2\r\n", b"body 3\r\n"])
        self.assertEqual(sorted(int(v["UID"]) for v in f.values()), expand_uidset(dst))

    def test_move_keeps_flags(self):
        self.ok(self.c, "f", "STORE 1 +FLAGS.SILENT (\\Flagged $Kw \\Seen)")
        self.ok(self.c, "m", "MOVE 1 Archive")
        self.ok(self.c, "e", "EXAMINE Archive")
        f = fetch_by_seq(self.ok(self.c, "g", "FETCH 1 FLAGS"))
        self.assertTrue({"\\Flagged", "$Kw", "\\Seen"} <= set(f[1]["FLAGS"]))

    def test_uid_move(self):
        untagged, t = command_raw(self.c, "m", "UID MOVE 1,5 Junk")
        self.assertTagged(t, "m", "OK")
        cu = [l for l in texts(untagged) if "[COPYUID " in l]
        self.assertEqual(len(cu), 1)
        self.assertEqual(resp_code(cu[0], "COPYUID").split()[1], "1,5")
        self.assertEqual(len(untagged_numbers(untagged, "EXPUNGE")), 2)
        f = fetch_by_seq(self.ok(self.c, "g", "FETCH 1:* UID"))
        self.assertEqual(sorted(int(v["UID"]) for v in f.values()), [2, 3, 4])

    def test_move_watched_by_second_session(self):
        b = self.session(select="INBOX")
        t_ = self.session(select="Trash")
        self.ok(self.c, "m", "MOVE 1:2 Trash")
        # b is told nothing during FETCH, then the EXPUNGEs on NOOP
        self.assertEqual(untagged_numbers(self.ok(b, "f", "FETCH 1:5 UID"), "EXPUNGE"), [])
        seqs = untagged_numbers(self.ok(b, "n", "NOOP"), "EXPUNGE")
        self.assertEqual(len(seqs), 2)
        f = fetch_by_seq(self.ok(b, "g", "FETCH 1:* UID"))
        self.assertEqual(sorted(int(v["UID"]) for v in f.values()), [3, 4, 5])
        # the session on Trash sees two new messages
        self.assertEqual(untagged_numbers(self.ok(t_, "n", "NOOP"), "EXISTS")[-1:], [2])

    def test_move_trycreate_nothing_expunged(self):
        untagged, t = command_raw(self.c, "m", "MOVE 1 NoSuchBox")
        self.assertTagged(t, "m", "NO", "[TRYCREATE]")
        self.assertEqual(untagged_numbers(untagged, "EXPUNGE"), [])
        self.assertEqual(len(fetches(self.ok(self.c, "g", "FETCH 1:* UID"))), 5)

    def test_move_read_only_no(self):
        self.ok(self.c, "e", "EXAMINE INBOX")
        untagged, t = command_raw(self.c, "m", "MOVE 1 Trash")
        self.assertTagged(t, "m", "NO")
        self.assertEqual(status_items(self.ok(self.c, "st", "STATUS Trash (MESSAGES)")),
                         [("MESSAGES", 0)])

    def test_move_errors(self):
        for i, cmd in enumerate(("MOVE 9 Trash", "MOVE 1", "MOVE")):
            _, t = command_raw(self.c, f"e{i}", cmd)
            self.assertTagged(t, f"e{i}", "BAD")

    def test_move_does_not_expunge_other_deleted(self):
        self.ok(self.c, "d", "STORE 5 +FLAGS.SILENT (\\Deleted)")
        untagged = self.ok(self.c, "m", "MOVE 1 Trash")
        self.assertEqual(untagged_numbers(untagged, "EXPUNGE"), [1])
        self.assertEqual(len(fetches(self.ok(self.c, "g", "FETCH 1:* UID"))), 4)

    def test_move_into_same_mailbox(self):
        untagged, t = command_raw(self.c, "m", "MOVE 1 INBOX")
        self.assertRegex(t, r"^m (OK|NO) ")
        n = len(fetches(self.ok(self.c, "g", "FETCH 1:* UID")))
        self.assertEqual(n, 5)


class UidExpunge(MailTestCase):
    def test_uid_expunge_only_given_uids(self):
        c = self.session()
        self.fill(c, "INBOX", 5)
        self.ok(c, "s", "SELECT INBOX")
        self.ok(c, "d", "STORE 1:4 +FLAGS.SILENT (\\Deleted)")
        untagged = self.ok(c, "x", "UID EXPUNGE 2:3")
        seqs = untagged_numbers(untagged, "EXPUNGE")
        left = list(range(1, 6))
        for s in seqs:
            del left[s - 1]
        self.assertEqual(left, [1, 4, 5])
        f = fetch_by_seq(self.ok(c, "g", "FETCH 1:* (UID FLAGS)"))
        self.assertEqual([int(f[i]["UID"]) for i in (1, 2, 3)], [1, 4, 5])
        self.assertIn("\\Deleted", f[1]["FLAGS"])
        self.assertIn("\\Deleted", f[2]["FLAGS"])
        # a UID that is not \Deleted is not expunged
        self.assertEqual(untagged_numbers(self.ok(c, "x2", "UID EXPUNGE 5"), "EXPUNGE"), [])
        self.assertEqual(untagged_numbers(self.ok(c, "x3", "UID EXPUNGE 1:*"), "EXPUNGE"),
                         [1, 1])

    def test_uid_expunge_errors(self):
        c = self.session()
        self.fill(c, "INBOX", 1)
        self.ok(c, "s", "SELECT INBOX")
        _, t = command_raw(c, "x", "UID EXPUNGE")
        self.assertTagged(t, "x", "BAD")
        self.ok(c, "e", "EXAMINE INBOX")
        _, t = command_raw(c, "y", "UID EXPUNGE 1")
        self.assertTagged(t, "y", "NO")

    def test_uid_expunge_seen_by_other(self):
        a = self.session()
        self.fill(a, "INBOX", 3)
        self.ok(a, "s", "SELECT INBOX")
        b = self.session(select="INBOX")
        self.ok(a, "d", "STORE 1:3 +FLAGS.SILENT (\\Deleted)")
        self.ok(a, "x", "UID EXPUNGE 2")
        self.assertEqual(untagged_numbers(self.ok(b, "n", "NOOP"), "EXPUNGE"), [2])

    def test_uid_command_errors(self):
        c = self.session()
        self.fill(c, "INBOX", 1)
        self.ok(c, "s", "SELECT INBOX")
        for i, cmd in enumerate(("UID", "UID NOOP", "UID FETCH", "UID SELECT INBOX",
                                 "UID BOGUS 1")):
            _, t = command_raw(c, f"u{i}", cmd)
            self.assertTagged(t, f"u{i}", "BAD")
        self.assertEqual(search_numbers(self.ok(c, "q", "UID SEARCH ALL")), [1])


if __name__ == "__main__":
    unittest.main()
