"""ESEARCH (RFC 4731): SEARCH RETURN (MIN MAX ALL COUNT), UID and not; SEARCHRES
(RFC 5182): RETURN (SAVE) and "$" in later commands, kept as the RFC says."""

import re

from harness import capabilities
from mailhelpers import MailTestCase, fetch_by_seq, fetches, search_numbers, texts


def esearch(untagged):
    """The one '* ESEARCH' response as (tag, uid, {item: value}); None when there is none."""
    found = None
    for t in texts(untagged):
        if not t.startswith("* ESEARCH"):
            continue
        assert found is None, f"two ESEARCH responses: {untagged!r}"
        m = re.match(r'^\* ESEARCH(?: \(TAG "([^"]*)"\))?( UID)?((?: [A-Z]+ [0-9:,]+)*)$', t)
        assert m, f"malformed ESEARCH: {t!r}"
        items = re.findall(r" ([A-Z]+) ([0-9:,]+)", m.group(3))
        found = (m.group(1), bool(m.group(2)), dict(items))
    return found


class Esearch(MailTestCase):
    def setUp(self):
        super().setUp()
        self.c = self.session()
        self.fill(self.c, "INBOX", 8)
        self.ok(self.c, "s", "SELECT INBOX")
        # messages 2, 4, 5, 8 flagged; 1 and 8 seen
        self.ok(self.c, "f", "STORE 2,4:5,8 +FLAGS.SILENT (\\Flagged)")
        self.ok(self.c, "g", "STORE 1,8 +FLAGS.SILENT (\\Seen)")

    def test_capability(self):
        caps = capabilities(texts(self.ok(self.c, "c", "CAPABILITY"))[0])
        self.assertIn("ESEARCH", caps)
        self.assertIn("SEARCHRES", caps)

    def test_return_all_options(self):
        """RFC 4731 §3.1 example: MIN, MAX, COUNT, ALL of the same result."""
        u = self.ok(self.c, "A282", "SEARCH RETURN (MIN MAX COUNT ALL) FLAGGED")
        tag, uid, items = esearch(u)
        self.assertEqual((tag, uid), ("A282", False))
        self.assertEqual(items, {"MIN": "2", "MAX": "8", "COUNT": "4", "ALL": "2,4:5,8"})
        self.assertIsNone(search_numbers(u), "no '* SEARCH' when RETURN is given")

    def test_return_empty_list_means_all(self):
        _, _, items = esearch(self.ok(self.c, "a", "SEARCH RETURN () FLAGGED"))
        self.assertEqual(items, {"ALL": "2,4:5,8"})

    def test_uid_search(self):
        self.ok(self.c, "x", "STORE 2 +FLAGS.SILENT (\\Deleted)")
        self.ok(self.c, "y", "EXPUNGE")   # UIDs now 1,3..8 at seqs 1..7
        tag, uid, items = esearch(self.ok(self.c, "b", "UID SEARCH RETURN (MIN MAX COUNT ALL) "
                                          "FLAGGED"))
        self.assertEqual((tag, uid), ("b", True))
        self.assertEqual(items, {"MIN": "4", "MAX": "8", "COUNT": "3", "ALL": "4:5,8"})
        _, _, items = esearch(self.ok(self.c, "c", "SEARCH RETURN (ALL) FLAGGED"))
        self.assertEqual(items, {"ALL": "3:4,7"}, "non-UID: sequence numbers")

    def test_no_match(self):
        """RFC 4731 §3.1: MIN/MAX/ALL are left out when nothing matches; COUNT is 0."""
        _, _, items = esearch(self.ok(self.c, "d", "SEARCH RETURN (MIN MAX ALL COUNT) "
                                      "KEYWORD nosuchkeyword"))
        self.assertEqual(items, {"COUNT": "0"})
        tag, _, items = esearch(self.ok(self.c, "e", "SEARCH RETURN (MIN) DRAFT"))
        self.assertEqual((tag, items), ("e", {}))

    def test_single_options(self):
        for opt, want in (("MIN", {"MIN": "2"}), ("MAX", {"MAX": "8"}),
                          ("COUNT", {"COUNT": "4"})):
            _, _, items = esearch(self.ok(self.c, "o", f"SEARCH RETURN ({opt}) FLAGGED"))
            self.assertEqual(items, want)

    def test_return_errors(self):
        for tag, text in (("a", "SEARCH RETURN (BOGUS) ALL"),
                          ("b", "SEARCH RETURN ALL"),
                          ("c", "SEARCH RETURN"),
                          ("d", "SEARCH RETURN (MIN) NOSUCHKEY")):
            self.status_of(self.c, tag, text, "BAD")

    def test_with_charset_and_modseq(self):
        _, _, items = esearch(self.ok(self.c, "a", "SEARCH RETURN (COUNT) CHARSET UTF-8 "
                                      "FLAGGED"))
        self.assertEqual(items, {"COUNT": "4"})
        ms = {s: int(v["MODSEQ"][0]) for s, v in
              fetch_by_seq(self.ok(self.c, "m", "FETCH 1:* MODSEQ")).items()}
        # RFC 7162 §3.1.5: MODSEQ of the returned messages (with MIN/MAX only, of those)
        _, _, items = esearch(self.ok(self.c, "b", "SEARCH RETURN (ALL) MODSEQ 1 FLAGGED"))
        self.assertEqual(int(items["MODSEQ"]), max(ms[i] for i in (2, 4, 5, 8)))
        _, _, items = esearch(self.ok(self.c, "c", "SEARCH RETURN (MIN) MODSEQ 1 FLAGGED"))
        self.assertEqual(int(items["MODSEQ"]), ms[2])


