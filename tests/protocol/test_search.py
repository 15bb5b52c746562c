"""SEARCH and UID SEARCH (RFC 3501 §6.4.4): every search key one by one, combinations,
sequence sets, CHARSET, errors. (Search in decoded MIME parts and encoded words:
test_fetch_mime.py.)"""

import unittest

from mailhelpers import MailTestCase, command_raw, make_message, search_numbers

# (message, flags, internal date)
FIXTURE_OLD = [
    (make_message(from_="Alice Anders <alice@example.org>", to="Bob <bob@example.org>",
                  cc="Carol <carol@example.org>", subject="Hello world",
                  date="Wed, 01 Jan 2020 10:00:00 +0000", body="apples and oranges\r\n"),
     ["\\Seen", "\\Answered"], "01-Jan-2020 10:00:00 +0000"),
    (make_message(from_="Bob <bob@example.org>", to="Alice <alice@example.org>",
                  bcc="Dave <dave@example.org>", subject="Re: lunch plans",
                  date="Tue, 15 Jun 2021 12:00:00 +0000", headers=["X-Priority: 1"],
                  body="bananas " * 1000 + "\r\n"),
     ["\\Flagged", "$Work"], "15-Jun-2021 12:00:00 +0000"),
    (make_message(from_="carol@example.org", to="dave@example.org", subject="Draft of report",
                  date="Sat, 31 Dec 2022 23:00:00 +0000", headers=["X-Priority: 5"],
                  body="cherries\r\n"),
     ["\\Draft", "\\Deleted", "\\Seen"], "31-Dec-2022 23:00:00 +0000"),
    (make_message(from_="Dave <dave@example.org>", to="Eve <eve@example.org>",
                  subject="Grüße aus Köln", date="Sun, 01 Jan 2023 08:00:00 +0000",
                  body="Schöne Grüße\r\n"),
     [], "01-Jan-2023 08:00:00 +0000"),
]
FIXTURE_NEW = [
    (make_message(from_="Eve <eve@example.org>", to="Alice <alice@example.org>",
                  subject="new arrival", date="Mon, 02 Jan 2023 09:00:00 +0000",
                  body="dates\r\n"),
     ["\\Seen"], "02-Jan-2023 09:00:00 +0000"),
    (make_message(from_="Frank <frank@example.org>", to="Bob <bob@example.org>",
                  subject="Another new", date="Tue, 03 Jan 2023 10:00:00 +0000",
                  body="elderberries\r\n"),
     [], "03-Jan-2023 10:00:00 +0000"),
]
ALL = [1, 2, 3, 4, 5, 6]


