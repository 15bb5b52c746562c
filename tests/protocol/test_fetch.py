"""FETCH and UID FETCH (RFC 3501 §6.4.5, §6.4.8): every non-MIME item, the FAST macro,
sections "", HEADER, TEXT, partial fetches, \\Seen handling, sequence sets and their
errors, and a large FETCH verified byte for byte while another connection is served.
(ENVELOPE, BODY, BODYSTRUCTURE, ALL, FULL and MIME part sections: test_fetch_mime.py.)"""

import base64
import random
import re
import threading
import time
import unittest

from mailhelpers import (MailTestCase, append_many, command_raw, fetch_by_seq, fetches,
                         make_message, read_tagged_raw)

DATE_RE = re.compile(rb"^[ 0-3]\d-(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)-\d{4} "
                     rb"\d\d:\d\d:\d\d [+-]\d{4}$")


class FetchItems(MailTestCase):
    def setUp(self):
        super().setUp()
        self.c = self.session()
        self.msgs = [
            make_message(subject="first", body="The first body.\r\nLine two.\r\n"),
            make_message(subject="second", body="Second body, a bit longer than the first."
                         "\r\n" * 3),
            make_message(subject="third", body="x" * 100 + "\r\n"),
        ]
        self.append_ok(self.c, "INBOX", self.msgs[0], date="01-Mar-2020 08:30:00 +0100",
                       tag="a1")
        self.append_ok(self.c, "INBOX", self.msgs[1], flags=["\\Seen"], tag="a2")
        self.append_ok(self.c, "INBOX", self.msgs[2], flags=["$Work", "\\Answered"], tag="a3")
        self.ok(self.c, "s", "SELECT INBOX")

    def fetch(self, seqs, items, tag="f"):
        return fetch_by_seq(self.ok(self.c, tag, f"FETCH {seqs} {items}"))

    @staticmethod
    def split(msg):
        i = msg.index(b"\r\n\r\n") + 4
        return msg[:i], msg[i:]

    def test_flags(self):
        f = self.fetch("1:3", "FLAGS")
        self.assertEqual(set(f[1]["FLAGS"]), {"\\Recent"})
        self.assertEqual(set(f[2]["FLAGS"]), {"\\Seen", "\\Recent"})
        self.assertEqual(set(f[3]["FLAGS"]), {"$Work", "\\Answered", "\\Recent"})
        self.assertEqual(list(f[1]), ["FLAGS"])

    def test_uid(self):
        f = self.fetch("1:3", "UID")
        self.assertEqual([f[i]["UID"] for i in (1, 2, 3)], ["1", "2", "3"])

    def test_internaldate(self):
        f = self.fetch("1:3", "INTERNALDATE")
        self.assertEqual(f[1]["INTERNALDATE"], b"01-Mar-2020 08:30:00 +0100")
        for i in (2, 3):
            self.assertRegex(f[i]["INTERNALDATE"], DATE_RE)

    def test_rfc822_size(self):
        f = self.fetch("1:3", "RFC822.SIZE")
        self.assertEqual([int(f[i]["RFC822.SIZE"]) for i in (1, 2, 3)],
                         [len(m) for m in self.msgs])

    def test_rfc822(self):
        f = self.fetch("1", "RFC822")
        self.assertEqual(f[1]["RFC822"], self.msgs[0])

    def test_rfc822_header(self):
        f = self.fetch("1:3", "RFC822.HEADER")
        for i in (1, 2, 3):
            self.assertEqual(f[i]["RFC822.HEADER"], self.split(self.msgs[i - 1])[0])
            self.assertNotIn("\\Seen", f[i].get("FLAGS", []))

    def test_rfc822_text(self):
        f = self.fetch("2", "RFC822.TEXT")
        self.assertEqual(f[2]["RFC822.TEXT"], self.split(self.msgs[1])[1])

    def test_body_sections(self):
        f = self.fetch("1", "(BODY.PEEK[] BODY.PEEK[HEADER] BODY.PEEK[TEXT])")
        head, text = self.split(self.msgs[0])
        self.assertEqual(f[1]["BODY[]"], self.msgs[0])
        self.assertEqual(f[1]["BODY[HEADER]"], head)
        self.assertEqual(f[1]["BODY[TEXT]"], text)
        self.assertNotIn("FLAGS", f[1])

    def test_fast_macro(self):
        f = self.fetch("1:3", "FAST")
        for i in (1, 2, 3):
            self.assertEqual(set(f[i]), {"FLAGS", "INTERNALDATE", "RFC822.SIZE"})
        self.assertEqual(int(f[3]["RFC822.SIZE"]), len(self.msgs[2]))

    def test_item_list_with_everything_non_mime(self):
        f = self.fetch("3", "(FLAGS UID INTERNALDATE RFC822.SIZE RFC822.HEADER "
                            "BODY.PEEK[TEXT] BODY.PEEK[]<0.4>)")
        self.assertEqual(set(f[3]), {"FLAGS", "UID", "INTERNALDATE", "RFC822.SIZE",
                                     "RFC822.HEADER", "BODY[TEXT]", "BODY[]<0>"})
        self.assertEqual(f[3]["BODY[]<0>"], self.msgs[2][:4])

    def test_items_case_insensitive(self):
        f = self.fetch("1", "(flags uid rfc822.size body.peek[header])")
        self.assertIn("FLAGS", f[1])
        self.assertIn("UID", f[1])
        self.assertEqual(int(f[1]["RFC822.SIZE"]), len(self.msgs[0]))
        self.assertTrue(any(k.upper() == "BODY[HEADER]" for k in f[1]), f[1])

    def test_partial(self):
        m = self.msgs[0]
        f = self.fetch("1", "(BODY.PEEK[]<0.10>)")
        self.assertEqual(f[1]["BODY[]<0>"], m[:10])
        f = self.fetch("1", "(BODY.PEEK[]<5.7>)")
        self.assertEqual(f[1]["BODY[]<5>"], m[5:12])
        f = self.fetch("1", f"(BODY.PEEK[]<10.{len(m) * 2}>)")
        self.assertEqual(f[1]["BODY[]<10>"], m[10:], "a length past the end is truncated")
        _, text = self.split(m)
        f = self.fetch("1", "(BODY.PEEK[TEXT]<4.5>)")
        self.assertEqual(f[1]["BODY[TEXT]<4>"], text[4:9])
        head, _ = self.split(m)
        f = self.fetch("1", "(BODY.PEEK[HEADER]<0.6>)")
        self.assertEqual(f[1]["BODY[HEADER]<0>"], head[:6])

    def test_partial_origin_past_end_is_empty(self):
        m = self.msgs[0]
        for i, origin in enumerate((len(m), len(m) + 1, 1000000, 4294967295)):
            f = self.fetch("1", f"(BODY.PEEK[]<{origin}.10>)", tag=f"f{i}")
            self.assertEqual(f[1][f"BODY[]<{origin}>"], b"")

    def test_partial_syntax_errors(self):
        for i, item in enumerate(("BODY[]<0.0>", "BODY[]<x.5>", "BODY[]<1.>", "BODY[]<.5>",
                                  "BODY[]<1.5", "BODY[]<4294967296.1>", "BODY[]<-1.5>")):
            untagged, t = command_raw(self.c, f"p{i}", f"FETCH 1 ({item})")
            self.assertTagged(t, f"p{i}", "BAD")
            self.assertEqual(fetches(untagged), [], item)

    def test_body_sets_seen_and_reports_flags(self):
        f = self.fetch("1", "BODY[]")
        self.assertEqual(f[1]["BODY[]"], self.msgs[0])
        self.assertIn("\\Seen", f[1].get("FLAGS", []), f"FLAGS must be reported: {f[1]}")
        f = self.fetch("1", "FLAGS", tag="g")
        self.assertIn("\\Seen", f[1]["FLAGS"])

    def test_body_section_sets_seen(self):
        for seq, item in ((1, "BODY[TEXT]"), (3, "BODY[HEADER]")):
            f = self.fetch(str(seq), item, tag=f"f{seq}")
            self.assertIn("\\Seen", f[seq].get("FLAGS", []), item)

    def test_partial_body_sets_seen(self):
        f = self.fetch("3", "BODY[]<0.5>")
        self.assertIn("\\Seen", f[3].get("FLAGS", []))

    def test_body_peek_does_not_set_seen(self):
        self.fetch("1", "(BODY.PEEK[] BODY.PEEK[TEXT] BODY.PEEK[HEADER] BODY.PEEK[]<0.5>)")
        self.fetch("1", "(RFC822.HEADER RFC822.SIZE)", tag="g")
        f = self.fetch("1", "FLAGS", tag="h")
        self.assertNotIn("\\Seen", f[1]["FLAGS"])

    def test_already_seen_body(self):
        f = self.fetch("2", "BODY[]")
        self.assertEqual(f[2]["BODY[]"], self.msgs[1])

    def test_body_in_examine_does_not_set_seen(self):
        self.ok(self.c, "e", "EXAMINE INBOX")
        f = self.fetch("1", "(BODY[] RFC822 RFC822.TEXT)")
        self.assertEqual(f[1]["BODY[]"], self.msgs[0])
        self.assertNotIn("\\Seen", f[1].get("FLAGS", []))
        c2 = self.session()
        self.ok(c2, "s", "EXAMINE INBOX")
        f = fetch_by_seq(self.ok(c2, "f", "FETCH 1 FLAGS"))
        self.assertNotIn("\\Seen", f[1]["FLAGS"])

    def test_unknown_items_bad(self):
        for i, items in enumerate(("BOGUS", "(FLAGS BOGUS)", "ENVELOPES", "BODY.PEEK",
                                   "(UID", "()", "FLAGS)", "RFC822.PEEK", "BINARY.FOO")):
            untagged, t = command_raw(self.c, f"u{i}", f"FETCH 1 {items}")
            self.assertTagged(t, f"u{i}", "BAD")
            self.assertEqual(fetches(untagged), [], items)

    def test_missing_arguments_bad(self):
        for i, args in enumerate(("", " 1", " FLAGS")):
            _, t = command_raw(self.c, f"m{i}", "FETCH" + args)
            self.assertTagged(t, f"m{i}", "BAD")

    def test_sequence_sets(self):
        cases = {"1:*": [1, 2, 3], "*:1": [1, 2, 3], "*": [3], "2,1": [1, 2],
                 "3:2": [2, 3], "1,3": [1, 3], "1:2,2:3": [1, 2, 3], "2:*": [2, 3],
                 "*:*": [3]}
        for i, (s, want) in enumerate(cases.items()):
            f = self.fetch(s, "UID", tag=f"s{i}")
            self.assertEqual(sorted(f), want, s)

    def test_sequence_out_of_range_bad(self):
        for i, s in enumerate(("4", "0", "1:4", "0:2", "2,5", "4294967296", "1:0", "a",
                               "1:", ":2", "1,,2")):
            untagged, t = command_raw(self.c, f"o{i}", f"FETCH {s} FLAGS")
            self.assertTagged(t, f"o{i}", "BAD")
            self.assertEqual(fetches(untagged), [], s)

    def test_star_in_empty_mailbox_bad(self):
        self.ok(self.c, "s", "SELECT Drafts")
        _, t = command_raw(self.c, "f", "FETCH * FLAGS")
        self.assertTagged(t, "f", "BAD")
        _, t = command_raw(self.c, "g", "FETCH 1:* FLAGS")
        self.assertTagged(t, "g", "BAD")
        untagged, t = command_raw(self.c, "u", "UID FETCH 1:* FLAGS")
        self.assertTagged(t, "u", "OK")
        self.assertEqual(fetches(untagged), [])

    def test_uid_fetch_includes_uid(self):
        f = fetch_by_seq(self.ok(self.c, "u", "UID FETCH 2:3 FLAGS"))
        self.assertEqual(sorted(f), [2, 3])
        self.assertEqual(f[2]["UID"], "2")
        self.assertEqual(f[3]["UID"], "3")
        f = fetch_by_seq(self.ok(self.c, "u2", "UID FETCH 1 (BODY.PEEK[]<0.3>)"))
        self.assertEqual(f[1]["UID"], "1")

    def test_uid_fetch_after_expunge(self):
        self.ok(self.c, "d", "STORE 1 +FLAGS.SILENT (\\Deleted)")
        self.ok(self.c, "x", "EXPUNGE")
        f = fetch_by_seq(self.ok(self.c, "u", "UID FETCH 2:3 (UID RFC822.SIZE)"))
        self.assertEqual({s: v["UID"] for s, v in f.items()}, {1: "2", 2: "3"})
        # nonexistent UIDs are no error, just nothing
        self.assertEqual(fetches(self.ok(self.c, "u2", "UID FETCH 1,50:60 UID")), [])

    def test_uid_fetch_range_past_last_uid(self):
        """RFC 3501 §6.4.8 / 9: n:* with n above the highest UID still means the last
        message (* is the highest UID, and a range is unordered)."""
        f = fetch_by_seq(self.ok(self.c, "u", "UID FETCH 10:* UID"))
        self.assertEqual({s: v["UID"] for s, v in f.items()}, {3: "3"})

    def test_uid_fetch_huge_range(self):
        f = fetch_by_seq(self.ok(self.c, "u", "UID FETCH 1:4294967295 UID"))
        self.assertEqual(sorted(f), [1, 2, 3])
        f = fetch_by_seq(self.ok(self.c, "u", "UID FETCH 2:4294967295 UID"))
        self.assertEqual(sorted(f), [2, 3])

    def test_fetch_not_selected_bad(self):
        self.ok(self.c, "u", "UNSELECT")
        _, t = command_raw(self.c, "f", "FETCH 1 FLAGS")
        self.assertTagged(t, "f", "BAD")

    def test_message_without_body(self):
        msg = b"Subject: headers only\r\nFrom: a@b\r\n"
        self.append_ok(self.c, "INBOX", msg, tag="a4")
        f = self.fetch("4", "(RFC822.SIZE BODY.PEEK[] BODY.PEEK[HEADER] BODY.PEEK[TEXT])")
        self.assertEqual(f[4]["BODY[]"], msg)
        self.assertEqual(int(f[4]["RFC822.SIZE"]), len(msg))
        self.assertEqual(f[4]["BODY[HEADER]"], msg)
        self.assertEqual(f[4]["BODY[TEXT]"], b"")

    def test_imaplib_fetch(self):
        m = self.imap()
        m.select("INBOX", readonly=True)
        typ, data = m.fetch("1:3", "(UID RFC822.SIZE BODY.PEEK[])")
        self.assertEqual(typ, "OK")
        bodies = [d[1] for d in data if isinstance(d, tuple)]
        self.assertEqual(bodies, self.msgs)
        typ, data = m.uid("FETCH", "2", "(FLAGS)")
        self.assertEqual(typ, "OK")
        self.assertIn(b"UID 2", data[0])


