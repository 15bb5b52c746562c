"""Mailbox commands (RFC 3501 §6.3, RFC 3691 UNSELECT, RFC 4315 UIDPLUS, RFC 3502
MULTIAPPEND, RFC 2342 NAMESPACE, RFC 3348 CHILDREN): success and error paths, on the
wire and through imaplib."""

import re
import unittest

from mailhelpers import (DEFAULT_MAILBOXES, MailTestCase, append, command_raw, expand_uidset,
                         fetch_by_seq, fetches, list_entries, make_message, resp_code,
                         select_info, status_items, texts, untagged_numbers)


class Select(MailTestCase):
    def test_select_responses(self):
        c = self.session()
        self.append_ok(c, "INBOX", make_message(subject="one"), flags=["\\Seen"])
        self.append_ok(c, "INBOX", make_message(subject="two"))
        self.append_ok(c, "INBOX", make_message(subject="three"), flags=["\\Seen"])
        untagged, tagged = command_raw(c, "s", "SELECT INBOX")
        self.assertTagged(tagged, "s", "OK", "[READ-WRITE]")
        info = select_info(untagged)
        for f in ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"):
            self.assertIn(f, info["flags"])
            self.assertIn(f, info["permanentflags"])
        self.assertNotIn("\\Recent", info["permanentflags"])
        self.assertIn("\\*", info["permanentflags"])
        self.assertEqual(info["exists"], 3)
        self.assertEqual(info["recent"], 3)
        self.assertEqual(info["unseen"], 2, "UNSEEN is the first unseen sequence number")
        self.assertIsNotNone(info["uidvalidity"])
        self.assertGreater(info["uidvalidity"], 0)
        self.assertEqual(info["uidnext"], 4)

    def test_select_empty_mailbox_has_no_unseen(self):
        c = self.session()
        untagged, tagged = command_raw(c, "s", "SELECT Drafts")
        self.assertTagged(tagged, "s", "OK", "[READ-WRITE]")
        info = select_info(untagged)
        self.assertEqual(info["exists"], 0)
        self.assertEqual(info["recent"], 0)
        self.assertIsNone(info["unseen"])
        self.assertEqual(info["uidnext"], 1)

    def test_examine_responses(self):
        c = self.session()
        self.append_ok(c, "INBOX", make_message())
        untagged, tagged = command_raw(c, "e", "EXAMINE INBOX")
        self.assertTagged(tagged, "e", "OK", "[READ-ONLY]")
        info = select_info(untagged)
        self.assertEqual(info["permanentflags"], [], "EXAMINE: PERMANENTFLAGS ()")
        self.assertEqual(info["exists"], 1)
        self.assertEqual(info["uidnext"], 2)
        self.assertEqual(info["unseen"], 1)
        # read-only: STORE, EXPUNGE are refused
        _, t = command_raw(c, "st", "STORE 1 +FLAGS (\\Deleted)")
        self.assertTagged(t, "st", "NO")
        _, t = command_raw(c, "x", "EXPUNGE")
        self.assertTagged(t, "x", "NO")

    def test_examine_keeps_recent(self):
        """RFC 3501 §6.3.2: EXAMINE must not make messages lose \\Recent."""
        c = self.session()
        self.append_ok(c, "INBOX", make_message())
        info = select_info(self.ok(c, "e", "EXAMINE INBOX"))
        self.assertEqual(info["recent"], 1)
        self.ok(c, "u", "UNSELECT")
        c2 = self.session()
        info = select_info(self.ok(c2, "s", "SELECT INBOX"))
        self.assertEqual(info["recent"], 1, "EXAMINE took \\Recent away")

    def test_select_inbox_case_insensitive(self):
        c = self.session()
        for i, name in enumerate(("inbox", "InBoX", '"INBOX"')):
            _, t = command_raw(c, f"s{i}", f"SELECT {name}")
            self.assertTagged(t, f"s{i}", "OK")

    def test_select_other_names_case_sensitive(self):
        c = self.session()
        _, t = command_raw(c, "s", "SELECT sent")
        self.assertTagged(t, "s", "NO")

    def test_select_nonexistent_no(self):
        c = self.session()
        _, t = command_raw(c, "s", "SELECT nosuchbox")
        self.assertTagged(t, "s", "NO")
        _, t = command_raw(c, "f", "FETCH 1 FLAGS")
        self.assertTagged(t, "f", "BAD")

    def test_failed_select_leaves_nothing_selected(self):
        c = self.session()
        self.append_ok(c, "INBOX", make_message())
        self.ok(c, "s", "SELECT INBOX")
        self.ok(c, "f0", "FETCH 1 FLAGS")
        _, t = command_raw(c, "s2", "SELECT nosuchbox")
        self.assertTagged(t, "s2", "NO")
        untagged, t = command_raw(c, "f", "FETCH 1 FLAGS")
        self.assertTagged(t, "f", "BAD")
        self.assertEqual(fetches(untagged), [])
        _, t = command_raw(c, "c", "CLOSE")
        self.assertTagged(t, "c", "BAD")

    def test_failed_examine_leaves_nothing_selected(self):
        c = self.session(select="INBOX")
        _, t = command_raw(c, "e", "EXAMINE nosuchbox")
        self.assertTagged(t, "e", "NO")
        _, t = command_raw(c, "n", "UNSELECT")
        self.assertTagged(t, "n", "BAD")

    def test_select_noselect_mailbox_no(self):
        c = self.session()
        self.ok(c, "c", "CREATE top/child")
        self.ok(c, "d", "DELETE top")
        _, t = command_raw(c, "s", "SELECT top")
        self.assertTagged(t, "s", "NO")

    def test_select_syntax_errors(self):
        c = self.session()
        for i, args in enumerate(("", " INBOX Sent", " (INBOX)")):
            _, t = command_raw(c, f"s{i}", "SELECT" + args)
            self.assertTagged(t, f"s{i}", "BAD")

    def test_select_not_authenticated(self):
        c = self.connect(self.srv)
        _, t = c.command("s", "SELECT INBOX")
        self.assertTagged(t, "s", "BAD")

    def test_reselect_gives_fresh_state(self):
        c = self.session(select="INBOX")
        self.append_ok(c, "INBOX", make_message())
        untagged, _ = command_raw(c, "s", "SELECT INBOX")
        self.assertEqual(select_info(untagged)["exists"], 1)

    def test_select_imaplib(self):
        m = self.imap()
        m.append("INBOX", None, None, make_message())
        typ, data = m.select("INBOX")
        self.assertEqual(typ, "OK")
        self.assertEqual(data, [b"1"])
        typ, data = m.select("INBOX", readonly=True)
        self.assertEqual(typ, "OK")
        self.assertEqual(m.response("READ-ONLY")[1], [b""])

    def test_uidvalidity_stable_across_sessions(self):
        c = self.session()
        v1 = select_info(self.ok(c, "s", "SELECT INBOX"))["uidvalidity"]
        c2 = self.session()
        v2 = select_info(self.ok(c2, "s", "EXAMINE INBOX"))["uidvalidity"]
        self.assertEqual(v1, v2)


