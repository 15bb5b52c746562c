"""RFC 3501 details real clients hit: '[' is an ATOM-CHAR outside FETCH body sections
(§9), SEARCH FROM/TO/CC/BCC on parsed addresses, SEARCH TEXT over every MIME header,
SENT* with the obsolete and real-world Date: forms of RFC 5322 §4.3."""

import unittest

from mailhelpers import (MailTestCase, command_raw, fetch_by_seq, list_entries, make_message,
                         search_numbers, status_items)

# every ATOM-CHAR that is not a letter, '[' included (RFC 3501 §9)
ODD_ATOM = "!#$&'+,-.0123456789:;<=>?@^_`|[}"


class BracketAtoms(MailTestCase):
    def test_select_odd_atom_is_one_atom(self):
        c = self.session()
        _, t = command_raw(c, "s", "SELECT " + ODD_ATOM)
        self.assertTagged(t, "s", "NO")

    def test_list_odd_pattern_is_one_atom(self):
        c = self.session()
        untagged, t = command_raw(c, "l", 'LIST "" ' + ODD_ATOM + "%*")
        self.assertTagged(t, "l", "OK")
        self.assertEqual(list_entries(untagged), {})

    def test_odd_atom_mailbox_exists(self):
        c = self.session()
        name = ODD_ATOM.replace("&", "&-")  # a bare '&' is not modified UTF-7
        self.ok(c, "c", "CREATE " + name)
        untagged = self.ok(c, "l", 'LIST "" ' + name + "%*")
        self.assertEqual(set(list_entries(untagged)), {name})
        self.ok(c, "s", "SELECT " + name)

    def test_bracket_names_in_mailbox_commands(self):
        c = self.session()
        for name in ("foo[1]", "[Gmail]", "[Gmail]/Sent", "a[b", "x]y"):
            # ']' is not an ATOM-CHAR but is an ASTRING-CHAR (RFC 3501 §9)
            self.ok(c, "c", "CREATE " + name)
        untagged = self.ok(c, "l", 'LIST "" *')
        names = set(list_entries(untagged))
        for name in ("foo[1]", "[Gmail]", "[Gmail]/Sent", "a[b", "x]y"):
            self.assertIn(name, names)
        untagged = self.ok(c, "l2", 'LIST "" [Gmail]/%')
        self.assertEqual(set(list_entries(untagged)), {"[Gmail]/Sent"})
        untagged = self.ok(c, "l3", "LIST [Gmail]/ S*")
        self.assertEqual(set(list_entries(untagged)), {"[Gmail]/Sent"})

        msg = make_message(subject="bracket box")
        c.send(f"ap APPEND foo[1] (\\Seen) {{{len(msg)}+}}\r\n".encode() + msg + b"\r\n")
        _, t = command_raw(c, "n", "NOOP")  # read through the APPEND's reply
        self.assertIn("ap OK", " ".join(c.received[-3:]))
        untagged = self.ok(c, "st", "STATUS foo[1] (MESSAGES UNSEEN)")
        self.assertEqual(status_items(untagged), [("MESSAGES", 1), ("UNSEEN", 0)])
        untagged = self.ok(c, "s", "SELECT foo[1]")
        self.ok(c, "cp", "COPY 1 [Gmail]/Sent")
        self.ok(c, "cp2", "UID COPY 1:* x]y")
        untagged = self.ok(c, "st2", "STATUS [Gmail]/Sent (MESSAGES)")
        self.assertEqual(status_items(untagged), [("MESSAGES", 1)])
        untagged = self.ok(c, "f", "FETCH 1 (BODY.PEEK[HEADER.FIELDS (Subject)])")
        self.assertIn(b"bracket box", untagged[0])
        self.ok(c, "u", "UNSELECT")
        self.ok(c, "r", "RENAME foo[1] bar[2]")
        untagged = self.ok(c, "l4", 'LIST "" *[*')
        self.assertEqual(set(list_entries(untagged)),
                         {"bar[2]", "[Gmail]", "[Gmail]/Sent", "a[b"})
        untagged = self.ok(c, "st3", "STATUS bar[2] (MESSAGES)")
        self.assertEqual(status_items(untagged), [("MESSAGES", 1)])
        _, t = command_raw(c, "s2", "SELECT foo[1]")
        self.assertTagged(t, "s2", "NO")
        self.ok(c, "d", "DELETE bar[2]")
        self.ok(c, "sub", "SUBSCRIBE [Gmail]/Sent")
        untagged = self.ok(c, "lsub", 'LSUB "" [Gmail]*')
        self.assertEqual(set(list_entries(untagged, "LSUB")), {"[Gmail]/Sent"})

    def test_section_names_outside_fetch_are_atoms(self):
        c = self.session()
        self.ok(c, "c", "CREATE Body[x")
        untagged = self.ok(c, "l", 'LIST "" Body[*')
        self.assertEqual(set(list_entries(untagged)), {"Body[x"})
        self.ok(c, "s", "SELECT Body[x")

    def test_fetch_sections_stay_one_atom(self):
        c = self.session()
        self.append_ok(c, "INBOX", make_message(subject="hdr", from_="a@b.example"))
        self.ok(c, "s", "SELECT INBOX")
        untagged = self.ok(c, "f", "FETCH 1 (UID body.peek[HEADER.FIELDS (Subject From)]<0.10>)")
        items = fetch_by_seq(untagged)[1]
        self.assertEqual(items["BODY[HEADER.FIELDS (Subject From)]<0>"], b"From: a@b.")
        untagged = self.ok(c, "f2", 'FETCH 1 BODY.PEEK[HEADER.FIELDS ("Subject")]')
        self.assertIn(b"Subject: hdr", untagged[0])
        _, t = command_raw(c, "f3", "FETCH 1 BODY[HEADER")
        self.assertTagged(t, "f3", "BAD")
        # not a section item: '[' is an atom character, the item is unknown
        _, t = command_raw(c, "f4", "FETCH 1 FLAGS[x]")
        self.assertTagged(t, "f4", "BAD")