class SearchKeys(MailTestCase):
    def setUp(self):
        super().setUp()
        c = self.c = self.session()
        for i, (m, flags, date) in enumerate(FIXTURE_OLD):
            self.append_ok(c, "INBOX", m, flags=flags, date=date, tag=f"a{i}")
        # select once so that the first four lose \Recent
        self.ok(c, "s0", "SELECT INBOX")
        self.ok(c, "u0", "UNSELECT")
        for i, (m, flags, date) in enumerate(FIXTURE_NEW):
            self.append_ok(c, "INBOX", m, flags=flags, date=date, tag=f"b{i}")
        self.ok(c, "s", "SELECT INBOX")
        self.sizes = [len(m) for m, _, _ in FIXTURE_OLD + FIXTURE_NEW]

    def check(self, criteria, want, uid=False):
        cmd = ("UID SEARCH " if uid else "SEARCH ") + criteria
        untagged, t = command_raw(self.c, "q", cmd)
        self.assertTagged(t, "q", "OK")
        got = search_numbers(untagged)
        self.assertIsNotNone(got, f"no * SEARCH response for {cmd!r}")
        self.assertEqual(sorted(got), want, cmd)

    def test_all(self):
        self.check("ALL", ALL)

    def test_answered(self):
        self.check("ANSWERED", [1])

    def test_bcc(self):
        self.check("BCC dave", [2])
        self.check("BCC nobody", [])

    def test_before(self):
        self.check("BEFORE 1-Jan-2021", [1])
        self.check("BEFORE 01-Jan-2020", [])
        self.check("BEFORE 02-Jan-2020", [1])
        self.check('BEFORE "1-Jan-2023"', [1, 2, 3])

    def test_body(self):
        self.check("BODY oranges", [1])
        self.check("BODY BANANAS", [2])
        self.check('BODY "apples and"', [1])
        self.check("BODY Hello", [])   # in the Subject only
        self.check("BODY nothinglikethis", [])

    def test_cc(self):
        self.check("CC carol", [1])
        self.check("CC Carol@Example.Org", [1])
        self.check("CC bob", [])

    def test_deleted(self):
        self.check("DELETED", [3])

    def test_draft(self):
        self.check("DRAFT", [3])

    def test_flagged(self):
        self.check("FLAGGED", [2])

    def test_from(self):
        self.check("FROM alice", [1])
        self.check("FROM ALICE", [1])
        self.check('FROM "Alice Anders"', [1])
        self.check("FROM bob", [2])
        self.check("FROM example.org", ALL)
        self.check("FROM nobody", [])

    def test_header(self):
        self.check("HEADER X-Priority 1", [2])
        self.check("HEADER x-priority 5", [3])
        self.check("HEADER X-Priority 7", [])
        self.check('HEADER X-Priority ""', [2, 3])
        self.check('HEADER Subject ""', ALL)
        self.check('HEADER X-Absent ""', [])
        self.check("HEADER Subject lunch", [2])

    def test_keyword(self):
        self.check("KEYWORD $Work", [2])
        self.check("KEYWORD $work", [2])
        self.check("KEYWORD $Nope", [])

    def test_larger(self):
        self.check("LARGER 5000", [2])
        self.check(f"LARGER {self.sizes[0]}", sorted(i + 1 for i, s in enumerate(self.sizes)
                                                      if s > self.sizes[0]))
        self.check("LARGER 0", ALL)
        self.check("LARGER 4294967295", [])

    def test_new(self):
        self.check("NEW", [6])

    def test_not(self):
        self.check("NOT SEEN", [2, 4, 6])
        self.check("NOT NOT SEEN", [1, 3, 5])
        self.check("NOT FROM alice", [2, 3, 4, 5, 6])

    def test_old(self):
        self.check("OLD", [1, 2, 3, 4])

    def test_on(self):
        self.check("ON 15-Jun-2021", [2])
        self.check("ON 31-Dec-2022", [3])
        self.check("ON 14-Jun-2021", [])

    def test_or(self):
        self.check("OR FROM alice FROM bob", [1, 2])
        self.check("OR DELETED FLAGGED", [2, 3])
        self.check("OR OR ANSWERED DRAFT NEW", [1, 3, 6])

    def test_recent(self):
        self.check("RECENT", [5, 6])

    def test_seen(self):
        self.check("SEEN", [1, 3, 5])

    def test_sentbefore(self):
        self.check("SENTBEFORE 1-Jan-2021", [1])
        self.check("SENTBEFORE 1-Jan-2020", [])

    def test_senton(self):
        self.check("SENTON 31-Dec-2022", [3])
        self.check("SENTON 15-Jun-2021", [2])
        self.check("SENTON 16-Jun-2021", [])

    def test_sentsince(self):
        self.check("SENTSINCE 1-Jan-2023", [4, 5, 6])
        self.check("SENTSINCE 3-Jan-2023", [6])
        self.check("SENTSINCE 4-Jan-2023", [])

    def test_since(self):
        self.check("SINCE 1-Jan-2023", [4, 5, 6])
        self.check("SINCE 31-Dec-2022", [3, 4, 5, 6])
        self.check("SINCE 4-Jan-2023", [])

    def test_smaller(self):
        self.check("SMALLER 5000", [1, 3, 4, 5, 6])
        self.check(f"SMALLER {min(self.sizes)}", [])
        self.check(f"SMALLER {min(self.sizes) + 1}",
                   [i + 1 for i, s in enumerate(self.sizes) if s == min(self.sizes)])

    def test_subject(self):
        self.check("SUBJECT lunch", [2])
        self.check("SUBJECT HELLO", [1])
        self.check("SUBJECT new", [5, 6])
        self.check('SUBJECT "Re:"', [2])
        self.check("SUBJECT zzz", [])

    def test_text(self):
        self.check("TEXT apples", [1])           # body
        self.check("TEXT Hello", [1])            # header
        self.check("TEXT eve@example.org", [4, 5])
        self.check("TEXT elderberries", [6])
        self.check("TEXT zzzz", [])

    def test_to(self):
        self.check("TO alice", [2, 5])
        self.check("TO eve", [4])
        self.check("TO bob@example.org", [1, 6])
        self.check("TO nobody", [])

    def test_uid(self):
        self.check("UID 2:3", [2, 3])
        self.check("UID 1,6", [1, 6])
        self.check("UID 5:*", [5, 6])
        self.check("UID 100:200", [])
        self.check("UID *", [6])

    def test_unanswered(self):
        self.check("UNANSWERED", [2, 3, 4, 5, 6])

    def test_undeleted(self):
        self.check("UNDELETED", [1, 2, 4, 5, 6])

    def test_undraft(self):
        self.check("UNDRAFT", [1, 2, 4, 5, 6])

    def test_unflagged(self):
        self.check("UNFLAGGED", [1, 3, 4, 5, 6])

    def test_unkeyword(self):
        self.check("UNKEYWORD $Work", [1, 3, 4, 5, 6])
        self.check("UNKEYWORD $Nope", ALL)

    def test_unseen(self):
        self.check("UNSEEN", [2, 4, 6])

    def test_sequence_sets(self):
        self.check("2,4:5", [2, 4, 5])
        self.check("*", [6])
        self.check("1:*", ALL)
        self.check("5:3", [3, 4, 5])
        self.check("1:* SEEN", [1, 3, 5])
        self.check("NOT 1:3", [4, 5, 6])

    def test_sequence_past_end(self):
        """RFC 3501 §9: a number past the end should get BAD; a server may also clip the
        set to the messages there are. Either way, nothing that does not exist."""
        untagged, t = command_raw(self.c, "q", "SEARCH 1:7")
        if t.startswith("q OK"):
            self.assertEqual(search_numbers(untagged), ALL)
        else:
            self.assertTagged(t, "q", "BAD")

    def test_parentheses(self):
        self.check("(SEEN ANSWERED)", [1])
        self.check("OR (SEEN ANSWERED) FLAGGED", [1, 2])
        self.check("NOT (OR SEEN FLAGGED)", [4, 6])
        self.check("((SEEN))", [1, 3, 5])
        self.check("(SEEN) (UNDELETED)", [1, 5])

    def test_conjunction(self):
        self.check("SEEN FROM alice", [1])
        self.check("SEEN UNDELETED SINCE 1-Jan-2023", [5])
        self.check("TO bob SEEN", [1])

    def test_lower_case_keys(self):
        self.check("seen from alice", [1])
        self.check("or deleted flagged", [2, 3])

    def test_charset_utf8(self):
        subj = "Grüße".encode()
        self.c.send(b"q SEARCH CHARSET UTF-8 SUBJECT {%d+}\r\n%s\r\n" % (len(subj), subj))
        untagged, t = self.c.read_tagged("q")
        self.assertTagged(t, "q", "OK")
        self.assertEqual(search_numbers(untagged), [4])
        body = "Schöne".encode()
        self.c.send(b"q2 SEARCH CHARSET UTF-8 BODY {%d+}\r\n%s\r\n" % (len(body), body))
        untagged, t = self.c.read_tagged("q2")
        self.assertEqual(search_numbers(untagged), [4])
        untagged = self.ok(self.c, "q3", "SEARCH CHARSET UTF-8 ALL")
        self.assertEqual(search_numbers(untagged), ALL)

    def test_charset_unknown(self):
        untagged, t = command_raw(self.c, "q", "SEARCH CHARSET X-NOPE ALL")
        self.assertTagged(t, "q", "NO", "[BADCHARSET (UTF-8 ")
        self.assertIsNone(search_numbers(untagged))
        # a charset iconv(3) knows is converted (tests/protocol/test_charset.py)
        untagged = self.ok(self.c, "q2", "SEARCH CHARSET KOI8-R ALL")
        self.assertEqual(search_numbers(untagged), ALL)

    def test_uid_search_returns_uids(self):
        self.ok(self.c, "d", "STORE 1 +FLAGS.SILENT (\\Deleted)")
        self.ok(self.c, "x", "EXPUNGE")    # removes seq 1 (uid 1) and seq 3 (uid 3)
        self.check("ALL", [1, 2, 3, 4])
        self.check("ALL", [2, 4, 5, 6], uid=True)
        self.check("SEEN", [5], uid=True)
        self.check("UID 2:5", [2, 4, 5], uid=True)
        self.check("1:2", [2, 4], uid=True)
        self.check("UID 4", [2])

    def test_no_match_gives_empty_search(self):
        untagged = self.ok(self.c, "q", "SEARCH FROM nobody")
        self.assertIn("* SEARCH", [u.decode() for u in untagged])

    def test_errors(self):
        cases = ["SEARCH", "SEARCH BOGUS", "SEARCH BEFORE notadate", "SEARCH BEFORE 32-Jan-2020",
                 "SEARCH LARGER abc", "SEARCH LARGER", "SEARCH (SEEN", "SEARCH SEEN)",
                 "SEARCH OR SEEN", "SEARCH NOT", "SEARCH HEADER Subject", "SEARCH UID x",
                 "SEARCH FROM", "SEARCH 0", "SEARCH KEYWORD", "SEARCH ()",
                 "UID SEARCH", "SEARCH CHARSET", "SEARCH ON 2021-06-15"]
        for i, cmd in enumerate(cases):
            untagged, t = command_raw(self.c, f"e{i}", cmd)
            self.assertTagged(t, f"e{i}", "BAD")
            self.assertIsNone(search_numbers(untagged), cmd)

    def test_search_imaplib(self):
        m = self.imap()
        m.select("INBOX", readonly=True)
        typ, data = m.search(None, "FROM", "alice")
        self.assertEqual((typ, data), ("OK", [b"1"]))
        typ, data = m.search("UTF-8", "SUBJECT", "new")
        self.assertEqual((typ, data), ("OK", [b"5 6"]))
        typ, data = m.uid("SEARCH", "SEEN")
        self.assertEqual((typ, data), ("OK", [b"1 3 5"]))


class SearchLarge(MailTestCase):
    def test_search_many_messages(self):
        c = self.session()
        self.fill(c, "INBOX", 300)
        self.ok(c, "s", "SELECT INBOX")
        self.ok(c, "f", "STORE 1:150 +FLAGS.SILENT (\\Flagged)")
        untagged = self.ok(c, "q", "SEARCH FLAGGED", timeout=20)
        self.assertEqual(search_numbers(untagged), list(range(1, 151)))
        untagged = self.ok(c, "q2", 'SEARCH SUBJECT "msg 29"', timeout=20)
        self.assertEqual(search_numbers(untagged), [29] + list(range(290, 300)))
        untagged = self.ok(c, "q3", "SEARCH BODY \"body 300\"", timeout=20)
        self.assertEqual(search_numbers(untagged), [300])


if __name__ == "__main__":
    unittest.main()