class Create(MailTestCase):
    def listing(self, c, ref='""', pat="*"):
        return list_entries(self.ok(c, "l", f"LIST {ref} {pat}"))

    def test_create_and_select(self):
        c = self.session()
        self.ok(c, "c", "CREATE Projects")
        self.assertIn("Projects", self.listing(c))
        info = select_info(self.ok(c, "s", "SELECT Projects"))
        self.assertEqual(info["exists"], 0)

    def test_create_makes_parents(self):
        c = self.session()
        self.ok(c, "c", "CREATE a/b/c")
        entries = self.listing(c)
        for name in ("a", "a/b", "a/b/c"):
            self.assertIn(name, entries)
        self.assertIn("\\haschildren", entries["a"][0])
        self.assertIn("\\haschildren", entries["a/b"][0])
        self.assertIn("\\hasnochildren", entries["a/b/c"][0])
        self.assertEqual(entries["a/b/c"][1], '"/"')

    def test_create_trailing_separator(self):
        """RFC 3501 §6.3.3: a trailing separator means the name will have inferiors; the
        name created is the one without it."""
        c = self.session()
        self.ok(c, "c", "CREATE folder/")
        entries = self.listing(c)
        self.assertIn("folder", entries)
        self.assertNotIn("folder/", entries)
        _, t = command_raw(c, "c2", "CREATE folder")
        self.assertTagged(t, "c2", "NO", "[ALREADYEXISTS]")
        self.ok(c, "c3", "CREATE folder/sub")

    def test_create_existing(self):
        c = self.session()
        self.ok(c, "c", "CREATE X")
        _, t = command_raw(c, "c2", "CREATE X")
        self.assertTagged(t, "c2", "NO", "[ALREADYEXISTS]")
        _, t = command_raw(c, "c3", "CREATE Sent")
        self.assertTagged(t, "c3", "NO", "[ALREADYEXISTS]")

    def test_create_inbox(self):
        c = self.session()
        for i, name in enumerate(("INBOX", "inbox", "Inbox")):
            _, t = command_raw(c, f"c{i}", f"CREATE {name}")
            self.assertTagged(t, f"c{i}", "NO")

    def test_create_invalid_modified_utf7(self):
        c = self.session()
        # unterminated shift, base64 of a bare '&', lower-case padding, direct-encoded ASCII
        for i, name in enumerate(("&Jjo", "a&", "&AGE-", "&ZeVnLIqe", "&&-x")):
            _, t = command_raw(c, f"c{i}", f'CREATE "{name}"')
            self.assertTagged(t, f"c{i}", "NO")
        entries = self.listing(c)
        self.assertEqual(sorted(entries), DEFAULT_MAILBOXES)

    def test_create_valid_modified_utf7(self):
        c = self.session()
        name = "&AOk-t&AOk-"            # "été"
        self.ok(c, "c", f'CREATE "{name}"')
        self.ok(c, "c2", 'CREATE "a&-b"')  # "a&b"
        entries = self.listing(c)
        self.assertIn(name, entries)
        self.assertIn("a&-b", entries)
        self.ok(c, "s", f"SELECT {name}")

    def test_create_8bit_name_rejected(self):
        c = self.session()
        c.send(b'c CREATE "\xc3\xa9t\xc3\xa9"\r\n')
        _, t = c.read_tagged("c")
        self.assertRegex(t, r"^c (NO|BAD) ")
        self.assertEqual(sorted(self.listing(c)), DEFAULT_MAILBOXES)

    def test_create_name_with_space_quoted(self):
        c = self.session()
        self.ok(c, "c", 'CREATE "My Stuff"')
        untagged = self.ok(c, "l", 'LIST "" *')
        self.assertIn('* LIST (\\HasNoChildren) "/" "My Stuff"', texts(untagged))
        self.ok(c, "s", 'SELECT "My Stuff"')

    def test_create_syntax_errors(self):
        c = self.session()
        for i, args in enumerate(("", " a b", " (a)")):
            _, t = command_raw(c, f"c{i}", "CREATE" + args)
            self.assertTagged(t, f"c{i}", "BAD")
        _, t = command_raw(c, "e", 'CREATE ""')
        self.assertRegex(t, r"^e (NO|BAD) ")

    def test_create_then_append_and_status(self):
        c = self.session()
        self.ok(c, "c", "CREATE box")
        self.append_ok(c, "box", make_message())
        items = status_items(self.ok(c, "st", "STATUS box (MESSAGES UIDNEXT)"))
        self.assertEqual(items, [("MESSAGES", 1), ("UIDNEXT", 2)])

    def test_create_imaplib(self):
        m = self.imap()
        self.assertEqual(m.create("Work/2024")[0], "OK")
        typ, data = m.list()
        self.assertEqual(typ, "OK")
        names = [d.decode() for d in data]
        self.assertTrue(any(n.endswith(' "/" Work/2024') for n in names), names)
        typ, data = m.create("Work/2024")
        self.assertEqual(typ, "NO")


