"""Line and literal limits, commands before login, connection limits."""

import time
import unittest

from harness import ConnectionClosed, UimapTestCase


class LineLimit(UimapTestCase):
    def setUp(self):
        super().setUp()
        self.srv = self.start_server("--max-line", "1024")
        self.c = self.connect(self.srv)

    def test_overlong_line(self):
        self.c.send("a NOOP " + "x" * 5000 + "\r\n")
        line = self.c.readline()
        self.assertTagged(line, "a", "BAD")
        _, tagged = self.c.command("b", "NOOP")
        self.assertTagged(tagged, "b", "OK")

    def test_overlong_line_in_pieces(self):
        self.c.send("a NOOP ")
        for _ in range(10):
            self.c.send("y" * 500)
            time.sleep(0.01)
        self.c.send("\r\nb NOOP\r\n")
        line = self.c.readline()
        self.assertTagged(line, "a", "BAD")
        _, tagged = self.c.read_tagged("b")
        self.assertTagged(tagged, "b", "OK")

    def test_overlong_line_ending_with_nonsync_literal(self):
        # the discarded line announces a non-synchronizing literal: its bytes come anyway
        # and must be skipped, not run as commands
        self.c.send("a LOGIN " + "x" * 5000 + " {20+}\r\n" + "y NOOP\r\n" * 2 + "zzzz"
                    + "\r\nb NOOP\r\n")
        untagged, tagged = self.c.read_tagged("a")
        self.assertTagged(tagged, "a", "BAD")
        untagged_b, tagged = self.c.read_tagged("b")
        self.assertTagged(tagged, "b", "OK")
        self.assertFalse([l for l in untagged + untagged_b if l.startswith("y ")])

    def test_very_long_line_many_times(self):
        # memory must not grow with what is discarded
        for i in range(5):
            self.c.send(f"a{i} NOOP " + "z" * 200000 + "\r\n")
            line = self.c.readline()
            self.assertTagged(line, f"a{i}", "BAD")
        _, tagged = self.c.command("b", "NOOP")
        self.assertTagged(tagged, "b", "OK")

    def test_line_at_limit_accepted(self):
        self.c.login()
        prefix = 'a ID ("n" "'
        suffix = '")'
        line = prefix + "v" * (1024 - len(prefix) - len(suffix)) + suffix
        self.assertEqual(len(line), 1024)
        _, tagged = self.c.command("a", line[2:])
        self.assertTagged(tagged, "a", "OK")
        line = prefix + "v" * (1025 - len(prefix) - len(suffix)) + suffix
        _, tagged = self.c.command("b", line[2:])
        self.assertTagged(tagged, "b", "BAD")

    def test_long_line_inside_literal_is_fine(self):
        # the limit counts text outside literals: a long literal is not a long line
        self.c.login()
        value = "w" * 1000
        self.c.send('a ID ("name" {%d+}\r\n%s "x" {%d+}\r\n%s)\r\n'
                    % (len(value), value, len(value), value))
        _, tagged = self.c.read_tagged("a")
        self.assertTagged(tagged, "a", "OK")

    def test_overlong_authenticate_response(self):
        self.c.send("a AUTHENTICATE PLAIN\r\n")
        self.assertTrue(self.c.readline().startswith("+"))
        self.c.send("Q" * 5000 + "\r\n")
        line = self.c.readline()
        self.assertTagged(line, "a", "BAD")
        _, tagged = self.c.command("b", "NOOP")
        self.assertTagged(tagged, "b", "OK")