def raw_message(headers, body="body\r\n"):
    """A message from header lines (folded lines may contain CRLF) and a body."""
    return ("\r\n".join(headers) + "\r\n\r\n" + body).encode("utf-8")


class SearchCase(MailTestCase):
    MESSAGES = ()

    def setUp(self):
        super().setUp()
        self.c = self.session()
        for i, m in enumerate(self.MESSAGES):
            self.append_ok(self.c, "INBOX", m, date="15-Jun-2015 10:00:00 +0000", tag=f"a{i}")
        self.ok(self.c, "s", "SELECT INBOX")

    def check(self, criteria, want):
        if isinstance(criteria, str):
            criteria = criteria.encode()
        untagged, t = command_raw(self.c, "q", b"SEARCH " + criteria)
        self.assertTagged(t, "q", "OK")
        got = search_numbers(untagged)
        self.assertIsNotNone(got, f"no * SEARCH response for {criteria!r}")
        self.assertEqual(sorted(got), want, criteria)


class SearchAddresses(SearchCase):
    """FROM/TO/CC/BCC match the addresses as parsed and written out the way Dovecot's
    message_address_write() does ("Name <mailbox@domain>", groups "name: ...;"),
    RFC 2047-decoded; the raw header text (comments, quoting) is not searched."""

    MESSAGES = [
        raw_message(["From: <user-from (comment)@ (comment) domain.org>", "Subject: 1"]),
        raw_message(['From: "Doe, John" <john.doe@example.com>', "Subject: 2"]),
        raw_message(["To: undisclosed-recipients:;",
                     'Cc: Team: a@x.org, "B b" <b@y.org>;, c@z.org', "Subject: 3"]),
        raw_message(["From: =?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <jm@example.de>",
                     "Subject: 4"]),
        raw_message(["To: Alice\r\n  <alice@\r\n example.org>,\r\n"
                     " bob@example.org (Bob the builder)", "Subject: 5"]),
        raw_message(["From: plain@example.net", "Bcc: hidden@example.net",
                     "Bcc: second@example.net", "Subject: 6"]),
        raw_message(["From: Pat O'Brien <pat@example.ie>", "Subject: 7"]),
    ]

    def test_comments_and_angle_brackets_removed(self):
        self.check("FROM user-from@domain.org", [1])
        self.check('FROM "<user-from@domain.org>"', [1])
        self.check("FROM comment", [])
        # HEADER is raw text: the comment is there
        self.check("HEADER From comment", [1])

    def test_display_name(self):
        self.check('FROM "Doe, John"', [2])
        self.check('FROM "john doe"', [])
        self.check("FROM john.doe@example", [2])
        self.check('FROM "Doe, John <john.doe@"', [2])
        self.check("FROM \"O'Brien\"", [7])

    def test_encoded_display_name(self):
        self.check(b"CHARSET UTF-8 FROM {7+}\r\nM\xc3\xbcller", [4])
        self.check(b'CHARSET UTF-8 FROM "j\xc3\xbcrgen m\xc3\xbcller <jm@"', [4])
        self.check("FROM =?utf-8", [])

    def test_groups(self):
        self.check("TO undisclosed-recipients", [3])
        self.check('TO "undisclosed-recipients:;"', [3])
        self.check("CC Team", [3])
        self.check('CC "b b <b@y.org>"', [3])
        self.check("CC c@z.org", [3])

    def test_folded_and_comment_names(self):
        self.check("TO alice@example.org", [5])
        self.check('TO "alice <alice@example.org>"', [5])
        self.check('TO "Bob the builder <bob@"', [5])
        self.check('TO "(Bob"', [])

    def test_multiple_fields_and_empty(self):
        self.check("BCC hidden@", [6])
        self.check("BCC second@", [6])
        self.check('FROM ""', [1, 2, 4, 6, 7])
        self.check('TO ""', [3, 5])
        self.check("FROM example", [2, 4, 6, 7])


