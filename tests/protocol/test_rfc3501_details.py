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


if __name__ == "__main__":
    unittest.main()