class LiteralLimit(UimapTestCase):
    def test_huge_sync_literal_announcement(self):
        srv = self.start_server()
        c = self.connect(srv)
        c.command("w", "NOOP")
        rss_before = srv.rss_kb()
        c.send("a LOGIN {999999999999}\r\n")
        line = c.readline()
        self.assertTagged(line, "a", "BAD", "[TOOBIG]")
        rss_after = srv.rss_kb()
        self.assertLess(rss_after - rss_before, 20 * 1024,
                        f"RSS grew from {rss_before} kB to {rss_after} kB")
        _, tagged = c.command("b", "NOOP")
        self.assertTagged(tagged, "b", "OK")
        c.login()

    def test_absurd_sync_literal_numbers(self):
        # sizes of 20 or more digits: still a synchronizing literal the client will not
        # send without "+", so a tagged BAD and the connection goes on
        srv = self.start_server()
        c = self.connect(srv)
        sizes = ["99999999999999999999999999", "18446744073709551616",
                 "18446744073709551615", "1" * 40]
        for i, size in enumerate(sizes * 2):
            c.send(f"a{i} LOGIN {{{size}}}\r\n")
            line = c.readline()
            self.assertTagged(line, f"a{i}", "BAD", "[TOOBIG]")
        _, tagged = c.command("d", "NOOP")
        self.assertTagged(tagged, "d", "OK")

    def test_absurd_nonsync_literal_number(self):
        # a non-synchronizing literal that cannot be skipped: closing is fine, with a
        # BYE that says why
        srv = self.start_server()
        c = self.connect(srv)
        c.send("a LOGIN {99999999999999999999999+}\r\nxxxx\r\n")
        lines = self.assertClosed(c)
        self.assertTrue(lines and lines[-1].startswith("* BYE"), lines)
        self.assertRegex(lines[-1].lower(), r"toobig|too big|literal", lines)

    def test_sync_literal_over_limit(self):
        srv = self.start_server("--max-literal", "1M")
        c = self.connect(srv)
        c.send("a LOGIN alice {1048577}\r\n")
        line = c.readline()
        self.assertTagged(line, "a", "BAD", "[TOOBIG]")
        # the client got no "+", so it sends no literal: the next line is a command
        _, tagged = c.command("b", "NOOP")
        self.assertTagged(tagged, "b", "OK")

    def test_sync_literal_at_limit_accepted(self):
        srv = self.start_server("--max-literal", "1K")
        c = self.connect(srv)
        c.send("a LOGIN {1024}\r\n")
        self.assertTrue(c.readline().startswith("+"))
        c.send("u" * 1024 + " secret\r\n")
        _, tagged = c.read_tagged("a")
        self.assertTagged(tagged, "a", "NO")

    def test_literals_add_up_to_the_limit(self):
        srv = self.start_server("--max-literal", "1K")
        c = self.connect(srv)
        c.send("a LOGIN {600+}\r\n" + "u" * 600 + " {600}\r\n")
        line = c.readline()
        self.assertTagged(line, "a", "BAD", "[TOOBIG]")
        _, tagged = c.command("b", "NOOP")
        self.assertTagged(tagged, "b", "OK")

    def test_nonsync_literal_over_limit_is_skipped(self):
        srv = self.start_server("--max-literal", "1M")
        c = self.connect(srv)
        size = 2000000
        # the literal's bytes look like commands: none of them may run
        payload = (b"x NOOP\r\n" * (size // 8 + 1))[:size]
        c.send(b"a LOGIN alice {%d+}\r\n" % size)
        c.send(payload)
        c.send(b" trailing-arg\r\nb NOOP\r\n")
        untagged, tagged_a = c.read_tagged("a", timeout=15)
        self.assertTagged(tagged_a, "a", "BAD", "[TOOBIG]")
        untagged_b, tagged_b = c.read_tagged("b", timeout=15)
        self.assertTagged(tagged_b, "b", "OK")
        stray = [l for l in untagged + untagged_b if l.startswith("x ")]
        self.assertEqual(stray, [], "bytes of the skipped literal were run as commands")
        self.assertLess(srv.rss_kb(), 64 * 1024)

    def test_nonsync_literal_over_limit_ending_line_with_literal(self):
        # the discarded command's line announces another (small) non-sync literal
        srv = self.start_server("--max-literal", "1K")
        c = self.connect(srv)
        c.send(b"a LOGIN {2000+}\r\n" + b"y NOOP\r\n" * 250 + b" {16+}\r\nz NOOP\r\nz NOOP\r\n"
               b"\r\nb NOOP\r\n")
        untagged, tagged = c.read_tagged("a")
        self.assertTagged(tagged, "a", "BAD", "[TOOBIG]")
        untagged_b, tagged = c.read_tagged("b")
        self.assertTagged(tagged, "b", "OK")
        self.assertFalse([l for l in untagged + untagged_b if l[:2] in ("y ", "z ")])


class UnauthCommands(UimapTestCase):
    def test_fourth_command_gets_bye(self):
        srv = self.start_server("--unauth-commands", "3")
        c = self.connect(srv)
        for i in range(3):
            _, tagged = c.command(f"a{i}", "NOOP")
            self.assertTagged(tagged, f"a{i}", "OK")
        c.send("a3 NOOP\r\n")
        lines = self.assertClosed(c)
        self.assertTrue(lines and lines[0].startswith("* BYE"), lines)
        self.assertFalse([l for l in lines if l.startswith("a3 ")], lines)

    def test_pipelined_commands_over_limit(self):
        srv = self.start_server("--unauth-commands", "3")
        c = self.connect(srv)
        c.send("".join(f"a{i} NOOP\r\n" for i in range(10)))
        lines = self.assertClosed(c)
        ok = [l for l in lines if " OK " in l]
        self.assertEqual(len(ok), 3, lines)
        self.assertTrue(lines[3].startswith("* BYE"), lines)

    def test_login_resets_limit(self):
        srv = self.start_server("--unauth-commands", "3")
        c = self.connect(srv)
        c.command("a", "NOOP")
        c.login()   # the 2nd command
        for i in range(10):
            _, tagged = c.command(f"n{i}", "NOOP")
            self.assertTagged(tagged, f"n{i}", "OK")

    def test_limit_is_per_connection(self):
        srv = self.start_server("--unauth-commands", "2")
        c1 = self.connect(srv)
        c2 = self.connect(srv)
        c1.command("a", "NOOP")
        c1.command("b", "NOOP")
        _, tagged = c2.command("a", "NOOP")
        self.assertTagged(tagged, "a", "OK")

    def test_zero_means_unlimited(self):
        srv = self.start_server("--unauth-commands", "0")
        c = self.connect(srv)
        c.send("".join(f"a{i} NOOP\r\n" for i in range(50)))
        for i in range(50):
            _, tagged = c.read_tagged(f"a{i}")
            self.assertTagged(tagged, f"a{i}", "OK")


class ConnectionLimits(UimapTestCase):
    def expect_rejected(self, srv, source=None):
        c = self.connect(srv, greeting=False, source=source)
        lines = self.assertClosed(c)
        self.assertTrue(lines and lines[0].startswith("* BYE"), lines)
        self.assertFalse([l for l in lines if l.startswith("* OK")], lines)
        return lines

    def connect_ok_eventually(self, srv, source=None, timeout=5):
        """Closing a connection frees its slot a moment later: retry until greeted."""
        deadline = time.monotonic() + timeout
        while True:
            c = self.connect(srv, greeting=False, source=source)
            try:
                g = c.readline()
            except ConnectionClosed:
                g = ""
            if g.startswith("* OK"):
                return c
            c.close()
            if time.monotonic() > deadline:
                self.fail(f"no slot freed within {timeout}s: {g!r}")
            time.sleep(0.1)

    def test_per_ip_limit(self):
        srv = self.start_server("--max-connections-per-ip", "2")
        c1 = self.connect(srv)
        c2 = self.connect(srv)
        lines = self.expect_rejected(srv)
        self.assertIn("UNAVAILABLE", lines[0])
        # the first two still work
        c1.login()
        _, tagged = c2.command("a", "NOOP")
        self.assertTagged(tagged, "a", "OK")
        # another address is not affected
        self.connect(srv, source="127.0.0.2").login()
        # a closed connection frees its slot
        c1.close()
        self.connect_ok_eventually(srv)

    def test_global_limit(self):
        srv = self.start_server("--max-connections", "2")
        c1 = self.connect(srv, source="127.0.0.1")
        self.connect(srv, source="127.0.0.2")
        self.expect_rejected(srv, source="127.0.0.3")
        self.expect_rejected(srv, source="127.0.0.1")
        c1.send("a LOGOUT\r\n")
        self.assertClosed(c1)
        self.connect_ok_eventually(srv, source="127.0.0.4").login()

    def test_rejected_connections_logged(self):
        srv = self.start_server("--max-connections-per-ip", "1")
        self.connect(srv)
        self.expect_rejected(srv)
        self.assertIsNotNone(srv.wait_log(r"rejected"), srv.stderr())

    def test_many_rejections_do_not_leak_slots(self):
        srv = self.start_server("--max-connections-per-ip", "1")
        c = self.connect(srv)
        for _ in range(20):
            self.expect_rejected(srv)
        c.send("a LOGOUT\r\n")
        self.assertClosed(c)
        self.connect_ok_eventually(srv).login()


if __name__ == "__main__":
    unittest.main()
