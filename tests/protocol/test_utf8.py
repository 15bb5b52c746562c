"""UTF8=ACCEPT (RFC 6855, RFC 9755): after ENABLE UTF8=ACCEPT mailbox names go both ways
in UTF-8 (stored in modified UTF-7, so sessions without it see the same mailboxes in
modified UTF-7), APPEND takes UTF8 (~{n}) messages with UTF-8 headers, SEARCH takes no
CHARSET and SORT/THREAD only UTF-8 (erratum 4029)."""

import unittest

from harness import capabilities
from mailhelpers import MailTestCase, command_raw, read_tagged_raw, search_numbers, texts


class Utf8Accept(MailTestCase):
    def utf8_session(self):
        c = self.session()
        untagged = self.ok(c, "e", "ENABLE UTF8=ACCEPT")
        self.assertIn("* ENABLED UTF8=ACCEPT", texts(untagged))
        return c

    def test_advertised_and_enabled_once(self):
        c = self.session()
        untagged, _ = command_raw(c, "c", "CAPABILITY")
        self.assertIn("UTF8=ACCEPT", capabilities(untagged[0].decode()))
        self.ok(c, "e", "ENABLE UTF8=ACCEPT")
        untagged = self.ok(c, "f", "ENABLE UTF8=ACCEPT")
        self.assertIn("* ENABLED", texts(untagged), "already enabled: not listed again")

    def test_mailbox_names_in_utf8(self):
        c = self.utf8_session()
        name = "Entwürfe & Café/日本"
        self.ok(c, "a", 'CREATE "' + name + '"')
        untagged = self.ok(c, "l", 'LIST "" "Entw*"')
        got = [t for t in texts([u.decode("utf-8") for u in untagged]) if "LIST" in t]
        self.assertTrue(any(name in t for t in got), got)
        self.ok(c, "s", 'SELECT "' + name + '"')
        untagged = self.ok(c, "st", 'STATUS "' + name + '" (MESSAGES)')
        self.assertIn(name, untagged[0].decode("utf-8"))
        # a session without UTF8=ACCEPT sees the same mailbox in modified UTF-7
        d = self.session()
        untagged = self.ok(d, "l", 'LIST "" "Entw*"')
        self.assertTrue(any("Entw&APw-rfe &- Caf&AOk-/&ZeVnLA-" in t for t in texts(untagged)),
                        texts(untagged))
        self.ok(d, "s", 'SELECT "Entw&APw-rfe &- Caf&AOk-/&ZeVnLA-"')
        # not UTF-8 at all: refused
        c.send(b'x CREATE "caf\xe9"\r\n')
        _, t = read_tagged_raw(c, "x")
        self.assertTagged(t, "x", "BAD")

    def test_append_utf8_and_search(self):
        c = self.utf8_session()
        msg = "From: José <jose@example.com>\r\nSubject: Grüße aus Köln\r\n\r\nHallo\r\n"
        data = msg.encode("utf-8")
        c.send(b"a APPEND INBOX UTF8 (~{%d+}\r\n" % len(data) + data + b")\r\n")
        _, t = read_tagged_raw(c, "a")
        self.assertTagged(t, "a", "OK")
        self.ok(c, "s", "SELECT INBOX")
        untagged, t = command_raw(c, "f", 'SEARCH SUBJECT "grüße"'.encode("utf-8"))
        self.assertTagged(t, "f", "OK")
        self.assertEqual(search_numbers(untagged), [1])
        # no CHARSET once UTF-8 is on; SORT/THREAD only with UTF-8
        _, t = command_raw(c, "g", "SEARCH CHARSET UTF-8 ALL")
        self.assertTagged(t, "g", "BAD")
        _, t = command_raw(c, "h", "SORT (SUBJECT) ISO-8859-1 ALL")
        self.assertTagged(t, "h", "BAD")
        _, t = command_raw(c, "i", "SORT (SUBJECT) UTF-8 ALL")
        self.assertTagged(t, "i", "OK")

    def test_utf8_append_needs_enable(self):
        c = self.session()
        c.send(b"a APPEND INBOX UTF8 (~{7+}\r\nX: y\r\n\r\n)\r\n")
        _, t = read_tagged_raw(c, "a")
        self.assertTagged(t, "a", "BAD")
        # and the plain forms go on working for this session
        _, t = command_raw(c, "b", "SEARCH CHARSET UTF-8 ALL")
        self.assertTagged(t, "b", "BAD")  # nothing selected
        self.ok(c, "s", "SELECT INBOX")
        _, t = command_raw(c, "c", "SEARCH CHARSET UTF-8 ALL")
        self.assertTagged(t, "c", "OK")


if __name__ == "__main__":
    unittest.main()