class Delete(MailTestCase):
    def test_delete(self):
        c = self.session()
        self.ok(c, "c", "CREATE gone")
        self.append_ok(c, "gone", make_message())
        self.ok(c, "d", "DELETE gone")
        self.assertNotIn("gone", list_entries(self.ok(c, "l", 'LIST "" *')))
        _, t = command_raw(c, "s", "SELECT gone")
        self.assertTagged(t, "s", "NO")

    def test_delete_inbox_refused(self):
        c = self.session()
        self.append_ok(c, "INBOX", make_message())
        for i, name in enumerate(("INBOX", "inbox")):
            _, t = command_raw(c, f"d{i}", f"DELETE {name}")
            self.assertTagged(t, f"d{i}", "NO")
        items = status_items(self.ok(c, "st", "STATUS INBOX (MESSAGES)"))
        self.assertEqual(items, [("MESSAGES", 1)])

    def test_delete_nonexistent(self):
        c = self.session()
        _, t = command_raw(c, "d", "DELETE nosuchbox")
        self.assertTagged(t, "d", "NO")

    def test_delete_with_children_leaves_noselect(self):
        c = self.session()
        self.ok(c, "c", "CREATE p/q")
        self.append_ok(c, "p", make_message())
        self.ok(c, "d", "DELETE p")
        entries = list_entries(self.ok(c, "l", 'LIST "" *'))
        self.assertIn("p", entries)
        self.assertIn("\\noselect", entries["p"][0])
        self.assertIn("\\haschildren", entries["p"][0])
        self.assertIn("p/q", entries)
        _, t = command_raw(c, "s", "SELECT p")
        self.assertTagged(t, "s", "NO")
        _, t = command_raw(c, "st", "STATUS p (MESSAGES)")
        self.assertTagged(t, "st", "NO")
        # deleting a \Noselect name that still has inferiors is an error (§6.3.4)
        _, t = command_raw(c, "d2", "DELETE p")
        self.assertTagged(t, "d2", "NO")
        # once the child is gone, the \Noselect parent can go too
        self.ok(c, "d3", "DELETE p/q")
        self.ok(c, "d4", "DELETE p")
        entries = list_entries(self.ok(c, "l2", 'LIST "" *'))
        self.assertNotIn("p", entries)

    def test_recreated_mailbox_new_uidvalidity_or_higher_uids(self):
        """RFC 3501 §2.3.1.1: a new mailbox with a deleted one's name must not reuse its
        UIDs under the same UIDVALIDITY."""
        c = self.session()
        self.ok(c, "c", "CREATE again")
        self.append_ok(c, "again", make_message())
        self.append_ok(c, "again", make_message())
        before = dict(status_items(self.ok(c, "s1", "STATUS again (UIDVALIDITY UIDNEXT)")))
        self.ok(c, "d", "DELETE again")
        self.ok(c, "c2", "CREATE again")
        after = dict(status_items(self.ok(c, "s2", "STATUS again (UIDVALIDITY UIDNEXT)")))
        self.assertTrue(after["UIDVALIDITY"] != before["UIDVALIDITY"]
                        or after["UIDNEXT"] >= before["UIDNEXT"], (before, after))

    def test_delete_selected_by_other_session(self):
        a = self.session()
        self.ok(a, "c", "CREATE doomed")
        self.append_ok(a, "doomed", make_message())
        b = self.session(select="doomed")
        self.ok(a, "d", "DELETE doomed")
        # b must get a well-formed answer (or a BYE), and the server must stay healthy
        try:
            _, t = b.command("n", "NOOP")
            self.assertRegex(t, r"^n (OK|NO|BAD)")
        except Exception:
            self.assertTrue(any(l.startswith("* BYE") for l in b.received), b.received)
        self.ok(a, "n", "NOOP")
        self.assertNotIn("doomed", list_entries(self.ok(a, "l", 'LIST "" *')))

    def test_delete_syntax(self):
        c = self.session()
        _, t = command_raw(c, "d", "DELETE")
        self.assertTagged(t, "d", "BAD")


class Rename(MailTestCase):
    def test_rename_simple_keeps_messages(self):
        c = self.session()
        self.ok(c, "c", "CREATE old")
        self.append_ok(c, "old", make_message(subject="kept"))
        self.ok(c, "r", "RENAME old new")
        entries = list_entries(self.ok(c, "l", 'LIST "" *'))
        self.assertIn("new", entries)
        self.assertNotIn("old", entries)
        self.ok(c, "s", "SELECT new")
        f = fetch_by_seq(self.ok(c, "f", "FETCH 1 BODY.PEEK[HEADER]"))
        self.assertIn(b"Subject: kept", f[1]["BODY[HEADER]"])

    def test_rename_children_move(self):
        c = self.session()
        self.ok(c, "c", "CREATE a/b/c")
        self.append_ok(c, "a/b/c", make_message())
        self.ok(c, "r", "RENAME a z")
        entries = list_entries(self.ok(c, "l", 'LIST "" *'))
        for name in ("z", "z/b", "z/b/c"):
            self.assertIn(name, entries)
        for name in ("a", "a/b", "a/b/c"):
            self.assertNotIn(name, entries)
        items = status_items(self.ok(c, "st", "STATUS z/b/c (MESSAGES)"))
        self.assertEqual(items, [("MESSAGES", 1)])

    def test_rename_creates_parents(self):
        c = self.session()
        self.ok(c, "c", "CREATE leaf")
        self.ok(c, "r", "RENAME leaf x/y/leaf")
        entries = list_entries(self.ok(c, "l", 'LIST "" *'))
        for name in ("x", "x/y", "x/y/leaf"):
            self.assertIn(name, entries)

    def test_rename_target_exists(self):
        c = self.session()
        _, t = command_raw(c, "r", "RENAME Sent Drafts")
        self.assertTagged(t, "r", "NO")
        _, t = command_raw(c, "r2", "RENAME Sent INBOX")
        self.assertTagged(t, "r2", "NO")
        entries = list_entries(self.ok(c, "l", 'LIST "" *'))
        self.assertEqual(sorted(entries), DEFAULT_MAILBOXES)

    def test_rename_nonexistent(self):
        c = self.session()
        _, t = command_raw(c, "r", "RENAME nosuch other")
        self.assertTagged(t, "r", "NO")

    def test_rename_into_own_child_refused(self):
        c = self.session()
        self.ok(c, "c", "CREATE loop")
        _, t = command_raw(c, "r", "RENAME loop loop/inner")
        self.assertRegex(t, r"^r (NO|BAD) ")
        entries = list_entries(self.ok(c, "l", 'LIST "" *'))
        self.assertIn("loop", entries)

    def test_rename_inbox_children_stay(self):
        """RFC 3501 §6.3.5: renaming INBOX leaves INBOX's inferiors alone."""
        c = self.session()
        self.ok(c, "c", "CREATE INBOX/sub")
        self.append_ok(c, "INBOX", make_message())
        self.ok(c, "r", "RENAME INBOX saved")
        entries = list_entries(self.ok(c, "l", 'LIST "" *'))
        self.assertIn("INBOX/sub", entries)
        self.assertNotIn("saved/sub", entries)
        self.assertIn("saved", entries)

    def test_rename_syntax(self):
        c = self.session()
        _, t = command_raw(c, "r", "RENAME onlyone")
        self.assertTagged(t, "r", "BAD")

    def test_rename_imaplib(self):
        m = self.imap()
        m.create("from")
        self.assertEqual(m.rename("from", "to")[0], "OK")
        self.assertEqual(m.rename("from", "to2")[0], "NO")


