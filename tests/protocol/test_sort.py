"""SORT / UID SORT (RFC 5256 §3) with every key (ARRIVAL CC DATE FROM REVERSE SIZE
SUBJECT TO) and SORT=DISPLAY (RFC 5957: DISPLAYFROM DISPLAYTO): base subjects, first
addresses, sent dates falling back to INTERNALDATE, ties by sequence number, search
criteria, charsets and errors; ESORT (RFC 5267 §3: SORT RETURN (MIN MAX ALL COUNT) in
sort order, with SAVE and PARTIAL)."""

import re

from harness import capabilities
from mailhelpers import MailTestCase, append, texts

MSGS = [
    # subject, from, to, cc, date, internaldate
    ("Re: [list] Hello world", "Bob <bob@x.org>", "zoe@x.org", "c2@x.org",
     "Mon, 2 Jan 2023 10:00:00 +0000", "01-Feb-2023 10:00:00 +0000"),
    ("hello WORLD (fwd)", "alice@x.org", "yan@x.org", None,
     "Sun, 1 Jan 2023 10:00:00 +0000", "03-Feb-2023 10:00:00 +0000"),
    ("[fwd: apples]", "\"Zed\" <zed@y.org>", "\"Al\" <xavier@x.org>", "c1@x.org",
     "not a date", "02-Jan-2023 12:00:00 +0000"),
    ("Fwd: Re: Re[2]: bananas", "carol@z.org", "wes@x.org", "c3@x.org",
     "Tue, 3 Jan 2023 10:00:00 -0500", "02-Feb-2023 10:00:00 +0000"),
    ("=?utf-8?q?Apples?=", "=?utf-8?q?Ann?= <ann@a.org>", None, None,
     "Tue, 3 Jan 2023 14:00:00 +0000", "04-Feb-2023 10:00:00 +0000"),
]


def sort_numbers(untagged):
    for t in texts(untagged):
        if t == "* SORT" or t.startswith("* SORT "):
            return [int(x) for x in re.sub(r"\(MODSEQ \d+\)", "", t[6:]).split()]
    return None


