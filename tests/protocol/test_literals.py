"""Literals and quoted strings as proxies (nginx, perdition) and clients send them."""

import time
import unittest

from harness import UimapTestCase

USERS = {
    "alice": "{PLAIN}secret",
    # a password with a double quote, a backslash and a space
    "esc": '{PLAIN}p"a\\s s',
}


class Literals(UimapTestCase):
    def setUp(self):
        super().setUp()
        self.srv = self.start_server(users=USERS)
        self.c = self.connect(self.srv)

    def expect_continuation(self):
        line = self.c.readline()
        self.assertTrue(line.startswith("+"), f"expected a continuation request, got {line!r}")

    def test_sync_literals_nginx_style(self):
        self.c.send("a LOGIN {5}\r\n")
        self.expect_continuation()
        self.c.send("alice {6}\r\n")
        self.expect_continuation()
        self.c.send("secret\r\n")
        _, tagged = self.c.read_tagged("a")
        self.assertTagged(tagged, "a", "OK", "[CAPABILITY")

    def test_sync_literal_wrong_password(self):
        self.c.send("a LOGIN {5}\r\n")
        self.expect_continuation()
        self.c.send("alice {5}\r\n")
        self.expect_continuation()
        self.c.send("wrong\r\n")
        _, tagged = self.c.read_tagged("a")
        self.assertTagged(tagged, "a", "NO", "[AUTHENTICATIONFAILED]")

    def test_literal_plus_without_waiting(self):
        self.c.send("a LOGIN {5+}\r\nalice {6+}\r\nsecret\r\n")
        untagged, tagged = self.c.read_tagged("a")
        self.assertTagged(tagged, "a", "OK")
        self.assertFalse([l for l in untagged if l.startswith("+")],
                         f"no continuation may be sent for LITERAL+: {untagged}")

    def test_literal_minus(self):
        self.c.send("a LOGIN {5-}\r\nalice {6-}\r\nsecret\r\n")
        untagged, tagged = self.c.read_tagged("a")
        self.assertTagged(tagged, "a", "OK")
        self.assertFalse([l for l in untagged if l.startswith("+")], untagged)

    def test_mixed_quoted_and_literal(self):
        self.c.send('a LOGIN "alice" {6}\r\n')
        self.expect_continuation()
        self.c.send("secret\r\n")
        _, tagged = self.c.read_tagged("a")
        self.assertTagged(tagged, "a", "OK")

    def test_literal_then_atom(self):
        self.c.send("a LOGIN {5}\r\n")
        self.expect_continuation()
        self.c.send("alice secret\r\n")
        _, tagged = self.c.read_tagged("a")
        self.assertTagged(tagged, "a", "OK")

    def test_literal_split_over_many_segments(self):
        self.c.send("a LOGIN alice {6}\r\n")
        self.expect_continuation()
        for part in ("se", "c", "re", "t", "\r", "\n"):
            self.c.send(part)
            time.sleep(0.02)
        _, tagged = self.c.read_tagged("a")
        self.assertTagged(tagged, "a", "OK")

    def test_quoted_password_with_escapes(self):
        _, tagged = self.c.command("a", 'LOGIN "esc" "p\\"a\\\\s s"')
        self.assertTagged(tagged, "a", "OK")

    def test_quoted_password_escapes_wrong(self):
        # the same bytes without unescaping must not match
        _, tagged = self.c.command("a", 'LOGIN esc "p\\"a\\s s"')
        self.assertRegex(tagged, r"^a (NO|BAD) ")

    def test_literal_password_with_specials(self):
        pw = 'p"a\\s s'
        self.c.send("a LOGIN esc {%d+}\r\n%s\r\n" % (len(pw), pw))
        _, tagged = self.c.read_tagged("a")
        self.assertTagged(tagged, "a", "OK")

    def test_invalid_escape_in_quoted(self):
        _, tagged = self.c.command("a", 'LOGIN alice "sec\\ret"')
        self.assertTagged(tagged, "a", "BAD")
        _, tagged = self.c.command("b", "NOOP")
        self.assertTagged(tagged, "b", "OK")

    def test_unterminated_quoted(self):
        _, tagged = self.c.command("a", 'LOGIN alice "secret')
        self.assertTagged(tagged, "a", "BAD")
        _, tagged = self.c.command("b", "NOOP")
        self.assertTagged(tagged, "b", "OK")

    def test_literal_with_crlf_inside_keeps_sync(self):
        # CRLF inside a literal is data, not the end of the command
        self.c.send("a LOGIN {6+}\r\nal\r\nce secret\r\nb NOOP\r\n")
        _, tagged = self.c.read_tagged("a")
        self.assertTagged(tagged, "a", "NO")
        _, tagged = self.c.read_tagged("b")
        self.assertTagged(tagged, "b", "OK")

    def test_literal_containing_command_text(self):
        # a literal whose bytes look like a command is not executed
        self.c.send("a LOGIN {12+}\r\nx LOGOUT\r\nzz secret\r\nb NOOP\r\n")
        untagged, tagged = self.c.read_tagged("a")
        self.assertTagged(tagged, "a", "NO")
        self.assertFalse([l for l in untagged if "BYE" in l], untagged)
        _, tagged = self.c.read_tagged("b")
        self.assertTagged(tagged, "b", "OK")

    def test_nul_in_literal_password(self):
        # RFC 3501 §9: a literal is CHAR8, without NUL (RFC 3516's literal8 may hold
        # one, in APPEND only): a syntax error, and the session goes on
        self.c.send(b"a LOGIN alice {7+}\r\nsec\0ret\r\n")
        _, tagged = self.c.read_tagged("a")
        self.assertTagged(tagged, "a", "BAD")
        self.assertIn("NUL", tagged)
        _, tagged = self.c.command("b", "NOOP")
        self.assertTagged(tagged, "b", "OK")

    def test_empty_literal(self):
        self.c.send("a LOGIN alice {0}\r\n")
        self.expect_continuation()
        self.c.send("\r\n")
        _, tagged = self.c.read_tagged("a")
        self.assertRegex(tagged, r"^a (NO|BAD) ")
        _, tagged = self.c.command("b", "NOOP")
        self.assertTagged(tagged, "b", "OK")

    def test_literal_marker_not_at_line_end(self):
        _, tagged = self.c.command("a", "LOGIN {5} alice")
        self.assertTagged(tagged, "a", "BAD")
        _, tagged = self.c.command("b", "NOOP")
        self.assertTagged(tagged, "b", "OK")

    def test_nul_byte_in_command_line(self):
        self.c.send(b"a NO\0OP\r\n")
        line = self.c.readline()
        self.assertRegex(line, r"^(a|\*) BAD ")
        _, tagged = self.c.command("b", "NOOP")
        self.assertTagged(tagged, "b", "OK")

    def test_id_with_literal_value(self):
        self.c.send('a ID ("name" {4+}\r\nmutt)\r\n')
        untagged, tagged = self.c.read_tagged("a")
        self.assertTagged(tagged, "a", "OK")
        self.assertTrue([l for l in untagged if l.startswith("* ID ")], untagged)


if __name__ == "__main__":
    unittest.main()