class Subscriptions(MailTestCase):
    def test_subscribe_lsub_unsubscribe(self):
        c = self.session()
        self.ok(c, "s", "SUBSCRIBE Sent")
        self.ok(c, "s2", "SUBSCRIBE INBOX")
        entries = list_entries(self.ok(c, "l", 'LSUB "" *'), "LSUB")
        self.assertEqual(sorted(entries), ["INBOX", "Sent"])
        self.ok(c, "u", "UNSUBSCRIBE Sent")
        entries = list_entries(self.ok(c, "l2", 'LSUB "" *'), "LSUB")
        self.assertEqual(sorted(entries), ["INBOX"])

    def test_lsub_percent_returns_noselect_parent(self):
        """RFC 3501 §6.3.9: a subscribed foo/bar with % gives '* LSUB (\\Noselect) "/" foo'
        when foo itself is not subscribed."""
        c = self.session()
        self.ok(c, "c", "CREATE foo/bar")
        self.ok(c, "s", "SUBSCRIBE foo/bar")
        entries = list_entries(self.ok(c, "l", 'LSUB "" %'), "LSUB")
        self.assertEqual(sorted(entries), ["foo"])
        self.assertIn("\\noselect", entries["foo"][0])
        entries = list_entries(self.ok(c, "l2", 'LSUB "" *'), "LSUB")
        self.assertEqual(sorted(entries), ["foo/bar"])
        # once foo is subscribed too, it is listed without \Noselect
        self.ok(c, "s2", "SUBSCRIBE foo")
        entries = list_entries(self.ok(c, "l3", 'LSUB "" %'), "LSUB")
        self.assertNotIn("\\noselect", entries["foo"][0])

    def test_subscription_survives_delete(self):
        """RFC 3501 §6.3.6: the server must not remove a subscription by itself."""
        c = self.session()
        self.ok(c, "c", "CREATE temp")
        self.ok(c, "s", "SUBSCRIBE temp")
        self.ok(c, "d", "DELETE temp")
        entries = list_entries(self.ok(c, "l", 'LSUB "" *'), "LSUB")
        self.assertIn("temp", entries)

    def test_lsub_reference_and_pattern(self):
        c = self.session()
        self.ok(c, "c", "CREATE w/x")
        self.ok(c, "c2", "CREATE w/y")
        self.ok(c, "s", "SUBSCRIBE w/x")
        self.ok(c, "s2", "SUBSCRIBE w/y")
        self.ok(c, "s3", "SUBSCRIBE Sent")
        entries = list_entries(self.ok(c, "l", 'LSUB w/ %'), "LSUB")
        self.assertEqual(sorted(entries), ["w/x", "w/y"])
        entries = list_entries(self.ok(c, "l2", 'LSUB "" S*'), "LSUB")
        self.assertEqual(sorted(entries), ["Sent"])

    def test_subscribe_syntax(self):
        c = self.session()
        _, t = command_raw(c, "s", "SUBSCRIBE")
        self.assertTagged(t, "s", "BAD")
        _, t = command_raw(c, "u", "UNSUBSCRIBE")
        self.assertTagged(t, "u", "BAD")
        _, t = command_raw(c, "l", "LSUB onlyref")
        self.assertTagged(t, "l", "BAD")

    def test_subscriptions_per_user(self):
        a = self.session()
        self.ok(a, "s", "SUBSCRIBE Sent")
        b = self.session("bob", "hunter2")
        self.assertEqual(list_entries(self.ok(b, "l", 'LSUB "" *'), "LSUB"), {})