class SearchRes(MailTestCase):
    def setUp(self):
        super().setUp()
        self.c = self.session()
        self.fill(self.c, "INBOX", 8)
        self.ok(self.c, "s", "SELECT INBOX")
        self.ok(self.c, "f", "STORE 2,4:5,8 +FLAGS.SILENT (\\Flagged)")

    def test_save_alone_answers_nothing(self):
        u = self.ok(self.c, "a", "SEARCH RETURN (SAVE) FLAGGED")
        self.assertIsNone(esearch(u))
        self.assertIsNone(search_numbers(u))

    def test_dollar_in_fetch_store_search_copy(self):
        """RFC 5182 §2.1, §3: $ in FETCH, UID FETCH, STORE, SEARCH, UID SEARCH, COPY."""
        self.ok(self.c, "a", "SEARCH RETURN (SAVE) FLAGGED")
        f = fetch_by_seq(self.ok(self.c, "b", "FETCH $ (UID)"))
        self.assertEqual(sorted(f), [2, 4, 5, 8])
        f = fetch_by_seq(self.ok(self.c, "c", "UID FETCH $ (FLAGS)"))
        self.assertEqual(sorted(int(v["UID"]) for v in f.values()), [2, 4, 5, 8])
        self.ok(self.c, "d", "STORE $ +FLAGS.SILENT (\\Answered)")
        self.assertEqual(search_numbers(self.ok(self.c, "e", "SEARCH ANSWERED")), [2, 4, 5, 8])
        self.assertEqual(search_numbers(self.ok(self.c, "g", "SEARCH $ 1:4")), [2, 4])
        self.assertEqual(search_numbers(self.ok(self.c, "h", "UID SEARCH UID $")), [2, 4, 5, 8])
        u = self.ok(self.c, "i", "COPY $ Archive")
        self.assertEqual(texts(self.ok(self.c, "j", "STATUS Archive (MESSAGES)")),
                         ["* STATUS Archive (MESSAGES 4)"])
        self.assertNotIn("BAD", " ".join(texts(u)))

    def test_dollar_follows_expunges(self):
        """$ names messages, not numbers: an expunged message drops out, the others
        keep their new sequence numbers."""
        self.ok(self.c, "a", "SEARCH RETURN (SAVE) FLAGGED")
        self.ok(self.c, "b", "STORE 1,4 +FLAGS.SILENT (\\Deleted)")
        self.ok(self.c, "c", "EXPUNGE")
        f = fetch_by_seq(self.ok(self.c, "d", "FETCH $ (UID)"))
        self.assertEqual(sorted(int(v["UID"]) for v in f.values()), [2, 5, 8])
        self.assertEqual(sorted(f), [1, 3, 6])

    def test_save_min_max(self):
        """RFC 5182 §2.1: SAVE with MIN and/or MAX (no ALL/COUNT) saves only those."""
        _, _, items = esearch(self.ok(self.c, "a", "SEARCH RETURN (MIN MAX SAVE) FLAGGED"))
        self.assertEqual(items, {"MIN": "2", "MAX": "8"})
        self.assertEqual(sorted(fetch_by_seq(self.ok(self.c, "b", "FETCH $ UID"))), [2, 8])
        self.ok(self.c, "c", "SEARCH RETURN (MIN SAVE) FLAGGED")
        self.assertEqual(sorted(fetch_by_seq(self.ok(self.c, "d", "FETCH $ UID"))), [2])
        _, _, items = esearch(self.ok(self.c, "e", "SEARCH RETURN (MIN COUNT SAVE) FLAGGED"))
        self.assertEqual(items, {"MIN": "2", "COUNT": "4"})
        self.assertEqual(sorted(fetch_by_seq(self.ok(self.c, "f", "FETCH $ UID"))),
                         [2, 4, 5, 8], "with COUNT every match is saved")

    def test_failed_search_empties_dollar(self):
        self.ok(self.c, "a", "SEARCH RETURN (SAVE) FLAGGED")
        self.status_of(self.c, "b", "SEARCH RETURN (SAVE) NOSUCHKEY", "BAD")
        self.assertEqual(fetches(self.ok(self.c, "c", "FETCH $ UID")), [])

    def test_dollar_unset_and_after_reselect(self):
        """$ is empty until a SAVE, and again after the mailbox is left."""
        self.assertEqual(fetches(self.ok(self.c, "a", "FETCH $ UID")), [])
        self.ok(self.c, "b", "SEARCH RETURN (SAVE) ALL")
        self.assertEqual(len(fetches(self.ok(self.c, "c", "FETCH $ UID"))), 8)
        self.ok(self.c, "d", "SELECT INBOX")
        self.assertEqual(fetches(self.ok(self.c, "e", "FETCH $ UID")), [])
        self.ok(self.c, "f", "SEARCH RETURN (SAVE) ALL")
        self.ok(self.c, "g", "UNSELECT")
        self.ok(self.c, "h", "SELECT INBOX")
        self.assertEqual(fetches(self.ok(self.c, "i", "FETCH $ UID")), [])

    def test_pipelined_save_and_use(self):
        """RFC 5182 §2.1: a command after SEARCH SAVE in the same pipeline sees its result."""
        self.c.send("a SEARCH RETURN (SAVE) FLAGGED\r\nb FETCH $ (UID)\r\n")
        _, t = self.c.read_tagged("a")
        self.assertTagged(t, "a", "OK")
        u, t = self.c.read_tagged("b")
        self.assertTagged(t, "b", "OK")
        self.assertEqual(sorted(fetch_by_seq(u)), [2, 4, 5, 8])

    def test_dollar_is_not_part_of_a_set(self):
        self.ok(self.c, "a", "SEARCH RETURN (SAVE) FLAGGED")
        self.status_of(self.c, "b", "FETCH 1,$ UID", "BAD")
        self.status_of(self.c, "c", "FETCH $:3 UID", "BAD")
