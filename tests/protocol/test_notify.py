"""NOTIFY (RFC 5465): events of other mailboxes as unsolicited STATUS and LIST, pushed
between commands without the client asking; the selected mailbox under SELECTED and
SELECTED-DELAYED (EXISTS with MessageNew's FETCH, EXPUNGE or VANISHED, flag changes);
SET STATUS; NOTIFY NONE; the client's own changes not echoed; BADEVENT and the BAD
rules; NOTIFICATIONOVERFLOW when a client does not keep up."""

import re
import time

from harness import capabilities
from mailhelpers import (MailTestCase, fetch_by_seq, list_entries, make_message,
                         parse_fetch, read_response, status_items, texts)

PUSH_BOUND = 10.0     # seconds a notification may take (generous; normally at once)
QUIET = 0.4           # seconds of silence that show nothing was sent


def status_dict(line):
    m = re.match(r'^\* STATUS (.*) \(([^)]*)\)$', line)
    assert m, line
    v = m.group(2).split()
    name = m.group(1)
    if name.startswith('"'):
        name = name[1:-1]
    return name, {v[i]: int(v[i + 1]) for i in range(0, len(v), 2)}


class Notify(MailTestCase):
    def setUp(self):
        super().setUp()
        self.a = self.session()
        self.b = self.session()
        for name in ("Other", "Work", "Work/Sub"):
            self.ok(self.b, "c", f"CREATE {name}")

    # -- helpers
    def pushed(self, c, pattern, bound=PUSH_BOUND):
        """Read unsolicited lines (no command sent) until one matches pattern; returns
        all read. Every line must be untagged."""
        deadline = time.monotonic() + bound
        seen = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.fail(f"nothing matching {pattern!r} within {bound}s; got {seen!r}")
            try:
                line = read_response(c, timeout=left).decode("latin-1")
            except TimeoutError:
                self.fail(f"nothing matching {pattern!r} within {bound}s; got {seen!r}")
            self.assertTrue(line.startswith("* "), f"not untagged: {line!r}")
            seen.append(line)
            if re.search(pattern, line):
                return seen

    def quiet(self, c, what="nothing is sent"):
        self.assertTrue(c.quiet_for(QUIET), f"{what}; got {c.buf[:300]!r}")

    def append_b(self, mailbox, subject="m", flags=None):
        self.append_ok(self.b, mailbox, make_message(subject=subject), flags=flags)

    # -- capability, syntax, errors
    def test_capability(self):
        caps = capabilities(texts(self.ok(self.a, "c", "CAPABILITY"))[0])
        self.assertIn("NOTIFY", caps)

    def test_bad_syntax_and_rules(self):
        bad = [
            "NOTIFY", "NOTIFY FOO", "NOTIFY NONE extra", "NOTIFY SET", "NOTIFY SET STATUS",
            "NOTIFY SET (PERSONAL)", "NOTIFY SET PERSONAL (MessageNew MessageExpunge)",
            "NOTIFY SET (PERSONAL ())", "NOTIFY SET (PERSONAL MessageNew)",
            "NOTIFY SET (BOGUS (MessageNew MessageExpunge))",
            "NOTIFY SET (SUBTREE (MessageNew MessageExpunge))",
            "NOTIFY SET (MAILBOXES () (MessageNew MessageExpunge))",
            # RFC 5465 §6.1: SELECTED takes message events only, and only one SELECTED
            "NOTIFY SET (SELECTED (MailboxName))",
            "NOTIFY SET (SELECTED (MessageNew MessageExpunge)) "
            "(SELECTED-DELAYED (MessageNew MessageExpunge))",
            # §5: MessageNew with MessageExpunge; FlagChange with both
            "NOTIFY SET (PERSONAL (MessageNew))", "NOTIFY SET (PERSONAL (MessageExpunge))",
            "NOTIFY SET (PERSONAL (FlagChange))",
            "NOTIFY SET (SELECTED (MessageNew FlagChange))",
            # §8: fetch attributes only with SELECTED, and valid ones
            "NOTIFY SET (PERSONAL (MessageNew (UID) MessageExpunge))",
            "NOTIFY SET (SELECTED (MessageNew (NOSUCHITEM) MessageExpunge))",
        ]
        for i, cmd in enumerate(bad):
            with self.subTest(cmd=cmd):
                self.status_of(self.a, f"b{i}", cmd, "BAD")
        # still usable afterwards, and nothing was installed
        self.append_b("Other")
        self.quiet(self.a, "no NOTIFY is in effect after the errors")

    def test_badevent(self):
        """RFC 5465 §3.1: unsupported events are NO [BADEVENT (supported...)], not BAD."""
        for i, ev in enumerate(["AnnotationChange MessageNew MessageExpunge",
                                "MailboxMetadataChange", "ServerMetadataChange",
                                "XNoSuchEvent"]):
            _, t = self.status_of(self.a, f"e{i}", f"NOTIFY SET (PERSONAL ({ev}))", "NO")
            m = re.search(r"\[BADEVENT \(([^)]*)\)\]", t)
            self.assertIsNotNone(m, t)
            self.assertEqual(set(m.group(1).split()),
                             {"MessageNew", "MessageExpunge", "FlagChange", "MailboxName",
                              "SubscriptionChange"})

    def test_not_before_login(self):
        c = self.connect(self.srv)
        _, t = c.command("n", "NOTIFY SET (PERSONAL (MailboxName))")
        self.assertTagged(t, "n", "BAD")

    # -- other mailboxes: STATUS
    def test_status_pushed_for_new_and_expunged(self):
        self.ok(self.a, "n", "NOTIFY SET (PERSONAL (MessageNew MessageExpunge))")
        self.append_b("Other")
        line = self.pushed(self.a, r"^\* STATUS Other ")[-1]
        name, st = status_dict(line)
        self.assertEqual(st["MESSAGES"], 1)
        self.assertEqual(st["UIDNEXT"], 2)
        self.assertEqual(st["UNSEEN"], 1)
        self.ok(self.b, "s", "SELECT Other")
        self.ok(self.b, "d", "STORE 1 +FLAGS (\\Deleted)")
        self.quiet(self.a, "a flag change is no MessageNew/MessageExpunge event")
        self.ok(self.b, "x", "EXPUNGE")
        _, st = status_dict(self.pushed(self.a, r"^\* STATUS Other ")[-1])
        self.assertEqual(st["MESSAGES"], 0)
        self.assertEqual(st["UIDNEXT"], 2)

    def test_own_changes_not_echoed(self):
        """RFC 5465 §5: the events this client caused are not told to it."""
        self.ok(self.a, "n", "NOTIFY SET (PERSONAL (MessageNew MessageExpunge MailboxName "
                             "SubscriptionChange))")
        u = self.append_ok(self.a, "Other", make_message())
        self.ok(self.a, "c", "CREATE Mine")
        u = self.ok(self.a, "s", "SUBSCRIBE Mine")
        self.assertEqual([t for t in texts(u) if t.startswith(("* STATUS", "* LIST"))], [])
        self.quiet(self.a, "own APPEND/CREATE/SUBSCRIBE are not echoed")
        # another session's are
        self.append_b("Other")
        self.pushed(self.a, r"^\* STATUS Other ")

    def test_flag_change_without_and_with_condstore(self):
        self.append_b("Other")
        self.ok(self.a, "n", "NOTIFY SET (PERSONAL (MessageNew MessageExpunge FlagChange))")
        self.ok(self.b, "s", "SELECT Other")
        self.ok(self.b, "f", "STORE 1 +FLAGS (\\Flagged)")
        # §5.1: without CONDSTORE only a \Seen change is worth a STATUS (UNSEEN)
        self.quiet(self.a, "a \\Flagged change without CONDSTORE tells nothing")
        self.ok(self.b, "f", "STORE 1 +FLAGS (\\Seen)")
        _, st = status_dict(self.pushed(self.a, r"^\* STATUS Other ")[-1])
        self.assertEqual(st, {"UNSEEN": 0})
        self.ok(self.a, "e", "ENABLE CONDSTORE")
        self.ok(self.b, "f", "STORE 1 -FLAGS (\\Flagged)")
        _, st = status_dict(self.pushed(self.a, r"^\* STATUS Other ")[-1])
        self.assertEqual(set(st), {"UIDVALIDITY", "HIGHESTMODSEQ", "UNSEEN"})
        ref = dict(status_items(self.ok(self.b, "st", "STATUS Other (HIGHESTMODSEQ UIDVALIDITY)")))
        self.assertEqual(st["HIGHESTMODSEQ"], ref["HIGHESTMODSEQ"])
        self.assertEqual(st["UIDVALIDITY"], ref["UIDVALIDITY"])

    def test_filters(self):
        """MAILBOXES names exactly, SUBTREE a mailbox and its inferiors, SUBSCRIBED
        what is subscribed (re-evaluated when subscriptions change)."""
        self.ok(self.a, "n", "NOTIFY SET (MAILBOXES Other (MessageNew MessageExpunge))")
        self.append_b("Work")
        self.quiet(self.a, "Work is not watched")
        self.append_b("Other")
        self.pushed(self.a, r"^\* STATUS Other ")

        self.ok(self.a, "n", "NOTIFY SET (SUBTREE Work (MessageNew MessageExpunge))")
        self.append_b("Other")
        self.quiet(self.a, "Other is not under Work")
        self.append_b("Work/Sub")
        self.pushed(self.a, r'^\* STATUS "?Work/Sub"? ')
        self.append_b("Work")
        self.pushed(self.a, r"^\* STATUS Work ")

        self.ok(self.a, "n", "NOTIFY SET (SUBSCRIBED (MessageNew MessageExpunge))")
        self.append_b("Other")
        self.quiet(self.a, "Other is not subscribed")
        self.ok(self.b, "s", "SUBSCRIBE Other")
        self.append_b("Other")
        self.pushed(self.a, r"^\* STATUS Other ")

        # inbox in any case names INBOX
        self.ok(self.a, "n", "NOTIFY SET (MAILBOXES (inbox Work) (MessageNew MessageExpunge))")
        self.append_b("INBOX")
        self.pushed(self.a, r"^\* STATUS INBOX ")

    def test_set_status(self):
        """SET STATUS (§3.1): a STATUS for each watched mailbox before the OK, with
        MESSAGES UIDNEXT UIDVALIDITY (HIGHESTMODSEQ with FlagChange); not for the selected
        one nor for mailboxes watched without message events."""
        self.append_b("Work")
        self.ok(self.a, "s", "SELECT INBOX")
        u = self.ok(self.a, "n", "NOTIFY SET STATUS (SELECTED (MessageNew MessageExpunge)) "
                                 "(SUBTREE Work (MessageNew MessageExpunge FlagChange)) "
                                 "(MAILBOXES Other (MailboxName))")
        got = dict(status_dict(t) for t in texts(u) if t.startswith("* STATUS"))
        self.assertEqual(set(got), {"Work", "Work/Sub"})
        self.assertEqual(got["Work"]["MESSAGES"], 1)
        for st in got.values():
            self.assertTrue({"MESSAGES", "UIDNEXT", "UIDVALIDITY", "HIGHESTMODSEQ"} <= set(st))
        u = self.ok(self.a, "n", "NOTIFY SET STATUS (PERSONAL (MessageNew MessageExpunge))")
        got = dict(status_dict(t) for t in texts(u) if t.startswith("* STATUS"))
        self.assertNotIn("INBOX", got)             # selected
        self.assertTrue({"Other", "Work", "Work/Sub", "Sent", "Trash"} <= set(got))
        self.assertNotIn("HIGHESTMODSEQ", got["Other"])
        u = self.ok(self.a, "n", "NOTIFY SET (PERSONAL (MessageNew MessageExpunge))")
        self.assertEqual([t for t in texts(u) if t.startswith("* STATUS")], [])

    # -- other mailboxes: LIST
    def test_mailbox_name_events(self):
        self.ok(self.a, "n", "NOTIFY SET (PERSONAL (MailboxName))")
        self.ok(self.b, "c", "CREATE Foo")
        e = list_entries(self.pushed(self.a, r'^\* LIST .* Foo$'))
        self.assertNotIn("\\nonexistent", e["Foo"][0])
        self.ok(self.b, "r", "RENAME Foo Bar")
        line = self.pushed(self.a, r'^\* LIST .*OLDNAME')[-1]
        self.assertRegex(line, r'^\* LIST \([^)]*\) "/" Bar \("OLDNAME" \("?Foo"?\)\)$')
        self.ok(self.b, "d", "DELETE Bar")
        line = self.pushed(self.a, r'^\* LIST .* Bar$')[-1]
        self.assertRegex(line, r'^\* LIST \(\\NonExistent\) "/" Bar$')
        # §5.4: the direct parent is affected too
        self.ok(self.b, "c", "CREATE Work/New")
        seen = self.pushed(self.a, r'Work/New')
        seen += [] if any(re.search(r' Work$', l) for l in seen) else \
            self.pushed(self.a, r' Work$')
        parent = list_entries(seen)["Work"][0]
        self.assertIn("\\haschildren", parent)
        # message events are not asked for
        self.append_b("Other")
        self.quiet(self.a, "MailboxName alone tells no STATUS")

    def test_subscription_events(self):
        self.ok(self.a, "n", "NOTIFY SET (PERSONAL (SubscriptionChange))")
        self.ok(self.b, "s", "SUBSCRIBE Other")
        e = list_entries(self.pushed(self.a, r'^\* LIST .* Other$'))
        self.assertIn("\\subscribed", e["Other"][0])
        self.ok(self.b, "s", "UNSUBSCRIBE Other")
        e = list_entries(self.pushed(self.a, r'^\* LIST .* Other$'))
        self.assertNotIn("\\subscribed", e["Other"][0])
        self.ok(self.b, "c", "CREATE Quiet")
        self.quiet(self.a, "SubscriptionChange alone tells no MailboxName")

    def test_notify_none(self):
        self.ok(self.a, "n", "NOTIFY SET (PERSONAL (MessageNew MessageExpunge MailboxName))")
        self.ok(self.a, "n", "NOTIFY NONE")
        self.append_b("Other")
        self.ok(self.b, "c", "CREATE Gone")
        self.quiet(self.a, "nothing after NOTIFY NONE")
        u = self.ok(self.a, "n", "NOOP")
        self.assertEqual(texts(u), [])

    def test_in_idle(self):
        """§4: IDLE sends the same events."""
        self.ok(self.a, "n", "NOTIFY SET (PERSONAL (MessageNew MessageExpunge))")
        self.a.send("i IDLE\r\n")
        self.assertTrue(self.a.readline().startswith("+"))
        self.append_b("Other")
        self.pushed(self.a, r"^\* STATUS Other ")
        self.a.send("DONE\r\n")
        _, t = self.a.read_tagged("i")
        self.assertTagged(t, "i", "OK")

    def test_told_before_the_reply_of_a_running_command(self):
        """Events during another command are told by the end of it at the latest."""
        self.ok(self.a, "n", "NOTIFY SET (PERSONAL (MessageNew MessageExpunge))")
        self.append_b("Other")
        u = self.ok(self.a, "x", "NOOP")
        got = [t for t in texts(u) if t.startswith("* STATUS Other")]
        if not got:   # already pushed before the NOOP arrived
            got = [t for t in self.a.received if t.startswith("* STATUS Other")]
        self.assertEqual(len(got), 1)

    # -- the selected mailbox
    def test_selected_pushes_new_expunge_flags(self):
        self.fill(self.b, "INBOX", 2)
        self.ok(self.a, "s", "SELECT INBOX")
        self.ok(self.b, "s", "SELECT INBOX")
        self.ok(self.a, "n", "NOTIFY SET (SELECTED (MessageNew (UID BODY.PEEK[HEADER.FIELDS "
                             "(Subject)] FLAGS) MessageExpunge FlagChange))")
        self.append_b("INBOX", subject="pushed one")
        seen = self.pushed(self.a, r"^\* 3 FETCH ")
        self.assertIn("* 3 EXISTS", seen)
        f = parse_fetch(seen[-1].encode("latin-1"))[1]
        self.assertEqual(f["UID"], "3")
        hdr = f["BODY[HEADER.FIELDS (Subject)]"]
        self.assertIn(b"Subject: pushed one", hdr)
        self.assertNotIn("\\Seen", f["FLAGS"])
        # a notification never sets \Seen
        u = self.ok(self.b, "f", "FETCH 3 FLAGS")
        self.assertNotIn("\\Seen", fetch_by_seq(u)[3]["FLAGS"])
        # others' flag changes, with the UID (§5.1)
        self.ok(self.b, "f", "STORE 1 +FLAGS (\\Flagged)")
        line = self.pushed(self.a, r"^\* 1 FETCH ")[-1]
        f = parse_fetch(line.encode("latin-1"))[1]
        self.assertIn("\\Flagged", f["FLAGS"])
        self.assertEqual(f["UID"], "1")
        # expunges, at once (§6.1.1)
        self.ok(self.b, "d", "STORE 2 +FLAGS (\\Deleted)")
        self.pushed(self.a, r"^\* 2 FETCH ")
        self.ok(self.b, "x", "EXPUNGE")
        self.pushed(self.a, r"^\* 2 EXPUNGE$")
        u = self.ok(self.a, "f", "FETCH 1:* UID")
        self.assertEqual(sorted(f["UID"] for f in fetch_by_seq(u).values()), ["1", "3"])

    def test_selected_without_flag_change(self):
        self.fill(self.b, "INBOX", 1)
        self.ok(self.a, "s", "SELECT INBOX")
        self.ok(self.b, "s", "SELECT INBOX")
        self.ok(self.a, "n", "NOTIFY SET (SELECTED (MessageNew MessageExpunge))")
        self.ok(self.b, "f", "STORE 1 +FLAGS (\\Flagged)")
        self.quiet(self.a, "no FlagChange asked for")
        u = self.ok(self.a, "n", "NOOP")
        self.assertNoUntagged(u, kinds=("FETCH",))
        self.append_b("INBOX")
        seen = self.pushed(self.a, r"^\* \d+ RECENT$")
        self.assertIn("* 2 EXISTS", seen)
        self.assertFalse(any("FETCH" in l for l in seen), seen)   # no fetch-att given
        self.quiet(self.a, "no FETCH without fetch attributes")

    def test_selected_delayed_holds_expunges(self):
        """§6.1.2: expunges wait for a command that allows them; new mail does not."""
        for _ in range(2):
            self.append_ok(self.b, "INBOX", make_message(), flags=["\\Deleted"])
        self.ok(self.a, "s", "SELECT INBOX")
        self.ok(self.b, "s", "SELECT INBOX")
        self.ok(self.a, "n", "NOTIFY SET (SELECTED-DELAYED (MessageNew MessageExpunge))")
        self.ok(self.b, "x", "EXPUNGE")
        self.quiet(self.a, "expunges are delayed")
        self.append_b("INBOX")
        seen = self.pushed(self.a, r"^\* \d+ RECENT$")
        self.assertIn("* 3 EXISTS", seen)
        self.assertFalse(any("EXPUNGE" in l for l in seen), seen)
        u = self.ok(self.a, "f", "FETCH 1:* UID")   # FETCH allows no EXPUNGE either
        self.assertNoUntagged(u, kinds=("EXPUNGE",))
        u = self.ok(self.a, "n", "NOOP")
        self.assertEqual([t for t in texts(u) if t.endswith("EXPUNGE")],
                         ["* 1 EXPUNGE", "* 1 EXPUNGE"])

    def test_selected_vanished_with_qresync(self):
        for _ in range(3):
            self.append_ok(self.b, "INBOX", make_message(), flags=["\\Deleted"])
        self.ok(self.a, "e", "ENABLE QRESYNC")
        self.ok(self.a, "s", "SELECT INBOX")
        self.ok(self.b, "s", "SELECT INBOX")
        self.ok(self.a, "n", "NOTIFY SET (SELECTED (MessageNew MessageExpunge))")
        self.ok(self.b, "x", "UID EXPUNGE 2")
        self.pushed(self.a, r"^\* VANISHED 2$")

    def test_other_groups_skip_the_selected_mailbox(self):
        """§3.1: the selected mailbox's message events follow SELECTED only (no STATUS)."""
        self.ok(self.a, "s", "SELECT INBOX")
        self.ok(self.a, "n", "NOTIFY SET (SELECTED (MessageNew MessageExpunge)) "
                             "(PERSONAL (MessageNew MessageExpunge))")
        self.append_b("INBOX")
        seen = self.pushed(self.a, r"^\* 1 RECENT$")
        self.assertFalse(any(l.startswith("* STATUS") for l in seen), seen)
        self.quiet(self.a, "no STATUS for the selected mailbox")
        self.append_b("Other")
        self.pushed(self.a, r"^\* STATUS Other ")

    def test_selected_mailbox_renamed_by_another_session(self):
        """The selected mailbox keeps being the selected one under its new name: no STATUS
        for it (§3.1), while the SELECTED pushes go on."""
        self.ok(self.b, "c", "CREATE Foo")
        self.ok(self.a, "s", "SELECT Foo")
        self.ok(self.a, "n", "NOTIFY SET (SELECTED (MessageNew MessageExpunge)) "
                             "(PERSONAL (MessageNew MessageExpunge))")
        self.ok(self.b, "r", "RENAME Foo Bar")
        self.append_b("Bar")
        seen = self.pushed(self.a, r"^\* 1 RECENT$")
        self.assertFalse(any(l.startswith("* STATUS") for l in seen), seen)
        self.quiet(self.a, "no STATUS for the renamed selected mailbox")
        self.append_b("Other")
        self.pushed(self.a, r"^\* STATUS Other ")

    def test_rfc_example(self):
        """The RFC 5465 §3.1 example (its events lists written as the grammar asks)."""
        for name in ("Lists", "Lists/Lemonade", "Lists/Im2000"):
            self.ok(self.b, "c", f"CREATE {name}")
        self.append_b("Lists/Lemonade")
        u = self.ok(self.a, "b", "notify set status (selected (MessageNew (uid "
                                 "body.peek[header.fields (from to subject)]) MessageExpunge)) "
                                 "(subtree Lists (MessageNew MessageExpunge))")
        got = dict(status_dict(t) for t in texts(u) if t.startswith("* STATUS"))
        self.assertEqual(set(got), {"Lists", "Lists/Lemonade", "Lists/Im2000"})
        self.assertEqual(got["Lists/Lemonade"]["MESSAGES"], 1)
        self.ok(self.a, "c", "select inbox")
        self.append_b("Lists/Lemonade")
        _, st = status_dict(self.pushed(self.a, r'^\* STATUS "?Lists/Lemonade"? ')[-1])
        self.assertEqual((st["MESSAGES"], st["UIDNEXT"]), (2, 3))
        self.append_ok(self.b, "INBOX", make_message(subject="Re: good morning",
                                                     from_="alice@example.org"))
        f = parse_fetch(self.pushed(self.a, r"^\* 1 FETCH ")[-1].encode("latin-1"))[1]
        self.assertEqual(f["UID"], "1")
        self.assertIn(b"Subject: Re: good morning",
                      f["BODY[header.fields (from to subject)]"])

    # -- limits
    def test_overflow(self):
        """§5.8: a client that falls 1,000 events behind gets NOTIFICATIONOVERFLOW and
        NOTIFY NONE; it keeps working."""
        big = make_message(body=("x" * 998 + "\r\n") * 300)
        for _ in range(40):     # 12 MB: more than the socket buffers take
            self.append_ok(self.b, "Other", big)
        self.ok(self.a, "s", "SELECT Other")
        self.ok(self.a, "n", "NOTIFY SET (PERSONAL (SubscriptionChange))")
        # A asks for more than the output queue holds and does not read: its FETCH waits
        # (its first line shows it runs: no sleep that a busy machine could outlast)
        self.a.send("f FETCH 1:* BODY.PEEK[]\r\n")
        self.assertRegex(self.a.readline(timeout=30), r"^\* 1 FETCH ")
        cmds = "".join(f"s{i} SUBSCRIBE n{i}\r\n" for i in range(1100))
        self.b.send(cmds)
        _, t = self.b.read_tagged("s1099", timeout=60)
        self.assertTagged(t, "s1099", "OK")
        untagged, t = self.a.read_tagged("f", timeout=60)
        self.assertTagged(t, "f", "OK")
        over = [l for l in untagged if "NOTIFICATIONOVERFLOW" in l]
        self.assertEqual(len(over), 1, [l[:80] for l in untagged if not "FETCH" in l][:20])
        self.assertLess(sum(1 for l in untagged if l.startswith("* LIST")), 1001)
        self.ok(self.b, "u", "UNSUBSCRIBE n1")
        self.quiet(self.a, "NOTIFY is off after the overflow")
        self.ok(self.a, "n", "NOOP")
