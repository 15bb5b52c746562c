"""PARTIAL (RFC 9394): paged SEARCH results (RETURN (PARTIAL a:b) and from the end,
-a:-b) and paged FETCH (the PARTIAL fetch modifier), alone and with COUNT, SAVE,
CHANGEDSINCE; and the errors."""

import re

from harness import capabilities
from mailhelpers import MailTestCase, fetch_by_seq, fetches, texts


def partial(untagged):
    """(range text, [numbers] or None for NIL) of the ESEARCH PARTIAL item."""
    for t in texts(untagged):
        m = re.search(r"PARTIAL \((\S+) (NIL|[0-9:,]+)\)", t)
        if m and t.startswith("* ESEARCH"):
            if m.group(2) == "NIL":
                return m.group(1), None
            out = []
            for part in m.group(2).split(","):
                a, _, b = part.partition(":")
                out.extend(range(int(a), int(b or a) + 1))
            return m.group(1), out
    return None


class Partial(MailTestCase):
    def setUp(self):
        super().setUp()
        self.c = self.session()
        self.fill(self.c, "INBOX", 20)
        self.ok(self.c, "s", "SELECT INBOX")
        self.ok(self.c, "f", "STORE 2,4,6,8,10,12,14,16,18,20 +FLAGS.SILENT (\\Flagged)")

    def test_capability(self):
        self.assertIn("PARTIAL", capabilities(texts(self.ok(self.c, "c", "CAPABILITY"))[0]))

    def test_search_pages(self):
        self.assertEqual(partial(self.ok(self.c, "a", "SEARCH RETURN (PARTIAL 1:3) FLAGGED")),
                         ("1:3", [2, 4, 6]))
        self.assertEqual(partial(self.ok(self.c, "b", "SEARCH RETURN (PARTIAL 4:6) FLAGGED")),
                         ("4:6", [8, 10, 12]))
        # a:b in either order; from the end: -1 is the last
        self.assertEqual(partial(self.ok(self.c, "c", "SEARCH RETURN (PARTIAL 6:4) FLAGGED"))[1],
                         [8, 10, 12])
        self.assertEqual(partial(self.ok(self.c, "d", "UID SEARCH RETURN (PARTIAL -1:-3) "
                                         "FLAGGED")), ("-1:-3", [16, 18, 20]))
        # past the end: cut, or NIL when nothing is left
        self.assertEqual(partial(self.ok(self.c, "e", "SEARCH RETURN (PARTIAL 9:15) FLAGGED"))[1],
                         [18, 20])
        self.assertEqual(partial(self.ok(self.c, "f", "SEARCH RETURN (PARTIAL 11:20) FLAGGED")),
                         ("11:20", None))
        # -5:-30 of 10 results: the 5th from the end back to the first
        self.assertEqual(partial(self.ok(self.c, "g", "SEARCH RETURN (PARTIAL -5:-30) "
                                         "FLAGGED"))[1], [2, 4, 6, 8, 10, 12])

    def test_with_count_min_and_save(self):
        u = self.ok(self.c, "a", "SEARCH RETURN (COUNT MIN PARTIAL 1:2 SAVE) FLAGGED")
        t = [x for x in texts(u) if x.startswith("* ESEARCH")][0]
        self.assertIn("COUNT 10", t)
        self.assertIn("MIN 2", t)
        self.assertEqual(partial(u)[1], [2, 4])
        # SAVE keeps the whole result, not the page (as Dovecot)
        self.assertEqual(len(fetches(self.ok(self.c, "b", "FETCH $ UID"))), 10)

    def test_fetch_pages(self):
        f = fetch_by_seq(self.ok(self.c, "a", "FETCH 1:* (UID) (PARTIAL 1:5)"))
        self.assertEqual(sorted(f), [1, 2, 3, 4, 5])
        f = fetch_by_seq(self.ok(self.c, "b", "UID FETCH 1:* (FLAGS) (PARTIAL -1:-3)"))
        self.assertEqual(sorted(int(v["UID"]) for v in f.values()), [18, 19, 20])
        f = fetch_by_seq(self.ok(self.c, "c", "FETCH 5:10 (UID) (PARTIAL 2:3)"))
        self.assertEqual(sorted(f), [6, 7], "positions within the set")
        self.assertEqual(fetches(self.ok(self.c, "d", "FETCH 1:* UID (PARTIAL 21:30)")), [])

    def test_fetch_partial_after_changedsince(self):
        ms = {s: int(v["MODSEQ"][0]) for s, v in
              fetch_by_seq(self.ok(self.c, "m", "FETCH 1:* MODSEQ")).items()}
        base = max(ms.values())
        self.ok(self.c, "x", "STORE 3,7,11,15 +FLAGS.SILENT (\\Seen)")
        f = fetch_by_seq(self.ok(self.c, "a", f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {base} "
                                 "PARTIAL -1:-2)"))
        self.assertEqual(sorted(int(v["UID"]) for v in f.values()), [11, 15],
                         "the last two of the changed ones")

    def test_page_counts_against_the_command_limit(self):
        srv = self.start_server("--max-command-messages", "5")
        c = self.session(srv=srv)
        self.fill(c, "INBOX", 10)
        self.ok(c, "s", "SELECT INBOX")
        self.assertEqual(len(fetches(self.ok(c, "a", "FETCH 1:* UID (PARTIAL 1:5)"))), 5)
        _, t = self.status_of(c, "b", "FETCH 1:* UID (PARTIAL 1:6)", "NO")
        self.assertIn("[LIMIT]", t)

    def test_errors(self):
        for tag, text in (("a", "SEARCH RETURN (PARTIAL 1:3 ALL) FLAGGED"),
                          ("b", "SEARCH RETURN (PARTIAL) FLAGGED"),
                          ("c", "SEARCH RETURN (PARTIAL 0:3) FLAGGED"),
                          ("d", "SEARCH RETURN (PARTIAL 1:*) FLAGGED"),
                          ("e", "SEARCH RETURN (PARTIAL -1:3) FLAGGED"),
                          ("f", "SEARCH RETURN (PARTIAL 1:3 PARTIAL 4:5) FLAGGED"),
                          ("g", "FETCH 1:* UID (PARTIAL 1)"),
                          ("h", "FETCH 1:* UID (PARTIAL 4294967296:1)")):
            self.status_of(self.c, tag, text, "BAD")