class List(MailTestCase):
    def setUp(self):
        super().setUp()
        self.c = self.session()
        self.ok(self.c, "c", "CREATE p/q/r")
        self.ok(self.c, "c2", "CREATE p/s")

    def names(self, ref, pat):
        return sorted(list_entries(self.ok(self.c, "l", f"LIST {ref} {pat}")))

    def test_list_star(self):
        entries = list_entries(self.ok(self.c, "l", 'LIST "" *'))
        self.assertEqual(sorted(entries), sorted(DEFAULT_MAILBOXES + ["p", "p/q", "p/q/r",
                                                                      "p/s"]))
        self.assertIn("\\haschildren", entries["p"][0])
        self.assertIn("\\haschildren", entries["p/q"][0])
        self.assertIn("\\hasnochildren", entries["p/q/r"][0])
        self.assertIn("\\hasnochildren", entries["INBOX"][0])
        for name, (attrs, delim) in entries.items():
            self.assertEqual(delim, '"/"')
            self.assertFalse({"\\haschildren", "\\hasnochildren"} <= attrs, name)

    def test_list_percent(self):
        self.assertEqual(self.names('""', "%"), sorted(DEFAULT_MAILBOXES + ["p"]))
        self.assertEqual(self.names('""', "p/%"), ["p/q", "p/s"])
        self.assertEqual(self.names('""', "p/%/%"), ["p/q/r"])

    def test_list_reference(self):
        self.assertEqual(self.names("p", "%"), ["p"])          # "p" + "%" = "p%"
        self.assertEqual(self.names("p/", "%"), ["p/q", "p/s"])
        self.assertEqual(self.names("p/", "*"), ["p/q", "p/q/r", "p/s"])
        self.assertEqual(self.names("p/q/", "%"), ["p/q/r"])

    def test_list_empty_pattern_gives_delimiter(self):
        untagged = self.ok(self.c, "l", 'LIST "" ""')
        self.assertEqual(texts(untagged), ['* LIST (\\Noselect) "/" ""'])

    def test_list_empty_pattern_with_reference(self):
        untagged = self.ok(self.c, "l", 'LIST p/q ""')
        self.assertEqual(len(untagged), 1)
        self.assertRegex(texts(untagged)[0], r'^\* LIST \(\\Noselect\) "/" ')

    def test_list_exact_name(self):
        self.assertEqual(self.names('""', "p/q"), ["p/q"])
        self.assertEqual(self.names('""', "nosuch"), [])

    def test_list_inbox_case_insensitive(self):
        self.assertEqual(self.names('""', "inbox"), ["INBOX"])
        self.assertEqual(self.names('""', "INBOX"), ["INBOX"])

    def test_list_wildcard_middle(self):
        self.assertEqual(self.names('""', "p/*r"), ["p/q/r"])
        self.assertEqual(self.names('""', "*/s"), ["p/s"])
        self.assertEqual(self.names('""', "*fts"), ["Drafts"])
        self.assertEqual(self.names('""', "J%"), ["Junk"])

    def test_list_noselect_after_delete(self):
        self.ok(self.c, "d", "DELETE p/q")
        entries = list_entries(self.ok(self.c, "l", 'LIST "" p*'))
        self.assertIn("\\noselect", entries["p/q"][0])
        self.assertNotIn("\\noselect", entries["p"][0])

    def test_list_hasnochildren_after_child_deleted(self):
        self.ok(self.c, "d", "DELETE p/s")
        self.ok(self.c, "d2", "DELETE p/q/r")
        entries = list_entries(self.ok(self.c, "l", 'LIST "" p*'))
        self.assertIn("\\hasnochildren", entries["p/q"][0])
        self.assertIn("\\haschildren", entries["p"][0])      # p/q is left
        self.ok(self.c, "d3", "DELETE p/q")
        entries = list_entries(self.ok(self.c, "l2", 'LIST "" p*'))
        self.assertIn("\\hasnochildren", entries["p"][0])

    def test_list_syntax(self):
        for i, args in enumerate(("", ' ""', ' "" * extra')):
            _, t = command_raw(self.c, f"l{i}", "LIST" + args)
            self.assertTagged(t, f"l{i}", "BAD")

    def test_list_imaplib(self):
        m = self.imap()
        typ, data = m.list('""', "p/%")
        self.assertEqual(typ, "OK")
        self.assertEqual(sorted(d.decode().rsplit(" ", 1)[1] for d in data), ["p/q", "p/s"])

    def test_list_not_authenticated(self):
        c = self.connect(self.srv)
        _, t = c.command("l", 'LIST "" *')
        self.assertTagged(t, "l", "BAD")


class Status(MailTestCase):
    def test_status_values(self):
        c = self.session()
        self.append_ok(c, "INBOX", make_message(), flags=["\\Seen"])
        self.append_ok(c, "INBOX", make_message())
        self.append_ok(c, "INBOX", make_message())
        items = dict(status_items(self.ok(
            c, "st", "STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)")))
        self.assertEqual(items["MESSAGES"], 3)
        self.assertEqual(items["RECENT"], 3)
        self.assertEqual(items["UIDNEXT"], 4)
        self.assertEqual(items["UNSEEN"], 2)
        info = select_info(self.ok(c, "s", "SELECT INBOX"))
        self.assertEqual(items["UIDVALIDITY"], info["uidvalidity"])

    def test_status_order_as_asked(self):
        c = self.session()
        for order in (["UNSEEN", "MESSAGES"], ["UIDVALIDITY", "RECENT", "UIDNEXT"],
                      ["MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN"],
                      ["UNSEEN", "UIDVALIDITY", "UIDNEXT", "RECENT", "MESSAGES"]):
            items = status_items(self.ok(c, "st", f"STATUS INBOX ({' '.join(order)})"))
            self.assertEqual([k for k, _ in items], order)

    def test_status_lower_case_items(self):
        c = self.session()
        items = status_items(self.ok(c, "st", "STATUS INBOX (messages uidnext)"))
        self.assertEqual([k.upper() for k, _ in items], ["MESSAGES", "UIDNEXT"])

    def test_status_unknown_item_bad(self):
        c = self.session()
        untagged, t = command_raw(c, "st", "STATUS INBOX (MESSAGES FOO)")
        self.assertTagged(t, "st", "BAD")
        self.assertEqual(untagged, [])

    def test_status_nonexistent_no(self):
        c = self.session()
        _, t = command_raw(c, "st", "STATUS nosuch (MESSAGES)")
        self.assertTagged(t, "st", "NO")

    def test_status_syntax(self):
        c = self.session()
        for i, args in enumerate((" INBOX", " INBOX ()", " INBOX MESSAGES", "")):
            _, t = command_raw(c, f"st{i}", "STATUS" + args)
            self.assertTagged(t, f"st{i}", "BAD")

    def test_status_quoted_name(self):
        c = self.session()
        self.ok(c, "c", 'CREATE "with space"')
        untagged = self.ok(c, "st", 'STATUS "with space" (MESSAGES)')
        self.assertEqual(texts(untagged), ['* STATUS "with space" (MESSAGES 0)'])

    def test_status_does_not_change_recent(self):
        c = self.session()
        self.append_ok(c, "INBOX", make_message())
        self.ok(c, "st", "STATUS INBOX (RECENT)")
        items = status_items(self.ok(c, "st2", "STATUS INBOX (RECENT)"))
        self.assertEqual(items, [("RECENT", 1)])

    def test_status_imaplib(self):
        m = self.imap()
        typ, data = m.status("INBOX", "(MESSAGES UIDNEXT)")
        self.assertEqual(typ, "OK")
        self.assertEqual(data, [b"INBOX (MESSAGES 0 UIDNEXT 1)"])


