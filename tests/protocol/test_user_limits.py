"""Per-user limits: quota (messages, bytes) from the configuration and from the user's
passwd-file quota rules, messages per mailbox (the COPY-doubling attack), mailboxes,
subscriptions, messages per command. Over a limit: NO [OVERQUOTA] or NO [LIMIT], and
nothing changed."""

from mailhelpers import (MailTestCase, append, append_many, command_raw, fetch_by_seq,
                         make_message, status_items)


def count(test, c, box="INBOX"):
    untagged, t = command_raw(c, "st", f"STATUS {box} (MESSAGES)")
    test.assertTagged(t, "st", "OK")
    return dict(status_items(untagged))["MESSAGES"]


class Quota(MailTestCase):
    SERVER_ARGS = None

    def test_storage_quota_from_the_configuration(self):
        self.srv = self.start_server("--quota-storage", "20K")
        c = self.session()
        msg = make_message(body="x" * 6000)
        for i in range(3):
            self.append_ok(c, "INBOX", msg, tag=f"a{i}")
        t = append(c, "INBOX", msg, tag="a3")
        self.assertTagged(t, "a3", "NO", "[OVERQUOTA]")
        self.assertEqual(count(self, c), 3)
        # COPY that would pass it is refused whole; EXPUNGE frees room
        self.ok(c, "s", "SELECT INBOX")
        _, t = command_raw(c, "cp", "COPY 1:2 Trash")
        self.assertTagged(t, "cp", "NO", "[OVERQUOTA]")
        self.assertEqual(count(self, c, "Trash"), 0)
        self.ok(c, "d", "STORE 1 +FLAGS.SILENT (\\Deleted)")
        self.ok(c, "x", "EXPUNGE")
        self.append_ok(c, "INBOX", msg, tag="a4")

    def test_user_quota_rules_from_the_passwd_file(self):
        users = {"alice": "{PLAIN}secret::::::userdb_quota_rule=*:messages=3 "
                          "userdb_quota_rule2=*:storage=none",
                 "bob": "{PLAIN}hunter2"}
        self.srv = self.start_server("--quota-messages", "100", users=users)
        a = self.session()
        for i, t in enumerate(append_many(a, "INBOX", [make_message()] * 3)):
            self.assertIn(" OK ", t)
        t = append(a, "INBOX", make_message(), tag="a4")
        self.assertTagged(t, "a4", "NO", "[OVERQUOTA]")
        b = self.session(user="bob", password="hunter2")
        for i, t in enumerate(append_many(b, "INBOX", [make_message()] * 5)):
            self.assertIn(" OK ", t)

    def test_multiappend_over_quota_stores_nothing(self):
        self.srv = self.start_server("--quota-messages", "4")
        c = self.session()
        self.append_ok(c, "INBOX", make_message(), tag="a0")
        m = make_message()
        parts = b"".join(b" {%d+}\r\n" % len(m) + m for _ in range(4))
        c.send(b"ma APPEND INBOX" + parts + b"\r\n")
        _, t = c.read_tagged("ma")
        self.assertTagged(t, "ma", "NO", "[OVERQUOTA]")
        self.assertEqual(count(self, c), 1)

    def test_move_within_the_user_is_not_charged(self):
        self.srv = self.start_server("--quota-messages", "3")
        c = self.session()
        self.fill(c, "INBOX", 3)
        self.ok(c, "s", "SELECT INBOX")
        self.ok(c, "m", "MOVE 1:3 Trash")
        self.assertEqual(count(self, c, "Trash"), 3)


class MailboxLimits(MailTestCase):
    SERVER_ARGS = None

    def test_copy_doubling_stops_at_the_mailbox_limit(self):
        """COPY 1:* of a mailbox into itself doubles it: the limit ends the doubling
        with NO [LIMIT] and the mailbox never passes it."""
        self.srv = self.start_server("--max-mailbox-messages", "100")
        c = self.session()
        self.ok(c, "cr", "CREATE dup")
        self.fill(c, "dup", 3)
        self.ok(c, "s", "SELECT dup")
        refused = False
        for i in range(10):
            _, t = command_raw(c, f"c{i}", "COPY 1:* dup")
            if t.startswith(f"c{i} NO"):
                self.assertIn("[LIMIT]", t)
                refused = True
                break
            self.assertTagged(t, f"c{i}", "OK")
        self.assertTrue(refused)
        n = count(self, c, "dup")
        self.assertLessEqual(n, 100)
        self.assertEqual(n, 96)   # 3, 6, ..., 96: the next doubling would pass 100

    def test_mailbox_and_subscription_limits(self):
        # INBOX + the 5 default mailboxes = 6
        self.srv = self.start_server("--max-mailboxes", "8", "--max-subscriptions", "2")
        c = self.session()
        self.ok(c, "a", "CREATE one")
        self.ok(c, "b", "CREATE two")
        _, t = command_raw(c, "c", "CREATE three")
        self.assertTagged(t, "c", "NO", "[LIMIT]")
        _, t = command_raw(c, "d", "CREATE x/y")
        self.assertTagged(t, "d", "NO", "[LIMIT]")
        untagged, _ = command_raw(c, "l", 'LIST "" "*"')
        self.assertEqual(len([u for u in untagged if b"* LIST" in (u if isinstance(u, bytes)
                                                                    else u.encode())]), 8)
        self.ok(c, "s1", "SUBSCRIBE one")
        self.ok(c, "s2", "SUBSCRIBE two")
        _, t = command_raw(c, "s3", "SUBSCRIBE INBOX")
        self.assertTagged(t, "s3", "NO", "[LIMIT]")
        self.ok(c, "u1", "UNSUBSCRIBE one")
        self.ok(c, "s4", "SUBSCRIBE INBOX")

    def test_messages_per_command(self):
        self.srv = self.start_server("--max-command-messages", "5")
        c = self.session()
        self.fill(c, "INBOX", 8)
        self.ok(c, "s", "SELECT INBOX")
        for tag, cmd in (("f", "FETCH 1:8 FLAGS"), ("st", "STORE 1:* +FLAGS (\\Seen)"),
                         ("cp", "COPY 1:6 Trash"), ("u", "UID FETCH 1:* FLAGS")):
            _, t = command_raw(c, tag, cmd)
            self.assertTagged(t, tag, "NO", "[LIMIT]")
        untagged = self.ok(c, "f2", "FETCH 1:5 FLAGS")
        self.assertEqual(sorted(fetch_by_seq(untagged)), [1, 2, 3, 4, 5])
