"""FETCH items that need the MIME parser (RFC 3501 §6.4.5, §7.4.2): ENVELOPE, BODY,
BODYSTRUCTURE, the ALL and FULL macros, part sections (1, 2.1, 4.HEADER, n.MIME),
HEADER.FIELDS and HEADER.FIELDS.NOT; and SEARCH in decoded MIME parts and encoded words.
Includes the behaviour.md Fix rows about HEADER.FIELDS.NOT, quotes in ENVELOPE names and
BODY search in MIME parts."""

import base64
import unittest

from mailhelpers import (MailTestCase, command_raw, fetch_by_seq, make_message,
                         search_numbers)


def crlf(s):
    return s.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


SIMPLE = crlf("""Date: Mon, 7 Feb 1994 21:52:25 -0800
From: Fred Foobar <foobar@Blurdybloop.COM>
Subject: afternoon meeting
To: mooch@owatagu.siam.edu
Message-Id: <B27397-0100000@Blurdybloop.COM>
MIME-Version: 1.0
Content-Type: TEXT/PLAIN; CHARSET=US-ASCII

Hello Joe, do you think we can meet at 3:30 tomorrow?
""")

B64_TEXT = "base64hiddenword sits in this attachment.\n"
B64 = base64.encodebytes(B64_TEXT.encode()).decode().strip()

PART1_HEAD = ("Content-Type: text/plain; charset=utf-8\n"
              "Content-Transfer-Encoding: quoted-printable\n\n")
PART1_BODY = "Sch=C3=B6ne Gr=C3=BC=C3=9Fe, caf=C3=A9 tomorrow?"
ALT_BODY = """--YYYY
Content-Type: text/plain; charset=us-ascii

plain alternative
--YYYY
Content-Type: text/html; charset=us-ascii

<p>html alternative</p>
--YYYY--"""
INNER_HEAD = """From: Inner Sender <inner@example.com>
Subject: inner subject
Date: Wed, 2 Jul 2003 11:00:00 +0000

"""
INNER_BODY = "Inner body line."

TOP_HEAD = """From: "Joe \\"The Boss\\" Q. Public" <joe@example.com>
To: Mary Smith <mary@x.test>, jdoe@example.org, "Who?" <one@y.test>
Cc: <boss@nil.test>, "Giant; \\"Big\\" Box" <sysservices@example.net>
Subject: =?UTF-8?B?R3LDvMOfZQ==?= from the team
Date: Tue, 1 Jul 2003 10:52:37 +0200
Message-ID: <5678.21-Nov-1997@example.com>
In-Reply-To: <1234@local.machine.example>
X-Extra: keep me
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="XXXX"

"""
TOP_BODY = f"""preamble
--XXXX
{PART1_HEAD}{PART1_BODY}
--XXXX
Content-Type: multipart/alternative; boundary="YYYY"

{ALT_BODY}
--XXXX
Content-Type: text/plain; charset=utf-8; name="notes.txt"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="notes.txt"

{B64}
--XXXX
Content-Type: message/rfc822

{INNER_HEAD}{INNER_BODY}
--XXXX--
epilogue
"""
MULTI = crlf(TOP_HEAD + TOP_BODY)

GROUP = crlf("""From: someone@example.com
To: undisclosed-recipients:;
Cc: Team: a@example.com, "B" <b@example.com>;, c@example.com
Subject: group test

body
""")

BARE = crlf("""X-Only: this

no date, no subject, no from
""")


def up(v):
    """Upper-cased, recursively (MIME types, subtypes, parameter names and encodings are
    case-insensitive)."""
    if isinstance(v, list):
        return [up(x) for x in v]
    return v.upper() if isinstance(v, (bytes, str)) else v


def leading_parts(multipart):
    """The body parts of a multipart BODY / BODYSTRUCTURE: the lists before the subtype."""
    out = []
    for p in multipart:
        if not isinstance(p, list):
            break
        out.append(p)
    return out