class Append(MailTestCase):
    def test_append_flags_and_date(self):
        c = self.session()
        msg = make_message(subject="dated")
        self.append_ok(c, "INBOX", msg, flags=["\\Seen", "\\Flagged", "$Label1"],
                       date="07-Feb-1994 21:52:25 -0800")
        self.ok(c, "s", "SELECT INBOX")
        f = fetch_by_seq(self.ok(c, "f", "FETCH 1 (FLAGS INTERNALDATE RFC822.SIZE)"))[1]
        self.assertEqual(set(f["FLAGS"]), {"\\Seen", "\\Flagged", "$Label1", "\\Recent"})
        self.assertEqual(f["INTERNALDATE"], b"07-Feb-1994 21:52:25 -0800")
        self.assertEqual(int(f["RFC822.SIZE"]), len(msg))

    def test_append_date_with_space_padded_day(self):
        c = self.session()
        self.append_ok(c, "INBOX", make_message(), date=" 7-Feb-1994 01:02:03 +0530")
        self.ok(c, "s", "SELECT INBOX")
        f = fetch_by_seq(self.ok(c, "f", "FETCH 1 INTERNALDATE"))[1]
        # date-day-fixed: either " 7" or "07"
        self.assertIn(f["INTERNALDATE"], (b" 7-Feb-1994 01:02:03 +0530",
                                          b"07-Feb-1994 01:02:03 +0530"))

    def test_append_without_date_uses_now(self):
        import calendar
        import time as _t
        c = self.session()
        before = int(_t.time())
        self.append_ok(c, "INBOX", make_message())
        after = int(_t.time()) + 1
        self.ok(c, "s", "SELECT INBOX")
        f = fetch_by_seq(self.ok(c, "f", "FETCH 1 INTERNALDATE"))[1]
        got = f["INTERNALDATE"].decode().strip('"')
        # RFC 3501 §9: date-day-fixed is (SP DIGIT) / 2DIGIT, so " 2-Dec-2026" and
        # "02-Dec-2026" are both valid; compare the instant, not the spelling
        m = re.fullmatch(r"( \d|\d\d)-([A-Z][a-z]{2})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)", got)
        self.assertIsNotNone(m, got)
        months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        self.assertIn(m.group(2), months)
        t = calendar.timegm((int(m.group(3)), months.index(m.group(2)) + 1, int(m.group(1)),
                             int(m.group(4)), int(m.group(5)), int(m.group(6))))
        off = (int(m.group(8)) * 60 + int(m.group(9))) * 60
        t -= off if m.group(7) == "+" else -off
        self.assertGreaterEqual(t, before - 1)
        self.assertLessEqual(t, after)

    def test_append_appenduid(self):
        c = self.session()
        t1 = self.append_ok(c, "Sent", make_message(), tag="a1")
        t2 = self.append_ok(c, "Sent", make_message(), tag="a2")
        v1, u1 = resp_code(t1, "APPENDUID").split()
        v2, u2 = resp_code(t2, "APPENDUID").split()
        self.assertEqual(v1, v2)
        self.assertLess(int(u1), int(u2))
        info = select_info(self.ok(c, "s", "SELECT Sent"))
        self.assertEqual(str(info["uidvalidity"]), v1)
        f = fetch_by_seq(self.ok(c, "f", "FETCH 1:2 UID"))
        self.assertEqual([f[1]["UID"], f[2]["UID"]], [u1, u2])

    def test_append_invalid_date_bad_nothing_stored(self):
        c = self.session()
        for i, date in enumerate(("99-Foo-2020 10:00:00 +0100", "32-Jan-2020 10:00:00 +0000",
                                  "01-Jan-2020 25:00:00 +0000", "01-Jan-2020 10:00:00",
                                  "2020-01-01 10:00:00 +0000")):
            t = append(c, "INBOX", make_message(), date=date, tag=f"a{i}")
            self.assertTagged(t, f"a{i}", "BAD")
        items = status_items(self.ok(c, "st", "STATUS INBOX (MESSAGES UIDNEXT)"))
        self.assertEqual(items, [("MESSAGES", 0), ("UIDNEXT", 1)])

    def test_append_nonexistent_trycreate(self):
        c = self.session()
        t = append(c, "nosuch", make_message())
        self.assertTagged(t, "ap", "NO", "[TRYCREATE]")
        entries = list_entries(self.ok(c, "l", 'LIST "" *'))
        self.assertNotIn("nosuch", entries)

    def test_append_noselect_no(self):
        c = self.session()
        self.ok(c, "c", "CREATE ns/child")
        self.ok(c, "d", "DELETE ns")
        t = append(c, "ns", make_message())
        self.assertTagged(t, "ap", "NO")

    def test_multiappend_three(self):
        c = self.session()
        msgs = [make_message(subject=f"multi {i}") for i in range(3)]
        data = b"m APPEND INBOX (\\Seen) " + b" ".join(
            f"{{{len(m)}+}}\r\n".encode() + m for m in msgs[:1]) + b" "
        data += b" ".join(f"{{{len(m)}+}}\r\n".encode() + m for m in msgs[1:2]) + b" "
        data += b'(\\Flagged) "01-Jan-2001 00:00:00 +0000" ' + \
            f"{{{len(msgs[2])}+}}\r\n".encode() + msgs[2] + b"\r\n"
        c.send(data)
        _, t = c.read_tagged("m")
        self.assertTagged(t, "m", "OK")
        v, uids = resp_code(t, "APPENDUID").split()
        uids = expand_uidset(uids)
        self.assertEqual(len(uids), 3)
        self.assertEqual(uids, list(range(uids[0], uids[0] + 3)))
        self.ok(c, "s", "SELECT INBOX")
        f = fetch_by_seq(self.ok(c, "f", "FETCH 1:3 (UID FLAGS INTERNALDATE BODY.PEEK[])"))
        self.assertEqual([int(f[i]["UID"]) for i in (1, 2, 3)], uids)
        self.assertEqual([f[i]["BODY[]"] for i in (1, 2, 3)], msgs)
        self.assertIn("\\Seen", f[1]["FLAGS"])
        self.assertNotIn("\\Seen", f[2]["FLAGS"])
        self.assertIn("\\Flagged", f[3]["FLAGS"])
        self.assertEqual(f[3]["INTERNALDATE"], b"01-Jan-2001 00:00:00 +0000")

    def test_multiappend_synchronizing_literals(self):
        c = self.session()
        msgs = [make_message(subject=f"sync {i}") for i in range(3)]
        c.send(f"m APPEND INBOX {{{len(msgs[0])}}}\r\n")
        self.assertTrue(c.readline().startswith("+"))
        for i, m in enumerate(msgs):
            if i < 2:
                c.send(m + f" {{{len(msgs[i + 1])}}}\r\n".encode())
                self.assertTrue(c.readline().startswith("+"))
            else:
                c.send(m + b"\r\n")
        _, t = c.read_tagged("m")
        self.assertTagged(t, "m", "OK", "[APPENDUID ")
        self.assertEqual(len(expand_uidset(resp_code(t, "APPENDUID").split()[1])), 3)
        items = status_items(self.ok(c, "st", "STATUS INBOX (MESSAGES)"))
        self.assertEqual(items, [("MESSAGES", 3)])

    def test_multiappend_all_or_nothing(self):
        """RFC 3502 §6.3.11: if any message cannot be appended, none is."""
        c = self.session()
        m1, m2 = make_message(subject="first"), make_message(subject="second")
        c.send(f"m APPEND INBOX {{{len(m1)}+}}\r\n".encode() + m1 +
               f' "99-Xyz-2001 00:00:00 +0000" {{{len(m2)}+}}\r\n'.encode() + m2 + b"\r\n")
        _, t = c.read_tagged("m")
        self.assertRegex(t, r"^m (NO|BAD) ")
        items = status_items(self.ok(c, "st", "STATUS INBOX (MESSAGES UIDNEXT)"))
        self.assertEqual(items, [("MESSAGES", 0), ("UIDNEXT", 1)])

    def test_append_synchronizing_literal(self):
        c = self.session()
        msg = make_message(subject="synced")
        t = append(c, "INBOX", msg, sync=True)
        self.assertTagged(t, "ap", "OK", "[APPENDUID ")
        self.ok(c, "s", "SELECT INBOX")
        self.assertEqual(fetch_by_seq(self.ok(c, "f", "FETCH 1 BODY.PEEK[]"))[1]["BODY[]"], msg)

    def test_append_literal_plus_exact_bytes(self):
        c = self.session()
        msg = make_message(subject="bytes", body=bytes(range(1, 256)).replace(b"\r", b"")
                           .replace(b"\n", b"") + b"\r\nend\r\n")
        self.append_ok(c, "INBOX", msg)
        self.ok(c, "s", "SELECT INBOX")
        f = fetch_by_seq(self.ok(c, "f", "FETCH 1 (RFC822.SIZE BODY.PEEK[])"))[1]
        self.assertEqual(f["BODY[]"], msg)
        self.assertEqual(int(f["RFC822.SIZE"]), len(msg))

    def test_append_invalid_flag_bad(self):
        c = self.session()
        t = append(c, "INBOX", make_message(), flags=["\\Bogus"])
        self.assertTagged(t, "ap", "BAD")
        items = status_items(self.ok(c, "st", "STATUS INBOX (MESSAGES)"))
        self.assertEqual(items, [("MESSAGES", 0)])

    def test_append_syntax(self):
        c = self.session()
        _, t = command_raw(c, "a", "APPEND INBOX")
        self.assertTagged(t, "a", "BAD")
        _, t = command_raw(c, "b", "APPEND INBOX notaliteral")
        self.assertTagged(t, "b", "BAD")

    def test_append_not_authenticated(self):
        c = self.connect(self.srv)
        c.send(b"a APPEND INBOX {3}\r\n")
        line = c.readline()
        # either the continuation is refused at once, or the command fails after it
        if line.startswith("+"):
            c.send(b"abc\r\n")
            _, line = c.read_tagged("a")
        self.assertRegex(line, r"^a (BAD|NO) ")

    def test_append_imaplib(self):
        m = self.imap()
        msg = make_message(subject="via imaplib")
        typ, data = m.append("INBOX", "(\\Seen)", imaplib_time(), msg)
        self.assertEqual(typ, "OK")
        self.assertIn(b"[APPENDUID ", data[0])
        m.select("INBOX")
        typ, data = m.fetch("1", "(BODY.PEEK[])")
        self.assertEqual(data[0][1], msg)