class Sort(MailTestCase):
    def setUp(self):
        super().setUp()
        self.c = self.session()
        for i, (subj, frm, to, cc, date, idate) in enumerate(MSGS):
            lines = [f"Subject: {subj}", f"From: {frm}", f"Date: {date}"]
            if to:
                lines.append(f"To: {to}")
            if cc:
                lines.append(f"Cc: {cc}")
            body = "x" * (1000 * (5 - i))   # sizes descend with the sequence number
            self.append_ok(self.c, "INBOX", ("\r\n".join(lines) + "\r\n\r\n" + body + "\r\n")
                           .encode(), date=idate)
        self.ok(self.c, "s", "SELECT INBOX")

    def sort(self, text, tag="so"):
        return sort_numbers(self.ok(self.c, tag, text))

    def test_capability(self):
        caps = capabilities(texts(self.ok(self.c, "c", "CAPABILITY"))[0])
        self.assertIn("SORT", caps)
        self.assertIn("SORT=DISPLAY", caps)

    def test_subject(self):
        # APPLES (3, 5), BANANAS (4), HELLO WORLD (1, 2): ties by sequence number
        self.assertEqual(self.sort("SORT (SUBJECT) UTF-8 ALL"), [3, 5, 4, 1, 2])
        self.assertEqual(self.sort("SORT (REVERSE SUBJECT) UTF-8 ALL"), [1, 2, 4, 3, 5])

    def test_addresses(self):
        self.assertEqual(self.sort("SORT (FROM) UTF-8 ALL"), [2, 5, 1, 4, 3])  # mailboxes
        self.assertEqual(self.sort("SORT (TO) UTF-8 ALL"), [5, 4, 3, 2, 1])    # none first
        self.assertEqual(self.sort("SORT (CC) UTF-8 ALL"), [2, 5, 3, 1, 4])
        # RFC 5957: the display name, or the addr-spec when there is none
        self.assertEqual(self.sort("SORT (DISPLAYFROM) UTF-8 ALL"), [2, 5, 1, 4, 3])
        self.assertEqual(self.sort("SORT (DISPLAYTO) UTF-8 ALL"), [5, 3, 4, 2, 1])

    def test_dates_and_size(self):
        # sent dates in UTC; message 3 has none that parses: its INTERNALDATE (2 Jan 12:00)
        self.assertEqual(self.sort("SORT (DATE) UTF-8 ALL"), [2, 1, 3, 5, 4])
        self.assertEqual(self.sort("SORT (ARRIVAL) UTF-8 ALL"), [3, 1, 4, 2, 5])
        self.assertEqual(self.sort("SORT (SIZE) UTF-8 ALL"), [5, 4, 3, 2, 1])
        self.assertEqual(self.sort("SORT (REVERSE DATE) UTF-8 ALL"), [4, 5, 3, 1, 2])

    def test_several_keys_search_and_uid(self):
        self.assertEqual(self.sort("SORT (SUBJECT REVERSE DATE) UTF-8 ALL"), [5, 3, 4, 1, 2])
        self.assertEqual(self.sort("SORT (SUBJECT) US-ASCII 2:4"), [3, 4, 2])
        self.assertEqual(self.sort("SORT (SUBJECT) UTF-8 FROM zed"), [3])
        self.assertEqual(self.sort("SORT (SUBJECT) UTF-8 SUBJECT nothing-like-this"), [])
        self.ok(self.c, "d", "STORE 1 +FLAGS.SILENT (\\Deleted)")
        self.ok(self.c, "x", "EXPUNGE")     # UIDs 2..5 at sequence numbers 1..4
        self.assertEqual(self.sort("UID SORT (SUBJECT) UTF-8 ALL"), [3, 5, 4, 2])
        self.assertEqual(self.sort("SORT (SUBJECT) UTF-8 ALL"), [2, 4, 3, 1])

    def test_modseq(self):
        u = self.ok(self.c, "m", "SORT (SIZE) UTF-8 MODSEQ 1")
        self.assertRegex(texts(u)[-1], r"^\* SORT 5 4 3 2 1 \(MODSEQ \d+\)$")

    def test_errors(self):
        for tag, text in (("a", "SORT (BOGUS) UTF-8 ALL"), ("b", "SORT (REVERSE) UTF-8 ALL"),
                          ("c", "SORT () UTF-8 ALL"), ("d", "SORT SUBJECT UTF-8 ALL"),
                          ("e", "SORT (SUBJECT) UTF-8"), ("f", "SORT (SUBJECT)"),
                          ("g", "SORT (REVERSE REVERSE SUBJECT) UTF-8 ALL"),
                          ("h", "SORT (SUBJECT) UTF-8 NOSUCHKEY")):
            self.status_of(self.c, tag, text, "BAD")
        _, t = self.status_of(self.c, "i", "SORT (SUBJECT) X-NOPE ALL", "NO")
        self.assertIn("[BADCHARSET (UTF-8 ", t)
        self.status_of(self.c, "i2", "SORT (SUBJECT) KOI8-R ALL", "OK")   # iconv knows it
        c = self.session()
        self.status_of(c, "j", "SORT (SUBJECT) UTF-8 ALL", "BAD")   # nothing selected


