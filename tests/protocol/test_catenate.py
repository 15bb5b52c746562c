"""CATENATE (RFC 4469): APPEND ... CATENATE (TEXT literal / URL "imap-url") builds a
message from text and parts of the user's own messages (RFC 5092 URLs: absolute,
"/mailbox;UIDVALIDITY=n/;UID=n/;SECTION=s/;PARTIAL=o.l", or ";UID=n" relative to the
selected mailbox), also inside MULTIAPPEND; [BADURL] and [TOOBIG] store nothing."""

import re
import unittest

from harness import capabilities
from mailhelpers import MailTestCase, command_raw, fetch_by_seq, read_tagged_raw

ORIG = (b"From: a@example.com\r\nSubject: original\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=B\r\n\r\n"
        b"--B\r\nContent-Type: text/plain\r\n\r\nfirst part\r\n"
        b"--B\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nAAECAw==\r\n--B--\r\n")


class Catenate(MailTestCase):
    def setUp(self):
        super().setUp()
        self.c = self.session()
        self.append_ok(self.c, "INBOX", ORIG)
        untagged = self.ok(self.c, "st", "STATUS INBOX (UIDVALIDITY)")
        self.uv = int(re.search(rb"UIDVALIDITY (\d+)", untagged[0]).group(1))

    def cat(self, tag, mailbox, parts, extra=b""):
        """APPEND mailbox CATENATE (parts) with LITERAL+ for the TEXT parts."""
        body = []
        for kind, value in parts:
            if kind == "TEXT":
                body.append(b"TEXT {%d+}\r\n" % len(value) + value)
            else:
                body.append(b'URL "' + value.encode() + b'"')
        self.c.send(f"{tag} APPEND {mailbox} ".encode() + extra + b"CATENATE (" +
                    b" ".join(body) + b")\r\n")
        return read_tagged_raw(self.c, tag)

    def body_of(self, mailbox, uid):
        self.ok(self.c, "ex", f"EXAMINE {mailbox}")
        untagged, _ = command_raw(self.c, "f", f"UID FETCH {uid} BODY.PEEK[]")
        return list(fetch_by_seq(untagged).values())[0]["BODY[]"]

    def test_advertised(self):
        untagged, _ = command_raw(self.c, "c", "CAPABILITY")
        self.assertIn("CATENATE", capabilities(untagged[0].decode()))

    def test_rfc4469_example_forwarding_a_part(self):
        """RFC 4469 §6's example: a new header, the original's text part by URL, a
        boundary, the attachment part's MIME header and body by URL."""
        head = (b"From: b@example.com\r\nSubject: Fwd: original\r\nMIME-Version: 1.0\r\n"
                b"Content-Type: multipart/mixed; boundary=N\r\n\r\n--N\r\n")
        _, t = self.cat("a", "Sent", [
            ("TEXT", head),
            ("URL", f"/INBOX;UIDVALIDITY={self.uv}/;UID=1/;SECTION=1.MIME"),
            ("URL", f"/INBOX;UIDVALIDITY={self.uv}/;UID=1/;SECTION=1"),
            ("TEXT", b"\r\n--N\r\n"),
            ("URL", f"imap://alice@localhost/INBOX;UIDVALIDITY={self.uv}/;UID=1/;SECTION=2.MIME"),
            ("URL", f"/INBOX/;UID=1/;SECTION=2"),
            ("TEXT", b"\r\n--N--\r\n")])
        self.assertTagged(t, "a", "OK")
        self.assertRegex(t, r"\[APPENDUID \d+ 1\]")
        want = (head + b"Content-Type: text/plain\r\n\r\nfirst part\r\n--N\r\n"
                b"Content-Type: application/octet-stream\r\n"
                b"Content-Transfer-Encoding: base64\r\n\r\nAAECAw==\r\n--N--\r\n")
        self.assertEqual(self.body_of("Sent", 1), want)

    def test_whole_message_partial_and_relative_url(self):
        self.ok(self.c, "s", "SELECT INBOX")
        _, t = self.cat("a", "INBOX", [("URL", ";UID=1"), ("TEXT", b"tail\r\n")])
        self.assertTagged(t, "a", "OK")
        self.assertEqual(self.body_of("INBOX", 2), ORIG + b"tail\r\n")
        _, t = self.cat("b", "Drafts", [("TEXT", b"Subject: x\r\n\r\n"),
                                        ("URL", "/INBOX/;UID=1/;SECTION=TEXT/;PARTIAL=2.5")])
        self.assertTagged(t, "b", "OK")
        text = ORIG.split(b"\r\n\r\n", 1)[1]
        self.assertEqual(self.body_of("Drafts", 1), b"Subject: x\r\n\r\n" + text[2:7])

    def test_multiappend_with_catenate_is_all_or_nothing(self):
        msg = b"Subject: plain\r\n\r\nplain\r\n"
        self.c.send(b"a APPEND Trash {%d+}\r\n" % len(msg) + msg +
                    b' CATENATE (TEXT {6+}\r\nhello  URL "/INBOX/;UID=1/;SECTION=1")\r\n')
        _, t = read_tagged_raw(self.c, "a")
        self.assertTagged(t, "a", "OK")
        self.assertRegex(t, r"\[APPENDUID \d+ 1:2\]")
        self.assertEqual(self.body_of("Trash", 2), b"hello first part")
        # one bad URL: neither message is stored
        self.c.send(b"b APPEND Trash {%d+}\r\n" % len(msg) + msg +
                    b' CATENATE (URL "/INBOX/;UID=99")\r\n')
        _, t = read_tagged_raw(self.c, "b")
        self.assertTagged(t, "b", "NO")
        self.assertIn("[BADURL /INBOX/;UID=99]", t)
        untagged = self.ok(self.c, "st", "STATUS Trash (MESSAGES)")
        self.assertIn(b"MESSAGES 2", untagged[0])

    def test_bad_urls_and_toobig(self):
        for url, why in ((f"/INBOX;UIDVALIDITY={self.uv + 1}/;UID=1", "UIDVALIDITY"),
                         ("/Nosuch/;UID=1", "no such mailbox"),
                         ("/INBOX/;UID=1/;SECTION=7", "no such part"),
                         ("imap://bob@localhost/INBOX/;UID=1", "another user"),
                         (";UID=1", "selected mailbox"),
                         ("http://example.com/", "not an IMAP URL")):
            _, t = self.cat("u", "INBOX", [("URL", url)])
            self.assertTagged(t, "u", "NO")
            self.assertIn("[BADURL", t)
            self.assertIn(why, t)
        for text in (b'a APPEND INBOX CATENATE ()', b'b APPEND INBOX CATENATE (TEXT "x")',
                     b'c APPEND INBOX CATENATE (FOO "x")', b'd APPEND INBOX CATENATE (URL)'):
            self.c.send(text + b"\r\n")
            _, t = read_tagged_raw(self.c, text[:1].decode())
            self.assertTagged(t, text[:1].decode(), "BAD")
        untagged = self.ok(self.c, "st", "STATUS INBOX (MESSAGES)")
        self.assertIn(b"MESSAGES 1", untagged[0], "nothing was stored")


class CatenateTooBig(MailTestCase):
    SERVER_ARGS = ("--max-literal", "1K")

    def test_toobig(self):
        c = self.session()
        self.append_ok(c, "INBOX", b"Subject: big\r\n\r\n" + b"x" * 900 + b"\r\n")
        c.send(b'a APPEND INBOX CATENATE (URL "/INBOX/;UID=1" URL "/INBOX/;UID=1")\r\n')
        _, t = read_tagged_raw(c, "a")
        self.assertTagged(t, "a", "NO")
        self.assertIn("[TOOBIG]", t)
        untagged = self.ok(c, "st", "STATUS INBOX (MESSAGES)")
        self.assertIn(b"MESSAGES 1", untagged[0])


if __name__ == "__main__":
    unittest.main()
