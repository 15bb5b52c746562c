"""Greeting and capability advertisement, with and without --allow-plaintext-auth."""

import unittest

from harness import UimapTestCase, capabilities, sasl_plain


class GreetingPlaintextAllowed(UimapTestCase):
    def setUp(self):
        super().setUp()
        self.srv = self.start_server()

    def test_greeting_has_capabilities(self):
        c = self.connect(self.srv)
        self.assertRegex(c.greeting, r"^\* OK \[CAPABILITY IMAP4rev1( [^\]]*)?\] ")
        caps = capabilities(c.greeting)
        self.assertEqual(caps[0], "IMAP4rev1")
        for cap in ("AUTH=PLAIN", "SASL-IR", "LITERAL+", "ID", "ENABLE"):
            self.assertIn(cap, caps)
        self.assertNotIn("LOGINDISABLED", caps)

    def test_capability_command_matches_greeting(self):
        c = self.connect(self.srv)
        untagged, tagged = c.command("a", "CAPABILITY")
        self.assertTagged(tagged, "a", "OK")
        cap_lines = [l for l in untagged if l.startswith("* CAPABILITY ")]
        self.assertEqual(len(cap_lines), 1, untagged)
        self.assertEqual(capabilities(cap_lines[0]), capabilities(c.greeting))

    def test_capabilities_after_login(self):
        c = self.connect(self.srv)
        tagged = c.login()
        self.assertRegex(tagged, r"^L1 OK \[CAPABILITY IMAP4rev1[^\]]*\]")
        caps = capabilities(tagged)
        self.assertIn("IMAP4rev1", caps)
        self.assertFalse([x for x in caps if x.startswith("AUTH=")], caps)
        self.assertNotIn("LOGINDISABLED", caps)
        self.assertNotIn("SASL-IR", caps)
        # and CAPABILITY agrees
        untagged, tagged = c.command("b", "CAPABILITY")
        self.assertTagged(tagged, "b", "OK")
        caps2 = capabilities(untagged[0])
        self.assertIn("IMAP4rev1", caps2)
        self.assertFalse([x for x in caps2 if x.startswith("AUTH=")], caps2)
        self.assertNotIn("LOGINDISABLED", caps2)

    def test_capability_case_insensitive_command(self):
        c = self.connect(self.srv)
        untagged, tagged = c.command("a", "capability")
        self.assertTagged(tagged, "a", "OK")
        self.assertTrue(untagged and untagged[0].startswith("* CAPABILITY IMAP4rev1"))


class GreetingPlaintextDisabled(UimapTestCase):
    def setUp(self):
        super().setUp()
        self.srv = self.start_server(plaintext=False)

    def test_logindisabled_advertised(self):
        c = self.connect(self.srv)
        caps = capabilities(c.greeting)
        self.assertIn("IMAP4rev1", caps)
        self.assertIn("LOGINDISABLED", caps)
        self.assertNotIn("AUTH=PLAIN", caps)
        self.assertFalse([x for x in caps if x.startswith("AUTH=")], caps)

    def test_login_refused_with_alert(self):
        c = self.connect(self.srv)
        _, tagged = c.command("a", "LOGIN alice secret")
        self.assertTagged(tagged, "a", "NO", "[ALERT]")
        # the refusal does not end the connection
        _, tagged = c.command("b", "NOOP")
        self.assertTagged(tagged, "b", "OK")

    def test_authenticate_plain_refused(self):
        c = self.connect(self.srv)
        _, tagged = c.command("a", "AUTHENTICATE PLAIN " + sasl_plain("alice", "secret"))
        self.assertTagged(tagged, "a", "NO")
        # without an initial response: refused before any continuation
        c.send("b AUTHENTICATE PLAIN\r\n")
        line = c.readline()
        self.assertTagged(line, "b", "NO")
        _, tagged = c.command("c", "NOOP")
        self.assertTagged(tagged, "c", "OK")


if __name__ == "__main__":
    unittest.main()