def imaplib_time():
    import imaplib
    return imaplib.Time2Internaldate(1700000000)


class CheckCloseUnselectExpunge(MailTestCase):
    def setup_box(self, c, n=5, deleted=(2, 4)):
        self.fill(c, "INBOX", n)
        self.ok(c, "s", "SELECT INBOX")
        if deleted:
            self.ok(c, "d", "STORE " + ",".join(map(str, deleted)) + " +FLAGS.SILENT (\\Deleted)")

    def test_check(self):
        c = self.session()
        _, t = command_raw(c, "k", "CHECK")
        self.assertTagged(t, "k", "BAD")
        self.ok(c, "s", "SELECT INBOX")
        self.ok(c, "k2", "CHECK")

    def test_close_expunges_silently(self):
        c = self.session()
        self.setup_box(c)
        untagged = self.ok(c, "c", "CLOSE")
        self.assertEqual(untagged_numbers(untagged, "EXPUNGE"), [],
                         "CLOSE must not send EXPUNGE responses")
        _, t = command_raw(c, "f", "FETCH 1 FLAGS")
        self.assertTagged(t, "f", "BAD")
        items = status_items(self.ok(c, "st", "STATUS INBOX (MESSAGES)"))
        self.assertEqual(items, [("MESSAGES", 3)])
        self.ok(c, "s", "SELECT INBOX")
        f = fetch_by_seq(self.ok(c, "f2", "FETCH 1:* BODY.PEEK[TEXT]"))
        self.assertEqual([f[i]["BODY[TEXT]"] for i in (1, 2, 3)],
                         [b"body 1\r\n", b"body 3\r\n", b"body 5\r\n"])

    def test_examine_close_keeps_deleted(self):
        c = self.session()
        self.setup_box(c)
        self.ok(c, "e", "EXAMINE INBOX")
        untagged = self.ok(c, "c", "CLOSE")
        self.assertEqual(untagged_numbers(untagged, "EXPUNGE"), [])
        items = status_items(self.ok(c, "st", "STATUS INBOX (MESSAGES)"))
        self.assertEqual(items, [("MESSAGES", 5)])

    def test_unselect_does_not_expunge(self):
        c = self.session()
        self.setup_box(c)
        untagged = self.ok(c, "u", "UNSELECT")
        self.assertEqual(untagged_numbers(untagged, "EXPUNGE"), [])
        _, t = command_raw(c, "f", "FETCH 1 FLAGS")
        self.assertTagged(t, "f", "BAD")
        items = status_items(self.ok(c, "st", "STATUS INBOX (MESSAGES)"))
        self.assertEqual(items, [("MESSAGES", 5)])

    def test_unselect_close_not_selected(self):
        c = self.session()
        for i, cmd in enumerate(("UNSELECT", "CLOSE", "EXPUNGE")):
            _, t = command_raw(c, f"x{i}", cmd)
            self.assertTagged(t, f"x{i}", "BAD")

    def test_expunge_responses(self):
        c = self.session()
        self.setup_box(c, n=6, deleted=(2, 3, 5))
        untagged = self.ok(c, "x", "EXPUNGE")
        seqs = untagged_numbers(untagged, "EXPUNGE")
        self.assertEqual(len(seqs), 3)
        # apply the EXPUNGEs in order to [1..6]: what is left must be 1, 4, 6
        left = list(range(1, 7))
        for s in seqs:
            del left[s - 1]
        self.assertEqual(left, [1, 4, 6])
        f = fetch_by_seq(self.ok(c, "f", "FETCH 1:* BODY.PEEK[TEXT]"))
        self.assertEqual(sorted(f), [1, 2, 3])
        self.assertEqual(f[2]["BODY[TEXT]"], b"body 4\r\n")

    def test_expunge_nothing_deleted(self):
        c = self.session()
        self.setup_box(c, n=2, deleted=())
        self.assertEqual(untagged_numbers(self.ok(c, "x", "EXPUNGE"), "EXPUNGE"), [])

    def test_expunge_read_only_refused(self):
        c = self.session()
        self.setup_box(c, n=2, deleted=(1,))
        self.ok(c, "e", "EXAMINE INBOX")
        untagged, t = command_raw(c, "x", "EXPUNGE")
        self.assertTagged(t, "x", "NO")
        self.assertEqual(untagged_numbers(untagged, "EXPUNGE"), [])

    def test_expunge_imaplib(self):
        m = self.imap()
        for i in range(3):
            m.append("INBOX", None, None, make_message(subject=str(i)))
        m.select("INBOX")
        m.store("1,3", "+FLAGS", "(\\Deleted)")
        typ, data = m.expunge()
        self.assertEqual(typ, "OK")
        self.assertEqual(len(data), 2)
        typ, data = m.close()
        self.assertEqual(typ, "OK")


