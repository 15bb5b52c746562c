"""IDLE (RFC 2177): continuation, DONE, pushed EXISTS / EXPUNGE / FETCH without the client
sending anything, a bad line instead of DONE, the authenticated-idle timeout."""

import time
import unittest

from mailhelpers import MailTestCase, SeqTracker, make_message

PUSH_BOUND = 10.0     # seconds an update may take to reach an idling client (generous)


class Idle(MailTestCase):
    def start_idle(self, c, tag="i"):
        c.send(f"{tag} IDLE\r\n")
        line = c.readline()
        self.assertTrue(line.startswith("+"), f"expected a continuation, got {line!r}")

    def done(self, c, tag="i"):
        c.send("DONE\r\n")
        untagged, t = c.read_tagged(tag)
        self.assertTagged(t, tag, "OK")
        return untagged

    def wait_line(self, c, pattern, bound=PUSH_BOUND, allowed=r"^\* "):
        """Read pushed lines until one matches pattern; every line read must be untagged."""
        import re
        deadline = time.monotonic() + bound
        seen = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.fail(f"no line matching {pattern!r} within {bound}s; got {seen!r}")
            try:
                line = c.readline(left)
            except TimeoutError:
                self.fail(f"no line matching {pattern!r} within {bound}s; got {seen!r}")
            seen.append(line)
            self.assertRegex(line, allowed)
            if re.search(pattern, line):
                return seen

    def test_idle_done(self):
        c = self.session(select="INBOX")
        self.start_idle(c)
        self.assertTrue(c.quiet_for(0.3), "nothing is sent to an idle client without cause")
        self.assertEqual(self.done(c), [])
        self.ok(c, "n", "NOOP")

    def test_idle_done_lower_case(self):
        c = self.session(select="INBOX")
        self.start_idle(c)
        c.send("done\r\n")
        _, t = c.read_tagged("i")
        self.assertTagged(t, "i", "OK")

    def test_idle_in_authenticated_state(self):
        c = self.session()
        self.start_idle(c)
        self.done(c)

    def test_idle_not_authenticated(self):
        c = self.connect(self.srv)
        _, t = c.command("i", "IDLE")
        self.assertTagged(t, "i", "BAD")

    def test_idle_with_arguments_bad(self):
        c = self.session()
        _, t = c.command("i", "IDLE now")
        self.assertTagged(t, "i", "BAD")

    def test_idle_pushes_exists(self):
        a = self.session()
        b = self.session(select="INBOX")
        self.start_idle(b)
        t0 = time.monotonic()
        self.append_ok(a, "INBOX", make_message())
        self.wait_line(b, r"^\* 1 EXISTS$")
        self.assertLess(time.monotonic() - t0, PUSH_BOUND)
        self.append_ok(a, "INBOX", make_message(), tag="a2")
        self.wait_line(b, r"^\* 2 EXISTS$")
        untagged = self.done(b)
        for line in untagged:
            self.assertNotRegex(line, r"EXISTS")   # not announced twice
        f = self.ok(b, "f", "FETCH 1:2 UID")
        self.assertEqual(len(f), 2)

    def test_idle_pushes_expunge_and_flags(self):
        a = self.session()
        self.fill(a, "INBOX", 3)
        self.ok(a, "s", "SELECT INBOX")
        b = self.session(select="INBOX")
        self.start_idle(b)
        self.ok(a, "f", "STORE 3 +FLAGS (\\Answered)")
        seen = self.wait_line(b, r"^\* 3 FETCH ")
        self.assertIn("\\Answered", seen[-1])
        self.ok(a, "d", "STORE 1 +FLAGS.SILENT (\\Deleted)")
        self.ok(a, "x", "EXPUNGE")
        self.wait_line(b, r"^\* 1 EXPUNGE$")
        self.done(b)
        self.assertEqual(len(self.ok(b, "f", "FETCH 1:* UID")), 2)

    def test_idle_exists_before_fetch(self):
        """While idling, a new message that is flagged at once is announced (EXISTS)
        before any FETCH names it."""
        a = self.session(select="INBOX")
        b = self.session(select="INBOX")
        self.start_idle(b)
        tracker = SeqTracker(self, 0)
        for i in range(3):
            self.append_ok(a, "INBOX", make_message(), tag=f"a{i}")
            self.ok(a, f"f{i}", f"STORE {i + 1} +FLAGS (\\Flagged)")
        seen = self.wait_line(b, r"^\* 3 FETCH ")
        tracker.feed(seen)
        self.assertEqual(tracker.count, 3)
        tracker.feed(self.done(b))

    def test_pending_update_reaches_idle_client(self):
        """An update that happened before IDLE began is delivered during IDLE without
        the client sending anything more."""
        a = self.session()
        b = self.session(select="INBOX")
        self.append_ok(a, "INBOX", make_message())
        b.send("i IDLE\r\n")
        self.wait_line(b, r"^\* 1 EXISTS$", allowed=r"^(\* |\+)")
        self.done(b)

    def test_idle_bad_line_instead_of_done(self):
        c = self.session(select="INBOX")
        self.start_idle(c)
        c.send("FOO\r\n")
        _, t = c.read_tagged("i")
        self.assertTagged(t, "i", "BAD")
        self.ok(c, "n", "NOOP")

    def test_idle_command_instead_of_done(self):
        c = self.session(select="INBOX")
        self.start_idle(c)
        c.send("x NOOP\r\n")
        _, t = c.read_tagged("i")
        self.assertTagged(t, "i", "BAD")
        # the connection stays usable
        self.ok(c, "n", "NOOP")

    def test_idle_done_and_command_pipelined(self):
        a = self.session()
        b = self.session(select="INBOX")
        self.start_idle(b)
        self.append_ok(a, "INBOX", make_message())
        self.wait_line(b, r"^\* 1 EXISTS$")
        b.send("DONE\r\nn NOOP\r\n")
        _, t = b.read_tagged("i")
        self.assertTagged(t, "i", "OK")
        _, t = b.read_tagged("n")
        self.assertTagged(t, "n", "OK")

    def test_idle_many_watchers(self):
        a = self.session()
        watchers = [self.session(select="INBOX") for _ in range(4)]
        for w in watchers:
            self.start_idle(w)
        self.append_ok(a, "INBOX", make_message())
        for w in watchers:
            self.wait_line(w, r"^\* 1 EXISTS$")
        for w in watchers:
            self.done(w)

    def test_idle_repeated(self):
        a = self.session()
        b = self.session(select="INBOX")
        for i in range(5):
            self.start_idle(b, tag=f"i{i}")
            self.append_ok(a, "INBOX", make_message(), tag=f"a{i}")
            self.wait_line(b, rf"^\* {i + 1} EXISTS$")
            self.done(b, tag=f"i{i}")

    def test_idle_other_mailbox_quiet(self):
        a = self.session()
        b = self.session(select="Sent")
        self.start_idle(b)
        self.append_ok(a, "INBOX", make_message())
        self.assertTrue(b.quiet_for(0.5), "an append to another mailbox was pushed")
        self.done(b)

    def test_idle_logout_while_idling_by_close(self):
        """A client that disconnects while idling does not disturb the others."""
        a = self.session()
        b = self.session(select="INBOX")
        self.start_idle(b)
        b.close()
        self.append_ok(a, "INBOX", make_message())
        self.ok(a, "n", "NOOP")


class IdleTimeout(MailTestCase):
    SERVER_ARGS = ("--auth-idle", "2")

    def test_auth_idle_timeout_during_idle(self):
        c = self.session(select="INBOX")
        c.send("i IDLE\r\n")
        self.assertTrue(c.readline().startswith("+"))
        t0 = time.monotonic()
        lines = self.assertClosed(c, timeout=15)
        elapsed = time.monotonic() - t0
        self.assertTrue(any(l.startswith("* BYE") for l in lines), lines)
        self.assertGreaterEqual(elapsed, 1.5, "closed before the idle timeout")
        self.assertLess(elapsed, 12)


if __name__ == "__main__":
    unittest.main()