class ESort(Sort):
    """ESORT: the ESEARCH answer in sort order (checked against plain SORT)."""

    def esort(self, text, tag="e"):
        u = texts(self.ok(self.c, tag, text))
        lines = [t for t in u if t.startswith(f'* ESEARCH (TAG "{tag}")')]
        self.assertEqual(len(lines), 1, u)
        return lines[0][len(f'* ESEARCH (TAG "{tag}")'):]

    @staticmethod
    def ordered(text):
        """A sequence-set in sort order as a list (ranges ascend: 3:5 is 3,4,5)."""
        out = []
        for part in text.split(","):
            if ":" in part:
                a, b = (int(x) for x in part.split(":"))
                assert a < b, part
                out += list(range(a, b + 1))
            else:
                out.append(int(part))
        return out

    def test_capability(self):
        caps = capabilities(texts(self.ok(self.c, "c", "CAPABILITY"))[0])
        self.assertIn("ESORT", caps)
        self.assertIn("CONTEXT=SORT", caps)

    def test_all_min_max_count_in_sort_order(self):
        for keys in ("SUBJECT", "REVERSE SUBJECT", "SIZE", "REVERSE DATE", "FROM", "ARRIVAL"):
            with self.subTest(keys=keys):
                want = self.sort(f"SORT ({keys}) UTF-8 ALL")
                r = self.esort(f"SORT RETURN (MIN MAX ALL COUNT) ({keys}) UTF-8 ALL")
                m = re.fullmatch(r" MIN (\d+) MAX (\d+) COUNT (\d+) ALL (\S+)", r)
                self.assertIsNotNone(m, r)
                self.assertEqual(int(m.group(1)), want[0])
                self.assertEqual(int(m.group(2)), want[-1])
                self.assertEqual(int(m.group(3)), len(want))
                self.assertEqual(self.ordered(m.group(4)), want)
        # an ascending run is a range; RETURN () means ALL
        self.assertEqual(self.esort("SORT RETURN () (ARRIVAL) UTF-8 ALL"), " ALL 3,1,4,2,5")
        self.assertEqual(self.esort("SORT RETURN () (REVERSE SIZE) UTF-8 ALL"), " ALL 1:5")

    def test_uid_and_search_criteria(self):
        want = self.sort("UID SORT (SUBJECT) UTF-8 2:5")
        r = self.esort("UID SORT RETURN (ALL COUNT) (SUBJECT) UTF-8 2:5")
        m = re.fullmatch(r" UID COUNT 4 ALL (\S+)", r)
        self.assertIsNotNone(m, r)
        self.assertEqual(self.ordered(m.group(1)), want)

    def test_no_match(self):
        """MIN/MAX/ALL are left out when nothing matches; COUNT 0 is told."""
        self.assertEqual(self.esort("SORT RETURN (MIN MAX ALL COUNT) (SUBJECT) UTF-8 "
                                    "SUBJECT nosuchthing"), " COUNT 0")
        self.assertEqual(self.esort("SORT RETURN (MIN MAX) (SUBJECT) UTF-8 SUBJECT zz"), "")

    def test_partial(self):
        want = self.sort("SORT (SUBJECT) UTF-8 ALL")
        r = self.esort("SORT RETURN (PARTIAL 2:4) (SUBJECT) UTF-8 ALL")
        m = re.fullmatch(r" PARTIAL \(2:4 (\S+)\)", r)
        self.assertIsNotNone(m, r)
        self.assertEqual(self.ordered(m.group(1)), want[1:4])
        r = self.esort("SORT RETURN (PARTIAL -1:-2) (SUBJECT) UTF-8 ALL")
        self.assertEqual(self.ordered(re.fullmatch(r" PARTIAL \(-1:-2 (\S+)\)", r).group(1)),
                         want[-2:])
        self.assertEqual(self.esort("SORT RETURN (PARTIAL 9:10) (SUBJECT) UTF-8 ALL"),
                         " PARTIAL (9:10 NIL)")
        self.status_of(self.c, "p", "SORT RETURN (PARTIAL 1:2 ALL) (SUBJECT) UTF-8 ALL", "BAD")

    def test_save(self):
        """SAVE (RFC 5182): $ is the result as a set; with MIN/MAX alone just those;
        SAVE alone answers no ESEARCH."""
        u = self.ok(self.c, "s1", "SORT RETURN (SAVE) (SUBJECT) UTF-8 2:4")
        self.assertEqual([t for t in texts(u) if "ESEARCH" in t], [])
        self.assertEqual(sort_numbers(self.ok(self.c, "s2", "SORT (SIZE) UTF-8 $")), [4, 3, 2])
        want = self.sort("SORT (SUBJECT) UTF-8 ALL")
        self.esort("SORT RETURN (SAVE MIN MAX) (SUBJECT) UTF-8 ALL", tag="s3")
        u = self.ok(self.c, "s4", "SEARCH $")
        self.assertEqual(texts(u)[0], "* SEARCH " + " ".join(str(x) for x in sorted(
            [want[0], want[-1]])))
        # a failed command with SAVE empties $
        self.status_of(self.c, "s5", "SORT RETURN (SAVE) (SUBJECT) UTF-8 NOSUCHKEY", "BAD")
        self.assertEqual(texts(self.ok(self.c, "s6", "SEARCH $"))[0], "* SEARCH")

    def test_modseq(self):
        r = self.esort("SORT RETURN (ALL) (SIZE) UTF-8 MODSEQ 1")
        self.assertRegex(r, r"^ ALL 5,4,3,2,1 MODSEQ \d+$")

    def test_errors(self):
        for tag, text in (("b", "SORT RETURN (BOGUS) (SUBJECT) UTF-8 ALL"),
                          ("c", "SORT RETURN ALL (SUBJECT) UTF-8 ALL"),
                          ("d", "SORT RETURN (MIN)"), ("e", "SORT RETURN")):
            self.status_of(self.c, tag, text, "BAD")