class LargeFetch(MailTestCase):
    HARD_TIMEOUT = 240
    N = 200
    SIZE = 200 * 1024

    def make_big(self, i):
        rnd = random.Random(i)
        head = make_message(subject=f"big {i}", body="")
        raw = base64.encodebytes(rnd.randbytes(self.SIZE * 3 // 4)).replace(b"\n", b"\r\n")
        return head + raw[:self.SIZE - len(head) - 2] + b"\r\n"

    def test_large_fetch_byte_for_byte_while_other_connection_served(self):
        a = self.session()
        msgs = [self.make_big(i) for i in range(self.N)]
        for k in range(0, self.N, 20):
            for t in append_many(a, "INBOX", msgs[k:k + 20], tag=f"b{k}_", timeout=60):
                self.assertIn(" OK ", t)
        self.ok(a, "s", "SELECT INBOX")
        b = self.session(select="INBOX")

        a.send(b"big FETCH 1:* (UID BODY.PEEK[])\r\n")
        # a reads nothing for now: its output backs up (40 MB do not fit in the socket
        # buffers), and b must still be answered
        time.sleep(0.5)
        latencies = []
        for i in range(5):
            t0 = time.monotonic()
            self.ok(b, f"n{i}", "NOOP", timeout=10)
            latencies.append(time.monotonic() - t0)

        # now a reads everything in a thread while b keeps sending NOOPs
        result = {}

        def reader():
            try:
                result["resp"] = read_tagged_raw(a, "big", timeout=180)
            except Exception as e:  # reported below
                result["error"] = e
        th = threading.Thread(target=reader, daemon=True)
        th.start()
        i = 5
        while th.is_alive() and i < 2000:
            t0 = time.monotonic()
            self.ok(b, f"n{i}", "NOOP", timeout=10)
            latencies.append(time.monotonic() - t0)
            i += 1
            time.sleep(0.02)
        th.join(200)
        self.assertNotIn("error", result, result.get("error"))
        untagged, tagged = result["resp"]
        self.assertTagged(tagged, "big", "OK")
        f = fetch_by_seq(untagged)
        self.assertEqual(sorted(f), list(range(1, self.N + 1)))
        for seq in range(1, self.N + 1):
            self.assertEqual(f[seq]["UID"], str(seq))
            self.assertTrue(f[seq]["BODY[]"] == msgs[seq - 1], f"message {seq} differs")
        self.assertLess(max(latencies), 10, f"NOOP latencies: {max(latencies):.2f}s max")
        # PEEK: nothing was marked \Seen
        f = fetch_by_seq(self.ok(b, "fl", "FETCH 1:* FLAGS", timeout=30))
        self.assertFalse(any("\\Seen" in v["FLAGS"] for v in f.values()))

    def test_two_large_fetches_in_parallel(self):
        a = self.session()
        msgs = [self.make_big(i) for i in range(40)]
        for k in range(0, 40, 20):
            for t in append_many(a, "INBOX", msgs[k:k + 20], tag=f"b{k}_", timeout=60):
                self.assertIn(" OK ", t)
        sessions = [self.session(select="INBOX") for _ in range(2)]
        for s in sessions:
            s.send(b"big UID FETCH 1:* BODY.PEEK[]\r\n")
        results = {}

        def reader(k, s):
            try:
                results[k] = read_tagged_raw(s, "big", timeout=120)
            except Exception as e:  # reported below
                results[k] = e
        ths = [threading.Thread(target=reader, args=(k, s), daemon=True)
               for k, s in enumerate(sessions)]
        for t in ths:
            t.start()
        for t in ths:
            t.join(150)
        for k in range(2):
            self.assertIsInstance(results.get(k), tuple, results.get(k))
            untagged, tagged = results[k]
            self.assertTagged(tagged, "big", "OK")
            f = fetch_by_seq(untagged)
            self.assertEqual([f[i]["BODY[]"] == msgs[i - 1] for i in range(1, 41)],
                             [True] * 40)


class FetchImaplibMisc(MailTestCase):
    def test_imaplib_partial_fetch(self):
        m = self.imap()
        msg = make_message(body="abcdefghijklmnopqrstuvwxyz\r\n")
        m.append("INBOX", None, None, msg)
        m.select("INBOX")
        typ, data = m.fetch("1", "(BODY.PEEK[]<3.5>)")
        self.assertEqual(typ, "OK")
        self.assertEqual(data[0][1], msg[3:8])


if __name__ == "__main__":
    unittest.main()