class MimeFetch(MailTestCase):
    def setUp(self):
        super().setUp()
        self.c = self.session()
        for i, m in enumerate((SIMPLE, MULTI, GROUP, BARE)):
            self.append_ok(self.c, "INBOX", m, tag=f"a{i}")
        self.ok(self.c, "s", "SELECT INBOX")

    def fetch(self, seq, items, tag="f"):
        return fetch_by_seq(self.ok(self.c, tag, f"FETCH {seq} {items}"))[seq]

    # ------------------------------------------------------------ ENVELOPE
    def test_envelope_simple(self):
        env = self.fetch(1, "ENVELOPE")["ENVELOPE"]
        fred = [[b"Fred Foobar", None, b"foobar", b"Blurdybloop.COM"]]
        self.assertEqual(env, [b"Mon, 7 Feb 1994 21:52:25 -0800", b"afternoon meeting",
                               fred, fred, fred,
                               [[None, None, b"mooch", b"owatagu.siam.edu"]],
                               None, None, None, b"<B27397-0100000@Blurdybloop.COM>"])

    def test_envelope_multi(self):
        env = self.fetch(2, "ENVELOPE")["ENVELOPE"]
        joe = [[b'Joe "The Boss" Q. Public', None, b"joe", b"example.com"]]
        self.assertEqual(env[0], b"Tue, 1 Jul 2003 10:52:37 +0200")
        self.assertEqual(env[1], b"=?UTF-8?B?R3LDvMOfZQ==?= from the team",
                         "ENVELOPE subject is not decoded")
        self.assertEqual(env[2], joe)
        self.assertEqual(env[3], joe, "sender defaults to from")
        self.assertEqual(env[4], joe, "reply-to defaults to from")
        self.assertEqual(env[5], [[b"Mary Smith", None, b"mary", b"x.test"],
                                  [None, None, b"jdoe", b"example.org"],
                                  [b"Who?", None, b"one", b"y.test"]])
        self.assertEqual(env[6], [[None, None, b"boss", b"nil.test"],
                                  [b'Giant; "Big" Box', None, b"sysservices",
                                   b"example.net"]])
        self.assertIsNone(env[7])
        self.assertEqual(env[8], b"<1234@local.machine.example>")
        self.assertEqual(env[9], b"<5678.21-Nov-1997@example.com>")

    def test_envelope_groups(self):
        env = self.fetch(3, "ENVELOPE")["ENVELOPE"]
        self.assertEqual(env[5], [[None, None, b"undisclosed-recipients", None],
                                  [None, None, None, None]])
        self.assertEqual(env[6], [[None, None, b"Team", None],
                                  [None, None, b"a", b"example.com"],
                                  [b"B", None, b"b", b"example.com"],
                                  [None, None, None, None],
                                  [None, None, b"c", b"example.com"]])

    def test_envelope_missing_fields_nil(self):
        env = self.fetch(4, "ENVELOPE")["ENVELOPE"]
        self.assertEqual(env, [None] * 10)

    def test_fix_envelope_names_with_quotes_well_formed(self):
        """behaviour.md Fix: 'Strings with " in ENVELOPE names produce malformed output.'"""
        untagged = self.ok(self.c, "f", "FETCH 2 ENVELOPE")
        env = fetch_by_seq(untagged)[2]["ENVELOPE"]   # parses, or the test errors
        self.assertEqual(env[2][0][0], b'Joe "The Boss" Q. Public')
        self.assertEqual(env[6][1][0], b'Giant; "Big" Box')

    def test_envelope_8bit_and_backslash_well_formed(self):
        """Quoted strings are 7-bit without CR/LF (RFC 3501 §4.3): an 8-bit name goes out
        as a literal; a backslash in a subject is escaped."""
        msg = crlf('From: "J\u00f6rg M\u00fcller" <jm@example.de>\n'
                   'Subject: back\\slash and "quotes"\n\nbody\n')
        self.append_ok(self.c, "INBOX", msg, tag="a9")
        self.ok(self.c, "n", "NOOP")
        untagged = self.ok(self.c, "g", "FETCH 5 ENVELOPE")
        raw = b"".join(untagged)
        self.assertNotIn('"J\u00f6rg'.encode(), raw, "8-bit text in a quoted string")
        env = fetch_by_seq(untagged)[5]["ENVELOPE"]
        self.assertEqual(env[1], b'back\\slash and "quotes"')
        self.assertEqual(env[2], [["J\u00f6rg M\u00fcller".encode(), None, b"jm",
                                   b"example.de"]])

    def test_folded_header_unfolded_in_envelope(self):
        msg = crlf("Subject: long\n folded line\nTo: =?ISO-8859-1?Q?J=F6rg?= <j@x.test>\n"
                   "\nbody\n")
        self.append_ok(self.c, "INBOX", msg, tag="a9")
        self.ok(self.c, "n", "NOOP")
        f = self.fetch(5, "(ENVELOPE BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.assertEqual(f["ENVELOPE"][1], b"long folded line")
        self.assertEqual(f["ENVELOPE"][5], [[b"=?ISO-8859-1?Q?J=F6rg?=", None, b"j",
                                             b"x.test"]], "ENVELOPE strings are not decoded")
        val = next(v for k, v in f.items() if k.startswith("BODY[HEADER.FIELDS"))
        self.assertEqual(val, b"Subject: long\r\n folded line\r\n\r\n")

    # ------------------------------------------------------------ BODY / BODYSTRUCTURE
    def test_body_simple(self):
        body = self.fetch(1, "BODY")["BODY"]
        text = SIMPLE.split(b"\r\n\r\n", 1)[1]
        self.assertEqual([up(x) for x in body[:6]],
                         [b"TEXT", b"PLAIN", [b"CHARSET", b"US-ASCII"], None, None, b"7BIT"])
        self.assertEqual(int(body[6]), len(text))
        self.assertEqual(int(body[7]), 1)
        self.assertEqual(len(body), 8, "BODY has no extension data")

    def test_bodystructure_simple(self):
        bs = self.fetch(1, "BODYSTRUCTURE")["BODYSTRUCTURE"]
        self.assertEqual([up(x) for x in bs[:6]],
                         [b"TEXT", b"PLAIN", [b"CHARSET", b"US-ASCII"], None, None, b"7BIT"])
        self.assertEqual(int(bs[6]), len(SIMPLE.split(b"\r\n\r\n", 1)[1]))
        self.assertGreaterEqual(len(bs), 8)

    def test_bodystructure_multipart(self):
        bs = self.fetch(2, "BODYSTRUCTURE")["BODYSTRUCTURE"]
        parts = leading_parts(bs)
        rest = bs[len(parts):]
        self.assertEqual(len(parts), 4, bs)
        self.assertEqual(up(rest[0]), b"MIXED")
        self.assertEqual([up(x) for x in rest[1]], [b"BOUNDARY", b"XXXX"])
        p1, p2, p3, p4 = parts
        self.assertEqual([up(x) for x in p1[:6]],
                         [b"TEXT", b"PLAIN", [b"CHARSET", b"UTF-8"], None, None,
                          b"QUOTED-PRINTABLE"])
        self.assertEqual(int(p1[6]), len(PART1_BODY))
        # multipart/alternative with two text parts
        alt = leading_parts(p2)
        self.assertEqual(len(alt), 2)
        self.assertEqual(up(p2[len(alt)]), b"ALTERNATIVE")
        self.assertEqual([up(alt[0][1]), up(alt[1][1])], [b"PLAIN", b"HTML"])
        self.assertEqual(int(alt[0][6]), len("plain alternative"))
        # base64 attachment with a disposition
        self.assertEqual([up(x) for x in p3[:2]], [b"TEXT", b"PLAIN"])
        self.assertEqual(up(p3[5]), b"BASE64")
        self.assertEqual(int(p3[6]), len(crlf(B64)))
        disp = p3[9]
        self.assertEqual(up(disp[0]), b"ATTACHMENT")
        self.assertEqual([up(disp[1][0]), disp[1][1]], [b"FILENAME", b"notes.txt"])
        # message/rfc822: body fields, envelope, body, lines
        self.assertEqual([up(x) for x in p4[:2]], [b"MESSAGE", b"RFC822"])
        self.assertEqual(int(p4[6]), len(crlf(INNER_HEAD + INNER_BODY)))
        inner_env = p4[7]
        self.assertEqual(inner_env[1], b"inner subject")
        self.assertEqual(inner_env[2], [[b"Inner Sender", None, b"inner", b"example.com"]])
        self.assertEqual([up(x) for x in p4[8][:2]], [b"TEXT", b"PLAIN"])
        self.assertTrue(str(p4[9]).isdigit(), p4)

    def test_body_multipart_no_extensions(self):
        body = self.fetch(2, "BODY")["BODY"]
        parts = leading_parts(body)
        self.assertEqual(len(parts), 4)
        self.assertEqual(len(body), 5, "BODY of a multipart ends with the subtype, no "
                         f"extension data: {body!r}")
        self.assertEqual(up(body[4]), b"MIXED")

    def test_all_and_full_macros(self):
        f = self.fetch(1, "ALL")
        self.assertEqual(set(f), {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"})
        self.assertEqual(f["ENVELOPE"][1], b"afternoon meeting")
        f = self.fetch(1, "FULL", tag="g")
        self.assertEqual(set(f), {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"})
        self.assertEqual(up(f["BODY"][0]), b"TEXT")

    # ------------------------------------------------------------ part sections
    def test_part_sections(self):
        f = self.fetch(2, "(BODY.PEEK[1] BODY.PEEK[1.MIME] BODY.PEEK[2.1] BODY.PEEK[2.2] "
                          "BODY.PEEK[3] BODY.PEEK[2])")
        self.assertEqual(f["BODY[1]"], crlf(PART1_BODY))
        self.assertEqual(f["BODY[1.MIME]"], crlf(PART1_HEAD))
        self.assertEqual(f["BODY[2.1]"], b"plain alternative")
        self.assertEqual(f["BODY[2.2]"], b"<p>html alternative</p>")
        self.assertEqual(f["BODY[3]"], crlf(B64))
        self.assertEqual(base64.b64decode(f["BODY[3]"]), B64_TEXT.encode())

    def test_multipart_part_section_keeps_close_delimiter_line_end(self):
        """BODY[2] of a nested multipart ends with its close delimiter line, CRLF
        included. RFC 2046 §5.1.1 gives the CRLF before the outer boundary to that
        boundary; Dovecot 2.3 (checked on loopback) returns the close-delimiter line
        whole, and uimap matches Dovecot byte for byte, so clients see the same."""
        f = self.fetch(2, "BODY.PEEK[2]")
        self.assertEqual(f["BODY[2]"], crlf(ALT_BODY) + b"\r\n")

    def test_message_rfc822_part_sections(self):
        f = self.fetch(2, "(BODY.PEEK[4] BODY.PEEK[4.HEADER] BODY.PEEK[4.TEXT] "
                          "BODY.PEEK[4.1] BODY.PEEK[4.MIME])")
        self.assertEqual(f["BODY[4]"], crlf(INNER_HEAD + INNER_BODY))
        self.assertEqual(f["BODY[4.HEADER]"], crlf(INNER_HEAD))
        self.assertEqual(f["BODY[4.TEXT]"], crlf(INNER_BODY))
        self.assertEqual(f["BODY[4.1]"], crlf(INNER_BODY))
        self.assertEqual(f["BODY[4.MIME]"], b"Content-Type: message/rfc822\r\n\r\n")

    def test_part_1_of_single_part_message(self):
        f = self.fetch(1, "BODY.PEEK[1]")
        self.assertEqual(f["BODY[1]"], SIMPLE.split(b"\r\n\r\n", 1)[1])

    def test_part_partial(self):
        f = self.fetch(2, "BODY.PEEK[1]<0.3>")
        self.assertEqual(f["BODY[1]<0>"], b"Sch")

    def test_part_section_sets_seen(self):
        f = self.fetch(2, "BODY[2.1]")
        self.assertIn("\\Seen", f.get("FLAGS", []))

    def test_invalid_part_numbers_bad(self):
        for i, sec in enumerate(("0", "1.0", "a", "1..2", "1.", ".1", "HEADER.FIELDS",
                                 "HEADER.FIELDS ()", "1.BOGUS")):
            _, t = command_raw(self.c, f"p{i}", f"FETCH 2 BODY.PEEK[{sec}]")
            self.assertTagged(t, f"p{i}", "BAD")

    # ------------------------------------------------------------ HEADER.FIELDS
    def test_header_fields(self):
        f = self.fetch(2, "BODY.PEEK[HEADER.FIELDS (Subject From)]")
        val = next(v for k, v in f.items() if k.startswith("BODY[HEADER.FIELDS"))
        self.assertEqual(val, crlf('From: "Joe \\"The Boss\\" Q. Public" <joe@example.com>\n'
                                   "Subject: =?UTF-8?B?R3LDvMOfZQ==?= from the team\n\n"))

    def test_header_fields_case_insensitive_and_missing(self):
        f = self.fetch(1, "BODY.PEEK[HEADER.FIELDS (subject X-NOT-THERE)]")
        val = next(v for k, v in f.items() if k.startswith("BODY[HEADER.FIELDS"))
        self.assertEqual(val, b"Subject: afternoon meeting\r\n\r\n")
        f = self.fetch(1, "BODY.PEEK[HEADER.FIELDS (X-NOT-THERE)]", tag="g")
        val = next(v for k, v in f.items() if k.startswith("BODY[HEADER.FIELDS"))
        self.assertEqual(val, b"\r\n")

    def test_fix_header_fields_not_returns_the_other_fields(self):
        """behaviour.md Fix: 'BODY[HEADER.FIELDS.NOT (...)] returns the listed fields
        instead of the others.'"""
        f = self.fetch(1, "BODY.PEEK[HEADER.FIELDS.NOT (Subject Message-Id Content-Type)]")
        key = next(k for k in f if k.startswith("BODY[HEADER.FIELDS.NOT"))
        self.assertIn("(SUBJECT MESSAGE-ID CONTENT-TYPE)", key.upper())
        self.assertEqual(f[key], crlf("""Date: Mon, 7 Feb 1994 21:52:25 -0800
From: Fred Foobar <foobar@Blurdybloop.COM>
To: mooch@owatagu.siam.edu
MIME-Version: 1.0

"""))

    def test_header_fields_of_embedded_message(self):
        f = self.fetch(2, "BODY.PEEK[4.HEADER.FIELDS (Subject)]")
        val = next(v for k, v in f.items() if k.startswith("BODY[4.HEADER.FIELDS"))
        self.assertEqual(val, b"Subject: inner subject\r\n\r\n")

    def test_rfc822_header_matches_header_section(self):
        f = self.fetch(2, "(RFC822.HEADER BODY.PEEK[HEADER])")
        self.assertEqual(f["RFC822.HEADER"], f["BODY[HEADER]"])
        self.assertEqual(f["RFC822.HEADER"], crlf(TOP_HEAD))


class SearchMime(MailTestCase):
    def setUp(self):
        super().setUp()
        self.c = self.session()
        for i, m in enumerate((SIMPLE, MULTI, make_message(subject="plain"))):
            self.append_ok(self.c, "INBOX", m, tag=f"a{i}")
        self.ok(self.c, "s", "SELECT INBOX")

    def search_utf8(self, key, text, tag="q"):
        data = text.encode()
        self.c.send(f"{tag} SEARCH CHARSET UTF-8 {key} {{{len(data)}+}}\r\n".encode() + data +
                    b"\r\n")
        untagged, t = self.c.read_tagged(tag)
        self.assertTagged(t, tag, "OK")
        return search_numbers(untagged)

    def test_fix_body_search_looks_into_mime_parts(self):
        """behaviour.md Fix: 'BODY search ignores MIME parts.' The text is only there once
        the quoted-printable / base64 transfer encoding is undone."""
        self.assertEqual(self.search_utf8("BODY", "Schöne Grüße"), [2])
        self.assertEqual(self.search_utf8("BODY", "café", tag="q2"), [2])
        self.assertEqual(search_numbers(self.ok(self.c, "q3", "SEARCH BODY base64hiddenword")),
                         [2])
        self.assertEqual(search_numbers(self.ok(self.c, "q4", "SEARCH TEXT base64hiddenword")),
                         [2])

    def test_body_search_in_nested_parts(self):
        self.assertEqual(search_numbers(self.ok(self.c, "q", 'SEARCH BODY "html alternative"')),
                         [2])
        self.assertEqual(search_numbers(self.ok(self.c, "q2", 'SEARCH BODY "Inner body"')),
                         [2])

    def test_subject_search_decodes_encoded_words(self):
        self.assertEqual(self.search_utf8("SUBJECT", "Grüße"), [2])
        self.assertEqual(search_numbers(self.ok(self.c, "q2", 'SEARCH SUBJECT "from the team"')),
                         [2])

    def test_address_search_decodes_encoded_words(self):
        msg = crlf("From: =?ISO-8859-1?Q?J=F6rg_M=FCller?= <jm@x.test>\nSubject: s\n\nb\n")
        self.append_ok(self.c, "INBOX", msg, tag="a9")
        self.ok(self.c, "n", "NOOP")
        self.assertEqual(self.search_utf8("FROM", "Jörg Müller"), [4])
        self.assertEqual(self.search_utf8("FROM", "müller", tag="q2"), [4])

    def test_text_search_decoded(self):
        self.assertEqual(self.search_utf8("TEXT", "Grüße"), [2])

    def test_decoded_search_case_insensitive_ascii(self):
        self.assertEqual(self.search_utf8("BODY", "SCHÖNE".replace("Ö", "ö")), [2])


if __name__ == "__main__":
    unittest.main()