class ThreadOrderedSubject(MailTestCase):
    """RFC 5256 §4 ORDEREDSUBJECT: same base subject = one thread, the earliest the
    parent of the others in date order; threads in the order of their first dates."""

    def setUp(self):
        super().setUp()
        self.c = self.session()
        msgs = [("Apples", "Tue, 3 Jan 2023 10:00:00 +0000"),      # 1
                ("Re: apples", "Thu, 5 Jan 2023 10:00:00 +0000"),  # 2
                ("Bananas", "Mon, 2 Jan 2023 10:00:00 +0000"),     # 3
                ("Cherries", "Sun, 1 Jan 2023 10:00:00 +0000"),    # 4
                ("Fwd: APPLES", "Wed, 4 Jan 2023 10:00:00 +0000"), # 5
                ("Re: Bananas", "Fri, 6 Jan 2023 10:00:00 +0000")]  # 6
        for subj, date in msgs:
            self.append_ok(self.c, "INBOX", f"Subject: {subj}\r\nDate: {date}\r\n\r\nx\r\n"
                           .encode())
        self.ok(self.c, "s", "SELECT INBOX")

    def thread(self, text, tag="t"):
        u = self.ok(self.c, tag, text)
        lines = [t for t in texts(u) if t.startswith("* THREAD")]
        self.assertEqual(len(lines), 1, u)
        return lines[0]

    def test_capability(self):
        self.assertIn("THREAD=ORDEREDSUBJECT",
                      capabilities(texts(self.ok(self.c, "c", "CAPABILITY"))[0]))

    def test_threads(self):
        # Cherries (1 Jan), Bananas (2 Jan) with its reply, Apples (3 Jan) with two
        self.assertEqual(self.thread("THREAD ORDEREDSUBJECT UTF-8 ALL"),
                         "* THREAD (4)(3 6)(1 (5)(2))")
        self.ok(self.c, "d", "STORE 4 +FLAGS.SILENT (\\Deleted)")
        self.ok(self.c, "x", "EXPUNGE")      # UIDs stay, sequence numbers shift
        self.assertEqual(self.thread("UID THREAD ORDEREDSUBJECT UTF-8 ALL"),
                         "* THREAD (3 6)(1 (5)(2))")
        self.assertEqual(self.thread("THREAD ORDEREDSUBJECT UTF-8 ALL"),
                         "* THREAD (3 5)(1 (4)(2))")
        self.assertEqual(self.thread("THREAD ORDEREDSUBJECT US-ASCII SUBJECT bananas"),
                         "* THREAD (3 5)")
        self.assertEqual(self.thread("THREAD ORDEREDSUBJECT UTF-8 SUBJECT nothing"),
                         "* THREAD")

    def test_errors(self):
        for tag, text in (("a", "THREAD REFERENCES2 UTF-8 ALL"), ("b", "THREAD ORDEREDSUBJECT"),
                          ("c", "THREAD ORDEREDSUBJECT UTF-8"), ("d", "THREAD (X) UTF-8 ALL")):
            self.status_of(self.c, tag, text, "BAD")
        _, t = self.status_of(self.c, "e", "THREAD ORDEREDSUBJECT X-NOPE ALL", "NO")
        self.assertIn("[BADCHARSET (UTF-8 ", t)
        self.status_of(self.c, "e2", "THREAD ORDEREDSUBJECT KOI8-R ALL", "OK")