# one message per SEARCH TEXT case, numbered from 1
MIME_MESSAGES = [
    raw_message(["From: a@example.org", "Subject: alt", "MIME-Version: 1.0",
                 'Content-Type: multipart/alternative; boundary="b1"'],
                "preamble\r\n--b1\r\nContent-Type: text/plain; charset=us-ascii\r\n"
                "X-Part: partheader\r\n\r\nplain body\r\n--b1\r\nContent-Type: text/html\r\n"
                "Content-Transfer-Encoding: base64\r\n\r\nPGI+Ym9sZDwvYj4=\r\n--b1--\r\n"
                "epilogue\r\n"),
    raw_message(["From: b@example.org", "Subject: plain", "Content-Type: text/plain"],
                "Content-Type: text/html in the body\r\n"),
    raw_message(["From: c@example.org", "Subject: attached", 'Content-Type: multipart/mixed; boundary="o"'],
                "--o\r\nContent-Type: message/rfc822\r\n\r\nFrom: inner@example.com\r\n"
                "Subject: =?utf-8?q?inner_subj?=\r\nContent-Type: application/octet-stream\r\n"
                "Content-Transfer-Encoding: base64\r\n\r\naGlkZGVu\r\n--o--\r\n"),
    raw_message(["From: d@example.org", "Subject: nothing special"], "just text\r\n"),
]


class SearchText(SearchCase):
    """TEXT searches every header (the message's, each MIME part's, each attached
    message's) and the decoded text parts; BODY only the text parts (RFC 3501 §6.4.4)."""

    MESSAGES = MIME_MESSAGES

    def test_text_finds_mime_part_headers(self):
        self.check('TEXT "Content-Type: text/html"', [1, 2])
        self.check('BODY "Content-Type: text/html"', [2])
        self.check("TEXT partheader", [1])
        self.check('TEXT "x-part: PARTHEADER"', [1])
        self.check("BODY partheader", [])

    def test_text_finds_attached_message_headers(self):
        self.check('TEXT "inner subj"', [3])
        self.check('TEXT "From: inner@example.com"', [3])
        self.check("TEXT application/octet-stream", [3])
        self.check('BODY "inner subj"', [])
        self.check("SUBJECT inner", [])
        self.check("FROM inner", [])

    def test_text_top_header_and_bodies(self):
        self.check('TEXT "Subject: nothing"', [4])
        self.check("TEXT subject:", [1, 2, 3, 4])
        self.check('TEXT "just text"', [4])
        self.check('TEXT "<b>bold</b>"', [1])
        self.check("TEXT bold", [1])

    def test_text_skips_what_is_not_text(self):
        self.check("TEXT hidden", [])      # application/octet-stream body
        self.check("TEXT aGlkZGVu", [])
        self.check("TEXT PGI", [])         # base64 is decoded
        self.check("TEXT preamble", [])
        self.check("TEXT epilogue", [])


