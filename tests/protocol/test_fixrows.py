"""The "Fix" rows of shared/seed/behaviour.md (what Net::IMAP::Server gets wrong) that are
about mailboxes, concurrency, FETCH, SEARCH and STORE: one test per row, named after it,
proving uimap does it right. (The rows that need the MIME parser, HEADER.FIELDS.NOT,
ENVELOPE quoting and BODY search in MIME parts, are in test_fetch_mime.py.)"""

import time
import unittest

from mailhelpers import (MailTestCase, SeqTracker, append, command_raw, fetch_by_seq,
                         fetches, list_entries, make_message, resp_code, search_numbers,
                         select_info, status_items, untagged_numbers)


class FixRows(MailTestCase):
    # -- "SELECT silently expunges the previously selected mailbox (RFC 3501: it must not)."
    def test_fix_select_does_not_expunge_previous_mailbox(self):
        c = self.session()
        self.fill(c, "INBOX", 3)
        self.ok(c, "s", "SELECT INBOX")
        self.ok(c, "d", "STORE 2 +FLAGS.SILENT (\\Deleted)")
        for i, cmd in enumerate(("SELECT Sent", "SELECT INBOX", "EXAMINE INBOX",
                                 "SELECT INBOX", "EXAMINE Sent")):
            untagged = self.ok(c, f"s{i}", cmd)
            self.assertEqual(untagged_numbers(untagged, "EXPUNGE"), [], cmd)
        items = status_items(self.ok(c, "st", "STATUS INBOX (MESSAGES)"))
        self.assertEqual(items, [("MESSAGES", 3)])
        info = select_info(self.ok(c, "s9", "SELECT INBOX"))
        self.assertEqual(info["exists"], 3)
        f = fetch_by_seq(self.ok(c, "f", "FETCH 2 FLAGS"))
        self.assertIn("\\Deleted", f[2]["FLAGS"])

    # -- "The session that APPENDs to its own selected mailbox is never told EXISTS."
    def test_fix_append_to_own_selected_mailbox_is_told_exists(self):
        c = self.session(select="INBOX")
        c.send(f"a1 APPEND INBOX {{{len(make_message())}+}}\r\n".encode() + make_message() +
               b"\r\n")
        untagged, t = c.read_tagged("a1")
        self.assertTagged(t, "a1", "OK")
        self.assertIn(1, untagged_numbers(untagged, "EXISTS"),
                      f"APPEND to the selected mailbox must announce EXISTS: {untagged!r}")
        # MULTIAPPEND of two more: EXISTS 3
        m = make_message()
        c.send(f"a2 APPEND INBOX {{{len(m)}+}}\r\n".encode() + m +
               f" {{{len(m)}+}}\r\n".encode() + m + b"\r\n")
        untagged, t = c.read_tagged("a2")
        self.assertTagged(t, "a2", "OK")
        self.assertEqual(untagged_numbers(untagged, "EXISTS")[-1:], [3])
        # and COPY into the selected mailbox too
        untagged, t = c.command("cp", "COPY 1 INBOX")
        self.assertTagged(t, "cp", "OK")
        self.assertEqual(untagged_numbers(untagged, "EXISTS")[-1:], [4])
        f = fetch_by_seq(self.ok(c, "f", "FETCH 1:4 UID"))
        self.assertEqual(sorted(f), [1, 2, 3, 4])

    # -- "A session can receive `* n FETCH` for a message before `* n EXISTS`."
    def test_fix_no_fetch_before_exists(self):
        a = self.session(select="INBOX")
        self.append_ok(a, "INBOX", make_message())
        b = self.session(select="INBOX")
        tracker = SeqTracker(self, 1)
        for round_ in range(3):
            # a appends and at once changes the flags of the new message
            self.append_ok(a, "INBOX", make_message(), tag=f"ap{round_}")
            n = 2 + round_
            self.ok(a, f"fl{round_}", f"STORE {n} +FLAGS (\\Flagged)")
            self.ok(a, f"fu{round_}", f"UID STORE 1:* +FLAGS ($Kw{round_})")
            # b learns through a FETCH of an old message first, then NOOP
            untagged = self.ok(b, f"bf{round_}", "FETCH 1 FLAGS")
            tracker.feed(untagged)
            untagged = self.ok(b, f"bn{round_}", "NOOP")
            tracker.feed(untagged)
            self.assertEqual(tracker.count, n)
        f = fetch_by_seq(self.ok(b, "f", "FETCH 1:* FLAGS"))
        self.assertIn("\\Flagged", f[4]["FLAGS"])

    # -- "SEARCH FROM/TO/CC/BCC/HEADER match any message that merely has that header."
    def test_fix_search_address_and_header_keys_match_the_value(self):
        c = self.session()
        self.append_ok(c, "INBOX", make_message(
            from_="Alice <alice@example.org>", to="Bob <bob@example.org>",
            cc="Carol <carol@example.org>", bcc="Dave <dave@example.org>",
            headers=["X-Tag: alpha"]))
        self.append_ok(c, "INBOX", make_message(
            from_="Erin <erin@example.net>", to="Frank <frank@example.net>",
            cc="Grace <grace@example.net>", bcc="Heidi <heidi@example.net>",
            headers=["X-Tag: beta"]))
        self.ok(c, "s", "SELECT INBOX")
        cases = [("FROM alice", [1]), ("FROM erin", [2]), ("FROM nobody", []),
                 ("TO bob", [1]), ("TO frank", [2]), ("TO nobody", []),
                 ("CC carol", [1]), ("CC grace", [2]), ("CC nobody", []),
                 ("BCC dave", [1]), ("BCC heidi", [2]), ("BCC nobody", []),
                 ("HEADER X-Tag alpha", [1]), ("HEADER X-Tag beta", [2]),
                 ("HEADER X-Tag gamma", []), ("FROM example.net", [2])]
        for i, (key, want) in enumerate(cases):
            self.assertEqual(search_numbers(self.ok(c, f"q{i}", "SEARCH " + key)), want, key)

    # -- "SEARCH has no CHARSET; ..."
    def test_fix_search_accepts_charset(self):
        c = self.session()
        self.append_ok(c, "INBOX", make_message(subject="plain ascii"))
        self.ok(c, "s", "SELECT INBOX")
        for i, cs in enumerate(("UTF-8", "utf-8", "US-ASCII")):
            untagged = self.ok(c, f"q{i}", f"SEARCH CHARSET {cs} SUBJECT ascii")
            self.assertEqual(search_numbers(untagged), [1], cs)
        # any charset iconv(3) knows converts the strings (test_charset.py)
        untagged = self.ok(c, "k", "SEARCH CHARSET KOI8-R SUBJECT ascii")
        self.assertEqual(search_numbers(untagged), [1])
        untagged, t = command_raw(c, "u", "UID SEARCH CHARSET X-NOSUCH ALL")
        self.assertTagged(t, "u", "NO", "[BADCHARSET")

    # -- "`BODY[]<0>` without a length makes the item vanish; partial responses are
    #    mislabelled."
    def test_fix_partial_fetch_labels_and_no_vanishing_item(self):
        c = self.session()
        msg = make_message(subject="partial", body="0123456789abcdef\r\n")
        self.append_ok(c, "INBOX", msg)
        self.ok(c, "s", "SELECT INBOX")
        untagged, t = command_raw(c, "z", "FETCH 1 (UID BODY.PEEK[]<0>)")
        if t.startswith("z OK"):
            f = fetch_by_seq(untagged)[1]
            self.assertIn("BODY[]<0>", f, f"the item vanished: {untagged!r}")
        else:
            # RFC 3501 grammar: "<" number "." nz-number ">" -- a length is required
            self.assertTagged(t, "z", "BAD")
        f = fetch_by_seq(self.ok(c, "f", "FETCH 1 (BODY.PEEK[]<0.10> BODY.PEEK[TEXT]<4.6>)"))[1]
        self.assertEqual(f["BODY[]<0>"], msg[:10])
        self.assertEqual(f["BODY[TEXT]<4>"], b"456789")
        self.assertNotIn("BODY[]", f)
        self.assertNotIn("BODY[TEXT]", f)

    # -- "Unknown FETCH items are silently dropped instead of rejected with BAD."
    def test_fix_unknown_fetch_item_is_bad(self):
        c = self.session()
        self.append_ok(c, "INBOX", make_message())
        self.ok(c, "s", "SELECT INBOX")
        for i, items in enumerate(("FOO", "(FLAGS FOO)", "(UID BODY.PEAK[])", "RFC822.BLAH",
                                   "(FLAGS XYZZY UID)", "BODY[NOSUCH]", "INTERNALDATES")):
            untagged, t = command_raw(c, f"f{i}", f"FETCH 1 {items}")
            self.assertRegex(t, rf"^f{i} (BAD|NO) ", items)
            if "NOSUCH" not in items:
                self.assertTagged(t, f"f{i}", "BAD")
                self.assertEqual(fetches(untagged), [], items)

    # -- "RFC822 and RFC822.TEXT do not set `\\Seen`."
    def test_fix_rfc822_and_rfc822_text_set_seen(self):
        c = self.session()
        self.append_ok(c, "INBOX", make_message(subject="one"))
        self.append_ok(c, "INBOX", make_message(subject="two"))
        self.append_ok(c, "INBOX", make_message(subject="three"))
        self.ok(c, "s", "SELECT INBOX")
        for seq, item in ((1, "RFC822"), (2, "RFC822.TEXT")):
            f = fetch_by_seq(self.ok(c, f"f{seq}", f"FETCH {seq} {item}"))[seq]
            self.assertIn("\\Seen", f.get("FLAGS", []),
                          f"{item}: the FLAGS change must be reported: {f!r}")
        # RFC822.HEADER is a peek
        self.ok(c, "f3", "FETCH 3 RFC822.HEADER")
        f = fetch_by_seq(self.ok(c, "g", "FETCH 1:3 FLAGS"))
        self.assertIn("\\Seen", f[1]["FLAGS"])
        self.assertIn("\\Seen", f[2]["FLAGS"])
        self.assertNotIn("\\Seen", f[3]["FLAGS"])
        # other sessions see it too
        c2 = self.session()
        items = status_items(self.ok(c2, "st", "STATUS INBOX (UNSEEN)"))
        self.assertEqual(items, [("UNSEEN", 1)])

    # -- "`\\Recent` is kept per connection, so other sessions never see it."
    def test_fix_recent_seen_by_the_first_other_session_only(self):
        a = self.session()
        self.append_ok(a, "INBOX", make_message())
        b = self.session()
        info = select_info(self.ok(b, "s", "SELECT INBOX"))
        self.assertEqual(info["recent"], 1, "another session must see \\Recent")
        f = fetch_by_seq(self.ok(b, "f", "FETCH 1 FLAGS"))
        self.assertIn("\\Recent", f[1]["FLAGS"])
        c = self.session()
        info = select_info(self.ok(c, "s", "SELECT INBOX"))
        self.assertEqual(info["recent"], 0, "\\Recent belongs to one session only")
        f = fetch_by_seq(self.ok(c, "f", "FETCH 1 FLAGS"))
        self.assertNotIn("\\Recent", f[1]["FLAGS"])
        # a session that is selected when the message arrives learns of it too
        self.append_ok(a, "INBOX", make_message(), tag="ap2")
        untagged = self.ok(c, "n", "NOOP")
        self.assertIn(2, untagged_numbers(untagged, "EXISTS"))
        self.assertIn(1, untagged_numbers(untagged, "RECENT"))
        f = fetch_by_seq(self.ok(c, "f2", "FETCH 2 FLAGS"))
        self.assertIn("\\Recent", f[2]["FLAGS"])
        untagged = self.ok(b, "n", "NOOP")
        self.assertIn(2, untagged_numbers(untagged, "EXISTS"))
        # b's recent count stays 1 (its message 1): message 2 went to c
        self.assertNotIn(2, untagged_numbers(untagged, "RECENT"))
        f = fetch_by_seq(self.ok(b, "f2", "FETCH 1:* FLAGS"))
        self.assertIn("\\Recent", f[1]["FLAGS"])
        self.assertNotIn("\\Recent", f[2]["FLAGS"])

    # -- "RENAME INBOX moves INBOX away (RFC: moves its messages to the new name, INBOX
    #    stays)."
    def test_fix_rename_inbox_moves_messages_and_leaves_empty_inbox(self):
        c = self.session()
        self.fill(c, "INBOX", 3)
        self.ok(c, "r", "RENAME INBOX Old")
        entries = list_entries(self.ok(c, "l", 'LIST "" *'))
        self.assertIn("INBOX", entries)
        self.assertIn("Old", entries)
        self.assertEqual(status_items(self.ok(c, "s1", "STATUS Old (MESSAGES)")),
                         [("MESSAGES", 3)])
        self.assertEqual(status_items(self.ok(c, "s2", "STATUS INBOX (MESSAGES)")),
                         [("MESSAGES", 0)])
        self.ok(c, "s", "SELECT Old")
        f = fetch_by_seq(self.ok(c, "f", "FETCH 1:* BODY.PEEK[TEXT]"))
        self.assertEqual([f[i]["BODY[TEXT]"] for i in (1, 2, 3)],
                         [b"body 1\r\n", b"body 2\r\n", b"body 3\r\n"])
        # INBOX still works
        self.append_ok(c, "INBOX", make_message())
        self.assertEqual(select_info(self.ok(c, "s3", "SELECT INBOX"))["exists"], 1)

    # -- "DELETE of a mailbox with children is refused (RFC: allowed, leaves it
    #    `\\Noselect`)."
    def test_fix_delete_mailbox_with_children_leaves_it_noselect(self):
        c = self.session()
        self.ok(c, "c", "CREATE parent/child")
        self.append_ok(c, "parent", make_message())
        self.ok(c, "d", "DELETE parent")
        entries = list_entries(self.ok(c, "l", 'LIST "" *'))
        self.assertIn("\\noselect", entries["parent"][0])
        self.assertIn("parent/child", entries)
        _, t = command_raw(c, "s", "SELECT parent")
        self.assertTagged(t, "s", "NO")

    # -- "STATUS items come back in random order; unknown STATUS items are ignored."
    def test_fix_status_items_in_order_asked_and_unknown_item_bad(self):
        c = self.session()
        order = ["UNSEEN", "UIDNEXT", "MESSAGES", "UIDVALIDITY", "RECENT"]
        for _ in range(5):
            items = status_items(self.ok(c, "st", f"STATUS INBOX ({' '.join(order)})"))
            self.assertEqual([k for k, _ in items], order)
            order = order[1:] + order[:1]
        for i, bad in enumerate(("(MESSAGES BOGUS)", "(BOGUS)", "(MESSAGES UIDNEXT X-Y)")):
            untagged, t = command_raw(c, f"b{i}", f"STATUS INBOX {bad}")
            self.assertTagged(t, f"b{i}", "BAD")
            self.assertEqual(untagged, [])

    # -- "An APPEND with an invalid date reports BAD but keeps the message."
    def test_fix_append_invalid_date_keeps_nothing(self):
        c = self.session(select="INBOX")
        t = append(c, "INBOX", make_message(), date="31-Feb-2020 10:00:00 +0000", tag="a1")
        self.assertTagged(t, "a1", "BAD")
        t = append(c, "INBOX", make_message(), date="not a date", tag="a2")
        self.assertTagged(t, "a2", "BAD")
        untagged = self.ok(c, "n", "NOOP")
        self.assertEqual(untagged_numbers(untagged, "EXISTS"), [])
        self.assertEqual(status_items(self.ok(c, "st", "STATUS INBOX (MESSAGES UIDNEXT)")),
                         [("MESSAGES", 0), ("UIDNEXT", 1)])
        # the connection is in sync: the next APPEND works and gets UID 1
        t = self.append_ok(c, "INBOX", make_message(), tag="a3")
        self.assertEqual(resp_code(t, "APPENDUID").split()[1], "1")

    # -- "Sequence ranges `1:4000000000` are enumerated one by one."
    def test_fix_huge_sequence_ranges_not_enumerated(self):
        c = self.session()
        self.fill(c, "INBOX", 3)
        self.ok(c, "s", "SELECT INBOX")
        start = time.monotonic()
        for i in range(10):
            f = fetch_by_seq(self.ok(c, f"u{i}", "UID FETCH 1:4000000000 (FLAGS)", timeout=20))
            self.assertEqual(sorted(f), [1, 2, 3])
        for i in range(5):
            self.ok(c, f"us{i}", "UID STORE 1:4294967295 +FLAGS.SILENT ($x)", timeout=20)
            self.assertEqual(search_numbers(self.ok(
                c, f"ss{i}", "UID SEARCH UID 1:4294967295", timeout=20)), [1, 2, 3])
            untagged, t = command_raw(c, f"sq{i}", "SEARCH 1:4294967295,2:4000000000",
                                      timeout=20)
            if t.startswith(f"sq{i} OK"):
                self.assertEqual(search_numbers(untagged), [1, 2, 3])
            else:
                self.assertTagged(t, f"sq{i}", "BAD")
        for i in range(5):
            untagged, t = command_raw(c, f"q{i}", "FETCH 1:4000000000 UID", timeout=20)
            # a sequence number past the end may be refused (RFC 3501 §9) or clipped
            if t.startswith(f"q{i} OK"):
                self.assertEqual(sorted(fetch_by_seq(untagged)), [1, 2, 3])
            else:
                self.assertTagged(t, f"q{i}", "BAD")
        elapsed = time.monotonic() - start
        # enumerating 4e9 numbers 25 times would take minutes; generous bound
        self.assertLess(elapsed, 20, f"huge ranges took {elapsed:.1f}s")

    # -- "UIDVALIDITY is `time()`, so two mailboxes created in one second share it."
    def test_fix_uidvalidity_unique_per_mailbox(self):
        c = self.session()
        names = [f"box{i}" for i in range(8)]
        for i, n in enumerate(names):
            self.ok(c, f"c{i}", f"CREATE {n}")
        vals = []
        for i, n in enumerate(names + ["INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"]):
            vals.append(dict(status_items(self.ok(c, f"s{i}", f"STATUS {n} (UIDVALIDITY)")))
                        ["UIDVALIDITY"])
        self.assertEqual(len(set(vals)), len(vals), f"UIDVALIDITY shared: {vals}")
        # a mailbox deleted and created again in the same second gets a new one
        self.ok(c, "d", "DELETE box0")
        self.ok(c, "c", "CREATE box0")
        v = dict(status_items(self.ok(c, "s", "STATUS box0 (UIDVALIDITY)")))["UIDVALIDITY"]
        self.assertNotEqual(v, vals[0])

    # -- "Updates reach a client only on its next command: nothing is pushed to an idle
    #    client."
    def test_fix_updates_pushed_to_idling_client(self):
        a = self.session()
        b = self.session(select="INBOX")
        b.send("i IDLE\r\n")
        self.assertTrue(b.readline().startswith("+"))
        self.append_ok(a, "INBOX", make_message())
        deadline = time.monotonic() + 10
        seen = []
        while "* 1 EXISTS" not in seen:
            seen.append(b.readline(max(0.1, deadline - time.monotonic())))
        self.ok(a, "s", "SELECT INBOX")
        self.ok(a, "f", "STORE 1 +FLAGS (\\Flagged)")
        line = b.readline(10)
        while not line.startswith("* 1 FETCH"):
            self.assertRegex(line, r"^\* \d+ (RECENT|EXISTS)$")
            line = b.readline(10)
        self.assertIn("\\Flagged", line)
        b.send("DONE\r\n")
        _, t = b.read_tagged("i")
        self.assertTagged(t, "i", "OK")


if __name__ == "__main__":
    unittest.main()