class ThreadReferences(MailTestCase):
    """RFC 5256 §4 REFERENCES: links from References (or In-Reply-To), a missing parent
    pruned, a duplicate Message-ID a thread of its own, roots grouped by base subject (a
    reply under the original), siblings and threads by sent date."""

    MSGS = [  # message-id, subject, date (January 2023), extra header
        ("<a@x>", "Party", 1, None),
        ("<b@x>", "Re: Party", 2, "References: <a@x>"),
        ("<c@x>", "Re: Party", 3, "References: <a@x>\r\n <b@x>"),
        ("<d@x>", "Lunch", 4, None),
        ("<e@x>", "Re: Party", 5, "References: <a@x>"),
        ("<f@x>", "Re: Lunch", 6, "In-Reply-To: <d@x> (Dan's message)"),
        ("<g@x>", "Re: Lost", 7, "References: <missing@x>"),
        ("<h@x>", "Lost", 0, None),
        ("<a@x>", "Party again", 9, None),       # a Message-ID seen before
    ]

    def setUp(self):
        super().setUp()
        self.c = self.session()
        for mid, subj, day, extra in self.MSGS:
            date = f"{day + 1:d} Jan 2023 10:00:00 +0000"
            head = f"Message-ID: {mid}\r\nSubject: {subj}\r\nDate: {date}\r\n"
            if extra:
                head += extra + "\r\n"
            self.append_ok(self.c, "INBOX", (head + "\r\nbody\r\n").encode())
        self.ok(self.c, "s", "SELECT INBOX")

    def thread(self, text, tag="t"):
        return [t for t in texts(self.ok(self.c, tag, text)) if t.startswith("* THREAD")][0]

    def test_capability(self):
        self.assertIn("THREAD=REFERENCES",
                      capabilities(texts(self.ok(self.c, "c", "CAPABILITY"))[0]))

    def test_threads(self):
        self.assertEqual(self.thread("THREAD REFERENCES UTF-8 ALL"),
                         "* THREAD (8 7)(1 (2 3)(5))(4 6)(9)")

    def test_subset_and_uid(self):
        # without message 1, message 9 is the one with Message-ID <a@x>: the replies
        # hang under it (threads by their first message's date: 9 comes last)
        self.assertEqual(self.thread("THREAD REFERENCES UTF-8 2:9"),
                         "* THREAD (8 7)(4 6)(9 (2 3)(5))")
        # and without it too, the replies lose their parent: a dummy at the root with
        # two children is kept, as "((2 3)(5))"
        self.assertEqual(self.thread("THREAD REFERENCES UTF-8 2:8"),
                         "* THREAD (8 7)((2 3)(5))(4 6)")
        self.ok(self.c, "d", "STORE 8 +FLAGS.SILENT (\\Deleted)")
        self.ok(self.c, "x", "EXPUNGE")
        # "Re: Lost" alone now; UIDs unchanged, sequence numbers shifted
        self.assertEqual(self.thread("UID THREAD REFERENCES UTF-8 ALL"),
                         "* THREAD (1 (2 3)(5))(4 6)(7)(9)")
        self.assertEqual(self.thread("THREAD REFERENCES UTF-8 SUBJECT nothing"), "* THREAD")