# (Date: value or None, the day SENTON must find, or None for "no usable date")
DATES = [
    ("Wed, 01 Jan 2020 10:00:00 +0000", "1-Jan-2020"),
    ("1 Jan 20 10:00:00 +0000", "1-Jan-2020"),
    ("1 Jan 99 10:00 GMT", "1-Jan-1999"),
    ("1 Jan 120 10:00:00 +0000", "1-Jan-2020"),
    ("Wed (comment (nested)), 1 (c) Jan (c) 2020 (c) 10:00 (c) EST", "1-Jan-2020"),
    ("1 jan 2020 23:30:00 -0800", "1-Jan-2020"),       # 2-Jan in UTC
    ("2 Jan 2020 00:30:00 +0900", "2-Jan-2020"),       # 1-Jan in UTC
    ("1 Jan 2020 10:00:00", "1-Jan-2020"),
    ("1 Jan 2020 10:00:00 Z", "1-Jan-2020"),
    ("1 Jan 2020 10:00:00 XYZ", "1-Jan-2020"),
    ("garbage", None),
    (None, None),
    ("Wed,  1   Jan   2020\r\n  10:00:00  +0100", "1-Jan-2020"),
    ("3 Mar 49 10:00:00 PDT", "3-Mar-2049"),
    ("4 Apr 50 10:00:00 CST", "4-Apr-1950"),
    ("Wed Jan  1 10:00:00 2020", "1-Jan-2020"),
    ("32 Jan 2020 10:00:00 +0000", None),
]


class SentDates(SearchCase):
    """SENTBEFORE / SENTON / SENTSINCE on the obsolete and real-world Date: forms of
    RFC 5322 §4.3, compared in the message's own zone. A missing or unreadable Date:
    counts as 1-Jan-1970, as in Dovecot."""

    MESSAGES = [raw_message([f"Subject: {i + 1}"] + ([f"Date: {d}"] if d is not None else []))
                for i, (d, _) in enumerate(DATES)]

    def want(self, pred):
        return [i + 1 for i, (_, day) in enumerate(DATES) if pred(day or "1-Jan-1970")]

    def test_senton_each_form(self):
        for i, (d, day) in enumerate(DATES):
            day = day or "1-Jan-1970"
            with self.subTest(date=d):
                untagged, t = command_raw(self.c, "q", f"SEARCH SENTON {day}")
                self.assertTagged(t, "q", "OK")
                self.assertIn(i + 1, search_numbers(untagged))

    def test_senton(self):
        self.check("SENTON 1-Jan-2020", self.want(lambda d: d == "1-Jan-2020"))
        self.check("SENTON 2-Jan-2020", [7])
        self.check("SENTON 1-Jan-1999", [3])
        self.check("SENTON 3-Mar-2049", [14])
        self.check("SENTON 4-Apr-1950", [15])
        self.check("SENTON 1-Jan-1970", [11, 12, 17])
        self.check("SENTON 15-Jun-2015", [])   # never the INTERNALDATE

    def test_sentbefore_sentsince(self):
        self.check("SENTBEFORE 1-Jan-2000", [3, 11, 12, 15, 17])
        self.check("SENTSINCE 1-Jan-2000", [1, 2, 4, 5, 6, 7, 8, 9, 10, 13, 14, 16])
        self.check("SENTBEFORE 2-Jan-2020", [1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 15,
                                             16, 17])
        self.check("SENTSINCE 2-Jan-2020", [7, 14])
        self.check("SENTBEFORE 1-Jan-1970", [15])
        self.check("NOT SENTON 1-Jan-1970", [i for i in range(1, 18) if i not in (11, 12, 17)])
        self.check("SENTSINCE 1-Jan-1970 SENTBEFORE 2-Jan-1970", [11, 12, 17])


if __name__ == "__main__":
    unittest.main()