class Namespace(MailTestCase):
    def test_namespace(self):
        c = self.session()
        untagged = self.ok(c, "n", "NAMESPACE")
        self.assertEqual(texts(untagged), ['* NAMESPACE (("" "/")) NIL NIL'])

    def test_namespace_before_login(self):
        c = self.connect(self.srv)
        _, t = c.command("n", "NAMESPACE")
        self.assertTagged(t, "n", "BAD")

    def test_namespace_arguments_bad(self):
        c = self.session()
        _, t = command_raw(c, "n", "NAMESPACE x")
        self.assertTagged(t, "n", "BAD")

    def test_namespace_advertised(self):
        c = self.session()
        untagged = self.ok(c, "c", "CAPABILITY")
        caps = texts(untagged)[0].split()
        for cap in ("NAMESPACE", "CHILDREN", "UIDPLUS", "MULTIAPPEND", "UNSELECT", "IDLE",
                    "MOVE", "LITERAL+"):
            self.assertIn(cap, caps)


class Isolation(MailTestCase):
    def test_users_do_not_share_mailboxes(self):
        a = self.session()
        self.append_ok(a, "INBOX", make_message())
        self.ok(a, "c", "CREATE alicebox")
        b = self.session("bob", "hunter2")
        items = status_items(self.ok(b, "st", "STATUS INBOX (MESSAGES)"))
        self.assertEqual(items, [("MESSAGES", 0)])
        _, t = command_raw(b, "s", "SELECT alicebox")
        self.assertTagged(t, "s", "NO")


if __name__ == "__main__":
    unittest.main()
